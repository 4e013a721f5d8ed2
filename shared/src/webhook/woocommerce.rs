//! WooCommerce's native webhooks into trouw's events.
//!
//! | topic | route | becomes |
//! |---|---|---|
//! | `order.created` | order-placed | order placed |
//! | `order.updated`, status = the shop's delivered status (default `completed`) | order-delivered | delivered at `date_completed_gmt` |
//! | `order.updated`, status `refunded` | order-returned | whole return |
//! | `order.updated`, entries in `refunds` | order-returned | one partial return by amount per refund |
//! | `customer.updated` | address-changed | contact, address (a move if it changed), consent via a meta field |
//! | `product.updated` | product-changed | availability of the product's sku, a variation's own sku, or a variable product's (see [`product_updated`]) |
//!
//! WooCommerce gives every delivery a new `X-WC-Webhook-Delivery-ID`, so de-duplication keys
//! come from the resource instead: the order and the fact (`delivered`, `refund:{id}`), or the
//! resource, topic and modification time. The customer's address is the shipping address when
//! filled in, else the billing address, the same on orders and customer updates.

use super::guest::GuestIds;
use super::json::Obj;
use super::platform::WooCommerceConnection;
use super::product::{self, ProductDelivery};
use super::{Inbound, PayloadError, body_event_id};
use crate::domain::stock::{Alternative, MAX_ALTERNATIVES, ProductChange, Scope};
use crate::domain::{
    Amount, Currency, CustomerFacts, CustomerId, Email, EventKind, EventType, ObservedAddress,
    OrderId, OrderLine, PlacedOrder, ReturnFacts, ReturnScope, ShopEvent, ShopId, Sku, Timestamp,
};
use serde_json::Value;

pub fn route_of(topic: &str) -> &'static [EventType] {
    match topic {
        "order.created" => &[EventType::OrderPlaced],
        "order.updated" => &[EventType::OrderDelivered, EventType::OrderReturned],
        "customer.updated" | "customer.created" => &[EventType::AddressChanged],
        _ => &[],
    }
}

