//! The sender against moto's SES v2: claim, policy gate, render, send, record.

use serde_json::{Value, json};
use std::sync::Arc;
use trouw::clock::{Clock, FixedClock};
use trouw::domain::CustomerId;
use trouw::handlers::send_messages::{Delivery, deliver, deliver_pending, handle};
use trouw::store::{MessageOutcome, MessageRecord, MessageStatus};
use trouw_tests::fault::{Fault, FaultProxy};
use trouw_tests::{TestStack, emails_to, example, local_aws, unique};

/// Monday 2 November 2026, 11:00 in Amsterdam: outside quiet hours.
fn daytime() -> Arc<dyn Clock> {
    Arc::new(FixedClock("2026-11-02T10:00:00Z".parse().unwrap()))
}

/// The contract's order for a customer with an address of its own, so emails can be counted.
fn order_for(email: &str, consent: Option<bool>) -> Value {
    let mut body = example("order-placed");
    body["customer"]["email"] = json!(email);
    match consent {
        Some(c) => body["customer"]["marketing_consent"] = json!(c),
        None => {
            body["customer"]
                .as_object_mut()
                .unwrap()
                .remove("marketing_consent");
        }
    }
    body
}

async fn messages(stack: &TestStack) -> Vec<MessageRecord> {
    stack
        .store()
        .messages(&stack.shop, &CustomerId::parse("cus-8812").unwrap())
        .await
        .unwrap()
}

fn customer() -> CustomerId {
    CustomerId::parse("cus-8812").unwrap()
}

#[tokio::test]
async fn an_order_placed_sends_exactly_one_loyalty_email() {
    let stack = TestStack::start().await;
    let email = format!("{}@example.nl", unique("anna"));
    stack
        .post("order-placed", &order_for(&email, Some(true)))
        .await;
    let sender = stack.sender(daytime(), None).await;
    let done = deliver_pending(&sender, &stack.shop, &customer())
        .await
        .unwrap();
    assert!(
        matches!(
            done.as_slice(),
            [Delivery::Done(MessageOutcome::Sent { .. })]
        ),
        "{done:?}"
    );
    // Again: nothing is pending any more.
    assert!(
        deliver_pending(&sender, &stack.shop, &customer())
            .await
            .unwrap()
            .is_empty()
    );

    let sent = emails_to(&email).await;
    assert_eq!(sent.len(), 1, "exactly one email");
    let raw = &sent[0];
    assert!(
        raw.contains("From: \"Demo Winkel\" <winkel@demo.trouw.test>"),
        "{raw}"
    );
    assert!(
        raw.contains(&format!("{}/u/", stack.base_url)),
        "links point at the deployment's base URL"
    );
    assert!(raw.contains("List-Unsubscribe: <"));
    assert!(raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));

    let message = &messages(&stack).await[0];
    assert_eq!(message.status, MessageStatus::Sent);
    assert!(
        message
            .ses_message_id
            .as_deref()
            .is_some_and(|id| !id.is_empty())
    );
    assert_eq!(message.rendered_locale.as_deref(), Some("nl"));
    let subject = message.subject.clone().unwrap();
    assert!(raw.contains("Subject:"), "{raw}");
    assert!(!subject.is_empty());
    let (profile, _) = stack.customer("cus-8812").await;
    assert_eq!(
        profile.unwrap().mail.last_sent_at,
        Some("2026-11-02T10:00:00Z".parse().unwrap())
    );
}

#[tokio::test]
async fn a_promotional_message_without_consent_is_skipped_and_nothing_is_sent() {
    let stack = TestStack::start().await;
    let email = format!("{}@example.nl", unique("anna"));
    let mut order = order_for(&email, None);
    order["customer"].as_object_mut().unwrap().remove("address");
    stack.post("order-placed", &order).await;
    let mut first = example("address-changed");
    first["customer"]["email"] = json!(email);
    first["customer"]["address"]["line1"] = json!("Damrak 1");
    first["occurred_at"] = json!("2026-11-10T10:00:00+01:00");
    stack.post("address-changed", &first).await;
    let mut moved = example("address-changed");
    moved["customer"]["email"] = json!(email);
    stack.post("address-changed", &moved).await;
    // Service mail first (loyalty), then a week later the welcome: no consent, so skipped.
    let sender = stack
        .sender(
            Arc::new(FixedClock("2026-11-25T10:00:00Z".parse().unwrap())),
            None,
        )
        .await;
    deliver_pending(&sender, &stack.shop, &customer())
        .await
        .unwrap();
    let all = messages(&stack).await;
    let welcome = all
        .iter()
        .find(|m| m.intent.key.starts_with("welcome-after-move"))
        .expect("a welcome message exists");
    assert_eq!(
        (welcome.status, welcome.reason.as_deref()),
        (MessageStatus::Skipped, Some("no_consent"))
    );
    assert_eq!(
        emails_to(&email).await.len(),
        1,
        "only the loyalty email: {all:#?}"
    );
}

