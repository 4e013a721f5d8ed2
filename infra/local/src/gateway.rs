//! The local HTTP API: the routes of `infra/template.yaml`'s HTTP API, each calling the very
//! handler its Lambda runs. Requests become `lambda_http::Request`s, as API Gateway's would.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::net::TcpListener;
use trouw::clock::OffsetClock;
use trouw::domain::{CustomerId, EventType, ShopId};
use trouw::handlers::customer_links::{self, LinksApp};
use trouw::handlers::send_messages::{SenderApp, deliver_pending};
use trouw::handlers::{WebhookApp, webhook};

use crate::functions::Function;

/// What the local API serves: the webhook handlers, the public links, the marketers' pages,
/// and the local-only `/dev` routes: the movable clock (`POST /dev/clock`), a schedule pass
/// (`POST /dev/run-schedule`) and waiting for the stream (`POST /dev/settle`). Each handler is
/// built with its own function's identity (`aws::function_sdk_config`), as each Lambda runs
/// with its own role.
pub struct Services {
    /// One webhook app per webhook function (`Function::for_webhook`): each route runs as the
    /// function the template routes it to.
    pub webhooks: BTreeMap<Function, WebhookApp>,
    pub links: Option<LinksApp>,
    /// The marketers' pages under `/admin`.
    pub admin: Option<trouw::handlers::message_log::AdminApp>,
    /// The loyalty API under `/loyalty`.
    pub loyalty: Option<trouw::handlers::loyalty_api::LoyaltyApp>,
    /// The sender of the direct drive (send-messages' identity).
    pub sender: Option<Arc<SenderApp>>,
    /// The schedule pass of `POST /dev/run-schedule` (run-schedule's identity).
    pub schedule: Option<Arc<SenderApp>>,
    /// Local only, never deployed: the clock `POST /dev/clock` moves.
    pub clock: Option<Arc<OffsetClock>>,
    /// The table's stream in front of the sender, as in AWS (`POST /dev/settle` waits for it).
    pub stream: Option<Arc<crate::stream::MappingHandle>>,
    /// The day counter's windows on the same stream (`POST /dev/settle` ends its open window
    /// and waits for its counts, so that nothing the stream carries is still to be written).
    pub counter: Option<Arc<crate::stream::MappingHandle>>,
    /// Sends what a webhook or link answer caused before answering, instead of leaving it to
    /// the stream: a deterministic step for tests that want one. Off by default.
    pub direct_drive: bool,
}

/// How long `POST /dev/settle` waits for the stream before answering 503.
const SETTLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// API Gateway's own payload limit; the handlers enforce trouw's smaller one.
const GATEWAY_MAX_BODY: usize = 10 * 1024 * 1024;

