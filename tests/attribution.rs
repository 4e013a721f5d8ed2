//! Attribution over HTTP: orders placed after a sent message are recorded on it, within the
//! shop's window only, once, less what was returned.

use serde_json::{Value, json};
use std::sync::Arc;
use trouw::clock::{Clock, FixedClock};
use trouw::domain::{AttributionFrom, Currency, CustomerId};
use trouw::handlers::send_messages::deliver_pending;
use trouw::store::{MessageRecord, MessageStatus};
use trouw_tests::{ADMIN_PASSWORD, ADMIN_USER, TestStack, example, unique};

/// When the first order's loyalty email goes out: Monday 2 November 2026, 11:00 in Amsterdam.
const SENT_AT: &str = "2026-11-02T10:00:00Z";

fn customer() -> CustomerId {
    CustomerId::parse("cus-8812").unwrap()
}

fn order(id: &str, placed_at: &str, email: &str) -> Value {
    let mut body = example("order-placed");
    body["occurred_at"] = json!(placed_at);
    body["order"]["id"] = json!(id);
    body["order"]["placed_at"] = json!(placed_at);
    body["customer"]["email"] = json!(email);
    body
}

/// A first order, and its loyalty email sent at [`SENT_AT`]: the customer's last touch.
async fn first_order_and_its_email(stack: &TestStack) -> String {
    let email = format!("{}@example.nl", unique("anna"));
    let answer = stack
        .post(
            "order-placed",
            &order("NL-1", "2026-11-02T09:00:00Z", &email),
        )
        .await;
    assert!((200..300).contains(&answer.status), "{answer:?}");
    let clock: Arc<dyn Clock> = Arc::new(FixedClock(SENT_AT.parse().unwrap()));
    let sender = stack.sender(clock, None).await;
    deliver_pending(&sender, &stack.shop, &customer())
        .await
        .unwrap();
    let sent = touched(stack).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    email
}

/// The customer's page as the marketers see it.
async fn timeline(stack: &TestStack, lang: &str) -> String {
    use base64::Engine;
    let auth =
        base64::engine::general_purpose::STANDARD.encode(format!("{ADMIN_USER}:{ADMIN_PASSWORD}"));
    let request = http::Request::get(format!(
        "{}/admin/customers/cus-8812?shop={}&lang={lang}",
        stack.base_url, stack.shop
    ))
    .header("authorization", format!("Basic {auth}"))
    .body(Default::default())
    .unwrap();
    let answer = stack.send(request).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body
}

/// The sent messages of the customer.
async fn touched(stack: &TestStack) -> Vec<MessageRecord> {
    stack
        .store()
        .messages(&stack.shop, &customer())
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.status == MessageStatus::Sent)
        .collect()
}

#[tokio::test]
async fn an_order_inside_the_window_goes_to_the_last_email_once_and_a_return_takes_its_worth_back()
{
    let stack = TestStack::start().await;
    let email = first_order_and_its_email(&stack).await;
    let (profile, _) = stack.customer("cus-8812").await;
    let touch = profile
        .unwrap()
        .mail
        .last_touch
        .expect("the send is the last touch");
    assert_eq!(touch.sent_at, SENT_AT.parse().unwrap());

    // Two days after the email: attributed. Delivered twice: recorded once.
    let second = order("NL-2", "2026-11-04T10:00:00Z", &email);
    for _ in 0..2 {
        let answer = stack.post_as("order-placed", "order-nl-2", &second).await;
        assert!((200..300).contains(&answer.status), "{answer:?}");
    }
    // The same order again under another delivery id: still once.
    stack.post("order-placed", &second).await;
    let message = touched(&stack).await.remove(0);
    assert_eq!(message.intent.key, touch.key);
    assert_eq!(message.earned.attributed_orders, 1);
    assert_eq!(message.earned.attributed_revenue_minor, 6485);
    assert_eq!(message.earned.attributed_currency, Some(Currency::EUR));
    assert_eq!(
        message.earned.first_order_at,
        Some("2026-11-04T10:00:00Z".parse().unwrap())
    );

    // The customer's timeline says so, in both languages.
    for (lang, words) in [
        ("en", "ordered 2 days after this email"),
        ("nl", "besteld 2 dagen na deze e-mail"),
    ] {
        let page = timeline(&stack, lang).await;
        assert!(page.contains(words), "{lang}: {page}");
    }

    // The 53.00 toothbrush comes back: the email earned 11.85.
    let mut back = example("order-returned");
    back["order"]["id"] = json!("NL-2");
    back["order"]["returned_at"] = json!("2026-11-06T10:00:00Z");
    back["occurred_at"] = json!("2026-11-06T10:00:00Z");
    let answer = stack.post("order-returned", &back).await;
    assert!((200..300).contains(&answer.status), "{answer:?}");
    let message = touched(&stack).await.remove(0);
    assert_eq!(message.earned.attributed_orders, 1);
    assert_eq!(message.earned.attributed_revenue_minor, 1185);

    // Six days after the email (the window is five): no message earns it.
    stack
        .post(
            "order-placed",
            &order("NL-3", "2026-11-08T10:00:00Z", &email),
        )
        .await;
    let (_, orders) = stack.customer("cus-8812").await;
    let late = orders.iter().find(|o| o.id.as_str() == "NL-3").unwrap();
    assert_eq!(late.attributed_to, None);
    let message = touched(&stack).await.remove(0);
    assert_eq!(message.earned.attributed_orders, 1);
    assert_eq!(message.earned.attributed_revenue_minor, 1185);
}

