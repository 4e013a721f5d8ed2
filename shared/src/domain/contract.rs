//! Contracts and subscriptions that end: a customer who is not reminded before a yearly
//! contract runs out, or gets no good offer to renew, quietly switches to another provider.
//!
//! An order line may carry the contract it sold (`ends_at`, `renewal_url`). The customer is
//! reminded twice: `contract_notice_days` before the end, and a last time a week before it,
//! unless they renewed in between. A renewal is an order of the same sku placed after the
//! contract's order (the profile keeps when each contract's sku was last ordered). Each
//! reminder is decided once per order and sku; the order's due time brings the schedule back
//! for the next one, so nothing is ever found by scanning.

use super::{Order, OrderLine, OrderStatus, ShopSettings, Sku, Timestamp};
use jiff::SignedDuration;
use serde::{Deserialize, Serialize};

/// The last reminder goes this many days before the contract ends.
pub const FINAL_NOTICE_DAYS: u16 = 7;
/// The first and the last reminder.
pub const NOTICE_STEPS: u8 = 2;

/// A contract or subscription sold with an order line, ending at `ends_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contract {
    pub ends_at: Timestamp,
    /// Where the customer renews (https).
    pub renewal_url: String,
}

/// A reminder that is due (or will be) for one contract line of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractNoticeDue<'a> {
    pub line: &'a OrderLine,
    pub contract: &'a Contract,
    /// 1: the first reminder, 2: the last one.
    pub step: u8,
    pub at: Timestamp,
}

/// What becomes of a due reminder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeOutcome {
    /// Remind the customer with reminder `step` (`last`: the week-before one); the steps up to
    /// it are then decided on.
    Send { step: u8, last: bool },
    /// The customer renewed: nothing goes, and no later reminder either.
    Renewed,
    /// The contract ended before the schedule came: too late for any reminder.
    Ended,
}

fn days(n: u16) -> SignedDuration {
    SignedDuration::from_hours(24 * i64::from(n))
}

/// When reminder `step` of a contract is due.
pub fn notice_at(contract: &Contract, step: u8, settings: &ShopSettings) -> Option<Timestamp> {
    let before = match step {
        1 => days(settings.contract_notice_days),
        2 => days(FINAL_NOTICE_DAYS),
        _ => return None,
    };
    contract.ends_at.checked_sub(before).ok()
}

impl Order {
    /// The next reminder of each contract line (the first line of a sku counts), unless both
    /// were decided on or the whole order came back.
    pub fn contract_notices_due<'a>(
        &'a self,
        settings: &ShopSettings,
    ) -> Vec<ContractNoticeDue<'a>> {
        let Some(placed) = &self.placed else {
            return Vec::new();
        };
        if self.status == OrderStatus::Returned {
            return Vec::new();
        }
        let mut due: Vec<ContractNoticeDue<'a>> = Vec::new();
        for line in &placed.lines {
            let Some(contract) = &line.contract else {
                continue;
            };
            if due.iter().any(|d| d.line.sku == line.sku) {
                continue;
            }
            let handled = self.contract_notices.get(&line.sku).copied().unwrap_or(0);
            if handled >= NOTICE_STEPS {
                continue;
            }
            let step = handled + 1;
            if let Some(at) = notice_at(contract, step, settings) {
                due.push(ContractNoticeDue {
                    line,
                    contract,
                    step,
                    at,
                });
            }
        }
        due
    }
}

/// Decides a due reminder at `now`: closed when the sku was ordered again after this order
/// (`last_ordered`, the customer's latest order of it) or the contract has ended; else the
/// latest step that is due (a first reminder that comes too late is skipped for the last).
pub fn decide_notice(
    due: &ContractNoticeDue<'_>,
    placed_at: Timestamp,
    last_ordered: Option<Timestamp>,
    now: Timestamp,
    settings: &ShopSettings,
) -> NoticeOutcome {
    if last_ordered.is_some_and(|last| last > super::epoch::whole_second(placed_at)) {
        return NoticeOutcome::Renewed;
    }
    if now >= due.contract.ends_at {
        return NoticeOutcome::Ended;
    }
    let last_due = notice_at(due.contract, NOTICE_STEPS, settings).is_some_and(|at| at <= now);
    if last_due {
        NoticeOutcome::Send {
            step: NOTICE_STEPS,
            last: true,
        }
    } else {
        NoticeOutcome::Send {
            step: due.step,
            last: due.step == NOTICE_STEPS,
        }
    }
}

/// Whole days from `now` until the contract ends (rounded up: "ends in 7 days" on the day a
/// week before).
pub fn days_left(contract: &Contract, now: Timestamp) -> u32 {
    let secs = contract.ends_at.duration_since(now).as_secs().max(0);
    u32::try_from((secs + 24 * 3600 - 1) / (24 * 3600)).unwrap_or(u32::MAX)
}

