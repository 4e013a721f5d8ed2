//! The points account: what a customer can spend, and the ledger entries that change it.
//!
//! Orders keep their own points on the order item (earned, confirmed, reversed), summed on the
//! profile as `points_pending` and `points_available`. Everything else that moves points is a
//! ledger entry of its own (a redemption, its cancellation, an adjustment) and is counted on the
//! profile beside the orders' sums, so the balance is always derived, never stored twice:
//! credit (confirmed order points and grants) less debit (spent and withdrawn points). When a
//! return takes back points that were spent already, the debit exceeds the credit: that is
//! debt, and later confirmed points pay it off before any become available again.

use super::{Loyalty, Timestamp};
use serde::{Deserialize, Serialize};

/// What a customer's points come to, as the API shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Balance {
    /// Spendable now.
    pub available: u64,
    /// Earned on orders still inside their return window (they never expire).
    pub pending: u64,
    /// Spent on rewards (less cancelled redemptions).
    pub spent: u64,
    /// Points earned and kept: orders (pending and confirmed, less returns) and grants.
    pub lifetime_earned: u64,
    /// Spent points that returns took back; later earnings pay it off first.
    pub debt: u64,
}

impl Loyalty {
    /// The balance these totals come to.
    pub fn balance(&self) -> Balance {
        let credit = self
            .points_available
            .saturating_add(self.points_granted)
            .saturating_add(self.points_birthday)
            .saturating_add(self.points_anniversary);
        let debit = self
            .points_spent
            .saturating_add(self.points_withdrawn)
            .saturating_add(self.points_expired);
        Balance {
            available: credit.saturating_sub(debit),
            pending: self.points_pending,
            spent: self.points_spent,
            lifetime_earned: self
                .points_pending
                .saturating_add(self.points_available)
                .saturating_add(self.points_granted)
                .saturating_add(self.points_birthday)
                .saturating_add(self.points_anniversary),
            debt: debit.saturating_sub(credit),
        }
    }

    /// Spends `points` on a reward; refused when the balance does not cover them.
    pub fn spend(&mut self, points: u64) -> Result<LedgerChange, Insufficient> {
        let balance = self.balance();
        if points == 0 || points > balance.available {
            return Err(Insufficient { balance });
        }
        self.points_spent += points;
        Ok(LedgerChange {
            kind: EntryKind::Redeemed,
            points: -(points as i64),
        })
    }

    /// Gives back the points of a cancelled redemption.
    pub fn refund(&mut self, points: u64) -> LedgerChange {
        let refunded = points.min(self.points_spent);
        self.points_spent -= refunded;
        LedgerChange {
            kind: EntryKind::Refunded,
            points: refunded as i64,
        }
    }

    /// A goodwill grant (positive) or a correction (negative). A correction never takes the
    /// balance below zero: more than is available is refused, and nothing changes.
    pub fn adjust(&mut self, points: i64) -> Result<LedgerChange, Insufficient> {
        let balance = self.balance();
        if points == 0 {
            return Err(Insufficient { balance });
        }
        if points > 0 {
            self.points_granted = self.points_granted.saturating_add(points.unsigned_abs());
        } else {
            let taken = points.unsigned_abs();
            if taken > balance.available {
                return Err(Insufficient { balance });
            }
            self.points_withdrawn += taken;
        }
        Ok(LedgerChange {
            kind: EntryKind::Adjusted,
            points,
        })
    }
}

impl Loyalty {
    /// Expires every available point (pending points are not available, so never expire).
    /// `None` when nothing was available.
    pub fn expire(&mut self) -> Option<LedgerChange> {
        let available = self.balance().available;
        if available == 0 {
            return None;
        }
        self.points_expired = self.points_expired.saturating_add(available);
        Some(LedgerChange {
            kind: EntryKind::Expired,
            points: -(available as i64),
        })
    }

