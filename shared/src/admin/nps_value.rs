//! What promoters, passives and detractors are worth: the average historic value of the
//! customers in each NPS group, and promoters' value as a multiple of detractors'.
//!
//! Each survey answer carries what its customer had spent and kept when they answered (see
//! [`ActivityKind::SurveyAnswered`](crate::domain::ActivityKind)), so the day summaries add
//! the values up per group as they count the NPS (the latest answer per order and day), and a
//! period's figures come from the same summaries: no customer is read.

use super::kind_figures::money_json;
use crate::domain::{Currency, Money};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Fewer answers with a value than this among promoters or among detractors, and the page
/// says "not enough data" instead of a ratio: below it one big spender moves the ratio.
pub const MIN_ANSWERS: u32 = 20;

/// Answers with a value and the sum of their values, in minor units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Sum {
    pub answers: i64,
    pub minor: i64,
}

/// Per currency code.
pub type Sums = BTreeMap<String, Sum>;

/// What a day summary keeps: per group, the answers that carry a value and their sum.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupValues {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub promoters: Sums,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub passives: Sums,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub detractors: Sums,
}

impl GroupValues {
    pub fn is_empty(&self) -> bool {
        *self == GroupValues::default()
    }

    /// One answer of `score` whose customer was worth `value`.
    pub fn count(&mut self, score: u8, value: Money) {
        let group = match score {
            9..=10 => &mut self.promoters,
            7..=8 => &mut self.passives,
            _ => &mut self.detractors,
        };
        let slot = group.entry(value.currency.code().to_owned()).or_default();
        slot.answers += 1;
        slot.minor = slot.minor.saturating_add(value.minor);
    }

    pub fn add(&mut self, other: &GroupValues) {
        for (mine, theirs) in [
            (&mut self.promoters, &other.promoters),
            (&mut self.passives, &other.passives),
            (&mut self.detractors, &other.detractors),
        ] {
            for (currency, sum) in theirs {
                let slot = mine.entry(currency.clone()).or_default();
                slot.answers += sum.answers;
                slot.minor = slot.minor.saturating_add(sum.minor);
            }
        }
    }
}

/// One group's figures in the period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupFigure {
    /// `promoters`, `passives` or `detractors`.
    pub group: &'static str,
    /// Answers in the group that carry a value in the currency shown: the group's size here.
    pub answers: u32,
    /// Their average value; none without answers.
    pub average_value: Option<Money>,
}

/// The comparison as the page and the JSON show it.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueByGroup {
    /// The currency most answers carry (ties: the first code); others are left out.
    pub currency: Option<Currency>,
    pub groups: [GroupFigure; 3],
    /// Promoters' average value / detractors', two decimals; none without enough data or
    /// when detractors are worth nothing on average.
    pub ratio: Option<f64>,
    /// At least [`MIN_ANSWERS`] promoters and as many detractors.
    pub enough_data: bool,
}

/// The period's comparison from its summed group values.
pub fn value_by_group(values: &GroupValues) -> ValueByGroup {
    let mut answers_by_currency: BTreeMap<&str, i64> = BTreeMap::new();
    for sums in [&values.promoters, &values.passives, &values.detractors] {
        for (code, sum) in sums {
            *answers_by_currency.entry(code).or_default() += sum.answers;
        }
    }
    let mut best: Option<(&str, i64)> = None;
    for (code, n) in answers_by_currency {
        if best.is_none_or(|(_, most)| n > most) {
            best = Some((code, n));
        }
    }
    let currency = best.and_then(|(code, _)| Currency::parse(code).ok());
    let figure = |group: &'static str, sums: &Sums| {
        let Sum {
            answers: n,
            minor: sum,
        } = currency
            .and_then(|c| sums.get(c.code()).copied())
            .unwrap_or_default();
        GroupFigure {
            group,
            answers: u32::try_from(n).unwrap_or(u32::MAX),
            average_value: currency
                .filter(|_| n > 0)
                .map(|c| Money::new(divide_rounded(sum, n), c)),
        }
    };
    let groups = [
        figure("promoters", &values.promoters),
        figure("passives", &values.passives),
        figure("detractors", &values.detractors),
    ];
    let enough_data = groups[0].answers >= MIN_ANSWERS && groups[2].answers >= MIN_ANSWERS;
    let ratio = match (&groups[0].average_value, &groups[2].average_value) {
        (Some(p), Some(d)) if enough_data && d.minor > 0 => {
            Some((p.minor as f64 / d.minor as f64 * 100.0).round() / 100.0)
        }
        _ => None,
    };
    ValueByGroup {
        currency,
        groups,
        ratio,
        enough_data,
    }
}

