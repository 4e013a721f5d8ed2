use super::*;
use crate::domain::shop::fixtures::demo_settings;
use crate::domain::{Consent, CustomerId, Email, OrderId, ShopId, Stamped};

fn t(rfc: &str) -> Timestamp {
    rfc.parse().unwrap()
}

fn customer(consent: Option<bool>) -> CustomerProfile {
    let mut p = CustomerProfile::new(
        ShopId::parse("demo").unwrap(),
        CustomerId::parse("cus-1").unwrap(),
    );
    p.contact.email = Some(Stamped {
        value: Email::parse("klant@example.nl").unwrap(),
        at: t("2026-11-01T10:00:00Z"),
    });
    p.consent = consent.map(|granted| Consent {
        granted,
        at: t("2026-11-01T10:00:00Z"),
        source: "order.placed".into(),
    });
    p
}

fn loyalty(profile: &CustomerProfile) -> MessageIntent {
    let data = MessageData::LoyaltyEarned {
        order_id: OrderId::parse("NL-1").unwrap(),
        points: 64,
        points_pending: 64,
        points_available: 0,
        tier: Some("Brons".into()),
        next_tier: Some("Zilver".into()),
        points_to_next_tier: Some(186),
    };
    MessageIntent::new("NL-1", profile, data, t("2026-11-02T10:00:00Z"))
}

fn welcome(profile: &CustomerProfile) -> MessageIntent {
    MessageIntent::new(
        "1",
        profile,
        MessageData::WelcomeAfterMove { coupon_code: None },
        t("2026-11-02T10:00:00Z"),
    )
}

/// Noon in Amsterdam: outside quiet hours.
const NOON: &str = "2026-11-02T11:00:00Z";

#[test]
fn keys_are_kind_and_cause() {
    let p = customer(None);
    assert_eq!(loyalty(&p).key, "loyalty-earned#NL-1");
    assert_eq!(loyalty(&p).class, MessageClass::Service);
    assert_eq!(welcome(&p).class, MessageClass::Promotional);
}

#[test]
fn service_mail_needs_no_opt_in_but_stops_after_an_opt_out_of_all_mail() {
    let settings = demo_settings();
    let mut p = customer(None);
    assert_eq!(gate(&loyalty(&p), &p, t(NOON), &settings), Verdict::Send);
    p.mail.opted_out = Some(OptOut {
        scope: OptOutScope::Promotional,
        at: t(NOON),
    });
    assert_eq!(
        gate(&loyalty(&p), &p, t(NOON), &settings),
        Verdict::Send,
        "no more offers still allows service mail"
    );
    p.mail.opted_out = Some(OptOut {
        scope: OptOutScope::All,
        at: t(NOON),
    });
    assert_eq!(
        gate(&loyalty(&p), &p, t(NOON), &settings),
        Verdict::Skip(SkipReason::OptedOut)
    );
}

#[test]
fn promotional_mail_needs_consent_and_no_promotional_opt_out() {
    let settings = demo_settings();
    for (consent, verdict) in [
        (None, Verdict::Skip(SkipReason::NoConsent)),
        (Some(false), Verdict::Skip(SkipReason::NoConsent)),
        (Some(true), Verdict::Send),
    ] {
        let p = customer(consent);
        assert_eq!(
            gate(&welcome(&p), &p, t(NOON), &settings),
            verdict,
            "{consent:?}"
        );
    }
    let mut p = customer(Some(true));
    p.mail.opted_out = Some(OptOut {
        scope: OptOutScope::Promotional,
        at: t(NOON),
    });
    assert_eq!(
        gate(&welcome(&p), &p, t(NOON), &settings),
        Verdict::Skip(SkipReason::OptedOut)
    );
}

#[test]
fn suppressed_inactive_and_erased_customers_get_no_service_mail() {
    let settings = demo_settings();
    let mut p = customer(Some(true));
    p.mail.suppressed_at = Some(t(NOON));
    assert_eq!(
        gate(&loyalty(&p), &p, t(NOON), &settings),
        Verdict::Skip(SkipReason::Suppressed)
    );
    let mut p = customer(Some(true));
    p.mail.inactive = true;
    assert_eq!(
        gate(&loyalty(&p), &p, t(NOON), &settings),
        Verdict::Skip(SkipReason::Inactive)
    );
    let mut p = customer(Some(true));
    p.contact = Default::default();
    assert_eq!(
        gate(&loyalty(&p), &p, t(NOON), &settings),
        Verdict::Skip(SkipReason::NoEmail)
    );
}

