//! A shop's coupon endpoint: for a reward with `code_source: endpoint`, trouw asks the shop's
//! own server for a code per redemption, in a request signed per Standard Webhooks
//! (`webhook-id` = the redemption id, so the shop can answer a retry with the same code).
//!
//! The customer waits at the checkout, so the whole call (connect, TLS, answer) has a few
//! seconds; one client per container keeps its connections for the next redemption.

use crate::domain::{CustomerId, Timestamp, code_key};
use crate::shops::valid_coupon_url;
use crate::webhook::WebhookSecret;
use crate::webhook::signature::sign_standard_webhook;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;
use serde_json::json;
use std::time::Duration;

/// How long the customer may wait for the shop's endpoint.
pub const TIMEOUT: Duration = Duration::from_secs(3);
/// An answer is `{"code": "..."}`: anything longer is not one.
const MAX_ANSWER_BYTES: usize = 4096;

/// A shop's coupon endpoint with its secrets resolved.
pub struct CouponEndpoint {
    pub url: String,
    pub secrets: Vec<WebhookSecret>,
}

impl std::fmt::Debug for CouponEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CouponEndpoint")
            .field("url", &self.url)
            .field("secrets", &self.secrets.len())
            .finish()
    }
}

/// Why the shop's endpoint gave no code. Nothing was spent; the same redemption may be tried
/// again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoCode {
    /// The shop has no usable endpoint (URL or secret) for a reward that needs one.
    NotConfigured,
    /// No answer within [`TIMEOUT`].
    Timeout,
    /// No connection (refused, DNS, TLS).
    Unreachable,
    /// An answer other than 2xx.
    Status(u16),
    /// A 2xx answer that is not `{"code": "..."}`.
    BadAnswer,
    /// A code trouw cannot hand out: empty, longer than 64 characters, or other than
    /// letters, digits, `-` and `_`.
    BadCode,
}

impl NoCode {
    /// The cause as the 503 names it.
    pub fn cause(self) -> &'static str {
        match self {
            NoCode::NotConfigured => "not_configured",
            NoCode::Timeout => "timeout",
            NoCode::Unreachable => "unreachable",
            NoCode::Status(_) => "status",
            NoCode::BadAnswer => "bad_answer",
            NoCode::BadCode => "bad_code",
        }
    }
}

/// What the shop is asked a code for.
pub struct CodeRequest<'a> {
    pub redemption: &'a str,
    pub customer: &'a CustomerId,
    pub reward: &'a str,
    pub value: &'a serde_json::Value,
    pub points: u64,
    pub expires_at: Timestamp,
}

impl CodeRequest<'_> {
    /// The body: Standard Webhooks' envelope (`type`, `timestamp`, `data`).
    pub fn body(&self, now: Timestamp) -> Vec<u8> {
        json!({
            "type": "loyalty.code_requested",
            "timestamp": now.to_string(),
            "data": {
                "redemption": self.redemption,
                "customer": self.customer,
                "reward": self.reward,
                "value": self.value,
                "points": self.points,
                "expires_at": self.expires_at.to_string(),
            },
        })
        .to_string()
        .into_bytes()
    }
}

#[derive(Deserialize)]
struct Answer {
    code: String,
}

/// The code in a 2xx answer's body, keyed as trouw keys codes (upper case).
pub fn code_of(body: &[u8]) -> Result<String, NoCode> {
    let answer: Answer = serde_json::from_slice(body).map_err(|_| NoCode::BadAnswer)?;
    if answer.code.trim() != answer.code {
        return Err(NoCode::BadCode);
    }
    code_key(&answer.code).ok_or(NoCode::BadCode)
}

