//! Identifiers and contact values, parsed once at the edge and trusted inside.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a value was refused; the edge adds the field path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {0} characters")]
    TooLong(usize),
    #[error("must not contain control characters or bidirectional formatting characters")]
    ControlCharacter,
    #[error("{0}")]
    Format(&'static str),
}

fn check_plain(value: &str, max: usize) -> Result<(), IdError> {
    if value.is_empty() {
        return Err(IdError::Empty);
    }
    if value.chars().count() > max {
        return Err(IdError::TooLong(max));
    }
    check_text(value)
}

/// Refuses control characters and Unicode's bidirectional formatting characters (marks,
/// embeddings, overrides, isolates). The latter reorder what a page or an email shows around
/// them, so a stored name or id could read as something it is not; no name or id needs them.
pub fn check_text(value: &str) -> Result<(), IdError> {
    if value
        .chars()
        .any(|c| c.is_control() || is_bidi_formatting(c))
    {
        return Err(IdError::ControlCharacter);
    }
    Ok(())
}

fn is_bidi_formatting(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// The conversions every string value shares: from a `String` through its `parse`, back into
/// a `String`, and `as_str`.
macro_rules! string_value_conversions {
    ($name:ident, $error:ty) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl TryFrom<String> for $name {
            type Error = $error;
            fn try_from(value: String) -> Result<Self, $error> {
                Self::parse(value)
            }
        }
        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }
    };
}

macro_rules! plain_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                check_plain(&value, 128)?;
                Ok(Self(value))
            }
        }
        string_value_conversions!($name, IdError);
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }
    };
}

plain_id!(
    /// The shop platform's customer id (1 to 128 characters).
    CustomerId
);
plain_id!(
    /// The shop's order id (1 to 128 characters).
    OrderId
);
plain_id!(
    /// The delivery id of a webhook (`webhook-id`): the de-duplication key within a shop.
    EventId
);
plain_id!(
    /// A stock keeping unit.
    Sku
);

impl EventId {
    /// The id of an event trouw composes itself (a timer, an answer through a link) from its
    /// kind and parts: [`derived_id`] within the 128 characters every event id may have, so a
    /// customer or order id of any accepted length still makes a valid, stable id.
    pub fn derived(kind: &str, parts: &[&str]) -> EventId {
        EventId(derived_id(kind, ':', parts, MAX_EVENT_ID_BYTES))
    }
}

/// Derived event ids stay within this many bytes, so within `EventId`'s 128 characters.
const MAX_EVENT_ID_BYTES: usize = 128;

/// Marks the hashed form of a derived id; a plain form never has it after the kind.
const HASHED_MARK: char = '~';

/// An internal id made of a fixed `kind` and `parts` that come from outside (customer, order
/// and event ids). The plain form, `{kind}{sep}{part}{sep}{part}...`, is kept while it is at
/// most `max_bytes` long and every part can be carried by keys, tags and URL paths (no
/// control character, no `/`, not starting with `~`); otherwise it is `{kind}{sep}~{SHA-256 hex of kind and
/// parts}`. Deterministic, so a retry or a second pass derives the same id; the two forms never
/// meet, so a long id cannot be confused with a short one; ids that fitted before keep their
/// plain form. `kind` is a short constant and `max_bytes` leaves room for the hashed form.
pub fn derived_id(kind: &str, sep: char, parts: &[&str], max_bytes: usize) -> String {
    let plain_len = kind.len()
        + parts
            .iter()
            .map(|p| p.len() + sep.len_utf8())
            .sum::<usize>();
    let plain_fits = plain_len <= max_bytes
        && parts
            .iter()
            .all(|p| !p.starts_with(HASHED_MARK) && !p.chars().any(|c| c.is_control() || c == '/'));
    if plain_fits {
        let mut id = String::with_capacity(plain_len);
        id.push_str(kind);
        for part in parts {
            id.push(sep);
            id.push_str(part);
        }
        return id;
    }
    use sha2::{Digest, Sha256};
    let mut digest = Sha256::new();
    digest.update(kind.as_bytes());
    for part in parts {
        // Unit separators cannot occur in the parts' plain use, so the input is unambiguous.
        digest.update(b"\x1f");
        digest.update(part.as_bytes());
    }
    let hex: String = digest
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{kind}{sep}{HASHED_MARK}{hex}")
}

/// A shop's id as it appears in URLs and keys: lowercase letters, digits and dashes.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ShopId(String);

impl ShopId {
    pub fn parse(value: impl Into<String>) -> Result<Self, IdError> {
        let value = value.into();
        if value.is_empty() {
            return Err(IdError::Empty);
        }
        if value.len() > 63 {
            return Err(IdError::TooLong(63));
        }
        let mut chars = value.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if !first_ok || !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
            return Err(IdError::Format(
                "must be lowercase letters, digits and dashes, starting with a letter or digit",
            ));
        }
        Ok(Self(value))
    }
}
string_value_conversions!(ShopId, IdError);
impl fmt::Display for ShopId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for ShopId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ShopId({:?})", self.0)
    }
}

/// An email address. Its `Debug` output is redacted so that it cannot leak into logs by accident.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// A pragmatic check (one `@`, a dotted domain, no spaces); the mailbox itself is proven by
    /// delivery, not by syntax. The domain part is lower-cased, the local part kept as given.
    pub fn parse(value: impl Into<String>) -> Result<Self, IdError> {
        let value = value.into();
        let value = value.trim();
        if value.is_empty() {
            return Err(IdError::Empty);
        }
        if value.len() > 254 {
            return Err(IdError::TooLong(254));
        }
        check_text(value)?;
        let Some((local, domain)) = value.rsplit_once('@') else {
            return Err(IdError::Format(
                "must be an email address like name@example.nl",
            ));
        };
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..");
        if local.is_empty()
            || local.len() > 64
            || !domain_ok
            || value.chars().any(|c| c.is_whitespace() || c.is_control())
            || local.contains('@')
        {
            return Err(IdError::Format(
                "must be an email address like name@example.nl",
            ));
        }
        Ok(Self(format!("{local}@{}", domain.to_ascii_lowercase())))
    }
}
string_value_conversions!(Email, IdError);
impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Email(<redacted>)")
    }
}