/// Skus whose latest order the profile keeps: a contract's sku, so a renewal is seen.
pub fn is_tracked(line: &OrderLine) -> bool {
    line.contract.is_some()
}

/// Records on the order that the reminders of `sku` up to `steps` are decided on.
pub fn record_handled(order: &mut Order, sku: &Sku, steps: u8) {
    let entry = order.contract_notices.entry(sku.clone()).or_insert(0);
    *entry = (*entry).max(steps);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::shop::fixtures::demo_settings;
    use crate::domain::{Currency, Money, OrderId, PlacedOrder};

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn order_with_contract(ends_at: &str) -> Order {
        let mut order = Order::empty(OrderId::parse("C-1").unwrap());
        order.placed = Some(PlacedOrder {
            id: order.id.clone(),
            placed_at: t("2026-01-10T10:00:00Z"),
            total: Money::new(12_000, Currency::EUR),
            discount_codes: Vec::new(),
            lines: vec![OrderLine {
                sku: Sku::parse("ENERGY-1Y").unwrap(),
                name: Some("Energy contract".into()),
                category: None,
                quantity: 1,
                unit_price: None,
                replenish_after_days: None,
                contract: Some(Contract {
                    ends_at: t(ends_at),
                    renewal_url: "https://shop.example/renew".into(),
                }),
            }],
        });
        order
    }

    #[test]
    fn the_first_reminder_is_due_notice_days_before_the_end_and_the_last_a_week_before() {
        let settings = demo_settings();
        let mut order = order_with_contract("2027-01-10T10:00:00Z");
        let due = order.contract_notices_due(&settings);
        assert_eq!(due.len(), 1);
        assert_eq!((due[0].step, due[0].at), (1, t("2026-12-11T10:00:00Z")));
        record_handled(&mut order, &Sku::parse("ENERGY-1Y").unwrap(), 1);
        let due = order.contract_notices_due(&settings);
        assert_eq!((due[0].step, due[0].at), (2, t("2027-01-03T10:00:00Z")));
        record_handled(&mut order, &Sku::parse("ENERGY-1Y").unwrap(), 2);
        assert!(order.contract_notices_due(&settings).is_empty());
    }

    #[test]
    fn the_shop_chooses_how_long_before_the_end_the_first_reminder_goes() {
        let mut settings = demo_settings();
        settings.contract_notice_days = 60;
        let order = order_with_contract("2027-01-10T10:00:00Z");
        assert_eq!(
            order.contract_notices_due(&settings)[0].at,
            t("2026-11-11T10:00:00Z")
        );
    }

    #[test]
    fn a_renewal_or_the_end_closes_the_reminders_and_a_late_schedule_sends_only_the_last() {
        let settings = demo_settings();
        let order = order_with_contract("2027-01-10T10:00:00Z");
        let placed = t("2026-01-10T10:00:00Z");
        let due = &order.contract_notices_due(&settings)[0];
        let first = t("2026-12-11T10:00:00Z");
        assert_eq!(
            decide_notice(due, placed, Some(placed), first, &settings),
            NoticeOutcome::Send {
                step: 1,
                last: false
            }
        );
        // Ordered again after this order: renewed, nothing goes.
        let renewal = t("2026-12-01T09:00:00Z");
        assert_eq!(
            decide_notice(due, placed, Some(renewal), first, &settings),
            NoticeOutcome::Renewed
        );
        // The first reminder's moment long gone: only the last one goes.
        assert_eq!(
            decide_notice(due, placed, None, t("2027-01-05T10:00:00Z"), &settings),
            NoticeOutcome::Send {
                step: 2,
                last: true
            }
        );
        // After the end: too late for any reminder.
        assert_eq!(
            decide_notice(due, placed, None, t("2027-01-10T10:00:00Z"), &settings),
            NoticeOutcome::Ended
        );
    }

    #[test]
    fn a_returned_order_has_no_reminders_and_days_left_round_up() {
        let settings = demo_settings();
        let mut order = order_with_contract("2027-01-10T10:00:00Z");
        order.status = OrderStatus::Returned;
        assert!(order.contract_notices_due(&settings).is_empty());
        let contract = Contract {
            ends_at: t("2027-01-10T10:00:00Z"),
            renewal_url: "https://shop.example/renew".into(),
        };
        assert_eq!(days_left(&contract, t("2027-01-03T10:00:00Z")), 7);
        assert_eq!(days_left(&contract, t("2027-01-03T11:00:00Z")), 7);
        assert_eq!(days_left(&contract, t("2027-01-11T10:00:00Z")), 0);
    }
}