#[test]
fn frequency_cap_defers_loyalty_news_and_drops_a_tier_announcement() {
    let settings = demo_settings();
    let mut p = customer(Some(true));
    p.mail.last_sent_at = Some(t("2026-11-01T11:00:00Z"));
    assert_eq!(
        gate(&loyalty(&p), &p, t(NOON), &settings),
        Verdict::Defer {
            until: t("2026-11-04T11:00:00Z"),
            reason: DeferReason::FrequencyCap
        }
    );
    let tier = MessageIntent::new(
        "Zilver",
        &p,
        MessageData::TierReached {
            tier: "Zilver".into(),
            points: 250,
        },
        t(NOON),
    );
    assert_eq!(
        gate(&tier, &p, t(NOON), &settings),
        Verdict::Skip(SkipReason::FrequencyCap)
    );
    assert_eq!(
        gate(&loyalty(&p), &p, t("2026-11-04T11:00:00Z"), &settings),
        Verdict::Send,
        "72 hours later it may go"
    );
}

#[test]
fn quiet_hours_defer_to_eight_in_the_shops_time_zone() {
    let settings = demo_settings();
    let p = customer(Some(true));
    // 22:30 in Amsterdam (UTC+1 in November) -> 08:00 the next morning.
    assert_eq!(
        gate(&loyalty(&p), &p, t("2026-11-02T21:30:00Z"), &settings),
        Verdict::Defer {
            until: t("2026-11-03T07:00:00Z"),
            reason: DeferReason::QuietHours
        }
    );
    // 06:59 -> 08:00 the same morning; 08:00 itself is fine; 20:59 is fine.
    assert_eq!(
        gate(&loyalty(&p), &p, t("2026-11-03T05:59:00Z"), &settings),
        Verdict::Defer {
            until: t("2026-11-03T07:00:00Z"),
            reason: DeferReason::QuietHours
        }
    );
    assert_eq!(
        gate(&loyalty(&p), &p, t("2026-11-03T07:00:00Z"), &settings),
        Verdict::Send
    );
    assert_eq!(
        gate(&loyalty(&p), &p, t("2026-11-03T19:59:00Z"), &settings),
        Verdict::Send
    );
    // Summer time: 22:00 CEST is 20:00 UTC.
    assert!(matches!(
        gate(&loyalty(&p), &p, t("2026-07-01T20:00:00Z"), &settings),
        Verdict::Defer {
            reason: DeferReason::QuietHours,
            ..
        }
    ));
    let mut transactional = loyalty(&p);
    transactional.class = MessageClass::Transactional;
    assert_eq!(
        gate(&transactional, &p, t("2026-11-02T23:00:00Z"), &settings),
        Verdict::Send,
        "transactional mail always goes"
    );
}

fn reminder(profile: &CustomerProfile) -> MessageIntent {
    let data = MessageData::Replenishment {
        order_id: OrderId::parse("NL-1").unwrap(),
        sku: crate::domain::Sku::parse("TP-075").unwrap(),
        product_name: None,
        quantity: 3,
        run_out_on: "2027-07-31".into(),
    };
    MessageIntent::new("NL-1#TP-075", profile, data, t("2026-11-02T10:00:00Z"))
}

fn reactivation(profile: &CustomerProfile) -> MessageIntent {
    let data = MessageData::Reactivation {
        months_since_last_order: 8,
    };
    MessageIntent::new("1", profile, data, t("2026-11-02T10:00:00Z"))
}

#[test]
fn held_out_customers_get_no_reactivation_or_replenishment_mail_but_everything_else() {
    let mut settings = demo_settings();
    settings.holdout_percent = 10;
    let with_id = |id: String| {
        let mut p = customer(Some(true));
        p.id = CustomerId::parse(id).unwrap();
        p
    };
    let ids: Vec<String> = (0..200).map(|i| format!("cus-{i}")).collect();
    let held = ids
        .iter()
        .find(|id| {
            crate::domain::is_held_out(&settings.id, &CustomerId::parse(id.as_str()).unwrap(), 10)
        })
        .expect("10% of 200 customers has someone in it");
    let kept = ids
        .iter()
        .find(|id| {
            !crate::domain::is_held_out(&settings.id, &CustomerId::parse(id.as_str()).unwrap(), 10)
        })
        .unwrap();
    let now = t(NOON);
    let held = with_id(held.clone());
    let held_now = Verdict::HeldOut {
        would_have_gone_at: now,
    };
    assert_eq!(gate(&reminder(&held), &held, now, &settings), held_now);
    assert_eq!(gate(&reactivation(&held), &held, now, &settings), held_now);
    assert_eq!(gate(&loyalty(&held), &held, now, &settings), Verdict::Send);
    assert_eq!(gate(&welcome(&held), &held, now, &settings), Verdict::Send);
    // The shop's `holdout_kinds` say which kinds are held out: here the welcome note and
    // reactivation, no longer replenishment.
    let mut chosen = settings.clone();
    chosen.holdout_kinds = vec!["welcome-after-move".into(), "reactivation".into()];
    assert_eq!(gate(&welcome(&held), &held, now, &chosen), held_now);
    assert_eq!(gate(&reactivation(&held), &held, now, &chosen), held_now);
    assert_eq!(gate(&reminder(&held), &held, now, &chosen), Verdict::Send);
    assert_eq!(gate(&loyalty(&held), &held, now, &chosen), Verdict::Send);
    chosen.holdout_kinds.clear();
    assert_eq!(
        gate(&reactivation(&held), &held, now, &chosen),
        Verdict::Send
    );
    let kept = with_id(kept.clone());
    assert_eq!(gate(&reminder(&kept), &kept, now, &settings), Verdict::Send);
    // The holdout holds only customers who would have had the message: without consent a
    // reminder is skipped for that reason, held out or not.
    let mut no_consent = held.clone();
    no_consent.consent = None;
    assert_eq!(
        gate(&reminder(&no_consent), &no_consent, now, &settings),
        Verdict::Skip(SkipReason::NoConsent)
    );
}

