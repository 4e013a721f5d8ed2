//! The webhook API end to end: gateway -> handler -> DynamoDB (moto) and back.

use bytes::Bytes;
use http_body_util::Full;
use serde_json::{Value, json};
use trouw::domain::{Currency, Lifecycle, OrderStatus};
use trouw::webhook::WebhookSecret;
use trouw::webhook::signature::sign_standard_webhook;
use trouw_tests::client::signed_post;
use trouw_tests::{ROTATED_SECRET, SECRET, StackOptions, TestStack, example, now, unique};

#[tokio::test]
async fn each_contract_example_is_accepted_and_produces_the_expected_state() {
    let stack = TestStack::start().await;
    let placed = stack.post("order-placed", &example("order-placed")).await;
    assert_eq!(placed.status, 200, "{}", placed.body);
    let body = placed.json();
    assert_eq!(body["status"], "processed");
    assert_eq!(body["order_status"], "placed");
    assert_eq!(body["points_pending"], 64);
    assert_eq!(body["lifecycle"], "new");

    let delivered = stack
        .post("order-delivered", &example("order-delivered"))
        .await;
    assert_eq!(
        (delivered.status, delivered.json()["order_status"].clone()),
        (200, json!("delivered"))
    );
    let returned = stack
        .post("order-returned", &example("order-returned"))
        .await;
    assert_eq!(returned.status, 200, "{}", returned.body);
    assert_eq!(returned.json()["order_status"], "partially_returned");
    assert_eq!(
        returned.json()["points_pending"],
        11,
        "64 points minus 53 for the returned toothbrush"
    );
    let moved = stack
        .post("address-changed", &example("address-changed"))
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(moved.json()["moved"], true);

    let (profile, orders) = stack.customer("cus-8812").await;
    let profile = profile.expect("profile stored");
    assert_eq!(profile.order_count, 1);
    assert_eq!(profile.returned_order_count, 1);
    assert_eq!(
        profile.total_spent.get(Currency::EUR),
        1185,
        "spent and kept: 64.85 less the 53.00 toothbrush sent back"
    );
    assert_eq!(profile.loyalty.points_pending, 11);
    assert_eq!(profile.loyalty.tier.as_deref(), Some("Brons"));
    assert_eq!(profile.lifecycle, Lifecycle::New);
    assert!(profile.has_marketing_consent());
    assert_eq!(
        profile.contact.email().unwrap().as_str(),
        "anna.devries@example.nl"
    );
    assert_eq!(profile.addresses.move_count(), 1);
    assert_eq!(
        profile.addresses.current().unwrap().area.postal_code,
        "3511AZ"
    );
    assert_eq!(
        profile.version, 3,
        "placed, returned, moved (the delivery changed its order only)"
    );
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].status, OrderStatus::PartiallyReturned);
    assert_eq!(orders[0].placed.as_ref().unwrap().lines.len(), 2);
    assert!(orders[0].delivered_at.is_some());

    let stored = format!("{:?}", stack.snapshot().await);
    assert!(
        !stored.contains("Prinsengracht") && !stored.contains("Oudegracht"),
        "street lines are never stored"
    );
}

#[tokio::test]
async fn signatures_are_checked() {
    let stack = TestStack::start().await;
    let body = example("order-placed").to_string().into_bytes();
    let before = stack.snapshot().await;
    let url = stack.url("order-placed");
    let secret = WebhookSecret::new(SECRET);

    let tampered = {
        let mut req = signed_post(&url, &secret, "m1", now(), &body);
        *req.body_mut() = Full::new(Bytes::from(
            String::from_utf8(body.clone())
                .unwrap()
                .replace("64.85", "6485.00"),
        ));
        req
    };
    let wrong_secret = signed_post(
        &url,
        &WebhookSecret::new(ROTATED_SECRET),
        "m2",
        now(),
        &body,
    );
    let stale = signed_post(&url, &secret, "m3", now() - 6 * 60, &body);
    let future = signed_post(&url, &secret, "m4", now() + 6 * 60, &body);
    let mut cases = vec![
        ("tampered body", tampered),
        ("wrong secret", wrong_secret),
        ("stale", stale),
        ("future", future),
    ];
    for header in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        let mut req = signed_post(&url, &secret, "m5", now(), &body);
        req.headers_mut().remove(header);
        cases.push(("missing header", req));
    }
    let mut garbled = signed_post(&url, &secret, "m6", now(), &body);
    garbled
        .headers_mut()
        .insert("webhook-signature", "not-a-signature".parse().unwrap());
    cases.push(("malformed signature", garbled));

    for (what, req) in cases {
        let answer = stack.send(req).await;
        assert_eq!(answer.status, 401, "{what}: {}", answer.body);
        assert_eq!(answer.json()["error"], "invalid_signature", "{what}");
    }
    assert_eq!(
        stack.snapshot().await,
        before,
        "a refused delivery writes nothing"
    );

    let ok = stack
        .send(signed_post(&url, &secret, "m7", now() - 4 * 60, &body))
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
}

