//! `POST /webhooks/{shop}/product-changed` bodies into [`ProductChange`]s: the canonical
//! `product.availability_changed` and Shopify's `products/update` (one change per variant with
//! a sku); WooCommerce's `product.updated` is mapped beside its other topics
//! ([`super::woocommerce::product_updated`]), with the checks here. Every refusal names the
//! field.

use super::PayloadError;
use super::json::Obj;
use crate::domain::stock::{Alternative, MAX_ALTERNATIVES, ProductChange, Scope};
use crate::domain::{Sku, check_text};
use serde_json::Value;

/// What a product delivery comes to: the changes to apply, or why there is nothing to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProductDelivery {
    Changes(Vec<ProductChange>),
    Ignored(String),
}

/// The longest product name kept (as an order line's name).
const MAX_NAME: usize = 256;
/// The longest alternative's URL.
const MAX_URL: usize = 512;

pub(super) fn json_of(body: &[u8]) -> Result<Value, PayloadError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| PayloadError::new("body", format!("is not valid JSON (line {})", e.line())))?;
    if let Some(field) = super::duplicate_keys::first_repeated_key(body) {
        return Err(PayloadError::new(field, "is given twice in its object"));
    }
    Ok(value)
}

pub(super) fn sku(field: &str, text: &str) -> Result<Sku, PayloadError> {
    Sku::parse(text).map_err(|e| PayloadError::new(field, e))
}

pub(super) fn name(field: &str, text: &str) -> Result<String, PayloadError> {
    if text.chars().count() > MAX_NAME {
        return Err(PayloadError::new(
            field,
            format!("is longer than {MAX_NAME} characters"),
        ));
    }
    check_text(text).map_err(|e| PayloadError::new(field, e))?;
    Ok(text.to_owned())
}

/// An https URL of printable characters without spaces, as a contract's renewal link.
pub(super) fn url(field: &str, text: &str) -> Result<String, PayloadError> {
    let printable = text.bytes().all(|b| (b'!'..=b'~').contains(&b));
    if !text.starts_with("https://") || !printable || text.len() > MAX_URL || text.len() <= 8 {
        return Err(PayloadError::new(
            field,
            format!(
                "must be an https URL of printable characters without spaces, at most {MAX_URL}"
            ),
        ));
    }
    Ok(text.to_owned())
}

#[derive(serde::Deserialize)]
struct RawProductChanged {
    occurred_at: String,
    product: RawProduct,
}

#[derive(serde::Deserialize)]
struct RawProduct {
    sku: String,
    name: String,
    available: bool,
    #[serde(default, deserialize_with = "super::canonical::present")]
    expected_back_at: Option<String>,
    #[serde(default, deserialize_with = "super::canonical::present")]
    alternatives: Option<Vec<RawAlternative>>,
}

#[derive(serde::Deserialize)]
struct RawAlternative {
    sku: String,
    name: String,
    url: String,
}

/// A name as the contract has it: 1 to 256 characters, no control or bidirectional
/// formatting characters.
fn required_name(field: &str, text: &str) -> Result<String, PayloadError> {
    if text.is_empty() {
        return Err(PayloadError::new(field, "must not be empty"));
    }
    name(field, text)
}

/// The canonical body:
/// `{"type": "product.availability_changed", "occurred_at": ..., "product": {"sku", "name",
/// "available", "expected_back_at"?, "alternatives"?: [{"sku", "name", "url"}]}}`. An optional
/// member sent as `null` is refused like any other wrong type, as for the other events.
pub fn parse_canonical(body: &[u8]) -> Result<ProductChange, PayloadError> {
    let value = json_of(body)?;
    let root = Obj::root(&value)?;
    let kind = root
        .value
        .get("type")
        .ok_or_else(|| PayloadError::new("type", "is required"))?
        .as_str()
        .ok_or_else(|| PayloadError::new("type", "must be a string"))?;
    let wire = crate::domain::EventType::ProductChanged.wire_name();
    if kind != wire {
        return Err(PayloadError::new(
            "type",
            format!("is {kind:?} but this route accepts {wire:?}"),
        ));
    }
    let raw: RawProductChanged = super::canonical::typed(value)?;
    let occurred_at = super::canonical::timestamp("occurred_at", &raw.occurred_at)?;
    let product = raw.product;
    let expected_back_at = product
        .expected_back_at
        .map(|t| super::canonical::timestamp("product.expected_back_at", &t))
        .transpose()?;
    let items = product.alternatives.unwrap_or_default();
    if items.len() > MAX_ALTERNATIVES {
        return Err(PayloadError::new(
            "product.alternatives",
            format!("holds at most {MAX_ALTERNATIVES} alternatives"),
        ));
    }
    let alternatives = items
        .into_iter()
        .enumerate()
        .map(|(i, a)| {
            let path = format!("product.alternatives[{i}]");
            Ok(Alternative {
                sku: sku(&format!("{path}.sku"), &a.sku)?,
                name: required_name(&format!("{path}.name"), &a.name)?,
                url: url(&format!("{path}.url"), &a.url)?,
            })
        })
        .collect::<Result<Vec<_>, PayloadError>>()?;
    Ok(ProductChange {
        sku: sku("product.sku", &product.sku)?,
        name: Some(required_name("product.name", &product.name)?),
        available: product.available,
        expected_back_at,
        alternatives,
        occurred_at,
        scope: Scope::Product,
    })
}

