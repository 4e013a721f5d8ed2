//! `message-log`: the marketers' pages, behind a login. Server-rendered HTML that works without
//! JavaScript, in Dutch or English:
//! - `GET /admin` the overview for a period (figures per kind, skips by reason, NPS,
//!   reactivation beside the holdout group);
//! - `GET /admin/messages` the message list with filters, paged through the log index, and
//!   `format=csv` / `format=json` downloads of the same rows;
//! - `GET /admin/messages/{customer}/{key}` one message: subject, template, status history and
//!   the decision that created it;
//! - `GET /admin/customers/{customer}` the customer's timeline;
//! - `GET`/`POST /admin/login`, `POST /admin/logout`.
//!
//! Without a valid session (or HTTP Basic credentials) every page answers 401 with the login
//! form. Email addresses are masked unless the marketer asks to see them, and never logged.
//!
//! The login is kept apart from the pages: `auth` (login form, sessions, Cognito, logout),
//! `render` (templates, language, responses), `paging` (the log index and its cursor) and one
//! file per page.

mod auth;
mod customer;
mod message;
mod messages;
mod overview;
mod paging;
mod render;

pub use auth::AdminAuth;

use crate::clock::Clock;
use crate::domain::ShopId;
use crate::shops::ShopDirectory;
use crate::store::Store;
use lambda_http::{Body, Request, Response};
use render::{Lang, json_error, pages};
use std::sync::Arc;

pub struct AdminApp {
    pub store: Store,
    pub shops: ShopDirectory,
    pub auth: AdminAuth,
    /// The shops these pages show; the first is the default.
    pub allowed_shops: Vec<ShopId>,
    pub clock: Arc<dyn Clock>,
    /// Signs session cookies.
    pub session_key: Vec<u8>,
    /// `Secure` on the session cookie (HTTPS); off only for the local stack on plain HTTP.
    pub secure_cookie: bool,
    pages: minijinja::Environment<'static>,
}

/// Rows per page, roughly: whole index pages are read, so a page may hold a few more.
const PAGE_ROWS: usize = 50;
/// The most rows one download holds.
const MAX_EXPORT_ROWS: usize = 20_000;

impl AdminApp {
    /// Builds the app from the environment, as the Lambda main does: `ADMIN_SHOPS` (comma
    /// separated) and `COGNITO_CLIENT_ID` (the user pool's app client); without a client id,
    /// `ADMIN_USER` and `ADMIN_PASSWORD` (at least 12 characters).
    pub async fn from_env() -> Result<Self, lambda_http::Error> {
        let config = crate::config::Config::from_env()?;
        let sdk = crate::config::aws_sdk_config().await;
        let ssm = aws_sdk_ssm::Client::new(&sdk);
        let links = crate::config::link_key(&ssm).await?;
        let allowed_shops = std::env::var("ADMIN_SHOPS")
            .map_err(|_| "set ADMIN_SHOPS to the shops these pages show")?
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(ShopId::parse)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("ADMIN_SHOPS: {e}"))?;
        let auth = match std::env::var("COGNITO_CLIENT_ID") {
            Ok(client_id) if !client_id.is_empty() => AdminAuth::Cognito {
                client: aws_sdk_cognitoidentityprovider::Client::new(&sdk),
                client_id,
            },
            _ => AdminAuth::Password {
                user: std::env::var("ADMIN_USER")
                    .map_err(|_| "set COGNITO_CLIENT_ID, or ADMIN_USER")?,
                password: std::env::var("ADMIN_PASSWORD")
                    .ok()
                    .filter(|p| p.len() >= 12)
                    .ok_or("ADMIN_PASSWORD must hold at least 12 characters")?,
            },
        };
        let store = Store::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            config.table_name.clone(),
        );
        Ok(AdminApp::new(
            store.clone(),
            ShopDirectory::new(
                store,
                ssm,
                config.settings_cache,
                config.secrets_path_prefix.clone(),
            ),
            auth,
            allowed_shops,
            Arc::new(crate::clock::SystemClock),
            links.derive("admin-session"),
            true,
        ))
    }

    pub fn new(
        store: Store,
        shops: ShopDirectory,
        auth: AdminAuth,
        allowed_shops: Vec<ShopId>,
        clock: Arc<dyn Clock>,
        session_key: Vec<u8>,
        secure_cookie: bool,
    ) -> Self {
        AdminApp {
            store,
            shops,
            auth,
            allowed_shops,
            clock,
            session_key,
            secure_cookie,
            pages: pages(),
        }
    }
}

pub async fn handle(app: &AdminApp, req: Request) -> Result<Response<Body>, lambda_http::Error> {
    let path = req.uri().path().trim_end_matches('/').to_owned();
    let lang = Lang::of(&req);
    let method = req.method().clone();
    let browser = req
        .headers()
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if path == "/admin/login" {
        return Ok(auth::login(app, &req, &lang, browser).await);
    }
    if path == "/admin/logout" && method == http::Method::POST {
        return Ok(auth::logout());
    }
    let Some(user) = app.user(&req).await else {
        let next = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/admin".into());
        return Ok(app.login_page(401, &lang, false, &next, browser));
    };
    if method != http::Method::GET {
        return Ok(json_error(405, "method_not_allowed", None, "GET only"));
    }
    let result = if path == "/admin" {
        overview::overview_page(app, &req, &lang, &user).await
    } else if path == "/admin/messages" {
        messages::messages_page(app, &req, &lang, &user).await
    } else if let Some(rest) = path.strip_prefix("/admin/messages/") {
        message::message_page(app, &req, &lang, &user, rest).await
    } else if let Some(rest) = path.strip_prefix("/admin/customers/") {
        customer::customer_page(app, &req, &lang, &user, rest).await
    } else {
        Ok(json_error(404, "not_found", None, "no such page"))
    };
    Ok(result.unwrap_or_else(|err| {
        tracing::error!(detail = %err, "admin page could not be read");
        let mut response = json_error(
            503,
            "temporarily_unavailable",
            None,
            "the table is busy; try again",
        );
        response
            .headers_mut()
            .insert("retry-after", http::HeaderValue::from_static("5"));
        response
    }))
}
