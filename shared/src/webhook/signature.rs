//! Standard Webhooks signatures (`webhook-id`, `webhook-timestamp`, `webhook-signature`),
//! verified against every active secret of the shop over the raw body bytes.

use crate::domain::EventId;
use base64::Engine;
use hmac::Mac;
use http::HeaderMap;
use std::fmt;

/// A shop's signing secret (`whsec_<base64>`). Never printed.
#[derive(Clone)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}
impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    #[error("malformed header {0}")]
    MalformedHeader(&'static str),
    #[error("webhook-timestamp is more than 5 minutes off")]
    Stale,
    #[error("no signature matches an active secret of this shop")]
    Mismatch,
    #[error("the shop has no usable webhook secret configured")]
    NoSecret,
}

/// How far `webhook-timestamp` may be from now, either way (the Standard Webhooks default).
const TOLERANCE_SECONDS: u64 = 5 * 60;

/// Checks the headers and the signature over the raw body; returns the `webhook-id`.
///
/// Several signatures in the header and several secrets for the shop are allowed, so a shop
/// can rotate secrets without downtime: any match is enough.
pub fn verify_standard_webhook(
    headers: &HeaderMap,
    body: &[u8],
    secrets: &[WebhookSecret],
) -> Result<EventId, SignatureError> {
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        if !headers.contains_key(name) {
            return Err(SignatureError::MissingHeader(name));
        }
    }
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| EventId::parse(v).ok())
        .ok_or(SignatureError::MalformedHeader("webhook-id"))?;
    let signature = headers
        .get("webhook-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !signature.split(' ').any(|s| {
        s.split_once(',')
            .is_some_and(|(v, sig)| !v.is_empty() && !sig.is_empty())
    }) {
        return Err(SignatureError::MalformedHeader("webhook-signature"));
    }

    // Compared with arithmetic that cannot overflow (`now - timestamp` would, for a timestamp
    // like i64::MIN).
    let timestamp = headers
        .get("webhook-timestamp")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .ok_or(SignatureError::MalformedHeader("webhook-timestamp"))?;
    if jiff::Timestamp::now().as_second().abs_diff(timestamp) > TOLERANCE_SECONDS {
        return Err(SignatureError::Stale);
    }

    let mut usable = 0;
    for secret in secrets {
        let Some(mac) = keyed_mac(secret) else {
            continue;
        };
        usable += 1;
        let mac = signed_content(mac, id.as_str(), timestamp, body);
        let matches = signature
            .split(' ')
            .filter_map(|s| s.split_once(','))
            .filter(|(version, _)| *version == SIGNATURE_VERSION)
            .filter_map(|(_, sig)| base64::engine::general_purpose::STANDARD.decode(sig).ok())
            .any(|sig| mac.clone().verify_slice(&sig).is_ok());
        if matches {
            return Ok(id);
        }
    }
    if usable == 0 {
        return Err(SignatureError::NoSecret);
    }
    Err(SignatureError::Mismatch)
}

/// The only signature scheme trouw accepts: HMAC-SHA256 (`v1`).
const SIGNATURE_VERSION: &str = "v1";

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The HMAC keyed with the secret's bytes (`whsec_` and base64), if the secret is usable.
fn keyed_mac(secret: &WebhookSecret) -> Option<HmacSha256> {
    let text = secret.expose();
    let key = base64::engine::general_purpose::STANDARD
        .decode(text.strip_prefix("whsec_").unwrap_or(text))
        .ok()
        .filter(|key| !key.is_empty())?;
    HmacSha256::new_from_slice(&key).ok()
}

/// What is signed: `{id}.{timestamp}.{body}`, over the body's raw bytes. The body need not be
/// UTF-8 to be verified: one that is not is then refused as a payload, naming the body, rather
/// than passing for a bad signature.
fn signed_content(mut mac: HmacSha256, id: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    mac.update(id.as_bytes());
    mac.update(format!(".{timestamp}.").as_bytes());
    mac.update(body);
    mac
}

