//! `run-schedule`: started by an EventBridge schedule. Reads only what is due from the sparse,
//! write-sharded due index, page by page, never a Scan, and hands each item to the code that
//! handles it: a deferred message goes back through the sender (claim, gate, send); a message
//! still SENDING when its outcome counts as unknown is recorded so, once. A pass that
//! dies halfway is simply repeated by the next: every step is idempotent. One bad item never
//! stops a pass: it is logged with its key and error kind, counted (`unreadable`, `failed`)
//! and reported as a CloudWatch metric, and the pass goes on.

use super::send_messages::{Delivery, SenderApp, deliver};
use crate::domain::SENDING_UNKNOWN_REASON;
use crate::store::keys::{self, DUE_SHARDS};
use crate::store::{DueEntry, MessageStatus, StoreError};
use crate::telemetry::emit_metrics;
use serde::Serialize;

/// What one pass did, for logs, the pass's metrics and `POST /dev/run-schedule`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PassReport {
    /// Index entries read (the pass's cost grows with this, not with the table).
    pub due_items_read: usize,
    pub messages_handled: usize,
    /// Order and customer timers applied (return windows, surveys, tips, reminders, lapses).
    pub timers_handled: usize,
    /// Entries whose item moved on before the pass reached it (claimed by another pass).
    pub already_handled: usize,
    /// Entries whose item (or key) could not be read: skipped, logged with its key.
    pub unreadable: usize,
    /// Entries whose handling failed (the store or the shop's settings were unavailable, a
    /// write was refused): skipped, logged with its key; still due, so the next pass retries.
    pub failed: usize,
    /// Messages still SENDING when their outcome became unknown (the sender stopped after the
    /// claim): recorded `unknown` on the item once, logged and counted; never sent again.
    pub send_unknown: usize,
}

/// Why one due item was skipped; the pass goes on with the next.
#[derive(Debug)]
enum ItemError {
    /// The item or its key cannot be read: a corrupt item, an id that no longer parses.
    Unreadable(&'static str, String),
    /// Handling it failed this time.
    Failed(&'static str, String),
}

impl From<StoreError> for ItemError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Corrupt(detail) => ItemError::Unreadable("corrupt_item", detail),
            StoreError::Unavailable(detail) => ItemError::Failed("store_unavailable", detail),
            StoreError::Failed(detail) => ItemError::Failed("store_failed", detail),
        }
    }
}

/// One pass over every shard of the due index, at the app's clock. Only a failure to read the
/// index itself ends it (the next pass then reads the same entries again); every item is
/// handled on its own, and one that fails is logged with its key, counted and skipped.
pub async fn run_pass(app: &SenderApp) -> Result<PassReport, StoreError> {
    let now = app.clock.now();
    let mut report = PassReport::default();
    for shard in 0..DUE_SHARDS {
        let shard = format!("DUE#{shard}");
        let mut start = None;
        loop {
            let (due, next) = app.store.due_page(&shard, now, start).await?;
            report.due_items_read += due.len();
            for entry in due {
                match handle_entry(app, &entry).await {
                    Ok(EntryOutcome::Timer) => report.timers_handled += 1,
                    Ok(EntryOutcome::Message) => report.messages_handled += 1,
                    Ok(EntryOutcome::AlreadyHandled) => report.already_handled += 1,
                    Ok(EntryOutcome::SendUnknown) => {
                        report.send_unknown += 1;
                        tracing::error!(
                            pk = %entry.key.pk,
                            sk = %entry.key.sk,
                            reason = SENDING_UNKNOWN_REASON,
                            "message outcome unknown: still SENDING long after its claim; not sent again"
                        );
                    }
                    Ok(EntryOutcome::Nothing) => {}
                    Err(err) => {
                        let (count, what, kind, detail) = match &err {
                            ItemError::Unreadable(kind, detail) => {
                                (&mut report.unreadable, "unreadable", kind, detail)
                            }
                            ItemError::Failed(kind, detail) => {
                                (&mut report.failed, "failed", kind, detail)
                            }
                        };
                        *count += 1;
                        // The key names shop, customer and item (ids, never an address).
                        tracing::error!(
                            pk = %entry.key.pk,
                            sk = %entry.key.sk,
                            error_kind = *kind,
                            detail = %detail,
                            "due item {what}; skipped"
                        );
                    }
                }
            }
            match next {
                Some(key) => start = Some(key),
                None => break,
            }
        }
    }
    if report.due_items_read > 0 {
        tracing::info!(
            due_items_read = report.due_items_read,
            messages_handled = report.messages_handled,
            timers_handled = report.timers_handled,
            unreadable = report.unreadable,
            failed = report.failed,
            send_unknown = report.send_unknown,
            "schedule pass done"
        );
    }
    emit_metrics(
        "run-schedule",
        &[
            ("ScheduleItemsUnreadable", report.unreadable as u64),
            ("ScheduleItemsFailed", report.failed as u64),
            (
                "ScheduleItemFailures",
                (report.unreadable + report.failed) as u64,
            ),
            ("MessagesSendUnknown", report.send_unknown as u64),
        ],
        now,
    );
    Ok(report)
}

/// What became of one due entry.
enum EntryOutcome {
    Timer,
    Message,
    AlreadyHandled,
    /// A message found SENDING at the time its outcome counts as unknown, now marked so.
    SendUnknown,
    /// Nothing to do (a timer that another pass applied, a message that is gone).
    Nothing,
}

