//! What each webhook writes, priced by DynamoDB's rules with the store's capacity calculator:
//! the keys come from the handlers' own write requests, the items before and after from the
//! table. The figures of the README's "What a webhook writes" come from here.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use std::collections::HashMap;
use trouw::store::capacity::{TableShape, item_size};
use trouw::store::{MessageRecord, MessageStatus};
use trouw_local::functions::Function;
use trouw_local::table::TableDefinition;
use trouw_tests::bench::{Bench, at, feedback, ses_reports};
use trouw_tests::writes::WrittenKey;
use trouw_tests::{Item, TestStack, example, unique};

fn shape() -> TableShape {
    TableDefinition::from_repository().unwrap().shape().unwrap()
}

fn by_key(items: Vec<Item>) -> HashMap<(String, String), Item> {
    let text = |i: &Item, name: &str| i.get(name).unwrap().as_s().unwrap().clone();
    items
        .into_iter()
        .map(|i| ((text(&i, "pk"), text(&i, "sk")), i))
        .collect()
}

/// What one webhook wrote: each item with its size after the write and its write units
/// (table and indexes).
struct Bill {
    items: Vec<(WrittenKey, u64, u64)>,
}

impl Bill {
    fn units(&self) -> u64 {
        self.items.iter().map(|(_, _, units)| units).sum()
    }
    fn kinds(&self) -> Vec<String> {
        self.items
            .iter()
            .map(|(k, _, _)| {
                let sk = k.sk.split('#').next().unwrap_or_default();
                if k.pk.contains("#EVENT#") {
                    "event".to_owned()
                } else {
                    sk.to_lowercase()
                }
            })
            .collect()
    }
}

async fn bill(stack: &TestStack, route: &str, body: &Value) -> Bill {
    let before = by_key(stack.snapshot().await);
    stack.requests.1.take();
    let answer = stack.post(route, body).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let after = by_key(stack.snapshot().await);
    let shape = shape();
    let items = stack
        .requests
        .1
        .take()
        .into_iter()
        .map(|written| {
            let key = (written.pk.clone(), written.sk.clone());
            let cost = shape.write_cost(before.get(&key), after.get(&key), written.transactional);
            let size = after.get(&key).map(item_size).unwrap_or(0);
            (written, size, cost.total())
        })
        .collect();
    Bill { items }
}

/// 800 days ago, at 10:00 UTC: far enough back for twenty monthly orders and their timers to
/// lie in the past, and at an hour outside the shop's quiet hours whenever the test runs (from
/// the clock's time of day, the emails of a run in the evening were all deferred).
fn base() -> Timestamp {
    trouw_tests::days_ago_at(800, 10)
}

fn order(customer: &str, order: &str, at: Timestamp) -> Value {
    let mut body = example("order-placed");
    body["occurred_at"] = json!(at.to_string());
    body["order"]["id"] = json!(order);
    body["order"]["placed_at"] = json!(at.to_string());
    body["customer"]["id"] = json!(customer);
    body
}

fn delivered(customer: &str, order: &str, at: Timestamp) -> Value {
    let mut body = example("order-delivered");
    body["occurred_at"] = json!(at.to_string());
    body["order"]["id"] = json!(order);
    body["order"]["delivered_at"] = json!(at.to_string());
    body["customer"]["id"] = json!(customer);
    body
}

fn address(customer: &str, at: Timestamp, line1: &str) -> Value {
    let mut body = example("address-changed");
    body["occurred_at"] = json!(at.to_string());
    body["customer"]["id"] = json!(customer);
    body["customer"]["address"]["line1"] = json!(line1);
    body
}

