//! Faults at 20%, the same outcome as at 0%: a seeded year of customers (tests/src/journeys.rs)
//! delivered as a platform does (retries with backoff on 5xx, duplicates, shuffled order), the
//! schedule run daily, with DynamoDB and SES behind a proxy that fails a share of the requests
//! (tests/src/fault.rs, `Injector`). Run once at 0% and once at the rate, same seed: every
//! customer's stored state, and the emails SES accepted, must be the same.
//!
//! Size: `TROUW_CHAOS_CUSTOMERS` (default 40, `make chaos` runs 200), `TROUW_CHAOS_SEED`,
//! `TROUW_CHAOS_RATE` (default 0.2).

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use trouw::domain::{CustomerId, Email, OrderId, ShopId};
use trouw::handlers::run_schedule::run_pass;
use trouw_tests::fault::{FaultProxy, Injected, Injector};
use trouw_tests::journeys::{self, Delivery, Sent};
use trouw_tests::{
    Item, LINK_SECRET, SHOPIFY_SECRET, StackOptions, TestStack, all_emails, join_all, local_aws,
    stream_settings, unique,
};

/// Attributes whose values depend on the run and not on what happened to the customer:
/// - `attempts`: how many times a message was tried (an SES fault adds one);
/// - `error`: the last transient error text of a message that was retried;
/// - `ses_message_id`: the id SES gave the accepted email (a new one in every run);
/// - `claimed_at`, `sent_at`, `finished_at`, `updated_at`: when a message was claimed and its
///   outcome recorded; a retried message goes out at a later pass of the same day;
/// - `last_sent_at` and `last_touch` (in a profile's `mail`): the customer's last email, moved
///   the same way (and not moved by a send whose SES answer was lost, left out below);
///   `held_out_touch` likewise: when a held-out message would have gone follows when the
///   sender got to it;
/// - a profile's `version`, which counts its writes: a message waiting for a retry, or whose
///   outcome is unknown, writes its place under the frequency cap there once more;
/// - `due_at` and the due index's keys (`due_pk`, `due_sk`) of a message: when it is to be
///   retried or counts as unknown, both moved by a retry.
/// - `waits`, the history of a message's deferrals by the rules, and `waits_dropped`, how many
///   of them it no longer lists: whether, how often and until when the frequency cap deferred
///   it follows `last_sent_at`, which a retry moves, and a message whose outcome is unknown
///   holds a place under the cap.
///
/// An order that the run at 0% attributed to a message which the faulty run left SENDING is
/// compared without that link: a send whose outcome is unknown is no last touch
/// (`attributed_to_a_lost_send`).
///
/// Also left out: the shop's day summaries (`SHOP#...#DAYS`), which mark when a day of the
/// message log last changed so that the overview recounts it: a message sent after a retry
/// changes its day later. Every other attribute of every item must be equal.
const RUN_DEPENDENT: [&str; 15] = [
    "attempts",
    "error",
    "ses_message_id",
    "claimed_at",
    "sent_at",
    "last_sent_at",
    "last_touch",
    "held_out_touch",
    "finished_at",
    "updated_at",
    "due_at",
    "due_pk",
    "due_sk",
    "waits",
    "waits_dropped",
];

/// What one run left behind, with its own names (shop, addresses) replaced.
struct Run {
    /// Every item of the table, keyed by its (normalized) key.
    items: BTreeMap<String, Value>,
    /// The emails SES accepted: (recipient, subject) and how many of each.
    emails: BTreeMap<(String, String), usize>,
    email_count: usize,
    /// Messages recorded SENT.
    sent_records: usize,
    /// Messages recorded HELD_OUT, and orders counted as their conversions.
    held_out_records: usize,
    held_out_orders: usize,
    /// Keys of messages left SENDING.
    sending: Vec<String>,
    /// Per customer, a line per item of theirs (event records included) with the attributes
    /// that tell when and by what it was written, run-dependent ones too: printed beside a
    /// difference, so that a failure in CI explains itself.
    trails: BTreeMap<String, Vec<String>>,
    /// Each event's final answer status.
    answers: BTreeMap<String, u16>,
    deliveries: usize,
    /// Deliveries answered 2xx at their first attempt (at 0%: every one).
    first_time_2xx: usize,
    retries: usize,
    /// Passes run again because they failed or left items failed.
    pass_reruns: usize,
    /// The days with three passes.
    busy_on: BTreeSet<u32>,
    faults: BTreeMap<Injected, usize>,
    requests: u64,
    passes: usize,
    elapsed: Duration,
}

