use super::*;
use crate::domain::shop::fixtures::demo_settings;
use crate::domain::{CustomerId, EntryKind, ShopId};
use proptest::prelude::*;

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn customer() -> CustomerProfile {
    CustomerProfile::new(
        ShopId::parse("demo").unwrap(),
        CustomerId::parse("cus-1").unwrap(),
    )
}

fn expiring_shop(turned_on: &str) -> ShopSettings {
    let mut s = demo_settings();
    s.loyalty.expire_after_months = Some(12);
    s.loyalty.expiry_turned_on_at = Some(at(turned_on));
    s
}

fn rolling_shop() -> ShopSettings {
    let mut s = demo_settings();
    s.loyalty.tier_qualification = TierQualification::Rolling12Months;
    s
}

fn kinds(applied: &Applied) -> Vec<&'static str> {
    applied.messages.iter().map(|(_, m)| m.kind()).collect()
}

#[test]
fn points_expire_a_period_after_the_last_order_with_warnings_30_and_7_days_before() {
    let shop = expiring_shop("2025-01-01T00:00:00Z");
    let mut p = customer();
    p.last_order_at = Some(at("2026-03-10T10:00:00Z"));
    p.loyalty.points_available = 300;
    p.loyalty.points_pending = 40;
    let a = apply(&mut p, at("2026-06-01T00:00:00Z"), &shop);
    assert!(a.messages.is_empty() && a.entries.is_empty());
    assert_eq!(p.loyalty.clock.timer_at, Some(at("2027-03-10T10:00:00Z")));
    assert_eq!(p.loyalty.clock.warning_at, Some(at("2027-02-08T10:00:00Z")));
    assert_eq!(p.due_at(), Some(at("2027-02-08T10:00:00Z")));

    // The 30-day warning, once.
    let a = apply(&mut p, at("2027-02-08T10:00:00Z"), &shop);
    assert_eq!(kinds(&a), ["points-expiring"]);
    assert_eq!(
        a.messages[0].1,
        MessageData::PointsExpiring {
            points: 300,
            expires_on: "2027-03-10".into(),
            days_before: 30
        }
    );
    assert!(
        apply(&mut p, at("2027-02-09T10:00:00Z"), &shop)
            .messages
            .is_empty()
    );
    assert_eq!(p.loyalty.clock.warning_at, Some(at("2027-03-03T10:00:00Z")));
    // The 7-day one, once; then the expiry: available only, pending untouched.
    assert_eq!(
        kinds(&apply(&mut p, at("2027-03-03T10:00:00Z"), &shop)),
        ["points-expiring"]
    );
    assert!(
        apply(&mut p, at("2027-03-04T10:00:00Z"), &shop)
            .messages
            .is_empty()
    );
    let a = apply(&mut p, at("2027-03-10T10:00:00Z"), &shop);
    assert_eq!(a.entries.len(), 1);
    assert_eq!(a.entries[0].entry.kind, EntryKind::Expired);
    assert_eq!(a.entries[0].entry.points, -300);
    assert_eq!(p.loyalty.balance().available, 0);
    assert_eq!(p.loyalty.points_pending, 40);
    // Once: the next period starts at the expiry.
    assert!(
        apply(&mut p, at("2027-03-11T10:00:00Z"), &shop)
            .entries
            .is_empty()
    );
    assert_eq!(p.loyalty.clock.timer_at, Some(at("2028-03-10T10:00:00Z")));
}

#[test]
fn an_order_restarts_the_clock_and_the_first_expiry_waits_a_full_period_after_turning_it_on() {
    let shop = expiring_shop("2026-09-01T00:00:00Z");
    let mut p = customer();
    p.last_order_at = Some(at("2024-01-10T10:00:00Z"));
    p.loyalty.points_available = 100;
    apply(&mut p, at("2026-09-02T00:00:00Z"), &shop);
    assert_eq!(p.loyalty.clock.timer_at, Some(at("2027-09-01T00:00:00Z")));
    // An order in the meantime: twelve months from it.
    p.last_order_at = Some(at("2027-05-20T12:00:00Z"));
    let a = apply(&mut p, at("2027-09-01T00:00:00Z"), &shop);
    assert!(a.entries.is_empty() && a.messages.is_empty());
    assert_eq!(p.loyalty.clock.timer_at, Some(at("2028-05-20T12:00:00Z")));
}

