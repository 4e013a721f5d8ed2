//! What a customer is worth, over HTTP: the historic value on the profile (spent less
//! returned) and the 12-month forecast from the customer's own rhythm on their page.

use serde_json::{Value, json};
use trouw::domain::Currency;
use trouw_tests::{ADMIN_PASSWORD, ADMIN_USER, TestStack, example, unique};

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
