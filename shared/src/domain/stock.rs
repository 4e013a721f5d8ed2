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
    /// What the news speaks for: the product itself, or one member of a WooCommerce family.
    pub scope: Scope,
}

/// What a [`ProductChange`] speaks for. WooCommerce shows a variation without a sku of its own
/// under its parent's sku, in the variation's updates and in its order lines alike, so that
/// sku stands for the whole family: only the parent's summary may speak for it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Scope {
    /// The product itself (the canonical event, a Shopify variant, a WooCommerce product that
    /// is not variable).
    #[default]
    Product,
    /// One variation of a WooCommerce variable product: its own sku, or its parent's when it
    /// has none.
    Variation,
    /// A WooCommerce variable product under its own sku: its stock status sums up its
    /// variations' (in stock while any of them is).
    Family,
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
    /// A WooCommerce variable product's own sku (its update said so): variations without a
    /// sku of their own carry it too, so one variation's news does not speak for it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub family_sku: bool,
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
///
/// A variation's news about a sku that is its variable parent's own changes nothing: siblings
/// without a sku of their own share it, and the parent's summary speaks for them all.
pub fn apply_change(before: Option<&ProductState>, change: &ProductChange) -> Option<ProductState> {
    let at = super::epoch::whole_second(change.occurred_at);
    if before.is_some_and(|b| at < b.changed_at) {
        return None;
    }
    let family_sku = before.is_some_and(|b| b.family_sku);
    if family_sku && change.scope == Scope::Variation {
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
        family_sku: family_sku || change.scope == Scope::Family,
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

/// A customer became a regular buyer of a product: their entry in the product's index of
/// regular buyers, written once, with the rhythm their next purchase is expected in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegularBuy {
    pub sku: Sku,
    /// The time between purchases: the product's cycle, or the interval of the first two
    /// purchases (at least 14 days), in whole days.
    pub interval_days: u32,
    /// The latest purchase of it known when they became one.
    pub last_bought: Timestamp,
}

/// The products an order placed makes its customer a regular buyer of: bought in two orders
/// (this and an earlier one), or with a replenishment cycle (from the first purchase). Only
/// the change is returned: an order of a product the customer already buys regularly, or
/// buys for the first time without a cycle, gives nothing, so most orders write nothing to
/// the index. `earlier` are the customer's other orders (the order itself among them is not
/// counted twice).
pub fn regular_buys(earlier: &[Order], order: &Order, settings: &ShopSettings) -> Vec<RegularBuy> {
    let Some(placed) = &order.placed else {
        return Vec::new();
    };
    let others: Vec<&Order> = earlier.iter().filter(|o| o.id != order.id).collect();
    let mut skus: Vec<&Sku> = placed.lines.iter().map(|l| &l.sku).collect();
    skus.sort();
    skus.dedup();
    skus.into_iter()
        .filter(|sku| rhythm(others.iter().copied(), sku, settings).is_none())
        .filter_map(|sku| {
            let (last_bought, interval) = rhythm(
                others.iter().copied().chain(std::iter::once(order)),
                sku,
                settings,
            )?;
            Some(RegularBuy {
                sku: sku.clone(),
                interval_days: u32::try_from(interval.as_hours() / 24).unwrap_or(u32::MAX),
                last_bought,
            })
        })
        .collect()
}

/// The customer's last purchase of `sku` and the interval to the next, if it is a regular buy.
fn rhythm<'a>(
    orders: impl Iterator<Item = &'a Order>,
    sku: &Sku,
    settings: &ShopSettings,
) -> Option<(Timestamp, SignedDuration)> {
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
    let &(last, _) = purchases.last()?;
    if let Some(cycle) = purchases.iter().find_map(|(_, c)| *c) {
        return Some((last, cycle));
    }
    let (first, second) = (purchases.first()?.0, purchases.get(1)?.0);
    Some((last, second.duration_since(first).max(MIN_INTERVAL)))
}

/// Follows the products the customer became a regular buyer of: the profile's `last_ordered`
/// keeps each one's latest purchase from now on (as it does for replenishable products and
/// contracts), so the next purchase is known without reading orders.
pub fn follow(profile: &mut super::CustomerProfile, buys: &[RegularBuy]) {
    for buy in buys {
        profile.last_ordered.note(&buy.sku, buy.last_bought);
    }
}

/// When a regular buyer is expected to buy `sku` next: their latest purchase of it (the
/// profile follows it) plus their interval.
pub fn next_expected(
    profile: &super::CustomerProfile,
    sku: &Sku,
    interval_days: u32,
) -> Option<Timestamp> {
    let last = profile.last_ordered.get(sku)?;
    Some(last + SignedDuration::from_hours(24 * i64::from(interval_days)))
}

