//! Attribution: which message an order came after. Last touch: an order belongs to the
//! customer's last sent, non-internal message before it, when it was placed within the shop's
//! window counted from the send (or, if the shop chooses, from a click on that message).
//!
//! The profile keeps that last message (its key, kind and times) as the sender records a send,
//! so that an order finds its message without a query.

use super::Timestamp;
use jiff::SignedDuration;
use serde::{Deserialize, Serialize};

/// The window a shop gets when it sets none: five days, counted from the send.
pub const DEFAULT_ATTRIBUTION_WINDOW_DAYS: u16 = 5;
/// The longest window a shop may set: past a month, an order says little about a mail.
pub const MAX_ATTRIBUTION_WINDOW_DAYS: u16 = 30;

/// Where the attribution window starts. From the send by default: opens say little since mail
/// clients open every mail to fetch its images.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributionFrom {
    #[default]
    Send,
    Click,
}

/// The customer's last sent, non-internal message, kept on the profile (about 70 bytes: its
/// times to the second, as epoch seconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastTouch {
    /// The message item's key (`kind#cause`).
    pub key: String,
    #[serde(with = "super::epoch::single")]
    pub sent_at: Timestamp,
    /// The first click SES reported on it, if any.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "super::epoch::option"
    )]
    pub clicked_at: Option<Timestamp>,
}

/// The customer's last held-out message, kept on the profile as the sender records it
/// HELD_OUT (50 to 70 bytes: its key and a time in epoch seconds): a later order within the
/// window counts as a conversion of the held-out group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldOutTouch {
    /// The message item's key (`kind#cause`).
    pub key: String,
    /// When the message would have gone: the held-out customer's window starts here, as a
    /// treated customer's starts at the send.
    #[serde(with = "super::epoch::single")]
    pub at: Timestamp,
}

/// What an order counts for: a sent message (attribution, the treated group) or a held-out
/// one (the holdout group's conversion).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credit {
    Attributed(Attribution),
    HeldOut(HeldOutTouch),
}

/// What an order placed at `placed_at` counts for: the customer's latest touch before it.
/// A held-out message newer than the last sent one takes the order when it was placed within
/// the window from when that message would have gone (a held-out customer never clicks, so
/// the window always runs from there); otherwise the order is attributed as [`attribute`]
/// says. A tie goes to the sent message.
pub fn credit(
    touch: Option<&LastTouch>,
    held_out: Option<&HeldOutTouch>,
    placed_at: Timestamp,
    window_days: u16,
    from: AttributionFrom,
) -> Option<Credit> {
    let latest_held_out = held_out.filter(|h| {
        h.at <= placed_at && touch.is_none_or(|t| t.sent_at > placed_at || h.at > t.sent_at)
    });
    match latest_held_out {
        Some(held) => {
            let window = SignedDuration::from_hours(24 * i64::from(window_days));
            (placed_at < held.at + window).then(|| Credit::HeldOut(held.clone()))
        }
        None => attribute(touch, placed_at, window_days, from).map(Credit::Attributed),
    }
}

/// An order attributed to a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribution {
    pub message_key: String,
    /// Whole days between the send and the order ("ordered 2 days after this email").
    pub days_after_send: u32,
}

