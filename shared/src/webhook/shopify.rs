//! Shopify's native webhooks into trouw's events.
//!
//! | topic | route | becomes |
//! |---|---|---|
//! | `orders/create` | order-placed | order placed (`buyer_accepts_marketing: true` is an opt-in) |
//! | `fulfillment_events/create` (status `delivered`) | order-delivered | delivered at `happened_at` |
//! | `fulfillments/update` (shipment_status `delivered`) | order-delivered | delivered at `updated_at` |
//! | `refunds/create` with refund_line_items | order-returned | return of those lines |
//! | `returns/*` | order-returned | ignored: refunds carry the loyalty facts |
//! | `customers/update` | address-changed | contact, default address (a move if it changed) |
//! | `customers_email_marketing_consent/update` | address-changed | consent only |
//! | `customers/data_request`, `customers/redact`, `shop/redact` | address-changed | privacy |
//!
//! The customer's address is their `default_address`, not an order's shipping address, so a
//! gift sent elsewhere is not mistaken for a move.

use super::json::Obj;
use super::{Inbound, PayloadError};
use crate::domain::{
    Amount, Currency, CustomerFacts, CustomerId, Email, EventId, EventKind, EventType, Locale,
    Money, ObservedAddress, OrderId, OrderLine, PlacedOrder, ReturnFacts, ReturnScope,
    ReturnedLine, ShopEvent, ShopId, Sku, Timestamp,
};
use serde_json::Value;

/// Which route a topic belongs on; `None` for topics trouw does not use at all.
pub fn route_of(topic: &str) -> Option<EventType> {
    match topic {
        "orders/create" => Some(EventType::OrderPlaced),
        "fulfillment_events/create" | "fulfillments/update" | "fulfillments/create" => {
            Some(EventType::OrderDelivered)
        }
        "refunds/create" => Some(EventType::OrderReturned),
        t if t.starts_with("returns/") => Some(EventType::OrderReturned),
        "customers/update"
        | "customers/create"
        | "customers_email_marketing_consent/update"
        | "customers/data_request"
        | "customers/redact"
        | "shop/redact" => Some(EventType::AddressChanged),
        _ => None,
    }
}

