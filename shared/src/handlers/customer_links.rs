//! `customer-links` (public): the links in emails.
//! - `GET /u/{token}` shows a small page in the customer's language offering "no more offers"
//!   or "no more email at all" and changes nothing (mail scanners open links); `POST /u/{token}`
//!   unsubscribes: the RFC 8058 one-click body `List-Unsubscribe=One-Click` stops all
//!   non-transactional mail of that shop at once, the page's buttons send `scope=promotional`
//!   or `scope=all`.
//! - `GET /s/{token}?score=N` shows the answer with that score chosen and changes nothing;
//!   `POST /s/{token}` with `score` (and optionally `comment`) records it and thanks the
//!   customer, with a comment form that posts `comment` alone.
//! - `GET /q/{token}?option=N` shows the shop's question with that answer chosen (and a field
//!   for the customer's own words when the question invites them) and changes nothing;
//!   `POST /q/{token}` with `option` (and optionally `free_text`) records it (the first answer
//!   counts).
//! - `GET /r/{token}` shows a lapsed customer the "keep me" button and the two-question survey;
//!   `POST /r/{token}` records `action=keep` or `action=answer` (`reason`, `comment`).
//!
//! A bad or tampered token gets 400 and changes nothing; using a link again changes nothing
//! more. Answers are events applied through the same `decide` as webhooks.

use crate::clock::Clock;
use crate::domain::questions::{self, FreeTextRefused, MAX_FREE_TEXT};
use crate::domain::{
    CustomerFacts, CustomerId, EventId, EventKind, LapseReason, LapseSurvey, OptOutScope,
    ShopEvent, ShopId, unsubscribe,
};
use crate::mail::LinkKey;
use crate::shops::ShopDirectory;
use crate::store::{Store, StoreError, Written};
use lambda_http::{Body, Request, RequestExt, Response};
use std::sync::Arc;
use tracing::Instrument;

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
            // Settings only: links never verify a webhook, so no shop secret is resolved.
            shops: ShopDirectory::settings_only(store.clone(), config.settings_cache),
            store,
            links,
            clock: Arc::new(crate::clock::SystemClock),
        })
    }
}

pub async fn handle(app: &LinksApp, req: Request) -> Result<Response<Body>, lambda_http::Error> {
    // The method first, as on every route: another method is 405 whatever the token.
    if !matches!(*req.method(), http::Method::GET | http::Method::POST) {
        return Ok(method_not_allowed());
    }
    let token = req
        .path_parameters_ref()
        .and_then(|p| p.first("token").map(str::to_owned))
        .or_else(|| req.uri().path().rsplit('/').next().map(str::to_owned))
        .unwrap_or_default();
    match req.uri().path().rsplit('/').nth(1) {
        Some("s") => return Ok(survey(app, &req, &token).await),
        Some("r") => return Ok(reactivation(app, &req, &token).await),
        Some("q") => return Ok(question(app, &req, &token).await),
        _ => {}
    }
    let Some((shop, customer, message)) = app.links.verify_unsubscribe(&token) else {
        tracing::warn!(outcome = "invalid_token", "link refused");
        return Ok(page(400, "nl", &invalid_page()));
    };
    let span = tracing::info_span!("link", shop = %shop);
    // Instrumented, not entered across awaits (see `send_messages::deliver`).
    unsubscribe_page(app, &req, shop, customer, message)
        .instrument(span)
        .await
}

/// `GET` and `POST /u/{token}` for a verified token; `message` is the key of the email the
/// link was mailed in, when the link names it.
async fn unsubscribe_page(
    app: &LinksApp,
    req: &Request,
    shop: ShopId,
    customer: CustomerId,
    message: Option<String>,
) -> Result<Response<Body>, lambda_http::Error> {
    let shop_settings = match app.shops.get(&shop).await {
        Ok(Some(s)) => s,
        Ok(None) => return Ok(page(400, "nl", &invalid_page())),
        Err(err) => return Ok(unavailable(err)),
    };
    let profile = match app.store.profile(&shop, &customer).await {
        Ok(p) => p,
        Err(err) => return Ok(unavailable(err)),
    };
    if profile.as_ref().is_some_and(erased_since) {
        tracing::warn!(outcome = "erased_customer", "link refused");
        return Ok(page(400, "nl", &invalid_page()));
    }
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
            let Some(scope) = unsubscribe_scope(&form_fields(req)) else {
                return Ok(page(400, locale, &format!("<p>{}</p>", words.unclear)));
            };
            if let Err(err) = apply(app, &shop, &customer, scope, message.as_deref()).await {
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
        _ => Ok(method_not_allowed()),
    }
}

