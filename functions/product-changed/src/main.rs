//! Lambda for `POST /webhooks/{shop}/product-changed`. Wiring only: the handler lives in
//! `trouw::handlers::webhook`.

use lambda_http::{Error, run, service_fn};
use trouw::domain::EventType;
use trouw::handlers::{WebhookApp, webhook};

#[tokio::main]
async fn main() -> Result<(), Error> {
    trouw::telemetry::init();
    let app = WebhookApp::from_env().await?;
    trouw::shutdown::until_sigterm(run(service_fn(|req| {
        webhook::handle(&app, EventType::ProductChanged, req)
    })))
    .await
}
