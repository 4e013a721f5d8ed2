//! A JSON object that names a key twice is ambiguous: RFC 8259 leaves open which value counts,
//! and parsers differ (serde_json keeps the last, others the first). The signature covers the
//! bytes, not a meaning, so a body must not mean one thing to the platform that sent it and
//! another to trouw. Such a body is refused, naming the repeated member.

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::collections::HashSet;
use std::fmt;

/// The path (`order.total`, `order.lines[1].quantity`) of the first member whose key its
/// object already had, if any. Meant for a body already known to be valid JSON.
pub(crate) fn first_repeated_key(body: &[u8]) -> Option<String> {
    let mut found = None;
    let mut de = serde_json::Deserializer::from_slice(body);
    let _ = Walk {
        path: String::new(),
        found: &mut found,
    }
    .deserialize(&mut de);
    found
}

/// Visits one value at `path`; stops (with an error) once a repeated key is found.
struct Walk<'a> {
    path: String,
    found: &'a mut Option<String>,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Walk { path, found } = self;
        let mut index = 0;
        loop {
            let item = Walk {
                path: format!("{path}[{index}]"),
                found: &mut *found,
            };
            if seq.next_element_seed(item)?.is_none() {
                return Ok(());
            }
            index += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Walk { path, found } = self;
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let member = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            if !seen.insert(key) {
                *found = Some(member);
                return Err(de::Error::custom("repeated key"));
            }
            map.next_value_seed(Walk {
                path: member,
                found: &mut *found,
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::first_repeated_key;

    #[test]
    fn names_the_first_repeated_member() {
        let repeated = |body: &str| first_repeated_key(body.as_bytes());
        assert_eq!(
            repeated(r#"{"a":1,"b":{"c":[{"d":1,"d":2}]}}"#).as_deref(),
            Some("b.c[0].d")
        );
        assert_eq!(
            repeated(r#"{"type":"x","type":"x"}"#).as_deref(),
            Some("type")
        );
        assert_eq!(
            repeated(r#"{"a":{"k":1},"b":{"k":1},"c":[{"k":1},{"k":2}]}"#),
            None
        );
        assert_eq!(
            repeated(r#"[1,{"a":null,"a":null}]"#).as_deref(),
            Some("[1].a")
        );
    }
}