#[test]
fn a_late_pass_sends_only_the_most_urgent_warning_and_none_without_points() {
    let shop = expiring_shop("2025-01-01T00:00:00Z");
    let mut p = customer();
    p.last_order_at = Some(at("2026-03-10T10:00:00Z"));
    p.loyalty.points_available = 50;
    let a = apply(&mut p, at("2027-03-05T10:00:00Z"), &shop);
    assert_eq!(a.messages.len(), 1);
    assert!(matches!(
        a.messages[0].1,
        MessageData::PointsExpiring { days_before: 7, .. }
    ));
    assert_eq!(p.loyalty.clock.warning_at, None);

    let mut spent = customer();
    spent.last_order_at = Some(at("2026-03-10T10:00:00Z"));
    spent.loyalty.points_available = 50;
    spent.loyalty.spend(50).unwrap();
    assert!(
        apply(&mut spent, at("2027-02-09T10:00:00Z"), &shop)
            .messages
            .is_empty()
    );
    // The warning stays off the due index while nothing is available; the expiry stays on.
    assert_eq!(spent.due_at(), spent.loyalty.clock.timer_at);
}

#[test]
fn birthday_points_once_a_year_on_the_day_and_not_within_30_days_of_entering_it() {
    let mut shop = demo_settings();
    shop.loyalty.birthday_points = Some(100);
    let mut p = customer();
    // Entered 20 days before: nothing this year.
    set_birthday(&mut p.loyalty, (12, 20), at("2026-11-30T10:00:00Z"));
    apply(&mut p, at("2026-11-30T10:00:00Z"), &shop);
    // 09:00 in Amsterdam (+01:00) a year later.
    assert_eq!(p.loyalty.clock.timer_at, Some(at("2027-12-20T08:00:00Z")));
    let a = apply(&mut p, at("2027-12-20T08:00:00Z"), &shop);
    assert_eq!(kinds(&a), ["birthday"]);
    assert_eq!(a.entries[0].id, "bday2027");
    assert_eq!(a.entries[0].entry.points, 100);
    assert_eq!(p.loyalty.balance().available, 100);
    assert!(
        apply(&mut p, at("2027-12-20T18:00:00Z"), &shop)
            .entries
            .is_empty()
    );
    // Entering the same birthday again changes nothing, another one waits its 30 days and a
    // year already given is not given again.
    assert!(!set_birthday(
        &mut p.loyalty,
        (12, 20),
        at("2027-12-21T10:00:00Z")
    ));
    assert!(set_birthday(
        &mut p.loyalty,
        (12, 25),
        at("2027-12-21T10:00:00Z")
    ));
    assert!(
        apply(&mut p, at("2027-12-25T08:00:00Z"), &shop)
            .entries
            .is_empty()
    );
    assert_eq!(p.loyalty.clock.timer_at, Some(at("2028-12-25T08:00:00Z")));
}

#[test]
fn an_older_statement_of_the_birthday_does_not_replace_a_newer_one() {
    let mut l = Loyalty::default();
    assert!(set_birthday(&mut l, (4, 23), at("2026-05-01T10:00:00Z")));
    assert!(!set_birthday(&mut l, (4, 24), at("2026-04-01T10:00:00Z")));
    assert!(set_birthday(&mut l, (4, 24), at("2026-05-02T10:00:00Z")));
    assert_eq!(l.clock.birthday.unwrap().value, "04-24");
}

#[test]
fn the_29th_of_february_is_kept_on_the_28th_in_other_years() {
    let tz = TimeZone::get("Europe/Amsterdam").unwrap();
    assert_eq!(parse_birthday("02-29"), Some((2, 29)));
    assert_eq!(parse_birthday("02-30"), None);
    assert_eq!(parse_birthday("2-9"), None);
    assert_eq!(parse_birthday("13-01"), None);
    assert_eq!(
        birthday_moment(2027, (2, 29), &tz),
        Some(at("2027-02-28T08:00:00Z"))
    );
    assert_eq!(
        birthday_moment(2028, (2, 29), &tz),
        Some(at("2028-02-29T08:00:00Z"))
    );
}

