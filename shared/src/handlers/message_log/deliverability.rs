//! Deliverability on the pages: the overview's 7- and 30-day bounce and complaint rates, and
//! the warning every page shows when a shop's rates are close to or over a mark.
//!
//! Both count the same days: the 30 UTC days up to the day before yesterday, the last days
//! whose summaries are kept. The overview counts any day not kept yet from the log (and keeps
//! it); the banner reads only the kept summaries, one `Query` of at most 30 small items per
//! shop, so no page view reads a month of messages.

use super::AdminApp;
use super::overview::{day_item, tally_days};
use crate::admin::day_source::banner_tally;
use crate::admin::deliverability::{Level, Window, window};
use crate::admin::overview::{DayTally, Take, Tally, day_parts, utc_day_bounds};
use crate::domain::{CustomerId, ShopId};
use crate::store::StoreError;
use crate::store::summaries::StoredDaySummary;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The windows' days: 7 and 30, ending the day before yesterday (UTC).
pub(super) fn days(now: Timestamp) -> (Date, Date, Date) {
    let today = crate::store::summaries::log_day_of(now);
    let last = today.saturating_sub(Span::new().days(2));
    (
        last.saturating_sub(Span::new().days(29)),
        last.saturating_sub(Span::new().days(6)),
        last,
    )
}

/// The overview's windows for a shop, counting days not kept yet from the log. `read` is the
/// summaries the overview already read, through its first date (used when they reach the
/// windows' last day, saving a query), and the first day the stream consumer counted whole.
pub(super) async fn windows(
    app: &AdminApp,
    shop: &ShopId,
    tz: &TimeZone,
    holdout: u8,
    held_out: &(dyn Fn(&CustomerId) -> bool + Sync),
    (read_to, read, counted_since): (Date, &BTreeMap<Date, StoredDaySummary>, Option<Date>),
    counted_here: &mut BTreeMap<Date, DayTally>,
) -> Result<Vec<Window>, StoreError> {
    let (first30, first7, last) = days(app.clock.now());
    let queried;
    let stored = if read_to >= last {
        read
    } else {
        queried = app.store.day_summaries(shop, first30, last).await?;
        &queried
    };
    let parts = day_parts(utc_day_bounds(first30).0, utc_day_bounds(last).1, tz);
    let (mut week, mut month) = (Tally::default(), Tally::default());
    for part in &parts {
        let by_day = tally_days(
            app,
            shop,
            std::slice::from_ref(part),
            (stored, counted_since),
            holdout,
            held_out,
            tz,
            counted_here,
        )
        .await?;
        for tally in by_day.values() {
            month.add(tally);
            if part.day >= first7 {
                week.add(tally);
            }
        }
    }
    Ok(vec![window(7, &week), window(30, &month)])
}

/// The warnings for every shop these pages show whose 7- or 30-day rates are close to or over
/// a mark, from the kept day summaries only.
pub(super) async fn warnings(app: &AdminApp) -> Result<Vec<Value>, StoreError> {
    let (first30, first7, last) = days(app.clock.now());
    let mut found = Vec::new();
    for shop in &app.allowed_shops {
        let stored = app.store.day_summaries(shop, first30, last).await?;
        let (mut week, mut month) = (Tally::default(), Tally::default());
        for (day, summary) in &stored {
            let Some(kept) = banner_tally(day_item(summary)) else {
                continue;
            };
            let whole = kept.part(Take::Whole);
            month.add(&whole);
            if *day >= first7 {
                week.add(&whole);
            }
        }
        let worst = [window(7, &week), window(30, &month)]
            .into_iter()
            .filter(|w| w.level >= Level::Close)
            .max_by_key(|w| (w.level, w.days));
        if let Some(w) = worst {
            found.push(json!({
                "shop": shop.as_str(),
                "days": w.days,
                "bounce_rate": w.bounce_rate,
                "complaint_rate": w.complaint_rate,
                "over": w.level == Level::Over,
            }));
        }
    }
    Ok(found)
}
