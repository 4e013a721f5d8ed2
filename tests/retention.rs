//! Months in seconds: lapsed customers and reactivation, replenishment reminders and the
//! holdout group, against moto with the stack's movable clock (as `POST /dev/clock` moves
//! `make dev`'s) and real schedule passes.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use trouw::domain::{CustomerId, Engagement};
use trouw::handlers::run_schedule::{PassReport, run_pass};
use trouw::handlers::send_messages::{SenderApp, deliver_pending};
use trouw::store::{MessageRecord, MessageStatus};
use trouw_tests::client::Answer;
use trouw_tests::{LINK_SECRET, TestStack, emails_to, example, unique};

/// The contract's order was placed at 09:14:03 in Amsterdam on 2 November 2026.
fn placed_at() -> Timestamp {
    "2026-11-02T08:14:03Z".parse().unwrap()
}

fn day(n: i64) -> Timestamp {
    placed_at() + SignedDuration::from_hours(24 * n)
}

/// The contract's order for `customer`, without replenishment data unless `refills`, so that
/// each test sees only the timers it is about.
fn order_body(customer: &str, email: &str, order: &str, at: Timestamp, refills: bool) -> Value {
    let mut body = example("order-placed");
    body["occurred_at"] = json!(at.to_string());
    body["order"]["id"] = json!(order);
    body["order"]["placed_at"] = json!(at.to_string());
    body["customer"]["id"] = json!(customer);
    body["customer"]["email"] = json!(email);
    for line in body["order"]["lines"].as_array_mut().unwrap() {
        let line = line.as_object_mut().unwrap();
        line.remove("category");
        if !refills {
            line.remove("replenish_after_days");
        }
    }
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

async fn message(stack: &TestStack, customer: &str, prefix: &str) -> Option<MessageRecord> {
    messages(stack, customer)
        .await
        .into_iter()
        .find(|m| m.intent.key.starts_with(prefix))
}

async fn link(stack: &TestStack, method: &str, path: &str, form: Option<&str>) -> Answer {
    let builder = http::Request::builder()
        .method(method)
        .uri(format!("{}{path}", stack.base_url));
    let request = match form {
        Some(body) => builder
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_owned().into())
            .unwrap(),
        None => builder.body(Default::default()).unwrap(),
    };
    stack.send(request).await
}

/// Quoted-printable soft line breaks and `=` undone, so links can be found in raw MIME.
fn unfold(raw: &str) -> String {
    raw.replace("=\r\n", "").replace("=3D", "=")
}

