//! Reads for the pages and the schedule: a customer's profile, messages, orders and
//! everything held for them, their email addresses, the due index's pages, the log index's
//! pages and the customers of an address. Apart from the writes: none of these changes
//! anything.

use super::items::{Item, decode, decode_profile};
use super::keys::{self, Key};
use super::{Store, StoreError};
use crate::domain::{
    ActivityRecord, CustomerId, CustomerProfile, Email, MessageRecord, Order, ShopId, Timestamp,
};
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Deserialize;

impl Store {
    /// The customer's profile, read consistently.
    pub async fn profile(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
    ) -> Result<Option<CustomerProfile>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(keys::profile(shop, customer).to_item()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::from_sdk(&e))?;
        out.item.map(decode_profile).transpose()
    }

    /// The email addresses of these customers, read 100 profiles to a `BatchGetItem` and only
    /// the address of each: an export of thousands of rows costs tens of requests, not one per
    /// row. Customers without a profile or an address are left out.
    pub async fn emails(
        &self,
        shop: &ShopId,
        customers: impl IntoIterator<Item = &CustomerId>,
    ) -> Result<std::collections::BTreeMap<CustomerId, Email>, StoreError> {
        #[derive(Deserialize)]
        struct Address {
            #[serde(default)]
            contact: crate::domain::Contact,
        }
        let unique: std::collections::BTreeSet<&CustomerId> = customers.into_iter().collect();
        let wanted: Vec<Key> = unique.into_iter().map(|c| keys::profile(shop, c)).collect();
        let found = self
            .projected_items_by_key(
                &wanted,
                false,
                (
                    "#contact.#email",
                    &[("#contact", "contact"), ("#email", "email")],
                ),
            )
            .await?;
        let mut emails = std::collections::BTreeMap::new();
        for (key, item) in found {
            let Some((_, customer)) = keys::parse_customer_partition(&key.pk) else {
                continue;
            };
            let address: Address = decode(item, "profile")?;
            if let Some(email) = address.contact.email {
                emails.insert(customer, email.value);
            }
        }
        Ok(emails)
    }

    /// One page of keys due by `now` in one shard of the due index (reads grow with what is
    /// due, not with the table).
    pub async fn due_page(
        &self,
        shard: &str,
        now: Timestamp,
        start: Option<Item>,
    ) -> Result<(Vec<DueEntry>, Option<Item>), StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(keys::DUE_INDEX)
            .key_condition_expression("due_shard = :shard AND due_at <= :now")
            .expression_attribute_values(":shard", AttributeValue::S(shard.to_owned()))
            .expression_attribute_values(":now", AttributeValue::N(now.as_second().to_string()))
            .limit(100)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| StoreError::from_sdk(&e))?;
        let entries = out
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(|item| {
                let due_at = item.get(keys::DUE_AT)?.as_n().ok()?.parse().ok()?;
                Some(DueEntry {
                    key: Key::of_item(item)?,
                    due_at,
                })
            })
            .collect();
        Ok((entries, out.last_evaluated_key))
    }

    /// A message item by its key.
    pub async fn message_at(&self, key: &Key) -> Result<Option<MessageRecord>, StoreError> {
        self.get(key, "message").await
    }

    /// A customer's message items, newest key last.
    pub async fn messages(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        let pk = keys::profile(shop, customer).pk;
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :msg)")
            .expression_attribute_values(":pk", AttributeValue::S(pk))
            .expression_attribute_values(":msg", AttributeValue::S(keys::MESSAGE_PREFIX.into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::from_sdk(&e))?;
        out.items
            .unwrap_or_default()
            .into_iter()
            .map(|i| decode::<MessageRecord>(i, "message"))
            .collect()
    }

    /// A customer's orders (one Query of the order items in the customer's partition, read
    /// consistently), for the yearly recap: read once a year per customer.
    pub async fn orders_of(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
    ) -> Result<Vec<Order>, StoreError> {
        let pk = keys::profile(shop, customer).pk;
        let mut orders = Vec::new();
        self.read_partition(&pk, Some(keys::ORDER_PREFIX), true, |_, item| {
            orders.push(decode::<Order>(item, "order")?);
            Ok(())
        })
        .await?;
        Ok(orders)
    }

    /// A customer's profile and orders, for people and tools looking at stored state.
    pub async fn customer(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
    ) -> Result<(Option<CustomerProfile>, Vec<Order>), StoreError> {
        let key = keys::profile(shop, customer);
        let mut profile = None;
        let mut orders = Vec::new();
        self.read_partition(&key.pk, None, true, |sk, item| {
            if sk == key.sk {
                profile = Some(decode_profile(item)?);
            } else if sk.starts_with(keys::ORDER_PREFIX) {
                orders.push(decode::<Order>(item, "order")?);
            }
            Ok(())
        })
        .await?;
        Ok((profile, orders))
    }

    /// One page of the log index for a shop's UTC day, newest first: messages and activities.
    /// The index holds keys only; the page's items are read with `BatchGetItem` (eventually
    /// consistent, as the index is), in the index's order. An item gone meanwhile (erased) is
    /// left out.
    pub async fn log_page(
        &self,
        shop: &ShopId,
        day: jiff::civil::Date,
        start: Option<Item>,
        limit: i32,
    ) -> Result<(Vec<LogEntry>, Option<Item>), StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(keys::BY_DAY_INDEX)
            .key_condition_expression("log_day = :day")
            .expression_attribute_values(":day", AttributeValue::S(keys::log_day(shop, day)))
            .scan_index_forward(false)
            .limit(limit)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| StoreError::from_sdk(&e))?;
        let listed: Vec<Key> = out
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(Key::of_item)
            .collect();
        let mut found = self.items_by_key(&listed, false).await?;
        let mut entries = Vec::with_capacity(listed.len());
        for key in &listed {
            if let Some(item) = found.remove(key)
                && let Some(entry) = LogEntry::decode(item)?
            {
                entries.push(entry);
            }
        }
        Ok((entries, out.last_evaluated_key))
    }

    /// The customers of a shop with this exact email address (through its salted hash).
    pub async fn customers_by_email(
        &self,
        shop: &ShopId,
        email: &str,
    ) -> Result<Vec<CustomerId>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(keys::BY_EMAIL_INDEX)
            .key_condition_expression("email_hash = :hash")
            .expression_attribute_values(":hash", AttributeValue::S(keys::email_hash(shop, email)))
            .send()
            .await
            .map_err(|e| StoreError::from_sdk(&e))?;
        Ok(out
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(Key::of_item)
            .filter(|k| k.sk == keys::PROFILE_SK)
            .filter_map(|k| keys::parse_customer_partition(&k.pk))
            .filter(|(s, _)| s == shop)
            .map(|(_, c)| c)
            .collect())
    }

    /// Everything held for a customer: profile, orders, messages and activities.
    pub async fn customer_items(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
    ) -> Result<CustomerItems, StoreError> {
        self.query_customer(shop, customer, false).await
    }

    /// Everything held for a customer, read consistently (for an erasure, which must see every
    /// write before it).
    pub async fn customer_items_consistent(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
    ) -> Result<CustomerItems, StoreError> {
        self.query_customer(shop, customer, true).await
    }

    async fn query_customer(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        consistent: bool,
    ) -> Result<CustomerItems, StoreError> {
        let pk = keys::profile(shop, customer).pk;
        let mut all = CustomerItems::default();
        self.read_partition(&pk, None, consistent, |sk, item| {
            if sk == keys::PROFILE_SK {
                all.profile = Some(decode_profile(item)?);
            } else if sk.starts_with(keys::ORDER_PREFIX) {
                all.orders.push(decode(item, "order")?);
            } else if sk.starts_with(keys::LEDGER_PREFIX) {
                all.ledger.push((sk, decode(item, "ledger_entry")?));
            } else if sk.starts_with(keys::REDEMPTION_PREFIX) {
                all.redemptions.push(decode(item, "redemption")?);
            } else if let Some(entry) = LogEntry::decode(item)? {
                match entry {
                    LogEntry::Message(m) => all.messages.push(*m),
                    LogEntry::Activity(a) => all.activities.push(a),
                    // The points history is paged on its own (`ledger_page`).
                    LogEntry::Ledger(_) => {}
                }
            }
            Ok(())
        })
        .await?;
        Ok(all)
    }
}

