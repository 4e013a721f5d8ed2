//! Platform events about an order trouw does not know yet. Shopify does not promise order: a
//! delivery or a refund can arrive before the `orders/create` it belongs to (while that one is
//! being retried, say), and names only the order, not the customer. Such an event is parked
//! under the order and applied, through the same `decide`, once the order arrives, so any
//! arrival order ends in the same state. An order that never comes (placed before the shop
//! connected) lets it expire.

use super::{
    CustomerFacts, CustomerId, EventId, EventKind, OrderId, ReturnFacts, ShopEvent, Timestamp,
};
use serde::{Deserialize, Serialize};

/// What a parked event says about its order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fact", rename_all = "snake_case")]
pub enum OrderFact {
    Delivered { delivered_at: Timestamp },
    Returned { facts: ReturnFacts },
}

/// An event kept until its order arrives; it carries no personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParkedEvent {
    pub event_id: EventId,
    pub source: String,
    pub occurred_at: Timestamp,
    pub order_id: OrderId,
    #[serde(flatten)]
    pub fact: OrderFact,
}

impl ParkedEvent {
    /// How long a parked event waits for its order.
    pub const KEEP_FOR: jiff::SignedDuration = jiff::SignedDuration::from_hours(30 * 24);

    /// The parkable part of an event: a delivery or a return of an order. Other events name
    /// their customer and never wait.
    pub fn of(event: &ShopEvent) -> Option<ParkedEvent> {
        let (order_id, fact) = match &event.kind {
            EventKind::OrderDelivered {
                order_id,
                delivered_at,
            } => (
                order_id.clone(),
                OrderFact::Delivered {
                    delivered_at: *delivered_at,
                },
            ),
            EventKind::OrderReturned { order_id, facts } => (
                order_id.clone(),
                OrderFact::Returned {
                    facts: facts.clone(),
                },
            ),
            _ => return None,
        };
        Some(ParkedEvent {
            event_id: event.id.clone(),
            source: event.source.clone(),
            occurred_at: event.occurred_at,
            order_id,
            fact,
        })
    }

    /// The event again, now that its order's customer is known.
    pub fn for_customer(&self, customer: CustomerId) -> ShopEvent {
        let order_id = self.order_id.clone();
        ShopEvent {
            id: self.event_id.clone(),
            source: self.source.clone(),
            occurred_at: self.occurred_at,
            customer: CustomerFacts {
                id: customer,
                email: None,
                first_name: None,
                locale: None,
                marketing_consent: None,
                address: None,
                birthday: None,
            },
            kind: match &self.fact {
                OrderFact::Delivered { delivered_at } => EventKind::OrderDelivered {
                    order_id,
                    delivered_at: *delivered_at,
                },
                OrderFact::Returned { facts } => EventKind::OrderReturned {
                    order_id,
                    facts: facts.clone(),
                },
            },
        }
    }

