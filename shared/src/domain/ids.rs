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
    #[error("must not contain control characters")]
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
    if value.chars().any(char::is_control) {
        return Err(IdError::ControlCharacter);
    }
    Ok(())
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
    }
}
