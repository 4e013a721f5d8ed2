//! Attribution over HTTP: orders placed after a sent message are recorded on it, within the
//! shop's window only, once, less what was returned.

use serde_json::{Value, json};
use std::sync::Arc;
use trouw::clock::{Clock, FixedClock};
use trouw::domain::{AttributionFrom, Currency, CustomerId};
use trouw::handlers::send_messages::deliver_pending;
use trouw::store::{MessageRecord, MessageStatus};
use trouw_tests::{TestStack, example, unique};

/// When the first order's loyalty email goes out: Monday 2 November 2026, 11:00 in Amsterdam.
const SENT_AT: &str = "2026-11-02T10:00:00Z";

fn customer() -> CustomerId {
    CustomerId::parse("cus-8812").unwrap()
}

fn order(id: &str, placed_at: &str, email: &str) -> Value {
    let mut body = example("order-placed");
    body["occurred_at"] = json!(placed_at);
    body["order"]["id"] = json!(id);
    body["order"]["placed_at"] = json!(placed_at);
    body["customer"]["email"] = json!(email);
    body
}

/// A first order, and its loyalty email sent at [`SENT_AT`]: the customer's last touch.
async fn first_order_and_its_email(stack: &TestStack) -> String {
    let email = format!("{}@example.nl", unique("anna"));
    let answer = stack
        .post(
            "order-placed",
            &order("NL-1", "2026-11-02T09:00:00Z", &email),
        )
        .await;
    assert!((200..300).contains(&answer.status), "{answer:?}");
    let clock: Arc<dyn Clock> = Arc::new(FixedClock(SENT_AT.parse().unwrap()));
    let sender = stack.sender(clock, None).await;
    deliver_pending(&sender, &stack.shop, &customer())
        .await
        .unwrap();
    let sent = touched(stack).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    email
}

/// The sent messages of the customer.
async fn touched(stack: &TestStack) -> Vec<MessageRecord> {
    stack
        .store()
        .messages(&stack.shop, &customer())
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.status == MessageStatus::Sent)
        .collect()
}

#[tokio::test]
async fn an_order_inside_the_window_goes_to_the_last_email_once_and_a_return_takes_its_worth_back()
{
    let stack = TestStack::start().await;
    let email = first_order_and_its_email(&stack).await;
    let (profile, _) = stack.customer("cus-8812").await;
    let touch = profile
        .unwrap()
        .mail
        .last_touch
        .expect("the send is the last touch");
    assert_eq!(touch.sent_at, SENT_AT.parse().unwrap());

    // Two days after the email: attributed. Delivered twice: recorded once.
    let second = order("NL-2", "2026-11-04T10:00:00Z", &email);
    for _ in 0..2 {
        let answer = stack.post_as("order-placed", "order-nl-2", &second).await;
        assert!((200..300).contains(&answer.status), "{answer:?}");
    }
    // The same order again under another delivery id: still once.
    stack.post("order-placed", &second).await;
    let message = touched(&stack).await.remove(0);
    assert_eq!(message.intent.key, touch.key);
    assert_eq!(message.earned.attributed_orders, 1);
    assert_eq!(message.earned.attributed_revenue_minor, 6485);
    assert_eq!(message.earned.attributed_currency, Some(Currency::EUR));
    assert_eq!(
        message.earned.first_order_at,
        Some("2026-11-04T10:00:00Z".parse().unwrap())
    );

    // The 53.00 toothbrush comes back: the email earned 11.85.
    let mut back = example("order-returned");
    back["order"]["id"] = json!("NL-2");
    back["order"]["returned_at"] = json!("2026-11-06T10:00:00Z");
    back["occurred_at"] = json!("2026-11-06T10:00:00Z");
    let answer = stack.post("order-returned", &back).await;
    assert!((200..300).contains(&answer.status), "{answer:?}");
    let message = touched(&stack).await.remove(0);
    assert_eq!(message.earned.attributed_orders, 1);
    assert_eq!(message.earned.attributed_revenue_minor, 1185);

    // Six days after the email (the window is five): no message earns it.
    stack
        .post(
            "order-placed",
            &order("NL-3", "2026-11-08T10:00:00Z", &email),
        )
        .await;
    let (_, orders) = stack.customer("cus-8812").await;
    let late = orders.iter().find(|o| o.id.as_str() == "NL-3").unwrap();
    assert_eq!(late.attributed_to, None);
    let message = touched(&stack).await.remove(0);
    assert_eq!(message.earned.attributed_orders, 1);
    assert_eq!(message.earned.attributed_revenue_minor, 1185);
}

#[tokio::test]
async fn with_attribution_from_clicks_an_unclicked_email_earns_nothing() {
    let stack = TestStack::start().await;
    stack
        .update_shop(|shop| shop.attribution_from = AttributionFrom::Click)
        .await;
    let email = first_order_and_its_email(&stack).await;
    stack
        .post(
            "order-placed",
            &order("NL-2", "2026-11-03T10:00:00Z", &email),
        )
        .await;
    let message = touched(&stack).await.remove(0);
    assert_eq!(message.earned.attributed_orders, 0);
    let (_, orders) = stack.customer("cus-8812").await;
    let second = orders.iter().find(|o| o.id.as_str() == "NL-2").unwrap();
    assert_eq!(second.attributed_to, None);
}
