//! Cold starts of the release bootstraps (`make bench`): each function's `bootstrap` started
//! `runs` times under the local Runtime API, in the account `make deploy-check` prepares, with
//! the environment the template gives it and the realistic event the deploy check sends. Its
//! init is the time from start to its first poll for an event; its first answer, to the answer
//! of that event. A hello-world `lambda_runtime` binary, built with the same profile, is
//! measured the same way in the same run: the baseline the functions are held to.

use crate::aws::LocalAws;
use crate::deploy_check::{ORDER, SIGTERM_GRACE, environment_for, event_for, expect, prepare};
use crate::events::{ACCOUNT, REGION};
use crate::functions::Function;
use crate::runtime_api::{LambdaProcess, lambda_environment};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One binary's starts.
#[derive(Debug, Clone, Serialize)]
pub struct Starts {
    pub name: String,
    pub bootstrap_bytes: u64,
    /// The deployment package: the bootstrap alone in a zip, as `sam build` packs it.
    pub zip_bytes: u64,
    pub init_ms: Vec<f64>,
    pub first_answer_ms: Vec<f64>,
    /// The largest resident set seen (`VmHWM` just before SIGTERM), in KB.
    pub peak_rss_kb: u64,
}

pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// The size of `bootstrap` zipped alone (with the `zip` tool; 0 if it is missing).
fn zip_bytes(name: &str, bootstrap: &Path) -> u64 {
    let dir = crate::workspace_root().join("target/bench/zips");
    let zip = dir.join(format!("{name}.zip"));
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::remove_file(&zip);
    let zipped = std::process::Command::new("zip")
        .args(["-q", "-X", "-9", "-j"])
        .arg(&zip)
        .arg(bootstrap)
        .status()
        .is_ok_and(|status| status.success());
    if zipped {
        std::fs::metadata(&zip).map(|m| m.len()).unwrap_or(0)
    } else {
        0
    }
}

fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Starts `bootstrap` once with `environment`, invokes it with `event`, stops it.
async fn start_once(
    bootstrap: &Path,
    arn: &str,
    environment: &std::collections::BTreeMap<String, String>,
    event: &[u8],
    timeout: Duration,
) -> Result<(f64, f64, u64, Vec<u8>), String> {
    let mut command = tokio::process::Command::new(bootstrap);
    command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let started = Instant::now();
    let mut process = LambdaProcess::spawn(command, arn, environment)
        .await
        .map_err(|e| format!("starting {}: {e}", bootstrap.display()))?;
    let invoked = process.invoke(event, timeout).await;
    let first_answer = started.elapsed();
    let init = process
        .api
        .first_poll()
        .map(|at| at.duration_since(started))
        .unwrap_or(first_answer);
    let rss = process.pid().and_then(peak_rss_kb).unwrap_or(0);
    let _ = process.terminate(SIGTERM_GRACE).await;
    let body = match invoked
        .map_err(|e| format!("{}: {e}", bootstrap.display()))?
        .outcome
    {
        crate::runtime_api::Outcome::Response(body) => body.to_vec(),
        crate::runtime_api::Outcome::Error(error) => {
            return Err(format!(
                "{}: {} {}",
                bootstrap.display(),
                error.error_type,
                error.body
            ));
        }
    };
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    Ok((ms(init), ms(first_answer), rss, body))
}

/// `bootstrap_of(function)` is where each function's bootstrap lies (cargo lambda:
/// `target/lambda/<binary>/bootstrap`); `hello` is the baseline's.
pub async fn measure(
    bootstrap_of: impl Fn(Function) -> PathBuf,
    hello: &Path,
    runs: usize,
) -> Result<Vec<Starts>, String> {
    let aws = LocalAws::start(0).map_err(|e| format!("starting moto: {e}"))?;
    let mut account = prepare(&aws).await?;
    let mut results = Vec::new();

    let name = "hello-world";
    let environment = lambda_environment(name, 128, REGION);
    let arn = format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}");
    results.push(
        measure_one(
            name,
            hello,
            &arn,
            &environment,
            b"{}",
            Duration::from_secs(10),
            runs,
            |_| Ok(()),
        )
        .await?,
    );

    for function in ORDER {
        let bootstrap = bootstrap_of(function);
        let (environment, _key, arn) = environment_for(&account, function).await?;
        let config = account
            .template
            .function(&account.stack, function.logical_id())?;
        let timeout = Duration::from_secs(u64::from(config.timeout_seconds));
        // The first start gets the deploy check's event and is checked as it checks it (the
        // next functions' events depend on what it did); the others get the same event again.
        let event = event_for(&mut account, function).await?.to_string();
        let mut first = None;
        let starts = measure_one(
            function.binary(),
            &bootstrap,
            &arn,
            &environment,
            event.as_bytes(),
            timeout,
            runs,
            |body| {
                if first.is_none() {
                    first = Some(body.to_vec());
                }
                Ok(())
            },
        )
        .await?;
        if let Some(body) = first {
            let answer = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
            expect(&mut account, function, &answer).await?;
        }
        results.push(starts);
    }
    drop(aws);
    Ok(results)
}

#[allow(clippy::too_many_arguments)]
async fn measure_one(
    name: &str,
    bootstrap: &Path,
    arn: &str,
    environment: &std::collections::BTreeMap<String, String>,
    event: &[u8],
    timeout: Duration,
    runs: usize,
    mut answered: impl FnMut(&[u8]) -> Result<(), String>,
) -> Result<Starts, String> {
    let bootstrap_bytes = std::fs::metadata(bootstrap)
        .map_err(|e| format!("{}: {e}", bootstrap.display()))?
        .len();
    let mut starts = Starts {
        name: name.to_owned(),
        bootstrap_bytes,
        zip_bytes: zip_bytes(name, bootstrap),
        init_ms: Vec::new(),
        first_answer_ms: Vec::new(),
        peak_rss_kb: 0,
    };
    for _ in 0..runs {
        let (init, first_answer, rss, body) =
            start_once(bootstrap, arn, environment, event, timeout).await?;
        answered(&body)?;
        starts.init_ms.push(init);
        starts.first_answer_ms.push(first_answer);
        starts.peak_rss_kb = starts.peak_rss_kb.max(rss);
    }
    Ok(starts)
}
