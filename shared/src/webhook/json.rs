//! Reading platform payloads (Shopify, WooCommerce) field by field, with the field path in
//! every refusal. Platforms send numbers for ids and strings for money; both are accepted
//! where a platform is known to vary.

use super::PayloadError;
use crate::domain::{Amount, Timestamp};
use serde_json::Value;

/// A JSON object with the path that leads to it, for error messages.
#[derive(Clone, Copy)]
pub(crate) struct Obj<'a> {
    pub value: &'a Value,
    pub path: &'a str,
}

impl<'a> Obj<'a> {
    pub fn root(value: &'a Value) -> Result<Self, PayloadError> {
        if !value.is_object() {
            return Err(PayloadError::new("body", "must be a JSON object"));
        }
        Ok(Obj { value, path: "" })
    }

    pub fn field_path(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.path)
        }
    }

    /// The member, if present and not null.
    pub fn get(&self, name: &str) -> Option<&'a Value> {
        self.value.get(name).filter(|v| !v.is_null())
    }

    /// A string member; empty strings count as absent.
    pub fn str(&self, name: &str) -> Result<Option<&'a str>, PayloadError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(PayloadError::new(self.field_path(name), "must be a string")),
        }
    }

    pub fn require_str(&self, name: &str) -> Result<&'a str, PayloadError> {
        self.str(name)?
            .ok_or_else(|| PayloadError::new(self.field_path(name), "is required"))
    }

    /// An id sent as a number or a string.
    pub fn id(&self, name: &str) -> Result<Option<String>, PayloadError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(PayloadError::new(
                self.field_path(name),
                "must be a number or a string",
            )),
        }
    }

    pub fn require_id(&self, name: &str) -> Result<String, PayloadError> {
        self.id(name)?
            .ok_or_else(|| PayloadError::new(self.field_path(name), "is required"))
    }

    pub fn u64(&self, name: &str) -> Result<Option<u64>, PayloadError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .map(Some)
                .ok_or_else(|| PayloadError::new(self.field_path(name), "must be a whole number")),
        }
    }

    /// A required line quantity in the canonical range.
    pub fn quantity(&self, name: &str) -> Result<u32, PayloadError> {
        let q = self
            .u64(name)?
            .ok_or_else(|| PayloadError::new(self.field_path(name), "is required"))?;
        super::canonical::quantity(&self.field_path(name), q)
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>, PayloadError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(PayloadError::new(
                self.field_path(name),
                "must be true or false",
            )),
        }
    }

    /// A decimal amount sent as a string ("3.95") or a JSON number (3.95).
    pub fn amount(&self, name: &str) -> Result<Option<Amount>, PayloadError> {
        let text = match self.get(name) {
            None => return Ok(None),
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(_) => {
                return Err(PayloadError::new(
                    self.field_path(name),
                    "must be a decimal amount",
                ));
            }
        };
        Amount::parse(&text)
            .map(Some)
            .map_err(|e| PayloadError::new(self.field_path(name), e))
    }

    pub fn require_amount(&self, name: &str) -> Result<Amount, PayloadError> {
        self.amount(name)?
            .ok_or_else(|| PayloadError::new(self.field_path(name), "is required"))
    }

    /// An RFC 3339 time with offset (Shopify).
    pub fn time(&self, name: &str) -> Result<Option<Timestamp>, PayloadError> {
        match self.str(name)? {
            None => Ok(None),
            Some(text) => {
                let t = text.parse::<Timestamp>().map_err(|_| {
                    PayloadError::new(
                        self.field_path(name),
                        "must be an ISO 8601 time with offset",
                    )
                })?;
                super::canonical::in_event_range(&self.field_path(name), t).map(Some)
            }
        }
    }

    /// A time without offset that the platform documents as UTC (WooCommerce's `*_gmt`).
    pub fn utc_time(&self, name: &str) -> Result<Option<Timestamp>, PayloadError> {
        match self.str(name)? {
            None => Ok(None),
            Some(text) => text
                .parse::<jiff::civil::DateTime>()
                .ok()
                .and_then(|dt| jiff::tz::TimeZone::UTC.to_timestamp(dt).ok())
                .ok_or_else(|| {
                    PayloadError::new(
                        self.field_path(name),
                        "must be a time like 2026-11-02T08:14:03",
                    )
                })
                .and_then(|t| super::canonical::in_event_range(&self.field_path(name), t))
                .map(Some),
        }
    }

    pub fn object(&self, name: &str, path: &'a str) -> Option<Obj<'a>> {
        self.get(name)
            .filter(|v| v.is_object())
            .map(|value| Obj { value, path })
    }

    /// The codes of a platform's discount list (`[{"code": "..."}, ...]`), as trouw keys codes;
    /// entries without a usable code are passed over: a code is a hint for loyalty, never a
    /// reason to refuse an order. At most 50.
    pub fn codes(&self, name: &str) -> Vec<String> {
        let Some(Value::Array(items)) = self.get(name) else {
            return Vec::new();
        };
        let mut codes: Vec<String> = items
            .iter()
            .filter_map(|item| item.get("code")?.as_str())
            .filter_map(crate::domain::code_key)
            .take(50)
            .collect();
        codes.dedup();
        codes
    }

    pub fn array(&self, name: &str) -> Result<&'a [Value], PayloadError> {
        match self.get(name) {
            None => Ok(&[]),
            Some(Value::Array(items)) => Ok(items.as_slice()),
            Some(_) => Err(PayloadError::new(self.field_path(name), "must be a list")),
        }
    }
}
