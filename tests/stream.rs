//! The stream path, as it runs in AWS: a webhook writes a PENDING message, the table's stream
//! carries it through the template's filter and batch settings to `send-messages`, and what
//! fails is retried, split and finally sent to the on-failure queue (moto SQS), never sent
//! twice.

use serde_json::{Value, json};
use std::time::Duration;
use trouw::domain::CustomerId;
use trouw::store::{MessageRecord, MessageStatus};
use trouw_tests::fault::{Fault, FaultProxy};
use trouw_tests::{
    StackOptions, TestStack, all_emails, example, local_aws, stream_settings, unique,
};

/// Daytime in Amsterdam, so that no message waits for quiet hours.
fn daytime() -> jiff::Timestamp {
    "2026-11-04T13:00:00Z".parse().unwrap()
}

/// Posts an order for a new customer `cus-<n>` with a fresh address; returns the address.
async fn order(stack: &TestStack, customer: &str) -> String {
    let email = format!("{}@example.nl", unique("klant"));
    let mut placed = example("order-placed");
    placed["customer"]["id"] = json!(customer);
    placed["customer"]["email"] = json!(email);
    placed["order"]["id"] = json!(format!("order-{customer}"));
    assert_eq!(stack.post("order-placed", &placed).await.status, 200);
    email
}

async fn messages(stack: &TestStack, customer: &str) -> Vec<MessageRecord> {
    stack
        .store()
        .messages(&stack.shop, &CustomerId::parse(customer).unwrap())
        .await
        .unwrap()
}

/// How many emails moto's SES received for each address, from one read.
async fn sent_to(addresses: &[String]) -> Vec<usize> {
    let mail = all_emails().await;
    addresses
        .iter()
        .map(|a| mail.iter().filter(|(to, _)| to.contains(a)).count())
        .collect()
}

/// Every message in the on-failure queue, as JSON.
async fn failure_records(stack: &TestStack) -> Vec<Value> {
    stack.take_queue_records(&stack.failure_queue().await).await
}

#[tokio::test]
async fn a_webhooks_message_reaches_ses_through_the_stream() {
    // A batching window longer than the test: only `settle` hands the record over.
    let mut settings = stream_settings();
    settings.batching_window = Duration::from_secs(600);
    let stack = TestStack::start_with(StackOptions {
        with_sender: true,
        stream_settings: Some(settings),
        ..Default::default()
    })
    .await;
    stack.set_now(daytime());
    let email = order(&stack, "cus-stream").await;
    // The webhook answered without sending: the stream does that.
    let waiting = messages(&stack, "cus-stream").await;
    assert_eq!(waiting[0].status, MessageStatus::Pending);
    assert_eq!(sent_to(std::slice::from_ref(&email)).await, [0]);
    stack.settle().await;
    assert_eq!(sent_to(std::slice::from_ref(&email)).await, [1]);
    let sent = messages(&stack, "cus-stream").await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].status, MessageStatus::Sent);
    let stream = stack.app.stream.as_ref().unwrap();
    assert_eq!(
        stream.invocations(),
        [1],
        "one invocation with the one message"
    );
    assert_eq!(stream.given_up(), 0);
}

/// The explicit direct drive (a deterministic step for a test) sends before the webhook
/// answers; the stream then hands the same record over and nothing is sent twice.
#[tokio::test]
async fn with_the_direct_drive_the_stream_finds_the_message_sent_and_sends_nothing_again() {
    let stack = TestStack::start_with(StackOptions {
        with_sender: true,
        direct_drive: true,
        ..Default::default()
    })
    .await;
    stack.set_now(daytime());
    let email = order(&stack, "cus-direct").await;
    assert_eq!(
        messages(&stack, "cus-direct").await[0].status,
        MessageStatus::Sent
    );
    stack.settle().await;
    let stream = stack.app.stream.as_ref().unwrap();
    assert_eq!(
        stream.invocations(),
        [1],
        "the stream delivered the record too"
    );
    assert_eq!(sent_to(&[email]).await, [1]);
}

