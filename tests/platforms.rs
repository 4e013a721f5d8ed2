//! Shopify and WooCommerce deliveries, end to end, with the fixtures in `tests/fixtures/`.

use serde_json::{Value, json};
use trouw::domain::{Currency, OrderStatus};
use trouw_tests::fault::{Fault, FaultProxy};
use trouw_tests::{
    SHOPIFY_OLD_SECRET, SHOPIFY_SECRET, StackOptions, TestStack, fixture, local_aws, unique,
};

const SHOPIFY_CUSTOMER: &str = "7390412345678";
const SHOPIFY_ORDER: &str = "5912345678901";
const WOO_CUSTOMER: &str = "77";

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

fn ts(text: &str) -> jiff::Timestamp {
    text.parse().unwrap()
}

use trouw_tests::shopify_fixture as shopify;

async fn woo(stack: &TestStack, route: &str, topic: &str, file: &str) -> Value {
    let answer = stack
        .post_woo(route, topic, &fixture(&format!("woocommerce/{file}")))
        .await;
    assert_eq!(answer.status, 200, "{topic} {file}: {}", answer.body);
    answer.json()
}

#[tokio::test]
async fn shopify_order_created_becomes_an_order_placed() {
    let stack = TestStack::start().await;
    let payload = json_of(&fixture("shopify/orders-create.json"));
    let body = shopify(
        &stack,
        "order-placed",
        "orders/create",
        "orders-create.json",
    )
    .await;
    assert_eq!(
        (body["status"].clone(), body["order_status"].clone()),
        (json!("processed"), json!("placed"))
    );

    let (profile, orders) = stack.customer(SHOPIFY_CUSTOMER).await;
    let profile = profile.unwrap();
    let total_minor = (payload["total_price"]
        .as_str()
        .unwrap()
        .parse::<f64>()
        .unwrap()
        * 100.0)
        .round() as i64;
    assert_eq!(profile.total_spent.get(Currency::EUR), total_minor);
    assert_eq!(profile.loyalty.points_pending, (total_minor / 100) as u64);
    assert_eq!(
        profile.contact.email().unwrap().as_str(),
        "anna.devries@example.nl"
    );
    assert_eq!(profile.contact.first_name(), Some("Anna"));
    let consent = profile.consent.unwrap();
    assert!(consent.granted, "buyer_accepts_marketing is an opt-in");
    assert_eq!(consent.source, "shopify:orders/create");
    let home = profile.addresses.current().unwrap();
    assert_eq!(
        home.area.postal_code, "1016GV",
        "the default address, not the gift's shipping address"
    );

    let order = &orders[0];
    assert_eq!(order.id.as_str(), SHOPIFY_ORDER);
    assert_eq!(
        order.placed.as_ref().unwrap().placed_at,
        ts("2026-11-02T09:14:03+01:00")
    );
    let lines = &order.placed.as_ref().unwrap().lines;
    let skus: Vec<(&str, u32)> = lines.iter().map(|l| (l.sku.as_str(), l.quantity)).collect();
    assert_eq!(skus, [("TP-075", 3), ("EB-200", 1)]);
    let toothbrush = lines[1].unit_price.unwrap().minor;
    assert!(
        toothbrush < 5300 && toothbrush > 4000,
        "the paid price after the discount: {toothbrush}"
    );
}

#[tokio::test]
async fn shopify_delivery_signals_and_ignored_statuses() {
    let stack = TestStack::start().await;
    shopify(
        &stack,
        "order-placed",
        "orders/create",
        "orders-create.json",
    )
    .await;

    let in_transit = shopify(
        &stack,
        "order-delivered",
        "fulfillment_events/create",
        "fulfillment-events-create-in-transit.json",
    )
    .await;
    assert_eq!(in_transit["status"], "ignored");
    let out_for_delivery = shopify(
        &stack,
        "order-delivered",
        "fulfillments/update",
        "fulfillments-update-out-for-delivery.json",
    )
    .await;
    assert_eq!(out_for_delivery["status"], "ignored");
    let delivered = shopify(
        &stack,
        "order-delivered",
        "fulfillment_events/create",
        "fulfillment-events-create-delivered.json",
    )
    .await;
    assert_eq!(
        (
            delivered["status"].clone(),
            delivered["order_status"].clone()
        ),
        (json!("processed"), json!("delivered"))
    );
    let also = shopify(
        &stack,
        "order-delivered",
        "fulfillments/update",
        "fulfillments-update-delivered.json",
    )
    .await;
    assert_eq!(also["status"], "processed");

    let (_, orders) = stack.customer(SHOPIFY_CUSTOMER).await;
    assert_eq!(orders[0].status, OrderStatus::Delivered);
    assert_eq!(
        orders[0].delivered_at,
        Some(ts("2026-11-04T13:38:12+01:00")),
        "the earliest delivery signal counts"
    );
}

