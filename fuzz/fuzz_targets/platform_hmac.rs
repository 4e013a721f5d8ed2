//! Shopify's and WooCommerce's body HMAC (`X-Shopify-Hmac-Sha256`, `X-WC-Webhook-Signature`)
//! and the headers that say which platform sent a delivery. Nothing panics; a signature passes
//! only when it is a genuine HMAC of these very bytes under one of the secrets.
#![no_main]

use arbitrary::Arbitrary;
use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use trouw::webhook::WebhookSecret;
use trouw::webhook::platform::{body_signature_matches, detect, shopify_header, sign_body};

#[derive(Arbitrary, Debug)]
struct Delivery<'a> {
    headers: Vec<(&'a str, &'a [u8])>,
    body: &'a [u8],
    secrets: Vec<&'a str>,
    /// Sign the body with this secret (one of the shop's or not) and send that.
    sign_with: Option<&'a str>,
    signature: Option<&'a str>,
    /// Change the body after signing.
    tamper: Option<u8>,
}

fuzz_target!(|d: Delivery<'_>| {
    let mut headers = HeaderMap::new();
    for (name, value) in &d.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value),
        ) {
            headers.append(name, value);
        }
    }
    let _ = detect(&headers);
    for name in [
        "topic",
        "hmac-sha256",
        "shop-domain",
        "webhook-id",
        "triggered-at",
    ] {
        if let Some(value) = shopify_header(&headers, name) {
            assert_eq!(value, value.trim());
            assert!(!value.is_empty());
        }
    }
    let secrets: Vec<WebhookSecret> = d.secrets.iter().map(|s| WebhookSecret::new(*s)).collect();
    let made = d
        .sign_with
        .map(|s| sign_body(d.body, &WebhookSecret::new(s)));
    let signature = made.as_deref().or(d.signature);
    let mut body = d.body.to_vec();
    if let Some(b) = d.tamper {
        body.push(b);
    }
    let matches = body_signature_matches(&body, signature, &secrets);
    // Genuine: made over these very bytes with a key that one of the shop's secrets is (HMAC
    // treats some different strings as the same key, so that is compared by the signature);
    // an empty secret is no secret (anyone can sign with it).
    let genuine = made.as_ref().is_some_and(|made| {
        d.tamper.is_none()
            && secrets
                .iter()
                .filter(|s| !s.expose().is_empty())
                .any(|s| sign_body(&body, s) == *made)
    });
    if made.is_some() {
        assert_eq!(
            matches, genuine,
            "a genuine signature refused, or a wrong one passed"
        );
    } else if matches {
        // Only by knowing a secret can a signature be made: one the fuzzer wrote cannot pass.
        panic!("a signature that was not made with a secret passed");
    }
});
