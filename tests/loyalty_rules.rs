//! The time-based loyalty rules over HTTP and the schedule, with the local clock: expiry
//! warnings and the expiry itself, birthday points, and a rolling tier that drops at its
//! `retain_until`; each message once, each ledger item once.

use bytes::Bytes;
use http_body_util::Full;
use serde_json::{Value, json};
use std::sync::Arc;
use trouw::clock::FixedClock;
use trouw::domain::{CustomerId, TierQualification, Timestamp};
use trouw::handlers::run_schedule::run_pass;
use trouw::store::MessageStatus;
use trouw_local::client::Answer;
use trouw_tests::{LOYALTY_API_KEY, TestStack, example, unique};

const CUSTOMER: &str = "cus-8812";

fn at(t: &str) -> Timestamp {
    t.parse().unwrap()
}

async fn call(stack: &TestStack, method: &str, path: &str, body: Option<Value>) -> Answer {
    let request = http::Request::builder()
        .method(method)
        .uri(format!(
            "{}/loyalty/{}/customers/{CUSTOMER}{path}",
            stack.base_url, stack.shop
        ))
        .header("authorization", format!("Bearer {LOYALTY_API_KEY}"))
        // Adjustments take one; every call here is a new request.
        .header("idempotency-key", unique("rules"));
    let body = body.map_or(Bytes::new(), |b| Bytes::from(b.to_string()));
    stack.send(request.body(Full::new(body)).unwrap()).await
}

async fn get(stack: &TestStack, path: &str) -> Value {
    let answer = call(stack, "GET", path, None).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()
}

/// One schedule pass at `t`, twice: the second must find nothing left to do for the rules.
async fn pass_twice(stack: &TestStack, t: &str) {
    let schedule = stack.schedule(Arc::new(FixedClock(at(t))), None).await;
    let first = run_pass(&schedule).await.unwrap();
    assert_eq!((first.failed, first.unreadable), (0, 0), "{first:?}");
    let again = run_pass(&schedule).await.unwrap();
    assert_eq!(again.timers_handled, 0, "{again:?}");
}

/// The customer's messages of `kind`: (key, status).
async fn messages(stack: &TestStack, kind: &str) -> Vec<(String, MessageStatus)> {
    stack
        .store()
        .messages(&stack.shop, &CustomerId::parse(CUSTOMER).unwrap())
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.intent.data.kind() == kind)
        .map(|m| (m.intent.key, m.status))
        .collect()
}

