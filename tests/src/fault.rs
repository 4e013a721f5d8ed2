//! A loopback proxy in front of moto that can make one DynamoDB operation throttle or hang,
//! to test what a webhook answers when DynamoDB misbehaves, and that nothing is half-written;
//! or, started with an [`Injector`], that fails a seeded share of all DynamoDB and SES
//! `SendEmail` requests in the ways AWS does (see [`Injected`]).

use crate::relay;
use bytes::Bytes;
use http_body_util::Full;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer as DynamoDB does when throttling: 400 ThrottlingException.
    Throttle,
    /// DynamoDB refusing a plain (non-transactional) write to an item that a transaction is
    /// writing at that moment: 400 TransactionConflictException, nothing applied.
    TransactionConflict,
    /// Never answer (the client's timeout fires). Bounded: gives up after 30 s.
    Hang,
    /// SES v2 refusing the message for good: 400 MessageRejected, quoting the recipient as
    /// the SES sandbox does for an unverified address.
    Reject,
    /// The request reaches moto and is applied, then the connection is dropped: the answer
    /// is lost (for SES: the email was sent).
    LoseAnswer,
    /// The request waits this long before it goes on to moto (a slow moment, to let another
    /// request overtake it).
    Delay(Duration),
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
    /// How many requests fail (then the rule lets everything through); `None`: every one.
    times: Option<usize>,
}

#[derive(Clone)]
pub struct FaultProxy {
    pub endpoint: String,
    rule: Arc<Mutex<Option<Rule>>>,
}

/// The answer the proxy gives, or none: the connection is dropped without one.
type Outcome = Result<hyper::Response<Full<Bytes>>, ConnectionDropped>;

#[derive(Debug)]
struct ConnectionDropped;

impl std::fmt::Display for ConnectionDropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by the fault proxy")
    }
}

impl std::error::Error for ConnectionDropped {}

impl FaultProxy {
    pub async fn start(upstream: &str) -> FaultProxy {
        Self::start_with(upstream, None).await
    }

    /// A proxy whose `injector` decides, request by request, whether and how to fail it.
    pub async fn start_injecting(upstream: &str, injector: Arc<Injector>) -> FaultProxy {
        Self::start_with(upstream, Some(injector)).await
    }

    async fn start_with(upstream: &str, injector: Option<Arc<Injector>>) -> FaultProxy {
        let rule: Arc<Mutex<Option<Rule>>> = Arc::new(Mutex::new(None));
        let upstream: Arc<str> = upstream.into();
        let client = crate::client::http_client();
        let shared_rule = rule.clone();
        let endpoint = relay::serve_loopback(move |req| {
            let (rule, upstream, client, injector) = (
                shared_rule.clone(),
                upstream.clone(),
                client.clone(),
                injector.clone(),
            );
            async move { forward(req, &rule, injector.as_deref(), &upstream, &client).await }
        })
        .await;
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
            times: None,
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
            times: None,
        });
    }

    /// Makes only the first call of `operation` whose request body contains `text` fail with
    /// `fault`; the calls after it (the SDK's retry of it, say) pass.
    pub fn set_once_for(&self, operation: &str, text: &str, fault: Fault) {
        self.set_times_for(operation, text, fault, 1);
    }

    /// Makes the first `times` calls of `operation` whose request body contains `text` fail
    /// with `fault` (a busy moment longer than the SDK's own retries); the calls after pass.
    pub fn set_times_for(&self, operation: &str, text: &str, fault: Fault, times: usize) {
        *self.rule.lock().unwrap() = Some(Rule {
            operation: operation.to_owned(),
            fault,
            passes: 0,
            body_contains: Some(text.to_owned()),
            times: Some(times),
        });
    }

    /// Whether a `set_once_for` or `set_times_for` rule met all its calls (so a test knows its
    /// faults happened).
    pub fn fired(&self) -> bool {
        matches!(
            *self.rule.lock().unwrap(),
            Some(Rule { times: Some(0), .. })
        )
    }

    pub fn clear(&self) {
        *self.rule.lock().unwrap() = None;
    }
}