/// Maps one verified delivery. `triggered_at` is `X-Shopify-Triggered-At`: when Shopify
/// produced the event, used to order customer updates.
pub fn map(
    shop: &ShopId,
    route: EventType,
    topic: &str,
    id: EventId,
    triggered_at: Option<Timestamp>,
    body: &[u8],
) -> Result<Inbound, PayloadError> {
    if route_of(topic) != Some(route) {
        return Ok(Inbound::Ignored {
            reason: format!(
                "topic {topic} is not handled on the {} route",
                route.route()
            ),
        });
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| PayloadError::new("body", format!("is not valid JSON (line {})", e.line())))?;
    let root = Obj::root(&value)?;
    let source = format!("shopify:{topic}");
    let event = |occurred_at: Timestamp, customer: CustomerFacts, kind: EventKind| ShopEvent {
        id: id.clone(),
        source: source.clone(),
        occurred_at,
        customer,
        kind,
    };
    match topic {
        "orders/create" => {
            let placed_at = root
                .time("processed_at")?
                .or(root.time("created_at")?)
                .ok_or_else(|| PayloadError::new("created_at", "is required"))?;
            let occurred_at = triggered_at
                .or(root.time("created_at")?)
                .unwrap_or(placed_at);
            let order = placed_order(&root, placed_at)?;
            let customer = order_customer(shop, &root)?;
            Ok(Inbound::Apply {
                event: event(occurred_at, customer, EventKind::OrderPlaced(order)),
                customer_from_order: false,
            })
        }
        "fulfillment_events/create" => {
            let status = root.str("status")?.unwrap_or("");
            if status != "delivered" {
                return Ok(Inbound::Ignored {
                    reason: format!("fulfillment event status {status}"),
                });
            }
            let delivered_at = root
                .time("happened_at")?
                .or(root.time("created_at")?)
                .ok_or_else(|| PayloadError::new("happened_at", "is required"))?;
            delivered(event, &root, delivered_at, triggered_at)
        }
        "fulfillments/update" | "fulfillments/create" => {
            let status = root.str("shipment_status")?.unwrap_or("none");
            if status != "delivered" {
                return Ok(Inbound::Ignored {
                    reason: format!("shipment status {status}"),
                });
            }
            let delivered_at = root
                .time("updated_at")?
                .ok_or_else(|| PayloadError::new("updated_at", "is required"))?;
            delivered(event, &root, delivered_at, triggered_at)
        }
        "refunds/create" => {
            let items = root.array("refund_line_items")?;
            if items.is_empty() {
                return Ok(Inbound::Ignored {
                    reason: "refund without returned items (shipping or goodwill)".into(),
                });
            }
            let mut lines = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let path = format!("refund_line_items[{i}]");
                let item = Obj {
                    value: item,
                    path: &path,
                };
                let quantity = item.quantity("quantity")?;
                let line_path = format!("{path}.line_item");
                let line = item.object("line_item", &line_path).ok_or_else(|| {
                    PayloadError::new(item.field_path("line_item"), "is required")
                })?;
                lines.push(ReturnedLine {
                    sku: line_sku(&line)?,
                    quantity,
                });
            }
            let returned_at = root
                .time("processed_at")?
                .or(root.time("created_at")?)
                .ok_or_else(|| PayloadError::new("created_at", "is required"))?;
            let mut refunded: Option<i64> = None;
            for (i, tx) in root.array("transactions")?.iter().enumerate() {
                let path = format!("transactions[{i}]");
                let tx = Obj {
                    value: tx,
                    path: &path,
                };
                if tx.str("kind")? == Some("refund")
                    && tx.str("status")? != Some("failure")
                    && let Some(a) = tx.amount("amount")?
                {
                    refunded = Some(refunded.unwrap_or(0) + a.ten_thousandths.abs());
                }
            }
            let order_id = OrderId::parse(root.require_id("order_id")?)
                .map_err(|e| PayloadError::new("order_id", e))?;
            let facts = ReturnFacts {
                event_id: id.clone(),
                returned_at,
                refund_total: refunded.map(|t| Amount { ten_thousandths: t }),
                scope: ReturnScope::Lines(lines),
                reason: root.str("note")?.map(|n| n.chars().take(512).collect()),
            };
            let customer = unknown_customer();
            let occurred_at = triggered_at.unwrap_or(returned_at);
            Ok(Inbound::Apply {
                event: event(
                    occurred_at,
                    customer,
                    EventKind::OrderReturned { order_id, facts },
                ),
                customer_from_order: true,
            })
        }
        t if t.starts_with("returns/") => Ok(Inbound::Ignored {
            reason: "returns are read from refunds/create, which carries the refunded lines".into(),
        }),
        "customers/update" | "customers/create" => {
            let customer = customer_facts(shop, &root, "")?;
            let occurred_at = triggered_at
                .or(root.time("updated_at")?)
                .ok_or_else(|| PayloadError::new("updated_at", "is required"))?;
            Ok(Inbound::Apply {
                event: event(occurred_at, customer, EventKind::AddressChanged),
                customer_from_order: false,
            })
        }
        "customers_email_marketing_consent/update" => {
            let customer_id = customer_id(root.require_id("customer_id")?, "customer_id")?;
            let consent_path = "email_marketing_consent";
            let consent = root
                .object("email_marketing_consent", consent_path)
                .ok_or_else(|| PayloadError::new(consent_path, "is required"))?;
            let granted = consent_state(&consent)?;
            let occurred_at = consent
                .time("consent_updated_at")?
                .or(triggered_at)
                .ok_or_else(|| {
                    PayloadError::new("email_marketing_consent.consent_updated_at", "is required")
                })?;
            let Some(granted) = granted else {
                return Ok(Inbound::Ignored {
                    reason: "consent state neither subscribed nor unsubscribed".into(),
                });
            };
            let customer = CustomerFacts {
                marketing_consent: Some(granted),
                ..bare_customer(customer_id)
            };
            Ok(Inbound::Apply {
                event: event(occurred_at, customer, EventKind::AddressChanged),
                customer_from_order: false,
            })
        }
        "customers/redact" => {
            let path = "customer";
            let customer = root
                .object("customer", path)
                .ok_or_else(|| PayloadError::new(path, "is required"))?;
            Ok(Inbound::Erase {
                customer: customer_id(customer.require_id("id")?, "customer.id")?,
            })
        }
        "customers/data_request" => {
            let customer = root
                .object("customer", "customer")
                .map(|c| c.require_id("id"))
                .transpose()?;
            let request = root
                .object("data_request", "data_request")
                .map(|d| d.require_id("id"))
                .transpose()?;
            Ok(Inbound::DataRequest {
                customer: customer
                    .map(|c| customer_id(c, "customer.id"))
                    .transpose()?,
                request_id: request,
            })
        }
        "shop/redact" => Ok(Inbound::ShopRedact),
        other => Ok(Inbound::Ignored {
            reason: format!("topic {other} is not used"),
        }),
    }
}

