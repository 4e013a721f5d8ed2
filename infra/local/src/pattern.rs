//! Event patterns, as EventBridge rules and Lambda event filtering evaluate them: the one
//! matcher for the stream filter in front of `send-messages` and for the rule in front of
//! `ses-events`, so that what the template's patterns let through locally is what AWS lets
//! through.
//!
//! A pattern is a JSON object. Every field it names must match (AND); `$or` holds a list of
//! sub-patterns of which one must match. A field's value is either a nested pattern (the event's
//! field must be an object that matches it) or a list of matchers, of which one must match the
//! event's value (OR). When the event's value is a list, the field matches if any element does.
//! Matchers: an exact string, number (compared as a number), boolean or null; `prefix`, `suffix`
//! (each also `{"equals-ignore-case": ...}` inside), `equals-ignore-case`, `wildcard`,
//! `anything-but` (a value, a list of values, or a `prefix`/`suffix`), `numeric` (one or two
//! comparisons) and `exists`. Only `exists: false` matches a field the event lacks.

use serde_json::{Map, Value};

/// A parsed event pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    root: Node,
}

#[derive(Debug, Clone, PartialEq)]
struct Node {
    fields: Vec<(String, Field)>,
    /// Each `$or` in this object: one of its alternatives must match.
    any_of: Vec<Vec<Node>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Field {
    Nested(Node),
    OneOf(Vec<Matcher>),
}

#[derive(Debug, Clone, PartialEq)]
enum Matcher {
    Exact(Value),
    Prefix { text: String, ignore_case: bool },
    Suffix { text: String, ignore_case: bool },
    EqualsIgnoreCase(String),
    Wildcard(String),
    AnythingBut(Vec<Matcher>),
    Numeric(Vec<(Comparison, f64)>),
    Exists(bool),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Comparison {
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
}

/// Why a pattern was refused (EventBridge refuses the rule, Lambda the filter).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid event pattern at {path}: {reason}")]
pub struct PatternError {
    pub path: String,
    pub reason: String,
}

impl Pattern {
    /// Parses a pattern from its JSON text (as `FilterCriteria` holds it).
    pub fn parse(text: &str) -> Result<Pattern, PatternError> {
        let value: Value = serde_json::from_str(text).map_err(|e| PatternError {
            path: "$".into(),
            reason: e.to_string(),
        })?;
        Pattern::from_value(&value)
    }

    /// A pattern given as JSON (as an `EventBridgeRule`'s `Pattern` in the template is).
    pub fn from_value(value: &Value) -> Result<Pattern, PatternError> {
        let Value::Object(object) = value else {
            return Err(error("$", "a pattern is a JSON object"));
        };
        Ok(Pattern {
            root: node(object, "$")?,
        })
    }