/// `GET /s/{token}?score=N` (the survey email's links) only shows the answer, that score
/// chosen, with a button and a comment field: mail scanners open every link, and a scanner's
/// visit must not become the customer's answer (nor an apology and a detractor alert). A
/// small script submits the form at once, so a person still answers in one click; a scanner
/// that runs no scripts records nothing. `POST /s/{token}` with `score` (and optionally
/// `comment`) records the answer (the latest within 7 days counts); `POST` with only `comment`
/// adds a comment from the thank-you page.
async fn survey(app: &LinksApp, req: &Request, token: &str) -> Response<Body> {
    let Some((shop, customer, order_id)) = app.links.verify_survey(token) else {
        tracing::warn!(outcome = "invalid_token", "survey link refused");
        return page(400, "nl", &invalid_page());
    };
    let settings = match app.shops.get(&shop).await {
        Ok(Some(s)) => s.settings.clone(),
        Ok(None) => return page(400, "nl", &invalid_page()),
        Err(err) => return unavailable(err),
    };
    if let Some(refused) = refuse_erased(app, &shop, &customer).await {
        return refused;
    }
    let locale = customer_locale(app, &settings, &customer).await;
    let words = SurveyWords::for_locale(locale);
    let shop_name = escape(&settings.name);
    let now = app.clock.now();
    match *req.method() {
        http::Method::GET => {
            let score = req.uri().query().and_then(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .find(|(k, _)| k == "score")
                    .map(|(_, v)| v.into_owned())
            });
            let Some(score) = score.as_deref().and_then(parse_score) else {
                return page(400, locale, &format!("<p>{}</p>", words.pick_score));
            };
            tracing::info!(outcome = "survey_shown", "survey answer page shown");
            answer_page(locale, &shop_name, &words, score)
        }
        http::Method::POST => {
            let form = form_fields(req);
            let score = match form.iter().find(|(k, _)| k == "score") {
                None => None,
                Some((_, v)) => match parse_score(v) {
                    Some(score) => Some(score),
                    None => return page(400, locale, &format!("<p>{}</p>", words.pick_score)),
                },
            };
            let Ok(comment) = comment_field(&form) else {
                return page(400, locale, &format!("<p>{}</p>", words.comment_needed));
            };
            if score.is_none() && comment.is_none() {
                return page(400, locale, &format!("<p>{}</p>", words.comment_needed));
            }
            if let Some(score) = score {
                let minute = (now.as_second() / 60).to_string();
                let id =
                    EventId::derived("survey", &[order_id.as_str(), &score.to_string(), &minute]);
                let kind = EventKind::SurveyAnswered {
                    order_id: order_id.clone(),
                    score,
                };
                if let Err(response) = apply_answer(app, &settings, &customer, id, kind).await {
                    return response;
                }
                tracing::info!(outcome = "survey_answered", "survey answer recorded");
            }
            if let Some(comment) = comment {
                let id = EventId::derived(
                    "survey-comment",
                    &[order_id.as_str(), &fingerprint(&comment)],
                );
                let kind = EventKind::SurveyCommented { order_id, comment };
                if let Err(response) = apply_answer(app, &settings, &customer, id, kind).await {
                    return response;
                }
                tracing::info!(outcome = "survey_commented", "survey comment recorded");
                return page(
                    200,
                    locale,
                    &format!("<h1>{shop_name}</h1><p>{}</p>", words.comment_thanks),
                );
            }
            page(
                200,
                locale,
                &format!(
                    "<h1>{shop_name}</h1><p>{}</p><form method=\"post\"><p><label for=\"comment\">{}</label></p><p><textarea id=\"comment\" name=\"comment\" rows=\"5\" maxlength=\"{MAX_COMMENT}\"></textarea></p><button type=\"submit\">{}</button></form>",
                    words.thanks, words.comment_label, words.send
                ),
            )
        }
        _ => method_not_allowed(),
    }
}