    /// Parked events in the order they happened (then by id), so applying them is repeatable.
    pub fn in_order(mut parked: Vec<ParkedEvent>) -> Vec<ParkedEvent> {
        parked.sort_by(|a, b| (a.occurred_at, &a.event_id).cmp(&(b.occurred_at, &b.event_id)));
        parked
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::shop::fixtures::demo_settings;
    use crate::domain::{
        Currency, CustomerState, Money, OrderLine, PlacedOrder, ReturnScope, ReturnedLine, Sku,
        decide,
    };

    fn ts(t: &str) -> Timestamp {
        t.parse().unwrap()
    }
    fn customer(id: &str) -> CustomerFacts {
        CustomerFacts {
            id: CustomerId::parse(id).unwrap(),
            email: None,
            first_name: None,
            locale: None,
            marketing_consent: None,
            address: None,
            birthday: None,
        }
    }
    fn event(id: &str, at: &str, customer_id: &str, kind: EventKind) -> ShopEvent {
        ShopEvent {
            id: EventId::parse(id).unwrap(),
            source: "shopify:test".into(),
            occurred_at: ts(at),
            customer: customer(customer_id),
            kind,
        }
    }
    fn order() -> OrderId {
        OrderId::parse("5912345678901").unwrap()
    }
    fn placed() -> ShopEvent {
        event(
            "shopify:order:1",
            "2026-11-02T09:14:03Z",
            "c1",
            EventKind::OrderPlaced(PlacedOrder {
                id: order(),
                placed_at: ts("2026-11-02T09:14:03Z"),
                discount_codes: Vec::new(),
                total: Money::new(6331, Currency::EUR),
                lines: vec![
                    OrderLine {
                        sku: Sku::parse("TP-075").unwrap(),
                        name: None,
                        category: None,
                        quantity: 3,
                        unit_price: Some(Money::new(355, Currency::EUR)),
                        replenish_after_days: None,
                        contract: None,
                    },
                    OrderLine {
                        sku: Sku::parse("EB-200").unwrap(),
                        name: None,
                        category: None,
                        quantity: 1,
                        unit_price: Some(Money::new(4770, Currency::EUR)),
                        replenish_after_days: None,
                        contract: None,
                    },
                ],
            }),
        )
    }
    fn delivered() -> ShopEvent {
        event(
            "shopify:fulfillment_event:3",
            "2026-11-04T13:38:12Z",
            "unresolved",
            EventKind::OrderDelivered {
                order_id: order(),
                delivered_at: ts("2026-11-04T13:38:12Z"),
            },
        )
    }
    fn refunded() -> ShopEvent {
        let id = EventId::parse("shopify:refund:1").unwrap();
        event(
            id.as_str(),
            "2026-11-07T09:55:00Z",
            "unresolved",
            EventKind::OrderReturned {
                order_id: order(),
                facts: ReturnFacts {
                    event_id: id.clone(),
                    returned_at: ts("2026-11-07T09:55:00Z"),
                    refund_total: None,
                    scope: ReturnScope::Lines(vec![ReturnedLine {
                        sku: Sku::parse("EB-200").unwrap(),
                        quantity: 1,
                    }]),
                    reason: None,
                },
            },
        )
    }

    #[test]
    fn only_order_facts_park_and_they_come_back_for_the_customer() {
        assert!(ParkedEvent::of(&placed()).is_none());
        for original in [delivered(), refunded()] {
            let parked = ParkedEvent::of(&original).unwrap();
            let json = serde_json::to_string(&parked).unwrap();
            let back: ParkedEvent = serde_json::from_str(&json).unwrap();
            assert_eq!(back, parked);
            let again = back.for_customer(CustomerId::parse("c1").unwrap());
            assert_eq!(again.kind, original.kind);
            assert_eq!(
                (again.id, again.occurred_at),
                (original.id, original.occurred_at)
            );
            assert_eq!(again.customer.id.as_str(), "c1");
        }
    }

    #[test]
    fn parked_events_applied_after_their_order_end_as_the_natural_order() {
        let settings = demo_settings();
        let now = ts("2026-11-08T10:00:00Z");
        let apply = |state: CustomerState, e: &ShopEvent| {
            let d = decide(&state, e, now, &settings);
            CustomerState {
                profile: Some(d.profile),
                order: d.order,
                year_orders: None,
            }
        };
        let natural = [placed(), delivered(), refunded()]
            .iter()
            .fold(CustomerState::default(), apply);
        // Delivery and refund first: parked; then the order, then the parked ones in order.
        let parked = ParkedEvent::in_order(vec![
            ParkedEvent::of(&refunded()).unwrap(),
            ParkedEvent::of(&delivered()).unwrap(),
        ]);
        let mut state = apply(CustomerState::default(), &placed());
        for p in &parked {
            state = apply(state, &p.for_customer(CustomerId::parse("c1").unwrap()));
        }
        assert_eq!(state.order, natural.order);
        let (a, b) = (state.profile.unwrap(), natural.profile.unwrap());
        assert_eq!(a.loyalty, b.loyalty);
        assert_eq!(a.order_count, b.order_count);
        assert_eq!(a.returned_order_count, b.returned_order_count);
        assert_eq!(a.version, b.version);
    }
}
