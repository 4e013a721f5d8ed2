//! `decide` over arbitrary histories: a few customers and orders, events of every kind in any
//! order, at any time, re-sent under new ids and delivered twice, the schedule's timers, and
//! erasures, applied as the handlers apply them (amounts checked, duplicates by event id
//! dropped, the state written back). After every step:
//! - nothing panicked (overflow checks are on);
//! - each customer's pending points equal what their orders hold, and so do available points
//!   (points are unsigned: a wrong subtraction shows as a panic or a mismatch here);
//! - no order has more points taken back than it earned;
//! - the order count is the number of placed orders;
//! - no decision creates the same message key twice, and every key fits its item.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use std::collections::{BTreeMap, HashSet};
use trouw::domain::{
    Amount, Currency, CustomerFacts, CustomerId, CustomerProfile, CustomerState, Email, EventId,
    EventKind, LapseReason, LapseSurvey, Locale, MAX_MESSAGE_KEY_BYTES, Money, ObservedAddress,
    Order, OrderId, OrderLine, PlacedOrder, ReturnFacts, ReturnScope, ReturnedLine, ShopEvent, Sku,
    Timestamp, check_amounts, decide, erase,
};

const SKUS: [&str; 4] = ["EB-200", "TP-075", "TB-REFILL-4", "CR-010"];
const CATEGORIES: [Option<&str>; 3] = [None, Some("apparaten"), Some("verzorging")];
const CURRENCIES: [&str; 3] = ["EUR", "JPY", "KWD"];
const STREETS: [&str; 3] = ["Prinsengracht 263", "Oudegracht 158", "Dam 1"];

/// An amount as platforms send them: mostly ordinary, sometimes at the edge of what fits.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Minor {
    Small(u16),
    Large(u32),
    Extreme(i64),
}

impl Minor {
    /// Never negative: every parser refuses negative money.
    fn get(self) -> i64 {
        match self {
            Minor::Small(n) => i64::from(n),
            Minor::Large(n) => i64::from(n),
            Minor::Extreme(n) => n.checked_abs().unwrap_or(i64::MAX),
        }
    }
}

#[derive(Arbitrary, Debug, Clone)]
struct Line {
    sku: u8,
    category: u8,
    quantity: u16,
    price: Option<Minor>,
    replenish_after_days: Option<u16>,
}

#[derive(Arbitrary, Debug, Clone)]
enum Scope {
    Whole,
    Lines(Vec<(u8, u16)>),
    Amount,
}

#[derive(Arbitrary, Debug, Clone)]
enum Kind {
    Placed {
        currency: u8,
        total: Minor,
        lines: Vec<Line>,
    },
    Delivered {
        hours_after: u16,
    },
    Returned {
        scope: Scope,
        refund: Option<Minor>,
        reason: bool,
    },
    AddressChanged,
    OrderTimer,
    SurveyAnswered {
        score: u8,
    },
    SurveyCommented,
    CustomerTimer,
    KeptInTouch,
    LapseSurveyAnswered {
        reason: Option<u8>,
        comment: bool,
    },
}

#[derive(Arbitrary, Debug, Clone)]
enum Step {
    Event {
        customer: u8,
        order: u8,
        /// Hours before now the event happened (negative: a shop clock ahead of ours).
        hours_ago: i16,
        email: Option<u8>,
        consent: Option<bool>,
        address: Option<u8>,
        locale: bool,
        kind: Kind,
    },
    /// An earlier event again: the same delivery (same id) or re-sent under a new id.
    Again {
        which: u8,
        new_id: bool,
    },
    /// Time passes (hours).
    Wait(u16),
    Erase {
        customer: u8,
    },
}

#[derive(Default)]
struct Store {
    profiles: BTreeMap<CustomerId, CustomerProfile>,
    orders: BTreeMap<(CustomerId, OrderId), Order>,
    processed: HashSet<EventId>,
    messages: HashSet<(CustomerId, String)>,
}

fn at(hours: i64) -> Timestamp {
    Timestamp::from_second(1_793_000_000 + hours * 3600).expect("in range")
}

