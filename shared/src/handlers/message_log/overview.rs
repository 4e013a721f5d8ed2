//! `GET /admin`: the overview for a period (figures per kind, skips by reason, NPS,
//! reactivation beside the holdout group), added up from day summaries: a past day is counted
//! once from its log, page by page, and kept (see `store::summaries`); today and yesterday are
//! always counted afresh. No request holds the period's log items.

use super::AdminApp;
use super::paging::Period;
use super::render::respond;
use super::render::{Lang, merge, query_error, query_pairs, shop_of};
use crate::admin::day_source::{DayItem, DaySource, day_source};
use crate::admin::filters::{Format, format_of, period};
use crate::admin::kind_figures::{kind_rows, percent_text, row_json, write_csv};
use crate::admin::labels::{Group, code};
use crate::admin::nps_value::{ValueByGroup, value_by_group, value_json};
use crate::admin::overview::{
    DayPart, DayTally, Fold, Take, Tally, day_parts, first_local_day_in, summary_basis,
    utc_day_bounds,
};
use crate::admin::overview_charts::overview_charts;
use crate::admin::points::{PointsFigures, PoolStock};
use crate::admin::uplift::{how_computed, uplift_figures};
use crate::domain::{CustomerId, ShopId, is_held_out};
use crate::store::summaries::{self, StoredDaySummary};
use crate::store::{LogEntry, StoreError};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use lambda_http::{Body, Request, Response};
use serde_json::json;
use std::collections::BTreeMap;

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
    let param = |name: &str| {
        pairs
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.clone())
    };
    let (from, to) = match period(param("from"), param("to"), today, |to| to.first_of_month()) {
        Ok(found) => found,
        Err(err) => return Ok(query_error(&err)),
    };
    let format = match format_of(param("format").as_deref()) {
        Ok(format) => format,
        Err(err) => return Ok(query_error(&err)),
    };
    let settings = app.shops.get(&shop).await?;
    let holdout = settings.as_ref().map_or(0, |s| s.settings.holdout_percent);
    let held_out = |c: &CustomerId| is_held_out(&shop, c, holdout);
    let period = Period::of(&tz, from, to);
    let parts = day_parts(period.start, period.end, &tz);
    // Every summary up to the period's last day: the period's own, and those before it that
    // the outstanding points are added up from.
    let read_to = parts.last().map_or(Date::MIN, |p| p.day);
    // With them, the first day the stream consumer counted whole: from then on the days'
    // counters serve and no log is read.
    let (stored, counted_since) = match parts.last() {
        Some(last) => {
            app.store
                .day_summaries_and_since(&shop, jiff::civil::Date::MIN, last.day)
                .await?
        }
        None => Default::default(),
    };
    let mut counted_here = BTreeMap::new();
    let by_day = tally_days(
        app,
        &shop,
        &parts,
        (&stored, counted_since),
        holdout,
        &held_out,
        &tz,
        &mut counted_here,
    )
    .await?;
    let mut total = Tally::default();
    for tally in by_day.values() {
        total.add(tally);
    }
    // The points customers hold at the period's end: the net of every day from the first
    // day the shop's summaries know (or the period's start, if earlier) to the period's end.
    let since = stored
        .keys()
        .next()
        .map(|first| first_local_day_in(*first, &tz))
        .filter(|d| *d < from)
        .unwrap_or(from);
    let before = match tz.to_timestamp(since.at(0, 0, 0, 0)) {
        Ok(start) if start < period.start => {
            let parts = day_parts(start, period.start, &tz);
            tally_parts(
                app,
                &shop,
                &parts,
                (&stored, counted_since),
                holdout,
                &held_out,
                &tz,
                &mut counted_here,
            )
            .await?
        }
        _ => Tally::default(),
    };
    let outstanding = before.points.net() + total.points.net();
    let rewards = settings
        .as_ref()
        .map(|s| s.settings.loyalty.rewards.clone())
        .unwrap_or_default();
    let points = PointsFigures::new(&total.points, outstanding, since, &rewards);
    let mut pools = Vec::new();
    // A reward whose codes the shop's endpoint makes has no pool to run out.
    for reward in rewards.iter().filter(|r| r.code_source.is_pool()) {
        let free = app.store.count_free_codes(&shop, &reward.id).await?;
        pools.push(PoolStock::new(reward, free));
    }
    let figures = total.overview();
    let l = lang.lang;
    let windows = super::deliverability::windows(
        app,
        &shop,
        &tz,
        holdout,
        &held_out,
        (read_to, &stored, counted_since),
        &mut counted_here,
    )
    .await?;
    let words_for_level = crate::admin::labels::labels(l);
    let deliverability: Vec<serde_json::Value> = windows
        .iter()
        .map(|w| {
            let word = |level: crate::admin::deliverability::Level| {
                let key = match level {
                    crate::admin::deliverability::Level::Unjudged => "level_unjudged",
                    crate::admin::deliverability::Level::Fine => "level_fine",
                    crate::admin::deliverability::Level::Close => "level_close",
                    crate::admin::deliverability::Level::Over => "level_over",
                };
                words_for_level[key].as_str().unwrap_or_default().to_owned()
            };
            merge(
                json!(w),
                json!({
                    "bounce_word": word(w.bounce_level),
                    "complaint_word": word(w.complaint_level),
                    "bounce_class": format!("{:?}", w.bounce_level).to_lowercase(),
                    "complaint_class": format!("{:?}", w.complaint_level).to_lowercase(),
                }),
            )
        })
        .collect();
    let rows = kind_rows(&figures);
    // A shop without a holdout has no uplift to show, unless the period holds messages it
    // held out before.
    let holdout_kinds = settings
        .as_ref()
        .filter(|_| holdout > 0)
        .map(|s| s.settings.holdout_kinds.clone())
        .unwrap_or_default();
    let uplift_rows = uplift_figures(&total.holdout, &holdout_kinds);
    let value_by_nps = value_by_group(&figures.nps_value);
    match format {
        Format::Html => {}
        Format::Csv => {
            let mut response = respond(200, "text/csv; charset=utf-8", write_csv(&rows));
            let name = format!("attachment; filename=\"trouw-{shop}-{from}-{to}-per-kind.csv\"");
            if let Ok(value) = http::HeaderValue::from_str(&name) {
                response
                    .headers_mut()
                    .insert(http::header::CONTENT_DISPOSITION, value);
            }
            return Ok(response);
        }
        Format::Json => {
            let answer = json!({
                "shop": shop.as_str(),
                "period": { "from": from.to_string(), "to": to.to_string(), "time_zone": tz.iana_name().unwrap_or("UTC") },
                "kinds": rows.iter().map(row_json).collect::<Vec<_>>(),
                "nps": figures.nps,
                "value_by_nps": value_json(&value_by_nps),
                "reactivation": figures.reactivation,
                "skips": figures.skips.iter().map(|(reason, n)| json!({ "reason": reason, "count": n })).collect::<Vec<_>>(),
                "loyalty": points,
                "deliverability": { "windows": windows },
                "uplift": uplift_rows,
            });
            return Ok(respond(200, "application/json", answer.to_string()));
        }
    }
    let words = crate::admin::labels::labels(l);
    let funnels: Vec<_> = figures
        .kinds
        .iter()
        .map(|k| crate::admin::funnel::funnel(k, l, &words))
        .collect();
    let currency = crate::admin::kind_figures::shop_currency(&figures.kinds);
    let charts = overview_charts(&by_day, from, to, currency, &words);
    let kinds: Vec<serde_json::Value> = figures
        .kinds
        .iter()
        .zip(&rows)
        .map(|(k, r)| {
            merge(
                json!(k),
                json!({
                    "label": code(l, Group::Kind, &k.kind),
                    "revenue_text": r.revenue.as_ref().map_or_else(|| "–".to_owned(), ToString::to_string),
                    "other_revenue_text": r.other_revenue.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
                    "rate_text": percent_text(r.placed_order_rate),
                    "per_recipient_text": r.revenue_per_recipient.as_ref().map_or_else(|| "–".to_owned(), ToString::to_string),
                }),
            )
        })
        .collect();
    let uplift: Vec<serde_json::Value> = uplift_rows
        .iter()
        .map(|u| merge(json!(u), json!({ "label": code(l, Group::Kind, &u.kind) })))
        .collect();
    let skips: Vec<serde_json::Value> = figures
        .skips
        .iter()
        .map(|(reason, n)| json!({ "label": code(l, Group::Reason, reason), "count": n }))
        .collect();
    Ok(app.render(
        200,
        "overview.html",
        merge(
            lang.context(Some(user), &shop),
            json!({
                "shops": app.allowed_shops.iter().map(ShopId::as_str).collect::<Vec<_>>(),
                "from": from.to_string(), "to": to.to_string(), "o": figures,
                "kinds": kinds, "skips": skips, "points": points, "pools": pools,
                "charts": charts, "funnels": funnels, "deliverability": deliverability,
                "csv_query": download_query(&shop, from, to, "csv"),
                "json_query": download_query(&shop, from, to, "json"),
                "uplift": uplift, "uplift_how": how_computed(l),
                "value_by_nps": value_page(&value_by_nps, l),
            }),
        ),
    ))
}

