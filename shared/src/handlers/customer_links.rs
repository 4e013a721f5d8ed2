//! `customer-links` (public): the links in emails. `GET /u/{token}` shows a small page in the
//! customer's language offering "no more offers" or "no more email at all" and changes
//! nothing (mail scanners open links); `POST /u/{token}` unsubscribes: the RFC 8058 one-click
//! body `List-Unsubscribe=One-Click` stops all non-transactional mail of that shop at once,
//! the page's buttons send `scope=promotional` or `scope=all`. A bad or tampered token gets
//! 400 and changes nothing; using a token again changes nothing more.

use crate::clock::Clock;
use crate::domain::{CustomerId, OptOutScope, ShopId, unsubscribe};
use crate::mail::LinkKey;
use crate::shops::ShopDirectory;
use crate::store::{Store, StoreError, Written};
use lambda_http::{Body, Request, RequestExt, Response};
use std::sync::Arc;

pub struct LinksApp {
    pub store: Store,
    pub shops: ShopDirectory,
    pub links: LinkKey,
    pub clock: Arc<dyn Clock>,
}

impl LinksApp {
    /// Builds the app from the environment, as the Lambda main does.
    pub async fn from_env() -> Result<Self, lambda_http::Error> {
        let config = crate::config::Config::from_env()?;
        let sdk = crate::config::aws_sdk_config().await;
        let ssm = aws_sdk_ssm::Client::new(&sdk);
        let links = crate::config::link_key(&ssm).await?;
        let store = Store::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            config.table_name.clone(),
        );
        Ok(LinksApp {
            shops: ShopDirectory::new(
                store.clone(),
                ssm,
                config.settings_cache,
                config.secrets_path_prefix.clone(),
            ),
            store,
            links,
            clock: Arc::new(crate::clock::SystemClock),
        })
    }
}

pub async fn handle(app: &LinksApp, req: Request) -> Result<Response<Body>, lambda_http::Error> {
    let token = req
        .path_parameters_ref()
        .and_then(|p| p.first("token").map(str::to_owned))
        .or_else(|| req.uri().path().rsplit('/').next().map(str::to_owned))
        .unwrap_or_default();
    if req.uri().path().rsplit('/').nth(1) == Some("s") {
        return Ok(survey(app, &req, &token).await);
    }
    let Some((shop, customer)) = app.links.verify_unsubscribe(&token) else {
        tracing::warn!(outcome = "invalid_token", "link refused");
        return Ok(page(400, "nl", &invalid_page()));
    };
    let span = tracing::info_span!("link", shop = %shop);
    let _enter = span.enter();
    let shop_settings = match app.shops.get(&shop).await {
        Ok(Some(s)) => s,
        Ok(None) => return Ok(page(400, "nl", &invalid_page())),
        Err(err) => return Ok(unavailable(err)),
    };
    let profile = match app.store.profile(&shop, &customer).await {
        Ok(p) => p,
        Err(err) => return Ok(unavailable(err)),
    };
    let locale = crate::mail::Renderer::locale_for(
        profile
            .as_ref()
            .and_then(|p| p.contact.locale())
            .map(|l| l.as_str()),
        shop_settings.settings.default_locale.as_str(),
    );
    let words = Words::for_locale(locale);
    let shop_name = escape(&shop_settings.settings.name);
    match *req.method() {
        http::Method::GET => Ok(page(
            200,
            locale,
            &format!(
                "<h1>{}</h1><p>{}</p><form method=\"post\"><input type=\"hidden\" name=\"scope\" value=\"promotional\"><button type=\"submit\">{}</button></form><form method=\"post\"><input type=\"hidden\" name=\"scope\" value=\"all\"><button type=\"submit\">{}</button></form>",
                shop_name, words.question, words.no_offers, words.no_mail
            ),
        )),
        http::Method::POST => {
            let body = String::from_utf8_lossy(req.body().as_ref()).to_string();
            let scope = if body.contains("List-Unsubscribe=One-Click") || body.contains("scope=all")
            {
                OptOutScope::All
            } else if body.contains("scope=promotional") {
                OptOutScope::Promotional
            } else {
                return Ok(page(400, locale, &format!("<p>{}</p>", words.unclear)));
            };
            if let Err(err) = apply(app, &shop, &customer, scope).await {
                return Ok(unavailable(err));
            }
            tracing::info!(outcome = "unsubscribed", scope = ?scope, "preference recorded");
            let done = if scope == OptOutScope::All {
                words.done_all
            } else {
                words.done_offers
            };
            Ok(page(
                200,
                locale,
                &format!("<h1>{shop_name}</h1><p>{done}</p>"),
            ))
        }
        _ => Ok(Response::builder()
            .status(405)
            .header("allow", "GET, POST")
            .body(Body::Empty)
            .expect("static response")),
    }
}

