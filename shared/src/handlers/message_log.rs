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

use crate::admin::filters::{Format, MessageFilter, STATUSES, class_word};
use crate::admin::{MessageRow, csv, labels, overview, status_word};
use crate::clock::Clock;
use crate::domain::{ActivityKind, CustomerId, ShopId, is_held_out};
use crate::mail::render::KINDS;
use crate::shops::ShopDirectory;
use crate::store::{CustomerItems, LogEntry, MessageRecord, Store, StoreError};
use base64::Engine;
use hmac::{Hmac, Mac};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::{BTreeMap, BTreeSet};
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
enum LoginCheck {
    Accepted,
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
    /// Signs session cookies.
    pub session_key: Vec<u8>,
    /// `Secure` on the session cookie (HTTPS); off only for the local stack on plain HTTP.
    pub secure_cookie: bool,
    pages: minijinja::Environment<'static>,
}

/// How long a login lasts.
const SESSION_SECONDS: i64 = 8 * 3600;
const COOKIE: &str = "trouw_session";
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

    fn mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.session_key).expect("HMAC takes any key length")
    }

    /// Checks a user name and password.
    async fn check_login(&self, user: &str, password: &str) -> LoginCheck {
        if user.is_empty() || password.is_empty() {
            return LoginCheck::Refused;
        }
        match &self.auth {
            AdminAuth::Password { .. } => {
                if self.password_ok(user, password) {
                    LoginCheck::Accepted
                } else {
                    LoginCheck::Refused
                }
            }
            AdminAuth::Cognito { client, client_id } => {
                use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata;
                use aws_sdk_cognitoidentityprovider::types::AuthFlowType;
                let answer = client
                    .initiate_auth()
                    .client_id(client_id)
                    .auth_flow(AuthFlowType::UserPasswordAuth)
                    .auth_parameters("USERNAME", user)
                    .auth_parameters("PASSWORD", password)
                    .send()
                    .await;
                match answer {
                    Ok(out) if out.authentication_result().is_some() => LoginCheck::Accepted,
                    Ok(_) => LoginCheck::Unfinished,
                    Err(err) => match err.code() {
                        Some(
                            "NotAuthorizedException"
                            | "UserNotFoundException"
                            | "UserNotConfirmedException"
                            | "PasswordResetRequiredException"
                            | "InvalidParameterException",
                        ) => LoginCheck::Refused,
                        code => LoginCheck::Unavailable(code.unwrap_or("no answer").to_owned()),
                    },
                }
            }
        }
    }

    /// Checks the local user name and password without leaking timing.
    fn password_ok(&self, user: &str, password: &str) -> bool {
        let AdminAuth::Password {
            user: expected_user,
            password: expected,
        } = &self.auth
        else {
            return false;
        };
        let digest = |text: &str| {
            let mut mac = self.mac();
            mac.update(text.as_bytes());
            mac.finalize().into_bytes()
        };
        let given = digest(&format!("{user}\n{password}"));
        let mut mac = self.mac();
        mac.update(format!("{expected_user}\n{expected}").as_bytes());
        mac.verify_slice(&given).is_ok()
    }

    fn session_cookie(&self, user: &str) -> String {
        let expires = self.clock.now().as_second() + SESSION_SECONDS;
        let user = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(user);
        let payload = format!("{user}.{expires}");
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        let signature = hex(&mac.finalize().into_bytes());
        format!(
            "{COOKIE}={payload}.{signature}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={SESSION_SECONDS}{}",
            if self.secure_cookie { "; Secure" } else { "" }
        )
    }

    /// The logged-in user, from the session cookie or HTTP Basic credentials.
    async fn user(&self, req: &Request) -> Option<String> {
        let headers = req.headers();
        if let Some(basic) = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
        {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(basic.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())?;
            let (user, password) = decoded.split_once(':')?;
            return (self.check_login(user, password).await == LoginCheck::Accepted)
                .then(|| user.to_owned());
        }
        let cookie = headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|c| {
                c.trim()
                    .strip_prefix(&format!("{COOKIE}="))
                    .map(str::to_owned)
            })?;
        let (payload, signature) = cookie.rsplit_once('.')?;
        let (user, expires) = payload.split_once('.')?;
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        mac.verify_slice(&unhex(signature)?).ok()?;
        if expires.parse::<i64>().ok()? < self.clock.now().as_second() {
            return None;
        }
        String::from_utf8(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(user)
                .ok()?,
        )
        .ok()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

