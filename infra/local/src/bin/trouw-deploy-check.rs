//! `make deploy-check`: runs every function's built bootstrap under the local Lambda Runtime API
//! against moto, with the template's configuration, and prints a table.
//!
//!   trouw-deploy-check [BUILD_DIR] [x86_64|arm64]   (default infra/.aws-sam/build x86_64)

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use trouw_local::deploy_check::{Architecture, default_build_dir, run, table};

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let build_dir = args
        .first()
        .map(PathBuf::from)
        .unwrap_or_else(default_build_dir);
    let Some(architecture) = Architecture::parse(args.get(1).map_or("x86_64", String::as_str))
    else {
        eprintln!("usage: trouw-deploy-check [BUILD_DIR] [x86_64|arm64]");
        return ExitCode::FAILURE;
    };
    let started = Instant::now();
    match run(&build_dir, architecture).await {
        Ok(reports) => {
            print!("{}", table(&reports));
            let failed = reports.iter().filter(|r| r.result.is_err()).count();
            println!(
                "{} of {} functions passed in {:.1} s (their output: {})",
                reports.len() - failed,
                reports.len(),
                started.elapsed().as_secs_f64(),
                trouw_local::deploy_check::logs_dir().display()
            );
            if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(err) => {
            eprintln!("deploy-check: {err}");
            ExitCode::FAILURE
        }
    }
}