#[tokio::test]
async fn what_each_webhook_writes() {
    let stack = TestStack::start().await;
    stack.stop_clock_at(base() + SignedDuration::from_hours(24 * 60));
    let customer = unique("cus");
    let placed_at = base();

    let placed = bill(&stack, "order-placed", &order(&customer, "NL-1", placed_at)).await;
    let delivered_bill = bill(
        &stack,
        "order-delivered",
        &delivered(
            &customer,
            "NL-1",
            placed_at + SignedDuration::from_hours(48),
        ),
    )
    .await;
    // The same order sent again under another delivery id: nothing stored changes.
    let resent = bill(&stack, "order-placed", &order(&customer, "NL-1", placed_at)).await;
    let at = placed_at + SignedDuration::from_hours(72);
    let moved = bill(
        &stack,
        "address-changed",
        &address(&customer, at, "Oudegracht 158"),
    )
    .await;
    let same_again = bill(
        &stack,
        "address-changed",
        &address(&customer, at, "Oudegracht 158"),
    )
    .await;
    // The same address stated again a day later: its stamps move (what keeps any arrival order
    // converging), on the profile alone.
    let restated = bill(
        &stack,
        "address-changed",
        &address(
            &customer,
            at + SignedDuration::from_hours(24),
            "Oudegracht 158",
        ),
    )
    .await;

    for (name, bill) in [
        ("order placed, new customer", &placed),
        ("delivered", &delivered_bill),
        ("order re-sent", &resent),
        ("address changed, a move", &moved),
        ("address re-sent", &same_again),
        ("address restated later", &restated),
    ] {
        eprintln!("{name}: {} WRU {:?}", bill.units(), bill.kinds());
        for (key, size, units) in &bill.items {
            eprintln!("    {:>5} B {units} WRU {} {}", size, key.pk, key.sk);
        }
    }

    assert_eq!(
        placed.kinds(),
        ["owner", "act", "event", "profile", "order", "buyer", "msg"],
        "the owner and the timeline entry on their own, then one transaction (the event, the \
         profile, the order, the customer among the regular buyers of the toothpaste, which has \
         a cycle, the loyalty message)"
    );
    assert!(placed.units() <= 17, "order placed: {} WRU", placed.units());
    assert_eq!(
        delivered_bill.kinds(),
        ["order", "event"],
        "a delivery changes its order only: no transaction, no profile, no owner"
    );
    assert!(
        delivered_bill.units() <= 4,
        "delivered: {} WRU",
        delivered_bill.units()
    );
    assert_eq!(restated.kinds(), ["profile", "event"]);
    assert_eq!(restated.units(), 2);
    assert_eq!(
        resent.kinds(),
        ["event"],
        "a re-sent order writes its processed-event record only"
    );
    assert_eq!(resent.units(), 1);
    assert!(moved.units() <= 7, "a move: {} WRU", moved.units());
    assert_eq!(same_again.kinds(), ["event"]);
    assert_eq!(same_again.units(), 1);

    // The welcome after the move is promotional and the example customer gave consent; a
    // customer without consent has it created SKIPPED, never claimed.
    let (profile, _) = stack.customer(&customer).await;
    assert_eq!(
        profile.unwrap().version,
        3,
        "placed, moved, restated: three writes (the delivery changed its order only)"
    );
}

#[tokio::test]
async fn a_message_the_gate_refuses_for_good_is_created_skipped_and_never_claimed() {
    let stack = TestStack::start().await;
    let customer = unique("cus");
    let mut body = order(&customer, "NL-1", base());
    body["customer"]["marketing_consent"] = json!(false);
    assert_eq!(stack.post("order-placed", &body).await.status, 200);
    let at = base() + SignedDuration::from_hours(24);
    let moved = bill(
        &stack,
        "address-changed",
        &address(&customer, at, "Oudegracht 158"),
    )
    .await;
    eprintln!(
        "move without consent: {} WRU {:?}",
        moved.units(),
        moved.kinds()
    );
    let (message_units, message_writes): (u64, Vec<bool>) = moved
        .items
        .iter()
        .filter(|(key, _, _)| key.sk.starts_with("MSG#"))
        .fold((0, Vec::new()), |(units, mut tx), (key, _, u)| {
            tx.push(key.transactional);
            (units + u, tx)
        });
    assert_eq!(
        (message_units, message_writes),
        (2, vec![false]),
        "the SKIPPED welcome: one put on its own (1) and its log index entry (1)"
    );
    let messages = stack
        .store()
        .messages(
            &stack.shop,
            &trouw::domain::CustomerId::parse(&customer).unwrap(),
        )
        .await
        .unwrap();
    let welcome: &MessageRecord = messages
        .iter()
        .find(|m| m.intent.key.starts_with("welcome-after-move#"))
        .expect("the move's welcome is recorded");
    assert_eq!(welcome.status, MessageStatus::Skipped);
    assert_eq!(welcome.reason.as_deref(), Some("no_consent"));
    assert_eq!(welcome.claimed_at, None, "no sender ever claimed it");
    let loyalty = messages
        .iter()
        .find(|m| m.intent.key.starts_with("loyalty-earned#"))
        .unwrap();
    assert_eq!(
        loyalty.status,
        MessageStatus::Pending,
        "service mail needs no consent: it waits for the sender"
    );
}