/// What the pass over a product's regular buyers tells one of them (an event through
/// `decide`, applied once per customer, stock-out and phase).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockNotice {
    pub sku: Sku,
    pub product_name: Option<String>,
    pub phase: Phase,
    /// The stock-out's start: it names the stock-out.
    pub stockout: Timestamp,
    /// The customer's interval between purchases, from the index of regular buyers.
    pub interval_days: u32,
    pub alternatives: Vec<Alternative>,
    pub expected_back_at: Option<Timestamp>,
}

/// What a customer was told about a stock-out of one product (on the profile, by sku key):
/// once per stock-out, and back in stock once to those told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockTold {
    #[serde(with = "super::epoch::single")]
    pub stockout: Timestamp,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub back: bool,
}

/// A profile keeps at most this many products' stock-outs (the oldest go first): a few dozen
/// bytes each.
pub const MAX_STOCK_TOLD: usize = 8;

/// The message a stock notice gives this customer, if any, and what the profile keeps of it.
///
/// - out of stock: to a regular buyer whose next purchase is expected within the shop's
///   `stock_notice_days` (and is not more than one interval overdue: someone that late has
///   stopped buying it), once per stock-out;
/// - back in stock: once, to a customer told of that stock-out.
pub fn notice(
    profile: &mut super::CustomerProfile,
    notice: &StockNotice,
    now: Timestamp,
    settings: &ShopSettings,
) -> Option<super::MessageData> {
    let key = sku_key(&notice.sku);
    let told = profile.stock_told.get(&key);
    match notice.phase {
        Phase::Out => {
            if told.is_some_and(|t| t.stockout == notice.stockout) {
                return None;
            }
            let next = next_expected(profile, &notice.sku, notice.interval_days)?;
            let interval = SignedDuration::from_hours(24 * i64::from(notice.interval_days));
            let horizon = SignedDuration::from_hours(24 * i64::from(settings.stock_notice_days));
            if next > now + horizon || next < now - interval {
                return None;
            }
            profile.stock_told.insert(
                key,
                StockTold {
                    stockout: notice.stockout,
                    back: false,
                },
            );
            while profile.stock_told.len() > MAX_STOCK_TOLD {
                let oldest = profile
                    .stock_told
                    .iter()
                    .min_by_key(|(_, t)| t.stockout)
                    .map(|(k, _)| k.clone());
                if let Some(oldest) = oldest {
                    profile.stock_told.remove(&oldest);
                }
            }
            Some(super::MessageData::OutOfStockAlternative {
                sku: notice.sku.clone(),
                product_name: notice.product_name.clone(),
                alternatives: notice.alternatives.clone(),
                expected_back_on: notice.expected_back_at.map(|at| {
                    let tz = jiff::tz::TimeZone::get(&settings.time_zone)
                        .unwrap_or(jiff::tz::TimeZone::UTC);
                    at.to_zoned_datetime(tz).date().to_string()
                }),
            })
        }
        Phase::Back => {
            let told = profile.stock_told.get_mut(&key)?;
            if told.stockout != notice.stockout || told.back {
                return None;
            }
            told.back = true;
            Some(super::MessageData::BackInStock {
                sku: notice.sku.clone(),
                product_name: notice.product_name.clone(),
            })
        }
    }
}

/// The message key's cause: the product and the stock-out.
pub fn notice_cause(notice: &StockNotice) -> String {
    format!("{}#{}", sku_key(&notice.sku), notice.stockout.as_second())
}

