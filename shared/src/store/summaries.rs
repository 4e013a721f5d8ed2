//! Day summaries: the overview's counts for one UTC day of a shop's log, kept in an item per
//! shop and day so that a year's overview reads a few hundred small items instead of the log.
//!
//! A summary is computed by the marketers' pages from the day's log, page by page, and kept
//! only for days that are over ([`cacheable`]). A later change to an item of a past day (a
//! deferred message finished, an SES report of an open or a click) marks the day changed: it
//! bumps `generation` and drops the counts, one small write. A summary is stored only if the
//! generation it read is still there, so a change during the computation is never hidden.

use super::error::condition_applied;
use super::keys::{self, ITEM_KIND};
use super::{Item, Store, StoreError};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{AttributeValue, Update};
use jiff::Timestamp;
use jiff::civil::Date;
use std::collections::BTreeMap;

const GENERATION: &str = "generation";
const CHANGED_AT: &str = "changed_at";
const BASIS: &str = "basis";
const TALLY: &str = "tally";
/// Set on a day whose counters lack a window the stream consumer gave up (`trouw-admin
/// recount`): the day is counted from its log, as a day before the consumer ran.
pub(super) const FROM_LOG: &str = "from_log";

/// The UTC day of the log index an instant falls on.
pub fn log_day_of(at: Timestamp) -> Date {
    at.to_zoned_datetime(jiff::tz::TimeZone::UTC).date()
}

/// Whether a change at `now` to a log item of `day` must mark the day changed: any day before
/// today (UTC). Today's items change all the time and today is never kept.
pub fn marks_day(day: Date, now: Timestamp) -> bool {
    day < log_day_of(now)
}

/// Whether a day's summary may be kept at `now`: days before yesterday (UTC). The day between
/// gives writers whose clock runs a little behind room to see the day as past.
pub fn cacheable(day: Date, now: Timestamp) -> bool {
    log_day_of(now)
        .yesterday()
        .is_ok_and(|yesterday| day < yesterday)
}

/// A summary as read: the generation to store against and, when one was kept, its counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDaySummary {
    pub generation: Option<u64>,
    /// When an item of the day last changed (epoch seconds).
    pub changed_at: Option<i64>,
    /// What the counts were computed for (the day's split, the holdout share) and the counts
    /// (JSON, as the pages wrote them).
    pub kept: Option<(String, String)>,
    /// The counters the stream consumer added as the day's items were written (see
    /// `store::day_counts`); whole only from the shop's `counted_since` day on.
    pub counters: crate::admin::day_counts::Counters,
    /// The counters of this day are not to be trusted (`trouw-admin recount`): it is counted
    /// from the log, and kept, whatever the shop's `counted_since`.
    pub from_log: bool,
}

/// The update that marks a day changed: the next generation, the time, no counts.
pub(crate) fn day_changed(
    table: &str,
    shop: &crate::domain::ShopId,
    day: Date,
    now: Timestamp,
) -> Result<Update, StoreError> {
    Update::builder()
        .table_name(table)
        .set_key(Some(keys::day_summary(shop, day).to_item()))
        .update_expression("ADD #gen :one SET #changed = :now, #item = :item REMOVE #basis, #tally")
        .expression_attribute_names("#gen", GENERATION)
        .expression_attribute_names("#changed", CHANGED_AT)
        .expression_attribute_names("#item", ITEM_KIND)
        .expression_attribute_names("#basis", BASIS)
        .expression_attribute_names("#tally", TALLY)
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .expression_attribute_values(":now", AttributeValue::N(now.as_second().to_string()))
        .expression_attribute_values(":item", AttributeValue::S("day_summary".into()))
        .build()
        .map_err(|e| StoreError::Failed(e.to_string()))
}

