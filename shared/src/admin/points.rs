//! Loyalty on the overview: the points a period issued, redeemed, let expire and took back,
//! what customers still hold (the shop's liability), its worth in money, and the stock of each
//! reward's code pool.
//!
//! Orders' points are counted from their activities (placed, returned); every other change
//! from the customers' ledger items (redemptions, cancelled redemptions, expiry, birthdays,
//! adjustments), which sit in the log index beside them. Both add up per day in the day
//! summaries, so no period's ledger is read item by item.

use crate::domain::{
    ActivityKind, EntryKind, LedgerEntry, Money, Reward, RewardPrice, RewardValue,
};
use serde::{Deserialize, Serialize};

/// A pool with fewer free codes than this is marked low (the loyalty API alerts the shop at
/// the same mark).
pub const LOW_STOCK: u64 = crate::domain::LOW_POOL_MARK;

/// Points that moved in a stretch of the log, by what moved them. Adds up across stretches.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PointsFlow {
    /// Earned on orders when they were placed (pending at first).
    #[serde(skip_serializing_if = "is_zero")]
    pub earned: u64,
    /// Taken back when orders came back.
    #[serde(skip_serializing_if = "is_zero")]
    pub reversed: u64,
    /// Spent on rewards.
    #[serde(skip_serializing_if = "is_zero")]
    pub redeemed: u64,
    /// Given back when a redemption was cancelled.
    #[serde(skip_serializing_if = "is_zero")]
    pub refunded: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub expired: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub birthday: u64,
    /// Given with the yearly recap.
    #[serde(skip_serializing_if = "is_zero")]
    pub anniversary: u64,
    /// Goodwill adjustments.
    #[serde(skip_serializing_if = "is_zero")]
    pub granted: u64,
    /// Corrections.
    #[serde(skip_serializing_if = "is_zero")]
    pub withdrawn: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl PointsFlow {
    /// Nothing moved (a day summary then leaves the points out: it stays under a KB).
    pub fn is_empty(&self) -> bool {
        *self == PointsFlow::default()
    }

    pub fn add(&mut self, other: &PointsFlow) {
        self.earned += other.earned;
        self.reversed += other.reversed;
        self.redeemed += other.redeemed;
        self.refunded += other.refunded;
        self.expired += other.expired;
        self.birthday += other.birthday;
        self.anniversary += other.anniversary;
        self.granted += other.granted;
        self.withdrawn += other.withdrawn;
    }

    /// Counts an activity's points: an order placed or returned.
    pub fn activity(&mut self, what: &ActivityKind) {
        match what {
            ActivityKind::OrderPlaced { points, .. } => self.earned += points,
            ActivityKind::OrderReturned {
                points_reversed, ..
            } => self.reversed += points_reversed,
            _ => {}
        }
    }

    /// Counts a ledger item.
    pub fn ledger(&mut self, entry: &LedgerEntry) {
        let size = entry.points.unsigned_abs();
        match entry.kind {
            EntryKind::Redeemed => self.redeemed += size,
            EntryKind::Refunded => self.refunded += size,
            EntryKind::Expired => self.expired += size,
            EntryKind::Birthday => self.birthday += size,
            EntryKind::Anniversary => self.anniversary += size,
            EntryKind::Adjusted if entry.points >= 0 => self.granted += size,
            EntryKind::Adjusted => self.withdrawn += size,
            // Orders' own lines live on the order items, never as ledger items.
            EntryKind::Earned | EntryKind::Confirmed | EntryKind::Reversed => {}
        }
    }

    /// What customers were given: orders' points, birthday and anniversary points and
    /// goodwill.
    pub fn issued(&self) -> u64 {
        self.earned + self.birthday + self.anniversary + self.granted
    }

    /// Spent on rewards, less cancelled redemptions.
    pub fn redeemed_net(&self) -> u64 {
        self.redeemed.saturating_sub(self.refunded)
    }

    /// Taken back: returns and corrections.
    pub fn taken_back(&self) -> u64 {
        self.reversed + self.withdrawn
    }

    /// What the stretch added to the points customers hold (negative when more went than came).
    pub fn net(&self) -> i64 {
        let gained = self.issued() + self.refunded;
        let lost = self.redeemed + self.expired + self.taken_back();
        i64::try_from(gained).unwrap_or(i64::MAX) - i64::try_from(lost).unwrap_or(i64::MAX)
    }
}

