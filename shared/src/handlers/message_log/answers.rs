//! `GET /admin/answers`: the answers to the shop's co-creation questions. Per question the
//! answers per option with their share, and the customers' own words, newest first (the newest
//! [`WORDS_SHOWN`]), with what looks like an email or postal address taken out. Each question's
//! answers are one Query of its own partition (`SHOP#{shop}#QUESTION#{question}`), never a scan.

use super::AdminApp;
use super::render::{Lang, local, merge, shop_of};
use crate::admin::answers::{REMOVED, figures};
use crate::domain::ShopId;
use crate::store::StoreError;
use lambda_http::{Body, Request, Response};
use serde_json::json;

/// The newest words shown per question.
pub(super) const WORDS_SHOWN: usize = 50;

pub(super) async fn answers_page(
    app: &AdminApp,
    req: &Request,
    lang: &Lang,
    user: &str,
) -> Result<Response<Body>, StoreError> {
    let (shop, tz) = match shop_of(app, req).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let questions = app
        .shops
        .get(&shop)
        .await?
        .map(|s| s.settings.questions.clone())
        .unwrap_or_default();
    let mut shown = Vec::with_capacity(questions.len());
    for question in &questions {
        let answers = app.store.question_answers(&shop, &question.id).await?;
        let f = figures(question, &answers, WORDS_SHOWN);
        let words: Vec<_> = f
            .words
            .iter()
            .map(|w| json!({ "time": local(w.at, &tz), "text": w.text }))
            .collect();
        shown.push(merge(
            json!(f),
            json!({
                "words": words,
                "active_from": question.active_from.map(|t| local(t, &tz)),
                "active_until": question.active_until.map(|t| local(t, &tz)),
                "free_text": question.free_text,
            }),
        ));
    }
    Ok(app.render(
        200,
        "answers.html",
        merge(
            lang.context(Some(user), &shop),
            json!({
                "shops": app.allowed_shops.iter().map(ShopId::as_str).collect::<Vec<_>>(),
                "questions": shown,
                "removed": REMOVED,
                "words_shown": WORDS_SHOWN,
                "time_zone": tz.iana_name().unwrap_or("UTC"),
            }),
        ),
    ))
}
