//! Is the customer still with us? Each customer is measured against their own rhythm: the
//! median of the intervals between their orders (or the shop's default for one-time buyers).
//! Past 1.5 times that interval since the last sign of life they are at risk; past 2 times,
//! lapsed, and they are asked once, plainly, whether they want to keep hearing from the shop.
//! Without a sign of life within 30 days of that question they become inactive: no more
//! service mail. A later order brings them back and counts as a reactivation.

use super::{ShopSettings, Timestamp};
use jiff::SignedDuration;
use serde::{Deserialize, Serialize};

/// How many order times a profile keeps for the median interval.
const ORDER_TIMES_KEPT: usize = 12;
/// Orders closer together than this are one shopping moment (a forgotten item, a split
/// order), not a rhythm: the expected interval is never shorter.
const MIN_INTERVAL: SignedDuration = SignedDuration::from_hours(24 * 14);
/// How long a lapsed customer has to answer the reactivation question.
pub const ANSWER_WINDOW: SignedDuration = SignedDuration::from_hours(24 * 30);

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Engagement {
    #[default]
    Active,
    /// Overdue by 1.5 times their interval: their order frequency is falling.
    AtRisk,
    /// Overdue by 2 times: asked whether they want to stay.
    Lapsed,
    /// No sign of life within 30 days of the question: no service mail any more.
    Inactive,
}

impl Engagement {
    pub fn as_str(self) -> &'static str {
        match self {
            Engagement::Active => "active",
            Engagement::AtRisk => "at_risk",
            Engagement::Lapsed => "lapsed",
            Engagement::Inactive => "inactive",
        }
    }
}

/// Why a lapsed customer stopped ordering, from the two-question survey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LapseReason {
    NoNeed,
    Elsewhere,
    Price,
    Experience,
    Other,
}

impl LapseReason {
    pub const ALL: [LapseReason; 5] = [
        LapseReason::NoNeed,
        LapseReason::Elsewhere,
        LapseReason::Price,
        LapseReason::Experience,
        LapseReason::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LapseReason::NoNeed => "no_need",
            LapseReason::Elsewhere => "elsewhere",
            LapseReason::Price => "price",
            LapseReason::Experience => "experience",
            LapseReason::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// The answer to the reactivation survey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LapseAnswer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<LapseReason>,
    /// What the shop could do better, in the customer's words (erased on request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub at: Timestamp,
}

/// The customer's engagement, kept on the profile.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    pub stage: Engagement,
    /// When the current stage began.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "super::epoch::option"
    )]
    pub since: Option<Timestamp>,
    /// The times of the customer's latest orders, oldest first, to the second (stored as
    /// epoch seconds).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        with = "super::epoch::list"
    )]
    pub order_times: Vec<Timestamp>,
    /// The latest sign of life that was not an order: "keep me", a survey answer.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "super::epoch::option"
    )]
    pub last_sign_of_life: Option<Timestamp>,
    /// When the reactivation question of the current lapse was asked.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "super::epoch::option"
    )]
    pub asked_at: Option<Timestamp>,
    /// Orders that brought the customer back after a lapse.
    #[serde(default, skip_serializing_if = "super::customer::is_zero_u32")]
    pub reactivations: u32,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "super::epoch::option"
    )]
    pub last_reactivated_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<LapseAnswer>,
    /// When the schedule needs this customer next (written to the due index by the store).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "super::epoch::option"
    )]
    pub due_at: Option<Timestamp>,
}

/// What a step of the retention rules asks for besides the new state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetentionEffect {
    None,
    /// The customer lapsed just now: ask the reactivation question.
    Lapsed,
    /// An order brought a lapsed or inactive customer back.
    Reactivated,
}

impl Retention {
    /// Remembers an order's time (idempotent; keeps the latest few).
    pub fn record_order(&mut self, placed_at: Timestamp) {
        let placed_at = super::epoch::whole_second(placed_at);
        if let Err(at) = self.order_times.binary_search(&placed_at) {
            self.order_times.insert(at, placed_at);
        }
        if self.order_times.len() > ORDER_TIMES_KEPT {
            let extra = self.order_times.len() - ORDER_TIMES_KEPT;
            self.order_times.drain(..extra);
        }
    }

