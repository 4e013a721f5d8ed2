//! CPU per event (`make bench`): what a webhook costs before and after DynamoDB, in the
//! release profile: verify the signature, parse the body and decide the next state, for the
//! canonical order example and a Shopify `orders/create` (the 14 KB fixture); and rendering
//! each email template.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use trouw::domain::{CustomerState, EventType, ShopId, decide};
use trouw::store::ShopRecord;
use trouw::webhook::signature::{sign_standard_webhook, verify_standard_webhook};
use trouw::webhook::{GuestIds, Inbound, WebhookSecret, parse_canonical, shopify};

const SECRET: &str = "whsec_dGVzdC1zZWNyZXQtb25lLTAxMjM0NTY3ODk=";
const SHOPIFY_SECRET: &str = "shpss_bench_app_secret";

fn settings() -> trouw::domain::ShopSettings {
    let record: ShopRecord =
        serde_json::from_str(include_str!("../../infra/local/demo-shop.json")).expect("demo shop");
    record.settings
}

fn canonical_order(c: &mut Criterion) {
    let settings = settings();
    let shop = settings.id.clone();
    let body = include_bytes!("../contracts/examples/order-placed.json").to_vec();
    let secrets = [WebhookSecret::new(SECRET)];
    let now = jiff::Timestamp::now();
    let signature =
        sign_standard_webhook(&secrets[0], "msg_bench", now.as_second(), &body).unwrap();
    let mut headers = http::HeaderMap::new();
    headers.insert("webhook-id", "msg_bench".parse().unwrap());
    headers.insert(
        "webhook-timestamp",
        now.as_second().to_string().parse().unwrap(),
    );
    headers.insert("webhook-signature", signature.parse().unwrap());
    c.bench_function("canonical order.placed: verify + parse + decide", |b| {
        b.iter(|| {
            let id = verify_standard_webhook(&headers, black_box(&body), &secrets).unwrap();
            let event = parse_canonical(&shop, EventType::OrderPlaced, id, &body).unwrap();
            black_box(decide(&CustomerState::default(), &event, now, &settings))
        })
    });
}

fn shopify_order(c: &mut Criterion) {
    let settings = settings();
    let shop: ShopId = settings.id.clone();
    let body = include_bytes!("../../tests/fixtures/shopify/orders-create.json").to_vec();
    let secrets = [WebhookSecret::new(SHOPIFY_SECRET)];
    let signature = trouw::webhook::platform::sign_body(&body, &secrets[0]);
    let guests = GuestIds::new("bench-guest-id-secret");
    let now = jiff::Timestamp::now();
    c.bench_function(
        "Shopify orders/create (14 KB): verify + parse + decide",
        |b| {
            b.iter(|| {
                assert!(trouw::webhook::platform::body_signature_matches(
                    black_box(&body),
                    Some(&signature),
                    &secrets
                ));
                let inbound = shopify::map(
                    &shop,
                    "demo.myshopify.com",
                    Some(&guests),
                    EventType::OrderPlaced,
                    "orders/create",
                    Some(now),
                    &body,
                )
                .unwrap();
                let Inbound::Apply { event, .. } = inbound else {
                    panic!("the order is applied")
                };
                black_box(decide(&CustomerState::default(), &event, now, &settings))
            })
        },
    );
}

fn render(c: &mut Criterion) {
    let renderer = trouw::mail::render::Renderer::new();
    let mut group = c.benchmark_group("render");
    for kind in trouw::mail::render::KINDS {
        let [sample, _] = trouw::mail::render::samples(kind, "nl");
        let context = minijinja::Value::from(minijinja::value::Serde(&sample));
        group.bench_function(kind, |b| {
            b.iter(|| black_box(renderer.render(kind, "nl", black_box(&context)).unwrap()))
        });
    }
    group.finish();
}

criterion_group!(cpu, canonical_order, shopify_order, render);
criterion_main!(cpu);
