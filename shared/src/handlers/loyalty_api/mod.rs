//! `loyalty-api`: the shop's storefront reads and spends its customers' points.
//!
//! Routes under `/loyalty/{shop}/`, each authenticated by the shop's API key (its server, any
//! customer) or a customer token (that customer only, see [`auth`]):
//! - `GET customers/{customer}`: balance, tier and rewards;
//! - `GET customers/{customer}/transactions`: the points history, newest first, paged;
//! - `POST customers/{customer}/redemptions` (`Idempotency-Key` required): points for a code;
//! - `DELETE customers/{customer}/redemptions/{id}`: an unused code voided, its points back;
//! - `POST customers/{customer}/adjustments` (API key only, `Idempotency-Key` required):
//!   goodwill and corrections;
//! - `PUT customers/{customer}/birthday`: the customer's birthday (`MM-DD`) for birthday points;
//! - `POST rewards/{reward}/codes` (API key only): codes into a reward's pool.
//!
//! Every change of points is one transaction: the profile (version-checked) and its ledger
//! entry, and for a redemption its item and its code taken from the pool.

mod access;
pub mod auth;
mod birthday;
pub mod cors;
pub mod coupon;
mod points;
mod reads;

pub use access::{LoyaltyShop, LoyaltyShops, is_loyalty_parameter};

use crate::clock::Clock;
use crate::domain::{CustomerId, ShopId};
use crate::handlers::responses::{error, json};
use crate::store::{Store, StoreError};
use auth::{Caller, Refused};
use lambda_http::{Body, Request, Response};
use std::sync::Arc;
use tracing::Instrument;

/// Request bodies are small: a reward and points, a reason, or at most 100 codes.
const MAX_BODY_BYTES: usize = 16 * 1024;

pub struct LoyaltyApp {
    pub store: Store,
    pub shops: LoyaltyShops,
    /// Calls the shops' coupon endpoints; its connections are kept for the next redemption.
    pub coupons: coupon::CouponClient,
    pub clock: Arc<dyn Clock>,
}

impl LoyaltyApp {
    /// Builds the app from the environment with the system clock, as the Lambda main does.
    pub async fn from_env() -> Result<Self, lambda_http::Error> {
        let config = crate::config::Config::from_env()?;
        let sdk = crate::config::aws_sdk_config().await;
        let store = Store::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            config.table_name.clone(),
        );
        Ok(LoyaltyApp {
            shops: LoyaltyShops::new(
                store.clone(),
                aws_sdk_ssm::Client::new(&sdk),
                config.secrets_path_prefix.clone(),
                config.settings_cache,
            ),
            store,
            coupons: coupon::CouponClient::default(),
            clock: Arc::new(crate::clock::SystemClock),
        })
    }
}

/// What a route names.
enum Route {
    Balance(CustomerId),
    Transactions(CustomerId),
    Redeem(CustomerId),
    Cancel(CustomerId, String),
    Adjust(CustomerId),
    Birthday(CustomerId),
    AddCodes(String),
}

pub async fn handle(app: &LoyaltyApp, req: Request) -> Result<Response<Body>, lambda_http::Error> {
    let path = req.uri().path().to_owned();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let Some(shop) = segments
        .get(1)
        .filter(|_| segments.first() == Some(&"loyalty"))
        .and_then(|s| ShopId::parse(*s).ok())
    else {
        return Ok(error(404, "not_found", "no such route"));
    };
    let customer = |s: &str| CustomerId::parse(s).ok();
    let method = req.method().clone();
    use http::Method;
    let Some(allow) = route_method(&segments[2..]) else {
        return Ok(error(404, "not_found", "no such route"));
    };
    let origin = req
        .headers()
        .get(http::header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if method == Method::OPTIONS {
        return Ok(match app.shops.get(&shop).await {
            Ok(Some(s)) => cors::preflight(origin.as_deref(), &s.allowed_origins, allow),
            Ok(None) => error(404, "shop_not_found", "no such shop"),
            Err(err) => unavailable(&err),
        });
    }
    let route = match (&method, &segments[2..]) {
        (&Method::GET, ["customers", c]) => customer(c).map(Route::Balance),
        (&Method::GET, ["customers", c, "transactions"]) => customer(c).map(Route::Transactions),
        (&Method::POST, ["customers", c, "redemptions"]) => customer(c).map(Route::Redeem),
        (&Method::DELETE, ["customers", c, "redemptions", id]) => {
            customer(c).map(|c| Route::Cancel(c, (*id).to_owned()))
        }
        (&Method::POST, ["customers", c, "adjustments"]) => customer(c).map(Route::Adjust),
        (&Method::PUT, ["customers", c, "birthday"]) => customer(c).map(Route::Birthday),
        (&Method::POST, ["rewards", reward, "codes"]) => {
            Some(Route::AddCodes((*reward).to_owned()))
        }
        _ => return Ok(not_allowed(allow)),
    };
    let Some(route) = route else {
        return Ok(invalid("customer", "customer: not a customer id"));
    };
    let span = tracing::info_span!("loyalty", shop = %shop);
    async move {
        let loyalty_shop = match app.shops.get(&shop).await {
            Ok(Some(s)) => s,
            Ok(None) => return Ok(error(404, "shop_not_found", "no such shop")),
            Err(err) => return Ok(unavailable(&err)),
        };
        let listed = cors::listed(origin.as_deref(), &loyalty_shop.allowed_origins);
        let mut response = serve(app, &loyalty_shop, &shop, route, &req).await;
        cors::expose(&mut response, listed);
        Ok(response)
    }
    .instrument(span)
    .await
}

/// The one method of each route (`None`: no such route).
fn route_method(rest: &[&str]) -> Option<&'static str> {
    Some(match rest {
        ["customers", _] | ["customers", _, "transactions"] => "GET",
        ["customers", _, "redemptions" | "adjustments"] | ["rewards", _, "codes"] => "POST",
        ["customers", _, "redemptions", _] => "DELETE",
        ["customers", _, "birthday"] => "PUT",
        _ => return None,
    })
}

