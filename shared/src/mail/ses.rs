//! The one place that talks to SES: a MIME message (so List-Unsubscribe headers travel with
//! it) sent with SES v2 `SendEmail`, with the shop's configuration set and tags.

use crate::domain::{CustomerId, Email, ShopId};
use aws_sdk_sesv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, MessageTag, RawMessage};
use base64::Engine;
use mail_builder::MessageBuilder;
use mail_builder::headers::raw::Raw;
use mail_builder::headers::url::URL;

/// One email, ready to go.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub from_name: String,
    pub from: Email,
    pub to: Email,
    pub subject: String,
    pub html: String,
    pub text: String,
    /// RFC 8058 one-click unsubscribe URL; absent for transactional mail.
    pub unsubscribe_url: Option<String>,
    pub configuration_set: Option<String>,
    /// SES message tags (name, value); values are made SES-safe here.
    pub tags: Vec<(&'static str, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Throttled, paused or unreachable: SES did not take the message; try again later.
    #[error("SES is unavailable for now: {0}")]
    Retry(String),
    /// SES refused this message for good (rejected content, invalid address).
    #[error("SES rejected the message: {0}")]
    Rejected(String),
}

/// SES tag values allow letters, digits, `_`, `-` and `.` only: other text travels base64url.
pub fn tag_value(text: &str) -> String {
    if !text.is_empty()
        && text.len() <= 256
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
    {
        return text.to_owned();
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

/// The tag that names the message item an SES event is about: shop, customer and message key,
/// always base64url (the value holds newlines), so it decodes without guessing.
pub const REF_TAG: &str = "ref";

/// The `ref` tag's value before SES-safe encoding.
pub fn message_ref(shop: &ShopId, customer: &CustomerId, key: &str) -> String {
    format!("{shop}\n{customer}\n{key}")
}

/// The shop, customer and message key of a `ref` tag as SES reports it.
pub fn parse_message_ref(tag: &str) -> Option<(ShopId, CustomerId, String)> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(tag)
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut parts = text.splitn(3, '\n');
    let shop = ShopId::parse(parts.next()?).ok()?;
    let customer = CustomerId::parse(parts.next()?).ok()?;
    let key = parts.next()?.to_owned();
    (!key.is_empty()).then_some((shop, customer, key))
}

/// Builds the MIME message: multipart/alternative text and HTML, UTF-8 subject, and the
/// List-Unsubscribe pair for one-click unsubscribe.
pub fn mime(message: &Outgoing) -> Vec<u8> {
    let mut builder = MessageBuilder::new()
        .from((message.from_name.as_str(), message.from.as_str()))
        .to(message.to.as_str())
        .subject(message.subject.as_str())
        .text_body(message.text.as_str())
        .html_body(message.html.as_str());
    if let Some(url) = &message.unsubscribe_url {
        builder = builder
            .header("List-Unsubscribe", URL::new(url.as_str()))
            .header(
                "List-Unsubscribe-Post",
                Raw::new("List-Unsubscribe=One-Click"),
            );
    }
    builder
        .write_to_vec()
        .expect("writing to a Vec cannot fail")
}

#[derive(Clone, Debug)]
pub struct Mailer {
    client: aws_sdk_sesv2::Client,
}

impl Mailer {
    pub fn new(client: aws_sdk_sesv2::Client) -> Self {
        Mailer { client }
    }

    /// Sends; returns SES's message id.
    pub async fn send(&self, message: &Outgoing) -> Result<String, SendError> {
        let raw = RawMessage::builder()
            .data(Blob::new(mime(message)))
            .build()
            .map_err(|e| SendError::Rejected(e.to_string()))?;
        let mut request = self
            .client
            .send_email()
            .from_email_address(message.from.as_str())
            .destination(
                Destination::builder()
                    .to_addresses(message.to.as_str())
                    .build(),
            )
            .content(EmailContent::builder().raw(raw).build())
            .set_configuration_set_name(message.configuration_set.clone());
        for (name, value) in &message.tags {
            let tag = MessageTag::builder()
                .name(*name)
                .value(tag_value(value))
                .build()
                .map_err(|e| SendError::Rejected(e.to_string()))?;
            request = request.email_tags(tag);
        }
        match request.send().await {
            Ok(out) => Ok(out.message_id().unwrap_or_default().to_owned()),
            Err(err) => Err(classify(&err)),
        }
    }
}

fn classify<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> SendError {
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            SendError::Retry("SES unreachable".into())
        }
        SdkError::ServiceError(ctx) => {
            let code = ctx.err().code().unwrap_or("unknown").to_owned();
            match code.as_str() {
                "TooManyRequestsException"
                | "LimitExceededException"
                | "SendingPausedException"
                | "ThrottlingException"
                | "Throttling"
                | "InternalFailure"
                | "ServiceUnavailable"
                | "AccountSuspendedException" => SendError::Retry(code),
                _ => SendError::Rejected(format!("{code}: {}", ctx.err().message().unwrap_or(""))),
            }
        }
        _ => SendError::Retry("SES request failed".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outgoing(unsubscribe: Option<&str>) -> Outgoing {
        Outgoing {
            from_name: "Demo Winkel".into(),
            from: Email::parse("winkel@demo.example").unwrap(),
            to: Email::parse("anna@example.nl").unwrap(),
            subject: "Je spaarpunten: 64 erbij ✨".into(),
            html: "<p>Hoi Anna</p>".into(),
            text: "Hoi Anna".into(),
            unsubscribe_url: unsubscribe.map(str::to_owned),
            configuration_set: None,
            tags: vec![],
        }
    }

    #[test]
    fn non_transactional_mail_carries_one_click_unsubscribe() {
        let text =
            String::from_utf8(mime(&outgoing(Some("https://trouw.example/u/abc.def")))).unwrap();
        assert!(
            text.contains("List-Unsubscribe: <https://trouw.example/u/abc.def>"),
            "{text}"
        );
        assert!(text.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
        assert!(text.contains("multipart/alternative"));
        assert!(
            text.contains("Subject: =?utf-8?"),
            "a UTF-8 subject is encoded: {text}"
        );
        let plain = String::from_utf8(mime(&outgoing(None))).unwrap();
        assert!(!plain.contains("List-Unsubscribe"));
    }

    #[test]
    fn the_ref_tag_names_the_message_item_unambiguously() {
        let shop = ShopId::parse("demo").unwrap();
        let customer = CustomerId::parse("cus-8812").unwrap();
        let tag = tag_value(&message_ref(&shop, &customer, "survey#NL-1"));
        assert_eq!(
            parse_message_ref(&tag),
            Some((shop, customer, "survey#NL-1".to_owned()))
        );
        assert_eq!(parse_message_ref("cus-8812"), None);
        assert_eq!(parse_message_ref("not base64!"), None);
    }

    #[test]
    fn tag_values_are_ses_safe() {
        assert_eq!(tag_value("loyalty-earned"), "loyalty-earned");
        let encoded = tag_value("loyalty-earned#NL-100482");
        assert!(
            encoded
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        );
        assert_eq!(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(encoded)
                .unwrap(),
            b"loyalty-earned#NL-100482"
        );
    }
}
