//! Uplift against the holdout over HTTP: held-out customers convert from when their message
//! would have gone, treated ones from the send, within the window only; the overview counts
//! both groups from the day summaries (a conversion on a kept day is counted again), says
//! "not enough data yet" under 100 customers a group, and with enough shows the uplift and its
//! interval.

use base64::Engine;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use trouw::domain::{CustomerId, EventId, MessageClass, MessageData, MessageIntent};
use trouw::handlers::run_schedule::run_pass;
use trouw::handlers::send_messages::{SenderApp, deliver_pending};
use trouw::store::{MessageRecord, MessageStatus};
use trouw_tests::client::Answer;
use trouw_tests::{ADMIN_PASSWORD, ADMIN_USER, Item, TestStack, example, unique};

/// The contract's order was placed at 09:14:03 in Amsterdam on 2 November 2026.
fn day(n: i64) -> Timestamp {
    "2026-11-02T08:14:03Z".parse::<Timestamp>().unwrap() + SignedDuration::from_hours(24 * n)
}

fn date(at: Timestamp) -> String {
    at.to_zoned_datetime(jiff::tz::TimeZone::get("Europe/Amsterdam").unwrap())
        .date()
        .to_string()
}

fn order_body(customer: &str, email: &str, order: &str, at: Timestamp) -> Value {
    let mut body = example("order-placed");
    body["occurred_at"] = json!(at.to_string());
    body["order"]["id"] = json!(order);
    body["order"]["placed_at"] = json!(at.to_string());
    body["customer"]["id"] = json!(customer);
    body["customer"]["email"] = json!(email);
    for line in body["order"]["lines"].as_array_mut().unwrap() {
        let line = line.as_object_mut().unwrap();
        line.remove("category");
        line.remove("replenish_after_days");
    }
    body
}

async fn place(stack: &TestStack, sender: &SenderApp, body: &Value) {
    let answer = stack.post("order-placed", body).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let customer = CustomerId::parse(body["customer"]["id"].as_str().unwrap()).unwrap();
    deliver_pending(sender, &stack.shop, &customer)
        .await
        .unwrap();
}

async fn admin(stack: &TestStack, path: &str) -> Answer {
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{ADMIN_USER}:{ADMIN_PASSWORD}"))
    );
    let request = http::Request::get(format!("{}{path}", stack.base_url))
        .header("authorization", basic)
        .body(Default::default())
        .unwrap();
    stack.send(request).await
}

/// The overview of `from..=to` in `lang`.
async fn overview(stack: &TestStack, from: &str, to: &str, lang: &str) -> String {
    let answer = admin(
        stack,
        &format!("/admin?shop={}&from={from}&to={to}&lang={lang}", stack.shop),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body
}

/// The uplift table's row of `kind`.
fn uplift_row<'a>(page: &'a str, kind: &str) -> &'a str {
    let start = page
        .find(&format!("<tr id=\"uplift-{kind}\">"))
        .unwrap_or_else(|| panic!("no uplift row for {kind}: {page}"));
    let row = &page[start..];
    &row[..row.find("</tr>").unwrap()]
}

/// The number in the row's cell of `class`.
fn cell(row: &str, class: &str) -> String {
    let marker = format!("class=\"num {class}\">");
    let start = row
        .find(&marker)
        .unwrap_or_else(|| panic!("{class}: {row}"))
        + marker.len();
    row[start..].split('<').next().unwrap().to_owned()
}

async fn message(stack: &TestStack, customer: &str, prefix: &str) -> MessageRecord {
    stack
        .store()
        .messages(&stack.shop, &CustomerId::parse(customer).unwrap())
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.intent.key.starts_with(prefix))
        .unwrap_or_else(|| panic!("{customer} has no {prefix}"))
}