fn pages() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    for (name, source) in [
        ("layout.html", include_str!("../admin/pages/layout.html")),
        ("login.html", include_str!("../admin/pages/login.html")),
        (
            "messages.html",
            include_str!("../admin/pages/messages.html"),
        ),
        ("message.html", include_str!("../admin/pages/message.html")),
        (
            "customer.html",
            include_str!("../admin/pages/customer.html"),
        ),
        (
            "overview.html",
            include_str!("../admin/pages/overview.html"),
        ),
    ] {
        env.add_template(name, source)
            .expect("the bundled admin pages parse");
    }
    env
}

/// The request's language and the words for it.
struct Lang {
    lang: &'static str,
    /// `lang` from the query, kept in links.
    param: Option<String>,
}

impl Lang {
    fn of(req: &Request) -> Lang {
        let param = query_pairs(req)
            .into_iter()
            .find(|(k, _)| k == "lang")
            .map(|(_, v)| v)
            .filter(|v| v == "en" || v == "nl");
        let accept = req
            .headers()
            .get(http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        Lang {
            lang: labels::pick(param.as_deref(), accept),
            param,
        }
    }

    fn context(&self, user: Option<&str>, shop: &ShopId) -> Value {
        json!({
            "lang": self.lang,
            "t": labels::labels(self.lang),
            "user": user,
            "shop": shop.as_str(),
            "lang_param": self.param,
            "langq": self.param.as_ref().map(|l| format!("&lang={l}")).unwrap_or_default(),
        })
    }
}

fn query_pairs(req: &Request) -> Vec<(String, String)> {
    form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn merge(mut base: Value, extra: Value) -> Value {
    if let (Some(base), Some(extra)) = (base.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            base.insert(k.clone(), v.clone());
        }
    }
    base
}

fn respond(status: u16, content_type: &str, body: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("cache-control", "no-store")
        .header("x-frame-options", "DENY")
        .header("referrer-policy", "same-origin")
        .body(Body::Text(body))
        .expect("static response parts")
}

fn redirect(to: &str, cookie: Option<String>) -> Response<Body> {
    let mut builder = Response::builder()
        .status(303)
        .header("location", to)
        .header("cache-control", "no-store");
    if let Some(cookie) = cookie {
        builder = builder.header("set-cookie", cookie);
    }
    builder.body(Body::Empty).expect("static response parts")
}

fn json_error(status: u16, error: &str, field: Option<&str>, message: &str) -> Response<Body> {
    respond(
        status,
        "application/json",
        json!({ "error": error, "field": field, "message": message }).to_string(),
    )
}

impl AdminApp {
    fn render(&self, status: u16, template: &str, context: Value) -> Response<Body> {
        match self
            .pages
            .get_template(template)
            .and_then(|t| t.render(minijinja::Value::from(minijinja::value::Serde(&context))))
        {
            Ok(html) => respond(status, "text/html; charset=utf-8", html),
            Err(err) => {
                tracing::error!(detail = %err, template, "admin page failed to render");
                respond(500, "text/plain; charset=utf-8", "page failed".into())
            }
        }
    }

