//! SES's own texts can quote the customer's address: a rejection's error ("... failed the check
//! in region EU-WEST-1: anna@example.nl") and the free text of its reports. The marketers'
//! pages, CSV and JSON mask those addresses like the address column, unless revealed.

use base64::Engine;
use serde_json::{Value, json};
use std::sync::Arc;
use trouw::domain::CustomerId;
use trouw::handlers::send_messages::deliver_pending;
use trouw::handlers::ses_events::FeedbackApp;
use trouw::mail::ses::{message_ref, tag_value};
use trouw::store::{MessageRecord, MessageStatus};
use trouw_local::functions::Function;
use trouw_tests::client::Answer;
use trouw_tests::fault::{Fault, FaultProxy};
use trouw_tests::{ADMIN_PASSWORD, ADMIN_USER, TestStack, example, local_aws, unique};

async fn admin(stack: &TestStack, path: &str) -> Answer {
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{ADMIN_USER}:{ADMIN_PASSWORD}"));
    stack
        .send(
            http::Request::get(format!("{}{path}", stack.base_url))
                .header("authorization", format!("Basic {basic}"))
                .body(Default::default())
                .unwrap(),
        )
        .await
}

/// Yesterday to tomorrow in Amsterdam: messages are created at the real time.
fn period() -> String {
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::get("Europe/Amsterdam").unwrap())
        .date();
    format!(
        "from={}&to={}",
        today.yesterday().unwrap(),
        today.tomorrow().unwrap()
    )
}

async fn place(stack: &TestStack, customer: &str, email: &str, order: &str) {
    let mut body = example("order-placed");
    body["customer"]["id"] = json!(customer);
    body["customer"]["email"] = json!(email);
    body["order"]["id"] = json!(order);
    assert_eq!(stack.post("order-placed", &body).await.status, 200);
}

async fn only_message(stack: &TestStack, customer: &str) -> MessageRecord {
    let mut messages = stack
        .store()
        .messages(&stack.shop, &CustomerId::parse(customer).unwrap())
        .await
        .unwrap();
    assert_eq!(messages.len(), 1);
    messages.remove(0)
}

/// An SES "Reject" report about `message`, as EventBridge delivers it, whose reason quotes
/// `email`.
fn reject_event(stack: &TestStack, message: &MessageRecord, customer: &str, email: &str) -> Value {
    let key = &message.intent.key;
    let reference = message_ref(&stack.shop, &CustomerId::parse(customer).unwrap(), key);
    let detail = json!({
        "eventType": "Reject",
        "mail": {
            "timestamp": "2026-11-02T10:00:00.123Z",
            "source": "winkel@demo.trouw.test",
            "messageId": message.ses_message_id.clone().unwrap(),
            "destination": [email],
            "tags": {
                "ses:configuration-set": [trouw_local::events::configuration_set(&stack.table).unwrap()],
                "ref": [tag_value(&reference)]
            }
        },
        "reject": { "reason": format!("Bad content: a virus was found in the message to <{email}>") }
    });
    trouw_local::events::ses_envelope(detail, "2026-11-02T10:00:05Z".parse().unwrap())
}

fn masked(email: &str) -> String {
    format!("{}***@example.nl", &email[..1])
}

#[tokio::test]
async fn addresses_quoted_by_ses_are_masked_in_pages_and_downloads() {
    let stack = TestStack::start().await;
    let anna = format!("{}@example.nl", unique("anna"));
    let bram = format!("{}@example.nl", unique("bram"));
    place(&stack, "cus-anna", &anna, "A-1").await;
    place(&stack, "cus-bram", &bram, "B-1").await;
    let daytime = Arc::new(trouw::clock::FixedClock(
        "2026-11-02T10:00:00Z".parse().unwrap(),
    ));

    // SES rejects Anna's message, quoting her address: FAILED with that error.
    let proxy = FaultProxy::start(&local_aws().endpoint).await;
    let rejecting = stack.sender(daytime.clone(), Some(&proxy.endpoint)).await;
    proxy.set("SendEmail", Fault::Reject);
    deliver_pending(
        &rejecting,
        &stack.shop,
        &CustomerId::parse("cus-anna").unwrap(),
    )
    .await
    .unwrap();
    proxy.clear();
    let failed = only_message(&stack, "cus-anna").await;
    assert_eq!(failed.status, MessageStatus::Failed);
    assert!(
        failed.error.as_deref().unwrap().contains(&anna),
        "{failed:?}"
    );

    // Bram's message goes out, and SES's report about it quotes his address.
    let sender = stack.sender(daytime, None).await;
    deliver_pending(
        &sender,
        &stack.shop,
        &CustomerId::parse("cus-bram").unwrap(),
    )
    .await
    .unwrap();
    let sent = only_message(&stack, "cus-bram").await;
    let feedback = FeedbackApp {
        store: stack.store_as(Function::SesEvents),
    };
    // Through the template's rule, as SES's report reaches ses-events in AWS.
    trouw_local::events::SesRule::for_stack(&stack.table)
        .unwrap()
        .publish(&feedback, reject_event(&stack, &sent, "cus-bram", &bram))
        .await
        .expect("the rule takes the report")
        .unwrap();
    assert_eq!(
        only_message(&stack, "cus-bram").await.delivery_status,
        Some(trouw::domain::DeliveryStatus::Rejected)
    );

    let list = format!("/admin/messages?{}", period());
    for format in ["", "&format=csv", "&format=json", "&lang=en"] {
        let page = admin(&stack, &format!("{list}{format}")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(!page.body.contains(&anna), "{format}: {}", page.body);
        assert!(!page.body.contains(&bram), "{format}: {}", page.body);
    }
    let json = admin(&stack, &format!("{list}&format=json")).await.json();
    let anna_row = json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["customer_id"] == "cus-anna")
        .unwrap()
        .clone();
    assert_eq!(anna_row["status"], "failed");
    let reason = anna_row["reason"].as_str().unwrap();
    assert!(
        reason.contains("MessageRejected") && reason.ends_with(&masked(&anna)),
        "{reason}"
    );

    // The detail pages: the failure and SES's report, masked.
    for (customer, message, email) in [("cus-anna", &failed, &anna), ("cus-bram", &sent, &bram)] {
        let key =
            form_urlencoded::byte_serialize(message.intent.key.as_bytes()).collect::<String>();
        let detail = admin(&stack, &format!("/admin/messages/{customer}/{key}?lang=en")).await;
        assert_eq!(detail.status, 200, "{}", detail.body);
        assert!(!detail.body.contains(email.as_str()), "{}", detail.body);
        assert!(detail.body.contains(&masked(email)), "{}", detail.body);
        let timeline = admin(&stack, &format!("/admin/customers/{customer}")).await;
        assert!(!timeline.body.contains(email.as_str()), "{}", timeline.body);
    }

    // Revealed on purpose, as the address column is.
    let revealed = admin(&stack, &format!("{list}&format=json&reveal=1")).await;
    assert!(
        revealed.body.contains(&format!("EU-WEST-1: {anna}")),
        "{}",
        revealed.body
    );
}
