//! Structured JSON logs, one object per line, with the fields of the current span (request id,
//! shop, route, event id) on every line. Personal data is never a field: see the handlers.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Installs the JSON subscriber for a Lambda or the local gateway (`RUST_LOG`, default info).
pub fn init() {
    init_with_writer(std::io::stdout);
}

/// Same, writing to `writer`; tests use it to read the logs back.
pub fn init_with_writer<W>(writer: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true)
        .with_target(false)
        .try_init();
}

/// The CloudWatch namespace trouw's own metrics go to (`METRICS_NAMESPACE`, set per stack by
/// the template; `trouw` locally).
pub fn metrics_namespace() -> String {
    std::env::var("METRICS_NAMESPACE")
        .ok()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "trouw".into())
}

/// One line in CloudWatch's Embedded Metric Format: CloudWatch Logs turns it into metrics
/// (count, unit `Count`) under `namespace` with the dimension `Service`, so no metrics API call
/// and no extra SDK are needed. Pure, for tests; [`emit_metrics`] prints it.
pub fn metric_line(
    namespace: &str,
    service: &str,
    metrics: &[(&str, u64)],
    at: jiff::Timestamp,
) -> String {
    let definitions: Vec<_> = metrics
        .iter()
        .map(|(name, _)| serde_json::json!({ "Name": name, "Unit": "Count" }))
        .collect();
    let mut line = serde_json::json!({
        "_aws": {
            "Timestamp": at.as_millisecond(),
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [["Service"]],
                "Metrics": definitions,
            }],
        },
        "Service": service,
    });
    for (name, value) in metrics {
        line[*name] = serde_json::json!(value);
    }
    line.to_string()
}

/// Writes the metrics to stdout as one Embedded Metric Format line. Not through `tracing`: its
/// JSON layer would nest the `_aws` object as text, which CloudWatch does not read as metrics.
pub fn emit_metrics(service: &str, metrics: &[(&str, u64)], at: jiff::Timestamp) {
    use std::io::Write;
    let line = metric_line(&metrics_namespace(), service, metrics, at);
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

#[cfg(test)]
mod tests {
    #[test]
    fn metric_lines_follow_the_embedded_metric_format() {
        let at: jiff::Timestamp = "2026-11-09T13:00:00Z".parse().unwrap();
        let line = super::metric_line(
            "trouw/prod",
            "run-schedule",
            &[("ScheduleItemsFailed", 2), ("ScheduleItemsUnreadable", 0)],
            at,
        );
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["_aws"]["Timestamp"], at.as_millisecond());
        let directive = &value["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "trouw/prod");
        assert_eq!(directive["Dimensions"], serde_json::json!([["Service"]]));
        assert_eq!(directive["Metrics"][0]["Name"], "ScheduleItemsFailed");
        assert_eq!(directive["Metrics"][0]["Unit"], "Count");
        assert_eq!(value["Service"], "run-schedule");
        assert_eq!(value["ScheduleItemsFailed"], 2);
        assert_eq!(value["ScheduleItemsUnreadable"], 0);
        assert!(!line.contains('\n'), "one line");
    }
}
