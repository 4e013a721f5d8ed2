//! `run-schedule`: started by an EventBridge schedule. Reads only what is due from the sparse,
//! write-sharded due index, page by page, never a Scan, and hands each item to the code that
//! handles it: a deferred message goes back through the sender (claim, gate, send). A pass that
//! dies halfway is simply repeated by the next: every step is idempotent.

use super::send_messages::{Delivery, SenderApp, deliver};
use crate::store::keys::{self, DUE_SHARDS};
use crate::store::{DueEntry, StoreError};
use serde::Serialize;

/// What one pass did, for logs and for `POST /dev/run-schedule`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PassReport {
    /// Index entries read (the pass's cost grows with this, not with the table).
    pub due_items_read: usize,
    pub messages_handled: usize,
    /// Order and customer timers applied (return windows, surveys, tips, reminders, lapses).
    pub timers_handled: usize,
    /// Entries whose item moved on before the pass reached it (claimed by another pass).
    pub already_handled: usize,
    /// Entries whose item could not be read (logged).
    pub unreadable: usize,
}

/// One pass over every shard of the due index, at the app's clock.
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
                let key = &entry.key;
                if key.sk.starts_with(keys::ORDER_PREFIX) || key.sk == keys::PROFILE_SK {
                    if tick(app, &entry).await? {
                        report.timers_handled += 1;
                    }
                    continue;
                }
                if !key.sk.starts_with(keys::MESSAGE_PREFIX) {
                    continue;
                }
                let message = match app.store.message_at(key).await {
                    Ok(Some(message)) => message,
                    Ok(None) => continue,
                    // One unreadable item must not stop the pass for everyone else.
                    Err(StoreError::Corrupt(detail)) => {
                        tracing::error!(detail = %detail, "unreadable due item skipped");
                        report.unreadable += 1;
                        continue;
                    }
                    Err(err) => return Err(err),
                };
                match deliver(app, &message).await {
                    Ok(Delivery::Done(_)) => report.messages_handled += 1,
                    Ok(Delivery::AlreadyHandled) => report.already_handled += 1,
                    // SES is busy: the message is PENDING again and the stream retries it.
                    Err(err) => tracing::warn!(detail = %err, "due message will be retried"),
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
            "schedule pass done"
        );
    }
    Ok(report)
}

/// An order or customer with something due (a return window closing, a survey, a tip, a
/// reminder, the lapse clock): the same `decide` as a webhook, with a timer event; then the
/// messages it caused go out (locally there is no stream). Returns whether it was applied.
async fn tick(app: &SenderApp, entry: &DueEntry) -> Result<bool, StoreError> {
    use crate::domain::{CustomerFacts, EventId, EventKind, OrderId, ShopEvent};
    let key = &entry.key;
    let Some((shop_id, customer)) = keys::parse_customer_partition(&key.pk) else {
        return Ok(false);
    };
    let (kind, subject) = match key.sk.strip_prefix(keys::ORDER_PREFIX) {
        Some(order) => {
            let Ok(order_id) = OrderId::parse(order) else {
                return Ok(false);
            };
            let subject = format!("order:{order_id}");
            (EventKind::OrderTimer { order_id }, subject)
        }
        None => (EventKind::CustomerTimer, format!("customer:{customer}")),
    };
    let Some(shop) = app.shops.get(&shop_id).await? else {
        return Ok(false);
    };
    // One timer event per item and due time: applied once, so a pass that is repeated (or
    // runs beside another) changes nothing twice. If nothing was due after all (a shop
    // lengthened its return window), the item's new due time makes a new event.
    let id = EventId::parse(format!("timer:{subject}:{}", entry.due_at))
        .map_err(|e| StoreError::Failed(e.to_string()))?;
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