fn customers() -> usize {
    std::env::var("TROUW_CHAOS_CUSTOMERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40)
}

fn seed() -> u64 {
    std::env::var("TROUW_CHAOS_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_261_129)
}

fn rate() -> f64 {
    std::env::var("TROUW_CHAOS_RATE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.2)
}

const DAYS: u32 = 365;
/// Deliveries a platform makes at once.
const CONCURRENCY: usize = 8;
/// A platform's attempts before it gives up on a delivery (Shopify makes 8 over 4 hours).
const ATTEMPTS: u32 = 8;

/// Delivers as a platform does: a 5xx is retried with a growing pause. Returns the final
/// status and the number of retries.
async fn deliver(stack: &TestStack, delivery: &Delivery) -> (u16, usize) {
    let mut retries = 0;
    loop {
        let answer = match &delivery.what {
            Sent::Canonical { route, body } => stack.post_as(route, &delivery.event_id, body).await,
            Sent::Shopify { topic, body } => {
                stack
                    .send(stack.shopify_request(
                        "address-changed",
                        topic,
                        body.to_string().as_bytes(),
                        SHOPIFY_SECRET,
                        &delivery.event_id,
                    ))
                    .await
            }
            Sent::SurveyAnswer {
                customer,
                order,
                score,
            } => {
                let token = trouw::mail::LinkKey::new(LINK_SECRET).survey_token(
                    &stack.shop,
                    &CustomerId::parse(customer.as_str()).unwrap(),
                    &OrderId::parse(order.as_str()).unwrap(),
                );
                stack
                    .post_form(
                        &format!("/s/{token}"),
                        &[("score", &score.to_string()), ("comment", "")],
                    )
                    .await
            }
        };
        if answer.status < 500 || retries + 1 >= ATTEMPTS as usize {
            return (answer.status, retries);
        }
        retries += 1;
        tokio::time::sleep(Duration::from_millis(5 << retries.min(6))).await;
    }
}

/// A schedule pass, run again while it fails (its index read failed) or leaves items failed
/// (their writes failed: they stay due), as the schedule's next run (every 15 minutes) would;
/// here at the same simulated time, so that a timer is applied when it would be without
/// faults. Returns the reports' index entries read, summed, and counts the runs again.
async fn pass(
    schedule: &trouw::handlers::send_messages::SenderApp,
    reruns: &mut usize,
) -> trouw::handlers::run_schedule::PassReport {
    let mut read = 0;
    for run in 0..20 {
        if run > 0 {
            *reruns += 1;
        }
        match run_pass(schedule).await {
            Ok(mut report) if report.failed == 0 && report.unreadable == 0 => {
                report.due_items_read += read;
                return report;
            }
            Ok(report) => read += report.due_items_read,
            Err(_) => {}
        }
    }
    panic!("a schedule pass failed 20 times");
}

/// A day's deliveries in arrival order, cut into groups delivered at once: up to
/// [`CONCURRENCY`], never two of one customer. Across customers everything overlaps, and one
/// customer's events come shuffled, late and twice, but in the same order in both runs: a
/// message's data (the points it reports, say) is what the customer had when its event was
/// handled, so a retry that let a customer's later event overtake an earlier one would change
/// the text and not the outcome. (That any order ends in the same state is the domain's
/// property test.)
fn at_once(deliveries: &[Delivery]) -> Vec<&[Delivery]> {
    let mut groups = Vec::new();
    let mut start = 0;
    for end in 0..deliveries.len() {
        let group = &deliveries[start..end];
        if group.len() == CONCURRENCY
            || group.iter().any(|d| d.customer == deliveries[end].customer)
        {
            groups.push(group);
            start = end;
        }
    }
    if start < deliveries.len() {
        groups.push(&deliveries[start..]);
    }
    groups
}

/// One run on a table of its own, for `shop` (the same in both runs, so that what trouw keys
/// by the shop, such as address fingerprints and email hashes, compares equal).
/// `busy_days`: the days on which the passes of the run at 0% ran twice more (the run with
/// faults follows them; its own retried sends would otherwise add passes that apply a timer
/// due later that day earlier than at 0%, a difference of timing, not of outcome); `None` for
/// the run at 0%, which decides them.
async fn run(customers: usize, rate: f64, shop: &ShopId, busy_days: Option<&BTreeSet<u32>>) -> Run {
    let started = Instant::now();
    // moto keeps the emails in the order it took them: this run's come after these.
    let emails_before = all_emails().await.len();
    let injector = Injector::new(seed(), rate, Duration::from_millis(150));
    let proxy = FaultProxy::start_injecting(&local_aws().endpoint, injector.clone()).await;
    let stack = TestStack::start_with(StackOptions {
        dynamo_endpoint: Some(proxy.endpoint.clone()),
        shop: Some(shop.clone()),
        with_counter: true,
        ..Default::default()
    })
    .await;
    let tag = stack.shop.to_string();
    let service = format!("service.{tag}@example.nl");
    // A holdout group, so that held-out messages, their touches and the orders that follow
    // them live through the faults too.
    stack
        .update_shop(|settings| {
            settings.service_email = Some(Email::parse(&service).unwrap());
            settings.holdout_percent = 30;
        })
        .await;
    let corpus = journeys::generate(seed(), customers, DAYS, &tag);
    let sender = stack.sender(stack.clock(), Some(&proxy.endpoint)).await;
    let stream = stack.stream_to(sender, stream_settings()).await;
    let schedule = stack.schedule(stack.clock(), Some(&proxy.endpoint)).await;

    let mut answers = BTreeMap::new();
    let (mut retries, mut passes, mut first_time_2xx, mut pass_reruns) = (0, 0, 0, 0);
    let mut busy_on = BTreeSet::new();
    let mut timings = [Duration::ZERO; 3];
    let mut remaining = corpus.deliveries.as_slice();
    for day in 0..=DAYS {
        let today = remaining.iter().take_while(|d| d.day == day).count();
        let (now, later) = remaining.split_at(today);
        remaining = later;
        stack.stop_clock_at(journeys::at(day, 12 * 60));
        let clock = Instant::now();
        for chunk in at_once(now) {
            for (delivery, (status, tries)) in chunk
                .iter()
                .zip(join_all(chunk.iter().map(|d| deliver(&stack, d))).await)
            {
                retries += tries;
                if tries == 0 && (200..300).contains(&status) {
                    first_time_2xx += 1;
                }
                answers.entry(delivery.event_id.clone()).or_insert(status);
            }
        }
        timings[0] += clock.elapsed();
        let clock = Instant::now();
        if !now.is_empty() {
            stream
                .settle(Duration::from_secs(60))
                .await
                .expect("the stream catches up");
        }
        timings[1] += clock.elapsed();
        // The daily pass. Timers fall due when their events happened (08:00 to 12:00) or when
        // a pass or webhook ran (12:00, 13:00), so this pass finds all of a day's timers.
        let clock = Instant::now();
        stack.stop_clock_at(journeys::at(day, 13 * 60));
        let report = pass(&schedule, &mut pass_reruns).await;
        passes += 1;
        // On a busy day, two more for messages whose sending is retried (the backoff is at
        // most an hour), and timers due later that day.
        let busy = match busy_days {
            Some(days) => days.contains(&day),
            None => !now.is_empty() || report.due_items_read > 0,
        };
        if busy {
            busy_on.insert(day);
            for hour in [14, 15] {
                // What the last pass created is sent before the clock moves on: a send takes
                // seconds, passes come a quarter of an hour apart. Moving the clock under a
                // send that is still retrying its writes would have the next pass take it for
                // a sender that stopped.
                stream
                    .settle(Duration::from_secs(60))
                    .await
                    .expect("the stream catches up");
                stack.stop_clock_at(journeys::at(day, hour * 60));
                pass(&schedule, &mut pass_reruns).await;
                passes += 1;
            }
        }
        timings[2] += clock.elapsed();
        let clock = Instant::now();
        if busy {
            stream
                .settle(Duration::from_secs(60))
                .await
                .expect("the stream catches up");
        }
        timings[1] += clock.elapsed();
    }
    println!(
        "timings: deliveries {:.1} s, stream {:.1} s, passes {:.1} s",
        timings[0].as_secs_f64(),
        timings[1].as_secs_f64(),
        timings[2].as_secs_f64()
    );

    assert!(remaining.is_empty(), "{} deliveries left", remaining.len());
    days_counted_once(&stack, &injector, rate).await;
    let snapshot = stack.snapshot().await;
    let normalize = |text: &str| {
        text.replace(&tag, "{shop}")
            .replace(&stack.base_url, "{base}")
    };
    let mut items = BTreeMap::new();
    let mut sending = Vec::new();
    let mut trails = BTreeMap::new();
    let mut sent_records = 0;
    let (mut held_out_records, mut held_out_orders) = (0, 0);
    for item in &snapshot {
        held_out_orders += usize::from(item.contains_key("held_out_for"));
        let key = normalize(&format!("{}|{}", string(item, "pk"), string(item, "sk")));
        match item
            .get("status")
            .and_then(|v| v.as_s().ok())
            .map(String::as_str)
        {
            Some("SENDING") => sending.push(key.clone()),
            Some("SENT") => sent_records += 1,
            Some("HELD_OUT") => held_out_records += 1,
            _ => {}
        }
        trails
            .entry(string(item, "customer_id"))
            .or_insert_with(Vec::new)
            .push(trail_line(&key, item));
        items.insert(key, normalized(item, &normalize));
    }
    let mut emails = BTreeMap::new();
    let mut email_count = 0;
    for (to, raw) in all_emails().await.into_iter().skip(emails_before) {
        if !to.iter().any(|t| t.contains(&tag)) {
            continue;
        }
        email_count += 1;
        let subject = raw
            .lines()
            .find_map(|l| l.strip_prefix("Subject: "))
            .unwrap_or_default()
            .to_owned();
        *emails
            .entry((normalize(&to.join(",")), subject))
            .or_insert(0) += 1;
    }
    Run {
        items,
        emails,
        email_count,
        sent_records,
        held_out_records,
        held_out_orders,
        sending,
        trails,
        answers,
        deliveries: corpus.deliveries.len(),
        first_time_2xx,
        pass_reruns,
        busy_on,
        retries,
        faults: injector.counts(),
        requests: injector.requests(),
        passes,
        elapsed: started.elapsed(),
    }
}

/// The day counters the stream consumer kept through the faults come to what the log says:
/// the year's overview from the counters equals the one counted from the log items. The
/// counter catches up under the faults; the two overviews are then read without them (the
/// log's count of a year is some thousand requests, which faults at this rate would never let
/// all through).
async fn days_counted_once(stack: &TestStack, injector: &Injector, rate: f64) {
    stack.settle().await;
    injector.pause(true);
    let (first, last) = (
        journeys::at(0, 0)
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .date(),
        journeys::at(DAYS, 0)
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .date(),
    );
    let overview = || async {
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                trouw_tests::ADMIN_USER,
                trouw_tests::ADMIN_PASSWORD
            ))
        );
        let request = http::Request::get(format!(
            "{}/admin?from={first}&to={last}&format=json",
            stack.base_url
        ))
        .header("authorization", basic)
        .body(Default::default())
        .unwrap();
        let answer = stack.send(request).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        serde_json::from_str::<Value>(&answer.body).unwrap()
    };
    let since = stack.store().counted_since(&stack.shop).await.unwrap();
    assert!(since.is_some_and(|s| s <= first), "counted since {since:?}");
    let from_counters = overview().await;
    // The counters' first day moved past the year: every day is counted from the log.
    stack
        .dynamo
        .put_item()
        .table_name(&stack.table)
        .item("pk", AttributeValue::S(format!("SHOP#{}#DAYS", stack.shop)))
        .item("sk", AttributeValue::S("0000-since".into()))
        .item("since", AttributeValue::S("2999-01-01".into()))
        .send()
        .await
        .unwrap();
    let from_log = overview().await;
    injector.pause(false);
    assert_eq!(
        from_counters,
        from_log,
        "{:.0}%: the day counters differ from the log",
        rate * 100.0
    );
}

