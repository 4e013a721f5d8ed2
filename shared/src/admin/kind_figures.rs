//! What each kind of message came to in a period, as the overview's table, its CSV and its
//! JSON show it: recipients and their reports, the orders attributed to the kind's messages and
//! what their customers kept of them, the placed-order rate (orders per recipient) and the
//! revenue per recipient.
//!
//! Revenue is shown in the shop's currency: the one its attributed orders were placed in (a
//! customer orders in one shop's currency), the most earned if a period holds more than one;
//! the others are listed beside it, never added to it.

use super::csv::cell;
use super::overview::{KindFigures, Overview};
use crate::domain::{Currency, Money};
use serde::Serialize;
use std::collections::BTreeMap;

/// One kind's figures for a period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KindRow {
    pub kind: String,
    /// Messages that went (SES took them): the recipients.
    pub sent: u32,
    pub delivered: u32,
    pub opened: u32,
    pub clicked: u32,
    /// Customers who unsubscribed through the link of one of the kind's emails.
    pub unsubscribed: u32,
    pub bounced: u32,
    pub complained: u32,
    pub orders: u32,
    /// In the shop's currency; none while no order of the period was attributed.
    pub revenue: Option<Money>,
    /// Revenue in any other currency (a shop that changed currency).
    pub other_revenue: Vec<Money>,
    /// `orders / sent`; none without recipients.
    pub placed_order_rate: Option<f64>,
    /// `revenue / sent`, rounded to the currency's minor unit.
    pub revenue_per_recipient: Option<Money>,
}

/// The currency most revenue was attributed in over the whole period (ties: the first code).
/// A currency whose revenue comes to nothing (its orders all returned) names none: the day
/// counters keep no zero, so the overview reads the same from them as from the log.
pub fn shop_currency(kinds: &[KindFigures]) -> Option<Currency> {
    let mut by_currency: BTreeMap<&str, i64> = BTreeMap::new();
    for k in kinds {
        for (code, minor) in &k.revenue {
            *by_currency.entry(code).or_insert(0) += minor;
        }
    }
    let mut best: Option<(&str, i64)> = None;
    for (code, minor) in by_currency.into_iter().filter(|(_, minor)| *minor != 0) {
        if best.is_none_or(|(_, most)| minor.abs() > most.abs()) {
            best = Some((code, minor));
        }
    }
    best.and_then(|(code, _)| Currency::parse(code).ok())
}

/// The rows of a period's figures, in the order of its kinds.
pub fn kind_rows(figures: &Overview) -> Vec<KindRow> {
    let currency = shop_currency(&figures.kinds);
    figures.kinds.iter().map(|k| row(k, currency)).collect()
}

