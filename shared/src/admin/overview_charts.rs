//! The overview's charts from the tallies of the period's local days: messages per day by
//! outcome, NPS per week with its answers, points per week, orders and revenue attributed per
//! week. Weeks start on Monday; a week cut
//! by the period's edge counts only its days inside the period.

use super::charts::{Chart, Layout, Series, svg, table};
use super::overview::Tally;
use crate::domain::Currency;
use jiff::civil::Date;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// A chart as the page places it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DrawnChart {
    pub id: String,
    pub title: String,
    pub svg: String,
    pub table: String,
}

fn drawn(chart: &Chart) -> DrawnChart {
    DrawnChart {
        id: chart.id.clone(),
        title: chart.title.clone(),
        svg: svg(chart),
        table: table(chart),
    }
}

/// Every day from `from` to `to`, at most a few years' worth.
fn days(from: Date, to: Date) -> Vec<Date> {
    let mut out = Vec::new();
    let mut day = from;
    while day <= to && out.len() < 4000 {
        out.push(day);
        match day.tomorrow() {
            Ok(next) => day = next,
            Err(_) => break,
        }
    }
    out
}

/// The Monday of a day's week.
pub fn week_of(day: Date) -> Date {
    let back = i64::from(day.weekday().to_monday_zero_offset());
    day.saturating_sub(jiff::Span::new().days(back))
}

/// The overview's charts. `t` holds the page's words (see `labels::labels`).
pub fn overview_charts(
    by_day: &BTreeMap<Date, Tally>,
    from: Date,
    to: Date,
    currency: Option<Currency>,
    t: &Value,
) -> Vec<DrawnChart> {
    let word = |k: &str| t.get(k).and_then(Value::as_str).unwrap_or(k).to_owned();
    let period = days(from, to);
    let empty = Tally::default();
    let day_tally = |d: &Date| by_day.get(d).unwrap_or(&empty);

    // Messages per day by outcome.
    let (mut sent, mut skipped, mut held, mut other) = (vec![], vec![], vec![], vec![]);
    for d in &period {
        let (mut s, mut k, mut h, mut c) = (0u32, 0u32, 0u32, 0u32);
        for f in day_tally(d).kinds.values() {
            s += f.sent;
            k += f.skipped;
            h += f.held_out;
            c += f.created;
        }
        sent.push(f64::from(s));
        skipped.push(f64::from(k));
        held.push(f64::from(h));
        other.push(f64::from(c.saturating_sub(s + k + h)));
    }
    let messages = Chart {
        id: "messages".into(),
        title: word("chart_messages"),
        categories: period.iter().map(Date::to_string).collect(),
        series: vec![
            series(word("sent"), "#1f6f5c", sent),
            series(word("skipped"), "#e0b44c", skipped),
            series(word("held_out"), "#8fa8c8", held),
            series(word("not_sent"), "#c96a5b", other),
        ],
        layout: Layout::Stacked,
        fixed: None,
        note: None,
    };

    // Per week: NPS and points.
    let mut weeks: BTreeMap<Date, Tally> = BTreeMap::new();
    for d in &period {
        weeks.entry(week_of(*d)).or_default().add(day_tally(d));
    }
    let week_names: Vec<String> = weeks.keys().map(|w| w.to_string()).collect();
    let scores: Vec<f64> = weeks
        .values()
        .map(|w| w.overview().nps.score.map_or(0.0, f64::from))
        .collect();
    let answers: Vec<String> = weeks.values().map(|w| w.nps.answers.to_string()).collect();
    let nps = Chart {
        id: "nps".into(),
        title: format!("{} ({})", word("chart_nps"), word("week_of")),
        categories: week_names.clone(),
        series: vec![series(word("nps_score"), "#1f6f5c", scores)],
        layout: Layout::SideBySide,
        fixed: Some((-100.0, 100.0)),
        note: Some((word("answers"), answers)),
    };
    let points = Chart {
        id: "points".into(),
        title: format!("{} ({})", word("chart_points"), word("week_of")),
        categories: week_names,
        series: vec![
            series(
                word("issued"),
                "#1f6f5c",
                weeks.values().map(|w| w.points.issued() as f64).collect(),
            ),
            series(
                word("redeemed"),
                "#e0b44c",
                weeks
                    .values()
                    .map(|w| w.points.redeemed_net() as f64)
                    .collect(),
            ),
            series(
                word("expired"),
                "#c96a5b",
                weeks.values().map(|w| w.points.expired as f64).collect(),
            ),
        ],
        layout: Layout::SideBySide,
        fixed: None,
        note: None,
    };
    // Orders and revenue attributed per week: the revenue as bars in whole units of the
    // shop's currency, the orders and the exact amount in the table.
    let revenue_of = |w: &Tally| -> i64 {
        currency.map_or(0, |c| {
            w.kinds
                .values()
                .filter_map(|k| k.revenue.get(c.code()))
                .sum()
        })
    };
    let revenue_name = match currency {
        Some(c) => format!("{} ({})", word("attributed_revenue"), c.code()),
        None => word("attributed_revenue"),
    };
    let attributed = Chart {
        id: "attributed".into(),
        title: format!("{} ({})", word("chart_attributed"), word("week_of")),
        categories: weeks.keys().map(|w| w.to_string()).collect(),
        series: vec![series(
            revenue_name,
            "#1f6f5c",
            weeks
                .values()
                .map(|w| {
                    currency.map_or(0.0, |c| {
                        let scale = 10f64.powi(i32::try_from(c.minor_digits()).unwrap_or(2));
                        (revenue_of(w) as f64 / scale).round()
                    })
                })
                .collect(),
        )],
        layout: Layout::SideBySide,
        fixed: None,
        note: Some((
            word("attributed_orders"),
            weeks
                .values()
                .map(|w| w.kinds.values().map(|k| k.orders).sum::<u32>().to_string())
                .collect(),
        )),
    };
    vec![
        drawn(&messages),
        drawn(&nps),
        drawn(&points),
        drawn(&attributed),
    ]
}

