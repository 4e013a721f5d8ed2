//! Reading the log index a day at a time, newest first, from and to the cursor that says where
//! the next page of the message list (or the next part of a download) starts (`admin::cursor`).

use super::AdminApp;
pub(super) use crate::admin::cursor::{Cursor, Period};
use crate::admin::cursor::{KeyValue, LogKey};
use crate::domain::{MessageRecord, ShopId};
use crate::store::{Item, LogEntry, StoreError};
use aws_sdk_dynamodb::types::AttributeValue;

/// The most log items one request reads: a rare filter over a long period answers with what it
/// found so far and a cursor, instead of running into Lambda's time limit.
pub(super) const MAX_ITEMS_READ: usize = 20_000;

/// How much one answer takes: messages that pass the filter, each weighing `weight` (1 for a
/// row of the page, its size in bytes for a download), until `limit`.
pub(super) struct Budget<'a> {
    pub(super) limit: usize,
    pub(super) weight: &'a (dyn Fn(&MessageRecord) -> usize + Sync),
    /// Items per read of the log index (DynamoDB stops at 1 MB anyway): a page of the list
    /// needs few, a download many.
    pub(super) page: i32,
}

/// The messages of a shop in a period that pass `keep`, newest first, starting after `cursor`,
/// until the budget is spent (at least one row) or `MAX_ITEMS_READ` items were read. Returns
/// them and the cursor to continue from; only the messages taken are held.
pub(super) async fn read_log(
    app: &AdminApp,
    shop: &ShopId,
    period: &Period,
    cursor: Option<Cursor>,
    keep: &(dyn Fn(&MessageRecord) -> bool + Sync),
    budget: &Budget<'_>,
) -> Result<(Vec<MessageRecord>, Option<Cursor>), StoreError> {
    let (mut day, mut key) = match cursor {
        Some(c) => (c.day, c.key.map(start_key)),
        None => (period.last_day, None),
    };
    let mut taken: Vec<MessageRecord> = Vec::new();
    let mut used = 0_usize;
    let mut read = 0_usize;
    loop {
        let (page, next) = app
            .store
            .log_page(shop, day, key.take(), budget.page)
            .await?;
        read += page.len();
        for entry in page {
            let LogEntry::Message(m) = entry else {
                continue;
            };
            let m = Box::new((*m).seen_at(app.clock.now()));
            if !period.holds(m.intent.created_at) || !keep(&m) {
                continue;
            }
            let weight = (budget.weight)(&m);
            if let Some(last) = taken.last()
                && used + weight > budget.limit
            {
                // Full: the next answer starts just after the last message taken.
                let cursor = Cursor::after(shop, last);
                return Ok((taken, Some(cursor)));
            }
            used += weight;
            taken.push(*m);
        }
        match next {
            Some(next) => key = Some(next),
            None => {
                if day <= period.first_day {
                    return Ok((taken, None));
                }
                day = day.yesterday().unwrap_or(period.first_day);
            }
        }
        if used >= budget.limit || read >= MAX_ITEMS_READ {
            let key = key.map(cursor_key);
            return Ok((taken, Some(Cursor { day, key })));
        }
    }
}

/// The exclusive start key of a query of the log index, from a cursor's key.
fn start_key(key: LogKey) -> Item {
    key.into_iter()
        .map(|(name, value)| match value {
            KeyValue::S(s) => (name, AttributeValue::S(s)),
            KeyValue::N(n) => (name, AttributeValue::N(n)),
        })
        .collect()
}

/// A cursor's key, from the last key a query of the log index evaluated (its attributes are
/// all strings and numbers).
fn cursor_key(item: Item) -> LogKey {
    item.into_iter()
        .filter_map(|(name, value)| match value {
            AttributeValue::S(s) => Some((name, KeyValue::S(s))),
            AttributeValue::N(n) => Some((name, KeyValue::N(n))),
            _ => None,
        })
        .collect()
}
