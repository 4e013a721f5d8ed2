use super::*;
use crate::admin::overview::{DayTally, Fold, local_midnight_in};
use crate::domain::{
    Activity, Currency, DeliveryReport, DeliveryStatus, EntryKind, EventId, MessageClass,
    MessageData, MessageIntent, MessageStatus, Money, OrderId,
};
use jiff::tz::TimeZone;

struct Amsterdam;

impl ShopRules for Amsterdam {
    fn split(&self, _: &ShopId, day: Date) -> Option<Timestamp> {
        local_midnight_in(day, &TimeZone::get("Europe/Amsterdam").unwrap())
    }
    fn held_out(&self, _: &ShopId, customer: &CustomerId) -> bool {
        customer.as_str().starts_with('h')
    }
}

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn shop() -> ShopId {
    ShopId::parse("demo").unwrap()
}

fn message(customer: &str, data: MessageData, at: &str, status: MessageStatus) -> MessageRecord {
    let intent = MessageIntent {
        key: format!("{}#{customer}", data.kind()),
        customer_id: CustomerId::parse(customer).unwrap(),
        class: MessageClass::Service,
        locale: None,
        data,
        created_at: t(at),
    };
    MessageRecord {
        status,
        reason: (status == MessageStatus::Skipped).then(|| "frequency_cap".into()),
        ..MessageRecord::pending_for(&shop(), EventId::parse("e").unwrap(), &intent)
    }
}

fn reactivation() -> MessageData {
    MessageData::Reactivation {
        months_since_last_order: 8,
    }
}

fn report(m: &MessageRecord, status: DeliveryStatus, at: &str) -> MessageRecord {
    let mut m = m.clone();
    m.reports.push(DeliveryReport {
        status,
        at: t(at),
        detail: None,
        permanent: status == DeliveryStatus::Bounced,
    });
    m.delivery_status = Some(status);
    m
}

fn sent(m: &MessageRecord, at: &str) -> MessageRecord {
    let mut m = m.clone();
    m.status = MessageStatus::Sent;
    m.sent_at = Some(t(at));
    m
}

fn activity(customer: &str, at: &str, what: ActivityKind) -> ActivityRecord {
    ActivityRecord {
        shop: shop(),
        customer_id: CustomerId::parse(customer).unwrap(),
        activity: Activity { at: t(at), what },
    }
}

fn placed(reactivation: bool) -> ActivityKind {
    ActivityKind::OrderPlaced {
        order_id: OrderId::parse("o").unwrap(),
        total: Money::new(2500, Currency::EUR),
        points: 25,
        reactivation,
    }
}

fn answer(score: u8, at: &str) -> SurveyAnswer {
    SurveyAnswer {
        score,
        at: t(at),
        value: Some(Money::new(1_000 * i64::from(score), Currency::EUR)),
    }
}

/// What the log holds at the end, counted as the overview counts a day from it: each item
/// into the part of its day, survey answers from their activities (the latest per order).
fn counted_from_the_log(
    messages: &[MessageRecord],
    activities: &[ActivityRecord],
    ledger: &[LedgerEntry],
) -> BTreeMap<Date, DayTally> {
    let rules = Amsterdam;
    let part = |at: Timestamp| {
        let day = crate::store::summaries::log_day_of(at);
        (day, rules.split(&shop(), day).is_some_and(|s| at < s))
    };
    let held_out = |c: &CustomerId| rules.held_out(&shop(), c);
    let mut folds: BTreeMap<(Date, bool), Fold> = BTreeMap::new();
    for m in messages {
        folds
            .entry(part(m.intent.created_at))
            .or_default()
            .message(m);
    }
    for a in activities {
        folds
            .entry(part(a.activity.at))
            .or_default()
            .activity(a, &held_out);
    }
    for e in ledger {
        folds.entry(part(e.at)).or_default().ledger(e);
    }
    let mut days: BTreeMap<Date, DayTally> = BTreeMap::new();
    for ((day, before), fold) in folds {
        let tally = fold.finish();
        let entry = days.entry(day).or_default();
        if before {
            entry.before = tally;
        } else {
            entry.after = tally;
        }
    }
    days
}