/// A score from a form or query: 0 to 10.
fn parse_score(text: &str) -> Option<u8> {
    text.trim().parse::<u8>().ok().filter(|s| *s <= 10)
}

/// The script that submits the answer form as soon as the page loads. It is allowed by its
/// hash in the page's Content-Security-Policy, and is the only script any link page runs.
const SUBMIT_ON_LOAD: &str = "document.getElementById(\"answer\").submit();";

/// The page behind a score link: the eleven scores with `score` chosen, a comment field and
/// the button, submitted on load by [`SUBMIT_ON_LOAD`].
fn answer_page(locale: &str, shop_name: &str, words: &SurveyWords, score: u8) -> Response<Body> {
    let scores: String = (0..=10)
        .map(|s| {
            let checked = if s == score { " checked" } else { "" };
            format!(
                "<label class=\"score\"><input type=\"radio\" name=\"score\" value=\"{s}\"{checked}> {s}</label> "
            )
        })
        .collect();
    let body = format!(
        "<h1>{shop_name}</h1><form id=\"answer\" method=\"post\"><fieldset><legend>{}</legend>{scores}</fieldset><p><label for=\"comment\">{}</label></p><p><textarea id=\"comment\" name=\"comment\" rows=\"5\" maxlength=\"{MAX_COMMENT}\"></textarea></p><button type=\"submit\">{}</button></form>",
        words.your_score, words.comment_label, words.send_answer
    );
    page_with_script(200, locale, &body, Some(SUBMIT_ON_LOAD))
}