/// Signs a body the way a sending platform does; used by the local tools and the tests.
pub fn sign_standard_webhook(
    secret: &WebhookSecret,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, SignatureError> {
    let mac = keyed_mac(secret).ok_or(SignatureError::NoSecret)?;
    let signature = signed_content(mac, id, timestamp, body)
        .finalize()
        .into_bytes();
    Ok(format!(
        "{SIGNATURE_VERSION},{}",
        base64::engine::general_purpose::STANDARD.encode(signature)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const OLD_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

    fn now() -> i64 {
        jiff::Timestamp::now().as_second()
    }

    fn headers(id: &str, ts: i64, sig: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("webhook-id", id.parse().unwrap());
        h.insert("webhook-timestamp", ts.to_string().parse().unwrap());
        h.insert("webhook-signature", sig.parse().unwrap());
        h
    }

    fn signed(secret: &str, id: &str, ts: i64, body: &[u8]) -> HeaderMap {
        let sig = sign_standard_webhook(&WebhookSecret::new(secret), id, ts, body).unwrap();
        headers(id, ts, &sig)
    }

    #[test]
    fn valid_signature_returns_the_webhook_id() {
        let body = br#"{"type":"order.placed"}"#;
        let h = signed(SECRET, "msg_1", now(), body);
        assert_eq!(
            verify_standard_webhook(&h, body, &[WebhookSecret::new(SECRET)])
                .unwrap()
                .as_str(),
            "msg_1"
        );
    }

    #[test]
    fn a_body_that_is_not_utf8_is_verified_over_its_bytes() {
        let body = b"{\"first_name\":\"An\xffna\"}";
        let h = signed(SECRET, "msg_1", now(), body);
        let secrets = [WebhookSecret::new(SECRET)];
        assert_eq!(
            verify_standard_webhook(&h, body, &secrets)
                .unwrap()
                .as_str(),
            "msg_1"
        );
        assert_eq!(
            verify_standard_webhook(&h, b"{\"first_name\":\"An\xfena\"}", &secrets),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn only_the_v1_scheme_counts() {
        let body = b"{}";
        let ts = now();
        let v1 = sign_standard_webhook(&WebhookSecret::new(SECRET), "msg_1", ts, body).unwrap();
        for other in [v1.replacen("v1,", "v2,", 1), v1.replacen("v1,", "V1,", 1)] {
            assert_eq!(
                verify_standard_webhook(
                    &headers("msg_1", ts, &other),
                    body,
                    &[WebhookSecret::new(SECRET)]
                ),
                Err(SignatureError::Mismatch),
                "{other}"
            );
        }
    }

    #[test]
    fn tampered_body_and_wrong_secret_are_refused() {
        let body = br#"{"total":"10.00"}"#;
        let h = signed(SECRET, "msg_1", now(), body);
        assert_eq!(
            verify_standard_webhook(&h, br#"{"total":"99.00"}"#, &[WebhookSecret::new(SECRET)]),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_standard_webhook(&h, body, &[WebhookSecret::new(OLD_SECRET)]),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn stale_and_future_timestamps_are_refused() {
        let body = b"{}";
        for ts in [now() - 301, now() + 301, now() - 86_400] {
            let h = signed(SECRET, "msg_1", ts, body);
            assert_eq!(
                verify_standard_webhook(&h, body, &[WebhookSecret::new(SECRET)]),
                Err(SignatureError::Stale),
                "{ts}"
            );
        }
        let h = signed(SECRET, "msg_1", now() - 240, body);
        assert!(verify_standard_webhook(&h, body, &[WebhookSecret::new(SECRET)]).is_ok());
    }

    #[test]
    fn rotation_accepts_any_active_secret_and_any_listed_signature() {
        let body = b"{}";
        let ts = now();
        let secrets = [WebhookSecret::new(OLD_SECRET), WebhookSecret::new(SECRET)];
        let h = signed(SECRET, "msg_1", ts, body);
        assert!(verify_standard_webhook(&h, body, &secrets).is_ok());
        let old =
            sign_standard_webhook(&WebhookSecret::new(OLD_SECRET), "msg_1", ts, body).unwrap();
        let both = format!("v1,AAAA {old}");
        assert!(
            verify_standard_webhook(
                &headers("msg_1", ts, &both),
                body,
                &[WebhookSecret::new(OLD_SECRET)]
            )
            .is_ok()
        );
    }

    #[test]
    fn missing_and_malformed_headers_are_named() {
        let body = b"{}";
        let mut h = signed(SECRET, "msg_1", now(), body);
        h.remove("webhook-signature");
        assert_eq!(
            verify_standard_webhook(&h, body, &[WebhookSecret::new(SECRET)]),
            Err(SignatureError::MissingHeader("webhook-signature"))
        );
        let h = headers("msg_1", now(), "garbage");
        assert_eq!(
            verify_standard_webhook(&h, body, &[WebhookSecret::new(SECRET)]),
            Err(SignatureError::MalformedHeader("webhook-signature"))
        );
        let mut h = signed(SECRET, "msg_1", now(), body);
        h.insert("webhook-timestamp", "yesterday".parse().unwrap());
        assert_eq!(
            verify_standard_webhook(&h, body, &[WebhookSecret::new(SECRET)]),
            Err(SignatureError::MalformedHeader("webhook-timestamp"))
        );
        assert_eq!(
            verify_standard_webhook(&signed(SECRET, "m", now(), body), body, &[]),
            Err(SignatureError::NoSecret)
        );
    }

    #[test]
    fn extreme_timestamps_are_stale_not_a_crash() {
        let body = b"{}";
        let secrets = [WebhookSecret::new(SECRET)];
        for ts in [i64::MIN, i64::MIN + 1, i64::MAX, -1, 0] {
            let mut h = signed(SECRET, "msg_1", now(), body);
            h.insert("webhook-timestamp", ts.to_string().parse().unwrap());
            assert_eq!(
                verify_standard_webhook(&h, body, &secrets),
                Err(SignatureError::Stale),
                "{ts}"
            );
        }
        for text in ["99999999999999999999", "-99999999999999999999", "1e9", ""] {
            let mut h = signed(SECRET, "msg_1", now(), body);
            h.insert("webhook-timestamp", text.parse().unwrap());
            assert_eq!(
                verify_standard_webhook(&h, body, &secrets),
                Err(SignatureError::MalformedHeader("webhook-timestamp")),
                "{text}"
            );
        }
    }

    #[test]
    fn secrets_never_print() {
        assert_eq!(
            format!("{:?}", WebhookSecret::new(SECRET)),
            "WebhookSecret(<redacted>)"
        );
    }
}