/// The customer of issue 13's goal: twenty orders a month apart, each delivered, each order's
/// mail sent as the schedule and the sender would (the frequency cap's stamp and the
/// attribution's last touch on the profile), points confirmed after the return window, a
/// tier. (A shop that also turns on rolling tiers, expiry and birthday points adds about 200
/// bytes to such a profile: see the README's "Cost and speed".)
async fn a_customer_with_twenty_orders(stack: &TestStack, mail: &Mail, customer: &str) {
    // Without a frequency cap, a pass every few months sends what a pass every few minutes
    // would have sent by then; the cap's stamp is written all the same.
    stack.update_shop(|s| s.frequency_cap_hours = 0).await;
    let day = |n: i64| base() + SignedDuration::from_hours(24 * n);
    for i in 0..20 {
        stack.stop_clock_at(day(i * 30));
        let order_id = format!("NL-{i}");
        let post = stack
            .post("order-placed", &order(customer, &order_id, day(i * 30)))
            .await;
        assert_eq!(post.status, 200, "{}", post.body);
        mail.send(stack, customer, day(i * 30) + SignedDuration::from_hours(1))
            .await;
        stack.stop_clock_at(day(i * 30 + 2));
        let post = stack
            .post(
                "order-delivered",
                &delivered(customer, &order_id, day(i * 30 + 2)),
            )
            .await;
        assert_eq!(post.status, 200, "{}", post.body);
        // The orders' timers (points confirmed after the return window, the survey, care
        // tips) and what they send: a pass every few months keeps the test fast.
        if i % 10 == 9 {
            mail.pass(stack, customer, day(i * 30 + 28)).await;
        }
    }
}

/// The sender and the schedule, on the stack's clock.
struct Mail {
    sender: trouw::handlers::send_messages::SenderApp,
    schedule: trouw::handlers::send_messages::SenderApp,
}

impl Mail {
    async fn new(stack: &TestStack) -> Mail {
        Mail {
            sender: stack.sender(stack.clock(), None).await,
            schedule: stack.schedule(stack.clock(), None).await,
        }
    }

    /// Sends the customer's pending mail at `now`, as the stream hands it to the sender.
    async fn send(&self, stack: &TestStack, customer: &str, now: Timestamp) {
        stack.stop_clock_at(now);
        let id = trouw::domain::CustomerId::parse(customer).unwrap();
        trouw::handlers::send_messages::deliver_pending(&self.sender, &stack.shop, &id)
            .await
            .unwrap();
    }

    /// One schedule pass at `now`, then the mail it created.
    async fn pass(&self, stack: &TestStack, customer: &str, now: Timestamp) {
        stack.stop_clock_at(now);
        let done = trouw::handlers::run_schedule::run_pass(&self.schedule)
            .await
            .unwrap();
        assert_eq!((done.failed, done.unreadable), (0, 0), "{done:?}");
        self.send(stack, customer, now).await;
    }
}