#[tokio::test]
async fn the_frequency_cap_and_quiet_hours_defer() {
    let stack = TestStack::start().await;
    let email = format!("{}@example.nl", unique("anna"));
    stack
        .post("order-placed", &order_for(&email, Some(true)))
        .await;
    let night = Arc::new(FixedClock("2026-11-02T22:30:00Z".parse().unwrap()));
    let sender = stack.sender(night, None).await;
    deliver_pending(&sender, &stack.shop, &customer())
        .await
        .unwrap();
    let loyalty = &messages(&stack).await[0];
    assert_eq!(
        (loyalty.status, loyalty.reason.as_deref()),
        (MessageStatus::Deferred, Some("quiet_hours"))
    );
    assert_eq!(
        loyalty.deferred_until,
        Some("2026-11-03T07:00:00Z".parse().unwrap()),
        "08:00 in Amsterdam"
    );
    assert!(emails_to(&email).await.is_empty());

    // The next morning the deferred message goes; the move's welcome a day later is capped.
    let morning = stack
        .sender(
            Arc::new(FixedClock("2026-11-03T07:00:00Z".parse().unwrap())),
            None,
        )
        .await;
    assert!(matches!(
        deliver(&morning, loyalty).await.unwrap(),
        Delivery::Done(MessageOutcome::Sent { .. })
    ));
    let mut moved = example("address-changed");
    moved["customer"]["email"] = json!(email);
    stack.post("address-changed", &moved).await;
    let next_day = stack
        .sender(
            Arc::new(FixedClock("2026-11-04T10:00:00Z".parse().unwrap())),
            None,
        )
        .await;
    deliver_pending(&next_day, &stack.shop, &customer())
        .await
        .unwrap();
    let welcome = messages(&stack)
        .await
        .into_iter()
        .find(|m| m.intent.key.starts_with("welcome"))
        .unwrap();
    assert_eq!(
        (welcome.status, welcome.reason.as_deref()),
        (MessageStatus::Deferred, Some("frequency_cap"))
    );
    assert_eq!(
        welcome.deferred_until,
        Some("2026-11-06T07:00:00Z".parse().unwrap()),
        "72 hours after the last send"
    );
    assert_eq!(emails_to(&email).await.len(), 1);
}

#[tokio::test]
async fn the_same_stream_record_twice_sends_once() {
    let stack = TestStack::start().await;
    let email = format!("{}@example.nl", unique("anna"));
    stack
        .post("order-placed", &order_for(&email, Some(true)))
        .await;
    let item = stack
        .dynamo
        .query()
        .table_name(&stack.table)
        .key_condition_expression("pk = :pk AND begins_with(sk, :m)")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!(
                "SHOP#{}#CUST#cus-8812",
                stack.shop
            )),
        )
        .expression_attribute_values(
            ":m",
            aws_sdk_dynamodb::types::AttributeValue::S("MSG#".into()),
        )
        .send()
        .await
        .unwrap()
        .items
        .unwrap()
        .remove(0);
    let stream_event: aws_lambda_events::event::dynamodb::Event = serde_json::from_value(json!({
        "Records": [{
            "eventID": "1", "eventName": "INSERT", "eventVersion": "1.1", "eventSource": "aws:dynamodb", "awsRegion": "eu-west-1",
            "dynamodb": { "SequenceNumber": "100", "SizeBytes": 1, "StreamViewType": "NEW_IMAGE", "Keys": {}, "NewImage": {} }
        }]
    }))
    .unwrap();
    let mut stream_event = stream_event;
    stream_event.records[0].change.new_image = serde_dynamo::Item::from(item);
    let sender = stack.sender(daytime(), None).await;
    for _ in 0..2 {
        let event = lambda_runtime::LambdaEvent::new(
            stream_event.clone(),
            lambda_runtime::Context::default(),
        );
        let response = handle(&sender, event).await.unwrap();
        assert!(response.batch_item_failures.is_empty());
    }
    assert_eq!(emails_to(&email).await.len(), 1);
}

