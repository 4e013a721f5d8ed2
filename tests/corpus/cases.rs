//! A corpus case: what to send and what must come back. Hand-written cases are JSON files in
//! `tests/corpus/` (one array of cases per file, one file per part of the corpus); generated
//! ones are built in `schema.rs`.
//!
//! A case's fields (all but `name` and `expect` optional):
//! - `method` (default `POST`), and `path` or `route` (`route` means `/webhooks/{shop}/{route}`).
//! - `headers`: `[[name, value], ...]` sent as written (case kept, repeats allowed).
//! - `content_type`: default `application/json` on webhook routes; `null` sends none.
//! - the body, one of: `body` (text), `body_hex` (bytes), `body_json`, `body_example` (a contract
//!   example by route, changed by `set` `{path: value}`, `set_raw` `{path: JSON text}`,
//!   `remove` `[path]`, `repeat_first` `{path, times}` (a list of its first item repeated),
//!   `prefix_hex`, `suffix`), `body_fixture` (a platform fixture), `body_parts`
//!   (`[[text, times], ...]`); paths look like `order.lines[0].quantity`.
//! - `sign`: `standard` (default on webhook routes), `none`, `shopify:<topic>`,
//!   `woocommerce:<topic>`; `signature`: a named fault in it (see `Signature` in corpus.rs).
//! - `chunked`: send the body chunked, without `Content-Length`.
//! - `expect`: `status`, and where given `error` and `field` (the JSON answer's; `null` means
//!   absent) and `outcome` (the answer's `status`).
//!
//! Strings in paths, headers and bodies may hold `{name}` placeholders that the run fills in
//! (the shop, link tokens, ...).

use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub spec: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expect {
    pub status: u16,
    /// `Some(Value::Null)`: the answer must not have it.
    pub error: Option<Value>,
    pub field: Option<Value>,
    pub outcome: Option<Value>,
}

impl Case {
    pub fn expect(&self) -> Expect {
        let e = &self.spec["expect"];
        Expect {
            status: e["status"]
                .as_u64()
                .unwrap_or_else(|| panic!("{}: expect.status", self.name))
                as u16,
            error: e.get("error").cloned(),
            field: e.get("field").cloned(),
            outcome: e.get("outcome").cloned(),
        }
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        self.spec.get(key).and_then(Value::as_str)
    }
}

/// The cases of one file (a JSON array), named `{file stem}/{case name}`.
pub fn load_file(file: &std::path::Path) -> Vec<Case> {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let list: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
    list.as_array()
        .unwrap_or_else(|| panic!("{}: an array of cases", file.display()))
        .iter()
        .map(|spec| {
            let name = spec["name"]
                .as_str()
                .unwrap_or_else(|| panic!("{}: a case without a name", file.display()));
            Case {
                name: format!("{stem}/{name}"),
                spec: spec.clone(),
            }
        })
        .collect()
}

/// Fills `{name}` placeholders.
pub fn fill(text: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = text.to_owned();
    for (k, v) in values {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

fn fill_json(value: &mut Value, values: &BTreeMap<String, String>) {
    match value {
        Value::String(s) => *s = fill(s, values),
        Value::Array(a) => a.iter_mut().for_each(|v| fill_json(v, values)),
        Value::Object(o) => o.values_mut().for_each(|v| fill_json(v, values)),
        _ => {}
    }
}

/// `order.lines[0].quantity` as steps.
pub enum Step {
    Key(String),
    Index(usize),
}

pub fn steps(path: &str) -> Vec<Step> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
        if !key.is_empty() {
            out.push(Step::Key(key.to_owned()));
        }
        for index in rest.split('[') {
            if let Some(i) = index
                .trim_end_matches(']')
                .parse()
                .ok()
                .filter(|_| !index.is_empty())
            {
                out.push(Step::Index(i));
            }
        }
    }
    out
}

fn parent_mut<'a>(root: &'a mut Value, path: &str) -> (&'a mut Value, Step) {
    let mut steps = steps(path);
    let last = steps.pop().expect("a non-empty path");
    let mut node = root;
    for step in steps {
        node = match step {
            Step::Key(k) => &mut node[k.as_str()],
            Step::Index(i) => &mut node[i],
        };
    }
    (node, last)
}