fn event(n: usize, now_hours: i64, step: &Step) -> Option<ShopEvent> {
    let Step::Event {
        customer,
        order,
        hours_ago,
        email,
        consent,
        address,
        locale,
        kind,
    } = step
    else {
        return None;
    };
    let shop = trouw_fuzz::shop();
    let customer_id = CustomerId::parse(format!("cus-{}", customer % 3)).ok()?;
    let order_id = OrderId::parse(format!("NL-{}", order % 4)).ok()?;
    let occurred_at = at(now_hours - i64::from(*hours_ago));
    let facts = CustomerFacts {
        id: customer_id,
        email: email.and_then(|e| Email::parse(format!("klant{}@example.nl", e % 3)).ok()),
        first_name: email.map(|e| ["Anna", "Bram"][usize::from(e % 2)].to_owned()),
        locale: locale.then(|| Locale::parse("nl").expect("valid")),
        marketing_consent: *consent,
        address: address.map(|a| {
            ObservedAddress::from_parts(
                &shop,
                Some(STREETS[usize::from(a) % STREETS.len()]),
                None,
                "1016 GV",
                Some("Amsterdam"),
                "NL",
            )
        }),
        birthday: None,
    };
    let kind = match kind {
        Kind::Placed {
            currency,
            total,
            lines,
        } => {
            let currency =
                Currency::parse(CURRENCIES[usize::from(*currency) % CURRENCIES.len()]).ok()?;
            let lines: Vec<OrderLine> = lines
                .iter()
                .take(6)
                .map(|l| OrderLine {
                    sku: Sku::parse(SKUS[usize::from(l.sku) % SKUS.len()]).expect("valid"),
                    name: None,
                    category: CATEGORIES[usize::from(l.category) % CATEGORIES.len()]
                        .map(str::to_owned),
                    quantity: u32::from(l.quantity).max(1),
                    unit_price: l.price.map(|p| Money::new(p.get(), currency)),
                    replenish_after_days: l.replenish_after_days,
                })
                .collect();
            if lines.is_empty() {
                return None;
            }
            EventKind::OrderPlaced(PlacedOrder {
                id: order_id,
                placed_at: occurred_at,
                discount_codes: Vec::new(),
                total: Money::new(total.get(), currency),
                lines,
            })
        }
        Kind::Delivered { hours_after } => EventKind::OrderDelivered {
            order_id,
            delivered_at: at(now_hours - i64::from(*hours_ago) + i64::from(*hours_after)),
        },
        Kind::Returned {
            scope,
            refund,
            reason,
        } => EventKind::OrderReturned {
            order_id,
            facts: ReturnFacts {
                event_id: EventId::parse(format!("return-{n}")).expect("valid"),
                returned_at: occurred_at,
                refund_total: refund.map(|r| Amount {
                    ten_thousandths: r.get(),
                }),
                scope: match scope {
                    Scope::Whole => ReturnScope::Whole,
                    Scope::Amount => ReturnScope::Amount,
                    Scope::Lines(lines) => ReturnScope::Lines(
                        lines
                            .iter()
                            .take(6)
                            .map(|(sku, quantity)| ReturnedLine {
                                sku: Sku::parse(SKUS[usize::from(*sku) % SKUS.len()])
                                    .expect("valid"),
                                quantity: u32::from(*quantity).max(1),
                            })
                            .collect(),
                    ),
                },
                reason: reason.then(|| "Te hard".to_owned()),
            },
        },
        Kind::AddressChanged => EventKind::AddressChanged,
        Kind::OrderTimer => EventKind::OrderTimer { order_id },
        Kind::SurveyAnswered { score } => EventKind::SurveyAnswered {
            order_id,
            score: *score,
        },
        Kind::SurveyCommented => EventKind::SurveyCommented {
            order_id,
            comment: "Prima".into(),
        },
        Kind::CustomerTimer => EventKind::CustomerTimer,
        Kind::KeptInTouch => EventKind::KeptInTouch,
        Kind::LapseSurveyAnswered { reason, comment } => {
            EventKind::LapseSurveyAnswered(LapseSurvey {
                reason: reason.map(|r| LapseReason::ALL[usize::from(r) % LapseReason::ALL.len()]),
                comment: comment.then(|| "Te duur".to_owned()),
            })
        }
    };
    Some(ShopEvent {
        id: EventId::parse(format!("e{n}")).expect("valid"),
        source: "fuzz".into(),
        occurred_at,
        customer: facts,
        kind,
    })
}

