//! A message as the table keeps it: the outbox entry the sender picks up and, later, the row the
//! marketers' pages show. The store reads and writes it; the admin views read it.

use super::{
    DeliveryReport, DeliveryStatus, EventId, MessageIntent, SENDING_UNKNOWN_AFTER,
    SENDING_UNKNOWN_REASON, ShopId, Timestamp,
};
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
    /// When a sender claimed it for sending (it became SENDING).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_at: Option<Timestamp>,
    /// Each time the rules deferred it (quiet hours, the frequency cap), oldest first: kept once
    /// it is sent, so that its history shows that it waited (the `reason` and `deferred_until`
    /// of a deferral go with the send). A retry after SES failed is no wait of the rules and
    /// leaves no trace once sent, as faults must not.
    /// At most [`WAITS_KEPT`]: the first ones and the latest; a deferral beyond them takes the
    /// latest one's place and is counted in `waits_dropped`, so that a message the cap holds
    /// back again and again keeps a small item (each wait is about 110 bytes, and a message is
    /// written at every claim and record).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waits: Vec<Wait>,
    /// Deferrals no longer in `waits` (each replaced by a later one).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub waits_dropped: u32,
    /// When the customer unsubscribed through this email's link (the first time it changed
    /// their preferences): the overview counts it against the email's kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsubscribed_at: Option<Timestamp>,
    /// The orders attributed to it (kept as counters the order path adds to).
    #[serde(flatten)]
    pub earned: Earned,
}

/// What a message earned: the orders attributed to it and what their customers kept of them
/// (returns taken off). A customer orders in one shop's currency.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Earned {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub attributed_orders: u32,
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub attributed_revenue_minor: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributed_currency: Option<super::Currency>,
    /// When the first attributed order was placed ("ordered 2 days after this email").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_order_at: Option<Timestamp>,
    /// A HELD_OUT message: the orders its customer placed within the window after it would
    /// have gone (the holdout group's conversions), and what they kept of them. Its
    /// `attributed_currency` and `first_order_at` say their currency and the first one.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub held_out_orders: u32,
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub held_out_revenue_minor: i64,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn is_zero_i64(n: &i64) -> bool {
    *n == 0
}

/// How many deferrals a message's history keeps: the first two and the latest.
pub const WAITS_KEPT: usize = 3;

/// Whether a message holding `waits` keeps one more deferral beside them; if not, the next one
/// replaces the latest.
pub fn wait_fits(waits: &[Wait]) -> bool {
    waits.len() < WAITS_KEPT
}

/// A deferral in a message's history: when, why (`frequency_cap`, `quiet_hours`) and until
/// when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wait {
    pub at: Timestamp,
    pub reason: String,
    pub until: Timestamp,
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

impl MessageRecord {
    /// A new message, to be sent, that `cause` created.
    pub fn pending_for(shop: &ShopId, cause: EventId, intent: &MessageIntent) -> Self {
        MessageRecord {
            shop: shop.clone(),
            intent: intent.clone(),
            status: MessageStatus::Pending,
            cause,
            reason: None,
            deferred_until: None,
            error: None,
            ses_message_id: None,
            sent_at: None,
            subject: None,
            rendered_locale: None,
            attempts: 0,
            reports: Vec::new(),
            delivery_status: None,
            erased_at: None,
            claimed_at: None,
            waits: Vec::new(),
            waits_dropped: 0,
            unsubscribed_at: None,
            earned: Default::default(),
        }
    }

    /// Whether the outcome of sending it is unknown at `now`: still SENDING
    /// [`SENDING_UNKNOWN_AFTER`] after its claim (the sender stopped between the claim and the
    /// record, perhaps after SES took it), or marked so by the schedule. Such a message is
    /// never sent again automatically.
    pub fn send_outcome_unknown(&self, now: Timestamp) -> bool {
        self.status == MessageStatus::Sending
            && (self.reason.as_deref() == Some(SENDING_UNKNOWN_REASON)
                || self
                    .claimed_at
                    .is_some_and(|claimed| now >= claimed + SENDING_UNKNOWN_AFTER))
    }

    /// The message as the marketers' pages show it at `now`: one whose outcome is unknown
    /// carries the reason (`sender_stopped`) even before the schedule recorded it.
    pub fn seen_at(mut self, now: Timestamp) -> Self {
        if self.send_outcome_unknown(now) {
            self.reason = Some(SENDING_UNKNOWN_REASON.into());
        }
        self
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CustomerId, MessageClass, MessageData, OrderId};

    fn claimed(at: &str) -> MessageRecord {
        let at: Timestamp = at.parse().unwrap();
        let intent = MessageIntent {
            key: "survey#NL-1".into(),
            customer_id: CustomerId::parse("cus-1").unwrap(),
            class: MessageClass::Service,
            locale: None,
            data: MessageData::SurveyRequest {
                order_id: OrderId::parse("NL-1").unwrap(),
            },
            created_at: at,
        };
        MessageRecord {
            status: MessageStatus::Sending,
            claimed_at: Some(at),
            ..MessageRecord::pending_for(
                &ShopId::parse("demo").unwrap(),
                EventId::parse("e-1").unwrap(),
                &intent,
            )
        }
    }

    #[test]
    fn a_message_still_sending_fifteen_minutes_after_its_claim_has_an_unknown_outcome() {
        let message = claimed("2026-11-09T13:00:00Z");
        let at = |t: &str| t.parse::<Timestamp>().unwrap();
        assert!(!message.send_outcome_unknown(at("2026-11-09T13:14:59Z")));
        assert!(message.send_outcome_unknown(at("2026-11-09T13:15:00Z")));
        let mut sent = message.clone();
        sent.status = MessageStatus::Sent;
        assert!(!sent.send_outcome_unknown(at("2026-11-10T13:00:00Z")));
        // Marked by the schedule: unknown whatever the clock says.
        let mut marked = message;
        marked.reason = Some(SENDING_UNKNOWN_REASON.into());
        assert!(marked.send_outcome_unknown(at("2026-11-09T13:01:00Z")));
        let seen = claimed("2026-11-09T13:00:00Z").seen_at(at("2026-11-09T13:20:00Z"));
        assert_eq!(seen.reason.as_deref(), Some(SENDING_UNKNOWN_REASON));
        assert_eq!(
            seen.status,
            MessageStatus::Sending,
            "still never sent again"
        );
    }
}
