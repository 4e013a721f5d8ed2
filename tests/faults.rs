//! DynamoDB misbehaving: throttled, silent, or losing the answer to a write it applied.
//! A webhook's platform gets a retryable 503 with Retry-After, nothing is half-written, and
//! the retried delivery is applied once. The sender's and the schedule's writes, sent again by
//! the SDK after their answer was lost, are recognised as done: a message goes exactly once,
//! and none is left SENDING (reported unknown) though it never went.

use std::sync::Arc;
use trouw::clock::{Clock, FixedClock};
use trouw::domain::CustomerId;
use trouw::handlers::run_schedule::run_pass;
use trouw::handlers::send_messages::{Delivery, deliver_pending};
use trouw::store::{ClaimToken, MessageOutcome, MessageRecord, MessageStatus};
use trouw_tests::fault::{Fault, FaultProxy};
use trouw_tests::{StackOptions, TestStack, emails_to, example, local_aws, unique};

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
    // A return changes the order and the profile: one transaction.
    let answer = stack
        .post_as("order-returned", "return-1", &example("order-returned"))
        .await;
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert_eq!(answer.json()["error"], "temporarily_unavailable");
    // No state half-written: only the return's timeline entry, put before the state so that no
    // retry can miss it, which the retry puts the same again.
    let after = stack.snapshot().await;
    let new: Vec<_> = after.iter().filter(|i| !before.contains(i)).collect();
    assert!(
        new.iter()
            .all(|i| i["sk"].as_s().unwrap().starts_with("ACT#return-1#")),
        "only the timeline entry: {new:?}"
    );
    assert_eq!(new.len(), 1, "{new:?}");
    assert!(before.iter().all(|i| after.contains(i)), "nothing changed");

    proxy.clear();
    let retry = stack
        .post_as("order-returned", "return-1", &example("order-returned"))
        .await;
    assert_eq!(
        (retry.status, retry.json()["status"].clone()),
        (200, serde_json::json!("processed"))
    );
    let again = stack
        .post_as("order-returned", "return-1", &example("order-returned"))
        .await;
    assert_eq!(again.json()["status"], "duplicate");
    let (profile, orders) = stack.customer("cus-8812").await;
    assert_eq!(profile.unwrap().version, 2, "placed once, returned once");
    assert_eq!(orders[0].returns.len(), 1);
}

/// A plain write to an item that a transaction is writing at the same moment is refused with
/// `TransactionConflictException`, which DynamoDB asks to be tried again: the handler tries again
/// itself, and when the conflict outlasts its tries it answers 503 (not an internal error), with
/// nothing half-written; the retried delivery is applied once.
#[tokio::test]
async fn a_single_write_meeting_a_transaction_is_tried_again_and_else_answers_503() {
    let (stack, proxy) = stack_behind_proxy().await;
    // A delivery writes its order alone (a conditional PutItem). Refused once: the handler's
    // own next try goes through.
    proxy.set_times_for("PutItem", "NL-100482", Fault::TransactionConflict, 1);
    let answer = stack
        .post_as("order-delivered", "delivery-1", &example("order-delivered"))
        .await;
    assert!(proxy.fired(), "the conflict was met");
    assert_eq!(
        (answer.status, answer.json()["status"].clone()),
        (200, serde_json::json!("processed")),
        "{}",
        answer.body
    );
    let (_, orders) = stack.customer("cus-8812").await;
    assert!(orders[0].delivered_at.is_some(), "{orders:?}");

    // Refused every time: a retryable answer, and nothing written.
    let mut placed = example("order-placed");
    placed["order"]["id"] = serde_json::json!("NL-100483");
    proxy.clear();
    assert_eq!(stack.post("order-placed", &placed).await.status, 200);
    let before = stack.snapshot().await;
    let mut delivered = example("order-delivered");
    delivered["order"]["id"] = serde_json::json!("NL-100483");
    proxy.set("PutItem", Fault::TransactionConflict);
    let refused = stack
        .post_as("order-delivered", "delivery-2", &delivered)
        .await;
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert_eq!(refused.json()["error"], "temporarily_unavailable");
    assert_eq!(stack.snapshot().await, before, "nothing half-written");
    proxy.clear();
    let retry = stack
        .post_as("order-delivered", "delivery-2", &delivered)
        .await;
    assert_eq!(retry.json()["status"], "processed", "{}", retry.body);
    let again = stack
        .post_as("order-delivered", "delivery-2", &delivered)
        .await;
    assert_eq!(again.json()["status"], "duplicate");
}