#[tokio::test]
async fn shopify_refunds_are_returns_by_line() {
    let stack = TestStack::start().await;
    shopify(
        &stack,
        "order-placed",
        "orders/create",
        "orders-create.json",
    )
    .await;
    let (before, _) = stack.customer(SHOPIFY_CUSTOMER).await;
    let points_before = before.unwrap().loyalty.points_pending;

    let shipping = shopify(
        &stack,
        "order-returned",
        "refunds/create",
        "refunds-create-shipping-only.json",
    )
    .await;
    assert_eq!(
        shipping["status"], "ignored",
        "a shipping refund returns no goods"
    );
    let partial = shopify(
        &stack,
        "order-returned",
        "refunds/create",
        "refunds-create-partial.json",
    )
    .await;
    assert_eq!(
        (partial["status"].clone(), partial["order_status"].clone()),
        (json!("processed"), json!("partially_returned"))
    );
    let (profile, orders) = stack.customer(SHOPIFY_CUSTOMER).await;
    let profile = profile.unwrap();
    let toothbrush_paid = orders[0].placed.as_ref().unwrap().lines[1]
        .unit_price
        .unwrap();
    assert_eq!(
        profile.loyalty.points_pending,
        points_before - toothbrush_paid.whole_units() as u64
    );
    assert_eq!(profile.returned_order_count, 1);

    let full = shopify(
        &stack,
        "order-returned",
        "refunds/create",
        "refunds-create-full.json",
    )
    .await;
    assert_eq!(full["order_status"], "returned");
    let (profile, _) = stack.customer(SHOPIFY_CUSTOMER).await;
    assert_eq!(profile.unwrap().loyalty.points_pending, 0);

    let thin = shopify(
        &stack,
        "order-returned",
        "returns/request",
        "returns-request.json",
    )
    .await;
    assert_eq!(thin["status"], "ignored");
}

#[tokio::test]
async fn shopify_events_for_an_order_trouw_never_saw_wait_for_it() {
    let stack = TestStack::start().await;
    let before = stack.snapshot().await;
    let answer = shopify(
        &stack,
        "order-delivered",
        "fulfillment_events/create",
        "fulfillment-events-create-delivered.json",
    )
    .await;
    assert_eq!(answer["status"], "parked", "{answer}");
    let after = stack.snapshot().await;
    let new: Vec<_> = after.iter().filter(|i| !before.contains(i)).collect();
    assert_eq!(new.len(), 1, "only the parked event is written");
    let parked = new[0];
    assert_eq!(
        parked["sk"].as_s().unwrap(),
        "PARKED#shopify:fulfillment_event:6100000000003"
    );
    let expires: i64 = parked["expires_at"].as_n().unwrap().parse().unwrap();
    let in_days = (expires - trouw_tests::now()) as f64 / 86_400.0;
    assert!((29.9..=30.1).contains(&in_days), "kept 30 days: {in_days}");

    // The same delivery again (Shopify retried it under a new id): parked once.
    let again = shopify(
        &stack,
        "order-delivered",
        "fulfillment_events/create",
        "fulfillment-events-create-delivered.json",
    )
    .await;
    assert_eq!(again["status"], "duplicate");
    assert_eq!(stack.snapshot().await, after);
}

/// Posts one of the three facts of a Shopify order, its ids made unique for `n`.
async fn shopify_fact(stack: &TestStack, n: usize, fact: usize) -> Value {
    let (route, topic, file) = [
        ("order-placed", "orders/create", "orders-create.json"),
        (
            "order-delivered",
            "fulfillment_events/create",
            "fulfillment-events-create-delivered.json",
        ),
        (
            "order-returned",
            "refunds/create",
            "refunds-create-partial.json",
        ),
    ][fact];
    let mut body = json_of(&fixture(&format!("shopify/{file}")));
    let order = format!("59123456789{n:02}");
    match fact {
        0 => {
            body["id"] = json!(order);
            body["customer"]["id"] = json!(format!("73904123456{n:02}"));
        }
        1 => {
            body["order_id"] = json!(order);
            body["id"] = json!(format!("61000000000{n:02}"));
        }
        _ => {
            body["order_id"] = json!(order);
            body["id"] = json!(format!("96000000000{n:02}"));
        }
    }
    let answer = stack
        .post_shopify(route, topic, body.to_string().as_bytes())
        .await;
    assert_eq!(answer.status, 200, "{topic}: {}", answer.body);
    answer.json()
}

