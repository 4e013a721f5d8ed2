//! Extreme values through every parser and on into the domain: whatever a signed body holds,
//! the answer is an event or a refusal naming a field, never a panic (`cargo test` builds with
//! overflow checks, so a wrapping sum fails here too).

use super::{Inbound, WooCommerceConnection, parse_canonical, shopify, woocommerce};
use crate::domain::{
    CustomerState, EventId, EventType, ShopId, check_amounts, decide, demo_settings,
};
use proptest::prelude::*;
use serde_json::{Value, json};

enum Dialect {
    Canonical,
    Shopify(&'static str),
    WooCommerce(&'static str),
}

/// Every fixture and example with the route and topic it belongs to.
const BODIES: &[(&str, EventType, Dialect)] = &[
    (
        "examples/order-placed.json",
        EventType::OrderPlaced,
        Dialect::Canonical,
    ),
    (
        "examples/order-delivered.json",
        EventType::OrderDelivered,
        Dialect::Canonical,
    ),
    (
        "examples/order-returned.json",
        EventType::OrderReturned,
        Dialect::Canonical,
    ),
    (
        "examples/address-changed.json",
        EventType::AddressChanged,
        Dialect::Canonical,
    ),
    (
        "shopify/orders-create.json",
        EventType::OrderPlaced,
        Dialect::Shopify("orders/create"),
    ),
    (
        "shopify/orders-create-no-marketing.json",
        EventType::OrderPlaced,
        Dialect::Shopify("orders/create"),
    ),
    (
        "shopify/fulfillment-events-create-delivered.json",
        EventType::OrderDelivered,
        Dialect::Shopify("fulfillment_events/create"),
    ),
    (
        "shopify/fulfillments-update-delivered.json",
        EventType::OrderDelivered,
        Dialect::Shopify("fulfillments/update"),
    ),
    (
        "shopify/refunds-create-partial.json",
        EventType::OrderReturned,
        Dialect::Shopify("refunds/create"),
    ),
    (
        "shopify/refunds-create-whole-order.json",
        EventType::OrderReturned,
        Dialect::Shopify("refunds/create"),
    ),
    (
        "shopify/customers-update-moved.json",
        EventType::AddressChanged,
        Dialect::Shopify("customers/update"),
    ),
    (
        "shopify/customers-update-legacy-2024-04.json",
        EventType::AddressChanged,
        Dialect::Shopify("customers/update"),
    ),
    (
        "shopify/customers-email-marketing-consent-update.json",
        EventType::AddressChanged,
        Dialect::Shopify("customers_email_marketing_consent/update"),
    ),
    (
        "shopify/customers-redact.json",
        EventType::AddressChanged,
        Dialect::Shopify("customers/redact"),
    ),
    (
        "shopify/customers-data-request.json",
        EventType::AddressChanged,
        Dialect::Shopify("customers/data_request"),
    ),
    (
        "shopify/shop-redact.json",
        EventType::AddressChanged,
        Dialect::Shopify("shop/redact"),
    ),
    (
        "woocommerce/order-created.json",
        EventType::OrderPlaced,
        Dialect::WooCommerce("order.created"),
    ),
    (
        "woocommerce/order-updated-completed.json",
        EventType::OrderDelivered,
        Dialect::WooCommerce("order.updated"),
    ),
    (
        "woocommerce/order-updated-partial-refund.json",
        EventType::OrderReturned,
        Dialect::WooCommerce("order.updated"),
    ),
    (
        "woocommerce/order-updated-refunded.json",
        EventType::OrderReturned,
        Dialect::WooCommerce("order.updated"),
    ),
    (
        "woocommerce/customer-updated-moved.json",
        EventType::AddressChanged,
        Dialect::WooCommerce("customer.updated"),
    ),
];

fn body(path: &str) -> Value {
    let root = env!("CARGO_MANIFEST_DIR");
    let file = match path.strip_prefix("examples/") {
        Some(name) => format!("{root}/contracts/examples/{name}"),
        None => format!("{root}/../tests/fixtures/{path}"),
    };
    serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap()
}

/// JSON pointers to every member and element of a value.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                pointers(v, p, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                pointers(v, p, out);
            }
        }
        _ => {}
    }
}