#[tokio::test]
async fn held_out_and_treated_customers_convert_within_the_window_from_when_their_message_went_or_would_have()
 {
    let stack = TestStack::start().await;
    stack.update_shop(|s| s.holdout_percent = 50).await;
    let sender = stack.sender(stack.clock(), None).await;
    let schedule = stack.schedule(stack.clock(), None).await;
    let held = |id: &String| {
        trouw::domain::is_held_out(&stack.shop, &CustomerId::parse(id.as_str()).unwrap(), 50)
    };
    let ids: Vec<String> = (0..64).map(|i| format!("cus-u{i}")).collect();
    let mut out = ids.iter().filter(|id| held(id)).cloned();
    let mut kept = ids.iter().filter(|id| !held(id)).cloned();
    // Held out: one orders inside the window, one a day after it. Treated: one orders inside
    // the window, one never.
    let (held_in, held_late) = (out.next().unwrap(), out.next().unwrap());
    let (treated_in, treated_none) = (kept.next().unwrap(), kept.next().unwrap());
    let email = |id: &str| format!("{}@example.nl", unique(id));
    let emails: Vec<(String, String)> = [&held_in, &held_late, &treated_in, &treated_none]
        .into_iter()
        .map(|id| (id.clone(), email(id)))
        .collect();
    stack.set_now(day(0) + SignedDuration::from_hours(1));
    for (n, (id, address)) in emails.iter().enumerate() {
        place(
            &stack,
            &sender,
            &order_body(id, address, &format!("U-{n}"), day(0)),
        )
        .await;
    }
    // One-time buyers lapse after 240 days: the reactivation question goes (or is held out)
    // at 10:14 in Amsterdam.
    let asked = day(240) + SignedDuration::from_hours(1);
    stack.set_now(asked);
    run_pass(&schedule).await.unwrap();
    let held_message = message(&stack, &held_in, "reactivation#").await;
    assert_eq!(held_message.status, MessageStatus::HeldOut);
    let (profile, _) = stack.customer(&held_in).await;
    let touch = profile
        .unwrap()
        .mail
        .held_out_touch
        .expect("a held-out touch");
    assert_eq!(touch.key, held_message.intent.key);
    assert!(
        touch.at >= asked && touch.at < asked + SignedDuration::from_mins(1),
        "it would have gone at once: {touch:?}"
    );
    // Small on the profile: its key and two times in epoch seconds.
    let stored = serde_json::to_string(&touch).unwrap();
    assert!(stored.len() <= 70, "{} bytes: {stored}", stored.len());
    assert_eq!(
        message(&stack, &treated_in, "reactivation#").await.status,
        MessageStatus::Sent
    );

    // Three days later the overview keeps the day's summary: no orders yet.
    let (from, today) = (date(asked), date(day(243)));
    stack.set_now(day(243));
    let page = overview(&stack, &from, &today, "en").await;
    let row = uplift_row(&page, "reactivation");
    let counts = |row: &str| {
        ["treated", "treated-ordered", "held-out", "held-out-ordered"].map(|c| cell(row, c))
    };
    assert_eq!(counts(row), ["2", "0", "2", "0"], "{row}");
    assert!(
        row.contains("Not enough data yet: at least 100 customers per group are needed."),
        "{row}"
    );
    assert!(page.contains(trouw::domain::uplift::HOW_UPLIFT_IS_COMPUTED));
    // The shop holds replenishment out too (the default kinds): its line waits for data.
    assert_eq!(
        counts(uplift_row(&page, "replenishment")),
        ["0", "0", "0", "0"]
    );

    // Two days after the question: inside the window for both groups.
    let address = |id: &str| emails.iter().find(|(c, _)| c == id).unwrap().1.clone();
    place(
        &stack,
        &sender,
        &order_body(&held_in, &address(&held_in), "U-H2", day(242)),
    )
    .await;
    place(
        &stack,
        &sender,
        &order_body(&treated_in, &address(&treated_in), "U-T2", day(242)),
    )
    .await;
    // Six days after: outside the held-out customer's window.
    stack.set_now(day(246) + SignedDuration::from_hours(2));
    place(
        &stack,
        &sender,
        &order_body(
            &held_late,
            &address(&held_late),
            "U-L2",
            day(246) + SignedDuration::from_hours(2),
        ),
    )
    .await;

    let (_, orders) = stack.customer(&held_in).await;
    let converted = orders.iter().find(|o| o.id.as_str() == "U-H2").unwrap();
    assert_eq!(converted.held_out_for.as_ref(), Some(&touch.key));
    assert_eq!(converted.attributed_to, None);
    let held_message = message(&stack, &held_in, "reactivation#").await;
    assert_eq!(
        (
            held_message.earned.held_out_orders,
            held_message.earned.held_out_revenue_minor,
            held_message.earned.attributed_orders
        ),
        (1, 6485, 0)
    );
    let treated_message = message(&stack, &treated_in, "reactivation#").await;
    assert_eq!(
        (
            treated_message.earned.attributed_orders,
            treated_message.earned.held_out_orders
        ),
        (1, 0)
    );
    let (_, orders) = stack.customer(&held_late).await;
    let late = orders.iter().find(|o| o.id.as_str() == "U-L2").unwrap();
    assert_eq!((&late.held_out_for, &late.attributed_to), (&None, &None));
    let late_message = message(&stack, &held_late, "reactivation#").await;
    assert_eq!(late_message.earned.held_out_orders, 0);

    // The kept day was marked changed by the conversions: the overview counts them.
    let page = overview(&stack, &from, &date(day(246)), "nl").await;
    let row = uplift_row(&page, "reactivation");
    assert_eq!(counts(row), ["2", "1", "2", "1"], "{row}");
    assert!(row.contains("Nog niet genoeg gegevens"), "{row}");
    assert!(page.contains(trouw::admin::uplift::how_computed("nl")));
}

