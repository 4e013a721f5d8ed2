//! The loyalty rules that run on time: tiers that qualify on the points of a rolling 12 months
//! and are kept until their `retain_until`, available points that expire after a period
//! without an order (with warnings before), and points on the customer's birthday.
//!
//! Pure: `decide` applies them to every event and every timer with the clock, and leaves on the
//! profile the next moment it needs the customer ([`LoyaltyClock::timer_at`]), which puts the
//! profile in the due index: nothing is ever found by scanning.
//!
//! Months and birthdays are counted in the shop's time zone.

use super::{
    CustomerProfile, LedgerEntry, Loyalty, LoyaltyClock, MessageData, Order, ShopSettings, Stamped,
    TierQualification, Timestamp,
};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span};
use std::collections::BTreeMap;

/// Birthday points come at this hour (shop's time zone), when the email may go at once.
pub const BIRTHDAY_HOUR: i8 = 9;
/// A birthday entered less than this before it gives nothing that year.
pub const BIRTHDAY_NOTICE: SignedDuration = SignedDuration::from_hours(24 * 30);
/// A schedule pass this late still gives the day's points; later, that year is missed.
const BIRTHDAY_LATE: SignedDuration = SignedDuration::from_hours(48);
/// How many expiry periods one decision catches up on (a pass that was stopped for long).
const MAX_PERIODS_CAUGHT_UP: usize = 24;

/// One ledger item a rule writes with the profile, in the same transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerItem {
    /// Deterministic per cause (`exp{epoch}`, `bday{year}`).
    pub id: String,
    pub entry: LedgerEntry,
}

/// What the rules did at `now`: ledger items and messages (with their key's cause).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    pub entries: Vec<LedgerItem>,
    pub messages: Vec<(String, MessageData)>,
}

/// Applies the time-based rules at `now` and sets the customer's next loyalty timers.
pub fn apply(profile: &mut CustomerProfile, now: Timestamp, settings: &ShopSettings) -> Applied {
    let tz = zone(settings);
    let mut out = Applied::default();
    let (expires_at, warning_at) = expiry(profile, now, settings, &tz, &mut out);
    let birthday_at = birthday(&mut profile.loyalty, now, settings, &tz, &mut out);
    let retain_until = tiers(&mut profile.loyalty, now, settings, &tz, &mut out);
    let clock = &mut profile.loyalty.clock;
    clock.timer_at = [expires_at, birthday_at, retain_until]
        .into_iter()
        .flatten()
        .min();
    clock.warning_at = warning_at;
    out
}

fn zone(settings: &ShopSettings) -> TimeZone {
    TimeZone::get(&settings.time_zone).unwrap_or(TimeZone::UTC)
}

/// Order points held (pending and confirmed, less returns): what lifetime tiers count.
fn held(l: &Loyalty) -> u64 {
    l.points_pending.saturating_add(l.points_available)
}

/// The points a tier qualifies on now: ever earned with orders, or those of the last 12
/// months. Spending never lowers them.
pub fn qualifying_points(l: &Loyalty, now: Timestamp, settings: &ShopSettings) -> u64 {
    match settings.loyalty.tier_qualification {
        TierQualification::Lifetime => held(l),
        TierQualification::Rolling12Months => {
            window(&l.clock.earned_by_month, month_index(now, &zone(settings)))
        }
    }
}

/// A calendar month as a number (`year * 12 + month - 1`) in `tz`.
fn month_index(at: Timestamp, tz: &TimeZone) -> i32 {
    let z = at.to_zoned_datetime(tz.clone());
    i32::from(z.year()) * 12 + i32::from(z.month()) - 1
}

pub(crate) fn month_key(index: i32) -> String {
    format!("{:04}{:02}", index.div_euclid(12), index.rem_euclid(12) + 1)
}

pub(crate) fn key_index(key: &str) -> Option<i32> {
    if key.len() != 6 {
        return None;
    }
    let year: i32 = key[..4].parse().ok()?;
    let month: i32 = key[4..].parse().ok()?;
    (1..=12).contains(&month).then_some(year * 12 + month - 1)
}

fn month_start(index: i32, tz: &TimeZone) -> Option<Timestamp> {
    let year = i16::try_from(index.div_euclid(12)).ok()?;
    let month = i8::try_from(index.rem_euclid(12) + 1).ok()?;
    let day = Date::new(year, month, 1).ok()?;
    tz.to_timestamp(day.at(0, 0, 0, 0)).ok()
}

