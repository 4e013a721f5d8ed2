//! `message-log`: the marketers' pages, behind a login. Server-rendered HTML that works without
//! JavaScript, in Dutch or English:
//! - `GET /admin` the overview for a period (figures per kind, skips by reason, NPS,
//!   reactivation beside the holdout group);
//! - `GET /admin/messages` the message list with filters, paged through the log index, and
//!   `format=csv` / `format=json` downloads of the same rows;
//! - `GET /admin/messages/{customer}/{key}` one message: subject, template, status history and
//!   the decision that created it;
//! - `GET /admin/customers/{customer}` the customer's timeline;
//! - `GET /admin/answers` the answers to the shop's questions (counts, the customers' words);
//! - `GET`/`POST /admin/login`, `POST /admin/logout`.
//!
//! Without a valid session (or HTTP Basic credentials) every page answers 401 with the login
//! form. Email addresses are masked unless the marketer asks to see them, and never logged.
//!
//! The login is kept apart from the pages: `auth` (login form, Cognito or the local password,
//! logout), `session` (the signed, revocable session cookie), `csrf` (the form token), `render`
//! (templates, language, responses), `paging` (the log index and its cursor) and one file per
//! page.

mod answers;
mod audit;
mod auth;
mod csrf;
mod customer;
mod deliverability;
mod guard;
mod message;
mod messages;
mod mfa;
mod overview;
mod paging;
mod render;
mod session;
mod throttle;

use crate::clock::Clock;
use crate::domain::ShopId;
use crate::shops::ShopDirectory;
use crate::store::Store;
use lambda_http::{Body, Request, Response};
use render::{Lang, json_error, pages};
use std::sync::Arc;

/// Who may log in.
pub enum AdminAuth {
    /// The deployment's Cognito user pool: each marketer has their own account there (password
    /// policy, disabling, resets in the console); trouw checks a login with `InitiateAuth`
    /// (`USER_PASSWORD_AUTH`) and keeps its own signed session afterwards.
    Cognito {
        client: aws_sdk_cognitoidentityprovider::Client,
        /// The app client (no secret) that allows `USER_PASSWORD_AUTH`.
        client_id: String,
    },
    /// One user name and password: the local stack (`ADMIN_USER` / `ADMIN_PASSWORD`).
    Password { user: String, password: String },
}

/// What a login attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum LoginCheck {
    Accepted,
    /// The password was right and Cognito asks for the TOTP code; its `Session`.
    Challenge(String),
    Refused,
    /// The account must first be finished in Cognito (a new password, MFA set-up).
    Unfinished,
    /// Cognito did not answer (throttled, down): try again.
    Unavailable(String),
}

pub struct AdminApp {
    pub store: Store,
    pub shops: ShopDirectory,
    pub auth: AdminAuth,
    /// The shops these pages show; the first is the default.
    pub allowed_shops: Vec<ShopId>,
    pub clock: Arc<dyn Clock>,
    /// The session secret: signs session cookies, form tokens and login challenges, and keys
    /// the login throttles. No other function holds it.
    pub session_key: Vec<u8>,
    /// `Secure` on the session cookie (HTTPS); off only for the local stack on plain HTTP.
    pub secure_cookie: bool,
    /// HTTP Basic credentials on any request (`ADMIN_BASIC_AUTH=on`): for scripts on the local
    /// stack. Off in the cloud, where only the form and its session cookie log in.
    pub basic_auth: bool,
    pages: minijinja::Environment<'static>,
}

/// Rows per page of the list.
const PAGE_ROWS: usize = 50;
/// The most one part of a download holds, in bytes of JSON rows (with room for each row's
/// address): Lambda answers at most 6 MB, and CSV rows are never longer than JSON ones.
const EXPORT_PART_BYTES: usize = 4_500_000;