/// How many events still wait for the order `order` (Shopify's id).
async fn parked_left(stack: &TestStack, order: &str) -> usize {
    let partition_end = format!("#ORDER#{order}");
    stack
        .snapshot()
        .await
        .into_iter()
        .filter(|i| {
            i["pk"].as_s().unwrap().ends_with(&partition_end)
                && i["sk"].as_s().unwrap().starts_with("PARKED#")
        })
        .count()
}

#[tokio::test]
async fn any_arrival_order_of_a_shopify_orders_webhooks_ends_as_the_natural_order() {
    let stack = TestStack::start().await;
    let permutations = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    let mut states = Vec::new();
    for (n, perm) in permutations.iter().enumerate() {
        let mut placed_yet = false;
        for &fact in perm {
            let answer = shopify_fact(&stack, n, fact).await;
            let expected = if fact == 0 || placed_yet {
                "processed"
            } else {
                "parked"
            };
            assert_eq!(answer["status"], expected, "{perm:?} fact {fact}: {answer}");
            placed_yet |= fact == 0;
        }
        let customer = format!("73904123456{n:02}");
        let order = format!("59123456789{n:02}");
        let (profile, orders) = stack.customer(&customer).await;
        let profile = profile.unwrap();
        let messages = stack
            .store()
            .messages(&stack.shop, &profile.id)
            .await
            .unwrap();
        let mut kinds: Vec<String> = messages
            .iter()
            .map(|m| m.intent.key.split('#').next().unwrap().to_owned())
            .collect();
        kinds.sort();
        let state = json!({
            "points_pending": profile.loyalty.points_pending,
            "points_available": profile.loyalty.points_available,
            "order_count": profile.order_count,
            "returned_order_count": profile.returned_order_count,
            "total_spent": profile.total_spent,
            "lifecycle": profile.lifecycle,
            "version": profile.version,
            "orders": orders,
            "messages": kinds,
        })
        .to_string()
        .replace(&customer, "CUSTOMER")
        .replace(&order, "ORDER")
        .replace(&format!("96000000000{n:02}"), "REFUND");
        states.push(state);
        // Nothing waits any more.
        assert_eq!(
            parked_left(&stack, &order).await,
            0,
            "{perm:?}: parked events are removed once applied"
        );
    }
    for (state, perm) in states.iter().zip(permutations) {
        assert_eq!(state, &states[0], "permutation {perm:?} diverged");
    }
    let natural: Value = serde_json::from_str(&states[0]).unwrap();
    assert_eq!(natural["orders"][0]["status"], "partially_returned");
    assert!(natural["orders"][0]["delivered_at"].is_string());
    assert_eq!(natural["points_pending"], 63 - 47);
    assert_eq!(
        natural["messages"],
        json!(["loyalty-earned", "loyalty-reversed"]),
        "each email once"
    );
}

/// The race the order functions may delete a parked event for: a delivery (or a refund) of an
/// order trouw does not know parks itself, and the order is stored between the event's look
/// and its park, so the order's own look for waiting events finds nothing. The event's second
/// look finds the order: it applies the parked event itself and removes it, so that one of
/// the two always applies it.
#[tokio::test]
async fn an_event_parked_while_its_order_is_stored_is_applied_by_its_own_handler() {
    let proxy = FaultProxy::start(&local_aws().endpoint).await;
    let stack = TestStack::start_with(StackOptions {
        dynamo_endpoint: Some(proxy.endpoint.clone()),
        dynamo_attempt_timeout: std::time::Duration::from_secs(20),
        ..Default::default()
    })
    .await;
    // Each park waits at the proxy until its order has long been placed.
    proxy.set_for(
        "PutItem",
        "PARKED#",
        Fault::Delay(std::time::Duration::from_secs(6)),
    );
    for (n, fact) in [(7, 1), (8, 2)] {
        let (parked, placed) = tokio::join!(shopify_fact(&stack, n, fact), async {
            // The event's look comes first; the park waits 6 s, the order takes well under.
            tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
            shopify_fact(&stack, n, 0).await
        });
        assert_eq!(placed["status"], "processed", "{placed}");
        assert!(
            placed.get("parked_applied").is_none_or(|n| *n == json!(0)),
            "the order found nothing waiting: {placed}"
        );
        assert_eq!(
            (parked["status"].clone(), parked["parked_applied"].clone()),
            (json!("processed"), json!(1)),
            "fact {fact}: {parked}"
        );
        let order = format!("59123456789{n:02}");
        assert_eq!(
            parked_left(&stack, &order).await,
            0,
            "fact {fact}: the parked event is removed"
        );
    }
    let (_, orders) = stack.customer("7390412345607").await;
    assert!(orders[0].delivered_at.is_some(), "{orders:?}");
    let (profile, orders) = stack.customer("7390412345608").await;
    assert_eq!(orders[0].returns.len(), 1);
    assert_eq!(profile.unwrap().loyalty.points_pending, 63 - 47);
}

