//! The record of what marketers saw of customers' personal data: every page that shows email
//! addresses in clear and every download (CSV, JSON) leaves one small entry, kept 400 days.

use super::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// A page showed full email addresses.
    Reveal,
    /// Rows were downloaded (CSV or JSON), masked or not.
    Export,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Reveal => "reveal",
            AuditAction::Export => "export",
        }
    }
}

/// One audited request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// The marketer's user name, as they logged in.
    pub user: String,
    pub at: Timestamp,
    pub action: AuditAction,
    /// Which page: `messages`, `message`, `customer`.
    pub page: String,
    /// `html`, `csv` or `json`.
    pub format: String,
    /// The filters as the marketer set them (`from=… to=… kind=…`), addresses in them masked.
    pub filters: String,
    /// Rows (or customers) shown or downloaded.
    pub rows: u64,
    /// Whether the addresses were in clear.
    pub revealed: bool,
}

impl AuditEntry {
    /// How long entries are kept (the table's TTL removes them afterwards).
    pub const KEEP_FOR: jiff::SignedDuration = jiff::SignedDuration::from_hours(400 * 24);

    /// Whether this request must be recorded at all: any download, and any page with
    /// addresses in clear.
    pub fn is_audited(format_is_download: bool, revealed: bool) -> bool {
        format_is_download || revealed
    }

    pub fn action_for(format_is_download: bool) -> AuditAction {
        if format_is_download {
            AuditAction::Export
        } else {
            AuditAction::Reveal
        }
    }

    /// Epoch seconds when the entry may go.
    pub fn expires_at(&self) -> i64 {
        self.at
            .checked_add(Self::KEEP_FOR)
            .unwrap_or(Timestamp::MAX)
            .as_second()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downloads_and_revealed_pages_are_audited_masked_pages_are_not() {
        assert!(AuditEntry::is_audited(true, false));
        assert!(AuditEntry::is_audited(true, true));
        assert!(AuditEntry::is_audited(false, true));
        assert!(!AuditEntry::is_audited(false, false));
        assert_eq!(AuditEntry::action_for(true), AuditAction::Export);
        assert_eq!(AuditEntry::action_for(false), AuditAction::Reveal);
    }

    #[test]
    fn entries_are_kept_four_hundred_days() {
        let at: Timestamp = "2026-11-29T10:00:00Z".parse().unwrap();
        let entry = AuditEntry {
            user: "m".into(),
            at,
            action: AuditAction::Export,
            page: "messages".into(),
            format: "csv".into(),
            filters: String::new(),
            rows: 3,
            revealed: false,
        };
        let expected: Timestamp = "2028-01-03T10:00:00Z".parse().unwrap();
        assert_eq!(entry.expires_at(), expected.as_second());
    }
}
