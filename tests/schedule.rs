//! The schedule: deferred messages come back through the due index when due, and a pass reads
//! only what is due.

use serde_json::json;
use std::sync::Arc;
use trouw::clock::FixedClock;
use trouw::domain::CustomerId;
use trouw::handlers::run_schedule::run_pass;
use trouw::handlers::send_messages::deliver_pending;
use trouw::store::MessageStatus;
use trouw_local::functions::Function;
use trouw_tests::{TestStack, emails_to, example, unique};

fn at(t: &str) -> Arc<FixedClock> {
    Arc::new(FixedClock(t.parse().unwrap()))
}

async fn order(stack: &TestStack, customer: &str, email: &str) {
    let mut body = example("order-placed");
    body["customer"]["id"] = json!(customer);
    body["customer"]["email"] = json!(email);
    body["order"]["id"] = json!(format!("order-{customer}"));
    assert_eq!(stack.post("order-placed", &body).await.status, 200);
}

#[tokio::test]
async fn a_message_deferred_by_quiet_hours_goes_out_when_due_and_only_then() {
    let stack = TestStack::start().await;
    let email = format!("{}@example.nl", unique("anna"));
    order(&stack, "cus-1", &email).await;
    // 22:30 in Amsterdam: deferred to 08:00.
    let night = stack.sender(at("2026-11-02T21:30:00Z"), None).await;
    let night_pass = stack.schedule(at("2026-11-02T21:30:00Z"), None).await;
    deliver_pending(&night, &stack.shop, &CustomerId::parse("cus-1").unwrap())
        .await
        .unwrap();

    let report = run_pass(&night_pass).await.unwrap();
    assert_eq!(
        (report.due_items_read, report.messages_handled),
        (0, 0),
        "not due yet"
    );
    assert!(emails_to(&email).await.is_empty());

    let morning = stack.schedule(at("2026-11-03T07:00:00Z"), None).await;
    let report = run_pass(&morning).await.unwrap();
    assert_eq!((report.due_items_read, report.messages_handled), (1, 1));
    assert_eq!(emails_to(&email).await.len(), 1);
    let message = stack
        .store()
        .messages(&stack.shop, &CustomerId::parse("cus-1").unwrap())
        .await
        .unwrap()
        .remove(0);
    assert_eq!(message.status, MessageStatus::Sent);

    let again = run_pass(&morning).await.unwrap();
    assert_eq!(
        again.due_items_read, 0,
        "a handled message leaves the due index"
    );
    assert_eq!(emails_to(&email).await.len(), 1);
}

#[tokio::test]
async fn a_pass_reads_only_what_is_due() {
    let stack = TestStack::start().await;
    let night = stack.sender(at("2026-11-02T21:30:00Z"), None).await;
    let next_night = stack.sender(at("2026-11-03T20:30:00Z"), None).await;
    // 10 customers deferred until the morning of 3 November, 3 until the morning after.
    for i in 0..13 {
        let customer = format!("cus-{i}");
        order(&stack, &customer, &format!("{}@example.nl", unique("c"))).await;
        let sender = if i < 10 { &night } else { &next_night };
        deliver_pending(sender, &stack.shop, &CustomerId::parse(&customer).unwrap())
            .await
            .unwrap();
    }
    let morning = stack.schedule(at("2026-11-03T07:00:00Z"), None).await;
    let report = run_pass(&morning).await.unwrap();
    assert_eq!(report.due_items_read, 10, "the 3 not yet due are not read");
    assert_eq!(report.messages_handled, 10);
}