/// Points earned in month `index` and the eleven before it.
fn window(earned: &BTreeMap<String, u64>, index: i32) -> u64 {
    earned
        .iter()
        .filter_map(|(k, v)| Some((key_index(k)?, *v)))
        .filter(|(m, _)| (index - 11..=index).contains(m))
        .map(|(_, v)| v)
        .fold(0u64, u64::saturating_add)
}

/// Rolling tiers: a profile that has order points but no months yet (kept before the shop
/// chose rolling tiers) counts them in the month of its last order.
pub fn seed_rolling(l: &mut Loyalty, last_order_at: Option<Timestamp>, settings: &ShopSettings) {
    if settings.loyalty.tier_qualification != TierQualification::Rolling12Months
        || !l.clock.earned_by_month.is_empty()
        || held(l) == 0
    {
        return;
    }
    let Some(at) = last_order_at else {
        return;
    };
    let month = month_key(month_index(at, &zone(settings)));
    l.clock.earned_by_month.insert(month, held(l));
}

/// Rolling tiers: what an event changed in an order's points (placed, returned) counts in the
/// month the order was placed.
pub fn record_order(
    l: &mut Loyalty,
    before: Option<&Order>,
    after: &Order,
    settings: &ShopSettings,
) {
    if settings.loyalty.tier_qualification != TierQualification::Rolling12Months {
        return;
    }
    let Some(placed) = &after.placed else {
        return;
    };
    let points = |o: Option<&Order>| {
        o.map_or(0, |o| {
            o.points_pending().saturating_add(o.points_available())
        })
    };
    let (old, new) = (points(before), points(Some(after)));
    if old == new {
        return;
    }
    let key = month_key(month_index(placed.placed_at, &zone(settings)));
    let entry = l.clock.earned_by_month.entry(key.clone()).or_insert(0);
    *entry = entry.saturating_add(new).saturating_sub(old);
    if *entry == 0 {
        l.clock.earned_by_month.remove(&key);
    }
}

/// Tier standing. Lifetime: the tier the held order points reach. Rolling: the tier the last
/// 12 months reach; a higher tier held before is kept until its `retain_until` and then drops
/// (one `tier-changed` message). Returns the `retain_until` to wake the customer for.
fn tiers(
    l: &mut Loyalty,
    now: Timestamp,
    settings: &ShopSettings,
    tz: &TimeZone,
    out: &mut Applied,
) -> Option<Timestamp> {
    let rules = &settings.loyalty;
    if rules.tier_qualification == TierQualification::Lifetime {
        l.tier = rules.tier_for(held(l)).map(|t| t.name.clone());
        l.clock.earned_by_month.clear();
        l.clock.retain_until = None;
        return None;
    }
    let this_month = month_index(now, tz);
    l.clock
        .earned_by_month
        .retain(|k, _| key_index(k).is_some_and(|m| m > this_month - 12));
    let earned = &l.clock.earned_by_month;
    let qualified = rules.tier_for(window(earned, this_month));
    let rank = |name: &str| rules.tiers.iter().position(|t| t.name == name);
    let current = l.tier.as_deref().and_then(rank);
    let reached = qualified.and_then(|t| rank(&t.name));
    // When the points of the months to come (none earned yet) no longer reach `threshold`.
    let lapse = |threshold: u64| -> Option<Timestamp> {
        if threshold == 0 {
            return None;
        }
        let last = earned.keys().filter_map(|k| key_index(k)).max()?;
        (this_month + 1..=last + 12)
            .find(|m| window(earned, *m) < threshold)
            .and_then(|m| month_start(m, tz))
    };
    let qualified_lapse = qualified.and_then(|t| lapse(t.min_points));
    if reached >= current {
        l.clock.retain_until = match (reached == current, l.clock.retain_until, qualified_lapse) {
            // Kept at least as long as promised before (a return never shortens it).
            (true, Some(before), Some(lapse)) => Some(before.max(lapse)),
            (_, _, lapse) => lapse,
        };
        l.tier = qualified.map(|t| t.name.clone());
        return l.clock.retain_until;
    }
    match l.clock.retain_until {
        Some(until) if now < until => {}
        Some(until) => {
            let previous = l.tier.clone().unwrap_or_default();
            out.messages.push((
                format!("{previous}#{}", until.as_second()),
                MessageData::TierChanged {
                    previous,
                    tier: qualified.map(|t| t.name.clone()),
                },
            ));
            l.tier = qualified.map(|t| t.name.clone());
            l.clock.retain_until = qualified_lapse;
        }
        // A tier held before the shop chose rolling tiers: kept for a year from this month.
        None => l.clock.retain_until = month_start(this_month + 12, tz),
    }
    l.clock.retain_until
}

