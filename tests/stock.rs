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
        (
            "/product/alternatives/0/sku",
            json!(0),
            "product.alternatives[0].sku",
        ),
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
            {"sku": "TP-075", "available": false, "changed": true, "stock_out": "started", "told": 0},
            {"sku": "TP-125", "available": true, "changed": true, "stock_out": null, "told": 0},
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
        Some("2026-02-14T09:00:00Z".parse().unwrap()),
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
        Some("2026-03-20T09:00:00Z".parse().unwrap())
    );
}

mod moments {
    //! The stock moments with the moving clock: who is told, once, and who is not.

    use super::*;
    use base64::Engine;
    use jiff::{SignedDuration, Timestamp};
    use trouw::domain::CustomerId;
    use trouw::handlers::run_schedule::run_pass;
    use trouw::handlers::send_messages::{SenderApp, deliver_pending};
    use trouw::store::{MessageRecord, MessageStatus};
    use trouw_tests::{emails_to, unique};

    /// 09:14 in Amsterdam on 2 November 2026: in the day, not the quiet hours.
    fn day(n: i64) -> Timestamp {
        "2026-11-02T08:14:03Z".parse::<Timestamp>().unwrap() + SignedDuration::from_hours(24 * n)
    }

    /// An order of the toothbrush (EB-200, no cycle) alone.
    fn brush(customer: &str, email: &str, order: &str, at: Timestamp) -> Value {
        let mut body = order_body(customer, order, &at.to_string());
        body["customer"]["email"] = json!(email);
        body["order"]["lines"] = json!([
            { "sku": "EB-200", "name": "Elektrische tandenborstel", "quantity": 1, "unit_price": "53.00" }
        ]);
        body["order"]["total"] = json!("53.00");
        body
    }

    fn stock(available: bool, at: Timestamp) -> Value {
        let mut body = product_body("EB-200", available, &at.to_string());
        body["product"]["name"] = json!("Elektrische tandenborstel");
        body
    }

    async fn place(stack: &TestStack, sender: &SenderApp, body: &Value) {
        let answer = stack.post("order-placed", body).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let customer = CustomerId::parse(body["customer"]["id"].as_str().unwrap()).unwrap();
        deliver_pending(sender, &stack.shop, &customer)
            .await
            .unwrap();
    }

    async fn post_at(stack: &TestStack, body: &Value, at: Timestamp) -> Value {
        stack.set_now(at);
        let answer = stack.post("product-changed", body).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.json()
    }