    fn login_page(
        &self,
        status: u16,
        lang: &Lang,
        error: bool,
        next: &str,
        browser: bool,
    ) -> Response<Body> {
        let shop = self
            .allowed_shops
            .first()
            .cloned()
            .unwrap_or_else(|| ShopId::parse("none").expect("a valid id"));
        let mut response = self.render(
            status,
            "login.html",
            merge(
                lang.context(None, &shop),
                json!({ "error": error, "next": next }),
            ),
        );
        if status == 401 && !browser {
            // Scripts and `curl -u` see the standard challenge; browsers get the form only (a
            // challenge would make them show their own password dialog instead).
            response.headers_mut().insert(
                http::header::WWW_AUTHENTICATE,
                http::HeaderValue::from_static("Basic realm=\"trouw\", charset=\"UTF-8\""),
            );
        }
        response
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
        return Ok(match method {
            http::Method::GET => app.login_page(200, &lang, false, "/admin", browser),
            http::Method::POST => {
                let form: Vec<(String, String)> = form_urlencoded::parse(req.body().as_ref())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                let field = |name: &str| {
                    form.iter()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default()
                };
                let (user, password) = (field("username"), field("password"));
                // Only local paths: never an open redirect.
                let next = Some(field("next"))
                    .filter(|n| n.starts_with("/admin") && !n.starts_with("//"))
                    .unwrap_or_else(|| "/admin".into());
                match app.check_login(&user, &password).await {
                    LoginCheck::Accepted => {
                        tracing::info!(outcome = "login", "admin logged in");
                        redirect(&next, Some(app.session_cookie(&user)))
                    }
                    LoginCheck::Refused | LoginCheck::Unfinished => {
                        tracing::warn!(outcome = "login_refused", "admin login refused");
                        app.login_page(401, &lang, true, &next, browser)
                    }
                    LoginCheck::Unavailable(code) => {
                        tracing::error!(detail = %code, "the user pool did not answer");
                        let mut response = json_error(
                            503,
                            "temporarily_unavailable",
                            None,
                            "the login service is busy; try again",
                        );
                        response
                            .headers_mut()
                            .insert("retry-after", http::HeaderValue::from_static("5"));
                        response
                    }
                }
            }
            _ => json_error(405, "method_not_allowed", None, "GET or POST"),
        });
    }
    if path == "/admin/logout" && method == http::Method::POST {
        let clear = format!("{COOKIE}=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0");
        return Ok(redirect("/admin/login", Some(clear)));
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
        overview_page(app, &req, &lang, &user).await
    } else if path == "/admin/messages" {
        messages_page(app, &req, &lang, &user).await
    } else if let Some(rest) = path.strip_prefix("/admin/messages/") {
        message_page(app, &req, &lang, &user, rest).await
    } else if let Some(rest) = path.strip_prefix("/admin/customers/") {
        customer_page(app, &req, &lang, &user, rest).await
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

/// The shop named by `?shop=` (one of the allowed shops), its time zone and today there.
async fn shop_of(
    app: &AdminApp,
    req: &Request,
) -> Result<Result<(ShopId, jiff::tz::TimeZone), Response<Body>>, StoreError> {
    let wanted = query_pairs(req)
        .into_iter()
        .find(|(k, v)| k == "shop" && !v.is_empty())
        .map(|(_, v)| v);
    let shop = match wanted {
        None => app.allowed_shops.first().cloned(),
        Some(s) => ShopId::parse(&s)
            .ok()
            .filter(|s| app.allowed_shops.contains(s)),
    };
    let Some(shop) = shop else {
        return Ok(Err(json_error(
            400,
            "invalid_query",
            Some("shop"),
            "is not a shop of this view",
        )));
    };
    let tz = app
        .shops
        .get(&shop)
        .await?
        .and_then(|s| jiff::tz::TimeZone::get(&s.settings.time_zone).ok())
        .unwrap_or(jiff::tz::TimeZone::UTC);
    Ok(Ok((shop, tz)))
}

/// The log entries (messages and activities) of a shop between two local days, newest first,
/// starting after `cursor`; stops once `want` messages passed `keep` (or the period is read).
/// Returns the entries and the cursor to continue from.
async fn read_log(
    app: &AdminApp,
    shop: &ShopId,
    tz: &jiff::tz::TimeZone,
    from: jiff::civil::Date,
    to: jiff::civil::Date,
    cursor: Option<Cursor>,
    want: usize,
    keep: &(dyn Fn(&MessageRecord) -> bool + Sync),
) -> Result<(Vec<LogEntry>, Option<Cursor>), StoreError> {
    let start = tz
        .to_timestamp(from.at(0, 0, 0, 0))
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let end = tz
        .to_timestamp(to.tomorrow().unwrap_or(to).at(0, 0, 0, 0))
        .unwrap_or(jiff::Timestamp::MAX);
    let utc = |t: jiff::Timestamp| t.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
    let (mut day, mut key) = match cursor {
        Some(c) => (c.day, c.key),
        None => (utc(end), None),
    };
    let first_day = utc(start);
    let mut entries = Vec::new();
    let mut kept = 0;
    loop {
        let (page, next) = app.store.log_page(shop, day, key.take(), 100).await?;
        for entry in page {
            let at = match &entry {
                LogEntry::Message(m) => m.intent.created_at,
                LogEntry::Activity(a) => a.activity.at,
            };
            if at < start || at >= end {
                continue;
            }
            if let LogEntry::Message(m) = &entry
                && keep(m)
            {
                kept += 1;
            }
            entries.push(entry);
        }
        match next {
            Some(next) => key = Some(next),
            None => {
                if day <= first_day {
                    return Ok((entries, None));
                }
                day = day.yesterday().unwrap_or(first_day);
            }
        }
        if kept >= want {
            let cursor = match key {
                Some(k) => Cursor { day, key: Some(k) },
                None => Cursor { day, key: None },
            };
            return Ok((entries, Some(cursor)));
        }
    }
}

/// Where the next page of the list starts: a UTC day of the log index and, within it, the key
/// after which to go on.
#[derive(Debug, Clone)]
struct Cursor {
    day: jiff::civil::Date,
    key: Option<crate::store::Item>,
}

impl Cursor {
    fn encode(&self) -> String {
        let key: BTreeMap<String, Value> = self
            .key
            .iter()
            .flatten()
            .filter_map(|(name, value)| match value {
                aws_sdk_dynamodb::types::AttributeValue::S(s) => {
                    Some((name.clone(), json!({ "S": s })))
                }
                aws_sdk_dynamodb::types::AttributeValue::N(n) => {
                    Some((name.clone(), json!({ "N": n })))
                }
                _ => None,
            })
            .collect();
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(json!({ "day": self.day.to_string(), "key": key }).to_string())
    }

    fn decode(text: &str) -> Option<Cursor> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .ok()?;
        let value: Value = serde_json::from_slice(&bytes).ok()?;
        let day = value["day"].as_str()?.parse().ok()?;
        let map = value["key"].as_object()?;
        let key: crate::store::Item = map
            .iter()
            .filter_map(|(name, v)| {
                let attr = if let Some(s) = v["S"].as_str() {
                    aws_sdk_dynamodb::types::AttributeValue::S(s.to_owned())
                } else {
                    aws_sdk_dynamodb::types::AttributeValue::N(v["N"].as_str()?.to_owned())
                };
                Some((name.clone(), attr))
            })
            .collect();
        Some(Cursor {
            day,
            key: (!key.is_empty()).then_some(key),
        })
    }
}

fn matches(filter: &MessageFilter, m: &MessageRecord) -> bool {
    filter
        .kind
        .as_deref()
        .is_none_or(|k| m.intent.data.kind() == k)
        && filter.class.is_none_or(|c| m.intent.class == c)
        && filter.status.as_deref().is_none_or(|s| status_word(m) == s)
}

async fn messages_page(
    app: &AdminApp,
    req: &Request,
    lang: &Lang,
    user: &str,
) -> Result<Response<Body>, StoreError> {
    let (shop, tz) = match shop_of(app, req).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let today = app.clock.now().to_zoned_datetime(tz.clone()).date();
    let filter = match MessageFilter::parse(
        req.uri().query().unwrap_or(""),
        &app.allowed_shops,
        today,
        &KINDS,
    ) {
        Ok(f) => f,
        Err(err) => {
            return Ok(json_error(
                400,
                "invalid_query",
                Some(err.field),
                &err.message,
            ));
        }
    };
    let cursor = match filter.cursor.as_deref().map(Cursor::decode) {
        Some(None) => {
            return Ok(json_error(
                400,
                "invalid_query",
                Some("cursor"),
                "is not a cursor from this list",
            ));
        }
        Some(Some(c)) => Some(c),
        None => None,
    };
    let want = if filter.format == Format::Html {
        PAGE_ROWS
    } else {
        MAX_EXPORT_ROWS
    };
    let keep = |m: &MessageRecord| matches(&filter, m);
    // A customer or an address: that customer's own partition, not the whole log.
    let customers: Option<Vec<CustomerId>> = match (&filter.customer, &filter.email) {
        (Some(c), _) => Some(vec![c.clone()]),
        (None, Some(email)) => Some(app.store.customers_by_email(&shop, email).await?),
        (None, None) => None,
    };
    let (mut messages, next) = match customers {
        Some(customers) => {
            let start = tz
                .to_timestamp(filter.from.at(0, 0, 0, 0))
                .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
            let end = tz
                .to_timestamp(filter.to.tomorrow().unwrap_or(filter.to).at(0, 0, 0, 0))
                .unwrap_or(jiff::Timestamp::MAX);
            let mut all = Vec::new();
            for customer in customers {
                let items = app.store.customer_items(&shop, &customer).await?;
                all.extend(items.messages.into_iter().filter(|m| {
                    m.intent.created_at >= start && m.intent.created_at < end && keep(m)
                }));
            }
            (all, None)
        }
        None => {
            let (entries, next) =
                read_log(app, &shop, &tz, filter.from, filter.to, cursor, want, &keep).await?;
            let messages = entries
                .into_iter()
                .filter_map(|e| match e {
                    LogEntry::Message(m) if keep(&m) => Some(*m),
                    _ => None,
                })
                .collect();
            (messages, next)
        }
    };
    messages.sort_by(|a, b| b.intent.created_at.cmp(&a.intent.created_at));
    let emails = emails_of(app, &shop, messages.iter().map(|m| &m.intent.customer_id)).await?;
    let rows: Vec<MessageRow> = messages
        .iter()
        .map(|m| {
            MessageRow::new(
                m,
                emails.get(&m.intent.customer_id).map(String::as_str),
                filter.reveal,
                &tz,
            )
        })
        .collect();
    if filter.reveal {
        tracing::info!(rows = rows.len(), "email addresses shown in clear");
    }
    match filter.format {
        Format::Csv => {
            let mut response = respond(200, "text/csv; charset=utf-8", csv::write(&rows));
            let name = format!(
                "attachment; filename=\"trouw-{}-{}-{}.csv\"",
                shop, filter.from, filter.to
            );
            response.headers_mut().insert(
                http::header::CONTENT_DISPOSITION,
                http::HeaderValue::from_str(&name).expect("ascii file name"),
            );
            Ok(response)
        }
        Format::Json => Ok(respond(
            200,
            "application/json",
            json!({ "shop": shop.as_str(), "from": filter.from.to_string(), "to": filter.to.to_string(), "rows": rows }).to_string(),
        )),
        Format::Html => {
            let next_query = next.map(|c| filter.query(Format::Html, Some(&c.encode())));
            let lang_suffix = lang
                .param
                .as_ref()
                .map(|l| format!("&lang={l}"))
                .unwrap_or_default();
            Ok(app.render(
                200,
                "messages.html",
                merge(
                    lang.context(Some(user), &shop),
                    json!({
                        "shops": app.allowed_shops.iter().map(ShopId::as_str).collect::<Vec<_>>(),
                        "filter": {
                            "from": filter.from.to_string(), "to": filter.to.to_string(),
                            "kind": filter.kind, "class": filter.class.map(class_word),
                            "status": filter.status, "customer": filter.customer.as_ref().map(CustomerId::as_str),
                            "email": filter.email, "reveal": filter.reveal,
                        },
                        "kinds": KINDS,
                        "classes": ["transactional", "service", "promotional", "internal"],
                        "statuses": STATUSES,
                        "rows": rows,
                        "time_zone": tz.iana_name().unwrap_or("UTC"),
                        "csv_query": filter.query(Format::Csv, None),
                        "json_query": filter.query(Format::Json, None),
                        "next_query": next_query.map(|q| format!("{q}{lang_suffix}")),
                    }),
                ),
            ))
        }
    }
}

/// The email addresses of these customers (one read per customer, each once).
async fn emails_of<'a>(
    app: &AdminApp,
    shop: &ShopId,
    customers: impl Iterator<Item = &'a CustomerId>,
) -> Result<BTreeMap<CustomerId, String>, StoreError> {
    let unique: BTreeSet<&CustomerId> = customers.collect();
    let mut emails = BTreeMap::new();
    for customer in unique {
        if let Some(profile) = app.store.profile(shop, customer).await?
            && let Some(email) = profile.contact.email()
        {
            emails.insert(customer.clone(), email.as_str().to_owned());
        }
    }
    Ok(emails)
}

fn local(t: jiff::Timestamp, tz: &jiff::tz::TimeZone) -> String {
    t.to_zoned_datetime(tz.clone())
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

async fn message_page(
    app: &AdminApp,
    req: &Request,
    lang: &Lang,
    user: &str,
    rest: &str,
) -> Result<Response<Body>, StoreError> {
    let (shop, tz) = match shop_of(app, req).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let mut parts = rest.splitn(2, '/');
    let decode = |p: Option<&str>| {
        p.map(|p| {
            form_urlencoded::parse(format!("x={p}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        })
    };
    let (Some(customer), Some(key)) = (decode(parts.next()), decode(parts.next())) else {
        return Ok(json_error(404, "not_found", None, "no such message"));
    };
    let Ok(customer) = CustomerId::parse(customer) else {
        return Ok(json_error(404, "not_found", None, "no such message"));
    };
    let Some(message) = app
        .store
        .message_at(&crate::store::keys::message(&shop, &customer, &key))
        .await?
    else {
        return Ok(json_error(404, "not_found", None, "no such message"));
    };
    let reveal = query_pairs(req)
        .iter()
        .any(|(k, v)| k == "reveal" && v == "1");
    let email = app
        .store
        .profile(&shop, &customer)
        .await?
        .and_then(|p| p.contact.email().map(|e| e.as_str().to_owned()))
        .map(|e| {
            if reveal {
                e
            } else {
                crate::admin::mask_email(&e)
            }
        });
    let row = MessageRow::new(&message, None, reveal, &tz);
    let mut history = vec![
        json!({ "time": local(message.intent.created_at, &tz), "status": "created", "detail": message.cause.as_str() }),
    ];
    if let Some(until) = message.deferred_until {
        history.push(json!({ "time": "", "status": "deferred", "detail": format!("{} {}", message.reason.clone().unwrap_or_default(), local(until, &tz)) }));
    }
    match status_word(&message) {
        "skipped" | "held_out" | "failed" => history.push(json!({
            "time": "", "status": status_word(&message),
            "detail": message.reason.clone().or_else(|| message.error.clone()).map(|t| crate::admin::shown_text(&t, reveal)),
        })),
        _ => {}
    }
    if let Some(sent) = message.sent_at {
        history.push(
            json!({ "time": local(sent, &tz), "status": "sent", "detail": message.ses_message_id }),
        );
    }
    for report in &message.reports {
        history.push(json!({ "time": local(report.at, &tz), "status": report.status.as_str(), "detail": report.detail.as_deref().map(|t| crate::admin::shown_text(t, reveal)) }));
    }
    let data = serde_json::to_string_pretty(&message.intent.data).unwrap_or_default();
    let template = format!(
        "{} · {}",
        message.intent.data.kind(),
        message
            .rendered_locale
            .clone()
            .or_else(|| message.intent.locale.as_ref().map(|l| l.to_string()))
            .unwrap_or_else(|| "–".into())
    );
    Ok(app.render(
        200,
        "message.html",
        merge(
            lang.context(Some(user), &shop),
            json!({ "m": row, "email": email, "history": history, "data": data, "template": template, "cause": message.cause.as_str() }),
        ),
    ))
}

async fn customer_page(
    app: &AdminApp,
    req: &Request,
    lang: &Lang,
    user: &str,
    rest: &str,
) -> Result<Response<Body>, StoreError> {
    let (shop, tz) = match shop_of(app, req).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let Ok(customer) = CustomerId::parse(
        form_urlencoded::parse(format!("x={rest}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default(),
    ) else {
        return Ok(json_error(404, "not_found", None, "no such customer"));
    };
    let CustomerItems {
        profile,
        orders,
        messages,
        activities,
    } = app.store.customer_items(&shop, &customer).await?;
    let reveal = query_pairs(req)
        .iter()
        .any(|(k, v)| k == "reveal" && v == "1");
    let email = profile.as_ref().and_then(|p| p.contact.email()).map(|e| {
        if reveal {
            e.as_str().to_owned()
        } else {
            crate::admin::mask_email(e.as_str())
        }
    });
    let mut timeline: Vec<(jiff::Timestamp, Value)> = Vec::new();
    let langq = lang
        .param
        .as_ref()
        .map(|l| format!("&lang={l}"))
        .unwrap_or_default();
    for m in &messages {
        let link = format!(
            "/admin/messages/{}/{}?shop={shop}{langq}",
            customer,
            form_urlencoded::byte_serialize(m.intent.key.as_bytes()).collect::<String>()
        );
        timeline.push((
            m.intent.created_at,
            json!({ "what": format!("✉ {}", m.intent.data.kind()), "status": status_word(m), "detail": m.reason.clone().or_else(|| m.subject.clone()), "link": link }),
        ));
    }
    for a in &activities {
        let detail = match &a.activity.what {
            ActivityKind::OrderPlaced {
                order_id,
                total,
                points,
                reactivation,
            } => format!(
                "{order_id} · {total} · {points} pt{}",
                if *reactivation {
                    " · reactivation"
                } else {
                    ""
                }
            ),
            ActivityKind::OrderReturned {
                order_id,
                points_reversed,
            } => format!("{order_id} · -{points_reversed} pt"),
            ActivityKind::PointsConfirmed { order_id, points } => {
                format!("{order_id} · {points} pt")
            }
            ActivityKind::SurveyAnswered { order_id, score } => format!("{order_id} · {score}/10"),
            ActivityKind::SurveySkipped { order_id, reason } => format!("{order_id} · {reason}"),
            ActivityKind::EngagementChanged { from, to } => {
                format!("{} → {}", from.as_str(), to.as_str())
            }
            ActivityKind::KeptInTouch => String::new(),
            ActivityKind::LapseAnswered { reason } => {
                reason.map(|r| r.as_str().to_owned()).unwrap_or_default()
            }
        };
        timeline.push((
            a.activity.at,
            json!({ "what": a.activity.what.name(), "detail": detail }),
        ));
    }
    for o in &orders {
        if let Some(delivered) = o.delivered_at {
            timeline.push((
                delivered,
                json!({ "what": "delivered", "detail": o.id.as_str() }),
            ));
        }
    }
    timeline.sort_by(|a, b| b.0.cmp(&a.0));
    let timeline: Vec<Value> = timeline
        .into_iter()
        .map(|(at, entry)| merge(entry, json!({ "time": local(at, &tz) })))
        .collect();
    let profile = profile.map(|p| {
        json!({
            "lifecycle": p.lifecycle.as_str(),
            "engagement": p.retention.stage.as_str(),
            "order_count": p.order_count,
            "returned_order_count": p.returned_order_count,
            "points_available": p.loyalty.points_available,
            "points_pending": p.loyalty.points_pending,
            "tier": p.loyalty.tier,
            "mail": mail_standing(&p),
        })
    });
    Ok(app.render(
        200,
        "customer.html",
        merge(
            lang.context(Some(user), &shop),
            json!({ "customer_id": customer.as_str(), "profile": profile, "email": email, "timeline": timeline }),
        ),
    ))
}

fn mail_standing(p: &crate::domain::CustomerProfile) -> String {
    let mut parts = Vec::new();
    parts.push(if p.has_marketing_consent() {
        "consent".to_owned()
    } else {
        "no consent".to_owned()
    });
    if let Some(o) = &p.mail.opted_out {
        parts.push(format!("opted out ({:?})", o.scope).to_lowercase());
    }
    if p.mail.suppressed_at.is_some() {
        parts.push("suppressed".into());
    }
    if p.mail.inactive {
        parts.push("inactive".into());
    }
    parts.join(", ")
}

async fn overview_page(
    app: &AdminApp,
    req: &Request,
    lang: &Lang,
    user: &str,
) -> Result<Response<Body>, StoreError> {
    let (shop, tz) = match shop_of(app, req).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let today = app.clock.now().to_zoned_datetime(tz.clone()).date();
    let pairs = query_pairs(req);
    let date = |name: &str| {
        pairs
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.parse::<jiff::civil::Date>())
    };
    let to = match date("to") {
        None => today,
        Some(Ok(d)) => d,
        Some(Err(_)) => {
            return Ok(json_error(
                400,
                "invalid_query",
                Some("to"),
                "must be a date such as 2026-11-30",
            ));
        }
    };
    let from = match date("from") {
        None => today.first_of_month(),
        Some(Ok(d)) => d,
        Some(Err(_)) => {
            return Ok(json_error(
                400,
                "invalid_query",
                Some("from"),
                "must be a date such as 2026-11-01",
            ));
        }
    };
    if from > to || (to - from).get_days() > crate::admin::filters::MAX_DAYS as i32 {
        return Ok(json_error(
            400,
            "invalid_query",
            Some("from"),
            "must be before to, at most a year apart",
        ));
    }
    let (entries, _) = read_log(app, &shop, &tz, from, to, None, usize::MAX, &|_| true).await?;
    let mut messages = Vec::new();
    let mut activities = Vec::new();
    for entry in entries {
        match entry {
            LogEntry::Message(m) => messages.push(*m),
            LogEntry::Activity(a) => activities.push(a),
        }
    }
    let holdout = app
        .shops
        .get(&shop)
        .await?
        .map_or(0, |s| s.settings.holdout_percent);
    let figures = overview(&messages, &activities, |c| is_held_out(&shop, c, holdout));
    Ok(app.render(
        200,
        "overview.html",
        merge(
            lang.context(Some(user), &shop),
            json!({
                "shops": app.allowed_shops.iter().map(ShopId::as_str).collect::<Vec<_>>(),
                "from": from.to_string(), "to": to.to_string(), "o": figures,
            }),
        ),
    ))
}
