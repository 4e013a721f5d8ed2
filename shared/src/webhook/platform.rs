//! Which platform sent a delivery, and its body signature (Shopify and WooCommerce both sign
//! the raw body with HMAC-SHA256, base64-encoded, in a header of their own).

use super::WebhookSecret;
pub use crate::domain::{ShopifyConnection, WooCommerceConnection};
use base64::Engine;
use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::Sha256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// The canonical format, signed per Standard Webhooks.
    Canonical,
    Shopify,
    WooCommerce,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Canonical => "canonical",
            Platform::Shopify => "shopify",
            Platform::WooCommerce => "woocommerce",
        }
    }
}

/// Recognises the platform by its headers.
pub fn detect(headers: &HeaderMap) -> Platform {
    if shopify_header(headers, "topic").is_some() {
        Platform::Shopify
    } else if headers.contains_key("x-wc-webhook-topic")
        || headers.contains_key("x-wc-webhook-signature")
    {
        Platform::WooCommerce
    } else {
        Platform::Canonical
    }
}

/// A Shopify header by its short name (`topic`), under the old `X-Shopify-` or the newer
/// `Shopify-` prefix.
pub fn shopify_header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    [format!("x-shopify-{name}"), format!("shopify-{name}")]
        .iter()
        .find_map(|h| headers.get(h.as_str()))
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Checks a base64 HMAC-SHA256 of the raw body against every active secret, in constant time.
pub fn body_signature_matches(
    body: &[u8],
    signature_b64: Option<&str>,
    secrets: &[WebhookSecret],
) -> bool {
    let Some(signature) = signature_b64.and_then(|s| {
        base64::engine::general_purpose::STANDARD
            .decode(s.trim())
            .ok()
    }) else {
        return false;
    };
    // An empty secret is no secret: anyone can compute the HMAC under an empty key.
    secrets
        .iter()
        .filter(|s| !s.expose().is_empty())
        .any(|secret| {
            let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()) else {
                return false;
            };
            mac.update(body);
            mac.verify_slice(&signature).is_ok()
        })
}

/// The signature a platform puts in its header; for the local tools and the tests.
pub fn sign_body(body: &[u8], secret: &WebhookSecret) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
        .expect("HMAC takes any key length");
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by fuzzing (platform_hmac): the HMAC of a body under an empty key is public, so a
    /// shop whose secret came out empty accepted anyone's signature.
    #[test]
    fn an_empty_secret_verifies_no_signature() {
        let empty = WebhookSecret::new("");
        for body in [&b""[..], br#"{"id":1}"#] {
            let forged = sign_body(body, &empty);
            assert!(!body_signature_matches(
                body,
                Some(&forged),
                std::slice::from_ref(&empty)
            ));
            let real = WebhookSecret::new("shpss_real");
            assert!(!body_signature_matches(
                body,
                Some(&forged),
                &[empty.clone(), real.clone()]
            ));
            assert!(body_signature_matches(
                body,
                Some(&sign_body(body, &real)),
                &[empty.clone(), real]
            ));
        }
    }

    #[test]
    fn body_signatures_are_checked_against_every_secret() {
        let body = br#"{"id":1}"#;
        let old = WebhookSecret::new("shpss_old");
        let new = WebhookSecret::new("shpss_new");
        let sig = sign_body(body, &new);
        assert!(body_signature_matches(
            body,
            Some(&sig),
            &[old.clone(), new.clone()]
        ));
        assert!(!body_signature_matches(
            body,
            Some(&sig),
            std::slice::from_ref(&old)
        ));
        assert!(!body_signature_matches(
            br#"{"id":2}"#,
            Some(&sig),
            std::slice::from_ref(&new)
        ));
        assert!(!body_signature_matches(
            body,
            Some("not base64!"),
            std::slice::from_ref(&new)
        ));
        assert!(!body_signature_matches(body, None, &[new]));
    }

    #[test]
    fn platforms_are_recognised_by_their_headers() {
        let mut h = HeaderMap::new();
        assert_eq!(detect(&h), Platform::Canonical);
        h.insert("shopify-topic", "orders/create".parse().unwrap());
        assert_eq!(detect(&h), Platform::Shopify);
        assert_eq!(shopify_header(&h, "topic"), Some("orders/create"));
        let mut h = HeaderMap::new();
        h.insert("x-shopify-topic", "orders/create".parse().unwrap());
        assert_eq!(detect(&h), Platform::Shopify);
        let mut h = HeaderMap::new();
        h.insert("x-wc-webhook-topic", "order.created".parse().unwrap());
        assert_eq!(detect(&h), Platform::WooCommerce);
    }
}