#[test]
fn the_changes_of_every_write_add_up_to_what_the_log_counts() {
    let rules = Amsterdam;
    let s = shop();
    // A reactivation email's life: created, sent, delivered, opened, clicked, an order.
    let m1 = message(
        "c1",
        reactivation(),
        "2026-11-02T10:00:00Z",
        MessageStatus::Pending,
    );
    let m1_sent = sent(&m1, "2026-11-02T10:00:01Z");
    let m1_delivered = report(&m1_sent, DeliveryStatus::Delivered, "2026-11-02T10:00:03Z");
    let m1_opened = report(
        &m1_delivered,
        DeliveryStatus::Opened,
        "2026-11-03T08:00:00Z",
    );
    let m1_clicked = report(&m1_opened, DeliveryStatus::Clicked, "2026-11-03T08:01:00Z");
    let mut m1_ordered = m1_clicked.clone();
    m1_ordered.earned.attributed_orders = 1;
    m1_ordered.earned.attributed_revenue_minor = 2500;
    m1_ordered.earned.attributed_currency = Some(Currency::EUR);
    // Skipped when created; held out, then its customer orders; one after the local
    // midnight (23:00Z); one created and erased.
    let m2 = message(
        "c2",
        MessageData::TierReached {
            tier: "Zilver".into(),
            points: 250,
        },
        "2026-11-02T11:00:00Z",
        MessageStatus::Skipped,
    );
    let m3 = message(
        "h1",
        reactivation(),
        "2026-11-02T12:00:00Z",
        MessageStatus::HeldOut,
    );
    let mut m3_ordered = m3.clone();
    m3_ordered.earned.held_out_orders = 1;
    m3_ordered.earned.held_out_revenue_minor = 1000;
    m3_ordered.earned.attributed_currency = Some(Currency::EUR);
    let m4 = message(
        "c4",
        reactivation(),
        "2026-11-02T23:30:00Z",
        MessageStatus::Pending,
    );
    let mut m4_claimed = m4.clone();
    m4_claimed.status = MessageStatus::Sending;
    m4_claimed.claimed_at = Some(t("2026-11-02T23:30:01Z"));
    let m4_sent = sent(&m4_claimed, "2026-11-02T23:30:02Z");
    let m4_bounced = report(&m4_sent, DeliveryStatus::Bounced, "2026-11-02T23:30:04Z");
    let m5 = message(
        "c5",
        reactivation(),
        "2026-11-02T14:00:00Z",
        MessageStatus::Pending,
    );
    let a1 = activity("c1", "2026-11-02T15:00:00Z", placed(true));
    let a2 = activity("h1", "2026-11-02T16:00:00Z", placed(true));
    // Survey answers of one order: 4, then 9 the same day (the 9 counts there), then 10 the
    // next day (counts there too).
    let answered = |score: u8, at: &str| {
        activity(
            "c1",
            at,
            ActivityKind::SurveyAnswered {
                order_id: OrderId::parse("A").unwrap(),
                score,
                value: Some(Money::new(1_000 * i64::from(score), Currency::EUR)),
            },
        )
    };
    let (n1, n2, n3) = (
        answer(4, "2026-11-02T17:00:00Z"),
        answer(9, "2026-11-02T18:00:00Z"),
        answer(10, "2026-11-03T09:00:00Z"),
    );
    let (s1, s2, s3) = (
        answered(4, "2026-11-02T17:00:00Z"),
        answered(9, "2026-11-02T18:00:00Z"),
        answered(10, "2026-11-03T09:00:00Z"),
    );
    let redeemed = LedgerEntry {
        kind: EntryKind::Redeemed,
        points: -500,
        at: t("2026-11-02T13:00:00Z"),
        redemption: Some("r1".into()),
        reason: None,
    };
    let msg = Counted::Message;
    let act = Counted::Activity;
    let ans = |answer| Counted::Answer { shop: &s, answer };
    let writes: Vec<(Option<Counted>, Option<Counted>)> = vec![
        (None, Some(msg(&m1))),
        (Some(msg(&m1)), Some(msg(&m1_sent))),
        (Some(msg(&m1_sent)), Some(msg(&m1_delivered))),
        (None, Some(msg(&m2))),
        (None, Some(msg(&m3))),
        (None, Some(msg(&m5))),
        (None, Some(act(&a1))),
        (Some(msg(&m1_delivered)), Some(msg(&m1_opened))),
        (Some(msg(&m1_opened)), Some(msg(&m1_clicked))),
        (Some(msg(&m1_clicked)), Some(msg(&m1_ordered))),
        (None, Some(act(&a2))),
        (Some(msg(&m3)), Some(msg(&m3_ordered))),
        (None, Some(msg(&m4))),
        (Some(msg(&m4)), Some(msg(&m4_claimed))),
        (Some(msg(&m4_claimed)), Some(msg(&m4_sent))),
        (Some(msg(&m4_sent)), Some(msg(&m4_bounced))),
        (Some(msg(&m5)), None),
        (
            None,
            Some(Counted::Ledger {
                shop: &s,
                entry: &redeemed,
            }),
        ),
        (None, Some(ans(n1))),
        (None, Some(act(&s1))),
        (Some(ans(n1)), Some(ans(n2))),
        (None, Some(act(&s2))),
        (Some(ans(n2)), Some(ans(n3))),
        (None, Some(act(&s3))),
    ];
    let mut kept: BTreeMap<DayKey, Counters> = BTreeMap::new();
    for (before, after) in writes {
        for (day, counters) in change(before, after, &rules) {
            add(kept.entry(day).or_default(), &counters);
        }
    }
    let log = counted_from_the_log(
        &[m1_ordered, m2, m3_ordered, m4_bounced],
        &[a1, a2, s1, s2, s3],
        &[redeemed],
    );
    let from_counters: BTreeMap<Date, DayTally> = kept
        .iter()
        .map(|((_, day), counters)| (*day, day_tally(counters)))
        .collect();
    assert_eq!(from_counters, log);
    // The figures are there, not both sides empty.
    let day = |d: &str| &from_counters[&d.parse::<Date>().unwrap()];
    let reactivation = &day("2026-11-02").before.kinds["reactivation"];
    assert_eq!(
        (
            reactivation.created,
            reactivation.sent,
            reactivation.clicked,
            reactivation.orders
        ),
        (2, 1, 1, 1)
    );
    assert_eq!(day("2026-11-02").after.kinds["reactivation"].bounced, 1);
    assert_eq!(
        (
            day("2026-11-02").before.nps.promoters,
            day("2026-11-03").before.nps.promoters
        ),
        (1, 1)
    );
}

