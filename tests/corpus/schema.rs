//! Cases generated from the canonical schema (`shared/contracts/canonical-events.schema.json`):
//! for each route, walk its definition beside the route's contract example; at every field the
//! example holds, send values of each wrong JSON type, and leave out each required field. Each
//! must be refused with 400 `invalid_payload` naming that field's path.

use super::cases::Case;
use serde_json::{Value, json};

const ROUTES: [(&str, &str); 4] = [
    ("order-placed", "order_placed"),
    ("order-delivered", "order_delivered"),
    ("order-returned", "order_returned"),
    ("address-changed", "address_changed"),
];

pub fn load_schema() -> Value {
    let path = format!(
        "{}/../shared/contracts/canonical-events.schema.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The cases of one route (`order-placed`, ...).
pub fn cases(schema: &Value, route: &str) -> Vec<Case> {
    let (_, def) = ROUTES
        .into_iter()
        .find(|(r, _)| *r == route)
        .unwrap_or_else(|| panic!("no schema definition for the route {route}"));
    let mut out = Vec::new();
    let example = trouw_tests::example(route);
    walk(schema, route, &schema["$defs"][def], &example, "", &mut out);
    out
}

/// The definition a node stands for: its `$ref` resolved, with the node's own `required`
/// (a use may require more than the definition does).
fn resolve(schema: &Value, node: &Value) -> Value {
    let Some(reference) = node["$ref"].as_str() else {
        return node.clone();
    };
    let name = reference.trim_start_matches("#/$defs/");
    let mut resolved = schema["$defs"][name].clone();
    if let Some(required) = node.get("required") {
        resolved["required"] = required.clone();
    }
    resolved
}

fn kind(node: &Value) -> &str {
    if node.get("const").is_some() {
        return "string";
    }
    node["type"].as_str().unwrap_or("any")
}

/// Values of every JSON type but the field's own.
fn wrong_values(kind: &str) -> Vec<(&'static str, Value)> {
    let all = [
        ("string", "a string", json!("x")),
        ("integer", "a number", json!(42)),
        ("number", "a fraction", json!(1.5)),
        ("boolean", "a boolean", json!(true)),
        ("array", "a list", json!([])),
        ("object", "an object", json!({})),
    ];
    all.into_iter()
        .filter(|(k, _, _)| match kind {
            // A whole number is no fraction, but 1.5 is no whole number either.
            "integer" => *k != "integer",
            other => *k != other,
        })
        .map(|(_, label, value)| (label, value))
        .collect()
}

fn walk(schema: &Value, route: &str, node: &Value, value: &Value, path: &str, out: &mut Vec<Case>) {
    let node = resolve(schema, node);
    let kind = kind(&node).to_owned();
    if !path.is_empty() {
        for (label, wrong) in wrong_values(&kind) {
            out.push(case(
                format!("{route} {path} as {label}"),
                route,
                json!({ path: wrong }),
                json!([]),
                path,
            ));
        }
    }
    match kind.as_str() {
        "object" => {
            let properties = node["properties"].as_object().cloned().unwrap_or_default();
            for required in node["required"].as_array().into_iter().flatten() {
                let name = required.as_str().unwrap();
                let field = join(path, name);
                out.push(case(
                    format!("{route} {field} left out"),
                    route,
                    json!({}),
                    json!([field]),
                    &field,
                ));
            }
            for (name, child) in properties {
                if let Some(child_value) = value.get(&name) {
                    walk(schema, route, &child, child_value, &join(path, &name), out);
                }
            }
        }
        "array" => {
            if let Some(first) = value.get(0) {
                walk(
                    schema,
                    route,
                    &node["items"],
                    first,
                    &format!("{path}[0]"),
                    out,
                );
            }
        }
        _ => {}
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

fn case(name: String, route: &str, set: Value, remove: Value, field: &str) -> Case {
    Case {
        name: format!("schema/{name}"),
        spec: json!({
            "route": route,
            "body_example": route,
            "set": set,
            "remove": remove,
            "expect": { "status": 400, "error": "invalid_payload", "field": field },
        }),
    }
}