    /// Whether `event` matches.
    pub fn matches(&self, event: &Value) -> bool {
        match event {
            Value::Object(object) => self.root.matches(object),
            _ => false,
        }
    }
}

fn error(path: &str, reason: &str) -> PatternError {
    PatternError {
        path: path.to_owned(),
        reason: reason.to_owned(),
    }
}

fn node(object: &Map<String, Value>, path: &str) -> Result<Node, PatternError> {
    let mut parsed = Node {
        fields: Vec::new(),
        any_of: Vec::new(),
    };
    for (key, value) in object {
        let here = format!("{path}.{key}");
        if key == "$or" {
            let alternatives = match value {
                Value::Array(items) if items.len() >= 2 => items,
                _ => return Err(error(&here, "$or takes a list of at least two patterns")),
            };
            let mut nodes = Vec::new();
            for (i, alternative) in alternatives.iter().enumerate() {
                let Value::Object(object) = alternative else {
                    return Err(error(
                        &format!("{here}[{i}]"),
                        "an alternative is an object",
                    ));
                };
                nodes.push(node(object, &format!("{here}[{i}]"))?);
            }
            parsed.any_of.push(nodes);
            continue;
        }
        let field = match value {
            Value::Object(object) => Field::Nested(node(object, &here)?),
            Value::Array(items) if !items.is_empty() => Field::OneOf(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| matcher(item, &format!("{here}[{i}]")))
                    .collect::<Result<_, _>>()?,
            ),
            _ => {
                return Err(error(
                    &here,
                    "a field's value is an object or a non-empty list of matchers",
                ));
            }
        };
        parsed.fields.push((key.clone(), field));
    }
    Ok(parsed)
}

fn matcher(item: &Value, path: &str) -> Result<Matcher, PatternError> {
    let Value::Object(object) = item else {
        return match item {
            Value::Array(_) => Err(error(path, "a matcher is not a list")),
            exact => Ok(Matcher::Exact(exact.clone())),
        };
    };
    let mut entries = object.iter();
    let (Some((name, argument)), None) = (entries.next(), entries.next()) else {
        return Err(error(path, "a matcher object has exactly one operator"));
    };
    let here = format!("{path}.{name}");
    match (name.as_str(), argument) {
        ("prefix", _) => {
            let (text, ignore_case) = affix(argument, &here)?;
            Ok(Matcher::Prefix { text, ignore_case })
        }
        ("suffix", _) => {
            let (text, ignore_case) = affix(argument, &here)?;
            Ok(Matcher::Suffix { text, ignore_case })
        }
        ("equals-ignore-case", Value::String(text)) => Ok(Matcher::EqualsIgnoreCase(text.clone())),
        ("wildcard", Value::String(text)) => Ok(Matcher::Wildcard(text.clone())),
        ("exists", Value::Bool(present)) => Ok(Matcher::Exists(*present)),
        ("numeric", Value::Array(parts)) => numeric(parts, &here),
        ("anything-but", Value::Array(values)) if !values.is_empty() => values
            .iter()
            .map(|v| match v {
                Value::String(_) | Value::Number(_) => Ok(Matcher::Exact(v.clone())),
                _ => Err(error(&here, "anything-but lists strings or numbers")),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Matcher::AnythingBut),
        ("anything-but", Value::String(_) | Value::Number(_)) => {
            Ok(Matcher::AnythingBut(vec![Matcher::Exact(argument.clone())]))
        }
        ("anything-but", Value::Object(_)) => match matcher(argument, &here)? {
            inner @ (Matcher::Prefix { .. }
            | Matcher::Suffix { .. }
            | Matcher::EqualsIgnoreCase(_)
            | Matcher::Wildcard(_)) => Ok(Matcher::AnythingBut(vec![inner])),
            _ => Err(error(
                &here,
                "anything-but takes a prefix, suffix, equals-ignore-case or wildcard",
            )),
        },
        ("equals-ignore-case" | "wildcard" | "exists" | "numeric" | "anything-but", _) => {
            Err(error(&here, "wrong kind of argument"))
        }
        _ => Err(error(&here, "unknown operator")),
    }
}

/// `"text"` or `{"equals-ignore-case": "text"}`.
fn affix(argument: &Value, path: &str) -> Result<(String, bool), PatternError> {
    match argument {
        Value::String(text) => Ok((text.clone(), false)),
        Value::Object(object) if object.len() == 1 => match object.get("equals-ignore-case") {
            Some(Value::String(text)) => Ok((text.clone(), true)),
            _ => Err(error(
                path,
                "expects a string or {\"equals-ignore-case\": string}",
            )),
        },
        _ => Err(error(path, "expects a string")),
    }
}

/// `[">", 0, "<=", 5]` or `["=", 3]`.
fn numeric(parts: &[Value], path: &str) -> Result<Matcher, PatternError> {
    if parts.is_empty() || !parts.len().is_multiple_of(2) || parts.len() > 4 {
        return Err(error(
            path,
            "one or two comparisons, each an operator and a number",
        ));
    }
    let mut comparisons = Vec::new();
    for pair in parts.chunks(2) {
        let comparison = match pair[0].as_str() {
            Some("<") => Comparison::Lt,
            Some("<=") => Comparison::Le,
            Some("=") => Comparison::Eq,
            Some(">=") => Comparison::Ge,
            Some(">") => Comparison::Gt,
            _ => return Err(error(path, "operators are <, <=, =, >=, >")),
        };
        let Some(bound) = pair[1].as_f64() else {
            return Err(error(path, "a comparison needs a number"));
        };
        comparisons.push((comparison, bound));
    }
    if comparisons.len() == 2 && comparisons.iter().any(|(c, _)| *c == Comparison::Eq) {
        return Err(error(path, "= stands alone"));
    }
    Ok(Matcher::Numeric(comparisons))
}

impl Node {
    fn matches(&self, event: &Map<String, Value>) -> bool {
        self.fields
            .iter()
            .all(|(key, field)| field.matches(event.get(key)))
            && self
                .any_of
                .iter()
                .all(|alternatives| alternatives.iter().any(|node| node.matches(event)))
    }
}

impl Field {
    fn matches(&self, value: Option<&Value>) -> bool {
        match self {
            Field::Nested(node) => match value {
                Some(Value::Object(object)) => node.matches(object),
                Some(Value::Array(items)) => items.iter().any(|item| match item {
                    Value::Object(object) => node.matches(object),
                    _ => false,
                }),
                // Only fields that must not exist can match inside a missing object.
                None => node.matches(&Map::new()),
                Some(_) => false,
            },
            Field::OneOf(matchers) => matchers.iter().any(|m| m.matches_field(value)),
        }
    }
}

impl Matcher {
    fn matches_field(&self, value: Option<&Value>) -> bool {
        match (self, value) {
            (Matcher::Exists(present), value) => *present == value.is_some_and(|v| !v.is_object()),
            (_, None) => false,
            (_, Some(Value::Array(items))) => items.iter().any(|item| self.matches_leaf(item)),
            (_, Some(value)) => self.matches_leaf(value),
        }
    }

    fn matches_leaf(&self, value: &Value) -> bool {
        match self {
            Matcher::Exact(expected) => same(expected, value),
            Matcher::Prefix { text, ignore_case } => value.as_str().is_some_and(|s| {
                if *ignore_case {
                    s.to_lowercase().starts_with(&text.to_lowercase())
                } else {
                    s.starts_with(text.as_str())
                }
            }),
            Matcher::Suffix { text, ignore_case } => value.as_str().is_some_and(|s| {
                if *ignore_case {
                    s.to_lowercase().ends_with(&text.to_lowercase())
                } else {
                    s.ends_with(text.as_str())
                }
            }),
            Matcher::EqualsIgnoreCase(text) => value
                .as_str()
                .is_some_and(|s| s.to_lowercase() == text.to_lowercase()),
            Matcher::Wildcard(glob) => value.as_str().is_some_and(|s| wildcard(glob, s)),
            Matcher::AnythingBut(excluded) => {
                // Only a value of the excluded kind can be excluded; a missing one never matches.
                !value.is_object() && !excluded.iter().any(|m| m.matches_leaf(value))
            }
            Matcher::Numeric(comparisons) => value.as_f64().is_some_and(|n| {
                comparisons.iter().all(|(c, bound)| match c {
                    Comparison::Lt => n < *bound,
                    Comparison::Le => n <= *bound,
                    Comparison::Eq => n == *bound,
                    Comparison::Ge => n >= *bound,
                    Comparison::Gt => n > *bound,
                })
            }),
            Matcher::Exists(_) => true,
        }
    }
}

/// Exact equality; numbers by value (`5` matches `5.0`), never a string against a number.
fn same(expected: &Value, value: &Value) -> bool {
    match (expected, value) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => expected == value,
    }
}

/// `*` matches any run of characters (`\*` a literal star).
fn wildcard(glob: &str, text: &str) -> bool {
    let mut parts: Vec<String> = vec![String::new()];
    let mut chars = glob.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => parts.last_mut().unwrap().extend(chars.next()),
            '*' => parts.push(String::new()),
            c => parts.last_mut().unwrap().push(c),
        }
    }
    let (first, rest) = parts.split_first().expect("at least one part");
    let Some(mut remaining) = text.strip_prefix(first.as_str()) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return remaining.is_empty();
    };
    for part in middle {
        match remaining.find(part.as_str()) {
            Some(at) => remaining = &remaining[at + part.len()..],
            None => return false,
        }
    }
    remaining.len() >= last.len() && remaining.ends_with(last.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn matches(pattern: Value, event: Value) -> bool {
        Pattern::from_value(&pattern).unwrap().matches(&event)
    }

    #[test]
    fn exact_values_match_by_kind_and_numbers_by_value() {
        assert!(matches(json!({"a": ["x", "y"]}), json!({"a": "y"})));
        assert!(!matches(json!({"a": ["x"]}), json!({"a": "X"})));
        assert!(matches(json!({"n": [5]}), json!({"n": 5.0})));
        assert!(!matches(json!({"n": [5]}), json!({"n": "5"})));
        assert!(!matches(json!({"s": ["5"]}), json!({"s": 5})));
        assert!(matches(json!({"b": [true]}), json!({"b": true})));
        assert!(!matches(json!({"b": [true]}), json!({"b": "true"})));
        assert!(matches(json!({"z": [null]}), json!({"z": null})));
        assert!(
            !matches(json!({"z": [null]}), json!({})),
            "null is not a missing field"
        );
        assert!(matches(json!({"e": [""]}), json!({"e": ""})));
        assert!(!matches(json!({"a": ["x"]}), json!({})));
    }

    #[test]
    fn every_field_must_match_and_fields_the_pattern_does_not_name_are_ignored() {
        let pattern = json!({"source": ["aws.ses"], "detail-type": ["Email Delivered"]});
        assert!(matches(
            pattern.clone(),
            json!({"source": "aws.ses", "detail-type": "Email Delivered", "id": "1"})
        ));
        assert!(!matches(
            pattern,
            json!({"source": "aws.ses", "detail-type": "Email Sent"})
        ));
    }

    #[test]
    fn nested_objects_match_level_by_level() {
        let pattern = json!({"dynamodb": {"NewImage": {"item": {"S": ["message"]}}}});
        assert!(matches(
            pattern.clone(),
            json!({"dynamodb": {"NewImage": {"item": {"S": "message"}, "pk": {"S": "x"}}}})
        ));
        assert!(!matches(
            pattern.clone(),
            json!({"dynamodb": {"NewImage": {"item": {"S": "profile"}}}})
        ));
        assert!(!matches(pattern.clone(), json!({"dynamodb": {"Keys": {}}})));
        assert!(!matches(pattern, json!({"dynamodb": "message"})));
    }

    #[test]
    fn a_list_in_the_event_matches_if_any_element_matches() {
        assert!(matches(
            json!({"tags": ["b"]}),
            json!({"tags": ["a", "b", "c"]})
        ));
        assert!(!matches(
            json!({"tags": ["d"]}),
            json!({"tags": ["a", "b"]})
        ));
        assert!(!matches(json!({"tags": ["a"]}), json!({"tags": []})));
        assert!(matches(
            json!({"items": {"kind": ["x"]}}),
            json!({"items": [{"kind": "y"}, {"kind": "x"}]})
        ));
    }

    #[test]
    fn prefix_and_suffix_with_and_without_case() {
        assert!(matches(
            json!({"a": [{"prefix": "ord"}]}),
            json!({"a": "order"})
        ));
        assert!(!matches(
            json!({"a": [{"prefix": "ord"}]}),
            json!({"a": "Order"})
        ));
        assert!(matches(
            json!({"a": [{"prefix": {"equals-ignore-case": "ORD"}}]}),
            json!({"a": "order"})
        ));
        assert!(matches(
            json!({"f": [{"suffix": ".png"}]}),
            json!({"f": "a.png"})
        ));
        assert!(!matches(
            json!({"f": [{"suffix": ".png"}]}),
            json!({"f": "a.jpg"})
        ));
        assert!(matches(
            json!({"f": [{"suffix": {"equals-ignore-case": ".PNG"}}]}),
            json!({"f": "a.png"})
        ));
        assert!(!matches(json!({"a": [{"prefix": "1"}]}), json!({"a": 12})));
    }

    #[test]
    fn equals_ignore_case_and_wildcard() {
        assert!(matches(
            json!({"a": [{"equals-ignore-case": "AlIcE"}]}),
            json!({"a": "alice"})
        ));
        assert!(!matches(
            json!({"a": [{"equals-ignore-case": "alice"}]}),
            json!({"a": "alicia"})
        ));
        assert!(matches(
            json!({"k": [{"wildcard": "dir/*.png"}]}),
            json!({"k": "dir/a/b.png"})
        ));
        assert!(!matches(
            json!({"k": [{"wildcard": "dir/*.png"}]}),
            json!({"k": "dir/a.jpg"})
        ));
        assert!(matches(json!({"k": [{"wildcard": "*"}]}), json!({"k": ""})));
        assert!(matches(
            json!({"k": [{"wildcard": "a\\*b"}]}),
            json!({"k": "a*b"})
        ));
        assert!(!matches(
            json!({"k": [{"wildcard": "a\\*b"}]}),
            json!({"k": "axb"})
        ));
        assert!(!matches(
            json!({"k": [{"wildcard": "ab*ba"}]}),
            json!({"k": "aba"})
        ));
    }

    #[test]
    fn anything_but_needs_the_field_and_excludes_values_or_prefixes() {
        let pattern = json!({"state": [{"anything-but": ["stopped", "overloaded"]}]});
        assert!(matches(pattern.clone(), json!({"state": "running"})));
        assert!(!matches(pattern.clone(), json!({"state": "stopped"})));
        assert!(!matches(pattern, json!({})));
        assert!(matches(
            json!({"n": [{"anything-but": 100}]}),
            json!({"n": 101})
        ));
        assert!(!matches(
            json!({"n": [{"anything-but": 100}]}),
            json!({"n": 100})
        ));
        assert!(matches(
            json!({"s": [{"anything-but": {"prefix": "init"}}]}),
            json!({"s": "running"})
        ));
        assert!(!matches(
            json!({"s": [{"anything-but": {"prefix": "init"}}]}),
            json!({"s": "initializing"})
        ));
        assert!(!matches(
            json!({"s": [{"anything-but": {"suffix": ".txt"}}]}),
            json!({"s": "a.txt"})
        ));
    }

    #[test]
    fn numeric_ranges() {
        let range = json!({"c": [{"numeric": [">", 0, "<=", 5]}]});
        assert!(matches(range.clone(), json!({"c": 5})));
        assert!(matches(range.clone(), json!({"c": 0.5})));
        assert!(!matches(range.clone(), json!({"c": 0})));
        assert!(!matches(range.clone(), json!({"c": 6})));
        assert!(!matches(range, json!({"c": "3"})));
        assert!(matches(
            json!({"c": [{"numeric": ["=", 3]}]}),
            json!({"c": 3.0})
        ));
        assert!(matches(
            json!({"c": [{"numeric": ["<", 10]}]}),
            json!({"c": -4})
        ));
    }

    #[test]
    fn exists_true_wants_a_value_and_false_its_absence() {
        assert!(matches(json!({"a": [{"exists": true}]}), json!({"a": "x"})));
        assert!(matches(
            json!({"a": [{"exists": true}]}),
            json!({"a": null})
        ));
        assert!(!matches(json!({"a": [{"exists": true}]}), json!({})));
        assert!(matches(json!({"a": [{"exists": false}]}), json!({})));
        assert!(!matches(json!({"a": [{"exists": false}]}), json!({"a": 1})));
        assert!(matches(
            json!({"d": {"x": [{"exists": false}]}}),
            json!({"other": 1})
        ));
    }

    #[test]
    fn or_needs_one_alternative_and_the_other_fields_still_apply() {
        let pattern = json!({
            "source": ["shop"],
            "$or": [{"a": ["1"]}, {"b": [{"numeric": [">", 2]}]}]
        });
        assert!(matches(
            pattern.clone(),
            json!({"source": "shop", "a": "1"})
        ));
        assert!(matches(pattern.clone(), json!({"source": "shop", "b": 3})));
        assert!(!matches(pattern.clone(), json!({"source": "shop", "b": 1})));
        assert!(!matches(pattern, json!({"source": "other", "a": "1"})));
    }

    #[test]
    fn malformed_patterns_are_refused_with_the_field_named() {
        for (pattern, at) in [
            (json!({"a": "x"}), "$.a"),
            (json!({"a": []}), "$.a"),
            (json!({"a": [{"prefix": 1}]}), "$.a[0].prefix"),
            (json!({"a": [{"nope": 1}]}), "$.a[0].nope"),
            (json!({"a": [{"numeric": [">", "x"]}]}), "$.a[0].numeric"),
            (
                json!({"a": [{"numeric": ["=", 1, "<", 2]}]}),
                "$.a[0].numeric",
            ),
            (json!({"$or": [{"a": ["x"]}]}), "$.$or"),
            (json!({"a": [{"prefix": "x", "suffix": "y"}]}), "$.a[0]"),
        ] {
            let err = Pattern::from_value(&pattern).unwrap_err();
            assert_eq!(err.path, at, "{pattern}");
        }
        assert!(Pattern::parse("[1]").is_err());
        assert!(Pattern::parse("{").is_err());
    }

    #[test]
    fn the_templates_stream_filter_lets_only_pending_messages_through() {
        let filter = Pattern::parse(
            r#"{"eventName": ["INSERT", "MODIFY"], "dynamodb": {"NewImage": {"item": {"S": ["message"]}, "status": {"S": ["PENDING"]}}}}"#,
        )
        .unwrap();
        let record = |name: &str, item: &str, status: &str| {
            json!({"eventName": name, "eventSource": "aws:dynamodb", "dynamodb": {
                "Keys": {"pk": {"S": "p"}},
                "NewImage": {"item": {"S": item}, "status": {"S": status}}}})
        };
        assert!(filter.matches(&record("INSERT", "message", "PENDING")));
        assert!(filter.matches(&record("MODIFY", "message", "PENDING")));
        assert!(!filter.matches(&record("MODIFY", "message", "SENT")));
        assert!(!filter.matches(&record("INSERT", "profile", "PENDING")));
        assert!(!filter.matches(&record("REMOVE", "message", "PENDING")));
        assert!(!filter.matches(&json!({"eventName": "REMOVE", "dynamodb": {"Keys": {}}})));
    }
}
