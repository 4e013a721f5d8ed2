//! DynamoDB misbehaving: throttled or silent. The platform gets a retryable 503 with
//! Retry-After, nothing is half-written, and the retried delivery is applied once.

use trouw_tests::fault::{Fault, FaultProxy};
use trouw_tests::{StackOptions, TestStack, example, local_aws};

async fn stack_behind_proxy() -> (TestStack, FaultProxy) {
    let proxy = FaultProxy::start(&local_aws().endpoint).await;
    let stack = TestStack::start_with(StackOptions {
        dynamo_endpoint: Some(proxy.endpoint.clone()),
        ..Default::default()
    })
    .await;
    // Warm the shop cache and create the customer, so the faults hit the webhook's own requests.
    let first = stack.post("order-placed", &example("order-placed")).await;
    assert_eq!(first.status, 200, "{}", first.body);
    (stack, proxy)
}

#[tokio::test]
async fn a_throttled_transaction_answers_503_and_the_retry_applies_once() {
    let (stack, proxy) = stack_behind_proxy().await;
    let before = stack.snapshot().await;
    proxy.set("TransactWriteItems", Fault::Throttle);
    let answer = stack
        .post_as("order-delivered", "delivery-1", &example("order-delivered"))
        .await;
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert_eq!(answer.json()["error"], "temporarily_unavailable");
    assert_eq!(answer.headers["retry-after"], "5");
    assert_eq!(stack.snapshot().await, before, "nothing half-written");

    proxy.clear();
    let retry = stack
        .post_as("order-delivered", "delivery-1", &example("order-delivered"))
        .await;
    assert_eq!(
        (retry.status, retry.json()["status"].clone()),
        (200, serde_json::json!("processed"))
    );
    let again = stack
        .post_as("order-delivered", "delivery-1", &example("order-delivered"))
        .await;
    assert_eq!(again.json()["status"], "duplicate");
    let (profile, _) = stack.customer("cus-8812").await;
    assert_eq!(profile.unwrap().version, 2, "placed once, delivered once");
}

#[tokio::test]
async fn a_read_that_times_out_answers_503_and_writes_nothing() {
    let (stack, proxy) = stack_behind_proxy().await;
    let before = stack.snapshot().await;
    proxy.set("BatchGetItem", Fault::Hang);
    let answer = stack
        .post("order-returned", &example("order-returned"))
        .await;
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert!(answer.headers.contains_key("retry-after"));
    proxy.clear();
    assert_eq!(stack.snapshot().await, before);
}

#[tokio::test]
async fn healthz_reports_a_table_that_does_not_answer() {
    let (stack, proxy) = stack_behind_proxy().await;
    proxy.set("GetItem", Fault::Throttle);
    let get = http::Request::get(format!("{}/healthz", stack.base_url))
        .body(Default::default())
        .unwrap();
    let answer = stack.send(get).await;
    assert_eq!(
        (answer.status, answer.json()["status"].clone()),
        (503, serde_json::json!("unavailable"))
    );
}
