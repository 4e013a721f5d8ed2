//! What a customer is worth, over HTTP: the historic value on the profile (spent less
//! returned) and the 12-month forecast from the customer's own rhythm on their page.

use serde_json::{Value, json};
use trouw::domain::{Currency, CustomerId, OrderId};
use trouw::mail::LinkKey;
use trouw_tests::{ADMIN_PASSWORD, ADMIN_USER, LINK_SECRET, TestStack, example, unique};

fn order(id: &str, placed_at: &str, email: &str) -> Value {
    let mut body = example("order-placed");
    body["occurred_at"] = json!(placed_at);
    body["order"]["id"] = json!(id);
    body["order"]["placed_at"] = json!(placed_at);
    body["customer"]["email"] = json!(email);
    body
}

fn returned(id: &str, at: &str, whole: bool) -> Value {
    let mut back = example("order-returned");
    back["order"]["id"] = json!(id);
    back["order"]["returned_at"] = json!(at);
    back["occurred_at"] = json!(at);
    if whole {
        back["order"]
            .as_object_mut()
            .unwrap()
            .retain(|k, _| k == "id" || k == "returned_at");
    }
    back
}

/// A marketers' page (Basic authentication, as scripts use it).
async fn admin_page(stack: &TestStack, path_and_query: &str) -> String {
    use base64::Engine;
    let auth =
        base64::engine::general_purpose::STANDARD.encode(format!("{ADMIN_USER}:{ADMIN_PASSWORD}"));
    let request = http::Request::get(format!("{}{path_and_query}", stack.base_url))
        .header("authorization", format!("Basic {auth}"))
        .body(Default::default())
        .unwrap();
    let answer = stack.send(request).await;
    assert_eq!(answer.status, 200, "{path_and_query}: {}", answer.body);
    answer.body
}

async fn posted(stack: &TestStack, route: &str, body: &Value) {
    let answer = stack.post(route, body).await;
    assert!((200..300).contains(&answer.status), "{route}: {answer:?}");
}

/// The text of the page's element with this class (the first one).
fn cell(page: &str, class: &str) -> String {
    let start = page
        .find(&format!("class=\"{class}\">"))
        .unwrap_or_else(|| panic!("no {class} in {page}"));
    let rest = &page[start..];
    let rest = &rest[rest.find('>').unwrap() + 1..];
    rest[..rest.find("</").unwrap()].trim().to_owned()
}

#[tokio::test]
async fn returns_lower_the_value_and_the_forecast_follows_the_customers_rhythm() {
    let stack = TestStack::start().await;
    let email = format!("{}@example.nl", unique("anna"));
    let page = |lang: &'static str| {
        let stack = &stack;
        async move {
            admin_page(
                stack,
                &format!("/admin/customers/cus-8812?shop={}&lang={lang}", stack.shop),
            )
            .await
        }
    };

    // One order of 64.85: worth 64.85; the shop's default rhythm (120 days) for one order:
    // 365 / 120 = 3.04 orders of 64.85, 197.25 (64.85 * 365 / 120, rounded once).
    posted(
        &stack,
        "order-placed",
        &order("NL-1", "2026-09-01T10:00:00Z", &email),
    )
    .await;
    let (profile, _) = stack.customer("cus-8812").await;
    assert_eq!(profile.unwrap().total_spent.get(Currency::EUR), 6485);
    let en = page("en").await;
    assert_eq!(cell(&en, "value-historic"), "64.85 EUR");
    assert_eq!(
        cell(&en, "value-forecast"),
        "197.25 EUR (3.04 orders × 64.85 EUR; one every 120 days)"
    );
    assert!(en.contains("(365 days &#x2f; the customer"), "{en}");

    // A second order 60 days later, and its 53.00 toothbrush back: 64.85 + 11.85 = 76.70.
    // Their own rhythm now: 60 days, 6.08 orders a year of 38.35: 233.30.
    posted(
        &stack,
        "order-placed",
        &order("NL-2", "2026-10-31T10:00:00Z", &email),
    )
    .await;
    posted(
        &stack,
        "order-returned",
        &returned("NL-2", "2026-11-06T10:00:00Z", false),
    )
    .await;
    let (profile, _) = stack.customer("cus-8812").await;
    assert_eq!(profile.unwrap().total_spent.get(Currency::EUR), 7670);
    let nl = page("nl").await;
    assert_eq!(cell(&nl, "value-historic"), "76.70 EUR");
    assert_eq!(
        cell(&nl, "value-forecast"),
        "233.30 EUR (6.08 bestellingen × 38.35 EUR; één per 60 dagen)"
    );
    assert!(
        nl.contains("(365 dagen &#x2f; het bestelritme van de klant)"),
        "{nl}"
    );

    // The first order comes back whole: 11.85 left, 2 orders: 36.04 expected.
    posted(
        &stack,
        "order-returned",
        &returned("NL-1", "2026-11-07T10:00:00Z", true),
    )
    .await;
    // The same return again changes nothing.
    posted(
        &stack,
        "order-returned",
        &returned("NL-1", "2026-11-07T10:00:00Z", true),
    )
    .await;
    let (profile, _) = stack.customer("cus-8812").await;
    assert_eq!(profile.unwrap().total_spent.get(Currency::EUR), 1185);
    let en = page("en").await;
    assert_eq!(cell(&en, "value-historic"), "11.85 EUR");
    assert_eq!(
        cell(&en, "value-forecast"),
        "36.04 EUR (6.08 orders × 5.93 EUR; one every 60 days)"
    );
}