#[tokio::test]
async fn a_parked_refund_sent_twice_counts_once() {
    let stack = TestStack::start().await;
    let first = shopify_fact(&stack, 1, 2).await;
    assert_eq!(first["status"], "parked");
    let second = shopify_fact(&stack, 1, 2).await;
    assert_eq!(second["status"], "duplicate");
    let placed = shopify_fact(&stack, 1, 0).await;
    assert_eq!(
        (placed["status"].clone(), placed["parked_applied"].clone()),
        (json!("processed"), json!(1))
    );
    let third = shopify_fact(&stack, 1, 2).await;
    assert_eq!(third["status"], "duplicate", "{third}");
    let (profile, orders) = stack.customer("7390412345601").await;
    assert_eq!(profile.unwrap().loyalty.points_pending, 63 - 47);
    assert_eq!(orders[0].returns.len(), 1);
}

#[tokio::test]
async fn shopify_customer_updates_moves_staleness_and_consent() {
    let stack = TestStack::start().await;
    shopify(
        &stack,
        "order-placed",
        "orders/create",
        "orders-create.json",
    )
    .await;

    let same = shopify(
        &stack,
        "address-changed",
        "customers/update",
        "customers-update-same-address.json",
    )
    .await;
    assert_eq!(
        (same["status"].clone(), same["moved"].clone()),
        (json!("processed"), json!(false)),
        "an unchanged address is not a move"
    );
    let moved = shopify(
        &stack,
        "address-changed",
        "customers/update",
        "customers-update-moved.json",
    )
    .await;
    assert_eq!(moved["moved"], true);

    // An older update arriving late (its Triggered-At is before the move) changes nothing.
    // (Edited to a time between the two, so it is not a duplicate of the first.)
    let mut stale_body = json_of(&fixture("shopify/customers-update-same-address.json"));
    stale_body["updated_at"] = json!("2026-11-12T12:00:00+01:00");
    let stale_body = stale_body.to_string().into_bytes();
    let mut stale = stack.shopify_request(
        "address-changed",
        "customers/update",
        &stale_body,
        SHOPIFY_SECRET,
        &unique("late"),
    );
    // Within the day Shopify retries for, so not stale by the header; the body's own time
    // says it is older, so it loses.
    stale.headers_mut().insert(
        "x-shopify-triggered-at",
        (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1))
            .to_string()
            .parse()
            .unwrap(),
    );
    let late = stack.send(stale).await.json();
    assert_eq!(
        (late["status"].clone(), late["moved"].clone()),
        (json!("processed"), json!(false)),
        "{late}"
    );
    let (profile, _) = stack.customer(SHOPIFY_CUSTOMER).await;
    let profile = profile.unwrap();
    assert_eq!(
        profile.addresses.current().unwrap().area.postal_code,
        "3511AZ",
        "still in Utrecht"
    );
    assert_eq!(profile.addresses.move_count(), 1);

    let consent = shopify(
        &stack,
        "address-changed",
        "customers_email_marketing_consent/update",
        "customers-email-marketing-consent-update.json",
    )
    .await;
    assert_eq!(consent["status"], "processed");
    let (profile, _) = stack.customer(SHOPIFY_CUSTOMER).await;
    let consent = profile.unwrap().consent.unwrap();
    assert!(!consent.granted);
    assert_eq!(consent.at, ts("2026-11-21T08:00:00+01:00"));
    assert_eq!(
        consent.source,
        "shopify:customers_email_marketing_consent/update"
    );

    // An old API version still carries consent on the customer; it is older, so it loses.
    shopify(
        &stack,
        "address-changed",
        "customers/update",
        "customers-update-legacy-2024-04.json",
    )
    .await;
    let (profile, _) = stack.customer(SHOPIFY_CUSTOMER).await;
    assert!(
        !profile.unwrap().has_marketing_consent(),
        "the newest statement wins"
    );
}

