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
        let fingerprint = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
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

/// Every address sighting, ordered by time. Derived facts (current address, moves) depend only
/// on the set of sightings, never on the order in which the webhooks arrived, so late
/// deliveries converge to the same state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressHistory {
    pub sightings: Vec<AddressSighting>,
}

impl AddressHistory {
    /// Keeps the newest sightings only; moves older than this are history nobody acts on.
    pub const MAX_SIGHTINGS: usize = 32;

    pub fn observe(&mut self, address: &ObservedAddress, at: Timestamp) {
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
