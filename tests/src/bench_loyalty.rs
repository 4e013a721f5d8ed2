//! `make bench`'s loyalty rows (issue 14's cost note): what the loyalty API's writes, the
//! time-based loyalty rules and an order that carries a reward's code cost, measured as the
//! other rows are ([`Bench::measure`]: the metering proxy's units, the interceptor's count).
//! A shop of its own: expiry and birthday points on, so the schedule has their timers to run.

use crate::bench::{Bench, Row, at, order};
use crate::{LOYALTY_API_KEY, unique};
use bytes::Bytes;
use http_body_util::Full;
use serde_json::{Value, json};
use trouw_local::functions::Function;

const CUSTOMER: &str = "cus-lou";

/// The loyalty rows: PUT birthday, an adjustment, a redemption from the code pool, an order
/// carrying that code, and three schedule passes for one customer's loyalty timer: an expiry
/// warning (a message, no ledger entry), birthday points and the expiry itself (a ledger entry
/// and a message each).
pub async fn loyalty() -> Vec<Row> {
    let bench = Bench::start().await;
    bench
        .stack
        .update_shop(|s| {
            s.loyalty.birthday_points = Some(100);
            s.loyalty.expire_after_months = Some(12);
            s.loyalty.expiry_turned_on_at = Some(at("2026-01-01T00:00:00Z"));
        })
        .await;
    let schedule = bench
        .stack
        .app
        .schedule
        .clone()
        .expect("a stack with a schedule");
    let email = format!("lou.{}@example.nl", unique("b"));
    let mut rows = Vec::new();

    bench.stack.stop_clock_at(at("2026-11-02T10:00:00Z"));
    bench
        .post(
            "order-placed",
            &order(CUSTOMER, &email, "NL-1", "2026-11-02T09:14:03+01:00"),
        )
        .await;
    bench.stack.settle().await;

    let birthday = json!({ "birthday": "12-15" });
    rows.push(
        bench
            .measure("PUT birthday", Function::LoyaltyApi, async {
                expect(call(&bench, "PUT", "/birthday", birthday).await, 200);
            })
            .await,
    );
    let grant = json!({ "points": 600, "reason": "welcome gift" });
    rows.push(
        bench
            .measure("adjustment (goodwill)", Function::LoyaltyApi, async {
                expect(call(&bench, "POST", "/adjustments", grant).await, 201);
            })
            .await,
    );
    // A pool well above its low mark (50), so that the redemption is the ordinary one.
    let tag = unique("c");
    let codes: Vec<String> = (0..60).map(|n| format!("LOU5-{tag}-{n}")).collect();
    let added = api(
        &bench,
        "POST",
        "rewards/r5/codes",
        json!({ "codes": codes }),
    )
    .await;
    expect(added, 200);
    let mut redeemed = Value::Null;
    rows.push(
        bench
            .measure(
                "redemption, a code from the pool",
                Function::LoyaltyApi,
                async {
                    let answer =
                        call(&bench, "POST", "/redemptions", json!({ "reward": "r5" })).await;
                    redeemed = expect(answer, 201);
                },
            )
            .await,
    );
    let code = redeemed["code"].as_str().unwrap_or_default().to_owned();
    // (The pool keeps codes as a checkout spells them: upper case.)
    assert!(
        codes.iter().any(|c| c.eq_ignore_ascii_case(&code)),
        "{redeemed}"
    );

    bench.stack.stop_clock_at(at("2026-11-09T10:00:00Z"));
    let mut with_code = order(CUSTOMER, &email, "NL-2", "2026-11-09T09:00:00+01:00");
    with_code["order"]["discount_codes"] = json!([code]);
    rows.push(
        bench
            .measure(
                "order placed with a reward's code",
                Function::OrderPlaced,
                bench.post("order-placed", &with_code),
            )
            .await,
    );

    // Each timer alone: a pass the day before takes whatever else fell due (the orders'
    // timers, the lapse clock), then the measured pass.
    for (what, day_before, at_time) in [
        (
            "loyalty timer, birthday points (ledger entry)",
            "2026-12-14T10:00:00Z",
            "2026-12-15T08:30:00Z",
        ),
        (
            "loyalty timer, expiry warning (no ledger entry)",
            "2027-10-09T10:00:00Z",
            "2027-10-10T10:00:00Z",
        ),
        (
            "loyalty timer, points expire (ledger entry)",
            "2027-11-08T10:00:00Z",
            "2027-11-09T10:00:00Z",
        ),
    ] {
        bench.stack.stop_clock_at(at(day_before));
        trouw::handlers::run_schedule::run_pass(&schedule)
            .await
            .expect("a pass");
        bench.stack.settle().await;
        bench.stack.stop_clock_at(at(at_time));
        let mut due = 0;
        let mut row = bench
            .measure(what, Function::RunSchedule, async {
                due = trouw::handlers::run_schedule::run_pass(&schedule)
                    .await
                    .expect("a pass")
                    .due_items_read;
            })
            .await;
        row.per = due.max(1);
        rows.push(row);
    }
    let ledger = api(
        &bench,
        "GET",
        &format!("customers/{CUSTOMER}/transactions?limit=100"),
        Value::Null,
    )
    .await;
    let kinds: Vec<String> = expect(ledger, 200)["transactions"]
        .as_array()
        .map(|t| t.iter().map(|t| t["kind"].to_string()).collect())
        .unwrap_or_default();
    for kind in [
        "\"birthday\"",
        "\"expired\"",
        "\"redeemed\"",
        "\"adjusted\"",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
    rows
}

/// A call on the customer's loyalty routes with the shop's API key and a new idempotency key.
async fn call(bench: &Bench, method: &str, path: &str, body: Value) -> trouw_local::client::Answer {
    api(bench, method, &format!("customers/{CUSTOMER}{path}"), body).await
}

async fn api(bench: &Bench, method: &str, path: &str, body: Value) -> trouw_local::client::Answer {
    let stack = &bench.stack;
    let body = if body.is_null() {
        Bytes::new()
    } else {
        Bytes::from(body.to_string())
    };
    let request = http::Request::builder()
        .method(method)
        .uri(format!("{}/loyalty/{}/{path}", stack.base_url, stack.shop))
        .header("authorization", format!("Bearer {LOYALTY_API_KEY}"))
        .header("idempotency-key", unique("bench"))
        .body(Full::new(body))
        .unwrap();
    stack.send(request).await
}

fn expect(answer: trouw_local::client::Answer, status: u16) -> Value {
    assert_eq!(answer.status, status, "{}", answer.body);
    answer.json()
}
