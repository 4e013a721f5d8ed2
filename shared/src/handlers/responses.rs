//! JSON answers with their status codes.

use lambda_http::{Body, Response};
use serde_json::Value;

pub(crate) fn json(status: u16, body: Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::Text(body.to_string()))
        .expect("static response parts are valid")
}

pub(crate) fn error(status: u16, code: &str, message: impl Into<String>) -> Response<Body> {
    json(
        status,
        serde_json::json!({ "error": code, "message": message.into() }),
    )
}