#[tokio::test]
async fn with_attribution_from_clicks_an_unclicked_email_earns_nothing_and_a_click_opens_the_window()
 {
    let stack = TestStack::start().await;
    stack
        .update_shop(|shop| shop.attribution_from = AttributionFrom::Click)
        .await;
    let email = first_order_and_its_email(&stack).await;
    stack
        .post(
            "order-placed",
            &order("NL-2", "2026-11-03T10:00:00Z", &email),
        )
        .await;
    let message = touched(&stack).await.remove(0);
    assert_eq!(message.earned.attributed_orders, 0);
    let message = message.clone();
    let (_, orders) = stack.customer("cus-8812").await;
    let second = orders.iter().find(|o| o.id.as_str() == "NL-2").unwrap();
    assert_eq!(second.attributed_to, None);

    // A click three days after the send opens the window: an order six days after the send,
    // three after the click, goes to the email.
    click(&stack, &message, "2026-11-05T10:00:00Z").await;
    let (profile, _) = stack.customer("cus-8812").await;
    let touch = profile.unwrap().mail.last_touch.unwrap();
    assert_eq!(
        touch.clicked_at,
        Some("2026-11-05T10:00:00Z".parse().unwrap())
    );
    stack
        .post(
            "order-placed",
            &order("NL-3", "2026-11-08T10:00:00Z", &email),
        )
        .await;
    let message = touched(&stack).await.remove(0);
    assert_eq!(message.earned.attributed_orders, 1);
    assert_eq!(message.earned.attributed_revenue_minor, 6485);
}

/// SES's click report on `message`, through the rule that carries it to `ses-events`.
async fn click(stack: &TestStack, message: &MessageRecord, at: &str) {
    let id = customer();
    let key = &message.intent.key;
    let tags = json!({
        "ses:configuration-set": [trouw_local::events::configuration_set(&stack.table).unwrap()],
        "ses:caller-identity": ["send-messages"],
        "shop": [stack.shop.to_string()],
        "kind": [message.intent.data.kind()],
        "message": [trouw::mail::ses::tag_value(key)],
        "customer": [id.as_str()],
        "locale": ["nl"],
        "ref": [trouw::mail::ses::tag_value(&trouw::mail::ses::message_ref(&stack.shop, &id, key))]
    });
    let mail = json!({
        "timestamp": SENT_AT,
        "source": "winkel@demo.trouw.test",
        "messageId": message.ses_message_id.clone().unwrap(),
        "destination": ["customer@example.nl"],
        "tags": tags
    });
    let report = json!({ "eventType": "Click", "mail": mail, "click": { "timestamp": at, "link": "https://demo.example/p", "ipAddress": "192.0.2.1", "userAgent": "Mozilla/5.0" } });
    let app = trouw::handlers::ses_events::FeedbackApp {
        store: stack.store_as(trouw_local::functions::Function::SesEvents),
    };
    trouw_local::events::SesRule::for_stack(&stack.table)
        .unwrap()
        .publish(
            &app,
            trouw_local::events::ses_envelope(report, at.parse().unwrap()),
        )
        .await
        .expect("the rule matches")
        .expect("the report is recorded");
}

