//! SES's reports about sent mail (delivery, bounce, complaint, open, click, ...), as they
//! arrive from the configuration set's EventBridge destination. Parsed at the edge into a
//! [`DeliveryReport`] for the message item the `ref` tag names.

use super::ses::parse_message_ref_tags;
use crate::domain::{CustomerId, DeliveryReport, DeliveryStatus, ShopId, Timestamp};
use serde::Deserialize;
use std::collections::HashMap;

/// The EventBridge envelope SES events arrive in (`source: aws.ses`).
#[derive(Debug, Deserialize)]
pub struct SesEventEnvelope {
    #[serde(rename = "detail-type", default)]
    pub detail_type: String,
    pub detail: SesEvent,
}

/// The SES event itself (the same body SNS destinations carry).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SesEvent {
    pub event_type: String,
    pub mail: Mail,
    pub bounce: Option<Bounce>,
    pub complaint: Option<Complaint>,
    pub delivery: Option<Stamp>,
    pub open: Option<Stamp>,
    pub click: Option<Click>,
    pub delivery_delay: Option<DeliveryDelay>,
    pub reject: Option<Reject>,
    pub failure: Option<Failure>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mail {
    pub timestamp: String,
    pub message_id: String,
    #[serde(default)]
    pub tags: HashMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bounce {
    pub bounce_type: String,
    #[serde(default)]
    pub bounce_sub_type: String,
    pub timestamp: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Complaint {
    pub timestamp: String,
    pub complaint_feedback_type: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Stamp {
    pub timestamp: String,
}

#[derive(Debug, Deserialize)]
pub struct Click {
    pub timestamp: String,
    #[serde(default)]
    pub link: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryDelay {
    pub timestamp: String,
    #[serde(default)]
    pub delay_type: String,
}

#[derive(Debug, Deserialize)]
pub struct Reject {
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    #[serde(default)]
    pub error_message: String,
}

/// What an SES event says about which message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageReport {
    pub shop: ShopId,
    pub customer: CustomerId,
    pub key: String,
    pub ses_message_id: String,
    pub report: DeliveryReport,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SesEventError {
    #[error("not an SES event: {0}")]
    Malformed(String),
    #[error("the event names no trouw message (no ref tag)")]
    NoMessage,
    #[error("{0}: {1:?} is not a time")]
    Time(&'static str, String),
}

/// Parses one EventBridge event. `Ok(None)` for events that change nothing on a message
/// (`Send`: the sender records that itself; `Subscription`).
pub fn parse(value: serde_json::Value) -> Result<Option<MessageReport>, SesEventError> {
    let envelope: SesEventEnvelope =
        serde_json::from_value(value).map_err(|e| SesEventError::Malformed(e.to_string()))?;
    let event = envelope.detail;
    let time = |field: &'static str, text: &str| {
        text.parse::<Timestamp>()
            .map_err(|_| SesEventError::Time(field, text.to_owned()))
    };
    let missing =
        |what: &str| SesEventError::Malformed(format!("{what} event without its {what} object"));
    let (status, at, detail, permanent) = match event.event_type.as_str() {
        "Send" | "Subscription" => return Ok(None),
        "Delivery" => {
            let d = event.delivery.ok_or_else(|| missing("Delivery"))?;
            (
                DeliveryStatus::Delivered,
                time("delivery.timestamp", &d.timestamp)?,
                None,
                false,
            )
        }
        "Bounce" => {
            let b = event.bounce.ok_or_else(|| missing("Bounce"))?;
            let detail = format!("{} {}", b.bounce_type, b.bounce_sub_type);
            let permanent = b.bounce_type == "Permanent";
            (
                DeliveryStatus::Bounced,
                time("bounce.timestamp", &b.timestamp)?,
                Some(detail.trim().to_owned()),
                permanent,
            )
        }
        "Complaint" => {
            let c = event.complaint.ok_or_else(|| missing("Complaint"))?;
            (
                DeliveryStatus::Complained,
                time("complaint.timestamp", &c.timestamp)?,
                c.complaint_feedback_type,
                false,
            )
        }
        "Open" => {
            let o = event.open.ok_or_else(|| missing("Open"))?;
            (
                DeliveryStatus::Opened,
                time("open.timestamp", &o.timestamp)?,
                None,
                false,
            )
        }
        "Click" => {
            let c = event.click.ok_or_else(|| missing("Click"))?;
            // Only the host: the link's path and query may carry tokens.
            let host = c
                .link
                .split("://")
                .nth(1)
                .and_then(|rest| rest.split(['/', '?', '#']).next())
                .map(str::to_owned);
            (
                DeliveryStatus::Clicked,
                time("click.timestamp", &c.timestamp)?,
                host,
                false,
            )
        }
        "DeliveryDelay" => {
            let d = event
                .delivery_delay
                .ok_or_else(|| missing("DeliveryDelay"))?;
            (
                DeliveryStatus::DeliveryDelayed,
                time("deliveryDelay.timestamp", &d.timestamp)?,
                Some(d.delay_type).filter(|t| !t.is_empty()),
                false,
            )
        }
        "Reject" => {
            let r = event.reject.ok_or_else(|| missing("Reject"))?;
            (
                DeliveryStatus::Rejected,
                time("mail.timestamp", &event.mail.timestamp)?,
                Some(r.reason).filter(|t| !t.is_empty()),
                false,
            )
        }
        "Rendering Failure" => {
            let f = event.failure.ok_or_else(|| missing("Rendering Failure"))?;
            (
                DeliveryStatus::RenderingFailed,
                time("mail.timestamp", &event.mail.timestamp)?,
                Some(f.error_message).filter(|t| !t.is_empty()),
                false,
            )
        }
        other => {
            return Err(SesEventError::Malformed(format!(
                "unknown eventType {other:?}"
            )));
        }
    };
    let (shop, customer, key) =
        parse_message_ref_tags(&event.mail.tags).ok_or(SesEventError::NoMessage)?;
    Ok(Some(MessageReport {
        shop,
        customer,
        key,
        ses_message_id: event.mail.message_id,
        report: DeliveryReport {
            status,
            at,
            detail,
            permanent,
        },
    }))
}