fn series(name: String, colour: &'static str, values: Vec<f64>) -> Series {
    Series {
        name,
        colour,
        values,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::overview::KindFigures;

    #[test]
    fn weeks_start_on_monday_and_every_day_of_the_period_has_a_bar() {
        let d = |s: &str| s.parse::<Date>().unwrap();
        assert_eq!(week_of(d("2026-11-01")), d("2026-10-26")); // a Sunday
        assert_eq!(week_of(d("2026-11-02")), d("2026-11-02"));
        let mut by_day = BTreeMap::new();
        let mut t = Tally::default();
        t.kinds.insert(
            "welcome".into(),
            KindFigures {
                kind: "welcome".into(),
                created: 5,
                sent: 2,
                skipped: 1,
                held_out: 1,
                orders: 2,
                revenue: BTreeMap::from([("EUR".to_owned(), 6485)]),
                ..KindFigures::default()
            },
        );
        t.nps.answers = 2;
        t.nps.promoters = 2;
        by_day.insert(d("2026-11-03"), t);
        let words = crate::admin::labels::labels("en");
        let eur = Currency::parse("EUR").ok();
        let charts = overview_charts(&by_day, d("2026-11-01"), d("2026-11-10"), eur, &words);
        assert_eq!(charts.len(), 4);
        let messages = &charts[0];
        assert_eq!(messages.table.matches("<tr><th scope=\"row\">").count(), 10);
        assert!(messages.table.contains(
            r#"<tr><th scope="row">2026-11-03</th><td class="num">2</td><td class="num">1</td><td class="num">1</td><td class="num">1</td></tr>"#
        ), "{}", messages.table);
        // Three weeks touched: 26 October, 2 and 9 November; NPS 100 from 2 answers.
        let nps = &charts[1];
        assert!(nps.table.contains(
            r#"<tr><th scope="row">2026-11-02</th><td class="num">100</td><td class="num">2</td></tr>"#
        ), "{}", nps.table);
        assert_eq!(nps.table.matches("<tr><th scope=\"row\">").count(), 3);
        // 64.85 EUR from 2 orders in the week of 2 November, as whole euros and the count.
        let attributed = &charts[3];
        assert!(attributed.table.contains(
            r#"<tr><th scope="row">2026-11-02</th><td class="num">65</td><td class="num">2</td></tr>"#
        ), "{}", attributed.table);
        assert!(attributed.table.contains("(EUR)"), "{}", attributed.table);
    }
}