/// `GET /q/{token}?option=N` (an answer link in the question's email) shows the question with
/// that answer chosen and a button, submitted on load like the survey's page, and changes
/// nothing (mail scanners open every link); `POST /q/{token}` with `option` records the answer.
/// The first answer counts: a later one changes nothing and the page says it was counted.
/// A question that invites the customer's own words shows a field for them and is not
/// submitted on load; `free_text` is refused (400, naming the field) when the question does
/// not invite it or it is too long, so nothing is recorded then.
async fn question(app: &LinksApp, req: &Request, token: &str) -> Response<Body> {
    let Some((shop, customer, question_id)) = app.links.verify_question(token) else {
        tracing::warn!(outcome = "invalid_token", "question link refused");
        return page(400, "nl", &invalid_page());
    };
    let settings = match app.shops.get(&shop).await {
        Ok(Some(s)) => s.settings.clone(),
        Ok(None) => return page(400, "nl", &invalid_page()),
        Err(err) => return unavailable(err),
    };
    let profile = match app.store.profile(&shop, &customer).await {
        Ok(p) => p,
        Err(err) => return unavailable(err),
    };
    if profile.as_ref().is_some_and(erased_since) {
        tracing::warn!(outcome = "erased_customer", "link refused");
        return page(400, "nl", &invalid_page());
    }
    let locale = crate::mail::Renderer::locale_for(
        profile
            .as_ref()
            .and_then(|p| p.contact.locale())
            .map(|l| l.as_str()),
        settings.default_locale.as_str(),
    );
    let words = QuestionWords::for_locale(locale);
    let shop_name = escape(&settings.name);
    // A question the shop has since removed: the link leads nowhere.
    let Some(asked) = settings.questions.iter().find(|q| q.id == question_id) else {
        return page(
            400,
            locale,
            &format!("<h1>{shop_name}</h1><p>{}</p>", words.gone),
        );
    };
    let option = |text: Option<&str>| {
        text.and_then(|t| t.trim().parse::<u8>().ok())
            .filter(|o| usize::from(*o) < asked.options.len())
    };
    match *req.method() {
        http::Method::GET => {
            let chosen = req.uri().query().and_then(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .find(|(k, _)| k == "option")
                    .map(|(_, v)| v.into_owned())
            });
            let Some(chosen) = option(chosen.as_deref()) else {
                return page(400, locale, &format!("<p>{}</p>", words.pick));
            };
            tracing::info!(outcome = "question_shown", "question page shown");
            let options: String = asked
                .options
                .iter()
                .enumerate()
                .map(|(i, text)| {
                    let checked = if i == usize::from(chosen) { " checked" } else { "" };
                    format!(
                        "<p><input type=\"radio\" id=\"option-{i}\" name=\"option\" value=\"{i}\"{checked}> <label for=\"option-{i}\">{}</label></p>",
                        escape(text)
                    )
                })
                .collect();
            // A question that invites the customer's own words waits for them: submitting on
            // load would send the form before they could write (the choice is still one
            // click, on the button).
            if asked.free_text {
                let body = format!(
                    "<h1>{shop_name}</h1><form id=\"answer\" method=\"post\"><fieldset><legend>{}</legend>{options}</fieldset><p><label for=\"free_text\">{}</label></p><p><textarea id=\"free_text\" name=\"free_text\" rows=\"5\" maxlength=\"{MAX_FREE_TEXT}\"></textarea></p><button type=\"submit\">{}</button></form>",
                    escape(&asked.text),
                    words.words_label,
                    words.send
                );
                return page(200, locale, &body);
            }
            let body = format!(
                "<h1>{shop_name}</h1><form id=\"answer\" method=\"post\"><fieldset><legend>{}</legend>{options}</fieldset><button type=\"submit\">{}</button></form>",
                escape(&asked.text),
                words.send
            );
            page_with_script(200, locale, &body, Some(SUBMIT_ON_LOAD))
        }
        http::Method::POST => {
            let form = form_fields(req);
            let chosen = option(
                form.iter()
                    .find(|(k, _)| k == "option")
                    .map(|(_, v)| v.as_str()),
            );
            let Some(chosen) = chosen else {
                return page(400, locale, &format!("<p>{}</p>", words.pick));
            };
            let posted_words = form
                .iter()
                .find(|(k, _)| k == "free_text")
                .map(|(_, v)| v.as_str());
            let free_text = match questions::free_text(asked, posted_words) {
                Ok(text) => text,
                Err(refused) => {
                    let why = match refused {
                        FreeTextRefused::NotInvited => words.words_not_invited,
                        FreeTextRefused::TooLong => words.words_too_long,
                    };
                    return page(
                        400,
                        locale,
                        &format!("<p class=\"error\" data-field=\"free_text\">{why}</p>"),
                    );
                }
            };
            let answered_before = profile
                .as_ref()
                .is_some_and(|p| p.questions_answered.contains(&question_id));
            if !answered_before {
                // The customer is part of the id: processed events are kept per shop, and two
                // customers choosing the same answer are two answers, not one delivered twice.
                let id = EventId::derived(
                    "question",
                    &[customer.as_str(), question_id.as_str(), &chosen.to_string()],
                );
                let kind = EventKind::QuestionAnswered {
                    question_id: question_id.clone(),
                    option: chosen,
                    free_text,
                };
                if let Err(response) = apply_answer(app, &settings, &customer, id, kind).await {
                    return response;
                }
                tracing::info!(outcome = "question_answered", "question answer recorded");
            }
            let done = if answered_before {
                words.counted
            } else {
                words.thanks
            };
            page(200, locale, &format!("<h1>{shop_name}</h1><p>{done}</p>"))
        }
        _ => method_not_allowed(),
    }
}

struct QuestionWords {
    pick: &'static str,
    send: &'static str,
    thanks: &'static str,
    counted: &'static str,
    gone: &'static str,
    words_label: &'static str,
    words_too_long: &'static str,
    words_not_invited: &'static str,
}