/// A customer with one order of `total`, placed and delivered at the contract's times (their
/// survey is due five days after the delivery).
async fn ordered_and_delivered(stack: &TestStack, customer: &str, order_id: &str, total: &str) {
    stack.set_now(at("2026-11-02T08:15:00Z"));
    let mut placed = order(
        order_id,
        "2026-11-02T08:14:03Z",
        &format!("{}@example.nl", unique("klant")),
    );
    placed["customer"]["id"] = json!(customer);
    placed["order"]["total"] = json!(total);
    posted(stack, "order-placed", &placed).await;
    stack.set_now(at("2026-11-04T12:40:00Z"));
    let mut delivered = example("order-delivered");
    delivered["order"]["id"] = json!(order_id);
    delivered["customer"]["id"] = json!(customer);
    posted(stack, "order-delivered", &delivered).await;
}

fn at(text: &str) -> jiff::Timestamp {
    text.parse().unwrap()
}

/// The customer's answer from the survey page (`POST /s/{token}`).
async fn answer(stack: &TestStack, customer: &str, order_id: &str, score: u8) {
    let token = LinkKey::new(LINK_SECRET).survey_token(
        &stack.shop,
        &CustomerId::parse(customer).unwrap(),
        &OrderId::parse(order_id).unwrap(),
    );
    let answer = stack
        .post_form(&format!("/s/{token}"), &[("score", &score.to_string())])
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

/// `count` answers of `score` from customers worth `value` (minor units, EUR), as the answer
/// path writes them, seeded straight into the log (a group big enough for a ratio).
async fn seed_answers(stack: &TestStack, count: usize, score: u8, value: i64, when: &str) {
    use aws_sdk_dynamodb::types::AttributeValue;
    use trouw::domain::{Activity, ActivityKind, EventId, Money};
    use trouw::store::{ActivityRecord, keys};
    let when = at(when);
    let mut items = Vec::new();
    for n in 0..count {
        let customer = CustomerId::parse(format!("seeded-{score}-{n}")).unwrap();
        let record = ActivityRecord {
            shop: stack.shop.clone(),
            customer_id: customer.clone(),
            activity: Activity {
                at: when,
                what: ActivityKind::SurveyAnswered {
                    order_id: OrderId::parse(format!("NL-{n}")).unwrap(),
                    score,
                    value: Some(Money::new(value, Currency::EUR)),
                },
            },
        };
        let mut item: trouw_tests::Item = serde_dynamo::to_item(&record).unwrap();
        let event = EventId::parse(format!("answer-{score}-{n}")).unwrap();
        item.extend(keys::activity(&stack.shop, &customer, &event, 0).to_item());
        item.insert("item".into(), AttributeValue::S("activity".into()));
        let day = when.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
        item.insert(
            keys::LOG_DAY.into(),
            AttributeValue::S(keys::log_day(&stack.shop, day)),
        );
        item.insert(
            keys::LOG_AT.into(),
            AttributeValue::N(when.as_millisecond().to_string()),
        );
        items.push(item);
    }
    stack.seed(items).await;
}

#[tokio::test]
async fn promoters_passives_and_detractors_are_compared_by_what_they_had_spent_when_they_answered()
{
    let stack = TestStack::start().await;
    let customers = [
        ("cus-a", "NL-A", "300.00"),
        ("cus-d", "NL-D", "100.00"),
        ("cus-b", "NL-B", "80.00"),
        ("cus-c", "NL-C", "50.00"),
    ];
    for (customer, order_id, total) in customers {
        ordered_and_delivered(&stack, customer, order_id, total).await;
    }
    // Five days after the delivery the schedule asks each of them.
    stack.set_now(at("2026-11-09T14:00:00Z"));
    let schedule = stack.schedule(stack.clock(), None).await;
    let pass = trouw::handlers::run_schedule::run_pass(&schedule)
        .await
        .unwrap();
    assert_eq!((pass.failed, pass.unreadable), (0, 0), "{pass:?}");
    // Anna changes her 4 into a 10: her latest answer counts, once.
    answer(&stack, "cus-a", "NL-A", 4).await;
    stack.set_now(at("2026-11-09T14:05:00Z"));
    answer(&stack, "cus-a", "NL-A", 10).await;
    answer(&stack, "cus-d", "NL-D", 9).await;
    answer(&stack, "cus-b", "NL-B", 2).await;
    answer(&stack, "cus-c", "NL-C", 7).await;

    let query = format!("/admin?shop={}&from=2026-11-01&to=2026-11-09", stack.shop);
    let json: Value =
        serde_json::from_str(&admin_page(&stack, &format!("{query}&format=json")).await).unwrap();
    assert_eq!(
        (
            json["nps"]["promoters"].clone(),
            json["nps"]["detractors"].clone()
        ),
        (json!(2), json!(1))
    );
    let v = &json["value_by_nps"];
    assert_eq!(v["currency"], "EUR");
    let group = |i: usize| {
        (
            v["groups"][i]["group"].as_str().unwrap().to_owned(),
            v["groups"][i]["answers"].as_u64().unwrap(),
            v["groups"][i]["average_value"]["amount"].clone(),
        )
    };
    assert_eq!(group(0), ("promoters".into(), 2, json!("200.00")));
    assert_eq!(group(1), ("passives".into(), 1, json!("50.00")));
    assert_eq!(group(2), ("detractors".into(), 1, json!("80.00")));
    assert_eq!(v["enough_data"], false);
    assert_eq!(v["promoters_to_detractors"], Value::Null);
    for (lang, words) in [
        ("en", "Not enough data for a ratio yet"),
        ("nl", "Nog niet genoeg gegevens voor een verhouding"),
    ] {
        let page = admin_page(&stack, &format!("{query}&lang={lang}")).await;
        assert!(page.contains(words), "{lang}: {page}");
    }

    // Twenty more promoters worth 200.00 and twenty detractors worth 50.00: promoters
    // (300 + 100 + 20 * 200) / 22 = 200.00, detractors (80 + 20 * 50) / 21 = 51.43, 3.89 times.
    seed_answers(&stack, 20, 10, 20_000, "2026-11-09T15:00:00Z").await;
    seed_answers(&stack, 20, 0, 5_000, "2026-11-09T15:00:00Z").await;
    let json: Value =
        serde_json::from_str(&admin_page(&stack, &format!("{query}&format=json")).await).unwrap();
    let v = &json["value_by_nps"];
    assert_eq!(v["groups"][0]["answers"], 22);
    assert_eq!(v["groups"][0]["average_value"]["amount"], "200.00");
    assert_eq!(v["groups"][2]["answers"], 21);
    assert_eq!(v["groups"][2]["average_value"]["amount"], "51.43");
    assert_eq!(v["enough_data"], true);
    assert_eq!(v["promoters_to_detractors"], 3.89);
    let page = admin_page(&stack, &format!("{query}&lang=en")).await;
    assert_eq!(cell(&page, "ratio"), "3.89×");
    assert!(
        page.contains("Promoters are worth this many times detractors"),
        "{page}"
    );
}
