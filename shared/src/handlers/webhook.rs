//! `POST /webhooks/{shop}/{route}`: one handler for the four webhook Lambdas, told its route.
//!
//! Three dialects arrive on each route: the canonical format (Standard Webhooks), Shopify's and
//! WooCommerce's own; the edge (`crate::webhook`) turns each into the same events.
//! Checks run cheapest first, and every refusal happens before anything is written:
//! method (405), size (413), content type (415), shop (404), signature (401), payload (400).
//! Then one read, `decide`, and one transaction (200 processed / duplicate / ignored), or 503
//! with `Retry-After` when DynamoDB throttles or times out.

use super::WebhookApp;
use super::responses::{error, json};
use crate::domain::{
    ActivityKind, CustomerId, EventId, EventKind, EventType, OrderId, ParkedEvent, ShopEvent,
    ShopId, Timestamp, erase, erase_message, erase_parked,
};
use crate::shops::Shop;
use crate::store::{LoyaltyErasure, ProcessedEvent, StoreError, Written};
use crate::webhook::platform::{self, Platform};
use crate::webhook::{
    Inbound, PayloadError, SignatureError, parse_canonical, shopify, verify_standard_webhook,
    woocommerce,
};
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
        platform = field::Empty,
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

pub(super) struct Reply {
    response: Response<Body>,
    /// One word for logs and metrics: processed, duplicate, invalid_payload, ...
    outcome: &'static str,
    /// Why, for refusals; never personal data (field paths and error kinds only).
    detail: Option<String>,
}

