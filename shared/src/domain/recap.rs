//! The yearly recap: on the anniversary of a customer's first order (10:00 in the shop's time
//! zone), a customer who ordered at least twice in the year before it and is not inactive gets
//! their year in one service email: how many orders, their favourite category, the points
//! those orders earned, their tier, and the shop's thanks. A shop may add anniversary points.
//!
//! Pure. The profile keeps two small values: the last year decided on, and the next
//! anniversary to wake the customer for (which puts the profile in the due index; customers
//! with one order or who went inactive get no timer, so the index does not grow with them). The
//! year's orders are read by the schedule only when the anniversary is due, once a year.

use super::loyalty_rules::LedgerItem;
use super::{
    CustomerProfile, LedgerEntry, MessageData, Order, OrderStatus, ShopSettings, Timestamp,
};
use jiff::SignedDuration;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use std::collections::BTreeMap;

/// The recap goes at this hour of the anniversary (shop's time zone).
pub const RECAP_HOUR: i8 = 10;
/// A schedule pass this late still sends the year's recap; later, that year is missed.
const RECAP_LATE: SignedDuration = SignedDuration::from_hours(48);
/// Orders in the year before the anniversary needed for a recap.
pub const MIN_ORDERS: u32 = 2;

/// What the customer's year of orders comes to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Year {
    pub orders: u32,
    /// The category they bought most units of (ties: the first by name), if lines carry one.
    pub favourite_category: Option<String>,
    /// Points those orders earned and kept (less returns).
    pub points_earned: u64,
}

/// The recap decided at an anniversary: the message (and its key's cause, the year) and the
/// ledger item of the anniversary points, if the shop gives any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recap {
    pub cause: String,
    pub data: MessageData,
    pub ledger: Option<LedgerItem>,
}

fn zone(settings: &ShopSettings) -> TimeZone {
    TimeZone::get(&settings.time_zone).unwrap_or(TimeZone::UTC)
}

/// The day of the first order in `year`, in the shop's time zone; 29 February is kept on 28
/// February in a year without it.
fn anniversary_day(first_order_at: Timestamp, year: i16, tz: &TimeZone) -> Option<Date> {
    let first = first_order_at.to_zoned_datetime(tz.clone()).date();
    Date::new(year, first.month(), first.day())
        .or_else(|_| Date::new(year, first.month(), first.day() - 1))
        .ok()
}

/// When the recap of `year` goes: 10:00 on the anniversary.
pub fn anniversary_moment(
    first_order_at: Timestamp,
    year: i16,
    tz: &TimeZone,
) -> Option<Timestamp> {
    let day = anniversary_day(first_order_at, year, tz)?;
    tz.to_timestamp(day.at(RECAP_HOUR, 0, 0, 0)).ok()
}

/// The next anniversary to decide on (its year and moment; a moment up to two days past is
/// still due): only for customers with two orders or more who are not inactive.
pub fn next_anniversary(
    profile: &CustomerProfile,
    now: Timestamp,
    settings: &ShopSettings,
) -> Option<(i16, Timestamp)> {
    let first = profile.first_order_at?;
    if profile.order_count < MIN_ORDERS || profile.retention.is_inactive() {
        return None;
    }
    let tz = zone(settings);
    let first_year = first.to_zoned_datetime(tz.clone()).year();
    let this_year = now.to_zoned_datetime(tz.clone()).year();
    let from = (first_year + 1).max(this_year - 1);
    (from..=this_year + 1)
        .filter(|year| profile.recapped_year.is_none_or(|done| *year > done))
        .filter_map(|year| Some((year, anniversary_moment(first, year, &tz)?)))
        .find(|(_, at)| now < *at + RECAP_LATE)
}

/// The customer's year of orders: those placed in the year of days before the anniversary
/// `year` (from the day of the previous one), unless they all came back.
pub fn year_of(
    orders: &[Order],
    first_order_at: Timestamp,
    year: i16,
    settings: &ShopSettings,
) -> Year {
    let tz = zone(settings);
    let start = |y: i16| {
        anniversary_day(first_order_at, y, &tz).and_then(|d| tz.to_timestamp(d.at(0, 0, 0, 0)).ok())
    };
    let (Some(from), Some(until)) = (start(year - 1), start(year)) else {
        return Year::default();
    };
    let mut out = Year::default();
    let mut units: BTreeMap<&str, u64> = BTreeMap::new();
    for order in orders {
        let Some(placed) = &order.placed else {
            continue;
        };
        if placed.placed_at < from
            || placed.placed_at >= until
            || order.status == OrderStatus::Returned
        {
            continue;
        }
        out.orders += 1;
        out.points_earned = out.points_earned.saturating_add(order.points_held());
        for line in &placed.lines {
            if let Some(category) = line.category.as_deref() {
                *units.entry(category).or_insert(0) += u64::from(line.quantity);
            }
        }
    }
    // The most units; on a tie the first by name (the map's order, kept by `max_by` on equals
    // only for the last, hence the reversed comparison of names).
    out.favourite_category = units
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(a.0)))
        .map(|(c, _)| c.to_owned());
    out
}