    /// Birthday points: a credit like a grant (debt, if any, is paid off first).
    pub fn give_birthday(&mut self, points: u64) -> LedgerChange {
        self.points_birthday = self.points_birthday.saturating_add(points);
        LedgerChange {
            kind: EntryKind::Birthday,
            points: points as i64,
        }
    }

    /// Gives points on the anniversary of the first order (the shop's `anniversary_points`).
    pub fn give_anniversary(&mut self, points: u64) -> LedgerChange {
        self.points_anniversary = self.points_anniversary.saturating_add(points);
        LedgerChange {
            kind: EntryKind::Anniversary,
            points: points as i64,
        }
    }
}

/// Not enough available points; nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insufficient {
    pub balance: Balance,
}

/// What one change does to the available points (signed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerChange {
    pub kind: EntryKind,
    pub points: i64,
}

/// The kinds of line in a customer's points history. `Earned`, `Confirmed` and `Reversed` are
/// read from order items; the others are ledger items of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Earned,
    Confirmed,
    Reversed,
    Redeemed,
    /// A cancelled redemption's points, back.
    Refunded,
    Expired,
    Birthday,
    /// Given on the anniversary of the first order.
    Anniversary,
    Adjusted,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Earned => "earned",
            EntryKind::Confirmed => "confirmed",
            EntryKind::Reversed => "reversed",
            EntryKind::Redeemed => "redeemed",
            EntryKind::Refunded => "refunded",
            EntryKind::Expired => "expired",
            EntryKind::Birthday => "birthday",
            EntryKind::Anniversary => "anniversary",
            EntryKind::Adjusted => "adjusted",
        }
    }

    /// A short description in the customer's language (`nl` or else English).
    pub fn describe(self, locale: &str) -> &'static str {
        let dutch = locale.starts_with("nl");
        match (self, dutch) {
            (EntryKind::Earned, true) => "Punten gespaard met een bestelling",
            (EntryKind::Earned, false) => "Points earned with an order",
            (EntryKind::Confirmed, true) => "Punten bevestigd na de retourtermijn",
            (EntryKind::Confirmed, false) => "Points confirmed after the return period",
            (EntryKind::Reversed, true) => "Punten teruggenomen na een retour",
            (EntryKind::Reversed, false) => "Points taken back after a return",
            (EntryKind::Redeemed, true) => "Punten ingewisseld voor een korting",
            (EntryKind::Redeemed, false) => "Points redeemed for a discount",
            (EntryKind::Refunded, true) => "Punten terug van een geannuleerde korting",
            (EntryKind::Refunded, false) => "Points back from a cancelled discount",
            (EntryKind::Expired, true) => "Punten vervallen",
            (EntryKind::Expired, false) => "Points expired",
            (EntryKind::Birthday, true) => "Verjaardagspunten",
            (EntryKind::Birthday, false) => "Birthday points",
            (EntryKind::Anniversary, true) => "Punten bij je jaar als klant",
            (EntryKind::Anniversary, false) => "Points for your year as a customer",
            (EntryKind::Adjusted, true) => "Punten aangepast door de winkel",
            (EntryKind::Adjusted, false) => "Points adjusted by the shop",
        }
    }
}

