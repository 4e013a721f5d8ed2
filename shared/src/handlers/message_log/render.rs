//! What every admin page shares: the bundled templates, the request's language, query pairs,
//! the shop asked for and the response helpers.

use super::AdminApp;
use crate::admin::labels;
use crate::domain::ShopId;
use crate::store::StoreError;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

pub(super) fn pages() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    for (name, source) in [
        ("layout.html", include_str!("../../admin/pages/layout.html")),
        ("login.html", include_str!("../../admin/pages/login.html")),
        (
            "messages.html",
            include_str!("../../admin/pages/messages.html"),
        ),
        (
            "message.html",
            include_str!("../../admin/pages/message.html"),
        ),
        (
            "login_code.html",
            include_str!("../../admin/pages/login_code.html"),
        ),
        ("audit.html", include_str!("../../admin/pages/audit.html")),
        (
            "answers.html",
            include_str!("../../admin/pages/answers.html"),
        ),
        (
            "customer.html",
            include_str!("../../admin/pages/customer.html"),
        ),
        (
            "overview.html",
            include_str!("../../admin/pages/overview.html"),
        ),
    ] {
        env.add_template(name, source)
            .expect("the bundled admin pages parse");
    }
    env
}

/// The request's language and the words for it, and the browser's form token (which every
/// page's logout button carries).
pub(super) struct Lang {
    pub(super) lang: &'static str,
    /// `lang` from the query, kept in links.
    pub(super) param: Option<String>,
    pub(super) csrf: String,
    /// This page's path and query without `lang`: the language switch's links add it. A link,
    /// so switching is a GET that changes nothing on the server.
    here: String,
    /// Shops whose mail is close to or over a provider's mark (see `deliverability`).
    pub(super) warnings: Vec<Value>,
}

impl Lang {
    pub(super) fn of(req: &Request) -> Lang {
        let param = query_pairs(req)
            .into_iter()
            .find(|(k, _)| k == "lang")
            .map(|(_, v)| v)
            .filter(|v| v == "en" || v == "nl");
        let accept = req
            .headers()
            .get(http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        let rest: Vec<(String, String)> = query_pairs(req)
            .into_iter()
            .filter(|(k, _)| k != "lang")
            .collect();
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &rest {
            query.append_pair(k, v);
        }
        let query = query.finish();
        let here = if query.is_empty() {
            format!("{}?", req.uri().path())
        } else {
            format!("{}?{query}&", req.uri().path())
        };
        Lang {
            lang: labels::pick(param.as_deref(), accept),
            param,
            csrf: String::new(),
            here,
            warnings: Vec::new(),
        }
    }

    pub(super) fn context(&self, user: Option<&str>, shop: &ShopId) -> Value {
        json!({
            "lang": self.lang,
            "t": labels::labels(self.lang),
            "user": user,
            "shop": shop.as_str(),
            "lang_param": self.param,
            "langq": self.param.as_ref().map(|l| format!("&lang={l}")).unwrap_or_default(),
            "csrf": self.csrf,
            "switch_nl": format!("{}lang=nl", self.here),
            "switch_en": format!("{}lang=en", self.here),
            "warnings": self.warnings,
        })
    }
}

pub(super) fn query_pairs(req: &Request) -> Vec<(String, String)> {
    form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub(super) fn merge(mut base: Value, extra: Value) -> Value {
    if let (Some(base), Some(extra)) = (base.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            base.insert(k.clone(), v.clone());
        }
    }
    base
}

pub(super) fn respond(status: u16, content_type: &str, body: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("cache-control", "no-store")
        .header("x-frame-options", "DENY")
        .header("referrer-policy", "same-origin")
        .body(Body::Text(body))
        .expect("static response parts")
}

pub(super) fn redirect(to: &str, cookie: Option<String>) -> Response<Body> {
    // A target that cannot be a header value goes to the overview rather than failing.
    let location = http::HeaderValue::from_str(to)
        .unwrap_or_else(|_| http::HeaderValue::from_static("/admin"));
    let mut builder = Response::builder()
        .status(303)
        .header("location", location)
        .header("cache-control", "no-store");
    if let Some(cookie) = cookie {
        builder = builder.header("set-cookie", cookie);
    }
    builder.body(Body::Empty).expect("static response parts")
}

/// A query parameter the pages refuse: 400 naming it.
pub(super) fn query_error(err: &crate::admin::filters::QueryError) -> Response<Body> {
    json_error(400, "invalid_query", Some(err.field), &err.message)
}

pub(super) fn json_error(
    status: u16,
    error: &str,
    field: Option<&str>,
    message: &str,
) -> Response<Body> {
    respond(
        status,
        "application/json",
        json!({ "error": error, "field": field, "message": message }).to_string(),
    )
}

impl AdminApp {
    pub(super) fn render(&self, status: u16, template: &str, context: Value) -> Response<Body> {
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
}

/// The shop named by `?shop=` (one of the allowed shops), its time zone and today there.
pub(super) async fn shop_of(
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

pub(super) fn local(t: jiff::Timestamp, tz: &jiff::tz::TimeZone) -> String {
    t.to_zoned_datetime(tz.clone())
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}