    async fn kinds(stack: &TestStack, customer: &str, kind: &str) -> Vec<MessageRecord> {
        stack
            .store()
            .messages(&stack.shop, &CustomerId::parse(customer).unwrap())
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.intent.data.kind() == kind)
            .collect()
    }

    async fn send_all(stack: &TestStack, sender: &SenderApp, customers: &[&str]) {
        for c in customers {
            deliver_pending(sender, &stack.shop, &CustomerId::parse(*c).unwrap())
                .await
                .unwrap();
        }
    }

    #[tokio::test]
    async fn a_regular_buyer_due_soon_hears_once_that_it_is_gone_and_once_that_it_is_back() {
        let stack = TestStack::start().await;
        stack.update_shop(|s| s.reorder_interval_days = 730).await;
        let sender = stack.sender(stack.clock(), None).await;
        let mail = |who: &str| format!("{}@example.nl", unique(who));
        let (regular, once, later) = (mail("regular"), mail("once"), mail("later"));

        // A regular buyer: two toothbrushes 30 days apart, the next expected on day 60.
        stack.set_now(day(0));
        place(&stack, &sender, &brush("cus-r", &regular, "R-1", day(0))).await;
        // A customer who bought it once, and one whose next purchase is far off (a year apart).
        place(&stack, &sender, &brush("cus-l", &later, "L-1", day(-330))).await;
        stack.set_now(day(30));
        place(&stack, &sender, &brush("cus-r", &regular, "R-2", day(30))).await;
        place(&stack, &sender, &brush("cus-o", &once, "O-1", day(30))).await;
        place(&stack, &sender, &brush("cus-l", &later, "L-2", day(30))).await;

        // Day 40: out of stock. Only the regular buyer due within 30 days is told.
        let answer = post_at(&stack, &stock(false, day(40)), day(40)).await;
        assert_eq!(answer["products"][0]["stock_out"], "started");
        assert_eq!(answer["products"][0]["told"], 1, "{answer}");
        send_all(&stack, &sender, &["cus-r", "cus-o", "cus-l"]).await;
        let told = kinds(&stack, "cus-r", "out-of-stock-alternative").await;
        assert_eq!(told.len(), 1);
        assert_eq!(told[0].status, MessageStatus::Sent, "{:?}", told[0]);
        assert_eq!(told[0].intent.class, trouw::domain::MessageClass::Service);
        let emails = emails_to(&regular).await;
        let gone = emails
            .iter()
            .find(|e| e.contains("uitverkocht"))
            .expect("the out-of-stock email");
        assert!(gone.contains("Tandpasta mint 125 ml"), "the alternative");
        assert!(!gone.to_lowercase().contains("korting"), "no offer");
        assert!(
            kinds(&stack, "cus-o", "out-of-stock-alternative")
                .await
                .is_empty()
        );
        assert!(
            kinds(&stack, "cus-l", "out-of-stock-alternative")
                .await
                .is_empty()
        );

        // Day 41: the shop says it again (a second out-of-stock of the same stock-out).
        let again = post_at(&stack, &stock(false, day(41)), day(41)).await;
        assert_eq!(again["products"][0]["stock_out"], Value::Null);
        assert_eq!(
            kinds(&stack, "cus-r", "out-of-stock-alternative")
                .await
                .len(),
            1
        );

        // Day 50: back. The one told hears it, once; the others hear nothing.
        let back = post_at(&stack, &stock(true, day(50)), day(50)).await;
        assert_eq!(back["products"][0]["stock_out"], "ended");
        send_all(&stack, &sender, &["cus-r", "cus-o", "cus-l"]).await;
        let returned = kinds(&stack, "cus-r", "back-in-stock").await;
        assert_eq!(returned.len(), 1);
        assert_eq!(returned[0].status, MessageStatus::Sent, "{:?}", returned[0]);
        assert!(
            emails_to(&regular)
                .await
                .iter()
                .any(|e| e.contains("weer op voorraad"))
        );
        assert!(kinds(&stack, "cus-o", "back-in-stock").await.is_empty());
        assert!(kinds(&stack, "cus-l", "back-in-stock").await.is_empty());
        // The same news again: nothing more.
        post_at(&stack, &stock(true, day(51)), day(51)).await;
        assert_eq!(kinds(&stack, "cus-r", "back-in-stock").await.len(), 1);

        // The customer's timeline names both, in the marketers' words.
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            trouw_tests::ADMIN_USER,
            trouw_tests::ADMIN_PASSWORD
        ));
        for (lang, gone, back) in [
            ("en", "out of stock, with an alternative", "back in stock"),
            ("nl", "uitverkocht, met alternatief", "weer op voorraad"),
        ] {
            let request = http::Request::get(format!(
                "{}/admin/customers/cus-r?lang={lang}",
                stack.base_url
            ))
            .header("authorization", format!("Basic {basic}"))
            .body(Default::default())
            .unwrap();
            let page = stack.send(request).await;
            assert_eq!(page.status, 200);
            assert!(
                page.body.contains(gone) && page.body.contains(back),
                "{}",
                page.body
            );
        }
    }

    #[tokio::test]
    async fn the_notice_replaces_the_pending_replenishment_reminder() {
        let stack = TestStack::start().await;
        let sender = stack.sender(stack.clock(), None).await;
        let schedule = stack.schedule(stack.clock(), None).await;
        let email = format!("{}@example.nl", unique("r"));
        // Toothpaste lasting 20 days: a regular buy at once, the reminder due on day 15.
        let mut body = order_body("cus-p", "P-1", &day(0).to_string());
        body["customer"]["email"] = json!(email);
        body["order"]["lines"] = json!([
            { "sku": "TP-075", "name": "Tandpasta mint 75 ml", "quantity": 1, "unit_price": "3.95", "replenish_after_days": 20 }
        ]);
        body["order"]["total"] = json!("3.95");
        stack.set_now(day(0));
        place(&stack, &sender, &body).await;

        // Day 5: out of stock; the customer's next purchase (day 20) is within 30 days.
        let mut gone = product_body("TP-075", false, &day(5).to_string());
        gone["product"]["name"] = json!("Tandpasta mint 75 ml");
        post_at(&stack, &gone, day(5)).await;
        send_all(&stack, &sender, &["cus-p"]).await;
        assert_eq!(
            kinds(&stack, "cus-p", "out-of-stock-alternative")
                .await
                .len(),
            1
        );

        // Day 16: the reminder's time. It is replaced: none created.
        stack.set_now(day(16));
        run_pass(&schedule).await.unwrap();
        assert!(
            kinds(&stack, "cus-p", "replenishment").await.is_empty(),
            "the out-of-stock message replaced the reminder"
        );
    }

    /// A WooCommerce order of one variation of the brush heads (`Zacht` or `Medium`) by
    /// customer `id`.
    fn variation_order(id: u32, email: &str, variation: (u32, &str, &str)) -> Vec<u8> {
        let (variation_id, sku, name) = variation;
        let mut body: Value =
            serde_json::from_slice(&fixture("woocommerce/order-created-variation.json")).unwrap();
        body["id"] = json!(4900 + id);
        body["customer_id"] = json!(id);
        body["billing"]["email"] = json!(email);
        let line = &mut body["line_items"][0];
        line["variation_id"] = json!(variation_id);
        line["sku"] = json!(sku);
        line["name"] = json!(name);
        serde_json::to_vec(&body).unwrap()
    }

    /// A WooCommerce product update from `file`, edited, at `at` (the payload's GMT time).
    fn woo_product(file: &str, at: Timestamp, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
        let mut body: Value =
            serde_json::from_slice(&fixture(&format!("woocommerce/{file}"))).unwrap();
        body["date_modified_gmt"] = json!(at.strftime("%Y-%m-%dT%H:%M:%S").to_string());
        edit(&mut body);
        serde_json::to_vec(&body).unwrap()
    }

    #[tokio::test]
    async fn a_woocommerce_variation_sold_out_tells_its_buyers_and_not_its_siblings() {
        let stack = TestStack::start().await;
        // Brush heads last 30 days: a regular buy from the first purchase.
        stack
            .update_shop(|s| {
                for sku in ["OB-4-ZACHT", "OB-4-MEDIUM"] {
                    s.replenishment.by_sku.insert(sku.into(), 30);
                }
            })
            .await;
        let sender = stack.sender(stack.clock(), None).await;
        let (soft, medium) = (
            format!("{}@example.nl", unique("zacht")),
            format!("{}@example.nl", unique("medium")),
        );
        stack.set_now(day(0));
        for (id, email, variation) in [
            (81, &soft, (1301, "OB-4-ZACHT", "Opzetborstels - Zacht")),
            (82, &medium, (1302, "OB-4-MEDIUM", "Opzetborstels - Medium")),
        ] {
            let order = variation_order(id, email, variation);
            let answer = stack
                .post_woo("order-placed", "order.created", &order)
                .await;
            assert_eq!(answer.status, 200, "{}", answer.body);
        }
        send_all(&stack, &sender, &["81", "82"]).await;
        assert_eq!(buyers(&stack, "OB-4-ZACHT").await, vec![("81".into(), 30)]);
        assert_eq!(buyers(&stack, "OB-4-MEDIUM").await, vec![("82".into(), 30)]);

        // Day 20: the soft heads sell out (their variation's update); both are due in 10 days.
        stack.set_now(day(20));
        let out = woo_product(
            "product-updated-variation-out-of-stock.json",
            day(20),
            |_| {},
        );
        let answer = stack
            .post_woo("product-changed", "product.updated", &out)
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let products = answer.json()["products"].clone();
        assert_eq!(
            products,
            json!([{"sku": "OB-4-ZACHT", "available": false, "changed": true, "stock_out": "started", "told": 1}])
        );
        send_all(&stack, &sender, &["81", "82"]).await;
        let told = kinds(&stack, "81", "out-of-stock-alternative").await;
        assert_eq!(told.len(), 1);
        assert_eq!(told[0].status, MessageStatus::Sent, "{:?}", told[0]);
        assert!(
            emails_to(&soft)
                .await
                .iter()
                .any(|e| e.contains("Opzetborstels - Zacht")),
            "named as the variation"
        );
        assert!(
            kinds(&stack, "82", "out-of-stock-alternative")
                .await
                .is_empty(),
            "the sibling's buyer hears nothing"
        );

        // The parent's update a second later: in stock (Medium is), about its own sku only.
        let parent = woo_product(
            "product-updated-variable.json",
            day(20) + SignedDuration::from_secs(1),
            |_| {},
        );
        let answer = stack
            .post_woo("product-changed", "product.updated", &parent)
            .await;
        assert_eq!(
            answer.json()["products"],
            json!([{"sku": "OB-4", "available": true, "changed": true, "stock_out": null, "told": 0}]),
            "{}",
            answer.body
        );
        let zacht = stack
            .store()
            .product(&stack.shop, &Sku::parse("OB-4-ZACHT").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert!(
            !zacht.available,
            "the parent's summary is not the variation's news"
        );
        // A variation without a sku of its own shows the parent's: once the parent named it,
        // one variation's news does not move the family's sku.
        let inherited = woo_product(
            "product-updated-variation-out-of-stock.json",
            day(21),
            |v| {
                v["id"] = json!(1303);
                v["sku"] = json!("OB-4");
            },
        );
        let answer = stack
            .post_woo("product-changed", "product.updated", &inherited)
            .await;
        assert_eq!(answer.json()["status"], "duplicate", "{}", answer.body);
        let family = stack
            .store()
            .product(&stack.shop, &Sku::parse("OB-4").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert!(family.available && family.family_sku, "{family:?}");
        send_all(&stack, &sender, &["81", "82"]).await;
        assert_eq!(
            kinds(&stack, "81", "out-of-stock-alternative").await.len(),
            1
        );
        assert!(
            kinds(&stack, "82", "out-of-stock-alternative")
                .await
                .is_empty()
        );
    }

    #[tokio::test]
    async fn a_stock_out_with_more_buyers_than_a_page_is_finished_by_the_schedule() {
        let stack = TestStack::start().await;
        let sender = stack.sender(stack.clock(), None).await;
        let schedule = stack.schedule(stack.clock(), None).await;
        let email = format!("{}@example.nl", unique("z"));
        stack.set_now(day(0));
        // The one real buyer sorts after a full page of others (customers the store no longer
        // holds: they are passed over).
        place(&stack, &sender, &brush("zz-real", &email, "Z-1", day(0))).await;
        stack.set_now(day(30));
        place(&stack, &sender, &brush("zz-real", &email, "Z-2", day(30))).await;
        let sku = Sku::parse("EB-200").unwrap();
        let others: Vec<trouw_tests::Item> = (0..trouw::handlers::stock_pass::PAGE)
            .map(|n| {
                let key = trouw::store::keys::regular_buyer(
                    &stack.shop,
                    &sku,
                    &CustomerId::parse(format!("aa-{n:03}")).unwrap(),
                );
                let mut item = key.to_item();
                item.insert(
                    "interval_days".into(),
                    aws_sdk_dynamodb::types::AttributeValue::N("30".into()),
                );
                item
            })
            .collect();
        stack.seed(others).await;

        let answer = post_at(&stack, &stock(false, day(40)), day(40)).await;
        assert_eq!(
            answer["products"][0]["told"], 0,
            "the first page: no one to tell"
        );
        let product = stack
            .store()
            .product(&stack.shop, &sku)
            .await
            .unwrap()
            .unwrap();
        assert!(product.fanout.is_some(), "the rest waits for the schedule");
        assert!(
            kinds(&stack, "zz-real", "out-of-stock-alternative")
                .await
                .is_empty()
        );

        let report = run_pass(&schedule).await.unwrap();
        assert_eq!((report.failed, report.unreadable), (0, 0), "{report:?}");
        send_all(&stack, &sender, &["zz-real"]).await;
        assert_eq!(
            kinds(&stack, "zz-real", "out-of-stock-alternative")
                .await
                .len(),
            1
        );
        let product = stack
            .store()
            .product(&stack.shop, &sku)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(product.fanout, None, "the pass is over");
        // A second pass finds nothing due.
        let report = run_pass(&schedule).await.unwrap();
        assert_eq!(report.timers_handled, 0, "{report:?}");
    }

    #[tokio::test]
    async fn a_shop_may_make_the_notice_promotional_and_then_it_needs_consent() {
        let stack = TestStack::start().await;
        stack
            .update_shop(|s| s.stock_notice_promotional = true)
            .await;
        let sender = stack.sender(stack.clock(), None).await;
        let email = format!("{}@example.nl", unique("p"));
        let without_consent = |order: &str, at: Timestamp| {
            let mut body = brush("cus-n", &email, order, at);
            body["customer"]["marketing_consent"] = json!(false);
            body
        };
        stack.set_now(day(0));
        place(&stack, &sender, &without_consent("N-1", day(0))).await;
        stack.set_now(day(30));
        place(&stack, &sender, &without_consent("N-2", day(30))).await;
        post_at(&stack, &stock(false, day(40)), day(40)).await;
        send_all(&stack, &sender, &["cus-n"]).await;
        let told = kinds(&stack, "cus-n", "out-of-stock-alternative").await;
        assert_eq!(told.len(), 1);
        assert_eq!(
            told[0].intent.class,
            trouw::domain::MessageClass::Promotional
        );
        assert_eq!(told[0].status, MessageStatus::Skipped);
        assert_eq!(told[0].reason.as_deref(), Some("no_consent"));
    }
}