/// Maps one verified delivery into the facts this route acts on (possibly none). `guests`
/// names checkouts without an account (`None` where no order arrives: such an order is refused).
pub fn map(
    shop: &ShopId,
    guests: Option<&GuestIds>,
    connection: &WooCommerceConnection,
    route: EventType,
    topic: &str,
    body: &[u8],
) -> Result<Vec<Inbound>, PayloadError> {
    if !route_of(topic).contains(&route) {
        return Ok(vec![Inbound::Ignored {
            reason: format!(
                "topic {topic} is not handled on the {} route",
                route.route()
            ),
        }]);
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| PayloadError::new("body", format!("is not valid JSON (line {})", e.line())))?;
    let root = Obj::root(&value)?;
    if let Some(field) = super::duplicate_keys::first_repeated_key(body) {
        return Err(PayloadError::new(field, "is given twice in its object"));
    }
    check_body_fits_topic(&root, topic)?;
    let source = format!("woocommerce:{topic}");
    let event = |key: String,
                 occurred_at: Timestamp,
                 customer: CustomerFacts,
                 kind: EventKind|
     -> Result<Inbound, PayloadError> {
        let id = body_event_id("id", key)?;
        Ok(Inbound::Apply {
            event: ShopEvent {
                id,
                source: source.clone(),
                occurred_at,
                customer,
                kind,
            },
            customer_from_order: false,
        })
    };
    let modified = root
        .utc_time("date_modified_gmt")?
        .or(root.utc_time("date_created_gmt")?)
        .ok_or_else(|| PayloadError::new("date_modified_gmt", "is required"))?;
    let resource = root.require_id("id")?;

    match (topic, route) {
        ("order.created", _) => {
            let order = placed_order(&root)?;
            let customer = order_customer(shop, guests, connection, &root)?;
            Ok(vec![event(
                format!("wc:order.created:{resource}:{}", modified.as_second()),
                modified,
                customer,
                EventKind::OrderPlaced(order),
            )?])
        }
        ("order.updated", EventType::OrderDelivered) => {
            let status = root.str("status")?.unwrap_or("");
            if status != connection.delivered_status {
                return Ok(vec![Inbound::Ignored {
                    reason: format!("order status {status}"),
                }]);
            }
            let delivered_at = root.utc_time("date_completed_gmt")?.unwrap_or(modified);
            let order_id = order_id(&root)?;
            let customer = order_customer(shop, guests, connection, &root)?;
            Ok(vec![event(
                format!("wc:order:{resource}:delivered"),
                delivered_at,
                customer,
                EventKind::OrderDelivered {
                    order_id,
                    delivered_at,
                },
            )?])
        }
        ("order.updated", EventType::OrderReturned) => {
            let status = root.str("status")?.unwrap_or("");
            let order_id = order_id(&root)?;
            let customer = order_customer(shop, guests, connection, &root)?;
            if status == "refunded" {
                let facts = ReturnFacts {
                    event_id: body_event_id("id", format!("wc:order:{resource}:refunded"))?,
                    returned_at: modified,
                    refund_total: root.amount("total")?,
                    scope: ReturnScope::Whole,
                    reason: None,
                };
                return Ok(vec![event(
                    format!("wc:order:{resource}:refunded"),
                    modified,
                    customer,
                    EventKind::OrderReturned { order_id, facts },
                )?]);
            }
            let refunds = root.array("refunds")?;
            if refunds.is_empty() {
                return Ok(vec![Inbound::Ignored {
                    reason: format!("order status {status} without refunds"),
                }]);
            }
            let mut out = Vec::new();
            for (i, refund) in refunds.iter().enumerate() {
                let path = format!("refunds[{i}]");
                let refund = Obj {
                    value: refund,
                    path: &path,
                };
                let refund_id = refund.require_id("id")?;
                let key = format!("wc:order:{resource}:refund:{refund_id}");
                let facts = ReturnFacts {
                    event_id: body_event_id(&refund.field_path("id"), key.clone())?,
                    // The payload carries no refund time; the order's modification is the closest.
                    returned_at: modified,
                    refund_total: refund.amount("total")?.map(|a| Amount {
                        ten_thousandths: a.ten_thousandths.abs(),
                    }),
                    scope: ReturnScope::Amount,
                    reason: refund.str("reason")?.map(|r| r.chars().take(512).collect()),
                };
                out.push(event(
                    key,
                    modified,
                    customer.clone(),
                    EventKind::OrderReturned {
                        order_id: order_id.clone(),
                        facts,
                    },
                )?);
            }
            Ok(out)
        }
        ("customer.updated" | "customer.created", _) => {
            let customer = customer_facts(shop, connection, &root)?;
            Ok(vec![event(
                format!("wc:{topic}:{resource}:{}", modified.as_second()),
                modified,
                customer,
                EventKind::AddressChanged,
            )?])
        }
        _ => Ok(vec![Inbound::Ignored {
            reason: format!("topic {topic} is not used"),
        }]),
    }
}