/// An item's key with what says when and by what it was written.
fn trail_line(key: &str, item: &Item) -> String {
    let mut line = key.split_once('|').map_or(key, |(_, sk)| sk).to_owned();
    for name in [
        "status",
        "reason",
        "cause",
        "route",
        "processed_at",
        "due_at",
        "claimed_at",
        "sent_at",
        "attempts",
        "deferred_until",
        "updated_at",
        "version",
        "replenishment_handled",
        "survey_handled_at",
    ] {
        if let Some(value) = item.get(name) {
            let text = match value {
                AttributeValue::S(s) => s.clone(),
                AttributeValue::N(n) => n.clone(),
                other => format!("{other:?}"),
            };
            line.push_str(&format!(" {name}={text}"));
        }
    }
    line
}

/// The trails of the customers whose items differ, both runs side by side.
fn trails_of(differences: &[String], calm: &Run, stormy: &Run) -> String {
    let customers: BTreeSet<&str> = differences
        .iter()
        .filter_map(|d| {
            d.split("CUST#")
                .nth(1)
                .or_else(|| d.split("\"customer_id\":\"").nth(1))
        })
        .filter_map(|rest| rest.split(['|', '"', '#']).next())
        .collect();
    let mut out = String::new();
    for customer in customers {
        for (name, run) in [("0%", calm), ("faults", stormy)] {
            out.push_str(&format!("customer {customer} at {name}:\n"));
            for line in run.trails.get(customer).into_iter().flatten() {
                out.push_str(&format!("  {line}\n"));
            }
        }
    }
    out
}

