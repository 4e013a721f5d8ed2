//! The bad-input corpus: hundreds of requests that must be refused (or, where the product's
//! documented answer is a harmless 200, answered so), each sent over HTTP to one local stack,
//! and for each: the expected status, error code and field path; every item of the table the
//! same before and after; SES given nothing. Cases live in `tests/corpus/*.json` and are
//! generated from the canonical schema (`corpus/schema.rs`); `corpus/cases.rs` describes them.

#[path = "corpus/cases.rs"]
mod cases;
#[path = "corpus/schema.rs"]
mod schema;
#[path = "corpus/wire.rs"]
mod wire;

use cases::{Case, Expect};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use trouw::domain::{CustomerId, OrderId, ShopId};
use trouw::mail::LinkKey;
use trouw::webhook::WebhookSecret;
use trouw::webhook::platform::sign_body;
use trouw_tests::{
    LINK_SECRET, ROTATED_SECRET, SECRET, SHOPIFY_DOMAIN, SHOPIFY_SECRET, StackOptions, TestStack,
    WOO_SECRET, all_emails, fixture, now, unique,
};
use wire::{RawAnswer, RawRequest, exchange};

/// The corpus's customers: one with an order and links, one erased through Shopify.
const CUSTOMER: &str = "corpus-anna";
const ERASED: &str = "7390412345678";
const ORDER: &str = "NL-100482";

/// Each part of the corpus runs on its own stack (the parts run side by side); within a part,
/// one stack serves every case, and each case is checked on its own.
#[tokio::test]
async fn admin_pages_without_a_session() {
    run("admin").await;
}

#[tokio::test]
async fn content_types_sizes_shops_and_methods() {
    run("http").await;
}

#[tokio::test]
async fn malformed_json() {
    run("json").await;
}

#[tokio::test]
async fn link_tokens_and_forms() {
    run("links").await;
}

#[tokio::test]
async fn platform_payloads_of_the_wrong_topic() {
    run("platforms").await;
}

#[tokio::test]
async fn signature_failures() {
    run("signatures").await;
}

#[tokio::test]
async fn values_out_of_range_and_bad_strings() {
    run("values").await;
}

#[tokio::test]
async fn wrong_types_and_missing_fields_of_order_placed() {
    run("schema/order-placed").await;
}

#[tokio::test]
async fn wrong_types_and_missing_fields_of_order_delivered() {
    run("schema/order-delivered").await;
}

#[tokio::test]
async fn wrong_types_and_missing_fields_of_order_returned() {
    run("schema/order-returned").await;
}

#[tokio::test]
async fn wrong_types_and_missing_fields_of_address_changed() {
    run("schema/address-changed").await;
}

/// The whole corpus, counted (no stack): it must keep at least 300 cases.
#[test]
fn the_corpus_has_at_least_300_cases() {
    let total: usize = PARTS.iter().map(|part| cases_of(part).len()).sum();
    println!("the corpus: {total} cases in {} parts", PARTS.len());
    assert!(total >= 300, "the corpus has {total} cases, fewer than 300");
}

const PARTS: [&str; 11] = [
    "admin",
    "http",
    "json",
    "links",
    "platforms",
    "signatures",
    "values",
    "schema/order-placed",
    "schema/order-delivered",
    "schema/order-returned",
    "schema/address-changed",
];

/// A part's cases: `tests/corpus/{part}.json`, or those generated from the schema for a route
/// (`schema/{route}`).
fn cases_of(part: &str) -> Vec<Case> {
    if let Some(route) = part.strip_prefix("schema/") {
        return schema::cases(&schema::load_schema(), route);
    }
    cases::load_file(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("corpus")
            .join(format!("{part}.json")),
    )
}