/// `product.updated`, which WooCommerce also fires for a variation (its payload is the
/// products endpoint's view of it: `type` `variation`, `parent_id`, and its own `sku`,
/// `stock_status`, `manage_stock`, `stock_quantity`). `stock_status` `outofstock` is out of
/// stock; `instock` and `onbackorder` (still sold) are available. The sku is the one order
/// lines carry:
///
/// - a product that is not variable, and a variable one (whose `stock_status` sums up its
///   variations': in stock while any is), speak for their `sku`, or `product-{id}` without one
///   (as an order line without a sku is named);
/// - a variation speaks for its `sku`, which WooCommerce fills with the parent's when the
///   variation has none of its own (its order lines carry the same): that sku is the family's,
///   and once the parent's update named it so, a single variation's news no longer moves it
///   ([`Scope`]). A variation without any sku is ignored: its order lines carry
///   `product-{parent}`, which the parent's update speaks for.
///
/// `upsell_ids` and `cross_sell_ids` are bare ids: they become alternatives only where an entry
/// carries its own `sku`, `name` and `permalink` (an extension that expands them).
pub fn product_updated(topic: &str, body: &[u8]) -> Result<ProductDelivery, PayloadError> {
    if topic != "product.updated" {
        return Ok(ProductDelivery::Ignored(format!(
            "topic {topic} is not handled on the product-changed route"
        )));
    }
    let value = product::json_of(body)?;
    let root = Obj::root(&value)?;
    if matches!(root.get("line_items"), Some(Value::Array(_))) {
        return Err(PayloadError::new(
            "line_items",
            format!("belongs to an order: the body does not fit the topic {topic}"),
        ));
    }
    let available = match root.require_str("stock_status")? {
        "outofstock" => false,
        "instock" | "onbackorder" => true,
        _ => {
            return Err(PayloadError::new(
                "stock_status",
                "must be instock, outofstock or onbackorder",
            ));
        }
    };
    let occurred_at = root
        .utc_time("date_modified_gmt")?
        .ok_or_else(|| PayloadError::new("date_modified_gmt", "is required"))?;
    let scope = match root.str("type")? {
        Some("variation") => Scope::Variation,
        Some("variable") => Scope::Family,
        _ => Scope::Product,
    };
    let product_sku = match (root.str("sku")?, scope) {
        (Some(sku), _) => sku.to_owned(),
        (None, Scope::Variation) => {
            return Ok(ProductDelivery::Ignored(
                "the variation has no sku: its parent's update speaks for its order lines".into(),
            ));
        }
        (None, _) => format!("product-{}", root.require_id("id")?),
    };
    let mut alternatives = Vec::new();
    for field in ["upsell_ids", "cross_sell_ids"] {
        for (i, entry) in root.array(field)?.iter().enumerate() {
            let path = format!("{field}[{i}]");
            let Some(obj) = entry.is_object().then_some(Obj {
                value: entry,
                path: &path,
            }) else {
                continue; // a bare id: nothing to show a customer
            };
            let (Some(s), Some(n), Some(u)) =
                (obj.id("sku")?, obj.str("name")?, obj.str("permalink")?)
            else {
                continue;
            };
            if alternatives.len() < MAX_ALTERNATIVES {
                alternatives.push(Alternative {
                    sku: product::sku(&obj.field_path("sku"), &s)?,
                    name: product::name(&obj.field_path("name"), n)?,
                    url: product::url(&obj.field_path("permalink"), u)?,
                });
            }
        }
    }
    Ok(ProductDelivery::Changes(vec![ProductChange {
        sku: product::sku("sku", &product_sku)?,
        name: root
            .str("name")?
            .map(|n| product::name("name", n))
            .transpose()?,
        available,
        expected_back_at: None,
        alternatives,
        occurred_at,
        scope,
    }]))
}

/// WooCommerce signs the body only; the topic is an unsigned header. So the body must be the
/// resource its topic names: an order posted as `customer.updated` (or a customer as an order
/// topic) is refused before it can change anything.
fn check_body_fits_topic(root: &Obj<'_>, topic: &str) -> Result<(), PayloadError> {
    let is_order = matches!(root.get("line_items"), Some(Value::Array(_)));
    let misfit = |field: &str, what: &str| {
        PayloadError::new(
            field,
            format!("{what}: the body does not fit the topic {topic}"),
        )
    };
    match topic {
        "order.created" | "order.updated" if !is_order => {
            Err(misfit("line_items", "is required (an order has lines)"))
        }
        "customer.updated" | "customer.created" if is_order => {
            Err(misfit("line_items", "belongs to an order"))
        }
        _ => Ok(()),
    }
}

/// The unsigned ping WooCommerce posts when a webhook is saved: `webhook_id=12`.
pub fn is_ping(body: &[u8]) -> bool {
    std::str::from_utf8(body)
        .ok()
        .and_then(|b| b.trim().strip_prefix("webhook_id="))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
}

fn order_id(root: &Obj<'_>) -> Result<OrderId, PayloadError> {
    OrderId::parse(root.require_id("id")?).map_err(|e| PayloadError::new("id", e))
}