#[tokio::test]
async fn a_customer_with_twenty_orders_keeps_every_item_of_the_hot_path_under_1_kb() {
    let stack = TestStack::start().await;
    let customer = unique("cus");
    let mail = Mail::new(&stack).await;
    a_customer_with_twenty_orders(&stack, &mail, &customer).await;
    let day = |n: i64| base() + SignedDuration::from_hours(24 * n);
    let (profile, _) = stack.customer(&customer).await;
    let profile = profile.unwrap();
    assert!(
        profile.mail.last_sent_at.is_some() && profile.mail.last_touch.is_some(),
        "{:?}",
        profile.mail
    );
    assert!(
        profile.loyalty.tier.is_some() && profile.loyalty.points_available > 0,
        "{:?}",
        profile.loyalty
    );

    // The 21st order, its mail, its delivery, then a move and its welcome: every item written
    // on the way, measured after its write.
    stack.stop_clock_at(day(600));
    let mut bills = vec![bill(&stack, "order-placed", &order(&customer, "NL-20", day(600))).await];
    mail.send(&stack, &customer, day(600) + SignedDuration::from_hours(1))
        .await;
    stack.stop_clock_at(day(602));
    bills.push(
        bill(
            &stack,
            "order-delivered",
            &delivered(&customer, "NL-20", day(602)),
        )
        .await,
    );
    stack.stop_clock_at(day(605));
    bills.push(
        bill(
            &stack,
            "address-changed",
            &address(&customer, day(605), "Oudegracht 158"),
        )
        .await,
    );
    mail.send(&stack, &customer, day(605) + SignedDuration::from_hours(1))
        .await;
    let mut written: Vec<(String, String, u64)> = Vec::new();
    for bill in &bills {
        eprintln!("{} WRU {:?}", bill.units(), bill.kinds());
        for (key, size, _) in &bill.items {
            written.push((key.pk.clone(), key.sk.clone(), *size));
        }
    }
    // What the sender wrote (claims, records, the profile's stamps): every item of the
    // customer as it is now, the profile with its last touch, its cap stamp and a second home.
    let partition = format!("SHOP#{}#CUST#{customer}", stack.shop);
    for item in stack.snapshot().await {
        let pk = item["pk"].as_s().unwrap().clone();
        if pk == partition {
            written.push((pk, item["sk"].as_s().unwrap().clone(), item_size(&item)));
        }
    }
    let (profile, _) = stack.customer(&customer).await;
    let profile = profile.unwrap();
    assert_eq!(profile.addresses.move_count(), 1);
    assert!(profile.mail.last_touch.is_some());
    for (pk, sk, size) in &written {
        eprintln!("    {size:>5} B {pk} {sk}");
    }
    for (pk, sk, size) in &written {
        assert!(*size < 1024, "{pk} {sk} is {size} bytes");
    }
}

/// The profile as the version before compact times stored it: address sightings one by one and
/// every time as RFC 3339 text.
fn to_earlier_shape(item: &mut Item) {
    use aws_sdk_dynamodb::types::AttributeValue as V;
    let text = |n: &V| {
        let second: i64 = n.as_n().unwrap().parse().unwrap();
        V::S(Timestamp::from_second(second).unwrap().to_string())
    };
    let V::M(addresses) = item.get("addresses").unwrap().clone() else {
        panic!("addresses is a map")
    };
    let mut sightings = Vec::new();
    for place in addresses["places"].as_l().unwrap() {
        let place = place.as_m().unwrap();
        // Fingerprints of 32 characters, the postal area as a map.
        let fingerprint = format!("{}0123456789abcdef", place["fingerprint"].as_s().unwrap());
        let (country, postal_code) = place["area"].as_s().unwrap().rsplit_once(' ').unwrap();
        let area = V::M(HashMap::from([
            ("country".to_owned(), V::S(country.to_owned())),
            ("postal_code".to_owned(), V::S(postal_code.to_owned())),
        ]));
        for seen in place["seen"].as_l().unwrap() {
            sightings.push(V::M(HashMap::from([
                ("at".to_owned(), text(seen)),
                ("fingerprint".to_owned(), V::S(fingerprint.clone())),
                ("area".to_owned(), area.clone()),
            ])));
        }
    }
    item.insert(
        "addresses".into(),
        V::M(HashMap::from([("sightings".to_owned(), V::L(sightings))])),
    );
    let V::M(mut retention) = item["retention"].clone() else {
        panic!("retention is a map")
    };
    let times = retention["order_times"]
        .as_l()
        .unwrap()
        .iter()
        .map(text)
        .collect();
    retention.insert("order_times".into(), V::L(times));
    item.insert("retention".into(), V::M(retention));
    // The shop and customer ids as attributes beside the key, zero counts written out, the
    // last send as text with its fraction.
    let pk = item["pk"].as_s().unwrap().clone();
    let (shop, customer) = trouw::store::keys::parse_customer_partition(&pk).unwrap();
    item.insert("shop".into(), V::S(shop.to_string()));
    item.insert("id".into(), V::S(customer.as_str().to_owned()));
    item.insert("returned_order_count".into(), V::N("0".into()));
    item.insert(
        "mail".into(),
        V::M(HashMap::from([
            ("inactive".to_owned(), V::Bool(false)),
            (
                "last_sent_at".to_owned(),
                V::S("2026-11-02T10:00:00.638329Z".into()),
            ),
        ])),
    );
    if let Some(V::M(last)) = item.get("last_ordered").cloned() {
        let last = last.into_iter().map(|(sku, n)| (sku, text(&n))).collect();
        item.insert("last_ordered".into(), V::M(last));
    }
}