/// Sends every case of `part`, each checked on its own; reports `N cases, N held` and, on
/// failure, every case that did not hold with what it got.
async fn run(part: &str) {
    let started = std::time::Instant::now();
    let all = cases_of(part);
    let stack = TestStack::start_with(StackOptions {
        with_sender: true,
        ..Default::default()
    })
    .await;
    let tag = unique("corpus");
    let values = setup(&stack, &tag).await;
    let addr = stack.base_url.trim_start_matches("http://").to_owned();

    let mut failures = Vec::new();
    let mut before = stack.snapshot().await;
    let mut emails_before = emails_of(&tag).await;
    for case in &all {
        let request = request(case, &stack, &values);
        let answer = exchange(&addr, &request).await;
        // Whatever the answer caused reaches the sender through the table's stream first.
        stack.settle().await;
        let after = stack.snapshot().await;
        let emails_after = emails_of(&tag).await;
        let mut problems = Vec::new();
        match &answer {
            Ok(answer) => problems.extend(mismatches(&case.expect(), answer)),
            Err(err) => problems.push(format!("no answer: {err}")),
        }
        if after != before {
            problems.push(format!(
                "the table changed: {}",
                changed_keys(&before, &after)
            ));
        }
        if emails_after != emails_before {
            problems.push(format!(
                "SES received {} email(s)",
                emails_after.saturating_sub(emails_before)
            ));
        }
        if !problems.is_empty() {
            let got = answer.as_ref().map_or_else(
                |e| e.clone(),
                |a| {
                    format!(
                        "{} {}",
                        a.status,
                        a.body.chars().take(300).collect::<String>()
                    )
                },
            );
            failures.push(format!(
                "{}: {}\n    got: {got}",
                case.name,
                problems.join("; ")
            ));
        }
        before = after;
        emails_before = emails_after;
    }
    let held = all.len() - failures.len();
    println!(
        "corpus {part}: {} cases, {held} held ({:.1} s)",
        all.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "corpus {part}: {} cases, {held} held; these did not:\n{}",
        all.len(),
        failures.join("\n")
    );
}

/// The stored state the cases run against, and the values their placeholders take.
async fn setup(stack: &TestStack, tag: &str) -> BTreeMap<String, String> {
    let email = format!("{tag}-anna@example.nl");
    let mut values = BTreeMap::new();
    values.insert("shop".to_owned(), stack.shop.to_string());
    values.insert("SHOP".to_owned(), stack.shop.to_string().to_uppercase());
    values.insert("customer".to_owned(), CUSTOMER.to_owned());
    values.insert("email".to_owned(), email.clone());
    values.insert("order".to_owned(), ORDER.to_owned());

    // A customer with an order, the one every wrongly accepted body would change.
    let placed = cases::example_with_ids("order-placed", &values);
    let answer = stack.post("order-placed", &placed).await;
    assert_eq!(answer.status, 200, "setup: {}", answer.body);

    // A customer placed, then erased on Shopify's request: links mailed before must do nothing.
    let mut erased = placed.clone();
    erased["customer"]["id"] = json!(ERASED);
    erased["customer"]["email"] = json!(format!("{tag}-erased@example.nl"));
    erased["order"]["id"] = json!("NL-200001");
    let answer = stack.post("order-placed", &erased).await;
    assert_eq!(answer.status, 200, "setup: {}", answer.body);
    let answer = stack
        .post_shopify(
            "address-changed",
            "customers/redact",
            &fixture("shopify/customers-redact.json"),
        )
        .await;
    assert_eq!(answer.json()["status"], "erased", "setup: {}", answer.body);
    stack.settle().await;

    let key = LinkKey::new(LINK_SECRET);
    let shop = &stack.shop;
    let anna = CustomerId::parse(CUSTOMER).unwrap();
    let gone = CustomerId::parse(ERASED).unwrap();
    let order = OrderId::parse(ORDER).unwrap();
    let unsubscribe = key.unsubscribe_token(shop, &anna);
    let tokens = [
        ("u_anna", unsubscribe.clone()),
        ("s_anna", key.survey_token(shop, &anna, &order)),
        ("r_anna", key.reactivation_token(shop, &anna)),
        ("u_erased", key.unsubscribe_token(shop, &gone)),
        (
            "s_erased",
            key.survey_token(shop, &gone, &OrderId::parse("NL-200001").unwrap()),
        ),
        ("r_erased", key.reactivation_token(shop, &gone)),
        // Signed by another deployment's key, and for a shop this deployment does not have.
        (
            "u_other_key",
            LinkKey::new("another-deployment").unsubscribe_token(shop, &anna),
        ),
        (
            "u_unknown_shop",
            key.unsubscribe_token(&ShopId::parse(unique("no-such-shop")).unwrap(), &anna),
        ),
        (
            "r_unknown_shop",
            key.reactivation_token(&ShopId::parse(unique("no-such-shop")).unwrap(), &anna),
        ),
        (
            "u_anna_truncated",
            unsubscribe[..unsubscribe.len() - 6].to_owned(),
        ),
        ("u_anna_tampered", tamper(&unsubscribe)),
        ("u_anna_extended", format!("{unsubscribe}A")),
    ];
    for (name, token) in tokens {
        values.insert(name.to_owned(), token);
    }
    values
}

