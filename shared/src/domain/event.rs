//! The canonical shop event, as the domain sees it: already verified, parsed and trusted.

pub use super::address::ObservedAddress;
use super::{
    Amount, CustomerId, Email, EventId, Locale, Money, OrderId, OrderLine, ReturnedLine, Timestamp,
};
use serde::{Deserialize, Serialize};

/// The kinds of shop event, one per webhook route: four about a customer, one about a
/// product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventType {
    OrderPlaced,
    OrderDelivered,
    OrderReturned,
    AddressChanged,
    /// A product's availability changed (out of stock, back in stock): about a product, not
    /// a customer, so not a [`ShopEvent`] (see [`super::stock`]).
    ProductChanged,
    /// Not a webhook: the schedule, when something a customer has is due.
    Timer,
    /// Not a webhook: the customer answered through a link in an email (a survey score, a
    /// comment, "keep me").
    CustomerAnswer,
}

impl EventType {
    /// The routes of events about a customer.
    pub const ALL: [EventType; 4] = [
        EventType::OrderPlaced,
        EventType::OrderDelivered,
        EventType::OrderReturned,
        EventType::AddressChanged,
    ];

    /// The last path segment of the webhook route: `order-placed`.
    pub fn route(self) -> &'static str {
        match self {
            EventType::OrderPlaced => "order-placed",
            EventType::OrderDelivered => "order-delivered",
            EventType::OrderReturned => "order-returned",
            EventType::AddressChanged => "address-changed",
            EventType::ProductChanged => "product-changed",
            EventType::Timer => "schedule",
            EventType::CustomerAnswer => "link",
        }
    }

    /// The `type` field of the canonical body: `order.placed`.
    pub fn wire_name(self) -> &'static str {
        match self {
            EventType::OrderPlaced => "order.placed",
            EventType::OrderDelivered => "order.delivered",
            EventType::OrderReturned => "order.returned",
            EventType::AddressChanged => "customer.address_changed",
            EventType::ProductChanged => "product.availability_changed",
            EventType::Timer => "schedule.timer",
            EventType::CustomerAnswer => "customer.answer",
        }
    }

    /// The webhook route named by the last path segment.
    pub fn from_route(route: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .chain([EventType::ProductChanged])
            .find(|t| t.route() == route)
    }
}

/// One delivery from the shop, after signature and payload checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopEvent {
    /// The de-duplication key within the shop (`webhook-id`, or a platform's own event id).
    pub id: EventId,
    /// Who said it, kept with consent: `order.placed`, `shopify:orders/create`, ...
    pub source: String,
    pub occurred_at: Timestamp,
    pub customer: CustomerFacts,
    pub kind: EventKind,
}

impl ShopEvent {
    pub fn event_type(&self) -> EventType {
        match self.kind {
            EventKind::OrderPlaced(_) => EventType::OrderPlaced,
            EventKind::OrderDelivered { .. } => EventType::OrderDelivered,
            EventKind::OrderReturned { .. } => EventType::OrderReturned,
            EventKind::AddressChanged => EventType::AddressChanged,
            EventKind::OrderTimer { .. } | EventKind::CustomerTimer => EventType::Timer,
            EventKind::SurveyAnswered { .. }
            | EventKind::SurveyCommented { .. }
            | EventKind::KeptInTouch
            | EventKind::LapseSurveyAnswered(_)
            | EventKind::QuestionAnswered { .. } => EventType::CustomerAnswer,
            EventKind::StockChanged(_) => EventType::ProductChanged,
        }
    }

    /// The order the event is about, if any.
    pub fn order_id(&self) -> Option<&OrderId> {
        match &self.kind {
            EventKind::OrderPlaced(order) => Some(&order.id),
            EventKind::OrderDelivered { order_id, .. }
            | EventKind::OrderReturned { order_id, .. }
            | EventKind::OrderTimer { order_id }
            | EventKind::SurveyAnswered { order_id, .. }
            | EventKind::SurveyCommented { order_id, .. } => Some(order_id),
            EventKind::AddressChanged
            | EventKind::CustomerTimer
            | EventKind::KeptInTouch
            | EventKind::LapseSurveyAnswered(_)
            | EventKind::QuestionAnswered { .. }
            | EventKind::StockChanged(_) => None,
        }
    }
}

/// What an event tells about the customer. Absent fields leave the profile unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerFacts {
    pub id: CustomerId,
    pub email: Option<Email>,
    pub first_name: Option<String>,
    pub locale: Option<Locale>,
    /// `Some(true)` opted in, `Some(false)` opted out, `None` unchanged.
    pub marketing_consent: Option<bool>,
    pub address: Option<ObservedAddress>,
    /// Month and day (canonical `customer.birthday`, `MM-DD`), for birthday points.
    pub birthday: Option<(i8, i8)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    OrderPlaced(PlacedOrder),
    OrderDelivered {
        order_id: OrderId,
        delivered_at: Timestamp,
    },
    OrderReturned {
        order_id: OrderId,
        facts: ReturnFacts,
    },
    AddressChanged,
    /// Something about an order may be due (from the schedule): its return window closing, a
    /// care tip.
    OrderTimer {
        order_id: OrderId,
    },
    /// The customer answered the survey for an order (from the link in the email).
    SurveyAnswered {
        order_id: OrderId,
        score: u8,
    },
    /// The customer added a comment to their survey answer (the form on the thank-you page).
    SurveyCommented {
        order_id: OrderId,
        comment: String,
    },
    /// Something about the customer may be due (from the schedule): the lapse clock.
    CustomerTimer,
    /// A lapsed customer clicked "yes, keep me".
    KeptInTouch,
    /// A lapsed customer answered the two-question survey.
    LapseSurveyAnswered(LapseSurvey),
    /// A customer answered one of the shop's questions (the page behind the answer links):
    /// the question's id, the index of the answer chosen, and the customer's own words when
    /// the question invites them (checked at the edge, see `questions::free_text`).
    QuestionAnswered {
        question_id: String,
        option: u8,
        free_text: Option<String>,
    },
    /// A product the customer buys regularly went out of stock, or came back (the pass over
    /// the product's regular buyers).
    StockChanged(super::stock::StockNotice),
}

/// The two questions asked of a lapsed customer: why they stopped, what could be better.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LapseSurvey {
    pub reason: Option<super::LapseReason>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacedOrder {
    pub id: OrderId,
    pub placed_at: Timestamp,
    /// The discount codes the order carries, as trouw keys codes ([`code_key`](super::code_key)):
    /// a code a redemption handed out marks it used. Not stored with the order: the redemption
    /// records its use.
    #[serde(skip)]
    pub discount_codes: Vec<String>,
    pub total: Money,
    pub lines: Vec<OrderLine>,
}

/// What came back in one return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnScope {
    /// The whole order.
    Whole,
    /// These lines.
    Lines(Vec<ReturnedLine>),
    /// Part of the order, known only by its refund amount (WooCommerce partial refunds).
    Amount,
}

/// One return of (part of) an order, kept on the order so that returns that arrive before the
/// order itself are applied once it does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnFacts {
    pub event_id: EventId,
    pub returned_at: Timestamp,
    /// Without a currency: the return payload carries none; the order's currency applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_total: Option<Amount>,
    pub scope: ReturnScope,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