/// A delivery changes its order only: a conditional `PutItem` of the order, then the
/// processed-event record's. Either one throttled answers 503; the retry applies it once.
#[tokio::test]
async fn a_throttled_single_write_answers_503_and_the_retry_applies_once() {
    let (stack, proxy) = stack_behind_proxy().await;
    let before = stack.snapshot().await;
    proxy.set("PutItem", Fault::Throttle);
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
    let (profile, orders) = stack.customer("cus-8812").await;
    assert_eq!(
        profile.unwrap().version,
        1,
        "the delivery changed its order only"
    );
    assert_eq!(orders[0].version, 2, "placed once, delivered once");
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

fn at(time: &str) -> Arc<dyn Clock> {
    Arc::new(FixedClock(time.parse().unwrap()))
}

/// A stack behind the proxy (the sender's and the schedule's DynamoDB too) whose customer
/// `cus-8812`, at an address of the test's own, has one loyalty email PENDING.
async fn pending_email_behind_proxy() -> (TestStack, FaultProxy, String) {
    let proxy = FaultProxy::start(&local_aws().endpoint).await;
    let stack = TestStack::start_with(StackOptions {
        dynamo_endpoint: Some(proxy.endpoint.clone()),
        ..Default::default()
    })
    .await;
    let email = format!("{}@example.nl", unique("anna"));
    let mut order = example("order-placed");
    order["customer"]["email"] = serde_json::json!(email);
    let answer = stack.post("order-placed", &order).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let [message] = messages(&stack).await.try_into().unwrap();
    assert_eq!(message.status, MessageStatus::Pending);
    (stack, proxy, email)
}

fn customer() -> CustomerId {
    CustomerId::parse("cus-8812").unwrap()
}

async fn messages(stack: &TestStack) -> Vec<MessageRecord> {
    stack
        .store()
        .messages(&stack.shop, &customer())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_claim_applied_but_its_answer_lost_is_retried_as_the_same_claim_and_the_email_goes_once()
{
    let (stack, proxy, email) = pending_email_behind_proxy().await;
    let sender = stack.sender(at("2026-11-02T10:00:00Z"), None).await;
    proxy.set_once_for("UpdateItem", "claim_token", Fault::LoseAnswer);
    let done = deliver_pending(&sender, &stack.shop, &customer())
        .await
        .unwrap();
    proxy.clear();
    assert!(
        matches!(
            done.as_slice(),
            [Delivery::Done(MessageOutcome::Sent { .. })]
        ),
        "the SDK's retry finds the message SENDING under its own claim: {done:?}"
    );
    assert_eq!(messages(&stack).await[0].status, MessageStatus::Sent);
    assert_eq!(emails_to(&email).await.len(), 1);
}

#[tokio::test]
async fn a_record_applied_but_its_answer_lost_counts_as_done_not_as_an_error() {
    let (stack, proxy, email) = pending_email_behind_proxy().await;
    let sender = stack.sender(at("2026-11-02T10:00:00Z"), None).await;
    proxy.set_once_for("TransactWriteItems", "finished_at", Fault::LoseAnswer);
    let done = deliver_pending(&sender, &stack.shop, &customer())
        .await
        .expect("recorded: the retry meets its own record, not a failure");
    proxy.clear();
    assert!(
        matches!(
            done.as_slice(),
            [Delivery::Done(MessageOutcome::Sent { .. })]
        ),
        "{done:?}"
    );
    let message = &messages(&stack).await[0];
    assert_eq!(message.status, MessageStatus::Sent);
    assert_eq!(emails_to(&email).await.len(), 1);
    let (profile, _) = stack.customer("cus-8812").await;
    assert_eq!(
        profile.unwrap().mail.last_sent_at,
        Some("2026-11-02T10:00:00Z".parse().unwrap()),
        "its place under the frequency cap, taken with the record"
    );
    // Nothing left for the schedule: the record took the message out of the due index.
    let later = stack.schedule(at("2026-11-02T11:00:00Z"), None).await;
    assert_eq!(run_pass(&later).await.unwrap().send_unknown, 0);
}

#[tokio::test]
async fn the_schedule_sends_a_deferred_message_once_when_its_claims_answer_is_lost() {
    let (stack, proxy, email) = pending_email_behind_proxy().await;
    // At night the message waits for the morning (quiet hours).
    let night = stack.sender(at("2026-11-02T22:30:00Z"), None).await;
    deliver_pending(&night, &stack.shop, &customer())
        .await
        .unwrap();
    assert_eq!(messages(&stack).await[0].status, MessageStatus::Deferred);

    let morning = stack.schedule(at("2026-11-03T09:00:00Z"), None).await;
    proxy.set_once_for("UpdateItem", "claim_token", Fault::LoseAnswer);
    let report = run_pass(&morning).await.unwrap();
    proxy.clear();
    assert_eq!(
        (
            report.messages_handled,
            report.already_handled,
            report.failed
        ),
        (1, 0, 0),
        "{report:?}"
    );
    assert_eq!(messages(&stack).await[0].status, MessageStatus::Sent);
    assert_eq!(emails_to(&email).await.len(), 1);
}

#[tokio::test]
async fn marking_a_stopped_send_unknown_whose_answer_is_lost_is_counted_once() {
    let (stack, proxy, email) = pending_email_behind_proxy().await;
    // A sender claims the message and stops before it records anything.
    let claimed_at: jiff::Timestamp = "2026-11-02T10:00:00Z".parse().unwrap();
    let key = messages(&stack).await[0].intent.key.clone();
    stack
        .store()
        .claim_message(
            &stack.shop,
            &customer(),
            &key,
            &ClaimToken::new(),
            claimed_at,
        )
        .await
        .unwrap()
        .expect("claimed");

    let later = stack.schedule(at("2026-11-02T10:20:00Z"), None).await;
    proxy.set_once_for("UpdateItem", "unknown_at", Fault::LoseAnswer);
    let report = run_pass(&later).await.unwrap();
    proxy.clear();
    assert_eq!(
        (report.send_unknown, report.failed),
        (1, 0),
        "the SDK's retry meets its own mark: counted (and alarmed) once: {report:?}"
    );
    assert_eq!(
        run_pass(&later).await.unwrap().send_unknown,
        0,
        "and only once"
    );
    let message = &messages(&stack).await[0];
    assert_eq!(
        (message.status, message.reason.as_deref()),
        (MessageStatus::Sending, Some("sender_stopped"))
    );
    assert!(emails_to(&email).await.is_empty(), "never sent");
}

/// Points expiry: the schedule's transaction that writes the `expired` ledger item with the
/// balance loses its answer (DynamoDB applied it). The retry is recognised as done: one
/// `expired` item for exactly what was available, the balance at zero, and nothing more on the
/// next pass. The ledger and the balance never disagree.
#[tokio::test]
async fn an_expiry_whose_answer_is_lost_is_written_once_with_its_ledger_item() {
    let proxy = FaultProxy::start(&local_aws().endpoint).await;
    let stack = TestStack::start_with(StackOptions {
        dynamo_endpoint: Some(proxy.endpoint.clone()),
        ..Default::default()
    })
    .await;
    stack
        .update_shop(|s| {
            s.loyalty.expire_after_months = Some(12);
            s.loyalty.expiry_turned_on_at = Some("2026-01-01T00:00:00Z".parse().unwrap());
        })
        .await;
    stack.stop_clock_at("2026-11-02T10:00:00Z".parse().unwrap());
    assert_eq!(
        stack
            .post("order-placed", &example("order-placed"))
            .await
            .status,
        200
    );
    let store = stack.store();
    // Points to expire: a goodwill grant through the loyalty API.
    let grant = http::Request::post(format!(
        "{}/loyalty/{}/customers/cus-8812/adjustments",
        stack.base_url, stack.shop
    ))
    .header(
        "authorization",
        format!("Bearer {}", trouw_tests::LOYALTY_API_KEY),
    )
    .header("idempotency-key", "grant-before-expiry")
    .body(http_body_util::Full::new(bytes::Bytes::from(
        serde_json::json!({ "points": 150, "reason": "welcome" }).to_string(),
    )))
    .unwrap();
    let granted = stack.send(grant).await;
    assert_eq!(granted.status, 201, "{}", granted.body);

    let pass = stack.schedule(at("2027-11-02T10:00:00Z"), None).await;
    proxy.set_once_for("TransactWriteItems", "LEDGER#", Fault::LoseAnswer);
    let report = run_pass(&pass).await.unwrap();
    assert!(proxy.fired(), "the expiry's transaction lost its answer");
    proxy.clear();
    assert_eq!((report.failed, report.unreadable), (0, 0), "{report:?}");
    run_pass(&pass).await.unwrap();

    let (profile, _) = stack.customer("cus-8812").await;
    let loyalty = profile.unwrap().loyalty;
    let expired: Vec<_> = store
        .ledger_page(&stack.shop, &customer(), None, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|(_, e)| e.kind == trouw::domain::EntryKind::Expired)
        .collect();
    assert_eq!(expired.len(), 1, "{expired:?}");
    assert_eq!(loyalty.balance().available, 0);
    assert_eq!(expired[0].1.points, -(loyalty.points_expired as i64));
    assert!(loyalty.points_expired >= 150, "{loyalty:?}");
}

/// The stream's shape of a batch: each item a record, in order, numbered 100, 200, ...
fn stream_batch(items: Vec<trouw_tests::Item>) -> aws_lambda_events::event::dynamodb::Event {
    let mut event: aws_lambda_events::event::dynamodb::Event =
        serde_json::from_value(serde_json::json!({ "Records": [] })).unwrap();
    for (i, item) in items.into_iter().enumerate() {
        let mut record: aws_lambda_events::event::dynamodb::EventRecord =
            serde_json::from_value(serde_json::json!({
                "eventID": format!("{i}"), "eventName": "INSERT", "eventVersion": "1.1",
                "eventSource": "aws:dynamodb", "awsRegion": "eu-west-1",
                "dynamodb": { "SequenceNumber": format!("{}00", i + 1), "SizeBytes": 1,
                              "StreamViewType": "NEW_IMAGE", "Keys": {}, "NewImage": {} }
            }))
            .unwrap();
        record.change.new_image = serde_dynamo::Item::from(item);
        event.records.push(record);
    }
    event
}

/// Two messages of one customer in one batch, the first of which cannot be claimed (its
/// store throttles every try): the second waits behind it and is reported with it, so that
/// Lambda's retry sends them in their order. Sent first, the second would take the frequency
/// cap's place of the first (found by the seeded year of `chaos.rs`: a tier mail went and
/// the points mail created with it waited, only when a fault hit the points mail's claim).
#[tokio::test]
async fn a_customers_later_message_waits_behind_one_that_must_be_retried() {
    let (stack, proxy, email) = pending_email_behind_proxy().await;
    let [first] = messages(&stack).await.try_into().unwrap();
    let mut second = first.clone();
    second.intent.key = format!("{}#second", first.intent.data.kind());
    second.intent.created_at = first.intent.created_at + jiff::SignedDuration::from_secs(1);
    let second_item = trouw::store::message_item(&second).unwrap();
    stack
        .dynamo
        .put_item()
        .table_name(&stack.table)
        .set_item(Some(second_item.clone()))
        .send()
        .await
        .unwrap();
    let first_item = stack
        .dynamo
        .get_item()
        .table_name(&stack.table)
        .set_key(Some(
            trouw::store::keys::message(&stack.shop, &customer(), &first.intent.key).to_item(),
        ))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let batch = stream_batch(vec![first_item, second_item]);
    let sender = stack.sender(at("2026-11-02T10:00:00Z"), None).await;
    let run = || {
        trouw::handlers::send_messages::handle(
            &sender,
            lambda_runtime::LambdaEvent::new(batch.clone(), lambda_runtime::Context::default()),
        )
    };

    proxy.set_for(
        "UpdateItem",
        &format!("MSG#{}\"", first.intent.key),
        Fault::Throttle,
    );
    let response = run().await.unwrap();
    proxy.clear();
    let reported: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone().unwrap_or_default())
        .collect();
    assert_eq!(reported, ["100", "200"], "both wait for the retry");
    assert!(
        messages(&stack)
            .await
            .iter()
            .all(|m| m.status == MessageStatus::Pending),
        "{:?}",
        messages(&stack).await
    );
    assert!(
        emails_to(&email).await.is_empty(),
        "nothing went out of order"
    );

    // Lambda's retry: in order, the first goes.
    let response = run().await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    let now = messages(&stack).await;
    let status = |key: &str| now.iter().find(|m| m.intent.key == key).unwrap().status;
    assert_eq!(status(&first.intent.key), MessageStatus::Sent, "{now:?}");
    assert_ne!(
        status(&second.intent.key),
        MessageStatus::Pending,
        "{now:?}"
    );
}

/// SES took the email and its answer was lost, so the message stays SENDING and counts for
/// the frequency cap as a send. The store is busy just then, longer than the SDK's own
/// retries: the count is tried again, as the claim and the record are, for nothing retries it
/// later. Forgotten, the customer's next optional email would follow too soon (found by the
/// seeded year of `chaos.rs`: a tier mail went out right after a points mail whose answer was
/// lost, only when a fault also hit this count).
#[tokio::test]
async fn a_lost_send_counts_for_the_cap_when_the_store_is_busy_at_first() {
    let (stack, proxy, email) = pending_email_behind_proxy().await;
    let ses = FaultProxy::start(&local_aws().endpoint).await;
    let sender = stack
        .sender(at("2026-11-02T10:00:00Z"), Some(&ses.endpoint))
        .await;
    ses.set("SendEmail", Fault::LoseAnswer);
    // One whole call of the count fails (the sender's client tries three times).
    proxy.set_times_for("UpdateItem", "last_sent_at", Fault::Throttle, 3);
    let done = deliver_pending(&sender, &stack.shop, &customer())
        .await
        .unwrap();
    ses.clear();
    assert!(proxy.fired(), "the count met the busy store");
    proxy.clear();
    assert!(
        matches!(done.as_slice(), [Delivery::OutcomeUnknown]),
        "{done:?}"
    );
    assert_eq!(emails_to(&email).await.len(), 1, "SES sent it");
    assert_eq!(messages(&stack).await[0].status, MessageStatus::Sending);
    let (profile, _) = stack.customer("cus-8812").await;
    assert_eq!(
        profile.unwrap().mail.last_sent_at,
        Some("2026-11-02T10:00:00Z".parse().unwrap()),
        "it counts for the frequency cap as a send"
    );
}

/// A delivery whose one write was applied and its answer lost is decided again (its own write
/// makes the second decision change nothing) and only its record is written; the store is busy
/// just then, longer than the SDK's own retries. The record is tried again as the write was:
/// the delivery is applied once and answered at once. For a schedule's timer this matters
/// most: once its state is written it is not due any more, and no later pass would record it
/// (found by the seeded year of `chaos.rs`: a timer's record missing only with faults).
#[tokio::test]
async fn a_record_after_a_lost_answer_is_tried_again_while_the_store_is_busy() {
    let store_side = FaultProxy::start(&local_aws().endpoint).await;
    let client_side = FaultProxy::start(&store_side.endpoint).await;
    let stack = TestStack::start_with(StackOptions {
        dynamo_endpoint: Some(client_side.endpoint.clone()),
        ..Default::default()
    })
    .await;
    let first = stack.post("order-placed", &example("order-placed")).await;
    assert_eq!(first.status, 200, "{}", first.body);

    client_side.set_once_for("PutItem", "delivered_at", Fault::LoseAnswer);
    // One whole call of the record fails (the webhook's client tries twice), then a try more.
    store_side.set_times_for("PutItem", "EVENT#delivery-1", Fault::Throttle, 3);
    let answer = stack
        .post_as("order-delivered", "delivery-1", &example("order-delivered"))
        .await;
    assert!(client_side.fired(), "the order's write lost its answer");
    assert!(store_side.fired(), "the record met the busy store");
    client_side.clear();
    store_side.clear();
    assert_eq!(
        (answer.status, answer.json()["status"].clone()),
        (200, serde_json::json!("processed")),
        "{}",
        answer.body
    );
    let again = stack
        .post_as("order-delivered", "delivery-1", &example("order-delivered"))
        .await;
    assert_eq!(again.json()["status"], "duplicate", "recorded once");
    let (_, orders) = stack.customer("cus-8812").await;
    assert_eq!(orders[0].version, 2, "placed once, delivered once");
}