/// `n / d` rounded half away from zero (d > 0).
fn divide_rounded(n: i64, d: i64) -> i64 {
    let (n, d) = (i128::from(n), i128::from(d));
    let q = (n.abs() + d / 2) / d;
    i64::try_from(if n < 0 { -q } else { q }).unwrap_or(i64::MAX)
}

/// The comparison in the overview's JSON (`value_by_nps`).
pub fn value_json(v: &ValueByGroup) -> serde_json::Value {
    serde_json::json!({
        "currency": v.currency.map(|c| c.code().to_owned()),
        "groups": v.groups.iter().map(|g| serde_json::json!({
            "group": g.group,
            "answers": g.answers,
            "average_value": g.average_value.as_ref().map(money_json),
        })).collect::<Vec<_>>(),
        "promoters_to_detractors": v.ratio,
        "enough_data": v.enough_data,
        "min_answers": MIN_ANSWERS,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(minor: i64) -> Money {
        Money::new(minor, Currency::EUR)
    }

    #[test]
    fn averages_per_group_and_the_ratio_once_both_ends_have_enough_answers() {
        let mut values = GroupValues::default();
        for _ in 0..MIN_ANSWERS {
            values.count(10, eur(30_000));
            values.count(3, eur(10_000));
        }
        values.count(8, eur(5_001));
        values.count(7, eur(5_000));
        let v = value_by_group(&values);
        assert_eq!(v.currency, Some(Currency::EUR));
        let sizes: Vec<u32> = v.groups.iter().map(|g| g.answers).collect();
        assert_eq!(sizes, [20, 2, 20]);
        assert_eq!(v.groups[0].average_value, Some(eur(30_000)));
        // 50.005 rounds half away from zero.
        assert_eq!(v.groups[1].average_value, Some(eur(5_001)));
        assert_eq!(v.groups[2].average_value, Some(eur(10_000)));
        assert!(v.enough_data);
        assert_eq!(v.ratio, Some(3.0));
        let json = value_json(&v);
        assert_eq!(json["groups"][0]["average_value"]["amount"], "300.00");
        assert_eq!(json["promoters_to_detractors"], 3.0);

        // One detractor fewer: the averages stand, the ratio waits for more answers.
        let mut short = GroupValues::default();
        for _ in 0..MIN_ANSWERS {
            short.count(9, eur(30_000));
        }
        for _ in 1..MIN_ANSWERS {
            short.count(0, eur(10_000));
        }
        let v = value_by_group(&short);
        assert!(!v.enough_data);
        assert_eq!(v.ratio, None);
        assert_eq!(v.groups[2].average_value, Some(eur(10_000)));
        assert_eq!(
            value_json(&v)["promoters_to_detractors"],
            serde_json::Value::Null
        );
    }

    #[test]
    fn values_add_up_across_days_and_another_currency_is_left_out() {
        let mut day1 = GroupValues::default();
        day1.count(10, eur(1_000));
        day1.count(10, Money::new(99_999, Currency::parse("GBP").unwrap()));
        let mut day2 = GroupValues::default();
        day2.count(9, eur(2_000));
        day2.count(6, eur(0));
        let mut sum = GroupValues::default();
        sum.add(&day1);
        sum.add(&day2);
        assert_eq!(
            sum.promoters["EUR"],
            Sum {
                answers: 2,
                minor: 3_000
            }
        );
        let v = value_by_group(&sum);
        assert_eq!(v.currency, Some(Currency::EUR));
        assert_eq!(v.groups[0].answers, 2);
        assert_eq!(v.groups[0].average_value, Some(eur(1_500)));
        assert_eq!(v.groups[1].average_value, None);
        assert_eq!(v.groups[2].average_value, Some(eur(0)));
        let kept = serde_json::to_string(&sum).unwrap();
        assert_eq!(serde_json::from_str::<GroupValues>(&kept).unwrap(), sum);
        assert!(!kept.contains("passives"), "{kept}");
        for lang in ["nl", "en"] {
            let words = crate::admin::labels::labels(lang);
            let said = words["nps_value_not_enough"].as_str().unwrap();
            assert!(said.contains(&format!(" {MIN_ANSWERS} ")), "{said}");
        }
        let none = value_by_group(&GroupValues::default());
        assert_eq!(
            (none.currency, none.ratio, none.enough_data),
            (None, None, false)
        );
    }
}
