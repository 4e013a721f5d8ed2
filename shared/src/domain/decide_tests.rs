use super::*;
use crate::domain::shop::fixtures::demo_settings;
use crate::domain::{
    Amount, Currency, CustomerId, Email, EventId, Locale, ObservedAddress, OrderId, OrderLine,
    PlacedOrder, ReturnFacts, ReturnScope, ReturnedLine, ShopId, Sku,
};
use crate::domain::{Engagement, LapseSurvey, MessageClass, MessageData, SkipReason};
use proptest::prelude::*;

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_793_000_000 + secs).unwrap()
}
fn now() -> Timestamp {
    t(1_000_000)
}
fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::EUR)
}
fn home(line1: &str) -> ObservedAddress {
    ObservedAddress::from_parts(
        &ShopId::parse("demo").unwrap(),
        Some(line1),
        None,
        "1016 GV",
        Some("Amsterdam"),
        "NL",
    )
}
fn facts() -> CustomerFacts {
    CustomerFacts {
        id: CustomerId::parse("cus-8812").unwrap(),
        email: None,
        first_name: None,
        locale: None,
        marketing_consent: None,
        address: None,
        birthday: None,
    }
}
fn event(id: &str, at: i64, customer: CustomerFacts, kind: EventKind) -> ShopEvent {
    let source = match &kind {
        EventKind::OrderPlaced(_) => "order.placed",
        EventKind::OrderDelivered { .. } => "order.delivered",
        EventKind::OrderReturned { .. } => "order.returned",
        EventKind::AddressChanged => "customer.address_changed",
        EventKind::OrderTimer { .. } => "schedule",
        EventKind::SurveyAnswered { .. } | EventKind::SurveyCommented { .. } => "survey",
        EventKind::CustomerTimer => "schedule",
        EventKind::KeptInTouch
        | EventKind::LapseSurveyAnswered(_)
        | EventKind::QuestionAnswered { .. } => "link",
        EventKind::StockChanged(_) => "product-changed",
    };
    ShopEvent {
        id: EventId::parse(id).unwrap(),
        source: source.into(),
        occurred_at: t(at),
        customer,
        kind,
    }
}
fn line(sku: &str, qty: u32, price: i64) -> OrderLine {
    OrderLine {
        sku: Sku::parse(sku).unwrap(),
        name: None,
        category: None,
        quantity: qty,
        unit_price: Some(eur(price)),
        replenish_after_days: None,
        contract: None,
    }
}
/// The contract's example order: 3 x TP-075 at 3.95 and 1 x EB-200 at 53.00, total 64.85.
fn placed(id: &str, order: &str, at: i64) -> ShopEvent {
    let mut customer = facts();
    customer.email = Some(Email::parse("anna.devries@example.nl").unwrap());
    customer.first_name = Some("Anna".into());
    customer.locale = Some(Locale::parse("nl").unwrap());
    customer.marketing_consent = Some(true);
    customer.address = Some(home("Prinsengracht 263"));
    event(
        id,
        at,
        customer,
        EventKind::OrderPlaced(PlacedOrder {
            id: OrderId::parse(order).unwrap(),
            placed_at: t(at),
            discount_codes: Vec::new(),
            total: eur(6485),
            lines: vec![line("TP-075", 3, 395), line("EB-200", 1, 5300)],
        }),
    )
}
fn delivered(id: &str, order: &str, at: i64) -> ShopEvent {
    event(
        id,
        at,
        facts(),
        EventKind::OrderDelivered {
            order_id: OrderId::parse(order).unwrap(),
            delivered_at: t(at),
        },
    )
}
fn returned(id: &str, order: &str, at: i64, lines: Option<Vec<(&str, u32)>>) -> ShopEvent {
    let scope = match lines {
        None => ReturnScope::Whole,
        Some(ls) => ReturnScope::Lines(
            ls.into_iter()
                .map(|(s, q)| ReturnedLine {
                    sku: Sku::parse(s).unwrap(),
                    quantity: q,
                })
                .collect(),
        ),
    };
    event(
        id,
        at,
        facts(),
        EventKind::OrderReturned {
            order_id: OrderId::parse(order).unwrap(),
            facts: ReturnFacts {
                event_id: EventId::parse(id).unwrap(),
                returned_at: t(at),
                refund_total: None,
                scope,
                reason: None,
            },
        },
    )
}
fn address(id: &str, at: i64, line1: &str) -> ShopEvent {
    let mut customer = facts();
    customer.address = Some(home(line1));
    event(id, at, customer, EventKind::AddressChanged)
}

/// Applies events one by one like the handler does: the order in state is the event's order.
fn run(events: &[ShopEvent]) -> (CustomerProfile, std::collections::BTreeMap<String, Order>) {
    let settings = demo_settings();
    let mut profile = None;
    let mut orders = std::collections::BTreeMap::new();
    for e in events {
        let state = CustomerState {
            profile: profile.clone(),
            order: e.order_id().and_then(|id| orders.get(id.as_str()).cloned()),
            year_orders: None,
        };
        let d = decide(&state, e, now(), &settings);
        if let Some(o) = d.order {
            orders.insert(o.id.as_str().to_owned(), o);
        }
        profile = Some(d.profile);
    }
    (profile.unwrap(), orders)
}

#[test]
fn order_placed_counts_spend_points_and_lifecycle() {
    let (p, orders) = run(&[placed("e1", "NL-1", 0)]);
    assert_eq!(p.order_count, 1);
    assert_eq!(p.total_spent.get(Currency::EUR), 6485);
    assert_eq!(
        p.loyalty.points_pending, 64,
        "1 point per whole euro of 64.85"
    );
    assert_eq!(p.loyalty.points_available, 0);
    assert_eq!(p.loyalty.tier.as_deref(), Some("Brons"));
    assert_eq!(p.lifecycle, Lifecycle::New);
    assert_eq!(
        (p.first_order_at, p.last_order_at),
        (Some(t(0)), Some(t(0)))
    );
    assert!(p.has_marketing_consent());
    assert_eq!(p.contact.first_name(), Some("Anna"));
    assert_eq!(p.addresses.current().unwrap().area.postal_code, "1016GV");
    assert_eq!(p.version, 1);
    assert_eq!(orders["NL-1"].status, OrderStatus::Placed);

    let (p, _) = run(&[placed("e1", "NL-1", 0), placed("e2", "NL-2", 100)]);
    assert_eq!(p.order_count, 2);
    assert_eq!(p.lifecycle, Lifecycle::Repeat);
    assert_eq!(p.loyalty.points_pending, 128);
    assert_eq!(
        (p.first_order_at, p.last_order_at),
        (Some(t(0)), Some(t(100)))
    );
    assert_eq!(
        p.addresses.move_count(),
        0,
        "the same address on a second order is not a move"
    );
}

#[test]
fn points_rate_and_tiers_come_from_the_shop() {
    let mut settings = demo_settings();
    settings.loyalty.points_per_unit = 5;
    let d = decide(
        &CustomerState::default(),
        &placed("e1", "NL-1", 0),
        now(),
        &settings,
    );
    assert_eq!(d.profile.loyalty.points_pending, 320);
    assert_eq!(d.profile.loyalty.tier.as_deref(), Some("Zilver"));
}

#[test]
fn delivery_keeps_its_time() {
    let (_, orders) = run(&[placed("e1", "NL-1", 0), delivered("e2", "NL-1", 50)]);
    assert_eq!(orders["NL-1"].status, OrderStatus::Delivered);
    assert_eq!(orders["NL-1"].delivered_at, Some(t(50)));
}

#[test]
fn partial_return_reverses_the_points_of_the_returned_value() {
    let (p, orders) = run(&[
        placed("e1", "NL-1", 0),
        delivered("e2", "NL-1", 50),
        returned("e3", "NL-1", 90, Some(vec![("EB-200", 1)])),
    ]);
    let order = &orders["NL-1"];
    assert_eq!(order.status, OrderStatus::PartiallyReturned);
    assert_eq!((order.points_earned, order.points_reversed), (64, 53));
    assert_eq!(p.loyalty.points_pending, 11);
    assert_eq!(p.returned_order_count, 1);
    assert_eq!(p.order_count, 1, "a returned order still counts as ordered");
    assert_eq!(
        p.total_spent.get(Currency::EUR),
        1185,
        "the historic value keeps what was not sent back: 64.85 less 53.00"
    );
}

