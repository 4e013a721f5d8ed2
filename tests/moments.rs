//! The playbook's fixed moments over HTTP, against moto with the stack's movable clock and real
//! schedule passes: reminders before a contract ends (and none after a renewal).

use base64::Engine;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use trouw::domain::CustomerId;
use trouw::handlers::run_schedule::{PassReport, run_pass};
use trouw::handlers::send_messages::{SenderApp, deliver_pending};
use trouw::store::{MessageRecord, MessageStatus};
use trouw_tests::client::Answer;
use trouw_tests::{ADMIN_PASSWORD, ADMIN_USER, TestStack, emails_to, example, unique};

/// 09:14 in Amsterdam on 2 November 2026: every moment below falls in the day, not the quiet
/// hours.
fn start() -> Timestamp {
    "2026-11-02T08:14:03Z".parse().unwrap()
}

fn day(n: i64) -> Timestamp {
    start() + SignedDuration::from_hours(24 * n)
}

/// An order of the contract's example for `customer`, without replenishment data or
/// categories (only the timers each test is about).
fn order_body(customer: &str, email: &str, order: &str, at: Timestamp) -> Value {
    let mut body = example("order-placed");
    body["occurred_at"] = json!(at.to_string());
    body["order"]["id"] = json!(order);
    body["order"]["placed_at"] = json!(at.to_string());
    body["customer"]["id"] = json!(customer);
    body["customer"]["email"] = json!(email);
    for line in body["order"]["lines"].as_array_mut().unwrap() {
        let line = line.as_object_mut().unwrap();
        line.remove("category");
        line.remove("replenish_after_days");
    }
    body
}

/// A yearly maintenance contract sold with the toothbrush (EB-200), ending at `ends_at`.
fn with_contract(mut body: Value, ends_at: Timestamp) -> Value {
    body["order"]["lines"][1]["contract"] = json!({
        "ends_at": ends_at.to_string(),
        "renewal_url": "https://www.demo-winkel.nl/verlengen?plan=onderhoud",
    });
    body
}

async fn place(stack: &TestStack, sender: &SenderApp, body: &Value) {
    let answer = stack.post("order-placed", body).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let customer = CustomerId::parse(body["customer"]["id"].as_str().unwrap()).unwrap();
    deliver_pending(sender, &stack.shop, &customer)
        .await
        .unwrap();
}

async fn pass_at(stack: &TestStack, schedule: &SenderApp, at: Timestamp) -> PassReport {
    stack.set_now(at);
    run_pass(schedule).await.unwrap()
}

async fn messages(stack: &TestStack, customer: &str) -> Vec<MessageRecord> {
    stack
        .store()
        .messages(&stack.shop, &CustomerId::parse(customer).unwrap())
        .await
        .unwrap()
}

async fn kinds(stack: &TestStack, customer: &str, kind: &str) -> Vec<MessageRecord> {
    messages(stack, customer)
        .await
        .into_iter()
        .filter(|m| m.intent.data.kind() == kind)
        .collect()
}

async fn admin_page(stack: &TestStack, path: &str) -> Answer {
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{ADMIN_USER}:{ADMIN_PASSWORD}"));
    let request = http::Request::get(format!("{}{path}", stack.base_url))
        .header("authorization", format!("Basic {basic}"))
        .body(Default::default())
        .unwrap();
    stack.send(request).await
}