/// A replenishment reminder of an order placed before the customer was told its product is out
/// of stock is replaced by that message: it does not go.
pub fn replaces_reminder(
    profile: &super::CustomerProfile,
    sku: &Sku,
    order_placed_at: Timestamp,
) -> bool {
    profile
        .stock_told
        .get(&sku_key(sku))
        .is_some_and(|t| t.stockout >= order_placed_at)
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
            scope: Scope::Product,
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

    #[test]
    fn a_variation_does_not_speak_for_its_variable_parents_sku() {
        // The parent's summary: in stock while any variation is. It marks the sku as the
        // family's.
        let family = |available: bool, at: &str| ProductChange {
            scope: Scope::Family,
            ..change(available, at)
        };
        let variation = |available: bool, at: &str| ProductChange {
            scope: Scope::Variation,
            ..change(available, at)
        };
        let parent = apply_change(None, &family(true, "2026-03-01T10:00:00Z")).unwrap();
        assert!(parent.family_sku);
        // A variation without a sku of its own shows the parent's: its news changes nothing.
        assert_eq!(
            apply_change(Some(&parent), &variation(false, "2026-03-02T10:00:00Z")),
            None
        );
        // The family sold out as a whole: a stock-out, and the sku stays the family's.
        let out = apply_change(Some(&parent), &family(false, "2026-03-03T10:00:00Z")).unwrap();
        assert_eq!(out.out_since, Some(t("2026-03-03T10:00:00Z")));
        assert!(out.family_sku);
        // A variation under a sku of its own is a product like any other.
        let own = apply_change(None, &variation(false, "2026-03-02T10:00:00Z")).unwrap();
        assert!(!own.family_sku);
        assert_eq!(own.out_since, Some(t("2026-03-02T10:00:00Z")));
        // A sku first seen as a family's is written once to say so, even in the same state.
        let known = apply_change(None, &change(true, "2026-03-01T10:00:00Z")).unwrap();
        let marked = apply_change(Some(&known), &family(true, "2026-03-01T10:00:00Z")).unwrap();
        assert!(marked.family_sku);
        assert_eq!(
            apply_change(Some(&marked), &family(true, "2026-03-01T10:00:00Z")),
            None
        );
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
    fn a_second_purchase_makes_a_regular_buyer_once_and_a_first_one_does_not() {
        let settings = demo_settings();
        let first = order("NL-1", "2026-01-01T10:00:00Z", "THEE-GROEN", 1);
        assert_eq!(regular_buys(&[], &first, &settings), vec![]);
        let second = order("NL-2", "2026-02-01T10:00:00Z", "THEE-GROEN", 1);
        let buys = regular_buys(std::slice::from_ref(&first), &second, &settings);
        assert_eq!(
            buys,
            vec![RegularBuy {
                sku: Sku::parse("THEE-GROEN").unwrap(),
                interval_days: 31,
                last_bought: t("2026-02-01T10:00:00Z"),
            }]
        );
        // A third purchase: already a regular buyer, nothing new to write.
        let third = order("NL-3", "2026-03-01T10:00:00Z", "THEE-GROEN", 1);
        assert_eq!(
            regular_buys(&[first.clone(), second.clone()], &third, &settings),
            vec![]
        );
        // Two orders in a week: one shopping moment, at least 14 days apart.
        let soon = order("NL-4", "2026-01-03T10:00:00Z", "THEE-GROEN", 1);
        let buys = regular_buys(std::slice::from_ref(&first), &soon, &settings);
        assert_eq!(buys[0].interval_days, 14);
        // The order itself read back among the earlier ones is not counted twice.
        let stored = [first.clone(), second.clone()];
        assert_eq!(
            regular_buys(&stored, &second, &settings),
            regular_buys(std::slice::from_ref(&first), &second, &settings),
        );
        // The profile follows the product from then on.
        let mut profile = crate::domain::CustomerProfile::new(
            settings.id.clone(),
            crate::domain::CustomerId::parse("c").unwrap(),
        );
        follow(&mut profile, &buys);
        assert_eq!(
            next_expected(&profile, &Sku::parse("THEE-GROEN").unwrap(), 14),
            Some(t("2026-01-17T10:00:00Z"))
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
                interval_days: 40,
                last_bought: t("2026-01-01T10:00:00Z"),
            }]
        );
        let second = order("NL-2", "2026-02-01T10:00:00Z", "BONEN-1KG", 1);
        assert_eq!(regular_buys(&[first], &second, &settings), vec![]);
    }

    fn notice_of(phase: Phase, stockout: &str) -> StockNotice {
        StockNotice {
            sku: Sku::parse("THEE-GROEN").unwrap(),
            product_name: Some("Groene thee".into()),
            phase,
            stockout: t(stockout),
            interval_days: 30,
            alternatives: Vec::new(),
            expected_back_at: Some(t("2026-03-20T12:00:00Z")),
        }
    }

    fn buyer(last: &str) -> crate::domain::CustomerProfile {
        let settings = demo_settings();
        let mut profile = crate::domain::CustomerProfile::new(
            settings.id,
            crate::domain::CustomerId::parse("c").unwrap(),
        );
        profile
            .last_ordered
            .note(&Sku::parse("THEE-GROEN").unwrap(), t(last));
        profile
    }

    #[test]
    fn a_regular_buyer_due_soon_is_told_once_per_stock_out_and_once_when_it_is_back() {
        let settings = demo_settings();
        // Bought 20 days ago every 30 days: expected in 10 days, within 30.
        let mut profile = buyer("2026-02-20T10:00:00Z");
        let now = t("2026-03-12T10:00:00Z");
        let out = notice_of(Phase::Out, "2026-03-12T09:00:00Z");
        let Some(crate::domain::MessageData::OutOfStockAlternative {
            expected_back_on, ..
        }) = notice(&mut profile, &out, now, &settings)
        else {
            panic!("told")
        };
        assert_eq!(expected_back_on.as_deref(), Some("2026-03-20"));
        // The same stock-out again (a second out-of-stock, the pass run twice): nothing.
        assert_eq!(notice(&mut profile, &out, now, &settings), None);
        // Back: once.
        let back = notice_of(Phase::Back, "2026-03-12T09:00:00Z");
        assert!(matches!(
            notice(&mut profile, &back, now, &settings),
            Some(crate::domain::MessageData::BackInStock { .. })
        ));
        assert_eq!(notice(&mut profile, &back, now, &settings), None);
        // A new stock-out is news again.
        let next = notice_of(Phase::Out, "2026-04-02T09:00:00Z");
        assert!(notice(&mut profile, &next, t("2026-04-02T10:00:00Z"), &settings).is_some());
    }

    #[test]
    fn nobody_is_told_who_is_not_expected_soon_or_was_never_told() {
        let settings = demo_settings();
        let now = t("2026-03-12T10:00:00Z");
        let out = notice_of(Phase::Out, "2026-03-12T09:00:00Z");
        // Just bought: next expected in 29 days... within 30: told; with 20 days' notice: not.
        let mut fresh = buyer("2026-03-11T10:00:00Z");
        let mut short = settings.clone();
        short.stock_notice_days = 20;
        assert_eq!(notice(&mut fresh, &out, now, &short), None);
        assert!(fresh.stock_told.is_empty(), "nothing recorded");
        // Far overdue (more than one interval): no longer buying it.
        let mut gone = buyer("2025-12-01T10:00:00Z");
        assert_eq!(notice(&mut gone, &out, now, &settings), None);
        // Never bought it as far as the profile knows.
        let mut unknown = buyer("2026-02-20T10:00:00Z");
        unknown.last_ordered.clear();
        assert_eq!(notice(&mut unknown, &out, now, &settings), None);
        // Back in stock for someone never told: nothing.
        let back = notice_of(Phase::Back, "2026-03-12T09:00:00Z");
        let mut never = buyer("2026-02-20T10:00:00Z");
        assert_eq!(notice(&mut never, &back, now, &settings), None);
    }

    #[test]
    fn the_notice_replaces_a_reminder_of_an_earlier_order_and_the_profile_keeps_few() {
        let settings = demo_settings();
        let mut profile = buyer("2026-02-20T10:00:00Z");
        let sku = Sku::parse("THEE-GROEN").unwrap();
        assert!(!replaces_reminder(
            &profile,
            &sku,
            t("2026-02-20T10:00:00Z")
        ));
        let out = notice_of(Phase::Out, "2026-03-12T09:00:00Z");
        notice(&mut profile, &out, t("2026-03-12T10:00:00Z"), &settings).unwrap();
        assert!(replaces_reminder(&profile, &sku, t("2026-02-20T10:00:00Z")));
        assert!(
            !replaces_reminder(&profile, &sku, t("2026-03-13T10:00:00Z")),
            "an order after the stock-out keeps its own reminder"
        );
        for n in 0..12 {
            let sku = Sku::parse(format!("SKU-{n}")).unwrap();
            profile.last_ordered.note(
                &sku,
                t("2026-02-20T10:00:00Z") + SignedDuration::from_secs(n),
            );
            let mut other = notice_of(Phase::Out, "2026-03-12T09:00:00Z");
            other.sku = sku;
            other.stockout = t("2026-03-12T09:00:00Z") + SignedDuration::from_secs(n);
            notice(&mut profile, &other, t("2026-03-12T10:00:00Z"), &settings).unwrap();
        }
        assert_eq!(profile.stock_told.len(), MAX_STOCK_TOLD);
    }

    #[test]
    fn sku_keys_are_short_and_stable() {
        let long = Sku::parse("é#".repeat(60)).unwrap();
        assert_eq!(sku_key(&long).len(), 32);
        assert_eq!(sku_key(&long), sku_key(&long.clone()));
        assert_ne!(sku_key(&long), sku_key(&Sku::parse("BONEN").unwrap()));
    }
}