#[test]
fn returning_every_line_or_the_whole_order_reverses_everything_and_never_below_zero() {
    let (p, orders) = run(&[
        placed("e1", "NL-1", 0),
        returned("e2", "NL-1", 10, Some(vec![("EB-200", 1)])),
        returned("e3", "NL-1", 20, Some(vec![("TP-075", 5)])),
    ]);
    assert_eq!(orders["NL-1"].status, OrderStatus::Returned);
    assert_eq!(p.loyalty.points_pending, 0);
    let (p, orders) = run(&[
        placed("e1", "NL-1", 0),
        returned("e2", "NL-1", 10, None),
        returned("e3", "NL-1", 20, None),
    ]);
    assert_eq!(orders["NL-1"].status, OrderStatus::Returned);
    assert_eq!(p.loyalty.points_pending, 0);
    assert_eq!(p.returned_order_count, 1);
    assert_eq!(
        p.total_spent.get(Currency::EUR),
        0,
        "all of it came back: worth nothing"
    );
    assert!(p.total_spent.0.is_empty(), "{:?}", p.total_spent);
}

#[test]
fn a_refund_total_is_used_when_lines_are_not_given_in_the_order() {
    let mut e = returned("e2", "NL-1", 10, Some(vec![("UNKNOWN-SKU", 1)]));
    if let EventKind::OrderReturned { facts, .. } = &mut e.kind {
        facts.refund_total = Some(Amount::parse("20.00").unwrap());
    }
    let (p, _) = run(&[placed("e1", "NL-1", 0), e]);
    assert_eq!(p.loyalty.points_pending, 44);
}

#[test]
fn a_return_known_only_by_amount_is_partial_and_reverses_that_amount() {
    let mut e = returned("e2", "NL-1", 10, None);
    if let EventKind::OrderReturned { facts, .. } = &mut e.kind {
        facts.scope = ReturnScope::Amount;
        facts.refund_total = Some(Amount::parse("-53.00").unwrap());
    }
    let (p, orders) = run(&[placed("e1", "NL-1", 0), e]);
    assert_eq!(orders["NL-1"].status, OrderStatus::PartiallyReturned);
    assert_eq!(
        p.loyalty.points_pending, 11,
        "a refund written as a negative amount still counts"
    );
}

#[test]
fn return_before_placed_converges_to_the_orderly_state() {
    let orderly = run(&[
        placed("e1", "NL-1", 0),
        delivered("e2", "NL-1", 50),
        returned("e3", "NL-1", 90, Some(vec![("EB-200", 1)])),
    ]);
    let late = run(&[
        returned("e3", "NL-1", 90, Some(vec![("EB-200", 1)])),
        delivered("e2", "NL-1", 50),
        placed("e1", "NL-1", 0),
    ]);
    assert_eq!(orderly, late);
}

#[test]
fn newest_consent_wins_whatever_the_arrival_order() {
    let mut opt_out = address("e2", 200, "Prinsengracht 263");
    opt_out.customer.marketing_consent = Some(false);
    let (p, _) = run(&[opt_out.clone(), placed("e1", "NL-1", 0)]);
    let consent = p.consent.unwrap();
    assert!(!consent.granted);
    assert_eq!(consent.at, t(200));
    assert_eq!(consent.source, "customer.address_changed");
    let (p, _) = run(&[placed("e1", "NL-1", 0), opt_out]);
    assert!(!p.has_marketing_consent());
}

#[test]
fn an_event_from_the_future_counts_as_now() {
    let mut future_opt_in = address("e1", 10_000_000, "Prinsengracht 263");
    future_opt_in.customer.marketing_consent = Some(true);
    let mut later_opt_out = address("e2", 1_000_400, "Prinsengracht 263");
    later_opt_out.customer.marketing_consent = Some(false);
    let (p, _) = run(&[future_opt_in, later_opt_out]);
    assert!(
        !p.has_marketing_consent(),
        "a skewed clock must not pin consent"
    );
}

#[test]
fn moves_are_real_changes_only() {
    let (p, _) = run(&[placed("e1", "NL-1", 0)]);
    assert_eq!(
        p.addresses.move_count(),
        0,
        "the first address is not a move"
    );
    let settings = demo_settings();
    let state = CustomerState {
        profile: Some(p),
        order: None,
        year_orders: None,
    };
    let same = decide(
        &state,
        &address("e2", 10, "Prinsengracht 263"),
        now(),
        &settings,
    );
    assert!(!same.outcome.moved);
    let moved = decide(
        &state,
        &address("e3", 10, "Oudegracht 158"),
        now(),
        &settings,
    );
    assert!(moved.outcome.moved);
    assert_eq!(moved.profile.addresses.last_move_at(), Some(t(10)));
    assert_eq!(moved.profile.lifecycle, Lifecycle::New);
    let first_only = decide(
        &CustomerState::default(),
        &address("e4", 10, "Oudegracht 158"),
        now(),
        &settings,
    );
    assert!(!first_only.outcome.moved);
    assert_eq!(first_only.profile.lifecycle, Lifecycle::Prospect);
}

#[test]
fn older_contact_data_does_not_overwrite_newer() {
    let mut newer = address("e2", 100, "Prinsengracht 263");
    newer.customer.first_name = Some("Anne".into());
    let (p, _) = run(&[newer, placed("e1", "NL-1", 0)]);
    assert_eq!(p.contact.first_name(), Some("Anne"));
    assert!(
        p.contact.email().is_some(),
        "a missing field is still filled from an older event"
    );
}

#[test]
fn decide_is_pure() {
    let e = placed("e1", "NL-1", 0);
    let a = decide(&CustomerState::default(), &e, now(), &demo_settings());
    let b = decide(&CustomerState::default(), &e, now(), &demo_settings());
    assert_eq!(a, b);
}

/// One random history of a customer: up to three orders with their deliveries and returns,
/// address changes and consent statements, each at its own time.
fn history() -> impl Strategy<Value = Vec<ShopEvent>> {
    let order_events = (0..3usize).prop_flat_map(|n| {
        proptest::collection::vec(
            (
                any::<bool>(),
                prop_oneof![
                    Just(None),
                    Just(Some(vec![("EB-200", 1)])),
                    Just(Some(vec![("TP-075", 2)])),
                    Just(Some(vec![("TP-075", 3), ("EB-200", 1)]))
                ],
                0..3usize,
            ),
            n + 1,
        )
    });
    let extras = proptest::collection::vec((0..3usize, any::<bool>()), 0..4);
    (order_events, extras).prop_map(|(orders, extras)| {
        let mut events = Vec::new();
        let mut clock = 0;
        let mut tick = || {
            clock += 7;
            clock
        };
        for (i, (delivered_too, return_lines, return_count)) in orders.into_iter().enumerate() {
            let order = format!("NL-{i}");
            events.push(placed(&format!("p{i}"), &order, tick()));
            if delivered_too {
                events.push(delivered(&format!("d{i}"), &order, tick()));
            }
            for r in 0..return_count {
                events.push(returned(
                    &format!("r{i}-{r}"),
                    &order,
                    tick(),
                    return_lines.clone(),
                ));
            }
        }
        for (j, (house, consent)) in extras.into_iter().enumerate() {
            let mut e = address(
                &format!("a{j}"),
                tick(),
                ["Prinsengracht 263", "Oudegracht 158", "Dam 1"][house],
            );
            e.customer.marketing_consent = Some(consent);
            events.push(e);
        }
        events
    })
}

