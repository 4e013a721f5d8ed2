//! The inbound edge: who sent a webhook (signature schemes) and what it says (payloads into
//! [`ShopEvent`]s). Three dialects arrive on the same routes: the canonical format signed per
//! Standard Webhooks, Shopify's and WooCommerce's own. Nothing here touches the store.

pub mod canonical;
mod duplicate_keys;
pub mod guest;
pub(crate) mod json;
pub mod platform;
pub mod product;
pub mod shopify;
pub mod signature;
pub mod woocommerce;

#[cfg(test)]
mod fuzz_tests;

pub use canonical::{PayloadError, parse_canonical};
pub use guest::GuestIds;
pub use platform::{Platform, ShopifyConnection, WooCommerceConnection};
pub use signature::{SignatureError, WebhookSecret, verify_standard_webhook};

use crate::domain::{CustomerId, EventId, OrderId, ShopEvent};

/// What one delivery asks of trouw.
#[derive(Debug, Clone, PartialEq, Eq)]
#[expect(
    clippy::large_enum_variant,
    reason = "one value per delivery, built once and moved to its handler: a box would only add an allocation"
)]
pub enum Inbound {
    /// Apply this event. With `customer_from_order`, the platform named only the order
    /// (Shopify fulfilments and refunds): the handler finds the order's customer first.
    Apply {
        event: ShopEvent,
        customer_from_order: bool,
    },
    /// Erase the customer's personal data (Shopify `customers/redact`), with the orders the
    /// platform names (events parked under an order trouw has not seen are erased too).
    Erase {
        customer: CustomerId,
        orders: Vec<OrderId>,
    },
    /// A customer asked the shop for their data (Shopify `customers/data_request`): logged for
    /// the shop to answer.
    DataRequest {
        customer: Option<CustomerId>,
        request_id: Option<String>,
    },
    /// The shop uninstalled the app and its data is to be removed (Shopify `shop/redact`).
    ShopRedact,
    /// Valid, but nothing trouw acts on: answered 200 so the platform keeps the subscription.
    Ignored { reason: String },
}

/// A de-duplication key built from a platform body's own ids (`shopify:refund:{id}`). Ids the
/// platform sends may be long or odd: a key that would not be a valid [`EventId`] (over 128
/// characters, control characters) keeps a readable head and ends in a SHA-256 of the whole
/// key, so every id a platform sends has a stable key and none is refused or crashes. (The
/// error names `field` but cannot happen: the hashed form is always a valid id.)
pub(crate) fn body_event_id(field: &str, key: String) -> Result<EventId, PayloadError> {
    if let Ok(id) = EventId::parse(key.clone()) {
        return Ok(id);
    }
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(key.as_bytes());
    let hash: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let head: String = key.chars().filter(|c| !c.is_control()).take(48).collect();
    EventId::parse(format!("{head}~{hash}")).map_err(|e| PayloadError::new(field, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_keys_of_any_length_become_valid_stable_event_ids() {
        let short = body_event_id("id", "shopify:refund:1".into()).unwrap();
        assert_eq!(short.as_str(), "shopify:refund:1");
        for n in [111, 118, 128, 129, 500, 10_000] {
            let key = format!("wc:order:{}:refunded", "9".repeat(n));
            let id = body_event_id("id", key.clone()).unwrap();
            assert!(id.as_str().chars().count() <= 128, "{n}");
            assert_eq!(id, body_event_id("id", key).unwrap(), "stable");
        }
        let a = body_event_id("id", format!("k:{}a", "x".repeat(200))).unwrap();
        let b = body_event_id("id", format!("k:{}b", "x".repeat(200))).unwrap();
        assert_ne!(a, b, "different long keys stay apart");
        let odd = body_event_id("id", "k:\u{0}\n\u{7f}".into()).unwrap();
        assert!(!odd.as_str().chars().any(char::is_control));
        assert!(body_event_id("id", String::new()).is_ok());
    }
}
