//! Lambda invoked by the EventBridge rule for SES events. Wiring only: the handler lives in
//! `trouw::handlers::ses_events`.

use lambda_runtime::{Error, run, service_fn};
use trouw::handlers::ses_events::{self, FeedbackApp};

#[tokio::main]
async fn main() -> Result<(), Error> {
    trouw::telemetry::init();
    let app = FeedbackApp::from_env().await?;
    trouw::shutdown::until_sigterm(run(service_fn(|event| ses_events::handle(&app, event)))).await
}
