//! The loyalty API's items: ledger entries, redemptions and reward codes, and the one
//! transaction that changes a customer's points together with its ledger entry.

use super::dynamo::{Item, decode, encode, profile_item, put_item, with_log};
use super::{Store, StoreError, keys};
use crate::domain::{CustomerId, CustomerProfile, LedgerEntry, Order, ShopId, Timestamp};
use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem};
use serde::{Deserialize, Serialize};

/// A redemption as stored: the answer it gave, so the same idempotency key gets it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redemption {
    pub id: String,
    pub reward: String,
    /// What was asked: the same key with another request is refused.
    pub requested_points: Option<u64>,
    pub code: String,
    /// The answer's `value` (an amount or a percentage).
    pub value: serde_json::Value,
    pub points_spent: u64,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub balance_after: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voided_at: Option<Timestamp>,
    /// The order whose discount code it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_by_order: Option<String>,
}

/// A code in the shop's registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct CodeRecord {
    code: String,
    reward: String,
}

/// What a points change's transaction came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PointsWritten {
    Committed,
    /// The profile changed since it was read: read and decide again.
    Conflict,
    /// The code was taken by another redemption meanwhile: take another.
    CodeTaken,
    /// A redemption with this id exists already (the same idempotency key).
    RedemptionExists,
}

/// A change of a customer's points: the profile at the version read, and its ledger entry.
pub struct PointsChange<'a> {
    pub profile: &'a CustomerProfile,
    pub read_version: u64,
    pub entry: &'a LedgerEntry,
    pub entry_id: &'a str,
}

impl Store {
    /// Writes a points change in one transaction: the profile (only if still at the version
    /// read), its ledger entry, and for a redemption the redemption item (only if new) with
    /// its code taken from the pool (only if still free); for a cancellation the redemption
    /// voided (only if neither voided nor used).
    pub async fn write_points(
        &self,
        change: PointsChange<'_>,
        redemption: Option<(&Redemption, Option<&str>)>,
        void: Option<&Redemption>,
    ) -> Result<PointsWritten, StoreError> {
        let shop = &change.profile.shop;
        let customer = &change.profile.id;
        let mut entry = encode(
            change.entry,
            &keys::ledger_entry(shop, customer, micros(change.entry.at), change.entry_id),
            "ledger_entry",
        )?;
        // In the log index too, so that the overview's day summaries count it (one more write
        // unit, the index's copy).
        with_log(&mut entry, shop, change.entry.at);
        let mut items = vec![
            put_item(
                self.table(),
                profile_item(shop, change.profile)?,
                Some(("version = :read_version", Some(change.read_version))),
            )?,
            put_item(
                self.table(),
                entry,
                Some(("attribute_not_exists(pk)", None)),
            )?,
        ];
        if let Some((redemption, reward)) = redemption {
            items.push(put_item(
                self.table(),
                encode(
                    redemption,
                    &keys::redemption(shop, customer, &redemption.id),
                    "redemption",
                )?,
                Some(("attribute_not_exists(pk)", None)),
            )?);
            let reward = reward.unwrap_or(&redemption.reward);
            let free = keys::free_code(shop, reward, &redemption.code);
            let delete = Delete::builder()
                .table_name(self.table())
                .set_key(Some(free.to_item()))
                .condition_expression("attribute_exists(pk)")
                .build()
                .map_err(|e| StoreError::Failed(e.to_string()))?;
            items.push(TransactWriteItem::builder().delete(delete).build());
        }
        if let Some(voided) = void {
            let mut item = encode(
                voided,
                &keys::redemption(shop, customer, &voided.id),
                "redemption",
            )?;
            item.shrink_to_fit();
            let put = aws_sdk_dynamodb::types::Put::builder()
                .table_name(self.table())
                .set_item(Some(item))
                .condition_expression(
                    "attribute_exists(pk) AND attribute_not_exists(voided_at) AND attribute_not_exists(used_by_order)",
                )
                .build()
                .map_err(|e| StoreError::Failed(e.to_string()))?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        match self.try_transact(items).await? {
            None => Ok(PointsWritten::Committed),
            Some(reasons) => {
                let failed =
                    |i: usize| reasons.get(i).map(String::as_str) == Some("ConditionalCheckFailed");
                if failed(0) {
                    Ok(PointsWritten::Conflict)
                } else if redemption.is_some() && failed(2) {
                    Ok(PointsWritten::RedemptionExists)
                } else if redemption.is_some() && failed(3) {
                    Ok(PointsWritten::CodeTaken)
                } else if void.is_some() && failed(2) {
                    // Used or voided meanwhile: the caller reads it again.
                    Ok(PointsWritten::Conflict)
                } else {
                    // A conflict with a concurrent transaction, or the entry's key taken in
                    // the same microsecond: read and try again.
                    Ok(PointsWritten::Conflict)
                }
            }
        }
    }

    pub async fn redemption(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        id: &str,
    ) -> Result<Option<Redemption>, StoreError> {
        self.get(&keys::redemption(shop, customer, id), "redemption")
            .await
    }

    /// Up to `limit` free codes of a reward, read consistently.
    pub async fn free_codes(
        &self,
        shop: &ShopId,
        reward: &str,
        limit: i32,
    ) -> Result<Vec<String>, StoreError> {
        let out = self
            .client()
            .query()
            .table_name(self.table())
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(keys::code_pool(shop, reward)))
            .projection_expression("sk")
            .consistent_read(true)
            .limit(limit)
            .send()
            .await
            .map_err(|e| StoreError::from_sdk(&e))?;
        Ok(out
            .items()
            .iter()
            .filter_map(|item| item.get(keys::SK)?.as_s().ok())
            .filter_map(|sk| sk.strip_prefix(keys::CODE_PREFIX).map(str::to_owned))
            .collect())
    }

