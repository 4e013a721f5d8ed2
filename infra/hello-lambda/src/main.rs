//! Hello world on the Lambda runtime: what a function costs to start before it does anything
//! of its own (no AWS SDK, no TLS, no configuration). `make bench` holds every function's init
//! to at most twice this one's.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

async fn answer(event: LambdaEvent<Value>) -> Result<Value, Error> {
    Ok(json!({ "hello": event.payload }))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(answer)).await
}