fn placed_order(root: &Obj<'_>) -> Result<PlacedOrder, PayloadError> {
    let currency = Currency::parse(root.require_str("currency")?)
        .map_err(|e| PayloadError::new("currency", e))?;
    let total = root
        .require_amount("total")?
        .in_currency(currency)
        .map_err(|e| PayloadError::new("total", e))?;
    let placed_at = root
        .utc_time("date_created_gmt")?
        .ok_or_else(|| PayloadError::new("date_created_gmt", "is required"))?;
    let items = root.array("line_items")?;
    if items.is_empty() || items.len() > 500 {
        return Err(PayloadError::new("line_items", "must hold 1 to 500 lines"));
    }
    let minor_unit = 10_i64.pow(4 - currency.minor_digits());
    let mut lines = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("line_items[{i}]");
        let item = Obj {
            value: item,
            path: &path,
        };
        let quantity = item.quantity("quantity")?;
        // Paid per unit, tax included: (line total + line tax) / quantity, rounded down.
        let paid = match item.amount("total")? {
            None => None,
            Some(total) => Some(
                total
                    .ten_thousandths
                    .checked_add(item.amount("total_tax")?.map_or(0, |x| x.ten_thousandths))
                    .ok_or_else(|| {
                        PayloadError::new(
                            item.field_path("total_tax"),
                            "makes an amount too large to count",
                        )
                    })?,
            ),
        };
        let unit_price = paid
            .map(|p| Amount {
                ten_thousandths: (p / i64::from(quantity)) / minor_unit * minor_unit,
            })
            .map(|a| {
                a.in_currency(currency)
                    .map_err(|e| PayloadError::new(item.field_path("total"), e))
            })
            .transpose()?;
        let sku = match (item.str("sku")?, item.id("product_id")?) {
            (Some(sku), _) => sku.to_owned(),
            (None, Some(product)) => format!("product-{product}"),
            (None, None) => {
                return Err(PayloadError::new(
                    item.field_path("sku"),
                    "is required (or product_id)",
                ));
            }
        };
        lines.push(OrderLine {
            sku: Sku::parse(sku).map_err(|e| PayloadError::new(item.field_path("sku"), e))?,
            name: item.str("name")?.map(|n| n.chars().take(256).collect()),
            category: None,
            quantity,
            unit_price,
            replenish_after_days: None,
            contract: None,
        });
    }
    Ok(PlacedOrder {
        id: order_id(root)?,
        placed_at,
        discount_codes: root.codes("coupon_lines"),
        total,
        lines,
    })
}

/// The order's customer: the account when there is one, else a guest by billing email.
fn order_customer(
    shop: &ShopId,
    guests: Option<&GuestIds>,
    connection: &WooCommerceConnection,
    root: &Obj<'_>,
) -> Result<CustomerFacts, PayloadError> {
    let billing = root.object("billing", "billing");
    let email = billing
        .map(|b| b.str("email"))
        .transpose()?
        .flatten()
        .map(|e| Email::parse(e).map_err(|err| PayloadError::new("billing.email", err)))
        .transpose()?;
    let id = match root.id("customer_id")?.filter(|id| id != "0") {
        Some(id) => CustomerId::parse(id).map_err(|e| PayloadError::new("customer_id", e))?,
        None => super::guest::guest_id(
            guests,
            shop,
            email.as_ref().ok_or_else(|| {
                PayloadError::new("billing.email", "is required for a guest order")
            })?,
        )?,
    };
    Ok(CustomerFacts {
        id,
        email,
        first_name: billing
            .map(|b| b.str("first_name"))
            .transpose()?
            .flatten()
            .map(|n| n.chars().take(128).collect()),
        locale: None,
        marketing_consent: consent(connection, root)?,
        address: address(shop, root)?,
        birthday: None,
    })
}

fn customer_facts(
    shop: &ShopId,
    connection: &WooCommerceConnection,
    root: &Obj<'_>,
) -> Result<CustomerFacts, PayloadError> {
    let billing = root.object("billing", "billing");
    let email = root
        .str("email")?
        .or(billing.map(|b| b.str("email")).transpose()?.flatten())
        .map(|e| Email::parse(e).map_err(|err| PayloadError::new("email", err)))
        .transpose()?;
    Ok(CustomerFacts {
        id: CustomerId::parse(root.require_id("id")?).map_err(|e| PayloadError::new("id", e))?,
        email,
        first_name: root
            .str("first_name")?
            .map(|n| n.chars().take(128).collect()),
        locale: None,
        marketing_consent: consent(connection, root)?,
        address: address(shop, root)?,
        birthday: None,
    })
}

