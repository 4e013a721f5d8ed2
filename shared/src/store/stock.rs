//! Products and their regular buyers: one partition per shop and sku (see [`keys`]).
//!
//! - the product's availability item (`PRODUCT`), versioned; while a pass over its buyers is
//!   unfinished it sits in the due index, so the schedule continues it;
//! - one item per regular buyer (`BUYER#{customer}`) with the days between their purchases
//!   (`interval_days`), written once, with the order that made them one (see
//!   [`crate::domain::stock::regular_buys`]), and deleted by an erasure.

use super::items::{Item, encode, put_item};
use super::{Store, StoreError, keys};
use crate::domain::stock::{ProductState, RegularBuy};
use crate::domain::{CustomerId, ShopId, Sku, Timestamp};
use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem};

/// A regular buyer as the index holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegularBuyer {
    pub customer: CustomerId,
    /// Days between their purchases of the product.
    pub interval_days: u32,
}

const INTERVAL_DAYS: &str = "interval_days";
const CUSTOMER_ID: &str = "customer_id";
/// At most this many regular-buyer entries are written with one order (its transaction holds
/// at most 100 items); an order with more new regular buys is rare, and the rest are logged.
pub(super) const MAX_REGULAR_BUYS_PER_ORDER: usize = 25;

impl Store {
    /// A product's availability, read consistently; `None` before the shop first told of it.
    pub async fn product(
        &self,
        shop: &ShopId,
        sku: &Sku,
    ) -> Result<Option<ProductState>, StoreError> {
        self.get(&keys::product(shop, sku), "product").await
    }

    /// A product's availability by its item's key (the schedule meets the key).
    pub async fn product_at(&self, key: &keys::Key) -> Result<Option<ProductState>, StoreError> {
        self.get(key, "product").await
    }

    /// Writes a product's new availability if it is still at the version read (`false` when
    /// another writer came first: read and apply again). While a pass over its buyers is
    /// unfinished, the item is due at `due_at` (the schedule continues the pass).
    pub async fn put_product(
        &self,
        shop: &ShopId,
        product: &ProductState,
        due_at: Option<Timestamp>,
    ) -> Result<bool, StoreError> {
        let key = keys::product(shop, &product.sku);
        let mut item = encode(product, &key, "product")?;
        if let Some(due) = due_at.filter(|_| product.fanout.is_some()) {
            item.insert(
                keys::DUE_SHARD.into(),
                AttributeValue::S(keys::due_shard(&key.pk)),
            );
            item.insert(
                keys::DUE_AT.into(),
                AttributeValue::N(due.as_second().to_string()),
            );
        }
        let condition = match product.version {
            1 => ("attribute_not_exists(pk)", None),
            v => ("version = :read_version", Some(v - 1)),
        };
        self.put_new(put_item(self.table(), item, Some(condition))?)
            .await
    }

    /// One page of a product's regular buyers, after the customer `after` (ids in key
    /// order), at most `limit`; the last id when there may be more.
    pub async fn regular_buyers(
        &self,
        shop: &ShopId,
        sku: &Sku,
        after: Option<&str>,
        limit: i32,
    ) -> Result<(Vec<RegularBuyer>, Option<String>), StoreError> {
        let pk = keys::product_partition(shop, sku);
        let mut query = self
            .client()
            .query()
            .table_name(self.table())
            .key_condition_expression("pk = :pk AND begins_with(sk, :buyer)")
            .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
            .expression_attribute_values(":buyer", AttributeValue::S(keys::BUYER_PREFIX.into()))
            .limit(limit);
        if let Some(after) = after {
            query = query.exclusive_start_key(keys::PK, AttributeValue::S(pk.clone()));
            query = query.exclusive_start_key(
                keys::SK,
                AttributeValue::S(format!("{}{after}", keys::BUYER_PREFIX)),
            );
        }
        let out = query.send().await.map_err(|e| StoreError::from_sdk(&e))?;
        let mut buyers = Vec::new();
        for item in out.items.unwrap_or_default() {
            match buyer_of(&item) {
                Some(buyer) => buyers.push(buyer),
                None => tracing::warn!(pk = %pk, "unreadable regular-buyer item; skipped"),
            }
        }
        let next = out
            .last_evaluated_key
            .as_ref()
            .and_then(|k| {
                k.get(keys::SK)?
                    .as_s()
                    .ok()?
                    .strip_prefix(keys::BUYER_PREFIX)
            })
            .map(str::to_owned);
        Ok((buyers, next))
    }
}

fn buyer_of(item: &Item) -> Option<RegularBuyer> {
    let customer = item
        .get(keys::SK)?
        .as_s()
        .ok()?
        .strip_prefix(keys::BUYER_PREFIX)?;
    let interval_days = item.get(INTERVAL_DAYS)?.as_n().ok()?.parse::<u32>().ok()?;
    Some(RegularBuyer {
        customer: CustomerId::parse(customer).ok()?,
        interval_days,
    })
}
/// The put of a customer's entry in a product's regular buyers (in the order's transaction).
pub(super) fn regular_buyer_put(
    table: &str,
    shop: &ShopId,
    customer: &CustomerId,
    buy: &RegularBuy,
) -> Result<TransactWriteItem, StoreError> {
    let key = keys::regular_buyer(shop, &buy.sku, customer);
    let mut item = key.to_item();
    item.insert(
        keys::ITEM_KIND.into(),
        AttributeValue::S("regular_buyer".into()),
    );
    item.insert(
        CUSTOMER_ID.into(),
        AttributeValue::S(customer.as_str().to_owned()),
    );
    item.insert(
        INTERVAL_DAYS.into(),
        AttributeValue::N(buy.interval_days.to_string()),
    );
    put_item(table, item, None)
}

/// The delete of a customer's entry in a product's regular buyers (an erasure).
pub(super) fn regular_buyer_delete(
    table: &str,
    shop: &ShopId,
    customer: &CustomerId,
    sku: &Sku,
) -> Result<TransactWriteItem, StoreError> {
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(keys::regular_buyer(shop, sku, customer).to_item()))
        .build()
        .map_err(|e| StoreError::Failed(e.to_string()))?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}