#[tokio::test]
async fn shopify_bodies_replayed_under_another_topic_are_refused() {
    let stack = TestStack::start().await;
    shopify(
        &stack,
        "order-placed",
        "orders/create",
        "orders-create.json",
    )
    .await;
    let before = stack.snapshot().await;
    // The order's body is signed; posted as a redact, it names a customer: it must erase nothing.
    for (route, topic) in [
        ("address-changed", "customers/redact"),
        ("address-changed", "customers/update"),
        ("address-changed", "customers/data_request"),
        ("address-changed", "shop/redact"),
    ] {
        let answer = stack
            .post_shopify(route, topic, &fixture("shopify/orders-create.json"))
            .await;
        assert_eq!(
            (answer.status, answer.json()["error"].clone()),
            (400, json!("invalid_payload")),
            "{topic}: {}",
            answer.body
        );
    }
    let refund_as_delivery = stack
        .post_shopify(
            "order-delivered",
            "fulfillment_events/create",
            &fixture("shopify/refunds-create-partial.json"),
        )
        .await;
    assert_eq!(
        refund_as_delivery.status, 400,
        "{}",
        refund_as_delivery.body
    );
    assert_eq!(
        stack.snapshot().await,
        before,
        "nothing erased, nothing changed"
    );
    let (profile, _) = stack.customer(SHOPIFY_CUSTOMER).await;
    assert!(profile.unwrap().erased_at.is_none());
}

#[tokio::test]
async fn a_shopify_refund_resent_under_a_new_webhook_id_counts_once() {
    let stack = TestStack::start().await;
    shopify(
        &stack,
        "order-placed",
        "orders/create",
        "orders-create.json",
    )
    .await;
    let first = shopify(
        &stack,
        "order-returned",
        "refunds/create",
        "refunds-create-partial.json",
    )
    .await;
    assert_eq!(first["status"], "processed");
    let after_first = stack.snapshot().await;
    // post_shopify sends fresh X-Shopify-Webhook-Id and X-Shopify-Event-Id headers each time.
    let again = shopify(
        &stack,
        "order-returned",
        "refunds/create",
        "refunds-create-partial.json",
    )
    .await;
    assert_eq!(again["status"], "duplicate", "{again}");
    let order_again = shopify(
        &stack,
        "order-placed",
        "orders/create",
        "orders-create.json",
    )
    .await;
    assert_eq!(order_again["status"], "duplicate", "{order_again}");
    assert_eq!(stack.snapshot().await, after_first, "nothing written twice");
    let (profile, _) = stack.customer(SHOPIFY_CUSTOMER).await;
    assert_eq!(profile.unwrap().loyalty.points_pending, 63 - 47);
}

#[tokio::test]
async fn a_stale_shopify_body_is_ignored() {
    let stack = TestStack::start().await;
    let before = stack.snapshot().await;
    let day_ago = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(25);
    for (route, topic, file) in [
        ("order-placed", "orders/create", "orders-create.json"),
        (
            "address-changed",
            "customers/update",
            "customers-update-moved.json",
        ),
        (
            "address-changed",
            "customers/redact",
            "customers-redact.json",
        ),
    ] {
        let mut request = stack.shopify_request(
            route,
            topic,
            &fixture(&format!("shopify/{file}")),
            SHOPIFY_SECRET,
            &unique("old"),
        );
        request.headers_mut().insert(
            "x-shopify-triggered-at",
            day_ago.to_string().parse().unwrap(),
        );
        let answer = stack.send(request).await;
        assert_eq!(
            (answer.status, answer.json()),
            (200, json!({ "status": "ignored", "reason": "stale" })),
            "{topic}"
        );
    }
    assert_eq!(
        stack.snapshot().await,
        before,
        "a stale body changes nothing"
    );
}

#[tokio::test]
async fn a_signed_woocommerce_refund_with_a_long_id_is_applied() {
    let stack = TestStack::start().await;
    for n in [111, 120, 128] {
        let id = "4".repeat(n);
        let mut body = json_of(&fixture("woocommerce/order-updated-refunded.json"));
        body["id"] = json!(id);
        let answer = stack
            .post_woo(
                "order-returned",
                "order.updated",
                body.to_string().as_bytes(),
            )
            .await;
        assert_eq!(answer.status, 200, "{n}: {}", answer.body);
        assert_eq!(answer.json()["order_id"], json!(id));
        let again = stack
            .post_woo(
                "order-returned",
                "order.updated",
                body.to_string().as_bytes(),
            )
            .await;
        assert_eq!(again.json()["status"], "duplicate", "{n}");
    }
}