#[tokio::test]
async fn a_shop_rotating_secrets_accepts_both() {
    let stack = TestStack::start_with(StackOptions {
        secrets: vec![SECRET, ROTATED_SECRET],
        ..Default::default()
    })
    .await;
    let url = stack.url("address-changed");
    let body = example("address-changed").to_string().into_bytes();
    for (id, secret) in [("r1", SECRET), ("r2", ROTATED_SECRET)] {
        let answer = stack
            .send(signed_post(
                &url,
                &WebhookSecret::new(secret),
                id,
                now(),
                &body,
            ))
            .await;
        assert_eq!(answer.status, 200, "{id}: {}", answer.body);
    }
    // A platform sending both signatures during its own rotation is accepted too.
    let ts = now();
    let a = sign_standard_webhook(&WebhookSecret::new(ROTATED_SECRET), "r3", ts, &body).unwrap();
    let mut req = signed_post(&url, &WebhookSecret::new(SECRET), "r3", ts, &body);
    let both = format!(
        "{} {a}",
        req.headers()["webhook-signature"].to_str().unwrap()
    );
    req.headers_mut()
        .insert("webhook-signature", both.parse().unwrap());
    assert_eq!(stack.send(req).await.status, 200);
}

#[tokio::test]
async fn a_secret_outside_the_allowed_ssm_path_is_not_used() {
    // The webhook functions' IAM policy allows only parameters under SecretsPathPrefix's shops/
    // path; the handler refuses to use others, so a misconfigured shop fails loudly and the same
    // everywhere. `/trouw/test` lies beside the link and session secrets: refused too.
    for secrets_path in ["/elsewhere", "/trouw/test"] {
        let stack = TestStack::start_with(StackOptions {
            secrets_path,
            ..Default::default()
        })
        .await;
        let answer = stack
            .post("address-changed", &example("address-changed"))
            .await;
        assert_eq!(
            (answer.status, answer.json()["error"].clone()),
            (401, json!("invalid_signature")),
            "{secrets_path}"
        );
        assert!(
            answer.json()["message"]
                .as_str()
                .unwrap()
                .contains("no usable webhook secret")
        );
    }
}

