//! The day counters the stream consumer keeps, against the local table: a shard's window is
//! added once however often it is handed over, shards add up, a kept summary leaves the
//! counters alone, and old watermarks go.

use jiff::Timestamp;
use jiff::civil::Date;
use trouw::admin::day_counts::Counters;
use trouw::store::day_counts::Added;
use trouw_tests::bench_overview::{seed_year, year_overview_answer};
use trouw_tests::fault::{Fault, FaultProxy};
use trouw_tests::{Item, StackOptions, TestStack, example, local_aws, unique};

fn counters(pairs: &[(&str, i64)]) -> Counters {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// Places an order of a new customer: its points message is one item the counter counts.
async fn order(stack: &TestStack) {
    let mut placed = example("order-placed");
    placed["customer"]["id"] = serde_json::json!(unique("cus"));
    placed["order"]["id"] = serde_json::json!(unique("order"));
    assert_eq!(stack.post("order-placed", &placed).await.status, 200);
}

/// Every day's counters of the stack's shop.
async fn all_counters(stack: &TestStack) -> Vec<Counters> {
    let days = stack
        .store()
        .day_summaries(&stack.shop, Date::MIN, Date::MAX)
        .await
        .unwrap();
    days.into_values().map(|d| d.counters).collect()
}

#[tokio::test]
async fn a_shards_window_is_added_once_and_shards_add_up() {
    let stack = TestStack::start().await;
    let store = stack.store();
    let day: Date = "2026-11-02".parse().unwrap();
    let window = t("2026-11-02T10:05:00Z");
    let long_ago = t("2026-11-01T00:00:00Z");
    let first = counters(&[("b.K.R.c", 2), ("b.K.R.s", 1)]);
    // Each call: a shard's counters up to its record `last` in the window ending `end`.
    let add = |c: Counters, shard: &'static str, last: u64, end: Timestamp, forget: Timestamp| {
        let store = store.clone();
        let shop = stack.shop.clone();
        async move {
            store
                .add_day_counts(&shop, day, &c, shard, &format!("{last:0>40}"), end, forget)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        add(first.clone(), "shard-1", 100, window, long_ago).await,
        Added::Added
    );
    // The final invocation again (a retry after a later write of it failed): nothing more.
    assert_eq!(
        add(first.clone(), "shard-1", 100, window, long_ago).await,
        Added::AlreadyAdded
    );
    // Another shard's window ending at the same time counts (its sequence numbers are its
    // own); so does shard 1's next window.
    assert_eq!(
        add(counters(&[("b.K.R.c", 1)]), "shard-2", 50, window, long_ago).await,
        Added::Added
    );
    let next = t("2026-11-02T10:10:00Z");
    // A window that Lambda ended early goes on with a fresh state: same end, later record.
    assert_eq!(
        add(counters(&[("b.K.R.c", 1)]), "shard-2", 60, window, long_ago).await,
        Added::Added
    );
    assert_eq!(
        add(
            counters(&[("b.K.R.s", 1), ("b.K.R.d", 1)]),
            "shard-1",
            180,
            next,
            long_ago
        )
        .await,
        Added::Added
    );
    let read = store.day_summaries(&stack.shop, day, day).await.unwrap();
    assert_eq!(
        read[&day].counters,
        counters(&[("b.K.R.c", 4), ("b.K.R.s", 2), ("b.K.R.d", 1)])
    );

    // The overview keeps its summary of the day on the same item: the counters stay.
    assert!(
        store
            .keep_day_summary(
                &stack.shop,
                day,
                read.get(&day),
                "v5 split=0 holdout=0",
                "{}"
            )
            .await
            .unwrap()
    );
    let read = store.day_summaries(&stack.shop, day, day).await.unwrap();
    assert_eq!(read[&day].counters.len(), 3);
    assert!(read[&day].kept.is_some());

    // A day later the watermarks of windows that ended long before are removed; the shard
    // that writes keeps its own.
    let later = t("2026-11-03T12:00:00Z");
    assert_eq!(
        add(
            counters(&[("a.K.R.o", 1)]),
            "shard-3",
            900,
            later,
            t("2026-11-03T00:00:00Z")
        )
        .await,
        Added::Added
    );
    let item = stack
        .snapshot()
        .await
        .into_iter()
        .find(|i| {
            i["pk"].as_s().unwrap().ends_with("#DAYS") && i["sk"].as_s().unwrap() == "2026-11-02"
        })
        .unwrap();
    let marks: Vec<&String> = item.keys().filter(|k| k.starts_with("w.")).collect();
    assert_eq!(marks.len(), 1, "{item:?}");
}

#[tokio::test]
async fn the_first_day_counted_whole_is_noted_once() {
    let stack = TestStack::start().await;
    let store = stack.store();
    assert_eq!(store.counted_since(&stack.shop).await.unwrap(), None);
    let (first, second): (Date, Date) =
        ("2026-11-03".parse().unwrap(), "2026-11-09".parse().unwrap());
    store.note_counted_since(&stack.shop, first).await.unwrap();
    store.note_counted_since(&stack.shop, second).await.unwrap();
    assert_eq!(store.counted_since(&stack.shop).await.unwrap(), Some(first));
    // The note is no day of the summaries' range.
    let all = store
        .day_summaries(&stack.shop, Date::MIN, "2026-12-31".parse().unwrap())
        .await
        .unwrap();
    assert!(all.is_empty(), "{all:?}");
}

/// The bound does not depend on how many messages a day holds: three a day for a year are
/// enough to show the overview reads the days' counters and no log (`make bench` seeds the
/// 100,000 of a big shop's year and times the overview).
#[tokio::test]
async fn a_years_overview_reads_one_item_per_day_from_the_counters() {
    let stack = TestStack::start_with(StackOptions {
        with_counter: true,
        ..Default::default()
    })
    .await;
    // The counter reads the seeded items off the stream like any write: it sees every one of
    // them, though they carry past days. What it notes on first seeing a shop (the day after,
    // as it cannot know what was written before it ran) is set to the year's first day by the
    // seeding, as for a shop whose whole log the counter saw.
    let messages = 3 * 365;
    let (first, today) = seed_year(&stack, messages).await;
    stack.settle().await;

    let (answer, requests, ms) = year_overview_answer(&stack, first, today).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let json: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    let reactivation = json["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == "reactivation")
        .cloned()
        .unwrap_or_else(|| panic!("{json}"));
    assert_eq!(reactivation["sent"], 2 * messages / 3, "{json}");
    assert_eq!(reactivation["delivered"], 2 * messages / 3);
    assert_eq!(
        json["skips"],
        serde_json::json!([{ "reason": "frequency_cap", "count": messages / 3 }])
    );
    // The day items (one per day and the note) are all the overview reads of the shop's
    // figures: a handful of requests (the session, the settings, the note, the days' Query,
    // the pools), not a Query of the log per day.
    let kept: Vec<Item> = stack
        .snapshot()
        .await
        .into_iter()
        .filter(|i| i["pk"].as_s().unwrap().ends_with("#DAYS"))
        .collect();
    assert!(kept.len() <= 400, "{} day items", kept.len());
    assert!(
        requests <= 12,
        "{requests} DynamoDB requests for a year's overview"
    );
    assert!(ms < 2000.0, "{ms} ms");
}

/// The counter's store through `proxy`, without the SDK's own retries, and the template's
/// mapping in front of it with brief pauses between its retries.
async fn counter_through(
    stack: &TestStack,
    proxy: &FaultProxy,
) -> (trouw_local::stream::MappingHandle, u32) {
    let mut counter = stack.counter_app();
    counter.store =
        stack.store_through(trouw_local::functions::Function::CountDays, &proxy.endpoint);
    let mut settings = trouw_local::stream::MappingSettings::from_repository_for(
        trouw_local::stream::COUNTER_FUNCTION,
        trouw_local::stream::COUNTER_EVENT,
    )
    .unwrap();
    let retries = settings
        .maximum_retry_attempts
        .expect("the template bounds the retries");
    settings.retry_backoff = std::time::Duration::from_millis(5);
    settings.retry_backoff_max = std::time::Duration::from_millis(20);
    (stack.count_to(counter, settings).await, retries)
}

/// `POST /dev/settle` (what the contract test calls before it compares the table around a GET)
/// also ends the counter's open window and waits for its counts: otherwise a window closing on
/// its own clock writes the day item in the middle of the comparison.
#[tokio::test]
async fn dev_settle_waits_for_the_day_counters() {
    let stack = TestStack::start_with(StackOptions {
        with_counter: true,
        ..Default::default()
    })
    .await;
    order(&stack).await;
    let answer = stack
        .send(
            http::Request::post(format!("{}/dev/settle", stack.base_url))
                .body(Default::default())
                .unwrap(),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let counted = all_counters(&stack).await;
    assert_eq!(counted.len(), 1, "the order's day, counted: {counted:?}");
    assert!(counted[0].values().any(|n| *n > 0), "{counted:?}");
}

/// A window whose counts cannot be added (the table throttles every write of the counter)
/// is retried as the template says and then given up: Lambda's invocation record goes to
/// `CounterFailureQueue` with count-days' own role, where its alarm sees it.
#[tokio::test]
async fn a_window_the_counter_cannot_add_ends_in_its_failure_queue() {
    let stack = TestStack::start().await;
    let proxy = FaultProxy::start(&local_aws().endpoint).await;
    proxy.set("UpdateItem", Fault::Throttle);
    let (mapping, retries) = counter_through(&stack, &proxy).await;
    order(&stack).await;
    mapping
        .settle(std::time::Duration::from_secs(30))
        .await
        .unwrap();

    assert_eq!(mapping.given_up(), 1);
    assert!(all_counters(&stack).await.is_empty(), "nothing was added");
    let records = stack
        .take_queue_records(&stack.counter_failure_queue().await)
        .await;
    assert_eq!(records.len(), 1, "{records:?}");
    let record = &records[0];
    assert_eq!(
        record["requestContext"]["condition"],
        "RetryAttemptsExhausted"
    );
    assert_eq!(
        record["requestContext"]["approximateInvokeCount"],
        retries + 1
    );
    assert_eq!(
        record["requestContext"]["functionArn"]
            .as_str()
            .unwrap_or_default()
            .rsplit(':')
            .next(),
        Some("count-days"),
        "{record}"
    );
    assert!(
        record["responseContext"].get("functionError").is_some(),
        "the counter failed: {record}"
    );
    assert!(stack.take_iam_denials().is_empty());
}

/// Sends a customer's pending messages as the sender does.
async fn order_and_send(stack: &TestStack, customer: &str) {
    let mut placed = example("order-placed");
    placed["customer"]["id"] = serde_json::json!(customer);
    placed["customer"]["email"] = serde_json::json!(format!("{}@example.nl", unique("klant")));
    placed["order"]["id"] = serde_json::json!(unique("order"));
    assert_eq!(stack.post("order-placed", &placed).await.status, 200);
    let sender = stack.sender(stack.clock(), None).await;
    let customer = trouw::domain::CustomerId::parse(customer).unwrap();
    trouw::handlers::send_messages::deliver_pending(&sender, &stack.shop, &customer)
        .await
        .unwrap();
}

/// The emails the overview of `day` counts as sent, over every kind.
async fn sent_on(stack: &TestStack, day: Date) -> u64 {
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        trouw_tests::ADMIN_USER,
        trouw_tests::ADMIN_PASSWORD
    ));
    let request = http::Request::get(format!(
        "{}/admin?from={day}&to={day}&format=json",
        stack.base_url
    ))
    .header("authorization", format!("Basic {basic}"))
    .body(Default::default())
    .unwrap();
    let answer = stack.send(request).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let json: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    json["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["sent"].as_u64().unwrap_or(0))
        .sum()
}

/// The README's repair after `CounterFailureQueueAlarm` (`trouw-admin recount`): the days the
/// given-up window touched are counted from the log again, so what the window held is back on
/// the overview; the counters go on serving every other day.
#[tokio::test]
async fn a_day_the_counter_lost_a_window_of_is_whole_again_after_the_recount() {
    let stack = TestStack::start().await;
    // The shop's day lies after the counter's first whole day (the day after its first
    // window), as every day does once it has run a day.
    let now = Timestamp::now() + jiff::SignedDuration::from_hours(72);
    let day = now.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
    stack.set_now(t(&format!("{day}T10:00:00Z")));
    let proxy = FaultProxy::start(&local_aws().endpoint).await;
    let (mapping, _) = counter_through(&stack, &proxy).await;
    order_and_send(&stack, &unique("cus-a")).await;
    mapping
        .settle(std::time::Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(sent_on(&stack, day).await, 1);

    // The table refuses the counter long enough for it to give the next window up.
    proxy.set("UpdateItem", Fault::Throttle);
    order_and_send(&stack, &unique("cus-b")).await;
    mapping
        .settle(std::time::Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(mapping.given_up(), 1);
    assert_eq!(
        sent_on(&stack, day).await,
        1,
        "the lost window's email is missing"
    );
    proxy.clear();

    let store = stack.store();
    let since = store.counted_since(&stack.shop).await.unwrap();
    assert!(since.is_some_and(|s| s <= day), "{since:?}");
    assert_eq!(
        store.count_from_log(&stack.shop, day, day).await.unwrap(),
        1
    );
    assert_eq!(sent_on(&stack, day).await, 2, "counted from the log");
    // Only the marked day: the counters still serve the others.
    assert_eq!(store.counted_since(&stack.shop).await.unwrap(), since);
    // The day is counted from the log from now on: what comes later counts too.
    order_and_send(&stack, &unique("cus-c")).await;
    mapping
        .settle(std::time::Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(sent_on(&stack, day).await, 3);
}
