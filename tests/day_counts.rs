//! The day counters the stream consumer keeps, against the local table: a shard's window is
//! added once however often it is handed over, shards add up, a kept summary leaves the
//! counters alone, and old watermarks go.

use jiff::Timestamp;
use jiff::civil::Date;
use trouw::admin::day_counts::Counters;
use trouw::store::day_counts::Added;
use trouw_tests::TestStack;

fn counters(pairs: &[(&str, i64)]) -> Counters {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

#[tokio::test]
async fn a_shards_window_is_added_once_and_shards_add_up() {
    let stack = TestStack::start().await;
    let store = stack.store();
    let day: Date = "2026-11-02".parse().unwrap();
    let window = t("2026-11-02T10:05:00Z");
    let long_ago = t("2026-11-01T00:00:00Z");
    let first = counters(&[("b.K.R.c", 2), ("b.K.R.s", 1)]);
    let add = |c: Counters, shard: &'static str, end: Timestamp, forget: Timestamp| {
        let store = store.clone();
        let shop = stack.shop.clone();
        async move {
            store
                .add_day_counts(&shop, day, &c, shard, end, forget)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        add(first.clone(), "shard-1", window, long_ago).await,
        Added::Added
    );
    // The final invocation again (a retry after a later write of it failed): nothing more.
    assert_eq!(
        add(first.clone(), "shard-1", window, long_ago).await,
        Added::AlreadyAdded
    );
    // Another shard's window ending at the same time counts; so does shard 1's next window,
    // with a change that takes one back (a message created pending, now sent).
    assert_eq!(
        add(counters(&[("b.K.R.c", 1)]), "shard-2", window, long_ago).await,
        Added::Added
    );
    let next = t("2026-11-02T10:10:00Z");
    assert_eq!(
        add(
            counters(&[("b.K.R.s", 1), ("b.K.R.d", 1)]),
            "shard-1",
            next,
            long_ago
        )
        .await,
        Added::Added
    );
    let read = store.day_summaries(&stack.shop, day, day).await.unwrap();
    assert_eq!(
        read[&day].counters,
        counters(&[("b.K.R.c", 3), ("b.K.R.s", 2), ("b.K.R.d", 1)])
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
