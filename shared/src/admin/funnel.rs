//! A funnel per kind of message: what became of the messages created in a period. Each was
//! skipped (by reason), held out, sent, or is still waiting or failed; of the sent, how many
//! were delivered, of those opened, of those clicked; and the orders attributed to them.

use super::labels::{Group, code};
use super::overview::KindFigures;
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// A class for the page (`created`, `skipped`, …), never shown as text.
    pub step: &'static str,
    pub label: String,
    pub count: u32,
    /// Of the step it comes from (created for the first branch, then sent, delivered,
    /// opened; the sent for the ordered), in percent; none when that step is empty.
    pub percent: Option<u32>,
    /// The bar's length, in percent of the created messages.
    pub width: u32,
    /// 0 for the created, 1 for what became of them, 2 below that.
    pub depth: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Funnel {
    pub kind: String,
    pub label: String,
    pub steps: Vec<Step>,
}

fn percent(part: u32, whole: u32) -> Option<u32> {
    (whole > 0).then(|| ((f64::from(part) * 100.0) / f64::from(whole)).round() as u32)
}

/// The funnel of one kind's figures, worded in `lang` (`t` holds the page's words).
pub fn funnel(k: &KindFigures, lang: &str, t: &Value) -> Funnel {
    let word = |key: &str| t.get(key).and_then(Value::as_str).unwrap_or(key).to_owned();
    let created = k.created;
    let width = |n: u32| percent(n, created).unwrap_or(0).min(100);
    let step = |step, label, count, of: u32, depth| Step {
        step,
        label,
        count,
        percent: percent(count, of),
        width: width(count),
        depth,
    };
    let mut steps = vec![Step {
        step: "created",
        label: word("created"),
        count: created,
        percent: (created > 0).then_some(100),
        width: width(created),
        depth: 0,
    }];
    steps.push(step("skipped", word("skipped"), k.skipped, created, 1));
    let mut reasons: Vec<(&String, &u32)> = k.skips.iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (reason, n) in reasons {
        steps.push(step(
            "skip-reason",
            code(lang, Group::Reason, reason),
            *n,
            k.skipped,
            2,
        ));
    }
    steps.push(step("held-out", word("held_out"), k.held_out, created, 1));
    let waiting = created.saturating_sub(k.sent + k.skipped + k.held_out);
    steps.push(step("not-sent", word("not_sent"), waiting, created, 1));
    steps.push(step("sent", word("sent"), k.sent, created, 1));
    steps.push(step("delivered", word("delivered"), k.delivered, k.sent, 2));
    steps.push(step("opened", word("opened"), k.opened, k.delivered, 2));
    steps.push(step("clicked", word("clicked"), k.clicked, k.opened, 2));
    // Orders come after a send (or a click), not only after a click: counted against the sent.
    steps.push(step("ordered", word("ordered"), k.orders, k.sent, 2));
    Funnel {
        kind: k.kind.clone(),
        label: code(lang, Group::Kind, &k.kind),
        steps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn each_step_counts_against_the_one_it_comes_from() {
        let k = KindFigures {
            kind: "reactivation".into(),
            created: 20,
            skipped: 5,
            held_out: 2,
            sent: 12,
            delivered: 10,
            opened: 4,
            clicked: 1,
            orders: 3,
            skips: BTreeMap::from([("no_consent".into(), 1), ("frequency_cap".into(), 4)]),
            ..KindFigures::default()
        };
        let f = funnel(&k, "en", &crate::admin::labels::labels("en"));
        let row = |s: &str| {
            f.steps
                .iter()
                .find(|x| x.step == s)
                .map(|x| (x.count, x.percent, x.width))
                .unwrap()
        };
        assert_eq!(row("created"), (20, Some(100), 100));
        assert_eq!(row("skipped"), (5, Some(25), 25));
        assert_eq!(row("held-out"), (2, Some(10), 10));
        assert_eq!(row("not-sent"), (1, Some(5), 5));
        assert_eq!(row("sent"), (12, Some(60), 60));
        assert_eq!(row("delivered"), (10, Some(83), 50));
        assert_eq!(row("opened"), (4, Some(40), 20));
        assert_eq!(row("clicked"), (1, Some(25), 5));
        assert_eq!(row("ordered"), (3, Some(25), 15));
        // Reasons, most first, as words, with their share of the skipped.
        let reasons: Vec<_> = f
            .steps
            .iter()
            .filter(|s| s.step == "skip-reason")
            .map(|s| (s.label.clone(), s.count, s.percent))
            .collect();
        assert_eq!(reasons.len(), 2);
        assert_eq!(reasons[0].1, 4);
        assert_eq!(reasons[0].2, Some(80));
        assert!(!reasons[0].0.contains("frequency_cap"), "{reasons:?}");
        assert_eq!(f.label, code("en", Group::Kind, "reactivation"));
    }

    #[test]
    fn an_empty_kind_has_no_percentages() {
        let f = funnel(
            &KindFigures::default(),
            "nl",
            &crate::admin::labels::labels("nl"),
        );
        assert!(f.steps.iter().all(|s| s.percent.is_none() && s.width == 0));
    }
}
