//! The audit of reveals and downloads as the marketers' pages record and show it.

use super::filters::{MessageFilter, class_word};
use super::mask_email;
use crate::domain::AuditEntry;
use serde::Serialize;

/// The filters of a list or download as recorded: what was asked, with an address searched
/// for masked like everywhere else (the audit must not become a list of addresses).
pub fn describe_filter(filter: &MessageFilter) -> String {
    let mut parts = vec![format!("from={}", filter.from), format!("to={}", filter.to)];
    if let Some(kind) = &filter.kind {
        parts.push(format!("kind={kind}"));
    }
    if let Some(class) = filter.class {
        parts.push(format!("class={}", class_word(class)));
    }
    if let Some(status) = &filter.status {
        parts.push(format!("status={status}"));
    }
    if let Some(customer) = &filter.customer {
        parts.push(format!("customer={customer}"));
    }
    if let Some(email) = &filter.email {
        parts.push(format!("email={}", mask_email(email)));
    }
    if filter.cursor.is_some() {
        parts.push("page=next".into());
    }
    parts.join(" ")
}

/// One line of the audit page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRow {
    /// In the shop's time zone, `YYYY-MM-DD HH:MM:SS`.
    pub local_time: String,
    pub user: String,
    pub action: &'static str,
    pub page: String,
    pub format: String,
    pub filters: String,
    pub rows: u64,
    pub revealed: bool,
}

impl AuditRow {
    pub fn new(entry: &AuditEntry, time_zone: &jiff::tz::TimeZone) -> Self {
        AuditRow {
            local_time: entry
                .at
                .to_zoned_datetime(time_zone.clone())
                .strftime("%Y-%m-%d %H:%M:%S")
                .to_string(),
            user: entry.user.clone(),
            action: entry.action.as_str(),
            page: entry.page.clone(),
            format: entry.format.clone(),
            filters: entry.filters.clone(),
            rows: entry.rows,
            revealed: entry.revealed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ShopId;

    #[test]
    fn the_recorded_filters_name_every_filter_and_mask_the_address() {
        let filter = MessageFilter::parse(
            "from=2026-11-01&to=2026-11-20&kind=survey&status=sent&email=anna%40example.nl&reveal=1&format=csv",
            &[ShopId::parse("demo").unwrap()],
            "2026-11-23".parse().unwrap(),
            &["survey"],
        )
        .unwrap();
        assert_eq!(
            describe_filter(&filter),
            "from=2026-11-01 to=2026-11-20 kind=survey status=sent email=a***@example.nl"
        );
    }
}
