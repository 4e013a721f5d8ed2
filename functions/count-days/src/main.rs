//! Lambda consuming the table's DynamoDB stream in tumbling windows (message, activity, ledger
//! and order items, by event filter). Wiring only: the handler lives in
//! `trouw::handlers::count_days`.

use lambda_runtime::{Error, run, service_fn};
use trouw::handlers::count_days;

#[tokio::main]
async fn main() -> Result<(), Error> {
    trouw::telemetry::init();
    let app = count_days::CounterApp::from_env().await?;
    trouw::shutdown::until_sigterm(run(service_fn(|event| count_days::handle(&app, event)))).await
}
