//! Whether an event's money and points fit what trouw counts in (`i64` minor units, `u64`
//! points), checked before [`decide`](super::decide) so that no sum wraps or panics. An event
//! that does not fit is refused, naming the field (`order.lines[0].quantity`).

use super::order::checked_points_for;
use super::{CustomerState, EventKind, ShopEvent, ShopSettings};

/// An amount in the event that trouw cannot count with: `field` is the canonical field path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: makes an amount too large to count")]
pub struct AmountOverflow {
    pub field: String,
}

fn overflow(field: impl Into<String>) -> AmountOverflow {
    AmountOverflow {
        field: field.into(),
    }
}

/// Checks, with checked arithmetic, every sum the event leads to: each line's value (unit
/// price times quantity) and their total, the order's points at the shop's rate, and the
/// customer's spend and points once the order is added.
pub fn check_amounts(
    state: &CustomerState,
    event: &ShopEvent,
    settings: &ShopSettings,
) -> Result<(), AmountOverflow> {
    let EventKind::OrderPlaced(placed) = &event.kind else {
        // Returns and timers only take back or confirm what an order already holds.
        return Ok(());
    };
    let mut lines_value: i64 = 0;
    for (i, line) in placed.lines.iter().enumerate() {
        if let Some(price) = line.unit_price {
            let value = price
                .minor
                .checked_mul(i64::from(line.quantity))
                .ok_or_else(|| overflow(format!("order.lines[{i}].quantity")))?;
            lines_value = lines_value
                .checked_add(value)
                .ok_or_else(|| overflow(format!("order.lines[{i}].unit_price")))?;
        }
    }
    let points = checked_points_for(placed.total, &settings.loyalty)
        .ok_or_else(|| overflow("order.total"))?;
    let Some(profile) = &state.profile else {
        return Ok(());
    };
    let already_counted = state
        .order
        .as_ref()
        .is_some_and(|order| order.placed.is_some());
    if already_counted {
        return Ok(());
    }
    profile
        .total_spent
        .get(placed.total.currency)
        .checked_add(placed.total.minor)
        .ok_or_else(|| overflow("order.total"))?;
    profile
        .loyalty
        .points_pending
        .checked_add(profile.loyalty.points_available)
        .and_then(|held| held.checked_add(points))
        .ok_or_else(|| overflow("order.total"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::shop::fixtures::demo_settings as settings;
    use crate::domain::{
        Currency, CustomerFacts, CustomerId, CustomerProfile, EventId, Money, OrderId, OrderLine,
        PlacedOrder, Sku,
    };

    fn placed(total: i64, lines: Vec<(i64, u32)>) -> ShopEvent {
        ShopEvent {
            id: EventId::parse("e1").unwrap(),
            source: "order.placed".into(),
            occurred_at: "2026-11-02T09:14:07Z".parse().unwrap(),
            customer: CustomerFacts {
                id: CustomerId::parse("c1").unwrap(),
                email: None,
                first_name: None,
                locale: None,
                marketing_consent: None,
                address: None,
                birthday: None,
            },
            kind: EventKind::OrderPlaced(PlacedOrder {
                id: OrderId::parse("o1").unwrap(),
                placed_at: "2026-11-02T09:14:07Z".parse().unwrap(),
                discount_codes: Vec::new(),
                total: Money::new(total, Currency::EUR),
                lines: lines
                    .into_iter()
                    .enumerate()
                    .map(|(i, (price, quantity))| OrderLine {
                        sku: Sku::parse(format!("SKU-{i}")).unwrap(),
                        name: None,
                        category: None,
                        quantity,
                        unit_price: Some(Money::new(price, Currency::EUR)),
                        replenish_after_days: None,
                        contract: None,
                    })
                    .collect(),
            }),
        }
    }

    fn field(result: Result<(), AmountOverflow>) -> Option<String> {
        result.err().map(|e| e.field)
    }

    #[test]
    fn ordinary_orders_fit() {
        let state = CustomerState::default();
        let event = placed(6485, vec![(355, 3), (4770, 1)]);
        assert_eq!(check_amounts(&state, &event, &settings()), Ok(()));
    }

    #[test]
    fn overflowing_sums_name_their_field() {
        let s = settings();
        let state = CustomerState::default();
        // The largest amount the schema allows, in cents, times the largest quantity.
        let max_price = 99_999_999_999_999;
        let table = [
            (
                placed(100, vec![(max_price, 100_000)]),
                Some("order.lines[0].quantity"),
            ),
            (
                placed(100, vec![(i64::MAX / 2, 1), (i64::MAX / 2, 1), (10, 1)]),
                Some("order.lines[2].unit_price"),
            ),
            (placed(max_price, vec![(max_price, 1)]), None),
        ];
        for (event, expected) in table {
            assert_eq!(
                field(check_amounts(&state, &event, &s)).as_deref(),
                expected
            );
        }
        let mut rich = s.clone();
        rich.loyalty.points_per_unit = u32::MAX;
        assert_eq!(
            field(check_amounts(&state, &placed(i64::MAX, vec![]), &rich)).as_deref(),
            Some("order.total")
        );
    }

    #[test]
    fn a_customer_whose_totals_would_overflow_is_refused() {
        let mut profile =
            CustomerProfile::new(settings().id.clone(), CustomerId::parse("c1").unwrap());
        profile.total_spent.add(Currency::EUR, i64::MAX - 10);
        let state = CustomerState {
            profile: Some(profile.clone()),
            order: None,
            year_orders: None,
        };
        let event = placed(100, vec![(100, 1)]);
        assert_eq!(
            field(check_amounts(&state, &event, &settings())).as_deref(),
            Some("order.total")
        );
        profile.total_spent = Default::default();
        profile.loyalty.points_available = u64::MAX;
        let state = CustomerState {
            profile: Some(profile),
            order: None,
            year_orders: None,
        };
        assert_eq!(
            field(check_amounts(&state, &event, &settings())).as_deref(),
            Some("order.total")
        );
    }
}
