//! Reading the log index a day at a time, newest first, and the cursor that says where the
//! next page of the message list (or the next part of a download) starts.

use super::AdminApp;
use crate::domain::{MessageRecord, ShopId};
use crate::store::{Item, LogEntry, StoreError, keys};
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The most log items one request reads: a rare filter over a long period answers with what it
/// found so far and a cursor, instead of running into Lambda's time limit.
pub(super) const MAX_ITEMS_READ: usize = 20_000;
/// The longest cursor accepted (a genuine one is a few hundred characters).
const MAX_CURSOR_CHARS: usize = 2048;

fn utc_day(t: Timestamp) -> Date {
    t.to_zoned_datetime(jiff::tz::TimeZone::UTC).date()
}

/// The instants a period of local days covers, and the UTC days of the log index it touches.
#[derive(Debug, Clone, Copy)]
pub(super) struct Period {
    pub(super) start: Timestamp,
    pub(super) end: Timestamp,
    pub(super) first_day: Date,
    pub(super) last_day: Date,
}

impl Period {
    pub(super) fn of(tz: &jiff::tz::TimeZone, from: Date, to: Date) -> Period {
        let start = tz
            .to_timestamp(from.at(0, 0, 0, 0))
            .unwrap_or(Timestamp::UNIX_EPOCH);
        let end = tz
            .to_timestamp(to.tomorrow().unwrap_or(to).at(0, 0, 0, 0))
            .unwrap_or(Timestamp::MAX);
        Period {
            start,
            end,
            first_day: utc_day(start),
            last_day: utc_day(end),
        }
    }

    pub(super) fn holds(&self, at: Timestamp) -> bool {
        at >= self.start && at < self.end
    }
}

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
        Some(c) => (c.day, c.key),
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
            return Ok((taken, Some(Cursor { day, key })));
        }
    }
}

/// Where the next page of the list starts: a UTC day of the log index and, within it, the key
/// after which to go on.
#[derive(Debug, Clone)]
pub(super) struct Cursor {
    pub(super) day: Date,
    pub(super) key: Option<Item>,
}

/// The attributes of a key of the log index: the table's key and the index's.
const KEY_ATTRIBUTES: [&str; 4] = [keys::PK, keys::SK, keys::LOG_DAY, keys::LOG_AT];

impl Cursor {
    /// Just after a message, as the log index orders it.
    fn after(shop: &ShopId, m: &MessageRecord) -> Cursor {
        let at = m.intent.created_at;
        let day = utc_day(at);
        let mut key = keys::message(shop, &m.intent.customer_id, &m.intent.key).to_item();
        key.insert(
            keys::LOG_DAY.into(),
            AttributeValue::S(keys::log_day(shop, day)),
        );
        key.insert(
            keys::LOG_AT.into(),
            AttributeValue::N(at.as_millisecond().to_string()),
        );
        Cursor {
            day,
            key: Some(key),
        }
    }

    pub(super) fn encode(&self) -> String {
        let key: BTreeMap<String, Value> = self
            .key
            .iter()
            .flatten()
            .filter_map(|(name, value)| match value {
                AttributeValue::S(s) => Some((name.clone(), json!({ "S": s }))),
                AttributeValue::N(n) => Some((name.clone(), json!({ "N": n }))),
                _ => None,
            })
            .collect();
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(json!({ "day": self.day.to_string(), "key": key }).to_string())
    }