/// Shopify's `products/update`: each variant with a sku is one product to trouw. A variant
/// whose inventory Shopify does not track is always available; a tracked one is available
/// with stock, or when it may be sold without (`inventory_policy: "continue"`). The payload
/// names no alternatives.
pub fn shopify(topic: &str, body: &[u8]) -> Result<ProductDelivery, PayloadError> {
    if topic != "products/update" {
        return Ok(ProductDelivery::Ignored(format!(
            "topic {topic} is not handled on the product-changed route"
        )));
    }
    let value = json_of(body)?;
    let root = Obj::root(&value)?;
    let misfit = |field: &str, what: &str| {
        PayloadError::new(
            field,
            format!("{what}: the body does not fit the topic {topic}"),
        )
    };
    if let Some(gid) = root.str("admin_graphql_api_id")?
        && !gid.starts_with("gid://shopify/Product/")
    {
        return Err(misfit(
            "admin_graphql_api_id",
            "names another resource than a Product",
        ));
    }
    if root.get("line_items").is_some() {
        return Err(misfit("line_items", "belongs to an order"));
    }
    if !matches!(root.get("variants"), Some(Value::Array(_))) {
        return Err(misfit("variants", "is required (a product has variants)"));
    }
    let occurred_at = root
        .time("updated_at")?
        .ok_or_else(|| PayloadError::new("updated_at", "is required"))?;
    let title = root.str("title")?;
    let mut changes = Vec::new();
    for (i, variant) in root.array("variants")?.iter().enumerate() {
        let path = format!("variants[{i}]");
        let Some(v) = variant.is_object().then_some(Obj {
            value: variant,
            path: &path,
        }) else {
            return Err(PayloadError::new(path, "must be an object"));
        };
        let Some(variant_sku) = v.str("sku")? else {
            continue; // without a sku no order line names it
        };
        let tracked = v.str("inventory_management")?.is_some();
        let available = if tracked {
            let quantity = match v.get("inventory_quantity") {
                Some(Value::Number(n)) => n.as_i64().ok_or_else(|| {
                    PayloadError::new(v.field_path("inventory_quantity"), "must be a whole number")
                })?,
                Some(_) => {
                    return Err(PayloadError::new(
                        v.field_path("inventory_quantity"),
                        "must be a whole number",
                    ));
                }
                None => {
                    return Err(PayloadError::new(
                        v.field_path("inventory_quantity"),
                        "is required for a variant whose inventory is tracked",
                    ));
                }
            };
            let policy = v.str("inventory_policy")?.unwrap_or("deny");
            quantity > 0 || policy == "continue"
        } else {
            true
        };
        let variant_title = v.str("title")?.filter(|t| *t != "Default Title");
        let full = match (title, variant_title) {
            (Some(t), Some(v)) => Some(format!("{t} - {v}")),
            (Some(t), None) => Some(t.to_owned()),
            (None, v) => v.map(str::to_owned),
        };
        changes.push(ProductChange {
            sku: sku(&v.field_path("sku"), variant_sku)?,
            name: full
                .map(|n| name("title", &n.chars().take(MAX_NAME).collect::<String>()))
                .transpose()?,
            available,
            expected_back_at: None,
            alternatives: Vec::new(),
            occurred_at,
            scope: Scope::Product,
        });
    }
    if changes.is_empty() {
        return Ok(ProductDelivery::Ignored("no variant has a sku".into()));
    }
    Ok(ProductDelivery::Changes(changes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bytes(v: &Value) -> Vec<u8> {
        serde_json::to_vec(v).unwrap()
    }

    #[test]
    fn an_alternative_whose_sku_is_a_number_is_refused_naming_it() {
        let body = br#"{"type": "product.availability_changed", "occurred_at": "2000-01-01T00:00:00Z", "product": {"sku": "0", "name": "0", "available": false, "expected_back_at": "2000-01-01T00:00:00Z", "alternatives": [{"sku": 0, "name": "0", "url": "https://0"}]}}"#;
        let err = parse_canonical(body).unwrap_err();
        assert_eq!(err.field, "product.alternatives[0].sku", "{err:?}");
    }

    fn canonical() -> Value {
        serde_json::from_str(include_str!(
            "../../contracts/examples/product-changed.json"
        ))
        .unwrap()
    }

    #[test]
    fn the_canonical_example_parses() {
        let change = parse_canonical(&bytes(&canonical())).unwrap();
        assert!(!change.available);
        assert_eq!(change.alternatives.len(), 2);
        assert!(change.expected_back_at.is_some());
    }

    #[test]
    fn canonical_refusals_name_the_field() {
        let field = |edit: &dyn Fn(&mut Value)| {
            let mut body = canonical();
            edit(&mut body);
            parse_canonical(&bytes(&body)).unwrap_err().field
        };
        assert_eq!(field(&|b| b["type"] = json!("order.placed")), "type");
        assert_eq!(
            field(&|b| b["product"]["available"] = json!("no")),
            "product.available"
        );
        assert_eq!(
            field(&|b| {
                b["product"].as_object_mut().unwrap().remove("sku");
            }),
            "product.sku"
        );
        assert_eq!(
            field(&|b| b["product"]["alternatives"][1]["url"] = json!("http://x.nl/a")),
            "product.alternatives[1].url"
        );
        assert_eq!(
            field(&|b| b["product"]["expected_back_at"] = json!("soon")),
            "product.expected_back_at"
        );
        assert_eq!(
            field(&|b| b["product"]["expected_back_at"] = Value::Null),
            "product.expected_back_at",
            "null is not leaving it out"
        );
        assert_eq!(
            field(&|b| b["product"]["alternatives"][0]["name"] = json!("")),
            "product.alternatives[0].name"
        );
        assert_eq!(
            field(&|b| {
                let alt = b["product"]["alternatives"][0].clone();
                b["product"]["alternatives"] = json!([alt.clone(), alt.clone(), alt.clone(), alt]);
            }),
            "product.alternatives"
        );
    }

    #[test]
    fn shopify_variants_are_available_with_stock_or_when_sold_without() {
        let body = json!({
            "admin_graphql_api_id": "gid://shopify/Product/1",
            "title": "Thee",
            "updated_at": "2026-03-02T10:00:00+01:00",
            "variants": [
                {"sku": "A", "title": "Groen", "inventory_management": "shopify", "inventory_quantity": 0, "inventory_policy": "deny"},
                {"sku": "B", "title": "Zwart", "inventory_management": "shopify", "inventory_quantity": 0, "inventory_policy": "continue"},
                {"sku": "C", "title": "Wit", "inventory_management": "shopify", "inventory_quantity": 3, "inventory_policy": "deny"},
                {"sku": "D", "title": "Rooibos", "inventory_management": null, "inventory_quantity": 0},
                {"sku": "", "title": "zonder sku"}
            ]
        });
        let ProductDelivery::Changes(changes) = shopify("products/update", &bytes(&body)).unwrap()
        else {
            panic!("changes expected")
        };
        let seen: Vec<_> = changes
            .iter()
            .map(|c| (c.sku.as_str(), c.available))
            .collect();
        assert_eq!(seen, [("A", false), ("B", true), ("C", true), ("D", true)]);
        assert_eq!(changes[0].name.as_deref(), Some("Thee - Groen"));

        let mut order = body.clone();
        order["admin_graphql_api_id"] = json!("gid://shopify/Order/1");
        assert_eq!(
            shopify("products/update", &bytes(&order))
                .unwrap_err()
                .field,
            "admin_graphql_api_id"
        );
        let mut missing = body;
        missing["variants"][0]
            .as_object_mut()
            .unwrap()
            .remove("inventory_quantity");
        assert_eq!(
            shopify("products/update", &bytes(&missing))
                .unwrap_err()
                .field,
            "variants[0].inventory_quantity"
        );
    }
}