proptest! {
    #[test]
    fn any_arrival_order_converges(events in history().prop_flat_map(|e| (Just(e.clone()), Just(e).prop_shuffle()))) {
        let (orderly, shuffled) = events;
        // The version counts the profile's own writes, which depend on the arrival order (a
        // delivery that comes first changes only its order); the state must not.
        let state = |events: &[ShopEvent]| {
            let (mut profile, orders) = run(events);
            profile.version = 0;
            (profile, orders)
        };
        prop_assert_eq!(state(&orderly), state(&shuffled));
    }

    #[test]
    fn pending_points_equal_what_the_orders_hold(events in history()) {
        let (profile, orders) = run(&events);
        let held: u64 = orders.values().map(|o| o.points_earned - o.points_reversed).sum();
        prop_assert_eq!(profile.loyalty.points_pending, held);
        for o in orders.values() {
            prop_assert!(o.points_reversed <= o.points_earned);
        }
    }

    /// The store writes a decision that changes one item (the profile or an order) without a
    /// transaction, before the event's processed record: a process that dies between the two
    /// has the platform's retry decide the event again on the state it left. That must change
    /// nothing, for every event, under its own id or another.
    #[test]
    fn an_event_applied_again_changes_nothing(events in history()) {
        let settings = demo_settings();
        let (profile, orders) = run(&events);
        for e in &events {
            let state = CustomerState {
                profile: Some(profile.clone()),
                order: e.order_id().and_then(|id| orders.get(id.as_str()).cloned()),
                year_orders: None,
            };
            let again = decide(&state, e, now(), &settings);
            prop_assert!(!again.changed, "{} changed {:?}", e.id.as_str(), again.activities);
        }
    }
}

#[test]
fn erasure_removes_personal_data_and_late_events_do_not_bring_it_back() {
    let mut first = placed("e1", "NL-1", 0);
    if let EventKind::OrderPlaced(p) = &mut first.kind {
        p.lines[0].name = Some("Tandpasta mint 75 ml".into());
    }
    let mut second = returned("e2", "NL-1", 10, Some(vec![("EB-200", 1)]));
    if let EventKind::OrderReturned { facts, .. } = &mut second.kind {
        facts.reason = Some("Te hard voor mijn tandvlees".into());
    }
    let (p, orders) = run(&[first, second]);
    let erased = crate::domain::erase(p, orders.into_values().collect(), t(100));
    let profile = &erased.profile;
    assert_eq!(profile.contact, Contact::default());
    assert!(profile.addresses.current().is_none());
    assert!(!profile.has_marketing_consent());
    assert_eq!(profile.erased_at, Some(t(100)));
    assert_eq!(
        profile.loyalty.points_pending, 11,
        "loyalty balances survive"
    );
    assert!(
        erased.orders[0]
            .placed
            .as_ref()
            .unwrap()
            .lines
            .iter()
            .all(|l| l.name.is_none())
    );
    assert!(erased.orders[0].returns.iter().all(|r| r.reason.is_none()));

    // A delayed update from before the erasure: nothing personal is stored again.
    let mut late = address("e3", 50, "Oudegracht 158");
    late.customer.email = Some(Email::parse("anna.devries@example.nl").unwrap());
    late.customer.marketing_consent = Some(true);
    let state = CustomerState {
        profile: Some(erased.profile.clone()),
        order: None,
        year_orders: None,
    };
    let d = decide(&state, &late, now(), &demo_settings());
    assert!(d.profile.contact.email().is_none());
    assert!(!d.profile.has_marketing_consent());
    assert!(d.profile.addresses.current().is_none());

    // The customer coming back afterwards is a new, legitimate contact.
    let mut back = address("e4", 200, "Oudegracht 158");
    back.customer.email = Some(Email::parse("anna.devries@example.nl").unwrap());
    let d = decide(&state, &back, now(), &demo_settings());
    assert!(d.profile.contact.email().is_some());
}

fn kinds(d: &Decision) -> Vec<&str> {
    d.messages.iter().map(|m| m.key.as_str()).collect()
}

#[test]
fn an_order_placed_creates_its_loyalty_message_once() {
    let settings = demo_settings();
    let first = decide(
        &CustomerState::default(),
        &placed("e1", "NL-1", 0),
        now(),
        &settings,
    );
    assert_eq!(kinds(&first), ["loyalty-earned#NL-1"]);
    let MessageData::LoyaltyEarned {
        points,
        tier,
        next_tier,
        points_to_next_tier,
        ..
    } = &first.messages[0].data
    else {
        panic!()
    };
    assert_eq!(
        (
            *points,
            tier.as_deref(),
            next_tier.as_deref(),
            *points_to_next_tier
        ),
        (64, Some("Brons"), Some("Zilver"), Some(186))
    );
    assert_eq!(first.messages[0].locale.as_ref().unwrap().as_str(), "nl");
    // The same order placed again (another delivery id): no second message.
    let state = CustomerState {
        profile: Some(first.profile.clone()),
        order: first.order.clone(),
        year_orders: None,
    };
    let again = decide(&state, &placed("e9", "NL-1", 0), now(), &settings);
    assert!(again.messages.is_empty());
}

#[test]
fn a_return_of_a_known_order_creates_a_reversal_message() {
    let settings = demo_settings();
    let placed = decide(
        &CustomerState::default(),
        &placed("e1", "NL-1", 0),
        now(),
        &settings,
    );
    let state = CustomerState {
        profile: Some(placed.profile),
        order: placed.order,
        year_orders: None,
    };
    let back = decide(
        &state,
        &returned("e2", "NL-1", 10, Some(vec![("EB-200", 1)])),
        now(),
        &settings,
    );
    assert_eq!(kinds(&back), ["loyalty-reversed#NL-1#e2"]);
    assert!(matches!(
        back.messages[0].data,
        MessageData::LoyaltyReversed {
            points: 53,
            points_pending: 11,
            ..
        }
    ));
    // A return that overtakes its order: the later "placed" announces the net points only.
    let early = decide(
        &CustomerState::default(),
        &returned("e2", "NL-1", 10, Some(vec![("EB-200", 1)])),
        now(),
        &settings,
    );
    assert!(early.messages.is_empty());
}

#[test]
fn a_higher_tier_is_announced_once_and_a_move_brings_a_welcome() {
    let mut settings = demo_settings();
    settings.loyalty.points_per_unit = 5;
    let d = decide(
        &CustomerState::default(),
        &placed("e1", "NL-1", 0),
        now(),
        &settings,
    );
    assert_eq!(kinds(&d), ["loyalty-earned#NL-1", "tier-reached#Zilver"]);
    let state = CustomerState {
        profile: Some(d.profile.clone()),
        order: None,
        year_orders: None,
    };
    let moved = decide(
        &state,
        &address("e2", 100, "Oudegracht 158"),
        now(),
        &settings,
    );
    let key = format!("welcome-after-move#{}", t(100).as_second());
    assert_eq!(kinds(&moved), [key.as_str()]);
    assert_eq!(moved.messages[0].class, MessageClass::Promotional);
    assert!(
        matches!(&moved.messages[0].data, MessageData::WelcomeAfterMove { coupon_code: Some(c) } if c == "WELKOMTHUIS")
    );
    let mut next = placed("e3", "NL-2", 200);
    next.customer.address = Some(home("Oudegracht 158"));
    let second_order = decide(
        &CustomerState {
            profile: Some(moved.profile),
            order: None,
            year_orders: None,
        },
        &next,
        now(),
        &settings,
    );
    assert_eq!(
        kinds(&second_order),
        ["loyalty-earned#NL-2"],
        "Zilver was announced already"
    );
}

fn window_closed(id: &str, order: &str) -> ShopEvent {
    event(
        id,
        0,
        facts(),
        EventKind::OrderTimer {
            order_id: OrderId::parse(order).unwrap(),
        },
    )
}