/// One entry of the due index: the item's key and when it is due (epoch seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueEntry {
    pub key: Key,
    pub due_at: i64,
}

/// An entry of the log index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogEntry {
    Message(Box<MessageRecord>),
    Activity(ActivityRecord),
    /// A points change of a customer's own (a redemption, its cancellation, an expiry, a
    /// birthday, an adjustment); orders' points are on their activities.
    Ledger(crate::domain::LedgerEntry),
}

impl LogEntry {
    fn decode(item: Item) -> Result<Option<LogEntry>, StoreError> {
        let sk = item
            .get(keys::SK)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default();
        if sk.starts_with(keys::MESSAGE_PREFIX) {
            Ok(Some(LogEntry::Message(Box::new(decode(item, "message")?))))
        } else if sk.starts_with(keys::ACTIVITY_PREFIX) {
            Ok(Some(LogEntry::Activity(decode(item, "activity")?)))
        } else if sk.starts_with(keys::LEDGER_PREFIX) {
            Ok(Some(LogEntry::Ledger(decode(item, "ledger_entry")?)))
        } else {
            Ok(None)
        }
    }
}

/// Everything held for one customer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerItems {
    pub profile: Option<CustomerProfile>,
    pub orders: Vec<Order>,
    pub messages: Vec<MessageRecord>,
    pub activities: Vec<ActivityRecord>,
    /// Points ledger entries with their sort keys, oldest first.
    pub ledger: Vec<(String, crate::domain::LedgerEntry)>,
    pub redemptions: Vec<crate::domain::Redemption>,
}