#[tokio::test]
async fn a_profile_stored_by_the_earlier_version_reads_and_moves_on() {
    let stack = TestStack::start().await;
    let customer = unique("cus");
    let start = base();
    stack.stop_clock_at(start + SignedDuration::from_hours(24 * 60));
    let first = stack
        .post("order-placed", &order(&customer, "NL-1", start))
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let mut profile = stack
        .snapshot()
        .await
        .into_iter()
        .find(|i| i["sk"].as_s().unwrap() == "PROFILE")
        .unwrap();
    to_earlier_shape(&mut profile);
    assert!(
        profile["addresses"]
            .as_m()
            .unwrap()
            .contains_key("sightings")
    );
    stack
        .dynamo
        .put_item()
        .table_name(&stack.table)
        .set_item(Some(profile))
        .send()
        .await
        .unwrap();

    let (before, _) = stack.customer(&customer).await;
    let before = before.expect("the earlier shape reads");
    assert_eq!(before.addresses.sightings.len(), 1);
    assert_eq!(
        before.retention.order_times,
        [Timestamp::from_second(start.as_second()).unwrap()]
    );

    let second = stack
        .post(
            "order-placed",
            &order(
                &customer,
                "NL-2",
                start + SignedDuration::from_hours(24 * 30),
            ),
        )
        .await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(
        second.json()["moved"],
        json!(false),
        "the same home is not a move"
    );
    let (after, _) = stack.customer(&customer).await;
    let after = after.unwrap();
    assert_eq!(after.order_count, 2);
    assert_eq!(after.addresses.sightings.len(), 2);
    assert_eq!(after.addresses.move_count(), 0);
    assert_eq!(after.retention.order_times.len(), 2);
    let stored = stack
        .snapshot()
        .await
        .into_iter()
        .find(|i| i["sk"].as_s().unwrap() == "PROFILE")
        .unwrap();
    assert!(
        stored["addresses"].as_m().unwrap().contains_key("places"),
        "written again in the compact shape"
    );
    for earlier in ["shop", "id", "returned_order_count"] {
        assert!(!stored.contains_key(earlier), "{earlier} is not written");
    }
    assert_eq!(
        before.mail.last_sent_at,
        Some("2026-11-02T10:00:00.638329Z".parse().unwrap())
    );
    assert_eq!(
        stored["mail"].as_m().unwrap()["last_sent_at"]
            .as_n()
            .unwrap(),
        "1793613600",
        "the last send to the second, as epoch seconds"
    );
}

