//! Bounce and complaint rates of a shop's mail over the last 7 and 30 days, against the marks
//! mailbox providers and SES hold senders to: Gmail wants complaints under 0.1% and never at
//! 0.3%; SES reviews an account at 5% bounces or 0.1% complaints and may pause its sending at
//! 10% bounces or 0.5% complaints.
//!
//! A rate is *close* from 80% of the first mark (4% bounces, 0.08% complaints) and *over* from
//! the first mark on. Rates from fewer than [`MIN_SENT`] sent messages are shown but not
//! judged: one bounce among a handful of mails says little.

use super::overview::Tally;
use serde::Serialize;

/// Fewer sent messages than this in a window are not judged.
pub const MIN_SENT: u32 = 100;
/// Bounces, in percent: SES's review mark and its pause mark.
pub const BOUNCE_REVIEW: f64 = 5.0;
pub const BOUNCE_PAUSE: f64 = 10.0;
/// Complaints, in percent: Gmail's and SES's first mark; Gmail's never; SES's pause.
pub const COMPLAINT_FIRST: f64 = 0.1;
pub const COMPLAINT_GMAIL_NEVER: f64 = 0.3;
pub const COMPLAINT_PAUSE: f64 = 0.5;
/// "Close" starts at this share of the first mark.
pub const CLOSE_SHARE: f64 = 0.8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Not enough mail to judge.
    Unjudged,
    Fine,
    Close,
    Over,
}

/// One window's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Window {
    pub days: u32,
    pub sent: u32,
    pub bounced: u32,
    pub complained: u32,
    /// In percent, rounded to two decimals as text (`"0.08"`); none without sent mail.
    pub bounce_rate: Option<String>,
    pub complaint_rate: Option<String>,
    pub bounce_level: Level,
    pub complaint_level: Level,
    /// The worse of the two.
    pub level: Level,
}

fn level(rate: f64, first_mark: f64, sent: u32) -> Level {
    // Rates are quotients of counts: a hair of tolerance keeps 8 in 10,000 at 0.08%.
    let at_least = |mark: f64| rate + 1e-9 >= mark;
    if sent < MIN_SENT {
        Level::Unjudged
    } else if at_least(first_mark) {
        Level::Over
    } else if at_least(first_mark * CLOSE_SHARE) {
        Level::Close
    } else {
        Level::Fine
    }
}

/// The window of `days` days whose summed counts are `tally`.
pub fn window(days: u32, tally: &Tally) -> Window {
    let (mut sent, mut bounced, mut complained) = (0u32, 0u32, 0u32);
    for k in tally.kinds.values() {
        sent += k.sent;
        bounced += k.bounced;
        complained += k.complained;
    }
    let rate = |n: u32| (sent > 0).then(|| f64::from(n) * 100.0 / f64::from(sent));
    let bounce = rate(bounced).unwrap_or(0.0);
    let complaint = rate(complained).unwrap_or(0.0);
    let bounce_level = level(bounce, BOUNCE_REVIEW, sent);
    let complaint_level = level(complaint, COMPLAINT_FIRST, sent);
    Window {
        days,
        sent,
        bounced,
        complained,
        bounce_rate: rate(bounced).map(|r| format!("{r:.2}")),
        complaint_rate: rate(complained).map(|r| format!("{r:.2}")),
        bounce_level,
        complaint_level,
        level: bounce_level.max(complaint_level),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::overview::KindFigures;

    fn tally(sent: u32, bounced: u32, complained: u32) -> Tally {
        let mut t = Tally::default();
        t.kinds.insert(
            "welcome".into(),
            KindFigures {
                kind: "welcome".into(),
                sent,
                bounced,
                complained,
                ..KindFigures::default()
            },
        );
        t
    }

    #[test]
    fn close_starts_at_four_fifths_of_the_first_mark_and_over_at_the_mark() {
        // Bounces: 3.9% fine, 4% close, 5% over.
        assert_eq!(window(7, &tally(1000, 39, 0)).bounce_level, Level::Fine);
        assert_eq!(window(7, &tally(1000, 40, 0)).bounce_level, Level::Close);
        assert_eq!(window(7, &tally(1000, 50, 0)).bounce_level, Level::Over);
        // Complaints: 0.07% fine, 0.08% close, 0.1% over.
        assert_eq!(
            window(30, &tally(10_000, 0, 7)).complaint_level,
            Level::Fine
        );
        assert_eq!(
            window(30, &tally(10_000, 0, 8)).complaint_level,
            Level::Close
        );
        let over = window(30, &tally(10_000, 0, 10));
        assert_eq!(over.complaint_level, Level::Over);
        assert_eq!(over.level, Level::Over);
        assert_eq!(over.complaint_rate.as_deref(), Some("0.10"));
        assert_eq!(over.bounce_rate.as_deref(), Some("0.00"));
    }

    #[test]
    fn little_mail_is_shown_but_not_judged() {
        let w = window(7, &tally(99, 50, 50));
        assert_eq!(w.level, Level::Unjudged);
        assert_eq!(w.bounce_rate.as_deref(), Some("50.51"));
        let none = window(7, &Tally::default());
        assert_eq!(none.bounce_rate, None);
        assert_eq!(none.level, Level::Unjudged);
    }
}