#[test]
fn points_become_available_when_the_return_window_closes() {
    let settings = demo_settings();
    let placed = decide(
        &CustomerState::default(),
        &placed("e1", "NL-1", 0),
        now(),
        &settings,
    );
    assert_eq!(placed.order_due_at, None, "not delivered yet: no window");
    let state = CustomerState {
        profile: Some(placed.profile),
        order: placed.order,
        year_orders: None,
    };
    let delivered = decide(&state, &delivered("e2", "NL-1", 100), now(), &settings);
    let due = t(100) + jiff::SignedDuration::from_hours(30 * 24);
    assert_eq!(
        delivered
            .order
            .as_ref()
            .unwrap()
            .confirmation_due(settings.return_window_days),
        Some(due)
    );
    let state = CustomerState {
        profile: Some(delivered.profile),
        order: delivered.order,
        year_orders: None,
    };
    // The survey (day 5) is handled first, so only the return window is left.
    let state = step(
        state,
        &window_closed("t0", "NL-1"),
        t(100) + jiff::SignedDuration::from_hours(5 * 24),
    )
    .0;

    let early = decide(
        &state,
        &window_closed("t1", "NL-1"),
        due - jiff::SignedDuration::from_secs(1),
        &settings,
    );
    assert_eq!(
        (
            early.profile.loyalty.points_pending,
            early.profile.loyalty.points_available
        ),
        (64, 0)
    );
    assert!(early.messages.is_empty());

    let closed = decide(&state, &window_closed("t2", "NL-1"), due, &settings);
    assert_eq!(
        (
            closed.profile.loyalty.points_pending,
            closed.profile.loyalty.points_available
        ),
        (0, 64)
    );
    assert_eq!(closed.order_due_at, None, "confirmed: out of the due index");
    assert_eq!(kinds(&closed), ["loyalty-confirmed#NL-1"]);

    // A return after confirmation takes the points back from the available balance.
    let state = CustomerState {
        profile: Some(closed.profile),
        order: closed.order,
        year_orders: None,
    };
    let late_return = decide(
        &state,
        &returned("e3", "NL-1", 200, Some(vec![("EB-200", 1)])),
        due,
        &settings,
    );
    assert_eq!(
        (
            late_return.profile.loyalty.points_pending,
            late_return.profile.loyalty.points_available
        ),
        (0, 11)
    );
}

#[test]
fn a_fully_returned_order_has_nothing_to_confirm() {
    let settings = demo_settings();
    let (profile, orders) = run(&[
        placed("e1", "NL-1", 0),
        delivered("e2", "NL-1", 10),
        returned("e3", "NL-1", 20, None),
    ]);
    assert_eq!(
        orders["NL-1"].confirmation_due(settings.return_window_days),
        None
    );
    let state = CustomerState {
        profile: Some(profile),
        order: Some(orders["NL-1"].clone()),
        year_orders: None,
    };
    let tick = decide(
        &state,
        &window_closed("t1", "NL-1"),
        t(10_000_000),
        &settings,
    );
    assert!(tick.messages.is_empty());
    assert_eq!(tick.profile.loyalty.points_available, 0);
}

/// The contract order with categories: the toothbrush is an "apparaten" product, which has two
/// care tips in the demo settings.
fn placed_with_categories(id: &str, order: &str, at: i64) -> ShopEvent {
    let mut e = placed(id, order, at);
    if let EventKind::OrderPlaced(p) = &mut e.kind {
        p.lines[0].category = Some("mondverzorging".into());
        p.lines[1].category = Some("apparaten".into());
    }
    e
}

fn step(state: CustomerState, e: &ShopEvent, at: Timestamp) -> (CustomerState, Decision) {
    let d = decide(&state, e, at, &demo_settings());
    (
        CustomerState {
            profile: Some(d.profile.clone()),
            order: d.order.clone(),
            year_orders: None,
        },
        d,
    )
}

#[test]
fn care_tips_come_every_fourteen_days_after_delivery_and_stop() {
    let day = |n: i64| t(100) + jiff::SignedDuration::from_hours(24 * n);
    let (state, _) = step(
        CustomerState::default(),
        &placed_with_categories("e1", "NL-1", 0),
        now(),
    );
    let (state, d) = step(state, &delivered("e2", "NL-1", 100), now());
    assert_eq!(d.order_due_at, Some(day(5)), "the survey comes first");
    let (state, d) = step(state, &window_closed("t0", "NL-1"), day(5));
    assert_eq!(kinds(&d), ["survey#NL-1"]);
    assert_eq!(
        d.order_due_at,
        Some(day(14)),
        "the first tip comes before the 30-day window closes"
    );

    let (state, d) = step(state, &window_closed("t1", "NL-1"), day(13));
    assert!(d.messages.is_empty(), "not yet");
    let (state, d) = step(state, &window_closed("t2", "NL-1"), day(14));
    assert_eq!(kinds(&d), ["care-tip#NL-1#1"]);
    assert!(
        matches!(&d.messages[0].data, MessageData::CareTip { category, title, .. } if category == "apparaten" && title == "Opzetborstel vervangen")
    );
    assert_eq!(d.order_due_at, Some(day(28)));
    let (state, d) = step(state, &window_closed("t3", "NL-1"), day(28));
    assert_eq!(kinds(&d), ["care-tip#NL-1#2"]);
    assert_eq!(
        d.order_due_at,
        Some(day(30)),
        "no tips left; the return window is next"
    );
    let (_, d) = step(state, &window_closed("t4", "NL-1"), day(30));
    assert_eq!(kinds(&d), ["loyalty-confirmed#NL-1"]);
    assert_eq!(d.order_due_at, None, "nothing more to do for this order");
}

#[test]
fn returned_products_get_no_tips_and_tips_stop_after_the_set_months() {
    let (state, _) = step(
        CustomerState::default(),
        &placed_with_categories("e1", "NL-1", 0),
        now(),
    );
    let (state, _) = step(state, &delivered("e2", "NL-1", 100), now());
    let (state, d) = step(
        state,
        &returned("e3", "NL-1", 200, Some(vec![("EB-200", 1)])),
        now(),
    );
    assert!(
        d.order
            .as_ref()
            .unwrap()
            .care_tips(&demo_settings())
            .is_empty(),
        "the toothbrush came back"
    );
    assert_ne!(
        d.order_due_at,
        Some(t(100) + jiff::SignedDuration::from_hours(24 * 14))
    );
    let _ = state;

    let mut settings = demo_settings();
    settings.care_tips.insert(
        "apparaten".into(),
        (0..20)
            .map(|i| crate::domain::CareTip {
                title: format!("Tip {i}"),
                text: "...".into(),
            })
            .collect(),
    );
    settings.care_tip_months = 3;
    let d = decide(
        &CustomerState::default(),
        &placed_with_categories("e1", "NL-1", 0),
        now(),
        &settings,
    );
    let mut order = d.order.unwrap();
    order.delivered_at = Some(t(0));
    order.care_tips_sent = 6;
    assert_eq!(
        order.care_tip_due(&settings),
        None,
        "a seventh tip would come after three months"
    );
    order.care_tips_sent = 5;
    assert_eq!(
        order.care_tip_due(&settings),
        Some(t(0) + jiff::SignedDuration::from_hours(24 * 84))
    );
}

fn survey_answer(id: &str, order: &str, score: u8) -> ShopEvent {
    event(
        id,
        0,
        facts(),
        EventKind::SurveyAnswered {
            order_id: OrderId::parse(order).unwrap(),
            score,
        },
    )
}

#[test]
fn the_survey_comes_five_days_after_delivery_unless_returned_and_once_per_ninety_days() {
    let day = |n: i64| t(100) + jiff::SignedDuration::from_hours(24 * n);
    let (state, _) = step(CustomerState::default(), &placed("e1", "NL-1", 0), now());
    let (delivered_state, _) = step(state, &delivered("e2", "NL-1", 100), now());

    let (_, d) = step(
        delivered_state.clone(),
        &window_closed("t1", "NL-1"),
        day(4),
    );
    assert!(d.messages.is_empty(), "no survey on day 4");
    let (asked, d) = step(
        delivered_state.clone(),
        &window_closed("t2", "NL-1"),
        day(5),
    );
    assert_eq!(kinds(&d), ["survey#NL-1"], "one on day 5");

    // Returned on day 3: the whole order came back, no survey.
    let (returned_state, _) = step(
        delivered_state,
        &returned("e3", "NL-1", 100 + 3 * 86_400, None),
        day(3),
    );
    let (_, d) = step(returned_state, &window_closed("t3", "NL-1"), day(5));
    assert!(
        d.messages.iter().all(|m| !m.key.starts_with("survey")),
        "no survey after a full return"
    );

    // A second order delivered within 90 days: no second survey.
    let (state, _) = step(
        CustomerState {
            profile: asked.profile.clone(),
            order: None,
            year_orders: None,
        },
        &placed("e4", "NL-2", 200),
        day(20),
    );
    let (state, _) = step(state, &delivered("e5", "NL-2", 100 + 20 * 86_400), day(20));
    let (_, d) = step(state, &window_closed("t4", "NL-2"), day(26));
    assert!(
        d.messages.iter().all(|m| !m.key.starts_with("survey")),
        "at most one survey per 90 days"
    );
    assert!(
        d.activities.iter().any(|a| matches!(
            &a.what,
            ActivityKind::SurveySkipped { reason, .. } if reason == "asked_within_90_days"
        )),
        "and the timeline says why"
    );

    // Answers: the latest within 7 days counts; later ones do not.
    let (answered, _) = step(asked.clone(), &survey_answer("a1", "NL-1", 6), day(6));
    let (answered, _) = step(answered, &survey_answer("a2", "NL-1", 9), day(7));
    assert_eq!(
        answered
            .order
            .as_ref()
            .unwrap()
            .survey_answer
            .map(|a| a.score),
        Some(9)
    );
    let (late, _) = step(answered, &survey_answer("a3", "NL-1", 2), day(13));
    assert_eq!(
        late.order.unwrap().survey_answer.map(|a| a.score),
        Some(9),
        "too late to change"
    );
}

