//! A handler's log context stays with its own work: while the sender, a link or an SES report
//! waits for DynamoDB or SES, other work on the same thread (the gateway's other requests, whose
//! lines `make load` reads) must not log under that handler's span. (Its own test binary: it
//! installs the process's subscriber.)

use serde_json::{Value, json};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use trouw::domain::CustomerId;
use trouw::mail::LinkKey;
use trouw::mail::ses::{message_ref, tag_value};
use trouw::store::MessageStatus;
use trouw_local::functions::Function;
use trouw_tests::captured_logs::CapturedLogs;
use trouw_tests::{LINK_SECRET, StackOptions, TestStack, example, unique};

fn lines() -> Vec<Value> {
    CapturedLogs::install().json_lines()
}

/// Runs `work` while a probe on the same thread (the test's runtime) logs every millisecond;
/// fails if a probe line was logged under a span, naming it.
async fn without_leaking_spans<T>(name: &str, work: impl Future<Output = T>) -> T {
    let stop = Arc::new(AtomicBool::new(false));
    let probe = tokio::spawn({
        let (stop, name) = (stop.clone(), name.to_owned());
        async move {
            while !stop.load(Ordering::SeqCst) {
                tracing::info!(probe = name, "probe");
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    });
    let done = work.await;
    stop.store(true, Ordering::SeqCst);
    probe.await.unwrap();
    let probes: Vec<Value> = lines()
        .into_iter()
        .filter(|l| l["message"] == "probe" && l["probe"] == name)
        .collect();
    assert!(probes.len() > 1, "the probe ran");
    let misplaced: Vec<&Value> = probes.iter().filter(|l| l.get("span").is_some()).collect();
    assert!(
        misplaced.is_empty(),
        "{name}: {} of {} probe lines logged under another task's span, e.g. {}",
        misplaced.len(),
        probes.len(),
        misplaced[0]
    );
    done
}

fn order_for(customer: &str) -> Value {
    let mut placed = example("order-placed");
    placed["customer"]["id"] = json!(customer);
    placed["customer"]["email"] = json!(format!("{}@example.nl", unique("span")));
    placed
}

async fn daytime_stack() -> TestStack {
    CapturedLogs::install();
    let stack = TestStack::start_with(StackOptions {
        with_sender: true,
        direct_drive: true,
        ..Default::default()
    })
    .await;
    stack.set_now("2026-11-04T13:00:00Z".parse().unwrap());
    stack
}

/// The message is sent before the webhook answers (the direct drive).
#[tokio::test]
async fn while_a_message_is_sent_other_work_does_not_log_under_its_span() {
    let stack = daytime_stack().await;
    let customer = unique("cus-send");
    let answer =
        without_leaking_spans("send", stack.post("order-placed", &order_for(&customer))).await;
    assert_eq!(answer.status, 200);
    let handled: Vec<Value> = lines()
        .into_iter()
        .filter(|l| l["message"] == "message handled" && l["span"]["shop"] == stack.shop.as_str())
        .collect();
    assert_eq!(handled.len(), 1, "the message was sent");
    assert_eq!(handled[0]["span"]["name"], "message", "{}", handled[0]);
}

#[tokio::test]
async fn while_an_unsubscribe_is_recorded_other_work_does_not_log_under_its_span() {
    let stack = daytime_stack().await;
    let customer = unique("cus-link");
    assert_eq!(
        stack
            .post("order-placed", &order_for(&customer))
            .await
            .status,
        200
    );
    let token = LinkKey::new(LINK_SECRET)
        .unsubscribe_token(&stack.shop, &CustomerId::parse(customer.as_str()).unwrap());
    let answer = without_leaking_spans(
        "unsubscribe",
        stack.post_form(&format!("/u/{token}"), &[("scope", "all")]),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[tokio::test]
async fn while_an_ses_report_is_recorded_other_work_does_not_log_under_its_span() {
    let stack = daytime_stack().await;
    let customer = unique("cus-report");
    assert_eq!(
        stack
            .post("order-placed", &order_for(&customer))
            .await
            .status,
        200
    );
    let customer = CustomerId::parse(customer.as_str()).unwrap();
    let message = stack
        .store()
        .messages(&stack.shop, &customer)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(message.status, MessageStatus::Sent);
    let key = &message.intent.key;
    let detail = json!({
        "eventType": "Delivery",
        "mail": {
            "timestamp": "2026-11-04T13:00:00.123Z",
            "messageId": message.ses_message_id.clone().unwrap(),
            "tags": {
                "ses:configuration-set": [trouw_local::events::configuration_set(&stack.table).unwrap()],
                "ref": [tag_value(&message_ref(&stack.shop, &customer, key))]
            }
        },
        "delivery": { "timestamp": "2026-11-04T13:00:02.000Z", "recipients": [] },
    });
    let event = trouw_local::events::ses_envelope(detail, "2026-11-04T13:00:03Z".parse().unwrap());
    let app = trouw::handlers::ses_events::FeedbackApp {
        store: stack.store_as(Function::SesEvents),
    };
    let handled = without_leaking_spans("report", trouw::handlers::ses_events::apply(&app, event))
        .await
        .unwrap();
    assert_eq!(handled, trouw::handlers::ses_events::Handled::Recorded);
}
