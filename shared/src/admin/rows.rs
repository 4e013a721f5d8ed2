//! One line of the message list: what a marketer needs to see at a glance.

use super::filters::class_word;
use crate::domain::MessageRecord;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessageRow {
    /// When the message was created, RFC 3339 in UTC.
    pub at: String,
    /// The same moment in the shop's time zone, `YYYY-MM-DD HH:MM`.
    pub local_time: String,
    pub customer_id: String,
    /// Masked (`a***@example.nl`) unless revealed; absent when the customer has none.
    pub email: Option<String>,
    pub kind: String,
    pub class: String,
    pub status: String,
    /// Why it was skipped, deferred, held out or failed.
    pub reason: Option<String>,
    pub subject: Option<String>,
    /// The message item's key, for the detail page.
    pub key: String,
}

impl MessageRow {
    pub fn new(
        message: &MessageRecord,
        email: Option<&str>,
        reveal: bool,
        time_zone: &jiff::tz::TimeZone,
    ) -> Self {
        let at = message.intent.created_at;
        MessageRow {
            at: at.to_string(),
            local_time: at
                .to_zoned_datetime(time_zone.clone())
                .strftime("%Y-%m-%d %H:%M")
                .to_string(),
            customer_id: message.intent.customer_id.to_string(),
            email: email.map(|e| if reveal { e.to_owned() } else { mask_email(e) }),
            kind: message.intent.data.kind().to_owned(),
            class: class_word(message.intent.class).to_owned(),
            status: status_word(message).to_owned(),
            reason: message
                .reason
                .clone()
                .or_else(|| message.error.clone())
                .or_else(|| message.deferred_until.map(|until| format!("until {until}"))),
            subject: message.subject.clone(),
            key: message.intent.key.clone(),
        }
    }
}

/// The status as the product names it: SES's most telling report once there is one, else what
/// the sender recorded.
pub fn status_word(message: &MessageRecord) -> &'static str {
    use crate::domain::MessageStatus;
    if let Some(status) = message.delivery_status {
        return status.as_str();
    }
    match message.status {
        MessageStatus::Pending => "pending",
        MessageStatus::Sending => "sending",
        MessageStatus::Sent => "sent",
        MessageStatus::Skipped => "skipped",
        MessageStatus::Deferred => "deferred",
        MessageStatus::Failed => "failed",
        MessageStatus::HeldOut => "held_out",
    }
}

/// `anna.devries@example.nl` becomes `a***@example.nl`: enough to recognise, not to mail.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_masked_to_the_first_letter_and_the_domain() {
        assert_eq!(mask_email("anna.devries@example.nl"), "a***@example.nl");
        assert_eq!(mask_email("é@x.nl"), "é***@x.nl");
        assert_eq!(mask_email("nonsense"), "***");
    }
}
