//! Postal addresses, kept only as a fingerprint plus postal code and country. Street lines
//! never reach the store or the logs: the edge turns an address into an [`ObservedAddress`].

use super::{ShopId, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The coarse part of an address that marketing may use (region), kept in clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostalArea {
    pub postal_code: String,
    pub country: String,
}

/// How much of the address's SHA-256 a fingerprint keeps: 64 bits tell a customer's few homes
/// apart (a collision among them is about one in 10^18), in 16 hex characters on every
/// profile write instead of 32. Fingerprints stored longer are read shortened.
const FINGERPRINT_BYTES: usize = 8;

/// An address as seen in one event: a fingerprint of the whole address and its postal area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedAddress {
    pub fingerprint: String,
    pub area: PostalArea,
}

impl ObservedAddress {
    /// Fingerprints the address after normalising case and spacing, so "1016 GV" and "1016gv"
    /// are the same home. The shop id salts the hash: the same address gives different
    /// fingerprints in different shops.
    pub fn from_parts(
        shop: &ShopId,
        line1: Option<&str>,
        line2: Option<&str>,
        postal_code: &str,
        city: Option<&str>,
        country: &str,
    ) -> Self {
        fn norm(s: &str) -> String {
            s.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase()
        }
        let postal_compact: String = postal_code
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_uppercase();
        let mut hasher = Sha256::new();
        for part in [
            shop.as_str().to_owned(),
            norm(line1.unwrap_or("")),
            norm(line2.unwrap_or("")),
            postal_compact.clone(),
            norm(city.unwrap_or("")),
            country.to_uppercase(),
        ] {
            hasher.update(part.as_bytes());
            hasher.update([0x1f]);
        }
        let digest = hasher.finalize();
        let fingerprint = digest
            .iter()
            .take(FINGERPRINT_BYTES)
            .map(|b| format!("{b:02x}"))
            .collect();
        ObservedAddress {
            fingerprint,
            area: PostalArea {
                postal_code: postal_compact,
                country: country.to_uppercase(),
            },
        }
    }
}

/// One sighting of an address in an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressSighting {
    pub at: Timestamp,
    pub fingerprint: String,
    pub area: PostalArea,
}

/// Every address sighting, ordered by time, to the second. Derived facts (current address,
/// moves) depend only on the set of sightings, never on the order in which the webhooks
/// arrived, so late deliveries converge to the same state.
///
/// Stored grouped by address (`places`: each fingerprint and postal area once, with the times
/// it was seen as epoch seconds), so a customer who orders twenty times from home adds twenty
/// small numbers to the profile, not twenty copies of the address. Profiles written before
/// hold one entry per sighting (`sightings`); both read the same.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredHistory", into = "StoredHistory")]
pub struct AddressHistory {
    pub sightings: Vec<AddressSighting>,
}

/// [`AddressHistory`] as an item holds it.
#[derive(Debug, Default, Serialize, Deserialize)]
struct StoredHistory {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    places: Vec<Place>,
    /// The shape written by earlier versions, read only.
    #[serde(default, skip_serializing)]
    sightings: Vec<AddressSighting>,
}

/// One address and when it was seen.
#[derive(Debug, Serialize, Deserialize)]
struct Place {
    fingerprint: String,
    #[serde(with = "area_text")]
    area: PostalArea,
    #[serde(with = "super::epoch::list")]
    seen: Vec<Timestamp>,
}

/// A place's postal area as one short text, `{country} {postal code}` (e.g. `NL 1016GV`; the
/// postal code is kept without spaces, so the last space divides the two), where a map of two
/// named fields took three times the bytes. Places written before hold the map; both read the
/// same.
mod area_text {
    use super::PostalArea;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(area: &PostalArea, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format!("{} {}", area.country, area.postal_code))
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Text(String),
        Fields(PostalArea),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<PostalArea, D::Error> {
        match Stored::deserialize(deserializer)? {
            Stored::Fields(area) => Ok(area),
            Stored::Text(text) => {
                let (country, postal_code) = text.rsplit_once(' ').ok_or_else(|| {
                    serde::de::Error::custom("a postal area is `{country} {postal code}`")
                })?;
                Ok(PostalArea {
                    postal_code: postal_code.to_owned(),
                    country: country.to_owned(),
                })
            }
        }
    }
}

/// A fingerprint as this version compares them: stored ones longer than
/// [`FINGERPRINT_BYTES`] (earlier versions) are shortened, so a known home stays known.
fn shortened(mut fingerprint: String) -> String {
    fingerprint.truncate(FINGERPRINT_BYTES * 2);
    fingerprint
}