impl QuestionWords {
    fn for_locale(locale: &str) -> QuestionWords {
        match locale {
            "en" => QuestionWords {
                pick: "Please choose one of the answers.",
                send: "Send my answer",
                thanks: "Thank you! Your answer helps us choose what comes next.",
                counted: "Thank you, we already have your answer: the first one counts.",
                gone: "This question has closed. Thank you all the same!",
                words_label: "Anything to add in your own words? (optional)",
                words_too_long: "Your own words: 500 characters at most, please.",
                words_not_invited: "This question takes no words of your own: please choose one of the answers only.",
            },
            _ => QuestionWords {
                pick: "Kies een van de antwoorden.",
                send: "Verstuur mijn antwoord",
                thanks: "Dank je wel! Met jouw antwoord kiezen we wat er bij komt.",
                counted: "Dank je wel, we hebben je antwoord al: het eerste antwoord telt.",
                gone: "Deze vraag is gesloten. Toch bedankt!",
                words_label: "Wil je er in je eigen woorden iets over kwijt? (niet verplicht)",
                words_too_long: "Je eigen woorden: hooguit 500 tekens, graag.",
                words_not_invited: "Bij deze vraag horen geen eigen woorden: kies alleen een van de antwoorden.",
            },
        }
    }
}

/// `GET /r/{token}` (`?keep=1` from the "yes, keep me" link): the page for a lapsed customer;
/// `POST /r/{token}`: `action=keep`, or `action=answer` with `reason` and `comment`.
async fn reactivation(app: &LinksApp, req: &Request, token: &str) -> Response<Body> {
    let Some((shop, customer)) = app.links.verify_reactivation(token) else {
        tracing::warn!(outcome = "invalid_token", "reactivation link refused");
        return page(400, "nl", &invalid_page());
    };
    let settings = match app.shops.get(&shop).await {
        Ok(Some(s)) => s.settings.clone(),
        Ok(None) => return page(400, "nl", &invalid_page()),
        Err(err) => return unavailable(err),
    };
    if let Some(refused) = refuse_erased(app, &shop, &customer).await {
        return refused;
    }
    let locale = customer_locale(app, &settings, &customer).await;
    let words = LapseWords::for_locale(locale);
    let shop_name = escape(&settings.name);
    let now = app.clock.now();
    match *req.method() {
        http::Method::GET => {
            let keep = req.uri().query().and_then(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .find(|(k, _)| k == "keep")
                    .map(|(_, v)| v.into_owned())
            });
            let keep_only = match keep.as_deref() {
                None => false,
                Some("1") => true,
                Some(_) => return page(400, locale, &format!("<p>{}</p>", words.unclear)),
            };
            let keep = format!(
                "<form method=\"post\"><input type=\"hidden\" name=\"action\" value=\"keep\"><button type=\"submit\">{}</button></form>",
                words.keep_button
            );
            let reasons: String = LapseReason::ALL
                .iter()
                .map(|r| {
                    format!(
                        "<p><input type=\"radio\" id=\"reason-{0}\" name=\"reason\" value=\"{0}\"> <label for=\"reason-{0}\">{1}</label></p>",
                        r.as_str(),
                        words.reason(*r)
                    )
                })
                .collect();
            let questions = format!(
                "<form method=\"post\"><input type=\"hidden\" name=\"action\" value=\"answer\"><fieldset><legend>1. {}</legend>{reasons}</fieldset><p><label for=\"comment\">2. {}</label></p><p><textarea id=\"comment\" name=\"comment\" rows=\"5\" maxlength=\"{MAX_COMMENT}\"></textarea></p><button type=\"submit\">{}</button></form>",
                words.why, words.better, words.send
            );
            let body = if keep_only {
                format!("<h1>{shop_name}</h1><p>{}</p>{keep}", words.keep_question)
            } else {
                format!(
                    "<h1>{shop_name}</h1><p>{}</p>{keep}<h2>{}</h2>{questions}",
                    words.keep_question, words.two_questions
                )
            };
            page(200, locale, &body)
        }
        http::Method::POST => {
            let form = form_fields(req);
            let action = form
                .iter()
                .find(|(k, _)| k == "action")
                .map(|(_, v)| v.as_str());
            if comment_field(&form).is_err() {
                return page(400, locale, &format!("<p>{}</p>", words.too_long));
            }
            // A reason outside the list is unclear whatever the action, never ignored.
            if form
                .iter()
                .any(|(k, v)| k == "reason" && !v.is_empty() && LapseReason::parse(v).is_none())
            {
                return page(400, locale, &format!("<p>{}</p>", words.unclear));
            }
            let (kind, id, done) = match action {
                Some("keep") => (
                    EventKind::KeptInTouch,
                    EventId::derived(
                        "keep",
                        &[customer.as_str(), &(now.as_second() / 86_400).to_string()],
                    ),
                    words.kept,
                ),
                Some("answer") => {
                    let reason = match form.iter().find(|(k, _)| k == "reason") {
                        None => None,
                        Some((_, v)) if v.is_empty() => None,
                        Some((_, v)) => match LapseReason::parse(v) {
                            Some(r) => Some(r),
                            None => {
                                return page(400, locale, &format!("<p>{}</p>", words.unclear));
                            }
                        },
                    };
                    let Ok(comment) = comment_field(&form) else {
                        return page(400, locale, &format!("<p>{}</p>", words.too_long));
                    };
                    if reason.is_none() && comment.is_none() {
                        return page(400, locale, &format!("<p>{}</p>", words.unclear));
                    }
                    let answer = fingerprint(&format!(
                        "{}\n{}",
                        reason.map_or("", LapseReason::as_str),
                        comment.as_deref().unwrap_or("")
                    ));
                    let id = EventId::derived("lapse-answer", &[customer.as_str(), &answer]);
                    (
                        EventKind::LapseSurveyAnswered(LapseSurvey { reason, comment }),
                        id,
                        words.answered,
                    )
                }
                _ => return page(400, locale, &format!("<p>{}</p>", words.unclear)),
            };
            if let Err(response) = apply_answer(app, &settings, &customer, id, kind).await {
                return response;
            }
            tracing::info!(
                outcome = action.unwrap_or_default(),
                "reactivation answer recorded"
            );
            page(200, locale, &format!("<h1>{shop_name}</h1><p>{done}</p>"))
        }
        _ => method_not_allowed(),
    }
}

