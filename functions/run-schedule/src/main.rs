//! Lambda started by the EventBridge schedule. Wiring only: the handler lives in
//! `trouw::handlers::run_schedule`; it shares the sender's configuration.

use lambda_runtime::{Error, run, service_fn};
use trouw::handlers::{run_schedule, send_messages::SenderApp};

#[tokio::main]
async fn main() -> Result<(), Error> {
    trouw::telemetry::init();
    let app = SenderApp::from_env().await?;
    trouw::shutdown::until_sigterm(run(service_fn(|event| run_schedule::handle(&app, event)))).await
}