#[tokio::test]
async fn points_become_available_when_the_return_window_closes_with_an_email() {
    let stack = TestStack::start().await;
    let email = format!("{}@example.nl", unique("anna"));
    let mut placed = example("order-placed");
    placed["customer"]["email"] = json!(email);
    // Without categories: no care tips, so the return window is the order's only timer here.
    for line in placed["order"]["lines"].as_array_mut().unwrap() {
        line.as_object_mut().unwrap().remove("category");
    }
    stack.post("order-placed", &placed).await;
    stack
        .post("order-delivered", &example("order-delivered"))
        .await;
    let day_of_order = stack.sender(at("2026-11-02T10:00:00Z"), None).await;
    deliver_pending(
        &day_of_order,
        &stack.shop,
        &CustomerId::parse("cus-8812").unwrap(),
    )
    .await
    .unwrap();

    // Delivered 4 November 13:38 (+01:00): the survey on 9 November, then the 30-day window
    // closes 4 December 12:38 UTC.
    let survey_day = stack.schedule(at("2026-11-09T13:00:00Z"), None).await;
    assert_eq!(run_pass(&survey_day).await.unwrap().timers_handled, 1);
    let before = stack.schedule(at("2026-12-04T10:00:00Z"), None).await;
    assert_eq!(run_pass(&before).await.unwrap().timers_handled, 0);
    let (profile, _) = stack.customer("cus-8812").await;
    assert_eq!(profile.unwrap().loyalty.points_pending, 64);

    let after = stack.schedule(at("2026-12-04T13:00:00Z"), None).await;
    let report = run_pass(&after).await.unwrap();
    assert_eq!((report.due_items_read, report.timers_handled), (1, 1));
    let (profile, orders) = stack.customer("cus-8812").await;
    let profile = profile.unwrap();
    assert_eq!(
        (
            profile.loyalty.points_pending,
            profile.loyalty.points_available
        ),
        (0, 64)
    );
    assert!(orders[0].points_confirmed_at.is_some());
    let confirmed = stack
        .store()
        .messages(&stack.shop, &CustomerId::parse("cus-8812").unwrap())
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.intent.key == "loyalty-confirmed#NL-100482")
        .expect("a loyalty update");
    assert_eq!(confirmed.status, MessageStatus::Sent);
    assert_eq!(
        emails_to(&email).await.len(),
        3,
        "the order's email, the survey and the confirmation"
    );
    assert_eq!(
        run_pass(&after).await.unwrap().due_items_read,
        0,
        "a confirmed order leaves the index"
    );
}

#[tokio::test]
async fn with_ten_thousand_customers_and_fifty_due_a_pass_reads_fifty_entries() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let stack = TestStack::start().await;
    // 10,000 customer profiles, each with its lapse timer in the index but not yet due (as every
    // customer with an order has), and 50 deferred messages that are due, written straight
    // into the table with the store's own key layout.
    let shop = stack.shop.clone();
    let mut items = Vec::new();
    for i in 0..10_000 {
        let key =
            trouw::store::keys::profile(&shop, &CustomerId::parse(format!("cus-{i}")).unwrap());
        let mut item = key.to_item();
        item.insert("item".into(), AttributeValue::S("profile".into()));
        item.insert(
            trouw::store::keys::DUE_SHARD.into(),
            AttributeValue::S(trouw::store::keys::due_shard(&key.pk)),
        );
        item.insert(
            trouw::store::keys::DUE_AT.into(),
            AttributeValue::N((1_800_000_000 + i).to_string()),
        );
        items.push(item);
    }
    for i in 0..50 {
        let key = trouw::store::keys::message(
            &shop,
            &CustomerId::parse(format!("cus-{i}")).unwrap(),
            &format!("loyalty-earned#o-{i}"),
        );
        let mut item = key.to_item();
        item.insert("item".into(), AttributeValue::S("message".into()));
        item.insert("status".into(), AttributeValue::S("SKIPPED".into()));
        item.insert(
            trouw::store::keys::DUE_SHARD.into(),
            AttributeValue::S(trouw::store::keys::due_shard(&key.pk)),
        );
        item.insert(
            trouw::store::keys::DUE_AT.into(),
            AttributeValue::N("1790000000".into()),
        );
        items.push(item);
    }
    stack.seed(items).await;
    let sender = stack.schedule(at("2026-11-02T10:00:00Z"), None).await;
    let report = run_pass(&sender).await.unwrap();
    assert_eq!(
        report.due_items_read, 50,
        "the pass reads the due entries, not the 10,000 customers"
    );
    assert!(report.due_items_read <= 60);
    // The stand-in items carry keys only: each is logged and skipped, and the pass goes on.
    assert_eq!((report.messages_handled, report.unreadable), (0, 50));
}

