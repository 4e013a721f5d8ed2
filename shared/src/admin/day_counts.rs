//! The overview's counts as things are written: every write to an item the overview counts
//! (a message, an activity, a points ledger entry, an order's survey answer) changes the
//! counts of the shop's UTC day, and of its part before or from the shop's local midnight, by
//! the difference between what the item counted for after the write and before it. Folded
//! over every write of a day, the differences give that day's [`DayTally`] as the log counts
//! it (`tests` below hold the two side by side), so a day's counts can be kept as flat
//! counters that one `UpdateItem ... ADD` moves, instead of being counted from the log.
//!
//! Survey answers count from the order (its `survey_answer` before and after), not from the
//! answer's activity: the log counts the latest answer per order within a day part, and only
//! the order knows whether an answer replaced one of the same part.

use super::overview::{DayTally, Fold, Tally};
use crate::domain::{
    ActivityKind, ActivityRecord, CustomerId, LedgerEntry, MessageRecord, ShopId, SurveyAnswer,
};
use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::Value;
use std::collections::BTreeMap;

/// Counter name → amount. A name is the part (`b`efore or `a`fter the day's split) and the
/// path of the count in a [`Tally`], each known word shortened to one letter
/// (`a.K.R.s`: from the split on, kinds, reactivation, sent), so that a busy day's counters
/// stay near a KB.
pub type Counters = BTreeMap<String, i64>;

/// A shop's UTC day: what one kept item counts.
pub type DayKey = (ShopId, Date);

/// An item as the overview counts it.
#[derive(Debug, Clone, Copy)]
pub enum Counted<'a> {
    Message(&'a MessageRecord),
    /// Survey answers among activities count nothing here: see [`Counted::Answer`].
    Activity(&'a ActivityRecord),
    Ledger {
        shop: &'a ShopId,
        entry: &'a LedgerEntry,
    },
    /// An order's latest survey answer.
    Answer {
        shop: &'a ShopId,
        answer: SurveyAnswer,
    },
}

/// What counting needs to know of a shop besides the item.
pub trait ShopRules {
    /// Where the shop's UTC day `day` is split (its local midnight within it, if any).
    fn split(&self, shop: &ShopId, day: Date) -> Option<Timestamp>;
    /// Whether the customer is in the shop's holdout group.
    fn held_out(&self, shop: &ShopId, customer: &CustomerId) -> bool;
}

impl Counted<'_> {
    fn shop(&self) -> &ShopId {
        match self {
            Counted::Message(m) => &m.shop,
            Counted::Activity(a) => &a.shop,
            Counted::Ledger { shop, .. } | Counted::Answer { shop, .. } => shop,
        }
    }

    /// When the item counts: the instant its day and part are taken from.
    fn at(&self) -> Timestamp {
        match self {
            Counted::Message(m) => m.intent.created_at,
            Counted::Activity(a) => a.activity.at,
            Counted::Ledger { entry, .. } => entry.at,
            Counted::Answer { answer, .. } => answer.at,
        }
    }

    /// The shop's UTC day the item counts on, and whether before the day's split.
    fn place(&self, rules: &dyn ShopRules) -> (DayKey, bool) {
        let at = self.at();
        let day = crate::store::summaries::log_day_of(at);
        let before = rules
            .split(self.shop(), day)
            .is_some_and(|split| at < split);
        ((self.shop().clone(), day), before)
    }

    /// The day the item counts on and its counters there.
    pub fn counters(&self, rules: &dyn ShopRules) -> (DayKey, Counters) {
        let ((shop, day), before) = self.place(rules);
        let mut fold = Fold::default();
        let mut tally = Tally::default();
        match self {
            Counted::Message(m) => fold.message(m),
            Counted::Activity(a) => {
                if !matches!(a.activity.what, ActivityKind::SurveyAnswered { .. }) {
                    fold.activity(a, &|c| rules.held_out(&shop, c));
                }
            }
            Counted::Ledger { entry, .. } => fold.ledger(entry),
            Counted::Answer { answer, .. } => {
                if let Some(value) = answer.value {
                    tally.nps_value.count(answer.score, value);
                }
                tally.nps.answers = 1;
                match answer.score {
                    9..=10 => tally.nps.promoters = 1,
                    7..=8 => tally.nps.passives = 1,
                    _ => tally.nps.detractors = 1,
                }
            }
        }
        tally.add(&fold.finish());
        let part = if before { "b" } else { "a" };
        let mut counters = Counters::new();
        if let Ok(value) = serde_json::to_value(&tally) {
            flatten(part, &value, &mut counters);
        }
        ((shop, day), counters)
    }
}

/// What one write changed: per day, the counters after less those before, without zeros.
/// `before` is the item as it was (none when the write created it), `after` as it is now
/// (none when the write deleted it).
pub fn change(
    before: Option<Counted<'_>>,
    after: Option<Counted<'_>>,
    rules: &dyn ShopRules,
) -> BTreeMap<DayKey, Counters> {
    // An answer replaces the order's earlier one only within the same day part: there the
    // latest counts; the earlier answer stays the latest of its own part.
    let before = match (before, after) {
        (Some(b @ Counted::Answer { .. }), Some(a @ Counted::Answer { .. }))
            if b.place(rules) != a.place(rules) =>
        {
            None
        }
        _ => before,
    };
    let mut changed: BTreeMap<DayKey, Counters> = BTreeMap::new();
    for (item, sign) in [(after, 1), (before, -1)] {
        if let Some(item) = item {
            let (day, counters) = item.counters(rules);
            let into = changed.entry(day).or_default();
            for (name, n) in counters {
                *into.entry(name).or_insert(0) += sign * n;
            }
        }
    }
    for counters in changed.values_mut() {
        counters.retain(|_, n| *n != 0);
    }
    changed.retain(|_, counters| !counters.is_empty());
    changed
}