/// A sent message's life after the webhook created it, measured through the metering proxy:
/// the sender's claim (1 WRU, and its entry in the due index 1) and its record of the outcome
/// (1, out of the due index 1) without a transaction, the frequency cap's stamp on the profile
/// with a plain update (1), and each SES report one small conditional update that the log
/// index (keys only) does not see (1 each): 7 in all, where a transaction and an index that
/// projected every attribute cost 13.
#[tokio::test]
async fn a_sent_message_and_its_two_reports_cost_seven_write_units() {
    let bench = Bench::start().await;
    bench.stack.stop_clock_at(at("2026-11-02T10:00:00Z"));
    let customer = unique("cus");
    let email = format!("{customer}@example.nl");
    let body = trouw_tests::bench::order(&customer, &email, "NL-1", "2026-11-02T09:14:03+01:00");
    let placed = bench
        .measure(
            "order placed",
            Function::OrderPlaced,
            bench.post("order-placed", &body),
        )
        .await;
    let messages = bench
        .stack
        .store()
        .messages(
            &bench.stack.shop,
            &trouw::domain::CustomerId::parse(&customer).unwrap(),
        )
        .await
        .unwrap();
    assert!(
        messages.iter().any(|m| m.status == MessageStatus::Sent),
        "the order's email went out: {messages:?}"
    );
    let sender = placed
        .downstream
        .get("send-messages")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (sender.write_units, sender.index_write_units),
        (5, 2),
        "claim, record and the cap's stamp: {sender:?}"
    );
    let reports = ses_reports(&bench, &customer).await;
    let recorded = bench
        .measure("two SES reports", Function::SesEvents, async {
            for report in &reports {
                trouw_local::events::SesRule::for_stack(&bench.stack.table)
                    .unwrap()
                    .publish(&feedback(&bench.stack), report.clone())
                    .await
                    .expect("the rule matches")
                    .expect("the report is recorded");
            }
        })
        .await;
    assert_eq!(
        (recorded.own.write_units, recorded.own.index_write_units),
        (2, 0),
        "two reports: {:?}",
        recorded.own
    );
}

/// An order line with a contract: what it adds at the order, and what each of its two
/// reminders costs in the schedule's pass (the decision's transaction and the send).
#[tokio::test]
async fn an_order_with_a_contract_and_its_two_reminders() {
    let bench = Bench::start().await;
    let schedule = bench
        .stack
        .app
        .schedule
        .clone()
        .expect("a stack with a schedule");
    bench
        .stack
        .update_shop(|s| s.reorder_interval_days = 730)
        .await;
    bench.stack.stop_clock_at(at("2026-11-02T10:00:00Z"));
    let (plain, with) = (unique("cus"), unique("cus"));
    let placed_at = "2026-11-02T09:14:03+01:00";
    // Without replenishment data or categories, so that the plain order needs no timer at all.
    let order = |customer: &str, id: &str| {
        let mut body =
            trouw_tests::bench::order(customer, &format!("{customer}@example.nl"), id, placed_at);
        for line in body["order"]["lines"].as_array_mut().unwrap() {
            let line = line.as_object_mut().unwrap();
            line.remove("replenish_after_days");
            line.remove("category");
        }
        body
    };
    let plain_row = bench
        .measure(
            "order placed",
            Function::OrderPlaced,
            bench.post("order-placed", &order(&plain, "P-1")),
        )
        .await;
    let mut body = order(&with, "C-1");
    body["order"]["lines"][1]["contract"] = json!({
        "ends_at": "2027-11-02T09:14:03+01:00",
        "renewal_url": "https://www.demo-winkel.nl/verlengen",
    });
    let contract_row = bench
        .measure(
            "order placed with a contract",
            Function::OrderPlaced,
            bench.post("order-placed", &body),
        )
        .await;
    let mut reminders = Vec::new();
    for (what, when) in [
        ("first contract reminder", "2027-10-03T09:00:00Z"),
        ("last contract reminder", "2027-10-26T09:00:00Z"),
    ] {
        bench.stack.stop_clock_at(at(when));
        reminders.push(
            bench
                .measure(what, Function::RunSchedule, async {
                    trouw::handlers::run_schedule::run_pass(&schedule)
                        .await
                        .expect("a pass");
                })
                .await,
        );
    }
    let total = |row: &trouw_tests::bench::Row| {
        (
            row.own.write_units + row.downstream_total().write_units,
            row.own.index_write_units + row.downstream_total().index_write_units,
        )
    };
    for row in [&plain_row, &contract_row, &reminders[0], &reminders[1]] {
        eprintln!(
            "{}: {:?} WRU (index) all-in, own {:?}, emails {}",
            row.what,
            total(row),
            row.own_items,
            row.emails
        );
    }
    let (plain_units, _) = total(&plain_row);
    let (contract_units, _) = total(&contract_row);
    assert!(
        contract_units <= plain_units + 1,
        "a contract adds at most the order's due index entry: {contract_units} against {plain_units}"
    );
    for row in &reminders {
        let (units, _) = total(row);
        assert!(units <= 15, "{}: {units} WRU", row.what);
    }
    // (SES is shared by the tests running beside this one: the messages say what was sent.)
    let sent: Vec<_> = bench
        .stack
        .store()
        .messages(
            &bench.stack.shop,
            &trouw::domain::CustomerId::parse(&with).unwrap(),
        )
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.intent.data.kind() == "contract-ending" && m.status == MessageStatus::Sent)
        .collect();
    assert_eq!(sent.len(), 2, "both reminders went: {sent:?}");
}

