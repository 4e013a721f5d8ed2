//! The inbound edge: who sent a webhook (signature schemes) and what it says (payloads into
//! [`ShopEvent`]s). Three dialects arrive on the same routes: the canonical format signed per
//! Standard Webhooks, Shopify's and WooCommerce's own. Nothing here touches the store.

pub mod canonical;
pub(crate) mod json;
pub mod platform;
pub mod shopify;
pub mod signature;
pub mod woocommerce;

pub use canonical::{PayloadError, parse_canonical};
pub use platform::{Platform, ShopifyConnection, WooCommerceConnection};
pub use signature::{SignatureError, WebhookSecret, verify_standard_webhook};

use crate::domain::{CustomerId, ShopEvent};

/// What one delivery asks of trouw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// Apply this event. With `customer_from_order`, the platform named only the order
    /// (Shopify fulfilments and refunds): the handler finds the order's customer first.
    Apply {
        event: ShopEvent,
        customer_from_order: bool,
    },
    /// Erase the customer's personal data (Shopify `customers/redact`).
    Erase { customer: CustomerId },
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
