//! Where the overview takes a UTC day's counts from. Three sources can hold a day: the stream
//! consumer's counters (whole from the shop's `counted_since` day on, unless a recount marked
//! the day), the counts a page kept once it had counted the day from the log, and the log
//! itself. The pages, the deliverability windows and the warning banner all ask here, so that
//! a recount's mark or a new counting basis is honoured by every one of them alike.

use super::day_counts::{Counters, day_tally};
use super::overview::{DayPart, DayTally, Take};
use jiff::Timestamp;
use jiff::civil::Date;

/// A count from the log is not kept within this many seconds of its day's last change: the log
/// index is eventually consistent, and a count right after a change might not see it yet.
pub const SETTLE_SECONDS: i64 = 60;

/// A UTC day's item as read from the table.
#[derive(Debug, Clone, Copy)]
pub struct DayItem<'a> {
    /// The stream consumer's counters.
    pub counters: &'a Counters,
    /// The counts a page kept: the basis they were counted under and the counts (JSON).
    pub kept: Option<(&'a str, &'a str)>,
    /// A recount marked the day: its counters are not to be trusted.
    pub from_log: bool,
    /// When an item of the day last changed (epoch seconds).
    pub changed_at: Option<i64>,
}

/// Where one part of a day is counted from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DaySource {
    /// The stream consumer's counters hold the day whole.
    Counters(DayTally),
    /// A page kept the day's counts under the basis asked for.
    Kept(DayTally),
    /// Counted from the log; `keep`: the count may be kept on the day's item (the day is over,
    /// settled, and whole).
    Log { keep: bool },
}

/// The source of `part` for the overview's figures under `basis`. `may_keep`: the day is
/// over long enough for its counts to be kept (`store::summaries::cacheable`). An odd
/// stretch of a day (a [`Take::Window`]) is always counted from the log and never kept.
pub fn day_source(
    part: &DayPart,
    item: Option<DayItem<'_>>,
    counted_since: Option<Date>,
    basis: &str,
    may_keep: bool,
    now: Timestamp,
) -> DaySource {
    if matches!(part.take, Take::Window(..)) {
        return DaySource::Log { keep: false };
    }
    let counters_whole =
        counted_since.is_some_and(|since| part.day >= since) && !item.is_some_and(|i| i.from_log);
    if counters_whole {
        return DaySource::Counters(item.map_or_else(DayTally::default, |i| day_tally(i.counters)));
    }
    if may_keep && let Some(kept) = item.and_then(|i| kept_under(i, basis)) {
        return DaySource::Kept(kept);
    }
    let settled = item
        .and_then(|i| i.changed_at)
        .is_none_or(|changed| now.as_second() - changed >= SETTLE_SECONDS);
    DaySource::Log {
        keep: may_keep && settled,
    }
}

/// The day's counts for the warning banner, from what is stored only: any kept counts (sent,
/// bounced and complained do not depend on the basis), else the counters, unless a recount
/// marked the day (it waits for a page to count it from the log). `None`: nothing to show.
pub fn banner_tally(item: DayItem<'_>) -> Option<DayTally> {
    item.kept
        .and_then(|(_, counts)| serde_json::from_str::<DayTally>(counts).ok())
        .or_else(|| (!item.counters.is_empty() && !item.from_log).then(|| day_tally(item.counters)))
}

