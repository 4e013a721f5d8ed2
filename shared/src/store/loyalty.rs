//! The loyalty API's items: ledger entries, redemptions and reward codes, and the one
//! transaction that changes a customer's points together with its ledger entry.

use super::items::{Item, decode, encode, message_item, profile_item, put_item, with_log};
use super::{Store, StoreError, keys};
use crate::domain::{
    CustomerId, CustomerProfile, LedgerEntry, MessageRecord, Order, PoolAlert, Redemption, ShopId,
    Timestamp,
};
use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem};
use serde::{Deserialize, Serialize};

/// A code in the shop's registry, and the redemption that handed it out (by id only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct CodeRecord {
    code: String,
    reward: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    redemption: Option<String>,
}

/// What erasing a customer takes of their loyalty items: the reasons of their ledger entries
/// (by sort key) and the codes of their redemptions, with the registry's lead to them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoyaltyErasure {
    pub entries: Vec<String>,
    /// The redemptions as they are now (with the code to unlink).
    pub redemptions: Vec<Redemption>,
}

impl LoyaltyErasure {
    /// Only the items that still hold something personal (the rules are the domain's).
    pub fn of(ledger: &[(String, LedgerEntry)], redemptions: &[Redemption]) -> Self {
        LoyaltyErasure {
            entries: ledger
                .iter()
                .filter(|(_, e)| crate::domain::erase_ledger_entry(e).is_some())
                .map(|(sk, _)| sk.clone())
                .collect(),
            redemptions: redemptions
                .iter()
                .filter(|r| crate::domain::erase_redemption(r).is_some())
                .cloned()
                .collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len() + self.redemptions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a points change's transaction came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PointsWritten {
    Committed,
    /// The profile changed since it was read: read and decide again.
    Conflict,
    /// The code was taken by another redemption meanwhile: take another (a pool's code), or
    /// the registry knows the code already (one the shop's coupon endpoint made).
    CodeTaken,
    /// A redemption or adjustment with this id exists already (the same idempotency key):
    /// read it and answer as it did.
    Recorded,
}

/// A change of a customer's points: the profile at the version read, and its ledger entry.
pub struct PointsChange<'a> {
    pub profile: &'a CustomerProfile,
    pub read_version: u64,
    pub entry: &'a LedgerEntry,
    pub entry_id: &'a str,
}

/// An adjustment's answer, kept under its idempotency key's id: the same key again answers
/// the same; another request under it is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adjustment {
    pub id: String,
    /// A digest of the points and reason asked for (the reason itself is on the ledger entry).
    pub asked: String,
    pub points: i64,
    pub balance_after: u64,
    pub at: Timestamp,
}

/// A pool a redemption leaves low: its new state, written only if the state is still the one
/// read (a concurrent redemption that alerted first makes this one read and decide again),
/// and the alert to the shop's service address (a message item, sent through the stream).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolRunsLow {
    pub read: PoolAlert,
    pub next: PoolAlert,
    pub alert: MessageRecord,
}

/// What is written with a points change besides the profile and its ledger entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attachment {
    /// A new redemption (only if new), its code taken from its reward's pool (only if still
    /// free), and the code's registry entry leading to it; and when it leaves the pool low for
    /// the first time since it was filled, the pool's new state and the alert.
    Redeemed(Redemption, Option<Box<PoolRunsLow>>),
    /// A new redemption (only if new) whose code the shop's coupon endpoint made, and the
    /// code's registry entry leading to it (only if the registry does not know the code yet:
    /// a code is handed out once).
    Issued(Redemption),
    /// The redemption voided (only if neither voided nor used meanwhile).
    Voided(Redemption),
    /// An adjustment's answer (only if new).
    Adjusted(Adjustment),
}