fn delivered(
    event: impl Fn(Timestamp, CustomerFacts, EventKind) -> ShopEvent,
    root: &Obj<'_>,
    delivered_at: Timestamp,
    triggered_at: Option<Timestamp>,
) -> Result<Inbound, PayloadError> {
    let order_id = OrderId::parse(root.require_id("order_id")?)
        .map_err(|e| PayloadError::new("order_id", e))?;
    let kind = EventKind::OrderDelivered {
        order_id,
        delivered_at,
    };
    Ok(Inbound::Apply {
        event: event(
            triggered_at.unwrap_or(delivered_at),
            unknown_customer(),
            kind,
        ),
        customer_from_order: true,
    })
}

/// Stands in until the handler has looked up the order's customer.
fn unknown_customer() -> CustomerFacts {
    bare_customer(CustomerId::parse("unresolved").expect("valid id"))
}

fn bare_customer(id: CustomerId) -> CustomerFacts {
    CustomerFacts {
        id,
        email: None,
        first_name: None,
        locale: None,
        marketing_consent: None,
        address: None,
    }
}

fn customer_id(raw: String, field: &str) -> Result<CustomerId, PayloadError> {
    CustomerId::parse(raw).map_err(|e| PayloadError::new(field, e))
}

/// A customer id for a checkout without an account: derived from the email, never the email.
pub fn guest_customer_id(shop: &ShopId, email: &Email) -> CustomerId {
    use sha2::{Digest, Sha256};
    let digest =
        Sha256::digest(format!("{shop}\u{1f}{}", email.as_str().to_lowercase()).as_bytes());
    let hex: String = digest.iter().take(10).map(|b| format!("{b:02x}")).collect();
    CustomerId::parse(format!("guest-{hex}")).expect("valid id")
}

fn placed_order(root: &Obj<'_>, placed_at: Timestamp) -> Result<PlacedOrder, PayloadError> {
    let currency = Currency::parse(root.require_str("currency")?)
        .map_err(|e| PayloadError::new("currency", e))?;
    let money = |obj: &Obj<'_>, name: &str, amount: Amount| -> Result<Money, PayloadError> {
        amount
            .in_currency(currency)
            .map_err(|e| PayloadError::new(obj.field_path(name), e))
    };
    let total = money(root, "total_price", root.require_amount("total_price")?)?;
    let items = root.array("line_items")?;
    if items.is_empty() || items.len() > 500 {
        return Err(PayloadError::new("line_items", "must hold 1 to 500 lines"));
    }
    let mut lines = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("line_items[{i}]");
        let item = Obj {
            value: item,
            path: &path,
        };
        let quantity = item.quantity("quantity")?;
        // What the customer paid per unit: the price less the discounts allocated to the line.
        let unit_price = match item.amount("price")? {
            None => None,
            Some(price) => {
                let mut discount = 0;
                for (j, alloc) in item.array("discount_allocations")?.iter().enumerate() {
                    let alloc_path = format!("{path}.discount_allocations[{j}]");
                    let alloc = Obj {
                        value: alloc,
                        path: &alloc_path,
                    };
                    discount += alloc.amount("amount")?.map_or(0, |a| a.ten_thousandths);
                }
                let paid = price.ten_thousandths * quantity as i64 - discount;
                let minor_unit = 10_i64.pow(4 - currency.minor_digits());
                let per_unit = (paid / quantity as i64) / minor_unit * minor_unit;
                Some(money(
                    &item,
                    "price",
                    Amount {
                        ten_thousandths: per_unit.max(0),
                    },
                )?)
            }
        };
        lines.push(OrderLine {
            sku: line_sku(&item)?,
            name: item
                .str("name")?
                .or(item.str("title")?)
                .map(|n| n.chars().take(256).collect()),
            category: None,
            quantity,
            unit_price,
            replenish_after_days: None,
        });
    }
    Ok(PlacedOrder {
        id: OrderId::parse(root.require_id("id")?).map_err(|e| PayloadError::new("id", e))?,
        placed_at,
        total,
        lines,
    })
}

