//! The DynamoDB adapter. A webhook reads with one `BatchGetItem` (processed-event record,
//! profile, order) and writes what its decision changed: one `TransactWriteItems` when more
//! than one item of state changes, plain conditional `PutItem`s otherwise, and its log rows
//! (timeline entries, SKIPPED messages) on their own after the state
//! ([`Store::write_decision`]).
//!
//! Here: the [`Store`] itself, shops, that read and that write, and the plain reads and
//! writes the other parts of the store build on. What a decision does not write lives apart,
//! each part an `impl Store` of its own: parked events ([`super::parked`]), an erasure's
//! writes ([`super::erasure`]), a message's life after its creation ([`super::sending`]) and
//! the reads of the pages and the schedule ([`super::reads`]); how records become items is
//! [`super::items`].

use super::StoreError;
use super::error::condition_applied;
use super::items::{
    Item, decode, decode_profile, encode, message_item, order_item, order_put, profile_item,
    put_item, with_log,
};
use super::keys::{self, EXPIRES_AT, Key};
use super::summaries;
use crate::domain::{
    ActivityRecord, CustomerId, CustomerProfile, CustomerState, Decision, EventId, MessageIntent,
    MessageRecord, MessageStatus, Order, OrderId, ShopId, ShopSettings, ShopifyConnection,
    SkipReason, Timestamp, WooCommerceConnection,
};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, TransactWriteItem};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A shop as stored: its settings and references to its webhook secrets
/// (`ssm:/trouw/shops/demo/webhook-secret` or `env:DEMO_WEBHOOK_SECRET`), never the secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopRecord {
    pub settings: ShopSettings,
    /// Standard Webhooks secrets for the canonical format.
    #[serde(default)]
    pub webhook_secrets: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shopify: Option<ShopifyConnection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub woocommerce: Option<WooCommerceConnection>,
    /// The loyalty API's secrets, as references (`ssm:`/`env:`), never the values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loyalty_api: Option<crate::shops::LoyaltyApiRefs>,
}

/// The de-duplication record of a processed webhook; expires after a week.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessedEvent {
    pub event_id: EventId,
    pub route: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<CustomerId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<OrderId>,
    pub processed_at: Timestamp,
    /// Epoch seconds; the table's TTL attribute.
    pub expires_at: i64,
}

impl ProcessedEvent {
    pub const KEEP_FOR: jiff::SignedDuration = jiff::SignedDuration::from_hours(7 * 24);
}

/// What one read found for a webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    pub already_processed: bool,
    pub state: CustomerState,
}

/// The result of writing a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Committed,
    /// The processed-event record already existed: another delivery won.
    Duplicate,
    /// The profile changed since it was read; read and decide again.
    Conflict,
}