#[tokio::test]
async fn the_filter_hands_only_pending_messages_to_the_sender() {
    let stack = TestStack::start().await;
    stack.set_now(daytime());
    let email = order(&stack, "cus-filter").await;
    // Items the template's filter must drop: a profile-like item that says PENDING, and a
    // message item that is already SENT.
    for (item, status) in [("profile", "PENDING"), ("message", "SENT")] {
        stack
            .dynamo
            .put_item()
            .table_name(&stack.table)
            .item(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S(unique("SHOP#x#CUST#y")),
            )
            .item(
                "sk",
                aws_sdk_dynamodb::types::AttributeValue::S("MSG#z".into()),
            )
            .item(
                "item",
                aws_sdk_dynamodb::types::AttributeValue::S(item.into()),
            )
            .item(
                "status",
                aws_sdk_dynamodb::types::AttributeValue::S(status.into()),
            )
            .send()
            .await
            .unwrap();
    }
    let sender = stack.sender(stack.clock(), None).await;
    let mapping = stack.stream_to(sender, stream_settings()).await;
    mapping.settle(Duration::from_secs(15)).await.unwrap();
    // The webhook wrote several items (profile, order, events, message); only the message's
    // INSERT reached the function, and its later changes (SENDING, SENT) did not.
    assert_eq!(mapping.invocations(), [1]);
    assert_eq!(sent_to(&[email]).await, [1]);
    let streams = aws_sdk_dynamodbstreams::Client::new(&stack.sdk);
    let described = stack
        .dynamo
        .describe_table()
        .table_name(&stack.table)
        .send()
        .await
        .unwrap();
    let arn = described.table.unwrap().latest_stream_arn.unwrap();
    let shard = streams
        .describe_stream()
        .stream_arn(&arn)
        .send()
        .await
        .unwrap()
        .stream_description
        .unwrap()
        .shards
        .unwrap()
        .remove(0)
        .shard_id
        .unwrap();
    let iterator = streams
        .get_shard_iterator()
        .stream_arn(&arn)
        .shard_id(shard)
        .shard_iterator_type(aws_sdk_dynamodbstreams::types::ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap()
        .shard_iterator
        .unwrap();
    let records = streams
        .get_records()
        .shard_iterator(iterator)
        .send()
        .await
        .unwrap()
        .records
        .unwrap();
    assert!(
        records.len() > 4,
        "the stream had more to drop: {}",
        records.len()
    );
}

#[tokio::test]
async fn a_throttled_ses_call_in_a_batch_of_ten_defers_only_that_message_and_the_rest_go_once() {
    let stack = TestStack::start().await;
    stack.set_now(daytime());
    let mut addresses = Vec::new();
    for n in 0..10 {
        addresses.push(order(&stack, &format!("cus-{n}")).await);
    }
    // SES throttles every call for the fifth customer's address.
    let proxy = FaultProxy::start(&local_aws().endpoint).await;
    proxy.set_for("SendEmail", &addresses[4], Fault::Throttle);
    let sender = stack.sender(stack.clock(), Some(&proxy.endpoint)).await;
    // The mapping starts after the ten writes: its first read makes one batch of all ten.
    let mapping = stack.stream_to(sender, stream_settings()).await;
    mapping.settle(Duration::from_secs(15)).await.unwrap();
    assert_eq!(
        mapping.invocations(),
        [10],
        "one batch of the template's size"
    );

    let mut expected = vec![1; 10];
    expected[4] = 0;
    assert_eq!(sent_to(&addresses).await, expected);
    // The throttled message is deferred (SES did not take it) for the schedule, not failed:
    // the stream moves on and nothing reaches the on-failure queue.
    let throttled = &messages(&stack, "cus-4").await[0];
    assert_eq!(
        (throttled.status, throttled.reason.as_deref()),
        (MessageStatus::Deferred, Some("ses_unavailable"))
    );
    assert_eq!(mapping.given_up(), 0);
    assert!(failure_records(&stack).await.is_empty());

    // SES recovers; the schedule's pass after the back-off sends it, once; nobody gets a
    // second email.
    proxy.clear();
    stack.set_now(daytime() + jiff::SignedDuration::from_mins(2));
    let later = stack.schedule(stack.clock(), Some(&proxy.endpoint)).await;
    let report = trouw_local::events::run_schedule(&later).await.unwrap();
    assert_eq!(report.messages_handled, 1);
    mapping.settle(Duration::from_secs(15)).await.unwrap();
    assert_eq!(sent_to(&addresses).await, vec![1; 10]);
    assert_eq!(mapping.invocations(), [10]);
}

#[tokio::test]
async fn a_record_that_always_fails_ends_in_the_on_failure_queue_and_nothing_is_sent_twice() {
    let stack = TestStack::start().await;
    stack.set_now(daytime());
    let customers = ["cus-before", "cus-poison", "cus-after"];
    let mut addresses = Vec::new();
    for customer in customers {
        addresses.push(order(&stack, customer).await);
    }
    // The sender's table is unreachable for one customer's message: its claim is throttled
    // every time.
    let proxy = FaultProxy::start(&local_aws().endpoint).await;
    proxy.set_for("UpdateItem", "CUST#cus-poison", Fault::Throttle);
    let mut sender = stack.sender(stack.clock(), None).await;
    sender.store = stack.store_through(
        trouw_local::functions::Function::SendMessages,
        &proxy.endpoint,
    );
    let settings = stream_settings();
    let retries = settings.maximum_retry_attempts.unwrap();
    let mapping = stack.stream_to(sender, settings).await;
    mapping.settle(Duration::from_secs(15)).await.unwrap();

    // The first try and every retry; then the mapping gave up and went on.
    assert_eq!(mapping.invocations().len(), 1 + retries as usize);
    assert_eq!(mapping.invocations()[0], 3);
    assert_eq!(mapping.given_up(), 1);
    assert_eq!(sent_to(&addresses).await, [1, 0, 1], "the others once each");
    assert_eq!(
        messages(&stack, "cus-poison").await[0].status,
        MessageStatus::Pending
    );

    let records = failure_records(&stack).await;
    assert_eq!(records.len(), 1, "{records:?}");
    let record = &records[0];
    assert_eq!(record["version"], "1.0");
    assert_eq!(
        record["requestContext"]["condition"],
        "RetryAttemptsExhausted"
    );
    assert_eq!(
        record["requestContext"]["approximateInvokeCount"],
        retries + 1
    );
    assert_eq!(record["responseContext"]["statusCode"], 200);
    assert!(
        record["responseContext"].get("functionError").is_none(),
        "a partial batch response is no function error: {record}"
    );
    let info = &record["DDBStreamBatchInfo"];
    assert!(
        info["streamArn"]
            .as_str()
            .unwrap()
            .contains(&format!("table/{}/stream/", stack.table)),
        "{info}"
    );
    // Retried from the poisoned record: it and the one after it, which went out meanwhile.
    assert_eq!(info["batchSize"], 2, "{info}");
    assert!(info["shardId"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(info["approximateArrivalOfFirstRecord"].is_string());
    let poison = info["startSequenceNumber"].as_str().unwrap();
    assert_ne!(poison, info["endSequenceNumber"].as_str().unwrap());

    // Another read of the stream hands nothing over again.
    mapping.settle(Duration::from_secs(15)).await.unwrap();
    assert_eq!(mapping.invocations().len(), 1 + retries as usize);
    assert_eq!(sent_to(&addresses).await, [1, 0, 1]);
}
