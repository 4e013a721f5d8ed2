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
    /// The request went out and no answer came back (a timeout, a connection reset after
    /// sending): SES may have taken and sent it. At most once: never send it again.
    #[error("SES may have taken the message: {0}")]
    OutcomeUnknown(String),
}

/// SES tag values may hold only ASCII letters, digits, `_` and `-`, at most 256 of them. Such
/// text travels as it is, other text base64url; text too long even then travels as the
/// SHA-256 of it (`sha256-{hex}`): tags other than `ref` only label the email.
pub fn tag_value(text: &str) -> String {
    const MAX: usize = 256;
    if !text.is_empty() && text.len() <= MAX && text.bytes().all(is_tag_byte) {
        return text.to_owned();
    }
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text);
    if encoded.len() <= MAX {
        return encoded;
    }
    use sha2::{Digest, Sha256};
    let hex: String = Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256-{hex}")
}

fn is_tag_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// The tag that names the message item an SES event is about: shop, customer and message key,
/// always base64url (the value holds newlines), so it decodes without guessing. A value longer
/// than a tag holds (customer ids of up to 128 characters of any script) continues in `ref-2`,
/// `ref-3` and `ref-4`.
pub const REF_TAG: &str = "ref";
const REF_TAGS: [&str; 4] = [REF_TAG, "ref-2", "ref-3", "ref-4"];

/// The `ref` tag's value before SES-safe encoding.
pub fn message_ref(shop: &ShopId, customer: &CustomerId, key: &str) -> String {
    format!("{shop}\n{customer}\n{key}")
}

/// The `ref` tags of a message, SES-safe: base64url in pieces of at most 256 characters. With
/// shop ids of at most 63 characters, customer ids of at most 128 and message keys of at most
/// `MAX_MESSAGE_KEY_BYTES` bytes, four pieces always suffice (a test holds the worst case).
pub fn message_ref_tags(
    shop: &ShopId,
    customer: &CustomerId,
    key: &str,
) -> Vec<(&'static str, String)> {
    let encoded =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(message_ref(shop, customer, key));
    let pieces: Vec<&[u8]> = encoded.as_bytes().chunks(256).collect();
    REF_TAGS
        .iter()
        .zip(pieces)
        .map(|(name, piece)| (*name, String::from_utf8_lossy(piece).into_owned()))
        .collect()
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

/// The message an SES event's tags name: the `ref` tag and any continuation (`ref-2`, ...).
pub fn parse_message_ref_tags(
    tags: &std::collections::HashMap<String, Vec<String>>,
) -> Option<(ShopId, CustomerId, String)> {
    let mut encoded = String::new();
    for name in REF_TAGS {
        match tags.get(name).and_then(|values| values.first()) {
            Some(piece) => encoded.push_str(piece),
            None => break,
        }
    }
    parse_message_ref(&encoded)
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
        SdkError::DispatchFailure(failure) if never_connected(failure) => {
            SendError::Retry("SES unreachable".into())
        }
        // The request may have reached SES: a lost answer is not a refusal.
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            SendError::OutcomeUnknown("no answer from SES".into())
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

/// Whether the connection to SES was never made (refused, no route): then nothing was sent.
/// Anything else (a reset or a closed connection after the request went out) may have been.
fn never_connected(failure: &aws_smithy_runtime_api::client::result::DispatchFailure) -> bool {
    use std::io::ErrorKind;
    let Some(connector) = failure.as_connector_error() else {
        return false;
    };
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(connector);
    while let Some(err) = next {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                ErrorKind::ConnectionRefused
                    | ErrorKind::HostUnreachable
                    | ErrorKind::NetworkUnreachable
                    | ErrorKind::AddrNotAvailable
            )
        {
            return true;
        }
        next = err.source();
    }
    false
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
    fn the_longest_ids_fit_the_ref_tags_and_every_tag_is_ses_safe() {
        let shop = ShopId::parse("s".repeat(63)).unwrap();
        let customer = CustomerId::parse("😀".repeat(128)).unwrap();
        let key = crate::domain::message_key("loyalty-reversed", &"é".repeat(200));
        assert!(key.len() <= crate::domain::MAX_MESSAGE_KEY_BYTES);
        let tags = message_ref_tags(&shop, &customer, &key);
        assert!(tags.len() <= REF_TAGS.len());
        for (name, value) in &tags {
            assert_eq!(&tag_value(value), value, "{name} is SES-safe as it is");
            assert!(value.len() <= 256);
        }
        let reported: std::collections::HashMap<String, Vec<String>> = tags
            .into_iter()
            .map(|(name, value)| (name.to_owned(), vec![value]))
            .collect();
        assert_eq!(
            parse_message_ref_tags(&reported),
            Some((shop, customer.clone(), key))
        );
        // Other tags: a long customer id is hashed rather than refused by SES.
        let value = tag_value(customer.as_str());
        assert!(value.starts_with("sha256-") && value.len() <= 256);
        assert!(value.bytes().all(is_tag_byte));
    }

    #[test]
    fn tag_values_are_ses_safe() {
        assert_eq!(
            tag_value("cus.8812"),
            "Y3VzLjg4MTI",
            "SES refuses dots in tag values"
        );
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