impl Store {
    /// Writes a points change in one transaction: the profile (only if still at the version
    /// read), its ledger entry, and what goes with it (see [`Attachment`]).
    pub async fn write_points(
        &self,
        change: PointsChange<'_>,
        with: &Attachment,
    ) -> Result<PointsWritten, StoreError> {
        let shop = &change.profile.shop;
        let customer = &change.profile.id;
        let new = Some(("attribute_not_exists(pk)", None));
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
            put_item(self.table(), entry, new)?,
        ];
        match with {
            Attachment::Redeemed(redemption, runs_low) => {
                let key = keys::redemption(shop, customer, &redemption.id);
                items.push(put_item(
                    self.table(),
                    encode(redemption, &key, "redemption")?,
                    new,
                )?);
                let free = keys::free_code(shop, &redemption.reward, &redemption.code);
                let delete = Delete::builder()
                    .table_name(self.table())
                    .set_key(Some(free.to_item()))
                    .condition_expression("attribute_exists(pk)")
                    .build()
                    .map_err(|e| StoreError::Failed(e.to_string()))?;
                items.push(TransactWriteItem::builder().delete(delete).build());
                // The registry leads from the code, when an order carries it, to the redemption.
                let registry = CodeRecord {
                    code: redemption.code.clone(),
                    reward: redemption.reward.clone(),
                    redemption: Some(redemption.id.clone()),
                };
                let key = keys::code_registry(shop, &redemption.code);
                items.push(put_item(
                    self.table(),
                    encode(&registry, &key, "code")?,
                    None,
                )?);
                if let Some(low) = runs_low {
                    let key = keys::pool_alert(shop, &redemption.reward);
                    items.push(put_item(
                        self.table(),
                        encode(&low.next, &key, "pool_alert")?,
                        Some((
                            "attribute_not_exists(pk) OR (episode = :read_version AND attribute_not_exists(low_since))",
                            Some(low.read.episode),
                        )),
                    )?);
                    items.push(put_item(self.table(), message_item(&low.alert)?, new)?);
                }
            }
            Attachment::Issued(redemption) => {
                let key = keys::redemption(shop, customer, &redemption.id);
                items.push(put_item(
                    self.table(),
                    encode(redemption, &key, "redemption")?,
                    new,
                )?);
                let registry = CodeRecord {
                    code: redemption.code.clone(),
                    reward: redemption.reward.clone(),
                    redemption: Some(redemption.id.clone()),
                };
                let key = keys::code_registry(shop, &redemption.code);
                items.push(put_item(
                    self.table(),
                    encode(&registry, &key, "code")?,
                    new,
                )?);
            }
            Attachment::Voided(voided) => {
                let item = encode(
                    voided,
                    &keys::redemption(shop, customer, &voided.id),
                    "redemption",
                )?;
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
            Attachment::Adjusted(adjustment) => {
                let key = keys::adjustment(shop, customer, &adjustment.id);
                items.push(put_item(
                    self.table(),
                    encode(adjustment, &key, "adjustment")?,
                    new,
                )?);
            }
        }
        let Some(reasons) = self.try_transact(items).await? else {
            return Ok(PointsWritten::Committed);
        };
        let failed =
            |i: usize| reasons.get(i).map(String::as_str) == Some("ConditionalCheckFailed");
        Ok(match with {
            _ if failed(0) => PointsWritten::Conflict,
            Attachment::Redeemed(..) | Attachment::Issued(_) | Attachment::Adjusted(_)
                if failed(2) =>
            {
                PointsWritten::Recorded
            }
            Attachment::Redeemed(..) | Attachment::Issued(_) if failed(3) => {
                PointsWritten::CodeTaken
            }
            // Used or voided meanwhile, a conflict with a concurrent transaction, or the
            // entry's key taken in the same microsecond: read and try again.
            _ => PointsWritten::Conflict,
        })
    }

    /// The redemption a code was handed out by, if any: the registry's lead (a redemption id;
    /// the customer's own partition holds the redemption).
    pub async fn code_redemption(
        &self,
        shop: &ShopId,
        code: &str,
    ) -> Result<Option<String>, StoreError> {
        let record: Option<CodeRecord> = self.get(&keys::code_registry(shop, code), "code").await?;
        Ok(record.and_then(|r| r.redemption))
    }

    /// The customer's redemptions that these codes were handed out by (codes no redemption of
    /// this customer took lead to nothing).
    pub async fn redemptions_of_codes(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        codes: &[String],
    ) -> Result<Vec<Redemption>, StoreError> {
        let mut found = Vec::new();
        for code in codes {
            let Some(id) = self.code_redemption(shop, code).await? else {
                continue;
            };
            if let Some(redemption) = self.redemption(shop, customer, &id).await? {
                found.push(redemption);
            }
        }
        Ok(found)
    }

