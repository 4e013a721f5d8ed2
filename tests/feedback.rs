//! SES's reports about sent mail, as EventBridge delivers them: each lands on its message's
//! status history, in any order and once; hard bounces and complaints change the customer's
//! standing, which the policy gate respects.

use serde_json::{Value, json};
use trouw::domain::{CustomerId, DeliveryStatus, OptOutScope};
use trouw::handlers::send_messages::deliver_pending;
use trouw::handlers::ses_events::{FeedbackApp, Handled, apply};
use trouw::mail::ses::{message_ref, tag_value};
use trouw::store::{MessageRecord, MessageStatus};
use trouw_local::events::{SesRule, configuration_set, ses_envelope};
use trouw_local::functions::Function;
use trouw_tests::fault::{Fault, FaultProxy};
use trouw_tests::{StackOptions, TestStack, example, local_aws, unique};

/// A stack with one customer whose loyalty update went out through moto's SES.
async fn sent_message(stack: &TestStack) -> MessageRecord {
    let mut placed = example("order-placed");
    placed["customer"]["email"] = json!(format!("{}@example.nl", unique("anna")));
    assert_eq!(stack.post("order-placed", &placed).await.status, 200);
    let sender = stack
        .sender(
            std::sync::Arc::new(trouw::clock::FixedClock(
                "2026-11-02T10:00:00Z".parse().unwrap(),
            )),
            None,
        )
        .await;
    deliver_pending(&sender, &stack.shop, &customer())
        .await
        .unwrap();
    let message = message(stack, "loyalty-earned#NL-100482").await;
    assert_eq!(message.status, MessageStatus::Sent);
    message
}

fn customer() -> CustomerId {
    CustomerId::parse("cus-8812").unwrap()
}

async fn message(stack: &TestStack, key: &str) -> MessageRecord {
    stack
        .store()
        .messages(&stack.shop, &customer())
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.intent.key == key)
        .unwrap()
}

fn feedback(stack: &TestStack) -> FeedbackApp {
    FeedbackApp {
        store: stack.store_as(Function::SesEvents),
    }
}

/// An SES event as EventBridge delivers it, with the tags trouw's sender sets: the SES event
/// in the envelope SES publishes for the local configuration set.
fn ses_event(stack: &TestStack, message: &MessageRecord, event_type: &str, body: Value) -> Value {
    let field = match event_type {
        "Rendering Failure" => "failure".to_owned(),
        "DeliveryDelay" => "deliveryDelay".to_owned(),
        other => other.to_ascii_lowercase(),
    };
    let key = &message.intent.key;
    let mut detail = json!({
        "eventType": event_type,
        "mail": {
            "timestamp": "2026-11-02T10:00:00.123Z",
            "source": "Demo Winkel <winkel@demo.trouw.test>",
            "sendingAccountId": "123456789012",
            "messageId": message.ses_message_id.clone().unwrap(),
            "destination": ["anna.devries@example.nl"],
            "headersTruncated": false,
            "tags": {
                "ses:configuration-set": [configuration_set(&stack.table).unwrap()],
                "ses:source-ip": ["192.0.2.10"],
                "ses:from-domain": ["demo.trouw.test"],
                "ses:caller-identity": ["send-messages"],
                "shop": [stack.shop.to_string()],
                "kind": [message.intent.data.kind()],
                "message": [tag_value(key)],
                "customer": ["cus-8812"],
                "locale": ["nl"],
                "ref": [tag_value(&message_ref(&stack.shop, &customer(), key))]
            }
        }
    });
    detail[field] = body;
    ses_envelope(detail, "2026-11-02T10:00:05Z".parse().unwrap())
}

fn delivery(at: &str) -> Value {
    json!({ "timestamp": at, "processingTimeMillis": 546, "recipients": ["anna.devries@example.nl"], "smtpResponse": "250 2.6.0 Message received", "reportingMTA": "a8-70.smtp-out.amazonses.com", "remoteMtaIp": "198.51.100.7" })
}

fn bounce(kind: &str, at: &str) -> Value {
    json!({ "feedbackId": "0102017a-bounce", "bounceType": kind, "bounceSubType": if kind == "Permanent" { "General" } else { "MailboxFull" }, "bouncedRecipients": [{ "emailAddress": "anna.devries@example.nl", "action": "failed", "status": "5.1.1", "diagnosticCode": "smtp; 550 5.1.1 user unknown" }], "timestamp": at, "reportingMTA": "dsn; a8-70.smtp-out.amazonses.com" })
}