/// The generation of the shop's day summary of `day` (none when the day was never marked).
async fn day_generation(stack: &TestStack, day: &str) -> Option<u64> {
    let day: jiff::civil::Date = day.parse().unwrap();
    let summaries = stack
        .store()
        .day_summaries(&stack.shop, day, day)
        .await
        .unwrap();
    summaries.get(&day).and_then(|s| s.generation)
}

#[tokio::test]
async fn an_attributed_order_and_a_return_mark_the_day_of_their_message_changed() {
    let stack = TestStack::start().await;
    // The first order, and so its email, is created on 2 November.
    stack.set_now("2026-11-02T09:00:00Z".parse().unwrap());
    let email = first_order_and_its_email(&stack).await;
    assert_eq!(day_generation(&stack, "2026-11-02").await, None);

    // Attributed two days later: the email's day (kept or not) must be counted again.
    stack.set_now("2026-11-04T10:00:05Z".parse().unwrap());
    stack
        .post(
            "order-placed",
            &order("NL-2", "2026-11-04T10:00:00Z", &email),
        )
        .await;
    assert_eq!(touched(&stack).await[0].earned.attributed_orders, 1);
    assert_eq!(day_generation(&stack, "2026-11-02").await, Some(1));

    // A return changes what the email earned: marked again.
    stack.set_now("2026-11-06T10:00:05Z".parse().unwrap());
    let mut back = example("order-returned");
    back["order"]["id"] = json!("NL-2");
    back["order"]["returned_at"] = json!("2026-11-06T10:00:00Z");
    back["occurred_at"] = json!("2026-11-06T10:00:00Z");
    let answer = stack.post("order-returned", &back).await;
    assert!((200..300).contains(&answer.status), "{answer:?}");
    assert_eq!(day_generation(&stack, "2026-11-02").await, Some(2));

    // An order outside the window earns the email nothing and leaves its day alone.
    stack.set_now("2026-11-08T10:00:05Z".parse().unwrap());
    stack
        .post(
            "order-placed",
            &order("NL-3", "2026-11-08T10:00:00Z", &email),
        )
        .await;
    assert_eq!(day_generation(&stack, "2026-11-02").await, Some(2));
}

/// The overview of the shop for `from..=to` in `format` (`json`, `csv` or a language's page).
async fn overview(stack: &TestStack, from: &str, to: &str, query: &str) -> String {
    use base64::Engine;
    let auth =
        base64::engine::general_purpose::STANDARD.encode(format!("{ADMIN_USER}:{ADMIN_PASSWORD}"));
    let request = http::Request::get(format!(
        "{}/admin?shop={}&from={from}&to={to}&{query}",
        stack.base_url, stack.shop
    ))
    .header("authorization", format!("Basic {auth}"))
    .body(Default::default())
    .unwrap();
    let answer = stack.send(request).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body
}