#[tokio::test]
async fn care_tips_arrive_through_the_schedule() {
    let stack = TestStack::start().await;
    let email = format!("{}@example.nl", unique("anna"));
    let mut placed = example("order-placed");
    placed["customer"]["email"] = json!(email);
    stack.post("order-placed", &placed).await;
    stack
        .post("order-delivered", &example("order-delivered"))
        .await;
    // Delivered 4 November; the first tip is due 14 days later, on 18 November (a Wednesday).
    let tip_day = stack.schedule(at("2026-11-18T12:40:00Z"), None).await;
    let report = run_pass(&tip_day).await.unwrap();
    assert_eq!(report.timers_handled, 1);
    let tips: Vec<_> = stack
        .store()
        .messages(&stack.shop, &CustomerId::parse("cus-8812").unwrap())
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.intent.key.starts_with("care-tip#"))
        .collect();
    assert_eq!(tips.len(), 1);
    assert_eq!(tips[0].status, MessageStatus::Sent, "{:?}", tips[0]);
    let raw = emails_to(&email)
        .await
        .into_iter()
        .find(|r| r.contains("Tip:") || r.contains("=?utf-8?"))
        .unwrap_or_default();
    assert!(!raw.is_empty());
    assert_eq!(
        run_pass(&tip_day).await.unwrap().timers_handled,
        0,
        "the next tip is two weeks away"
    );
}

#[tokio::test]
async fn the_survey_goes_out_five_days_after_delivery_and_its_links_record_the_answer() {
    let stack = TestStack::start().await;
    let email = format!("{}@example.nl", unique("anna"));
    let mut placed = example("order-placed");
    placed["customer"]["email"] = json!(email);
    for line in placed["order"]["lines"].as_array_mut().unwrap() {
        line.as_object_mut().unwrap().remove("category");
    }
    stack.post("order-placed", &placed).await;
    stack
        .post("order-delivered", &example("order-delivered"))
        .await;
    let customer = CustomerId::parse("cus-8812").unwrap();
    let day_of_order = stack.sender(at("2026-11-02T10:00:00Z"), None).await;
    deliver_pending(&day_of_order, &stack.shop, &customer)
        .await
        .unwrap();
    // Delivered 4 November 13:38 (+01:00): day 4 nothing, day 5 the survey.
    let day4 = stack.schedule(at("2026-11-08T13:00:00Z"), None).await;
    assert_eq!(run_pass(&day4).await.unwrap().timers_handled, 0);
    // The pass runs late (at the last 11:00 UTC before now, daytime in Amsterdam), so that the
    // answer below, on the real clock, still falls within the 7 days after the question.
    let now = jiff::Timestamp::now();
    let today = now.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
    let eleven = |d: jiff::civil::Date| {
        jiff::tz::TimeZone::UTC
            .to_timestamp(d.at(11, 0, 0, 0))
            .unwrap()
    };
    let pass_at = if eleven(today) <= now {
        eleven(today)
    } else {
        eleven(today.yesterday().unwrap())
    };
    let day5 = stack.sender(Arc::new(FixedClock(pass_at)), None).await;
    let day5_pass = stack.schedule(Arc::new(FixedClock(pass_at)), None).await;
    assert_eq!(run_pass(&day5_pass).await.unwrap().timers_handled, 1);
    let survey = stack
        .store()
        .messages(&stack.shop, &customer)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.intent.key == "survey#NL-100482")
        .expect("a survey");
    assert_eq!(survey.status, MessageStatus::Sent);

    let token = trouw::mail::LinkKey::new(trouw_tests::LINK_SECRET).survey_token(
        &stack.shop,
        &customer,
        &trouw::domain::OrderId::parse("NL-100482").unwrap(),
    );
    let raw = emails_to(&email).await.join("\n");
    assert!(
        raw.replace("=\r\n", "")
            .replace("=3D", "=")
            .contains(&format!("/s/{token}?score=9")),
        "the email links each score"
    );
    // A detractor's answer, sent twice: recorded once; an apology to the customer and an
    // alert to the shop's service address.
    for _ in 0..2 {
        let answer = stack
            .post_form(&format!("/s/{token}"), &[("score", "4")])
            .await;
        assert_eq!(answer.status, 200);
        assert!(answer.body.contains("Dank je wel"), "{}", answer.body);
    }
    let (_, orders) = stack.customer("cus-8812").await;
    assert_eq!(orders[0].survey_answer.map(|a| a.score), Some(4));
    // The thank-you page offers a comment form; the comment goes with the shop's alert.
    let comment = unique("Doos-was-kapot");
    let commented = stack
        .send(
            http::Request::post(format!("{}/s/{token}", stack.base_url))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("comment={comment}").into())
                .unwrap(),
        )
        .await;
    assert_eq!(commented.status, 200, "{}", commented.body);
    let (_, orders) = stack.customer("cus-8812").await;
    assert_eq!(orders[0].survey_comment.as_deref(), Some(comment.as_str()));
    let blank = stack
        .send(
            http::Request::post(format!("{}/s/{token}", stack.base_url))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("comment=+++".into())
                .unwrap(),
        )
        .await;
    assert_eq!(blank.status, 400, "an empty comment is refused");
    deliver_pending(&day5, &stack.shop, &customer)
        .await
        .unwrap();
    let alerts = emails_to("service@demo.trouw.test").await;
    assert!(
        alerts
            .iter()
            .any(|raw| raw.contains(&comment) && raw.contains("NL-100482")),
        "an internal alert with the comment"
    );
    let keys: Vec<_> = stack
        .store()
        .messages(&stack.shop, &customer)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.intent.key, m.status))
        .collect();
    assert!(
        keys.contains(&("survey-detractor#NL-100482".to_owned(), MessageStatus::Sent)),
        "{keys:?}"
    );
    assert!(
        keys.contains(&("detractor-alert#NL-100482".to_owned(), MessageStatus::Sent)),
        "{keys:?}"
    );
    // A later change of mind within 7 days counts, but brings no second follow-up.
    stack
        .post_form(&format!("/s/{token}"), &[("score", "9")])
        .await;
    let (_, orders) = stack.customer("cus-8812").await;
    assert_eq!(orders[0].survey_answer.map(|a| a.score), Some(9));
    let after: Vec<_> = stack
        .store()
        .messages(&stack.shop, &customer)
        .await
        .unwrap();
    assert!(
        after
            .iter()
            .all(|m| m.intent.key != "survey-promoter#NL-100482")
    );
    let before = stack.snapshot().await;
    let tampered = stack
        .send(
            http::Request::get(format!("{}/s/{token}x?score=0", stack.base_url))
                .body(Default::default())
                .unwrap(),
        )
        .await;
    assert_eq!(tampered.status, 400);
    assert_eq!(stack.snapshot().await, before);
}