/// Adds whole calendar months in the shop's time zone.
fn add_months(at: Timestamp, months: u16, tz: &TimeZone) -> Option<Timestamp> {
    at.to_zoned_datetime(tz.clone())
        .checked_add(Span::new().months(i64::from(months)))
        .ok()
        .map(|z| z.timestamp())
}

/// Expiry: available points expire a period after the latest of the last order, the moment the
/// shop turned expiry on and the last expiry; warnings go the configured days before, each once
/// per period, while points are available. Returns (the expiry moment, the next warning).
fn expiry(
    profile: &mut CustomerProfile,
    now: Timestamp,
    settings: &ShopSettings,
    tz: &TimeZone,
    out: &mut Applied,
) -> (Option<Timestamp>, Option<Timestamp>) {
    let last_order_at = profile.last_order_at;
    let l = &mut profile.loyalty;
    let Some((months, turned_on_at)) = settings.loyalty.expiry() else {
        l.clock.warned = None;
        return (None, None);
    };
    // Only customers who have or had points have a clock (one timer per period).
    if l.points_pending == 0
        && l.points_available == 0
        && l.points_granted == 0
        && l.points_birthday == 0
    {
        return (None, None);
    }
    let start = |clock: &LoyaltyClock| {
        [last_order_at, Some(turned_on_at), clock.expiry_checked_at]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(turned_on_at)
    };
    let mut expires_at = None;
    for _ in 0..MAX_PERIODS_CAUGHT_UP {
        let Some(at) = add_months(start(&l.clock), months, tz) else {
            return (None, None);
        };
        expires_at = Some(at);
        if at > now {
            break;
        }
        if let Some(change) = l.expire() {
            out.entries.push(LedgerItem {
                id: format!("exp{}", at.as_second()),
                entry: LedgerEntry {
                    kind: change.kind,
                    points: change.points,
                    at: now,
                    redemption: None,
                    reason: None,
                },
            });
        }
        l.clock.expiry_checked_at = Some(at);
        l.clock.warned = None;
    }
    let Some(at) = expires_at.filter(|at| *at > now) else {
        return (expires_at, None);
    };
    let period_start = start(&l.clock);
    let moment = |days: u16| at - SignedDuration::from_hours(24 * i64::from(days));
    let warned = |clock: &LoyaltyClock| {
        clock
            .warned
            .filter(|(e, _)| *e == at.as_second())
            .map_or(u16::MAX, |(_, d)| d)
    };
    // Warnings that would fall before the period began are left out.
    let days: Vec<u16> = settings
        .loyalty
        .expiry_warning_days
        .iter()
        .copied()
        .filter(|d| moment(*d) >= period_start)
        .collect();
    // The most urgent warning due now (a late pass does not send the earlier ones as well).
    if let Some(d) = days
        .iter()
        .copied()
        .filter(|d| *d < warned(&l.clock) && moment(*d) <= now)
        .min()
    {
        l.clock.warned = Some((at.as_second(), d));
        let available = l.balance().available;
        if available > 0 {
            out.messages.push((
                format!("{}#{d}", at.as_second()),
                MessageData::PointsExpiring {
                    points: available,
                    expires_on: at.to_zoned_datetime(tz.clone()).date().to_string(),
                    days_before: d,
                },
            ));
        }
    }
    let next_warning = days
        .iter()
        .copied()
        .filter(|d| *d < warned(&l.clock) && moment(*d) > now)
        .max()
        .map(moment);
    (Some(at), next_warning)
}