/// The token with one character in its middle changed.
fn tamper(token: &str) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    let i = chars.len() / 2;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

/// How many emails moto's SES holds for this run's addresses.
async fn emails_of(tag: &str) -> usize {
    all_emails()
        .await
        .iter()
        .filter(|(to, _)| to.iter().any(|t| t.contains(tag)))
        .count()
}

fn changed_keys(before: &[trouw_tests::Item], after: &[trouw_tests::Item]) -> String {
    let key = |i: &trouw_tests::Item| {
        let part = |k: &str| match i.get(k) {
            Some(aws_sdk_dynamodb::types::AttributeValue::S(s)) => s.clone(),
            other => format!("{other:?}"),
        };
        format!("{} {}", part("pk"), part("sk"))
    };
    let changed: Vec<String> = after
        .iter()
        .filter(|i| !before.contains(i))
        .map(key)
        .chain(
            before
                .iter()
                .filter(|i| !after.contains(i))
                .map(|i| format!("-{}", key(i))),
        )
        .take(5)
        .collect();
    changed.join(", ")
}

fn mismatches(expect: &Expect, answer: &RawAnswer) -> Vec<String> {
    let mut out = Vec::new();
    if answer.status != expect.status {
        out.push(format!(
            "status {} (expected {})",
            answer.status, expect.status
        ));
    }
    let body = answer.json();
    for (name, want) in [
        ("error", &expect.error),
        ("field", &expect.field),
        ("status", &expect.outcome),
    ] {
        if let Some(want) = want {
            let got = body.get(name).cloned().unwrap_or(Value::Null);
            if &got != want {
                out.push(format!("{name} {got} (expected {want})"));
            }
        }
    }
    out
}

/// The request a case describes, signed as it says.
fn request(case: &Case, stack: &TestStack, values: &BTreeMap<String, String>) -> RawRequest {
    let spec = &case.spec;
    let path = match (case.str("path"), case.str("route")) {
        (Some(path), _) => cases::fill(path, values),
        (None, Some(route)) => format!("/webhooks/{}/{route}", stack.shop),
        (None, None) => panic!("{}: a path or a route", case.name),
    };
    let webhook = path.starts_with("/webhooks/");
    let body = cases::body(case, values);
    let mut headers: Vec<(String, String)> = Vec::new();
    let content_type = match spec.get("content_type") {
        Some(Value::Null) => None,
        Some(v) => Some(cases::fill(v.as_str().unwrap(), values)),
        None if webhook => Some("application/json".to_owned()),
        None => None,
    };
    if let Some(ct) = content_type {
        headers.push(("Content-Type".into(), ct));
    }
    let sign = case
        .str("sign")
        .unwrap_or(if webhook { "standard" } else { "none" });
    match sign.split_once(':') {
        _ if sign == "none" => {}
        _ if sign == "standard" => headers.extend(standard_headers(
            case.str("signature").unwrap_or("valid"),
            &body,
        )),
        Some(("shopify", topic)) => headers.extend(shopify_headers(
            case.str("signature").unwrap_or("valid"),
            topic,
            &body,
        )),
        Some(("woocommerce", topic)) => headers.extend(woo_headers(
            case.str("signature").unwrap_or("valid"),
            topic,
            &body,
        )),
        _ => panic!("{}: unknown sign {sign}", case.name),
    }
    for pair in spec["headers"].as_array().into_iter().flatten() {
        let name = pair[0].as_str().unwrap().to_owned();
        let value = cases::fill(pair[1].as_str().unwrap(), values);
        headers.push((name, value));
    }
    RawRequest {
        method: case.str("method").unwrap_or("POST").to_owned(),
        target: path,
        headers,
        body,
        chunked: spec["chunked"].as_bool().unwrap_or(false),
    }
}

