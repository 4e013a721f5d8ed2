//! The profile's times (contact and consent stamps, order times, address sightings, last
//! orders per product, the lapse clock) are stored as epoch seconds, a DynamoDB number of about 6 bytes, instead of an
//! RFC 3339 string of 20 to 30: the profile is written with every event, and each started KB
//! is paid again. Readers also take the strings that earlier versions stored.

use super::Timestamp;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;

/// `at` to the whole second below, as it reads back from the store.
pub fn whole_second(at: Timestamp) -> Timestamp {
    Timestamp::from_second(at.as_second()).unwrap_or(at)
}

/// A time as stored in a list: epoch seconds, or (written before) RFC 3339 text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct EpochSecond(pub Timestamp);

impl Serialize for EpochSecond {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(self.0.as_second())
    }
}

impl<'de> Deserialize<'de> for EpochSecond {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Either;
        impl Visitor<'_> for Either {
            type Value = EpochSecond;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("epoch seconds or an RFC 3339 time")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Timestamp::from_second(v)
                    .map(EpochSecond)
                    .map_err(|_| E::custom("epoch seconds out of range"))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                let v = i64::try_from(v).map_err(|_| E::custom("epoch seconds out of range"))?;
                self.visit_i64(v)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                if v.fract() != 0.0 || !v.is_finite() {
                    return Err(E::custom("epoch seconds must be whole"));
                }
                // A whole number within the range checked by `from_second`.
                #[allow(clippy::cast_possible_truncation)]
                self.visit_i64(v as i64)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                v.parse::<Timestamp>()
                    .map(EpochSecond)
                    .map_err(|_| E::custom("not an RFC 3339 time"))
            }
        }
        deserializer.deserialize_any(Either)
    }
}

/// `#[serde(with = "epoch::single")]` for a `Timestamp`.
pub mod single {
    use super::*;

    pub fn serialize<S: Serializer>(at: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
        EpochSecond(*at).serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        Ok(EpochSecond::deserialize(deserializer)?.0)
    }
}

/// `#[serde(with = "epoch::option")]` for an `Option<Timestamp>` (with `default` and
/// `skip_serializing_if = "Option::is_none"`).
pub mod option {
    use super::*;

    pub fn serialize<S: Serializer>(
        at: &Option<Timestamp>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        at.map(EpochSecond).serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Timestamp>, D::Error> {
        Ok(Option::<EpochSecond>::deserialize(deserializer)?.map(|t| t.0))
    }
}

/// `#[serde(with = "epoch::list")]` for a `Vec<Timestamp>`.
pub mod list {
    use super::*;

    pub fn serialize<S: Serializer>(times: &[Timestamp], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(times.iter().map(|t| EpochSecond(*t)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<Timestamp>, D::Error> {
        let times = Vec::<EpochSecond>::deserialize(deserializer)?;
        Ok(times.into_iter().map(|t| t.0).collect())
    }
}

/// `#[serde(with = "epoch::map")]` for a `BTreeMap<K, Timestamp>`.
pub mod map {
    use super::*;

    pub fn serialize<K: Serialize, S: Serializer>(
        times: &BTreeMap<K, Timestamp>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_map(times.iter().map(|(k, t)| (k, EpochSecond(*t))))
    }

    pub fn deserialize<'de, K: Deserialize<'de> + Ord, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<K, Timestamp>, D::Error> {
        let times = BTreeMap::<K, EpochSecond>::deserialize(deserializer)?;
        Ok(times.into_iter().map(|(k, t)| (k, t.0)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Kept {
        #[serde(with = "list")]
        times: Vec<Timestamp>,
    }

    #[test]
    fn times_are_written_as_numbers_and_read_as_numbers_or_text() {
        let at: Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
        let kept = Kept { times: vec![at] };
        assert_eq!(
            serde_json::to_value(&kept).unwrap(),
            serde_json::json!({ "times": [at.as_second()] })
        );
        let old: Kept =
            serde_json::from_value(serde_json::json!({ "times": ["2026-03-01T10:00:00Z"] }))
                .unwrap();
        assert_eq!(old, kept);
        let new: Kept = serde_json::from_value(serde_json::to_value(&kept).unwrap()).unwrap();
        assert_eq!(new, kept);
        assert!(serde_json::from_value::<Kept>(serde_json::json!({ "times": [1.5] })).is_err());
    }

    #[test]
    fn whole_second_drops_the_fraction() {
        let at: Timestamp = "2026-03-01T10:00:00.750Z".parse().unwrap();
        assert_eq!(whole_second(at).to_string(), "2026-03-01T10:00:00Z");
    }
}