#[test]
fn promoters_are_thanked_detractors_get_an_apology_and_the_shop_an_alert_passives_nothing() {
    let day = |n: i64| t(100) + jiff::SignedDuration::from_hours(24 * n);
    let (state, _) = step(CustomerState::default(), &placed("e1", "NL-1", 0), now());
    let (state, _) = step(state, &delivered("e2", "NL-1", 100), now());
    let (asked, _) = step(state, &window_closed("t1", "NL-1"), day(5));
    let follow_ups = |score: u8| {
        let d = decide(
            &asked,
            &survey_answer("a", "NL-1", score),
            day(6),
            &demo_settings(),
        );
        d.messages
            .iter()
            .map(|m| (m.key.clone(), m.class))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        follow_ups(10),
        [(
            "survey-promoter#NL-1".to_owned(),
            MessageClass::Transactional
        )]
    );
    assert_eq!(follow_ups(9).len(), 1);
    assert!(
        follow_ups(8).is_empty() && follow_ups(7).is_empty(),
        "passives get nothing more"
    );
    assert_eq!(
        follow_ups(6),
        [(
            "survey-detractor#NL-1".to_owned(),
            MessageClass::Transactional
        )],
        "the shop's alert waits a few minutes for a comment"
    );
}

fn comment(id: &str, order: &str, text: &str) -> ShopEvent {
    event(
        id,
        0,
        facts(),
        EventKind::SurveyCommented {
            order_id: OrderId::parse(order).unwrap(),
            comment: text.into(),
        },
    )
}

