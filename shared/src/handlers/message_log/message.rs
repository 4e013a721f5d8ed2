//! `GET /admin/messages/{customer}/{key}`: one message, its subject, template, status history
//! and the decision that created it.

use super::AdminApp;
use super::render::{Lang, json_error, local, merge, query_pairs, shop_of};
use crate::admin::labels::{self, Group, code};
use crate::admin::rows::reason_words;
use crate::admin::{MessageRow, status_word};
use crate::domain::CustomerId;
use crate::store::StoreError;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

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
        .map(|m| m.seen_at(app.clock.now()))
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
    let l = lang.lang;
    let row = MessageRow::new(&message, None, reveal, &tz);
    let step = |status: &str, time: String, detail: Option<String>| json!({ "time": time, "status": status, "status_label": code(l, Group::Status, status), "detail": detail });
    let mut history = vec![step(
        "created",
        local(message.intent.created_at, &tz),
        Some(message.cause.as_str().to_owned()),
    )];
    // Each time it waited, even if it went afterwards: history, not a reason. Waits beyond the
    // kept ones were replaced by the latest: counted just before it.
    let latest = message.waits.len().saturating_sub(1);
    for (i, wait) in message.waits.iter().enumerate() {
        if i == latest && message.waits_dropped > 0 {
            history.push(step(
                "waited",
                String::new(),
                Some(labels::waited_more(l, message.waits_dropped)),
            ));
        }
        history.push(step(
            "waited",
            local(wait.at, &tz),
            Some(labels::waited(
                l,
                &wait.reason,
                &short_time(wait.until, &tz),
            )),
        ));
    }
    if let Some(until) = message.deferred_until
        && message.waits.is_empty()
    {
        history.push(step(
            "waited",
            String::new(),
            Some(labels::waited(
                l,
                message.reason.as_deref().unwrap_or("unknown"),
                &short_time(until, &tz),
            )),
        ));
    }
    let status = status_word(&message);
    if matches!(status, "skipped" | "held_out" | "failed" | "unknown") {
        history.push(step(
            status,
            String::new(),
            reason_words(l, &message, reveal, &tz),
        ));
    }
    if let Some(sent) = message.sent_at {
        history.push(step(
            "sent",
            local(sent, &tz),
            message.ses_message_id.clone(),
        ));
    }
    for report in &message.reports {
        history.push(step(
            report.status.as_str(),
            local(report.at, &tz),
            report
                .detail
                .as_deref()
                .map(|t| crate::admin::shown_text(t, reveal)),
        ));
    }
    // What the rules put in the message, field by field (its kind is shown above).
    let data: Vec<Value> = match serde_json::to_value(&message.intent.data) {
        Ok(Value::Object(fields)) => fields
            .into_iter()
            .filter(|(name, _)| name != "kind")
            .map(|(name, value)| {
                let value = match value {
                    Value::String(text) => text,
                    other => other.to_string(),
                };
                json!({ "name": code(l, Group::Field, &name), "value": value })
            })
            .collect(),
        _ => Vec::new(),
    };
    let kind = code(l, Group::Kind, message.intent.data.kind());
    let template = format!(
        "{kind} · {}",
        message
            .rendered_locale
            .clone()
            .or_else(|| message.intent.locale.as_ref().map(|l| l.to_string()))
            .unwrap_or_else(|| "–".into())
    );
    let m = merge(
        json!(row),
        json!({
            "kind_label": kind,
            "class_label": code(l, Group::Class, &row.class),
            "status_label": code(l, Group::Status, &row.status),
            "reason_label": reason_words(l, &message, reveal, &tz),
        }),
    );
    Ok(app.render(
        200,
        "message.html",
        merge(
            lang.context(Some(user), &shop),
            json!({ "m": m, "email": email, "history": history, "data": data, "template": template, "cause": message.cause.as_str() }),
        ),
    ))
}

/// `2026-11-02 10:00` in the shop's time zone.
fn short_time(at: jiff::Timestamp, tz: &jiff::tz::TimeZone) -> String {
    at.to_zoned_datetime(tz.clone())
        .strftime("%Y-%m-%d %H:%M")
        .to_string()
}
