//! `make bench`: measures what each kind of event costs against the local stack and writes the
//! table to target/bench/ (see README, "Cost and speed"). `BENCH_CUSTOMERS` sets the table sizes
//! of the schedule pass (default 1000,10000,100000); `BENCH_LAMBDA_DIR` the release bootstraps'
//! directory (`cargo lambda build --release` output; none: no cold starts), `BENCH_STARTS` the
//! starts per bootstrap (default 20), `BENCH_OVERVIEW_MESSAGES` the messages of the year's
//! overview (default 100,000). `BENCH_PARTS=overview` measures that overview alone;
//! `BENCH_PARTS=starts` measures the starts alone, and
//! `BENCH_LAMBDA_DIR` may then also be a plain target directory (`target/debug`): where
//! changes to a function's init are measured before the slow release build.

use trouw_tests::bench::{Bench, Report, events, pass_scale};
use trouw_tests::bench_loyalty::loyalty;
use trouw_tests::bench_overview::year_overview;
use trouw_tests::bench_report::{Prices, write};

#[tokio::main]
async fn main() {
    let sizes: Vec<usize> = std::env::var("BENCH_CUSTOMERS")
        .unwrap_or_else(|_| "1000,10000,100000".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    let prices = Prices::from_repository();
    let parts = std::env::var("BENCH_PARTS").unwrap_or_default();
    let messages = std::env::var("BENCH_OVERVIEW_MESSAGES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let (events, lifecycle, loyalty, passes, overview) = if parts == "starts" {
        Default::default()
    } else if parts == "overview" {
        let overview = vec![year_overview(messages).await];
        (
            Default::default(),
            Default::default(),
            Default::default(),
            Default::default(),
            overview,
        )
    } else {
        let bench = Bench::start().await;
        let (events, lifecycle) = events(&bench).await;
        let loyalty = loyalty().await;
        let passes = pass_scale(&bench, &sizes).await;
        let overview = vec![year_overview(messages).await];
        (events, lifecycle, loyalty, passes, overview)
    };
    // cargo lambda's layout (`<binary>/bootstrap`), or a plain target directory.
    let bootstrap = |dir: &std::path::Path, binary: &str| {
        let lambda = dir.join(binary).join("bootstrap");
        if lambda.exists() {
            lambda
        } else {
            dir.join(binary)
        }
    };
    // The release bootstraps, as `cargo lambda build --release` lays them out.
    let starts = match std::env::var_os("BENCH_LAMBDA_DIR") {
        Some(dir) => {
            let dir = std::path::PathBuf::from(dir);
            let runs = std::env::var("BENCH_STARTS")
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(20);
            trouw_local::cold_start::measure(
                |function| bootstrap(&dir, function.binary()),
                &bootstrap(&dir, "hello-lambda"),
                runs,
            )
            .await
            .expect("measuring the release bootstraps' starts")
        }
        None => Vec::new(),
    };
    let report = Report {
        events,
        lifecycle,
        loyalty,
        passes,
        overview,
        starts,
    };
    let text = write(&report, &prices).expect("writing target/bench/");
    println!("{text}");
}