#[tokio::test]
async fn shopify_legacy_payload_consent_is_read() {
    let stack = TestStack::start().await;
    shopify(
        &stack,
        "address-changed",
        "customers/update",
        "customers-update-legacy-2024-04.json",
    )
    .await;
    let (profile, _) = stack.customer(SHOPIFY_CUSTOMER).await;
    let consent = profile.unwrap().consent.unwrap();
    assert!(consent.granted);
}

#[tokio::test]
async fn shopify_unticked_marketing_box_changes_nothing() {
    let stack = TestStack::start().await;
    shopify(
        &stack,
        "address-changed",
        "customers_email_marketing_consent/update",
        "customers-email-marketing-consent-update.json",
    )
    .await;
    shopify(
        &stack,
        "order-placed",
        "orders/create",
        "orders-create-no-marketing.json",
    )
    .await;
    let (profile, _) = stack.customer(SHOPIFY_CUSTOMER).await;
    let profile = profile.unwrap();
    assert_eq!(profile.order_count, 1);
    assert!(!profile.has_marketing_consent());
    assert_eq!(
        profile.consent.unwrap().source,
        "shopify:customers_email_marketing_consent/update"
    );
}

#[tokio::test]
async fn shopify_signatures_domains_and_routes() {
    let stack = TestStack::start().await;
    let body = fixture("shopify/orders-create.json");
    let before = stack.snapshot().await;

    let wrong = stack.shopify_request(
        "order-placed",
        "orders/create",
        &body,
        "shpss_someone_else",
        &unique("e"),
    );
    assert_eq!(stack.send(wrong).await.status, 401);
    let mut tampered = stack.shopify_request(
        "order-placed",
        "orders/create",
        &body,
        SHOPIFY_SECRET,
        &unique("e"),
    );
    *tampered.body_mut() = http_body_util::Full::new(bytes::Bytes::from(
        String::from_utf8(body.clone())
            .unwrap()
            .replacen("Anna", "Bram", 1),
    ));
    assert_eq!(stack.send(tampered).await.status, 401);
    let mut other_shop = stack.shopify_request(
        "order-placed",
        "orders/create",
        &body,
        SHOPIFY_SECRET,
        &unique("e"),
    );
    other_shop.headers_mut().insert(
        "x-shopify-shop-domain",
        "someone-else.myshopify.com".parse().unwrap(),
    );
    let answer = stack.send(other_shop).await;
    assert_eq!(
        (answer.status, answer.json()["error"].clone()),
        (401, json!("invalid_signature"))
    );
    assert!(answer.body.contains("Shop-Domain"));
    assert_eq!(
        stack.snapshot().await,
        before,
        "refused deliveries write nothing"
    );

    let wrong_route = stack
        .post_shopify("order-delivered", "orders/create", &body)
        .await;
    assert_eq!(
        (wrong_route.status, wrong_route.json()["status"].clone()),
        (200, json!("ignored"))
    );
    let unknown_topic = stack
        .post_shopify("order-placed", "products/update", b"{\"id\":1}")
        .await;
    assert_eq!(
        (unknown_topic.status, unknown_topic.json()["status"].clone()),
        (200, json!("ignored"))
    );
    assert_eq!(
        stack.snapshot().await,
        before,
        "ignored deliveries write nothing"
    );

    // During a secret rotation the previous secret still works; a redelivery is a duplicate.
    let first = stack.shopify_request(
        "order-placed",
        "orders/create",
        &body,
        SHOPIFY_OLD_SECRET,
        "evt-rotation",
    );
    assert_eq!(stack.send(first).await.json()["status"], "processed");
    let again = stack.shopify_request(
        "order-placed",
        "orders/create",
        &body,
        SHOPIFY_SECRET,
        "evt-rotation",
    );
    assert_eq!(stack.send(again).await.json()["status"], "duplicate");

    // The newer header names without the X- prefix are understood too.
    let mut modern = http::Request::post(stack.url("address-changed"));
    let consent = fixture("shopify/customers-email-marketing-consent-update.json");
    for (name, value) in [
        ("content-type", "application/json".to_owned()),
        (
            "shopify-topic",
            "customers_email_marketing_consent/update".to_owned(),
        ),
        (
            "shopify-hmac-sha256",
            trouw::webhook::platform::sign_body(
                &consent,
                &trouw::webhook::WebhookSecret::new(SHOPIFY_SECRET),
            ),
        ),
        (
            "shopify-shop-domain",
            trouw_tests::SHOPIFY_DOMAIN.to_owned(),
        ),
        ("shopify-event-id", unique("modern")),
    ] {
        modern = modern.header(name, value);
    }
    let answer = stack
        .send(
            modern
                .body(http_body_util::Full::new(bytes::Bytes::from(consent)))
                .unwrap(),
        )
        .await;
    assert_eq!(answer.json()["status"], "processed", "{}", answer.body);
}

