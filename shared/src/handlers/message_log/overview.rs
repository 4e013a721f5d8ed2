//! `GET /admin`: the overview for a period (figures per kind, skips by reason, NPS,
//! reactivation beside the holdout group).

use super::AdminApp;
use super::paging::read_log;
use super::render::{Lang, json_error, merge, query_pairs, shop_of};
use crate::admin::overview;
use crate::domain::{ShopId, is_held_out};
use crate::store::{LogEntry, StoreError};
use lambda_http::{Body, Request, Response};
use serde_json::json;

pub(super) async fn overview_page(
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