/// The line's sku, or a stable stand-in when the product has none.
fn line_sku(line: &Obj<'_>) -> Result<Sku, PayloadError> {
    let sku = match (line.str("sku")?, line.id("variant_id")?, line.id("id")?) {
        (Some(sku), _, _) => sku.to_owned(),
        (None, Some(variant), _) => format!("variant-{variant}"),
        (None, None, Some(id)) => format!("line-{id}"),
        (None, None, None) => {
            return Err(PayloadError::new(
                line.field_path("sku"),
                "is required (or variant_id)",
            ));
        }
    };
    Sku::parse(sku).map_err(|e| PayloadError::new(line.field_path("sku"), e))
}

/// The buyer of an order: the customer object when there is one, else a guest by email.
fn order_customer(shop: &ShopId, root: &Obj<'_>) -> Result<CustomerFacts, PayloadError> {
    let email = root
        .str("email")?
        .or(root.str("contact_email")?)
        .map(|e| Email::parse(e).map_err(|err| PayloadError::new("email", err)))
        .transpose()?;
    let mut facts = match root.object("customer", "customer") {
        Some(customer) => customer_facts(shop, &customer, "customer")?,
        None => {
            let email = email.clone().ok_or_else(|| {
                PayloadError::new("customer", "is required (or an email for a guest)")
            })?;
            bare_customer(guest_customer_id(shop, &email))
        }
    };
    if facts.email.is_none() {
        facts.email = email;
    }
    if facts.email.is_none() {
        return Err(PayloadError::new("email", "is required"));
    }
    if facts.locale.is_none() {
        facts.locale = root.str("customer_locale")?.and_then(locale);
    }
    // Ticking "keep me posted" at checkout is an opt-in; leaving it unticked changes nothing.
    if root.bool("buyer_accepts_marketing")? == Some(true) {
        facts.marketing_consent = Some(true);
    }
    Ok(facts)
}