#[tokio::test]
async fn shopify_privacy_topics() {
    let stack = TestStack::start().await;
    shopify(
        &stack,
        "order-placed",
        "orders/create",
        "orders-create.json",
    )
    .await;
    shopify(
        &stack,
        "order-returned",
        "refunds/create",
        "refunds-create-partial.json",
    )
    .await;
    let (kept, _) = stack.customer(SHOPIFY_CUSTOMER).await;
    let points = kept.unwrap().loyalty.points_pending;

    let request = shopify(
        &stack,
        "address-changed",
        "customers/data_request",
        "customers-data-request.json",
    )
    .await;
    assert_eq!(request["status"], "recorded");
    let erased = shopify(
        &stack,
        "address-changed",
        "customers/redact",
        "customers-redact.json",
    )
    .await;
    assert_eq!(erased["status"], "erased");

    let (profile, orders) = stack.customer(SHOPIFY_CUSTOMER).await;
    let profile = profile.unwrap();
    assert!(profile.contact.email().is_none() && profile.contact.first_name().is_none());
    assert!(profile.addresses.current().is_none());
    assert!(!profile.has_marketing_consent());
    assert!(profile.erased_at.is_some());
    assert_eq!(
        profile.loyalty.points_pending, points,
        "loyalty balances are kept"
    );
    assert!(
        orders[0]
            .placed
            .as_ref()
            .unwrap()
            .lines
            .iter()
            .all(|l| l.name.is_none())
    );
    let stored = format!("{:?}", stack.snapshot().await);
    // The postal code as stored (compact) and as sent; a bare "1016" would also match
    // timestamps and hashes.
    for personal in [
        "anna.devries",
        "Prinsengracht",
        "Anna",
        "Tandpasta",
        "1016GV",
        "1016 GV",
    ] {
        assert!(!stored.contains(personal), "{personal} is still stored");
    }

    // A delayed customers/update from before the erasure cannot bring the address back, so no
    // mail can ever reach the erased customer from it.
    shopify(
        &stack,
        "address-changed",
        "customers/update",
        "customers-update-moved.json",
    )
    .await;
    let (profile, _) = stack.customer(SHOPIFY_CUSTOMER).await;
    let profile = profile.unwrap();
    assert!(profile.contact.email().is_none());
    assert!(profile.addresses.current().is_none());

    let shop = shopify(&stack, "address-changed", "shop/redact", "shop-redact.json").await;
    assert_eq!(shop["status"], "recorded");
}