#[tokio::test]
async fn care_tips_come_every_two_weeks_and_stop_after_the_set_months() {
    let stack = TestStack::start().await;
    // Ten tips for toothbrushes, but tips stop 3 months after delivery.
    stack
        .update_shop(|s| {
            s.care_tip_months = 3;
            s.care_tips.insert(
                "apparaten".into(),
                (1..=10)
                    .map(|n| trouw::domain::CareTip {
                        title: format!("Tip {n}"),
                        text: "Een korte tip.".into(),
                    })
                    .collect(),
            );
        })
        .await;
    let email = format!("{}@example.nl", unique("anna"));
    let mut placed = example("order-placed");
    placed["customer"]["email"] = json!(email);
    stack.post("order-placed", &placed).await;
    stack
        .post("order-delivered", &example("order-delivered"))
        .await;
    // Delivered 4 November 2026, 12:38 UTC: a pass every week for five months, at noon.
    let delivered: jiff::Timestamp = "2026-11-04T12:38:12Z".parse().unwrap();
    for week in 1..=22 {
        let at = delivered + jiff::SignedDuration::from_hours(24 * 7 * week);
        let sender = stack.schedule(Arc::new(FixedClock(at)), None).await;
        run_pass(&sender).await.unwrap();
    }
    let mut tips: Vec<_> = stack
        .store()
        .messages(&stack.shop, &CustomerId::parse("cus-8812").unwrap())
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.intent.key.starts_with("care-tip#"))
        .collect();
    tips.sort_by_key(|m| m.intent.created_at);
    // Due 14, 28, ..., 84 days after delivery; 98 days is past the 3 months (90 days).
    assert_eq!(
        tips.len(),
        6,
        "{:?}",
        tips.iter().map(|t| &t.intent.key).collect::<Vec<_>>()
    );
    for pair in tips.windows(2) {
        let gap = pair[1]
            .intent
            .created_at
            .duration_since(pair[0].intent.created_at);
        assert!(
            gap >= jiff::SignedDuration::from_hours(24 * 14),
            "{gap:?} between tips"
        );
    }
    assert!(
        tips.iter().all(|t| t.status == MessageStatus::Sent),
        "{:?}",
        tips.iter()
            .map(|t| (&t.intent.key, t.status))
            .collect::<Vec<_>>()
    );
}

/// `length` characters, starting with `prefix` (characters that keys, tags and URLs must carry
/// with care), then `-{n}` and filler.
fn long_id(prefix: &str, n: u32, length: usize) -> String {
    let head = format!("{prefix}-{n}-");
    let filler = length - head.chars().count();
    format!("{head}{}", "x".repeat(filler))
}

