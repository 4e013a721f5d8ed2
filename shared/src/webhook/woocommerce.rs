//! WooCommerce's native webhooks into trouw's events.
//!
//! | topic | route | becomes |
//! |---|---|---|
//! | `order.created` | order-placed | order placed |
//! | `order.updated`, status = the shop's delivered status (default `completed`) | order-delivered | delivered at `date_completed_gmt` |
//! | `order.updated`, status `refunded` | order-returned | whole return |
//! | `order.updated`, entries in `refunds` | order-returned | one partial return by amount per refund |
//! | `customer.updated` | address-changed | contact, address (a move if it changed), consent via a meta field |
//!
//! WooCommerce gives every delivery a new `X-WC-Webhook-Delivery-ID`, so de-duplication keys
//! come from the resource instead: the order and the fact (`delivered`, `refund:{id}`), or the
//! resource, topic and modification time. The customer's address is the shipping address when
//! filled in, else the billing address, the same on orders and customer updates.

use super::guest::GuestIds;
use super::json::Obj;
use super::platform::WooCommerceConnection;
use super::{Inbound, PayloadError, body_event_id};
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

    #[test]
    fn ping_is_recognised() {
        assert!(is_ping(&fixture("ping.txt")));
        assert!(!is_ping(b"webhook_id="));
        assert!(!is_ping(&fixture("order-created.json")));
    }
}
