//! moto on loopback. Started from the project's virtual environment (`make venv`), stopped
//! when dropped; it also exits by itself when its parent process dies.

use std::io;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::functions::{Function, LocalNames};

pub struct LocalAws {
    pub endpoint: String,
    child: Option<Child>,
}

impl LocalAws {
    /// Starts moto on `port` (0: a free one) and waits until it answers.
    pub fn start(port: u16) -> io::Result<LocalAws> {
        let root = crate::workspace_root();
        let python = std::env::var_os("TROUW_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join(".venv/bin/python"));
        if !python.exists() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{} not found: run `make venv` first", python.display()),
            ));
        }
        let port_file = std::env::temp_dir().join(format!(
            "trouw-moto-{}-{}.port",
            std::process::id(),
            unique()
        ));
        let _ = std::fs::remove_file(&port_file);
        let quiet = std::env::var_os("TROUW_MOTO_VERBOSE").is_none();
        let child = Command::new(python)
            .arg(root.join("infra/local/moto_server.py"))
            .args([
                "--port",
                &port.to_string(),
                "--parent-pid",
                &std::process::id().to_string(),
            ])
            .arg("--port-file")
            .arg(&port_file)
            .args(if quiet { &["--quiet"][..] } else { &[][..] })
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(if quiet {
                Stdio::null()
            } else {
                Stdio::inherit()
            })
            .spawn()?;
        let mut aws = LocalAws {
            endpoint: String::new(),
            child: Some(child),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(text) = std::fs::read_to_string(&port_file)
                && let Ok(port) = text.trim().parse::<u16>()
                && TcpStream::connect(("127.0.0.1", port)).is_ok()
            {
                let _ = std::fs::remove_file(&port_file);
                aws.endpoint = format!("http://127.0.0.1:{port}");
                return Ok(aws);
            }
            if let Some(status) = aws.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                return Err(io::Error::other(format!(
                    "moto exited early ({status}); is port {port} free?"
                )));
            }
            if Instant::now() > deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "moto did not start within 60 s",
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// An endpoint someone else runs (e.g. `make test` starts one moto for all tests).
    pub fn existing(endpoint: impl Into<String>) -> LocalAws {
        LocalAws {
            endpoint: endpoint.into(),
            child: None,
        }
    }

    /// `TROUW_AWS_ENDPOINT` if set, else a fresh moto on a free port.
    pub fn from_env_or_start() -> io::Result<LocalAws> {
        match std::env::var("TROUW_AWS_ENDPOINT") {
            Ok(endpoint) if !endpoint.is_empty() => Ok(LocalAws::existing(endpoint)),
            _ => LocalAws::start(0),
        }
    }

    /// SDK configuration for this endpoint: fixed local credentials and region.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        sdk_config_for(&self.endpoint).await
    }
}

/// SDK configuration pointing at a local endpoint, with timeouts that suit an emulator that
/// serialises requests. Its "local" credentials are the operator's: they may do everything
/// (setup: tables, shops, secrets); the handlers use [`function_sdk_config`].
pub async fn sdk_config_for(endpoint: &str) -> aws_config::SdkConfig {
    sdk_config_with(endpoint, "local", "local").await
}

async fn sdk_config_with(endpoint: &str, key: &str, secret: &str) -> aws_config::SdkConfig {
    use aws_config::timeout::TimeoutConfig;
    use aws_sdk_dynamodb::config::{Credentials, Region};
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new(key, secret, None, None, "trouw-local"))
        .endpoint_url(endpoint)
        .timeout_config(
            TimeoutConfig::builder()
                .operation_timeout(Duration::from_secs(30))
                .build(),
        )
        .load()
        .await
}

/// SDK configuration with `function`'s own identity: the local moto (`moto_iam.py`) evaluates
/// every request signed with it against that function's IAM policy in `infra/template.yaml`,
/// resolved with `names`, and answers AccessDenied for what the policy does not grant, as AWS
/// does. [`iam_denials`] lists what the identity was denied.
pub async fn function_sdk_config(
    endpoint: &str,
    function: Function,
    names: &LocalNames,
) -> Result<FunctionIdentity, String> {
    let mut body = serde_json::json!({
        "function": function.logical_id(),
        "stack": names.stack,
        "parameters": names.parameters,
    });
    body["resources"] = serde_json::json!(names.resources);
    body["resources"]["Table"] = names.table.clone().into();
    if let Some(template) = &names.template {
        body["template"] = template.display().to_string().into();
    }
    let request = http::Request::post(format!("{endpoint}{IAM_IDENTITIES}"))
        .header("content-type", "application/json")
        .body(body.to_string().into())
        .map_err(|e| e.to_string())?;
    let answer = crate::client::send(&crate::client::http_client(), request).await?;
    let identity: serde_json::Value = serde_json::from_str(&answer.body).unwrap_or_default();
    match (
        answer.status,
        identity["AccessKeyId"].as_str(),
        identity["SecretAccessKey"].as_str(),
    ) {
        (200, Some(key), Some(secret)) => Ok(FunctionIdentity {
            function,
            sdk: sdk_config_with(endpoint, key, secret).await,
            access_key: key.to_owned(),
        }),
        (status, ..) => Err(format!(
            "{endpoint} gave no identity for {} ({status} {}): is it infra/local/moto_server.py?",
            function.logical_id(),
            answer.body
        )),
    }
}

/// Every function's identity (see [`function_sdk_config`]), registered at once.
pub async fn function_identities(
    endpoint: &str,
    names: &LocalNames,
) -> Result<std::collections::BTreeMap<Function, FunctionIdentity>, String> {
    let mut identities = std::collections::BTreeMap::new();
    for function in Function::ALL {
        identities.insert(
            function,
            function_sdk_config(endpoint, function, names).await?,
        );
    }
    Ok(identities)
}

/// A function's identity: the SDK configuration its handler's clients are built from, and the
/// access key it signs with.
#[derive(Debug, Clone)]
pub struct FunctionIdentity {
    pub function: Function,
    pub sdk: aws_config::SdkConfig,
    pub access_key: String,
}

/// Where `moto_server.py` registers a function's identity.
pub const IAM_IDENTITIES: &str = "/_trouw/iam/identities";
/// Where `moto_server.py` lists what identities were denied (`?keys=AKID,...`).
pub const IAM_DENIALS: &str = "/_trouw/iam/denials";

/// One request the local IAM check denied: the function, the action, the resource, and AWS's
/// message.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Denial {
    pub function: String,
    pub action: String,
    pub resource: String,
    pub message: String,
}

/// What the identities with `keys` were denied so far. Blocking (plain HTTP/1.0 over a
/// loopback socket), so that a test harness can ask from `Drop`.
pub fn iam_denials(endpoint: &str, keys: &[String]) -> Result<Vec<Denial>, String> {
    use std::io::{Read, Write};
    let address = endpoint
        .strip_prefix("http://")
        .ok_or_else(|| format!("{endpoint}: not a local http endpoint"))?
        .trim_end_matches('/');
    let mut stream = TcpStream::connect(address).map_err(|e| format!("{address}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET {IAM_DENIALS}?keys={} HTTP/1.0\r\nHost: {address}\r\n\r\n",
        keys.join(",")
    )
    .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .map_err(|e| e.to_string())?;
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body)
        .ok_or("no HTTP answer")?;
    #[derive(serde::Deserialize)]
    struct Denials {
        denials: Vec<Denial>,
    }
    serde_json::from_str::<Denials>(body)
        .map(|d| d.denials)
        .map_err(|e| format!("{e}: {body}"))
}

impl Drop for LocalAws {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn unique() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}
