//! How a shop is connected to its platform, as stored with its settings: which domain Shopify
//! names and where the secrets that sign its deliveries are kept (references, never secrets).

use serde::{Deserialize, Serialize};

/// A shop's Shopify connection, as stored with its settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopifyConnection {
    /// `X-Shopify-Shop-Domain` must be this, e.g. `demo.myshopify.com`.
    pub shop_domain: String,
    /// References to the app's client secrets (`ssm:/...` or `env:...`); several while rotating.
    pub app_secrets: Vec<String>,
}

/// A shop's WooCommerce connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WooCommerceConnection {
    /// References to the webhooks' secrets (each WooCommerce webhook has its own).
    pub webhook_secrets: Vec<String>,
    /// The order status that means "delivered" (default `completed`).
    #[serde(default = "default_delivered_status")]
    pub delivered_status: String,
    /// A customer meta field holding marketing consent ("yes"/"no", "1"/"0", "true"/"false").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_meta_key: Option<String>,
}

fn default_delivered_status() -> String {
    "completed".into()
}