#[test]
fn a_rolling_tier_no_longer_earned_drops_at_retain_until_announced_once() {
    let shop = rolling_shop();
    let mut p = customer();
    p.loyalty.points_available = 300;
    p.loyalty.clock.earned_by_month.insert("202603".into(), 300);
    apply(&mut p, at("2026-03-15T10:00:00Z"), &shop);
    assert_eq!(p.loyalty.tier.as_deref(), Some("Zilver"));
    // March's points count until the end of February a year on (Amsterdam time).
    let until = at("2027-02-28T23:00:00Z");
    assert_eq!(p.loyalty.clock.retain_until, Some(until));
    assert_eq!(p.loyalty.clock.timer_at, Some(until));
    // Spending changes nothing.
    p.loyalty.spend(300).unwrap();
    assert!(
        apply(&mut p, at("2027-01-15T10:00:00Z"), &shop)
            .messages
            .is_empty()
    );
    assert_eq!(p.loyalty.tier.as_deref(), Some("Zilver"));
    let a = apply(&mut p, until, &shop);
    assert_eq!(
        a.messages,
        [(
            format!("Zilver#{}", until.as_second()),
            MessageData::TierChanged {
                previous: "Zilver".into(),
                tier: Some("Brons".into())
            }
        )]
    );
    assert_eq!(p.loyalty.tier.as_deref(), Some("Brons"));
    assert!(
        apply(&mut p, until + SignedDuration::from_hours(1), &shop)
            .messages
            .is_empty()
    );
    assert_eq!(p.loyalty.clock.timer_at, None);
}

#[test]
fn a_return_never_shortens_a_rolling_tiers_retain_until() {
    let shop = rolling_shop();
    let mut p = customer();
    p.loyalty.clock.earned_by_month.insert("202603".into(), 200);
    p.loyalty.clock.earned_by_month.insert("202605".into(), 100);
    apply(&mut p, at("2026-05-15T10:00:00Z"), &shop);
    let promised = p.loyalty.clock.retain_until.unwrap();
    assert_eq!(promised, at("2027-02-28T23:00:00Z"));
    p.loyalty.clock.earned_by_month.insert("202605".into(), 0);
    apply(&mut p, at("2026-05-16T10:00:00Z"), &shop);
    assert_eq!(p.loyalty.tier.as_deref(), Some("Zilver"));
    assert_eq!(p.loyalty.clock.retain_until, Some(promised));

    // Still earned after the return, but for a shorter time: the promise stands.
    let mut q = customer();
    q.loyalty.clock.earned_by_month.insert("202603".into(), 300);
    q.loyalty.clock.earned_by_month.insert("202605".into(), 300);
    apply(&mut q, at("2026-05-15T10:00:00Z"), &shop);
    let promised = q.loyalty.clock.retain_until.unwrap();
    assert_eq!(promised, at("2027-04-30T22:00:00Z"));
    q.loyalty.clock.earned_by_month.remove("202605");
    apply(&mut q, at("2026-05-16T10:00:00Z"), &shop);
    assert_eq!(q.loyalty.clock.retain_until, Some(promised));
}

#[test]
fn a_tier_held_before_the_shop_chose_rolling_tiers_is_kept_for_a_year() {
    let shop = rolling_shop();
    let mut p = customer();
    p.loyalty.tier = Some("Goud".into());
    p.loyalty.points_available = 400;
    p.last_order_at = Some(at("2026-06-10T10:00:00Z"));
    seed_rolling(&mut p.loyalty, p.last_order_at, &shop);
    assert_eq!(p.loyalty.clock.earned_by_month.get("202606"), Some(&400));
    apply(&mut p, at("2026-07-01T10:00:00Z"), &shop);
    assert_eq!(p.loyalty.tier.as_deref(), Some("Goud"));
    assert_eq!(
        p.loyalty.clock.retain_until,
        Some(at("2027-06-30T22:00:00Z"))
    );
}

