//! `count-days`: keeps the overview's day counters as the table is written. It reads the
//! table's stream (both images) in tumbling windows: every batch of a window is folded into
//! the window's state (the counters per shop and day, see `admin::day_counts`, and the last
//! sequence number folded, so a record handed over twice within a window counts once); the
//! window's final invocation adds each shop's day once (`Store::add_day_counts`: a watermark
//! per shard on the day's item, in the same conditional update, so a retried final invocation
//! adds nothing twice). A record that cannot be read is skipped, logged with its key and the
//! kind of error, and counted; the window goes on.

use crate::admin::day_counts::{self, Counted, Counters, ShopRules};
use crate::admin::overview::local_midnight_in;
use crate::domain::{
    ActivityRecord, CustomerId, LedgerEntry, MessageRecord, Order, ShopId, is_held_out,
};
use crate::shops::ShopDirectory;
use crate::store::keys::{self, ITEM_KIND};
use crate::store::{Store, StoreError};
use aws_lambda_events::event::dynamodb::{EventRecord, TimeWindowEvent, TimeWindowEventResponse};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use lambda_runtime::LambdaEvent;
use std::collections::{BTreeMap, HashMap};

/// Watermarks of windows that ended longer ago than this are removed: the mapping gives up a
/// record after a day (`MaximumRecordAgeInSeconds`), so none of theirs comes again.
const FORGET_AFTER: SignedDuration = SignedDuration::from_hours(48);

/// The state's keys.
const COUNTS: &str = "counts";
const LAST: &str = "last";
const SKIPPED: &str = "skipped";

pub struct CounterApp {
    pub store: Store,
    pub shops: ShopDirectory,
    /// Shops whose first day counted whole is noted already (read once per container).
    pub noted: std::sync::Mutex<std::collections::HashSet<ShopId>>,
}

impl CounterApp {
    /// Builds the consumer from the environment, as the Lambda main does: `TABLE_NAME`.
    pub async fn from_env() -> Result<Self, lambda_runtime::Error> {
        let config = crate::config::Config::from_env()?;
        let sdk = crate::config::aws_sdk_config().await;
        let store = Store::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            config.table_name.clone(),
        );
        Ok(CounterApp {
            shops: ShopDirectory::settings_only(store.clone(), config.settings_cache),
            store,
            noted: Default::default(),
        })
    }
}

/// A window's counts so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WindowState {
    /// By shop and day.
    pub counts: BTreeMap<(ShopId, Date), Counters>,
    /// The last record folded (its sequence number, zero-padded to compare as text).
    pub last: Option<String>,
    /// Records skipped because they could not be read.
    pub skipped: u64,
}

impl WindowState {
    pub fn from_state(state: &HashMap<String, String>) -> WindowState {
        let counts: BTreeMap<String, Counters> = state
            .get(COUNTS)
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default();
        WindowState {
            counts: counts
                .into_iter()
                .filter_map(|(key, counters)| {
                    let (shop, day) = key.rsplit_once('|')?;
                    Some(((ShopId::parse(shop).ok()?, day.parse().ok()?), counters))
                })
                .collect(),
            last: state.get(LAST).cloned(),
            skipped: state.get(SKIPPED).and_then(|s| s.parse().ok()).unwrap_or(0),
        }
    }

    pub fn to_state(&self) -> HashMap<String, String> {
        let counts: BTreeMap<String, &Counters> = self
            .counts
            .iter()
            .map(|((shop, day), c)| (format!("{shop}|{day}"), c))
            .collect();
        let mut state = HashMap::new();
        state.insert(
            COUNTS.to_owned(),
            serde_json::to_string(&counts).unwrap_or_default(),
        );
        if let Some(last) = &self.last {
            state.insert(LAST.to_owned(), last.clone());
        }
        state.insert(SKIPPED.to_owned(), self.skipped.to_string());
        state
    }

