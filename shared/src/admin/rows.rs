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
                .map(|text| shown_text(&text, reveal))
                .or_else(|| message.deferred_until.map(|until| format!("until {until}"))),
            subject: message.subject.clone(),
            key: message.intent.key.clone(),
        }
    }
}

/// Why a message is where it is, in the marketer's words: a deferral's reason and until when
/// ("frequency cap until 2026-11-02 10:00"), a skip's, hold-out's or unknown send's reason, or
/// a failure's text (addresses in it masked unless revealed). A message that went has none,
/// even if it waited first: that is its history.
pub fn reason_words(
    lang: &str,
    message: &MessageRecord,
    reveal: bool,
    time_zone: &jiff::tz::TimeZone,
) -> Option<String> {
    use super::labels::{Group, code};
    let reason = message
        .reason
        .as_deref()
        .map(|r| code(lang, Group::Reason, r));
    if let Some(until) = message.deferred_until {
        let until = until
            .to_zoned_datetime(time_zone.clone())
            .strftime("%Y-%m-%d %H:%M")
            .to_string();
        let word = if lang == "en" { "until" } else { "tot" };
        return Some(format!("{} {word} {until}", reason.unwrap_or_default()));
    }
    reason.or_else(|| {
        message
            .error
            .as_deref()
            .map(|text| shown_text(text, reveal))
    })
}

/// The status as the product names it: SES's most telling report once there is one, else what
/// the sender recorded; `unknown` for a message whose sender stopped after the claim (see
/// `MessageRecord::seen_at`).
pub fn status_word(message: &MessageRecord) -> &'static str {
    use crate::domain::{MessageStatus, SENDING_UNKNOWN_REASON};
    if let Some(status) = message.delivery_status {
        return status.as_str();
    }
    match message.status {
        MessageStatus::Pending => "pending",
        MessageStatus::Sending if message.reason.as_deref() == Some(SENDING_UNKNOWN_REASON) => {
            "unknown"
        }
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

/// Free text from SES (a rejection's error, a bounce's diagnostic, a rendering failure) as a
/// marketer sees it: any address it quotes is masked like the address column, unless revealed.
pub fn shown_text(text: &str, reveal: bool) -> String {
    if reveal {
        text.to_owned()
    } else {
        mask_addresses_in(text)
    }
}

/// Masks every email address inside `text` (`550 <anna.devries@example.nl>: unknown` becomes
/// `550 <a***@example.nl>: unknown`): a run of address characters around an `@` with a dotted
/// domain after it.
pub fn mask_addresses_in(text: &str) -> String {
    fn local_char(c: char) -> bool {
        c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c)
    }
    fn domain_char(c: char) -> bool {
        c.is_alphanumeric() || c == '-' || c == '.'
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '@' {
            i += 1;
            continue;
        }
        let mut start = i;
        while start > copied && local_char(chars[start - 1]) {
            start -= 1;
        }
        let mut end = i + 1;
        while end < chars.len() && domain_char(chars[end]) {
            end += 1;
        }
        // A sentence may end right after the address.
        while end > i + 1 && chars[end - 1] == '.' {
            end -= 1;
        }
        let domain: String = chars[i + 1..end].iter().collect();
        if start < i && domain.contains('.') {
            out.extend(&chars[copied..start]);
            let address: String = chars[start..end].iter().collect();
            out.push_str(&mask_email(&address));
            copied = end;
        }
        i = end.max(i + 1);
    }
    out.extend(&chars[copied..]);
    out
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

    #[test]
    fn addresses_quoted_in_ses_texts_are_masked() {
        assert_eq!(
            mask_addresses_in(
                "MessageRejected: Email address is not verified. The following identities failed the check in region EU-WEST-1: anna.devries@example.nl, Winkel <winkel@demo.trouw.test>."
            ),
            "MessageRejected: Email address is not verified. The following identities failed the check in region EU-WEST-1: a***@example.nl, Winkel <w***@demo.trouw.test>."
        );
        assert_eq!(
            mask_addresses_in("smtp; 550 5.1.1 <Jan+shop@Example.NL>: Recipient address rejected"),
            "smtp; 550 5.1.1 <J***@Example.NL>: Recipient address rejected"
        );
        assert_eq!(mask_addresses_in("é.ü@x.nl"), "é***@x.nl");
        // Nothing that is not an address changes.
        for text in [
            "Permanent General",
            "user @ host",
            "a@b",
            "@example.nl",
            "",
            "5 @ 3.95",
        ] {
            assert_eq!(mask_addresses_in(text), text);
        }
        assert_eq!(shown_text("anna@example.nl", true), "anna@example.nl");
        assert_eq!(shown_text("anna@example.nl", false), "a***@example.nl");
    }
}