/// Standard Webhooks headers with the named fault in them (`valid`: none).
fn standard_headers(fault: &str, body: &[u8]) -> Vec<(String, String)> {
    let id = unique("corpus-msg");
    let ts = now();
    let sign = standard_signature;
    let valid = sign(SECRET, &id, ts, body);
    let (mut sent_id, mut sent_ts, mut signature) = (id.clone(), ts.to_string(), valid.clone());
    let mut names = ["webhook-id", "webhook-timestamp", "webhook-signature"].map(str::to_owned);
    let mut extra = Vec::new();
    let mut omit = None;
    match fault {
        "valid" => {}
        "stale" => {
            sent_ts = (ts - 600).to_string();
            signature = sign(SECRET, &id, ts - 600, body);
        }
        "future" => {
            sent_ts = (ts + 600).to_string();
            signature = sign(SECRET, &id, ts + 600, body);
        }
        "far_past" => sent_ts = i64::MIN.to_string(),
        "far_future" => sent_ts = i64::MAX.to_string(),
        "timestamp_overflow" => sent_ts = "99999999999999999999999".into(),
        "timestamp_words" => sent_ts = "yesterday".into(),
        "timestamp_fraction" => sent_ts = format!("{ts}.5"),
        "timestamp_rfc3339" => sent_ts = jiff::Timestamp::now().to_string(),
        "timestamp_empty" => sent_ts = String::new(),
        "no_id" => omit = Some(0),
        "no_timestamp" => omit = Some(1),
        "no_signature" => omit = Some(2),
        "empty_signature" => signature = String::new(),
        "signature_no_version" => signature = valid.split_once(',').unwrap().1.to_owned(),
        "signature_no_value" => signature = "v1,".into(),
        "signature_garbage" => signature = "v1,not base64 at all!".into(),
        "signature_truncated" => signature = valid[..valid.len() - 8].to_owned(),
        "signature_tampered" => signature = tamper(&valid),
        "signature_case_changed" => {
            let (v, sig) = valid.split_once(',').unwrap();
            signature = format!("{v},{}", swap_case(sig));
        }
        "scheme_v2" => signature = valid.replacen("v1,", "v2,", 1),
        "scheme_v1a" => signature = valid.replacen("v1,", "v1a,", 1),
        "scheme_upper" => signature = valid.replacen("v1,", "V1,", 1),
        "scheme_hex" => {
            // The right HMAC, but hex encoded instead of base64.
            signature = "v1,".to_owned() + &"ab".repeat(32);
        }
        "wrong_secret" => signature = sign(ROTATED_SECRET, &id, ts, body),
        "secret_without_prefix" => {
            // The secret's text used as raw key bytes (a common integration mistake).
            let text = SECRET.trim_start_matches("whsec_");
            signature = sign(&format!("whsec_{}", base64_of(text)), &id, ts, body);
        }
        "other_body" => signature = sign(SECRET, &id, ts, b"{\"type\":\"order.placed\"}"),
        "body_with_newline" => {
            let mut changed = body.to_vec();
            changed.push(b'\n');
            signature = sign(SECRET, &id, ts, &changed);
        }
        "other_id" => sent_id = unique("corpus-other-id"),
        "other_timestamp" => sent_ts = (ts - 1).to_string(),
        "id_too_long" => {
            sent_id = "m".repeat(129);
            signature = sign(SECRET, &sent_id, ts, body);
        }
        "names_upper_wrong_secret" => {
            names = ["WEBHOOK-ID", "WEBHOOK-TIMESTAMP", "WEBHOOK-SIGNATURE"].map(str::to_owned);
            signature = sign(ROTATED_SECRET, &id, ts, body);
        }
        "names_mixed_stale" => {
            names = ["Webhook-Id", "Webhook-Timestamp", "Webhook-Signature"].map(str::to_owned);
            sent_ts = (ts - 600).to_string();
            signature = sign(SECRET, &id, ts - 600, body);
        }
        "names_underscore" => {
            names = ["webhook_id", "webhook_timestamp", "webhook_signature"].map(str::to_owned);
        }
        "names_svix" => {
            names = ["svix-id", "svix-timestamp", "svix-signature"].map(str::to_owned);
        }
        "duplicate_signature_first_wrong" => {
            signature = sign(ROTATED_SECRET, &id, ts, body);
            extra.push(("webhook-signature".to_owned(), valid.clone()));
        }
        "duplicate_id_other_first" => {
            sent_id = unique("corpus-first-id");
            extra.push(("webhook-id".to_owned(), id.clone()));
        }
        "duplicate_timestamp_stale_first" => {
            sent_ts = (ts - 600).to_string();
            extra.push(("webhook-timestamp".to_owned(), ts.to_string()));
        }
        "many_wrong_signatures" => {
            let wrong = sign(ROTATED_SECRET, &id, ts, body);
            signature = vec![wrong; 50].join(" ");
        }
        other => panic!("unknown signature fault {other}"),
    }
    let values = [sent_id, sent_ts, signature];
    let mut headers: Vec<(String, String)> = names
        .into_iter()
        .zip(values)
        .enumerate()
        .filter(|(i, _)| Some(*i) != omit)
        .map(|(_, pair)| pair)
        .collect();
    headers.extend(extra);
    headers
}

/// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` keyed with the secret's decoded
/// bytes, per the Standard Webhooks spec, over the raw body (which need not be UTF-8).
fn standard_signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    use base64::Engine;
    use hmac::Mac;
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .expect("a whsec_ secret");
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

fn swap_case(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_uppercase() {
                c.to_ascii_lowercase()
            } else {
                c.to_ascii_uppercase()
            }
        })
        .collect()
}

fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn shopify_headers(fault: &str, topic: &str, body: &[u8]) -> Vec<(String, String)> {
    let hmac = |secret: &str| sign_body(body, &WebhookSecret::new(secret));
    let mut domain = SHOPIFY_DOMAIN.to_owned();
    let mut signature = Some(hmac(SHOPIFY_SECRET));
    match fault {
        "valid" => {}
        "wrong_secret" => signature = Some(hmac("shpss_not_this_shops_secret")),
        "missing" => signature = None,
        "hex" => signature = Some("ab".repeat(32)),
        "other_domain" => domain = "someone-else.myshopify.com".into(),
        other => panic!("unknown shopify fault {other}"),
    }
    let mut headers = vec![
        ("X-Shopify-Topic".to_owned(), topic.to_owned()),
        ("X-Shopify-Shop-Domain".to_owned(), domain),
        ("X-Shopify-API-Version".to_owned(), "2025-10".to_owned()),
        ("X-Shopify-Webhook-Id".to_owned(), unique("corpus-shopify")),
        (
            "X-Shopify-Event-Id".to_owned(),
            unique("corpus-shopify-event"),
        ),
    ];
    if let Some(signature) = signature {
        headers.push(("X-Shopify-Hmac-Sha256".to_owned(), signature));
    }
    headers
}

fn woo_headers(fault: &str, topic: &str, body: &[u8]) -> Vec<(String, String)> {
    let mut signature = Some(sign_body(body, &WebhookSecret::new(WOO_SECRET)));
    match fault {
        "valid" => {}
        "wrong_secret" => signature = Some(sign_body(body, &WebhookSecret::new("not-the-secret"))),
        "missing" => signature = None,
        other => panic!("unknown woocommerce fault {other}"),
    }
    let mut headers = vec![
        ("X-WC-Webhook-Topic".to_owned(), topic.to_owned()),
        (
            "X-WC-Webhook-Source".to_owned(),
            "https://winkel.example.nl/".to_owned(),
        ),
        ("X-WC-Webhook-Delivery-ID".to_owned(), unique("corpus-wc")),
    ];
    if let Some(signature) = signature {
        headers.push(("X-WC-Webhook-Signature".to_owned(), signature));
    }
    headers
}
