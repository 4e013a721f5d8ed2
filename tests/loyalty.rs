//! The loyalty API over HTTP against the local stack: authentication, balance, history,
//! redemptions (idempotent, concurrent, from the pool), cancellation and adjustments.

use bytes::Bytes;
use http_body_util::Full;
use serde_json::{Value, json};
use trouw_local::client::Answer;
use trouw_tests::{
    LOYALTY_API_KEY, LOYALTY_TOKEN_SECRET, STOREFRONT_ORIGIN, TestStack, example, join_all, now,
    unique,
};

const CUSTOMER: &str = "cus-8812";

fn token(secret: &str, shop: &str, sub: &str, exp: i64) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({ "sub": sub, "shop": shop, "exp": exp }),
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()).unwrap(),
    )
    .unwrap()
}

async fn call(
    stack: &TestStack,
    method: &str,
    path: &str,
    bearer: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Answer {
    let mut request = http::Request::builder()
        .method(method)
        .uri(format!("{}/loyalty/{}/{path}", stack.base_url, stack.shop))
        .header("authorization", format!("Bearer {bearer}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let body = body.map_or(Bytes::new(), |b| Bytes::from(b.to_string()));
    stack.send(request.body(Full::new(body)).unwrap()).await
}

/// A customer with `points` available: the example order, then a goodwill adjustment.
async fn customer_with(stack: &TestStack, points: i64) {
    let placed = stack.post("order-placed", &example("order-placed")).await;
    assert_eq!(placed.status, 200, "{}", placed.body);
    let granted = adjust(stack, points).await;
    assert_eq!(granted.status, 201, "{}", granted.body);
}

async fn adjust(stack: &TestStack, points: i64) -> Answer {
    adjust_with(stack, &unique("adjust"), points, "welcome gift").await
}

async fn adjust_with(stack: &TestStack, key: &str, points: i64, reason: &str) -> Answer {
    call(
        stack,
        "POST",
        &format!("customers/{CUSTOMER}/adjustments"),
        LOYALTY_API_KEY,
        &[("idempotency-key", key)],
        Some(json!({ "points": points, "reason": reason })),
    )
    .await
}

async fn add_codes(stack: &TestStack, codes: &[String]) -> Answer {
    call(
        stack,
        "POST",
        "rewards/r5/codes",
        LOYALTY_API_KEY,
        &[],
        Some(json!({ "codes": codes })),
    )
    .await
}

async fn redeem(stack: &TestStack, bearer: &str, key: &str, body: Value) -> Answer {
    call(
        stack,
        "POST",
        &format!("customers/{CUSTOMER}/redemptions"),
        bearer,
        &[("idempotency-key", key)],
        Some(body),
    )
    .await
}

async fn balance(stack: &TestStack) -> Value {
    let answer = call(
        stack,
        "GET",
        &format!("customers/{CUSTOMER}"),
        LOYALTY_API_KEY,
        &[],
        None,
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()
}

#[tokio::test]
async fn the_shop_key_or_the_customers_own_token_and_nothing_else() {
    let stack = TestStack::start().await;
    customer_with(&stack, 100).await;
    let shop = stack.shop.to_string();
    let path = format!("customers/{CUSTOMER}");
    let own = token(LOYALTY_TOKEN_SECRET, &shop, CUSTOMER, now() + 600);
    let answer = call(&stack, "GET", &path, &own, &[], None).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let body = answer.json();
    assert_eq!(body["points"]["available"], 100);
    assert_eq!(body["points"]["pending"], 64);
    assert_eq!(body["points"]["lifetime_earned"], 164);
    assert_eq!(body["tier"]["name"], "Brons");
    assert_eq!(body["rewards"][0]["id"], "r5");
    assert_eq!(body["rewards"][0]["affordable"], false);

    let other = token(LOYALTY_TOKEN_SECRET, &shop, "cus-other", now() + 600);
    assert_eq!(
        call(&stack, "GET", &path, &other, &[], None).await.status,
        403
    );
    for refused in [
        token("not-the-secret", &shop, CUSTOMER, now() + 600),
        token(LOYALTY_TOKEN_SECRET, "another-shop", CUSTOMER, now() + 600),
        token(LOYALTY_TOKEN_SECRET, &shop, CUSTOMER, now() - 120),
        token(LOYALTY_TOKEN_SECRET, &shop, CUSTOMER, now() + 3600),
        "not-the-key".to_owned(),
    ] {
        let answer = call(&stack, "GET", &path, &refused, &[], None).await;
        assert_eq!(answer.status, 401, "{refused}: {}", answer.body);
    }
    // Adjustments and codes take the shop's key: a customer cannot grant themselves points.
    let answer = call(
        &stack,
        "POST",
        &format!("customers/{CUSTOMER}/adjustments"),
        &own,
        &[],
        Some(json!({ "points": 1000, "reason": "me" })),
    )
    .await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    let unknown = call(
        &stack,
        "GET",
        "customers/cus-nobody",
        LOYALTY_API_KEY,
        &[],
        None,
    )
    .await;
    assert_eq!(unknown.status, 404);
    assert!(stack.take_iam_denials().is_empty());
}

#[tokio::test]
async fn a_redemption_spends_once_per_idempotency_key_and_gives_a_code_from_the_pool() {
    let stack = TestStack::start().await;
    customer_with(&stack, 1200).await;
    let added = add_codes(
        &stack,
        &["SAVE5-A".into(), "SAVE5-B".into(), "save5-a".into()],
    )
    .await;
    assert_eq!(added.status, 200, "{}", added.body);
    assert_eq!(
        added.json(),
        json!({ "added": 2, "available": 2 }),
        "a code is added once"
    );

    let first = redeem(
        &stack,
        LOYALTY_API_KEY,
        "order-page-1",
        json!({ "reward": "r5" }),
    )
    .await;
    assert_eq!(first.status, 201, "{}", first.body);
    let body = first.json();
    assert_eq!(body["points_spent"], 500);
    assert_eq!(body["balance_after"], 700);
    assert!(["SAVE5-A", "SAVE5-B"].contains(&body["code"].as_str().unwrap()));
    let again = redeem(
        &stack,
        LOYALTY_API_KEY,
        "order-page-1",
        json!({ "reward": "r5" }),
    )
    .await;
    assert_eq!(
        (again.status, again.json()),
        (201, body.clone()),
        "the same answer"
    );
    assert_eq!(
        balance(&stack).await["points"]["available"],
        700,
        "spent once"
    );
    let reused = redeem(
        &stack,
        LOYALTY_API_KEY,
        "order-page-1",
        json!({ "reward": "naar-keuze", "points": 200 }),
    )
    .await;
    assert_eq!(
        (reused.status, reused.json()["error"].clone()),
        (409, json!("idempotency_key_reused"))
    );

    // Bad input names the field and changes nothing.
    let missing = call(
        &stack,
        "POST",
        &format!("customers/{CUSTOMER}/redemptions"),
        LOYALTY_API_KEY,
        &[],
        Some(json!({ "reward": "r5" })),
    )
    .await;
    assert_eq!(
        (missing.status, missing.json()["field"].clone()),
        (400, json!("Idempotency-Key"))
    );
    let steps = redeem(
        &stack,
        LOYALTY_API_KEY,
        "k2",
        json!({ "reward": "naar-keuze", "points": 250 }),
    )
    .await;
    assert_eq!(
        (steps.status, steps.json()["field"].clone()),
        (400, json!("points"))
    );
    let unknown = redeem(&stack, LOYALTY_API_KEY, "k3", json!({ "reward": "r500" })).await;
    assert_eq!(
        (unknown.status, unknown.json()["field"].clone()),
        (400, json!("reward"))
    );
    let extra = redeem(
        &stack,
        LOYALTY_API_KEY,
        "k4",
        json!({ "reward": "r5", "free": true }),
    )
    .await;
    assert_eq!(extra.status, 400, "{}", extra.body);

    // The last code goes; then the pool is empty and no points are taken.
    let second = redeem(
        &stack,
        LOYALTY_API_KEY,
        "order-page-2",
        json!({ "reward": "r5" }),
    )
    .await;
    assert_eq!(second.status, 201, "{}", second.body);
    assert_ne!(second.json()["code"], body["code"]);
    let granted = adjust(&stack, 300).await;
    assert_eq!(granted.json()["balance_after"], 500);
    let empty = redeem(
        &stack,
        LOYALTY_API_KEY,
        "order-page-3",
        json!({ "reward": "r5" }),
    )
    .await;
    assert_eq!(
        (empty.status, empty.json()["error"].clone()),
        (503, json!("no_codes"))
    );
    assert_eq!(balance(&stack).await["points"]["available"], 500);

    // Not enough points: 409 with the balance.
    let flex = redeem(
        &stack,
        LOYALTY_API_KEY,
        "order-page-4",
        json!({ "reward": "naar-keuze", "points": 600 }),
    )
    .await;
    assert_eq!(flex.status, 409, "{}", flex.body);
    assert_eq!(flex.json()["error"], "insufficient_points");
    assert_eq!(flex.json()["balance"]["available"], 500);
    assert!(stack.take_iam_denials().is_empty());
}

#[tokio::test]
async fn twenty_redemptions_at_once_never_spend_more_than_the_balance_nor_one_code_twice() {
    let stack = TestStack::start().await;
    customer_with(&stack, 2000).await;
    let codes: Vec<String> = (0..30).map(|n| format!("RUSH-{n:02}")).collect();
    assert_eq!(add_codes(&stack, &codes).await.status, 200);
    let own = token(
        LOYALTY_TOKEN_SECRET,
        stack.shop.as_str(),
        CUSTOMER,
        now() + 600,
    );
    let answers = join_all((0..20).map(|n| {
        let (stack, own) = (&stack, own.clone());
        async move { redeem(stack, &own, &format!("rush-{n}"), json!({ "reward": "r5" })).await }
    }))
    .await;
    let won: Vec<&Answer> = answers.iter().filter(|a| a.status == 201).collect();
    let refused = answers.iter().filter(|a| a.status == 409).count();
    assert_eq!(
        won.len(),
        4,
        "2000 points buy four: {:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    assert_eq!(refused, 16);
    let mut handed: Vec<String> = won
        .iter()
        .map(|a| a.json()["code"].as_str().unwrap().to_owned())
        .collect();
    handed.sort();
    handed.dedup();
    assert_eq!(handed.len(), 4, "never one code twice");
    let after = balance(&stack).await;
    assert_eq!(after["points"]["available"], 0);
    assert_eq!(after["points"]["spent"], 2000);
    // The ledger agrees with the balance: the grant, four redemptions (and the order's
    // pending points, which are not available).
    let history = call(
        &stack,
        "GET",
        &format!("customers/{CUSTOMER}/transactions?limit=100"),
        LOYALTY_API_KEY,
        &[],
        None,
    )
    .await
    .json();
    let own_lines: i64 = history["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["kind"] != "earned")
        .map(|t| t["points"].as_i64().unwrap())
        .sum();
    assert_eq!(own_lines, 0);
    assert!(stack.take_iam_denials().is_empty());
}

#[tokio::test]
async fn a_cancelled_redemption_gives_its_points_back_once_and_the_history_pages() {
    let stack = TestStack::start().await;
    customer_with(&stack, 600).await;
    add_codes(&stack, &["BACK-1".into()]).await;
    let redeemed = redeem(
        &stack,
        LOYALTY_API_KEY,
        "cancel-me",
        json!({ "reward": "r5" }),
    )
    .await;
    assert_eq!(redeemed.status, 201, "{}", redeemed.body);
    let id = redeemed.json()["id"].as_str().unwrap().to_owned();
    let path = format!("customers/{CUSTOMER}/redemptions/{id}");
    let cancelled = call(&stack, "DELETE", &path, LOYALTY_API_KEY, &[], None).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(cancelled.json()["balance_after"], 600);
    let again = call(&stack, "DELETE", &path, LOYALTY_API_KEY, &[], None).await;
    assert_eq!(again.status, 200);
    assert_eq!(
        balance(&stack).await["points"]["available"],
        600,
        "given back once"
    );
    let nothing = call(
        &stack,
        "DELETE",
        &format!("customers/{CUSTOMER}/redemptions/rd_000000000000000000000000"),
        LOYALTY_API_KEY,
        &[],
        None,
    )
    .await;
    assert_eq!(nothing.status, 404);
    // A correction below zero is refused and changes nothing.
    let below = adjust(&stack, -601).await;
    assert_eq!(below.status, 409, "{}", below.body);
    assert_eq!(balance(&stack).await["points"]["available"], 600);

    // Newest first, two to a page: refunded, redeemed, adjusted, then the order's earned.
    let mut kinds = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..5 {
        let query = match &cursor {
            Some(c) => format!("?limit=2&cursor={}", c.replace('#', "%23")),
            None => "?limit=2".into(),
        };
        let page = call(
            &stack,
            "GET",
            &format!("customers/{CUSTOMER}/transactions{query}"),
            LOYALTY_API_KEY,
            &[],
            None,
        )
        .await;
        assert_eq!(page.status, 200, "{}", page.body);
        let page = page.json();
        for t in page["transactions"].as_array().unwrap() {
            kinds.push(t["kind"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(kinds, ["refunded", "redeemed", "adjusted", "earned"]);
    let bad = call(
        &stack,
        "GET",
        &format!("customers/{CUSTOMER}/transactions?limit=0"),
        LOYALTY_API_KEY,
        &[],
        None,
    )
    .await;
    assert_eq!(
        (bad.status, bad.json()["field"].clone()),
        (400, json!("limit"))
    );
    assert!(stack.take_iam_denials().is_empty());
}

#[tokio::test]
async fn whole_numbers_written_with_a_fraction_of_zero_are_points() {
    let stack = TestStack::start().await;
    customer_with(&stack, 100).await;
    let answer = call(
        &stack,
        "POST",
        &format!("customers/{CUSTOMER}/adjustments"),
        LOYALTY_API_KEY,
        &[("idempotency-key", "fraction-1")],
        Some(json!({ "points": -50.0, "reason": "correction" })),
    )
    .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let half = call(
        &stack,
        "POST",
        &format!("customers/{CUSTOMER}/adjustments"),
        LOYALTY_API_KEY,
        &[("idempotency-key", "fraction-2")],
        Some(json!({ "points": 10.5, "reason": "correction" })),
    )
    .await;
    assert_eq!(
        (half.status, half.json()["field"].clone()),
        (400, json!("points"))
    );
    assert_eq!(balance(&stack).await["points"]["available"], 50);
}

#[tokio::test]
async fn an_adjustment_counts_once_per_idempotency_key_and_requires_one() {
    let stack = TestStack::start().await;
    customer_with(&stack, 100).await;
    let first = adjust_with(&stack, "goodwill-late-parcel", 250, "late parcel").await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.json()["balance_after"], 350);
    // The shop's server retries after a timeout: the same answer, counted once.
    let retried = adjust_with(&stack, "goodwill-late-parcel", 250, "late parcel").await;
    assert_eq!((retried.status, retried.json()), (201, first.json()));
    assert_eq!(
        balance(&stack).await["points"]["available"],
        350,
        "counted once"
    );
    let reused = adjust_with(&stack, "goodwill-late-parcel", 300, "late parcel").await;
    assert_eq!(
        (reused.status, reused.json()["error"].clone()),
        (409, json!("idempotency_key_reused"))
    );
    // Twice at once under one key: one of them applies.
    let both = join_all((0..2).map(|_| adjust_with(&stack, "goodwill-twice", 50, "twice"))).await;
    assert!(
        both.iter().all(|a| a.status == 201),
        "{:?}",
        both.iter().map(|a| &a.body).collect::<Vec<_>>()
    );
    assert_eq!(balance(&stack).await["points"]["available"], 400);
    let before = stack.snapshot().await;
    let missing = call(
        &stack,
        "POST",
        &format!("customers/{CUSTOMER}/adjustments"),
        LOYALTY_API_KEY,
        &[],
        Some(json!({ "points": 100, "reason": "no key" })),
    )
    .await;
    assert_eq!(
        (missing.status, missing.json()["field"].clone()),
        (400, json!("Idempotency-Key"))
    );
    assert_eq!(stack.snapshot().await, before, "nothing changed");
    // The history has one line per key.
    let history = call(
        &stack,
        "GET",
        &format!("customers/{CUSTOMER}/transactions?limit=100"),
        LOYALTY_API_KEY,
        &[],
        None,
    )
    .await
    .json();
    let adjusted = history["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["kind"] == "adjusted")
        .count();
    assert_eq!(adjusted, 3, "the welcome gift and one line per key");
    assert!(stack.take_iam_denials().is_empty());
}

/// Points, a code in the r5 pool and a redemption that hands it out, for `customer` (who has
/// placed an order already): the redemption's id.
async fn redeemed_code(stack: &TestStack, customer: &str, code: &str) -> String {
    let granted = call(
        stack,
        "POST",
        &format!("customers/{customer}/adjustments"),
        LOYALTY_API_KEY,
        &[("idempotency-key", &unique("grant"))],
        Some(json!({ "points": 500, "reason": "welcome gift" })),
    )
    .await;
    assert_eq!(granted.status, 201, "{}", granted.body);
    assert_eq!(add_codes(stack, &[code.to_owned()]).await.status, 200);
    let redeemed = call(
        stack,
        "POST",
        &format!("customers/{customer}/redemptions"),
        LOYALTY_API_KEY,
        &[("idempotency-key", "checkout-1")],
        Some(json!({ "reward": "r5" })),
    )
    .await;
    assert_eq!(redeemed.status, 201, "{}", redeemed.body);
    assert_eq!(redeemed.json()["code"], code);
    redeemed.json()["id"].as_str().unwrap().to_owned()
}

/// The order the redemption was used on, as stored.
async fn used_by(stack: &TestStack, customer: &str, id: &str) -> Option<String> {
    let customer = trouw::domain::CustomerId::parse(customer).unwrap();
    stack
        .store()
        .redemption(&stack.shop, &customer, id)
        .await
        .unwrap()
        .expect("the redemption is stored")
        .used_by_order
}

/// The example order under another order id and customer, with discount codes.
fn order_with_codes(order: &str, customer: &str, codes: &[&str]) -> Value {
    let mut body = example("order-placed");
    body["order"]["id"] = json!(order);
    body["customer"]["id"] = json!(customer);
    body["order"]["discount_codes"] = json!(codes);
    body
}

#[tokio::test]
async fn an_order_with_the_code_marks_its_redemption_used_once_and_it_cannot_be_cancelled() {
    let stack = TestStack::start().await;
    let first = stack.post("order-placed", &example("order-placed")).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let id = redeemed_code(&stack, CUSTOMER, "SPRING5-Q7W2").await;
    // Another customer's order with the code, and the customer's own order with a code no
    // redemption handed out: nothing is used.
    for body in [
        order_with_codes("NL-900", "cus-other", &["SPRING5-Q7W2"]),
        order_with_codes("NL-901", CUSTOMER, &["NOPE-0001"]),
    ] {
        let placed = stack.post("order-placed", &body).await;
        assert_eq!(placed.status, 200, "{}", placed.body);
    }
    assert_eq!(used_by(&stack, CUSTOMER, &id).await, None);

    // Her own order, the code as the platform spelled it.
    let own = order_with_codes("NL-902", CUSTOMER, &["spring5-q7w2"]);
    let placed = stack.post("order-placed", &own).await;
    assert_eq!(placed.status, 200, "{}", placed.body);
    assert_eq!(
        used_by(&stack, CUSTOMER, &id).await.as_deref(),
        Some("NL-902")
    );
    // The same order re-sent, or a later order with the same code: it stays with the first.
    let before = stack.snapshot().await;
    assert_eq!(stack.post("order-placed", &own).await.status, 200);
    let later = order_with_codes("NL-903", CUSTOMER, &["SPRING5-Q7W2"]);
    assert_eq!(stack.post("order-placed", &later).await.status, 200);
    assert_eq!(
        used_by(&stack, CUSTOMER, &id).await.as_deref(),
        Some("NL-902")
    );
    let redemption_item = |items: &[trouw_tests::Item]| {
        items
            .iter()
            .find(|i| format!("{:?}", i.get("sk")).contains(&id))
            .cloned()
    };
    assert_eq!(
        redemption_item(&stack.snapshot().await),
        redemption_item(&before),
        "written once"
    );

    // A used code's points stay spent.
    let cancel = call(
        &stack,
        "DELETE",
        &format!("customers/{CUSTOMER}/redemptions/{id}"),
        LOYALTY_API_KEY,
        &[],
        None,
    )
    .await;
    assert_eq!(
        (cancel.status, cancel.json()["error"].clone()),
        (409, json!("redemption_used")),
        "{}",
        cancel.body
    );
    assert_eq!(balance(&stack).await["points"]["spent"], 500);
    assert!(stack.take_iam_denials().is_empty());
}

#[tokio::test]
async fn shopify_and_woocommerce_orders_with_the_code_mark_the_redemption_used() {
    let shopify = TestStack::start().await;
    trouw_tests::shopify_fixture(
        &shopify,
        "order-placed",
        "orders/create",
        "orders-create.json",
    )
    .await;
    let id = redeemed_code(&shopify, "7390412345678", "TROUW5-Q7W2").await;
    trouw_tests::shopify_fixture(
        &shopify,
        "order-placed",
        "orders/create",
        "orders-create-loyalty-code.json",
    )
    .await;
    assert_eq!(
        used_by(&shopify, "7390412345678", &id).await.as_deref(),
        Some("5912345679011")
    );
    assert!(shopify.take_iam_denials().is_empty());

    let woo = TestStack::start().await;
    let first = woo
        .post_woo(
            "order-placed",
            "order.created",
            &trouw_tests::fixture("woocommerce/order-created.json"),
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let id = redeemed_code(&woo, "77", "TROUW5-Q7W2").await;
    let placed = woo
        .post_woo(
            "order-placed",
            "order.created",
            &trouw_tests::fixture("woocommerce/order-created-loyalty-code.json"),
        )
        .await;
    assert_eq!(placed.status, 200, "{}", placed.body);
    assert_eq!(used_by(&woo, "77", &id).await.as_deref(), Some("4840"));
    assert!(woo.take_iam_denials().is_empty());
}

#[tokio::test]
async fn a_browser_on_the_shops_own_origin_may_call_and_a_foreign_origin_gets_no_cors() {
    let stack = TestStack::start().await;
    customer_with(&stack, 100).await;
    let path = format!("customers/{CUSTOMER}/redemptions");
    let own = token(
        LOYALTY_TOKEN_SECRET,
        stack.shop.as_str(),
        CUSTOMER,
        now() + 600,
    );
    let preflight = |origin: &'static str| {
        let path = path.clone();
        let stack = &stack;
        async move {
            let request = http::Request::builder()
                .method("OPTIONS")
                .uri(format!("{}/loyalty/{}/{path}", stack.base_url, stack.shop))
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "authorization, content-type, idempotency-key",
                )
                .body(Full::new(Bytes::new()))
                .unwrap();
            stack.send(request).await
        }
    };
    let allowed = preflight(STOREFRONT_ORIGIN).await;
    assert_eq!(allowed.status, 204, "{}", allowed.body);
    let header =
        |a: &Answer, name: &str| a.headers.get(name).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(
        header(&allowed, "access-control-allow-origin").as_deref(),
        Some(STOREFRONT_ORIGIN)
    );
    assert_eq!(
        header(&allowed, "access-control-allow-methods").as_deref(),
        Some("POST")
    );
    let headers = header(&allowed, "access-control-allow-headers")
        .unwrap()
        .to_ascii_lowercase();
    for needed in ["authorization", "content-type", "idempotency-key"] {
        assert!(headers.contains(needed), "{headers}");
    }
    assert_eq!(header(&allowed, "vary").as_deref(), Some("Origin"));

    let foreign = preflight("https://elders.example").await;
    assert_eq!(foreign.status, 403, "{}", foreign.body);
    assert_eq!(foreign.json()["error"], "origin_not_allowed");
    for name in [
        "access-control-allow-origin",
        "access-control-allow-methods",
        "access-control-allow-headers",
    ] {
        assert_eq!(header(&foreign, name), None, "{name}");
    }

    // The requests themselves: the listed origin is named in the answer, never `*`; a foreign
    // origin's answer carries no CORS header (the browser keeps it from the script).
    for (origin, expected) in [
        (STOREFRONT_ORIGIN, Some(STOREFRONT_ORIGIN)),
        ("https://elders.example", None),
    ] {
        let answer = call(
            &stack,
            "GET",
            &format!("customers/{CUSTOMER}"),
            &own,
            &[("origin", origin)],
            None,
        )
        .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(
            header(&answer, "access-control-allow-origin").as_deref(),
            expected,
            "{origin}"
        );
        assert_eq!(header(&answer, "vary").as_deref(), Some("Origin"));
    }
    // An error for the listed origin is readable too (here: a bad token).
    let refused = call(
        &stack,
        "GET",
        &format!("customers/{CUSTOMER}"),
        "not-a-token",
        &[("origin", STOREFRONT_ORIGIN)],
        None,
    )
    .await;
    assert_eq!(refused.status, 401);
    assert_eq!(
        header(&refused, "access-control-allow-origin").as_deref(),
        Some(STOREFRONT_ORIGIN)
    );
    assert!(stack.take_iam_denials().is_empty());
}
