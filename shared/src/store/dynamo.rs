//! The DynamoDB adapter. A webhook reads with one `BatchGetItem` (processed-event record,
//! profile, order) and writes what its decision changed: one `TransactWriteItems` when more
//! than one item of state changes, plain conditional `PutItem`s otherwise, and its log rows
//! (timeline entries, SKIPPED messages) on their own after the state
//! ([`Store::write_decision`]).

use super::keys::{self, EXPIRES_AT, ITEM_KIND, Key};
use super::summaries;
use super::{ClaimToken, StoreError};
use crate::domain::{
    ActivityRecord, CustomerId, CustomerProfile, CustomerState, Decision, DeliveryReport,
    DeliveryStatus, Email, Erasure, EventId, MessageErasure, MessageIntent, MessageRecord,
    MessageStatus, Order, OrderFact, OrderId, ParkedEvent, ShopId, ShopSettings, ShopifyConnection,
    SkipReason, Timestamp, WooCommerceConnection, add_report, delivery_status,
};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Put, TransactWriteItem};
use serde::{Deserialize, Serialize};
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};
use std::collections::HashMap;

pub type Item = HashMap<String, AttributeValue>;

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
    client: Client,
    table: String,
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
        match self
            .client
            .put_item()
            .table_name(put.table_name)
            .set_item(Some(put.item))
            .set_condition_expression(put.condition_expression)
            .set_expression_attribute_values(put.expression_attribute_values)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(err) if err.code() == Some("ConditionalCheckFailedException") => Ok(false),
            Err(err) => Err(StoreError::from_sdk(&err)),
        }
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

    /// Parks an event about an order trouw does not know yet, for [`ParkedEvent::KEEP_FOR`].
    /// `Duplicate` when it is parked already (nothing is written then).
    pub async fn park_event(
        &self,
        shop: &ShopId,
        parked: &ParkedEvent,
        now: Timestamp,
    ) -> Result<Written, StoreError> {
        let record = ParkedRecord {
            event: parked.clone(),
            expires_at: (now + ParkedEvent::KEEP_FOR).as_second(),
        };
        let key = keys::parked_event(shop, &parked.order_id, &parked.event_id);
        // `expires_at` (the table's TTL attribute) is a field of the record.
        let item = encode(&record, &key, "parked_event")?;
        match self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
        {
            Ok(_) => Ok(Written::Committed),
            Err(err) if err.code() == Some("ConditionalCheckFailedException") => {
                Ok(Written::Duplicate)
            }
            Err(err) => Err(StoreError::from_sdk(&err)),
        }
    }

    /// One Query, strongly consistent: the order's owner, if trouw has seen the order, and the
    /// events parked for it that have not expired (DynamoDB's TTL deletes late).
    pub async fn order_arrivals(
        &self,
        shop: &ShopId,
        order: &OrderId,
        now: Timestamp,
    ) -> Result<(Option<CustomerId>, Vec<ParkedEvent>), StoreError> {
        let mut owner = None;
        let mut parked = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(
                    ":pk",
                    AttributeValue::S(keys::order_partition(shop, order)),
                )
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| StoreError::from_sdk(&e))?;
            for item in out.items.unwrap_or_default() {
                let sk = item
                    .get(keys::SK)
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default();
                if sk == keys::OWNER_SK {
                    owner = Some(decode::<OrderOwner>(item, "order owner")?.customer_id);
                } else if sk.starts_with(keys::PARKED_PREFIX) {
                    let record = decode::<ParkedRecord>(item, "parked event")?;
                    if record.expires_at > now.as_second() {
                        parked.push(record.event);
                    }
                }
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        Ok((owner, parked))
    }

    /// Removes a parked event once it has been applied (or found applied before).
    pub async fn unpark_event(
        &self,
        shop: &ShopId,
        parked: &ParkedEvent,
    ) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(
                keys::parked_event(shop, &parked.order_id, &parked.event_id).to_item(),
            ))
            .send()
            .await
            .map_err(|e| StoreError::from_sdk(&e))?;
        Ok(())
    }

    /// Every event parked under an order, expired or not (for an erasure).
    pub async fn parked_events(
        &self,
        shop: &ShopId,
        order: &OrderId,
    ) -> Result<Vec<ParkedEvent>, StoreError> {
        let mut parked = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :parked)")
                .expression_attribute_values(
                    ":pk",
                    AttributeValue::S(keys::order_partition(shop, order)),
                )
                .expression_attribute_values(
                    ":parked",
                    AttributeValue::S(keys::PARKED_PREFIX.into()),
                )
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| StoreError::from_sdk(&e))?;
            for item in out.items.unwrap_or_default() {
                parked.push(decode::<ParkedRecord>(item, "parked event")?.event);
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        Ok(parked)
    }

    /// Replaces what a parked return says (its facts), if it is still parked: one applied
    /// meanwhile is gone and stays gone.
    pub async fn rewrite_parked(
        &self,
        shop: &ShopId,
        parked: &ParkedEvent,
    ) -> Result<(), StoreError> {
        let OrderFact::Returned { facts } = &parked.fact else {
            return Ok(());
        };
        let facts = serde_dynamo::to_attribute_value(facts)
            .map_err(|e| StoreError::Corrupt(format!("parked event: {e}")))?;
        match self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(
                keys::parked_event(shop, &parked.order_id, &parked.event_id).to_item(),
            ))
            .update_expression("SET #facts = :facts")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#facts", "facts")
            .expression_attribute_values(":facts", facts)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(err) if err.code() == Some("ConditionalCheckFailedException") => Ok(()),
            Err(err) => Err(StoreError::from_sdk(&err)),
        }
    }

    /// The customer an order belongs to, if trouw has seen the order.
    pub async fn order_owner(
        &self,
        shop: &ShopId,
        order: &OrderId,
    ) -> Result<Option<CustomerId>, StoreError> {
        let owner: Option<OrderOwner> = self
            .get(&keys::order_owner(shop, order), "order owner")
            .await?;
        Ok(owner.map(|o| o.customer_id))
    }

    /// Writes an erasure in version-checked steps, each one transaction within DynamoDB's limits
    /// (100 items, 4 MB). What fits in one is written at once: the processed-event record, the
    /// erased profile (only if still at the version read) and every changed item. A bigger one
    /// first writes the erased profile marked `erasing` with a new version, then erases more
    /// items in steps that each check the profile is still at that version, and last writes the
    /// processed-event record and the profile without the mark. A writer that changes the
    /// customer in between moves the version, so the next step is cancelled and the erasure
    /// reads and goes on from what is stored (`Conflict`); while the mark is set `decide`
    /// stores nothing personal, so no write is lost and none brings personal data back. Each
    /// step is idempotent: an erasure that died halfway is finished by running it again.
    #[allow(clippy::too_many_arguments)]
    pub async fn write_erasure(
        &self,
        shop: &ShopId,
        read_version: u64,
        erasure: &Erasure,
        messages: &[MessageErasure],
        loyalty: &super::LoyaltyErasure,
        bought: &[crate::domain::Sku],
        processed: &ProcessedEvent,
        settings: &crate::domain::ShopSettings,
        now: Timestamp,
    ) -> Result<Written, StoreError> {
        let customer = &erasure.profile.id;
        let mut writes: std::collections::VecDeque<(TransactWriteItem, usize)> =
            std::collections::VecDeque::new();
        for order in &erasure.orders {
            // Loyalty facts stay, and so do their timers (points still get confirmed).
            let item = order_item(shop, customer, order, order.next_due(settings))?;
            let size = item_size(&item);
            // Only if still as read: an order's own write does not move the profile's version.
            writes.push_back((order_put(&self.table, item, order, false)?, size));
        }
        for message in messages {
            writes.push_back(self.message_erasure(shop, customer, message, now)?);
        }
        writes.extend(self.loyalty_erasure(shop, customer, loyalty)?);
        // The customer leaves the regular buyers of every product they bought (deleting an
        // entry that is not there changes nothing).
        for sku in bought {
            let delete = super::stock::regular_buyer_delete(&self.table, shop, customer, sku)?;
            writes.push_back((delete, 300));
        }
        let profile_at =
            |version: u64, erasing: bool| -> Result<(TransactWriteItem, usize), StoreError> {
                let mut profile = erasure.profile.clone();
                profile.version = version + 1;
                profile.erasing = erasing;
                let item = profile_item(shop, &profile)?;
                let size = item_size(&item);
                let put = put_item(
                    &self.table,
                    item,
                    Some(("version = :read_version", Some(version))),
                )?;
                Ok((put, size))
            };
        let event = processed_item(shop, processed)?;
        let event_size = item_size(&event);
        let event = put_item(&self.table, event, Some(("attribute_not_exists(pk)", None)))?;

        let mut version = read_version;
        let mut marked = false;
        loop {
            let (last_profile, profile_size) = profile_at(version, false)?;
            let rest: usize = writes.iter().map(|w| w.1).sum();
            if writes.len() + 2 <= TRANSACTION_ITEMS
                && rest + event_size + profile_size <= TRANSACTION_BYTES
            {
                let mut items = vec![event, last_profile];
                items.extend(writes.into_iter().map(|w| w.0));
                return match self.try_transact(items).await? {
                    None => Ok(Written::Committed),
                    Some(reasons) => erasure_cancelled(&reasons, true),
                };
            }
            let (head, head_size) = if marked {
                let check = aws_sdk_dynamodb::types::ConditionCheck::builder()
                    .table_name(&self.table)
                    .set_key(Some(keys::profile(shop, customer).to_item()))
                    .condition_expression("version = :read_version")
                    .expression_attribute_values(
                        ":read_version",
                        AttributeValue::N(version.to_string()),
                    )
                    .build()
                    .map_err(|e| StoreError::Failed(e.to_string()))?;
                (
                    TransactWriteItem::builder().condition_check(check).build(),
                    200,
                )
            } else {
                let marked_profile = profile_at(version, true)?;
                version += 1;
                marked = true;
                marked_profile
            };
            let mut items = vec![head];
            let mut bytes = head_size;
            while let Some((_, size)) = writes.front() {
                if items.len() == TRANSACTION_ITEMS
                    || (items.len() > 1 && bytes + size > TRANSACTION_BYTES)
                {
                    break;
                }
                bytes += size;
                items.extend(writes.pop_front().map(|w| w.0));
            }
            if let Some(reasons) = self.try_transact(items).await? {
                return erasure_cancelled(&reasons, false);
            }
        }
    }

    /// The update that erases one message: only its personal attributes, and only if no SES
    /// report came since it was read (a report's text would otherwise stay).
    fn message_erasure(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        message: &MessageErasure,
        now: Timestamp,
    ) -> Result<(TransactWriteItem, usize), StoreError> {
        let key = keys::message(shop, customer, &message.key);
        let mut set = vec!["erased_at = :erased_at"];
        let mut values = vec![(":erased_at", AttributeValue::S(now.to_string()))];
        if let Some(data) = &message.data {
            set.push("#data = :data");
            values.push((
                ":data",
                serde_dynamo::to_attribute_value(data)
                    .map_err(|e| StoreError::Corrupt(format!("message data: {e}")))?,
            ));
        }
        if let Some(reports) = &message.reports {
            set.push("reports = :reports");
            values.push((
                ":reports",
                serde_dynamo::to_attribute_value(reports)
                    .map_err(|e| StoreError::Corrupt(format!("message reports: {e}")))?,
            ));
        }
        let reports_unchanged = if message.reports_read == 0 {
            "attribute_not_exists(reports)"
        } else {
            values.push((
                ":reports_read",
                AttributeValue::N(message.reports_read.to_string()),
            ));
            "size(reports) = :reports_read"
        };
        let mut update = aws_sdk_dynamodb::types::Update::builder()
            .table_name(&self.table)
            .set_key(Some(key.to_item()))
            .update_expression(format!("SET {} REMOVE subject, #error", set.join(", ")))
            .condition_expression(format!("attribute_exists(pk) AND {reports_unchanged}"))
            .expression_attribute_names("#error", "error");
        if message.data.is_some() {
            update = update.expression_attribute_names("#data", "data");
        }
        let mut size = key.pk.len() + key.sk.len() + 200;
        for (name, value) in values {
            size += attribute_size(&value);
            update = update.expression_attribute_values(name, value);
        }
        let update = update
            .build()
            .map_err(|e| StoreError::Failed(e.to_string()))?;
        Ok((TransactWriteItem::builder().update(update).build(), size))
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

    /// Claims a message for sending: PENDING (or DEFERRED and due) becomes SENDING, atomically.
    /// `None` if someone else has it or it was handled already, so a second delivery of the
    /// same stream record does nothing. The claim also puts the message in the due index at
    /// the moment its outcome counts as unknown (`SENDING_UNKNOWN_AFTER`): recording the
    /// outcome takes it out again, so the schedule meets only a message whose sender stopped
    /// between the claim and the record.
    ///
    /// The claim carries the attempt's `claim` token, and a message SENDING under that same
    /// token is claimed again: when DynamoDB applied the claim but its answer was lost, the
    /// SDK's retry finds the message SENDING and must not take it for someone else's (the
    /// message would be stranded, never sent, and reported unknown). For the same reason a
    /// claim that fails for a transient reason is tried again a few times: once given up, a
    /// claim that was applied strands the message.
    pub async fn claim_message(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        key: &str,
        claim: &ClaimToken,
        now: Timestamp,
    ) -> Result<Option<MessageRecord>, StoreError> {
        let mut tries = 0;
        loop {
            tries += 1;
            match self.try_claim(shop, customer, key, claim, now).await {
                Err(err) if err.is_transient() && tries < WRITE_TRIES => {
                    pause_before_try(tries).await
                }
                done => return done,
            }
        }
    }

    async fn try_claim(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        key: &str,
        claim: &ClaimToken,
        now: Timestamp,
    ) -> Result<Option<MessageRecord>, StoreError> {
        let item_key = keys::message(shop, customer, key);
        let unknown_at = now + crate::domain::SENDING_UNKNOWN_AFTER;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key.to_item()))
            .update_expression(
                "SET #status = :sending, claim_token = :claim, claimed_at = :now, due_at = :unknown_at, due_shard = :shard",
            )
            .condition_expression(
                "#status = :pending OR (#status = :deferred AND due_at <= :now_epoch) \
                 OR (#status = :sending AND claim_token = :claim)",
            )
            .expression_attribute_values(":claim", AttributeValue::S(claim.as_str().into()))
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(
                ":sending",
                AttributeValue::S(MessageStatus::Sending.as_str().into()),
            )
            .expression_attribute_values(
                ":pending",
                AttributeValue::S(MessageStatus::Pending.as_str().into()),
            )
            .expression_attribute_values(
                ":deferred",
                AttributeValue::S(MessageStatus::Deferred.as_str().into()),
            )
            .expression_attribute_values(":now", AttributeValue::S(now.to_string()))
            .expression_attribute_values(
                ":now_epoch",
                AttributeValue::N(now.as_second().to_string()),
            )
            .expression_attribute_values(
                ":unknown_at",
                AttributeValue::N(unknown_at.as_second().to_string()),
            )
            .expression_attribute_values(
                ":shard",
                AttributeValue::S(keys::due_shard(&item_key.pk)),
            )
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => out
                .attributes
                .map(|i| decode::<MessageRecord>(i, "message"))
                .transpose(),
            Err(err) if err.code() == Some("ConditionalCheckFailedException") => Ok(None),
            Err(err) => Err(StoreError::from_sdk(&err)),
        }
    }

    /// Records what became of a claimed message: one conditional `UpdateItem` of the message.
    /// A message that counts for the frequency cap (sent, or waiting for a retry) first stamps
    /// the customer's last send on the profile with a plain update (and bumps its version, so
    /// that a webhook's write of the profile read before it is refused and decided again):
    /// stamped first, so a record that fails after it leaves the message SENDING, which counts
    /// for the cap all the same. A message created on an earlier day (deferred) also marks that
    /// day's summary changed, in one transaction with the record, so that no summary is kept
    /// between the two.
    ///
    /// Only the attempt holding the claim (`claim`) records, and the record removes the token.
    /// So when the condition fails and the message no longer holds this claim, this attempt's
    /// record is in already: an earlier try was applied and its answer lost. That is success,
    /// not an error (an error would leave a message that SES sent, or that never went,
    /// looking as if its sender had stopped). A transaction conflict or a transient failure
    /// is tried again a few times: the message is SENDING until this succeeds.
    #[allow(clippy::too_many_arguments)]
    pub async fn finish_message(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        key: &str,
        claim: &ClaimToken,
        created_at: Timestamp,
        outcome: &MessageOutcome,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let cancelled = |reasons: Vec<String>| {
            Err(StoreError::Failed(format!(
                "recording the message outcome was cancelled: {reasons:?}"
            )))
        };
        let mut stamp = self.finish_stamp(shop, customer, key, outcome, now)?;
        let day = summaries::log_day_of(created_at);
        let marks_day = summaries::marks_day(day, now);
        // First as if the customer were not erased; if they were (the message is marked), again
        // without the texts: the rendered subject greets them by name, SES's error may quote
        // their address.
        let mut erased = false;
        let mut tries = 0;
        loop {
            tries += 1;
            let again = tries < WRITE_TRIES;
            if let Some(update) = stamp.clone() {
                match self.update(update).await {
                    // No profile: nothing to stamp.
                    Ok(()) => stamp = None,
                    Err(err) if err.code() == Some("ConditionalCheckFailedException") => {
                        stamp = None
                    }
                    Err(err) => {
                        let err = StoreError::from_sdk(&err);
                        if err.is_transient() && again {
                            pause_before_try(tries).await;
                            continue;
                        }
                        return Err(err);
                    }
                }
            }
            let record = self.finish_update(shop, customer, key, claim, outcome, now, erased)?;
            let reasons = if marks_day {
                let changed = summaries::day_changed(&self.table, shop, day, now)?;
                let items = vec![
                    TransactWriteItem::builder().update(record).build(),
                    TransactWriteItem::builder().update(changed).build(),
                ];
                match self.try_transact(items).await {
                    Ok(None) => return Ok(()),
                    Ok(Some(reasons)) => reasons,
                    Err(err) if err.is_transient() && again => {
                        pause_before_try(tries).await;
                        continue;
                    }
                    Err(err) => return Err(err),
                }
            } else {
                match self.update(record).await {
                    Ok(()) => return Ok(()),
                    Err(err) if err.code() == Some("ConditionalCheckFailedException") => {
                        vec!["ConditionalCheckFailed".to_owned()]
                    }
                    Err(err) => {
                        let err = StoreError::from_sdk(&err);
                        if err.is_transient() && again {
                            pause_before_try(tries).await;
                            continue;
                        }
                        return Err(err);
                    }
                }
            };
            if reasons.first().map(String::as_str) == Some("ConditionalCheckFailed") {
                let message = keys::message(shop, customer, key);
                let Some(state) = self.get::<ClaimState>(&message, "message").await? else {
                    return cancelled(reasons);
                };
                let held = state.status == MessageStatus::Sending
                    && state.claim_token.as_deref() == Some(claim.as_str());
                if !held {
                    tracing::info!("the outcome was recorded already (an answer was lost)");
                    return Ok(());
                }
                if state.erased_at.is_some() && !erased {
                    erased = true;
                    continue;
                }
                return cancelled(reasons);
            }
            if reasons.iter().any(|r| r == "TransactionConflict") && again {
                pause_before_try(tries).await;
                continue;
            }
            return cancelled(reasons);
        }
    }

    /// One update on its own, as `UpdateItem` (the transaction's `Update` shape).
    async fn update(
        &self,
        update: aws_sdk_dynamodb::types::Update,
    ) -> Result<
        (),
        aws_sdk_dynamodb::error::SdkError<
            aws_sdk_dynamodb::operation::update_item::UpdateItemError,
        >,
    > {
        self.client
            .update_item()
            .table_name(update.table_name)
            .set_key(Some(update.key))
            .update_expression(update.update_expression)
            .set_condition_expression(update.condition_expression)
            .set_expression_attribute_names(update.expression_attribute_names)
            .set_expression_attribute_values(update.expression_attribute_values)
            .send()
            .await?;
        Ok(())
    }

    /// The update that records `outcome` on the message, only while this attempt holds it.
    #[allow(clippy::too_many_arguments)]
    fn finish_update(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        key: &str,
        claim: &ClaimToken,
        outcome: &MessageOutcome,
        now: Timestamp,
        erased: bool,
    ) -> Result<aws_sdk_dynamodb::types::Update, StoreError> {
        let s = |v: &str| AttributeValue::S(v.to_owned());
        let (status, set, mut values): (MessageStatus, &str, Vec<(&str, AttributeValue)>) =
            match outcome {
                MessageOutcome::Sent {
                    ses_message_id,
                    subject,
                    locale,
                    ..
                } => (
                    MessageStatus::Sent,
                    "ses_message_id = :id, sent_at = :now, subject = :subject, rendered_locale = :locale",
                    vec![
                        (":id", s(ses_message_id)),
                        (":subject", s(subject)),
                        (":locale", s(locale)),
                    ],
                ),
                MessageOutcome::Skipped { reason } => (
                    MessageStatus::Skipped,
                    "reason = :reason",
                    vec![(":reason", s(reason))],
                ),
                MessageOutcome::HeldOut { .. } => (
                    MessageStatus::HeldOut,
                    "reason = :reason",
                    vec![(":reason", s("holdout"))],
                ),
                MessageOutcome::Deferred {
                    until,
                    reason,
                    wait_fits: true,
                } => (
                    MessageStatus::Deferred,
                    "reason = :reason, deferred_until = :until, due_at = :due, due_shard = :shard, waits = list_append(if_not_exists(waits,:no_waits),:wait)",
                    vec![
                        (
                            ":wait",
                            AttributeValue::L(vec![wait_of(reason, *until, now)]),
                        ),
                        (":no_waits", AttributeValue::L(Vec::new())),
                        (":reason", s(reason)),
                        (":until", s(&until.to_string())),
                        (":due", AttributeValue::N(until.as_second().to_string())),
                        (
                            ":shard",
                            s(&keys::due_shard(&keys::message(shop, customer, key).pk)),
                        ),
                    ],
                ),
                MessageOutcome::Deferred {
                    until,
                    reason,
                    wait_fits: false,
                } => (
                    MessageStatus::Deferred,
                    LATEST_WAIT_REPLACED,
                    vec![
                        (":wait", wait_of(reason, *until, now)),
                        (":zero", AttributeValue::N("0".into())),
                        (":one", AttributeValue::N("1".into())),
                        (":reason", s(reason)),
                        (":until", s(&until.to_string())),
                        (":due", AttributeValue::N(until.as_second().to_string())),
                        (
                            ":shard",
                            s(&keys::due_shard(&keys::message(shop, customer, key).pk)),
                        ),
                    ],
                ),
                MessageOutcome::Failed { error } => (
                    MessageStatus::Failed,
                    "#error = :error",
                    vec![(":error", s(error))],
                ),
                MessageOutcome::Retry { until, error, .. } => (
                    MessageStatus::Deferred,
                    "reason = :reason, #error = :error, deferred_until = :until, due_at = :due, due_shard = :shard, attempts = if_not_exists(attempts, :zero) + :one",
                    vec![
                        (":reason", s("ses_unavailable")),
                        (":error", s(error)),
                        (":until", s(&until.to_string())),
                        (":due", AttributeValue::N(until.as_second().to_string())),
                        (
                            ":shard",
                            s(&keys::due_shard(&keys::message(shop, customer, key).pk)),
                        ),
                        (":zero", AttributeValue::N("0".into())),
                        (":one", AttributeValue::N("1".into())),
                    ],
                ),
            };
        let personal = [":subject", ":error"];
        let mut clauses = vec!["#status = :status", "finished_at = :now"];
        clauses.extend(
            set.split(", ")
                .filter(|clause| !erased || !personal.iter().any(|p| clause.contains(p))),
        );
        let set = clauses.join(", ");
        // Out of the due index, where the claim put it, unless deferred to a new due time; an
        // earlier deferral's time and reason go too, so that an outcome never shows a stale
        // "why" (a message SENT after a throttled try is not `ses_unavailable`).
        let mut stale = vec!["claim_token"];
        if !set.contains("due_at") {
            stale.extend(["due_shard", "due_at", "deferred_until"]);
        }
        if !set.contains("reason") {
            stale.push("reason");
        }
        let remove = format!(" REMOVE {}", stale.join(", "));
        values.retain(|(name, _)| !erased || !personal.contains(name));
        values.push((":status", s(status.as_str())));
        values.push((":sending", s(MessageStatus::Sending.as_str())));
        values.push((":claim", s(claim.as_str())));
        values.push((":now", s(&now.to_string())));
        let mut update = aws_sdk_dynamodb::types::Update::builder()
            .table_name(&self.table)
            .set_key(Some(keys::message(shop, customer, key).to_item()))
            .update_expression(format!("SET {set}{remove}"))
            .condition_expression(if erased {
                "#status = :sending AND claim_token = :claim AND attribute_exists(erased_at)"
            } else {
                "#status = :sending AND claim_token = :claim AND attribute_not_exists(erased_at)"
            })
            .expression_attribute_names("#status", "status");
        if set.contains("#error") {
            update = update.expression_attribute_names("#error", "error");
        }
        for (name, value) in values {
            update = update.expression_attribute_values(name, value);
        }
        update
            .build()
            .map_err(|e| StoreError::Failed(e.to_string()))
    }

    /// The profile's update that goes with a recorded outcome, if any: optional mail that went
    /// out, or waits for its retry, takes its place under the customer's frequency cap; mail to
    /// the customer that went out becomes their last touch (for attribution), in the same
    /// update; a message held out becomes their held-out touch. Each bumps the version, so a
    /// webhook's write of the profile read before it is refused and decided again.
    fn finish_stamp(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        key: &str,
        outcome: &MessageOutcome,
        now: Timestamp,
    ) -> Result<Option<aws_sdk_dynamodb::types::Update>, StoreError> {
        if let MessageOutcome::HeldOut { would_have_gone_at } = outcome {
            let held = crate::domain::HeldOutTouch {
                key: key.to_owned(),
                at: crate::domain::epoch::whole_second(*would_have_gone_at),
            };
            let held = serde_dynamo::to_attribute_value(&held)
                .map_err(|e| StoreError::Failed(e.to_string()))?;
            return aws_sdk_dynamodb::types::Update::builder()
                .table_name(&self.table)
                .set_key(Some(keys::profile(shop, customer).to_item()))
                .update_expression("SET #mail.held_out_touch = :held, version = version + :one")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_names("#mail", "mail")
                .expression_attribute_values(":held", held)
                .expression_attribute_values(":one", AttributeValue::N("1".into()))
                .build()
                .map(Some)
                .map_err(|e| StoreError::Failed(e.to_string()));
        }
        let cap = matches!(
            outcome,
            MessageOutcome::Sent {
                counts_for_cap: true,
                ..
            } | MessageOutcome::Retry {
                counts_for_cap: true,
                ..
            }
        );
        let touch = matches!(
            outcome,
            MessageOutcome::Sent {
                last_touch: true,
                ..
            }
        );
        if !cap && !touch {
            return Ok(None);
        }
        let mut set = Vec::new();
        if cap {
            set.push("#mail.last_sent_at = :now");
        }
        if touch {
            set.push("#mail.last_touch = :touch");
        }
        let mut stamp = aws_sdk_dynamodb::types::Update::builder()
            .table_name(&self.table)
            .set_key(Some(keys::profile(shop, customer).to_item()))
            .update_expression(format!("SET {}, version = version + :one", set.join(", ")))
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#mail", "mail")
            .expression_attribute_values(":one", AttributeValue::N("1".into()));
        if cap {
            stamp = stamp.expression_attribute_values(":now", epoch_second(now));
        }
        if touch {
            let last = crate::domain::LastTouch {
                key: key.to_owned(),
                sent_at: crate::domain::epoch::whole_second(now),
                clicked_at: None,
            };
            let touch = serde_dynamo::to_attribute_value(&last)
                .map_err(|e| StoreError::Failed(e.to_string()))?;
            stamp = stamp.expression_attribute_values(":touch", touch);
        }
        stamp
            .build()
            .map(Some)
            .map_err(|e| StoreError::Failed(e.to_string()))
    }

    /// Records on a message still SENDING at its due time that its outcome is unknown (the
    /// sender stopped between the claim and the record; SES may have sent it), once, and takes
    /// it out of the due index. It stays SENDING, so it is never sent again automatically.
    /// `false` if the sender recorded an outcome after all, or it was marked already. A mark
    /// with the same `now` counts as this call's own (applied, its answer lost, sent again by
    /// the SDK): `true`, so that the pass counts it and the alarm hears of it.
    pub async fn mark_send_unknown(
        &self,
        key: &Key,
        reason: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key.to_item()))
            .update_expression("SET reason = :reason, unknown_at = :now REMOVE due_shard, due_at")
            .condition_expression(
                "#status = :sending AND (attribute_not_exists(unknown_at) OR unknown_at = :now)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(
                ":sending",
                AttributeValue::S(MessageStatus::Sending.as_str().into()),
            )
            .expression_attribute_values(":reason", AttributeValue::S(reason.into()))
            .expression_attribute_values(":now", AttributeValue::S(now.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) if err.code() == Some("ConditionalCheckFailedException") => Ok(false),
            Err(err) => Err(StoreError::from_sdk(&err)),
        }
    }

    /// Counts a send whose outcome is unknown for the customer's frequency cap, as a recorded
    /// send does (`mail.last_sent_at`): SES may well have sent it. No profile: nothing to do.
    /// Tried as often as the claim and the record: nothing retries it later (the message stays
    /// SENDING and is never claimed again), so a busy moment here would let the customer's
    /// next optional email follow too soon.
    pub async fn stamp_possible_send(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tries = 0;
        loop {
            tries += 1;
            match self.try_stamp_possible_send(shop, customer, now).await {
                Err(err) if err.is_transient() && tries < WRITE_TRIES => {
                    pause_before_try(tries).await
                }
                done => return done,
            }
        }
    }

    async fn try_stamp_possible_send(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::profile(shop, customer).to_item()))
            .update_expression("SET #mail.last_sent_at = :now, version = version + :one")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#mail", "mail")
            .expression_attribute_values(":now", epoch_second(now))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if err.code() == Some("ConditionalCheckFailedException") => Ok(()),
            Err(err) => Err(StoreError::from_sdk(&err)),
        }
    }

    /// Adds an SES report to its message's history and sets the delivery status, with a
    /// condition on the history read, so concurrent reports are all kept. Idempotent.
    pub async fn record_report(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        key: &str,
        report: &DeliveryReport,
    ) -> Result<ReportRecorded, StoreError> {
        let item_key = keys::message(shop, customer, key);
        for _ in 0..5 {
            let Some(message) = self.get::<MessageRecord>(&item_key, "message").await? else {
                return Ok(ReportRecorded::UnknownMessage);
            };
            // The customer was erased: the report is kept without SES's text (a bounce's
            // diagnostic may quote the address).
            let mut report = report.clone();
            if message.erased_at.is_some() {
                report.detail = None;
            }
            // A report on a message of an earlier day changes that day's summary; marked after
            // the report is in (and again on a duplicate, should the first marking have failed).
            let Some(history) = add_report(&message.reports, report.clone()) else {
                self.mark_log_change(shop, message.intent.created_at, report.at)
                    .await?;
                // Again on a duplicate, should the first stamp have failed (it is once only).
                self.stamp_click(shop, customer, key, &report).await?;
                return Ok(ReportRecorded::Duplicate);
            };
            let status = delivery_status(&history).map(DeliveryStatus::as_str);
            let reports = serde_dynamo::to_attribute_value(&history)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let mut update = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(item_key.to_item()))
                .update_expression("SET reports = :reports, delivery_status = :status")
                .expression_attribute_values(":reports", reports)
                .expression_attribute_values(
                    ":status",
                    AttributeValue::S(status.unwrap_or_default().to_owned()),
                );
            // An erasure since the read cancels the write: read again and drop the text.
            let erasure = if message.erased_at.is_some() {
                ""
            } else {
                " AND attribute_not_exists(erased_at)"
            };
            update = if message.reports.is_empty() {
                update.condition_expression(format!(
                    "attribute_exists(pk) AND attribute_not_exists(reports){erasure}"
                ))
            } else {
                update
                    .condition_expression(format!("size(reports) = :read{erasure}"))
                    .expression_attribute_values(
                        ":read",
                        AttributeValue::N(message.reports.len().to_string()),
                    )
            };
            match update.send().await {
                Ok(_) => {
                    self.mark_log_change(shop, message.intent.created_at, report.at)
                        .await?;
                    self.stamp_click(shop, customer, key, &report).await?;
                    return Ok(ReportRecorded::Added);
                }
                Err(err) if err.code() == Some("ConditionalCheckFailedException") => continue,
                Err(err) => return Err(StoreError::from_sdk(&err)),
            }
        }
        Err(StoreError::Unavailable(
            "the message kept changing under concurrent reports".into(),
        ))
    }

    /// A click on the customer's last touch starts its attribution window in click mode: the
    /// first click is stamped on the profile (1 write unit, with the version moved so that a
    /// decision made on the profile read before it is made again). A click on an older message,
    /// or a later click, changes nothing.
    async fn stamp_click(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        key: &str,
        report: &DeliveryReport,
    ) -> Result<(), StoreError> {
        if report.status != DeliveryStatus::Clicked {
            return Ok(());
        }
        let at = crate::domain::epoch::whole_second(report.at).as_second();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::profile(shop, customer).to_item()))
            .update_expression("SET #mail.last_touch.clicked_at = :at, version = version + :one")
            .condition_expression(
                "#mail.last_touch.#key = :key AND attribute_not_exists(#mail.last_touch.clicked_at)",
            )
            .expression_attribute_names("#mail", "mail")
            .expression_attribute_names("#key", "key")
            .expression_attribute_values(":key", AttributeValue::S(key.to_owned()))
            .expression_attribute_values(":at", AttributeValue::N(at.to_string()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if err.code() == Some("ConditionalCheckFailedException") => Ok(()),
            Err(err) => Err(StoreError::from_sdk(&err)),
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
        let mut emails = std::collections::BTreeMap::new();
        let keys: Vec<Item> = unique
            .into_iter()
            .map(|c| keys::profile(shop, c).to_item())
            .collect();
        for chunk in keys.chunks(100) {
            let mut wanted = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(chunk.to_vec()))
                    .projection_expression("pk, #contact.#email")
                    .expression_attribute_names("#contact", "contact")
                    .expression_attribute_names("#email", "email")
                    .build()
                    .map_err(|e| StoreError::Failed(e.to_string()))?,
            );
            // DynamoDB may leave keys unprocessed under load: ask again for those, a few times.
            for attempt in 0..5_u32 {
                let Some(request) = wanted.take() else {
                    break;
                };
                if attempt > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
                }
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|e| StoreError::from_sdk(&e))?;
                for item in out
                    .responses
                    .and_then(|mut r| r.remove(&self.table))
                    .unwrap_or_default()
                {
                    let Some((_, customer)) = item
                        .get(keys::PK)
                        .and_then(|v| v.as_s().ok())
                        .and_then(|pk| keys::parse_customer_partition(pk))
                    else {
                        continue;
                    };
                    let address: Address = decode(item, "profile")?;
                    if let Some(email) = address.contact.email {
                        emails.insert(customer, email.value);
                    }
                }
                wanted = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .filter(|k| !k.keys.is_empty());
            }
            if wanted.is_some() {
                return Err(StoreError::Unavailable(
                    "profiles left unprocessed by BatchGetItem".into(),
                ));
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

    /// The items under these keys, 100 keys to a `BatchGetItem` (strongly consistent if asked);
    /// keys DynamoDB leaves unprocessed under load are asked for again (a few times, then it is
    /// busy).
    pub(super) async fn items_by_key(
        &self,
        wanted: &[Key],
        consistent: bool,
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
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .consistent_read(consistent)
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
fn interpret(reasons: &[String]) -> Result<Written, StoreError> {
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

/// DynamoDB's limits for one transaction: 100 items and 4 MB (kept well below, for the
/// request's own overhead and the estimate's roughness).
const TRANSACTION_ITEMS: usize = 100;
const TRANSACTION_BYTES: usize = 3_000_000;

/// What a cancelled step of an erasure meant. The first item of the last step is the
/// processed-event record: there, its condition failing means a duplicate delivery. Any other
/// failed condition means the customer changed under the erasure (the profile's version, or a
/// message's SES history): read again and go on.
fn erasure_cancelled(reasons: &[String], event_first: bool) -> Result<Written, StoreError> {
    let failed = |r: &String| r == "ConditionalCheckFailed" || r == "TransactionConflict";
    if event_first && reasons.first().map(String::as_str) == Some("ConditionalCheckFailed") {
        return Ok(Written::Duplicate);
    }
    if reasons.iter().any(failed) {
        return Ok(Written::Conflict);
    }
    interpret(reasons)
}

/// Roughly how many bytes an item takes in a request (names and values), for the 4 MB limit.
fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + attribute_size(value))
        .sum()
}

fn attribute_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) | AttributeValue::N(s) => s.len() + 8,
        AttributeValue::B(b) => b.as_ref().len() + 8,
        AttributeValue::M(m) => item_size(m) + 8,
        AttributeValue::L(l) => l.iter().map(attribute_size).sum::<usize>() + 8,
        AttributeValue::Ss(v) | AttributeValue::Ns(v) => v.iter().map(|s| s.len() + 8).sum(),
        AttributeValue::Bs(v) => v.iter().map(|b| b.as_ref().len() + 8).sum(),
        _ => 8,
    }
}