    /// The put that records a redemption's use with an order's transaction: only while it is
    /// neither voided nor used (a cancellation or another order first cancels the transaction,
    /// and the order is decided again).
    pub(super) fn redemption_used(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        used: &Redemption,
    ) -> Result<TransactWriteItem, StoreError> {
        let item = encode(
            used,
            &keys::redemption(shop, customer, &used.id),
            "redemption",
        )?;
        let put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression(
                "attribute_exists(pk) AND attribute_not_exists(voided_at) AND attribute_not_exists(used_by_order)",
            )
            .build()
            .map_err(|e| StoreError::Failed(e.to_string()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// An adjustment's stored answer, by the id its idempotency key names.
    pub async fn adjustment(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        id: &str,
    ) -> Result<Option<Adjustment>, StoreError> {
        self.get(&keys::adjustment(shop, customer, id), "adjustment")
            .await
    }

    /// The erasure's writes for loyalty items, each with its rough size: per redemption first
    /// the registry entry without its lead to the redemption, then the redemption without its
    /// code (in this order, so an erasure split over steps that dies between them still finds
    /// the code on the redemption when it is run again); then the ledger entries without their
    /// reasons. Updates of single attributes, so a concurrent change of the item is kept.
    pub(super) fn loyalty_erasure(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        erasure: &LoyaltyErasure,
    ) -> Result<Vec<(TransactWriteItem, usize)>, StoreError> {
        let mut writes = Vec::new();
        for redemption in &erasure.redemptions {
            let record = CodeRecord {
                code: redemption.code.clone(),
                reward: redemption.reward.clone(),
                redemption: None,
            };
            let key = keys::code_registry(shop, &redemption.code);
            writes.push((
                put_item(self.table(), encode(&record, &key, "code")?, None)?,
                key.pk.len() + 2 * redemption.code.len() + 100,
            ));
            let key = keys::redemption(shop, customer, &redemption.id);
            writes.push((
                self.update_in_place(&key, "SET code = :blank", Some(":blank"))?,
                key.pk.len() + key.sk.len() + 100,
            ));
        }
        for sk in &erasure.entries {
            let key = keys::Key {
                pk: keys::profile(shop, customer).pk,
                sk: sk.clone(),
            };
            writes.push((
                self.update_in_place(&key, "REMOVE reason", None)?,
                key.pk.len() + key.sk.len() + 100,
            ));
        }
        Ok(writes)
    }

    /// An update of an item that must still exist (an erasure never creates one).
    fn update_in_place(
        &self,
        key: &keys::Key,
        expression: &str,
        blank: Option<&str>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut update = aws_sdk_dynamodb::types::Update::builder()
            .table_name(self.table())
            .set_key(Some(key.to_item()))
            .update_expression(expression)
            .condition_expression("attribute_exists(pk)");
        if let Some(name) = blank {
            update = update.expression_attribute_values(name, AttributeValue::S(String::new()));
        }
        let update = update
            .build()
            .map_err(|e| StoreError::Failed(e.to_string()))?;
        Ok(TransactWriteItem::builder().update(update).build())
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
            .key_condition_expression("pk = :pk AND begins_with(sk, :code)")
            .expression_attribute_values(":pk", AttributeValue::S(keys::code_pool(shop, reward)))
            .expression_attribute_values(":code", AttributeValue::S(keys::CODE_PREFIX.into()))
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
                .key_condition_expression("pk = :pk AND begins_with(sk, :code)")
                .expression_attribute_values(
                    ":pk",
                    AttributeValue::S(keys::code_pool(shop, reward)),
                )
                .expression_attribute_values(":code", AttributeValue::S(keys::CODE_PREFIX.into()))
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

    /// Whether a reward's pool is low (the default: never was).
    pub async fn pool_alert(&self, shop: &ShopId, reward: &str) -> Result<PoolAlert, StoreError> {
        Ok(self
            .get(&keys::pool_alert(shop, reward), "pool_alert")
            .await?
            .unwrap_or_default())
    }

    /// Records that codes lifted a low pool to the mark: the next fall alerts again. Only if
    /// the state is still the one read; `false` when another writer changed it meanwhile.
    pub async fn pool_refilled(
        &self,
        shop: &ShopId,
        reward: &str,
        read: &PoolAlert,
        next: &PoolAlert,
    ) -> Result<bool, StoreError> {
        let item = encode(next, &keys::pool_alert(shop, reward), "pool_alert")?;
        self.put_new(put_item(
            self.table(),
            item,
            Some(("episode = :read_version", Some(read.episode))),
        )?)
        .await
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
            redemption: None,
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
        let mut orders = Vec::new();
        self.read_partition(
            &keys::profile(shop, customer).pk,
            Some(keys::ORDER_PREFIX),
            false,
            |_, item| {
                orders.push(decode(item, "order")?);
                Ok(())
            },
        )
        .await?;
        Ok(orders)
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
    at.as_microsecond()
}
