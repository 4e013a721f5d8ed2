//! What became of a sent email, as SES reports it: delivered, bounced, complained, opened,
//! clicked, delayed, rejected, not rendered. Reports arrive late, twice, or out of order; the
//! message keeps them as a history and its delivery status is the most telling report, so a
//! late "delivered" never hides a bounce.

use super::{CustomerProfile, OptOutScope, Timestamp, unsubscribe};
use serde::{Deserialize, Serialize};

/// One kind of SES report, named as the product names statuses everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    DeliveryDelayed,
    Delivered,
    Opened,
    Clicked,
    RenderingFailed,
    Rejected,
    Bounced,
    Complained,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 8] = [
        DeliveryStatus::DeliveryDelayed,
        DeliveryStatus::Delivered,
        DeliveryStatus::Opened,
        DeliveryStatus::Clicked,
        DeliveryStatus::RenderingFailed,
        DeliveryStatus::Rejected,
        DeliveryStatus::Bounced,
        DeliveryStatus::Complained,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::DeliveryDelayed => "delivery_delayed",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Opened => "opened",
            DeliveryStatus::Clicked => "clicked",
            DeliveryStatus::RenderingFailed => "rendering_failed",
            DeliveryStatus::Rejected => "rejected",
            DeliveryStatus::Bounced => "bounced",
            DeliveryStatus::Complained => "complained",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// How telling a report is: the status shown is the most telling one received. A
    /// complaint or bounce outranks everything; engagement outranks plain delivery.
    fn rank(self) -> u8 {
        match self {
            DeliveryStatus::DeliveryDelayed => 1,
            DeliveryStatus::Delivered => 2,
            DeliveryStatus::Opened => 3,
            DeliveryStatus::Clicked => 4,
            DeliveryStatus::RenderingFailed | DeliveryStatus::Rejected => 5,
            DeliveryStatus::Bounced => 6,
            DeliveryStatus::Complained => 7,
        }
    }
}

/// One SES report about one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryReport {
    pub status: DeliveryStatus,
    pub at: Timestamp,
    /// A few words from SES: the bounce type, the complaint type, the clicked link's host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// A permanent (hard) bounce: the address is dead.
    #[serde(default)]
    pub permanent: bool,
}

impl DeliveryReport {
    /// The same report from SES twice has the same key.
    pub fn key(&self) -> String {
        format!("{}@{}", self.status.as_str(), self.at.as_millisecond())
    }
}

/// Adds a report to a history kept in time order. `None` if it was there already.
pub fn add_report(
    history: &[DeliveryReport],
    report: DeliveryReport,
) -> Option<Vec<DeliveryReport>> {
    if history.iter().any(|r| r.key() == report.key()) {
        return None;
    }
    let mut next = history.to_vec();
    let at = next.partition_point(|r| (r.at, r.status) <= (report.at, report.status));
    next.insert(at, report);
    Some(next)
}

/// The message's delivery status: the most telling report, whatever the order they came in.
pub fn delivery_status(history: &[DeliveryReport]) -> Option<DeliveryStatus> {
    history.iter().map(|r| r.status).max_by_key(|s| s.rank())
}

/// What a report means for the customer's mail standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StandingChange {
    None,
    /// A permanent bounce: never mail this address again.
    Suppress,
    /// A complaint: never mail again, and no more offers should the address come back.
    SuppressAndOptOut,
}

impl StandingChange {
    pub fn of(report: &DeliveryReport) -> Self {
        match report.status {
            DeliveryStatus::Bounced if report.permanent => StandingChange::Suppress,
            DeliveryStatus::Complained => StandingChange::SuppressAndOptOut,
            _ => StandingChange::None,
        }
    }
}

/// Applies a report's consequence to the profile; `None` when nothing changes (again).
pub fn apply_standing(
    profile: &CustomerProfile,
    change: StandingChange,
    at: Timestamp,
) -> Option<CustomerProfile> {
    if change == StandingChange::None {
        return None;
    }
    let mut next = match change {
        StandingChange::SuppressAndOptOut => {
            unsubscribe(profile, OptOutScope::Promotional, at).unwrap_or_else(|| profile.clone())
        }
        _ => profile.clone(),
    };
    let newly_suppressed = next.mail.suppressed_at.is_none();
    if newly_suppressed {
        next.mail.suppressed_at = Some(at);
    }
    if next == *profile {
        return None;
    }
    if next.version == profile.version {
        next.version += 1;
    }
    Some(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CustomerId, ShopId};

    fn report(status: DeliveryStatus, at: &str) -> DeliveryReport {
        DeliveryReport {
            status,
            at: at.parse().unwrap(),
            detail: None,
            permanent: status == DeliveryStatus::Bounced,
        }
    }

    #[test]
    fn the_most_telling_report_wins_in_any_order_and_duplicates_count_once() {
        let reports = [
            report(DeliveryStatus::Delivered, "2026-11-02T10:00:01Z"),
            report(DeliveryStatus::Opened, "2026-11-02T11:00:00Z"),
            report(DeliveryStatus::Bounced, "2026-11-02T10:00:02Z"),
        ];
        for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0], [2, 0, 1]] {
            let mut history = Vec::new();
            for i in order {
                history = add_report(&history, reports[i].clone()).unwrap();
                assert!(add_report(&history, reports[i].clone()).is_none());
            }
            assert_eq!(delivery_status(&history), Some(DeliveryStatus::Bounced));
            let times: Vec<_> = history.iter().map(|r| r.at).collect();
            assert!(times.is_sorted(), "kept in time order");
        }
        let clicked = [
            report(DeliveryStatus::Clicked, "2026-11-02T12:00:00Z"),
            report(DeliveryStatus::Delivered, "2026-11-02T10:00:00Z"),
        ];
        let history = clicked
            .iter()
            .fold(Vec::new(), |h, r| add_report(&h, r.clone()).unwrap());
        assert_eq!(delivery_status(&history), Some(DeliveryStatus::Clicked));
    }

    #[test]
    fn hard_bounces_suppress_and_complaints_also_opt_out_of_offers_once() {
        let profile = CustomerProfile::new(
            ShopId::parse("demo").unwrap(),
            CustomerId::parse("cus-1").unwrap(),
        );
        let at: Timestamp = "2026-11-02T10:00:00Z".parse().unwrap();
        let mut soft = report(DeliveryStatus::Bounced, "2026-11-02T10:00:00Z");
        soft.permanent = false;
        assert_eq!(StandingChange::of(&soft), StandingChange::None);
        let hard = report(DeliveryStatus::Bounced, "2026-11-02T10:00:00Z");
        let bounced = apply_standing(&profile, StandingChange::of(&hard), at).unwrap();
        assert_eq!(bounced.mail.suppressed_at, Some(at));
        assert!(bounced.mail.opted_out.is_none());
        assert!(apply_standing(&bounced, StandingChange::Suppress, at).is_none());

        let complaint = report(DeliveryStatus::Complained, "2026-11-02T10:00:00Z");
        let complained = apply_standing(&profile, StandingChange::of(&complaint), at).unwrap();
        assert_eq!(complained.mail.suppressed_at, Some(at));
        assert_eq!(
            complained.mail.opted_out.as_ref().map(|o| o.scope),
            Some(OptOutScope::Promotional)
        );
        assert!(!complained.has_marketing_consent());
        assert_eq!(complained.version, profile.version + 1);
        assert!(apply_standing(&complained, StandingChange::SuppressAndOptOut, at).is_none());
    }
}
