//! `GET /admin/messages`: the message list with filters, paged through the log index, and its
//! `format=csv` / `format=json` downloads.

use super::paging::{Cursor, read_log};
use super::render::{Lang, json_error, merge, respond, shop_of};
use super::{AdminApp, MAX_EXPORT_ROWS, PAGE_ROWS};
use crate::admin::filters::{Format, MessageFilter, STATUSES, class_word};
use crate::admin::{MessageRow, csv, status_word};
use crate::domain::{CustomerId, ShopId};
use crate::mail::render::KINDS;
use crate::store::{LogEntry, MessageRecord, StoreError};
use lambda_http::{Body, Request, Response};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

fn matches(filter: &MessageFilter, m: &MessageRecord) -> bool {
    filter
        .kind
        .as_deref()
        .is_none_or(|k| m.intent.data.kind() == k)
        && filter.class.is_none_or(|c| m.intent.class == c)
        && filter.status.as_deref().is_none_or(|s| status_word(m) == s)
}

pub(super) async fn messages_page(
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