#[tokio::test]
async fn woocommerce_order_story() {
    let stack = TestStack::start().await;
    let placed = woo(
        &stack,
        "order-placed",
        "order.created",
        "order-created.json",
    )
    .await;
    assert_eq!(
        (placed["status"].clone(), placed["order_status"].clone()),
        (json!("processed"), json!("placed"))
    );
    let (profile, orders) = stack.customer(WOO_CUSTOMER).await;
    let profile = profile.unwrap();
    let payload = json_of(&fixture("woocommerce/order-created.json"));
    let total_minor =
        (payload["total"].as_str().unwrap().parse::<f64>().unwrap() * 100.0).round() as i64;
    assert_eq!(profile.total_spent.get(Currency::EUR), total_minor);
    assert_eq!(
        profile.contact.email().unwrap().as_str(),
        "anna.devries@example.nl"
    );
    assert_eq!(
        orders[0].placed.as_ref().unwrap().placed_at,
        ts("2026-11-02T08:14:03Z")
    );
    let skus: Vec<(&str, u32)> = orders[0]
        .placed
        .as_ref()
        .unwrap()
        .lines
        .iter()
        .map(|l| (l.sku.as_str(), l.quantity))
        .collect();
    assert_eq!(skus, [("TP-075", 3), ("EB-200", 1)]);

    // One order.updated webhook per route: the delivered one ignores refunds and vice versa.
    let on_hold = woo(
        &stack,
        "order-delivered",
        "order.updated",
        "order-updated-on-hold.json",
    )
    .await;
    assert_eq!(on_hold["status"], "ignored");
    let completed = woo(
        &stack,
        "order-delivered",
        "order.updated",
        "order-updated-completed.json",
    )
    .await;
    assert_eq!(completed["order_status"], "delivered");
    let no_refund = woo(
        &stack,
        "order-returned",
        "order.updated",
        "order-updated-completed.json",
    )
    .await;
    assert_eq!(no_refund["status"], "ignored");

    let partial = woo(
        &stack,
        "order-returned",
        "order.updated",
        "order-updated-partial-refund.json",
    )
    .await;
    assert_eq!(partial["order_status"], "partially_returned");
    let refund =
        json_of(&fixture("woocommerce/order-updated-partial-refund.json"))["refunds"][0]["total"]
            .as_str()
            .unwrap()
            .parse::<f64>()
            .unwrap();
    let (profile, _) = stack.customer(WOO_CUSTOMER).await;
    assert_eq!(
        profile.unwrap().loyalty.points_pending,
        (total_minor / 100) as u64 - refund.abs().floor() as u64,
        "points for the refunded amount are taken back"
    );
    // WooCommerce re-sends the order on every save: the same refund counts once.
    let again = woo(
        &stack,
        "order-returned",
        "order.updated",
        "order-updated-partial-refund.json",
    )
    .await;
    assert_eq!(again["status"], "duplicate");
    let delivered_again = woo(
        &stack,
        "order-delivered",
        "order.updated",
        "order-updated-partial-refund.json",
    )
    .await;
    assert_eq!(delivered_again["status"], "duplicate");

    let refunded = woo(
        &stack,
        "order-returned",
        "order.updated",
        "order-updated-refunded.json",
    )
    .await;
    assert_eq!(refunded["order_status"], "returned");
    let (profile, _) = stack.customer(WOO_CUSTOMER).await;
    assert_eq!(profile.unwrap().loyalty.points_pending, 0);
}

#[tokio::test]
async fn woocommerce_customer_updates_and_consent_meta() {
    let stack = TestStack::start().await;
    woo(
        &stack,
        "order-placed",
        "order.created",
        "order-created.json",
    )
    .await;
    let same = woo(
        &stack,
        "address-changed",
        "customer.updated",
        "customer-updated-same-address.json",
    )
    .await;
    assert_eq!(same["moved"], false);
    let moved = woo(
        &stack,
        "address-changed",
        "customer.updated",
        "customer-updated-moved.json",
    )
    .await;
    assert_eq!(moved["moved"], true);
    let (profile, _) = stack.customer(WOO_CUSTOMER).await;
    let profile = profile.unwrap();
    assert_eq!(
        profile.addresses.current().unwrap().area.postal_code,
        "3511AZ"
    );
    let consent = profile.consent.unwrap();
    assert!(
        consent.granted,
        "the shop maps newsletter_opt_in to consent"
    );
    assert_eq!(consent.source, "woocommerce:customer.updated");
}

#[tokio::test]
async fn woocommerce_ping_and_signatures() {
    let stack = TestStack::start().await;
    let before = stack.snapshot().await;
    let ping = http::Request::post(stack.url("order-placed"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(http_body_util::Full::new(bytes::Bytes::from(fixture(
            "woocommerce/ping.txt",
        ))))
        .unwrap();
    let answer = stack.send(ping).await;
    assert_eq!(
        (answer.status, answer.json()),
        (200, json!({ "status": "ignored", "reason": "ping" }))
    );

    let body = fixture("woocommerce/order-created.json");
    let forged = http::Request::post(stack.url("order-placed"))
        .header("content-type", "application/json")
        .header("x-wc-webhook-topic", "order.created")
        .header(
            "x-wc-webhook-signature",
            trouw::webhook::platform::sign_body(
                &body,
                &trouw::webhook::WebhookSecret::new("not-the-secret"),
            ),
        )
        .body(http_body_util::Full::new(bytes::Bytes::from(body.clone())))
        .unwrap();
    assert_eq!(stack.send(forged).await.status, 401);
    let unsigned = http::Request::post(stack.url("order-placed"))
        .header("content-type", "application/json")
        .header("x-wc-webhook-topic", "order.created")
        .body(http_body_util::Full::new(bytes::Bytes::from(body)))
        .unwrap();
    assert_eq!(stack.send(unsigned).await.status, 401);
    assert_eq!(stack.snapshot().await, before);
}
