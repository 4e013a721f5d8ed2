//! `POST /webhooks/{shop}/product-changed`: a product's availability. Checked like the other
//! webhooks (the same method, size, content type, shop and signature checks run first, in
//! `webhook::process`); then each product named is read, changed by the pure
//! [`apply_change`] and written only if it is still as read and the change says something new.
//! A redelivery finds nothing new and writes nothing: one effect.

use super::WebhookApp;
use super::responses::json;
use super::webhook::{
    Reply, invalid_payload, invalid_signature, shopify_verified, woocommerce_verified,
};
use crate::domain::stock::{ProductChange, apply_change};
use crate::shops::Shop;
use crate::store::StoreError;
use crate::webhook::platform::Platform;
use crate::webhook::product::{self, ProductDelivery};
use crate::webhook::{SignatureError, verify_standard_webhook};
use serde_json::json;

/// Rounds of read-and-write before a product that keeps changing under concurrent deliveries
/// is answered 503 (the platform retries).
const MAX_WRITE_ATTEMPTS: usize = 5;

pub(super) async fn process(
    app: &WebhookApp,
    shop: &Shop,
    platform: Platform,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Reply {
    let delivery = match read(app, shop, platform, headers, body) {
        Ok(delivery) => delivery,
        Err(reply) => return reply,
    };
    let changes = match delivery {
        ProductDelivery::Changes(changes) => changes,
        ProductDelivery::Ignored(reason) => {
            tracing::info!(reason = %reason, "nothing to apply");
            return Reply::ok(
                "ignored",
                json(200, json!({ "status": "ignored", "reason": reason })),
            );
        }
    };
    let mut products = Vec::new();
    let mut changed = false;
    for change in &changes {
        match apply(app, shop, change).await {
            Ok(outcome) => {
                changed |= outcome.changed;
                products.push(json!({
                    "sku": change.sku.as_str(),
                    "available": change.available,
                    "changed": outcome.changed,
                    "stock_out": outcome.stock_out,
                    "told": outcome.told,
                }));
            }
            Err(err) => return Reply::store_error(err),
        }
    }
    // Nothing new: a redelivery, or older news than what is stored.
    let status = if changed { "processed" } else { "duplicate" };
    Reply::ok(
        status,
        json(200, json!({ "status": status, "products": products })),
    )
}

/// Verifies the delivery in its platform's way and reads the products it names.
#[allow(clippy::result_large_err)]
fn read(
    app: &WebhookApp,
    shop: &Shop,
    platform: Platform,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Result<ProductDelivery, Reply> {
    match platform {
        Platform::Canonical => {
            let event_id =
                verify_standard_webhook(headers, body, &shop.secrets).map_err(|err| {
                    if err == SignatureError::NoSecret {
                        tracing::error!(
                            "shop has no usable webhook secret; every delivery is refused"
                        );
                    }
                    invalid_signature(err.to_string())
                })?;
            tracing::Span::current().record("event_id", event_id.as_str());
            let change = product::parse_canonical(body).map_err(invalid_payload)?;
            Ok(ProductDelivery::Changes(vec![change]))
        }
        Platform::Shopify => {
            let (_, topic, _) = shopify_verified(shop, headers, body, app.clock.now())?;
            product::shopify(topic, body).map_err(invalid_payload)
        }
        Platform::WooCommerce => {
            let (_, topic) = woocommerce_verified(shop, headers, body)?;
            crate::webhook::woocommerce::product_updated(topic, body).map_err(invalid_payload)
        }
    }
}

struct Applied {
    changed: bool,
    /// `started` or `ended` when this change began or ended a stock-out.
    stock_out: Option<&'static str>,
    /// Regular buyers told in this call (the first page).
    told: usize,
}

/// Read, apply, write if still as read; again if another delivery came first.
async fn apply(
    app: &WebhookApp,
    shop: &Shop,
    change: &ProductChange,
) -> Result<Applied, StoreError> {
    let shop_id = &shop.settings.id;
    for _ in 0..MAX_WRITE_ATTEMPTS {
        let before = app.store.product(shop_id, &change.sku).await?;
        let Some(after) = apply_change(before.as_ref(), change) else {
            return Ok(Applied {
                changed: false,
                stock_out: None,
                told: 0,
            });
        };
        // A pass over the buyers waits in the due index from now, so the schedule finishes
        // it should this call stop before it does.
        let now = app.clock.now();
        if !app.store.put_product(shop_id, &after, Some(now)).await? {
            continue;
        }
        let was_out = before.as_ref().and_then(|b| b.out_since);
        let stock_out = match (was_out, after.out_since) {
            (None, Some(_)) => Some("started"),
            (Some(_), None) => Some("ended"),
            _ => None,
        };
        if let Some(what) = stock_out {
            tracing::info!(sku_key = %crate::domain::stock::sku_key(&change.sku), stock_out = what, "product availability changed");
        }
        // The first page of buyers before answering; the schedule does the rest.
        let mut told = 0;
        if after.fanout.is_some() {
            let done = super::stock_pass::continue_pass(
                &app.store,
                app.clock.as_ref(),
                &shop.settings,
                &change.sku,
                1,
            )
            .await?;
            told = done.told;
        }
        return Ok(Applied {
            changed: true,
            stock_out,
            told,
        });
    }
    Err(StoreError::Unavailable(
        "the product kept changing under concurrent deliveries".into(),
    ))
}