async fn ledger_kinds(stack: &TestStack) -> Vec<String> {
    get(stack, "/transactions?limit=100").await["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn points_expiring_is_sent_30_and_7_days_before_then_the_points_expire_once() {
    let stack = TestStack::start().await;
    stack
        .update_shop(|s| {
            s.loyalty.expire_after_months = Some(12);
            s.loyalty.expiry_turned_on_at = Some(at("2026-01-01T00:00:00Z"));
            // The order's own mail (a reminder, the lapse question) falls in the same weeks:
            // without a cap, each goes when due and the warnings' status says they went.
            s.frequency_cap_hours = 0;
        })
        .await;
    // The example order (placed 2 November 2026, 08:14:03 UTC), then a goodwill grant.
    stack.stop_clock_at(at("2026-11-02T10:00:00Z"));
    assert_eq!(
        stack
            .post("order-placed", &example("order-placed"))
            .await
            .status,
        200
    );
    let granted = call(
        &stack,
        "POST",
        "/adjustments",
        Some(json!({ "points": 100, "reason": "welcome" })),
    )
    .await;
    assert_eq!(granted.status, 201, "{}", granted.body);
    let points = get(&stack, "").await["points"].clone();
    assert_eq!(
        points["expiring"],
        json!({ "points": 100, "at": "2027-11-02T08:14:03Z" }),
        "{points}"
    );

    pass_twice(&stack, "2027-09-20T10:00:00Z").await;
    assert!(messages(&stack, "points-expiring").await.is_empty());
    pass_twice(&stack, "2027-10-03T10:00:00Z").await;
    let warned = messages(&stack, "points-expiring").await;
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert_eq!(warned[0].1, MessageStatus::Sent);
    pass_twice(&stack, "2027-10-26T11:00:00Z").await;
    assert_eq!(messages(&stack, "points-expiring").await.len(), 2);

    pass_twice(&stack, "2027-11-02T10:00:00Z").await;
    stack.stop_clock_at(at("2027-11-02T10:30:00Z"));
    let balance = get(&stack, "").await;
    let available = balance["points"]["available"].as_i64().unwrap();
    assert_eq!(available, 0, "{balance}");
    assert_eq!(balance["points"]["expiring"], Value::Null);
    let kinds = ledger_kinds(&stack).await;
    assert_eq!(
        kinds.iter().filter(|k| *k == "expired").count(),
        1,
        "{kinds:?}"
    );
    let expired = &get(&stack, "/transactions").await["transactions"][0];
    assert_eq!(expired["kind"], "expired");
    assert!(expired["points"].as_i64().unwrap() <= -100, "{expired}");
    assert_eq!(messages(&stack, "points-expiring").await.len(), 2);
    assert!(stack.take_iam_denials().is_empty());
}

#[tokio::test]
async fn birthday_points_come_on_the_day_once_with_their_email() {
    let stack = TestStack::start().await;
    stack
        .update_shop(|s| s.loyalty.birthday_points = Some(100))
        .await;
    stack.stop_clock_at(at("2026-11-02T10:00:00Z"));
    stack.post("order-placed", &example("order-placed")).await;
    for (body, field) in [
        (json!({ "birthday": "02-30" }), "birthday"),
        (json!({ "birthday": "12-15", "year": 1990 }), "year"),
    ] {
        let refused = call(&stack, "PUT", "/birthday", Some(body)).await;
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert_eq!(refused.json()["field"], field);
    }
    let set = call(
        &stack,
        "PUT",
        "/birthday",
        Some(json!({ "birthday": "12-15" })),
    )
    .await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(set.json(), json!({ "birthday": "12-15" }));

    // 15 December, 09:00 in Amsterdam.
    pass_twice(&stack, "2026-12-15T07:59:00Z").await;
    assert!(messages(&stack, "birthday").await.is_empty());
    pass_twice(&stack, "2026-12-15T08:30:00Z").await;
    pass_twice(&stack, "2026-12-16T09:00:00Z").await;
    let sent = messages(&stack, "birthday").await;
    assert_eq!(sent, [("birthday#2026".to_owned(), MessageStatus::Sent)]);
    stack.stop_clock_at(at("2026-12-16T10:00:00Z"));
    let kinds = ledger_kinds(&stack).await;
    assert_eq!(
        kinds.iter().filter(|k| *k == "birthday").count(),
        1,
        "{kinds:?}"
    );
    let (profile, _) = stack.customer(CUSTOMER).await;
    assert_eq!(profile.unwrap().loyalty.points_birthday, 100);
    assert!(stack.take_iam_denials().is_empty());
}

#[tokio::test]
async fn an_order_event_may_carry_the_birthday_and_a_wrong_one_is_refused_naming_it() {
    let stack = TestStack::start().await;
    stack
        .update_shop(|s| s.loyalty.birthday_points = Some(50))
        .await;
    stack.stop_clock_at(at("2026-11-02T10:00:00Z"));
    let mut body = example("order-placed");
    body["customer"]["birthday"] = json!("02-30");
    let refused = stack.post("order-placed", &body).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(
        refused.body.contains("customer.birthday"),
        "{}",
        refused.body
    );
    assert!(
        stack.customer(CUSTOMER).await.0.is_none(),
        "nothing written"
    );

    body["customer"]["birthday"] = json!("02-29");
    assert_eq!(stack.post("order-placed", &body).await.status, 200);
    let (profile, _) = stack.customer(CUSTOMER).await;
    let clock = profile.unwrap().loyalty.clock;
    assert_eq!(clock.birthday.unwrap().value, "02-29");
    // 2027 has no 29 February: 28 February, 09:00 in Amsterdam.
    assert_eq!(clock.timer_at, Some(at("2027-02-28T08:00:00Z")));
}

#[tokio::test]
async fn a_rolling_tier_no_longer_earned_drops_at_retain_until_announced_once() {
    let stack = TestStack::start().await;
    stack
        .update_shop(|s| {
            s.loyalty.tier_qualification = TierQualification::Rolling12Months;
            s.loyalty.points_per_unit = 5;
        })
        .await;
    stack.stop_clock_at(at("2026-11-02T10:00:00Z"));
    stack.post("order-placed", &example("order-placed")).await;
    let tier = get(&stack, "").await["tier"].clone();
    // 64 euros x 5: Zilver, kept while November 2026 counts (Amsterdam time).
    assert_eq!(tier["name"], "Zilver", "{tier}");
    assert_eq!(tier["retain_until"], "2027-10-31T23:00:00Z");
    assert_eq!(messages(&stack, "tier-reached").await.len(), 1);

    pass_twice(&stack, "2027-10-31T22:00:00Z").await;
    assert!(messages(&stack, "tier-changed").await.is_empty());
    pass_twice(&stack, "2027-11-01T10:00:00Z").await;
    pass_twice(&stack, "2027-11-02T10:00:00Z").await;
    let changed = messages(&stack, "tier-changed").await;
    assert_eq!(changed.len(), 1, "{changed:?}");
    let (profile, _) = stack.customer(CUSTOMER).await;
    let loyalty = profile.unwrap().loyalty;
    assert_eq!(loyalty.tier.as_deref(), Some("Brons"));
    assert_eq!(loyalty.clock.retain_until, None);
    assert!(stack.take_iam_denials().is_empty());
}
