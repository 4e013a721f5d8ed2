//! Uplift on the overview: per kind that a shop holds out, the treated (sent) and held-out
//! messages of the period, how many of them an order followed within the attribution window,
//! and what those orders kept, counted into the day summaries; then the figures the page,
//! and the JSON, show (`domain::uplift` does the statistics).

use crate::domain::uplift::{GroupOutcome, HOW_UPLIFT_IS_COMPUTED, Uplift, uplift};
use crate::domain::{Currency, HOLDABLE_KINDS, MessageRecord, MessageStatus, Money};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One group's counts: its messages (one customer each), those an order followed within the
/// window, and what those orders kept, by currency (minor units).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupCounts {
    pub customers: u32,
    pub converted: u32,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub revenue_minor: BTreeMap<String, i64>,
}

impl GroupCounts {
    fn add(&mut self, other: &GroupCounts) {
        self.customers += other.customers;
        self.converted += other.converted;
        for (currency, minor) in &other.revenue_minor {
            *self.revenue_minor.entry(currency.clone()).or_insert(0) += minor;
        }
    }

    fn count(&mut self, orders: u32, revenue_minor: i64, currency: Option<Currency>) {
        self.customers += 1;
        self.converted += u32::from(orders > 0);
        if let Some(currency) = currency.filter(|_| revenue_minor != 0) {
            *self
                .revenue_minor
                .entry(currency.code().to_owned())
                .or_insert(0) += revenue_minor;
        }
    }

    fn outcome(&self, currency: Option<&str>) -> GroupOutcome {
        GroupOutcome {
            customers: u64::from(self.customers),
            converted: u64::from(self.converted),
            revenue_minor: currency
                .and_then(|c| self.revenue_minor.get(c).copied())
                .unwrap_or(0),
        }
    }
}

/// A kind's two groups, as a day summary keeps them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HoldoutGroups {
    pub treated: GroupCounts,
    pub held_out: GroupCounts,
}

impl HoldoutGroups {
    pub fn add(&mut self, other: &HoldoutGroups) {
        self.treated.add(&other.treated);
        self.held_out.add(&other.held_out);
    }
}

/// Counts a message into its kind's groups: a sent message of a kind that can be held out is
/// treated (its attributed orders), a HELD_OUT one is held out (the orders after it would
/// have gone). Other messages count for neither.
pub fn count_message(groups: &mut BTreeMap<String, HoldoutGroups>, m: &MessageRecord) {
    let kind = m.intent.data.kind();
    if !HOLDABLE_KINDS.contains(&kind) {
        return;
    }
    let earned = &m.earned;
    let currency = earned.attributed_currency;
    if m.status == MessageStatus::HeldOut {
        groups.entry(kind.to_owned()).or_default().held_out.count(
            earned.held_out_orders,
            earned.held_out_revenue_minor,
            currency,
        );
    } else if m.sent_at.is_some() || m.delivery_status.is_some() {
        groups.entry(kind.to_owned()).or_default().treated.count(
            earned.attributed_orders,
            earned.attributed_revenue_minor,
            currency,
        );
    }
}

/// A kind's uplift as the page shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UpliftFigures {
    pub kind: String,
    pub treated: u32,
    pub held_out: u32,
    pub treated_converted: u32,
    pub held_out_converted: u32,
    /// Both groups have at least 100 customers: the figures below are given.
    pub enough_data: bool,
    /// Conversion within the window, in percent (one decimal).
    pub treated_rate: Option<f64>,
    pub held_out_rate: Option<f64>,
    /// Orders the treated placed beyond what the held-out rate predicts (one decimal).
    pub incremental_orders: Option<f64>,
    /// Revenue beyond the held-out group's per customer, times the treated, per currency.
    pub incremental_revenue: Vec<Amount>,
    /// Relative to the held-out rate, in percent (one decimal): none without held-out
    /// conversions.
    pub uplift_percent: Option<f64>,
    /// The 95% interval of the uplift, in percent.
    pub uplift_low: Option<f64>,
    pub uplift_high: Option<f64>,
    /// The 95% interval of the difference in conversion, in percentage points.
    pub difference_low: Option<f64>,
    pub difference_high: Option<f64>,
}

/// An amount as the JSON gives it: `{"amount": "12.34", "currency": "EUR"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Amount {
    pub amount: String,
    pub currency: String,
}

impl Amount {
    fn of(minor: i64, code: &str) -> Option<Amount> {
        let currency = Currency::parse(code).ok()?;
        let shown = Money::new(minor, currency).to_string();
        let amount = shown.split(' ').next().unwrap_or_default().to_owned();
        Some(Amount {
            amount,
            currency: code.to_owned(),
        })
    }
}

