//! A loopback proxy in front of moto that can make one DynamoDB operation throttle or hang,
//! to test what a webhook answers when DynamoDB misbehaves, and that nothing is half-written.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer as DynamoDB does when throttling: 400 ThrottlingException.
    Throttle,
    /// Never answer (the client's timeout fires). Bounded: gives up after 30 s.
    Hang,
    /// SES v2 refusing the message for good: 400 MessageRejected, quoting the recipient as
    /// the SES sandbox does for an unverified address.
    Reject,
}

/// Which requests fail, and how.
#[derive(Debug, Clone)]
struct Rule {
    operation: String,
    fault: Fault,
    /// Calls let through before the fault starts.
    passes: usize,
    /// Only requests whose body contains this (e.g. one customer's key or address).
    body_contains: Option<String>,
}

#[derive(Clone)]
pub struct FaultProxy {
    pub endpoint: String,
    rule: Arc<Mutex<Option<Rule>>>,
}

impl FaultProxy {
    pub async fn start(upstream: &str) -> FaultProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let rule: Arc<Mutex<Option<Rule>>> = Arc::new(Mutex::new(None));
        let upstream = upstream.to_owned();
        let client = crate::client::http_client();
        let shared_rule = rule.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (rule, upstream, client) =
                    (shared_rule.clone(), upstream.clone(), client.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let (rule, upstream, client) =
                            (rule.clone(), upstream.clone(), client.clone());
                        async move { Ok::<_, Infallible>(forward(req, &rule, &upstream, &client).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        FaultProxy { endpoint, rule }
    }

    /// Makes `operation` (e.g. `TransactWriteItems`) fail with `fault` until cleared.
    pub fn set(&self, operation: &str, fault: Fault) {
        self.set_after(operation, fault, 0);
    }

    /// Lets `passes` calls of `operation` through, then makes it fail with `fault` until
    /// cleared (to stop a multi-step write halfway).
    pub fn set_after(&self, operation: &str, fault: Fault, passes: usize) {
        *self.rule.lock().unwrap() = Some(Rule {
            operation: operation.to_owned(),
            fault,
            passes,
            body_contains: None,
        });
    }

    /// Makes only the calls of `operation` whose request body contains `text` fail with
    /// `fault`, every time, until cleared (one record that always fails).
    pub fn set_for(&self, operation: &str, text: &str, fault: Fault) {
        *self.rule.lock().unwrap() = Some(Rule {
            operation: operation.to_owned(),
            fault,
            passes: 0,
            body_contains: Some(text.to_owned()),
        });
    }

    pub fn clear(&self) {
        *self.rule.lock().unwrap() = None;
    }
}

async fn forward(
    req: hyper::Request<hyper::body::Incoming>,
    rule: &Mutex<Option<Rule>>,
    upstream: &str,
    client: &crate::client::HttpClient,
) -> hyper::Response<Full<Bytes>> {
    let target = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    // JSON protocols name the operation in X-Amz-Target; SES v2 (REST) in the path.
    let rest = target.is_empty();
    let operation = if req.uri().path().ends_with("/v2/email/outbound-emails") {
        "SendEmail".to_owned()
    } else {
        target.rsplit('.').next().unwrap_or("").to_owned()
    };
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let fault = match rule.lock().unwrap().as_mut() {
        Some(rule) if rule.operation != operation => None,
        Some(Rule {
            body_contains: Some(text),
            ..
        }) if !String::from_utf8_lossy(&body).contains(text.as_str()) => None,
        Some(rule) if rule.passes > 0 => {
            rule.passes -= 1;
            None
        }
        Some(rule) => Some(rule.fault),
        None => None,
    };
    match fault {
        Some(Fault::Throttle) if rest => {
            return hyper::Response::builder()
                .status(429)
                .header("content-type", "application/json")
                .header("x-amzn-errortype", "TooManyRequestsException")
                .body(Full::new(Bytes::from_static(
                    br#"{"message":"Maximum sending rate exceeded."}"#,
                )))
                .unwrap();
        }
        Some(Fault::Reject) => {
            let to = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| {
                    v["Destination"]["ToAddresses"][0]
                        .as_str()
                        .map(str::to_owned)
                })
                .unwrap_or_default();
            let message = serde_json::json!({
                "message": format!("Email address is not verified. The following identities failed the check in region EU-WEST-1: {to}")
            });
            return hyper::Response::builder()
                .status(400)
                .header("content-type", "application/json")
                .header("x-amzn-errortype", "MessageRejected")
                .body(Full::new(Bytes::from(message.to_string())))
                .unwrap();
        }
        Some(Fault::Throttle) => {
            return hyper::Response::builder()
                .status(400)
                .header("content-type", "application/x-amz-json-1.0")
                .body(Full::new(Bytes::from_static(
                    br#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#,
                )))
                .unwrap();
        }
        Some(Fault::Hang) => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            return hyper::Response::builder()
                .status(504)
                .body(Full::new(Bytes::new()))
                .unwrap();
        }
        None => {}
    }
    let uri = format!(
        "{upstream}{}",
        parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
    );
    let mut request = http::Request::builder().method(parts.method).uri(uri);
    for (name, value) in &parts.headers {
        request = request.header(name, value);
    }
    let request = request.body(Full::new(body)).unwrap();
    match client.request(request).await {
        Ok(response) => {
            let (parts, body) = response.into_parts();
            let bytes = body
                .collect()
                .await
                .map(|c| c.to_bytes())
                .unwrap_or_default();
            hyper::Response::from_parts(parts, Full::new(bytes))
        }
        Err(_) => hyper::Response::builder()
            .status(502)
            .body(Full::new(Bytes::new()))
            .unwrap(),
    }
}
