//! Out of stock, and back in stock: what the shop says about a product's availability, the
//! stock-outs it makes, and which customers buy a product regularly.
//!
//! Pure: the webhook handler parses the shop's `product.availability_changed` into a
//! [`ProductChange`], applies it to the stored [`ProductState`] with [`apply_change`], and
//! keeps the index of regular buyers from [`regular_buys`].

use super::{Order, ShopSettings, Sku, Timestamp};
use jiff::SignedDuration;
use serde::{Deserialize, Serialize};

/// At most this many alternatives are kept with a product (the shop's choice, in its order).
pub const MAX_ALTERNATIVES: usize = 3;

/// Two purchases closer than this are one shopping moment, not a rhythm (as for lapses).
const MIN_INTERVAL: SignedDuration = SignedDuration::from_hours(14 * 24);

/// A product the shop offers instead of one that is out of stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alternative {
    pub sku: Sku,
    pub name: String,
    pub url: String,
}

/// What one event says about one product (a Shopify product update names all its variants:
/// one change each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductChange {
    pub sku: Sku,
    pub name: Option<String>,
    /// Still sellable (in stock, or sold on backorder).
    pub available: bool,
    pub expected_back_at: Option<Timestamp>,
    pub alternatives: Vec<Alternative>,
    /// When the shop saw the product so; older news than what is stored changes nothing.
    pub occurred_at: Timestamp,
}

/// Which way a stock-out's customers are being told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The product went out of stock: regular buyers hear of it and of the alternatives.
    Out,
    /// It came back: those who were told hear that too.
    Back,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Out => "out",
            Phase::Back => "back",
        }
    }
}

/// A pass over the product's regular buyers that is not finished: the schedule continues it
/// from `after` (the last buyer done), a page at a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fanout {
    pub phase: Phase,
    /// The stock-out it is about (its start, epoch seconds in the store).
    #[serde(with = "super::epoch::single")]
    pub stockout: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// What trouw keeps about a product: one item per shop and sku, beside its regular buyers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductState {
    pub sku: Sku,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub available: bool,
    /// The time of the newest change applied.
    #[serde(with = "super::epoch::single")]
    pub changed_at: Timestamp,
    /// The current stock-out's start, while the product is out of stock: it names the
    /// stock-out, so each customer is told once per stock-out.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "super::epoch::option"
    )]
    pub out_since: Option<Timestamp>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "super::epoch::option"
    )]
    pub expected_back_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<Alternative>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fanout: Option<Fanout>,
    pub version: u64,
}

/// The product after a change, or `None` when the change is older than what is stored or
/// says nothing new (a redelivery: nothing is written, nobody is told again).
///
/// - available to unavailable (or first heard of as unavailable): a new stock-out, named by
///   the change's time; its regular buyers are to be told;
/// - unavailable again: the same stock-out (its name, alternatives and expected return may
///   change; nobody is told twice);
/// - unavailable to available: back in stock; those told of that stock-out are to be told.
pub fn apply_change(before: Option<&ProductState>, change: &ProductChange) -> Option<ProductState> {
    let at = super::epoch::whole_second(change.occurred_at);
    if before.is_some_and(|b| at < b.changed_at) {
        return None;
    }
    let was_out = before.and_then(|b| b.out_since);
    let (out_since, fanout) = match (change.available, was_out) {
        (false, None) => (
            Some(at),
            Some(Fanout {
                phase: Phase::Out,
                stockout: at,
                after: None,
            }),
        ),
        (false, Some(since)) => (Some(since), before.and_then(|b| b.fanout.clone())),
        (true, Some(since)) => (
            None,
            Some(Fanout {
                phase: Phase::Back,
                stockout: since,
                after: None,
            }),
        ),
        (true, None) => (None, before.and_then(|b| b.fanout.clone())),
    };
    let mut alternatives = change.alternatives.clone();
    alternatives.truncate(MAX_ALTERNATIVES);
    let after = ProductState {
        sku: change.sku.clone(),
        name: change
            .name
            .clone()
            .or_else(|| before.and_then(|b| b.name.clone())),
        available: change.available,
        changed_at: before.map_or(at, |b| b.changed_at.max(at)),
        out_since,
        expected_back_at: change
            .expected_back_at
            .filter(|_| !change.available)
            .map(super::epoch::whole_second),
        alternatives,
        fanout,
        version: before.map_or(0, |b| b.version),
    };
    let same = before.is_some_and(|b| {
        ProductState {
            changed_at: b.changed_at,
            ..after.clone()
        } == *b
    });
    if same {
        return None;
    }
    Some(ProductState {
        version: after.version + 1,
        ..after
    })
}

