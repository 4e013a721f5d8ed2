//! The local HTTP API: the routes of `infra/template.yaml`'s HTTP API, each calling the very
//! handler its Lambda runs. Requests become `lambda_http::Request`s, as API Gateway's would.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::net::TcpListener;
use trouw::domain::EventType;
use trouw::handlers::{WebhookApp, webhook};

/// API Gateway's own payload limit; the handlers enforce trouw's smaller one.
const GATEWAY_MAX_BODY: usize = 10 * 1024 * 1024;

/// Serves until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    app: Arc<WebhookApp>,
    shutdown: impl Future<Output = ()>,
) {
    let counter = Arc::new(AtomicU64::new(0));
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(err) => {
                    tracing::warn!(detail = %err, "accept failed");
                    continue;
                }
            },
            () = &mut shutdown => return,
        };
        let app = app.clone();
        let counter = counter.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let app = app.clone();
                let n = counter.fetch_add(1, Ordering::Relaxed);
                async move { Ok::<_, Infallible>(route(&app, req, n).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Binds `addr` and serves in the background; returns the bound address. For tests.
pub async fn spawn(app: Arc<WebhookApp>, addr: &str) -> std::io::Result<std::net::SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tokio::spawn(serve(listener, app, std::future::pending()));
    Ok(local)
}

async fn route(
    app: &WebhookApp,
    req: hyper::Request<Incoming>,
    n: u64,
) -> hyper::Response<Full<Bytes>> {
    let (mut parts, body) = req.into_parts();
    let body = match Limited::new(body, GATEWAY_MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return plain(413, r#"{"message":"Request Entity Too Large"}"#),
    };
    if !parts.headers.contains_key("x-request-id") {
        let id = format!("local-{}-{n}", std::process::id());
        parts
            .headers
            .insert("x-request-id", id.parse().expect("ascii id"));
    }
    let segments: Vec<&str> = parts.uri.path().trim_matches('/').split('/').collect();
    let event_type = match segments.as_slice() {
        ["healthz"] => Some(EventType::OrderPlaced),
        ["webhooks", _shop, route] => EventType::from_route(route),
        _ => None,
    };
    let Some(event_type) = event_type else {
        // What API Gateway answers for a route it does not have.
        return plain(404, r#"{"message":"Not Found"}"#);
    };
    let request = lambda_http::Request::from_parts(parts, lambda_http::Body::from(body.to_vec()));
    match webhook::handle(app, event_type, request).await {
        Ok(response) => {
            let (parts, body) = response.into_parts();
            hyper::Response::from_parts(parts, Full::new(Bytes::copy_from_slice(body.as_ref())))
        }
        Err(err) => {
            tracing::error!(detail = %err, "handler failed");
            plain(500, r#"{"message":"Internal Server Error"}"#)
        }
    }
}

fn plain(status: u16, body: &'static str) -> hyper::Response<Full<Bytes>> {
    hyper::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .expect("static response")
}
