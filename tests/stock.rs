//! Out of stock, and back in stock, over HTTP against moto: the `product-changed` route in its
//! three dialects, what it keeps about a product, its refusals and redeliveries.

use serde_json::{Value, json};
use trouw::domain::Sku;
use trouw_tests::{TestStack, example, fixture};

fn product_body(sku: &str, available: bool, at: &str) -> Value {
    let mut body = example("product-changed");
    body["occurred_at"] = json!(at);
    body["product"]["sku"] = json!(sku);
    body["product"]["available"] = json!(available);
    if available {
        body["product"]
            .as_object_mut()
            .unwrap()
            .remove("expected_back_at");
    }
    body
}

#[tokio::test]
async fn a_stock_out_is_kept_once_and_ends_when_the_product_is_back() {
    let stack = TestStack::start().await;
    let sku = Sku::parse("TP-075").unwrap();

    let out = product_body("TP-075", false, "2026-12-14T08:30:00+01:00");
    let answer = stack.post("product-changed", &out).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["status"], "processed");
    assert_eq!(answer.json()["products"][0]["stock_out"], "started");
    let stored = stack
        .store()
        .product(&stack.shop, &sku)
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.available);
    assert_eq!(stored.alternatives.len(), 2);
    assert_eq!(
        stored.out_since,
        Some("2026-12-14T07:30:00Z".parse().unwrap())
    );

    // The same delivery again, and the same news under another id: one effect.
    let again = stack.post("product-changed", &out).await;
    assert_eq!(again.json()["status"], "duplicate", "{}", again.body);
    let after = stack
        .store()
        .product(&stack.shop, &sku)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after, stored, "nothing written");

    // Older news changes nothing either.
    let old = product_body("TP-075", true, "2026-12-13T08:30:00+01:00");
    assert_eq!(
        stack.post("product-changed", &old).await.json()["status"],
        "duplicate"
    );

    let back = product_body("TP-075", true, "2027-01-06T11:05:00+01:00");
    let answer = stack.post("product-changed", &back).await;
    assert_eq!(
        answer.json()["products"][0]["stock_out"],
        "ended",
        "{}",
        answer.body
    );
    let stored = stack
        .store()
        .product(&stack.shop, &sku)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.available);
    assert_eq!(stored.out_since, None);
}

