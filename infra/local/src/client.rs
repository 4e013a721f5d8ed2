//! A small HTTP client for posting signed webhooks to a local or deployed API.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use trouw::webhook::WebhookSecret;
use trouw::webhook::signature::sign_standard_webhook;

/// An answer: status, headers and body text.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

pub type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

pub fn http_client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// A client for `https://` (and plain `http://`) URLs: a deployed API from the operator's
/// machine (`make codes`).
pub type WebClient = Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Full<Bytes>,
>;

pub fn web_client() -> WebClient {
    Client::builder(TokioExecutor::new()).build(trouw::https::connector())
}

/// Sends one request.
pub async fn send<C>(
    client: &Client<C, Full<Bytes>>,
    request: http::Request<Full<Bytes>>,
) -> Result<Answer, String>
where
    C: hyper_util::client::legacy::connect::Connect + Clone + Send + Sync + 'static,
{
    let response = client.request(request).await.map_err(|e| e.to_string())?;
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
    Ok(Answer {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    })
}

/// A `POST` signed per Standard Webhooks with `secret`, as a shop platform sends it.
pub fn signed_post(
    url: &str,
    secret: &WebhookSecret,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> http::Request<Full<Bytes>> {
    let signature =
        sign_standard_webhook(secret, id, timestamp, body).expect("a valid whsec_ secret");
    http::Request::post(url)
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(Full::new(Bytes::copy_from_slice(body)))
        .expect("valid request parts")
}

/// What `infra/local/moto_server.py` answers with the emails SES received, in the shape of
/// moto's `/moto-api/data.json` but without every table's items (which that endpoint
/// serialises on each call, slower and slower as a test run fills moto).
pub const MOTO_SES_MESSAGES: &str = "/_trouw/ses-messages.json";

/// The raw emails (MIME) moto's SES received for `to`, oldest first, from the local moto's
/// SES messages at `moto` (see [`MOTO_SES_MESSAGES`]).
pub async fn moto_emails_to(
    client: &HttpClient,
    moto: &str,
    to: &str,
) -> Result<Vec<String>, String> {
    let request = http::Request::get(format!("{moto}{MOTO_SES_MESSAGES}"))
        .body(Full::new(Bytes::new()))
        .map_err(|e| e.to_string())?;
    let answer = send(client, request).await?;
    let data: serde_json::Value = serde_json::from_str(&answer.body).map_err(|e| e.to_string())?;
    Ok(data["ses"]["RawMessage"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|m| {
            m["destinations"]
                .as_array()
                .is_some_and(|d| d.iter().any(|x| x == to))
        })
        .filter_map(|m| m["raw_data"].as_str().map(str::to_owned))
        .collect())
}