async fn handle_entry(app: &SenderApp, entry: &DueEntry) -> Result<EntryOutcome, ItemError> {
    let key = &entry.key;
    if key.sk == keys::PRODUCT_SK {
        return continue_stock_pass(app, entry).await;
    }
    if key.sk.starts_with(keys::ORDER_PREFIX) || key.sk == keys::PROFILE_SK {
        return Ok(if tick(app, entry).await? {
            EntryOutcome::Timer
        } else {
            EntryOutcome::Nothing
        });
    }
    if !key.sk.starts_with(keys::MESSAGE_PREFIX) {
        return Err(ItemError::Unreadable(
            "unknown_item",
            "not an order, profile or message".into(),
        ));
    }
    let Some(message) = app.store.message_at(key).await? else {
        return Ok(EntryOutcome::Nothing);
    };
    if message.status == MessageStatus::Sending {
        // The claim put it here for this moment; a recorded outcome would have taken it out.
        let marked = app
            .store
            .mark_send_unknown(key, SENDING_UNKNOWN_REASON, app.clock.now())
            .await?;
        return Ok(if marked {
            EntryOutcome::SendUnknown
        } else {
            EntryOutcome::Nothing
        });
    }
    match deliver(app, &message).await {
        Ok(Delivery::Done(_)) => Ok(EntryOutcome::Message),
        Ok(Delivery::AlreadyHandled) => Ok(EntryOutcome::AlreadyHandled),
        // Left SENDING: a later pass records it as unknown (its claim put it in the index).
        Ok(Delivery::OutcomeUnknown) => Ok(EntryOutcome::Message),
        // The store was busy: the message stays due and the next pass tries again.
        Err(err) => Err(ItemError::Failed("message_not_delivered", err.to_string())),
    }
}

/// An order or customer with something due (a return window closing, a survey, a tip, a
/// reminder, the lapse clock): the same `decide` as a webhook, with a timer event; then the
/// messages it caused go out (locally there is no stream). Returns whether it was applied.
/// A product whose pass over its regular buyers is unfinished: the next pages, then the
/// messages they created go out.
async fn continue_stock_pass(app: &SenderApp, entry: &DueEntry) -> Result<EntryOutcome, ItemError> {
    let Some(shop_id) = keys::parse_product_partition(&entry.key.pk) else {
        return Err(ItemError::Unreadable(
            "unreadable_key",
            "not a product partition".into(),
        ));
    };
    let Some(product) = app.store.product_at(&entry.key).await? else {
        return Ok(EntryOutcome::Nothing);
    };
    let Some(shop) = app.shops.get(&shop_id).await? else {
        return Err(ItemError::Failed(
            "unknown_shop",
            "the shop is no longer configured".into(),
        ));
    };
    let done = super::stock_pass::continue_pass(
        &app.store,
        app.clock.as_ref(),
        &shop.settings,
        &product.sku,
        super::stock_pass::PAGES_PER_PASS,
    )
    .await?;
    tracing::info!(
        buyers_read = done.buyers_read,
        told = done.told,
        failed = done.failed,
        finished = done.finished,
        "stock pass continued"
    );
    Ok(EntryOutcome::Timer)
}

async fn tick(app: &SenderApp, entry: &DueEntry) -> Result<bool, ItemError> {
    use crate::domain::{CustomerFacts, EventId, EventKind, OrderId, ShopEvent};
    let key = &entry.key;
    let Some((shop_id, customer)) = keys::parse_customer_partition(&key.pk) else {
        return Err(ItemError::Unreadable(
            "unreadable_key",
            "not a customer partition".into(),
        ));
    };
    let due = entry.due_at.to_string();
    let (kind, id) = match key.sk.strip_prefix(keys::ORDER_PREFIX) {
        Some(order) => {
            let order_id = OrderId::parse(order)
                .map_err(|e| ItemError::Unreadable("unreadable_key", e.to_string()))?;
            // One timer event per item and due time: applied once, so a pass that is
            // repeated (or runs beside another) changes nothing twice. If nothing was due
            // after all (a shop lengthened its return window), the new due time makes a new
            // event. Long ids give a hashed event id, never an invalid one.
            let id = EventId::derived("timer:order", &[order_id.as_str(), &due]);
            (EventKind::OrderTimer { order_id }, id)
        }
        None => (
            EventKind::CustomerTimer,
            EventId::derived("timer:customer", &[customer.as_str(), &due]),
        ),
    };
    let Some(shop) = app.shops.get(&shop_id).await? else {
        return Err(ItemError::Failed(
            "unknown_shop",
            "the shop is no longer configured".into(),
        ));
    };
    let event = ShopEvent {
        id,
        source: "schedule".into(),
        occurred_at: app.clock.now(),
        customer: CustomerFacts {
            id: customer.clone(),
            email: None,
            first_name: None,
            locale: None,
            marketing_consent: None,
            address: None,
            birthday: None,
        },
        kind,
    };
    let applied =
        super::apply_event(&app.store, app.clock.as_ref(), &shop.settings, &event).await?;
    let committed = matches!(applied, super::Applied::Committed(_));
    if committed
        && let Err(err) = super::send_messages::deliver_pending(app, &shop_id, &customer).await
    {
        tracing::warn!(detail = %err, "messages after a timer will be retried");
    }
    Ok(committed)
}

/// The Lambda entry point (the EventBridge event itself carries nothing we need).
pub async fn handle(
    app: &SenderApp,
    _event: lambda_runtime::LambdaEvent<serde_json::Value>,
) -> Result<PassReport, lambda_runtime::Error> {
    Ok(run_pass(app).await?)
}
