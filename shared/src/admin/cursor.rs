//! Where the next page of the message list (or the next part of a download) starts: the period
//! a list covers and the cursor a browser carries from one page to the next. Pure: the
//! `message-log` handler turns a cursor's key into the exclusive start key of its query.

use crate::domain::{MessageRecord, ShopId};
use crate::store::keys;
use base64::Engine;
use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The longest cursor accepted (a genuine one is a few hundred characters).
pub const MAX_CURSOR_CHARS: usize = 2048;

pub fn utc_day(t: Timestamp) -> Date {
    t.to_zoned_datetime(jiff::tz::TimeZone::UTC).date()
}

/// The instants a period of local days covers, and the UTC days of the log index it touches.
#[derive(Debug, Clone, Copy)]
pub struct Period {
    pub start: Timestamp,
    pub end: Timestamp,
    pub first_day: Date,
    pub last_day: Date,
}

impl Period {
    pub fn of(tz: &jiff::tz::TimeZone, from: Date, to: Date) -> Period {
        // A day beyond the instants trouw can count in: the period reaches the end of time.
        let start = tz
            .to_timestamp(from.at(0, 0, 0, 0))
            .unwrap_or(Timestamp::MIN);
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

    pub fn holds(&self, at: Timestamp) -> bool {
        at >= self.start && at < self.end
    }
}

/// One attribute of a key of the log index, as DynamoDB types it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyValue {
    S(String),
    N(String),
}

/// A key of the log index: the table's key and the index's, by attribute name.
pub type LogKey = BTreeMap<String, KeyValue>;

/// A UTC day of the log index and, within it, the key after which to go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub day: Date,
    pub key: Option<LogKey>,
}

/// The attributes of a key of the log index.
const KEY_ATTRIBUTES: [&str; 4] = [keys::PK, keys::SK, keys::LOG_DAY, keys::LOG_AT];

impl Cursor {
    /// Just after a message, as the log index orders it.
    pub fn after(shop: &ShopId, m: &MessageRecord) -> Cursor {
        let at = m.intent.created_at;
        let day = utc_day(at);
        let item = keys::message(shop, &m.intent.customer_id, &m.intent.key);
        let key = LogKey::from([
            (keys::PK.to_owned(), KeyValue::S(item.pk)),
            (keys::SK.to_owned(), KeyValue::S(item.sk)),
            (
                keys::LOG_DAY.to_owned(),
                KeyValue::S(keys::log_day(shop, day)),
            ),
            (
                keys::LOG_AT.to_owned(),
                KeyValue::N(at.as_millisecond().to_string()),
            ),
        ]);
        Cursor {
            day,
            key: Some(key),
        }
    }

    pub fn encode(&self) -> String {
        let key: BTreeMap<&str, Value> = self
            .key
            .iter()
            .flatten()
            .map(|(name, value)| match value {
                KeyValue::S(s) => (name.as_str(), json!({ "S": s })),
                KeyValue::N(n) => (name.as_str(), json!({ "N": n })),
            })
            .collect();
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(json!({ "day": self.day.to_string(), "key": key }).to_string())
    }

    /// A cursor of this list, or `None`: its day must lie in the period (so a forged day can
    /// never start a walk through years of empty days), and its key must be a key of the log
    /// index of this shop and that day (so it can neither read another shop's log nor make
    /// DynamoDB refuse the query).
    pub fn decode(text: &str, shop: &ShopId, period: &Period) -> Option<Cursor> {
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
            && (sk.starts_with(keys::MESSAGE_PREFIX)
                || sk.starts_with(keys::ACTIVITY_PREFIX)
                || sk.starts_with(keys::LEDGER_PREFIX))
            && log_day == keys::log_day(shop, day)
            && utc_day(at) == day;
        if !fits {
            return None;
        }
        let key = LogKey::from([
            (keys::PK.to_owned(), KeyValue::S(pk)),
            (keys::SK.to_owned(), KeyValue::S(sk)),
            (keys::LOG_DAY.to_owned(), KeyValue::S(log_day)),
            (keys::LOG_AT.to_owned(), KeyValue::N(log_at)),
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
        let item = keys::message(
            shop,
            &crate::domain::CustomerId::parse("cus-1").unwrap(),
            "survey#e",
        );
        let key = LogKey::from([
            (keys::PK.to_owned(), KeyValue::S(item.pk)),
            (keys::SK.to_owned(), KeyValue::S(item.sk)),
            (
                keys::LOG_DAY.to_owned(),
                KeyValue::S(keys::log_day(shop, day)),
            ),
            (
                keys::LOG_AT.to_owned(),
                KeyValue::N(at.as_millisecond().to_string()),
            ),
        ]);
        Cursor {
            day,
            key: Some(key),
        }
    }

    /// Found by fuzzing (admin_query): a period starting on a day before the first instant
    /// trouw can count in began in 1970 instead, after its own end.
    #[test]
    fn a_period_at_the_edge_of_time_still_runs_forwards() {
        let tz = jiff::tz::TimeZone::get("Europe/Amsterdam").unwrap();
        for (from, to) in [
            ("-009999-01-01", "-009999-01-05"),
            ("-009999-01-01", "-009999-01-01"),
            ("9999-12-30", "9999-12-31"),
        ] {
            let period = Period::of(&tz, from.parse().unwrap(), to.parse().unwrap());
            assert!(period.start < period.end, "{from}..{to}: {period:?}");
            assert!(
                period.first_day <= period.last_day,
                "{from}..{to}: {period:?}"
            );
        }
    }

    #[test]
    fn only_cursors_of_this_list_and_period_are_read() {
        let shop = ShopId::parse("demo").unwrap();
        let period = period();
        let cursor = genuine(&shop);
        let back = Cursor::decode(&cursor.encode(), &shop, &period).unwrap();
        assert_eq!(back, cursor);
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
            .insert("x".into(), KeyValue::S("y".into()));
        assert!(Cursor::decode(&extra.encode(), &shop, &period).is_none());
        for text in ["", "!!!", "bm90IGpzb24", &"A".repeat(3000)] {
            assert!(Cursor::decode(text, &shop, &period).is_none(), "{text}");
        }
    }
}
