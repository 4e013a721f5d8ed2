//! How records become items of the single table and back: the codec every part of the store
//! writes and reads with, and the item shapes more than one part writes (an order, a profile,
//! a message, their places in the due and log indexes). Apart from the [`super::Store`] so
//! that the parts that only encode and decode need nothing of the adapter itself.

use super::StoreError;
use super::keys::{self, ITEM_KIND, Key};
use crate::domain::{CustomerId, CustomerProfile, MessageRecord, Order, ShopId, Timestamp};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use serde::Serialize;
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};
use std::collections::HashMap;

pub type Item = HashMap<String, AttributeValue>;

/// A message as stored when it is created: under its customer's partition, in the log index
/// by the day it was created (seeding tests write it this way too, with BatchWriteItem).
pub fn message_item(record: &MessageRecord) -> Result<Item, StoreError> {
    let intent = &record.intent;
    let key = keys::message(&record.shop, &intent.customer_id, &intent.key);
    let mut item = encode(record, &key, "message")?;
    with_log(&mut item, &record.shop, intent.created_at);
    Ok(item)
}

/// Puts an item in the log index under its shop and UTC day.
pub(super) fn with_log(item: &mut Item, shop: &ShopId, at: Timestamp) {
    let day = at.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
    item.insert(
        keys::LOG_DAY.into(),
        AttributeValue::S(keys::log_day(shop, day)),
    );
    item.insert(
        keys::LOG_AT.into(),
        AttributeValue::N(at.as_millisecond().to_string()),
    );
}

/// A profile as an item; a customer with a timer ahead (the lapse clock) sits in the due index.
/// The shop and the customer id are the partition key's: not stored twice.
pub(super) fn profile_item(shop: &ShopId, profile: &CustomerProfile) -> Result<Item, StoreError> {
    let key = keys::profile(shop, &profile.id);
    let mut item = encode(profile, &key, "profile")?;
    item.remove(PROFILE_SHOP);
    item.remove(PROFILE_ID);
    with_due(&mut item, &key, profile.due_at());
    if let Some(email) = profile.contact.email() {
        item.insert(
            keys::EMAIL_HASH.into(),
            AttributeValue::S(keys::email_hash(shop, email.as_str())),
        );
    }
    Ok(item)
}

const PROFILE_SHOP: &str = "shop";

const PROFILE_ID: &str = "id";

/// A profile from its item: the shop and the customer id from the partition key (profiles
/// written before also carry them as attributes; the key says the same).
pub(super) fn decode_profile(mut item: Item) -> Result<CustomerProfile, StoreError> {
    let (shop, customer) = item
        .get(keys::PK)
        .and_then(|pk| pk.as_s().ok())
        .and_then(|pk| keys::parse_customer_partition(pk))
        .ok_or_else(|| StoreError::Corrupt("profile: not in a customer's partition".into()))?;
    item.entry(PROFILE_SHOP.into())
        .or_insert_with(|| AttributeValue::S(shop.as_str().to_owned()));
    item.entry(PROFILE_ID.into())
        .or_insert_with(|| AttributeValue::S(customer.as_str().to_owned()));
    decode(item, "profile")
}

/// The put of an order item, at its next version, only if the order is still at the version
/// it was read at (`first_seen`: only if there is none yet).
pub(super) fn order_put(
    table: &str,
    mut item: Item,
    read: &Order,
    first_seen: bool,
) -> Result<TransactWriteItem, StoreError> {
    item.insert(
        "version".into(),
        AttributeValue::N((read.version + 1).to_string()),
    );
    let condition = if first_seen {
        ("attribute_not_exists(pk)", None)
    } else if read.version == 0 {
        // Stored before orders had a version (or with none yet).
        (
            "attribute_exists(pk) AND (attribute_not_exists(version) OR version = :read_version)",
            Some(0),
        )
    } else {
        ("version = :read_version", Some(read.version))
    };
    put_item(table, item, Some(condition))
}

/// An order as an item; an order with a timer ahead (its return window, a survey, a tip, a
/// reminder) sits in the due index.
pub(super) fn order_item(
    shop: &ShopId,
    customer: &CustomerId,
    order: &Order,
    due: Option<Timestamp>,
) -> Result<Item, StoreError> {
    let key = keys::order(shop, customer, &order.id);
    let mut item = encode(order, &key, "order")?;
    with_due(&mut item, &key, due);
    Ok(item)
}

fn with_due(item: &mut Item, key: &Key, due: Option<Timestamp>) {
    if let Some(due) = due {
        item.insert(
            keys::DUE_SHARD.into(),
            AttributeValue::S(keys::due_shard(&key.pk)),
        );
        item.insert(
            keys::DUE_AT.into(),
            AttributeValue::N(due.as_second().to_string()),
        );
    }
}

pub(super) fn put_item(
    table: &str,
    item: Item,
    condition: Option<(&str, Option<u64>)>,
) -> Result<TransactWriteItem, StoreError> {
    let mut put = Put::builder().table_name(table).set_item(Some(item));
    if let Some((expression, version)) = condition {
        put = put.condition_expression(expression);
        if let Some(v) = version {
            put =
                put.expression_attribute_values(":read_version", AttributeValue::N(v.to_string()));
        }
    }
    let put = put.build().map_err(|e| StoreError::Failed(e.to_string()))?;
    Ok(TransactWriteItem::builder().put(put).build())
}

pub(super) fn encode<T: Serialize>(value: &T, key: &Key, kind: &str) -> Result<Item, StoreError> {
    let mut item: Item = to_item(value).map_err(|e| StoreError::Corrupt(format!("{kind}: {e}")))?;
    item.extend(key.to_item());
    item.insert(ITEM_KIND.into(), AttributeValue::S(kind.into()));
    Ok(item)
}

pub(super) fn decode<T: serde::de::DeserializeOwned>(
    item: Item,
    kind: &str,
) -> Result<T, StoreError> {
    from_item(item).map_err(|e| StoreError::Corrupt(format!("{kind}: {e}")))
}