#[tokio::test]
async fn the_overview_counts_per_kind_the_orders_and_revenue_its_emails_earned_and_what_returns_took_back()
 {
    let stack = TestStack::start().await;
    // Two customers order on 2 November; each gets the same kind of email that day.
    stack.set_now("2026-11-02T09:00:00Z".parse().unwrap());
    let email = first_order_and_its_email(&stack).await;
    let bram = CustomerId::parse("cus-bram").unwrap();
    let bram_email = format!("{}@example.nl", unique("bram"));
    let mut first = order("B-1", "2026-11-02T09:00:00Z", &bram_email);
    first["customer"]["id"] = json!("cus-bram");
    stack.post("order-placed", &first).await;
    let clock: Arc<dyn Clock> = Arc::new(FixedClock(SENT_AT.parse().unwrap()));
    let sender = stack.sender(clock, None).await;
    deliver_pending(&sender, &stack.shop, &bram).await.unwrap();
    let kind = touched(&stack).await[0].intent.data.kind().to_owned();

    // Anna orders again two days later: attributed. Bram orders six days later: outside the
    // five-day window, attributed to nothing.
    stack.set_now("2026-11-04T10:00:05Z".parse().unwrap());
    stack
        .post(
            "order-placed",
            &order("NL-2", "2026-11-04T10:00:00Z", &email),
        )
        .await;
    stack.set_now("2026-11-08T10:00:05Z".parse().unwrap());
    let mut late = order("B-2", "2026-11-08T10:00:00Z", &bram_email);
    late["customer"]["id"] = json!("cus-bram");
    stack.post("order-placed", &late).await;

    // The overview of 2 November (kept as a day summary from here on).
    let figures = |body: &str| -> Value {
        let answer: Value = serde_json::from_str(body).unwrap();
        answer["kinds"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kind"] == kind.as_str())
            .cloned()
            .unwrap_or_else(|| panic!("{kind} in {answer}"))
    };
    let body = overview(&stack, "2026-11-02", "2026-11-02", "format=json").await;
    let k = figures(&body);
    assert_eq!(
        (k["sent"].as_u64(), k["orders"].as_u64()),
        (Some(2), Some(1)),
        "{k}"
    );
    assert_eq!(k["revenue"], json!({"amount": "64.85", "currency": "EUR"}));
    assert_eq!(k["placed_order_rate"], json!(0.5));
    assert_eq!(k["revenue_per_recipient"]["amount"], "32.43");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["period"]["from"], "2026-11-02");
    assert!(answer["nps"].is_object() && answer["loyalty"].is_object());
    assert!(answer["deliverability"]["windows"].is_array());
    assert!(answer["uplift"].is_array());
    let day: jiff::civil::Date = "2026-11-02".parse().unwrap();
    let kept = stack
        .store()
        .day_summaries(&stack.shop, day, day)
        .await
        .unwrap();
    assert!(kept[&day].kept.is_some(), "the day's summary is kept");

    // The 53.00 toothbrush comes back: the kept day is counted again, with 11.85 earned.
    stack.set_now("2026-11-09T10:00:05Z".parse().unwrap());
    let mut back = example("order-returned");
    back["order"]["id"] = json!("NL-2");
    back["order"]["returned_at"] = json!("2026-11-09T10:00:00Z");
    back["occurred_at"] = json!("2026-11-09T10:00:00Z");
    let answer = stack.post("order-returned", &back).await;
    assert!((200..300).contains(&answer.status), "{answer:?}");
    stack.set_now("2026-11-10T10:00:00Z".parse().unwrap());
    let k = figures(&overview(&stack, "2026-11-02", "2026-11-02", "format=json").await);
    assert_eq!(k["orders"], 1);
    assert_eq!(k["revenue"]["amount"], "11.85");
    assert_eq!(k["revenue_per_recipient"]["amount"], "5.93");

    // A period without the emails has none of their orders (they count on the email's day).
    let body = overview(&stack, "2026-11-03", "2026-11-09", "format=json").await;
    let answer: Value = serde_json::from_str(&body).unwrap();
    let orders: u64 = answer["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|k| k["orders"].as_u64())
        .sum();
    assert_eq!(orders, 0, "{answer}");

    // The same figures in the CSV download and on the page, in both languages.
    let csv = overview(&stack, "2026-11-02", "2026-11-02", "format=csv").await;
    assert!(
        csv.contains(&format!(
            r#""{kind}","2","0","0","0","0","0","0","1","11.85","EUR","0.5","5.93","""#
        )),
        "{csv}"
    );
    for (lang, words) in [("en", "Placed-order rate"), ("nl", "Bestelratio")] {
        let page = overview(&stack, "2026-11-02", "2026-11-02", &format!("lang={lang}")).await;
        assert!(page.contains(words), "{lang}");
        assert!(page.contains("11.85 EUR"), "{lang}");
        assert!(page.contains("50.0%"), "{lang}");
        assert!(page.contains(r#"id="chart-attributed-table""#), "{lang}");
    }
}