    /// The customer's expected reorder interval: the median of their own intervals, or the
    /// shop's default for one order; never under two weeks.
    pub fn expected_interval(&self, settings: &ShopSettings) -> SignedDuration {
        let mut gaps: Vec<SignedDuration> = self
            .order_times
            .windows(2)
            .map(|w| w[1].duration_since(w[0]))
            .collect();
        let interval = if gaps.is_empty() {
            SignedDuration::from_hours(24 * i64::from(settings.reorder_interval_days))
        } else {
            gaps.sort_unstable();
            let mid = gaps.len() / 2;
            if gaps.len() % 2 == 1 {
                gaps[mid]
            } else {
                (gaps[mid - 1] + gaps[mid]) / 2
            }
        };
        interval.max(MIN_INTERVAL)
    }

    /// The moment the lapse clock counts from: the last order or later sign of life.
    fn last_seen(&self) -> Option<Timestamp> {
        let last_order = self.order_times.last().copied();
        match (last_order, self.last_sign_of_life) {
            (Some(o), Some(s)) => Some(o.max(s)),
            (o, s) => o.or(s).filter(|_| last_order.is_some()),
        }
    }

    /// A sign of life other than an order: "keep me", a survey answer. A lapsed or inactive
    /// customer is active again (not counted as a reactivation: only orders are).
    pub fn sign_of_life(&mut self, now: Timestamp) {
        self.last_sign_of_life = Some(self.last_sign_of_life.map_or(now, |t| t.max(now)));
        if self.stage != Engagement::Active {
            self.become_active(now);
        }
    }

    /// A new order placed at `placed_at`. Returns whether it brought the customer back.
    pub fn order_placed(&mut self, placed_at: Timestamp, now: Timestamp) -> RetentionEffect {
        self.record_order(placed_at);
        let back = matches!(self.stage, Engagement::Lapsed | Engagement::Inactive)
            && self.since.is_none_or(|since| placed_at >= since);
        if back {
            self.reactivations += 1;
            self.last_reactivated_at = Some(now);
        }
        if self.stage != Engagement::Active && self.since.is_none_or(|since| placed_at >= since) {
            self.become_active(now);
        }
        if back {
            RetentionEffect::Reactivated
        } else {
            RetentionEffect::None
        }
    }

    fn become_active(&mut self, now: Timestamp) {
        self.stage = Engagement::Active;
        self.since = Some(now);
        self.asked_at = None;
    }

    /// Moves the stage on with time, and sets when it needs looking at next. Pure and
    /// idempotent: calling it again at the same `now` changes nothing.
    pub fn advance(&mut self, now: Timestamp, settings: &ShopSettings) -> RetentionEffect {
        let Some(last_seen) = self.last_seen() else {
            // No order yet: nothing to lapse from.
            self.due_at = None;
            return RetentionEffect::None;
        };
        let interval = self.expected_interval(settings);
        let at_risk_at = last_seen + interval * 3 / 2;
        let lapsed_at = last_seen + interval * 2;
        let mut effect = RetentionEffect::None;
        if matches!(self.stage, Engagement::Active | Engagement::AtRisk) {
            if now >= lapsed_at {
                self.stage = Engagement::Lapsed;
                self.since = Some(now);
                self.asked_at = Some(now);
                effect = RetentionEffect::Lapsed;
            } else if now >= at_risk_at && self.stage == Engagement::Active {
                self.stage = Engagement::AtRisk;
                self.since = Some(now);
            }
        }
        if self.stage == Engagement::Lapsed
            && let Some(asked) = self.asked_at
            && now >= asked + ANSWER_WINDOW
        {
            self.stage = Engagement::Inactive;
            self.since = Some(now);
        }
        self.due_at = match self.stage {
            Engagement::Active => Some(at_risk_at),
            Engagement::AtRisk => Some(lapsed_at),
            Engagement::Lapsed => self.asked_at.map(|a| a + ANSWER_WINDOW),
            Engagement::Inactive => None,
        };
        effect
    }

