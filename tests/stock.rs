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