impl From<StoredHistory> for AddressHistory {
    fn from(stored: StoredHistory) -> Self {
        let mut sightings: Vec<AddressSighting> = stored
            .sightings
            .into_iter()
            .map(|s| AddressSighting {
                fingerprint: shortened(s.fingerprint),
                ..s
            })
            .collect();
        for place in stored.places {
            let fingerprint = shortened(place.fingerprint);
            sightings.extend(place.seen.into_iter().map(|at| AddressSighting {
                at,
                fingerprint: fingerprint.clone(),
                area: place.area.clone(),
            }));
        }
        sightings.sort_by(|a, b| (a.at, &a.fingerprint).cmp(&(b.at, &b.fingerprint)));
        sightings.dedup_by(|a, b| a.at == b.at && a.fingerprint == b.fingerprint);
        AddressHistory { sightings }
    }
}

impl From<AddressHistory> for StoredHistory {
    fn from(history: AddressHistory) -> Self {
        let mut places: Vec<Place> = Vec::new();
        for sighting in history.sightings {
            match places
                .iter_mut()
                .find(|p| p.fingerprint == sighting.fingerprint)
            {
                Some(place) => place.seen.push(sighting.at),
                None => places.push(Place {
                    fingerprint: sighting.fingerprint,
                    area: sighting.area,
                    seen: vec![sighting.at],
                }),
            }
        }
        StoredHistory {
            places,
            sightings: Vec::new(),
        }
    }
}

impl AddressHistory {
    /// Keeps the newest sightings only; moves older than this are history nobody acts on.
    /// Keeping the newest few of all sightings is the same whatever order they arrived in.
    pub const MAX_SIGHTINGS: usize = 8;

    /// Records a sighting at `at`, to the whole second (as it reads back from the store).
    pub fn observe(&mut self, address: &ObservedAddress, at: Timestamp) {
        let at = super::epoch::whole_second(at);
        let sighting = AddressSighting {
            at,
            fingerprint: address.fingerprint.clone(),
            area: address.area.clone(),
        };
        let order = |s: &AddressSighting| (s.at, s.fingerprint.clone());
        match self
            .sightings
            .binary_search_by_key(&order(&sighting), order)
        {
            Ok(_) => return,
            Err(idx) => self.sightings.insert(idx, sighting),
        }
        if self.sightings.len() > Self::MAX_SIGHTINGS {
            let excess = self.sightings.len() - Self::MAX_SIGHTINGS;
            self.sightings.drain(..excess);
        }
    }

    pub fn current(&self) -> Option<&AddressSighting> {
        self.sightings.last()
    }

    /// Moves are changes from one address to another; the first address is not a move.
    pub fn move_count(&self) -> usize {
        self.sightings
            .windows(2)
            .filter(|w| w[0].fingerprint != w[1].fingerprint)
            .count()
    }

