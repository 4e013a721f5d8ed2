//! A day's counters, kept on the day's summary item as they are written (see
//! `admin::day_counts`): the stream consumer adds each window's counters of a shop and day in
//! one `UpdateItem`, once per shard and window, and notes the first day it counted whole.

use super::keys::{self, ITEM_KIND};
use super::{Store, StoreError};
use crate::admin::day_counts::Counters;
use crate::domain::ShopId;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::AttributeValue;
use jiff::Timestamp;
use jiff::civil::Date;

/// Where a shard's watermark sits on a day's item: `w.` and a hash of the shard's id (ids run
/// to 65 characters; eight hex digits keep the item small).
fn watermark_name(shard: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(shard.as_bytes());
    let hex: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("{WATERMARK_PREFIX}{hex}")
}

const WATERMARK_PREFIX: &str = "w.";
/// The note's sort key: before every date in the shop's day items (so the overview's `Query`
/// from the first day on reads it with them), and no date itself.
pub(crate) const SINCE_KEY: &str = "0000-since";
pub(crate) const SINCE: &str = "since";

/// Whether an attribute of a day's item is a counter (`a.…` or `b.…`).
pub fn is_counter(name: &str) -> bool {
    name.starts_with("a.") || name.starts_with("b.")
}

/// What adding a window's counters came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    Added,
    /// This shard's watermark is at or past the window already: added before.
    AlreadyAdded,
}