fn string(item: &Item, name: &str) -> String {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

/// An item as JSON, without the run-dependent attributes, its run's names replaced.
fn normalized(item: &Item, names: &impl Fn(&str) -> String) -> Value {
    let profile = string(item, "sk") == "PROFILE";
    let mut out = serde_json::Map::new();
    for (name, value) in item {
        if !(RUN_DEPENDENT.contains(&name.as_str()) || profile && name == "version") {
            out.insert(name.clone(), json_of(value, names));
        }
    }
    Value::Object(out)
}

fn json_of(value: &AttributeValue, names: &impl Fn(&str) -> String) -> Value {
    match value {
        AttributeValue::S(s) => json!(names(s)),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::Bool(b) => json!(b),
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::M(m) => {
            let mut out = serde_json::Map::new();
            for (name, value) in m {
                if !RUN_DEPENDENT.contains(&name.as_str()) {
                    out.insert(name.clone(), json_of(value, names));
                }
            }
            Value::Object(out)
        }
        AttributeValue::L(l) => Value::Array(l.iter().map(|v| json_of(v, names)).collect()),
        AttributeValue::Ss(ss) => {
            json!(ss.iter().map(|s| names(s)).collect::<BTreeSet<_>>())
        }
        AttributeValue::Ns(ns) => json!({ "NS": ns.iter().collect::<BTreeSet<_>>() }),
        AttributeValue::B(b) => json!({ "B": format!("{:?}", b.as_ref()) }),
        other => json!(format!("{other:?}")),
    }
}

/// An order that the run at 0% attributed to a message which, with faults, was left SENDING
/// (SES took it, its answer was lost): with faults its send was never recorded, so it is no
/// customer's last touch and the order is attributed to nothing. True when that is the only
/// difference between the two orders.
fn attributed_to_a_lost_send(key: &str, calm: &Value, stormy: &Value, sending: &[String]) -> bool {
    let Some(message) = calm.get("attributed_to").and_then(Value::as_str) else {
        return false;
    };
    let Some((partition, _)) = key.split_once('|') else {
        return false;
    };
    if !sending.contains(&format!("{partition}|MSG#{message}"))
        || stormy.get("attributed_to").is_some()
    {
        return false;
    }
    let mut without = calm.clone();
    if let Some(fields) = without.as_object_mut() {
        fields.remove("attributed_to");
    }
    &without == stormy
}

fn print_run(name: &str, run: &Run) {
    println!(
        "{name}: {} deliveries ({} answered 2xx at the first attempt), {} platform retries, \
         {} schedule passes ({} run again), {} proxied requests, {} emails ({} recorded SENT, \
         {} left SENDING), {} held out ({} orders after them), {:.0} s",
        run.deliveries,
        run.first_time_2xx,
        run.retries,
        run.passes,
        run.pass_reruns,
        run.requests,
        run.email_count,
        run.sent_records,
        run.sending.len(),
        run.held_out_records,
        run.held_out_orders,
        run.elapsed.as_secs_f64()
    );
    let total: usize = run.faults.values().sum();
    println!("{name}: {total} faults injected: {:?}", run.faults);
}

#[tokio::test]
async fn a_year_of_customers_ends_the_same_with_faults_as_without() {
    // Its own moto: the two runs are compared item by item, and only the faults this test
    // injects may tell them apart. Beside the whole suite on the shared moto, a slow machine
    // once kept a write waiting behind other tests for longer than its tries (a timer's state
    // written, its record not), a fault of the machine and not of the test.
    trouw_tests::own_moto();
    let customers = customers();
    let corpus = journeys::generate(seed(), customers, DAYS, "count");
    println!(
        "corpus: seed {}, {customers} customers over {DAYS} days, {} events, {} deliveries",
        seed(),
        corpus.events,
        corpus.deliveries.len()
    );
    let shop = ShopId::parse(unique("chaos")).unwrap();
    let calm = run(customers, 0.0, &shop, None).await;
    print_run("0%", &calm);
    let rate = rate();
    let stormy = run(customers, rate, &shop, Some(&calm.busy_on)).await;
    print_run(&format!("{:.0}%", rate * 100.0), &stormy);

    // The calm run is truly calm: nothing injected, and every delivery answered 2xx at its
    // first attempt (no platform retry), so the comparison is against a run without faults.
    assert!(calm.faults.is_empty());
    assert_eq!(
        (calm.first_time_2xx, calm.retries, calm.pass_reruns),
        (calm.deliveries, 0, 0),
        "0%: every delivery answered 2xx at the first attempt, every pass ran once"
    );
    assert!(
        calm.sending.is_empty(),
        "nothing SENDING without faults: {:?}",
        calm.sending
    );
    assert_eq!(
        calm.email_count, calm.sent_records,
        "0%: one email per SENT message"
    );
    assert!(
        stormy.faults.values().sum::<usize>() > 0,
        "the faulty run injected faults"
    );
    assert!(
        calm.held_out_records > 0,
        "the holdout group is exercised: some messages are held out"
    );

    // The messages whose SES answer the proxy dropped after SES took them: left SENDING
    // (outcome unknown, never sent again); each of them was sent once, so the emails match.
    let lost = stormy
        .faults
        .get(&Injected::SesResetAfterAccepted)
        .copied()
        .unwrap_or(0);
    println!(
        "{:.0}%: {} messages left SENDING after SES took them and the answer was lost: {:?}",
        rate * 100.0,
        stormy.sending.len(),
        stormy.sending
    );
    assert_eq!(
        stormy.sending.len(),
        lost,
        "left SENDING: exactly the lost SES answers"
    );
    assert_eq!(
        stormy.email_count,
        stormy.sent_records + lost,
        "{:.0}%: one email per message SENT or lost after SES took it",
        rate * 100.0
    );

    let mut differences = Vec::new();
    for (key, item) in &calm.items {
        if stormy.sending.contains(key) || key.contains("#DAYS|") {
            continue;
        }
        match stormy.items.get(key) {
            Some(other) if other == item => {}
            Some(other) if attributed_to_a_lost_send(key, item, other, &stormy.sending) => {}
            Some(other) => differences.push(format!(
                "{key}:\n  0%:  {item}\n  {:.0}%: {other}",
                rate * 100.0
            )),
            None => differences.push(format!("{key}: only at 0%: {item}")),
        }
    }
    for (key, item) in &stormy.items {
        if !calm.items.contains_key(key) && !key.contains("#DAYS|") {
            differences.push(format!("{key}: only with faults: {item}"));
        }
    }
    let answers_differ: Vec<_> = calm
        .answers
        .iter()
        .filter(|(id, status)| stormy.answers.get(*id) != Some(status))
        .map(|(id, status)| format!("{id}: {status} vs {:?}", stormy.answers.get(id)))
        .collect();
    println!(
        "comparison: {} items at 0%, {} with faults, {} differ ({} killed mid-send left out); \
         {} events answered differently; emails {} vs {}, the same: {}",
        calm.items.len(),
        stormy.items.len(),
        differences.len(),
        stormy.sending.len(),
        answers_differ.len(),
        calm.email_count,
        stormy.email_count,
        calm.emails == stormy.emails
    );
    assert!(
        answers_differ.is_empty(),
        "final answers differ: {answers_differ:#?}"
    );
    assert!(
        differences.is_empty(),
        "{} items differ:\n{}\n{}",
        differences.len(),
        differences.join("\n"),
        trails_of(&differences, &calm, &stormy)
    );
    assert_eq!(calm.emails, stormy.emails, "the emails SES accepted");
    assert!(
        calm.emails.values().all(|n| *n >= 1),
        "sanity: counted emails"
    );
}