fn extreme() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop::sample::select(vec![f64::MAX, f64::MIN, 1e300, -0.0, 2.5e-300, 0.1])
            .prop_map(|f| json!(f)),
        prop::sample::select(vec![
            "999999999999.9999",
            "-999999999999.9999",
            "999999999999",
            "0",
            "-0.0001",
            "9999-12-30T00:00:00Z",
            "9999-12-30T00:00:00",
            "-009999-01-03T00:00:00Z",
            "0000-01-01T00:00:00Z",
            "2199-12-31T23:59:59-23:59",
            "",
            " ",
            "\u{0}",
            "gid://shopify/Order/1",
            "subscribed",
            "delivered",
            "refunded",
            "completed",
            "refund",
            "4294967296",
            "100000",
        ])
        .prop_map(Value::from),
        "\\PC{0,200}".prop_map(Value::from),
        (100usize..300).prop_map(|n| Value::from("9".repeat(n))),
        Just(json!([])),
        Just(json!({})),
        Just(json!([{}])),
        Just(json!([{ "id": "1", "total": "-999999999999.9999" }])),
    ]
}

/// Parses a body and applies what it says twice (to a new customer, then again to the state
/// that made); returns how many items the body came to.
fn run(route: EventType, dialect: &Dialect, bytes: &[u8]) -> usize {
    run_with(route, dialect, bytes, true)
}

fn run_with(route: EventType, dialect: &Dialect, bytes: &[u8], twice: bool) -> usize {
    let shop = ShopId::parse("demo").unwrap();
    let guests = super::GuestIds::new("fuzz-guest-secret");
    let settings = demo_settings();
    let connection = WooCommerceConnection {
        webhook_secrets: vec![],
        delivered_status: "completed".into(),
        consent_meta_key: Some("newsletter_opt_in".into()),
    };
    let inbound: Vec<Inbound> = match dialect {
        Dialect::Canonical => parse_canonical(&shop, route, EventId::parse("e1").unwrap(), bytes)
            .map(|event| {
                vec![Inbound::Apply {
                    event,
                    customer_from_order: false,
                }]
            })
            .unwrap_or_default(),
        Dialect::Shopify(topic) => shopify::map(
            &shop,
            "demo.myshopify.com",
            Some(&guests),
            route,
            topic,
            None,
            bytes,
        )
        .map(|i| vec![i])
        .unwrap_or_default(),
        Dialect::WooCommerce(topic) => {
            woocommerce::map(&shop, Some(&guests), &connection, route, topic, bytes)
                .unwrap_or_default()
        }
    };
    let now = "2026-11-29T12:00:00Z".parse().unwrap();
    let count = inbound.len();
    for item in inbound {
        if let Inbound::Apply { event, .. } = item {
            let state = CustomerState::default();
            if check_amounts(&state, &event, &settings).is_ok() {
                let decision = decide(&state, &event, now, &settings);
                let again = CustomerState {
                    profile: Some(decision.profile),
                    order: decision.order,
                    year_orders: None,
                };
                if twice && check_amounts(&again, &event, &settings).is_ok() {
                    decide(&again, &event, now, &settings);
                }
            }
        }
    }
    count
}