/// A language tag as the shop sends it: `nl`, `en`, `nl-BE`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Locale(String);

impl Locale {
    pub fn parse(value: impl Into<String>) -> Result<Self, IdError> {
        let value = value.into();
        let b = value.as_bytes();
        let lang_ok = b.len() >= 2 && b[..2].iter().all(u8::is_ascii_lowercase);
        let ok = match b.len() {
            2 => lang_ok,
            5 => lang_ok && b[2] == b'-' && b[3..].iter().all(u8::is_ascii_uppercase),
            _ => false,
        };
        if !ok {
            return Err(IdError::Format("must be a language tag like nl or nl-BE"));
        }
        Ok(Self(value))
    }
    /// The language part: `nl` for `nl-BE`.
    pub fn language(&self) -> &str {
        &self.0[..2]
    }
}
string_value_conversions!(Locale, IdError);
impl fmt::Debug for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Locale({})", self.0)
    }
}
impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shop_ids_are_url_and_key_safe() {
        assert!(ShopId::parse("demo").is_ok());
        assert!(ShopId::parse("de-winkel-2").is_ok());
        assert!(ShopId::parse("Demo").is_err());
        assert!(ShopId::parse("a#b").is_err());
        assert!(ShopId::parse("-a").is_err());
        assert!(ShopId::parse("").is_err());
        assert!(ShopId::parse("a".repeat(64)).is_err());
    }

    #[test]
    fn email_is_checked_and_never_printed_by_debug() {
        let email = Email::parse("Anna.deVries@Example.NL").unwrap();
        assert_eq!(email.as_str(), "Anna.deVries@example.nl");
        assert_eq!(format!("{email:?}"), "Email(<redacted>)");
        for bad in [
            "",
            "anna",
            "anna@",
            "@example.nl",
            "anna@example",
            "an na@example.nl",
            "a@b@c.nl",
            "anna@example..nl",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn locales_follow_the_schema_pattern() {
        assert_eq!(Locale::parse("nl-BE").unwrap().language(), "nl");
        assert!(Locale::parse("nl").is_ok());
        for bad in ["NL", "nl_BE", "nl-be", "dutch", ""] {
            assert!(Locale::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn plain_ids_refuse_empty_long_and_control_characters() {
        assert!(CustomerId::parse("cus-8812").is_ok());
        assert_eq!(CustomerId::parse(""), Err(IdError::Empty));
        assert_eq!(OrderId::parse("x".repeat(129)), Err(IdError::TooLong(128)));
        assert_eq!(Sku::parse("a\nb"), Err(IdError::ControlCharacter));
        for bidi in ["\u{202E}", "\u{200F}", "\u{2066}", "\u{061C}"] {
            let id = format!("cus{bidi}-1");
            assert_eq!(
                CustomerId::parse(id),
                Err(IdError::ControlCharacter),
                "{bidi:?}"
            );
        }
        assert_eq!(
            Email::parse("anna@exa\u{202E}mple.nl"),
            Err(IdError::ControlCharacter)
        );
    }

    #[test]
    fn derived_ids_keep_the_plain_form_while_it_fits() {
        assert_eq!(
            derived_id("timer:order", ':', &["NL-1", "1700000000"], 128),
            "timer:order:NL-1:1700000000"
        );
        assert_eq!(
            EventId::derived("survey", &["NL-1", "9", "29000000"]).as_str(),
            "survey:NL-1:9:29000000"
        );
        assert_eq!(derived_id("survey", '#', &["NL-1#x"], 180), "survey#NL-1#x");
    }

    #[test]
    fn long_or_unusual_parts_give_a_stable_hashed_id_within_the_limit() {
        let long = "é".repeat(128);
        let order = OrderId::parse(long.clone()).unwrap();
        let id = EventId::derived("timer:order", &[order.as_str(), "1700000000"]);
        assert!(id.as_str().starts_with("timer:order:~"), "{id:?}");
        assert!(id.as_str().len() <= 128);
        assert!(EventId::parse(id.as_str()).is_ok(), "a valid event id");
        assert_eq!(
            id,
            EventId::derived("timer:order", &[order.as_str(), "1700000000"]),
            "deterministic"
        );
        assert_ne!(
            id,
            EventId::derived("timer:order", &[order.as_str(), "1700000001"]),
            "another due time is another event"
        );
        // Exactly 128 plain characters are over the limit once the kind is added.
        let ascii = "x".repeat(128);
        let id = EventId::derived("timer:customer", &[&ascii, "1"]);
        assert_eq!(id.as_str().len(), "timer:customer:~".len() + 64);
        // A slash would split a URL path: hashed too.
        assert!(derived_id("survey", '#', &["A/1"], 180).starts_with("survey#~"));
        // A part that looks like a hashed form is hashed itself, so it cannot pose as one.
        let forged = derived_id("survey", '#', &["~abc"], 180);
        assert_ne!(forged, "survey#~abc");
        assert!(forged.starts_with("survey#~") && forged.len() == "survey#~".len() + 64);
        // The parts are kept apart: moving the separator changes the id.
        assert_ne!(
            derived_id("k", ':', &["a:b", "c"], 1),
            derived_id("k", ':', &["a", "b:c"], 1)
        );
    }
}