/// The message an order placed at `placed_at` is attributed to, if any: the last touch, when
/// the order came at or after the start of its window (the send, or the click in click mode)
/// and before the window closed. In click mode a message nobody clicked earns nothing.
pub fn attribute(
    touch: Option<&LastTouch>,
    placed_at: Timestamp,
    window_days: u16,
    from: AttributionFrom,
) -> Option<Attribution> {
    let touch = touch?;
    let start = match from {
        AttributionFrom::Send => touch.sent_at,
        AttributionFrom::Click => touch.clicked_at?,
    };
    let window = SignedDuration::from_hours(24 * i64::from(window_days));
    if placed_at < start || placed_at >= start + window {
        return None;
    }
    let since_send = placed_at.duration_since(touch.sent_at).as_secs().max(0);
    Some(Attribution {
        message_key: touch.key.clone(),
        days_after_send: u32::try_from(since_send / 86_400).unwrap_or(u32::MAX),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(at: &str) -> Timestamp {
        at.parse().unwrap()
    }

    fn touch(clicked: Option<&str>) -> LastTouch {
        LastTouch {
            key: "reactivation#e-1".into(),
            sent_at: t("2026-11-01T10:00:00Z"),
            clicked_at: clicked.map(t),
        }
    }

    #[test]
    fn an_order_inside_the_window_from_the_send_goes_to_the_last_message() {
        let got = attribute(
            Some(&touch(None)),
            t("2026-11-03T12:00:00Z"),
            5,
            AttributionFrom::Send,
        )
        .unwrap();
        assert_eq!(got.message_key, "reactivation#e-1");
        assert_eq!(got.days_after_send, 2);
        // The first and the last second of the window.
        assert!(
            attribute(
                Some(&touch(None)),
                t("2026-11-01T10:00:00Z"),
                5,
                AttributionFrom::Send
            )
            .is_some()
        );
        assert!(
            attribute(
                Some(&touch(None)),
                t("2026-11-06T09:59:59Z"),
                5,
                AttributionFrom::Send
            )
            .is_some()
        );
    }

    #[test]
    fn an_order_outside_the_window_or_before_the_send_goes_to_no_message() {
        for placed in ["2026-11-06T10:00:00Z", "2026-11-01T09:59:59Z"] {
            assert_eq!(
                attribute(Some(&touch(None)), t(placed), 5, AttributionFrom::Send),
                None,
                "{placed}"
            );
        }
        assert_eq!(
            attribute(None, t("2026-11-02T10:00:00Z"), 5, AttributionFrom::Send),
            None
        );
        // A one-day window closes a day after the send.
        assert_eq!(
            attribute(
                Some(&touch(None)),
                t("2026-11-02T10:00:00Z"),
                1,
                AttributionFrom::Send
            ),
            None
        );
    }

    fn held(at: &str) -> HeldOutTouch {
        HeldOutTouch {
            key: "replenishment#o-1#sku".into(),
            at: t(at),
        }
    }

    fn held_out_key(got: Option<Credit>) -> Option<String> {
        match got {
            Some(Credit::HeldOut(h)) => Some(h.key),
            _ => None,
        }
    }

    #[test]
    fn an_order_within_the_window_after_a_held_out_message_is_its_conversion() {
        // Held out at 08:00 on the 4th (when it would have gone): the window runs five days
        // from there, whatever the sent message before it.
        let touch = touch(None);
        let held = held("2026-11-04T08:00:00Z");
        for placed in ["2026-11-04T08:00:00Z", "2026-11-09T07:59:59Z"] {
            let got = credit(
                Some(&touch),
                Some(&held),
                t(placed),
                5,
                AttributionFrom::Send,
            );
            assert_eq!(
                held_out_key(got).as_deref(),
                Some("replenishment#o-1#sku"),
                "{placed}"
            );
        }
        // After its window: nothing, not the older sent message either.
        assert_eq!(
            credit(
                Some(&touch),
                Some(&held),
                t("2026-11-09T08:00:00Z"),
                5,
                AttributionFrom::Send
            ),
            None
        );
        // Without any sent message before it.
        assert!(matches!(
            credit(
                None,
                Some(&held),
                t("2026-11-05T08:00:00Z"),
                5,
                AttributionFrom::Click
            ),
            Some(Credit::HeldOut(_))
        ));
    }

    #[test]
    fn an_order_after_a_sent_message_stays_with_the_treated_side() {
        // The held-out message is older than the send: the send is the last touch.
        let old = held("2026-10-31T08:00:00Z");
        let got = credit(
            Some(&touch(None)),
            Some(&old),
            t("2026-11-02T12:00:00Z"),
            5,
            AttributionFrom::Send,
        );
        assert!(
            matches!(&got, Some(Credit::Attributed(a)) if a.message_key == "reactivation#e-1"),
            "{got:?}"
        );
        // A held-out message whose time to go lies after the order (it waited for the morning)
        // is no touch before it: the order goes to the sent message.
        let later = held("2026-11-03T07:00:00Z");
        let got = credit(
            Some(&touch(None)),
            Some(&later),
            t("2026-11-02T23:00:00Z"),
            5,
            AttributionFrom::Send,
        );
        assert!(matches!(got, Some(Credit::Attributed(_))), "{got:?}");
        // The same second: the sent message.
        let tie = held("2026-11-01T10:00:00Z");
        let got = credit(
            Some(&touch(None)),
            Some(&tie),
            t("2026-11-01T12:00:00Z"),
            5,
            AttributionFrom::Send,
        );
        assert!(matches!(got, Some(Credit::Attributed(_))), "{got:?}");
        assert_eq!(
            credit(
                None,
                None,
                t("2026-11-01T12:00:00Z"),
                5,
                AttributionFrom::Send
            ),
            None
        );
    }

    #[test]
    fn in_click_mode_the_window_starts_at_the_click_and_unclicked_mail_earns_nothing() {
        let placed = t("2026-11-07T10:00:00Z");
        assert_eq!(
            attribute(Some(&touch(None)), placed, 5, AttributionFrom::Click),
            None
        );
        let clicked = touch(Some("2026-11-04T08:00:00Z"));
        let got = attribute(Some(&clicked), placed, 5, AttributionFrom::Click).unwrap();
        // Counted from the send for the timeline, though the window ran from the click.
        assert_eq!(got.days_after_send, 6);
        assert_eq!(
            attribute(Some(&clicked), placed, 5, AttributionFrom::Send),
            None,
            "six days after the send is outside a send window"
        );
        assert_eq!(
            attribute(
                Some(&clicked),
                t("2026-11-04T07:59:59Z"),
                5,
                AttributionFrom::Click
            ),
            None,
            "an order before the click"
        );
    }
}
