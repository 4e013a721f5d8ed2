//! A local Lambda Runtime API (version 2018-06-01), enough to run a function's `bootstrap` as
//! Lambda runs it: the process long-polls `GET /runtime/invocation/next` for an event (with the
//! request id, deadline, function ARN and trace id headers), answers it with
//! `POST /runtime/invocation/{id}/response` or `.../error`, and reports a failed start with
//! `POST /runtime/init/error`. [`LambdaProcess`] starts a bootstrap against it with the
//! environment Lambda gives a function, invokes it, and stops it with SIGTERM.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;
use tokio::sync::{Mutex, mpsc, oneshot, watch};

const PREFIX: &str = "/2018-06-01/runtime";
/// Lambda's limit on a synchronous response (and on an invocation's payload): 6 MB.
pub const MAX_PAYLOAD: usize = 6 * 1024 * 1024;

/// An event handed to the runtime.
struct Invocation {
    request_id: String,
    deadline_ms: u128,
    trace_id: String,
    payload: Bytes,
}

/// What a function reported for one invocation, or for its start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionError {
    /// `errorType` of the body, else the `Lambda-Runtime-Function-Error-Type` header.
    pub error_type: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Response(Bytes),
    Error(FunctionError),
}

#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("the function failed to start: {} {}", .0.error_type, .0.body)]
    InitError(FunctionError),
    #[error("the function exited ({0})")]
    Exited(String),
    #[error("the payload exceeds {MAX_PAYLOAD} bytes")]
    PayloadTooLarge,
}

/// What one invocation told the runtime, for checks.
#[derive(Debug, Clone)]
pub struct Invoked {
    pub request_id: String,
    pub deadline_ms: u128,
    pub trace_id: String,
    pub outcome: Outcome,
}

struct State {
    function_arn: String,
    next: Mutex<mpsc::UnboundedReceiver<Invocation>>,
    running: std::sync::Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    init_error: watch::Sender<Option<FunctionError>>,
    /// When the runtime first asked for an event: its init was done.
    first_poll: std::sync::OnceLock<std::time::Instant>,
}

