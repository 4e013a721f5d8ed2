//! An order as a set of facts (placed, delivered, returns) from which its status and points
//! are derived. Because nothing depends on arrival order, a "returned" that overtakes its
//! "placed" ends in the same state as the orderly sequence.

use super::{LoyaltyRules, Money, OrderId, PlacedOrder, ReturnFacts, ReturnScope, Sku, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub sku: Sku,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    pub quantity: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replenish_after_days: Option<u16>,
    /// The contract or subscription this line sold, if it ends (reminders before the end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<super::Contract>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnedLine {
    pub sku: Sku,
    pub quantity: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SurveyAnswer {
    pub score: u8,
    pub at: Timestamp,
    /// What the customer had spent and kept when they answered, in the order's currency (see
    /// the answer's activity): what the overview's value per NPS group adds up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Money>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Placed,
    Delivered,
    PartiallyReturned,
    Returned,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Placed => "placed",
            OrderStatus::Delivered => "delivered",
            OrderStatus::PartiallyReturned => "partially_returned",
            OrderStatus::Returned => "returned",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: OrderId,
    /// Absent while only later events (delivered, returned) have arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placed: Option<PlacedOrder>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<Timestamp>,
    /// Ordered by time, then event id.
    #[serde(default)]
    pub returns: Vec<ReturnFacts>,
    /// Derived by [`Order::derive`]; stored so readers need not recompute.
    pub status: OrderStatus,
    pub points_earned: u64,
    pub points_reversed: u64,
    /// When the survey for this order was decided on (asked, or skipped by the 90-day rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub survey_handled_at: Option<Timestamp>,
    /// The customer's answer to "how likely are you to recommend us", 0 to 10; the latest
    /// within 7 days of the question counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub survey_answer: Option<SurveyAnswer>,
    /// Care tips sent for this order so far.
    #[serde(default)]
    pub care_tips_sent: u32,
    /// When the return window closed and the order's points became available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points_confirmed_at: Option<Timestamp>,
    /// What the customer wrote with their survey answer (erased on request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub survey_comment: Option<String>,
    /// A detractor was promised a person will reach out: the shop's alert is due then (a few
    /// minutes after the answer, so a comment written right away goes with it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_due_at: Option<Timestamp>,
    /// When the shop's alert went out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_raised_at: Option<Timestamp>,
    /// A comment that came after the alert was sent in a follow-up alert (once).
    #[serde(default)]
    pub comment_alert_raised: bool,
    /// Products whose replenishment reminder was decided on (sent, or cancelled by a reorder).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replenishment_handled: Vec<Sku>,
    /// Contract reminders decided on per sku (sent, or closed by a renewal or the end): 1 or 2.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub contract_notices: BTreeMap<Sku, u8>,
    /// The order's concurrency check, as read: the store writes an order only if it is still
    /// at this version, and moves it by one (0: never written, or written before orders had
    /// one). The customer's profile keeps its own.
    #[serde(default)]
    pub version: u64,
    /// The message this order is attributed to (its key), decided once, when it is placed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributed_to: Option<String>,
    /// The held-out message (its key) this order is a conversion of: placed within the window
    /// after the message would have gone to this held-out customer. Decided once, when it is
    /// placed; never set together with `attributed_to`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_out_for: Option<String>,
}

/// A reminder that a product of this order is about to run out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplenishmentDue<'a> {
    pub line: &'a OrderLine,
    /// Units the customer kept (ordered less returned).
    pub quantity: u32,
    pub runs_out_at: Timestamp,
    pub remind_at: Timestamp,
}