/// Authenticates, authorises and answers a request for a known shop.
async fn serve(
    app: &LoyaltyApp,
    loyalty_shop: &LoyaltyShop,
    shop: &ShopId,
    route: Route,
    req: &Request,
) -> Response<Body> {
    let authorization = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let caller =
        match auth::authenticate(authorization, &loyalty_shop.secrets, shop, app.clock.now()) {
            Ok(caller) => caller,
            Err(Refused::Unauthenticated(why)) => {
                tracing::info!(outcome = "unauthenticated", "loyalty request refused");
                let mut response = error(401, "unauthorized", why);
                response
                    .headers_mut()
                    .insert("www-authenticate", http::HeaderValue::from_static("Bearer"));
                return response;
            }
        };
    let shop_only = matches!(route, Route::Adjust(_) | Route::AddCodes(_));
    let own = match (&route, &caller) {
        (_, Caller::Shop) => true,
        (_, Caller::Customer(_)) if shop_only => false,
        (
            Route::Balance(c)
            | Route::Transactions(c)
            | Route::Redeem(c)
            | Route::Cancel(c, _)
            | Route::Adjust(c)
            | Route::Birthday(c),
            Caller::Customer(me),
        ) => c == me,
        (Route::AddCodes(_), Caller::Customer(_)) => false,
    };
    if !own {
        tracing::info!(outcome = "forbidden", "loyalty request refused");
        return error(
            403,
            "forbidden",
            if shop_only {
                "this route takes the shop's API key"
            } else {
                "a customer token reaches that customer's own points only"
            },
        );
    }
    let body = req.body().as_ref();
    if body.len() > MAX_BODY_BYTES {
        return error(413, "payload_too_large", "the body is larger than 16 KB");
    }
    let now = app.clock.now();
    let settings = &loyalty_shop.settings;
    let key = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok());
    let response = match route {
        Route::Balance(c) => reads::balance(app, settings, &c).await,
        Route::Transactions(c) => reads::transactions(app, settings, &c, req.uri().query()).await,
        Route::Redeem(c) => points::redeem(app, loyalty_shop, &c, key, body, now).await,
        Route::Cancel(c, id) => points::cancel(app, shop, &c, &id, now).await,
        Route::Adjust(c) => points::adjust(app, shop, &c, key, body, now).await,
        Route::AddCodes(reward) => points::add_codes(app, settings, &reward, body).await,
        Route::Birthday(c) => birthday::put(app, settings, &c, body, now).await,
    };
    response.unwrap_or_else(|err| unavailable(&err))
}

/// 405 with the route's one method in `Allow`.
fn not_allowed(allow: &'static str) -> Response<Body> {
    let mut response = error(
        405,
        "method_not_allowed",
        "method not allowed on this route",
    );
    response
        .headers_mut()
        .insert("allow", http::HeaderValue::from_static(allow));
    response
}

/// 400 naming the field.
pub(crate) fn invalid(field: &str, message: impl Into<String>) -> Response<Body> {
    json(
        400,
        serde_json::json!({ "error": "invalid_request", "field": field, "message": message.into() }),
    )
}

fn unavailable(err: &StoreError) -> Response<Body> {
    tracing::error!(detail = %err, "loyalty request failed");
    let mut response = error(503, "temporarily_unavailable", "try again shortly");
    response
        .headers_mut()
        .insert("retry-after", http::HeaderValue::from_static("1"));
    response
}