#[tokio::test]
async fn a_one_time_buyer_lapses_is_asked_once_goes_inactive_and_an_order_brings_them_back() {
    let stack = TestStack::start().await;
    let sender = stack.sender(stack.clock(), None).await;
    let schedule = stack.schedule(stack.clock(), None).await;
    let email = format!("{}@example.nl", unique("anna"));
    stack.set_now(day(0) + SignedDuration::from_hours(1));
    place(
        &stack,
        &sender,
        &order_body("cus-1", &email, "NL-1", day(0), false),
    )
    .await;
    assert_eq!(emails_to(&email).await.len(), 1, "the loyalty update");

    // The shop's default interval is 120 days: at risk after 180, lapsed after 240.
    assert_eq!(pass_at(&stack, &schedule, day(179)).await.timers_handled, 0);
    assert_eq!(
        pass_at(&stack, &schedule, day(180) + SignedDuration::from_hours(1))
            .await
            .timers_handled,
        1
    );
    let (profile, _) = stack.customer("cus-1").await;
    assert_eq!(profile.unwrap().retention.stage, Engagement::AtRisk);
    assert_eq!(
        emails_to(&email).await.len(),
        1,
        "at risk alone sends nothing"
    );

    assert_eq!(
        pass_at(&stack, &schedule, day(240) + SignedDuration::from_hours(1))
            .await
            .timers_handled,
        1
    );
    let question = message(&stack, "cus-1", "reactivation#")
        .await
        .expect("asked");
    assert_eq!(question.status, MessageStatus::Sent, "{question:?}");
    let mails = emails_to(&email).await;
    assert_eq!(mails.len(), 2);
    let token = trouw::mail::LinkKey::new(LINK_SECRET)
        .reactivation_token(&stack.shop, &CustomerId::parse("cus-1").unwrap());
    let raw = unfold(&mails.join("\n"));
    assert!(
        raw.contains(&format!("/r/{token}?keep=1")),
        "a keep-me link"
    );
    assert!(raw.contains(&format!("/r/{token}")), "and the survey link");

    assert_eq!(
        pass_at(&stack, &schedule, day(250)).await.timers_handled,
        0,
        "asked once"
    );
    assert_eq!(
        pass_at(&stack, &schedule, day(270) + SignedDuration::from_hours(2))
            .await
            .timers_handled,
        1
    );
    let (profile, _) = stack.customer("cus-1").await;
    let profile = profile.unwrap();
    assert_eq!(profile.retention.stage, Engagement::Inactive);
    assert!(profile.mail.inactive);
    assert_eq!(
        pass_at(&stack, &schedule, day(400)).await.due_items_read,
        0,
        "inactive: no timer"
    );

    // No service mail while inactive: the points taken back by a late return are not mailed.
    let mut returned = example("order-returned");
    returned["order"]["id"] = json!("NL-1");
    returned["customer"]["id"] = json!("cus-1");
    assert_eq!(stack.post("order-returned", &returned).await.status, 200);
    deliver_pending(&sender, &stack.shop, &CustomerId::parse("cus-1").unwrap())
        .await
        .unwrap();
    let reversed = message(&stack, "cus-1", "loyalty-reversed#").await.unwrap();
    assert_eq!(reversed.status, MessageStatus::Skipped);
    assert_eq!(reversed.reason.as_deref(), Some("inactive"));
    assert_eq!(emails_to(&email).await.len(), 2);

    // A later order brings the customer back, counted as a reactivation.
    stack.set_now(day(410));
    place(
        &stack,
        &sender,
        &order_body("cus-1", &email, "NL-2", day(410), false),
    )
    .await;
    let (profile, _) = stack.customer("cus-1").await;
    let profile = profile.unwrap();
    assert_eq!(profile.retention.stage, Engagement::Active);
    assert_eq!(profile.retention.reactivations, 1);
    assert!(!profile.mail.inactive);
    let earned = message(&stack, "cus-1", "loyalty-earned#NL-2")
        .await
        .unwrap();
    assert_eq!(earned.status, MessageStatus::Sent);
}