pub fn set(root: &mut Value, path: &str, value: Value) {
    let (parent, last) = parent_mut(root, path);
    match last {
        Step::Key(k) => parent[k.as_str()] = value,
        Step::Index(i) => parent[i] = value,
    }
}

pub fn remove(root: &mut Value, path: &str) {
    let (parent, last) = parent_mut(root, path);
    match last {
        Step::Key(k) => {
            parent.as_object_mut().map(|o| o.remove(&k));
        }
        Step::Index(i) => {
            parent.as_array_mut().map(|a| a.remove(i));
        }
    }
}

/// The body bytes a case sends.
pub fn body(case: &Case, values: &BTreeMap<String, String>) -> Vec<u8> {
    let s = &case.spec;
    if let Some(text) = s["body"].as_str() {
        return fill(text, values).into_bytes();
    }
    if let Some(hex) = s["body_hex"].as_str() {
        return decode_hex(hex);
    }
    if let Some(json) = s.get("body_json") {
        let mut json = json.clone();
        fill_json(&mut json, values);
        return json.to_string().into_bytes();
    }
    if let Some(fixture) = s["body_fixture"].as_str() {
        return trouw_tests::fixture(fixture);
    }
    if let Some(parts) = s["body_parts"].as_array() {
        let mut out = Vec::new();
        for part in parts {
            let text = fill(part[0].as_str().expect("body_parts: [text, times]"), values);
            for _ in 0..part[1].as_u64().unwrap_or(1) {
                out.extend_from_slice(text.as_bytes());
            }
        }
        return out;
    }
    if let Some(route) = s["body_example"].as_str() {
        let mut json = example_with_ids(route, values);
        for path in s["remove"].as_array().into_iter().flatten() {
            remove(&mut json, path.as_str().unwrap());
        }
        if let Some(path) = s["repeat_first"]["path"].as_str() {
            let times = s["repeat_first"]["times"].as_u64().unwrap() as usize;
            let mut list = json.clone();
            for step in steps(path) {
                list = match step {
                    Step::Key(k) => list[k.as_str()].clone(),
                    Step::Index(i) => list[i].clone(),
                };
            }
            set(&mut json, path, Value::Array(vec![list[0].clone(); times]));
        }
        for (path, value) in s["set"].as_object().into_iter().flatten() {
            let mut value = value.clone();
            fill_json(&mut value, values);
            set(&mut json, path, value);
        }
        // Raw JSON text (numbers JSON allows but f64 cannot hold, bytes that are not UTF-8)
        // goes in through a marker string after serialising.
        let mut raws = Vec::new();
        for (i, (path, raw)) in s["set_raw"].as_object().into_iter().flatten().enumerate() {
            set(&mut json, path, Value::String(format!("@@raw{i}@@")));
            let bytes = match raw.as_str() {
                Some(text) => text.as_bytes().to_vec(),
                None => decode_hex(raw["hex"].as_str().expect("set_raw: text or {hex}")),
            };
            raws.push((format!("\"@@raw{i}@@\""), bytes));
        }
        let mut out = decode_hex(s["prefix_hex"].as_str().unwrap_or(""));
        out.extend_from_slice(json.to_string().as_bytes());
        out.extend_from_slice(s["suffix"].as_str().unwrap_or("").as_bytes());
        for (marker, bytes) in raws {
            let at = find(&out, marker.as_bytes()).expect("marker in body");
            out.splice(at..at + marker.len(), bytes);
        }
        return out;
    }
    Vec::new()
}

/// A contract example whose customer is the corpus's own (so a body that wrongly got through
/// would change this run's customer, with this run's address, and nobody else's).
pub fn example_with_ids(route: &str, values: &BTreeMap<String, String>) -> Value {
    let mut json = trouw_tests::example(route);
    json["customer"]["id"] = Value::String(values["customer"].clone());
    if json["customer"].get("email").is_some() {
        json["customer"]["email"] = Value::String(values["email"].clone());
    }
    json
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

pub fn decode_hex(hex: &str) -> Vec<u8> {
    let hex: String = hex.split_whitespace().collect();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}