fn shard_of(shop: &trouw::domain::ShopId, customer: &str) -> String {
    let key = trouw::store::keys::profile(shop, &CustomerId::parse(customer).unwrap());
    trouw::store::keys::due_shard(&key.pk)
}

async fn dev_post(
    stack: &TestStack,
    path: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let request = http::Request::post(format!("{}{path}", stack.base_url))
        .header("content-type", "application/json")
        .body(body.to_string().into())
        .unwrap();
    let answer = stack.send(request).await;
    (answer.status, answer.json())
}

async fn admin_get(stack: &TestStack, path: &str) -> trouw_tests::client::Answer {
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        trouw_tests::ADMIN_USER,
        trouw_tests::ADMIN_PASSWORD
    ));
    let request = http::Request::get(format!("{}{path}", stack.base_url))
        .header("authorization", format!("Basic {basic}"))
        .header("accept", "text/html")
        .body(Default::default())
        .unwrap();
    stack.send(request).await
}

/// The links to message pages in an admin page, HTML entities undone.
fn message_links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|href| {
            href.replace("&#x2f;", "/")
                .replace("&#x27;", "'")
                .replace("&quot;", "\"")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&")
        })
        .filter(|href| href.starts_with("/admin/messages/"))
        .collect()
}

#[tokio::test]
async fn ids_of_128_characters_live_through_the_first_months_and_others_due_after_them_too() {
    let stack = TestStack::start_with(trouw_tests::StackOptions {
        with_sender: true,
        ..Default::default()
    })
    .await;
    // A customer id and order ids of exactly 128 characters (the contract's maximum), with a
    // slash, `#`, `?`, `%`, `+`, a space and a non-ASCII letter; in the first shard of the due
    // index, so that a customer in a later shard is due after them in the same pass.
    let customer = (0..)
        .map(|n| long_id("klant/ü #?%+", n, 128))
        .find(|c| shard_of(&stack.shop, c) == "DUE#0")
        .unwrap();
    let orders = [
        long_id("bestelling/ü #?%+", 1, 128),
        long_id("bestelling/ü #?%+", 2, 128),
    ];
    assert_eq!(customer.chars().count(), 128);
    assert_eq!(orders[0].chars().count(), 128);
    let neighbour = (0..)
        .map(|n| format!("cus-next-{n}"))
        .find(|c| shard_of(&stack.shop, c) != "DUE#0")
        .unwrap();

    // The neighbour's parcel arrives at the same moment as the long customer's (the contract
    // example's delivery time), so both surveys are due in the pass of 9 November 13:00.
    let neighbour_email = format!("{}@example.nl", unique("buur"));
    let (status, _) = dev_post(
        &stack,
        "/dev/clock",
        json!({ "now": "2026-11-04T13:00:00Z" }),
    )
    .await;
    assert_eq!(status, 200);
    let mut placed = example("order-placed");
    placed["customer"]["id"] = json!(neighbour);
    placed["customer"]["email"] = json!(neighbour_email);
    placed["order"]["id"] = json!("order-next");
    assert_eq!(stack.post("order-placed", &placed).await.status, 200);
    let mut delivered = example("order-delivered");
    delivered["customer"]["id"] = json!(neighbour);
    delivered["order"]["id"] = json!("order-next");
    assert_eq!(stack.post("order-delivered", &delivered).await.status, 200);
    // The stream sends the neighbour's order email before the clock moves on.
    stack.settle().await;

    let demo = trouw_local::months::Stack {
        client: &stack.http,
        api: stack.base_url.clone(),
        shop: stack.shop.to_string(),
        secret: trouw::webhook::WebhookSecret::new(trouw_tests::SECRET),
        moto: trouw_tests::local_aws().endpoint.clone(),
        // Ids of 128 characters in the due index are the point here, not points spent nor
        // questions answered; the stock steps put such an id in the product's regular buyers.
        loyalty_key: None,
        asks_question: false,
        stock_moments: true,
    };
    let email = format!("{}@example.nl", unique("lang"));
    let steps =
        trouw_local::months::first_months_with_orders(&demo, &customer, &orders, &email, |_| {})
            .await
            .unwrap();
    let per_step: Vec<usize> = steps.iter().map(|s| s.emails.len()).collect();
    // order, delivered, survey, answer (thanks), tip, tip, points, tip, (no expiry: no
    // warning), at risk, lapsed, sold out, (no reminder: the notice replaced it), back in
    // stock, inactive, ordered again, two contract reminders, the yearly recap: as for any
    // customer.
    assert_eq!(
        per_step,
        [1, 0, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1],
        "{steps:#?}"
    );
    let (profile, stored_orders) = stack.customer(&customer).await;
    let profile = profile.unwrap();
    assert_eq!(profile.retention.stage, trouw::domain::Engagement::Active);
    assert_eq!(profile.retention.reactivations, 1);
    assert_eq!(profile.loyalty.points_available, 64);
    assert_eq!(stored_orders.len(), 2);
    let answered = stored_orders
        .iter()
        .find(|o| o.id.as_str() == orders[0])
        .unwrap();
    assert_eq!(answered.survey_answer.map(|a| a.score), Some(9));

    // The neighbour, due after them in the same pass, got the survey in that pass.
    let neighbour_messages = stack
        .store()
        .messages(&stack.shop, &CustomerId::parse(&neighbour).unwrap())
        .await
        .unwrap();
    let survey = neighbour_messages
        .iter()
        .find(|m| m.intent.key == "survey#order-next")
        .expect("the neighbour's survey");
    assert_eq!(survey.status, MessageStatus::Sent, "{survey:?}");
    let survey_pass: jiff::Timestamp = "2026-11-09T13:00:00Z".parse().unwrap();
    let sent = survey.sent_at.unwrap();
    assert!(
        sent >= survey_pass && sent < survey_pass + jiff::SignedDuration::from_mins(5),
        "sent in the pass of 9 November 13:00, not later: {sent}"
    );

    // The marketers' pages: the customer's timeline and the message list open every message.
    let encoded: String = form_urlencoded::byte_serialize(customer.as_bytes()).collect();
    let timeline = admin_get(
        &stack,
        &format!("/admin/customers/{encoded}?shop={}", stack.shop),
    )
    .await;
    assert_eq!(timeline.status, 200, "{}", timeline.body);
    let links = message_links(&timeline.body);
    let messages = stack
        .store()
        .messages(&stack.shop, &CustomerId::parse(&customer).unwrap())
        .await
        .unwrap();
    assert_eq!(links.len(), messages.len(), "{links:?}");
    let list = admin_get(
        &stack,
        &format!(
            "/admin/messages?shop={}&customer={encoded}&from=2026-11-01&to=2027-09-30",
            stack.shop
        ),
    )
    .await;
    assert_eq!(list.status, 200, "{}", list.body);
    // The list encodes its links another way: a few of them are enough.
    let listed = message_links(&list.body);
    assert!(!listed.is_empty());
    for link in links.iter().chain(listed.iter().take(3)) {
        let page = admin_get(&stack, link).await;
        assert_eq!(page.status, 200, "{link}: {}", page.body);
    }
    for message in &messages {
        assert!(
            message.intent.key.len() <= trouw::domain::MAX_MESSAGE_KEY_BYTES,
            "{}",
            message.intent.key
        );
    }
}