    /// When the customer moved into the current address, if that was a move.
    pub fn last_move_at(&self) -> Option<Timestamp> {
        self.sightings
            .windows(2)
            .rev()
            .find(|w| w[0].fingerprint != w[1].fingerprint)
            .map(|w| w[1].at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(line1: &str, postal: &str) -> ObservedAddress {
        ObservedAddress::from_parts(
            &ShopId::parse("demo").unwrap(),
            Some(line1),
            None,
            postal,
            Some("Amsterdam"),
            "NL",
        )
    }
    fn t(secs: i64) -> Timestamp {
        Timestamp::from_second(1_790_000_000 + secs).unwrap()
    }

    #[test]
    fn fingerprint_ignores_case_and_spacing_but_not_the_house() {
        let a = addr("Prinsengracht 263", "1016 GV");
        let b = ObservedAddress::from_parts(
            &ShopId::parse("demo").unwrap(),
            Some("  prinsengracht   263 "),
            None,
            "1016gv",
            Some("AMSTERDAM"),
            "nl",
        );
        assert_eq!(a, b);
        assert_ne!(
            a.fingerprint,
            addr("Prinsengracht 265", "1016 GV").fingerprint
        );
        assert_eq!(a.area.postal_code, "1016GV");
        assert!(!a.fingerprint.contains("263"));
        let other_shop = ObservedAddress::from_parts(
            &ShopId::parse("other").unwrap(),
            Some("Prinsengracht 263"),
            None,
            "1016 GV",
            Some("Amsterdam"),
            "NL",
        );
        assert_ne!(a.fingerprint, other_shop.fingerprint);
    }

    #[test]
    fn first_address_and_resent_address_are_not_moves() {
        let mut h = AddressHistory::default();
        h.observe(&addr("A 1", "1000AA"), t(0));
        h.observe(&addr("A 1", "1000AA"), t(10));
        assert_eq!(h.move_count(), 0);
        assert_eq!(h.last_move_at(), None);
        h.observe(&addr("B 2", "2000BB"), t(20));
        assert_eq!(h.move_count(), 1);
        assert_eq!(h.last_move_at(), Some(t(20)));
        assert_eq!(h.current().unwrap().area.postal_code, "2000BB");
    }

    #[test]
    fn observations_in_any_order_give_the_same_history() {
        let seq = [
            (addr("A 1", "1000AA"), t(0)),
            (addr("B 2", "2000BB"), t(10)),
            (addr("A 1", "1000AA"), t(20)),
            (addr("A 1", "1000AA"), t(30)),
        ];
        let mut expected = AddressHistory::default();
        for (a, at) in &seq {
            expected.observe(a, *at);
        }
        assert_eq!(expected.move_count(), 2);
        for perm in permutations(seq.len()) {
            let mut h = AddressHistory::default();
            for i in perm {
                h.observe(&seq[i].0, seq[i].1);
            }
            assert_eq!(h, expected);
        }
    }

    #[test]
    fn history_is_stored_once_per_address_and_the_old_shape_still_reads() {
        let mut h = AddressHistory::default();
        for day in 0..3 {
            h.observe(&addr("A 1", "1000AA"), t(day * 86_400));
        }
        h.observe(&addr("B 2", "2000BB"), t(25 * 86_400));
        let stored = serde_json::to_value(&h).unwrap();
        let places = stored["places"].as_array().unwrap();
        assert_eq!(places.len(), 2, "each address once");
        assert_eq!(places[0]["seen"].as_array().unwrap().len(), 3);
        assert!(places[0]["seen"][0].is_i64(), "times as epoch seconds");
        assert!(stored.get("sightings").is_none());
        let read: AddressHistory = serde_json::from_value(stored.clone()).unwrap();
        assert_eq!(read, h);

        assert_eq!(places[0]["area"], "NL 1000AA", "the area as one text");
        assert_eq!(places[0]["fingerprint"].as_str().unwrap().len(), 16);

        // As the version before stored it: 32-character fingerprints, the area as a map. The
        // same home read from it is the same home, not a move.
        let mut before = stored.clone();
        for place in before["places"].as_array_mut().unwrap() {
            let long = format!(
                "{}{}",
                place["fingerprint"].as_str().unwrap(),
                "0123456789abcdef"
            );
            let (country, postal) = place["area"].as_str().unwrap().rsplit_once(' ').unwrap();
            place["area"] = serde_json::json!({ "postal_code": postal, "country": country });
            place["fingerprint"] = long.into();
        }
        let mut read: AddressHistory = serde_json::from_value(before).unwrap();
        assert_eq!(read, h);
        read.observe(&addr("B 2", "2000BB"), t(26 * 86_400));
        assert_eq!(read.move_count(), 1);

        // As an earlier version stored it: one entry per sighting, RFC 3339 times.
        let old = serde_json::json!({ "sightings": [
            { "at": "2026-09-21T10:00:00Z", "fingerprint": "aa", "area": { "postal_code": "1000AA", "country": "NL" } },
            { "at": "2026-10-01T10:00:00Z", "fingerprint": "bb", "area": { "postal_code": "2000BB", "country": "NL" } },
        ]});
        let read: AddressHistory = serde_json::from_value(old).unwrap();
        assert_eq!(read.move_count(), 1);
        assert_eq!(read.current().unwrap().area.postal_code, "2000BB");
        assert_eq!(
            read.last_move_at(),
            Some("2026-10-01T10:00:00Z".parse().unwrap())
        );
    }

    #[test]
    fn only_the_newest_sightings_are_kept_and_a_move_is_still_a_move() {
        let mut h = AddressHistory::default();
        for day in 0..20 {
            h.observe(&addr("A 1", "1000AA"), t(day * 86_400));
        }
        h.observe(&addr("B 2", "2000BB"), t(30 * 86_400));
        assert_eq!(h.sightings.len(), AddressHistory::MAX_SIGHTINGS);
        let first_kept = 21 - AddressHistory::MAX_SIGHTINGS as i64;
        assert_eq!(h.sightings[0].at, t(first_kept * 86_400));
        assert_eq!(
            (h.move_count(), h.last_move_at()),
            (1, Some(t(30 * 86_400)))
        );
        // A late order from the old home, between the last two: a move back and forth.
        h.observe(&addr("A 1", "1000AA"), t(25 * 86_400));
        assert_eq!(h.current().unwrap().area.postal_code, "2000BB");
        assert_eq!(h.last_move_at(), Some(t(30 * 86_400)));
    }

    #[test]
    fn a_sighting_counts_to_the_second() {
        let mut h = AddressHistory::default();
        let at: Timestamp = "2026-10-01T10:00:00.250Z".parse().unwrap();
        h.observe(&addr("A 1", "1000AA"), at);
        h.observe(
            &addr("A 1", "1000AA"),
            "2026-10-01T10:00:00.900Z".parse().unwrap(),
        );
        assert_eq!(h.sightings.len(), 1);
        assert_eq!(h.current().unwrap().at.to_string(), "2026-10-01T10:00:00Z");
    }

    fn permutations(n: usize) -> Vec<Vec<usize>> {
        if n == 0 {
            return vec![vec![]];
        }
        let mut out = vec![];
        for p in permutations(n - 1) {
            for i in 0..=p.len() {
                let mut q = p.clone();
                q.insert(i, n - 1);
                out.push(q);
            }
        }
        out
    }
}
