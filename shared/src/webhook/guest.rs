//! Customer ids for checkouts without an account (Shopify orders without a customer,
//! WooCommerce orders with customer id 0), derived from the email address.
//!
//! The id travels where the address must not: logs, SES tags, the readable part of link
//! tokens, the marketers' pages. An unkeyed hash of the address would let anyone holding a
//! guessed address confirm it from an id, so the id is an HMAC-SHA256 under a per-deployment
//! secret (SSM `{SecretsPathPrefix}{GuestIdSecretName}`; locally `GUEST_ID_SECRET`): `guest-k-` and 32 hex
//! digits. Ids from before (`guest-` and 20 hex digits of an unkeyed SHA-256) stay what they
//! are: a returning guest who already has a profile under such an id keeps it (the webhook
//! handler looks for that profile, see [`legacy_guest_id`]), and no new one is ever made.

use crate::domain::{CustomerId, Email, ShopId};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// What every keyed guest id starts with; platform customer ids are numbers.
pub const KEYED_GUEST_PREFIX: &str = "guest-k-";

/// The deployment's key for guest ids.
#[derive(Clone)]
pub struct GuestIds(Vec<u8>);

impl std::fmt::Debug for GuestIds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GuestIds(<redacted>)")
    }
}

impl GuestIds {
    pub fn new(secret: impl AsRef<[u8]>) -> Self {
        GuestIds(secret.as_ref().to_vec())
    }

    /// The guest's id in `shop`: the same for the same address in any letter case.
    pub fn id_for(&self, shop: &ShopId, email: &Email) -> CustomerId {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"trouw-guest-v1\x1f");
        mac.update(shop.as_str().as_bytes());
        mac.update(b"\x1f");
        mac.update(email.as_str().to_lowercase().as_bytes());
        let digest = mac.finalize().into_bytes();
        let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        CustomerId::parse(format!("{KEYED_GUEST_PREFIX}{hex}")).expect("a short, valid id")
    }

    /// Whether `id` is a keyed guest id (made by [`GuestIds::id_for`]).
    pub fn is_keyed_guest(id: &CustomerId) -> bool {
        id.as_str().starts_with(KEYED_GUEST_PREFIX)
    }
}

/// The guest's id, or a refusal where this function has no guest key (only `address-changed`,
/// whose topics never carry an order).
pub(crate) fn guest_id(
    guests: Option<&GuestIds>,
    shop: &ShopId,
    email: &Email,
) -> Result<CustomerId, super::PayloadError> {
    guests.map(|g| g.id_for(shop, email)).ok_or_else(|| {
        super::PayloadError::new(
            "customer",
            "an order without a customer is not taken on this route",
        )
    })
}

/// The unkeyed id guests got before ids were keyed. Only ever used to find a profile made
/// under it, never to make a new one.
pub fn legacy_guest_id(shop: &ShopId, email: &Email) -> CustomerId {
    use sha2::Digest;
    let digest =
        Sha256::digest(format!("{shop}\u{1f}{}", email.as_str().to_lowercase()).as_bytes());
    let hex: String = digest.iter().take(10).map(|b| format!("{b:02x}")).collect();
    CustomerId::parse(format!("guest-{hex}")).expect("a short, valid id")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop() -> ShopId {
        ShopId::parse("demo").unwrap()
    }

    fn anna() -> Email {
        Email::parse("anna.devries@example.nl").unwrap()
    }

    #[test]
    fn guest_ids_are_keyed_stable_and_never_the_address() {
        let ids = GuestIds::new("deployment-one");
        let id = ids.id_for(&shop(), &anna());
        assert!(id.as_str().starts_with("guest-k-") && !id.as_str().contains("anna"));
        assert_eq!(id.as_str().len(), "guest-k-".len() + 32);
        assert!(GuestIds::is_keyed_guest(&id));
        assert_eq!(
            id,
            ids.id_for(&shop(), &Email::parse("Anna.DeVries@example.nl").unwrap()),
            "letter case does not matter"
        );
        assert_ne!(
            id,
            ids.id_for(&ShopId::parse("other").unwrap(), &anna()),
            "another shop, another id"
        );
    }

    #[test]
    fn without_the_secret_the_id_cannot_be_recomputed_from_the_address() {
        let one = GuestIds::new("deployment-one").id_for(&shop(), &anna());
        let two = GuestIds::new("deployment-two").id_for(&shop(), &anna());
        assert_ne!(one, two, "two deployments, two ids");
        let legacy = legacy_guest_id(&shop(), &anna());
        assert!(!GuestIds::is_keyed_guest(&legacy));
        for keyed in [&one, &two] {
            assert_ne!(keyed, &legacy, "the old unkeyed form is not produced");
            assert!(!keyed.as_str().contains(&legacy.as_str()["guest-".len()..]));
        }
        // The unkeyed form is what anyone could compute from a guessed address.
        use sha2::Digest;
        let guessed = Sha256::digest(b"demo\x1fanna.devries@example.nl");
        let hex: String = guessed
            .iter()
            .take(10)
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(legacy.as_str(), format!("guest-{hex}"));
    }
}