/// What became of an SES report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportRecorded {
    /// Added to the message's history.
    Added,
    /// The same report was there already.
    Duplicate,
    /// No such message (not trouw's, or removed).
    UnknownMessage,
}

/// One entry of the due index: the item's key and when it is due (epoch seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueEntry {
    pub key: Key,
    pub due_at: i64,
}

/// Who holds a message, read when recording its outcome was refused.
#[derive(Debug, Deserialize)]
struct ClaimState {
    status: MessageStatus,
    #[serde(default)]
    claim_token: Option<String>,
    #[serde(default)]
    erased_at: Option<String>,
}

/// How often the sender's claim and record are tried (each try with the SDK's own retries)
/// before the message is left to the stream's retry or the schedule.
const WRITE_TRIES: u32 = 4;

/// A short, growing pause before trying a write again (50, 100, 200 ms).
async fn pause_before_try(tries: u32) {
    tokio::time::sleep(std::time::Duration::from_millis(25 << tries.min(4))).await;
}

/// What became of a claimed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageOutcome {
    Sent {
        ses_message_id: String,
        subject: String,
        locale: String,
        /// Service and promotional mail counts for the customer's frequency cap.
        counts_for_cap: bool,
        /// Mail to the customer (not the shop's own alerts) becomes their last touch, the
        /// message their next order is attributed to.
        last_touch: bool,
    },
    Skipped {
        reason: String,
    },
    /// The customer is in the holdout group: not sent. The message becomes their held-out
    /// touch, measured from when it would have gone.
    HeldOut {
        would_have_gone_at: Timestamp,
    },
    Deferred {
        until: Timestamp,
        reason: String,
        /// The message's history has room for this wait; if not, it replaces the latest.
        wait_fits: bool,
    },
    Failed {
        error: String,
    },
    /// SES did not take it (throttled, paused): DEFERRED until `until`, when the schedule
    /// tries again; the attempt is counted.
    Retry {
        until: Timestamp,
        error: String,
        /// Optional mail keeps its place under the customer's frequency cap while it waits.
        counts_for_cap: bool,
    },
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
struct OrderOwner {
    customer_id: CustomerId,
}

