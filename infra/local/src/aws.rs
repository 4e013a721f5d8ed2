//! moto on loopback. Started from the project's virtual environment (`make venv`), stopped
//! when dropped; it also exits by itself when its parent process dies.

use std::io;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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
/// serialises requests.
pub async fn sdk_config_for(endpoint: &str) -> aws_config::SdkConfig {
    use aws_config::timeout::TimeoutConfig;
    use aws_sdk_dynamodb::config::{Credentials, Region};
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new(
            "local",
            "local",
            None,
            None,
            "trouw-local",
        ))
        .endpoint_url(endpoint)
        .timeout_config(
            TimeoutConfig::builder()
                .operation_timeout(Duration::from_secs(30))
                .build(),
        )
        .load()
        .await
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
