//! A tiny Lambda function for the Runtime API emulator's tests: answers with the event and the
//! context the runtime received; `{"fail": "..."}` makes it fail. Served as every main serves,
//! through `trouw::shutdown::until_sigterm`, unless `PLAIN_RUNTIME` is set.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

async fn answer(event: LambdaEvent<Value>) -> Result<Value, Error> {
    if let Some(reason) = event.payload.get("fail") {
        return Err(Error::from(format!("asked to fail: {reason}")));
    }
    Ok(json!({
        "event": event.payload,
        "request_id": event.context.request_id,
        "deadline_ms": event.context.deadline,
        "function_arn": event.context.invoked_function_arn,
        "trace_id": event.context.xray_trace_id,
        "function_name": event.context.env_config.function_name,
    }))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let runtime = lambda_runtime::run(service_fn(answer));
    if std::env::var_os("PLAIN_RUNTIME").is_some() {
        runtime.await
    } else {
        trouw::shutdown::until_sigterm(runtime).await
    }
}
