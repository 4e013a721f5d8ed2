//! `GET /admin/messages`: the message list with filters, paged through the log index, and its
//! `format=csv` / `format=json` downloads, in parts that each fit in a Lambda response.

use super::paging::{Budget, Cursor, Period, read_log};
use super::render::{Lang, json_error, merge, query_error, respond, shop_of};
use super::{AdminApp, EXPORT_PART_BYTES, PAGE_ROWS};
use crate::admin::filters::{Format, MessageFilter, STATUSES, class_word};
use crate::admin::labels::{Group, code};
use crate::admin::rows::reason_words;
use crate::admin::{MessageRow, csv, status_word};
use crate::domain::{CustomerId, ShopId};
use crate::mail::render::KINDS;
use crate::store::{MessageRecord, StoreError};
use lambda_http::{Body, Request, Response};
use serde_json::json;
use std::collections::BTreeMap;

/// Room in a row's weight for its address (at most 254 characters, quoted or escaped) and the
/// separators around it.
const ADDRESS_ROOM: usize = 2 * 254 + 32;

/// What a row of a download can take at most, in bytes: its JSON without an address, plus room
/// for one. A CSV line is shorter (no field names; only quotes are doubled).
fn row_bytes(m: &MessageRecord, tz: &jiff::tz::TimeZone) -> usize {
    // Revealed: the longest form of a reason (addresses SES quoted in it are masked otherwise).
    let row = MessageRow::new(m, None, true, tz);
    serde_json::to_string(&row).map_or(64 * 1024, |json| json.len()) + ADDRESS_ROOM
}

/// A filter's choices: the code as the value, its label as the text.
fn options(lang: &str, group: Group, codes: &[&str]) -> Vec<serde_json::Value> {
    codes
        .iter()
        .map(|c| json!({ "code": c, "label": code(lang, group, c) }))
        .collect()
}

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
        Err(err) => return Ok(query_error(&err)),
    };
    let period = Period::of(&tz, filter.from, filter.to);
    let cursor = match filter
        .cursor
        .as_deref()
        .map(|c| Cursor::decode(c, &shop, &period))
    {
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
    let one = |_: &MessageRecord| 1;
    let bytes = |m: &MessageRecord| row_bytes(m, &tz);
    let budget = if filter.format == Format::Html {
        Budget {
            limit: PAGE_ROWS,
            weight: &one,
            page: 100,
        }
    } else {
        Budget {
            limit: EXPORT_PART_BYTES,
            weight: &bytes,
            page: 500,
        }
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
            let mut all = Vec::new();
            for customer in customers {
                let items = app.store.customer_items(&shop, &customer).await?;
                all.extend(
                    items
                        .messages
                        .into_iter()
                        .map(|m| m.seen_at(app.clock.now()))
                        .filter(|m| period.holds(m.intent.created_at) && keep(m)),
                );
            }
            (all, None)
        }
        None => read_log(app, &shop, &period, cursor, &keep, &budget).await?,
    };
    messages.sort_by_key(|m| std::cmp::Reverse(m.intent.created_at));
    let emails: BTreeMap<CustomerId, String> = app
        .store
        .emails(&shop, messages.iter().map(|m| &m.intent.customer_id))
        .await?
        .into_iter()
        .map(|(customer, email)| (customer, email.as_str().to_owned()))
        .collect();
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
    super::audit::record(
        app,
        &shop,
        user,
        super::audit::Shown {
            page: "messages",
            format: match filter.format {
                Format::Html => "html",
                Format::Csv => "csv",
                Format::Json => "json",
            },
            filters: crate::admin::audit::describe_filter(&filter),
            rows: rows.len(),
            revealed: filter.reveal,
        },
    )
    .await?;
    // A download with more to come names its next part.
    let next_part = next
        .as_ref()
        .filter(|_| filter.format != Format::Html)
        .map(|c| {
            format!(
                "/admin/messages?{}",
                filter.query(filter.format, Some(&c.encode()))
            )
        });
    let with_next = |mut response: Response<Body>| {
        if let Some(next) = &next_part
            && let Ok(link) = http::HeaderValue::from_str(&format!("<{next}>; rel=\"next\""))
        {
            response.headers_mut().insert(http::header::LINK, link);
        }
        response
    };
    match filter.format {
        Format::Csv => {
            let mut response = with_next(respond(200, "text/csv; charset=utf-8", csv::write(&rows)));
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
        Format::Json => Ok(with_next(respond(
            200,
            "application/json",
            json!({ "shop": shop.as_str(), "from": filter.from.to_string(), "to": filter.to.to_string(), "rows": rows, "next": next_part }).to_string(),
        ))),
        Format::Html => {
            let l = lang.lang;
            let labelled: Vec<serde_json::Value> = rows
                .iter()
                .zip(&messages)
                .map(|(row, m)| {
                    merge(
                        json!(row),
                        json!({
                            "kind_label": code(l, Group::Kind, &row.kind),
                            "class_label": code(l, Group::Class, &row.class),
                            "status_label": code(l, Group::Status, &row.status),
                            "reason_label": reason_words(l, m, filter.reveal, &tz),
                        }),
                    )
                })
                .collect();
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
                        "kinds": options(lang.lang, Group::Kind, &KINDS),
                        "classes": options(lang.lang, Group::Class, &["transactional", "service", "promotional", "internal"]),
                        "statuses": options(lang.lang, Group::Status, &STATUSES),
                        "rows": labelled,
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