/// The value per NPS group as the page shows it: each group's label, size and average, the
/// ratio as `3.2×`.
fn value_page(v: &ValueByGroup, lang: &str) -> serde_json::Value {
    let words = crate::admin::labels::labels(lang);
    json!({
        "groups": v.groups.iter().map(|g| json!({
            "group": g.group,
            "label": words[g.group],
            "answers": g.answers,
            "average": g.average_value.as_ref().map_or_else(|| "–".to_owned(), ToString::to_string),
        })).collect::<Vec<_>>(),
        "ratio": v.ratio.map(|r| format!("{r:.2}×")),
        "enough_data": v.enough_data,
    })
}

/// The query of the overview's download in `format` for the period.
fn download_query(shop: &ShopId, from: Date, to: Date, format: &str) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("shop", shop.as_str())
        .append_pair("from", &from.to_string())
        .append_pair("to", &to.to_string())
        .append_pair("format", format);
    q.finish()
}

/// The tally of these day parts: from the kept summaries where they hold, else counted from
/// the log (and kept, for days that are over and settled).
// The request's shop, its summaries and its holdout travel together through these two; a
// struct for them would only rename the arguments.
#[allow(clippy::too_many_arguments)]
async fn tally_parts(
    app: &AdminApp,
    shop: &ShopId,
    parts: &[DayPart],
    stored: Stored<'_>,
    holdout: u8,
    held_out: &(dyn Fn(&CustomerId) -> bool + Sync),
    tz: &TimeZone,
    counted_here: &mut BTreeMap<Date, DayTally>,
) -> Result<Tally, StoreError> {
    let by_day = tally_days(
        app,
        shop,
        parts,
        stored,
        holdout,
        held_out,
        tz,
        counted_here,
    )
    .await?;
    let mut total = Tally::default();
    for tally in by_day.values() {
        total.add(tally);
    }
    Ok(total)
}