/// Shipping when filled in, else billing.
fn address(shop: &ShopId, root: &Obj<'_>) -> Result<Option<ObservedAddress>, PayloadError> {
    for name in ["shipping", "billing"] {
        let Some(a) = root.object(name, name) else {
            continue;
        };
        if let (Some(line1), Some(postcode), Some(country)) =
            (a.str("address_1")?, a.str("postcode")?, a.str("country")?)
        {
            return Ok(Some(ObservedAddress::from_parts(
                shop,
                Some(line1),
                a.str("address_2")?,
                postcode,
                a.str("city")?,
                country,
            )));
        }
    }
    Ok(None)
}

/// Consent from the meta field the shop maps to it, if any.
fn consent(
    connection: &WooCommerceConnection,
    root: &Obj<'_>,
) -> Result<Option<bool>, PayloadError> {
    let Some(key) = &connection.consent_meta_key else {
        return Ok(None);
    };
    for meta in root.array("meta_data")? {
        if meta.get("key").and_then(Value::as_str) == Some(key.as_str()) {
            let value = meta.get("value").map(|v| match v {
                Value::String(s) => s.trim().to_lowercase(),
                other => other.to_string(),
            });
            return Ok(match value.as_deref() {
                Some("yes" | "1" | "true" | "on") => Some(true),
                Some("no" | "0" | "false" | "off" | "") => Some(false),
                _ => None,
            });
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Money, ReturnScope};

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/../tests/fixtures/woocommerce/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }
    fn connection() -> WooCommerceConnection {
        WooCommerceConnection {
            webhook_secrets: vec![],
            delivered_status: "completed".into(),
            consent_meta_key: Some("newsletter_opt_in".into()),
        }
    }
    fn ts(t: &str) -> Timestamp {
        t.parse().unwrap()
    }
    fn events(route: EventType, topic: &str, name: &str) -> Vec<Inbound> {
        map(
            &ShopId::parse("demo").unwrap(),
            Some(&GuestIds::new("test-guest-secret")),
            &connection(),
            route,
            topic,
            &fixture(name),
        )
        .unwrap()
    }
    fn only_event(route: EventType, topic: &str, name: &str) -> ShopEvent {
        match events(route, topic, name).as_slice() {
            [
                Inbound::Apply {
                    event,
                    customer_from_order: false,
                },
            ] => event.clone(),
            other => panic!("{name}: {other:?}"),
        }
    }

    #[test]
    fn order_created_maps_to_order_placed() {
        let event = only_event(
            EventType::OrderPlaced,
            "order.created",
            "order-created.json",
        );
        assert_eq!(event.source, "woocommerce:order.created");
        assert_eq!(event.customer.id.as_str(), "77");
        assert_eq!(
            event.customer.address.as_ref().unwrap().area.postal_code,
            "1016GV"
        );
        let EventKind::OrderPlaced(order) = event.kind else {
            panic!()
        };
        assert_eq!(order.id.as_str(), "4821");
        assert_eq!(order.placed_at, ts("2026-11-02T08:14:03Z"));
        assert_eq!(order.total, Money::new(6331, Currency::EUR));
        let lines: Vec<(&str, u32, i64)> = order
            .lines
            .iter()
            .map(|l| (l.sku.as_str(), l.quantity, l.unit_price.unwrap().minor))
            .collect();
        assert_eq!(
            lines,
            [("TP-075", 3, 355), ("EB-200", 1, 4770)],
            "paid per unit, tax included"
        );
    }

    #[test]
    fn order_updated_per_route() {
        let event = only_event(
            EventType::OrderDelivered,
            "order.updated",
            "order-updated-completed.json",
        );
        assert_eq!(event.id.as_str(), "wc:order:4821:delivered");
        assert!(
            matches!(event.kind, EventKind::OrderDelivered { delivered_at, .. } if delivered_at == ts("2026-11-04T12:38:12Z"))
        );
        assert!(matches!(
            events(
                EventType::OrderDelivered,
                "order.updated",
                "order-updated-on-hold.json"
            )
            .as_slice(),
            [Inbound::Ignored { .. }]
        ));
        assert!(matches!(
            events(
                EventType::OrderReturned,
                "order.updated",
                "order-updated-completed.json"
            )
            .as_slice(),
            [Inbound::Ignored { .. }]
        ));

        let partial = only_event(
            EventType::OrderReturned,
            "order.updated",
            "order-updated-partial-refund.json",
        );
        assert_eq!(partial.id.as_str(), "wc:order:4821:refund:4830");
        let EventKind::OrderReturned { facts, .. } = partial.kind else {
            panic!()
        };
        assert_eq!(
            (facts.scope, facts.refund_total),
            (ReturnScope::Amount, Some(Amount::parse("47.70").unwrap()))
        );

        let refunded = only_event(
            EventType::OrderReturned,
            "order.updated",
            "order-updated-refunded.json",
        );
        assert!(
            matches!(refunded.kind, EventKind::OrderReturned { facts, .. } if facts.scope == ReturnScope::Whole)
        );
    }

    #[test]
    fn customer_updated_and_consent_meta() {
        let event = only_event(
            EventType::AddressChanged,
            "customer.updated",
            "customer-updated-moved.json",
        );
        assert_eq!(event.occurred_at, ts("2026-11-20T17:22:31Z"));
        assert_eq!(
            event.customer.address.as_ref().unwrap().area.postal_code,
            "3511AZ"
        );
        assert_eq!(event.customer.marketing_consent, Some(true));
        let unmapped = WooCommerceConnection {
            consent_meta_key: None,
            ..connection()
        };
        let out = map(
            &ShopId::parse("demo").unwrap(),
            Some(&GuestIds::new("test-guest-secret")),
            &unmapped,
            EventType::AddressChanged,
            "customer.updated",
            &fixture("customer-updated-moved.json"),
        )
        .unwrap();
        assert!(
            matches!(out.as_slice(), [Inbound::Apply { event, .. }] if event.customer.marketing_consent.is_none())
        );
    }

    fn edited(name: &str, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
        let mut value: Value = serde_json::from_slice(&fixture(name)).unwrap();
        edit(&mut value);
        value.to_string().into_bytes()
    }

    #[test]
    fn long_order_and_refund_ids_get_hashed_keys_not_a_crash() {
        for n in [111, 118, 128] {
            let long = "4".repeat(n);
            for name in [
                "order-updated-refunded.json",
                "order-updated-partial-refund.json",
            ] {
                let body = edited(name, |v| {
                    v["id"] = long.clone().into();
                    for refund in v["refunds"].as_array_mut().unwrap() {
                        refund["id"] = long.clone().into();
                    }
                });
                let out = map(
                    &ShopId::parse("demo").unwrap(),
                    Some(&GuestIds::new("test-guest-secret")),
                    &connection(),
                    EventType::OrderReturned,
                    "order.updated",
                    &body,
                )
                .unwrap();
                for inbound in out {
                    let Inbound::Apply { event, .. } = inbound else {
                        panic!("{name}")
                    };
                    assert!(event.id.as_str().chars().count() <= 128, "{n} {name}");
                    assert_eq!(event.order_id().unwrap().as_str(), long);
                }
            }
        }
    }

    #[test]
    fn bodies_must_fit_their_topic() {
        let shop = ShopId::parse("demo").unwrap();
        let err = map(
            &shop,
            Some(&GuestIds::new("test-guest-secret")),
            &connection(),
            EventType::AddressChanged,
            "customer.updated",
            &fixture("order-created.json"),
        )
        .unwrap_err();
        assert_eq!(err.field, "line_items");
        let err = map(
            &shop,
            Some(&GuestIds::new("test-guest-secret")),
            &connection(),
            EventType::OrderDelivered,
            "order.updated",
            &fixture("customer-updated-moved.json"),
        )
        .unwrap_err();
        assert_eq!(err.field, "line_items");
    }

    #[test]
    fn times_beyond_what_trouw_counts_name_the_field() {
        let body = edited("order-created.json", |v| {
            v["date_created_gmt"] = "9999-12-30T00:00:00".into();
        });
        let err = map(
            &ShopId::parse("demo").unwrap(),
            Some(&GuestIds::new("test-guest-secret")),
            &connection(),
            EventType::OrderPlaced,
            "order.created",
            &body,
        )
        .unwrap_err();
        assert_eq!(err.field, "date_created_gmt");
    }

    fn product_change(body: &[u8]) -> ProductChange {
        match product_updated("product.updated", body).unwrap() {
            ProductDelivery::Changes(changes) if changes.len() == 1 => changes[0].clone(),
            other => panic!("one change expected: {other:?}"),
        }
    }

    #[test]
    fn a_variation_speaks_for_its_own_sku_the_one_its_order_lines_carry() {
        let change = product_change(&fixture("product-updated-variation-out-of-stock.json"));
        assert_eq!(change.sku.as_str(), "OB-4-ZACHT");
        assert_eq!(change.scope, Scope::Variation);
        assert!(!change.available);
        assert_eq!(change.name.as_deref(), Some("Opzetborstels - Zacht"));
        assert_eq!(change.occurred_at, ts("2027-03-08T08:41:05Z"));
        // The order of that variation names it by the same sku (the parent is `product_id`).
        let order = only_event(
            EventType::OrderPlaced,
            "order.created",
            "order-created-variation.json",
        );
        let EventKind::OrderPlaced(order) = order.kind else {
            panic!()
        };
        let skus: Vec<&str> = order.lines.iter().map(|l| l.sku.as_str()).collect();
        assert_eq!(skus, ["OB-4-ZACHT"]);
        // Without any sku (none of its own, none to inherit) its order lines carry
        // `product-{parent}`, for which the parent speaks: nothing here.
        let bare = edited("product-updated-variation-out-of-stock.json", |v| {
            v["sku"] = "".into();
        });
        assert!(matches!(
            product_updated("product.updated", &bare).unwrap(),
            ProductDelivery::Ignored(_)
        ));
    }

    #[test]
    fn a_variable_product_speaks_only_for_its_own_sku_with_its_summary() {
        // In stock while any variation is (Medium is, Zacht is not): about its own sku only.
        let change = product_change(&fixture("product-updated-variable.json"));
        assert_eq!(change.sku.as_str(), "OB-4");
        assert_eq!(change.scope, Scope::Family);
        assert!(change.available);
        // Without a sku: the name its variations' sku-less order lines carry.
        let bare = edited("product-updated-variable.json", |v| {
            v["sku"] = "".into();
        });
        let change = product_change(&bare);
        assert_eq!(change.sku.as_str(), "product-1300");
        assert_eq!(change.scope, Scope::Family);
        // A simple product without a sku likewise, as its order lines are named.
        let simple = edited("product-updated-out-of-stock.json", |v| {
            v["sku"] = "".into();
        });
        let change = product_change(&simple);
        assert_eq!(
            (change.sku.as_str(), change.scope),
            ("product-312", Scope::Product)
        );
    }

    #[test]
    fn product_stock_status_and_expanded_alternatives() {
        let body = serde_json::json!({
            "id": 5, "name": "Bonen", "sku": "BONEN", "stock_status": "outofstock",
            "date_modified_gmt": "2026-03-02T09:00:00",
            "upsell_ids": [7, {"sku": "BONEN-2", "name": "Bonen 2", "permalink": "https://shop.example/bonen-2"}],
            "cross_sell_ids": []
        });
        let change = product_change(body.to_string().as_bytes());
        assert!(!change.available);
        assert_eq!(change.scope, Scope::Product, "no type: a product");
        assert_eq!(change.alternatives.len(), 1);
        let mut wrong = body;
        wrong["stock_status"] = "maybe".into();
        assert_eq!(
            product_updated("product.updated", wrong.to_string().as_bytes())
                .unwrap_err()
                .field,
            "stock_status"
        );
        // An order's body under the product topic does not fit it.
        assert_eq!(
            product_updated("product.updated", &fixture("order-created.json"))
                .unwrap_err()
                .field,
            "line_items"
        );
    }

    #[test]
    fn ping_is_recognised() {
        assert!(is_ping(&fixture("ping.txt")));
        assert!(!is_ping(b"webhook_id="));
        assert!(!is_ping(&fixture("order-created.json")));
    }
}