impl Order {
    pub fn empty(id: OrderId) -> Self {
        Order {
            id,
            placed: None,
            delivered_at: None,
            returns: Vec::new(),
            status: OrderStatus::Placed,
            points_earned: 0,
            points_reversed: 0,
            points_confirmed_at: None,
            care_tips_sent: 0,
            survey_handled_at: None,
            survey_answer: None,
            survey_comment: None,
            version: 0,
            alert_due_at: None,
            alert_raised_at: None,
            comment_alert_raised: false,
            replenishment_handled: Vec::new(),
            contract_notices: BTreeMap::new(),
            attributed_to: None,
            held_out_for: None,
        }
    }

    /// What the customer kept: the order's total less what came back (nothing when it all
    /// came back). None before the order is placed.
    pub fn kept_value(&self) -> Option<Money> {
        let placed = self.placed.as_ref()?;
        if self.fully_returned() {
            return Some(Money::new(0, placed.total.currency));
        }
        let returned = self.returned_value().map_or(0, |m| m.minor);
        Some(Money::new(
            placed.total.minor.saturating_sub(returned).max(0),
            placed.total.currency,
        ))
    }

    pub fn add_return(&mut self, facts: ReturnFacts) {
        if self.returns.iter().any(|r| r.event_id == facts.event_id) {
            return;
        }
        let at = self.returns.partition_point(|r| {
            (r.returned_at, &r.event_id) < (facts.returned_at, &facts.event_id)
        });
        self.returns.insert(at, facts);
    }

    /// Recomputes status and points from the facts.
    pub fn derive(&mut self, rules: &LoyaltyRules) {
        let fully_returned = self.fully_returned();
        self.status = if fully_returned {
            OrderStatus::Returned
        } else if !self.returns.is_empty() {
            OrderStatus::PartiallyReturned
        } else if self.delivered_at.is_some() {
            OrderStatus::Delivered
        } else {
            OrderStatus::Placed
        };
        let Some(placed) = &self.placed else {
            self.points_earned = 0;
            self.points_reversed = 0;
            return;
        };
        self.points_earned = points_for(placed.total, rules);
        self.points_reversed = if fully_returned {
            self.points_earned
        } else {
            self.returned_value()
                .map(|value| points_for(value, rules))
                .unwrap_or(0)
                .min(self.points_earned)
        };
    }

    /// Points this order holds in the customer's pending balance.
    pub fn points_pending(&self) -> u64 {
        if self.points_confirmed_at.is_some() {
            0
        } else {
            self.points_held()
        }
    }

    /// Points this order holds in the customer's available balance.
    pub fn points_available(&self) -> u64 {
        if self.points_confirmed_at.is_some() {
            self.points_held()
        } else {
            0
        }
    }

    /// What the order is worth in points now: earned less what returns took back.
    pub fn points_held(&self) -> u64 {
        self.points_earned - self.points_reversed
    }