async fn forward(
    req: hyper::Request<hyper::body::Incoming>,
    rule: &Mutex<Option<Rule>>,
    injector: Option<&Injector>,
    upstream: &str,
    client: &crate::client::HttpClient,
) -> Outcome {
    let target = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    // JSON protocols name the operation in X-Amz-Target; SES v2 (REST) in the path.
    let rest = target.is_empty();
    let dynamo = target.starts_with("DynamoDB_");
    let operation = if req.uri().path().ends_with("/v2/email/outbound-emails") {
        "SendEmail".to_owned()
    } else {
        target.rsplit('.').next().unwrap_or("").to_owned()
    };
    let (parts, body) = req.into_parts();
    let body = relay::whole_body(body).await;
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
        Some(Rule { times: Some(0), .. }) => None,
        Some(rule) => {
            if let Some(times) = &mut rule.times {
                *times -= 1;
            }
            Some(rule.fault)
        }
        None => None,
    };
    match fault {
        Some(Fault::Throttle) if rest => {
            return Ok(hyper::Response::builder()
                .status(429)
                .header("content-type", "application/json")
                .header("x-amzn-errortype", "TooManyRequestsException")
                .body(Full::new(Bytes::from_static(
                    br#"{"message":"Maximum sending rate exceeded."}"#,
                )))
                .unwrap());
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
            return Ok(hyper::Response::builder()
                .status(400)
                .header("content-type", "application/json")
                .header("x-amzn-errortype", "MessageRejected")
                .body(Full::new(Bytes::from(message.to_string())))
                .unwrap());
        }
        Some(Fault::Throttle) => {
            return Ok(dynamo_error(
                400,
                "ThrottlingException",
                "Rate of requests exceeds the allowed throughput.",
            ));
        }
        Some(Fault::TransactionConflict) => {
            return Ok(dynamo_error(
                400,
                "TransactionConflictException",
                "Transaction is ongoing for the item",
            ));
        }
        Some(Fault::Hang) => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            return Ok(hyper::Response::builder()
                .status(504)
                .body(Full::new(Bytes::new()))
                .unwrap());
        }
        Some(Fault::Delay(pause)) => tokio::time::sleep(pause).await,
        Some(Fault::LoseAnswer) | None => {}
    }
    let injected = match injector {
        Some(injector) if dynamo => injector.draw_dynamo(&operation),
        Some(injector) if operation == "SendEmail" => injector.draw_ses(),
        _ => None,
    };
    if let Some(kind) = injected
        && !kind.reaches_upstream()
    {
        return injector
            .expect("drawn by the injector")
            .before(kind, &body)
            .await;
    }
    let answer = match relay::pass_on(client, upstream, &parts, body).await {
        Some((parts, bytes)) => hyper::Response::from_parts(parts, Full::new(bytes)),
        None => relay::bad_gateway(),
    };
    match (injected, injector) {
        // The request was applied upstream; its answer is lost.
        (Some(kind), Some(injector)) => injector.after(kind).await,
        _ if fault == Some(Fault::LoseAnswer) => Err(ConnectionDropped),
        _ => Ok(answer),
    }
}

/// A DynamoDB error answer as the service sends it (JSON 1.0 protocol, `__type`).
fn dynamo_error(status: u16, kind: &str, message: &str) -> hyper::Response<Full<Bytes>> {
    dynamo_error_body(
        status,
        serde_json::json!({
            "__type": format!("com.amazonaws.dynamodb.v20120810#{kind}"),
            "message": message,
        }),
    )
}