/// A customer buys a product regularly: the index of the product's regular buyers holds them
/// with the time their next purchase of it is expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegularBuy {
    pub sku: Sku,
    pub next_expected_at: Timestamp,
}

/// The entries of the regular-buyer index that an order placed changes: for each of its
/// skus, the customer's entry as it is with the order and was without it, written only where
/// they differ. So an order writes nothing for a product bought the first time (unless it has
/// a replenishment cycle), nor for a late order that changes no expected time.
///
/// A product is a regular buy once the customer bought it in two orders (the next purchase is
/// expected one interval, the last two purchases apart and at least 14 days, after the last),
/// or at once when it has a replenishment cycle (expected when the last purchase runs out,
/// counted from the order). `earlier` are the customer's other orders.
pub fn regular_buys(earlier: &[Order], order: &Order, settings: &ShopSettings) -> Vec<RegularBuy> {
    let Some(placed) = &order.placed else {
        return Vec::new();
    };
    let others: Vec<&Order> = earlier.iter().filter(|o| o.id != order.id).collect();
    let mut skus: Vec<&Sku> = placed.lines.iter().map(|l| &l.sku).collect();
    skus.sort();
    skus.dedup();
    skus.into_iter()
        .filter_map(|sku| {
            let without = expected_next(others.iter().copied(), sku, settings);
            let with = expected_next(
                others.iter().copied().chain(std::iter::once(order)),
                sku,
                settings,
            );
            match with {
                Some(next) if with != without => Some(RegularBuy {
                    sku: sku.clone(),
                    next_expected_at: next,
                }),
                _ => None,
            }
        })
        .collect()
}

/// When the customer is expected to buy `sku` next, if it is a regular buy for them.
fn expected_next<'a>(
    orders: impl Iterator<Item = &'a Order>,
    sku: &Sku,
    settings: &ShopSettings,
) -> Option<Timestamp> {
    // (placed, the cycle of the product in that order, if any)
    let mut purchases: Vec<(Timestamp, Option<SignedDuration>)> = orders
        .filter_map(|o| {
            let placed = o.placed.as_ref()?;
            let lines: Vec<_> = placed.lines.iter().filter(|l| &l.sku == sku).collect();
            if lines.is_empty() {
                return None;
            }
            let units: u32 = lines.iter().map(|l| l.quantity).sum();
            let cycle = lines
                .iter()
                .find_map(|l| settings.replenishment.days_per_unit(l))
                .map(|days| {
                    SignedDuration::from_hours(24 * i64::from(days) * i64::from(units.max(1)))
                });
            Some((super::epoch::whole_second(placed.placed_at), cycle))
        })
        .collect();
    purchases.sort();
    let &(last, cycle) = purchases.last()?;
    if let Some(cycle) = cycle {
        return Some(last + cycle);
    }
    let &(previous, _) = purchases.iter().rev().nth(1)?;
    Some(last + last.duration_since(previous).max(MIN_INTERVAL))
}