#[test]
fn lifetime_tiers_are_todays_and_need_no_timer() {
    let shop = demo_settings();
    let mut p = customer();
    p.loyalty.points_pending = 260;
    let a = apply(&mut p, at("2026-06-01T00:00:00Z"), &shop);
    assert!(a.messages.is_empty());
    assert_eq!(p.loyalty.tier.as_deref(), Some("Zilver"));
    assert!(p.loyalty.clock.is_empty());
}

/// Something that can happen to a customer between two looks of the rules.
#[derive(Debug, Clone)]
enum Step {
    /// Days pass.
    Wait(u16),
    /// An order's points confirmed (earned this month).
    Earn(u16),
    Spend(u16),
    Order,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (1u16..200).prop_map(Step::Wait),
        (1u16..600).prop_map(Step::Earn),
        (1u16..600).prop_map(Step::Spend),
        Just(Step::Order),
    ]
}

proptest! {
    /// Whatever happens and whenever the rules look: the balance is never negative and equals
    /// the ledger (orders' points plus the items the rules and redemptions wrote), expiry
    /// never touches pending points, and only spending's own entries lower it.
    #[test]
    fn expiry_and_birthdays_keep_the_balance_equal_to_the_ledger(
        steps in proptest::collection::vec(step(), 0..50),
        pending in 0u64..500,
        birthday in (1i8..=12, 1i8..=28),
    ) {
        let mut shop = expiring_shop("2026-01-01T00:00:00Z");
        shop.loyalty.expire_after_months = Some(3);
        shop.loyalty.birthday_points = Some(25);
        let mut now = at("2026-01-01T00:00:00Z");
        let mut p = customer();
        p.loyalty.points_pending = pending;
        set_birthday(&mut p.loyalty, birthday, now);
        let mut ledger: i64 = 0;
        for s in steps {
            match s {
                Step::Wait(days) => now += SignedDuration::from_hours(24 * i64::from(days)),
                Step::Earn(points) => {
                    p.loyalty.points_available += u64::from(points);
                    ledger += i64::from(points);
                }
                Step::Spend(points) => {
                    if let Ok(change) = p.loyalty.spend(u64::from(points)) {
                        ledger += change.points;
                    }
                }
                Step::Order => p.last_order_at = Some(now),
            }
            let before = p.loyalty.balance();
            let a = apply(&mut p, now, &shop);
            prop_assert_eq!(p.loyalty.points_pending, pending);
            for item in &a.entries {
                match item.entry.kind {
                    EntryKind::Expired => {
                        prop_assert_eq!(item.entry.points, -(before.available as i64));
                    }
                    EntryKind::Birthday => prop_assert_eq!(item.entry.points, 25),
                    other => prop_assert!(false, "unexpected {:?}", other),
                }
                ledger += item.entry.points;
            }
            let b = p.loyalty.balance();
            prop_assert_eq!(b.available as i64 - b.debt as i64, ledger);
            // Never expired twice for one period, never two birthdays in one year.
            let ids: std::collections::BTreeSet<_> = a.entries.iter().map(|e| &e.id).collect();
            prop_assert_eq!(ids.len(), a.entries.len());
        }
    }

    /// Spending never lowers a tier, lifetime or rolling: the tier after any spending is the
    /// tier the same customer has without it.
    #[test]
    fn a_tier_never_drops_from_spending(
        earned in proptest::collection::vec((0i32..24, 1u64..400), 1..12),
        spends in proptest::collection::vec(1u64..500, 0..10),
        rolling in any::<bool>(),
        month in 0i64..24,
    ) {
        let shop = if rolling { rolling_shop() } else { demo_settings() };
        let now = at("2026-01-15T12:00:00Z") + SignedDuration::from_hours(24 * 30 * month);
        let mut p = customer();
        for (m, points) in earned {
            let key = month_key(2025 * 12 + m);
            *p.loyalty.clock.earned_by_month.entry(key).or_insert(0) += points;
            p.loyalty.points_available += points;
        }
        let mut spender = p.clone();
        for points in spends {
            let _ = spender.loyalty.spend(points);
        }
        apply(&mut p, now, &shop);
        apply(&mut spender, now, &shop);
        prop_assert_eq!(&spender.loyalty.tier, &p.loyalty.tier);
        prop_assert_eq!(spender.loyalty.clock.retain_until, p.loyalty.clock.retain_until);
    }
}