fn one_decimal(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// The uplift of each kind the shop holds out (`holdout_kinds`, in that order), then of any
/// other kind the period has held-out messages of (held out under an earlier setting).
pub fn uplift_figures(
    groups: &BTreeMap<String, HoldoutGroups>,
    holdout_kinds: &[String],
) -> Vec<UpliftFigures> {
    let mut kinds: Vec<&str> = holdout_kinds.iter().map(String::as_str).collect();
    for (kind, g) in groups {
        if g.held_out.customers > 0 && !kinds.contains(&kind.as_str()) {
            kinds.push(kind);
        }
    }
    let none = HoldoutGroups::default();
    kinds
        .into_iter()
        .map(|kind| figures(kind, groups.get(kind).unwrap_or(&none)))
        .collect()
}

fn figures(kind: &str, g: &HoldoutGroups) -> UpliftFigures {
    let mut currencies: Vec<&String> = g
        .treated
        .revenue_minor
        .keys()
        .chain(g.held_out.revenue_minor.keys())
        .collect();
    currencies.sort();
    currencies.dedup();
    let first = currencies.first().map(|c| c.as_str());
    let mut shown = UpliftFigures {
        kind: kind.to_owned(),
        treated: g.treated.customers,
        held_out: g.held_out.customers,
        treated_converted: g.treated.converted,
        held_out_converted: g.held_out.converted,
        enough_data: false,
        treated_rate: None,
        held_out_rate: None,
        incremental_orders: None,
        incremental_revenue: Vec::new(),
        uplift_percent: None,
        uplift_low: None,
        uplift_high: None,
        difference_low: None,
        difference_high: None,
    };
    let Uplift::Measured(m) = uplift(g.treated.outcome(first), g.held_out.outcome(first)) else {
        return shown;
    };
    shown.enough_data = true;
    shown.treated_rate = Some(one_decimal(m.treated_rate * 100.0));
    shown.held_out_rate = Some(one_decimal(m.held_out_rate * 100.0));
    shown.incremental_orders = Some(one_decimal(m.incremental_orders));
    shown.uplift_percent = m.uplift_percent.map(one_decimal);
    shown.uplift_low = m.uplift_interval_percent.map(|(low, _)| one_decimal(low));
    shown.uplift_high = m.uplift_interval_percent.map(|(_, high)| one_decimal(high));
    shown.difference_low = Some(one_decimal(m.difference_interval_points.0));
    shown.difference_high = Some(one_decimal(m.difference_interval_points.1));
    shown.incremental_revenue = currencies
        .iter()
        .filter_map(|c| {
            match uplift(
                g.treated.outcome(Some(c.as_str())),
                g.held_out.outcome(Some(c.as_str())),
            ) {
                Uplift::Measured(m) => Amount::of(m.incremental_revenue_minor, c),
                Uplift::NotEnoughData { .. } => None,
            }
        })
        .collect();
    shown
}

/// The sentence under the figures, in the page's language.
pub fn how_computed(lang: &str) -> &'static str {
    if lang == "en" {
        HOW_UPLIFT_IS_COMPUTED
    } else {
        "Uplift is het aandeel klanten dat de e-mail kreeg en binnen het toeschrijvingsvenster bestelde, min dat aandeel in de controlegroep (geteld vanaf het moment dat hun e-mail zou zijn verstuurd), ten opzichte van het aandeel in de controlegroep; het 95%-interval is het normale interval voor het verschil van twee proporties."
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(treated: (u32, u32, i64), held_out: (u32, u32, i64)) -> HoldoutGroups {
        let g = |(customers, converted, minor): (u32, u32, i64)| GroupCounts {
            customers,
            converted,
            revenue_minor: BTreeMap::from([("EUR".to_owned(), minor)]),
        };
        HoldoutGroups {
            treated: g(treated),
            held_out: g(held_out),
        }
    }

    #[test]
    fn each_held_out_kind_gets_its_figures_or_not_enough_data() {
        let counted = BTreeMap::from([
            (
                "reactivation".to_owned(),
                groups((1000, 80, 400_000), (200, 10, 40_000)),
            ),
            (
                "replenishment".to_owned(),
                groups((150, 30, 90_000), (99, 9, 4_000)),
            ),
            // Held out under an earlier setting: still shown.
            ("care-tip".to_owned(), groups((0, 0, 0), (3, 1, 500))),
        ]);
        let kinds = vec!["reactivation".to_owned(), "replenishment".to_owned()];
        let got = uplift_figures(&counted, &kinds);
        let names: Vec<&str> = got.iter().map(|f| f.kind.as_str()).collect();
        assert_eq!(names, ["reactivation", "replenishment", "care-tip"]);
        let r = &got[0];
        assert!(r.enough_data);
        assert_eq!((r.treated_rate, r.held_out_rate), (Some(8.0), Some(5.0)));
        assert_eq!(r.incremental_orders, Some(30.0));
        assert_eq!(r.uplift_percent, Some(60.0));
        assert_eq!((r.uplift_low, r.uplift_high), (Some(-9.1), Some(129.1)));
        assert_eq!(
            r.incremental_revenue,
            vec![Amount {
                amount: "2000.00".into(),
                currency: "EUR".into()
            }]
        );
        let short = &got[1];
        assert!(!short.enough_data, "99 held out is not enough");
        assert_eq!((short.treated, short.held_out), (150, 99));
        assert_eq!(short.uplift_percent, None);
        assert!(short.incremental_revenue.is_empty());
        // A kind the shop holds out with nothing counted yet still has its line.
        let fresh = uplift_figures(&BTreeMap::new(), &["care-tip".to_owned()]);
        assert_eq!((fresh[0].treated, fresh[0].enough_data), (0, false));
    }

    #[test]
    fn groups_of_stretches_add_up() {
        let mut sum = groups((1, 1, 100), (2, 0, 0));
        sum.add(&groups((3, 1, 50), (1, 1, 20)));
        assert_eq!(sum, groups((4, 2, 150), (3, 1, 20)));
    }
}
