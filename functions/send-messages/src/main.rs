//! Lambda consuming the table's DynamoDB stream (new PENDING message items, by event filter).
//! Wiring only: the handler lives in `trouw::handlers::send_messages`.

use lambda_runtime::{Error, run, service_fn};
use trouw::handlers::send_messages;

#[tokio::main]
async fn main() -> Result<(), Error> {
    trouw::telemetry::init();
    let app = send_messages::SenderApp::from_env().await?;
    trouw::shutdown::until_sigterm(run(service_fn(|event| send_messages::handle(&app, event))))
        .await
}
