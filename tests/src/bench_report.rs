//! `make bench`'s table: the measured rows priced per million events with the prices in
//! `infra/bench/prices.json` (one file, with its date and sources), written as markdown and
//! JSON to `target/bench/`.

use crate::bench::{PassScale, Report, Row};
use serde::{Deserialize, Serialize};
use trouw_local::functions::Function;
use trouw_local::template::{Stack, Template};

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Prices {
    pub date: String,
    pub region: String,
    pub dynamodb_on_demand: DynamoPrices,
    pub http_api: PerRequest,
    pub lambda_arm64: LambdaPrices,
    pub ses: SesPrices,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct DynamoPrices {
    pub usd_per_million_write_request_units: f64,
    pub usd_per_million_read_request_units: f64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct PerRequest {
    pub usd_per_million_requests: f64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct LambdaPrices {
    pub usd_per_gb_second: f64,
    pub usd_per_million_requests: f64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SesPrices {
    pub usd_per_thousand_emails: f64,
}

impl Prices {
    pub fn from_repository() -> Prices {
        let path = trouw_local::workspace_root().join("infra/bench/prices.json");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }
}

/// Dollars per million events of one row.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Cost {
    pub dynamodb: f64,
    pub http_api: f64,
    pub lambda: f64,
    pub ses: f64,
}

impl Cost {
    pub fn total(&self) -> f64 {
        self.dynamodb + self.http_api + self.lambda + self.ses
    }
}

/// Each function's memory as the template configures it.
fn memory_mb(function: &str) -> f64 {
    let template = Template::from_repository().expect("the template");
    let function = Function::ALL
        .into_iter()
        .find(|f| f.binary() == function)
        .unwrap_or(Function::SendMessages);
    template
        .function(
            &Stack::local(trouw_local::template::LOCAL_STACK),
            function.logical_id(),
        )
        .map(|config| f64::from(config.memory_mb))
        .unwrap_or(128.0)
}

/// Functions reached over the HTTP API (the others by the stream, EventBridge or a schedule).
fn over_http_api(function: &str) -> bool {
    !matches!(function, "send-messages" | "run-schedule" | "ses-events")
}

/// A row's cost per million events: every unit of every function it reached, one HTTP API
/// request if it came in over HTTP, one invocation of its function (and of each downstream
/// function) billed by the measured duration, rounded up to the millisecond, at the template's
/// memory, and the emails SES accepted.
pub fn cost(row: &Row, prices: &Prices) -> Cost {
    let per = row.per.max(1) as f64;
    let own = &row.own;
    let down = row.downstream_total();
    let dynamo = &prices.dynamodb_on_demand;
    let dynamodb = (own.write_units + down.write_units) as f64
        * dynamo.usd_per_million_write_request_units
        + (own.read_units + down.read_units) * dynamo.usd_per_million_read_request_units;
    let http_api = if over_http_api(&row.function) {
        prices.http_api.usd_per_million_requests
    } else {
        0.0
    };
    let lambda_prices = &prices.lambda_arm64;
    let gb_seconds = |function: &str, ms: f64| memory_mb(function) / 1024.0 * ms.ceil() / 1000.0;
    // A lifecycle step that asked nothing of its function (a message created SKIPPED never
    // reaches the sender) invokes nothing.
    let invoked = row.own.requests > 0 || row.duration_ms > 0.0;
    let mut lambda = if invoked {
        lambda_prices.usd_per_million_requests
            + gb_seconds(&row.function, row.duration_ms) * lambda_prices.usd_per_gb_second * 1e6
    } else {
        0.0
    };
    if !row.downstream.is_empty() {
        let downstream_ms = row.downstream_ms / row.downstream.len() as f64;
        for function in row.downstream.keys() {
            lambda += lambda_prices.usd_per_million_requests
                + gb_seconds(function, downstream_ms) * lambda_prices.usd_per_gb_second * 1e6;
        }
    }
    let ses = row.emails as f64 * prices.ses.usd_per_thousand_emails * 1000.0;
    Cost {
        dynamodb: dynamodb / per,
        http_api: http_api / per,
        lambda: lambda / per,
        ses: ses / per,
    }
}

fn units(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

fn table(rows: &[Row], prices: &Prices, title: &str) -> String {
    let mut out = format!(
        "| {title} | function | requests | RRU | WRU (index) | downstream req / RRU / WRU (index) | all-in WRU | ms | $/M DynamoDB | $/M HTTP API | $/M Lambda | $/M SES | $/M total |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    );
    for row in rows {
        let per = row.per.max(1) as f64;
        let own = &row.own;
        let down = row.downstream_total();
        let cost = cost(row, prices);
        let what = if row.per > 1 {
            format!("{} (÷ {})", row.what, row.per)
        } else {
            row.what.clone()
        };
        let downstream = if down.requests == 0 {
            "—".to_owned()
        } else {
            format!(
                "{} / {} / {} ({})",
                down.requests,
                units(down.read_units),
                down.write_units,
                down.index_write_units
            )
        };
        out.push_str(&format!(
            "| {what} | {} | {} | {} | {} ({}) | {downstream} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |\n",
            row.function,
            units(own.requests as f64 / per),
            units(own.read_units / per),
            units(own.write_units as f64 / per),
            units(own.index_write_units as f64 / per),
            units((own.write_units + down.write_units) as f64 / per),
            row.duration_ms,
            cost.dynamodb,
            cost.http_api,
            cost.lambda,
            cost.ses,
            cost.total(),
        ));
    }
    out
}

fn passes(scales: &[PassScale]) -> String {
    let mut out = String::from(
        "| customers (a timer each, none due) | pass requests | pass RRU | due entries read | seeding |\n|---|---|---|---|---|\n",
    );
    for pass in scales {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {:.0} s |\n",
            pass.customers,
            pass.requests,
            units(pass.read_units),
            pass.due_items_read,
            pass.seeded_in_s
        ));
    }
    out
}

fn overview(rows: &[crate::bench_overview::YearOverview]) -> String {
    let mut out = String::from(
        "| messages over a year | seeding | counted by count-days | year's overview (first view) | requests | day items |\n|---|---|---|---|---|---|\n",
    );
    for row in rows {
        out.push_str(&format!(
            "| {} | {:.0} s | {:.0} s | {:.0} ms | {} | {} |\n",
            row.messages,
            row.seeded_in_s,
            row.counted_in_s,
            row.answer_ms,
            row.requests,
            row.day_items
        ));
    }
    out
}

fn starts(starts: &[trouw_local::cold_start::Starts]) -> String {
    use trouw_local::cold_start::median;
    if starts.is_empty() {
        return "(not measured: no release bootstraps given)\n".into();
    }
    let baseline = median(&starts[0].init_ms);
    let mut out = String::from(
        "| bootstrap | init ms (median) | × hello-world | first answer ms (median) | peak RSS MB | bootstrap MB | zip MB |\n|---|---|---|---|---|---|---|\n",
    );
    for start in starts {
        let init = median(&start.init_ms);
        out.push_str(&format!(
            "| {} | {:.1} | {:.2} | {:.1} | {:.1} | {:.2} | {:.2} |\n",
            start.name,
            init,
            init / baseline,
            median(&start.first_answer_ms),
            start.peak_rss_kb as f64 / 1024.0,
            start.bootstrap_bytes as f64 / 1_048_576.0,
            start.zip_bytes as f64 / 1_048_576.0,
        ));
    }
    out
}

/// The whole report as markdown.
pub fn markdown(report: &Report, prices: &Prices) -> String {
    format!(
        "### DynamoDB and cost per event\n\n{}\n### Per message lifecycle\n\n{}\n### Loyalty\n\n{}\n### Schedule pass as the table grows\n\n{}\n### The year's overview of a big shop\n\n{}\n### Cold start and size (release, x86_64 here, {} starts each)\n\n{}\nPrices: {} ({}), `infra/bench/prices.json`. RRU and WRU: read and write request units by DynamoDB's sizing rules, computed from the items each request touched; (index) is the part paid for global secondary indexes. ms: the handler's time in the debug build against moto, the metering proxy's own time taken out (an upper bound for Lambda's billed duration).\n",
        table(&report.events, prices, "event"),
        table(&report.lifecycle, prices, "message"),
        table(&report.loyalty, prices, "loyalty"),
        passes(&report.passes),
        overview(&report.overview),
        report.starts.first().map(|s| s.init_ms.len()).unwrap_or(0),
        starts(&report.starts),
        prices.region,
        prices.date,
    )
}

#[derive(Serialize)]
struct Written<'a> {
    report: &'a Report,
    prices: &'a Prices,
    costs: Vec<(String, Cost)>,
}

/// Writes `target/bench/bench.md` and `target/bench/bench.json`; returns the markdown.
pub fn write(report: &Report, prices: &Prices) -> std::io::Result<String> {
    let dir = trouw_local::workspace_root().join("target/bench");
    std::fs::create_dir_all(&dir)?;
    let text = markdown(report, prices);
    std::fs::write(dir.join("bench.md"), &text)?;
    let costs = report
        .events
        .iter()
        .chain(&report.lifecycle)
        .chain(&report.loyalty)
        .map(|row| (row.what.clone(), cost(row, prices)))
        .collect();
    let json = serde_json::to_string_pretty(&Written {
        report,
        prices,
        costs,
    })
    .map_err(std::io::Error::other)?;
    std::fs::write(dir.join("bench.json"), json)?;
    Ok(text)
}
