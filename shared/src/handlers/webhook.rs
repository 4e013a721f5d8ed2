//! `POST /webhooks/{shop}/{route}`: one handler for the four webhook Lambdas, told its route.
//!
//! Checks run cheapest first, and every refusal happens before anything is written:
//! method (405), content type (415), size (413), shop (404), signature (401), payload (400).
//! Then one read, `decide`, and one transaction (200 processed / duplicate), or 503 with
//! `Retry-After` when DynamoDB throttles or times out.

use super::WebhookApp;
use super::responses::{error, json};
use crate::domain::{EventType, ShopEvent, ShopId, decide};
use crate::shops::Shop;
use crate::store::{ProcessedEvent, StoreError, Written};
use crate::webhook::{PayloadError, SignatureError, parse_canonical, verify_standard_webhook};
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::json;
use tracing::{Instrument, field};

/// Bodies above this size are refused with 413.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Seconds a platform should wait after a 503.
pub const RETRY_AFTER_SECONDS: u32 = 5;
/// Optimistic-concurrency rounds before giving up with 503 (another writer kept winning).
const MAX_WRITE_ATTEMPTS: usize = 5;

/// The Lambda entry point for the webhook functions, and for `GET /healthz`.
pub async fn handle(
    app: &WebhookApp,
    route: EventType,
    req: Request,
) -> Result<Response<Body>, lambda_http::Error> {
    let request_id = req
        .lambda_context_ref()
        .map(|c| c.request_id.clone())
        .filter(|id| !id.is_empty())
        .or_else(|| {
            req.headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "unknown".to_owned());
    if req.uri().path().ends_with("/healthz") {
        return Ok(health(app, &req).await);
    }
    let span = tracing::info_span!(
        "webhook",
        request_id = %request_id,
        route = route.route(),
        shop = field::Empty,
        event_id = field::Empty,
    );
    async move {
        let reply = process(app, route, &req).await;
        let status = reply.response.status().as_u16();
        match status {
            500.. => tracing::error!(
                outcome = reply.outcome,
                status,
                detail = reply.detail.as_deref(),
                "webhook handled"
            ),
            400.. => tracing::warn!(
                outcome = reply.outcome,
                status,
                detail = reply.detail.as_deref(),
                "webhook handled"
            ),
            _ => tracing::info!(outcome = reply.outcome, status, "webhook handled"),
        }
        Ok(reply.response)
    }
    .instrument(span)
    .await
}

/// `GET /healthz`: 200 when the table answers.
pub async fn health(app: &WebhookApp, req: &Request) -> Response<Body> {
    if req.method() != http::Method::GET {
        return method_not_allowed("GET");
    }
    match app.store.ping().await {
        Ok(()) => json(200, json!({ "status": "ok" })),
        Err(err) => {
            tracing::error!(detail = %err, "health check failed");
            json(503, json!({ "status": "unavailable" }))
        }
    }
}

struct Reply {
    response: Response<Body>,
    /// One word for logs and metrics: processed, duplicate, invalid_payload, ...
    outcome: &'static str,
    /// Why, for refusals; never personal data (field paths and error kinds only).
    detail: Option<String>,
}

impl Reply {
    fn ok(outcome: &'static str, response: Response<Body>) -> Self {
        Reply {
            response,
            outcome,
            detail: None,
        }
    }
    fn refused(outcome: &'static str, response: Response<Body>, detail: impl Into<String>) -> Self {
        Reply {
            response,
            outcome,
            detail: Some(detail.into()),
        }
    }
    fn store_error(err: StoreError) -> Self {
        if err.is_transient() {
            let mut response = error(
                503,
                "temporarily_unavailable",
                "the store is busy; retry later, nothing was written",
            );
            response
                .headers_mut()
                .insert("retry-after", RETRY_AFTER_SECONDS.into());
            Reply::refused("unavailable", response, err.to_string())
        } else {
            Reply::refused(
                "error",
                error(500, "internal_error", "the event could not be stored"),
                err.to_string(),
            )
        }
    }
}

async fn process(app: &WebhookApp, route: EventType, req: &Request) -> Reply {
    if req.method() != http::Method::POST {
        return Reply::refused(
            "method_not_allowed",
            method_not_allowed("POST"),
            req.method().as_str(),
        );
    }
    if !is_json(req.headers().get(http::header::CONTENT_TYPE)) {
        return Reply::refused(
            "unsupported_media_type",
            error(
                415,
                "unsupported_media_type",
                "send the event as Content-Type: application/json",
            ),
            "content type",
        );
    }
    let body: &[u8] = req.body().as_ref();
    if body.len() > MAX_BODY_BYTES {
        return Reply::refused(
            "payload_too_large",
            error(
                413,
                "payload_too_large",
                format!("the body is over {MAX_BODY_BYTES} bytes"),
            ),
            body.len().to_string(),
        );
    }

    let unknown_shop = || {
        Reply::refused(
            "unknown_shop",
            error(404, "unknown_shop", "no shop with this id is configured"),
            "unknown shop",
        )
    };
    let Some(shop_id) = shop_from_path(req.uri().path()) else {
        return unknown_shop();
    };
    let shop = match app.shops.get(&shop_id).await {
        Ok(Some(shop)) => shop,
        Ok(None) => return unknown_shop(),
        Err(err) => return Reply::store_error(err),
    };
    tracing::Span::current().record("shop", shop_id.as_str());

    let event_id = match verify_standard_webhook(req.headers(), body, &shop.secrets) {
        Ok(id) => id,
        Err(err) => {
            if err == SignatureError::NoSecret {
                tracing::error!("shop has no usable webhook secret; every delivery is refused");
            }
            return Reply::refused(
                "invalid_signature",
                error(401, "invalid_signature", err.to_string()),
                err.to_string(),
            );
        }
    };
    tracing::Span::current().record("event_id", event_id.as_str());

    let event = match parse_canonical(&shop_id, route, event_id, body) {
        Ok(event) => event,
        Err(PayloadError { field, message }) => {
            let response = json(
                400,
                json!({ "error": "invalid_payload", "field": field, "message": format!("{field}: {message}") }),
            );
            return Reply::refused("invalid_payload", response, field);
        }
    };
    apply(app, &shop, &event).await
}

/// Read, decide, write; again if another writer changed the customer in between.
async fn apply(app: &WebhookApp, shop: &Shop, event: &ShopEvent) -> Reply {
    let shop_id = &shop.settings.id;
    let duplicate = || {
        Reply::ok(
            "duplicate",
            json(
                200,
                json!({ "status": "duplicate", "event_id": event.id.as_str() }),
            ),
        )
    };
    for _ in 0..MAX_WRITE_ATTEMPTS {
        let loaded = match app
            .store
            .load(shop_id, &event.id, &event.customer.id, event.order_id())
            .await
        {
            Ok(loaded) => loaded,
            Err(err) => return Reply::store_error(err),
        };
        if loaded.already_processed {
            return duplicate();
        }
        let now = app.clock.now();
        let decision = decide(&loaded.state, event, now, &shop.settings);
        let processed = ProcessedEvent {
            event_id: event.id.clone(),
            route: event.event_type().route().to_owned(),
            customer_id: event.customer.id.clone(),
            order_id: event.order_id().cloned(),
            processed_at: now,
            expires_at: (now + ProcessedEvent::KEEP_FOR).as_second(),
        };
        let read_version = loaded.state.profile.as_ref().map(|p| p.version);
        match app
            .store
            .write_decision(shop_id, read_version, &decision, &processed)
            .await
        {
            Ok(Written::Committed) => {
                let o = &decision.outcome;
                let mut body = json!({
                    "status": "processed",
                    "event_id": event.id.as_str(),
                    "customer_id": event.customer.id.as_str(),
                    "points_pending": o.points_pending,
                    "lifecycle": o.lifecycle.as_str(),
                });
                if let (Some(order_id), Some(status)) = (event.order_id(), o.order_status) {
                    body["order_id"] = json!(order_id.as_str());
                    body["order_status"] = json!(status.as_str());
                }
                if event.customer.address.is_some() {
                    body["moved"] = json!(o.moved);
                }
                return Reply::ok("processed", json(200, body));
            }
            Ok(Written::Duplicate) => return duplicate(),
            Ok(Written::Conflict) => continue,
            Err(err) => return Reply::store_error(err),
        }
    }
    Reply::store_error(StoreError::Unavailable(
        "the customer kept changing under concurrent writes".into(),
    ))
}

fn method_not_allowed(allow: &'static str) -> Response<Body> {
    let mut response = error(405, "method_not_allowed", format!("use {allow}"));
    response
        .headers_mut()
        .insert("allow", http::HeaderValue::from_static(allow));
    response
}

/// `application/json`, with parameters, or any `+json` type.
fn is_json(value: Option<&http::HeaderValue>) -> bool {
    let Some(value) = value.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mime = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// `/webhooks/{shop}/{route}`, also behind a path prefix (custom domain mappings).
fn shop_from_path(path: &str) -> Option<ShopId> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let n = segments.len();
    if n < 3 || segments[n - 3] != "webhooks" {
        return None;
    }
    ShopId::parse(segments[n - 2]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types() {
        let ok = |s: &'static str| is_json(Some(&http::HeaderValue::from_static(s)));
        assert!(ok("application/json"));
        assert!(ok("application/json; charset=utf-8"));
        assert!(ok("Application/JSON"));
        assert!(ok("application/cloudevents+json"));
        assert!(!ok("text/plain"));
        assert!(!ok("application/x-www-form-urlencoded"));
        assert!(!is_json(None));
    }

    #[test]
    fn shop_comes_from_the_path() {
        assert_eq!(
            shop_from_path("/webhooks/demo/order-placed")
                .unwrap()
                .as_str(),
            "demo"
        );
        assert_eq!(
            shop_from_path("/prod/webhooks/demo/order-placed/")
                .unwrap()
                .as_str(),
            "demo"
        );
        assert!(shop_from_path("/webhooks/De%20mo/order-placed").is_none());
        assert!(shop_from_path("/healthz").is_none());
    }
}
