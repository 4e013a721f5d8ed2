//! What a customer is worth: what they spent and kept so far (their historic value, the
//! profile's `total_spent`: order totals less returns, per currency) and a simple forecast of
//! the next 12 months from their own rhythm.
//!
//! The forecast: expected orders in 12 months = 365 days / the customer's reorder interval (the
//! median of their own intervals between orders, or the shop's default for one order, never
//! under two weeks: [`Retention::expected_interval`](super::Retention::expected_interval)),
//! times their average order value (historic value / orders placed). It does not discount a
//! customer who stopped ordering: the engagement stage beside it says whether the rhythm holds.

use super::{CustomerProfile, Money, ShopSettings, Spend};

/// The 12 months a forecast covers, in seconds (365 days).
const YEAR_SECONDS: i128 = 365 * 86_400;

/// A customer's value now and expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerValue {
    /// Spent less returned, per currency (none before the first order).
    pub historic: Vec<Money>,
    /// None for a customer without orders.
    pub forecast: Option<Forecast>,
}

/// The 12-month forecast and the figures it is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forecast {
    /// The customer's reorder interval, in whole days (rounded).
    pub interval_days: i64,
    /// Expected orders in 12 months, in hundredths (365 / interval; 2.5 orders is 250).
    pub orders_hundredths: i64,
    /// Historic value / orders placed, per currency.
    pub average_order: Vec<Money>,
    /// Expected orders times the average order value, per currency.
    pub value: Vec<Money>,
}

/// The customer's historic value and forecast (pure: the same profile and settings always give
/// the same figures).
pub fn customer_value(profile: &CustomerProfile, settings: &ShopSettings) -> CustomerValue {
    let historic = amounts(&profile.total_spent);
    let orders = i128::from(profile.order_count);
    if orders == 0 {
        return CustomerValue {
            historic,
            forecast: None,
        };
    }
    let interval = i128::from(
        profile
            .retention
            .expected_interval(settings)
            .as_secs()
            .max(1),
    );
    let per = |m: &Money, numerator: i128, denominator: i128| {
        Money::new(
            divide_rounded(i128::from(m.minor) * numerator, denominator),
            m.currency,
        )
    };
    let forecast = Forecast {
        interval_days: divide_rounded(interval, 86_400),
        orders_hundredths: divide_rounded(YEAR_SECONDS * 100, interval),
        average_order: historic.iter().map(|m| per(m, 1, orders)).collect(),
        // One division at the end, so the forecast is not the product of two rounded figures.
        value: historic
            .iter()
            .map(|m| per(m, YEAR_SECONDS, orders * interval))
            .collect(),
    };
    CustomerValue {
        historic,
        forecast: Some(forecast),
    }
}

/// The amounts of a per-currency total, in currency order.
fn amounts(spend: &Spend) -> Vec<Money> {
    spend
        .0
        .iter()
        .map(|(currency, minor)| Money::new(*minor, *currency))
        .collect()
}

/// `n / d` rounded half away from zero, saturated to `i64` (d > 0).
fn divide_rounded(n: i128, d: i128) -> i64 {
    let q = (n.abs() + d / 2) / d;
    let q = if n < 0 { -q } else { q };
    i64::try_from(q).unwrap_or(if q < 0 { i64::MIN } else { i64::MAX })
}

/// Hundredths as decimal text: 250 is `"2.50"`.
pub fn hundredths_text(n: i64) -> String {
    let sign = if n < 0 { "-" } else { "" };
    let abs = n.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::shop::fixtures::demo_settings;
    use crate::domain::{Currency, CustomerId, ShopId};
    use jiff::{SignedDuration, Timestamp};

    fn profile(orders: &[i64], spent: i64) -> CustomerProfile {
        let mut p = CustomerProfile::new(
            ShopId::parse("demo").unwrap(),
            CustomerId::parse("cus-1").unwrap(),
        );
        let start: Timestamp = "2026-01-05T10:00:00Z".parse().unwrap();
        for day in orders {
            p.retention
                .record_order(start + SignedDuration::from_hours(24 * day));
        }
        p.order_count = u32::try_from(orders.len()).unwrap();
        if spent != 0 {
            p.total_spent.add(Currency::EUR, spent);
        }
        p
    }

    #[test]
    fn the_forecast_is_the_orders_a_year_holds_at_the_customers_rhythm_times_their_average() {
        // Four orders 73 days apart, 200.00 kept: 5 orders a year of 50.00.
        let v = customer_value(&profile(&[0, 73, 146, 219], 20_000), &demo_settings());
        let eur = |minor| Money::new(minor, Currency::EUR);
        assert_eq!(v.historic, vec![eur(20_000)]);
        let f = v.forecast.unwrap();
        assert_eq!(f.interval_days, 73);
        assert_eq!(f.orders_hundredths, 500);
        assert_eq!(f.average_order, vec![eur(5_000)]);
        assert_eq!(f.value, vec![eur(25_000)]);
        assert_eq!(hundredths_text(f.orders_hundredths), "5.00");
    }

    #[test]
    fn one_order_goes_by_the_shops_interval_and_no_order_has_no_forecast() {
        let settings = demo_settings();
        // 64.85 once; the shop's default of 120 days: 365 / 120 = 3.04 orders, 197.25.
        let v = customer_value(&profile(&[0], 6_485), &settings);
        let f = v.forecast.unwrap();
        assert_eq!(f.interval_days, i64::from(settings.reorder_interval_days));
        assert_eq!(f.orders_hundredths, 304);
        // 6485 * 365 / 120 = 19725.2...
        assert_eq!(f.value, vec![Money::new(19_725, Currency::EUR)]);
        let none = customer_value(&profile(&[], 0), &settings);
        assert_eq!(none.historic, vec![]);
        assert_eq!(none.forecast, None);
    }

    #[test]
    fn orders_closer_than_two_weeks_count_as_two_weeks_and_everything_returned_forecasts_nothing() {
        let v = customer_value(&profile(&[0, 1, 2], 3_000), &demo_settings());
        let f = v.forecast.unwrap();
        assert_eq!(f.interval_days, 14);
        // 365 / 14 = 26.07 orders of 10.00.
        assert_eq!(f.orders_hundredths, 2_607);
        assert_eq!(f.value, vec![Money::new(26_071, Currency::EUR)]);
        // Two orders, both sent back: worth nothing so far, nothing expected.
        let returned = customer_value(&profile(&[0, 60], 0), &demo_settings());
        assert_eq!(returned.historic, vec![]);
        assert_eq!(returned.forecast.unwrap().value, vec![]);
    }

    #[test]
    fn each_currency_keeps_its_own_figures() {
        let mut p = profile(&[0, 100], 10_000);
        let gbp = Currency::parse("GBP").unwrap();
        p.total_spent.add(gbp, 4_000);
        let v = customer_value(&p, &demo_settings());
        assert_eq!(
            v.historic,
            vec![Money::new(10_000, Currency::EUR), Money::new(4_000, gbp)]
        );
        let f = v.forecast.unwrap();
        // 3.65 orders a year; averages over both orders, per currency.
        assert_eq!(
            f.average_order,
            vec![Money::new(5_000, Currency::EUR), Money::new(2_000, gbp)]
        );
        assert_eq!(
            f.value,
            vec![Money::new(18_250, Currency::EUR), Money::new(7_300, gbp)]
        );
    }
}
