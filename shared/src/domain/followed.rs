//! The products a customer's profile follows, each with when it was last ordered: the
//! replenishable products, those under a contract, and the customer's regular buys. It lets a
//! reminder for an older order be dropped once the product was ordered again, a contract count
//! as renewed, and a regular buyer's next purchase be known, all without reading orders.
//!
//! The profile is written with every order, so it must stay small (a hot item under 1 KB):
//! a SKU may be 128 characters, and a customer may buy many products over the years. So a
//! long SKU is kept as a short hash of itself, and only the [`FOLLOWED_KEPT`] products ordered
//! most recently are kept. A product that drops out is one the customer did not order while
//! they ordered that many others: what it costs is named in the README ("Followed products").

use super::Sku;
use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// How many products a profile follows at most.
pub const FOLLOWED_KEPT: usize = 8;

/// SKUs up to this many bytes are kept as they are; longer ones as [`HASHED_KEY_LEN`] bytes.
const PLAIN_KEY_MAX: usize = 24;
/// `~` and 16 hex digits: 64 bits of the SKU's SHA-256.
const HASHED_KEY_LEN: usize = 17;

/// When each followed product was last ordered, by its key ([`key_of`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FollowedProducts(BTreeMap<String, Timestamp>);

/// The key a SKU is followed under: itself when short, else `~` and a hash of it.
fn key_of(sku: &str) -> String {
    if sku.len() <= PLAIN_KEY_MAX {
        return sku.to_owned();
    }
    let digest = Sha256::digest(sku.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let key = format!("~{hex}");
    debug_assert_eq!(key.len(), HASHED_KEY_LEN);
    key
}

impl FollowedProducts {
    /// When `sku` was last ordered, if it is followed.
    pub fn get(&self, sku: &Sku) -> Option<Timestamp> {
        self.0.get(&key_of(sku.as_str())).copied()
    }

    pub fn contains(&self, sku: &Sku) -> bool {
        self.0.contains_key(&key_of(sku.as_str()))
    }

    /// Notes that `sku` was ordered at `at` (a later time stays: events arrive in any order),
    /// then keeps the most recently ordered [`FOLLOWED_KEPT`].
    pub fn note(&mut self, sku: &Sku, at: Timestamp) {
        let last = self.0.entry(key_of(sku.as_str())).or_insert(at);
        *last = (*last).max(at);
        self.keep_latest();
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// Drops the products ordered longest ago beyond [`FOLLOWED_KEPT`] (the same ones whatever
    /// order the notes came in: by time, then by key).
    fn keep_latest(&mut self) {
        while self.0.len() > FOLLOWED_KEPT {
            let oldest = self
                .0
                .iter()
                .min_by(|(ka, ta), (kb, tb)| ta.cmp(tb).then_with(|| ka.cmp(kb)))
                .map(|(k, _)| k.clone());
            match oldest {
                Some(key) => self.0.remove(&key),
                None => break,
            };
        }
    }
}

impl Serialize for FollowedProducts {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        super::epoch::map::serialize(&self.0, serializer)
    }
}

impl<'de> Deserialize<'de> for FollowedProducts {
    /// Reads every shape written so far: profiles from before the bound keep long SKUs whole
    /// and may follow more products; they read as if written now.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let stored: BTreeMap<String, Timestamp> = super::epoch::map::deserialize(deserializer)?;
        let mut followed = FollowedProducts::default();
        for (key, at) in stored {
            // A stored key is a SKU or already a hash; hashing a hash is never needed, as
            // hashed keys are shorter than the plain limit.
            let last = followed.0.entry(key_of(&key)).or_insert(at);
            *last = (*last).max(at);
        }
        followed.keep_latest();
        Ok(followed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sku(s: &str) -> Sku {
        Sku::parse(s).unwrap()
    }

    fn day(n: i64) -> Timestamp {
        Timestamp::from_second(1_780_000_000 + n * 86_400).unwrap()
    }

    #[test]
    fn a_later_order_moves_the_time_and_an_earlier_one_does_not() {
        let mut followed = FollowedProducts::default();
        followed.note(&sku("TP-075"), day(10));
        followed.note(&sku("TP-075"), day(3));
        assert_eq!(followed.get(&sku("TP-075")), Some(day(10)));
        followed.note(&sku("TP-075"), day(12));
        assert_eq!(followed.get(&sku("TP-075")), Some(day(12)));
        assert!(!followed.contains(&sku("EB-200")));
    }

    #[test]
    fn a_long_sku_is_followed_under_a_short_key() {
        let long = sku(&"koffiebonen-ethiopie-yirgacheffe-1kg-".repeat(3));
        let mut followed = FollowedProducts::default();
        followed.note(&long, day(1));
        assert_eq!(followed.get(&long), Some(day(1)));
        let stored = serde_json::to_value(&followed).unwrap();
        let key = stored.as_object().unwrap().keys().next().unwrap().clone();
        assert_eq!(key.len(), HASHED_KEY_LEN, "{key}");
        // A SKU of exactly the plain limit stays as it is.
        let edge = sku(&"x".repeat(PLAIN_KEY_MAX));
        followed.note(&edge, day(2));
        assert!(serde_json::to_value(&followed).unwrap()[edge.as_str()].is_number());
    }

    #[test]
    fn only_the_most_recently_ordered_are_kept_whatever_the_order_of_arrival() {
        let skus: Vec<Sku> = (0..FOLLOWED_KEPT + 3)
            .map(|i| sku(&format!("SKU-{i}")))
            .collect();
        let mut forwards = FollowedProducts::default();
        for (i, s) in skus.iter().enumerate() {
            forwards.note(s, day(i as i64));
        }
        let mut backwards = FollowedProducts::default();
        for (i, s) in skus.iter().enumerate().rev() {
            backwards.note(s, day(i as i64));
        }
        assert_eq!(forwards, backwards);
        assert_eq!(forwards.len(), FOLLOWED_KEPT);
        assert!(!forwards.contains(&skus[2]), "the oldest three dropped");
        assert!(forwards.contains(&skus[3]));
        assert!(forwards.contains(&skus[FOLLOWED_KEPT + 2]));
        // Ordering a dropped product again follows it again, at the cost of the oldest.
        forwards.note(&skus[0], day(100));
        assert_eq!(forwards.get(&skus[0]), Some(day(100)));
        assert!(!forwards.contains(&skus[3]));
    }

    #[test]
    fn a_customer_of_many_long_skus_adds_a_few_hundred_bytes_at_most() {
        let mut followed = FollowedProducts::default();
        for i in 0..40 {
            let long = sku(&format!("{i:03}-{}", "x".repeat(124)));
            followed.note(&long, day(i));
        }
        // Each entry: its key and a number of seconds (DynamoDB's map entry costs about the
        // same as the JSON: the name's bytes, the number's, a byte or so of framing).
        let bytes = serde_json::to_string(&followed).unwrap().len();
        assert!(bytes <= 8 * 32 + 2, "{bytes} bytes");
    }

    #[test]
    fn an_earlier_shape_with_long_skus_and_more_products_reads_bounded() {
        let long = "a".repeat(100);
        let mut stored = serde_json::Map::new();
        stored.insert(long.clone(), serde_json::json!(day(50).as_second()));
        for i in 0..FOLLOWED_KEPT + 2 {
            stored.insert(
                format!("OLD-{i}"),
                serde_json::json!(day(i as i64).to_string()),
            );
        }
        let followed: FollowedProducts =
            serde_json::from_value(serde_json::Value::Object(stored)).unwrap();
        assert_eq!(followed.len(), FOLLOWED_KEPT);
        assert_eq!(followed.get(&sku(&long)), Some(day(50)));
        assert!(!followed.contains(&sku("OLD-0")));
        assert!(!followed.contains(&sku("OLD-2")));
        assert!(followed.contains(&sku("OLD-3")));
        // Written again, it reads as it was.
        let again: FollowedProducts =
            serde_json::from_value(serde_json::to_value(&followed).unwrap()).unwrap();
        assert_eq!(again, followed);
    }
}
