//! Lambda for the loyalty API (`/loyalty/{shop}/...`). Wiring only: the handler lives in
//! `trouw::handlers::loyalty_api`.

use lambda_http::{Error, run, service_fn};
use trouw::handlers::loyalty_api::{LoyaltyApp, handle};

#[tokio::main]
async fn main() -> Result<(), Error> {
    trouw::telemetry::init();
    let app = LoyaltyApp::from_env().await?;
    trouw::shutdown::until_sigterm(run(service_fn(|req| handle(&app, req)))).await
}