    /// Folds the records in, skipping those folded before (at or below `last`).
    pub fn fold(&mut self, records: &[EventRecord], rules: &dyn ShopRules) {
        for record in records {
            let sequence = padded(record.change.sequence_number.as_deref().unwrap_or(""));
            if self.last.as_ref().is_some_and(|last| sequence <= *last) {
                continue;
            }
            match images(record) {
                Ok((before, after)) => {
                    let changed = day_counts::change(
                        before.as_ref().map(Image::counted),
                        after.as_ref().map(Image::counted),
                        rules,
                    );
                    for (day, counters) in changed {
                        day_counts::add(self.counts.entry(day).or_default(), &counters);
                    }
                }
                Err(kind) => {
                    self.skipped += 1;
                    tracing::warn!(
                        key = %record_key(record),
                        error = kind,
                        "stream record not counted; skipped"
                    );
                }
            }
            self.last = Some(sequence);
        }
        self.counts.retain(|_, c| !c.is_empty());
    }
}

/// A sequence number as text that orders as the number does (they run to 40 digits).
fn padded(sequence: &str) -> String {
    format!("{sequence:0>40}")
}

/// The record's item key, for logs: the partition and sort key, which hold ids, never an
/// address.
fn record_key(record: &EventRecord) -> String {
    let text = |name: &str| match record.change.keys.get(name) {
        Some(serde_dynamo::AttributeValue::S(s)) => s.clone(),
        _ => String::new(),
    };
    format!("{} / {}", text(keys::PK), text(keys::SK))
}

/// An item the overview counts, as read from an image.
enum Image {
    Message(Box<MessageRecord>),
    Activity(ActivityRecord),
    Ledger(ShopId, LedgerEntry),
    Answer(ShopId, crate::domain::SurveyAnswer),
}

impl Image {
    fn counted(&self) -> Counted<'_> {
        match self {
            Image::Message(m) => Counted::Message(m),
            Image::Activity(a) => Counted::Activity(a),
            Image::Ledger(shop, entry) => Counted::Ledger { shop, entry },
            Image::Answer(shop, answer) => Counted::Answer {
                shop,
                answer: *answer,
            },
        }
    }
}

type Images = (Option<Image>, Option<Image>);

/// The record's item before and after, as far as the overview counts it.
fn images(record: &EventRecord) -> Result<Images, &'static str> {
    Ok((
        image(&record.change.old_image)?,
        image(&record.change.new_image)?,
    ))
}

fn image(item: &serde_dynamo::Item) -> Result<Option<Image>, &'static str> {
    let kind = match item.get(ITEM_KIND) {
        Some(serde_dynamo::AttributeValue::S(kind)) => kind.as_str(),
        _ => return Ok(None),
    };
    let shop = || match item.get(keys::PK) {
        Some(serde_dynamo::AttributeValue::S(pk)) => keys::parse_customer_partition(pk)
            .map(|(shop, _)| shop)
            .ok_or("key"),
        _ => Err("key"),
    };
    Ok(match kind {
        "message" => Some(Image::Message(Box::new(
            serde_dynamo::from_item(item.clone()).map_err(|_| "message")?,
        ))),
        "activity" => Some(Image::Activity(
            serde_dynamo::from_item(item.clone()).map_err(|_| "activity")?,
        )),
        "ledger_entry" => Some(Image::Ledger(
            shop()?,
            serde_dynamo::from_item(item.clone()).map_err(|_| "ledger_entry")?,
        )),
        "order" => {
            let order: Order = serde_dynamo::from_item(item.clone()).map_err(|_| "order")?;
            match order.survey_answer {
                Some(answer) => Some(Image::Answer(shop()?, answer)),
                None => None,
            }
        }
        _ => None,
    })
}

/// The shops' time zones and holdout shares, as their settings say.
struct Rules(HashMap<ShopId, (TimeZone, u8)>);

impl ShopRules for Rules {
    fn split(&self, shop: &ShopId, day: Date) -> Option<Timestamp> {
        let tz = self.0.get(shop).map_or(TimeZone::UTC, |(tz, _)| tz.clone());
        local_midnight_in(day, &tz)
    }