/// The longest comment kept (characters); longer ones are refused, not cut.
const MAX_COMMENT: usize = 2000;

/// The `comment` field: `Ok(None)` when absent or blank, `Err` when too long.
/// The choice of an unsubscribe form: `List-Unsubscribe=One-Click` (RFC 8058, everything) or
/// `scope`. A field with any other value makes the whole form unclear, so nothing changes.
fn unsubscribe_scope(form: &[(String, String)]) -> Option<OptOutScope> {
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let one_click = match field("List-Unsubscribe") {
        None => false,
        Some("One-Click") => true,
        Some(_) => return None,
    };
    let scope = match field("scope") {
        None => None,
        Some("all") => Some(OptOutScope::All),
        Some("promotional") => Some(OptOutScope::Promotional),
        Some(_) => return None,
    };
    if one_click {
        Some(OptOutScope::All)
    } else {
        scope
    }
}

fn comment_field(form: &[(String, String)]) -> Result<Option<String>, ()> {
    let comment = form
        .iter()
        .find(|(k, _)| k == "comment")
        .map(|(_, v)| v.trim().to_owned())
        .filter(|c| !c.is_empty());
    match comment {
        Some(c) if c.chars().count() > MAX_COMMENT => Err(()),
        other => Ok(other),
    }
}