const TIMES: &[&str] = &[
    "9999-12-30T00:00:00Z",
    "9999-12-30T00:00:00",
    "-009999-01-03T00:00:00Z",
    "0001-01-01T00:00:00",
    "2199-12-31T23:59:59-23:59",
    "1900-01-01T00:00:00+23:59",
    "1970-01-01T00:00:00Z",
];
const AMOUNTS: &[&str] = &[
    "999999999999.9999",
    "-999999999999.9999",
    "999999999999.99",
    "999999999999",
    "-0.0001",
    "0",
];
fn numbers() -> Vec<Value> {
    vec![
        json!(i64::MAX),
        json!(i64::MIN),
        json!(u64::MAX),
        json!(100_000),
        json!(4_294_967_296_u64),
        json!(0),
        json!(-1),
        json!(1e300),
    ]
}

fn is_time(text: &str) -> bool {
    text.parse::<jiff::Timestamp>().is_ok() || text.parse::<jiff::civil::DateTime>().is_ok()
}

fn is_amount(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
}

/// A replacement for `current` that is extreme for its kind: times for times, amounts for
/// amounts, numbers for numbers, anything for the rest.
fn replacement(current: &Value, choice: prop::sample::Index, other: Value) -> Value {
    match current {
        Value::String(text) if is_time(text) => Value::from(*choice.get(TIMES)),
        Value::String(text) if is_amount(text) => Value::from(*choice.get(AMOUNTS)),
        Value::Number(_) => choice.get(&numbers()).clone(),
        _ => other,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn no_body_panics_the_parsers_or_the_domain(
        which in 0..BODIES.len(),
        edits in prop::collection::vec(
            (any::<prop::sample::Index>(), any::<prop::sample::Index>(), extreme()),
            1..6,
        ),
    ) {
        let (path, route, dialect) = &BODIES[which];
        let mut value = body(path);
        for (at, choice, other) in edits {
            let mut all = Vec::new();
            pointers(&value, String::new(), &mut all);
            if all.is_empty() {
                break;
            }
            let pointer = at.get(&all).clone();
            if let Some(slot) = value.pointer_mut(&pointer) {
                *slot = replacement(slot, choice, other);
            }
        }
        run(*route, dialect, value.to_string().as_bytes());
    }
}

/// Each field of each body in turn, set to each extreme value of its kind (and to a few
/// values of other kinds): an exhaustive sweep where the random search above samples.
#[test]
fn every_field_at_its_extremes() {
    let others = [Value::Null, json!(-1), json!("9".repeat(129)), json!({})];
    let mut runs = 0;
    for (path, route, dialect) in BODIES {
        let original = body(path);
        let mut all = Vec::new();
        pointers(&original, String::new(), &mut all);
        // Shopify's `*_set` objects repeat each amount in two currencies; trouw reads none.
        for pointer in all.iter().filter(|p| !p.contains("_set")) {
            let current = original.pointer(pointer).cloned().unwrap_or(Value::Null);
            // Containers get one odd value; leaves every extreme of their kind and a few odd
            // values of other kinds.
            let candidates: Vec<Value> = match &current {
                Value::Object(_) | Value::Array(_) => vec![Value::Null],
                Value::Number(_) => numbers().into_iter().chain(others.clone()).collect(),
                Value::String(text) if is_time(text) => TIMES
                    .iter()
                    .map(|t| Value::from(*t))
                    .chain(others.clone())
                    .collect(),
                Value::String(text) if is_amount(text) => AMOUNTS
                    .iter()
                    .map(|a| Value::from(*a))
                    .chain(others.clone())
                    .collect(),
                _ => others.to_vec(),
            };
            for candidate in candidates {
                let mut value = original.clone();
                if let Some(slot) = value.pointer_mut(pointer) {
                    *slot = candidate;
                }
                run_with(*route, dialect, value.to_string().as_bytes(), false);
                runs += 1;
            }
        }
    }
    assert!(runs > 5_000, "{runs} variants");
    eprintln!("{runs} variants");
}

#[test]
fn every_body_is_read_as_it_is() {
    // The starting points themselves parse, so the fuzzing above starts from valid bodies.
    for (path, route, dialect) in BODIES {
        assert!(
            run(*route, dialect, body(path).to_string().as_bytes()) > 0,
            "{path}"
        );
    }
}