    /// The tips this order's products may get, in order: those of the categories of lines that
    /// did not all come back.
    pub fn care_tips<'a>(
        &self,
        settings: &'a super::ShopSettings,
    ) -> Vec<(&'a str, &'a super::CareTip)> {
        let Some(placed) = &self.placed else {
            return Vec::new();
        };
        if self.status == OrderStatus::Returned {
            return Vec::new();
        }
        let returned = self.returned_quantities();
        let mut categories: Vec<&str> = placed
            .lines
            .iter()
            .filter(|l| returned.get(&l.sku).copied().unwrap_or(0) < u64::from(l.quantity))
            .filter_map(|l| l.category.as_deref())
            .collect();
        categories.sort_unstable();
        categories.dedup();
        categories
            .into_iter()
            .filter_map(|c| settings.care_tips.get_key_value(c))
            .flat_map(|(c, tips)| tips.iter().map(move |t| (c.as_str(), t)))
            .collect()
    }

    /// When the next care tip is due: every 14 days after delivery, while tips are left and
    /// within `care_tip_months` of the delivery.
    pub fn care_tip_due(&self, settings: &super::ShopSettings) -> Option<Timestamp> {
        let delivered = self.delivered_at?;
        if self.care_tips_sent as usize >= self.care_tips(settings).len() {
            return None;
        }
        let due = delivered
            + jiff::SignedDuration::from_hours(24 * 14 * i64::from(self.care_tips_sent + 1));
        let stop = delivered
            + jiff::SignedDuration::from_hours(24 * 30 * i64::from(settings.care_tip_months));
        (due <= stop).then_some(due)
    }

    /// When the satisfaction survey is due: some days after delivery, once, unless the whole
    /// order came back.
    pub fn survey_due(&self, settings: &super::ShopSettings) -> Option<Timestamp> {
        let delivered = self.delivered_at?;
        if self.placed.is_none()
            || self.survey_handled_at.is_some()
            || self.status == OrderStatus::Returned
        {
            return None;
        }
        Some(
            delivered
                + jiff::SignedDuration::from_hours(24 * i64::from(settings.survey_delay_days)),
        )
    }

    /// When the schedule needs this order next, if ever.
    pub fn next_due(&self, settings: &super::ShopSettings) -> Option<Timestamp> {
        [
            self.confirmation_due(settings.return_window_days),
            self.care_tip_due(settings),
            self.survey_due(settings),
            self.alert_due(),
        ]
        .into_iter()
        .flatten()
        .chain(
            self.replenishments_due(settings)
                .iter()
                .map(|r| r.remind_at),
        )
        .chain(self.contract_notices_due(settings).iter().map(|n| n.at))
        .min()
    }

    /// When the shop's alert about a detractor is due, unless it went out already.
    pub fn alert_due(&self) -> Option<Timestamp> {
        self.alert_due_at.filter(|_| self.alert_raised_at.is_none())
    }

    /// Reminders still to be decided on: lines that run out (days per unit from the line, the
    /// shop's sku or category settings, times the units kept), counted from delivery (or from
    /// the order, while delivery is unknown), a few days before the run-out.
    pub fn replenishments_due<'a>(
        &'a self,
        settings: &super::ShopSettings,
    ) -> Vec<ReplenishmentDue<'a>> {
        let Some(placed) = &self.placed else {
            return Vec::new();
        };
        if self.status == OrderStatus::Returned {
            return Vec::new();
        }
        let start = self.delivered_at.unwrap_or(placed.placed_at);
        let returned = self.returned_quantities();
        let mut due = Vec::new();
        for line in &placed.lines {
            if self.replenishment_handled.contains(&line.sku)
                || due
                    .iter()
                    .any(|d: &ReplenishmentDue<'_>| d.line.sku == line.sku)
            {
                continue;
            }
            let Some(days) = settings.replenishment.days_per_unit(line) else {
                continue;
            };
            let ordered: u64 = placed
                .lines
                .iter()
                .filter(|l| l.sku == line.sku)
                .map(|l| u64::from(l.quantity))
                .sum();
            let kept = ordered.saturating_sub(returned.get(&line.sku).copied().unwrap_or(0));
            if kept == 0 {
                continue;
            }
            let kept = u32::try_from(kept).unwrap_or(u32::MAX);
            // Checked: a huge quantity lasts beyond any date we can count, so no reminder.
            let Some(runs_out_at) = i64::from(days)
                .checked_mul(i64::from(kept))
                .and_then(|d| d.checked_mul(24 * 3600))
                .and_then(|secs| {
                    start
                        .checked_add(jiff::SignedDuration::from_secs(secs))
                        .ok()
                })
            else {
                continue;
            };
            let before = jiff::SignedDuration::from_secs(
                24 * 3600 * i64::from(settings.replenishment.remind_days_before),
            );
            let remind_at = runs_out_at
                .checked_sub(before)
                .map_or(start, |at| at.max(start));
            due.push(ReplenishmentDue {
                line,
                quantity: kept,
                runs_out_at,
                remind_at,
            });
        }
        due
    }

    /// When the order's pending points become available: the end of the return window after
    /// delivery, unless they are confirmed already or nothing is left to confirm.
    pub fn confirmation_due(&self, return_window_days: u16) -> Option<Timestamp> {
        let delivered = self.delivered_at?;
        if self.placed.is_none() || self.points_confirmed_at.is_some() || self.points_held() == 0 {
            return None;
        }
        Some(delivered + jiff::SignedDuration::from_hours(24 * i64::from(return_window_days)))
    }

    pub fn has_returns(&self) -> bool {
        !self.returns.is_empty()
    }

    fn returned_quantities(&self) -> BTreeMap<&Sku, u64> {
        let mut returned = BTreeMap::new();
        let lines = self.returns.iter().filter_map(|r| match &r.scope {
            ReturnScope::Lines(lines) => Some(lines),
            ReturnScope::Whole | ReturnScope::Amount => None,
        });
        for line in lines.flatten() {
            *returned.entry(&line.sku).or_insert(0) += u64::from(line.quantity);
        }
        returned
    }

    fn fully_returned(&self) -> bool {
        if self.returns.iter().any(|r| r.scope == ReturnScope::Whole) {
            return true;
        }
        let Some(placed) = &self.placed else {
            return false;
        };
        if self.returns.is_empty() {
            return false;
        }
        let returned = self.returned_quantities();
        let mut ordered: BTreeMap<&Sku, u64> = BTreeMap::new();
        for line in &placed.lines {
            *ordered.entry(&line.sku).or_insert(0) += u64::from(line.quantity);
        }
        ordered
            .iter()
            .all(|(sku, qty)| returned.get(sku).copied().unwrap_or(0) >= *qty)
    }

    /// The value of what came back in partial returns: returned lines at their unit prices
    /// (capped at what was ordered) when all are known, else those returns' refund totals;
    /// plus the refund totals of returns known only by amount.
    fn returned_value(&self) -> Option<Money> {
        let placed = self.placed.as_ref()?;
        let currency = placed.total.currency;
        let refunds_of = |scope_is_lines: bool| -> i64 {
            self.returns
                .iter()
                .filter(|r| matches!(r.scope, ReturnScope::Lines(_)) == scope_is_lines)
                .filter_map(|r| r.refund_total)
                .filter_map(|a| a.in_currency(currency).ok())
                .map(|m| m.minor.saturating_abs())
                .fold(0_i64, i64::saturating_add)
        };
        let returned = self.returned_quantities();
        let mut by_lines: Option<i64> = Some(0);
        for (sku, qty) in &returned {
            let mut left = *qty;
            let mut found = false;
            for line in placed.lines.iter().filter(|l| &&l.sku == sku) {
                found = true;
                let take = left.min(u64::from(line.quantity));
                left -= take;
                match line.unit_price {
                    Some(price) if price.currency == currency => {
                        // Saturating: the result is capped at the order's total below.
                        let value = price
                            .minor
                            .saturating_mul(i64::try_from(take).unwrap_or(i64::MAX));
                        by_lines = by_lines.map(|v| v.saturating_add(value));
                    }
                    _ => by_lines = None,
                }
            }
            if !found {
                by_lines = None;
            }
        }
        let lines_value = by_lines.unwrap_or_else(|| refunds_of(true));
        let minor = lines_value.saturating_add(refunds_of(false));
        Some(Money::new(
            minor.clamp(0, placed.total.minor.max(0)),
            currency,
        ))
    }
}

/// Points for an amount: whole currency units times the shop's rate, never negative; saturates
/// where [`checked_points_for`] says it does not fit.
pub fn points_for(amount: Money, rules: &LoyaltyRules) -> u64 {
    checked_points_for(amount, rules).unwrap_or(u64::MAX)
}

/// Points for an amount, `None` when they do not fit in a `u64`.
pub fn checked_points_for(amount: Money, rules: &LoyaltyRules) -> Option<u64> {
    u64::try_from(amount.whole_units())
        .unwrap_or(0)
        .checked_mul(u64::from(rules.points_per_unit))
}