#[tokio::test]
async fn an_email_whose_answer_is_lost_stays_sending_and_is_never_sent_again() {
    let stack = TestStack::start().await;
    let email = format!("{}@example.nl", unique("anna"));
    stack
        .post("order-placed", &order_for(&email, Some(true)))
        .await;
    let proxy = FaultProxy::start(&local_aws().endpoint).await;
    let sender = stack.sender(daytime(), Some(&proxy.endpoint)).await;

    // SES takes the email; the connection drops before its answer arrives.
    proxy.set("SendEmail", Fault::LoseAnswer);
    let done = deliver_pending(&sender, &stack.shop, &customer())
        .await
        .unwrap();
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

    // Passes after the claim's 15 minutes record it unknown once; none sends it again.
    for minute in ["10:20", "11:30"] {
        let later = stack
            .schedule(
                Arc::new(FixedClock(
                    format!("2026-11-02T{minute}:00Z").parse().unwrap(),
                )),
                Some(&proxy.endpoint),
            )
            .await;
        trouw::handlers::run_schedule::run_pass(&later)
            .await
            .unwrap();
    }
    let message = &messages(&stack).await[0];
    assert_eq!(
        (message.status, message.reason.as_deref()),
        (MessageStatus::Sending, Some("sender_stopped"))
    );
    assert_eq!(emails_to(&email).await.len(), 1, "never sent twice");
}

#[tokio::test]
async fn a_message_waiting_for_its_retry_keeps_its_place_under_the_frequency_cap() {
    let stack = TestStack::start().await;
    let email = format!("{}@example.nl", unique("anna"));
    stack
        .post("order-placed", &order_for(&email, Some(true)))
        .await;
    let proxy = FaultProxy::start(&local_aws().endpoint).await;
    let sender = stack.sender(daytime(), Some(&proxy.endpoint)).await;
    proxy.set("SendEmail", Fault::Throttle);
    deliver_pending(&sender, &stack.shop, &customer())
        .await
        .unwrap();
    proxy.clear();

    // The move's welcome, meanwhile, is capped as if the loyalty update had gone out.
    let mut moved = example("address-changed");
    moved["customer"]["email"] = json!(email);
    stack.post("address-changed", &moved).await;
    deliver_pending(&sender, &stack.shop, &customer())
        .await
        .unwrap();
    let welcome = messages(&stack)
        .await
        .into_iter()
        .find(|m| m.intent.key.starts_with("welcome"))
        .unwrap();
    assert_eq!(
        (welcome.status, welcome.reason.as_deref()),
        (MessageStatus::Deferred, Some("frequency_cap"))
    );

    // The retry itself is not capped by its own place.
    let later = stack
        .schedule(
            Arc::new(FixedClock("2026-11-02T10:02:00Z".parse().unwrap())),
            Some(&proxy.endpoint),
        )
        .await;
    trouw::handlers::run_schedule::run_pass(&later)
        .await
        .unwrap();
    let loyalty = messages(&stack)
        .await
        .into_iter()
        .find(|m| m.intent.key.starts_with("loyalty"))
        .unwrap();
    assert_eq!(loyalty.status, MessageStatus::Sent);
    assert_eq!(emails_to(&email).await.len(), 1);
}