/// The day items read, and the first day whose counters are whole (if the shop has one).
pub(super) type Stored<'a> = (&'a BTreeMap<Date, StoredDaySummary>, Option<Date>);

/// The tallies of these day parts by the shop's local day: from the stream consumer's counters
/// for the days they hold whole (from `counted_since` on, unless a recount marked the day),
/// else from the kept summaries where they hold, else counted from the log (and kept, for
/// days that are over and settled).
#[allow(clippy::too_many_arguments)]
pub(super) async fn tally_days(
    app: &AdminApp,
    shop: &ShopId,
    parts: &[DayPart],
    (stored, counted_since): Stored<'_>,
    holdout: u8,
    held_out: &(dyn Fn(&CustomerId) -> bool + Sync),
    tz: &TimeZone,
    counted_here: &mut BTreeMap<Date, DayTally>,
) -> Result<BTreeMap<Date, Tally>, StoreError> {
    let now = app.clock.now();
    let mut by_day = BTreeMap::new();
    for part in parts {
        let basis = summary_basis(part.split, holdout);
        let window = matches!(part.take, Take::Window(..));
        let read = stored.get(&part.day);
        let may_keep = summaries::cacheable(part.day, now);
        let keep = match day_source(
            part,
            read.map(day_item),
            counted_since,
            &basis,
            may_keep,
            now,
        ) {
            DaySource::Counters(counted) | DaySource::Kept(counted) => {
                add_by_local_day(&mut by_day, part, &counted, tz);
                continue;
            }
            DaySource::Log { keep } => keep,
        };
        // A day this request already counted whole (the period's and deliverability's days
        // overlap) is not read again.
        if !window && let Some(counted) = counted_here.get(&part.day) {
            add_by_local_day(&mut by_day, part, counted, tz);
            continue;
        }
        let counted = count_day(app, shop, part, held_out).await?;
        if !window {
            counted_here.insert(part.day, counted.clone());
        }
        if keep {
            let counts = counted
                .to_kept_json()
                .map_err(|e| StoreError::Corrupt(format!("day summary: {e}")))?;
            // Not kept if the day changed meanwhile; counted again next time.
            app.store
                .keep_day_summary(shop, part.day, read, &basis, &counts)
                .await?;
        }
        add_by_local_day(&mut by_day, part, &counted, tz);
    }
    Ok(by_day)
}

