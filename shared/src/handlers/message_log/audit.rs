//! `GET /admin/audit`: every reveal of email addresses and every download, by whom, when, with
//! which filters and how many rows; and [`record`], which the pages call before they answer.

use super::AdminApp;
use super::render::{Lang, json_error, merge, query_error, query_pairs, shop_of};
use crate::admin::audit::AuditRow;
use crate::admin::filters::{period, thirty_days_before};
use crate::admin::labels::{self, Group, code};
use crate::domain::{AuditEntry, ShopId};
use crate::store::StoreError;
use lambda_http::{Body, Request, Response};
use serde_json::json;

/// Entries per page of the audit.
const AUDIT_ROWS: i32 = 200;

/// What a page is about to show, as the audit needs it.
pub(super) struct Shown<'a> {
    pub page: &'a str,
    /// `html`, `csv` or `json`.
    pub format: &'a str,
    pub filters: String,
    pub rows: usize,
    pub revealed: bool,
}

/// Records a reveal or download before the page answers: no record, no data (a failed write
/// answers 503 like any unreadable page). Masked pages are not recorded.
pub(super) async fn record(
    app: &AdminApp,
    shop: &ShopId,
    user: &str,
    shown: Shown<'_>,
) -> Result<(), StoreError> {
    let download = shown.format != "html";
    if !AuditEntry::is_audited(download, shown.revealed) {
        return Ok(());
    }
    let entry = AuditEntry {
        user: user.to_owned(),
        at: app.clock.now(),
        action: AuditEntry::action_for(download),
        page: shown.page.to_owned(),
        format: shown.format.to_owned(),
        filters: shown.filters,
        rows: u64::try_from(shown.rows).unwrap_or(u64::MAX),
        revealed: shown.revealed,
    };
    app.store.record_audit(shop, &entry).await
}

pub(super) async fn audit_page(
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
    let param = |name: &str| {
        pairs
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.clone())
    };
    let (from, to) = match period(param("from"), param("to"), today, thirty_days_before) {
        Ok(found) => found,
        Err(err) => return Ok(query_error(&err)),
    };
    let before = match param("before").map(|b| b.parse::<i64>()) {
        None => None,
        Some(Ok(micros)) if micros >= 0 => Some(micros),
        Some(_) => {
            return Ok(json_error(
                400,
                "invalid_query",
                Some("before"),
                "is not a position in this audit",
            ));
        }
    };
    let start = tz
        .to_timestamp(from.at(0, 0, 0, 0))
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let mut end = tz
        .to_timestamp(to.tomorrow().unwrap_or(to).at(0, 0, 0, 0))
        .unwrap_or(jiff::Timestamp::MAX);
    if let Some(before) = before.and_then(|b| jiff::Timestamp::from_microsecond(b).ok()) {
        end = end.min(before);
    }
    let (entries, older) = app.store.audit_page(&shop, start, end, AUDIT_ROWS).await?;
    let l = lang.lang;
    let rows: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| {
            let row = AuditRow::new(e, &tz);
            merge(
                json!(row),
                json!({
                    "action": code(l, Group::AuditAction, row.action),
                    "page": code(l, Group::AuditPage, &row.page),
                    "format": code(l, Group::Format, &row.format),
                    "filters": labels::filters(l, &row.filters),
                }),
            )
        })
        .collect();
    let langq = lang
        .param
        .as_ref()
        .map(|l| format!("&lang={l}"))
        .unwrap_or_default();
    let older_query =
        older.map(|micros| format!("shop={shop}&from={from}&to={to}&before={micros}{langq}"));
    Ok(app.render(
        200,
        "audit.html",
        merge(
            lang.context(Some(user), &shop),
            json!({
                "shops": app.allowed_shops.iter().map(ShopId::as_str).collect::<Vec<_>>(),
                "from": from.to_string(), "to": to.to_string(),
                "time_zone": tz.iana_name().unwrap_or("UTC"),
                "rows": rows,
                "older_query": older_query,
            }),
        ),
    ))
}
