//! The overview for a period: what each kind of message came to, why messages were skipped,
//! the NPS, and the reactivation rate beside the holdout group's.
//!
//! Figures are counted into a [`Tally`], which adds up: a tally per UTC day (split at the
//! shop's local midnight, so periods of local days add whole parts) is what the day summaries
//! keep, and a period's overview is the sum of its days' parts. Nothing holds a period's log
//! items at once.

use super::rows::status_word;
use crate::domain::{ActivityKind, CustomerId, DeliveryStatus, Money, OrderId};
use crate::domain::{ActivityRecord, LedgerEntry, MessageRecord};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct KindFigures {
    pub kind: String,
    pub created: u32,
    pub sent: u32,
    pub delivered: u32,
    pub bounced: u32,
    pub complained: u32,
    pub opened: u32,
    pub clicked: u32,
    /// Customers who unsubscribed through the link of one of this kind's emails.
    pub unsubscribed: u32,
    pub skipped: u32,
    pub held_out: u32,
    /// This kind's skipped messages by reason (the funnel's branch).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub skips: BTreeMap<String, u32>,
    /// Orders attributed to this kind's messages (counted on the messages' day).
    pub orders: u32,
    /// What their customers kept of those orders, in minor units by currency code.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub revenue: BTreeMap<String, i64>,
}

