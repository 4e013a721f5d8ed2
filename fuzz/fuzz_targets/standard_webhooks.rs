//! Standard Webhooks: the three headers as sent (any bytes, any casing of values, several
//! signatures), the body and the shop's secrets. Nothing panics; a signature that was not made
//! with one of the shop's secrets never passes; a genuine one passes exactly when its
//! timestamp is within five minutes and its id is valid, and fails for any other body.
#![no_main]

use arbitrary::Arbitrary;
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use trouw::domain::EventId;
use trouw::webhook::signature::sign_standard_webhook;
use trouw::webhook::{SignatureError, WebhookSecret, verify_standard_webhook};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

#[derive(Arbitrary, Debug)]
struct Delivery<'a> {
    id: &'a [u8],
    /// Seconds from now, or (with `raw_timestamp`) the header as sent.
    offset: i32,
    raw_timestamp: Option<&'a [u8]>,
    /// Signature entries as sent, space-separated in the header.
    signatures: Vec<&'a [u8]>,
    /// Whether a genuine `v1` signature over the body is added among them.
    genuine: bool,
    body: &'a [u8],
    /// The shop's secrets: the real one or not, plus odd ones.
    with_secret: bool,
    other_secrets: Vec<&'a str>,
    /// Leave a header out.
    missing: Option<u8>,
}

fuzz_target!(|d: Delivery<'_>| {
    let now = jiff::Timestamp::now().as_second();
    let timestamp = now + i64::from(d.offset);
    let mut signature: Vec<u8> = d.signatures.join(&b' ');
    let id_text = std::str::from_utf8(d.id).ok();
    let made = match (d.genuine, id_text) {
        (true, Some(id)) => {
            let sig = sign_standard_webhook(&WebhookSecret::new(SECRET), id, timestamp, d.body)
                .expect("the secret is usable");
            if !signature.is_empty() {
                signature.push(b' ');
            }
            signature.extend_from_slice(sig.as_bytes());
            Some((id, sig))
        }
        _ => None,
    };
    let ts_text = timestamp.to_string();
    let ts = d.raw_timestamp.unwrap_or(ts_text.as_bytes());
    let mut headers = HeaderMap::new();
    for (i, (name, value)) in [
        ("webhook-id", d.id),
        ("webhook-timestamp", ts),
        ("webhook-signature", &signature[..]),
    ]
    .into_iter()
    .enumerate()
    {
        if d.missing == Some(i as u8) {
            continue;
        }
        let Ok(value) = HeaderValue::from_bytes(value) else {
            return;
        };
        headers.insert(name, value);
    }
    let mut secrets: Vec<WebhookSecret> = d
        .other_secrets
        .iter()
        .map(|s| WebhookSecret::new(*s))
        .collect();
    if d.with_secret {
        secrets.push(WebhookSecret::new(SECRET));
    }
    // Genuine: made with a key one of the shop's secrets is (`whsec_` is optional, so two
    // spellings can be the same key: compared by the signature they make).
    let genuine = made.as_ref().is_some_and(|(id, sig)| {
        secrets
            .iter()
            .any(|s| sign_standard_webhook(s, id, timestamp, d.body).as_ref() == Ok(sig))
    });
    let result = verify_standard_webhook(&headers, d.body, &secrets);
    if let Ok(id) = &result {
        // Only a genuine signature made with one of the shop's secrets passes.
        assert!(genuine, "a forged signature passed");
        assert_eq!(Some(id.as_str()), id_text);
    }
    // Header values are visible ASCII (RFC 9110); one with other bytes is malformed, so the
    // outcome of a genuine signature is only known for headers that are.
    let ascii = |name: &str| headers.get(name).is_some_and(|v| v.to_str().is_ok());
    let clean = d.missing.is_none_or(|m| m > 2)
        && d.raw_timestamp.is_none()
        && ascii("webhook-id")
        && ascii("webhook-signature");
    if genuine && clean {
        let id_ok = id_text.is_some_and(|id| EventId::parse(id).is_ok());
        // A second of slack either way: `verify` reads the clock a moment later.
        if id_ok && d.offset.unsigned_abs() <= 299 {
            assert!(result.is_ok(), "a genuine delivery was refused: {result:?}");
            let mut other = d.body.to_vec();
            other.push(b' ');
            assert_eq!(
                verify_standard_webhook(&headers, &other, &secrets),
                Err(SignatureError::Mismatch),
                "a signature passed for another body"
            );
        }
        if id_ok && d.offset.unsigned_abs() >= 302 {
            assert_eq!(result, Err(SignatureError::Stale));
        }
    }
});