impl Store {
    /// Marks a day of the shop's log changed (see [`marks_day`]), on its own.
    pub async fn mark_day_changed(
        &self,
        shop: &crate::domain::ShopId,
        day: Date,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let update = day_changed(self.table(), shop, day, now)?;
        self.client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(update.key))
            .update_expression(update.update_expression)
            .set_expression_attribute_names(update.expression_attribute_names)
            .set_expression_attribute_values(update.expression_attribute_values)
            .send()
            .await
            .map_err(|e| StoreError::from_sdk(&e))?;
        Ok(())
    }

    /// After a change at `now` to a log item of the instant `at`: marks its day changed if it
    /// is a past day (see [`marks_day`]).
    pub async fn mark_log_change(
        &self,
        shop: &crate::domain::ShopId,
        at: Timestamp,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let day = log_day_of(at);
        if marks_day(day, now) {
            self.mark_day_changed(shop, day, now).await?;
        }
        Ok(())
    }

    /// The customer unsubscribed through the link of the email `key`: stamps `unsubscribed_at`
    /// on it once (1 write unit) and marks the email's day changed when it is a past day (1
    /// more; again on a repeat, should the first marking have failed). An unknown email (a
    /// link to one since erased or never written) changes nothing.
    pub async fn record_unsubscribe(
        &self,
        shop: &crate::domain::ShopId,
        customer: &crate::domain::CustomerId,
        key: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let item_key = keys::message(shop, customer, key);
        let Some(message) = self
            .get::<crate::domain::MessageRecord>(&item_key, "message")
            .await?
        else {
            return Ok(());
        };
        if message.unsubscribed_at.is_none() {
            let at = serde_dynamo::to_attribute_value(now)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let stamped = self
                .client()
                .update_item()
                .table_name(self.table())
                .set_key(Some(item_key.to_item()))
                .update_expression("SET unsubscribed_at = :at")
                .condition_expression(
                    "attribute_exists(pk) AND attribute_not_exists(unsubscribed_at)",
                )
                .expression_attribute_values(":at", at)
                .send()
                .await;
            match stamped {
                Ok(_) => {}
                Err(err) if err.code() == Some("ConditionalCheckFailedException") => {}
                Err(err) => return Err(StoreError::from_sdk(&err)),
            }
        }
        self.mark_log_change(shop, message.intent.created_at, now)
            .await
    }

    /// The summaries of the shop's days `first..=last`, by day (one `Query` per MB).
    pub async fn day_summaries(
        &self,
        shop: &crate::domain::ShopId,
        first: Date,
        last: Date,
    ) -> Result<BTreeMap<Date, StoredDaySummary>, StoreError> {
        Ok(self.day_summaries_and_since(shop, first, last).await?.0)
    }

    /// [`Store::day_summaries`], and the first day the stream consumer counted whole if its
    /// note falls in the range (it sorts before every date: a range from [`Date::MIN`] has it).
    pub async fn day_summaries_and_since(
        &self,
        shop: &crate::domain::ShopId,
        first: Date,
        last: Date,
    ) -> Result<(BTreeMap<Date, StoredDaySummary>, Option<Date>), StoreError> {
        let mut found = BTreeMap::new();
        let mut since = None;
        let mut start = None;
        loop {
            let out = self
                .client()
                .query()
                .table_name(self.table())
                .key_condition_expression("pk = :pk AND sk BETWEEN :first AND :last")
                .expression_attribute_values(":pk", AttributeValue::S(keys::day_summaries(shop)))
                .expression_attribute_values(":first", AttributeValue::S(first.to_string()))
                .expression_attribute_values(":last", AttributeValue::S(last.to_string()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| StoreError::from_sdk(&e))?;
            for item in out.items.unwrap_or_default() {
                let sk = item.get(keys::SK).and_then(|v| v.as_s().ok());
                if sk.is_some_and(|sk| sk == super::day_counts::SINCE_KEY) {
                    since = item
                        .get(super::day_counts::SINCE)
                        .and_then(|v| v.as_s().ok())
                        .and_then(|s| s.parse().ok());
                    continue;
                }
                let Some(day) = sk.and_then(|s| s.parse::<Date>().ok()) else {
                    continue;
                };
                found.insert(day, read_summary(&item));
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok((found, since));
            }
        }
    }

    /// Keeps a day's counts, only if the day has not changed since `read` was read. `false`
    /// when it did (the counts are then simply not kept).
    pub async fn keep_day_summary(
        &self,
        shop: &crate::domain::ShopId,
        day: Date,
        read: Option<&StoredDaySummary>,
        basis: &str,
        counts: &str,
    ) -> Result<bool, StoreError> {
        let generation = read.and_then(|r| r.generation).unwrap_or(0);
        // An update, not a put: the item may hold the stream consumer's counters too.
        let mut update = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(keys::day_summary(shop, day).to_item()))
            .expression_attribute_names("#item", ITEM_KIND)
            .expression_attribute_names("#gen", GENERATION)
            .expression_attribute_names("#basis", BASIS)
            .expression_attribute_names("#tally", TALLY)
            .expression_attribute_values(":item", AttributeValue::S("day_summary".into()))
            .expression_attribute_values(":gen", AttributeValue::N(generation.to_string()))
            .expression_attribute_values(":basis", AttributeValue::S(basis.to_owned()))
            .expression_attribute_values(":tally", AttributeValue::S(counts.to_owned()));
        let mut set = "SET #item = :item, #gen = :gen, #basis = :basis, #tally = :tally".to_owned();
        if let Some(changed) = read.and_then(|r| r.changed_at) {
            set.push_str(", #changed = :changed");
            update = update
                .expression_attribute_names("#changed", CHANGED_AT)
                .expression_attribute_values(":changed", AttributeValue::N(changed.to_string()));
        }
        let put = update.update_expression(set).condition_expression(
            match read.and_then(|r| r.generation) {
                None => "attribute_not_exists(#gen)",
                Some(_) => "#gen = :gen",
            },
        );
        condition_applied(put.send().await)
    }
}

fn read_summary(item: &Item) -> StoredDaySummary {
    let number = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<i64>().ok())
    };
    let kept = item
        .get(BASIS)
        .and_then(|v| v.as_s().ok())
        .zip(item.get(TALLY).and_then(|v| v.as_s().ok()))
        .map(|(basis, counts)| (basis.clone(), counts.clone()));
    let counters = item
        .iter()
        .filter(|(name, _)| super::day_counts::is_counter(name))
        .filter_map(|(name, v)| Some((name.clone(), v.as_n().ok()?.parse::<i64>().ok()?)))
        .collect();
    StoredDaySummary {
        generation: number(GENERATION).and_then(|g| u64::try_from(g).ok()),
        changed_at: number(CHANGED_AT),
        kept,
        counters,
        from_log: item
            .get(FROM_LOG)
            .is_some_and(|v| v.as_bool().is_ok_and(|b| *b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_days_before_yesterday_are_kept_and_changes_to_past_days_mark_them() {
        let now: Timestamp = "2026-11-20T00:30:00Z".parse().unwrap();
        let d = |s: &str| s.parse::<Date>().unwrap();
        assert!(cacheable(d("2026-11-18"), now));
        assert!(!cacheable(d("2026-11-19"), now));
        assert!(!cacheable(d("2026-11-20"), now));
        assert!(marks_day(d("2026-11-19"), now));
        assert!(marks_day(d("2026-11-01"), now));
        assert!(!marks_day(d("2026-11-20"), now));
    }
}
