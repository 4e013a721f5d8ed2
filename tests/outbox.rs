//! The outbox: message items are created PENDING in the same transaction as the state change,
//! keyed by kind and cause, so no duplicate or concurrent delivery can create one twice.

use trouw::domain::{MessageClass, MessageData};
use trouw::store::MessageStatus;
use trouw_tests::{TestStack, example};

async fn keys(stack: &TestStack, customer: &str) -> Vec<String> {
    let messages = stack
        .store()
        .messages(
            &stack.shop,
            &trouw::domain::CustomerId::parse(customer).unwrap(),
        )
        .await
        .unwrap();
    assert!(messages.iter().all(|m| m.status == MessageStatus::Pending));
    messages.into_iter().map(|m| m.intent.key).collect()
}

#[tokio::test]
async fn the_contract_story_creates_each_message_once() {
    let stack = TestStack::start().await;
    for _ in 0..3 {
        stack
            .post_as("order-placed", "placed-1", &example("order-placed"))
            .await;
    }
    // Another delivery id for the same order (a platform re-sending): still one message.
    stack.post("order-placed", &example("order-placed")).await;
    stack
        .post_as("order-returned", "return-1", &example("order-returned"))
        .await;
    stack
        .post_as("address-changed", "moved-1", &example("address-changed"))
        .await;

    let keys = keys(&stack, "cus-8812").await;
    let moved_at: jiff::Timestamp = example("address-changed")["occurred_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        keys,
        [
            "loyalty-earned#NL-100482".to_owned(),
            "loyalty-reversed#NL-100482#return-1".to_owned(),
            format!("welcome-after-move#{}", moved_at.as_second()),
        ]
    );

    let messages = stack
        .store()
        .messages(
            &stack.shop,
            &trouw::domain::CustomerId::parse("cus-8812").unwrap(),
        )
        .await
        .unwrap();
    let earned = &messages[0];
    assert_eq!(earned.intent.class, MessageClass::Service);
    assert_eq!(earned.cause.as_str(), "placed-1");
    assert!(matches!(
        earned.intent.data,
        MessageData::LoyaltyEarned { points: 64, .. }
    ));
    assert_eq!(messages[2].intent.class, MessageClass::Promotional);
}

#[tokio::test]
async fn concurrent_deliveries_create_one_message() {
    let stack = TestStack::start().await;
    let body = example("order-placed");
    let mut handles = Vec::new();
    for i in 0..5 {
        // Different delivery ids for the same order, all at once.
        let request = trouw_tests::client::signed_post(
            &stack.url("order-placed"),
            &trouw::webhook::WebhookSecret::new(trouw_tests::SECRET),
            &format!("race-{i}"),
            trouw_tests::now(),
            body.to_string().as_bytes(),
        );
        let http = stack.http.clone();
        handles.push(tokio::spawn(async move {
            trouw_tests::client::send(&http, request).await.unwrap()
        }));
    }
    for handle in handles {
        assert_eq!(handle.await.unwrap().status, 200);
    }
    assert_eq!(keys(&stack, "cus-8812").await, ["loyalty-earned#NL-100482"]);
    let (profile, _) = stack.customer("cus-8812").await;
    assert_eq!(profile.unwrap().order_count, 1);
}