/// The emulator, serving on a free loopback port until dropped.
pub struct RuntimeApi {
    address: SocketAddr,
    state: Arc<State>,
    queue: mpsc::UnboundedSender<Invocation>,
    counter: AtomicU64,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl RuntimeApi {
    /// Serves the API for one function (its ARN goes into every invocation).
    pub async fn start(function_arn: &str) -> std::io::Result<RuntimeApi> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let (queue, next) = mpsc::unbounded_channel();
        let state = Arc::new(State {
            function_arn: function_arn.to_owned(),
            next: Mutex::new(next),
            running: std::sync::Mutex::new(HashMap::new()),
            init_error: watch::channel(None).0,
            first_poll: std::sync::OnceLock::new(),
        });
        let served = state.clone();
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = served.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(route(&state, req).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(RuntimeApi {
            address,
            state,
            queue,
            counter: AtomicU64::new(0),
            server,
        })
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// When the runtime first polled for an event (the end of its init), if it has.
    pub fn first_poll(&self) -> Option<std::time::Instant> {
        self.state.first_poll.get().copied()
    }

    /// The error the function reported at start, if it did.
    pub fn init_error(&self) -> Option<FunctionError> {
        self.state.init_error.borrow().clone()
    }

    /// Hands `payload` to the runtime's next `GET .../invocation/next` and waits for its answer,
    /// at most `timeout` (the function's Timeout; also its deadline header).
    pub async fn invoke(&self, payload: &[u8], timeout: Duration) -> Result<Invoked, InvokeError> {
        if payload.len() > MAX_PAYLOAD {
            return Err(InvokeError::PayloadTooLarge);
        }
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let request_id = request_id(now, n);
        let deadline_ms = (now + timeout).as_millis();
        let trace_id = format!(
            "Root=1-{:08x}-{:024x};Parent={:016x};Sampled=0",
            now.as_secs(),
            now.as_nanos() ^ u128::from(n),
            u64::from(now.subsec_nanos()) << 8 | n
        );
        let (answer, answered) = oneshot::channel();
        self.state
            .running
            .lock()
            .expect("lock")
            .insert(request_id.clone(), answer);
        let _ = self.queue.send(Invocation {
            request_id: request_id.clone(),
            deadline_ms,
            trace_id: trace_id.clone(),
            payload: Bytes::copy_from_slice(payload),
        });
        let mut init = self.state.init_error.subscribe();
        let init_failed = async move {
            let error = match init.wait_for(Option::is_some).await {
                Ok(error) => error.clone(),
                Err(_) => None,
            };
            match error {
                Some(error) => error,
                None => std::future::pending().await,
            }
        };
        let result = tokio::select! {
            outcome = answered => {
                outcome.map_err(|_| InvokeError::Exited("the emulator stopped".into()))
            }
            () = tokio::time::sleep(timeout) => Err(InvokeError::Timeout(timeout)),
            error = init_failed => Err(InvokeError::InitError(error)),
        };
        self.state.running.lock().expect("lock").remove(&request_id);
        result.map(|outcome| Invoked {
            request_id,
            deadline_ms,
            trace_id,
            outcome,
        })
    }
}

/// A request id in the form Lambda uses (a UUID), unique per emulator.
fn request_id(now: Duration, n: u64) -> String {
    let a = now.as_nanos() as u64;
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (a >> 32) as u32,
        (a >> 16) as u16,
        (a & 0xfff) as u16,
        (n >> 48) as u16 & 0xfff,
        n & 0xffff_ffff_ffff
    )
}

fn json(status: StatusCode, body: serde_json::Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("response")
}

fn refused(status: StatusCode, error_type: &str, message: &str) -> Response<Full<Bytes>> {
    json(
        status,
        serde_json::json!({ "errorMessage": message, "errorType": error_type }),
    )
}

fn accepted() -> Response<Full<Bytes>> {
    json(StatusCode::ACCEPTED, serde_json::json!({ "status": "OK" }))
}

/// The function's error: `errorType` of the JSON body, else the header, else `Unknown`.
fn function_error(header: Option<&str>, body: &Bytes) -> FunctionError {
    let text = String::from_utf8_lossy(body).into_owned();
    let from_body = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["errorType"].as_str().map(str::to_owned));
    FunctionError {
        error_type: from_body
            .or_else(|| header.map(str::to_owned))
            .unwrap_or_else(|| "Unknown".into()),
        body: text,
    }
}

async fn route(state: &State, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let Some(path) = parts.uri.path().strip_prefix(PREFIX) else {
        return refused(StatusCode::NOT_FOUND, "NotFound", "unknown path");
    };
    let error_header = parts
        .headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (&parts.method, segments.as_slice()) {
        (&Method::GET, ["invocation", "next"]) => {
            state.first_poll.get_or_init(std::time::Instant::now);
            next(state).await
        }
        (&Method::POST, ["invocation", id, kind @ ("response" | "error")]) => {
            let body = match Limited::new(body, MAX_PAYLOAD).collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(_) => {
                    // The invocation fails as in Lambda when a response is too large.
                    if let Some(answer) = state.running.lock().expect("lock").remove(*id) {
                        let _ = answer.send(Outcome::Error(FunctionError {
                            error_type: "Function.ResponseSizeTooLarge".into(),
                            body: String::new(),
                        }));
                    }
                    return refused(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "RequestEntityTooLarge",
                        "the response exceeds 6 MB",
                    );
                }
            };
            let Some(answer) = state.running.lock().expect("lock").remove(*id) else {
                return refused(
                    StatusCode::BAD_REQUEST,
                    "InvalidRequestID",
                    "no invocation with that id is waiting for an answer",
                );
            };
            let outcome = if *kind == "response" {
                Outcome::Response(body)
            } else {
                Outcome::Error(function_error(error_header.as_deref(), &body))
            };
            let _ = answer.send(outcome);
            accepted()
        }
        (&Method::POST, ["init", "error"]) => {
            let body = Limited::new(body, MAX_PAYLOAD)
                .collect()
                .await
                .map(|c| c.to_bytes())
                .unwrap_or_default();
            state
                .init_error
                .send_replace(Some(function_error(error_header.as_deref(), &body)));
            accepted()
        }
        _ => refused(StatusCode::NOT_FOUND, "NotFound", "unknown path or method"),
    }
}

