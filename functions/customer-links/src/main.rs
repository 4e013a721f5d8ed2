//! Lambda for the public links in emails (`/u/{token}`). Wiring only: the handler lives in
//! `trouw::handlers::customer_links`.

use lambda_http::{Error, run, service_fn};
use trouw::handlers::customer_links::{LinksApp, handle};

#[tokio::main]
async fn main() -> Result<(), Error> {
    trouw::telemetry::init();
    let app = LinksApp::from_env().await?;
    trouw::shutdown::until_sigterm(run(service_fn(|req| handle(&app, req)))).await
}