/// The yearly recap's pass: the year's orders read once (one Query), the decision's write and
/// the send; with anniversary points, their ledger item.
#[tokio::test]
async fn the_yearly_recap_reads_the_years_orders_once_and_writes_one_decision() {
    let bench = Bench::start().await;
    let schedule = bench
        .stack
        .app
        .schedule
        .clone()
        .expect("a stack with a schedule");
    bench
        .stack
        .update_shop(|s| {
            s.reorder_interval_days = 730;
            s.loyalty.anniversary_points = Some(50);
        })
        .await;
    let customer = unique("cus");
    let email = format!("{customer}@example.nl");
    for (order, placed_at) in [
        ("Y-1", "2026-11-02T09:14:03+01:00"),
        ("Y-2", "2027-08-02T09:14:03+02:00"),
    ] {
        bench.move_clock_to(placed_at).await;
        let mut body = trouw_tests::bench::order(&customer, &email, order, placed_at);
        for line in body["order"]["lines"].as_array_mut().unwrap() {
            line.as_object_mut().unwrap().remove("replenish_after_days");
        }
        bench.post("order-placed", &body).await;
    }
    // Whatever else is due before the anniversary goes in passes of its own first, days
    // before.
    for before in ["2027-10-25T09:00:00Z", "2027-10-29T09:00:00Z"] {
        bench.move_clock_to(before).await;
        trouw::handlers::run_schedule::run_pass(&schedule)
            .await
            .expect("a pass");
    }
    bench.move_clock_to("2027-11-02T09:05:00Z").await;
    let row = bench
        .measure("yearly recap", Function::RunSchedule, async {
            trouw::handlers::run_schedule::run_pass(&schedule)
                .await
                .expect("a pass");
        })
        .await;
    let (units, index) = (
        row.own.write_units + row.downstream_total().write_units,
        row.own.index_write_units + row.downstream_total().index_write_units,
    );
    eprintln!(
        "{}: {units} WRU ({index}), {} RRU, {} requests, own {:?}",
        row.what, row.own.read_units, row.own.requests, row.own_items
    );
    let messages = bench
        .stack
        .store()
        .messages(
            &bench.stack.shop,
            &trouw::domain::CustomerId::parse(&customer).unwrap(),
        )
        .await
        .unwrap();
    assert!(
        messages
            .iter()
            .any(|m| m.intent.data.kind() == "yearly-recap" && m.status == MessageStatus::Sent),
        "{messages:?}"
    );
    assert!(units <= 20, "the recap: {units} WRU");
}

/// The regular buyers' index costs an order nothing unless it makes its customer a regular
/// buyer of a product: then one entry (about 100 bytes) in the order's transaction, 2 WRU.
#[tokio::test]
async fn an_order_writes_the_regular_buyers_index_only_when_a_customer_becomes_one() {
    let stack = TestStack::start().await;
    stack.stop_clock_at(base() + SignedDuration::from_hours(24 * 200));
    let customer = unique("cus");
    // Without the toothpaste's cycle (its own, or its category's in the shop's settings):
    // only the second purchase makes a regular buyer.
    let plain = |order_id: &str, at: Timestamp| {
        let mut body = order(&customer, order_id, at);
        for line in body["order"]["lines"].as_array_mut().unwrap() {
            let line = line.as_object_mut().unwrap();
            line.remove("replenish_after_days");
            line.remove("category");
        }
        body
    };
    let buyer_units = |bill: &Bill| -> u64 {
        bill.items
            .iter()
            .filter(|(k, _, _)| k.sk.starts_with("BUYER#"))
            .map(|(_, _, units)| units)
            .sum()
    };
    let first = bill(&stack, "order-placed", &plain("NL-1", base())).await;
    let second = bill(
        &stack,
        "order-placed",
        &plain("NL-2", base() + SignedDuration::from_hours(24 * 30)),
    )
    .await;
    let third = bill(
        &stack,
        "order-placed",
        &plain("NL-3", base() + SignedDuration::from_hours(24 * 60)),
    )
    .await;
    for (name, bill) in [("first", &first), ("second", &second), ("third", &third)] {
        eprintln!(
            "{name}: {} WRU, of which {} the index",
            bill.units(),
            buyer_units(bill)
        );
    }
    assert_eq!(buyer_units(&first), 0, "a first purchase: nothing");
    assert_eq!(
        buyer_units(&second),
        4,
        "the second: the customer becomes a regular buyer of both products (2 WRU each, in the transaction)"
    );
    assert_eq!(buyer_units(&third), 0, "a regular buyer already: nothing");
}