/// Decides the anniversary due at `now`, if one is, with the customer's orders: the year is
/// decided on once (recorded on the profile), and the recap goes if the customer ordered at
/// least twice in it and is not inactive. Anniversary points, if the shop gives them, are added
/// to the balance with their ledger item, in the same write.
pub fn decide_recap(
    profile: &mut CustomerProfile,
    orders: &[Order],
    now: Timestamp,
    settings: &ShopSettings,
) -> Option<Recap> {
    let first = profile.first_order_at?;
    let (year, at) = next_anniversary(profile, now, settings).filter(|(_, at)| *at <= now)?;
    profile.recapped_year = Some(year);
    let the_year = year_of(orders, first, year, settings);
    if the_year.orders < MIN_ORDERS || profile.retention.is_inactive() {
        return None;
    }
    let tz = zone(settings);
    let years = year - first.to_zoned_datetime(tz).year();
    let points = settings.loyalty.anniversary_points;
    let ledger = points.map(|points| {
        let change = profile.loyalty.give_anniversary(points);
        LedgerItem {
            id: format!("anniv{year}"),
            entry: LedgerEntry {
                kind: change.kind,
                points: change.points,
                at: now,
                redemption: None,
                reason: None,
            },
        }
    });
    let _ = at;
    Some(Recap {
        cause: year.to_string(),
        data: MessageData::YearlyRecap {
            years: u16::try_from(years).unwrap_or(1),
            orders: the_year.orders,
            favourite_category: the_year.favourite_category,
            points_earned: the_year.points_earned,
            tier: profile.loyalty.tier.clone(),
            anniversary_points: points,
            points_available: profile.loyalty.balance().available,
        },
        ledger,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::shop::fixtures::demo_settings;
    use crate::domain::{
        Currency, CustomerId, Engagement, EntryKind, Money, OrderId, OrderLine, PlacedOrder,
        ShopId, Sku,
    };

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn order(id: &str, at: &str, lines: &[(&str, u32, Option<&str>)], points: u64) -> Order {
        let mut order = Order::empty(OrderId::parse(id).unwrap());
        order.placed = Some(PlacedOrder {
            id: order.id.clone(),
            placed_at: t(at),
            discount_codes: Vec::new(),
            total: Money::new(1000, Currency::EUR),
            lines: lines
                .iter()
                .map(|(sku, quantity, category)| OrderLine {
                    sku: Sku::parse(*sku).unwrap(),
                    name: None,
                    category: category.map(str::to_owned),
                    quantity: *quantity,
                    unit_price: None,
                    replenish_after_days: None,
                    contract: None,
                })
                .collect(),
        });
        order.points_earned = points;
        order
    }

    /// A customer whose first order was on 2 November 2026 (09:14 in Amsterdam).
    fn customer(orders: u32) -> CustomerProfile {
        let mut p = CustomerProfile::new(
            ShopId::parse("demo").unwrap(),
            CustomerId::parse("cus-1").unwrap(),
        );
        p.first_order_at = Some(t("2026-11-02T08:14:03Z"));
        p.order_count = orders;
        p
    }

    #[test]
    fn the_anniversary_is_at_ten_in_the_shops_time_zone_for_customers_with_two_orders() {
        let settings = demo_settings();
        let now = t("2027-03-01T12:00:00Z");
        assert_eq!(next_anniversary(&customer(1), now, &settings), None);
        // 10:00 in Amsterdam (winter time, UTC+1).
        let second = Some((2027, t("2027-11-02T09:00:00Z")));
        assert_eq!(next_anniversary(&customer(2), now, &settings), second);
        let mut done = customer(2);
        done.recapped_year = Some(2027);
        assert_eq!(
            next_anniversary(&done, now, &settings),
            Some((2028, t("2028-11-02T09:00:00Z")))
        );
        // Still due two days late; later, that year is missed.
        let late = t("2027-11-04T08:59:59Z");
        assert_eq!(next_anniversary(&customer(2), late, &settings), second);
        assert_eq!(
            next_anniversary(&customer(2), t("2027-11-04T09:00:00Z"), &settings),
            Some((2028, t("2028-11-02T09:00:00Z")))
        );
        let mut inactive = customer(2);
        inactive.retention.stage = Engagement::Inactive;
        assert_eq!(next_anniversary(&inactive, now, &settings), None);
        // A first order on 29 February: the 28th in other years.
        let mut leap = customer(2);
        leap.first_order_at = Some(t("2028-02-29T12:00:00Z"));
        assert_eq!(
            next_anniversary(&leap, t("2028-06-01T00:00:00Z"), &settings),
            Some((2029, t("2029-02-28T09:00:00Z")))
        );
    }

    #[test]
    fn the_year_counts_orders_kept_in_the_year_before_the_anniversary() {
        let settings = demo_settings();
        let mut returned = order("R", "2027-05-01T10:00:00Z", &[("X", 9, Some("tea"))], 50);
        returned.status = OrderStatus::Returned;
        let orders = [
            order(
                "A",
                "2026-11-02T08:14:03Z",
                &[("TP", 3, Some("oral care")), ("EB", 1, Some("devices"))],
                64,
            ),
            order("B", "2027-03-01T10:00:00Z", &[("TEA", 2, Some("tea"))], 20),
            order("C", "2027-09-01T10:00:00Z", &[("TEA2", 1, Some("tea"))], 12),
            returned,
            // On the anniversary's day itself: the next year's.
            order("D", "2027-11-02T07:00:00Z", &[("X", 5, Some("devices"))], 9),
        ];
        let year = year_of(&orders, t("2026-11-02T08:14:03Z"), 2027, &settings);
        assert_eq!(
            year,
            Year {
                orders: 3,
                // oral care 3, tea 3: a tie, the first by name.
                favourite_category: Some("oral care".into()),
                points_earned: 96,
            }
        );
        let plain = [order("E", "2027-01-01T10:00:00Z", &[("Y", 1, None)], 5)];
        assert_eq!(
            year_of(&plain, t("2026-11-02T08:14:03Z"), 2027, &settings).favourite_category,
            None
        );
    }

    #[test]
    fn the_recap_goes_once_with_two_orders_in_the_year_and_anniversary_points() {
        let mut settings = demo_settings();
        settings.loyalty.anniversary_points = Some(100);
        let orders = [
            order(
                "A",
                "2026-11-02T08:14:03Z",
                &[("TP", 3, Some("oral care"))],
                64,
            ),
            order(
                "B",
                "2027-09-01T10:00:00Z",
                &[("TP", 1, Some("oral care"))],
                4,
            ),
        ];
        let at = t("2027-11-02T09:00:00Z");
        let mut profile = customer(2);
        profile.loyalty.tier = Some("Brons".into());
        assert_eq!(
            decide_recap(
                &mut profile,
                &orders,
                at - SignedDuration::from_secs(1),
                &settings
            ),
            None,
            "not yet"
        );
        let recap = decide_recap(&mut profile, &orders, at, &settings).unwrap();
        assert_eq!(recap.cause, "2027");
        assert_eq!(
            recap.data,
            MessageData::YearlyRecap {
                years: 1,
                orders: 2,
                favourite_category: Some("oral care".into()),
                points_earned: 68,
                tier: Some("Brons".into()),
                anniversary_points: Some(100),
                points_available: 100,
            }
        );
        let ledger = recap.ledger.unwrap();
        assert_eq!(
            (ledger.id.as_str(), ledger.entry.kind),
            ("anniv2027", EntryKind::Anniversary)
        );
        assert_eq!(ledger.entry.points, 100);
        assert_eq!(profile.recapped_year, Some(2027));
        assert_eq!(
            decide_recap(&mut profile, &orders, at, &settings),
            None,
            "once"
        );
        assert_eq!(profile.loyalty.points_anniversary, 100);
    }

    #[test]
    fn one_order_in_the_year_or_an_inactive_customer_gets_no_recap_and_the_year_is_done() {
        let settings = demo_settings();
        let at = t("2028-11-02T09:00:00Z");
        // Two orders ever, but only one in the year before the second anniversary.
        let orders = [
            order("A", "2026-11-02T08:14:03Z", &[("TP", 1, None)], 10),
            order("B", "2028-01-10T10:00:00Z", &[("TP", 1, None)], 10),
        ];
        let mut profile = customer(2);
        profile.recapped_year = Some(2027);
        assert_eq!(decide_recap(&mut profile, &orders, at, &settings), None);
        assert_eq!(
            profile.recapped_year,
            Some(2028),
            "decided on: not asked again"
        );
        assert_eq!(profile.loyalty.points_anniversary, 0);

        let both = [
            order("A", "2026-11-02T08:14:03Z", &[("TP", 1, None)], 10),
            order("B", "2027-01-10T10:00:00Z", &[("TP", 1, None)], 10),
        ];
        let mut inactive = customer(2);
        inactive.retention.stage = Engagement::Inactive;
        assert_eq!(
            decide_recap(&mut inactive, &both, t("2027-11-02T09:00:00Z"), &settings),
            None
        );
    }
}