fn row(k: &KindFigures, currency: Option<Currency>) -> KindRow {
    let revenue = currency.map(|c| Money::new(k.revenue.get(c.code()).copied().unwrap_or(0), c));
    let other_revenue = k
        .revenue
        .iter()
        .filter(|(code, minor)| {
            Some(code.as_str()) != currency.as_ref().map(Currency::code) && **minor != 0
        })
        .filter_map(|(code, minor)| Currency::parse(code).ok().map(|c| Money::new(*minor, c)))
        .collect();
    let placed_order_rate = (k.sent > 0).then(|| round4(f64::from(k.orders) / f64::from(k.sent)));
    let revenue_per_recipient = revenue.filter(|_| k.sent > 0).map(|r| {
        Money::new(
            (r.minor as f64 / f64::from(k.sent)).round() as i64,
            r.currency,
        )
    });
    KindRow {
        kind: k.kind.clone(),
        sent: k.sent,
        delivered: k.delivered,
        opened: k.opened,
        clicked: k.clicked,
        unsubscribed: k.unsubscribed,
        bounced: k.bounced,
        complained: k.complained,
        orders: k.orders,
        revenue,
        other_revenue,
        placed_order_rate,
        revenue_per_recipient,
    }
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// An amount as decimal text without its currency (`"12.34"`).
pub fn amount(m: &Money) -> String {
    let shown = m.to_string();
    shown
        .rsplit_once(' ')
        .map_or(shown.clone(), |(number, _)| number.to_owned())
}

/// Money as the JSON shows it: `{"amount": "12.34", "currency": "EUR"}`.
pub fn money_json(m: &Money) -> serde_json::Value {
    serde_json::json!({ "amount": amount(m), "currency": m.currency.code() })
}

/// A rate as the page shows it: percent with one decimal (`"1.3%"`), `–` without recipients.
pub fn percent_text(rate: Option<f64>) -> String {
    rate.map_or_else(
        || "–".to_owned(),
        |r| format!("{:.1}%", (r * 1000.0).round() / 10.0),
    )
}

/// A row in the JSON answer (`GET /admin?format=json`): codes, numbers and money objects.
pub fn row_json(r: &KindRow) -> serde_json::Value {
    let mut row = serde_json::json!({
        "kind": r.kind,
        "sent": r.sent,
        "delivered": r.delivered,
        "opened": r.opened,
        "clicked": r.clicked,
        "unsubscribed": r.unsubscribed,
        "bounced": r.bounced,
        "complained": r.complained,
        "orders": r.orders,
        "revenue": r.revenue.as_ref().map(money_json),
        "placed_order_rate": r.placed_order_rate,
        "revenue_per_recipient": r.revenue_per_recipient.as_ref().map(money_json),
    });
    if !r.other_revenue.is_empty() {
        row["other_revenue"] = r.other_revenue.iter().map(money_json).collect();
    }
    row
}

/// The CSV header of the figures per kind.
pub const CSV_HEADER: [&str; 14] = [
    "kind",
    "sent",
    "delivered",
    "opened",
    "clicked",
    "unsubscribed",
    "bounced",
    "complained",
    "orders",
    "revenue",
    "currency",
    "placed_order_rate",
    "revenue_per_recipient",
    "other_revenue",
];

/// The figures per kind as CSV (RFC 4180 line ends, every cell quoted and neutralised), for
/// the period `from..=to` of `shop`: a line per kind. Amounts are decimal text in the
/// `currency` column's currency; the rate is a fraction.
pub fn write_csv(rows: &[KindRow]) -> String {
    let mut out = String::new();
    let line = |cells: &[String]| cells.iter().map(|c| cell(c)).collect::<Vec<_>>().join(",");
    out.push_str(&line(&CSV_HEADER.map(str::to_owned)));
    out.push_str("\r\n");
    for r in rows {
        let revenue = r.revenue.as_ref();
        out.push_str(&line(&[
            r.kind.clone(),
            r.sent.to_string(),
            r.delivered.to_string(),
            r.opened.to_string(),
            r.clicked.to_string(),
            r.unsubscribed.to_string(),
            r.bounced.to_string(),
            r.complained.to_string(),
            r.orders.to_string(),
            revenue.map(amount).unwrap_or_default(),
            revenue
                .map(|m| m.currency.code().to_owned())
                .unwrap_or_default(),
            r.placed_order_rate
                .map(|x| x.to_string())
                .unwrap_or_default(),
            r.revenue_per_recipient
                .as_ref()
                .map(amount)
                .unwrap_or_default(),
            r.other_revenue
                .iter()
                .map(Money::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        ]));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(name: &str, sent: u32, orders: u32, revenue: &[(&str, i64)]) -> KindFigures {
        KindFigures {
            kind: name.into(),
            sent,
            orders,
            revenue: revenue.iter().map(|(c, m)| ((*c).to_owned(), *m)).collect(),
            ..KindFigures::default()
        }
    }

    #[test]
    fn revenue_that_came_to_nothing_names_no_currency() {
        let returned = [kind("survey", 3, 1, &[("EUR", 0)])];
        assert_eq!(shop_currency(&returned), None);
        let changed = [
            kind("survey", 3, 1, &[("EUR", 0)]),
            kind("welcome", 2, 1, &[("GBP", -150)]),
        ];
        assert_eq!(shop_currency(&changed), Currency::parse("GBP").ok());
    }

    #[test]
    fn rates_and_revenue_per_recipient_in_the_shops_currency() {
        let figures = Overview {
            kinds: vec![
                kind("reactivation", 400, 5, &[("EUR", 32_425)]),
                kind("welcome", 0, 0, &[]),
                kind("survey", 3, 1, &[("EUR", 1000), ("GBP", 700)]),
            ],
            ..Overview::default()
        };
        let rows = kind_rows(&figures);
        let eur = Currency::parse("EUR").unwrap();
        let r = &rows[0];
        assert_eq!(r.placed_order_rate, Some(0.0125));
        assert_eq!(r.revenue, Some(Money::new(32_425, eur)));
        // 324.25 / 400 = 0.81 (0.810625, rounded to the cent).
        assert_eq!(r.revenue_per_recipient, Some(Money::new(81, eur)));
        assert_eq!(percent_text(r.placed_order_rate), "1.3%");
        // No recipients: no rates; the revenue is still shown as nothing earned.
        assert_eq!(rows[1].placed_order_rate, None);
        assert_eq!(rows[1].revenue_per_recipient, None);
        assert_eq!(rows[1].revenue, Some(Money::new(0, eur)));
        // Another currency is listed beside, never added.
        assert_eq!(rows[2].revenue, Some(Money::new(1000, eur)));
        assert_eq!(rows[2].other_revenue.len(), 1);
        assert_eq!(rows[2].other_revenue[0].minor, 700);
        let json = row_json(r);
        assert_eq!(
            json["revenue"],
            serde_json::json!({"amount": "324.25", "currency": "EUR"})
        );
        assert_eq!(json["revenue_per_recipient"]["amount"], "0.81");
        assert!(json.get("other_revenue").is_none());
        let csv = write_csv(&rows);
        assert!(
            csv.contains(
                r#""reactivation","400","0","0","0","0","0","0","5","324.25","EUR","0.0125","0.81","""#
            ),
            "{csv}"
        );
        // A period without attributed orders has no currency to speak of.
        let none = kind_rows(&Overview {
            kinds: vec![kind("welcome", 2, 0, &[])],
            ..Overview::default()
        });
        assert_eq!(none[0].revenue, None);
        assert_eq!(none[0].placed_order_rate, Some(0.0));
    }
}