fn complaint(at: &str) -> Value {
    json!({ "feedbackId": "0102017a-complaint", "complaintSubType": null, "complainedRecipients": [{ "emailAddress": "anna.devries@example.nl" }], "timestamp": at, "userAgent": "Yahoo!-Mail-Feedback/2.0", "complaintFeedbackType": "abuse", "arrivalDate": at })
}

#[tokio::test]
async fn every_report_lands_on_its_message_and_the_most_telling_status_wins() {
    let stack = TestStack::start().await;
    let app = feedback(&stack);
    let sent = sent_message(&stack).await;
    let events = [
        ses_event(
            &stack,
            &sent,
            "DeliveryDelay",
            json!({ "timestamp": "2026-11-02T10:00:02Z", "delayType": "TransientCommunicationFailure", "expirationTime": "2026-11-03T10:00:00Z", "delayedRecipients": [{ "emailAddress": "anna.devries@example.nl", "status": "4.4.1", "diagnosticCode": "smtp; 421 4.4.1 timeout" }] }),
        ),
        ses_event(&stack, &sent, "Delivery", delivery("2026-11-02T10:05:00Z")),
        ses_event(
            &stack,
            &sent,
            "Open",
            json!({ "timestamp": "2026-11-02T12:00:00Z", "userAgent": "Mozilla/5.0", "ipAddress": "192.0.2.1" }),
        ),
        ses_event(
            &stack,
            &sent,
            "Click",
            json!({ "timestamp": "2026-11-02T12:00:30Z", "userAgent": "Mozilla/5.0", "ipAddress": "192.0.2.1", "link": "https://demo.example/account?token=secret", "linkTags": {} }),
        ),
    ];
    for event in &events {
        assert_eq!(apply(&app, event.clone()).await.unwrap(), Handled::Recorded);
    }
    let message = message(&stack, &sent.intent.key).await;
    assert_eq!(message.delivery_status, Some(DeliveryStatus::Clicked));
    let statuses: Vec<_> = message.reports.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [
            DeliveryStatus::DeliveryDelayed,
            DeliveryStatus::Delivered,
            DeliveryStatus::Opened,
            DeliveryStatus::Clicked
        ]
    );
    assert_eq!(
        message.reports[3].detail.as_deref(),
        Some("demo.example"),
        "only the host is kept"
    );
    assert_eq!(
        message.status,
        MessageStatus::Sent,
        "the send itself stays recorded"
    );

    // Sent again by EventBridge: nothing changes.
    let before = stack.snapshot().await;
    for event in &events {
        assert_eq!(
            apply(&app, event.clone()).await.unwrap(),
            Handled::Duplicate
        );
    }
    assert_eq!(stack.snapshot().await, before);
    // "Email Sent" is recorded by the sender itself; it changes nothing here.
    let send = ses_event(&stack, &sent, "Send", json!({}));
    assert_eq!(apply(&app, send).await.unwrap(), Handled::Ignored);
    assert_eq!(stack.snapshot().await, before);
}