#[tokio::test]
async fn keep_me_and_the_two_questions_are_signs_of_life_and_links_change_nothing_on_get() {
    let stack = TestStack::start().await;
    let sender = stack.sender(stack.clock(), None).await;
    let schedule = stack.schedule(stack.clock(), None).await;
    let email = format!("{}@example.nl", unique("bram"));
    stack.set_now(day(0) + SignedDuration::from_hours(1));
    place(
        &stack,
        &sender,
        &order_body("cus-2", &email, "NL-1", day(0), false),
    )
    .await;
    pass_at(&stack, &schedule, day(240) + SignedDuration::from_hours(1)).await;
    assert!(message(&stack, "cus-2", "reactivation#").await.is_some());
    let token = trouw::mail::LinkKey::new(LINK_SECRET)
        .reactivation_token(&stack.shop, &CustomerId::parse("cus-2").unwrap());

    // Opening the links (as a mail scanner would) changes nothing.
    let before = stack.snapshot().await;
    let page = link(&stack, "GET", &format!("/r/{token}?keep=1"), None).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Ja, houd me op de hoogte"),
        "{}",
        page.body
    );
    let page = link(&stack, "GET", &format!("/r/{token}"), None).await;
    assert!(page.body.contains("name=\"reason\"") && page.body.contains("name=\"comment\""));
    assert_eq!(stack.snapshot().await, before);
    // A tampered token, or an answer that is not one of the choices: 400, nothing changes.
    let tampered = link(&stack, "POST", &format!("/r/{token}x"), Some("action=keep")).await;
    assert_eq!(tampered.status, 400);
    let bad = link(
        &stack,
        "POST",
        &format!("/r/{token}"),
        Some("action=answer&reason=bogus"),
    )
    .await;
    assert_eq!(bad.status, 400);
    let empty = link(
        &stack,
        "POST",
        &format!("/r/{token}"),
        Some("action=answer"),
    )
    .await;
    assert_eq!(empty.status, 400);
    assert_eq!(stack.snapshot().await, before);

    // The two questions, sent twice: recorded once; the customer is active again.
    stack.set_now(day(243));
    let form = "action=answer&reason=elsewhere&comment=Dichter+bij+huis";
    for _ in 0..2 {
        let answer = link(&stack, "POST", &format!("/r/{token}"), Some(form)).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    let (profile, _) = stack.customer("cus-2").await;
    let profile = profile.unwrap();
    let answer = profile.retention.answer.clone().unwrap();
    assert_eq!(answer.reason, Some(trouw::domain::LapseReason::Elsewhere));
    assert_eq!(answer.comment.as_deref(), Some("Dichter bij huis"));
    assert_eq!(profile.retention.stage, Engagement::Active);
    assert_eq!(
        profile.retention.reactivations, 0,
        "only orders count as reactivations"
    );
    let after_answer = stack.snapshot().await;
    link(&stack, "POST", &format!("/r/{token}"), Some(form)).await;
    assert_eq!(
        stack.snapshot().await,
        after_answer,
        "the same answer again changes nothing"
    );

    // "Keep me" works too, and 30 days after the question the customer is not inactive.
    let kept = link(&stack, "POST", &format!("/r/{token}"), Some("action=keep")).await;
    assert_eq!(kept.status, 200);
    assert!(
        kept.body.contains("Je blijft van ons horen"),
        "{}",
        kept.body
    );
    pass_at(&stack, &schedule, day(271)).await;
    let (profile, _) = stack.customer("cus-2").await;
    assert!(!profile.unwrap().mail.inactive);
}

#[tokio::test]
async fn replenishment_reminds_before_run_out_unless_reordered_and_only_with_consent() {
    let stack = TestStack::start().await;
    // One-time buyers lapse after 240 days by default; a year keeps this test about reminders.
    stack.update_shop(|s| s.reorder_interval_days = 365).await;
    let sender = stack.sender(stack.clock(), None).await;
    let schedule = stack.schedule(stack.clock(), None).await;
    let (a, b, c) = (
        format!("{}@example.nl", unique("a")),
        format!("{}@example.nl", unique("b")),
        format!("{}@example.nl", unique("c")),
    );
    stack.set_now(day(0) + SignedDuration::from_hours(1));
    place(
        &stack,
        &sender,
        &order_body("cus-a", &a, "A-1", day(0), true),
    )
    .await;
    place(
        &stack,
        &sender,
        &order_body("cus-b", &b, "B-1", day(0), true),
    )
    .await;
    let mut without_consent = order_body("cus-c", &c, "C-1", day(0), true);
    without_consent["customer"]["marketing_consent"] = json!(false);
    place(&stack, &sender, &without_consent).await;
    // B reorders the toothpaste on day 200, before the first tube runs out.
    stack.set_now(day(200));
    place(
        &stack,
        &sender,
        &order_body("cus-b", &b, "B-2", day(200), true),
    )
    .await;

    // 3 tubes of 90 days each run out on day 270 (never delivered: counted from the order);
    // the reminder goes 5 days before.
    assert_eq!(pass_at(&stack, &schedule, day(264)).await.timers_handled, 0);
    let report = pass_at(&stack, &schedule, day(265) + SignedDuration::from_hours(1)).await;
    assert_eq!(report.timers_handled, 3, "{report:?}");

    let reminder = message(&stack, "cus-a", "replenishment#A-1#TP-075")
        .await
        .unwrap();
    assert_eq!(reminder.status, MessageStatus::Sent, "{reminder:?}");
    assert_eq!(
        emails_to(&a).await.len(),
        2,
        "the loyalty update and the reminder"
    );
    assert!(
        message(&stack, "cus-b", "replenishment#B-1")
            .await
            .is_none(),
        "cancelled: B reordered first"
    );
    let skipped = message(&stack, "cus-c", "replenishment#C-1#TP-075")
        .await
        .unwrap();
    assert_eq!(skipped.status, MessageStatus::Skipped);
    assert_eq!(skipped.reason.as_deref(), Some("no_consent"));
    assert_eq!(emails_to(&c).await.len(), 1);

    assert_eq!(
        pass_at(&stack, &schedule, day(266)).await.timers_handled,
        0,
        "once"
    );
}