/// Long-polls until an event is queued (as Lambda's `next` does, without a timeout).
async fn next(state: &State) -> Response<Full<Bytes>> {
    let invocation = state.next.lock().await.recv().await;
    let Some(invocation) = invocation else {
        return refused(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServiceStopped",
            "no more invocations",
        );
    };
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .header("lambda-runtime-aws-request-id", &invocation.request_id)
        .header(
            "lambda-runtime-deadline-ms",
            invocation.deadline_ms.to_string(),
        )
        .header("lambda-runtime-invoked-function-arn", &state.function_arn)
        .header("lambda-runtime-trace-id", &invocation.trace_id)
        .body(Full::new(invocation.payload))
        .expect("response")
}

/// The variables Lambda sets for every function (besides its own `Environment`), for a
/// function named `name` with `memory_mb` of memory.
pub fn lambda_environment(name: &str, memory_mb: u32, region: &str) -> BTreeMap<String, String> {
    [
        ("AWS_LAMBDA_FUNCTION_NAME", name.to_owned()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory_mb.to_string()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}")),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "local/[$LATEST]0".into()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023".into()),
        ("AWS_REGION", region.to_owned()),
        ("AWS_DEFAULT_REGION", region.to_owned()),
        ("_HANDLER", "bootstrap".into()),
        ("LAMBDA_TASK_ROOT", "/var/task".into()),
        ("LAMBDA_RUNTIME_DIR", "/var/runtime".into()),
        ("TZ", ":UTC".into()),
        ("LANG", "en_US.UTF-8".into()),
        ("PATH", "/usr/local/bin:/usr/bin:/bin".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// A function's process under the emulator.
pub struct LambdaProcess {
    pub api: RuntimeApi,
    child: tokio::process::Child,
}

impl LambdaProcess {
    /// Starts `command` with exactly `environment` (nothing of this process's own) plus
    /// `AWS_LAMBDA_RUNTIME_API`, as Lambda starts a bootstrap.
    pub async fn spawn(
        mut command: tokio::process::Command,
        function_arn: &str,
        environment: &BTreeMap<String, String>,
    ) -> std::io::Result<LambdaProcess> {
        let api = RuntimeApi::start(function_arn).await?;
        command
            .env_clear()
            .envs(environment)
            .env("AWS_LAMBDA_RUNTIME_API", api.address())
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        let child = command.spawn()?;
        Ok(LambdaProcess { api, child })
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Invokes the function once; fails if the process exits first.
    pub async fn invoke(
        &mut self,
        payload: &[u8],
        timeout: Duration,
    ) -> Result<Invoked, InvokeError> {
        tokio::select! {
            result = self.api.invoke(payload, timeout) => result,
            status = self.child.wait() => Err(InvokeError::Exited(match status {
                Ok(status) => status.to_string(),
                Err(err) => err.to_string(),
            })),
        }
    }

    /// Sends SIGTERM, as Lambda does when it shuts an environment down, and waits at most
    /// `grace` for the process to exit; after that it is killed. The exit status, if it exited.
    pub async fn terminate(mut self, grace: Duration) -> Result<std::process::ExitStatus, String> {
        let Some(pid) = self.child.id() else {
            return self.child.wait().await.map_err(|e| e.to_string());
        };
        let sent = tokio::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await
            .map_err(|e| format!("kill -TERM {pid}: {e}"))?;
        if !sent.success() {
            return Err(format!("kill -TERM {pid} failed"));
        }
        match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(status) => status.map_err(|e| e.to_string()),
            Err(_) => {
                let _ = self.child.kill().await;
                Err(format!("still running {grace:?} after SIGTERM; killed"))
            }
        }
    }
}