#[tokio::test]
async fn bad_product_events_are_refused_naming_the_field_and_change_nothing() {
    let stack = TestStack::start().await;
    let cases = [
        ("/product/available", json!("nee"), "product.available"),
        ("/product/sku", json!(""), "product.sku"),
        (
            "/product/alternatives/0/url",
            json!("javascript:alert(1)"),
            "product.alternatives[0].url",
        ),
        (
            "/product/expected_back_at",
            json!("morgen"),
            "product.expected_back_at",
        ),
        ("/type", json!("order.placed"), "type"),
    ];
    for (pointer, value, field) in cases {
        let mut body = example("product-changed");
        *body.pointer_mut(pointer).unwrap() = value;
        let answer = stack.post("product-changed", &body).await;
        assert_eq!(answer.status, 400, "{pointer}: {}", answer.body);
        assert_eq!(answer.json()["field"], field, "{}", answer.body);
    }
    // An order event on the product route, and a product event on an order route.
    let answer = stack
        .post("product-changed", &example("order-placed"))
        .await;
    assert_eq!(
        (answer.status, answer.json()["field"].clone()),
        (400, json!("type"))
    );
    let answer = stack
        .post("order-placed", &example("product-changed"))
        .await;
    assert_eq!(
        (answer.status, answer.json()["field"].clone()),
        (400, json!("type"))
    );
    let sku = Sku::parse("TP-075").unwrap();
    assert_eq!(
        stack.store().product(&stack.shop, &sku).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn shopify_product_updates_map_each_variant_and_must_fit_their_topic() {
    let stack = TestStack::start().await;
    let out = fixture("shopify/products-update-out-of-stock.json");
    let answer = stack
        .post_shopify("product-changed", "products/update", &out)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let products = answer.json()["products"].clone();
    // The 75 ml is gone; the 125 ml has none either, but may be sold without (continue).
    assert_eq!(
        products,
        json!([
            {"sku": "TP-075", "available": false, "changed": true, "stock_out": "started"},
            {"sku": "TP-125", "available": true, "changed": true, "stock_out": null},
        ])
    );
    let stored = stack
        .store()
        .product(&stack.shop, &Sku::parse("TP-075").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.name.as_deref(), Some("Tandpasta mint - 75 ml"));

    // The body of an order under the products topic: refused, naming what does not fit.
    let answer = stack
        .post_shopify(
            "product-changed",
            "products/update",
            &fixture("shopify/orders-create.json"),
        )
        .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.json()["field"], "admin_graphql_api_id");
    // Another topic on this route is not this route's business.
    let answer = stack
        .post_shopify("product-changed", "orders/create", &out)
        .await;
    assert_eq!(answer.json()["status"], "ignored", "{}", answer.body);

    let back = fixture("shopify/products-update-back-in-stock.json");
    let answer = stack
        .post_shopify("product-changed", "products/update", &back)
        .await;
    assert_eq!(
        answer.json()["products"][0]["stock_out"],
        "ended",
        "{}",
        answer.body
    );
}

#[tokio::test]
async fn woocommerce_stock_status_maps_to_availability() {
    let stack = TestStack::start().await;
    let out = fixture("woocommerce/product-updated-out-of-stock.json");
    let answer = stack
        .post_woo("product-changed", "product.updated", &out)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["products"][0]["stock_out"], "started");
    let stored = stack
        .store()
        .product(&stack.shop, &Sku::parse("TP-075").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(
        stored.alternatives.is_empty(),
        "upsell and cross-sell ids alone name no alternative"
    );
    // An order under the product topic does not fit.
    let answer = stack
        .post_woo(
            "product-changed",
            "product.updated",
            &fixture("woocommerce/order-created.json"),
        )
        .await;
    assert_eq!(
        (answer.status, answer.json()["field"].clone()),
        (400, json!("line_items")),
        "{}",
        answer.body
    );
    let back = fixture("woocommerce/product-updated-back-in-stock.json");
    let answer = stack
        .post_woo("product-changed", "product.updated", &back)
        .await;
    assert_eq!(
        answer.json()["products"][0]["stock_out"],
        "ended",
        "{}",
        answer.body
    );
}

fn order_body(customer: &str, order: &str, at: &str) -> Value {
    let mut body = example("order-placed");
    body["occurred_at"] = json!(at);
    body["order"]["id"] = json!(order);
    body["order"]["placed_at"] = json!(at);
    body["customer"]["id"] = json!(customer);
    body
}

async fn buyers(stack: &TestStack, sku: &str) -> Vec<(String, u32)> {
    let (page, _) = stack
        .store()
        .regular_buyers(&stack.shop, &Sku::parse(sku).unwrap(), None, 100)
        .await
        .unwrap();
    page.into_iter()
        .map(|b| (b.customer.as_str().to_owned(), b.interval_days))
        .collect()
}

#[tokio::test]
async fn a_customer_becomes_a_regular_buyer_at_the_second_purchase_or_with_a_cycle() {
    let stack = TestStack::start().await;
    let anna = trouw_tests::unique("cus");
    // TP-075 lasts 90 days a unit (three bought): a regular buy at once. EB-200 has no cycle.
    let first = order_body(&anna, "NL-1", "2026-01-05T10:00:00+01:00");
    assert_eq!(stack.post("order-placed", &first).await.status, 200);
    assert_eq!(buyers(&stack, "TP-075").await, vec![(anna.clone(), 270)]);
    assert_eq!(buyers(&stack, "EB-200").await, vec![]);

    // The second order: EB-200 becomes a regular buy, 40 days apart; TP-075 is one already.
    let second = order_body(&anna, "NL-2", "2026-02-14T10:00:00+01:00");
    assert_eq!(stack.post("order-placed", &second).await.status, 200);
    assert_eq!(buyers(&stack, "EB-200").await, vec![(anna.clone(), 40)]);
    assert_eq!(buyers(&stack, "TP-075").await, vec![(anna.clone(), 270)]);
    let (profile, _) = stack.customer(&anna).await;
    let followed = profile.unwrap().last_ordered;
    assert_eq!(
        followed.get(&Sku::parse("EB-200").unwrap()),
        Some(&"2026-02-14T09:00:00Z".parse().unwrap()),
        "the profile follows the product's last purchase from then on"
    );

    // A third order and a redelivery of the second write nothing to the index.
    let third = order_body(&anna, "NL-3", "2026-03-20T10:00:00+01:00");
    assert_eq!(stack.post("order-placed", &third).await.status, 200);
    assert_eq!(stack.post("order-placed", &second).await.status, 200);
    assert_eq!(buyers(&stack, "EB-200").await, vec![(anna.clone(), 40)]);
    let (profile, _) = stack.customer(&anna).await;
    assert_eq!(
        profile
            .unwrap()
            .last_ordered
            .get(&Sku::parse("EB-200").unwrap()),
        Some(&"2026-03-20T09:00:00Z".parse().unwrap())
    );
}