/// Adds `more` into `into`, dropping what comes to zero.
pub fn add(into: &mut Counters, more: &Counters) {
    for (name, n) in more {
        *into.entry(name.clone()).or_insert(0) += n;
    }
    into.retain(|_, n| *n != 0);
}

/// The day's tally that the kept counters add up to. A count below zero (a write counted
/// before the one it undoes was, which the consumer's order rules out) reads as zero; revenue
/// may be below zero.
pub fn day_tally(counters: &Counters) -> DayTally {
    let mut parts = [
        Value::Object(Default::default()),
        Value::Object(Default::default()),
    ];
    for (name, n) in counters {
        let mut segments = name.split('.');
        // The part is a letter of its own, not one of the words'.
        let index = match segments.next() {
            Some("b") => 0,
            Some("a") => 1,
            _ => continue,
        };
        let path: Vec<String> = segments.map(decode).collect();
        let money = path.iter().any(|s| s == "revenue" || s == "revenue_minor");
        let n = if money { *n } else { (*n).max(0) };
        insert(&mut parts[index], &path, n);
    }
    let [before, after] = parts;
    let tally = |value: Value| {
        let mut tally: Tally = serde_json::from_value(value).unwrap_or_default();
        for (kind, figures) in &mut tally.kinds {
            figures.kind.clone_from(kind);
        }
        tally
    };
    DayTally {
        before: tally(before),
        after: tally(after),
    }
}

fn insert(node: &mut Value, path: &[String], n: i64) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let Value::Object(fields) = node else {
        return;
    };
    if rest.is_empty() {
        fields.insert(first.clone(), Value::from(n));
    } else {
        let child = fields
            .entry(first.clone())
            .or_insert_with(|| Value::Object(Default::default()));
        insert(child, rest, n);
    }
}

fn flatten(prefix: &str, value: &Value, out: &mut Counters) {
    match value {
        Value::Object(fields) => {
            for (name, child) in fields {
                flatten(&format!("{prefix}.{}", encode(name)), child, out);
            }
        }
        Value::Number(n) => {
            if let Some(n) = n.as_i64().filter(|n| *n != 0) {
                out.insert(prefix.to_owned(), n);
            }
        }
        // The kind's name (its key already), unset rates and scores.
        _ => {}
    }
}

/// The words of a tally's paths and their letters (a word and a letter each once). Kept
/// counters are named with them: add words with unused letters, never change or reuse one.
const WORDS: &[(&str, &str)] = &[
    ("kinds", "K"),
    ("skips", "S"),
    ("nps", "N"),
    ("reactivation", "R"),
    ("points", "P"),
    ("holdout", "H"),
    ("created", "c"),
    ("sent", "s"),
    ("delivered", "d"),
    ("bounced", "b"),
    ("complained", "x"),
    ("opened", "o"),
    ("clicked", "l"),
    ("skipped", "k"),
    ("held_out", "h"),
    ("orders", "n"),
    ("revenue", "v"),
    ("answers", "A"),
    ("promoters", "p"),
    ("passives", "m"),
    ("detractors", "t"),
    ("asked", "a"),
    ("reactivated", "e"),
    ("held_out_reactivated", "g"),
    ("earned", "E"),
    ("reversed", "V"),
    ("redeemed", "D"),
    ("refunded", "F"),
    ("expired", "X"),
    ("birthday", "B"),
    ("anniversary", "Y"),
    ("granted", "G"),
    ("withdrawn", "W"),
    ("treated", "T"),
    ("customers", "C"),
    ("converted", "O"),
    ("revenue_minor", "M"),
    ("unsubscribed", "U"),
    ("nps_value", "Q"),
    ("minor", "Z"),
    // The kinds of message (reactivation and birthday are words above already), and the most
    // common skip reason.
    ("loyalty-earned", "0"),
    ("loyalty-confirmed", "1"),
    ("care-tip", "2"),
    ("survey", "3"),
    ("survey-promoter", "4"),
    ("survey-detractor", "5"),
    ("detractor-alert", "6"),
    ("pool-low", "7"),
    ("loyalty-reversed", "8"),
    ("tier-reached", "9"),
    ("tier-changed", "f"),
    ("points-expiring", "i"),
    ("welcome-after-move", "j"),
    ("replenishment", "q"),
    ("contract-ending", "r"),
    ("yearly-recap", "u"),
    ("question", "w"),
    ("frequency_cap", "z"),
];

/// A path segment in a counter's name: a known word as its letter; anything else (a kind, a
/// reason, a currency: never one letter) as it is, with `%` and `.` escaped.
fn encode(segment: &str) -> String {
    WORDS
        .iter()
        .find(|(word, _)| *word == segment)
        .map(|(_, letter)| (*letter).to_owned())
        .unwrap_or_else(|| segment.replace('%', "%25").replace('.', "%2E"))
}

fn decode(segment: &str) -> String {
    WORDS
        .iter()
        .find(|(_, letter)| *letter == segment)
        .map(|(word, _)| (*word).to_owned())
        .unwrap_or_else(|| segment.replace("%2E", ".").replace("%25", "%"))
}

#[cfg(test)]
mod tests;