    /// How many codes of a reward are free (a count only: no item is returned).
    pub async fn count_free_codes(&self, shop: &ShopId, reward: &str) -> Result<u64, StoreError> {
        let mut total = 0u64;
        let mut start = None;
        loop {
            let out = self
                .client()
                .query()
                .table_name(self.table())
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(
                    ":pk",
                    AttributeValue::S(keys::code_pool(shop, reward)),
                )
                .select(aws_sdk_dynamodb::types::Select::Count)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| StoreError::from_sdk(&e))?;
            total += u64::try_from(out.count()).unwrap_or(0);
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(total);
            }
        }
    }

    /// Adds a code to a reward's pool unless the shop has it already in any pool: the
    /// registry entry and the free code in one transaction. `false` when it was known.
    pub async fn add_code(
        &self,
        shop: &ShopId,
        reward: &str,
        code: &str,
    ) -> Result<bool, StoreError> {
        let record = CodeRecord {
            code: code.to_owned(),
            reward: reward.to_owned(),
        };
        let items = vec![
            put_item(
                self.table(),
                encode(&record, &keys::code_registry(shop, code), "code")?,
                Some(("attribute_not_exists(pk)", None)),
            )?,
            put_item(
                self.table(),
                encode(&record, &keys::free_code(shop, reward, code), "free_code")?,
                None,
            )?,
        ];
        match self.try_transact(items).await? {
            None => Ok(true),
            Some(reasons)
                if reasons.first().map(String::as_str) == Some("ConditionalCheckFailed") =>
            {
                Ok(false)
            }
            Some(_) => Err(StoreError::Unavailable("code transaction conflict".into())),
        }
    }

    /// A page of the customer's own ledger entries, newest first, strictly older than
    /// `before` (a ledger sort key), and the customer's orders (whose points are on them).
    pub async fn ledger_page(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        before: Option<&str>,
        limit: i32,
    ) -> Result<Vec<(String, LedgerEntry)>, StoreError> {
        let pk = keys::profile(shop, customer).pk;
        let upper = before
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{}~", keys::LEDGER_PREFIX));
        let out = self
            .client()
            .query()
            .table_name(self.table())
            .key_condition_expression("pk = :pk AND sk BETWEEN :low AND :high")
            .expression_attribute_values(":pk", AttributeValue::S(pk))
            .expression_attribute_values(":low", AttributeValue::S(keys::LEDGER_PREFIX.into()))
            .expression_attribute_values(":high", AttributeValue::S(upper.clone()))
            .scan_index_forward(false)
            .limit(limit + 1)
            .send()
            .await
            .map_err(|e| StoreError::from_sdk(&e))?;
        let mut entries = Vec::new();
        for item in out.items.unwrap_or_default() {
            let sk = sort_key(&item);
            if sk == upper {
                continue;
            }
            entries.push((sk, decode(item, "ledger_entry")?));
        }
        entries.truncate(usize::try_from(limit).unwrap_or(0));
        Ok(entries)
    }

    /// The customer's orders (their points are the ledger's order lines).
    pub async fn orders(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
    ) -> Result<Vec<Order>, StoreError> {
        let pk = keys::profile(shop, customer).pk;
        let mut orders = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client()
                .query()
                .table_name(self.table())
                .key_condition_expression("pk = :pk AND begins_with(sk, :order)")
                .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
                .expression_attribute_values(":order", AttributeValue::S(keys::ORDER_PREFIX.into()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| StoreError::from_sdk(&e))?;
            for item in out.items.unwrap_or_default() {
                orders.push(decode(item, "order")?);
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(orders);
            }
        }
    }
}

fn sort_key(item: &Item) -> String {
    item.get(keys::SK)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

/// A ledger entry's time as it sorts (epoch microseconds).
pub fn micros(at: Timestamp) -> i64 {
    i64::try_from(at.as_microsecond()).unwrap_or(i64::MAX)
}
