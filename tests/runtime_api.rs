//! The local Lambda Runtime API (`trouw_local::runtime_api`) runs a function's process as Lambda
//! does: the headers of `invocation/next`, the response and error endpoints, init errors, and a
//! clean exit on SIGTERM.

use std::collections::BTreeMap;
use std::time::Duration;
use trouw_local::client::{http_client, send};
use trouw_local::runtime_api::{
    InvokeError, LambdaProcess, Outcome, RuntimeApi, lambda_environment,
};

const ARN: &str = "arn:aws:lambda:eu-west-1:123456789012:function:trouw-test";

async fn start(extra: &[(&str, &str)]) -> LambdaProcess {
    let mut environment = lambda_environment("trouw-test", 256, "eu-west-1");
    for (k, v) in extra {
        environment.insert((*k).into(), (*v).into());
    }
    let command = tokio::process::Command::new(env!("CARGO_BIN_EXE_trouw-test-lambda"));
    LambdaProcess::spawn(command, ARN, &environment)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_invocation_carries_lambdas_headers_and_returns_the_answer() {
    let mut function = start(&[]).await;
    let invoked = function
        .invoke(br#"{"order": 1}"#, Duration::from_secs(10))
        .await
        .unwrap();
    let Outcome::Response(body) = &invoked.outcome else {
        panic!("{invoked:?}");
    };
    let answer: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(answer["event"]["order"], 1);
    assert_eq!(answer["request_id"], invoked.request_id.as_str());
    assert_eq!(
        answer["deadline_ms"].as_u64().unwrap() as u128,
        invoked.deadline_ms
    );
    assert_eq!(answer["function_arn"], ARN);
    assert_eq!(answer["trace_id"], invoked.trace_id.as_str());
    assert_eq!(answer["function_name"], "trouw-test");
    assert!(
        invoked.trace_id.starts_with("Root=1-"),
        "{}",
        invoked.trace_id
    );
    // One process serves invocation after invocation, each with its own id.
    let second = function
        .invoke(b"{}", Duration::from_secs(10))
        .await
        .unwrap();
    assert_ne!(second.request_id, invoked.request_id);
    assert!(
        function
            .terminate(Duration::from_secs(5))
            .await
            .unwrap()
            .success()
    );
}

#[tokio::test]
async fn a_handler_error_arrives_on_the_error_endpoint() {
    let mut function = start(&[]).await;
    let invoked = function
        .invoke(br#"{"fail": "on purpose"}"#, Duration::from_secs(10))
        .await
        .unwrap();
    let Outcome::Error(error) = &invoked.outcome else {
        panic!("{invoked:?}");
    };
    assert!(error.body.contains("asked to fail"), "{error:?}");
    assert!(!error.error_type.is_empty());
    // The process goes on serving.
    let next = function
        .invoke(b"{}", Duration::from_secs(10))
        .await
        .unwrap();
    assert!(matches!(next.outcome, Outcome::Response(_)));
    function.terminate(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test]
async fn a_function_exits_with_status_0_on_sigterm() {
    let mut function = start(&[]).await;
    function
        .invoke(b"{}", Duration::from_secs(10))
        .await
        .unwrap();
    let status = function.terminate(Duration::from_secs(2)).await.unwrap();
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn a_runtime_without_the_shutdown_handler_dies_of_sigterm() {
    // What every main did before `trouw::shutdown`: the check above tells the two apart.
    let mut function = start(&[("PLAIN_RUNTIME", "1")]).await;
    function
        .invoke(b"{}", Duration::from_secs(10))
        .await
        .unwrap();
    let status = function.terminate(Duration::from_secs(2)).await.unwrap();
    assert!(!status.success(), "{status}");
}

#[tokio::test]
async fn a_process_that_exits_or_never_asks_fails_the_invocation() {
    let environment = lambda_environment("gone", 128, "eu-west-1");
    let mut gone = LambdaProcess::spawn(tokio::process::Command::new("true"), ARN, &environment)
        .await
        .unwrap();
    assert!(matches!(
        gone.invoke(b"{}", Duration::from_secs(5)).await,
        Err(InvokeError::Exited(_))
    ));
    let idle = RuntimeApi::start(ARN).await.unwrap();
    assert!(matches!(
        idle.invoke(b"{}", Duration::from_millis(200)).await,
        Err(InvokeError::Timeout(_))
    ));
}

#[tokio::test]
async fn unknown_ids_are_refused_and_an_init_error_ends_the_invocation() {
    let api = std::sync::Arc::new(RuntimeApi::start(ARN).await.unwrap());
    let client = http_client();
    let base = format!("http://{}/2018-06-01/runtime", api.address());
    let post = |path: String, body: &'static str| {
        http::Request::post(path)
            .header("lambda-runtime-function-error-type", "Runtime.Test")
            .body(http_body_util::Full::new(bytes::Bytes::from_static(
                body.as_bytes(),
            )))
            .unwrap()
    };
    let answer = send(
        &client,
        post(format!("{base}/invocation/nope/response"), "{}"),
    )
    .await
    .unwrap();
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json()["errorType"], "InvalidRequestID");
    let answer = send(
        &client,
        http::Request::get(format!("{base}/invocation/unknown"))
            .body(Default::default())
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(answer.status, 404);

    let waiting = {
        let api = api.clone();
        tokio::spawn(async move { api.invoke(b"{}", Duration::from_secs(10)).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let answer = send(
        &client,
        post(
            format!("{base}/init/error"),
            r#"{"errorMessage": "TABLE_NAME is not set", "errorType": "Runtime.ConfigError"}"#,
        ),
    )
    .await
    .unwrap();
    assert_eq!(answer.status, 202);
    let error = api.init_error().unwrap();
    assert_eq!(error.error_type, "Runtime.ConfigError");
    assert!(matches!(
        waiting.await.unwrap(),
        Err(InvokeError::InitError(e)) if e.body.contains("TABLE_NAME")
    ));
}

#[test]
fn lambda_sets_what_the_runtime_needs() {
    let environment: BTreeMap<String, String> = lambda_environment("f", 256, "eu-west-1");
    for name in [
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_REGION",
    ] {
        assert!(environment.contains_key(name), "{name}");
    }
    assert_eq!(environment["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256");
}
