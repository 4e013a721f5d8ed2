//! `ses-events`: SES's reports about sent mail, from the configuration set's EventBridge
//! destination. Each report lands on its message item (named by the `ref` tag, never found by
//! scanning) as a status history; a permanent bounce suppresses the customer's address, a
//! complaint suppresses it and opts them out of offers. Reports may come twice or in any order:
//! the history keeps each once and the status is the most telling one. Reports about unknown
//! messages are logged and dropped; a busy table makes the invocation fail, so Lambda retries.

use crate::domain::{CustomerId, DeliveryReport, ShopId, StandingChange, apply_standing};
use crate::mail::ses_events::{MessageReport, SesEventError, parse};
use crate::store::{ReportRecorded, Store, StoreError, Written};
use tracing::Instrument;

pub struct FeedbackApp {
    pub store: Store,
}

impl FeedbackApp {
    pub async fn from_env() -> Result<Self, lambda_runtime::Error> {
        let config = crate::config::Config::from_env()?;
        let sdk = crate::config::aws_sdk_config().await;
        Ok(FeedbackApp {
            store: Store::new(aws_sdk_dynamodb::Client::new(&sdk), config.table_name),
        })
    }
}

/// What one SES event came to, for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    Recorded,
    Duplicate,
    /// Not about a trouw message, or about one that no longer exists.
    Ignored,
}

/// Handles one event. `Err` only for transient failures (Lambda retries the event).
pub async fn apply(app: &FeedbackApp, event: serde_json::Value) -> Result<Handled, StoreError> {
    let report = match parse(event) {
        Ok(Some(report)) => report,
        Ok(None) => return Ok(Handled::Ignored),
        Err(
            err
            @ (SesEventError::NoMessage | SesEventError::Malformed(_) | SesEventError::Time(..)),
        ) => {
            tracing::warn!(detail = %err, outcome = "ignored", "SES event not applied");
            return Ok(Handled::Ignored);
        }
    };
    let MessageReport {
        shop,
        customer,
        key,
        report,
        ..
    } = report;
    let span =
        tracing::info_span!("ses_event", shop = %shop, customer_id = %customer, message = %key);
    // Instrumented, not entered across awaits (see `send_messages::deliver`).
    record(app, shop, customer, key, report)
        .instrument(span)
        .await
}

async fn record(
    app: &FeedbackApp,
    shop: ShopId,
    customer: CustomerId,
    key: String,
    report: DeliveryReport,
) -> Result<Handled, StoreError> {
    let recorded = app
        .store
        .record_report(&shop, &customer, &key, &report)
        .await?;
    if recorded == ReportRecorded::UnknownMessage {
        tracing::warn!(
            status = report.status.as_str(),
            outcome = "unknown_message",
            "SES event for no known message"
        );
        return Ok(Handled::Ignored);
    }
    // Also on a duplicate: the first delivery may have failed between the two writes.
    let change = StandingChange::of(&report);
    if change != StandingChange::None {
        for attempt in 0.. {
            let Some(profile) = app.store.profile(&shop, &customer).await? else {
                break;
            };
            let Some(next) = apply_standing(&profile, change, report.at) else {
                break;
            };
            match app
                .store
                .save_profile(&shop, profile.version, &next)
                .await?
            {
                Written::Committed | Written::Duplicate => break,
                Written::Conflict if attempt < 4 => continue,
                Written::Conflict => {
                    return Err(StoreError::Unavailable("the customer kept changing".into()));
                }
            }
        }
    }
    let handled = if recorded == ReportRecorded::Added {
        Handled::Recorded
    } else {
        Handled::Duplicate
    };
    tracing::info!(
        status = report.status.as_str(),
        standing = ?change,
        outcome = if handled == Handled::Recorded { "recorded" } else { "duplicate" },
        "SES event handled"
    );
    Ok(handled)
}

/// The Lambda entry point (EventBridge invokes it once per event).
pub async fn handle(
    app: &FeedbackApp,
    event: lambda_runtime::LambdaEvent<serde_json::Value>,
) -> Result<(), lambda_runtime::Error> {
    apply(app, event.payload).await?;
    Ok(())
}