#[tokio::test]
async fn ses_throttling_is_retried_and_sends_once_and_a_rejection_fails_for_good() {
    let stack = TestStack::start().await;
    let email = format!("{}@example.nl", unique("anna"));
    stack
        .post("order-placed", &order_for(&email, Some(true)))
        .await;
    let proxy = FaultProxy::start(&local_aws().endpoint).await;
    let sender = stack.sender(daytime(), Some(&proxy.endpoint)).await;

    proxy.set("SendEmail", Fault::Throttle);
    deliver_pending(&sender, &stack.shop, &customer())
        .await
        .unwrap();
    let message = &messages(&stack).await[0];
    assert_eq!(
        (message.status, message.reason.as_deref(), message.attempts),
        (MessageStatus::Deferred, Some("ses_unavailable"), 1)
    );
    assert_eq!(
        message.deferred_until,
        Some("2026-11-02T10:01:00Z".parse().unwrap()),
        "retried after a minute"
    );
    assert!(emails_to(&email).await.is_empty());
    proxy.clear();
    let later = stack
        .schedule(
            Arc::new(FixedClock("2026-11-02T10:02:00Z".parse().unwrap())),
            Some(&proxy.endpoint),
        )
        .await;
    let report = trouw::handlers::run_schedule::run_pass(&later)
        .await
        .unwrap();
    assert_eq!(report.messages_handled, 1, "the schedule sends it");
    assert_eq!(
        emails_to(&email).await.len(),
        1,
        "sent exactly once after the retry"
    );
    let sent = &messages(&stack).await[0];
    assert_eq!(
        (
            sent.status,
            sent.reason.as_deref(),
            sent.deferred_until,
            sent.attempts
        ),
        (MessageStatus::Sent, None, None, 1),
        "sent: no stale deferral shown; the try that failed still counted"
    );

    // A second customer whose address SES rejects: FAILED, and never tried again.
    let other = format!("{}@example.nl", unique("bram"));
    let mut body = order_for(&other, Some(true));
    body["customer"]["id"] = json!("cus-2");
    body["order"]["id"] = json!("NL-2");
    stack.post("order-placed", &body).await;
    proxy.set("SendEmail", Fault::Reject);
    let cus2 = CustomerId::parse("cus-2").unwrap();
    deliver_pending(&sender, &stack.shop, &cus2).await.unwrap();
    proxy.clear();
    let failed = stack
        .store()
        .messages(&stack.shop, &cus2)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(failed.status, MessageStatus::Failed);
    assert!(failed.error.as_deref().unwrap().contains("MessageRejected"));
    assert!(
        deliver_pending(&sender, &stack.shop, &cus2)
            .await
            .unwrap()
            .is_empty(),
        "no retry"
    );
    assert!(emails_to(&other).await.is_empty());
}

#[tokio::test]
async fn one_click_unsubscribe_from_the_email_stops_later_mail() {
    let stack = TestStack::start().await;
    let email = format!("{}@example.nl", unique("anna"));
    stack
        .post("order-placed", &order_for(&email, Some(true)))
        .await;
    let sender = stack.sender(daytime(), None).await;
    deliver_pending(&sender, &stack.shop, &customer())
        .await
        .unwrap();
    let raw = emails_to(&email).await.remove(0);
    let url = raw
        .lines()
        .find_map(|l| {
            l.strip_prefix("List-Unsubscribe: <")
                .and_then(|u| u.strip_suffix('>'))
        })
        .expect("a List-Unsubscribe header")
        .to_owned();
    assert!(url.starts_with(&format!("{}/u/", stack.base_url)));

    // Opening the link shows a choice and changes nothing (mail scanners open links too).
    let before = stack.snapshot().await;
    let page = stack
        .send(http::Request::get(&url).body(Default::default()).unwrap())
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Geen aanbiedingen meer") && page.body.contains("<form method=\"post\""),
        "{}",
        page.body
    );
    assert_eq!(stack.snapshot().await, before);

    // A tampered token: 400, nothing changes.
    let tampered = format!("{}x", url);
    let answer = stack
        .send(
            http::Request::post(&tampered)
                .body(http_body_util::Full::new(bytes::Bytes::from_static(
                    b"List-Unsubscribe=One-Click",
                )))
                .unwrap(),
        )
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(stack.snapshot().await, before);

    // RFC 8058 one-click, twice: the same result.
    for _ in 0..2 {
        let one_click = http::Request::post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(http_body_util::Full::new(bytes::Bytes::from_static(
                b"List-Unsubscribe=One-Click",
            )))
            .unwrap();
        assert_eq!(stack.send(one_click).await.status, 200);
    }
    let (profile, _) = stack.customer("cus-8812").await;
    let profile = profile.unwrap();
    assert_eq!(
        profile.mail.opted_out.as_ref().unwrap().scope,
        trouw::domain::OptOutScope::All
    );
    assert!(!profile.has_marketing_consent());

    // Later service mail is skipped: nothing more arrives.
    stack
        .post("order-returned", &example("order-returned"))
        .await;
    let later = stack
        .sender(
            Arc::new(FixedClock("2026-11-10T10:00:00Z".parse().unwrap())),
            None,
        )
        .await;
    deliver_pending(&later, &stack.shop, &customer())
        .await
        .unwrap();
    let reversed = messages(&stack)
        .await
        .into_iter()
        .find(|m| m.intent.key.starts_with("loyalty-reversed"))
        .unwrap();
    assert_eq!(
        (reversed.status, reversed.reason.as_deref()),
        (MessageStatus::Skipped, Some("opted_out"))
    );
    assert_eq!(emails_to(&email).await.len(), 1);
}