#[tokio::test]
async fn every_refusal_names_the_problem_and_changes_nothing() {
    let stack = TestStack::start().await;
    stack.post("order-placed", &example("order-placed")).await;
    let before = stack.snapshot().await;
    let secret = WebhookSecret::new(SECRET);
    let placed = example("order-placed").to_string().into_bytes();

    let get = http::Request::get(stack.url("order-placed"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let answer = stack.send(get).await;
    assert_eq!(
        (answer.status, answer.json()["error"].clone()),
        (405, json!("method_not_allowed"))
    );
    assert_eq!(answer.headers["allow"], "POST");

    let mut text = signed_post(&stack.url("order-placed"), &secret, "x1", now(), &placed);
    text.headers_mut()
        .insert("content-type", "text/plain".parse().unwrap());
    let answer = stack.send(text).await;
    assert_eq!(
        (answer.status, answer.json()["error"].clone()),
        (415, json!("unsupported_media_type"))
    );

    let mut huge = example("order-placed");
    huge["padding"] = json!("x".repeat(300 * 1024));
    let answer = stack.post("order-placed", &huge).await;
    assert_eq!(
        (answer.status, answer.json()["error"].clone()),
        (413, json!("payload_too_large"))
    );

    let other_shop = stack
        .url("order-placed")
        .replace(stack.shop.as_str(), "no-such-shop");
    let answer = stack
        .send(signed_post(&other_shop, &secret, "x2", now(), &placed))
        .await;
    assert_eq!(
        (answer.status, answer.json()["error"].clone()),
        (404, json!("unknown_shop"))
    );

    let mut bad_total = example("order-placed");
    bad_total["order"]["total"] = json!("64,85");
    let answer = stack.post("order-placed", &bad_total).await;
    assert_eq!(
        (answer.status, answer.json()["error"].clone()),
        (400, json!("invalid_payload"))
    );
    assert_eq!(answer.json()["field"], "order.total");
    assert!(
        answer.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("order.total")
    );

    let answer = stack
        .post("order-delivered", &example("order-placed"))
        .await;
    assert_eq!(
        (answer.status, answer.json()["field"].clone()),
        (400, json!("type"))
    );

    let mut bad_line = example("order-placed");
    bad_line["order"]["lines"][1]["quantity"] = json!(-1);
    let answer = stack.post("order-placed", &bad_line).await;
    assert_eq!(
        (answer.status, answer.json()["field"].clone()),
        (400, json!("order.lines[1].quantity"))
    );

    let answer = stack
        .send(signed_post(
            &stack.url("order-placed"),
            &secret,
            "x3",
            now(),
            b"{\"type\":",
        ))
        .await;
    assert_eq!(
        (answer.status, answer.json()["field"].clone()),
        (400, json!("body"))
    );

    assert_eq!(stack.snapshot().await, before, "no refusal wrote anything");
}

#[tokio::test]
async fn five_sequential_deliveries_have_one_effect() {
    let stack = TestStack::start().await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let answer = stack
            .post_as("order-placed", "same-delivery", &example("order-placed"))
            .await;
        assert_eq!(answer.status, 200);
        statuses.push(answer.json()["status"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        statuses,
        [
            "processed",
            "duplicate",
            "duplicate",
            "duplicate",
            "duplicate"
        ]
    );
    let (profile, _) = stack.customer("cus-8812").await;
    let profile = profile.unwrap();
    assert_eq!(
        (
            profile.order_count,
            profile.loyalty.points_pending,
            profile.version
        ),
        (1, 64, 1)
    );
}

#[tokio::test]
async fn five_concurrent_deliveries_have_one_effect() {
    let stack = TestStack::start().await;
    let body = example("order-placed");
    let answers = trouw_tests::join_all(
        (0..5).map(|_| stack.post_as("order-placed", "raced-delivery", &body)),
    )
    .await;
    let processed = answers
        .iter()
        .filter(|a| a.json()["status"] == "processed")
        .count();
    let duplicate = answers
        .iter()
        .filter(|a| a.json()["status"] == "duplicate")
        .count();
    assert_eq!(
        (processed, duplicate),
        (1, 4),
        "{:?}",
        answers.iter().map(|a| &a.body).collect::<Vec<_>>()
    );
    let (profile, orders) = stack.customer("cus-8812").await;
    let profile = profile.unwrap();
    assert_eq!(
        (
            profile.order_count,
            profile.loyalty.points_pending,
            profile.version
        ),
        (1, 64, 1)
    );
    assert_eq!(orders.len(), 1);
}

#[tokio::test]
async fn concurrent_different_events_for_one_customer_all_count() {
    let stack = TestStack::start().await;
    let bodies: Vec<Value> = (0..5)
        .map(|i| {
            let mut b = example("order-placed");
            b["order"]["id"] = json!(format!("NL-{i}"));
            b
        })
        .collect();
    let answers = trouw_tests::join_all(bodies.iter().map(|b| stack.post("order-placed", b))).await;
    assert!(
        answers
            .iter()
            .all(|a| a.status == 200 && a.json()["status"] == "processed"),
        "{:?}",
        answers
    );
    let (profile, orders) = stack.customer("cus-8812").await;
    let profile = profile.unwrap();
    assert_eq!(
        (
            profile.order_count,
            profile.loyalty.points_pending,
            profile.lifecycle
        ),
        (5, 320, Lifecycle::Repeat)
    );
    assert_eq!(orders.len(), 5);
}

/// A delivery changes its order only (written without the profile or a transaction), a return
/// changes the order and the profile: sent at once, each write requires the order's version it
/// read, so neither overwrites the other.
#[tokio::test]
async fn a_delivery_and_a_return_of_one_order_at_once_both_count() {
    let stack = TestStack::start().await;
    for n in 0..3 {
        let order = format!("NL-race-{n}");
        let mut placed = example("order-placed");
        placed["order"]["id"] = json!(order);
        assert_eq!(stack.post("order-placed", &placed).await.status, 200);
        let mut delivered = example("order-delivered");
        delivered["order"]["id"] = json!(order);
        let mut returned = example("order-returned");
        returned["order"]["id"] = json!(order);
        let answers = trouw_tests::join_all([
            stack.post("order-delivered", &delivered),
            stack.post("order-returned", &returned),
        ])
        .await;
        assert!(
            answers.iter().all(|a| a.json()["status"] == "processed"),
            "{answers:?}"
        );
    }
    let (_, orders) = stack.customer("cus-8812").await;
    assert_eq!(orders.len(), 3);
    for order in &orders {
        assert!(order.delivered_at.is_some(), "{order:?}");
        assert_eq!(order.returns.len(), 1, "{order:?}");
        assert!(order.version >= 3, "placed, delivered, returned: {order:?}");
    }
}

#[tokio::test]
async fn every_order_of_placed_delivered_returned_ends_in_the_same_state() {
    let stack = TestStack::start().await;
    let routes = ["order-placed", "order-delivered", "order-returned"];
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
        let customer = format!("cus-perm-{n}");
        for &i in perm {
            let mut body = example(routes[i]);
            body["customer"]["id"] = json!(customer);
            let answer = stack
                .post_as(routes[i], &format!("{customer}-{}", routes[i]), &body)
                .await;
            assert_eq!(
                answer.status, 200,
                "{perm:?} {}: {}",
                routes[i], answer.body
            );
        }
        let (mut profile, orders) = stack.customer(&customer).await;
        // The profile's version counts its own writes, which depend on the order of arrival
        // (a delivery that comes after its order changes only the order); the state must not.
        if let Some(profile) = profile.as_mut() {
            profile.version = 0;
        }
        let state = json!({ "profile": profile, "orders": orders })
            .to_string()
            .replace(&customer, "CUSTOMER");
        states.push(state);
    }
    for (state, perm) in states.iter().zip(permutations) {
        assert_eq!(state, &states[0], "permutation {perm:?} diverged");
    }
    assert!(states[0].contains("partially_returned"));
}

#[tokio::test]
async fn a_webhook_costs_two_dynamodb_requests_and_a_duplicate_one() {
    let stack = TestStack::start().await;
    let routes = [
        "order-placed",
        "order-delivered",
        "order-returned",
        "address-changed",
    ];
    // A function's first delivery also loads the shop's settings into its container's cache
    // (each route is its own function, with its own cache).
    for route in routes {
        stack.post(route, &example(route)).await;
    }
    let mut requests = Vec::new();
    for route in routes {
        let before = stack.requests.get();
        let answer = stack
            .post_as(route, &format!("rt-{route}"), &example(route))
            .await;
        assert_eq!(answer.json()["status"], "processed", "{}", answer.body);
        requests.push(stack.requests.get() - before);
    }
    assert_eq!(
        requests,
        [2, 2, 3, 2],
        "one BatchGetItem and one write per webhook (a re-sent order or delivery, an address \
         held: the processed-event record only); a return also puts its timeline entry on its \
         own after its transaction"
    );
    let before = stack.requests.get();
    let answer = stack
        .post_as("order-placed", "rt-order-placed", &example("order-placed"))
        .await;
    assert_eq!(answer.json()["status"], "duplicate");
    assert_eq!(
        stack.requests.get() - before,
        1,
        "a known duplicate is answered from the read alone"
    );
}

#[tokio::test]
async fn extreme_input_is_a_4xx_naming_the_field_never_a_crash() {
    let stack = TestStack::start().await;
    let before = stack.snapshot().await;
    let secret = WebhookSecret::new(SECRET);
    let placed = example("order-placed").to_string().into_bytes();
    for timestamp in [i64::MIN, i64::MAX, 0] {
        let answer = stack
            .send(signed_post(
                &stack.url("order-placed"),
                &secret,
                &unique("ts"),
                timestamp,
                &placed,
            ))
            .await;
        assert_eq!(
            (answer.status, answer.json()["error"].clone()),
            (401, json!("invalid_signature")),
            "webhook-timestamp {timestamp}: {}",
            answer.body
        );
    }
    // The schema's largest price times its largest quantity does not fit in what trouw counts.
    let mut huge = example("order-placed");
    huge["order"]["lines"][0]["unit_price"] = json!("999999999999.99");
    huge["order"]["lines"][0]["quantity"] = json!(100_000);
    let answer = stack.post("order-placed", &huge).await;
    assert_eq!(
        (answer.status, answer.json()["field"].clone()),
        (400, json!("order.lines[0].quantity")),
        "{}",
        answer.body
    );
    let mut far = example("order-delivered");
    far["order"]["delivered_at"] = json!("9999-12-30T00:00:00Z");
    let answer = stack.post("order-delivered", &far).await;
    assert_eq!(
        (answer.status, answer.json()["field"].clone()),
        (400, json!("order.delivered_at")),
        "{}",
        answer.body
    );
    assert_eq!(stack.snapshot().await, before, "no refusal wrote anything");
}

#[tokio::test]
async fn an_unknown_shop_costs_one_read_then_none() {
    let stack = TestStack::start().await;
    let placed = example("order-placed").to_string().into_bytes();
    let secret = WebhookSecret::new(SECRET);
    let junk = stack
        .url("order-placed")
        .replace(stack.shop.as_str(), &unique("nope"));
    let mut reads = Vec::new();
    for n in 0..5 {
        let before = stack.requests.get();
        let answer = stack
            .send(signed_post(
                &junk,
                &secret,
                &format!("j{n}"),
                now(),
                &placed,
            ))
            .await;
        assert_eq!(
            (answer.status, answer.json()["error"].clone()),
            (404, json!("unknown_shop"))
        );
        reads.push(stack.requests.get() - before);
    }
    assert_eq!(
        reads,
        [1, 0, 0, 0, 0],
        "the first lookup reads the table, the miss is cached after it"
    );
    // The real shop is still served, and costs its own first read only.
    let answer = stack.post("order-placed", &example("order-placed")).await;
    assert_eq!(answer.json()["status"], "processed", "{}", answer.body);
}

#[tokio::test]
async fn healthz_answers_when_the_table_does() {
    let stack = TestStack::start().await;
    let get = http::Request::get(format!("{}/healthz", stack.base_url))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let answer = stack.send(get).await;
    assert_eq!(
        (answer.status, answer.json()),
        (200, json!({ "status": "ok" }))
    );
    let post = http::Request::post(format!("{}/healthz", stack.base_url))
        .body(Full::new(Bytes::new()))
        .unwrap();
    assert_eq!(stack.send(post).await.status, 405);
}

#[tokio::test]
async fn an_unknown_customer_in_a_late_event_is_created_not_refused() {
    let stack = TestStack::start().await;
    let mut body = example("order-delivered");
    body["customer"]["id"] = json!(unique("late"));
    let answer = stack.post("order-delivered", &body).await;
    assert_eq!(
        (answer.status, answer.json()["order_status"].clone()),
        (200, json!("delivered"))
    );
}

#[test]
fn contracts_match_the_reference() {
    // The repository carries a verbatim copy of the canonical contracts; when the reference
    // folder is beside the repository, the copy must not have drifted.
    let root = trouw_local::workspace_root();
    let reference = root.join("../shared/contracts");
    if !reference.exists() {
        eprintln!("no reference contracts beside the repository; skipping the drift check");
        return;
    }
    for name in [
        "canonical-events.schema.json",
        "examples/order-placed.json",
        "examples/order-delivered.json",
        "examples/order-returned.json",
        "examples/address-changed.json",
    ] {
        let ours = std::fs::read(root.join("shared/contracts").join(name)).unwrap();
        let theirs = std::fs::read(reference.join(name)).unwrap();
        assert_eq!(ours, theirs, "{name} differs from the reference");
    }
}