impl KindFigures {
    fn add(&mut self, other: &KindFigures) {
        self.created += other.created;
        self.sent += other.sent;
        self.delivered += other.delivered;
        self.bounced += other.bounced;
        self.complained += other.complained;
        self.opened += other.opened;
        self.clicked += other.clicked;
        self.unsubscribed += other.unsubscribed;
        self.skipped += other.skipped;
        self.held_out += other.held_out;
        for (reason, n) in &other.skips {
            *self.skips.entry(reason.clone()).or_insert(0) += n;
        }
        self.orders += other.orders;
        for (currency, minor) in &other.revenue {
            *self.revenue.entry(currency.clone()).or_insert(0) += minor;
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Nps {
    pub answers: u32,
    pub promoters: u32,
    pub passives: u32,
    pub detractors: u32,
    /// Promoters % minus detractors %, rounded; none without answers.
    pub score: Option<i32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Reactivation {
    /// Reactivation emails sent in the period.
    pub asked: u32,
    /// Orders in the period that brought back a customer who was not held out.
    pub reactivated: u32,
    /// `reactivated / asked`, in percent.
    pub rate: Option<u32>,
    /// Held-out customers whose reactivation email was not sent.
    pub held_out: u32,
    pub held_out_reactivated: u32,
    pub held_out_rate: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Overview {
    pub kinds: Vec<KindFigures>,
    /// Skipped messages by reason, most first.
    pub skips: Vec<(String, u32)>,
    pub nps: Nps,
    pub reactivation: Reactivation,
    /// The value per NPS group, summed ([`super::nps_value::value_by_group`] averages it).
    pub nps_value: super::nps_value::GroupValues,
}

fn percent(part: u32, whole: u32) -> Option<u32> {
    (whole > 0).then(|| ((f64::from(part) * 100.0) / f64::from(whole)).round() as u32)
}

/// Counts that add up across stretches of the log: what a day summary keeps (well under a KB
/// as JSON: a line per kind and per skip reason).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Tally {
    pub kinds: BTreeMap<String, KindFigures>,
    pub skips: BTreeMap<String, u32>,
    /// Answers only: the score is worked out from the sum.
    pub nps: Nps,
    /// Counts only: the rates are worked out from the sum.
    pub reactivation: Reactivation,
    #[serde(skip_serializing_if = "super::points::PointsFlow::is_empty")]
    pub points: super::points::PointsFlow,
    /// Per kind that can be held out: its treated and held-out groups (for the uplift).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub holdout: BTreeMap<String, super::uplift::HoldoutGroups>,
    /// Per NPS group, the answers that carry their customer's value and its sum.
    #[serde(skip_serializing_if = "super::nps_value::GroupValues::is_empty")]
    pub nps_value: super::nps_value::GroupValues,
}

impl Tally {
    pub fn add(&mut self, other: &Tally) {
        for (kind, figures) in &other.kinds {
            self.kinds
                .entry(kind.clone())
                .or_insert_with(|| KindFigures {
                    kind: kind.clone(),
                    ..KindFigures::default()
                })
                .add(figures);
        }
        for (reason, n) in &other.skips {
            *self.skips.entry(reason.clone()).or_insert(0) += n;
        }
        self.nps.answers += other.nps.answers;
        self.nps.promoters += other.nps.promoters;
        self.nps.passives += other.nps.passives;
        self.nps.detractors += other.nps.detractors;
        let (r, o) = (&mut self.reactivation, &other.reactivation);
        r.asked += o.asked;
        r.reactivated += o.reactivated;
        r.held_out += o.held_out;
        r.held_out_reactivated += o.held_out_reactivated;
        self.points.add(&other.points);
        for (kind, groups) in &other.holdout {
            self.holdout.entry(kind.clone()).or_default().add(groups);
        }
        self.nps_value.add(&other.nps_value);
    }

    /// The figures as the page shows them.
    pub fn overview(&self) -> Overview {
        let mut nps = Nps {
            score: None,
            ..self.nps.clone()
        };
        nps.score = (nps.answers > 0).then(|| {
            let n = f64::from(nps.answers);
            ((f64::from(nps.promoters) - f64::from(nps.detractors)) * 100.0 / n).round() as i32
        });
        let mut reactivation = self.reactivation.clone();
        reactivation.rate = percent(reactivation.reactivated, reactivation.asked);
        reactivation.held_out_rate =
            percent(reactivation.held_out_reactivated, reactivation.held_out);
        let mut skips: Vec<(String, u32)> =
            self.skips.iter().map(|(r, n)| (r.clone(), *n)).collect();
        skips.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        Overview {
            kinds: self.kinds.values().cloned().collect(),
            skips,
            nps,
            reactivation,
            nps_value: self.nps_value.clone(),
        }
    }
}

/// Counts log entries one at a time into a [`Tally`]. Only survey answers wait until
/// [`Fold::finish`]: the latest answer per order within the stretch counts.
#[derive(Debug, Default)]
pub struct Fold {
    tally: Tally,
    answers: BTreeMap<(CustomerId, OrderId), (Timestamp, u8, Option<Money>)>,
}

impl Fold {
    pub fn message(&mut self, m: &MessageRecord) {
        let kind = m.intent.data.kind();
        let f = self
            .tally
            .kinds
            .entry(kind.to_owned())
            .or_insert_with(|| KindFigures {
                kind: kind.to_owned(),
                ..KindFigures::default()
            });
        f.created += 1;
        let has = |s: DeliveryStatus| m.reports.iter().any(|r| r.status == s);
        let status = status_word(m);
        let sent = m.sent_at.is_some() || m.delivery_status.is_some();
        f.sent += u32::from(sent);
        f.delivered += u32::from(
            has(DeliveryStatus::Delivered)
                || has(DeliveryStatus::Opened)
                || has(DeliveryStatus::Clicked),
        );
        f.bounced += u32::from(has(DeliveryStatus::Bounced));
        f.complained += u32::from(has(DeliveryStatus::Complained));
        f.opened += u32::from(has(DeliveryStatus::Opened) || has(DeliveryStatus::Clicked));
        f.clicked += u32::from(has(DeliveryStatus::Clicked));
        f.unsubscribed += u32::from(m.unsubscribed_at.is_some());
        f.skipped += u32::from(status == "skipped");
        f.held_out += u32::from(status == "held_out");
        if status == "skipped" {
            let reason = m.reason.clone().unwrap_or_else(|| "unknown".into());
            *f.skips.entry(reason.clone()).or_insert(0) += 1;
            *self.tally.skips.entry(reason).or_insert(0) += 1;
        }
        let earned = &m.earned;
        f.orders += earned.attributed_orders;
        if let Some(currency) = earned.attributed_currency {
            *f.revenue.entry(currency.code().to_owned()).or_insert(0) +=
                earned.attributed_revenue_minor;
        }
        super::uplift::count_message(&mut self.tally.holdout, m);
        if kind == "reactivation" {
            self.tally.reactivation.asked += u32::from(sent);
            self.tally.reactivation.held_out += u32::from(status == "held_out");
        }
    }

    /// `held_out` says whether a customer is in the shop's holdout group.
    pub fn activity(&mut self, a: &ActivityRecord, held_out: &dyn Fn(&CustomerId) -> bool) {
        self.tally.points.activity(&a.activity.what);
        match &a.activity.what {
            ActivityKind::SurveyAnswered {
                order_id,
                score,
                value,
            } => {
                let answer = (a.activity.at, *score, *value);
                let slot = self
                    .answers
                    .entry((a.customer_id.clone(), order_id.clone()))
                    .or_insert(answer);
                if a.activity.at >= slot.0 {
                    *slot = answer;
                }
            }
            ActivityKind::OrderPlaced {
                reactivation: true, ..
            } => {
                if held_out(&a.customer_id) {
                    self.tally.reactivation.held_out_reactivated += 1;
                } else {
                    self.tally.reactivation.reactivated += 1;
                }
            }
            _ => {}
        }
    }

    /// A points change of the customer's own (orders' points come with their activities).
    pub fn ledger(&mut self, entry: &LedgerEntry) {
        self.tally.points.ledger(entry);
    }

    pub fn finish(mut self) -> Tally {
        for (_, score, value) in self.answers.values() {
            if let Some(value) = value {
                self.tally.nps_value.count(*score, *value);
            }
            let nps = &mut self.tally.nps;
            nps.answers += 1;
            match score {
                9..=10 => nps.promoters += 1,
                7..=8 => nps.passives += 1,
                _ => nps.detractors += 1,
            }
        }
        self.tally
    }
}

/// Figures for the messages and activities of one period. `held_out` says whether a customer
/// is in the shop's holdout group.
pub fn overview(
    messages: &[MessageRecord],
    activities: &[ActivityRecord],
    held_out: impl Fn(&CustomerId) -> bool,
) -> Overview {
    let mut fold = Fold::default();
    for m in messages {
        fold.message(m);
    }
    for a in activities {
        fold.activity(a, &held_out);
    }
    fold.finish().overview()
}

/// The instants a UTC day covers: `[start, end)`.
pub fn utc_day_bounds(day: Date) -> (Timestamp, Timestamp) {
    let start = day
        .to_zoned_datetime(TimeZone::UTC)
        .map(|z| z.timestamp())
        .unwrap_or(Timestamp::MIN);
    (
        start,
        start
            .saturating_add(SignedDuration::from_hours(24))
            .unwrap_or(Timestamp::MAX),
    )
}

/// The first local midnight of `tz` within a UTC day, where the day's summary is split so that
/// periods of local days take whole parts; none if no local day starts within it.
pub fn local_midnight_in(day: Date, tz: &TimeZone) -> Option<Timestamp> {
    let (start, end) = utc_day_bounds(day);
    let local = start.to_zoned_datetime(tz.clone()).date();
    let midnight = |d: Date| tz.to_timestamp(d.at(0, 0, 0, 0)).ok();
    let mut candidate = midnight(local)?;
    if candidate < start {
        candidate = midnight(local.tomorrow().ok()?)?;
    }
    (candidate >= start && candidate < end).then_some(candidate)
}

/// The first local day of `tz` that starts within or after the UTC day `day`: where counting
/// from that day's summary on begins without reaching into the day before it.
pub fn first_local_day_in(day: Date, tz: &TimeZone) -> Date {
    let (start, _) = utc_day_bounds(day);
    let local = start.to_zoned_datetime(tz.clone()).date();
    match tz.to_timestamp(local.at(0, 0, 0, 0)) {
        Ok(midnight) if midnight >= start => local,
        _ => local.tomorrow().unwrap_or(local),
    }
}

/// What a period takes of one UTC day's summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Take {
    /// The whole day.
    Whole,
    /// The part before the split (the local midnight).
    Before,
    /// The part from the split on.
    After,
    /// An odd stretch (a period bound that is no local midnight of the day, as around some
    /// daylight-saving changes): counted from the log, not from a summary.
    Window(Timestamp, Timestamp),
}

/// One UTC day of a period and what the period takes of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayPart {
    pub day: Date,
    pub split: Option<Timestamp>,
    pub take: Take,
}

/// The UTC days the instants `[start, end)` touch, oldest first, and the part of each.
pub fn day_parts(start: Timestamp, end: Timestamp, tz: &TimeZone) -> Vec<DayPart> {
    let mut parts = Vec::new();
    if start >= end {
        return parts;
    }
    let utc = |t: Timestamp| t.to_zoned_datetime(TimeZone::UTC).date();
    let last = utc(end
        .saturating_sub(SignedDuration::from_nanos(1))
        .unwrap_or(end));
    let mut day = utc(start);
    while day <= last {
        let (d0, d1) = utc_day_bounds(day);
        let (lo, hi) = (start.max(d0), end.min(d1));
        let split = local_midnight_in(day, tz);
        if lo < hi {
            let take = if lo == d0 && hi == d1 {
                Take::Whole
            } else if lo == d0 && Some(hi) == split {
                Take::Before
            } else if Some(lo) == split && hi == d1 {
                Take::After
            } else {
                Take::Window(lo, hi)
            };
            parts.push(DayPart { day, split, take });
        }
        match day.tomorrow() {
            Ok(next) => day = next,
            Err(_) => break,
        }
    }
    parts
}

/// What a day summary's counts depend on besides the day's items: the split (the shop's time
/// zone) and the holdout share. A summary kept under another basis is counted again. `v6` names
/// the counting rules (v2: points too; v3: skip reasons per kind; v4: the holdout groups per
/// kind; v5: attributed orders and revenue per kind; v6: the value per NPS group; v7: the
/// unsubscribes per kind): change it when [`Fold`] or [`Tally`] count differently.
pub fn summary_basis(split: Option<Timestamp>, holdout_percent: u8) -> String {
    format!(
        "v7 split={} holdout={holdout_percent}",
        split.map_or(-1, |s| s.as_second())
    )
}

/// A day's tally in two parts, before and from its split: what a day summary holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DayTally {
    pub before: Tally,
    pub after: Tally,
}

impl DayTally {
    /// The tally as a day summary keeps it: JSON without the zeros, nulls and empty parts
    /// that every count type reads back as its default. A quiet day's figures are mostly
    /// zeros, and written out in full two kinds already pass the 1 KB a summary should stay
    /// under.
    pub fn to_kept_json(&self) -> Result<String, serde_json::Error> {
        fn drop_empty(value: &mut serde_json::Value) -> bool {
            use serde_json::Value;
            match value {
                Value::Object(fields) => {
                    fields.retain(|_, v| !drop_empty(v));
                    fields.is_empty()
                }
                Value::Array(items) => items.is_empty(),
                Value::Null => true,
                Value::Number(n) => n.as_f64() == Some(0.0),
                Value::Bool(_) | Value::String(_) => false,
            }
        }
        let mut value = serde_json::to_value(self)?;
        drop_empty(&mut value);
        serde_json::to_string(&value)
    }