#[tokio::test]
async fn held_out_customers_have_their_reactivation_recorded_as_held_out_not_sent() {
    let stack = TestStack::start().await;
    stack.update_shop(|s| s.holdout_percent = 50).await;
    let sender = stack.sender(stack.clock(), None).await;
    let schedule = stack.schedule(stack.clock(), None).await;
    let held = |id: &String| {
        trouw::domain::is_held_out(&stack.shop, &CustomerId::parse(id.as_str()).unwrap(), 50)
    };
    let ids: Vec<String> = (0..64).map(|i| format!("cus-h{i}")).collect();
    let out = ids.iter().find(|id| held(id)).unwrap().clone();
    let kept = ids.iter().find(|id| !held(id)).unwrap().clone();
    let (out_email, kept_email) = (
        format!("{}@example.nl", unique("out")),
        format!("{}@example.nl", unique("kept")),
    );
    stack.set_now(day(0) + SignedDuration::from_hours(1));
    place(
        &stack,
        &sender,
        &order_body(&out, &out_email, "H-1", day(0), false),
    )
    .await;
    place(
        &stack,
        &sender,
        &order_body(&kept, &kept_email, "K-1", day(0), false),
    )
    .await;
    pass_at(&stack, &schedule, day(240) + SignedDuration::from_hours(1)).await;

    let held_message = message(&stack, &out, "reactivation#").await.unwrap();
    assert_eq!(held_message.status, MessageStatus::HeldOut);
    assert_eq!(
        emails_to(&out_email).await.len(),
        1,
        "only the loyalty update"
    );
    let sent = message(&stack, &kept, "reactivation#").await.unwrap();
    assert_eq!(sent.status, MessageStatus::Sent);
    assert_eq!(emails_to(&kept_email).await.len(), 2);
    // The held-out customer lives through the same rules: inactive after 30 days unanswered.
    pass_at(&stack, &schedule, day(271)).await;
    let (profile, _) = stack.customer(&out).await;
    assert_eq!(profile.unwrap().retention.stage, Engagement::Inactive);
}

