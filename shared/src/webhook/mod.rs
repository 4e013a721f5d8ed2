//! The inbound edge: who sent a webhook (signature schemes) and what it says (payloads into
//! canonical [`ShopEvent`](crate::domain::ShopEvent)s). Nothing here touches the store.

pub mod canonical;
pub mod signature;

pub use canonical::{PayloadError, parse_canonical};
pub use signature::{SignatureError, WebhookSecret, verify_standard_webhook};