#[derive(Clone, Debug)]
pub struct Store {
    pub(super) client: Client,
    pub(super) table: String,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// One item by key, decoded; `None` if absent.
    pub(super) async fn get<T: serde::de::DeserializeOwned>(
        &self,
        key: &Key,
        kind: &str,
    ) -> Result<Option<T>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key.to_item()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::from_sdk(&e))?;
        out.item.map(|item| decode::<T>(item, kind)).transpose()
    }

    pub async fn get_shop(&self, shop: &ShopId) -> Result<Option<ShopRecord>, StoreError> {
        self.get(&keys::shop_settings(shop), "shop settings").await
    }

    /// Adds or replaces a shop's settings.
    pub async fn put_shop(&self, record: &ShopRecord) -> Result<(), StoreError> {
        let item = encode(record, &keys::shop_settings(&record.settings.id), "shop")?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| StoreError::from_sdk(&e))?;
        Ok(())
    }

    /// One `BatchGetItem`, strongly consistent: was the event seen, and the customer's state.
    pub async fn load(
        &self,
        shop: &ShopId,
        event: &EventId,
        customer: &CustomerId,
        order: Option<&OrderId>,
    ) -> Result<Loaded, StoreError> {
        let event_key = keys::processed_event(shop, event);
        let profile_key = keys::profile(shop, customer);
        let order_key = order.map(|o| keys::order(shop, customer, o));
        let mut wanted = vec![event_key.clone(), profile_key.clone()];
        wanted.extend(order_key.clone());
        let mut found = self.items_by_key(&wanted, true).await?;

        let profile = found.remove(&profile_key).map(decode_profile).transpose()?;
        let order = order_key
            .and_then(|k| found.remove(&k))
            .map(|i| decode::<Order>(i, "order"))
            .transpose()?;
        Ok(Loaded {
            already_processed: found.contains_key(&event_key),
            state: CustomerState {
                profile,
                order,
                year_orders: None,
            },
        })
    }

    /// Writes what a decision changed: the profile only if it changed (and only if still at the
    /// version read), the order only if it changed (and only if still at the revision read),
    /// its owner with its first write, the rules' ledger items, the redemptions the order's
    /// discount codes used (only if still open), activities, messages, and the processed-event
    /// record (only if new).
    ///
    /// - One item changed and nothing else (a delivery, a restated address): a conditional
    ///   `PutItem` of that item, then the processed-event record's own `PutItem` (1 + 1 WRU
    ///   instead of 2 + 2 in a transaction). A process that dies between the two leaves the
    ///   event unrecorded; the platform's retry decides it again on the state written, which
    ///   changes nothing (`decide_tests::an_event_applied_again_changes_nothing`), and records
    ///   it.
    /// - More: one `TransactWriteItems`, all or nothing.
    ///
    /// What is a log row only, a timeline entry or a message the gate refuses for good (created
    /// SKIPPED: no stream delivery, no email), and a new order's owner, are put on their own
    /// before the state is written (1 WRU each, not 2; a message only if its key is new): a
    /// retry of the delivery writes them the same again, so none is lost, whatever fails
    /// after them. A delivery whose state is never written (its platform gives up) can leave
    /// such rows behind; it never leaves a state change without them, nor an email.
    pub async fn write_decision(
        &self,
        shop: &ShopId,
        read: &Loaded,
        decision: &Decision,
        redemptions_used: &[crate::domain::Redemption],
        processed: &ProcessedEvent,
    ) -> Result<Written, StoreError> {
        let customer = &decision.profile.id;
        let read_version = read.state.profile.as_ref().map(|p| p.version);
        let mut changes = Vec::new();
        if read_version != Some(decision.profile.version) {
            changes.push(self.profile_put(shop, read_version, &decision.profile)?);
        }
        if let Some(order) = decision.order.as_ref().filter(|_| decision.order_changed) {
            let item = order_item(shop, customer, order, decision.order_due_at)?;
            changes.push(order_put(
                &self.table,
                item,
                order,
                decision.order_first_seen,
            )?);
            // An order never changes hands: its owner is written once, before the order's
            // first write and on its own (1 WRU, not 2 in the transaction). Should the order
            // then not be written, the owner names its customer all the same: an event that
            // names only the order finds no order there and is parked, as before it is seen.
            if decision.order_first_seen {
                let owner = OrderOwner {
                    customer_id: customer.clone(),
                };
                let owner_item =
                    encode(&owner, &keys::order_owner(shop, &order.id), "order_owner")?;
                self.put_trying(put_item(&self.table, owner_item, None)?)
                    .await?;
            }
        }
        // The profile and the order: what a read-and-decide again can redo.
        let state_items = changes.len();
        // The rules' ledger items (an expiry, birthday points): their keys are new with the
        // profile's version, which the profile's own condition guards.
        for item in &decision.ledger {
            let key = keys::ledger_entry(
                shop,
                customer,
                super::loyalty::micros(item.entry.at),
                &item.id,
            );
            let mut entry = encode(&item.entry, &key, "ledger_entry")?;
            // In the log index, for the overview's points (see `Store::write_points`).
            with_log(&mut entry, shop, item.entry.at);
            changes.push(put_item(&self.table, entry, None)?);
        }
        // What an attributed order earned goes on its message: counters added to, so it goes
        // in the transaction with the order's own write, which decides once (a redelivered
        // order adds nothing).
        if let Some(earned) = &decision.attribution {
            changes.push(self.attribution_update(shop, customer, earned)?);
            // The message is counted on the day it was created: a day already over may have a
            // kept summary, which must count this order (or return) too, so the same
            // transaction marks that day changed.
            if let Some(day) = self
                .message_log_day(shop, customer, &earned.message_key)
                .await?
                && summaries::marks_day(day, processed.processed_at)
            {
                let changed =
                    summaries::day_changed(&self.table, shop, day, processed.processed_at)?;
                changes.push(TransactWriteItem::builder().update(changed).build());
            }
        }
        // A first answer to a question goes under the question, with the profile that
        // records it answered (so it is kept once).
        if let Some(answer) = &decision.answer {
            changes.push(super::answers::answer_put(
                &self.table,
                shop,
                customer,
                answer,
            )?);
        }
        // A redemption voided or used meanwhile cancels the transaction: decide again.
        for used in redemptions_used {
            changes.push(self.redemption_used(shop, customer, used)?);
        }
        // The products this order made the customer a regular buyer of (or moved their next
        // purchase): in the transaction, so only what a committed decision saw is written.
        for buy in decision
            .regular_buys
            .iter()
            .take(super::stock::MAX_REGULAR_BUYS_PER_ORDER)
        {
            changes.push(super::stock::regular_buyer_put(
                &self.table,
                shop,
                customer,
                buy,
            )?);
        }
        if decision.regular_buys.len() > super::stock::MAX_REGULAR_BUYS_PER_ORDER {
            tracing::warn!(
                order_id = decision.order.as_ref().map(|o| o.id.as_str()),
                regular_buys = decision.regular_buys.len(),
                "more regular buys than one order writes; the rest wait for the next order"
            );
        }
        // Timeline entries, like SKIPPED messages, are log rows: put on their own, before the
        // state.
        let mut rows = Vec::new();
        for (n, activity) in decision.activities.iter().enumerate() {
            let record = ActivityRecord {
                shop: shop.clone(),
                customer_id: customer.clone(),
                activity: activity.clone(),
            };
            let mut item = encode(
                &record,
                &keys::activity(shop, customer, &processed.event_id, n),
                "activity",
            )?;
            with_log(&mut item, shop, activity.at);
            rows.push(put_item(&self.table, item, None)?);
        }
        let first_message = changes.len() + 1;
        for message in &decision.messages {
            let (record, queue) = match decision.skipped.get(&message.key) {
                Some(reason) => (
                    MessageRecord::skipped(shop, processed, message, *reason),
                    &mut rows,
                ),
                None => (
                    MessageRecord::pending(shop, processed, message),
                    &mut changes,
                ),
            };
            let item = message_item(&record)?;
            queue.push(put_item(
                &self.table,
                item,
                Some(("attribute_not_exists(pk)", None)),
            )?);
        }
        // Before the state: once the state is written, a retry of the delivery (its answer lost
        // on the way back, or a row that failed after it) would find the event processed and
        // never write them; a retry before it writes each the same again (an entry by its key,
        // a message only if new).
        for put in rows {
            self.put_trying(put).await?;
        }
        match changes.len() {
            0 => self.record_event(shop, processed).await,
            1 if state_items == 1 => self.write_one(changes.remove(0), shop, processed).await,
            _ => {
                let mut items = vec![self.event_put(shop, processed)?];
                items.append(&mut changes);
                self.transact_decision(items, first_message).await
            }
        }
    }

    /// [`Self::put_new`] tried again a few times when DynamoDB is busy. `true` when the item is
    /// as put: also when a try whose answer was lost had put it and the next met its condition
    /// (the item is read to tell that from someone else's write).
    async fn put_trying(&self, item: TransactWriteItem) -> Result<bool, StoreError> {
        let mut tries = 0;
        let mut answer_lost = false;
        loop {
            tries += 1;
            match self.put_new(item.clone()).await {
                Err(err) if err.is_transient() && tries < WRITE_TRIES => {
                    answer_lost = true;
                    pause_before_try(tries).await
                }
                Ok(false) if answer_lost => return self.holds(&item).await,
                done => return done,
            }
        }
    }

    /// Whether the table holds exactly what `item` puts (read consistently).
    async fn holds(&self, item: &TransactWriteItem) -> Result<bool, StoreError> {
        let Some(put) = item.put.as_ref() else {
            return Ok(false);
        };
        let Some(key) = Key::of_item(&put.item) else {
            return Ok(false);
        };
        let stored = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key.to_item()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::from_sdk(&e))?
            .item;
        Ok(stored.as_ref() == Some(&put.item))
    }

    /// A decision that changes one item: that item, then the event's record, each tried again
    /// a few times while DynamoDB is busy (a schedule's timer, once its item is written, is not
    /// due any more: its record would not be written by a later pass).
    async fn write_one(
        &self,
        change: TransactWriteItem,
        shop: &ShopId,
        processed: &ProcessedEvent,
    ) -> Result<Written, StoreError> {
        // `false`: the item moved on since it was read, or an earlier try of this put was
        // applied and its answer lost. Either way: read and decide again (nothing changes the
        // second time, and the event is recorded then).
        if !self.put_trying(change).await? {
            return Ok(Written::Conflict);
        }
        // A concurrent delivery of the same event that recorded it first found the item as
        // this one wrote it and changed nothing: the effect is this delivery's, once.
        self.put_trying(self.event_put(shop, processed)?).await?;
        Ok(Written::Committed)
    }

    /// A transaction's put on its own; `false` when its condition failed.
    pub(super) async fn put_new(&self, item: TransactWriteItem) -> Result<bool, StoreError> {
        let Some(put) = item.put else {
            return Err(StoreError::Failed(
                "only puts are written on their own".into(),
            ));
        };
        let result = self
            .client
            .put_item()
            .table_name(put.table_name)
            .set_item(Some(put.item))
            .set_condition_expression(put.condition_expression)
            .set_expression_attribute_values(put.expression_attribute_values)
            .send()
            .await;
        condition_applied(result)
    }

    /// The decision's transaction: the processed-event record first, then the profile, the
    /// order, ledger items and redemptions, the PENDING messages from `first_message` on. A message whose key exists was
    /// created before (same kind, same cause): it is left out and the rest written, so a
    /// message is created once only.
    async fn transact_decision(
        &self,
        mut items: Vec<TransactWriteItem>,
        first_message: usize,
    ) -> Result<Written, StoreError> {
        let mut tries = 0;
        loop {
            tries += 1;
            let outcome = match self.try_transact(items.clone()).await {
                Err(err) if err.is_transient() && tries < WRITE_TRIES => {
                    pause_before_try(tries).await;
                    continue;
                }
                outcome => outcome?,
            };
            match outcome {
                None => return Ok(Written::Committed),
                Some(reasons) => {
                    let taken: Vec<usize> = (first_message..items.len())
                        .filter(|&i| {
                            reasons.get(i).map(String::as_str) == Some("ConditionalCheckFailed")
                        })
                        .collect();
                    let failed = |i: usize| {
                        reasons.get(i).map(String::as_str) == Some("ConditionalCheckFailed")
                    };
                    if failed(0) {
                        return Ok(Written::Duplicate);
                    }
                    // The profile or the order moved on since it was read, or a redemption was
                    // voided or used meanwhile: decide again.
                    if (1..first_message).any(failed) {
                        return Ok(Written::Conflict);
                    }
                    if taken.is_empty() {
                        return interpret(&reasons);
                    }
                    for i in taken.into_iter().rev() {
                        items.remove(i);
                    }
                }
            }
        }
    }

    /// The UTC day of the log a message is counted on (its creation), if the message is there.
    /// Its creation time never changes, so an eventually consistent read of that one attribute
    /// will do (half a read unit).
    async fn message_log_day(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        key: &str,
    ) -> Result<Option<jiff::civil::Date>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(keys::message(shop, customer, key).to_item()))
            .projection_expression("created_at")
            .send()
            .await
            .map_err(|e| StoreError::from_sdk(&e))?;
        Ok(out
            .item
            .as_ref()
            .and_then(|item| item.get("created_at"))
            .and_then(|v| v.as_s().ok())
            .and_then(|s| s.parse::<Timestamp>().ok())
            .map(summaries::log_day_of))
    }

    /// Adds an attributed order (or a return's change to its worth) to the message it went to.
    fn attribution_update(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        earned: &crate::domain::OrderAttribution,
    ) -> Result<TransactWriteItem, StoreError> {
        let n = |v: i64| AttributeValue::N(v.to_string());
        let update = aws_sdk_dynamodb::types::Update::builder()
            .table_name(&self.table)
            .set_key(Some(
                keys::message(shop, customer, &earned.message_key).to_item(),
            ))
            .update_expression(if earned.held_out {
                "SET attributed_currency = if_not_exists(attributed_currency, :currency), \
                 first_order_at = if_not_exists(first_order_at, :placed) \
                 ADD held_out_orders :orders, held_out_revenue_minor :revenue"
            } else {
                "SET attributed_currency = if_not_exists(attributed_currency, :currency), \
                 first_order_at = if_not_exists(first_order_at, :placed) \
                 ADD attributed_orders :orders, attributed_revenue_minor :revenue"
            })
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(
                ":currency",
                AttributeValue::S(earned.revenue_change.currency.code().to_owned()),
            )
            .expression_attribute_values(":placed", AttributeValue::S(earned.placed_at.to_string()))
            .expression_attribute_values(":orders", n(i64::from(earned.newly_attributed)))
            .expression_attribute_values(":revenue", n(earned.revenue_change.minor))
            .build()
            .map_err(|e| StoreError::Failed(e.to_string()))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Runs one transaction; `Some(reasons)` when DynamoDB cancelled it.
    pub(super) async fn try_transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let err = match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => return Ok(None),
            Err(err) => err,
        };
        if let Some(TransactWriteItemsError::TransactionCanceledException(cancel)) =
            err.as_service_error()
        {
            return Ok(Some(
                cancel
                    .cancellation_reasons()
                    .iter()
                    .map(|r| r.code().unwrap_or("None").to_owned())
                    .collect(),
            ));
        }
        if err.code() == Some("TransactionConflictException") {
            return Ok(Some(vec!["TransactionConflict".into()]));
        }
        Err(StoreError::from_sdk(&err))
    }

    /// Records a processed event on its own: an event that changes nothing stored (a privacy
    /// request, a restated address), or one decided again after its own write's answer was
    /// lost (`write_one`'s conflict). Tried again while DynamoDB is busy, as that write was: a
    /// schedule's timer whose state is written is not due any more, so no later pass would
    /// record it.
    pub async fn record_event(
        &self,
        shop: &ShopId,
        processed: &ProcessedEvent,
    ) -> Result<Written, StoreError> {
        Ok(
            if self.put_trying(self.event_put(shop, processed)?).await? {
                Written::Committed
            } else {
                Written::Duplicate
            },
        )
    }

    fn event_put(
        &self,
        shop: &ShopId,
        processed: &ProcessedEvent,
    ) -> Result<TransactWriteItem, StoreError> {
        let item = processed_item(shop, processed)?;
        put_item(&self.table, item, Some(("attribute_not_exists(pk)", None)))
    }

    fn profile_put(
        &self,
        shop: &ShopId,
        read_version: Option<u64>,
        profile: &CustomerProfile,
    ) -> Result<TransactWriteItem, StoreError> {
        let item = profile_item(shop, profile)?;
        match read_version {
            None => put_item(&self.table, item, Some(("attribute_not_exists(pk)", None))),
            Some(v) => put_item(
                &self.table,
                item,
                Some(("version = :read_version", Some(v))),
            ),
        }
    }

    /// Writes a profile changed outside a webhook (a preference from a link), only if it is
    /// still at the version read.
    pub async fn save_profile(
        &self,
        shop: &ShopId,
        read_version: u64,
        profile: &CustomerProfile,
    ) -> Result<Written, StoreError> {
        let item = profile_item(shop, profile)?;
        match self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("version = :read_version")
            .expression_attribute_values(
                ":read_version",
                AttributeValue::N(read_version.to_string()),
            )
            .send()
            .await
        {
            Ok(_) => Ok(Written::Committed),
            Err(err) if err.code() == Some("ConditionalCheckFailedException") => {
                Ok(Written::Conflict)
            }
            Err(err) => Err(StoreError::from_sdk(&err)),
        }
    }

    /// Reads every item of the partition `pk` (only those whose sort key starts with
    /// `sk_prefix`, if given), a page at a time, handing each to `each` with its sort key.
    pub(super) async fn read_partition(
        &self,
        pk: &str,
        sk_prefix: Option<&str>,
        consistent: bool,
        mut each: impl FnMut(String, Item) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut start = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
                .consistent_read(consistent)
                .set_exclusive_start_key(start);
            query = match sk_prefix {
                Some(prefix) => query
                    .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                    .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_owned())),
                None => query.key_condition_expression("pk = :pk"),
            };
            let out = query.send().await.map_err(|e| StoreError::from_sdk(&e))?;
            for item in out.items.unwrap_or_default() {
                let sk = item
                    .get(keys::SK)
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default();
                each(sk, item)?;
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(());
            }
        }
    }

    /// The items under these keys, 100 keys to a `BatchGetItem` (strongly consistent if asked);
    /// keys DynamoDB leaves unprocessed under load are asked for again (a few times, then it is
    /// busy).
    pub(super) async fn items_by_key(
        &self,
        wanted: &[Key],
        consistent: bool,
    ) -> Result<HashMap<Key, Item>, StoreError> {
        self.batch_get(wanted, consistent, None).await
    }

    /// As [`Store::items_by_key`], reading only the attributes `projection` names besides the
    /// keys: an expression and its attribute names (`#contact.#email`, with `#contact` and
    /// `#email`). It saves bytes on the wire, not read units: DynamoDB prices the whole item.
    pub(super) async fn projected_items_by_key(
        &self,
        wanted: &[Key],
        consistent: bool,
        projection: (&str, &[(&str, &str)]),
    ) -> Result<HashMap<Key, Item>, StoreError> {
        self.batch_get(wanted, consistent, Some(projection)).await
    }

    /// The one `BatchGetItem` loop of the store.
    async fn batch_get(
        &self,
        wanted: &[Key],
        consistent: bool,
        projection: Option<(&str, &[(&str, &str)])>,
    ) -> Result<HashMap<Key, Item>, StoreError> {
        let mut found = HashMap::with_capacity(wanted.len());
        for chunk in wanted.chunks(100) {
            let mut keys: Vec<Item> = chunk.iter().map(Key::to_item).collect();
            let mut attempt = 0;
            while !keys.is_empty() {
                if attempt == 4 {
                    return Err(StoreError::Unavailable("keys left unprocessed".into()));
                }
                if attempt > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(25 << attempt)).await;
                }
                attempt += 1;
                let mut request = KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .consistent_read(consistent);
                if let Some((expression, names)) = projection {
                    // The keys always: the answer's items are matched to them.
                    request = request.projection_expression(format!(
                        "{}, {}, {expression}",
                        keys::PK,
                        keys::SK
                    ));
                    for (name, attribute) in names {
                        request = request.expression_attribute_names(*name, *attribute);
                    }
                }
                let request = request
                    .build()
                    .map_err(|e| StoreError::Failed(e.to_string()))?;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|e| StoreError::from_sdk(&e))?;
                for item in out
                    .responses
                    .unwrap_or_default()
                    .remove(&self.table)
                    .unwrap_or_default()
                {
                    if let Some(key) = Key::of_item(&item) {
                        found.insert(key, item);
                    }
                }
                keys = out
                    .unprocessed_keys
                    .unwrap_or_default()
                    .remove(&self.table)
                    .map(|k| k.keys)
                    .unwrap_or_default();
            }
        }
        Ok(found)
    }

    /// A cheap read that proves the table answers (for `GET /healthz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(keys::health().to_item()))
            .send()
            .await
            .map_err(|e| StoreError::from_sdk(&e))?;
        Ok(())
    }
}