fn dynamo_error_body(status: u16, body: serde_json::Value) -> hyper::Response<Full<Bytes>> {
    hyper::Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.0")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

/// An SES v2 error answer (REST-JSON protocol: the kind in `x-amzn-ErrorType`).
fn ses_error(status: u16, kind: &str, message: &str) -> hyper::Response<Full<Bytes>> {
    hyper::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("x-amzn-errortype", kind)
        .body(Full::new(Bytes::from(
            serde_json::json!({ "message": message }).to_string(),
        )))
        .unwrap()
}

/// One kind of fault the [`Injector`] injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Injected {
    /// DynamoDB: 400 `ProvisionedThroughputExceededException`, nothing applied.
    ProvisionedThroughputExceeded,
    /// DynamoDB: 400 `ThrottlingException`, nothing applied.
    Throttling,
    /// DynamoDB `TransactWriteItems`: 400 `TransactionCanceledException` whose reasons are
    /// `TransactionConflict` (another transaction held an item), nothing applied.
    TransactionConflict,
    /// DynamoDB: 500 `InternalServerError`, nothing applied.
    InternalServerError,
    /// DynamoDB: the connection is reset before the request reaches the table.
    ResetBeforeRequest,
    /// DynamoDB: no answer (longer than the client's attempt timeout), nothing applied.
    TimeoutBeforeRequest,
    /// DynamoDB: the request is applied, then the connection is reset: the answer is lost.
    ResetAfterApplied,
    /// DynamoDB: the request is applied, then no answer within the client's attempt timeout.
    TimeoutAfterApplied,
    /// SES: 429 `TooManyRequestsException`, nothing sent.
    SesTooManyRequests,
    /// SES: 500 `InternalFailure`, nothing sent.
    SesInternalFailure,
    /// SES: the email is accepted (and sent), then the connection is reset: the answer is lost.
    SesResetAfterAccepted,
}

impl Injected {
    const DYNAMO: [Injected; 7] = [
        Injected::ProvisionedThroughputExceeded,
        Injected::Throttling,
        Injected::InternalServerError,
        Injected::ResetBeforeRequest,
        Injected::TimeoutBeforeRequest,
        Injected::ResetAfterApplied,
        Injected::TimeoutAfterApplied,
    ];
    const SES: [Injected; 3] = [
        Injected::SesTooManyRequests,
        Injected::SesInternalFailure,
        Injected::SesResetAfterAccepted,
    ];

    /// Whether the request is forwarded (and applied) before the fault.
    pub fn reaches_upstream(self) -> bool {
        matches!(
            self,
            Injected::ResetAfterApplied
                | Injected::TimeoutAfterApplied
                | Injected::SesResetAfterAccepted
        )
    }
}

/// Fails a share (`rate`) of the requests it sees, each decided from the seed and the
/// request's number, and counts what it injected by kind. The numbering follows arrival, so
/// concurrent requests may draw in another order from run to run; the rate and the mix hold.
pub struct Injector {
    seed: u64,
    rate: f64,
    /// How long a "timeout" stays silent before the connection drops: for the client, as for
    /// its own attempt timeout, no answer (shorter than that timeout keeps a run quick; the
    /// handlers cannot tell the two apart: the request's fate is unknown either way).
    hold: Duration,
    drawn: std::sync::atomic::AtomicU64,
    counts: Mutex<std::collections::BTreeMap<Injected, usize>>,
    /// While set, every request passes (a check after the run reads through the same proxy).
    paused: std::sync::atomic::AtomicBool,
}

impl Injector {
    pub fn new(seed: u64, rate: f64, hold: Duration) -> Arc<Injector> {
        Arc::new(Injector {
            seed,
            rate,
            hold,
            drawn: Default::default(),
            counts: Default::default(),
            paused: Default::default(),
        })
    }

    /// Stops injecting (`true`) or goes on (`false`).
    pub fn pause(&self, paused: bool) {
        self.paused
            .store(paused, std::sync::atomic::Ordering::SeqCst);
    }