/// A parked event as stored, with its TTL.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ParkedRecord {
    #[serde(flatten)]
    event: ParkedEvent,
    /// Epoch seconds; the table's TTL attribute.
    expires_at: i64,
}

/// The put of an order item, at its next version, only if the order is still at the version
/// it was read at (`first_seen`: only if there is none yet).
fn order_put(
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
fn order_item(
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

/// A deferral as the message's `waits` list holds it (see [`crate::domain::Wait`]).
fn wait_of(reason: &str, until: Timestamp, now: Timestamp) -> AttributeValue {
    AttributeValue::M(HashMap::from([
        ("at".to_owned(), AttributeValue::S(now.to_string())),
        ("reason".to_owned(), AttributeValue::S(reason.to_owned())),
        ("until".to_owned(), AttributeValue::S(until.to_string())),
    ]))
}

/// A deferral of a message whose history is full: it takes the latest wait's place (the last
/// of [`crate::domain::WAITS_KEPT`]) and the one it replaces is counted.
const LATEST_WAIT_REPLACED: &str = "reason = :reason, deferred_until = :until, due_at = :due, due_shard = :shard, waits[2] = :wait, waits_dropped = if_not_exists(waits_dropped, :zero) + :one";
const _: () = assert!(
    crate::domain::WAITS_KEPT == 3,
    "LATEST_WAIT_REPLACED names waits[2]"
);

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

/// A profile's time as it stores them: whole epoch seconds (see [`crate::domain::epoch`]).
fn epoch_second(at: Timestamp) -> AttributeValue {
    AttributeValue::N(at.as_second().to_string())
}

/// The processed-event record as an item, with its TTL attribute.
fn processed_item(shop: &ShopId, processed: &ProcessedEvent) -> Result<Item, StoreError> {
    let key = keys::processed_event(shop, &processed.event_id);
    let mut item = encode(processed, &key, "processed_event")?;
    item.insert(
        EXPIRES_AT.into(),
        AttributeValue::N(processed.expires_at.to_string()),
    );
    Ok(item)
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
