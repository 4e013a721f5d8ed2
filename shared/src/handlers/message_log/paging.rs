//! Reading the log index a day at a time, newest first, and the cursor that says where the
//! next page of the message list starts.

use super::AdminApp;
use crate::domain::ShopId;
use crate::store::{LogEntry, MessageRecord, StoreError};
use base64::Engine;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The log entries (messages and activities) of a shop between two local days, newest first,
/// starting after `cursor`; stops once `want` messages passed `keep` (or the period is read).
/// Returns the entries and the cursor to continue from.
pub(super) async fn read_log(
    app: &AdminApp,
    shop: &ShopId,
    tz: &jiff::tz::TimeZone,
    from: jiff::civil::Date,
    to: jiff::civil::Date,
    cursor: Option<Cursor>,
    want: usize,
    keep: &(dyn Fn(&MessageRecord) -> bool + Sync),
) -> Result<(Vec<LogEntry>, Option<Cursor>), StoreError> {
    let start = tz
        .to_timestamp(from.at(0, 0, 0, 0))
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let end = tz
        .to_timestamp(to.tomorrow().unwrap_or(to).at(0, 0, 0, 0))
        .unwrap_or(jiff::Timestamp::MAX);
    let utc = |t: jiff::Timestamp| t.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
    let (mut day, mut key) = match cursor {
        Some(c) => (c.day, c.key),
        None => (utc(end), None),
    };
    let first_day = utc(start);
    let mut entries = Vec::new();
    let mut kept = 0;
    loop {
        let (page, next) = app.store.log_page(shop, day, key.take(), 100).await?;
        for entry in page {
            let at = match &entry {
                LogEntry::Message(m) => m.intent.created_at,
                LogEntry::Activity(a) => a.activity.at,
            };
            if at < start || at >= end {
                continue;
            }
            if let LogEntry::Message(m) = &entry
                && keep(m)
            {
                kept += 1;
            }
            entries.push(entry);
        }
        match next {
            Some(next) => key = Some(next),
            None => {
                if day <= first_day {
                    return Ok((entries, None));
                }
                day = day.yesterday().unwrap_or(first_day);
            }
        }
        if kept >= want {
            let cursor = match key {
                Some(k) => Cursor { day, key: Some(k) },
                None => Cursor { day, key: None },
            };
            return Ok((entries, Some(cursor)));
        }
    }
}

/// Where the next page of the list starts: a UTC day of the log index and, within it, the key
/// after which to go on.
#[derive(Debug, Clone)]
pub(super) struct Cursor {
    pub(super) day: jiff::civil::Date,
    pub(super) key: Option<crate::store::Item>,
}

impl Cursor {
    pub(super) fn encode(&self) -> String {
        let key: BTreeMap<String, Value> = self
            .key
            .iter()
            .flatten()
            .filter_map(|(name, value)| match value {
                aws_sdk_dynamodb::types::AttributeValue::S(s) => {
                    Some((name.clone(), json!({ "S": s })))
                }
                aws_sdk_dynamodb::types::AttributeValue::N(n) => {
                    Some((name.clone(), json!({ "N": n })))
                }
                _ => None,
            })
            .collect();
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(json!({ "day": self.day.to_string(), "key": key }).to_string())
    }

    pub(super) fn decode(text: &str) -> Option<Cursor> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .ok()?;
        let value: Value = serde_json::from_slice(&bytes).ok()?;
        let day = value["day"].as_str()?.parse().ok()?;
        let map = value["key"].as_object()?;
        let key: crate::store::Item = map
            .iter()
            .filter_map(|(name, v)| {
                let attr = if let Some(s) = v["S"].as_str() {
                    aws_sdk_dynamodb::types::AttributeValue::S(s.to_owned())
                } else {
                    aws_sdk_dynamodb::types::AttributeValue::N(v["N"].as_str()?.to_owned())
                };
                Some((name.clone(), attr))
            })
            .collect();
        Some(Cursor {
            day,
            key: (!key.is_empty()).then_some(key),
        })
    }
}
