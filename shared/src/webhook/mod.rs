//! The inbound edge: who sent a webhook (signature schemes) and what it says (payloads into
//! canonical [`ShopEvent`](crate::domain::ShopEvent)s). Nothing here touches the store.

pub mod canonical;
pub mod signature;

pub use canonical::{parse_canonical, PayloadError};
pub use signature::{verify_standard_webhook, SignatureError, WebhookSecret};
