//! Loyalty on the marketers' pages, over HTTP against the local stack: the customer page's
//! balance, tier and paged points history; the overview's points issued, redeemed and
//! outstanding with their worth, and the stock of each reward's code pool, added up from the
//! day summaries rather than from the ledger items.

use base64::Engine;
use bytes::Bytes;
use http_body_util::Full;
use serde_json::{Value, json};
use trouw_local::client::Answer;
use trouw_tests::{ADMIN_PASSWORD, ADMIN_USER, LOYALTY_API_KEY, TestStack, example};

const CUSTOMER: &str = "cus-8812";

async fn admin(stack: &TestStack, path: &str) -> Answer {
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{ADMIN_USER}:{ADMIN_PASSWORD}"));
    let request = http::Request::get(format!("{}{path}", stack.base_url))
        .header("authorization", format!("Basic {basic}"))
        .body(Default::default())
        .unwrap();
    let answer = stack.send(request).await;
    assert_eq!(answer.status, 200, "{path}: {}", answer.body);
    answer
}

async fn loyalty(stack: &TestStack, path: &str, headers: &[(&str, &str)], body: Value) -> Answer {
    let mut request =
        http::Request::post(format!("{}/loyalty/{}/{path}", stack.base_url, stack.shop))
            .header("authorization", format!("Bearer {LOYALTY_API_KEY}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let answer = stack
        .send(
            request
                .body(Full::new(Bytes::from(body.to_string())))
                .unwrap(),
        )
        .await;
    assert!(
        answer.status == 200 || answer.status == 201,
        "{path}: {}",
        answer.body
    );
    answer
}

/// The cells of one row of a chart's table, by the row's name.
fn chart_row(html: &str, chart: &str, row: &str) -> Vec<String> {
    let table = &html[html
        .find(&format!("id=\"chart-{chart}-table\""))
        .unwrap_or_else(|| panic!("the {chart} chart has a table: {html}"))..];
    let table = &table[..table.find("</table>").unwrap()];
    let start = table
        .find(&format!("<th scope=\"row\">{row}</th>"))
        .unwrap_or_else(|| panic!("{chart} has a row {row}: {table}"));
    let line = &table[start..];
    let line = &line[..line.find("</tr>").unwrap()];
    line.split("<td class=\"num\">")
        .skip(1)
        .map(|c| c.trim_end_matches("</td>").to_owned())
        .collect()
}

/// The text of the element with this class (its first occurrence), tags removed.
fn text_of(html: &str, class: &str) -> String {
    let marker = format!("class=\"{class}\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("{class} is on the page: {html}"));
    let rest = &html[start..];
    let open = rest.find('>').unwrap() + 1;
    let close = rest[open..].find("</").unwrap();
    rest[open..open + close].trim().to_owned()
}

/// The points history's lines on a customer page: (what, points).
fn history(html: &str) -> Vec<(String, String)> {
    let table = &html[html.find("class=\"points-history\"").unwrap()..];
    let body = &table[table.find("<tbody>").unwrap()..table.find("</tbody>").unwrap()];
    body.split("<tr>")
        .skip(1)
        .map(|row| {
            let cells: Vec<&str> = row
                .split("<td")
                .skip(1)
                .map(|c| {
                    let c = &c[c.find('>').unwrap() + 1..];
                    &c[..c.find("</td>").unwrap()]
                })
                .collect();
            (cells[1].to_owned(), cells[2].to_owned())
        })
        .collect()
}

#[tokio::test]
async fn the_customer_page_and_the_overview_show_points_balance_history_liability_and_stock() {
    let stack = TestStack::start().await;
    stack.set_now("2026-11-02T10:00:00Z".parse().unwrap());
    // An order (64 points, pending), a welcome gift of 600, 21 small goodwill gestures, and a
    // redemption of 500 for €5 from a pool of three codes.
    assert_eq!(
        stack
            .post("order-placed", &example("order-placed"))
            .await
            .status,
        200
    );
    for (n, points) in std::iter::once(600).chain([1; 21]).enumerate() {
        loyalty(
            &stack,
            &format!("customers/{CUSTOMER}/adjustments"),
            &[("idempotency-key", &format!("gesture-{n}"))],
            json!({ "points": points, "reason": "welcome gift" }),
        )
        .await;
    }
    loyalty(
        &stack,
        "rewards/r5/codes",
        &[],
        json!({ "codes": ["PAGE-1", "PAGE-2", "PAGE-3"] }),
    )
    .await;
    loyalty(
        &stack,
        &format!("customers/{CUSTOMER}/redemptions"),
        &[("idempotency-key", "pages-1")],
        json!({ "reward": "r5" }),
    )
    .await;

    stack.set_now("2026-11-20T10:00:00Z".parse().unwrap());
    let page = admin(&stack, &format!("/admin/customers/{CUSTOMER}?lang=en")).await;
    let html = &page.body;
    assert_eq!(text_of(html, "points-available"), "121");
    assert_eq!(text_of(html, "points-pending"), "64");
    assert_eq!(text_of(html, "points-debt"), "0");
    assert!(text_of(html, "points-tier").starts_with("Brons"), "{html}");
    // Newest first, twenty to a page: the redemption, the gestures, then (on the next page)
    // the gift and the order's points.
    let first = history(html);
    assert_eq!(first.len(), 20, "{html}");
    assert_eq!(first[0], ("redeemed".to_owned(), "-500".to_owned()));
    assert!(
        first[1..]
            .iter()
            .all(|l| *l == ("adjusted by the shop".to_owned(), "+1".to_owned()))
    );
    let older = html
        .split("href=\"")
        .find_map(|part| {
            let link = &part[..part.find('"')?];
            // As a browser reads the attribute.
            link.contains("points=")
                .then(|| link.replace("&#x2f;", "/").replace("&amp;", "&"))
        })
        .expect("a link to older points");
    let second = admin(&stack, &older).await;
    let rest = history(&second.body);
    assert_eq!(
        rest,
        vec![
            ("adjusted by the shop".to_owned(), "+1".to_owned()),
            ("adjusted by the shop".to_owned(), "+1".to_owned()),
            ("adjusted by the shop".to_owned(), "+600".to_owned()),
            ("earned".to_owned(), "+64".to_owned()),
        ]
    );
    assert!(
        !second.body.contains("Older points"),
        "no page after the last"
    );
    let refused = {
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{ADMIN_USER}:{ADMIN_PASSWORD}"));
        let request = http::Request::get(format!(
            "{}/admin/customers/{CUSTOMER}?points=nonsense",
            stack.base_url
        ))
        .header("authorization", format!("Basic {basic}"))
        .body(Default::default())
        .unwrap();
        stack.send(request).await
    };
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(refused.json()["field"], "points");

    // The overview of 1 to 10 November: 64 + 600 + 21 issued, 500 redeemed, 185 outstanding
    // (121 available and 64 pending), worth at most €1.85 at a cent a point (both rewards).
    let overview = admin(&stack, "/admin?from=2026-11-01&to=2026-11-10&lang=en").await;
    let html = &overview.body;
    assert_eq!(text_of(html, "num points-issued"), "685");
    assert_eq!(text_of(html, "num points-redeemed"), "500");
    assert_eq!(text_of(html, "num points-expired"), "0");
    assert_eq!(text_of(html, "num points-taken-back"), "0");
    assert_eq!(text_of(html, "big points-outstanding"), "185");
    assert!(
        text_of(html, "points-liability").contains("1.85 EUR"),
        "{html}"
    );
    // Two codes left of r5, none of the variable reward: both low.
    let pools = &html[html.find("class=\"pools\"").unwrap()..];
    assert!(
        pools.contains("€5 korting</td><td class=\"num\">2 <span"),
        "{pools}"
    );
    assert_eq!(pools.matches("class=\"low-stock\"").count(), 2, "{pools}");
    // The charts: points per week (weeks start on Monday; 1 November is a Sunday), drawn
    // and given as a table; every day of the period has its bar of messages.
    let points_chart = |html: &str| {
        [
            chart_row(html, "points", "2026-10-26"),
            chart_row(html, "points", "2026-11-02"),
            chart_row(html, "points", "2026-11-09"),
        ]
    };
    assert_eq!(
        points_chart(html),
        [["0", "0", "0"], ["685", "500", "0"], ["0", "0", "0"]]
    );
    assert!(
        html.contains("<svg class=\"chart\" id=\"chart-points\""),
        "{html}"
    );
    assert!(html.contains("Points per week"), "{html}");
    let messages_chart = &html[html.find("id=\"chart-messages-table\"").unwrap()..];
    let messages_chart = &messages_chart[..messages_chart.find("</table>").unwrap()];
    assert_eq!(messages_chart.matches("<th scope=\"row\">").count(), 10);
    let (sent, skipped, held, other) = {
        let r = chart_row(html, "messages", "2026-11-02");
        (r[0].clone(), r[1].clone(), r[2].clone(), r[3].clone())
    };
    assert_eq!(
        chart_row(html, "messages", "2026-11-01"),
        ["0", "0", "0", "0"]
    );
    let created: u32 = [&sent, &skipped, &held, &other]
        .iter()
        .map(|n| n.parse::<u32>().unwrap())
        .sum();
    assert!(
        created > 0,
        "the order's messages are on 2 November: {messages_chart}"
    );

    // Those days are over: their counts are kept in the day summaries. Without the ledger
    // items the overview says the same, so it never read them one by one.
    for item in stack.snapshot().await {
        let sk = item["sk"].as_s().unwrap();
        if sk.starts_with("LEDGER#") {
            stack
                .dynamo
                .delete_item()
                .table_name(&stack.table)
                .key("pk", item["pk"].clone())
                .key("sk", item["sk"].clone())
                .send()
                .await
                .unwrap();
        }
    }
    let again = admin(&stack, "/admin?from=2026-11-01&to=2026-11-10&lang=en").await;
    assert_eq!(text_of(&again.body, "num points-issued"), "685");
    // The charts from the kept summaries put each day's counts on the same local day.
    assert_eq!(
        points_chart(&again.body),
        [["0", "0", "0"], ["685", "500", "0"], ["0", "0", "0"]]
    );
    assert_eq!(
        chart_row(&again.body, "messages", "2026-11-02"),
        [sent, skipped, held, other]
    );
    let dutch = admin(&stack, "/admin?from=2026-11-01&to=2026-11-10&lang=nl").await;
    assert!(dutch.body.contains("Punten per week"), "{}", dutch.body);
    assert!(dutch.body.contains("Berichten per dag naar uitkomst"));
    assert_eq!(text_of(&again.body, "big points-outstanding"), "185");
    // A later period issued nothing; what customers hold is still counted from the first
    // day the summaries know.
    let later = admin(&stack, "/admin?from=2026-11-05&to=2026-11-12&lang=en").await;
    assert_eq!(text_of(&later.body, "num points-issued"), "0");
    assert_eq!(text_of(&later.body, "big points-outstanding"), "185");
}