#[test]
fn a_busy_days_counters_stay_under_a_kilobyte() {
    let rules = Amsterdam;
    let mut kept = Counters::new();
    let kinds = [
        reactivation(),
        MessageData::TierReached {
            tier: "Zilver".into(),
            points: 250,
        },
        MessageData::WelcomeAfterMove { coupon_code: None },
        MessageData::Birthday {
            points: 50,
            points_available: 50,
        },
    ];
    for (i, data) in kinds.iter().enumerate() {
        for at in ["2026-11-02T10:00:00Z", "2026-11-02T23:30:00Z"] {
            let mut m = sent(
                &message(&format!("c{i}"), data.clone(), at, MessageStatus::Pending),
                at,
            );
            m = report(&m, DeliveryStatus::Delivered, at);
            m = report(&m, DeliveryStatus::Clicked, at);
            m.earned.attributed_orders = 3;
            m.earned.attributed_revenue_minor = 12_345;
            m.earned.attributed_currency = Some(Currency::EUR);
            for (_, counters) in change(None, Some(Counted::Message(&m)), &rules) {
                add(&mut kept, &counters);
            }
            let skipped = message(&format!("k{i}"), data.clone(), at, MessageStatus::Skipped);
            for (_, counters) in change(None, Some(Counted::Message(&skipped)), &rules) {
                add(&mut kept, &counters);
            }
        }
    }
    let size: usize = kept
        .iter()
        .map(|(name, n)| name.len() + n.to_string().len() + 1)
        .sum();
    assert!(size < 1024, "{size} bytes: {kept:?}");
    // Every name reads back to the figure it counts.
    let day = day_tally(&kept);
    assert_eq!(day.before.kinds["birthday"].orders, 3);
    assert_eq!(day.after.kinds["tier-reached"].skips["frequency_cap"], 1);
    assert_eq!(day.after.kinds["reactivation"].revenue["EUR"], 12_345);
}

#[test]
fn a_counter_name_reads_back_whatever_its_words() {
    let mut counters = Counters::new();
    counters.insert(format!("a.S.{}", encode("we.ird%")), 1);
    counters.insert("b.N.p".into(), 2);
    counters.insert("b.N.A".into(), 2);
    counters.insert("z.unknown".into(), 5);
    let day = day_tally(&counters);
    assert_eq!(day.before.nps.promoters, 2);
    assert_eq!(day.after.skips["we.ird%"], 1);
    assert_eq!(decode(&encode("we.ird%")), "we.ird%");
    assert_eq!(decode(&encode("held_out")), "held_out");
    for (word, letter) in WORDS {
        assert_eq!(letter.len(), 1, "{word}");
        assert_eq!(
            WORDS.iter().filter(|(_, l)| l == letter).count(),
            1,
            "{letter}"
        );
    }
}