/// Adds what `part` takes of a UTC day's tally to the local days it belongs to: the part
/// before the split to the local day that ends there, the rest to the one that starts there.
fn add_by_local_day(
    by_day: &mut BTreeMap<Date, Tally>,
    part: &DayPart,
    day: &DayTally,
    tz: &TimeZone,
) {
    let local = |t: Timestamp| t.to_zoned_datetime(tz.clone()).date();
    let before_split =
        |s: Timestamp| local(s.saturating_sub(SignedDuration::from_nanos(1)).unwrap_or(s));
    let mut add = |date: Date, tally: &Tally| by_day.entry(date).or_default().add(tally);
    match (part.take, part.split) {
        (Take::Before, Some(split)) => add(before_split(split), &day.before),
        (Take::After, Some(split)) => add(local(split), &day.after),
        (Take::Whole, Some(split)) => {
            add(before_split(split), &day.before);
            add(local(split), &day.after);
        }
        (Take::Window(lo, _), _) => add(local(lo), &day.part(part.take)),
        _ => add(local(utc_day_bounds(part.day).0), &day.part(part.take)),
    }
}

/// A day's item as the pure rules of [`day_source`] read it.
pub(super) fn day_item(read: &StoredDaySummary) -> DayItem<'_> {
    DayItem {
        counters: &read.counters,
        kept: read
            .kept
            .as_ref()
            .map(|(basis, counts)| (basis.as_str(), counts.as_str())),
        from_log: read.from_log,
        changed_at: read.changed_at,
    }
}

/// Counts one UTC day from the log index, a page at a time, into its parts before and from
/// its split (only the window's items for an odd stretch).
async fn count_day(
    app: &AdminApp,
    shop: &ShopId,
    part: &DayPart,
    held_out: &(dyn Fn(&CustomerId) -> bool + Sync),
) -> Result<DayTally, StoreError> {
    let (mut before, mut after) = (Fold::default(), Fold::default());
    let mut key = None;
    loop {
        let (page, next) = app.store.log_page(shop, part.day, key, 500).await?;
        for entry in &page {
            let at = match entry {
                LogEntry::Message(m) => m.intent.created_at,
                LogEntry::Activity(a) => a.activity.at,
                LogEntry::Ledger(e) => e.at,
            };
            if let Take::Window(lo, hi) = part.take
                && (at < lo || at >= hi)
            {
                continue;
            }
            let fold = if part.split.is_some_and(|split| at < split) {
                &mut before
            } else {
                &mut after
            };
            match entry {
                LogEntry::Message(m) => fold.message(m),
                LogEntry::Activity(a) => fold.activity(a, held_out),
                LogEntry::Ledger(e) => fold.ledger(e),
            }
        }
        key = next;
        if key.is_none() {
            return Ok(DayTally {
                before: before.finish(),
                after: after.finish(),
            });
        }
    }
}