/// One ledger item: a change that is not an order's own (orders keep theirs on the order item).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub kind: EntryKind,
    /// Signed: what it did to the available points.
    pub points: i64,
    pub at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redemption: Option<String>,
    /// The shop's reason for an adjustment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn spent_points_that_a_return_takes_back_become_debt_paid_off_by_later_earnings() {
        let mut l = Loyalty {
            points_available: 500,
            ..Loyalty::default()
        };
        l.spend(500).unwrap();
        // The order comes back: its confirmed points go.
        l.points_available = 0;
        let b = l.balance();
        assert_eq!((b.available, b.debt, b.spent), (0, 500, 500));
        // A later order of 200 points is confirmed: it pays off debt first.
        l.points_available = 200;
        assert_eq!((l.balance().available, l.balance().debt), (0, 300));
        l.points_available = 800;
        assert_eq!((l.balance().available, l.balance().debt), (300, 0));
        assert!(l.spend(301).is_err());
    }

    #[test]
    fn a_redemption_beyond_the_balance_is_refused_with_the_balance() {
        let mut l = Loyalty {
            points_available: 499,
            points_pending: 100,
            ..Loyalty::default()
        };
        let before = l.clone();
        let refused = l.spend(500).unwrap_err();
        assert_eq!(refused.balance.available, 499);
        assert_eq!(l, before, "nothing changed");
    }

    #[test]
    fn a_cancelled_redemption_gives_its_points_back() {
        let mut l = Loyalty {
            points_available: 600,
            ..Loyalty::default()
        };
        l.spend(500).unwrap();
        let back = l.refund(500);
        assert_eq!(back.kind, EntryKind::Refunded);
        assert_eq!(back.points, 500);
        assert_eq!(l.balance().available, 600);
        assert_eq!(l.balance().spent, 0);
    }

    #[test]
    fn adjustments_never_go_below_zero() {
        let mut l = Loyalty {
            points_available: 100,
            ..Loyalty::default()
        };
        assert!(l.adjust(-101).is_err());
        l.adjust(-100).unwrap();
        assert_eq!(l.balance().available, 0);
        l.adjust(50).unwrap();
        assert_eq!(l.balance().available, 50);
        assert_eq!(l.balance().lifetime_earned, 150);
    }

    /// What can happen to an account, in any order.
    #[derive(Debug, Clone)]
    enum Step {
        /// Order points confirmed (positive) or a confirmed order's points returned (negative).
        Orders(i32),
        Spend(u16),
        /// Cancel the n-th redemption still standing.
        Cancel(usize),
        Adjust(i16),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (-600i32..1000).prop_map(Step::Orders),
            (0u16..1500).prop_map(Step::Spend),
            (0usize..8).prop_map(Step::Cancel),
            any::<i16>().prop_map(Step::Adjust),
        ]
    }

    proptest! {
        /// The balance equals the ledger's sum (own entries plus the orders' confirmed
        /// points), is never both available and in debt, and no redemption spends more than
        /// was available.
        #[test]
        fn the_balance_is_the_sum_of_the_ledger(steps in proptest::collection::vec(step(), 0..60)) {
            let mut l = Loyalty::default();
            let mut ledger: i64 = 0;
            let mut standing: Vec<u64> = Vec::new();
            for s in steps {
                let before = l.balance();
                match s {
                    Step::Orders(delta) => {
                        let now = (l.points_available as i64 + i64::from(delta)).max(0);
                        ledger += now - l.points_available as i64;
                        l.points_available = now as u64;
                    }
                    Step::Spend(points) => match l.spend(u64::from(points)) {
                        Ok(change) => {
                            prop_assert!(u64::from(points) <= before.available);
                            ledger += change.points;
                            standing.push(u64::from(points));
                        }
                        Err(refused) => {
                            prop_assert!(points == 0 || u64::from(points) > before.available);
                            prop_assert_eq!(refused.balance, before);
                            prop_assert_eq!(l.balance(), before);
                        }
                    },
                    Step::Cancel(n) if n < standing.len() => {
                        let points = standing.remove(n);
                        let change = l.refund(points);
                        prop_assert_eq!(change.points, points as i64);
                        ledger += change.points;
                    }
                    Step::Cancel(_) => {}
                    Step::Adjust(points) => {
                        if let Ok(change) = l.adjust(i64::from(points)) {
                            ledger += change.points;
                        } else {
                            prop_assert_eq!(l.balance(), before);
                        }
                    }
                }
                let b = l.balance();
                prop_assert_eq!(b.available as i64 - b.debt as i64, ledger);
                prop_assert!(b.available == 0 || b.debt == 0);
                prop_assert_eq!(b.spent, standing.iter().sum::<u64>());
            }
        }
    }
}