impl Store {
    /// Adds the counters a shard folded (up to its record `last`, a zero-padded sequence
    /// number) for a shop's day, unless that shard added them already: `ADD` of the counters
    /// and the shard's watermark set to `{last}|{window_end}`, on condition that the watermark
    /// was below it (sequence numbers of a shard only grow; the window's end lets old marks be
    /// found). Watermarks of windows that ended before `forget_before` (no record of theirs
    /// can come again) are removed on the way, so the item keeps only the last day's shards.
    // The shard's place (shard, last record, window end) is three values on purpose: a struct
    // would only rename them.
    #[allow(clippy::too_many_arguments)]
    pub async fn add_day_counts(
        &self,
        shop: &ShopId,
        day: Date,
        counters: &Counters,
        shard: &str,
        last: &str,
        window_end: Timestamp,
        forget_before: Timestamp,
    ) -> Result<Added, StoreError> {
        let key = keys::day_summary(shop, day).to_item();
        let mark = watermark_name(shard);
        let new_mark = format!("{last}|{}", window_end.as_second());
        // The marks already there, from an eventually consistent read: an old one missed is
        // removed later, and a mark of this shard missed only costs the conditional write.
        let item = self
            .client()
            .get_item()
            .table_name(self.table())
            .set_key(Some(key.clone()))
            .send()
            .await
            .map_err(|e| StoreError::from_sdk(&e))?
            .item
            .unwrap_or_default();
        if item
            .get(&mark)
            .and_then(|v| v.as_s().ok())
            .is_some_and(|there| *there >= new_mark)
        {
            return Ok(Added::AlreadyAdded);
        }
        let stale: Vec<String> = item
            .into_iter()
            .filter(|(name, value)| {
                name.starts_with(WATERMARK_PREFIX)
                    && *name != mark
                    && value
                        .as_s()
                        .ok()
                        .and_then(|mark| mark.rsplit_once('|'))
                        .and_then(|(_, end)| end.parse::<i64>().ok())
                        .is_some_and(|end| end < forget_before.as_second())
            })
            .map(|(name, _)| name)
            .collect();
        let mut update = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key))
            .condition_expression("attribute_not_exists(#w) OR #w < :mark")
            .expression_attribute_names("#w", &mark)
            .expression_attribute_names("#item", ITEM_KIND)
            .expression_attribute_values(":mark", AttributeValue::S(new_mark))
            .expression_attribute_values(":kind", AttributeValue::S("day_summary".into()));
        let mut adds = Vec::new();
        for (i, (name, n)) in counters.iter().filter(|(_, n)| **n != 0).enumerate() {
            adds.push(format!("#c{i} :c{i}"));
            update = update
                .expression_attribute_names(format!("#c{i}"), name)
                .expression_attribute_values(format!(":c{i}"), AttributeValue::N(n.to_string()));
        }
        let mut expression = "SET #w = :mark, #item = if_not_exists(#item, :kind)".to_owned();
        if !adds.is_empty() {
            expression.push_str(" ADD ");
            expression.push_str(&adds.join(", "));
        }
        if !stale.is_empty() {
            let names: Vec<String> = (0..stale.len()).map(|i| format!("#s{i}")).collect();
            for (placeholder, name) in names.iter().zip(&stale) {
                update = update.expression_attribute_names(placeholder, name);
            }
            expression.push_str(" REMOVE ");
            expression.push_str(&names.join(", "));
        }
        match update.update_expression(expression).send().await {
            Ok(_) => Ok(Added::Added),
            Err(err) if err.code() == Some("ConditionalCheckFailedException") => {
                Ok(Added::AlreadyAdded)
            }
            Err(err) => Err(StoreError::from_sdk(&err)),
        }
    }

    /// Notes that the shop's counters are whole from `day` on, unless an earlier day was noted.
    pub async fn note_counted_since(&self, shop: &ShopId, day: Date) -> Result<(), StoreError> {
        self.client()
            .update_item()
            .table_name(self.table())
            .key(keys::PK, AttributeValue::S(keys::day_summaries(shop)))
            .key(keys::SK, AttributeValue::S(SINCE_KEY.into()))
            .update_expression("SET #since = if_not_exists(#since, :day)")
            .expression_attribute_names("#since", SINCE)
            .expression_attribute_values(":day", AttributeValue::S(day.to_string()))
            .send()
            .await
            .map_err(|e| StoreError::from_sdk(&e))?;
        Ok(())
    }

    /// The repair after the counter gave up a window (its failure queue's alarm): the days
    /// `first..=last` of the shop are counted from their log on their next view, and kept, as
    /// days before the counter first ran are; their counters are left to be ignored. One
    /// small write per day; the number of days marked.
    pub async fn count_from_log(
        &self,
        shop: &ShopId,
        first: Date,
        last: Date,
    ) -> Result<usize, StoreError> {
        let mut marked = 0;
        for day in first
            .series(jiff::Span::new().days(1))
            .take_while(|d| *d <= last)
        {
            self.client()
                .update_item()
                .table_name(self.table())
                .key(keys::PK, AttributeValue::S(keys::day_summaries(shop)))
                .key(keys::SK, AttributeValue::S(day.to_string()))
                .update_expression("SET #from_log = :yes")
                .expression_attribute_names("#from_log", super::summaries::FROM_LOG)
                .expression_attribute_values(":yes", AttributeValue::Bool(true))
                .send()
                .await
                .map_err(|e| StoreError::from_sdk(&e))?;
            marked += 1;
        }
        Ok(marked)
    }

    /// The first day from which the shop's counters are whole, if the consumer has seen it.
    pub async fn counted_since(&self, shop: &ShopId) -> Result<Option<Date>, StoreError> {
        let item = self
            .client()
            .get_item()
            .table_name(self.table())
            .key(keys::PK, AttributeValue::S(keys::day_summaries(shop)))
            .key(keys::SK, AttributeValue::S(SINCE_KEY.into()))
            .send()
            .await
            .map_err(|e| StoreError::from_sdk(&e))?
            .item;
        Ok(item
            .as_ref()
            .and_then(|i| i.get(SINCE))
            .and_then(|v| v.as_s().ok())
            .and_then(|s| s.parse().ok()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shards_watermark_is_a_short_name_of_its_own() {
        let a = watermark_name("shardId-00000001414562045508-2bac9cd2");
        let b = watermark_name("shardId-00000001414576573621-f55eea83");
        assert_ne!(a, b);
        assert_eq!(a.len(), 10);
        assert!(!is_counter(&a) && is_counter("a.K.R.s") && is_counter("b.N.p"));
    }
}