/// The counts kept under `basis`, if they still read.
fn kept_under(item: DayItem<'_>, basis: &str) -> Option<DayTally> {
    let (kept_basis, counts) = item.kept?;
    if kept_basis != basis {
        return None;
    }
    serde_json::from_str(counts).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    const BASIS: &str = "v7 split=-1 holdout=0";

    fn whole(day: Date) -> DayPart {
        DayPart {
            day,
            split: None,
            take: Take::Whole,
        }
    }

    fn now() -> Timestamp {
        "2026-11-30T12:00:00Z".parse().unwrap()
    }

    /// Counters that add up to one reactivation email sent (`a.K.R.s`: from the split on,
    /// kinds, reactivation, sent).
    fn one_sent() -> Counters {
        Counters::from([("a.K.R.s".to_owned(), 1)])
    }

    fn kept_json(tally: &DayTally) -> String {
        serde_json::to_string(tally).unwrap()
    }

    /// A day's item with only its counters: nothing kept, not marked, no recent change. Each
    /// test changes what it is about.
    fn counted(counters: &Counters) -> DayItem<'_> {
        DayItem {
            counters,
            kept: None,
            from_log: false,
            changed_at: None,
        }
    }

    #[test]
    fn a_day_from_counted_since_on_is_taken_from_its_counters() {
        let counters = one_sent();
        let item = counted(&counters);
        let day = date(2026, 11, 20);
        let source = day_source(&whole(day), Some(item), Some(day), BASIS, true, now());
        assert_eq!(source, DaySource::Counters(day_tally(&counters)));
        // No item at all on such a day: nothing happened that day.
        let empty = day_source(&whole(day), None, Some(day), BASIS, true, now());
        assert_eq!(empty, DaySource::Counters(DayTally::default()));
    }

    #[test]
    fn a_day_a_recount_marked_is_counted_from_the_log_and_kept_then_read_kept() {
        let counters = one_sent();
        let day = date(2026, 11, 20);
        let marked = DayItem {
            from_log: true,
            ..counted(&counters)
        };
        assert_eq!(
            day_source(
                &whole(day),
                Some(marked),
                Some(date(2026, 1, 1)),
                BASIS,
                true,
                now()
            ),
            DaySource::Log { keep: true }
        );
        // Once a page kept its count, the kept count serves, not the counters.
        let counted = DayTally::default();
        let json = kept_json(&counted);
        let kept = DayItem {
            kept: Some((BASIS, &json)),
            ..marked
        };
        assert_eq!(
            day_source(
                &whole(day),
                Some(kept),
                Some(date(2026, 1, 1)),
                BASIS,
                true,
                now()
            ),
            DaySource::Kept(counted)
        );
    }

    #[test]
    fn kept_counts_serve_only_under_their_basis_and_once_the_day_may_be_kept() {
        let counters = Counters::new();
        let json = kept_json(&day_tally(&one_sent()));
        let item = DayItem {
            kept: Some((BASIS, &json)),
            ..counted(&counters)
        };
        let day = date(2026, 11, 20);
        // Before the counters ran (no counted_since): the kept counts.
        assert_eq!(
            day_source(&whole(day), Some(item), None, BASIS, true, now()),
            DaySource::Kept(day_tally(&one_sent()))
        );
        // Another basis (the shop's holdout share changed): counted again and kept anew.
        assert_eq!(
            day_source(
                &whole(day),
                Some(item),
                None,
                "v7 split=-1 holdout=10",
                true,
                now()
            ),
            DaySource::Log { keep: true }
        );
        // A day too recent to keep: counted, not kept, whatever was kept before.
        assert_eq!(
            day_source(&whole(day), Some(item), None, BASIS, false, now()),
            DaySource::Log { keep: false }
        );
    }

    #[test]
    fn a_day_that_changed_a_moment_ago_is_counted_but_not_kept() {
        let counters = Counters::new();
        let day = date(2026, 11, 20);
        let at = |seconds_ago: i64| DayItem {
            changed_at: Some(now().as_second() - seconds_ago),
            ..counted(&counters)
        };
        assert_eq!(
            day_source(&whole(day), Some(at(5)), None, BASIS, true, now()),
            DaySource::Log { keep: false }
        );
        assert_eq!(
            day_source(
                &whole(day),
                Some(at(SETTLE_SECONDS)),
                None,
                BASIS,
                true,
                now()
            ),
            DaySource::Log { keep: true }
        );
    }

    #[test]
    fn an_odd_stretch_of_a_day_is_always_counted_from_the_log_and_never_kept() {
        let counters = one_sent();
        let json = kept_json(&DayTally::default());
        let item = DayItem {
            kept: Some((BASIS, &json)),
            ..counted(&counters)
        };
        let day = date(2026, 3, 29);
        let window = DayPart {
            day,
            split: None,
            take: Take::Window(
                "2026-03-29T01:00:00Z".parse().unwrap(),
                "2026-03-29T02:00:00Z".parse().unwrap(),
            ),
        };
        assert_eq!(
            day_source(&window, Some(item), Some(day), BASIS, true, now()),
            DaySource::Log { keep: false }
        );
    }

    #[test]
    fn the_banner_reads_kept_counts_then_counters_but_waits_for_a_marked_day() {
        let counters = one_sent();
        let plain = counted(&counters);
        assert_eq!(banner_tally(plain), Some(day_tally(&counters)));
        assert_eq!(
            banner_tally(DayItem {
                from_log: true,
                ..plain
            }),
            None
        );
        // Kept counts of any basis serve, a marked day's too (a page counted it since).
        let json = kept_json(&DayTally::default());
        let kept = DayItem {
            kept: Some(("v7 split=-1 holdout=25", &json)),
            from_log: true,
            ..plain
        };
        assert_eq!(banner_tally(kept), Some(DayTally::default()));
        let nothing = Counters::new();
        assert_eq!(
            banner_tally(DayItem {
                counters: &nothing,
                ..plain
            }),
            None
        );
    }

    #[test]
    fn the_counters_named_in_these_tests_count_a_sent_email() {
        // The tests above tell the counters from a default tally by this one email.
        let tally = day_tally(&one_sent());
        assert_eq!(tally.after.kinds["reactivation"].sent, 1, "{tally:?}");
        assert_ne!(tally, DayTally::default());
    }
}
