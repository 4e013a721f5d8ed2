//! Lambda for the marketers' pages under `/admin`. Wiring only: the handler lives in
//! `trouw::handlers::message_log`.

use lambda_http::{Error, run, service_fn};
use trouw::handlers::message_log::{AdminApp, handle};

#[tokio::main]
async fn main() -> Result<(), Error> {
    trouw::telemetry::init();
    let app = AdminApp::from_env().await?;
    trouw::shutdown::until_sigterm(run(service_fn(|req| handle(&app, req)))).await
}