/// What the balance API shows as `expiring`: the points available now and when they expire
/// unless the customer orders first.
pub fn expiring(
    profile: &CustomerProfile,
    now: Timestamp,
    settings: &ShopSettings,
) -> Option<(u64, Timestamp)> {
    let available = profile.loyalty.balance().available;
    if available == 0 {
        return None;
    }
    let (months, turned_on_at) = settings.loyalty.expiry()?;
    let start = [
        profile.last_order_at,
        Some(turned_on_at),
        profile.loyalty.clock.expiry_checked_at,
    ]
    .into_iter()
    .flatten()
    .max()?;
    let tz = zone(settings);
    let mut at = add_months(start, months, &tz)?;
    // Not yet handled by the schedule: the next period's end is what is ahead.
    while at <= now {
        at = add_months(at, months, &tz)?;
    }
    Some((available, at))
}

/// A birthday as `MM-DD` (02-29 allowed): month and day.
pub fn parse_birthday(text: &str) -> Option<(i8, i8)> {
    let (m, d) = text.split_once('-')?;
    if m.len() != 2 || d.len() != 2 || !(m.bytes().chain(d.bytes())).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (m, d): (i8, i8) = (m.parse().ok()?, d.parse().ok()?);
    // 2000 was a leap year: every real birthday is a date in it.
    Date::new(2000, m, d).ok().map(|_| (m, d))
}

/// When a birthday falls in `year`: 09:00 in the shop's time zone. 29 February is kept on 28
/// February in a year without it (the last day of the customer's own month).
pub fn birthday_moment(year: i16, (month, day): (i8, i8), tz: &TimeZone) -> Option<Timestamp> {
    let date = Date::new(year, month, day)
        .or_else(|_| Date::new(year, month, day - 1))
        .ok()?;
    tz.to_timestamp(date.at(BIRTHDAY_HOUR, 0, 0, 0)).ok()
}

/// Records the customer's birthday (from the API or an event) when it is new or changed by a
/// statement not older than the one held; the same birthday again keeps the moment it was
/// first given (from which the 30 days' notice counts).
pub fn set_birthday(l: &mut Loyalty, month_day: (i8, i8), at: Timestamp) -> bool {
    let text = format!("{:02}-{:02}", month_day.0, month_day.1);
    if l.clock
        .birthday
        .as_ref()
        .is_some_and(|b| b.value == text || at < b.at)
    {
        return false;
    }
    l.clock.birthday = Some(Stamped {
        value: text,
        at: super::epoch::whole_second(at),
    });
    true
}

/// After [`set_birthday`] changed it: the customer's timer includes the next birthday. A
/// birthday just entered is at least 30 days away, so nothing is given here (the schedule gives
/// it, with its ledger item).
pub fn schedule_birthday(l: &mut Loyalty, now: Timestamp, settings: &ShopSettings) {
    let mut nothing_given = Applied::default();
    let at = birthday(l, now, settings, &zone(settings), &mut nothing_given);
    debug_assert!(nothing_given.entries.is_empty());
    l.clock.timer_at = [l.clock.timer_at, at].into_iter().flatten().min();
}

/// Birthday points: once a year, on the birthday, unless it was entered less than 30 days
/// before. Returns the next birthday moment to wake the customer for.
fn birthday(
    l: &mut Loyalty,
    now: Timestamp,
    settings: &ShopSettings,
    tz: &TimeZone,
    out: &mut Applied,
) -> Option<Timestamp> {
    let points = settings.loyalty.birthday_points?;
    let stamped = l.clock.birthday.clone()?;
    let month_day = parse_birthday(&stamped.value)?;
    let this_year = now.to_zoned_datetime(tz.clone()).year();
    for year in this_year - 1..=this_year + 2 {
        if l.clock.birthday_year.is_some_and(|given| year <= given) {
            continue;
        }
        let Some(at) = birthday_moment(year, month_day, tz) else {
            continue;
        };
        if at < stamped.at + BIRTHDAY_NOTICE || at + BIRTHDAY_LATE <= now {
            continue;
        }
        if at > now {
            return Some(at);
        }
        let change = l.give_birthday(points);
        l.clock.birthday_year = Some(year);
        out.entries.push(LedgerItem {
            id: format!("bday{year}"),
            entry: LedgerEntry {
                kind: change.kind,
                points: change.points,
                at: now,
                redemption: None,
                reason: None,
            },
        });
        out.messages.push((
            year.to_string(),
            MessageData::Birthday {
                points,
                points_available: l.balance().available,
            },
        ));
    }
    None
}

#[cfg(test)]
#[path = "loyalty_rules_tests.rs"]
mod tests;