impl Reply {
    pub(super) fn ok(outcome: &'static str, response: Response<Body>) -> Self {
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
    pub(super) fn store_error(err: StoreError) -> Self {
        if err.is_transient() {
            let mut response = error(
                503,
                "temporarily_unavailable",
                "the store is busy; retry later: the event was not applied, and the same delivery applies it once",
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
    let headers = req.headers();
    let content_type = headers.get(http::header::CONTENT_TYPE);
    // WooCommerce pings a new webhook with an unsigned form body `webhook_id=N`.
    let ping = woocommerce::is_ping(body) && !is_json(content_type);
    if !ping && !is_json(content_type) {
        return Reply::refused(
            "unsupported_media_type",
            error(
                415,
                "unsupported_media_type",
                "send the event as Content-Type: application/json (UTF-8)",
            ),
            "content type",
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
    let span = tracing::Span::current();
    span.record("shop", shop_id.as_str());
    if ping {
        return Reply::ok(
            "ignored",
            json(200, json!({ "status": "ignored", "reason": "ping" })),
        );
    }

    let platform = platform::detect(headers);
    span.record("platform", platform.as_str());
    if route == EventType::ProductChanged {
        return super::product_changed::process(app, &shop, platform, headers, body).await;
    }
    // A delivery's reply is large, as the readers' own (see `shopify_delivery`).
    #[allow(clippy::result_large_err)]
    let read_with = |guests: Option<&crate::webhook::GuestIds>| match platform {
        Platform::Canonical => canonical_delivery(&shop, route, headers, body),
        Platform::Shopify => shopify_delivery(&shop, guests, route, headers, body, app.clock.now()),
        Platform::WooCommerce => woocommerce_delivery(&shop, guests, route, headers, body),
    };
    let read = match read_with(app.guests.get()) {
        // Refused without the guest key (not read yet): perhaps a guest's order, which needs
        // it. Read it (once per container) and read the delivery again.
        Err(_) if platform != Platform::Canonical && app.guests.can_read() => {
            match app.guests.read().await {
                Ok(guests) => read_with(guests),
                Err(err) => {
                    let mut response = error(
                        503,
                        "temporarily_unavailable",
                        "the guest id key could not be read; retry later: the event was not applied",
                    );
                    response
                        .headers_mut()
                        .insert("retry-after", RETRY_AFTER_SECONDS.into());
                    return Reply::refused("unavailable", response, err);
                }
            }
        }
        read => read,
    };
    let (delivery_id, inbound) = match read {
        Ok(read) => read,
        Err(reply) => return reply,
    };
    span.record("event_id", delivery_id.as_str());

    // Only Shopify names just the order in later events, so only its orders wait for them.
    let collects_parked = platform == Platform::Shopify;
    let mut results = Vec::new();
    for item in inbound {
        match execute(app, &shop, route, &delivery_id, item, collects_parked).await {
            Ok(done) => results.push(done),
            Err(reply) => return reply,
        }
    }
    combine(results)
}

/// A delivery read and verified: its de-duplication id and what it asks for. The error is the
/// refusal itself (a complete answer), returned once per request, so its size does not matter.
#[allow(clippy::result_large_err)]
type Delivery = Result<(EventId, Vec<Inbound>), Reply>;

pub(super) fn invalid_signature(message: impl Into<String>) -> Reply {
    let message = message.into();
    Reply::refused(
        "invalid_signature",
        error(401, "invalid_signature", message.clone()),
        message,
    )
}

pub(super) fn invalid_payload(PayloadError { field, message }: PayloadError) -> Reply {
    let response = json(
        400,
        json!({ "error": "invalid_payload", "field": field, "message": format!("{field}: {message}") }),
    );
    Reply::refused("invalid_payload", response, field)
}

#[allow(clippy::result_large_err)]
fn canonical_delivery(
    shop: &Shop,
    route: EventType,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Delivery {
    let event_id = verify_standard_webhook(headers, body, &shop.secrets).map_err(|err| {
        if err == SignatureError::NoSecret {
            tracing::error!("shop has no usable webhook secret; every delivery is refused");
        }
        invalid_signature(err.to_string())
    })?;
    tracing::Span::current().record("event_id", event_id.as_str());
    let event = parse_canonical(&shop.settings.id, route, event_id.clone(), body)
        .map_err(invalid_payload)?;
    Ok((
        event_id,
        vec![Inbound::Apply {
            event,
            customer_from_order: false,
        }],
    ))
}

/// A Shopify delivery whose signature and shop domain check out: its de-duplication id, its
/// topic and when Shopify sent it. A stale delivery is answered 200 (`Err`, a complete
/// answer), so that Shopify stops retrying what may change nothing.
#[allow(clippy::result_large_err)]
pub(super) fn shopify_verified<'h>(
    shop: &Shop,
    headers: &'h http::HeaderMap,
    body: &[u8],
    now: Timestamp,
) -> Result<(EventId, &'h str, Option<Timestamp>), Reply> {
    let Some(access) = &shop.shopify else {
        return Err(invalid_signature("this shop has no Shopify connection"));
    };
    if !platform::body_signature_matches(
        body,
        platform::shopify_header(headers, "hmac-sha256"),
        &access.secrets,
    ) {
        return Err(invalid_signature(
            "X-Shopify-Hmac-Sha256 does not match an active app secret",
        ));
    }
    if platform::shopify_header(headers, "shop-domain") != Some(access.shop_domain.as_str()) {
        return Err(invalid_signature(
            "X-Shopify-Shop-Domain is not this shop's domain",
        ));
    }
    let topic = platform::shopify_header(headers, "topic").unwrap_or_default();
    let id = platform::shopify_header(headers, "event-id")
        .or_else(|| platform::shopify_header(headers, "webhook-id"))
        .ok_or_else(|| {
            invalid_payload(PayloadError {
                field: "X-Shopify-Webhook-Id".into(),
                message: "header is required".into(),
            })
        })?;
    let id = crate::webhook::body_event_id("X-Shopify-Webhook-Id", format!("shopify:{id}"))
        .map_err(invalid_payload)?;
    tracing::Span::current().record("event_id", id.as_str());
    let triggered_at: Option<Timestamp> =
        platform::shopify_header(headers, "triggered-at").and_then(|t| t.parse().ok());
    if shopify::is_stale(triggered_at, now) {
        return Err(Reply::ok(
            "ignored",
            json(200, json!({ "status": "ignored", "reason": "stale" })),
        ));
    }
    Ok((id, topic, triggered_at))
}

#[allow(clippy::result_large_err)]
fn shopify_delivery(
    shop: &Shop,
    guests: Option<&crate::webhook::GuestIds>,
    route: EventType,
    headers: &http::HeaderMap,
    body: &[u8],
    now: Timestamp,
) -> Delivery {
    let (id, topic, triggered_at) = shopify_verified(shop, headers, body, now)?;
    let Some(access) = &shop.shopify else {
        return Err(invalid_signature("this shop has no Shopify connection"));
    };
    let inbound = shopify::map(
        &shop.settings.id,
        &access.shop_domain,
        guests,
        route,
        topic,
        triggered_at,
        body,
    )
    .map_err(invalid_payload)?;
    Ok((id, vec![inbound]))
}

/// A WooCommerce delivery whose signature checks out: its de-duplication id and topic.
#[allow(clippy::result_large_err)]
pub(super) fn woocommerce_verified<'h>(
    shop: &Shop,
    headers: &'h http::HeaderMap,
    body: &[u8],
) -> Result<(EventId, &'h str), Reply> {
    let Some(access) = &shop.woocommerce else {
        return Err(invalid_signature("this shop has no WooCommerce connection"));
    };
    let signature = headers
        .get("x-wc-webhook-signature")
        .and_then(|v| v.to_str().ok());
    if !platform::body_signature_matches(body, signature, &access.secrets) {
        return Err(invalid_signature(
            "X-WC-Webhook-Signature does not match a webhook secret",
        ));
    }
    let topic = headers
        .get("x-wc-webhook-topic")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let delivery = headers
        .get("x-wc-webhook-delivery-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unknown");
    let id = crate::webhook::body_event_id(
        "X-WC-Webhook-Delivery-ID",
        format!("wc-delivery:{delivery}"),
    )
    .map_err(invalid_payload)?;
    tracing::Span::current().record("event_id", id.as_str());
    Ok((id, topic))
}

#[allow(clippy::result_large_err)]
fn woocommerce_delivery(
    shop: &Shop,
    guests: Option<&crate::webhook::GuestIds>,
    route: EventType,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Delivery {
    let (id, topic) = woocommerce_verified(shop, headers, body)?;
    let Some(access) = &shop.woocommerce else {
        return Err(invalid_signature("this shop has no WooCommerce connection"));
    };
    let inbound = woocommerce::map(
        &shop.settings.id,
        guests,
        &access.connection,
        route,
        topic,
        body,
    )
    .map_err(invalid_payload)?;
    Ok((id, inbound))
}

/// What one inbound item came to.
struct Done {
    outcome: &'static str,
    body: serde_json::Value,
}

impl Done {
    fn new(outcome: &'static str, mut body: serde_json::Value) -> Self {
        body["status"] = json!(outcome);
        Done { outcome, body }
    }
}

/// One answer for all items of a delivery: the item's own when there is one.
fn combine(mut results: Vec<Done>) -> Reply {
    if results.len() == 1 {
        let done = results.remove(0);
        return Reply::ok(done.outcome, json(200, done.body));
    }
    let outcome = ["processed", "erased", "recorded", "parked", "duplicate"]
        .into_iter()
        .find(|o| results.iter().any(|d| d.outcome == *o))
        .unwrap_or("ignored");
    let bodies: Vec<_> = results.into_iter().map(|d| d.body).collect();
    Reply::ok(
        outcome,
        json(200, json!({ "status": outcome, "results": bodies })),
    )
}

pub(crate) fn processed_record(
    event_id: &EventId,
    route: EventType,
    customer: Option<&CustomerId>,
    order: Option<&OrderId>,
    now: Timestamp,
) -> ProcessedEvent {
    ProcessedEvent {
        event_id: event_id.clone(),
        route: route.route().to_owned(),
        customer_id: customer.cloned(),
        order_id: order.cloned(),
        processed_at: now,
        expires_at: (now + ProcessedEvent::KEEP_FOR).as_second(),
    }
}

async fn execute(
    app: &WebhookApp,
    shop: &Shop,
    route: EventType,
    delivery_id: &EventId,
    inbound: Inbound,
    collects_parked: bool,
) -> Result<Done, Reply> {
    let shop_id = &shop.settings.id;
    match inbound {
        Inbound::Apply {
            mut event,
            customer_from_order,
        } => {
            if customer_from_order {
                let Some(order_id) = event.order_id().cloned() else {
                    return Ok(Done::new("ignored", json!({ "reason": "names no order" })));
                };
                match app
                    .store
                    .order_owner(shop_id, &order_id)
                    .await
                    .map_err(Reply::store_error)?
                {
                    Some(customer) => event.customer.id = customer,
                    None => return park(app, shop, &event).await,
                }
            }
            super::guests::keep_existing_guest_id(&app.store, shop_id, &mut event)
                .await
                .map_err(Reply::store_error)?;
            let mut done = apply(app, shop, &event).await?;
            if collects_parked && let EventKind::OrderPlaced(placed) = &event.kind {
                // Also when this order is a duplicate: a retry finishes what a failure left.
                let (_, waiting) = app
                    .store
                    .order_arrivals(shop_id, &placed.id, app.clock.now())
                    .await
                    .map_err(Reply::store_error)?;
                let applied = apply_parked(app, shop, &event.customer.id, waiting).await?;
                if applied > 0 {
                    done.body["parked_applied"] = json!(applied);
                }
            }
            Ok(done)
        }
        Inbound::Erase { customer, orders } => {
            erase_parked_events(app, shop, &orders).await?;
            erase_customer(app, shop, route, delivery_id, &customer).await
        }
        Inbound::DataRequest {
            customer,
            request_id,
        } => {
            tracing::warn!(
                customer_id = customer.as_ref().map(|c| c.as_str()),
                data_request_id = request_id.as_deref(),
                "customer data request: the shop must answer it"
            );
            let processed =
                processed_record(delivery_id, route, customer.as_ref(), None, app.clock.now());
            record(
                app,
                shop_id,
                &processed,
                "data request recorded; the shop answers it",
            )
            .await
        }
        Inbound::ShopRedact => {
            tracing::warn!("shop redact requested: remove this shop's data (see README, Privacy)");
            let processed = processed_record(delivery_id, route, None, None, app.clock.now());
            record(
                app,
                shop_id,
                &processed,
                "shop redact recorded for the operator",
            )
            .await
        }
        Inbound::Ignored { reason } => {
            tracing::info!(reason = %reason, "nothing to apply");
            Ok(Done::new("ignored", json!({ "reason": reason })))
        }
    }
}

async fn record(
    app: &WebhookApp,
    shop: &ShopId,
    processed: &ProcessedEvent,
    note: &str,
) -> Result<Done, Reply> {
    match app
        .store
        .record_event(shop, processed)
        .await
        .map_err(Reply::store_error)?
    {
        Written::Duplicate => Ok(Done::new(
            "duplicate",
            json!({ "event_id": processed.event_id.as_str() }),
        )),
        _ => Ok(Done::new(
            "recorded",
            json!({ "event_id": processed.event_id.as_str(), "note": note }),
        )),
    }
}

/// Keeps an event about an order trouw does not know yet (Shopify may send a delivery or a
/// refund before its `orders/create`) until the order arrives, instead of losing it.
async fn park(app: &WebhookApp, shop: &Shop, event: &ShopEvent) -> Result<Done, Reply> {
    let shop_id = &shop.settings.id;
    let Some(parked) = ParkedEvent::of(event) else {
        return Ok(Done::new(
            "ignored",
            json!({ "reason": "order unknown to trouw" }),
        ));
    };
    let now = app.clock.now();
    let written = app
        .store
        .park_event(shop_id, &parked, now)
        .await
        .map_err(Reply::store_error)?;
    // The order may have been stored meanwhile, after its own look for waiting events: look
    // again, so that one of the two always applies this event (applying is idempotent).
    let (owner, waiting) = app
        .store
        .order_arrivals(shop_id, &parked.order_id, now)
        .await
        .map_err(Reply::store_error)?;
    let body = json!({
        "event_id": parked.event_id.as_str(),
        "order_id": parked.order_id.as_str(),
    });
    if let Some(customer) = owner {
        let applied = apply_parked(app, shop, &customer, waiting).await?;
        let mut body = body;
        body["customer_id"] = json!(customer.as_str());
        body["parked_applied"] = json!(applied);
        return Ok(Done::new("processed", body));
    }
    if written == Written::Duplicate {
        return Ok(Done::new("duplicate", body));
    }
    tracing::info!(
        order_id = parked.order_id.as_str(),
        "event parked until its order arrives"
    );
    let mut body = body;
    body["reason"] = json!(
        "the order is not known yet: the event is kept for 30 days and applied when the order arrives"
    );
    Ok(Done::new("parked", body))
}

/// Applies the events that waited for an order, oldest first, each once (the processed-event
/// record de-duplicates), and removes them. Returns how many changed something now.
async fn apply_parked(
    app: &WebhookApp,
    shop: &Shop,
    customer: &CustomerId,
    waiting: Vec<ParkedEvent>,
) -> Result<usize, Reply> {
    let mut applied = 0;
    for parked in ParkedEvent::in_order(waiting) {
        let event = parked.for_customer(customer.clone());
        let done = apply(app, shop, &event).await?;
        if done.outcome == "processed" {
            applied += 1;
        }
        app.store
            .unpark_event(&shop.settings.id, &parked)
            .await
            .map_err(Reply::store_error)?;
    }
    Ok(applied)
}

/// Events parked under the orders the platform names (for orders trouw has not seen yet)
/// lose the words they carry; the returns themselves stay, to count when their order comes.
/// Idempotent, and done first, so a retry after a failure does it again.
async fn erase_parked_events(
    app: &WebhookApp,
    shop: &Shop,
    orders: &[OrderId],
) -> Result<(), Reply> {
    let shop_id = &shop.settings.id;
    for order in orders {
        let parked = app
            .store
            .parked_events(shop_id, order)
            .await
            .map_err(Reply::store_error)?;
        for erased in parked.iter().filter_map(erase_parked) {
            app.store
                .rewrite_parked(shop_id, &erased)
                .await
                .map_err(Reply::store_error)?;
        }
    }
    Ok(())
}

/// Erases a customer's personal data: read every item of theirs, erase (pure), write in
/// version-checked steps. A writer that changes the customer meanwhile makes the store stop at
/// the next step; the erasure then reads again and goes on from what is stored, so each round
/// makes progress and a retry after a crash finishes it.
async fn erase_customer(
    app: &WebhookApp,
    shop: &Shop,
    route: EventType,
    delivery_id: &EventId,
    customer: &CustomerId,
) -> Result<Done, Reply> {
    let shop_id = &shop.settings.id;
    for _ in 0..MAX_WRITE_ATTEMPTS {
        let items = app
            .store
            .customer_items_consistent(shop_id, customer)
            .await
            .map_err(Reply::store_error)?;
        let now = app.clock.now();
        let processed = processed_record(delivery_id, route, Some(customer), None, now);
        let Some(profile) = items.profile else {
            return record(app, shop_id, &processed, "no data held for this customer").await;
        };
        let read_version = profile.version;
        let mut bought: Vec<crate::domain::Sku> = items
            .orders
            .iter()
            .filter_map(|o| o.placed.as_ref())
            .flat_map(|p| p.lines.iter().map(|l| l.sku.clone()))
            .collect();
        bought.sort();
        bought.dedup();
        // The customer's own words in their answers to the shop's questions, kept under each
        // question: removed before the erasure is written (an answer posted meanwhile moves
        // the profile's version, so the next round removes its words too).
        let mut answered = profile.questions_answered.clone();
        answered.extend(
            items
                .activities
                .iter()
                .filter_map(|a| match &a.activity.what {
                    ActivityKind::QuestionAnswered { question_id, .. } => Some(question_id.clone()),
                    _ => None,
                }),
        );
        answered.sort_unstable();
        answered.dedup();
        let answers_erased = app
            .store
            .erase_answer_words(shop_id, customer, &answered)
            .await
            .map_err(Reply::store_error)?;
        let erasure = erase(profile, items.orders, now);
        // Activities hold ids, amounts, scores and statuses only: nothing to erase there.
        let messages: Vec<_> = items.messages.iter().filter_map(erase_message).collect();
        let loyalty = LoyaltyErasure::of(&items.ledger, &items.redemptions);
        match app
            .store
            .write_erasure(
                shop_id,
                read_version,
                &erasure,
                &messages,
                &loyalty,
                &bought,
                &processed,
                &shop.settings,
                now,
            )
            .await
            .map_err(Reply::store_error)?
        {
            Written::Committed => {
                tracing::info!(
                    customer_id = customer.as_str(),
                    orders = erasure.orders.len(),
                    messages = messages.len(),
                    loyalty_items = loyalty.len(),
                    answers = answers_erased,
                    "customer erased"
                );
                return Ok(Done::new(
                    "erased",
                    json!({ "event_id": delivery_id.as_str(), "customer_id": customer.as_str() }),
                ));
            }
            Written::Duplicate => {
                return Ok(Done::new(
                    "duplicate",
                    json!({ "event_id": delivery_id.as_str() }),
                ));
            }
            Written::Conflict => continue,
        }
    }
    Err(Reply::store_error(StoreError::Unavailable(
        "the customer kept changing under concurrent writes".into(),
    )))
}

/// Read, decide, write; again if another writer changed the customer in between.
async fn apply(app: &WebhookApp, shop: &Shop, event: &ShopEvent) -> Result<Done, Reply> {
    let duplicate = || Done::new("duplicate", json!({ "event_id": event.id.as_str() }));
    match super::apply_event(&app.store, app.clock.as_ref(), &shop.settings, event)
        .await
        .map_err(Reply::store_error)?
    {
        super::Applied::Duplicate => Ok(duplicate()),
        super::Applied::Refused(overflow) => Err(invalid_payload(PayloadError {
            message: "makes an amount too large to count".into(),
            field: overflow.field,
        })),
        super::Applied::Committed(decision) => {
            let o = &decision.outcome;
            let mut body = json!({
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
            Ok(Done::new("processed", body))
        }
    }
}

fn method_not_allowed(allow: &'static str) -> Response<Body> {
    let mut response = error(405, "method_not_allowed", format!("use {allow}"));
    response
        .headers_mut()
        .insert("allow", http::HeaderValue::from_static(allow));
    response
}

/// `application/json`, with parameters, or any `+json` type; a charset, if named, must be
/// UTF-8 (JSON's only encoding on the wire, RFC 8259): a body declared as another charset
/// would be read differently from what its sender meant.
fn is_json(value: Option<&http::HeaderValue>) -> bool {
    let Some(value) = value.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mut parts = value.split(';');
    let mime = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let utf8 = parts.all(|parameter| match parameter.split_once('=') {
        Some((name, charset)) if name.trim().eq_ignore_ascii_case("charset") => {
            let charset = charset.trim().trim_matches('"');
            charset.eq_ignore_ascii_case("utf-8") || charset.eq_ignore_ascii_case("utf8")
        }
        _ => true,
    });
    utf8 && (mime == "application/json"
        || (mime.starts_with("application/") && mime.ends_with("+json")))
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
        assert!(ok("application/json; charset=\"UTF-8\""));
        assert!(!ok("application/json; charset=iso-8859-1"));
        assert!(!ok("application/json;charset=utf-16"));
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