/// What a cancelled transaction meant: the processed-event record existed (a duplicate), the
/// profile moved on (a conflict: read and decide again), or the store was busy.
pub(super) fn interpret(reasons: &[String]) -> Result<Written, StoreError> {
    let code = |i: usize| reasons.get(i).map(String::as_str).unwrap_or("None");
    if code(0) == "ConditionalCheckFailed" {
        return Ok(Written::Duplicate);
    }
    if code(1) == "ConditionalCheckFailed" || reasons.iter().any(|r| r == "TransactionConflict") {
        return Ok(Written::Conflict);
    }
    if reasons
        .iter()
        .any(|r| r == "ThrottlingError" || r == "ProvisionedThroughputExceeded")
    {
        return Err(StoreError::Unavailable("transaction throttled".into()));
    }
    Err(StoreError::Failed(format!(
        "transaction cancelled: {reasons:?}"
    )))
}

/// How often the sender's claim and record are tried (each try with the SDK's own retries)
/// before the message is left to the stream's retry or the schedule.
pub(super) const WRITE_TRIES: u32 = 4;

/// A short, growing pause before trying a write again (50, 100, 200 ms).
pub(super) async fn pause_before_try(tries: u32) {
    tokio::time::sleep(std::time::Duration::from_millis(25 << tries.min(4))).await;
}

impl MessageRecord {
    /// A message the gate refuses for good, recorded as such when it is created: the stream
    /// passes only PENDING messages to the sender, so it is never claimed.
    fn skipped(
        shop: &ShopId,
        processed: &ProcessedEvent,
        intent: &MessageIntent,
        reason: SkipReason,
    ) -> Self {
        MessageRecord {
            status: MessageStatus::Skipped,
            reason: Some(reason.as_str().to_owned()),
            ..Self::pending(shop, processed, intent)
        }
    }

    fn pending(shop: &ShopId, processed: &ProcessedEvent, intent: &MessageIntent) -> Self {
        Self::pending_for(shop, processed.event_id.clone(), intent)
    }
}

/// Which customer placed an order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct OrderOwner {
    pub(super) customer_id: CustomerId,
}

/// The processed-event record as an item, with its TTL attribute.
pub(super) fn processed_item(
    shop: &ShopId,
    processed: &ProcessedEvent,
) -> Result<Item, StoreError> {
    let key = keys::processed_event(shop, &processed.event_id);
    let mut item = encode(processed, &key, "processed_event")?;
    item.insert(
        EXPIRES_AT.into(),
        AttributeValue::N(processed.expires_at.to_string()),
    );
    Ok(item)
}