fn form_fields(req: &Request) -> Vec<(String, String)> {
    form_urlencoded::parse(req.body().as_ref())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// A short, stable fingerprint of an answer, so the same answer sent twice is one event.
fn fingerprint(text: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(text.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Applies an answer from a link as an event, through the same path as a webhook.
async fn apply_answer(
    app: &LinksApp,
    settings: &crate::domain::ShopSettings,
    customer: &CustomerId,
    id: EventId,
    kind: EventKind,
) -> Result<(), Response<Body>> {
    let event = ShopEvent {
        id,
        source: "link".into(),
        occurred_at: app.clock.now(),
        customer: CustomerFacts {
            id: customer.clone(),
            email: None,
            first_name: None,
            locale: None,
            marketing_consent: None,
            address: None,
            birthday: None,
        },
        kind,
    };
    super::apply_event(&app.store, app.clock.as_ref(), settings, &event)
        .await
        .map(|_| ())
        .map_err(unavailable)
}

/// Erased on request and not a customer again since (no address to write to): the links
/// mailed before the erasure lead nowhere, so that nothing of theirs is stored again through
/// them, not even an answer or an opt-out.
fn erased_since(profile: &crate::domain::CustomerProfile) -> bool {
    profile.erased_at.is_some() && profile.contact.email().is_none()
}

/// The invalid-link page for an erased customer's link (see [`erased_since`]).
async fn refuse_erased(
    app: &LinksApp,
    shop: &ShopId,
    customer: &CustomerId,
) -> Option<Response<Body>> {
    match app.store.profile(shop, customer).await {
        Ok(Some(profile)) if erased_since(&profile) => {
            tracing::warn!(outcome = "erased_customer", "link refused");
            Some(page(400, "nl", &invalid_page()))
        }
        Ok(_) => None,
        Err(err) => Some(unavailable(err)),
    }
}

/// The customer's language for a page, or the shop's.
async fn customer_locale(
    app: &LinksApp,
    settings: &crate::domain::ShopSettings,
    customer: &CustomerId,
) -> &'static str {
    let profile = app
        .store
        .profile(&settings.id, customer)
        .await
        .ok()
        .flatten();
    crate::mail::Renderer::locale_for(
        profile
            .as_ref()
            .and_then(|p| p.contact.locale())
            .map(|l| l.as_str()),
        settings.default_locale.as_str(),
    )
}

fn method_not_allowed() -> Response<Body> {
    Response::builder()
        .status(405)
        .header("allow", "GET, POST")
        .body(Body::Empty)
        .expect("static response")
}

/// Records the opt-out on the profile. When it changes the customer's preferences and the link
/// names its email, the email is marked first (`unsubscribed_at`, once), so that the
/// unsubscribe counts against its kind; a retry after a failure marks nothing twice. An
/// opt-out that changes nothing (already unsubscribed) counts nowhere.
async fn apply(
    app: &LinksApp,
    shop: &ShopId,
    customer: &CustomerId,
    scope: OptOutScope,
    message: Option<&str>,
) -> Result<(), StoreError> {
    let mut marked = false;
    for _ in 0..5 {
        let Some(profile) = app.store.profile(shop, customer).await? else {
            return Ok(());
        };
        let Some(next) = unsubscribe(&profile, scope, app.clock.now()) else {
            return Ok(());
        };
        if let (Some(key), false) = (message, marked) {
            app.store
                .record_unsubscribe(shop, customer, key, app.clock.now())
                .await?;
            marked = true;
        }
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

struct SurveyWords {
    pick_score: &'static str,
    your_score: &'static str,
    send_answer: &'static str,
    thanks: &'static str,
    comment_label: &'static str,
    send: &'static str,
    comment_needed: &'static str,
    comment_thanks: &'static str,
}

impl SurveyWords {
    fn for_locale(locale: &str) -> SurveyWords {
        match locale {
            "en" => SurveyWords {
                pick_score: "Please pick a score from 0 to 10.",
                your_score: "How likely are you to recommend us? Your score:",
                send_answer: "Send my answer",
                thanks: "Thank you for your answer! It helps us do better.",
                comment_label: "Anything you would like to add? (optional)",
                send: "Send",
                comment_needed: "Please write a comment of at most 2,000 characters.",
                comment_thanks: "Thank you, we have read your comment.",
            },
            _ => SurveyWords {
                pick_score: "Kies een cijfer van 0 tot 10.",
                your_score: "Hoe waarschijnlijk is het dat je ons aanraadt? Jouw cijfer:",
                send_answer: "Verstuur mijn antwoord",
                thanks: "Dank je wel voor je antwoord! Daar worden we beter van.",
                comment_label: "Wil je er nog iets over kwijt? (niet verplicht)",
                send: "Versturen",
                comment_needed: "Schrijf een opmerking van hooguit 2000 tekens.",
                comment_thanks: "Dank je wel, je opmerking is bij ons aangekomen.",
            },
        }
    }
}

struct LapseWords {
    keep_question: &'static str,
    keep_button: &'static str,
    two_questions: &'static str,
    why: &'static str,
    better: &'static str,
    send: &'static str,
    kept: &'static str,
    answered: &'static str,
    unclear: &'static str,
    too_long: &'static str,
    reasons: [&'static str; 5],
}

impl LapseWords {
    fn for_locale(locale: &str) -> LapseWords {
        match locale {
            "en" => LapseWords {
                keep_question: "Would you like to keep hearing from us?",
                keep_button: "Yes, keep me posted",
                two_questions: "Two questions, if you have a minute",
                why: "Why have you not ordered from us for a while?",
                better: "What could we do better? (optional)",
                send: "Send",
                kept: "Thank you! You will keep hearing from us.",
                answered: "Thank you for telling us. We read every answer.",
                unclear: "Please choose an answer or write a few words.",
                too_long: "Please keep your answer under 2,000 characters.",
                reasons: [
                    "I did not need anything",
                    "I buy it somewhere else now",
                    "It was too expensive",
                    "I was not happy with an earlier order",
                    "Something else",
                ],
            },
            _ => LapseWords {
                keep_question: "Wil je van ons blijven horen?",
                keep_button: "Ja, houd me op de hoogte",
                two_questions: "Twee vragen, als je even tijd hebt",
                why: "Waarom heb je een tijd niets bij ons besteld?",
                better: "Wat kunnen we beter doen? (niet verplicht)",
                send: "Versturen",
                kept: "Dank je wel! Je blijft van ons horen.",
                answered: "Dank je wel dat je het ons laat weten. We lezen elk antwoord.",
                unclear: "Kies een antwoord of schrijf een paar woorden.",
                too_long: "Houd je antwoord onder de 2000 tekens.",
                reasons: [
                    "Ik had niets nodig",
                    "Ik koop het nu ergens anders",
                    "Het was te duur",
                    "Ik was niet tevreden over een eerdere bestelling",
                    "Iets anders",
                ],
            },
        }
    }

    fn reason(&self, reason: LapseReason) -> &'static str {
        let at = LapseReason::ALL
            .iter()
            .position(|r| *r == reason)
            .unwrap_or(4);
        self.reasons[at]
    }
}

/// The one style sheet of the link pages (allowed by its hash, like the script).
const STYLE: &str = "body{font-family:sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}textarea{width:100%}label.score{display:inline-block;min-width:2.5rem}";

fn page(status: u16, locale: &str, body: &str) -> Response<Body> {
    page_with_script(status, locale, body, None)
}

/// A link page. Its Content-Security-Policy allows nothing but its own style sheet, `script`
/// (when given) by hash, and forms posting back to this site.
fn page_with_script(status: u16, locale: &str, body: &str, script: Option<&str>) -> Response<Body> {
    let script_tag = script.map_or(String::new(), |s| format!("<script>{s}</script>"));
    let html = format!(
        "<!doctype html><html lang=\"{locale}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>trouw</title><style>{STYLE}</style></head><body>{body}{script_tag}</body></html>"
    );
    let script_src = script.map_or("'none'".to_owned(), csp_hash);
    let policy = format!(
        "default-src 'none'; style-src {}; script-src {script_src}; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        csp_hash(STYLE)
    );
    Response::builder()
        .status(status)
        .header("content-type", "text/html; charset=utf-8")
        .header("cache-control", "no-store")
        .header("referrer-policy", "no-referrer")
        .header("content-security-policy", policy)
        .body(Body::Text(html))
        .expect("static response parts")
}

/// A CSP source for an inline script or style: `'sha256-<base64 of its SHA-256>'`.
pub fn csp_hash(inline: &str) -> String {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(inline.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