/// Puts an item straight into the table, in the due index since 1970.
async fn put_due(stack: &TestStack, key: trouw::store::keys::Key, attributes: &[(&str, &str)]) {
    use aws_sdk_dynamodb::types::AttributeValue;
    let mut item = key.to_item();
    item.insert(
        trouw::store::keys::DUE_SHARD.into(),
        AttributeValue::S(trouw::store::keys::due_shard(&key.pk)),
    );
    item.insert(
        trouw::store::keys::DUE_AT.into(),
        AttributeValue::N("1".into()),
    );
    for (name, value) in attributes {
        item.insert((*name).into(), AttributeValue::S((*value).into()));
    }
    stack
        .dynamo
        .put_item()
        .table_name(&stack.table)
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn unreadable_and_failing_items_are_counted_and_skipped_and_the_pass_goes_on() {
    let stack = TestStack::start_with(trouw_tests::StackOptions {
        with_sender: true,
        ..Default::default()
    })
    .await;
    let shop = stack.shop.clone();
    // A customer with a real survey due, in the first shard, after the bad items.
    let customer = (0..)
        .map(|n| format!("cus-ok-{n}"))
        .find(|c| shard_of(&shop, c) == "DUE#0")
        .unwrap();
    let email = format!("{}@example.nl", unique("goed"));
    // Daytime in Amsterdam, so that the order's email is not deferred by quiet hours.
    let (status, _) = dev_post(
        &stack,
        "/dev/clock",
        json!({ "now": "2026-11-04T13:00:00Z" }),
    )
    .await;
    assert_eq!(status, 200);
    let mut placed = example("order-placed");
    placed["customer"]["id"] = json!(customer);
    placed["customer"]["email"] = json!(email);
    assert_eq!(stack.post("order-placed", &placed).await.status, 200);
    let mut delivered = example("order-delivered");
    delivered["customer"]["id"] = json!(customer);
    assert_eq!(stack.post("order-delivered", &delivered).await.status, 200);
    // The table's stream sends the order's email.
    stack.settle().await;

    // Bad items in the first shard, due long before: a corrupt profile, a corrupt order, and
    // an order of a shop that is no longer configured.
    let bad = |prefix: &'static str| {
        (0..)
            .map(|n| format!("{prefix}-{n}"))
            .find(|c| shard_of(&shop, c) == "DUE#0")
            .unwrap()
    };
    let corrupt_profile = trouw::store::keys::profile(
        &shop,
        &CustomerId::parse(bad("cus-corrupt-profile")).unwrap(),
    );
    put_due(
        &stack,
        corrupt_profile,
        &[("version", "not a number"), ("item", "profile")],
    )
    .await;
    let corrupt_order = trouw::store::keys::order(
        &shop,
        &CustomerId::parse(bad("cus-corrupt-order")).unwrap(),
        &trouw::domain::OrderId::parse("NL-1").unwrap(),
    );
    put_due(
        &stack,
        corrupt_order,
        &[("lines", "not a list"), ("item", "order")],
    )
    .await;
    let gone_shop = trouw::domain::ShopId::parse(unique("gone")).unwrap();
    let orphan = (0..)
        .map(|n| {
            trouw::store::keys::order(
                &gone_shop,
                &CustomerId::parse(format!("cus-orphan-{n}")).unwrap(),
                &trouw::domain::OrderId::parse("NL-2").unwrap(),
            )
        })
        .find(|k| trouw::store::keys::due_shard(&k.pk) == "DUE#0")
        .unwrap();
    put_due(&stack, orphan, &[("item", "order")]).await;

    // Over HTTP, as `make dev` runs passes: the pass ends well, counts the bad items and
    // still sends the survey that was due after them.
    let (status, _) = dev_post(
        &stack,
        "/dev/clock",
        json!({ "now": "2026-11-09T13:00:00Z" }),
    )
    .await;
    assert_eq!(status, 200);
    let (status, report) = dev_post(&stack, "/dev/run-schedule", json!({})).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["unreadable"], 2, "{report}");
    assert_eq!(report["failed"], 1, "{report}");
    assert_eq!(report["timers_handled"], 1, "{report}");
    let survey = stack
        .store()
        .messages(&shop, &CustomerId::parse(&customer).unwrap())
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.intent.key == "survey#NL-100482")
        .expect("the survey");
    assert_eq!(survey.status, MessageStatus::Sent);
    assert_eq!(
        emails_to(&email).await.len(),
        2,
        "the order's email and the survey"
    );

    // The bad items stay due: every pass counts them again (the alarm's signal) and goes on.
    let (status, report) = dev_post(&stack, "/dev/run-schedule", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(
        (report["unreadable"].as_u64(), report["failed"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(report["timers_handled"], 0);
}

#[tokio::test]
async fn a_message_left_sending_shows_as_unknown_after_fifteen_minutes_is_counted_once_and_never_sent()
 {
    let stack = TestStack::start().await;
    let claimed_at: jiff::Timestamp = "2026-11-02T10:00:00Z".parse().unwrap();
    stack.set_now(claimed_at);
    let email = format!("{}@example.nl", unique("stil"));
    order(&stack, "cus-stuck", &email).await;
    let customer = CustomerId::parse("cus-stuck").unwrap();
    let key = "loyalty-earned#order-cus-stuck";
    // A sender claims the message and stops before it records what SES said (a timeout, a
    // crash): the claim is the real one.
    let store = &stack.store_as(Function::SendMessages);
    let claimed = store
        .claim_message(
            &stack.shop,
            &customer,
            key,
            &trouw::store::ClaimToken::new(),
            claimed_at,
        )
        .await
        .unwrap()
        .expect("claimed");
    assert_eq!(claimed.status, MessageStatus::Sending);
    let sender = stack.sender(stack.clock(), None).await;
    let schedule = stack.schedule(stack.clock(), None).await;
    let list = |status: &str| {
        format!(
            "/admin/messages?shop={}&customer=cus-stuck&from=2026-11-01&to=2026-11-03{status}",
            stack.shop
        )
    };

    // Ten minutes on: still sending, and not yet due.
    stack.set_now(claimed_at + jiff::SignedDuration::from_mins(10));
    let rows = admin_get(&stack, &format!("{}&format=json", list(""))).await;
    assert_eq!(rows.json()["rows"][0]["status"], "sending", "{}", rows.body);
    let report = run_pass(&schedule).await.unwrap();
    assert_eq!((report.due_items_read, report.send_unknown), (0, 0));

    // Past fifteen minutes the pages say `unknown` with the reason, before any pass ran: the
    // list, its CSV and JSON, the status filter and the message's page.
    stack.set_now(claimed_at + jiff::SignedDuration::from_mins(16));
    let rows = admin_get(&stack, &format!("{}&format=json", list(""))).await;
    let row = &rows.json()["rows"][0];
    assert_eq!(
        (row["status"].as_str(), row["reason"].as_str()),
        (Some("unknown"), Some("sender_stopped")),
        "{}",
        rows.body
    );
    let csv = admin_get(&stack, &format!("{}&format=csv", list(""))).await;
    assert!(
        csv.body.contains("unknown") && csv.body.contains("sender_stopped"),
        "{}",
        csv.body
    );
    let html = admin_get(&stack, &list("&status=unknown")).await;
    assert!(html.body.contains("status-unknown"), "{}", html.body);
    let page = admin_get(
        &stack,
        &format!(
            "/admin/messages/cus-stuck/loyalty-earned%23order-cus-stuck?shop={}",
            stack.shop
        ),
    )
    .await;
    assert_eq!(page.status, 200, "{}", page.body);
    // In words: not known whether it went, because the sender stopped.
    assert!(
        page.body.contains("onbekend of verstuurd")
            && page.body.contains("verzender gestopt tijdens verzenden"),
        "{}",
        page.body
    );

    // The schedule meets it in the due index once: counted, recorded, out of the index.
    let report = run_pass(&schedule).await.unwrap();
    assert_eq!(
        (report.due_items_read, report.send_unknown),
        (1, 1),
        "{report:?}"
    );
    let stuck = store
        .message_at(&trouw::store::keys::message(&stack.shop, &customer, key))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stuck.status, MessageStatus::Sending, "never sent again");
    assert_eq!(stuck.reason.as_deref(), Some("sender_stopped"));
    let report = run_pass(&schedule).await.unwrap();
    assert_eq!(
        (report.due_items_read, report.send_unknown),
        (0, 0),
        "counted once"
    );
    // A second delivery of the stream record, and later passes, send nothing.
    let again = trouw::handlers::send_messages::deliver(&sender, &stuck)
        .await
        .unwrap();
    assert_eq!(
        again,
        trouw::handlers::send_messages::Delivery::AlreadyHandled
    );
    stack.set_now(claimed_at + jiff::SignedDuration::from_hours(24));
    run_pass(&schedule).await.unwrap();
    assert!(
        emails_to(&email).await.is_empty(),
        "at most once: nothing was sent"
    );
}

/// `POST /dev/clock` with `"stopped": true` holds the local stack's time at one second, so
/// that what a run stores does not depend on how long it took (`make load` compares two runs).
#[tokio::test]
async fn the_dev_clock_can_stand_still() {
    let stack = TestStack::start().await;
    let (status, answer) = dev_post(
        &stack,
        "/dev/clock",
        json!({ "now": "2027-03-10T13:00:00Z", "stopped": "yes" }),
    )
    .await;
    assert_eq!((status, answer["field"].as_str()), (400, Some("stopped")));
    let (status, answer) = dev_post(
        &stack,
        "/dev/clock",
        json!({ "now": "2027-03-10T13:00:00Z", "stopped": true }),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(answer["stopped"], true);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    order(
        &stack,
        "cus-still",
        &format!("{}@example.nl", unique("still")),
    )
    .await;
    let messages = stack
        .store()
        .messages(&stack.shop, &CustomerId::parse("cus-still").unwrap())
        .await
        .unwrap();
    assert!(!messages.is_empty());
    for message in messages {
        assert_eq!(
            message.intent.created_at,
            "2027-03-10T13:00:00Z".parse().unwrap()
        );
    }
}
