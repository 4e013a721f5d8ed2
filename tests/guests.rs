//! Guest checkouts (no customer account) get an id derived from their email address: an HMAC
//! under the deployment's own secret, so nobody can confirm a guessed address from an id in a
//! log, an SES tag or a link. Guests who already have a profile under the unkeyed id of before
//! keep it, on every path.

use serde_json::{Value, json};
use trouw::domain::{Email, ShopId};
use trouw::webhook::GuestIds;
use trouw::webhook::guest::legacy_guest_id;
use trouw_tests::{StackOptions, TestStack, example, fixture, unique};

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

/// Shopify's `orders/create` for a checkout without an account.
fn shopify_guest_order(email: &str, order: u64) -> Vec<u8> {
    let mut body = json_of(&fixture("shopify/orders-create.json"));
    body.as_object_mut().unwrap().remove("customer");
    body["email"] = json!(email);
    body["contact_email"] = json!(email);
    body["id"] = json!(order);
    body.to_string().into_bytes()
}

/// A WooCommerce order by a guest (customer id 0), as `file` with `email` as billing address.
fn woo_guest_order(file: &str, email: &str) -> Vec<u8> {
    let mut body = json_of(&fixture(&format!("woocommerce/{file}")));
    body["customer_id"] = json!(0);
    body["billing"]["email"] = json!(email);
    body.to_string().into_bytes()
}

async fn placed_by(stack: &TestStack, body: &[u8]) -> String {
    let answer = stack
        .post_shopify("order-placed", "orders/create", body)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()["customer_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn guest_ids_depend_on_the_deployments_secret_and_are_never_the_unkeyed_hash() {
    let shop = ShopId::parse(unique("shop")).unwrap();
    let deployment = |secret: &'static str| {
        TestStack::start_with(StackOptions {
            guest_id_secret: secret,
            shop: Some(shop.clone()),
            ..Default::default()
        })
    };
    let one = deployment("first-deployment-guest-secret").await;
    let two = deployment("second-deployment-guest-secret").await;
    let email = format!("{}@example.nl", unique("guest"));
    let address = Email::parse(&email).unwrap();

    let in_one = placed_by(&one, &shopify_guest_order(&email, 5_900_000_000_001)).await;
    let in_two = placed_by(&two, &shopify_guest_order(&email, 5_900_000_000_001)).await;
    assert_ne!(in_one, in_two, "the same shop and address, another secret");
    let legacy = legacy_guest_id(&shop, &address);
    for id in [&in_one, &in_two] {
        assert!(id.starts_with("guest-k-"), "{id}");
        assert_ne!(id, legacy.as_str(), "the old unkeyed form is not produced");
        assert!(!id.contains(&legacy.as_str()["guest-".len()..]));
        assert!(!id.contains(email.split('@').next().unwrap()));
    }
    // Only the secret makes the id: with it, it is the HMAC; the address alone gives nothing.
    assert_eq!(
        in_one,
        GuestIds::new("first-deployment-guest-secret")
            .id_for(&shop, &address)
            .as_str()
    );
    let (profile, orders) = one.customer(&in_one).await;
    assert_eq!(
        profile
            .unwrap()
            .contact
            .email()
            .map(|e| e.as_str().to_owned()),
        Some(email.clone())
    );
    assert_eq!(orders.len(), 1);

    // The same guest through WooCommerce (another letter case) is the same customer.
    let answer = one
        .post_woo(
            "order-placed",
            "order.created",
            &woo_guest_order("order-created.json", &email.to_uppercase()),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["customer_id"], json!(in_one));
    let (_, orders) = one.customer(&in_one).await;
    assert_eq!(orders.len(), 2);
    assert!(one.customer(legacy.as_str()).await.0.is_none());
}

#[tokio::test]
async fn a_guest_from_before_keyed_ids_keeps_their_profile_on_every_path() {
    let stack = TestStack::start().await;
    let email = format!("{}@example.nl", unique("oldguest"));
    let legacy = legacy_guest_id(&stack.shop, &Email::parse(&email).unwrap());

    // Before the change, this guest's WooCommerce order 4821 was stored under the unkeyed id.
    let mut before = example("order-placed");
    before["customer"]["id"] = json!(legacy.as_str());
    before["customer"]["email"] = json!(email);
    before["order"]["id"] = json!("4821");
    assert_eq!(stack.post("order-placed", &before).await.status, 200);

    // WooCommerce completes that order, naming the guest by address again.
    let delivered = stack
        .post_woo(
            "order-delivered",
            "order.updated",
            &woo_guest_order("order-updated-completed.json", &email),
        )
        .await;
    assert_eq!(delivered.status, 200, "{}", delivered.body);
    assert_eq!(delivered.json()["customer_id"], json!(legacy.as_str()));
    let (_, orders) = stack.customer(legacy.as_str()).await;
    assert!(
        orders[0].delivered_at.is_some(),
        "the old order is delivered"
    );

    // The guest comes back through Shopify: the same profile, two orders.
    let again = placed_by(&stack, &shopify_guest_order(&email, 5_900_000_000_002)).await;
    assert_eq!(again, legacy.as_str());
    let (profile, orders) = stack.customer(legacy.as_str()).await;
    assert_eq!(orders.len(), 2);
    assert_eq!(profile.unwrap().order_count, 2);

    // Nothing was made under the keyed id for this guest.
    let keyed = GuestIds::new(trouw_tests::GUEST_ID_SECRET)
        .id_for(&stack.shop, &Email::parse(&email).unwrap());
    assert!(stack.customer(keyed.as_str()).await.0.is_none());
}

/// The order functions read the guest id key from SSM when a guest's order first needs it, not
/// when they start: a container that only sees customers with an account never reads it, and
/// no cold start waits for it.
#[tokio::test]
async fn the_guest_key_is_read_when_a_guests_order_first_needs_it() {
    let stack = TestStack::start().await;
    let placed = &stack.app.webhooks[&trouw_local::functions::Function::OrderPlaced];
    assert!(placed.guests.get().is_none(), "not read at start");
    for answer in [
        stack.post("order-placed", &example("order-placed")).await,
        stack
            .post_shopify(
                "order-placed",
                "orders/create",
                &fixture("shopify/orders-create.json"),
            )
            .await,
    ] {
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    assert!(
        placed.guests.get().is_none(),
        "orders with a customer need no key"
    );
    let email = format!("{}@example.nl", unique("guest"));
    let id = placed_by(&stack, &shopify_guest_order(&email, 5_900_000_000_201)).await;
    let expected = GuestIds::new(trouw_tests::GUEST_ID_SECRET)
        .id_for(&stack.shop, &Email::parse(&email).unwrap());
    assert_eq!(id, expected.as_str());
    assert!(placed.guests.get().is_some(), "read once, then kept");
    assert!(stack.take_iam_denials().is_empty());
}