#[tokio::test]
async fn the_first_months_demo_lives_through_every_step() {
    let stack = TestStack::start_with(trouw_tests::StackOptions {
        with_sender: true,
        ..Default::default()
    })
    .await;
    // As `make demo-months` does for the demo shop: points expire after 6 months without an
    // order.
    stack
        .update_shop(|s| {
            trouw_local::months::demo_expiry(&mut s.loyalty);
            trouw_local::months::demo_question(s);
        })
        .await;
    let demo = trouw_local::months::Stack {
        client: &stack.http,
        api: stack.base_url.clone(),
        shop: stack.shop.to_string(),
        secret: trouw::webhook::WebhookSecret::new(trouw_tests::SECRET),
        moto: trouw_tests::local_aws().endpoint.clone(),
        loyalty_key: Some(trouw_tests::LOYALTY_API_KEY.to_owned()),
        asks_question: true,
        stock_moments: true,
    };
    let customer = "cus-demo";
    let email = format!("{}@example.nl", unique("demo"));
    let steps = trouw_local::months::first_months(&demo, customer, &email, |_| {})
        .await
        .unwrap();
    let per_step: Vec<usize> = steps.iter().map(|s| s.emails.len()).collect();
    // order, delivered, survey, answer (thanks), tip, tip, points, welcome points, a code,
    // tip, expiry warning, at risk (points expired), lapsed, sold out, no reminder (the
    // sold-out notice replaced it), back in stock, inactive, ordered again, the question and
    // its answer (no email), the two contract reminders, the yearly recap.
    assert_eq!(
        per_step,
        [
            1, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1, 1, 1
        ],
        "{steps:#?}"
    );
    // The toothpaste's two moments, each once, at its own step: the notice names what
    // replaces it and when it is expected back.
    let sold_out = "Tandpasta mint 75 ml is even uitverkocht";
    let back = "Tandpasta mint 75 ml is weer op voorraad";
    assert_eq!(steps[13].emails, [sold_out], "{steps:#?}");
    assert_eq!(steps[15].emails, [back], "{steps:#?}");
    for subject in [sold_out, back] {
        let times = steps
            .iter()
            .flat_map(|s| &s.emails)
            .filter(|e| *e == subject)
            .count();
        assert_eq!(times, 1, "{subject}: {steps:#?}");
    }
    let raw = trouw_local::months::emails_to(&demo, &email).await.unwrap();
    let notice = raw
        .iter()
        .find(|r| trouw_local::months::subject(r) == sold_out)
        .unwrap();
    let notice = notice.replace("=\r\n", "");
    assert!(
        notice.contains("Tandpasta kruidnagel 75 ml") && notice.contains("2027-08-02"),
        "the alternative and the expected return: {notice}"
    );
    assert!(
        steps[18].emails[0].contains("mondverzorging"),
        "the question: {steps:#?}"
    );
    assert_eq!(steps[8].detail.as_deref(), Some("code DEMO-CUS-DEMO"));
    assert_eq!(steps[17].detail.as_deref(), Some("code DEMO-CUS-DEMO used"));
    assert!(steps[10].emails[0].contains("64 punten"), "{steps:#?}");
    assert_eq!(
        steps[20].emails,
        ["Onderhoudsplan tandenborstel (1 jaar) loopt af op 2027-11-02"]
    );
    assert_eq!(
        steps[21].emails,
        ["Onderhoudsplan tandenborstel (1 jaar) loopt over 7 dagen af"]
    );
    assert!(
        steps[22].emails[0].starts_with("Een jaar samen met"),
        "{steps:#?}"
    );
    // The answer counts, with the customer's own words.
    let answers = stack
        .store()
        .question_answers(&stack.shop, trouw_local::months::DEMO_QUESTION)
        .await
        .unwrap();
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert_eq!(
        (answers[0].option, answers[0].free_text.as_deref()),
        (1, Some("Graag iets met salie of tijm."))
    );
    assert!(
        steps
            .iter()
            .flat_map(|s| &s.emails)
            .all(|subject| !subject.is_empty())
    );
    let (profile, _) = stack.customer(customer).await;
    let profile = profile.unwrap();
    assert_eq!(profile.retention.stage, Engagement::Active);
    assert_eq!(profile.retention.reactivations, 1);
    assert_eq!(profile.loyalty.points_available, 64);
    // 64 confirmed and 500 given; 500 spent on the code, the unused 64 expired.
    let balance = profile.loyalty.balance();
    assert_eq!((balance.available, balance.spent), (0, 500), "{balance:?}");
    let ledger = stack
        .store()
        .ledger_page(
            &stack.shop,
            &trouw::domain::CustomerId::parse(customer).unwrap(),
            None,
            10,
        )
        .await
        .unwrap();
    let lines: Vec<(&str, i64)> = ledger
        .iter()
        .map(|(_, e)| (e.kind.as_str(), e.points))
        .collect();
    assert_eq!(
        lines,
        [("expired", -64), ("redeemed", -500), ("adjusted", 500)]
    );
    // The later order carried the code: its redemption is used by that order.
    let redemption = ledger
        .iter()
        .find_map(|(_, e)| e.redemption.clone())
        .unwrap();
    let redemption = stack
        .store()
        .redemption(
            &stack.shop,
            &trouw::domain::CustomerId::parse(customer).unwrap(),
            &redemption,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(redemption.used_by_order.as_deref(), Some("cus-demo-2"));
    let kinds: Vec<String> = messages(&stack, customer)
        .await
        .into_iter()
        .filter(|m| m.status == MessageStatus::Sent)
        .map(|m| m.intent.data.kind().to_owned())
        .collect();
    for kind in [
        "loyalty-earned",
        "survey",
        "survey-promoter",
        "care-tip",
        "loyalty-confirmed",
        "reactivation",
        "points-expiring",
        "contract-ending",
        "yearly-recap",
        "question",
        "out-of-stock-alternative",
        "back-in-stock",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
    // The sold-out notice took the replenishment reminder's place.
    assert!(
        !kinds.iter().any(|k| k == "replenishment"),
        "no reminder: {kinds:?}"
    );
}

#[tokio::test]
async fn no_survey_after_a_full_return_and_one_per_ninety_days() {
    let stack = TestStack::start().await;
    let sender = stack.sender(stack.clock(), None).await;
    let schedule = stack.schedule(stack.clock(), None).await;
    let email = format!("{}@example.nl", unique("cor"));
    let delivered = |order: &str, at: Timestamp| {
        let mut body = example("order-delivered");
        body["occurred_at"] = json!(at.to_string());
        body["order"]["id"] = json!(order);
        body["order"]["delivered_at"] = json!(at.to_string());
        body["customer"]["id"] = json!("cus-3");
        body
    };
    // Order 1, delivered on day 1, returned whole on day 3: no survey on day 6.
    stack.set_now(day(0) + SignedDuration::from_hours(1));
    place(
        &stack,
        &sender,
        &order_body("cus-3", &email, "R-1", day(0), false),
    )
    .await;
    stack.set_now(day(1));
    assert_eq!(
        stack
            .post("order-delivered", &delivered("R-1", day(1)))
            .await
            .status,
        200
    );
    stack.set_now(day(3));
    let mut returned = example("order-returned");
    returned["occurred_at"] = json!(day(3).to_string());
    returned["order"]["id"] = json!("R-1");
    returned["order"]["returned_at"] = json!(day(3).to_string());
    returned["order"].as_object_mut().unwrap().remove("lines");
    returned["customer"]["id"] = json!("cus-3");
    assert_eq!(stack.post("order-returned", &returned).await.status, 200);
    pass_at(&stack, &schedule, day(7)).await;
    assert!(
        message(&stack, "cus-3", "survey#R-1").await.is_none(),
        "no survey after a full return"
    );

    // Order 2, delivered on day 10: surveyed on day 15. Order 3, delivered on day 20: within
    // 90 days of the last survey, so none; the timeline says why.
    stack.set_now(day(9));
    place(
        &stack,
        &sender,
        &order_body("cus-3", &email, "R-2", day(9), false),
    )
    .await;
    stack.set_now(day(10));
    stack
        .post("order-delivered", &delivered("R-2", day(10)))
        .await;
    pass_at(&stack, &schedule, day(15) + SignedDuration::from_hours(1)).await;
    assert!(message(&stack, "cus-3", "survey#R-2").await.is_some());
    stack.set_now(day(19));
    place(
        &stack,
        &sender,
        &order_body("cus-3", &email, "R-3", day(19), false),
    )
    .await;
    stack.set_now(day(20));
    stack
        .post("order-delivered", &delivered("R-3", day(20)))
        .await;
    pass_at(&stack, &schedule, day(25) + SignedDuration::from_hours(1)).await;
    assert!(
        message(&stack, "cus-3", "survey#R-3").await.is_none(),
        "one survey per 90 days"
    );
    let items = stack
        .store()
        .customer_items(&stack.shop, &CustomerId::parse("cus-3").unwrap())
        .await
        .unwrap();
    assert!(items.activities.iter().any(|a| matches!(
        &a.activity.what,
        trouw::domain::ActivityKind::SurveySkipped { order_id, .. } if order_id.as_str() == "R-3"
    )));
}