/// The key a sku is stored under: the first 16 bytes of its SHA-256 in hex. Skus may be long
/// and hold any character (`#` too), so the sku itself never goes into a key.
pub fn sku_key(sku: &Sku) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(sku.as_str().as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Money, OrderId, OrderLine, PlacedOrder, demo_settings};

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn change(available: bool, at: &str) -> ProductChange {
        ProductChange {
            sku: Sku::parse("BONEN-1KG").unwrap(),
            name: Some("Koffiebonen 1 kg".into()),
            available,
            expected_back_at: None,
            alternatives: Vec::new(),
            occurred_at: t(at),
        }
    }

    #[test]
    fn a_stock_out_starts_once_and_ends_with_the_product_back() {
        let known = apply_change(None, &change(true, "2026-03-01T10:00:00Z")).unwrap();
        assert_eq!(known.fanout, None, "in stock: nobody to tell");
        let out = apply_change(Some(&known), &change(false, "2026-03-02T10:00:00Z")).unwrap();
        let since = t("2026-03-02T10:00:00Z");
        assert_eq!(out.out_since, Some(since));
        assert_eq!(out.fanout.as_ref().unwrap().phase, Phase::Out);
        assert_eq!(out.version, known.version + 1);

        // The same news again, or older news: nothing changes.
        assert_eq!(
            apply_change(Some(&out), &change(false, "2026-03-02T10:00:00Z")),
            None
        );
        assert_eq!(
            apply_change(Some(&out), &change(true, "2026-03-01T12:00:00Z")),
            None
        );
        // Still out, a day later: the same stock-out.
        let mut later = change(false, "2026-03-03T10:00:00Z");
        later.expected_back_at = Some(t("2026-03-20T00:00:00Z"));
        let still = apply_change(Some(&out), &later).unwrap();
        assert_eq!(still.out_since, Some(since));
        assert_eq!(still.expected_back_at, Some(t("2026-03-20T00:00:00Z")));

        let back = apply_change(Some(&still), &change(true, "2026-03-10T10:00:00Z")).unwrap();
        assert_eq!(back.out_since, None);
        assert_eq!(back.expected_back_at, None);
        assert_eq!(
            back.fanout,
            Some(Fanout {
                phase: Phase::Back,
                stockout: since,
                after: None
            })
        );
        // A new stock-out has a new name.
        let again = apply_change(Some(&back), &change(false, "2026-04-01T10:00:00Z")).unwrap();
        assert_eq!(again.out_since, Some(t("2026-04-01T10:00:00Z")));
    }

    #[test]
    fn first_heard_of_as_out_of_stock_is_a_stock_out() {
        let out = apply_change(None, &change(false, "2026-03-02T10:00:00Z")).unwrap();
        assert_eq!(out.out_since, Some(t("2026-03-02T10:00:00Z")));
        assert_eq!(out.version, 1);
    }

    fn order(id: &str, at: &str, sku: &str, quantity: u32) -> Order {
        let mut order = Order::empty(OrderId::parse(id).unwrap());
        order.placed = Some(PlacedOrder {
            id: order.id.clone(),
            placed_at: t(at),
            discount_codes: Vec::new(),
            total: Money::new(1000, crate::domain::Currency::parse("EUR").unwrap()),
            lines: vec![OrderLine {
                sku: Sku::parse(sku).unwrap(),
                name: None,
                category: None,
                quantity,
                unit_price: None,
                replenish_after_days: None,
                contract: None,
            }],
        });
        order
    }

    #[test]
    fn a_second_purchase_makes_a_regular_buyer_and_a_first_one_does_not() {
        let settings = demo_settings();
        let first = order("NL-1", "2026-01-01T10:00:00Z", "THEE-GROEN", 1);
        assert_eq!(regular_buys(&[], &first, &settings), vec![]);
        let second = order("NL-2", "2026-02-01T10:00:00Z", "THEE-GROEN", 1);
        let buys = regular_buys(std::slice::from_ref(&first), &second, &settings);
        assert_eq!(
            buys,
            vec![RegularBuy {
                sku: Sku::parse("THEE-GROEN").unwrap(),
                next_expected_at: t("2026-03-04T10:00:00Z"),
            }]
        );
        // Two orders in a week: one shopping moment, at least 14 days ahead.
        let soon = order("NL-3", "2026-01-03T10:00:00Z", "THEE-GROEN", 1);
        let buys = regular_buys(std::slice::from_ref(&first), &soon, &settings);
        assert_eq!(buys[0].next_expected_at, t("2026-01-17T10:00:00Z"));
        // A late, older order that changes no expected time writes nothing.
        let old = order("NL-0", "2025-06-01T10:00:00Z", "THEE-GROEN", 1);
        let stored = [first.clone(), second.clone()];
        assert_eq!(regular_buys(&stored, &old, &settings), vec![]);
        // The order itself read back among the earlier ones (a retry after its write) is not
        // counted twice: the entry is the same as the first time.
        let stored = [first.clone(), second.clone()];
        assert_eq!(
            regular_buys(&stored, &second, &settings),
            regular_buys(std::slice::from_ref(&first), &second, &settings),
        );
    }

    #[test]
    fn a_product_with_a_cycle_is_a_regular_buy_from_its_first_purchase() {
        let mut settings = demo_settings();
        settings.replenishment.by_sku.insert("BONEN-1KG".into(), 20);
        let first = order("NL-1", "2026-01-01T10:00:00Z", "BONEN-1KG", 2);
        assert_eq!(
            regular_buys(&[], &first, &settings),
            vec![RegularBuy {
                sku: Sku::parse("BONEN-1KG").unwrap(),
                next_expected_at: t("2026-02-10T10:00:00Z"),
            }]
        );
    }

    #[test]
    fn sku_keys_are_short_and_stable() {
        let long = Sku::parse(&"é#".repeat(60)).unwrap();
        assert_eq!(sku_key(&long).len(), 32);
        assert_eq!(sku_key(&long), sku_key(&long.clone()));
        assert_ne!(sku_key(&long), sku_key(&Sku::parse("BONEN").unwrap()));
    }
}