/// Every kind of report the template's rule subscribes to reaches ses-events through that
/// rule, in the envelope SES publishes; what the rule does not take never reaches it.
#[tokio::test]
async fn every_report_kind_reaches_ses_events_through_the_templates_rule() {
    let stack = TestStack::start().await;
    let app = feedback(&stack);
    let sent = sent_message(&stack).await;
    let rule = SesRule::for_stack(&stack.table).unwrap();

    // Not subscribed: SES's own "Email Sent", and any report of another stack's set.
    let before = stack.snapshot().await;
    let send = ses_event(&stack, &sent, "Send", json!({}));
    assert!(rule.publish(&app, send).await.is_none());
    let mut foreign = ses_event(&stack, &sent, "Delivery", delivery("2026-11-02T10:00:02Z"));
    foreign["detail"]["mail"]["tags"]["ses:configuration-set"] = json!(["other-stack-messages"]);
    assert!(rule.publish(&app, foreign).await.is_none());
    assert_eq!(stack.snapshot().await, before);

    let reports = [
        (
            "DeliveryDelay",
            json!({ "timestamp": "2026-11-02T10:00:02Z", "delayType": "MailboxFull", "expirationTime": "2026-11-03T10:00:00Z", "delayedRecipients": [] }),
            DeliveryStatus::DeliveryDelayed,
        ),
        (
            "Delivery",
            delivery("2026-11-02T10:00:03Z"),
            DeliveryStatus::Delivered,
        ),
        (
            "Open",
            json!({ "timestamp": "2026-11-02T10:00:04Z", "userAgent": "Mozilla/5.0", "ipAddress": "192.0.2.1" }),
            DeliveryStatus::Opened,
        ),
        (
            "Click",
            json!({ "timestamp": "2026-11-02T10:00:05Z", "userAgent": "Mozilla/5.0", "ipAddress": "192.0.2.1", "link": "https://demo.example/a", "linkTags": {} }),
            DeliveryStatus::Clicked,
        ),
        (
            "Rendering Failure",
            json!({ "templateName": "order", "errorMessage": "Attribute 'name' is not present" }),
            DeliveryStatus::RenderingFailed,
        ),
        (
            "Reject",
            json!({ "reason": "Bad content" }),
            DeliveryStatus::Rejected,
        ),
        (
            "Bounce",
            bounce("Permanent", "2026-11-02T10:00:06Z"),
            DeliveryStatus::Bounced,
        ),
        (
            "Complaint",
            complaint("2026-11-02T10:00:07Z"),
            DeliveryStatus::Complained,
        ),
    ];
    for (kind, body, status) in reports {
        let event = ses_event(&stack, &sent, kind, body);
        rule.publish(&app, event)
            .await
            .unwrap_or_else(|| panic!("the rule takes {kind}"))
            .unwrap();
        let message = message(&stack, &sent.intent.key).await;
        assert!(
            message.reports.iter().any(|r| r.status == status),
            "{kind}: {:?}",
            message.reports
        );
    }
}

#[tokio::test]
async fn a_hard_bounce_suppresses_the_address_and_a_late_delivery_does_not_hide_it() {
    let stack = TestStack::start().await;
    let app = feedback(&stack);
    let sent = sent_message(&stack).await;
    let soft = ses_event(
        &stack,
        &sent,
        "Bounce",
        bounce("Transient", "2026-11-02T10:00:03Z"),
    );
    apply(&app, soft).await.unwrap();
    let (profile, _) = stack.customer("cus-8812").await;
    assert!(
        profile.unwrap().mail.suppressed_at.is_none(),
        "a soft bounce suppresses nothing"
    );

    let hard = ses_event(
        &stack,
        &sent,
        "Bounce",
        bounce("Permanent", "2026-11-02T10:00:04Z"),
    );
    assert_eq!(apply(&app, hard.clone()).await.unwrap(), Handled::Recorded);
    let late = ses_event(&stack, &sent, "Delivery", delivery("2026-11-02T10:00:02Z"));
    assert_eq!(apply(&app, late).await.unwrap(), Handled::Recorded);
    let message = message(&stack, &sent.intent.key).await;
    assert_eq!(message.delivery_status, Some(DeliveryStatus::Bounced));
    let (profile, _) = stack.customer("cus-8812").await;
    let profile = profile.unwrap();
    assert!(profile.mail.suppressed_at.is_some());
    assert!(
        profile.mail.opted_out.is_none(),
        "a bounce is not an opt-out"
    );
    assert_eq!(apply(&app, hard).await.unwrap(), Handled::Duplicate);

    // The gate respects it: the next service message is skipped as suppressed.
    let mut returned = example("order-returned");
    returned["order"]["id"] = json!("NL-100482");
    assert_eq!(stack.post("order-returned", &returned).await.status, 200);
    let sender = stack
        .sender(
            std::sync::Arc::new(trouw::clock::FixedClock(
                "2026-11-07T10:00:00Z".parse().unwrap(),
            )),
            None,
        )
        .await;
    deliver_pending(&sender, &stack.shop, &customer())
        .await
        .unwrap();
    let reversed = stack
        .store()
        .messages(&stack.shop, &customer())
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.intent.key.starts_with("loyalty-reversed#"))
        .unwrap();
    assert_eq!(
        (reversed.status, reversed.reason.as_deref()),
        (MessageStatus::Skipped, Some("suppressed"))
    );
}

#[tokio::test]
async fn a_complaint_suppresses_and_opts_out_of_offers() {
    let stack = TestStack::start().await;
    let app = feedback(&stack);
    let sent = sent_message(&stack).await;
    let event = ses_event(
        &stack,
        &sent,
        "Complaint",
        complaint("2026-11-03T08:00:00Z"),
    );
    assert_eq!(apply(&app, event).await.unwrap(), Handled::Recorded);
    let message = message(&stack, &sent.intent.key).await;
    assert_eq!(message.delivery_status, Some(DeliveryStatus::Complained));
    assert_eq!(message.reports[0].detail.as_deref(), Some("abuse"));
    let (profile, _) = stack.customer("cus-8812").await;
    let profile = profile.unwrap();
    assert!(profile.mail.suppressed_at.is_some());
    assert_eq!(
        profile.mail.opted_out.map(|o| o.scope),
        Some(OptOutScope::Promotional)
    );
    assert!(!profile.consent.unwrap().granted);
}

