//! What happened to a customer, as marketers read it in the customer's timeline and the
//! overview: orders, returns, confirmed points, survey answers, engagement changes. `decide`
//! records these beside the state change, in the same transaction.

use super::{CustomerId, Engagement, LapseReason, Money, OrderId, ShopId, Timestamp};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    pub at: Timestamp,
    #[serde(flatten)]
    pub what: ActivityKind,
}

/// An activity as stored: whose it is and what happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityRecord {
    pub shop: ShopId,
    pub customer_id: CustomerId,
    #[serde(flatten)]
    pub activity: Activity,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "activity", rename_all = "snake_case")]
pub enum ActivityKind {
    OrderPlaced {
        order_id: OrderId,
        total: Money,
        points: u64,
        /// The order brought a lapsed or inactive customer back.
        reactivation: bool,
    },
    OrderReturned {
        order_id: OrderId,
        points_reversed: u64,
    },
    PointsConfirmed {
        order_id: OrderId,
        points: u64,
    },
    SurveyAnswered {
        order_id: OrderId,
        score: u8,
        /// What the customer had spent and kept when they answered, in the order's currency
        /// (their historic value): the overview's average value per NPS group adds these up.
        /// None on answers recorded before it was kept.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<Money>,
    },
    /// The survey for this order was due but not sent: the customer was asked one in the last
    /// 90 days.
    SurveySkipped {
        order_id: OrderId,
        reason: String,
    },
    EngagementChanged {
        from: Engagement,
        to: Engagement,
    },
    KeptInTouch,
    /// The customer ordered a contract's sku again before its reminders were done: the rest
    /// of them will not go.
    ContractRenewed {
        order_id: OrderId,
        sku: super::Sku,
    },
    LapseAnswered {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<LapseReason>,
    },
    /// The customer's answer to one of the shop's questions: its id, the answer's index and
    /// its words as the shop wrote them.
    QuestionAnswered {
        question_id: String,
        option: u8,
        answer: String,
    },
}

impl ActivityKind {
    pub fn name(&self) -> &'static str {
        match self {
            ActivityKind::OrderPlaced { .. } => "order_placed",
            ActivityKind::OrderReturned { .. } => "order_returned",
            ActivityKind::PointsConfirmed { .. } => "points_confirmed",
            ActivityKind::SurveyAnswered { .. } => "survey_answered",
            ActivityKind::SurveySkipped { .. } => "survey_skipped",
            ActivityKind::EngagementChanged { .. } => "engagement_changed",
            ActivityKind::KeptInTouch => "kept_in_touch",
            ActivityKind::ContractRenewed { .. } => "contract_renewed",
            ActivityKind::LapseAnswered { .. } => "lapse_answered",
            ActivityKind::QuestionAnswered { .. } => "question_answered",
        }
    }
}