    /// What `take` asks of this day (`Window` is never answered from a summary).
    pub fn part(&self, take: Take) -> Tally {
        match take {
            Take::Before => self.before.clone(),
            Take::After => self.after.clone(),
            Take::Whole | Take::Window(..) => {
                let mut whole = self.before.clone();
                whole.add(&self.after);
                whole
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by `admin_limits`: two kinds' figures written out in full made a summary of
    /// 1,035 bytes.
    #[test]
    fn a_kept_day_reads_back_the_same_and_leaves_its_zeros_out() {
        let mut day = DayTally::default();
        assert_eq!(day.to_kept_json().unwrap(), "{}");
        let kind = |name: &str, sent: u32, skipped: u32| KindFigures {
            kind: name.into(),
            created: sent + skipped,
            sent,
            delivered: sent,
            skipped,
            skips: if skipped > 0 {
                BTreeMap::from([("frequency_cap".to_owned(), skipped)])
            } else {
                BTreeMap::new()
            },
            ..Default::default()
        };
        for (name, sent, skipped) in [("reactivation", 5, 0), ("tier-reached", 0, 2)] {
            day.before
                .kinds
                .insert(name.into(), kind(name, sent, skipped));
        }
        day.before.skips.insert("frequency_cap".into(), 2);
        day.before.nps.answers = 1;
        day.before.nps.promoters = 1;
        day.before.reactivation.asked = 5;
        let kept = day.to_kept_json().unwrap();
        assert_eq!(serde_json::from_str::<DayTally>(&kept).unwrap(), day);
        assert!(!kept.contains(":0") && !kept.contains("null"), "{kept}");
        assert!(kept.len() < 400, "{} bytes: {kept}", kept.len());
    }
    use crate::domain::MessageStatus;
    use crate::domain::{
        Activity, Currency, DeliveryReport, EventId, MessageClass, MessageData, MessageIntent,
        Money, ShopId,
    };

    fn t(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    fn message(customer: &str, data: MessageData, status: MessageStatus) -> MessageRecord {
        let intent = MessageIntent {
            key: format!("{}#{customer}", data.kind()),
            customer_id: CustomerId::parse(customer).unwrap(),
            class: MessageClass::Service,
            locale: None,
            data,
            created_at: t("2026-11-02T10:00:00Z"),
        };
        MessageRecord {
            status,
            reason: (status == MessageStatus::Skipped).then(|| "no_consent".into()),
            sent_at: (status == MessageStatus::Sent).then(|| t("2026-11-02T10:00:01Z")),
            ..MessageRecord::pending_for(
                &ShopId::parse("demo").unwrap(),
                EventId::parse("e").unwrap(),
                &intent,
            )
        }
    }

    fn activity(customer: &str, at: &str, what: ActivityKind) -> ActivityRecord {
        ActivityRecord {
            shop: ShopId::parse("demo").unwrap(),
            customer_id: CustomerId::parse(customer).unwrap(),
            activity: Activity { at: t(at), what },
        }
    }

    fn reactivation() -> MessageData {
        MessageData::Reactivation {
            months_since_last_order: 8,
        }
    }

    #[test]
    fn figures_per_kind_nps_and_reactivation_beside_the_holdout() {
        let mut bounced = message("c1", reactivation(), MessageStatus::Sent);
        bounced.reports = vec![DeliveryReport {
            status: DeliveryStatus::Bounced,
            at: t("2026-11-02T10:00:02Z"),
            detail: None,
            permanent: true,
        }];
        bounced.delivery_status = Some(DeliveryStatus::Bounced);
        let mut clicked = message("c2", reactivation(), MessageStatus::Sent);
        clicked.reports = vec![DeliveryReport {
            status: DeliveryStatus::Clicked,
            at: t("2026-11-02T12:00:00Z"),
            detail: None,
            permanent: false,
        }];
        clicked.unsubscribed_at = Some(t("2026-11-02T12:01:00Z"));
        let messages = vec![
            bounced,
            clicked,
            message("c3", reactivation(), MessageStatus::Sent),
            message("c4", reactivation(), MessageStatus::Sent),
            message("h1", reactivation(), MessageStatus::HeldOut),
            message("h2", reactivation(), MessageStatus::HeldOut),
            message(
                "c5",
                MessageData::WelcomeAfterMove { coupon_code: None },
                MessageStatus::Skipped,
            ),
        ];
        let order = |n: &str| crate::domain::OrderId::parse(n).unwrap();
        let placed = |reactivation| ActivityKind::OrderPlaced {
            order_id: order("o"),
            total: Money::new(1000, Currency::EUR),
            points: 10,
            reactivation,
        };
        let answered = |o: &str, score| ActivityKind::SurveyAnswered {
            order_id: order(o),
            score,
            value: Some(Money::new(1000 * i64::from(score), Currency::EUR)),
        };
        let activities = vec![
            activity("c2", "2026-11-05T10:00:00Z", placed(true)),
            activity("h1", "2026-11-06T10:00:00Z", placed(true)),
            activity("c9", "2026-11-06T10:00:00Z", placed(false)),
            // The latest answer per order counts: c1 changed 4 into 9.
            activity("c1", "2026-11-03T10:00:00Z", answered("A", 4)),
            activity("c1", "2026-11-03T11:00:00Z", answered("A", 9)),
            activity("c2", "2026-11-03T10:00:00Z", answered("B", 10)),
            activity("c3", "2026-11-03T10:00:00Z", answered("C", 8)),
            activity("c4", "2026-11-03T10:00:00Z", answered("D", 2)),
        ];
        let o = overview(&messages, &activities, |c| c.as_str().starts_with('h'));
        let r = o.kinds.iter().find(|k| k.kind == "reactivation").unwrap();
        assert_eq!(
            (
                r.created,
                r.sent,
                r.delivered,
                r.bounced,
                r.opened,
                r.clicked,
                r.held_out
            ),
            (6, 4, 1, 1, 1, 1, 2)
        );
        assert_eq!(r.unsubscribed, 1, "c2 unsubscribed through its link");
        assert_eq!(o.skips, vec![("no_consent".to_owned(), 1)]);
        assert_eq!(
            (
                o.nps.answers,
                o.nps.promoters,
                o.nps.passives,
                o.nps.detractors
            ),
            (4, 2, 1, 1)
        );
        assert_eq!(o.nps.score, Some(25), "(2 - 1) / 4 = 25%");
        // Each counted answer brings its customer's value: c1's latest (9) with it.
        let eur = |answers, minor| {
            BTreeMap::from([(
                "EUR".to_owned(),
                super::super::nps_value::Sum { answers, minor },
            )])
        };
        assert_eq!(o.nps_value.promoters, eur(2, 19_000));
        assert_eq!(o.nps_value.passives, eur(1, 8_000));
        assert_eq!(o.nps_value.detractors, eur(1, 2_000));
        assert_eq!(
            (
                o.reactivation.asked,
                o.reactivation.reactivated,
                o.reactivation.rate
            ),
            (4, 1, Some(25))
        );
        assert_eq!(
            (
                o.reactivation.held_out,
                o.reactivation.held_out_reactivated,
                o.reactivation.held_out_rate
            ),
            (2, 1, Some(50))
        );
        assert_eq!(overview(&[], &[], |_| false).nps.score, None);
    }

    #[test]
    fn sent_and_held_out_messages_of_held_out_kinds_make_the_uplift_groups() {
        let mut ordered = message("c1", reactivation(), MessageStatus::Sent);
        ordered.earned.attributed_orders = 2;
        ordered.earned.attributed_revenue_minor = 6485;
        ordered.earned.attributed_currency = Some(Currency::EUR);
        let mut held_ordered = message("h1", reactivation(), MessageStatus::HeldOut);
        held_ordered.earned.held_out_orders = 1;
        held_ordered.earned.held_out_revenue_minor = 1000;
        held_ordered.earned.attributed_currency = Some(Currency::EUR);
        let messages = [
            ordered,
            message("c2", reactivation(), MessageStatus::Sent),
            held_ordered,
            message("h2", reactivation(), MessageStatus::HeldOut),
            message("h3", reactivation(), MessageStatus::HeldOut),
            // Neither group: not sent, or a kind that is never held out.
            message("c3", reactivation(), MessageStatus::Skipped),
            message("c4", reactivation(), MessageStatus::Pending),
            message(
                "c5",
                MessageData::Birthday {
                    points: 50,
                    points_available: 50,
                },
                MessageStatus::Sent,
            ),
        ];
        let mut fold = Fold::default();
        for m in &messages {
            fold.message(m);
        }
        let tally = fold.finish();
        assert_eq!(tally.holdout.len(), 1, "{:?}", tally.holdout);
        let g = &tally.holdout["reactivation"];
        let eur = |minor| BTreeMap::from([("EUR".to_owned(), minor)]);
        assert_eq!(
            (
                g.treated.customers,
                g.treated.converted,
                &g.treated.revenue_minor
            ),
            (2, 1, &eur(6485))
        );
        assert_eq!(
            (
                g.held_out.customers,
                g.held_out.converted,
                &g.held_out.revenue_minor
            ),
            (3, 1, &eur(1000))
        );
        let stored = serde_json::to_string(&tally).unwrap();
        assert_eq!(serde_json::from_str::<Tally>(&stored).unwrap(), tally);
    }

    #[test]
    fn tallies_of_stretches_add_up_to_the_tally_of_the_whole() {
        let messages = [
            message("c1", reactivation(), MessageStatus::Sent),
            message("c2", reactivation(), MessageStatus::HeldOut),
            message(
                "c3",
                MessageData::WelcomeAfterMove { coupon_code: None },
                MessageStatus::Skipped,
            ),
        ];
        let answered = |c: &str, o: &str, score| {
            activity(
                c,
                "2026-11-03T10:00:00Z",
                ActivityKind::SurveyAnswered {
                    order_id: crate::domain::OrderId::parse(o).unwrap(),
                    score,
                    value: Some(Money::new(2_500, Currency::EUR)),
                },
            )
        };
        let activities = [answered("c1", "A", 10), answered("c2", "B", 3)];
        let held_out = |c: &CustomerId| c.as_str() == "c2";
        let whole = overview(&messages, &activities, held_out);
        let mut first = Fold::default();
        first.message(&messages[0]);
        first.activity(&activities[0], &held_out);
        let mut second = Fold::default();
        second.message(&messages[1]);
        second.message(&messages[2]);
        second.activity(&activities[1], &held_out);
        let mut sum = Tally::default();
        sum.add(&first.finish());
        sum.add(&second.finish());
        assert_eq!(sum.overview(), whole);
        // What a day summary stores reads back the same.
        let stored = serde_json::to_string(&sum).unwrap();
        assert!(stored.len() < 1024, "{stored}");
        assert_eq!(serde_json::from_str::<Tally>(&stored).unwrap(), sum);
    }

    #[test]
    fn periods_of_local_days_take_whole_parts_of_utc_days() {
        let amsterdam = TimeZone::get("Europe/Amsterdam").unwrap();
        let d = |s: &str| s.parse::<Date>().unwrap();
        // 1..3 November in Amsterdam (UTC+1): 31 Oct 23:00Z .. 3 Nov 23:00Z.
        let start = t("2026-10-31T23:00:00Z");
        let end = t("2026-11-03T23:00:00Z");
        let parts = day_parts(start, end, &amsterdam);
        let takes: Vec<(Date, Take)> = parts.iter().map(|p| (p.day, p.take)).collect();
        assert_eq!(
            takes,
            vec![
                (d("2026-10-31"), Take::After),
                (d("2026-11-01"), Take::Whole),
                (d("2026-11-02"), Take::Whole),
                (d("2026-11-03"), Take::Before),
            ]
        );
        assert_eq!(parts[0].split, Some(start));
        assert_eq!(parts[3].split, Some(end));
        // In UTC every day is whole; its split is its own midnight.
        let utc = day_parts(
            t("2026-11-01T00:00:00Z"),
            t("2026-11-03T00:00:00Z"),
            &TimeZone::UTC,
        );
        assert_eq!(utc.len(), 2);
        assert!(utc.iter().all(|p| p.take == Take::Whole));
        // A stretch that ends at no local midnight is counted from the log.
        let odd = day_parts(
            t("2026-11-01T00:00:00Z"),
            t("2026-11-01T05:00:00Z"),
            &amsterdam,
        );
        assert_eq!(
            odd[0].take,
            Take::Window(t("2026-11-01T00:00:00Z"), t("2026-11-01T05:00:00Z"))
        );
        // Across the change to winter time (25 October 2026) the split moves with the offset.
        assert_eq!(
            local_midnight_in(d("2026-10-24"), &amsterdam),
            Some(t("2026-10-24T22:00:00Z"))
        );
        assert_eq!(
            local_midnight_in(d("2026-10-25"), &amsterdam),
            Some(t("2026-10-25T23:00:00Z"))
        );
        let parts = DayTally {
            before: Tally {
                skips: BTreeMap::from([("a".into(), 1)]),
                ..Tally::default()
            },
            after: Tally {
                skips: BTreeMap::from([("a".into(), 2)]),
                ..Tally::default()
            },
        };
        assert_eq!(parts.part(Take::Before).skips["a"], 1);
        assert_eq!(parts.part(Take::After).skips["a"], 2);
        assert_eq!(parts.part(Take::Whole).skips["a"], 3);
        // Counting from a summary's day never reaches into the UTC day before it.
        assert_eq!(
            first_local_day_in(d("2026-11-02"), &amsterdam),
            d("2026-11-03")
        );
        assert_eq!(
            first_local_day_in(d("2026-11-02"), &TimeZone::UTC),
            d("2026-11-02")
        );
        let new_york = TimeZone::get("America/New_York").unwrap();
        assert_eq!(
            first_local_day_in(d("2026-11-02"), &new_york),
            d("2026-11-02")
        );
        let first = tz_start(d("2026-11-03"), &amsterdam);
        assert_eq!(
            day_parts(first, first + SignedDuration::from_hours(24), &amsterdam)[0].day,
            d("2026-11-02")
        );
    }

    fn tz_start(day: Date, tz: &TimeZone) -> Timestamp {
        tz.to_timestamp(day.at(0, 0, 0, 0)).unwrap()
    }
}