#[tokio::test]
async fn reports_in_any_order_end_the_same() {
    let stack = TestStack::start().await;
    let app = feedback(&stack);
    let sent = sent_message(&stack).await;
    let events = [
        ses_event(&stack, &sent, "Delivery", delivery("2026-11-02T10:00:02Z")),
        ses_event(
            &stack,
            &sent,
            "Open",
            json!({ "timestamp": "2026-11-02T11:00:00Z", "userAgent": "x", "ipAddress": "192.0.2.1" }),
        ),
        ses_event(&stack, &sent, "Reject", json!({ "reason": "Bad content" })),
        ses_event(
            &stack,
            &sent,
            "Rendering Failure",
            json!({ "errorMessage": "Attribute 'name' is not present", "templateName": "x" }),
        ),
    ];
    let mut ends = Vec::new();
    for order in [[0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2]] {
        // A fresh copy of the message for each order.
        let mut item = stack
            .snapshot()
            .await
            .into_iter()
            .find(|i| i["sk"].as_s().unwrap() == &format!("MSG#{}", sent.intent.key))
            .unwrap();
        item.remove("reports");
        item.remove("delivery_status");
        stack
            .dynamo
            .put_item()
            .table_name(&stack.table)
            .set_item(Some(item))
            .send()
            .await
            .unwrap();
        for i in order {
            apply(&app, events[i].clone()).await.unwrap();
        }
        let m = message(&stack, &sent.intent.key).await;
        ends.push((m.delivery_status, m.reports));
    }
    assert_eq!(ends[0].0, Some(DeliveryStatus::Rejected));
    assert!(ends.iter().all(|e| e == &ends[0]), "{ends:#?}");
}

#[tokio::test]
async fn reports_about_unknown_messages_are_ignored_and_change_nothing() {
    let stack = TestStack::start().await;
    let app = feedback(&stack);
    let sent = sent_message(&stack).await;
    let before = stack.snapshot().await;
    let mut unknown = sent.clone();
    unknown.intent.key = "loyalty-earned#NL-999".into();
    let event = ses_event(
        &stack,
        &unknown,
        "Delivery",
        delivery("2026-11-02T10:00:02Z"),
    );
    assert_eq!(apply(&app, event).await.unwrap(), Handled::Ignored);
    let mut untagged = ses_event(&stack, &sent, "Delivery", delivery("2026-11-02T10:00:02Z"));
    untagged["detail"]["mail"]["tags"]
        .as_object_mut()
        .unwrap()
        .remove("ref");
    assert_eq!(apply(&app, untagged).await.unwrap(), Handled::Ignored);
    assert_eq!(
        apply(&app, json!({ "detail": "nonsense" })).await.unwrap(),
        Handled::Ignored
    );
    assert_eq!(stack.snapshot().await, before, "nothing created or changed");
}

#[tokio::test]
async fn a_throttled_table_fails_the_invocation_and_the_retry_records_once() {
    let proxy = FaultProxy::start(&local_aws().endpoint).await;
    let stack = TestStack::start_with(StackOptions {
        dynamo_endpoint: Some(proxy.endpoint.clone()),
        ..Default::default()
    })
    .await;
    let app = feedback(&stack);
    let sent = sent_message(&stack).await;
    let event = ses_event(
        &stack,
        &sent,
        "Bounce",
        bounce("Permanent", "2026-11-02T10:00:04Z"),
    );
    proxy.set("UpdateItem", Fault::Throttle);
    assert!(
        apply(&app, event.clone()).await.is_err(),
        "retryable: Lambda tries again"
    );
    proxy.clear();
    assert_eq!(apply(&app, event.clone()).await.unwrap(), Handled::Recorded);
    assert_eq!(apply(&app, event).await.unwrap(), Handled::Duplicate);
    let message = message(&stack, &sent.intent.key).await;
    assert_eq!(message.reports.len(), 1);
    let (profile, _) = stack.customer("cus-8812").await;
    assert!(profile.unwrap().mail.suppressed_at.is_some());
}