/// The `webhook-signature` header: one `v1,` signature per secret, space-separated.
pub fn signatures(
    secrets: &[WebhookSecret],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Option<String> {
    let signed: Vec<String> = secrets
        .iter()
        .filter_map(|s| sign_standard_webhook(s, id, timestamp, body).ok())
        .collect();
    (!signed.is_empty()).then(|| signed.join(" "))
}

/// The HTTP client for the shops' endpoints, one per container, built when a redemption first
/// asks an endpoint: building it loads and parses the system's trusted roots, which a
/// container of shops that hand out codes from their pools never needs (and no cold start
/// waits for).
pub struct CouponClient {
    client: std::sync::OnceLock<Client<HttpsConnector<HttpConnector>, Full<Bytes>>>,
    timeout: Duration,
}

impl Default for CouponClient {
    fn default() -> Self {
        Self::new(TIMEOUT)
    }
}

impl CouponClient {
    /// A client on the system's trusted roots (see [`crate::https`]), built on first use.
    pub fn new(timeout: Duration) -> Self {
        CouponClient {
            client: std::sync::OnceLock::new(),
            timeout,
        }
    }

    /// Whether the client was built (a call to an endpoint needed it).
    pub fn is_built(&self) -> bool {
        self.client.get().is_some()
    }

    fn client(&self) -> &Client<HttpsConnector<HttpConnector>, Full<Bytes>> {
        // Plain HTTP is let through for this machine only: `valid_coupon_url` is checked
        // before every call.
        self.client.get_or_init(|| {
            Client::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(60))
                .build(crate::https::connector())
        })
    }

    /// Asks the shop's endpoint for the redemption's code.
    pub async fn code(
        &self,
        endpoint: Option<&CouponEndpoint>,
        request: &CodeRequest<'_>,
        now: Timestamp,
    ) -> Result<String, NoCode> {
        let endpoint = endpoint
            .filter(|e| valid_coupon_url(&e.url))
            .ok_or(NoCode::NotConfigured)?;
        let body = request.body(now);
        let timestamp = now.as_second();
        let signature = signatures(&endpoint.secrets, request.redemption, timestamp, &body)
            .ok_or(NoCode::NotConfigured)?;
        let http_request = http::Request::post(&endpoint.url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::USER_AGENT, "trouw-loyalty")
            .header("webhook-id", request.redemption)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(Full::new(Bytes::from(body)))
            .map_err(|_| NoCode::NotConfigured)?;
        let call = async {
            let response = self
                .client()
                .request(http_request)
                .await
                .map_err(|_| NoCode::Unreachable)?;
            let status = response.status();
            if !status.is_success() {
                return Err(NoCode::Status(status.as_u16()));
            }
            let body = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
                .collect()
                .await
                .map_err(|_| NoCode::BadAnswer)?
                .to_bytes();
            code_of(&body)
        };
        tokio::time::timeout(self.timeout, call)
            .await
            .unwrap_or(Err(NoCode::Timeout))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::verify_standard_webhook;

    #[tokio::test]
    async fn the_client_and_its_trusted_roots_wait_for_the_first_endpoint_call() {
        let coupons = CouponClient::default();
        assert!(!coupons.is_built(), "nothing built at start");
        let customer = CustomerId::parse("cus-1").unwrap();
        let request = CodeRequest {
            redemption: "rd_1",
            customer: &customer,
            reward: "r5",
            value: &serde_json::Value::Null,
            points: 500,
            expires_at: Timestamp::UNIX_EPOCH,
        };
        let answer = coupons.code(None, &request, Timestamp::UNIX_EPOCH).await;
        assert!(matches!(answer, Err(NoCode::NotConfigured)));
        assert!(
            !coupons.is_built(),
            "a shop without an endpoint builds nothing"
        );
    }

    #[test]
    fn an_answer_is_one_code_trouw_can_hand_out() {
        assert_eq!(
            code_of(br#"{"code":"spring-7F3A"}"#),
            Ok("SPRING-7F3A".into())
        );
        assert_eq!(
            code_of(br#"{"code":"X1","expires":"later"}"#),
            Ok("X1".into())
        );
        assert_eq!(code_of(br#"{"code":""}"#), Err(NoCode::BadCode));
        assert_eq!(code_of(br#"{"code":" X1"}"#), Err(NoCode::BadCode));
        assert_eq!(code_of(br#"{"code":"TWEE WOORDEN"}"#), Err(NoCode::BadCode));
        let long = format!(r#"{{"code":"{}"}}"#, "A".repeat(65));
        assert_eq!(code_of(long.as_bytes()), Err(NoCode::BadCode));
        assert_eq!(code_of(br#"{"coupon":"X1"}"#), Err(NoCode::BadAnswer));
        assert_eq!(code_of(br#"{"code":7}"#), Err(NoCode::BadAnswer));
        assert_eq!(code_of(b"X1"), Err(NoCode::BadAnswer));
    }

    #[test]
    fn every_secret_signs_and_the_shop_verifies_any() {
        let current = WebhookSecret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let next = WebhookSecret::new("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD");
        let customer = CustomerId::parse("cus-1").unwrap();
        let now = Timestamp::now();
        let request = CodeRequest {
            redemption: "rd_0a1b",
            customer: &customer,
            reward: "r5",
            value: &json!({"minor": 500, "currency": "EUR"}),
            points: 500,
            expires_at: now,
        };
        let body = request.body(now);
        let header = signatures(
            &[current.clone(), next.clone()],
            "rd_0a1b",
            now.as_second(),
            &body,
        )
        .unwrap();
        assert_eq!(header.split(' ').count(), 2);
        let mut headers = http::HeaderMap::new();
        headers.insert("webhook-id", "rd_0a1b".parse().unwrap());
        headers.insert(
            "webhook-timestamp",
            now.as_second().to_string().parse().unwrap(),
        );
        headers.insert("webhook-signature", header.parse().unwrap());
        for secret in [current, next] {
            let id = verify_standard_webhook(&headers, &body, &[secret]).unwrap();
            assert_eq!(id.as_str(), "rd_0a1b");
        }
        let other = WebhookSecret::new("whsec_dGVzdC1zZWNyZXQtb25lLTAxMjM0NTY3ODk=");
        assert!(verify_standard_webhook(&headers, &body, &[other]).is_err());
        assert_eq!(signatures(&[], "rd_0a1b", now.as_second(), &body), None);
        let data: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(data["data"]["redemption"], "rd_0a1b");
        assert_eq!(data["data"]["customer"], "cus-1");
        assert_eq!(data["data"]["value"]["minor"], 500);
    }
}