/// Serves until `shutdown` completes.
pub async fn serve(listener: TcpListener, app: Arc<Services>, shutdown: impl Future<Output = ()>) {
    let counter = Arc::new(AtomicU64::new(0));
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
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
            let service = service_fn(move |req: hyper::Request<Incoming>| {
                let app = app.clone();
                let n = counter.fetch_add(1, Ordering::Relaxed);
                async move {
                    let started = std::time::Instant::now();
                    let method = req.method().clone();
                    let name = route_name(req.uri().path());
                    let response = route(&app, req, n, peer).await;
                    // API Gateway's access log in AWS; here the one place that sees every
                    // request's whole time (`make load` reads it). The route's template only:
                    // paths carry link tokens.
                    tracing::info!(
                        method = %method,
                        route = %name,
                        status = response.status().as_u16(),
                        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
                        "request served"
                    );
                    Ok::<_, Infallible>(response)
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Binds `addr` and serves in the background; returns the bound address. For tests.
pub async fn spawn(app: Arc<Services>, addr: &str) -> std::io::Result<std::net::SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tokio::spawn(serve(listener, app, std::future::pending()));
    Ok(local)
}

async fn route(
    services: &Services,
    req: hyper::Request<Incoming>,
    n: u64,
    peer: std::net::SocketAddr,
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
    if segments.first() == Some(&"dev") && parts.method != http::Method::POST {
        // Every local-only route changes something: POST only, as GET never changes anything.
        return plain(405, r#"{"message":"Method Not Allowed"}"#);
    }
    if let (["dev", "clock"], Some(clock)) = (segments.as_slice(), &services.clock) {
        return set_clock(clock, &body);
    }
    // Local only: one schedule pass now, invoked with the event EventBridge Scheduler sends,
    // including the sends it causes; answers when done.
    if let (["dev", "run-schedule"], Some(schedule)) = (segments.as_slice(), &services.schedule) {
        return match crate::events::run_schedule(schedule).await {
            Ok(report) => hyper::Response::builder()
                .status(200)
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(
                    serde_json::to_vec(&report).expect("report serialises"),
                )))
                .expect("static response"),
            Err(err) => {
                tracing::error!(detail = %err, "schedule pass failed");
                plain(503, r#"{"error":"temporarily_unavailable"}"#)
            }
        };
    }
    // Local only: answers once the stream's mappings (the sender, and the day counter with
    // its open window ended) have handled everything written so far. Without the counter, a
    // window closing on its own clock could write while a caller compares the table.
    let mappings: Vec<_> = services.stream.iter().chain(&services.counter).collect();
    if segments.as_slice() == ["dev", "settle"] && !mappings.is_empty() {
        for mapping in mappings {
            if let Err(err) = mapping.settle(SETTLE_TIMEOUT).await {
                tracing::error!(detail = %err, "a stream mapping did not settle");
                return plain(503, r#"{"error":"temporarily_unavailable"}"#);
            }
        }
        return plain(200, r#"{"settled":true}"#);
    }
    if let (Some("admin"), Some(admin)) = (segments.first().copied(), &services.admin) {
        // The client's address, where API Gateway puts it (`requestContext.http.sourceIp`).
        let mut context =
            lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext::default();
        context.http.source_ip = Some(peer.ip().to_string());
        parts
            .extensions
            .insert(lambda_http::request::RequestContext::ApiGatewayV2(context));
        let request =
            lambda_http::Request::from_parts(parts, lambda_http::Body::from(body.to_vec()));
        return into_hyper(trouw::handlers::message_log::handle(admin, request).await);
    }
    if let (Some("loyalty"), Some(loyalty)) = (segments.first().copied(), &services.loyalty) {
        let request =
            lambda_http::Request::from_parts(parts, lambda_http::Body::from(body.to_vec()));
        return into_hyper(trouw::handlers::loyalty_api::handle(loyalty, request).await);
    }
    if let ([kind @ ("u" | "s" | "r" | "q"), token], Some(links)) =
        (segments.as_slice(), &services.links)
    {
        // Whose link it is, so that a direct drive can send what the answer caused.
        let owner = match *kind {
            "s" => links
                .links
                .verify_survey(token)
                .map(|(shop, customer, _)| (shop, customer)),
            "r" => links.links.verify_reactivation(token),
            _ => None,
        };
        let request =
            lambda_http::Request::from_parts(parts, lambda_http::Body::from(body.to_vec()));
        let response = customer_links::handle(links, request).await;
        if let (Some(sender), Some((shop, customer)), true) =
            (&services.sender, owner, services.direct_drive)
            && let Err(err) = deliver_pending(sender, &shop, &customer).await
        {
            tracing::warn!(detail = %err, "local sender will try again after the next event");
        }
        return into_hyper(response);
    }
    let shop = match segments.as_slice() {
        ["webhooks", shop, _] => ShopId::parse(*shop).ok(),
        _ => None,
    };
    let event_type = match segments.as_slice() {
        ["healthz"] => Some(EventType::OrderPlaced),
        ["webhooks", _shop, route] => EventType::from_route(route),
        _ => None,
    };
    let Some(event_type) = event_type else {
        // What API Gateway answers for a route it does not have.
        return plain(404, r#"{"message":"Not Found"}"#);
    };
    let function = Function::for_webhook(event_type);
    let Some(app) = function.and_then(|f| services.webhooks.get(&f)) else {
        tracing::error!(?function, "no webhook app for this function");
        return plain(500, r#"{"message":"Internal Server Error"}"#);
    };
    let request = lambda_http::Request::from_parts(parts, lambda_http::Body::from(body.to_vec()));
    let response = webhook::handle(app, event_type, request).await;
    // Only as an explicit direct drive: by default the table's stream delivers the messages.
    if let (Some(sender), Some(shop), Ok(answer), true) =
        (&services.sender, shop, &response, services.direct_drive)
    {
        let customer = serde_json::from_slice::<serde_json::Value>(answer.body().as_ref())
            .ok()
            .and_then(|v| {
                v["customer_id"]
                    .as_str()
                    .and_then(|c| CustomerId::parse(c).ok())
            });
        // Before answering, so that what a webhook caused is in moto's SES once it answered.
        if let Some(customer) = customer
            && let Err(err) = deliver_pending(sender, &shop, &customer).await
        {
            tracing::warn!(detail = %err, "local sender will try again after the next event");
        }
    }
    into_hyper(response)
}

fn into_hyper(
    response: Result<lambda_http::Response<lambda_http::Body>, lambda_http::Error>,
) -> hyper::Response<Full<Bytes>> {
    match response {
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

/// A request's route as the template names it, for the access log: no shop-chosen or secret
/// parts beyond the webhook route (link tokens, admin ids and query strings stay out).
pub fn route_name(path: &str) -> String {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["webhooks", _, route] if EventType::from_route(route).is_some() => {
            format!("/webhooks/{{shop}}/{route}")
        }
        ["webhooks", ..] => "/webhooks/other".to_owned(),
        [kind @ ("u" | "s" | "r" | "q"), _] => format!("/{kind}/{{token}}"),
        ["admin", ..] => "/admin".to_owned(),
        ["loyalty", ..] => "/loyalty".to_owned(),
        ["dev", what @ ("clock" | "run-schedule" | "settle")] => format!("/dev/{what}"),
        ["healthz"] => "/healthz".to_owned(),
        _ => "other".to_owned(),
    }
}

/// `POST /dev/clock` with `{"now": "<RFC 3339>"}`: the whole local stack lives at that time
/// from now on (and time keeps running from there); with `"stopped": true` the clock stands
/// still there, so that a run's stored times do not depend on how long it took (`make load`
/// compares two runs). Local only, never deployed.
fn set_clock(clock: &OffsetClock, body: &[u8]) -> hyper::Response<Full<Bytes>> {
    let request = serde_json::from_slice::<serde_json::Value>(body).unwrap_or_default();
    let now = request["now"]
        .as_str()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok());
    let Some(now) = now else {
        return plain(
            400,
            r#"{"error":"invalid_payload","field":"now","message":"now: must be an RFC 3339 time"}"#,
        );
    };
    let stopped = match &request["stopped"] {
        serde_json::Value::Null => false,
        serde_json::Value::Bool(stopped) => *stopped,
        _ => {
            return plain(
                400,
                r#"{"error":"invalid_payload","field":"stopped","message":"stopped: must be true or false"}"#,
            );
        }
    };
    if stopped {
        clock.stop_at_second(now.as_second());
    } else {
        clock.set_offset_seconds(now.as_second() - jiff::Timestamp::now().as_second());
    }
    let body = serde_json::json!({ "now": now.to_string(), "stopped": stopped }).to_string();
    hyper::Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .expect("static response")
}

fn plain(status: u16, body: &'static str) -> hyper::Response<Full<Bytes>> {
    hyper::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .expect("static response")
}

#[cfg(test)]
mod tests {
    use super::route_name;

    #[test]
    fn the_access_log_names_routes_without_tokens_or_ids() {
        assert_eq!(
            route_name("/webhooks/demo/order-placed"),
            "/webhooks/{shop}/order-placed"
        );
        assert_eq!(route_name("/webhooks/demo/nope"), "/webhooks/other");
        assert_eq!(route_name("/s/eyJzZWNyZXQ.token"), "/s/{token}");
        assert_eq!(route_name("/u/abc"), "/u/{token}");
        assert_eq!(route_name("/admin/messages/cus-8812"), "/admin");
        assert_eq!(route_name("/loyalty/demo/customers/cus-8812"), "/loyalty");
        assert_eq!(route_name("/dev/settle"), "/dev/settle");
        assert_eq!(route_name("/dev/x"), "other");
        assert_eq!(route_name("/healthz"), "/healthz");
        assert_eq!(route_name("/anna.devries@example.nl"), "other");
    }
}