fn customer_facts(
    shop: &ShopId,
    customer: &Obj<'_>,
    path: &str,
) -> Result<CustomerFacts, PayloadError> {
    let field = |name: &str| {
        if path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    let id = customer_id(customer.require_id("id")?, &field("id"))?;
    let email = customer
        .str("email")?
        .map(|e| Email::parse(e).map_err(|err| PayloadError::new(field("email"), err)))
        .transpose()?;
    let address_path = field("default_address");
    let address = match customer.object("default_address", &address_path) {
        None => None,
        Some(a) => {
            let country = a.str("country_code")?;
            let postal = a.str("zip")?;
            match (country, postal) {
                (Some(country), Some(postal)) => Some(ObservedAddress::from_parts(
                    shop,
                    a.str("address1")?,
                    a.str("address2")?,
                    postal,
                    a.str("city")?,
                    country,
                )),
                _ => None,
            }
        }
    };
    // API versions before 2025-01 still carry the consent on the customer.
    let consent_path = field("email_marketing_consent");
    let marketing_consent = match customer.object("email_marketing_consent", &consent_path) {
        Some(consent) => consent_state(&consent)?,
        None => None,
    };
    Ok(CustomerFacts {
        id,
        email,
        first_name: customer
            .str("first_name")?
            .map(|n| n.chars().take(128).collect()),
        locale: customer.str("locale")?.and_then(locale),
        marketing_consent,
        address,
    })
}

/// `subscribed` is consent, `unsubscribed` and `redacted` withdraw it, the rest says nothing.
fn consent_state(consent: &Obj<'_>) -> Result<Option<bool>, PayloadError> {
    Ok(match consent.str("state")? {
        Some("subscribed") => Some(true),
        Some("unsubscribed") | Some("redacted") => Some(false),
        _ => None,
    })
}

/// Shopify locales are `nl`, `en`, `pt-BR`, sometimes `en-us`: keep what fits, else the language.
fn locale(text: &str) -> Option<Locale> {
    Locale::parse(text).ok().or_else(|| {
        let (lang, region) = text.split_once('-').unwrap_or((text, ""));
        Locale::parse(format!("{}-{}", lang.to_lowercase(), region.to_uppercase()))
            .ok()
            .or_else(|| Locale::parse(lang.to_lowercase()).ok())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/../tests/fixtures/shopify/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }
    fn shop() -> ShopId {
        ShopId::parse("demo").unwrap()
    }
    fn ts(t: &str) -> Timestamp {
        t.parse().unwrap()
    }
    fn mapped(route: EventType, topic: &str, name: &str) -> Inbound {
        map(
            &shop(),
            route,
            topic,
            EventId::parse("shopify:1").unwrap(),
            None,
            &fixture(name),
        )
        .unwrap()
    }
    fn applied(route: EventType, topic: &str, name: &str) -> (ShopEvent, bool) {
        match mapped(route, topic, name) {
            Inbound::Apply {
                event,
                customer_from_order,
            } => (event, customer_from_order),
            other => panic!("{name}: {other:?}"),
        }
    }
    fn ignored(route: EventType, topic: &str, name: &str) -> bool {
        matches!(mapped(route, topic, name), Inbound::Ignored { .. })
    }

    #[test]
    fn orders_create_maps_to_order_placed() {
        let (event, from_order) = applied(
            EventType::OrderPlaced,
            "orders/create",
            "orders-create.json",
        );
        assert!(!from_order);
        assert_eq!(event.source, "shopify:orders/create");
        assert_eq!(event.customer.id.as_str(), "7390412345678");
        assert_eq!(
            event.customer.email.as_ref().unwrap().as_str(),
            "anna.devries@example.nl"
        );
        assert_eq!(event.customer.locale.as_ref().unwrap().as_str(), "nl");
        assert_eq!(event.customer.marketing_consent, Some(true));
        assert_eq!(
            event.customer.address.as_ref().unwrap().area.postal_code,
            "1016GV"
        );
        let EventKind::OrderPlaced(order) = event.kind else {
            panic!()
        };
        assert_eq!(order.id.as_str(), "5912345678901");
        assert_eq!(order.placed_at, ts("2026-11-02T09:14:03+01:00"));
        assert_eq!(order.total, Money::new(6331, Currency::EUR));
        let lines: Vec<(&str, u32, i64)> = order
            .lines
            .iter()
            .map(|l| (l.sku.as_str(), l.quantity, l.unit_price.unwrap().minor))
            .collect();
        assert_eq!(
            lines,
            [("TP-075", 3, 355), ("EB-200", 1, 4770)],
            "unit prices net of the WELKOM10 discount"
        );
        let (event, _) = applied(
            EventType::OrderPlaced,
            "orders/create",
            "orders-create-no-marketing.json",
        );
        assert_eq!(
            event.customer.marketing_consent, None,
            "an unticked box changes nothing"
        );
    }

    #[test]
    fn delivery_signals() {
        let (event, from_order) = applied(
            EventType::OrderDelivered,
            "fulfillment_events/create",
            "fulfillment-events-create-delivered.json",
        );
        assert!(from_order, "the payload names only the order");
        assert_eq!(
            event.kind,
            EventKind::OrderDelivered {
                order_id: OrderId::parse("5912345678901").unwrap(),
                delivered_at: ts("2026-11-04T13:38:12+01:00")
            }
        );
        let (event, _) = applied(
            EventType::OrderDelivered,
            "fulfillments/update",
            "fulfillments-update-delivered.json",
        );
        assert!(
            matches!(event.kind, EventKind::OrderDelivered { delivered_at, .. } if delivered_at == ts("2026-11-04T13:40:00+01:00"))
        );
        assert!(ignored(
            EventType::OrderDelivered,
            "fulfillment_events/create",
            "fulfillment-events-create-in-transit.json"
        ));
        assert!(ignored(
            EventType::OrderDelivered,
            "fulfillments/update",
            "fulfillments-update-out-for-delivery.json"
        ));
    }

    #[test]
    fn refunds_are_returns_of_their_lines() {
        let (event, from_order) = applied(
            EventType::OrderReturned,
            "refunds/create",
            "refunds-create-partial.json",
        );
        assert!(from_order);
        let EventKind::OrderReturned { order_id, facts } = event.kind else {
            panic!()
        };
        assert_eq!(order_id.as_str(), "5912345678901");
        assert_eq!(facts.returned_at, ts("2026-11-07T09:55:00+01:00"));
        assert_eq!(
            facts.scope,
            ReturnScope::Lines(vec![ReturnedLine {
                sku: Sku::parse("EB-200").unwrap(),
                quantity: 1
            }])
        );
        assert_eq!(facts.refund_total, Some(Amount::parse("47.70").unwrap()));
        assert_eq!(facts.reason.as_deref(), Some("defect"));
        let (event, _) = applied(
            EventType::OrderReturned,
            "refunds/create",
            "refunds-create-full.json",
        );
        assert!(
            matches!(event.kind, EventKind::OrderReturned { facts, .. } if facts.scope == ReturnScope::Lines(vec![ReturnedLine { sku: Sku::parse("TP-075").unwrap(), quantity: 3 }]))
        );
        assert!(ignored(
            EventType::OrderReturned,
            "refunds/create",
            "refunds-create-shipping-only.json"
        ));
        assert!(ignored(
            EventType::OrderReturned,
            "returns/request",
            "returns-request.json"
        ));
    }

    #[test]
    fn customer_topics() {
        let (event, _) = applied(
            EventType::AddressChanged,
            "customers/update",
            "customers-update-moved.json",
        );
        assert_eq!(event.occurred_at, ts("2026-11-20T18:22:31+01:00"));
        assert_eq!(
            event.customer.address.as_ref().unwrap().area.postal_code,
            "3511AZ"
        );
        assert_eq!(
            event.customer.marketing_consent, None,
            "2025-01 and later carry no consent here"
        );
        let (event, _) = applied(
            EventType::AddressChanged,
            "customers/update",
            "customers-update-legacy-2024-04.json",
        );
        assert_eq!(event.customer.marketing_consent, Some(true));
        let (event, _) = applied(
            EventType::AddressChanged,
            "customers_email_marketing_consent/update",
            "customers-email-marketing-consent-update.json",
        );
        assert_eq!(
            (event.customer.marketing_consent, event.occurred_at),
            (Some(false), ts("2026-11-21T08:00:00+01:00"))
        );
        assert!(event.customer.address.is_none() && event.customer.email.is_none());
        // Triggered-At orders updates when Shopify sends it.
        let later = map(
            &shop(),
            EventType::AddressChanged,
            "customers/update",
            EventId::parse("s:2").unwrap(),
            Some(ts("2026-11-09T00:00:00Z")),
            &fixture("customers-update-same-address.json"),
        )
        .unwrap();
        assert!(
            matches!(later, Inbound::Apply { event, .. } if event.occurred_at == ts("2026-11-09T00:00:00Z"))
        );
    }

    #[test]
    fn privacy_topics() {
        assert_eq!(
            mapped(
                EventType::AddressChanged,
                "customers/redact",
                "customers-redact.json"
            ),
            Inbound::Erase {
                customer: CustomerId::parse("7390412345678").unwrap()
            }
        );
        assert_eq!(
            mapped(
                EventType::AddressChanged,
                "customers/data_request",
                "customers-data-request.json"
            ),
            Inbound::DataRequest {
                customer: Some(CustomerId::parse("7390412345678").unwrap()),
                request_id: Some("4400001".into())
            }
        );
        assert_eq!(
            mapped(EventType::AddressChanged, "shop/redact", "shop-redact.json"),
            Inbound::ShopRedact
        );
    }

    #[test]
    fn topics_on_the_wrong_route_are_ignored() {
        assert!(ignored(
            EventType::OrderReturned,
            "orders/create",
            "orders-create.json"
        ));
        assert!(ignored(
            EventType::OrderPlaced,
            "customers/redact",
            "customers-redact.json"
        ));
    }

    #[test]
    fn bad_payloads_name_the_field() {
        let mut order: serde_json::Value =
            serde_json::from_slice(&fixture("orders-create.json")).unwrap();
        order["total_price"] = serde_json::json!("lots");
        let err = map(
            &shop(),
            EventType::OrderPlaced,
            "orders/create",
            EventId::parse("s:1").unwrap(),
            None,
            order.to_string().as_bytes(),
        )
        .unwrap_err();
        assert_eq!(err.field, "total_price");
        order["total_price"] = serde_json::json!("63.31");
        order["line_items"][1]["quantity"] = serde_json::json!(0);
        let err = map(
            &shop(),
            EventType::OrderPlaced,
            "orders/create",
            EventId::parse("s:1").unwrap(),
            None,
            order.to_string().as_bytes(),
        )
        .unwrap_err();
        assert_eq!(err.field, "line_items[1].quantity");
    }

    #[test]
    fn guests_get_an_id_from_their_email_never_the_email() {
        let email = Email::parse("anna.devries@example.nl").unwrap();
        let id = guest_customer_id(&shop(), &email);
        assert!(id.as_str().starts_with("guest-") && !id.as_str().contains("anna"));
        assert_eq!(
            id,
            guest_customer_id(&shop(), &Email::parse("Anna.DeVries@example.nl").unwrap())
        );
    }
}