impl Store {
    /// As `apply_event`: a duplicate delivery is dropped, amounts that do not fit are refused,
    /// anything else is decided and written back.
    fn apply(&mut self, event: &ShopEvent, now: Timestamp) {
        if !self.processed.insert(event.id.clone()) {
            return;
        }
        let settings = trouw_fuzz::settings();
        let customer = event.customer.id.clone();
        let order_key = event.order_id().map(|o| (customer.clone(), o.clone()));
        let state = CustomerState {
            profile: self.profiles.get(&customer).cloned(),
            order: order_key.as_ref().and_then(|k| self.orders.get(k)).cloned(),
        };
        if check_amounts(&state, event, &settings).is_err() {
            return;
        }
        let decision = decide(&state, event, now, &settings);
        let mut keys = HashSet::new();
        for message in &decision.messages {
            assert!(
                keys.insert(message.key.clone()),
                "one decision creates message {} twice",
                message.key
            );
            assert!(!message.key.is_empty() && message.key.len() <= MAX_MESSAGE_KEY_BYTES);
            assert_eq!(message.customer_id, customer);
            // The store keeps the first message of a key and leaves later ones out.
            self.messages
                .insert((customer.clone(), message.key.clone()));
        }
        self.profiles.insert(customer.clone(), decision.profile);
        if let (Some(order), Some(key)) = (decision.order, order_key) {
            self.orders.insert(key, order);
        }
    }

    fn erase(&mut self, customer: &CustomerId, now: Timestamp) {
        let Some(profile) = self.profiles.get(customer).cloned() else {
            return;
        };
        let orders: Vec<Order> = self
            .orders
            .iter()
            .filter(|((c, _), _)| c == customer)
            .map(|(_, o)| o.clone())
            .collect();
        let erased = erase(profile, orders, now);
        self.profiles.insert(customer.clone(), erased.profile);
        for order in erased.orders {
            self.orders
                .insert((customer.clone(), order.id.clone()), order);
        }
    }

    fn check(&self) {
        for (customer, profile) in &self.profiles {
            let orders: Vec<&Order> = self
                .orders
                .iter()
                .filter(|((c, _), _)| c == customer)
                .map(|(_, o)| o)
                .collect();
            for order in &orders {
                assert!(
                    order.points_reversed <= order.points_earned,
                    "{}: more points taken back than earned",
                    order.id
                );
            }
            let pending: u64 = orders.iter().map(|o| o.points_pending()).sum();
            let available: u64 = orders.iter().map(|o| o.points_available()).sum();
            assert_eq!(
                profile.loyalty.points_pending, pending,
                "pending points differ from what the orders hold"
            );
            assert_eq!(
                profile.loyalty.points_available, available,
                "available points differ from what the orders hold"
            );
            let placed = orders.iter().filter(|o| o.placed.is_some()).count();
            assert_eq!(profile.order_count as usize, placed, "order count");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(steps) = u
        .arbitrary_iter::<Step>()
        .and_then(|i| i.take(64).collect::<Result<Vec<_>, _>>())
    else {
        return;
    };
    let mut store = Store::default();
    let mut sent: Vec<ShopEvent> = Vec::new();
    let mut now_hours: i64 = 0;
    for (n, step) in steps.iter().enumerate() {
        let now = at(now_hours);
        match step {
            Step::Event { .. } => {
                if let Some(mut event) = event(n, now_hours, step) {
                    // Timers and answers come from the schedule and the links: at "now".
                    if matches!(
                        event.kind,
                        EventKind::OrderTimer { .. }
                            | EventKind::CustomerTimer
                            | EventKind::SurveyAnswered { .. }
                            | EventKind::SurveyCommented { .. }
                            | EventKind::KeptInTouch
                            | EventKind::LapseSurveyAnswered(_)
                    ) {
                        event.occurred_at = now;
                    }
                    store.apply(&event, now);
                    sent.push(event);
                }
            }
            Step::Again { which, new_id } => {
                if sent.is_empty() {
                    continue;
                }
                let mut event = sent[usize::from(*which) % sent.len()].clone();
                if *new_id {
                    event.id = EventId::parse(format!("e{n}-again")).expect("valid");
                }
                store.apply(&event, now);
            }
            Step::Wait(hours) => now_hours += i64::from(*hours),
            Step::Erase { customer } => {
                let customer = CustomerId::parse(format!("cus-{}", customer % 3)).expect("valid");
                store.erase(&customer, now);
            }
        }
        store.check();
    }
});