#[test]
fn replenishment_needs_consent_and_inactive_customers_get_no_service_mail() {
    let now = t(NOON);
    let settings = demo_settings();
    let without = customer(None);
    assert_eq!(
        gate(&reminder(&without), &without, now, &settings),
        Verdict::Skip(SkipReason::NoConsent)
    );
    let mut inactive = customer(Some(true));
    inactive.mail.inactive = true;
    assert_eq!(
        gate(&loyalty(&inactive), &inactive, now, &settings),
        Verdict::Skip(SkipReason::Inactive)
    );
    assert_eq!(
        gate(&reactivation(&inactive), &inactive, now, &settings),
        Verdict::Skip(SkipReason::Inactive)
    );
    assert_eq!(
        gate(&reminder(&inactive), &inactive, now, &settings),
        Verdict::Skip(SkipReason::Inactive),
        "nor promotional mail"
    );
}

#[test]
fn message_keys_stay_short_whatever_the_ids() {
    assert_eq!(message_key("survey", "NL-100482"), "survey#NL-100482");
    let order = "ü".repeat(128);
    let event = "e".repeat(128);
    let key = message_key("loyalty-reversed", &format!("{order}#{event}"));
    assert!(key.len() <= MAX_MESSAGE_KEY_BYTES, "{key}");
    assert!(key.starts_with("loyalty-reversed#~"));
    assert_eq!(
        key,
        message_key("loyalty-reversed", &format!("{order}#{event}")),
        "the same cause makes the same key, so it is created once"
    );
}

#[test]
fn optional_mail_sent_waiting_for_a_retry_or_of_unknown_outcome_holds_a_cap_place() {
    use MessageClass::*;
    for class in [Service, Promotional] {
        for attempt in [SendAttempt::Sent, SendAttempt::Retry, SendAttempt::Unknown] {
            assert!(holds_cap_place(class, attempt), "{class:?} {attempt:?}");
        }
        assert!(!holds_cap_place(class, SendAttempt::NotSent), "{class:?}");
    }
    for class in [Transactional, Internal] {
        for attempt in [
            SendAttempt::Sent,
            SendAttempt::Retry,
            SendAttempt::Unknown,
            SendAttempt::NotSent,
        ] {
            assert!(!holds_cap_place(class, attempt), "{class:?} {attempt:?}");
        }
    }
}

#[test]
fn a_held_out_message_is_measured_from_when_it_would_have_gone() {
    let mut settings = demo_settings();
    settings.holdout_percent = 50;
    let held = (0..200)
        .map(|i| {
            let mut p = customer(Some(true));
            p.id = CustomerId::parse(format!("cus-{i}")).unwrap();
            p
        })
        .find(|p| crate::domain::is_held_out(&settings.id, &p.id, 50))
        .unwrap();
    let would = |p: &CustomerProfile, now: &str| match gate(&reminder(p), p, t(now), &settings) {
        Verdict::HeldOut { would_have_gone_at } => would_have_gone_at,
        other => panic!("{other:?}"),
    };
    // At noon it would have gone at once (to the second).
    assert_eq!(
        would(&held, "2026-11-02T11:00:00.250Z"),
        t("2026-11-02T11:00:00Z")
    );
    // At 22:00 in Amsterdam, after quiet hours: 08:00 the next morning.
    assert_eq!(
        would(&held, "2026-11-02T21:00:00Z"),
        t("2026-11-03T07:00:00Z")
    );
    // Under the frequency cap (72 h after a send at 12:00): when the cap ends, and if that
    // falls in quiet hours, when they end.
    let mut capped = held.clone();
    capped.mail.last_sent_at = Some(t("2026-11-02T11:00:00Z"));
    assert_eq!(
        would(&capped, "2026-11-03T11:00:00Z"),
        t("2026-11-05T11:00:00Z")
    );
    capped.mail.last_sent_at = Some(t("2026-11-02T21:30:00Z"));
    assert_eq!(
        would(&capped, "2026-11-03T11:00:00Z"),
        t("2026-11-06T07:00:00Z")
    );
}