/// `GET /s/{token}?score=N`: records the answer (the latest within 7 days counts, so opening
/// the link twice is harmless) and thanks the customer in their language.
async fn survey(app: &LinksApp, req: &Request, token: &str) -> Response<Body> {
    let Some((shop, customer, order_id)) = app.links.verify_survey(token) else {
        tracing::warn!(outcome = "invalid_token", "survey link refused");
        return page(400, "nl", &invalid_page());
    };
    let score = req
        .uri()
        .query()
        .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("score=")))
        .and_then(|s| s.parse::<u8>().ok())
        .filter(|s| *s <= 10);
    let Some(score) = score else {
        return page(
            400,
            "nl",
            "<p>Kies een cijfer van 0 tot 10. / Please pick a score from 0 to 10.</p>",
        );
    };
    let settings = match app.shops.get(&shop).await {
        Ok(Some(s)) => s,
        Ok(None) => return page(400, "nl", &invalid_page()),
        Err(err) => return unavailable(err),
    };
    let now = app.clock.now();
    let Ok(id) = crate::domain::EventId::parse(format!(
        "survey:{order_id}:{score}:{}",
        now.as_second() / 60
    )) else {
        return page(400, "nl", &invalid_page());
    };
    let event = crate::domain::ShopEvent {
        id,
        source: "survey".into(),
        occurred_at: now,
        customer: crate::domain::CustomerFacts {
            id: customer.clone(),
            email: None,
            first_name: None,
            locale: None,
            marketing_consent: None,
            address: None,
        },
        kind: crate::domain::EventKind::SurveyAnswered { order_id, score },
    };
    if let Err(err) =
        super::apply_event(&app.store, app.clock.as_ref(), &settings.settings, &event).await
    {
        return unavailable(err);
    }
    tracing::info!(outcome = "survey_answered", score, "survey answer recorded");
    let locale = match app.store.profile(&shop, &customer).await {
        Ok(profile) => crate::mail::Renderer::locale_for(
            profile
                .as_ref()
                .and_then(|p| p.contact.locale())
                .map(|l| l.as_str()),
            settings.settings.default_locale.as_str(),
        ),
        Err(_) => "nl",
    };
    let thanks = if locale == "en" {
        "Thank you for your answer! It helps us do better."
    } else {
        "Dank je wel voor je antwoord! Daar worden we beter van."
    };
    page(
        200,
        locale,
        &format!(
            "<h1>{}</h1><p>{thanks}</p>",
            escape(&settings.settings.name)
        ),
    )
}

async fn apply(
    app: &LinksApp,
    shop: &ShopId,
    customer: &CustomerId,
    scope: OptOutScope,
) -> Result<(), StoreError> {
    for _ in 0..5 {
        let Some(profile) = app.store.profile(shop, customer).await? else {
            return Ok(());
        };
        let Some(next) = unsubscribe(&profile, scope, app.clock.now()) else {
            return Ok(());
        };
        match app.store.save_profile(shop, profile.version, &next).await? {
            Written::Committed | Written::Duplicate => return Ok(()),
            Written::Conflict => continue,
        }
    }
    Err(StoreError::Unavailable("the customer kept changing".into()))
}

fn unavailable(err: StoreError) -> Response<Body> {
    tracing::error!(detail = %err, "link could not be handled");
    let mut response = page(
        503,
        "nl",
        "<p>Probeer het zo nog eens. / Please try again shortly.</p>",
    );
    response
        .headers_mut()
        .insert("retry-after", http::HeaderValue::from_static("5"));
    response
}

fn invalid_page() -> String {
    "<p>Deze link is ongeldig of beschadigd. / This link is not valid.</p>".into()
}

struct Words {
    question: &'static str,
    no_offers: &'static str,
    no_mail: &'static str,
    done_offers: &'static str,
    done_all: &'static str,
    unclear: &'static str,
}

impl Words {
    fn for_locale(locale: &str) -> Words {
        match locale {
            "en" => Words {
                question: "Which emails would you rather not receive?",
                no_offers: "No more offers",
                no_mail: "No more email at all",
                done_offers: "Done: you will receive no more offers. Messages about your orders and points still come.",
                done_all: "Done: you will receive no more email from us, except about an order you place.",
                unclear: "Please choose one of the options.",
            },
            _ => Words {
                question: "Welke e-mails wil je liever niet meer ontvangen?",
                no_offers: "Geen aanbiedingen meer",
                no_mail: "Helemaal geen e-mail meer",
                done_offers: "Gelukt: je krijgt geen aanbiedingen meer. Berichten over je bestellingen en punten blijven komen.",
                done_all: "Gelukt: je krijgt geen e-mail meer van ons, behalve over een bestelling die je plaatst.",
                unclear: "Kies een van de mogelijkheden.",
            },
        }
    }
}

fn page(status: u16, locale: &str, body: &str) -> Response<Body> {
    let html = format!(
        "<!doctype html><html lang=\"{locale}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>trouw</title></head><body style=\"font-family:sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem\">{body}</body></html>"
    );
    Response::builder()
        .status(status)
        .header("content-type", "text/html; charset=utf-8")
        .header("cache-control", "no-store")
        .header("referrer-policy", "no-referrer")
        .body(Body::Text(html))
        .expect("static response parts")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