/// What one point is worth at most: the most generous of the shop's rewards that give an
/// amount (a percentage off gives no amount), in minor units of its currency per point.
/// `None` when no reward gives an amount.
pub fn point_value(rewards: &[Reward]) -> Option<(f64, crate::domain::Currency)> {
    rewards
        .iter()
        .filter_map(|r| match &r.price {
            RewardPrice::Fixed {
                points,
                value: RewardValue::Amount(m),
            } if *points > 0 => Some((m.minor as f64 / *points as f64, m.currency)),
            RewardPrice::Variable {
                step_points,
                step_value,
                ..
            } if *step_points > 0 => Some((
                step_value.minor as f64 / *step_points as f64,
                step_value.currency,
            )),
            _ => None,
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
}

/// The liability in money: `points` at [`point_value`], rounded to the minor unit.
pub fn liability(points: i64, rewards: &[Reward]) -> Option<Money> {
    let (per_point, currency) = point_value(rewards)?;
    Some(Money::new(
        (points.max(0) as f64 * per_point).round() as i64,
        currency,
    ))
}

/// The overview's loyalty figures for a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PointsFigures {
    pub issued: u64,
    pub redeemed: u64,
    pub expired: u64,
    pub taken_back: u64,
    /// Held by customers at the end of the period: the net of every day counted since
    /// `counted_since`.
    pub outstanding: i64,
    /// The first local day the outstanding figure counts from.
    pub counted_since: String,
    /// `outstanding` in money, when a reward gives an amount.
    pub liability: Option<String>,
    /// The rate used, e.g. `0.01 EUR` a point.
    pub point_value: Option<String>,
}

impl PointsFigures {
    pub fn new(
        period: &PointsFlow,
        outstanding: i64,
        counted_since: jiff::civil::Date,
        rewards: &[Reward],
    ) -> Self {
        PointsFigures {
            issued: period.issued(),
            redeemed: period.redeemed_net(),
            expired: period.expired,
            taken_back: period.taken_back(),
            outstanding,
            counted_since: counted_since.to_string(),
            liability: liability(outstanding, rewards).map(|m| m.to_string()),
            point_value: point_value(rewards).map(|(minor, currency)| {
                let digits = currency.minor_digits();
                let major = minor / 10f64.powi(digits as i32);
                format!("{major} {currency}")
            }),
        }
    }
}

/// A reward's pool as the overview shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PoolStock {
    pub reward: String,
    pub name: String,
    pub free: u64,
    pub low: bool,
}

impl PoolStock {
    pub fn new(reward: &Reward, free: u64) -> Self {
        PoolStock {
            reward: reward.id.clone(),
            name: reward.name.clone(),
            free,
            low: free < LOW_STOCK,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Currency, OrderId, Timestamp};

    fn entry(kind: EntryKind, points: i64) -> LedgerEntry {
        LedgerEntry {
            kind,
            points,
            at: "2026-11-02T10:00:00Z".parse::<Timestamp>().unwrap(),
            redemption: None,
            reason: None,
        }
    }

    fn eur(minor: i64) -> Money {
        Money::new(minor, Currency::EUR)
    }

    #[test]
    fn issued_redeemed_expired_taken_back_and_the_net() {
        let mut flow = PointsFlow::default();
        flow.activity(&ActivityKind::OrderPlaced {
            order_id: OrderId::parse("o1").unwrap(),
            total: eur(6400),
            points: 640,
            reactivation: false,
        });
        flow.activity(&ActivityKind::OrderReturned {
            order_id: OrderId::parse("o1").unwrap(),
            points_reversed: 40,
        });
        flow.ledger(&entry(EntryKind::Redeemed, -500));
        flow.ledger(&entry(EntryKind::Redeemed, -200));
        flow.ledger(&entry(EntryKind::Refunded, 200));
        flow.ledger(&entry(EntryKind::Expired, -30));
        flow.ledger(&entry(EntryKind::Birthday, 50));
        flow.ledger(&entry(EntryKind::Adjusted, 100));
        flow.ledger(&entry(EntryKind::Adjusted, -10));
        assert_eq!(flow.issued(), 640 + 50 + 100);
        assert_eq!(flow.redeemed_net(), 500);
        assert_eq!(flow.taken_back(), 50);
        assert_eq!(flow.net(), 790 + 200 - 700 - 30 - 50);
        let mut twice = flow.clone();
        twice.add(&flow);
        assert_eq!(twice.net(), 2 * flow.net());
    }

    #[test]
    fn a_point_is_worth_the_most_generous_amount_reward() {
        let reward = |id: &str, price| Reward {
            id: id.into(),
            name: id.into(),
            price,
            code_source: Default::default(),
        };
        let rewards = vec![
            reward(
                "r5",
                RewardPrice::Fixed {
                    points: 500,
                    value: RewardValue::Amount(eur(500)),
                },
            ),
            reward(
                "p10",
                RewardPrice::Fixed {
                    points: 100,
                    value: RewardValue::Percent { percent: 10 },
                },
            ),
            reward(
                "flex",
                RewardPrice::Variable {
                    step_points: 100,
                    step_value: eur(120),
                    min_points: 100,
                    max_points: 1000,
                },
            ),
        ];
        assert_eq!(liability(1000, &rewards), Some(eur(1200)));
        assert_eq!(liability(-5, &rewards), Some(eur(0)));
        assert_eq!(
            liability(1000, &rewards[1..2]),
            None,
            "a percentage has no amount"
        );
        let figures = PointsFigures::new(
            &PointsFlow::default(),
            1000,
            "2026-11-01".parse().unwrap(),
            &rewards[..1],
        );
        assert_eq!(figures.liability.as_deref(), Some("10.00 EUR"));
        assert_eq!(figures.point_value.as_deref(), Some("0.01 EUR"));
        assert!(PoolStock::new(&rewards[0], 49).low);
        assert!(!PoolStock::new(&rewards[0], 50).low);
    }
}