#[tokio::test]
async fn a_contract_is_reminded_a_month_and_a_week_before_it_ends_unless_renewed() {
    let stack = TestStack::start().await;
    // One-time buyers lapse after 240 days by default; two years keep this test about
    // contracts.
    stack.update_shop(|s| s.reorder_interval_days = 730).await;
    let sender = stack.sender(stack.clock(), None).await;
    let schedule = stack.schedule(stack.clock(), None).await;
    let (a, b) = (
        format!("{}@example.nl", unique("a")),
        format!("{}@example.nl", unique("b")),
    );
    let ends = day(365);
    stack.set_now(day(0) + SignedDuration::from_hours(1));

    // A wrong contract is refused naming the field, and nothing is stored.
    let mut wrong = with_contract(order_body("cus-x", &a, "X-1", day(0)), ends);
    wrong["order"]["lines"][1]["contract"]["renewal_url"] = json!("http://plain.example/renew");
    let refused = stack.post("order-placed", &wrong).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(
        refused.body.contains("order.lines[1].contract.renewal_url"),
        "{}",
        refused.body
    );
    assert!(stack.customer("cus-x").await.0.is_none(), "nothing written");

    place(
        &stack,
        &sender,
        &with_contract(order_body("cus-a", &a, "A-1", day(0)), ends),
    )
    .await;
    place(
        &stack,
        &sender,
        &with_contract(order_body("cus-b", &b, "B-1", day(0)), ends),
    )
    .await;

    // 30 days before the end (the shop's default), the first reminder.
    assert_eq!(pass_at(&stack, &schedule, day(334)).await.timers_handled, 0);
    let report = pass_at(&stack, &schedule, day(335) + SignedDuration::from_hours(1)).await;
    assert_eq!(report.timers_handled, 2, "{report:?}");
    for customer in ["cus-a", "cus-b"] {
        let first = kinds(&stack, customer, "contract-ending").await;
        assert_eq!(first.len(), 1, "{customer}");
        assert_eq!(first[0].status, MessageStatus::Sent, "{:?}", first[0]);
    }
    let mail = emails_to(&a).await;
    assert_eq!(mail.len(), 2, "the loyalty update and the reminder");
    let reminder = mail.last().unwrap();
    assert!(
        reminder.contains("https://www.demo-winkel.nl/verlengen?plan=onderhoud")
            || reminder.contains("plan=3Donderhoud"),
        "the renewal link"
    );
    assert!(reminder.contains("2027-11-02"), "the end day");

    // B renews on day 340: an order of the same sku, with the next year's contract.
    stack.set_now(day(340));
    place(
        &stack,
        &sender,
        &with_contract(order_body("cus-b", &b, "B-2", day(340)), day(730)),
    )
    .await;

    // A week before the end, the last reminder, for A only.
    let report = pass_at(&stack, &schedule, day(358) + SignedDuration::from_hours(1)).await;
    assert_eq!(report.timers_handled, 2, "{report:?}");
    let a_reminders = kinds(&stack, "cus-a", "contract-ending").await;
    assert_eq!(a_reminders.len(), 2);
    assert!(a_reminders.iter().all(|m| m.status == MessageStatus::Sent));
    assert_eq!(emails_to(&a).await.len(), 3);
    assert_eq!(
        kinds(&stack, "cus-b", "contract-ending").await.len(),
        1,
        "renewed in time: no last reminder"
    );
    assert_eq!(
        emails_to(&b).await.len(),
        3,
        "B: two loyalty updates, one reminder"
    );

    // Each once: later passes find nothing more until B's new contract.
    assert_eq!(pass_at(&stack, &schedule, day(364)).await.timers_handled, 0);
    let (_, orders) = stack.customer("cus-b").await;
    let b1 = orders.iter().find(|o| o.id.as_str() == "B-1").unwrap();
    assert_eq!(
        b1.contract_notices.values().copied().collect::<Vec<_>>(),
        [2]
    );

    // The customers' timelines name the reminder, and the renewal that stopped B's, in words.
    let page = admin_page(&stack, "/admin/customers/cus-a?lang=en").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("contract ending"), "{}", page.body);
    let page = admin_page(&stack, "/admin/customers/cus-b?lang=en").await;
    assert!(
        page.body.contains("contract renewed: no more reminders"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn the_yearly_recap_goes_on_the_anniversary_to_active_customers_with_two_orders_in_the_year()
{
    let stack = TestStack::start().await;
    stack
        .update_shop(|s| s.loyalty.anniversary_points = Some(50))
        .await;
    let sender = stack.sender(stack.clock(), None).await;
    let schedule = stack.schedule(stack.clock(), None).await;
    let (a, b, c) = (
        format!("{}@example.nl", unique("a")),
        format!("{}@example.nl", unique("b")),
        format!("{}@example.nl", unique("c")),
    );
    // A: two orders 300 days apart (their own rhythm keeps them active). B: one order. C: two
    // orders ten days apart, then silence: lapsed and inactive long before the anniversary.
    for (customer, email, order, on) in [
        ("cus-a", &a, "A-1", 0),
        ("cus-b", &b, "B-1", 0),
        ("cus-c", &c, "C-1", 0),
        ("cus-c", &c, "C-2", 10),
        ("cus-a", &a, "A-2", 300),
    ] {
        stack.set_now(day(on) + SignedDuration::from_hours(1));
        let mut body = order_body(customer, email, order, day(on));
        body["order"]["lines"][0]["category"] = json!("mondverzorging");
        place(&stack, &sender, &body).await;
    }
    for on in [40, 71] {
        pass_at(&stack, &schedule, day(on)).await;
    }
    let (c_profile, _) = stack.customer("cus-c").await;
    assert_eq!(
        c_profile.unwrap().retention.stage,
        trouw::domain::Engagement::Inactive
    );
    let (b_profile, _) = stack.customer("cus-b").await;
    assert_eq!(b_profile.unwrap().recap_at, None, "one order: no timer");

    // The anniversary: 2 November 2027, 10:00 in Amsterdam (09:00 UTC).
    let anniversary: Timestamp = "2027-11-02T09:00:00Z".parse().unwrap();
    pass_at(
        &stack,
        &schedule,
        anniversary - SignedDuration::from_mins(1),
    )
    .await;
    assert!(
        kinds(&stack, "cus-a", "yearly-recap").await.is_empty(),
        "not before 10:00"
    );
    let report = pass_at(
        &stack,
        &schedule,
        anniversary + SignedDuration::from_mins(5),
    )
    .await;
    assert_eq!(report.timers_handled, 1, "{report:?}");
    let recap = kinds(&stack, "cus-a", "yearly-recap").await;
    assert_eq!(recap.len(), 1);
    assert_eq!(recap[0].status, MessageStatus::Sent, "{:?}", recap[0]);
    match &recap[0].intent.data {
        trouw::domain::MessageData::YearlyRecap {
            years,
            orders,
            favourite_category,
            points_earned,
            anniversary_points,
            ..
        } => {
            assert_eq!((*years, *orders), (1, 2));
            assert_eq!(favourite_category.as_deref(), Some("mondverzorging"));
            assert_eq!(*points_earned, 128, "64 points for each order");
            assert_eq!(*anniversary_points, Some(50));
        }
        other => panic!("{other:?}"),
    }
    let (profile, _) = stack.customer("cus-a").await;
    let profile = profile.unwrap();
    assert_eq!(profile.recapped_year, Some(2027));
    assert_eq!(profile.loyalty.points_anniversary, 50);
    let ledger = stack
        .store()
        .ledger_page(&stack.shop, &CustomerId::parse("cus-a").unwrap(), None, 10)
        .await
        .unwrap();
    assert_eq!(
        ledger
            .iter()
            .map(|(_, e)| (e.kind.as_str(), e.points))
            .collect::<Vec<_>>(),
        [("anniversary", 50)]
    );
    assert!(
        emails_to(&a)
            .await
            .last()
            .is_some_and(|raw| raw.contains("Subject:")),
        "the recap reached SES"
    );
    assert_eq!(
        emails_to(&a).await.len(),
        3,
        "two loyalty updates and the recap"
    );
    // Nothing for the one-time buyer or the inactive customer, and the recap once.
    assert!(kinds(&stack, "cus-b", "yearly-recap").await.is_empty());
    assert!(kinds(&stack, "cus-c", "yearly-recap").await.is_empty());
    assert_eq!(
        pass_at(
            &stack,
            &schedule,
            anniversary + SignedDuration::from_hours(3)
        )
        .await
        .timers_handled,
        0
    );
    let (profile, _) = stack.customer("cus-a").await;
    assert_eq!(
        profile.unwrap().recap_at,
        Some("2028-11-02T09:00:00Z".parse().unwrap()),
        "next year's"
    );

    let page = admin_page(&stack, "/admin/customers/cus-a?lang=en").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("yearly recap"), "{}", page.body);
}

#[tokio::test]
async fn a_shop_may_hold_out_contract_reminders_to_measure_them() {
    let stack = TestStack::start().await;
    stack
        .update_shop(|s| {
            s.reorder_interval_days = 730;
            s.holdout_percent = 50;
            s.holdout_kinds = vec!["contract-ending".into()];
        })
        .await;
    let sender = stack.sender(stack.clock(), None).await;
    let schedule = stack.schedule(stack.clock(), None).await;
    let held = |id: &String| {
        trouw::domain::is_held_out(&stack.shop, &CustomerId::parse(id.as_str()).unwrap(), 50)
    };
    let ids: Vec<String> = (0..64).map(|i| format!("cus-h{i}")).collect();
    let out = ids.iter().find(|id| held(id)).unwrap().clone();
    let kept = ids.iter().find(|id| !held(id)).unwrap().clone();
    stack.set_now(day(0) + SignedDuration::from_hours(1));
    for (customer, order) in [(&out, "H-1"), (&kept, "K-1")] {
        let email = format!("{}@example.nl", unique("h"));
        let body = with_contract(order_body(customer, &email, order, day(0)), day(365));
        place(&stack, &sender, &body).await;
    }
    pass_at(&stack, &schedule, day(335) + SignedDuration::from_hours(1)).await;
    let held_out = kinds(&stack, &out, "contract-ending").await;
    assert_eq!(held_out.len(), 1);
    assert_eq!(held_out[0].status, MessageStatus::HeldOut);
    let sent = kinds(&stack, &kept, "contract-ending").await;
    assert_eq!(sent[0].status, MessageStatus::Sent);
}