    fn held_out(&self, shop: &ShopId, customer: &CustomerId) -> bool {
        let percent = self.0.get(shop).map_or(0, |(_, p)| *p);
        is_held_out(shop, customer, percent)
    }
}

async fn rules_for(app: &CounterApp, records: &[EventRecord]) -> Result<Rules, StoreError> {
    let mut rules = HashMap::new();
    for record in records {
        let Some(serde_dynamo::AttributeValue::S(pk)) = record.change.keys.get(keys::PK) else {
            continue;
        };
        let Some((shop, _)) = keys::parse_customer_partition(pk) else {
            continue;
        };
        if rules.contains_key(&shop) {
            continue;
        }
        let settings = app.shops.get(&shop).await?;
        let tz = settings
            .as_ref()
            .and_then(|s| TimeZone::get(&s.settings.time_zone).ok())
            .unwrap_or(TimeZone::UTC);
        let percent = settings.as_ref().map_or(0, |s| s.settings.holdout_percent);
        rules.insert(shop, (tz, percent));
    }
    Ok(Rules(rules))
}

/// The Lambda entry point (a tumbling window's invocation).
pub async fn handle(
    app: &CounterApp,
    event: LambdaEvent<TimeWindowEvent>,
) -> Result<TimeWindowEventResponse, lambda_runtime::Error> {
    let window = &event.payload.time_window_properties;
    let records = &event.payload.dynamo_db_event.records;
    let mut state = WindowState::from_state(&window.state);
    let rules = rules_for(app, records).await?;
    state.fold(records, &rules);
    let mut response = TimeWindowEventResponse::default();
    if !(window.is_final_invoke_for_window || window.is_window_terminated_early) {
        response.time_window_event_response_properties.state = state.to_state();
        return Ok(response);
    }
    let shard = window.shard_id.clone().unwrap_or_default();
    let Some(last) = state.last.clone() else {
        return Ok(response);
    };
    let end = Timestamp::from_second(window.window.end.timestamp()).unwrap_or(Timestamp::MAX);
    // Marks are reckoned in the stream's time (windows' ends), not the shop's clock.
    let forget_before = end.checked_sub(FORGET_AFTER).unwrap_or(Timestamp::MIN);
    let start = Timestamp::from_second(window.window.start.timestamp()).unwrap_or(end);
    let since = crate::store::summaries::log_day_of(start)
        .tomorrow()
        .unwrap_or(Date::MAX);
    // Every day is tried, so that one failing write does not hold back the others; the
    // invocation fails if any did, and Lambda's retry adds only what is still missing.
    let mut failed = 0;
    for ((shop, day), counters) in &state.counts {
        let place = (shard.as_str(), last.as_str(), (end, forget_before));
        if let Err(err) = add_day(app, shop, *day, counters, place, since).await {
            failed += 1;
            tracing::warn!(shop = %shop, day = %day, error = %err, "day counts not added yet");
        }
    }
    if failed > 0 {
        return Err(format!("{failed} days' counts not added; the window is retried").into());
    }
    tracing::info!(
        days = state.counts.len(),
        skipped = state.skipped,
        "window's day counts added"
    );
    // Counted for the alarm on records left uncounted (each is logged with its key above).
    crate::telemetry::emit_metrics(
        "count-days",
        &[("DayCountRecordsSkipped", state.skipped)],
        end,
    );
    Ok(response)
}

/// Adds one shop's day of the window (and notes the shop's first whole day, once per
/// container).
async fn add_day(
    app: &CounterApp,
    shop: &ShopId,
    day: Date,
    counters: &Counters,
    (shard, last, (end, forget_before)): (&str, &str, (Timestamp, Timestamp)),
    since: Date,
) -> Result<(), StoreError> {
    let known = app.noted.lock().is_ok_and(|noted| noted.contains(shop));
    if !known {
        if app.store.counted_since(shop).await?.is_none() {
            app.store.note_counted_since(shop, since).await?;
        }
        if let Ok(mut noted) = app.noted.lock() {
            noted.insert(shop.clone());
        }
    }
    app.store
        .add_day_counts(shop, day, counters, shard, last, end, forget_before)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests;
