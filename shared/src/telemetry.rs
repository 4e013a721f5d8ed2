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
