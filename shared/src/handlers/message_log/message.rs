//! `GET /admin/messages/{customer}/{key}`: one message, its subject, template, status history
//! and the decision that created it.

use super::AdminApp;
use super::render::{Lang, json_error, local, merge, query_pairs, shop_of};
use crate::admin::{MessageRow, status_word};
use crate::domain::CustomerId;
use crate::store::StoreError;
use lambda_http::{Body, Request, Response};
use serde_json::json;

pub(super) async fn message_page(
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
    // Message keys never hold a slash (see `message_key`); customer ids may.
    let (customer_part, key_part) = rest.rsplit_once('/').unzip();
    let decode = |p: Option<&str>| {
        p.map(|p| {
            form_urlencoded::parse(format!("x={p}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        })
    };
    let (Some(customer), Some(key)) = (decode(customer_part), decode(key_part)) else {
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
    super::audit::record(
        app,
        &shop,
        user,
        super::audit::Shown {
            page: "message",
            format: "html",
            filters: format!("customer={customer} key={key}"),
            rows: usize::from(email.is_some()),
            revealed: reveal,
        },
    )
    .await?;
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
