//! A message as the table keeps it: the outbox entry the sender picks up and, later, the row the
//! marketers' pages show. The store reads and writes it; the admin views read it.

use super::{DeliveryReport, DeliveryStatus, EventId, MessageIntent, ShopId, Timestamp};
use serde::{Deserialize, Serialize};

/// A message item: the outbox entry the sender picks up from the table's stream, and later the
/// message log's row. Created PENDING in the same transaction as the state change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRecord {
    pub shop: ShopId,
    #[serde(flatten)]
    pub intent: MessageIntent,
    pub status: MessageStatus,
    /// The event that caused it.
    pub cause: EventId,
    /// Why it was skipped or deferred (`no_consent`, `quiet_hours`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deferred_until: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ses_message_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rendered_locale: Option<String>,
    /// Sends SES did not take (throttled) before this one.
    #[serde(default)]
    pub attempts: u32,
    /// What SES reported after the send, in time order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reports: Vec<DeliveryReport>,
    /// The most telling report: a late "delivered" never hides a bounce.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_status: Option<DeliveryStatus>,
    /// The customer was erased: the message keeps its kind, status and times, and nothing
    /// written to it later (a subject, an error, SES's texts) may be personal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erased_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MessageStatus {
    /// Created; waiting for the sender.
    Pending,
    /// Claimed by a sender, which is calling SES. A message left here was perhaps sent: it is
    /// never sent again automatically.
    Sending,
    Sent,
    Skipped,
    /// Not now (quiet hours, frequency cap): the schedule brings it back at `deferred_until`.
    Deferred,
    /// Refused by SES for good.
    Failed,
    /// The customer is in the shop's holdout group: not sent, so the message's lift can be
    /// measured.
    HeldOut,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Pending => "PENDING",
            MessageStatus::Sending => "SENDING",
            MessageStatus::Sent => "SENT",
            MessageStatus::Skipped => "SKIPPED",
            MessageStatus::Deferred => "DEFERRED",
            MessageStatus::Failed => "FAILED",
            MessageStatus::HeldOut => "HELD_OUT",
        }
    }
}