    /// What was injected so far, by kind.
    pub fn counts(&self) -> std::collections::BTreeMap<Injected, usize> {
        self.counts.lock().unwrap().clone()
    }

    pub fn total(&self) -> usize {
        self.counts.lock().unwrap().values().sum()
    }

    /// Requests seen so far.
    pub fn requests(&self) -> u64 {
        self.drawn.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn draw(&self, kinds: &[Injected]) -> Option<Injected> {
        if self.paused.load(std::sync::atomic::Ordering::SeqCst) {
            return None;
        }
        let n = self.drawn.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let roll = splitmix64(self.seed ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        if (roll >> 11) as f64 / (1u64 << 53) as f64 >= self.rate {
            return None;
        }
        let kind = kinds[(splitmix64(roll) % kinds.len() as u64) as usize];
        *self.counts.lock().unwrap().entry(kind).or_default() += 1;
        Some(kind)
    }

    fn draw_dynamo(&self, operation: &str) -> Option<Injected> {
        if operation == "TransactWriteItems" {
            let mut kinds = Injected::DYNAMO.to_vec();
            kinds.push(Injected::TransactionConflict);
            self.draw(&kinds)
        } else {
            self.draw(&Injected::DYNAMO)
        }
    }

    fn draw_ses(&self) -> Option<Injected> {
        self.draw(&Injected::SES)
    }

    /// The fault in place of forwarding the request.
    async fn before(&self, kind: Injected, body: &[u8]) -> Outcome {
        Ok(match kind {
            Injected::ProvisionedThroughputExceeded => dynamo_error(
                400,
                "ProvisionedThroughputExceededException",
                "The level of configured provisioned throughput for the table was exceeded.",
            ),
            Injected::Throttling => dynamo_error(
                400,
                "ThrottlingException",
                "Rate of requests exceeds the allowed throughput.",
            ),
            Injected::InternalServerError => {
                dynamo_error(500, "InternalServerError", "Internal server error")
            }
            Injected::TransactionConflict => {
                // One reason per item, as DynamoDB lists them.
                let items = serde_json::from_slice::<serde_json::Value>(body)
                    .ok()
                    .and_then(|v| v["TransactItems"].as_array().map(Vec::len))
                    .unwrap_or(1)
                    .max(1);
                let mut reasons = vec![serde_json::json!({ "Code": "None" }); items];
                reasons[0] = serde_json::json!({
                    "Code": "TransactionConflict",
                    "Message": "Transaction is ongoing for the item",
                });
                let codes: Vec<&str> = reasons
                    .iter()
                    .map(|r| r["Code"].as_str().unwrap_or("None"))
                    .collect();
                dynamo_error_body(
                    400,
                    serde_json::json!({
                        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                        "message": format!(
                            "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
                            codes.join(", ")
                        ),
                        "CancellationReasons": reasons,
                    }),
                )
            }
            Injected::SesTooManyRequests => ses_error(
                429,
                "TooManyRequestsException",
                "Maximum sending rate exceeded.",
            ),
            Injected::SesInternalFailure => ses_error(500, "InternalFailure", "Internal failure"),
            Injected::ResetBeforeRequest => return Err(ConnectionDropped),
            Injected::TimeoutBeforeRequest => {
                tokio::time::sleep(self.hold).await;
                return Err(ConnectionDropped);
            }
            Injected::ResetAfterApplied
            | Injected::TimeoutAfterApplied
            | Injected::SesResetAfterAccepted => unreachable!("forwarded first"),
        })
    }

    /// The fault after the request was applied upstream: its answer never arrives.
    async fn after(&self, kind: Injected) -> Outcome {
        if kind == Injected::TimeoutAfterApplied {
            tokio::time::sleep(self.hold).await;
        }
        Err(ConnectionDropped)
    }
}

/// SplitMix64: a well-mixed 64-bit value from any 64-bit input (no dependency needed).
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