    /// A cursor of this list, or `None`: its day must lie in the period (so a forged day can
    /// never start a walk through years of empty days), and its key must be a key of the log
    /// index of this shop and that day (so it can neither read another shop's log nor make
    /// DynamoDB refuse the query).
    pub(super) fn decode(text: &str, shop: &ShopId, period: &Period) -> Option<Cursor> {
        if text.len() > MAX_CURSOR_CHARS {
            return None;
        }
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .ok()?;
        let value: Value = serde_json::from_slice(&bytes).ok()?;
        let day: Date = value.get("day")?.as_str()?.parse().ok()?;
        if day < period.first_day || day > period.last_day {
            return None;
        }
        let map = value.get("key")?.as_object()?;
        if map.is_empty() {
            return Some(Cursor { day, key: None });
        }
        if map.len() != KEY_ATTRIBUTES.len() || KEY_ATTRIBUTES.iter().any(|a| !map.contains_key(*a))
        {
            return None;
        }
        let text_of = |name: &str, kind: &str| -> Option<String> {
            let attr = map.get(name)?.as_object()?;
            (attr.len() == 1)
                .then(|| attr.get(kind)?.as_str().map(str::to_owned))
                .flatten()
        };
        let pk = text_of(keys::PK, "S")?;
        let sk = text_of(keys::SK, "S")?;
        let log_day = text_of(keys::LOG_DAY, "S")?;
        let log_at = text_of(keys::LOG_AT, "N")?;
        let (key_shop, _) = keys::parse_customer_partition(&pk)?;
        let at = Timestamp::from_millisecond(log_at.parse::<i64>().ok()?).ok()?;
        let fits = key_shop == *shop
            && (sk.starts_with(keys::MESSAGE_PREFIX) || sk.starts_with(keys::ACTIVITY_PREFIX))
            && log_day == keys::log_day(shop, day)
            && utc_day(at) == day;
        if !fits {
            return None;
        }
        let key = Item::from([
            (keys::PK.to_owned(), AttributeValue::S(pk)),
            (keys::SK.to_owned(), AttributeValue::S(sk)),
            (keys::LOG_DAY.to_owned(), AttributeValue::S(log_day)),
            (keys::LOG_AT.to_owned(), AttributeValue::N(log_at)),
        ]);
        Some(Cursor {
            day,
            key: Some(key),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn period() -> Period {
        Period::of(
            &jiff::tz::TimeZone::get("Europe/Amsterdam").unwrap(),
            "2026-11-01".parse().unwrap(),
            "2026-11-30".parse().unwrap(),
        )
    }

    fn genuine(shop: &ShopId) -> Cursor {
        let day: Date = "2026-11-10".parse().unwrap();
        let at: Timestamp = "2026-11-10T12:00:00Z".parse().unwrap();
        let mut key = keys::message(
            shop,
            &crate::domain::CustomerId::parse("cus-1").unwrap(),
            "survey#e",
        )
        .to_item();
        key.insert(
            keys::LOG_DAY.into(),
            AttributeValue::S(keys::log_day(shop, day)),
        );
        key.insert(
            keys::LOG_AT.into(),
            AttributeValue::N(at.as_millisecond().to_string()),
        );
        Cursor {
            day,
            key: Some(key),
        }
    }

    #[test]
    fn only_cursors_of_this_list_and_period_are_read() {
        let shop = ShopId::parse("demo").unwrap();
        let period = period();
        let cursor = genuine(&shop);
        let back = Cursor::decode(&cursor.encode(), &shop, &period).unwrap();
        assert_eq!((back.day, back.key), (cursor.day, cursor.key.clone()));
        let day_only = Cursor {
            day: "2026-10-31".parse().unwrap(),
            key: None,
        };
        assert!(Cursor::decode(&day_only.encode(), &shop, &period).is_some());
        let other = ShopId::parse("other").unwrap();
        assert!(Cursor::decode(&cursor.encode(), &other, &period).is_none());
        for day in ["2026-10-30", "2026-12-02", "9999-12-31", "-009999-01-01"] {
            let far = Cursor {
                day: day.parse().unwrap(),
                key: None,
            };
            assert!(
                Cursor::decode(&far.encode(), &shop, &period).is_none(),
                "{day}"
            );
        }
        let moved = Cursor {
            day: "2026-11-11".parse().unwrap(),
            ..cursor.clone()
        };
        assert!(Cursor::decode(&moved.encode(), &shop, &period).is_none());
        let mut extra = cursor.clone();
        extra
            .key
            .as_mut()
            .unwrap()
            .insert("x".into(), AttributeValue::S("y".into()));
        assert!(Cursor::decode(&extra.encode(), &shop, &period).is_none());
        for text in ["", "!!!", "bm90IGpzb24", &"A".repeat(3000)] {
            assert!(Cursor::decode(text, &shop, &period).is_none(), "{text}");
        }
    }
}