/// One answer to a co-creation question, with 500 characters of the customer's own words: one
/// transaction (the link's event, the profile that marks it answered, the answer under its
/// question) and the timeline entry; a second answer writes nothing.
#[tokio::test]
async fn one_answer_to_a_question_is_one_transaction_with_its_answer() {
    let bench = Bench::start().await;
    bench
        .stack
        .update_shop(|s| {
            s.reorder_interval_days = 730;
            s.questions = vec![trouw::domain::questions::Question {
                id: "smaak".into(),
                category: "mondverzorging".into(),
                text: "Welke smaak tandpasta zullen we erbij nemen?".into(),
                options: vec!["Munt".into(), "Kruiden".into(), "Houtskool".into()],
                free_text: true,
                active_from: None,
                active_until: None,
            }];
        })
        .await;
    let customer = unique("cus");
    let email = format!("{customer}@example.nl");
    for (order, placed_at) in [
        ("Q-1", "2026-11-02T09:14:03+01:00"),
        ("Q-2", "2026-11-20T09:14:03+01:00"),
    ] {
        bench.move_clock_to(placed_at).await;
        let mut body = trouw_tests::bench::order(&customer, &email, order, placed_at);
        body["order"]["lines"][0]["category"] = json!("mondverzorging");
        for line in body["order"]["lines"].as_array_mut().unwrap() {
            line.as_object_mut().unwrap().remove("replenish_after_days");
        }
        bench.post("order-placed", &body).await;
    }
    let id = trouw::domain::CustomerId::parse(&customer).unwrap();
    let (profile, _) = bench.stack.customer(&customer).await;
    assert_eq!(profile.unwrap().questions_asked, ["smaak"]);
    let token = trouw::mail::LinkKey::new(trouw_tests::LINK_SECRET).question_token(
        &bench.stack.shop,
        &id,
        "smaak",
    );
    let path = format!("/q/{token}");
    let words = "k".repeat(trouw::domain::questions::MAX_FREE_TEXT);
    bench.move_clock_to("2026-11-22T10:00:00Z").await;
    let answer = |option: &'static str| {
        let (stack, path, words) = (&bench.stack, &path, &words);
        async move {
            let answered = stack
                .post_form(path, &[("option", option), ("free_text", words)])
                .await;
            assert_eq!(answered.status, 200, "{}", answered.body);
        }
    };
    let first = bench
        .measure("one answer", Function::CustomerLinks, answer("1"))
        .await;
    let again = bench
        .measure("a second answer", Function::CustomerLinks, answer("2"))
        .await;
    for row in [&first, &again] {
        eprintln!(
            "{}: {} WRU ({}), {} RRU, {} requests, own {:?}",
            row.what,
            row.own.write_units,
            row.own.index_write_units,
            row.own.read_units,
            row.own.requests,
            row.own_items
        );
    }
    let kept = bench
        .stack
        .store()
        .question_answers(&bench.stack.shop, "smaak")
        .await
        .unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        (kept[0].option, kept[0].free_text.as_ref()),
        (1, Some(&words))
    );
    assert_eq!(again.own.write_units, 0, "a second answer writes nothing");
    assert!(
        first.downstream_total().write_units == 0,
        "no message follows"
    );
    assert!(
        first.own.write_units <= 10,
        "one answer: {} WRU",
        first.own.write_units
    );
}