fn alert_comment(d: &Decision) -> Vec<(String, Option<String>)> {
    d.messages
        .iter()
        .filter_map(|m| match &m.data {
            MessageData::DetractorAlert { comment, score, .. } => {
                assert_eq!(m.class, MessageClass::Internal);
                assert_eq!(*score, 4);
                Some((m.key.clone(), comment.clone()))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn a_detractors_alert_carries_the_comment_written_in_time_and_a_later_one_follows_once() {
    let day = |n: i64| t(100) + jiff::SignedDuration::from_hours(24 * n);
    let (state, _) = step(CustomerState::default(), &placed("e1", "NL-1", 0), now());
    let (state, _) = step(state, &delivered("e2", "NL-1", 100), now());
    let (asked, _) = step(state, &window_closed("t1", "NL-1"), day(5));
    let (answered, d) = step(asked, &survey_answer("a", "NL-1", 4), day(6));
    let alert_at = day(6) + ALERT_DELAY;
    assert_eq!(d.order_due_at, Some(alert_at));

    // No comment: the schedule raises the alert after the delay, without one.
    let (_, early) = step(
        answered.clone(),
        &window_closed("t2", "NL-1"),
        alert_at - jiff::SignedDuration::from_secs(1),
    );
    assert!(alert_comment(&early).is_empty());
    let (raised, d) = step(answered.clone(), &window_closed("t3", "NL-1"), alert_at);
    assert_eq!(
        alert_comment(&d),
        [("detractor-alert#NL-1".to_owned(), None)]
    );
    // A comment after the alert went: one follow-up with it, and no more after that.
    let (followed, d) = step(raised, &comment("c1", "NL-1", "Te laat geleverd"), alert_at);
    assert_eq!(
        alert_comment(&d),
        [(
            "detractor-alert#NL-1#comment".to_owned(),
            Some("Te laat geleverd".to_owned())
        )]
    );
    let (_, d) = step(followed, &comment("c2", "NL-1", "En kapot"), alert_at);
    assert!(alert_comment(&d).is_empty());

    // A comment within the delay goes with the alert at once; the timer adds nothing.
    let (commented, d) = step(answered, &comment("c3", "NL-1", "Kapot aangekomen"), day(6));
    assert_eq!(
        alert_comment(&d),
        [(
            "detractor-alert#NL-1".to_owned(),
            Some("Kapot aangekomen".to_owned())
        )]
    );
    let (_, d) = step(commented, &window_closed("t4", "NL-1"), alert_at);
    assert!(alert_comment(&d).is_empty());
}

#[test]
fn a_promoters_comment_is_kept_without_an_alert() {
    let day = |n: i64| t(100) + jiff::SignedDuration::from_hours(24 * n);
    let (state, _) = step(CustomerState::default(), &placed("e1", "NL-1", 0), now());
    let (state, _) = step(state, &delivered("e2", "NL-1", 100), now());
    let (asked, _) = step(state, &window_closed("t1", "NL-1"), day(5));
    let (answered, _) = step(asked, &survey_answer("a", "NL-1", 10), day(6));
    let (state, d) = step(answered, &comment("c", "NL-1", "Top!"), day(6));
    assert!(d.messages.is_empty());
    assert_eq!(state.order.unwrap().survey_comment.as_deref(), Some("Top!"));
}

fn customer_timer(id: &str) -> ShopEvent {
    event(id, 0, facts(), EventKind::CustomerTimer)
}

#[test]
fn a_one_time_buyer_lapses_is_asked_once_goes_inactive_and_comes_back_with_an_order() {
    let day = |n: i64| t(0) + jiff::SignedDuration::from_hours(24 * n);
    let (state, _) = step(CustomerState::default(), &placed("e1", "NL-1", 0), day(0));
    assert_eq!(
        state.profile.as_ref().unwrap().due_at(),
        Some(day(180)),
        "at risk after 1.5 x the shop's 120 days"
    );
    let (state, d) = step(state, &customer_timer("t1"), day(180));
    assert!(d.messages.is_empty());
    assert_eq!(d.outcome.engagement, Engagement::AtRisk);
    let (lapsed, d) = step(state, &customer_timer("t2"), day(240));
    assert_eq!(d.outcome.engagement, Engagement::Lapsed);
    assert_eq!(d.messages.len(), 1);
    assert_eq!(d.messages[0].class, MessageClass::Service);
    assert_eq!(
        d.messages[0].data,
        MessageData::Reactivation {
            months_since_last_order: 8
        }
    );
    let (lapsed, d) = step(lapsed, &customer_timer("t3"), day(250));
    assert!(d.messages.is_empty(), "asked once");
    let (inactive, d) = step(lapsed.clone(), &customer_timer("t4"), day(270));
    assert_eq!(d.outcome.engagement, Engagement::Inactive);
    assert!(d.profile.mail.inactive, "no service mail while inactive");
    assert_eq!(d.profile.due_at(), None);

    let inactive = CustomerState {
        profile: inactive.profile,
        order: None,
        year_orders: None,
    };
    let (_, d) = step(inactive, &placed("e2", "NL-2", 300 * 86_400), day(300));
    assert!(d.outcome.reactivated);
    assert_eq!(d.profile.retention.reactivations, 1);
    assert_eq!(d.outcome.engagement, Engagement::Active);
    assert!(!d.profile.mail.inactive);

    // "Keep me" within the 30 days: active again, no reactivation counted, never inactive.
    let (kept, d) = step(
        lapsed,
        &event("k", 0, facts(), EventKind::KeptInTouch),
        day(245),
    );
    assert_eq!(
        (d.outcome.engagement, d.profile.retention.reactivations),
        (Engagement::Active, 0)
    );
    let (_, d) = step(kept, &customer_timer("t5"), day(270));
    assert_eq!(d.outcome.engagement, Engagement::Active);
}

#[test]
fn a_lapsed_customers_answers_are_kept_and_count_as_a_sign_of_life() {
    let day = |n: i64| t(0) + jiff::SignedDuration::from_hours(24 * n);
    let (state, _) = step(CustomerState::default(), &placed("e1", "NL-1", 0), day(0));
    let (lapsed, _) = step(state, &customer_timer("t"), day(241));
    let survey = LapseSurvey {
        reason: Some(crate::domain::LapseReason::Elsewhere),
        comment: Some("Dichter bij huis".into()),
    };
    let (_, d) = step(
        lapsed,
        &event("s", 0, facts(), EventKind::LapseSurveyAnswered(survey)),
        day(242),
    );
    let answer = d.profile.retention.answer.clone().unwrap();
    assert_eq!(answer.reason, Some(crate::domain::LapseReason::Elsewhere));
    assert_eq!(d.outcome.engagement, Engagement::Active);
    let erased = crate::domain::erase(d.profile, Vec::new(), day(243));
    assert_eq!(erased.profile.retention.answer.unwrap().comment, None);
}

#[test]
fn a_regular_customer_is_measured_against_their_own_rhythm() {
    let day = |n: i64| t(0) + jiff::SignedDuration::from_hours(24 * n);
    let (state, _) = step(CustomerState::default(), &placed("e1", "NL-1", 0), day(0));
    let fresh = |s: CustomerState| CustomerState {
        profile: s.profile,
        order: None,
        year_orders: None,
    };
    let (state, _) = step(fresh(state), &placed("e2", "NL-2", 30 * 86_400), day(30));
    let (state, _) = step(fresh(state), &placed("e3", "NL-3", 60 * 86_400), day(60));
    // Every 30 days: at risk after 45 days without an order, lapsed after 60.
    assert_eq!(state.profile.as_ref().unwrap().due_at(), Some(day(105)));
    let (_, d) = step(state, &customer_timer("t"), day(120));
    assert_eq!(
        kinds(&d),
        [format!("reactivation#{}", day(120).as_second())]
    );
}

fn placed_refills(id: &str, order: &str, at: i64, qty: u32) -> ShopEvent {
    let mut e = placed(id, order, at);
    if let EventKind::OrderPlaced(p) = &mut e.kind {
        p.lines = vec![
            OrderLine {
                name: Some("Opzetborstels 4 stuks".into()),
                ..line("TB-REFILL-4", qty, 1295)
            },
            OrderLine {
                replenish_after_days: Some(90),
                contract: None,
                ..line("TP-075", 1, 395)
            },
            line("EB-200", 1, 5300),
        ];
    }
    e
}

#[test]
fn replenishment_reminders_come_before_the_run_out_scaled_by_quantity() {
    let day = |n: i64| t(0) + jiff::SignedDuration::from_hours(24 * n);
    let (state, _) = step(
        CustomerState::default(),
        &placed_refills("e1", "NL-1", 0, 2),
        day(0),
    );
    let (state, d) = step(state, &delivered("e2", "NL-1", 86_400), day(1));
    // Refills: 30 days per unit (the shop's sku setting) x 2 = 60 days after delivery, the
    // reminder 5 days before. The return window (30 days) and tips come first.
    let order = d.order.clone().unwrap();
    let due: Vec<_> = order
        .replenishments_due(&demo_settings())
        .iter()
        .map(|r| (r.line.sku.to_string(), r.remind_at))
        .collect();
    assert_eq!(
        due,
        [
            ("TB-REFILL-4".to_owned(), day(56)),
            ("TP-075".to_owned(), day(86))
        ]
    );
    let (_, early) = step(state.clone(), &window_closed("t1", "NL-1"), day(55));
    assert!(
        early
            .messages
            .iter()
            .all(|m| !m.key.starts_with("replenishment"))
    );
    let (state, d) = step(state, &window_closed("t2", "NL-1"), day(56));
    let reminders: Vec<_> = d
        .messages
        .iter()
        .filter(|m| m.key.starts_with("replenishment"))
        .collect();
    assert_eq!(reminders.len(), 1);
    assert_eq!(reminders[0].class, MessageClass::Promotional);
    assert_eq!(
        reminders[0].data,
        MessageData::Replenishment {
            order_id: OrderId::parse("NL-1").unwrap(),
            sku: Sku::parse("TB-REFILL-4").unwrap(),
            product_name: Some("Opzetborstels 4 stuks".into()),
            quantity: 2,
            run_out_on: day(61)
                .to_zoned_datetime(jiff::tz::TimeZone::get("Europe/Amsterdam").unwrap())
                .date()
                .to_string(),
        }
    );
    let (_, d) = step(state, &window_closed("t3", "NL-1"), day(57));
    assert!(
        d.messages
            .iter()
            .all(|m| !m.key.starts_with("replenishment")),
        "once"
    );
}

#[test]
fn a_reorder_of_the_product_cancels_the_reminder_and_returned_products_get_none() {
    let day = |n: i64| t(0) + jiff::SignedDuration::from_hours(24 * n);
    let (first, _) = step(
        CustomerState::default(),
        &placed_refills("e1", "NL-1", 0, 1),
        day(0),
    );
    // The customer reorders the refills on day 20, before the first order's reminder (day 25).
    let (reordered, _) = step(
        CustomerState {
            profile: first.profile.clone(),
            order: None,
            year_orders: None,
        },
        &placed_refills("e2", "NL-2", 20 * 86_400, 1),
        day(20),
    );
    let (_, d) = step(
        CustomerState {
            profile: reordered.profile,
            order: first.order.clone(),
            year_orders: None,
        },
        &window_closed("t1", "NL-1"),
        day(25),
    );
    assert!(
        d.messages
            .iter()
            .all(|m| !m.key.starts_with("replenishment")),
        "cancelled by the reorder"
    );
    assert!(
        d.order
            .unwrap()
            .replenishment_handled
            .iter()
            .any(|s| s.as_str() == "TB-REFILL-4"),
        "and not looked at again"
    );

    // The refills came back: no reminder for them.
    let (back, _) = step(
        first,
        &returned("r1", "NL-1", 86_400, Some(vec![("TB-REFILL-4", 1)])),
        day(1),
    );
    let order = back.order.unwrap();
    assert!(
        order
            .replenishments_due(&demo_settings())
            .iter()
            .all(|r| r.line.sku.as_str() != "TB-REFILL-4")
    );
}

#[test]
fn activities_record_what_changed_once() {
    let day = |n: i64| t(0) + jiff::SignedDuration::from_hours(24 * n);
    let names = |d: &Decision| {
        d.activities
            .iter()
            .map(|a| a.what.name())
            .collect::<Vec<_>>()
    };
    let (state, d) = step(CustomerState::default(), &placed("e1", "NL-1", 0), day(0));
    assert_eq!(names(&d), ["order_placed"]);
    let (_, again) = step(state.clone(), &placed("e1b", "NL-1", 0), day(0));
    assert!(
        again.activities.is_empty(),
        "the same order again records nothing"
    );
    let (state, _) = step(state, &delivered("e2", "NL-1", 86_400), day(1));
    let (state, d) = step(state, &window_closed("t1", "NL-1"), day(6));
    assert!(
        names(&d).is_empty(),
        "the survey question is a message, not an activity"
    );
    let (state, d) = step(state, &survey_answer("a1", "NL-1", 3), day(7));
    assert_eq!(names(&d), ["survey_answered"]);
    let (state, d) = step(
        state,
        &returned("r1", "NL-1", 8 * 86_400, Some(vec![("EB-200", 1)])),
        day(8),
    );
    assert_eq!(names(&d), ["order_returned"]);
    let (state, d) = step(state, &window_closed("t2", "NL-1"), day(31));
    assert_eq!(names(&d), ["points_confirmed"]);
    let lapsed = CustomerState {
        profile: state.profile,
        order: None,
        year_orders: None,
    };
    let (lapsed, d) = step(lapsed, &customer_timer("t3"), day(300));
    assert_eq!(
        d.activities[0].what,
        ActivityKind::EngagementChanged {
            from: Engagement::Active,
            to: Engagement::Lapsed
        }
    );
    let (_, d) = step(lapsed, &placed("e3", "NL-2", 301 * 86_400), day(301));
    assert!(matches!(
        d.activities[0].what,
        ActivityKind::OrderPlaced {
            reactivation: true,
            ..
        }
    ));
    assert_eq!(names(&d), ["order_placed", "engagement_changed"]);
}

#[test]
fn while_an_erasure_is_under_way_nothing_personal_is_stored_and_nothing_is_lost() {
    let mut order = placed("e1", "NL-1", 0);
    if let EventKind::OrderPlaced(p) = &mut order.kind {
        p.lines[0].name = Some("Tandpasta Munt".into());
    }
    let (state, _) = step(CustomerState::default(), &order, now());
    let mut erasing = crate::domain::erase_profile(state.profile.clone().unwrap(), now());
    erasing.erasing = true;
    // A writer racing the erasure read the erased profile and an order not erased yet; its
    // event happened after the erasure and carries contact data.
    let racing = CustomerState {
        profile: Some(erasing),
        order: state.order.clone(),
        year_orders: None,
    };
    let mut late = returned("e2", "NL-1", 1_000_100, Some(vec![("EB-200", 1)]));
    late.customer = placed("x", "NL-1", 0).customer;
    let d = decide(&racing, &late, t(1_000_200), &demo_settings());
    assert!(d.profile.erasing, "the mark stays until the erasure ends");
    assert!(d.profile.contact.email().is_none() && d.profile.contact.first_name().is_none());
    assert!(d.profile.addresses.current().is_none());
    let written = d.order.unwrap();
    assert!(
        written
            .placed
            .as_ref()
            .unwrap()
            .lines
            .iter()
            .all(|l| l.name.is_none()),
        "the order is written erased"
    );
    assert!(written.points_reversed > 0, "the return itself counts");
    assert_eq!(d.outcome.order_status, Some(OrderStatus::PartiallyReturned));
}

#[test]
fn words_answering_a_question_asked_before_the_erasure_are_not_kept() {
    let day = |n: i64| t(100) + jiff::SignedDuration::from_hours(24 * n);
    let (state, _) = step(CustomerState::default(), &placed("e1", "NL-1", 0), now());
    let (state, _) = step(state, &delivered("e2", "NL-1", 100), now());
    let (asked, _) = step(state, &window_closed("t1", "NL-1"), day(5));
    let (answered, _) = step(asked, &survey_answer("a", "NL-1", 4), day(6));
    let erased = CustomerState {
        profile: Some(crate::domain::erase_profile(
            answered.profile.clone().unwrap(),
            day(6) + jiff::SignedDuration::from_mins(1),
        )),
        order: answered.order.clone(),
        year_orders: None,
    };
    let at = day(6) + jiff::SignedDuration::from_mins(2);
    let (_, d) = step(erased, &comment("c1", "NL-1", "Anna hier: kapot"), at);
    assert_eq!(d.order.as_ref().unwrap().survey_comment, None);
    assert!(alert_comment(&d).iter().all(|(_, c)| c.is_none()));

    // The same for a lapsed customer's comment.
    let (state, _) = step(CustomerState::default(), &placed("e1", "NL-1", 0), day(0));
    let (lapsed, _) = step(state, &customer_timer("t"), day(241));
    let erased = CustomerState {
        profile: Some(crate::domain::erase_profile(
            lapsed.profile.clone().unwrap(),
            day(241) + jiff::SignedDuration::from_mins(1),
        )),
        order: None,
        year_orders: None,
    };
    let survey = LapseSurvey {
        reason: Some(crate::domain::LapseReason::Price),
        comment: Some("Anna, Prinsengracht".into()),
    };
    let (_, d) = step(
        erased,
        &event("s", 0, facts(), EventKind::LapseSurveyAnswered(survey)),
        day(242),
    );
    let answer = d.profile.retention.answer.unwrap();
    assert_eq!(answer.reason, Some(crate::domain::LapseReason::Price));
    assert_eq!(answer.comment, None);
}

#[test]
fn an_event_that_changes_nothing_stored_asks_for_no_write_and_keeps_the_version() {
    let settings = demo_settings();
    let first = decide(
        &CustomerState::default(),
        &placed("e1", "NL-1", 0),
        now(),
        &settings,
    );
    assert!(first.changed);
    assert!(first.order_first_seen);
    assert_eq!(first.profile.version, 1);
    let state = CustomerState {
        profile: Some(first.profile.clone()),
        order: first.order.clone(),
        year_orders: None,
    };
    // The same facts again under another delivery id (a platform re-sending what it sent).
    let again = decide(&state, &placed("e1-resent", "NL-1", 0), now(), &settings);
    assert!(
        !again.changed,
        "the same order at the same time changes nothing"
    );
    assert!(!again.order_first_seen);
    assert_eq!(again.profile, first.profile, "not even the version moves");
    assert!(again.messages.is_empty() && again.activities.is_empty());

    let delivered_once = decide(&state, &delivered("e2", "NL-1", 50), now(), &settings);
    assert!(delivered_once.changed);
    assert!(
        !delivered_once.order_first_seen,
        "the owner of a known order is not written again"
    );
    assert_eq!(
        delivered_once.profile, first.profile,
        "a delivery changes the order only: the profile and its version stay (the order has a \
         revision of its own)"
    );
    let state = CustomerState {
        profile: Some(delivered_once.profile.clone()),
        order: delivered_once.order.clone(),
        year_orders: None,
    };
    let later = decide(&state, &delivered("e3", "NL-1", 90), now(), &settings);
    assert!(!later.changed, "the earliest delivery time is kept");
    assert_eq!(
        later.profile.version,
        state.profile.as_ref().unwrap().version
    );

    let moved = decide(
        &state,
        &address("e4", 100, "Oudegracht 158"),
        now(),
        &settings,
    );
    assert!(moved.changed);
    assert_eq!(
        moved.profile.version,
        state.profile.as_ref().unwrap().version + 1
    );
}

#[test]
fn a_message_the_gate_refuses_for_good_is_marked_skipped_when_it_is_created() {
    let settings = demo_settings();
    let mut no_consent = placed("e1", "NL-1", 0);
    no_consent.customer.marketing_consent = Some(false);
    let d = decide(&CustomerState::default(), &no_consent, now(), &settings);
    assert_eq!(kinds(&d), ["loyalty-earned#NL-1"]);
    assert!(
        d.skipped.is_empty(),
        "service mail needs no marketing consent: the sender decides on it"
    );
    let state = CustomerState {
        profile: Some(d.profile),
        order: None,
        year_orders: None,
    };
    let moved = decide(
        &state,
        &address("e2", 100, "Oudegracht 158"),
        now(),
        &settings,
    );
    let key = format!("welcome-after-move#{}", t(100).as_second());
    assert_eq!(kinds(&moved), [key.as_str()]);
    assert_eq!(
        moved.skipped.get(&key),
        Some(&SkipReason::NoConsent),
        "a promotional welcome without consent can never go"
    );

    let mut suppressed = state.profile.clone().unwrap();
    suppressed.mail.suppressed_at = Some(t(50));
    let d = decide(
        &CustomerState {
            profile: Some(suppressed),
            order: None,
            year_orders: None,
        },
        &placed("e3", "NL-2", 200),
        now(),
        &settings,
    );
    assert_eq!(
        d.skipped.get("loyalty-earned#NL-2"),
        Some(&SkipReason::Suppressed)
    );
}

#[test]
fn an_order_within_the_window_is_attributed_once_and_a_return_takes_back_its_worth() {
    let settings = demo_settings();
    let mut profile = CustomerProfile::new(settings.id.clone(), facts().id);
    profile.mail.last_touch = Some(crate::domain::LastTouch {
        key: "reactivation#e-0".into(),
        sent_at: t(0),
        clicked_at: None,
    });
    let state = CustomerState {
        profile: Some(profile),
        order: None,
        year_orders: None,
    };
    let day = 86_400;
    let first = decide(&state, &placed("e1", "NL-1", 2 * day), now(), &settings);
    let got = first.attribution.clone().unwrap();
    assert_eq!(got.message_key, "reactivation#e-0");
    assert!(got.newly_attributed);
    assert_eq!(got.revenue_change, eur(6485));
    let after = CustomerState {
        profile: Some(first.profile.clone()),
        order: first.order.clone(),
        year_orders: None,
    };
    // The same order again (a redelivery with a new id): nothing more to attribute.
    let again = decide(&after, &placed("e1b", "NL-1", 2 * day), now(), &settings);
    assert_eq!(again.attribution, None);
    // A return of the 53.00 line takes it back from the message's revenue.
    let back = decide(
        &after,
        &returned("e2", "NL-1", 3 * day, Some(vec![("EB-200", 1)])),
        now(),
        &settings,
    );
    let got = back.attribution.unwrap();
    assert!(!got.newly_attributed);
    assert_eq!(got.revenue_change, eur(-5300));
    // Five days after the send, the window has closed.
    let late = decide(&state, &placed("e3", "NL-2", 5 * day), now(), &settings);
    assert_eq!(late.attribution, None);
    assert_eq!(late.order.unwrap().attributed_to, None);
}

#[test]
fn an_order_after_a_held_out_message_is_its_conversion_and_a_return_takes_back_its_worth() {
    let settings = demo_settings();
    let day = 86_400;
    let mut profile = CustomerProfile::new(settings.id.clone(), facts().id);
    // A loyalty email went first; the replenishment reminder held out from this customer
    // would have gone a day later.
    profile.mail.last_touch = Some(crate::domain::LastTouch {
        key: "loyalty-earned#NL-0".into(),
        sent_at: t(0),
        clicked_at: None,
    });
    let held = crate::domain::HeldOutTouch {
        key: "replenishment#NL-0#TP-075".into(),
        at: t(day),
    };
    profile.mail.held_out_touch = Some(held.clone());
    let state = CustomerState {
        profile: Some(profile),
        order: None,
        year_orders: None,
    };
    let first = decide(&state, &placed("e1", "NL-1", 3 * day), now(), &settings);
    let order = first.order.clone().unwrap();
    assert_eq!(order.held_out_for, Some(held.key.clone()));
    assert_eq!(order.attributed_to, None, "one order, one message");
    let got = first.attribution.clone().unwrap();
    assert_eq!(got.message_key, "replenishment#NL-0#TP-075");
    assert!(got.held_out && got.newly_attributed);
    assert_eq!(got.revenue_change, eur(6485));
    let after = CustomerState {
        profile: Some(first.profile.clone()),
        order: first.order.clone(),
        year_orders: None,
    };
    let back = decide(
        &after,
        &returned("e2", "NL-1", 4 * day, Some(vec![("EB-200", 1)])),
        now(),
        &settings,
    );
    let got = back.attribution.unwrap();
    assert!(got.held_out && !got.newly_attributed);
    assert_eq!(got.revenue_change, eur(-5300));
    // Six days after the message would have gone: outside its window, and the older sent
    // email's window is closed too.
    let late = decide(&state, &placed("e3", "NL-2", 7 * day), now(), &settings);
    assert_eq!(late.attribution, None);
    let late = late.order.unwrap();
    assert_eq!((late.held_out_for, late.attributed_to), (None, None));
}

/// A yearly contract sold at `at`, ending a year later; without `with_contract`, an order of
/// the same sku that carries none (a renewal).
fn placed_contract(id: &str, order: &str, at: i64, with_contract: bool) -> ShopEvent {
    let mut e = placed(id, order, at);
    if let EventKind::OrderPlaced(p) = &mut e.kind {
        p.lines = vec![OrderLine {
            name: Some("Onderhoudscontract".into()),
            contract: with_contract.then(|| crate::domain::Contract {
                ends_at: t(at) + jiff::SignedDuration::from_hours(24 * 365),
                renewal_url: "https://shop.example/verlengen".into(),
            }),
            ..line("CARE-1Y", 1, 6485)
        }];
    }
    e
}

#[test]
fn a_contract_is_reminded_of_thirty_and_seven_days_before_its_end_each_once() {
    let day = |n: i64| t(0) + jiff::SignedDuration::from_hours(24 * n);
    let (state, d) = step(
        CustomerState::default(),
        &placed_contract("e1", "NL-1", 0, true),
        day(0),
    );
    assert_eq!(
        d.order_due_at,
        Some(day(335)),
        "the first reminder's moment"
    );
    assert!(
        d.profile
            .last_ordered
            .contains(&Sku::parse("CARE-1Y").unwrap()),
        "the sku is followed for a renewal"
    );
    let (state, d) = step(state, &window_closed("t1", "NL-1"), day(335));
    let ending: Vec<_> = d
        .messages
        .iter()
        .filter(|m| m.key.starts_with("contract-ending"))
        .collect();
    assert_eq!(ending.len(), 1);
    assert_eq!(ending[0].class, MessageClass::Service);
    assert_eq!(
        ending[0].data,
        MessageData::ContractEnding {
            order_id: OrderId::parse("NL-1").unwrap(),
            sku: Sku::parse("CARE-1Y").unwrap(),
            product_name: Some("Onderhoudscontract".into()),
            ends_on: day(365)
                .to_zoned_datetime(jiff::tz::TimeZone::get("Europe/Amsterdam").unwrap())
                .date()
                .to_string(),
            days_left: 30,
            renewal_url: "https://shop.example/verlengen".into(),
            last: false,
        }
    );
    assert_eq!(d.order_due_at, Some(day(358)), "then the last one");
    let (state, again) = step(state, &window_closed("t2", "NL-1"), day(336));
    assert!(again.messages.is_empty(), "once");
    let (state, d) = step(state, &window_closed("t3", "NL-1"), day(358));
    let last: Vec<_> = d.messages.iter().map(|m| m.key.as_str()).collect();
    assert_eq!(last, ["contract-ending#NL-1#CARE-1Y#2"]);
    assert!(matches!(
        d.messages[0].data,
        MessageData::ContractEnding {
            last: true,
            days_left: 7,
            ..
        }
    ));
    assert_eq!(d.order_due_at, None, "nothing more to remind");
    let (_, d) = step(state, &window_closed("t4", "NL-1"), day(359));
    assert!(!d.changed);
}

#[test]
fn a_renewal_of_the_same_sku_cancels_the_reminders() {
    let day = |n: i64| t(0) + jiff::SignedDuration::from_hours(24 * n);
    let (first, _) = step(
        CustomerState::default(),
        &placed_contract("e1", "NL-1", 0, true),
        day(0),
    );
    // The first reminder went on day 335; the customer renews on day 340 (the renewal order
    // carries no contract of its own here).
    let (first, d) = step(first, &window_closed("t1", "NL-1"), day(335));
    assert!(
        d.messages
            .iter()
            .any(|m| m.key == "contract-ending#NL-1#CARE-1Y#1")
    );
    let (renewed, _) = step(
        CustomerState {
            profile: first.profile.clone(),
            order: None,
            year_orders: None,
        },
        &placed_contract("e2", "NL-2", 340 * 86_400, false),
        day(340),
    );
    let (_, d) = step(
        CustomerState {
            profile: renewed.profile.clone(),
            order: first.order.clone(),
            year_orders: None,
        },
        &window_closed("t2", "NL-1"),
        day(358),
    );
    assert!(
        d.messages
            .iter()
            .all(|m| !m.key.starts_with("contract-ending")),
        "renewed in time: no last reminder"
    );
    assert_eq!(d.order_due_at, None, "and none later");
    assert!(
        d.activities.iter().any(|a| matches!(
            &a.what,
            ActivityKind::ContractRenewed { order_id, sku }
                if order_id.as_str() == "NL-1" && sku.as_str() == "CARE-1Y"
        )),
        "the timeline says why: {:?}",
        d.activities
    );
}