/// A message of `kind` created at `created`, sent or held out, with an order of 50.00 after it
/// when `ordered`.
fn seeded(
    stack: &TestStack,
    n: usize,
    status: MessageStatus,
    ordered: bool,
    created: Timestamp,
) -> Item {
    let customer = CustomerId::parse(format!("cus-s{n}")).unwrap();
    let sent = status == MessageStatus::Sent;
    let data = MessageData::Reactivation {
        months_since_last_order: 8,
    };
    let intent = MessageIntent {
        key: format!("reactivation#e-{n}"),
        customer_id: customer,
        class: MessageClass::Service,
        locale: None,
        data,
        created_at: created,
    };
    let mut record = MessageRecord {
        status,
        reason: (!sent).then(|| "holdout".into()),
        ses_message_id: sent.then(|| format!("ses-{n}")),
        sent_at: sent.then_some(created),
        ..MessageRecord::pending_for(
            &stack.shop,
            EventId::parse(format!("e-{n}")).unwrap(),
            &intent,
        )
    };
    if ordered {
        let earned = &mut record.earned;
        earned.attributed_currency = Some(trouw::domain::Currency::EUR);
        earned.first_order_at = Some(created + SignedDuration::from_hours(24));
        if sent {
            (earned.attributed_orders, earned.attributed_revenue_minor) = (1, 5000);
        } else {
            (earned.held_out_orders, earned.held_out_revenue_minor) = (1, 5000);
        }
    }
    trouw::store::message_item(&record).unwrap()
}

#[tokio::test]
async fn with_a_hundred_customers_a_group_the_overview_shows_the_uplift_and_its_interval() {
    let stack = TestStack::start().await;
    stack.update_shop(|s| s.holdout_percent = 50).await;
    // Three days ago, at noon in Amsterdam: 300 asked, 30 of whom ordered (10%); 200 held
    // out, 10 of whom ordered (5%); every order kept 50.00.
    let now = stack.clock().now();
    let created = now - SignedDuration::from_hours(72);
    let mut items = Vec::new();
    for n in 0..300 {
        items.push(seeded(&stack, n, MessageStatus::Sent, n < 30, created));
    }
    for n in 300..500 {
        items.push(seeded(&stack, n, MessageStatus::HeldOut, n < 310, created));
    }
    stack.seed(items).await;
    let (from, to) = (date(created - SignedDuration::from_hours(24)), date(now));

    let page = overview(&stack, &from, &to, "en").await;
    let row = uplift_row(&page, "reactivation");
    assert_eq!(cell(row, "treated"), "300");
    assert_eq!(cell(row, "treated-ordered"), "30");
    assert_eq!(cell(row, "held-out"), "200");
    assert_eq!(cell(row, "held-out-ordered"), "10");
    assert_eq!(cell(row, "rates"), "10.0% / 5.0%");
    // 5 points more over 300 customers: 15 orders; 5.00 against 2.50 per customer: 750.00.
    assert_eq!(cell(row, "incremental-orders"), "15.0");
    assert_eq!(cell(row, "incremental-revenue"), "750.00 EUR");
    // se = sqrt(0.1 * 0.9 / 300 + 0.05 * 0.95 / 200) = 0.023184; 1.96 se = 0.045440: the
    // difference lies in 0.456 .. 9.544 points, relative to 5%: 9.1% .. 190.9%.
    assert_eq!(
        cell(row, "uplift-percent"),
        "100.0% (95% interval 9.1% … 190.9%)"
    );
    let page = overview(&stack, &from, &to, "nl").await;
    let row = uplift_row(&page, "reactivation");
    assert_eq!(
        cell(row, "uplift-percent"),
        "100.0% (95%-interval 9.1% … 190.9%)"
    );
    stack
        .dynamo
        .delete_table()
        .table_name(&stack.table)
        .send()
        .await
        .unwrap();
}