impl AdminApp {
    /// Builds the app from the environment, as the Lambda main does: `ADMIN_SHOPS` (comma
    /// separated) and `COGNITO_CLIENT_ID` (the user pool's app client); without a client id,
    /// `ADMIN_USER` and `ADMIN_PASSWORD` (at least 12 characters); the session secret from
    /// `SESSION_SECRET_PARAMETER` (or `ADMIN_SESSION_SECRET` locally). It reads no other secret:
    /// not the link secret, and no shop's webhook secrets.
    pub async fn from_env() -> Result<Self, lambda_http::Error> {
        let config = crate::config::Config::from_env()?;
        let sdk = crate::config::aws_sdk_config().await;
        let session_key = crate::config::session_key(&aws_sdk_ssm::Client::new(&sdk)).await?;
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
        let basic_auth = match std::env::var("ADMIN_BASIC_AUTH").as_deref() {
            Ok("on") => true,
            Ok("off") | Err(_) => false,
            Ok(other) => {
                return Err(format!("ADMIN_BASIC_AUTH must be on or off, not {other}").into());
            }
        };
        let store = Store::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            config.table_name.clone(),
        );
        let mut app = AdminApp::new(
            store.clone(),
            ShopDirectory::settings_only(store, config.settings_cache),
            auth,
            allowed_shops,
            Arc::new(crate::clock::SystemClock),
            session_key,
            true,
        );
        app.basic_auth = basic_auth;
        Ok(app)
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
            basic_auth: true,
            pages: pages(),
        }
    }
}

pub async fn handle(app: &AdminApp, req: Request) -> Result<Response<Body>, lambda_http::Error> {
    let mut lang = Lang::of(&req);
    let (csrf, new_csrf_cookie) = app.form_token(&req);
    lang.csrf = csrf;
    let mut response = route(app, &req, &mut lang).await;
    if let Some(cookie) = new_csrf_cookie
        && let Ok(cookie) = http::HeaderValue::from_str(&cookie)
    {
        response
            .headers_mut()
            .append(http::header::SET_COOKIE, cookie);
    }
    Ok(response)
}

async fn route(app: &AdminApp, req: &Request, lang: &mut Lang) -> Response<Body> {
    let path = req.uri().path().trim_end_matches('/').to_owned();
    let method = req.method().clone();
    let browser = req
        .headers()
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if path == "/admin/login" {
        return auth::login(app, req, lang, browser).await;
    }
    if path == "/admin/logout" && method == http::Method::POST {
        return auth::logout(app, req).await;
    }
    let next = req
        .uri()
        .path_and_query()
        .map(|p| auth::same_site_next(p.as_str()))
        .unwrap_or("/admin");
    let user = match app.visitor(req).await {
        auth::Visitor::User(user) => user,
        auth::Visitor::Nobody => return app.login_page(401, lang, false, next, browser),
        auth::Visitor::Wait(retry_after) => return app.wait_page(lang, next, retry_after),
        auth::Visitor::Unavailable => {
            return guard::busy("the login service is busy; try again");
        }
    };
    if method != http::Method::GET {
        let mut answer = json_error(405, "method_not_allowed", None, "GET only");
        // RFC 9110: a 405 names the methods the resource does accept.
        answer
            .headers_mut()
            .insert(http::header::ALLOW, http::HeaderValue::from_static("GET"));
        return answer;
    }
    // Every page warns of a shop whose mail is close to a provider's mark; downloads do not.
    let download = req.uri().query().is_some_and(|q| q.contains("format="));
    if !download {
        match deliverability::warnings(app).await {
            Ok(warnings) => lang.warnings = warnings,
            // The page itself still answers; the warning comes with the next one.
            Err(err) => tracing::warn!(detail = %err, "deliverability could not be read"),
        }
    }
    let lang = &*lang;
    let result = if path == "/admin" {
        overview::overview_page(app, req, lang, &user).await
    } else if path == "/admin/messages" {
        messages::messages_page(app, req, lang, &user).await
    } else if let Some(rest) = path.strip_prefix("/admin/messages/") {
        message::message_page(app, req, lang, &user, rest).await
    } else if let Some(rest) = path.strip_prefix("/admin/customers/") {
        customer::customer_page(app, req, lang, &user, rest).await
    } else if path == "/admin/audit" {
        audit::audit_page(app, req, lang, &user).await
    } else if path == "/admin/answers" {
        answers::answers_page(app, req, lang, &user).await
    } else {
        Ok(json_error(404, "not_found", None, "no such page"))
    };
    result.unwrap_or_else(|err| {
        tracing::error!(detail = %err, "admin page could not be read");
        guard::busy("the table is busy; try again")
    })
}