    pub fn is_inactive(&self) -> bool {
        self.stage == Engagement::Inactive
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::shop::fixtures::demo_settings;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn days(n: i64) -> SignedDuration {
        SignedDuration::from_hours(24 * n)
    }

    #[test]
    fn one_time_buyers_use_the_shop_default_and_others_their_own_median() {
        let settings = demo_settings();
        let mut r = Retention::default();
        r.record_order(t("2026-01-01T10:00:00Z"));
        assert_eq!(r.expected_interval(&settings), days(120));
        r.record_order(t("2026-01-31T10:00:00Z"));
        r.record_order(t("2026-03-02T10:00:00Z"));
        r.record_order(t("2026-06-30T10:00:00Z"));
        // Intervals 30, 30, 120: the median is 30.
        assert_eq!(r.expected_interval(&settings), days(30));
        // The same order seen twice is one order.
        r.record_order(t("2026-06-30T10:00:00Z"));
        assert_eq!(r.order_times.len(), 4);
    }

    #[test]
    fn orders_on_the_same_day_are_not_a_rhythm() {
        let settings = demo_settings();
        let mut r = Retention::default();
        r.record_order(t("2026-01-01T10:00:00Z"));
        r.record_order(t("2026-01-01T11:00:00Z"));
        assert_eq!(r.expected_interval(&settings), days(14));
    }

    #[test]
    fn active_at_risk_lapsed_inactive_then_back_with_an_order() {
        let settings = demo_settings();
        let first = t("2026-01-01T10:00:00Z");
        let mut r = Retention::default();
        assert_eq!(r.order_placed(first, first), RetentionEffect::None);
        assert_eq!(r.advance(first, &settings), RetentionEffect::None);
        assert_eq!(r.due_at, Some(first + days(180)));
        assert_eq!(
            r.advance(first + days(179), &settings),
            RetentionEffect::None
        );
        assert_eq!(r.stage, Engagement::Active);
        r.advance(first + days(180), &settings);
        assert_eq!(r.stage, Engagement::AtRisk);
        assert_eq!(r.due_at, Some(first + days(240)));
        let lapse = first + days(240);
        assert_eq!(r.advance(lapse, &settings), RetentionEffect::Lapsed);
        assert_eq!(r.stage, Engagement::Lapsed);
        // Asked once: the next step at the same time asks nothing again.
        assert_eq!(r.advance(lapse, &settings), RetentionEffect::None);
        assert_eq!(r.due_at, Some(lapse + days(30)));
        r.advance(lapse + days(29), &settings);
        assert_eq!(r.stage, Engagement::Lapsed);
        r.advance(lapse + days(30), &settings);
        assert!(r.is_inactive());
        assert_eq!(r.due_at, None, "an inactive customer needs no timer");
        let back = lapse + days(100);
        assert_eq!(r.order_placed(back, back), RetentionEffect::Reactivated);
        assert_eq!((r.stage, r.reactivations), (Engagement::Active, 1));
        r.advance(back, &settings);
        // Two orders 340 days apart: the interval is now 340 days.
        assert_eq!(r.due_at, Some(back + days(510)));
    }

    #[test]
    fn a_sign_of_life_keeps_a_lapsed_customer_without_counting_a_reactivation() {
        let settings = demo_settings();
        let first = t("2026-01-01T10:00:00Z");
        let mut r = Retention::default();
        r.order_placed(first, first);
        let lapse = first + days(241);
        assert_eq!(r.advance(lapse, &settings), RetentionEffect::Lapsed);
        r.sign_of_life(lapse + days(3));
        r.advance(lapse + days(3), &settings);
        assert_eq!(r.stage, Engagement::Active);
        assert_eq!(r.reactivations, 0);
        // The clock now counts from the click: lapsed again only 240 days after it.
        assert_eq!(r.due_at, Some(lapse + days(3) + days(180)));
    }

    #[test]
    fn an_old_order_arriving_late_does_not_count_as_a_reactivation() {
        let settings = demo_settings();
        let first = t("2026-01-01T10:00:00Z");
        let mut r = Retention::default();
        r.order_placed(first, first);
        let lapse = first + days(250);
        r.advance(lapse, &settings);
        let late = first + days(10);
        assert_eq!(r.order_placed(late, lapse + days(1)), RetentionEffect::None);
        assert_eq!(r.stage, Engagement::Lapsed);
    }

    #[test]
    fn prospects_have_no_timer() {
        let mut r = Retention::default();
        r.sign_of_life(t("2026-01-01T10:00:00Z"));
        assert_eq!(
            r.advance(t("2027-01-01T10:00:00Z"), &demo_settings()),
            RetentionEffect::None
        );
        assert_eq!((r.stage, r.due_at), (Engagement::Active, None));
    }
}
