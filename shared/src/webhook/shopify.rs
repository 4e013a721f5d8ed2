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

use super::guest::GuestIds;
use super::json::Obj;
use super::{Inbound, PayloadError, body_event_id};
use crate::domain::{
    Amount, Currency, CustomerFacts, CustomerId, Email, EventKind, EventType, Locale, Money,
    ObservedAddress, OrderId, OrderLine, PlacedOrder, ReturnFacts, ReturnScope, ReturnedLine,
    ShopEvent, ShopId, Sku, Timestamp,
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

/// The resource type a topic's body must be, as its `admin_graphql_api_id` names it
/// (`gid://shopify/Refund/9600000000001`).
fn resource_of(topic: &str) -> Option<&'static str> {
    match topic {
        "orders/create" => Some("Order"),
        "fulfillment_events/create" => Some("FulfillmentEvent"),
        "fulfillments/update" | "fulfillments/create" => Some("Fulfillment"),
        "refunds/create" => Some("Refund"),
        "customers/update" | "customers/create" => Some("Customer"),
        _ => None,
    }
}

/// Shopify signs the body only; topic and ids travel in unsigned headers. So the body must be
/// what its topic says: a body of another resource (an order posted as `customers/update`, say)
/// is refused before it can change anything.
fn check_body_fits_topic(
    root: &Obj<'_>,
    topic: &str,
    shop_domain: &str,
) -> Result<(), PayloadError> {
    let misfit = |field: &str, what: &str| {
        PayloadError::new(
            field,
            format!("{what}: the body does not fit the topic {topic}"),
        )
    };
    if let Some(resource) = resource_of(topic) {
        if let Some(gid) = root.str("admin_graphql_api_id")? {
            let kind = gid
                .strip_prefix("gid://shopify/")
                .and_then(|rest| rest.split('/').next())
                .unwrap_or("");
            if kind != resource {
                return Err(misfit(
                    "admin_graphql_api_id",
                    &format!("names another resource than a {resource}"),
                ));
            }
        }
        // Whatever the API version: orders carry lines and belong to no other order,
        // customers have neither, fulfilments, their events and refunds name their order.
        let names_order = root.get("order_id").is_some();
        let has_lines = root.get("line_items").is_some();
        let wrong = match resource {
            "Order" if !has_lines => Some(("line_items", "is required")),
            "Order" | "Customer" if names_order => Some(("order_id", "belongs to an order part")),
            "Customer" if has_lines => Some(("line_items", "belongs to an order")),
            "Order" | "Customer" => None,
            _ if !names_order => Some(("order_id", "is required")),
            _ => None,
        };
        if let Some((field, what)) = wrong {
            return Err(misfit(field, what));
        }
    }
    if matches!(
        topic,
        "customers/redact" | "customers/data_request" | "shop/redact"
    ) {
        let domain = root.require_str("shop_domain")?;
        if domain != shop_domain {
            return Err(misfit(
                "shop_domain",
                "is not this shop's domain (X-Shopify-Shop-Domain)",
            ));
        }
    }
    match topic {
        "customers/redact" => {
            root.object("customer", "customer")
                .ok_or_else(|| PayloadError::new("customer", "is required"))?
                .require_id("id")?;
            if !matches!(root.get("orders_to_redact"), Some(Value::Array(_))) {
                return Err(misfit("orders_to_redact", "must be a list"));
            }
        }
        "customers/data_request" => {
            root.object("data_request", "data_request")
                .ok_or_else(|| misfit("data_request", "is required"))?
                .require_id("id")?;
        }
        "shop/redact" => {
            root.require_id("shop_id")?;
            if root.get("customer").is_some() {
                return Err(misfit("customer", "is not part of a shop redact"));
            }
        }
        "customers_email_marketing_consent/update" => {
            root.require_id("customer_id")?;
        }
        _ => {}
    }
    Ok(())
}

/// A Shopify body whose `X-Shopify-Triggered-At` is older than this is stale.
pub const STALE_AFTER: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);

/// Shopify retries a delivery for 4 hours and tells partners to spot stale payloads by
/// `X-Shopify-Triggered-At`: a body Shopify produced more than a day ago changes nothing.
pub fn is_stale(triggered_at: Option<Timestamp>, now: Timestamp) -> bool {
    triggered_at.is_some_and(|t| now.duration_since(t) > STALE_AFTER)
}

/// When the event happened for ordering contact and consent: the body's own (signed) time,
/// unless the `X-Shopify-Triggered-At` header is earlier. The header is not signed, so a
/// replayed old body with a fresh header must not pass for new and overwrite newer data.
fn occurred(body_time: Timestamp, triggered_at: Option<Timestamp>) -> Timestamp {
    triggered_at.map_or(body_time, |t| t.min(body_time))
}

/// Maps one verified delivery. `triggered_at` is `X-Shopify-Triggered-At`: when Shopify
/// produced the event; it can only make an event older, never newer than its body says.
/// Events are de-duplicated on the body's own ids (the refund, the order and its
/// `updated_at`, ...), so the same body re-sent under a new webhook id counts once.
/// `guests` names checkouts without an account (`None` where no order is placed: such an
/// order is refused).
pub fn map(
    shop: &ShopId,
    shop_domain: &str,
    guests: Option<&GuestIds>,
    route: EventType,
    topic: &str,
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
    if let Some(field) = super::duplicate_keys::first_repeated_key(body) {
        return Err(PayloadError::new(field, "is given twice in its object"));
    }
    check_body_fits_topic(&root, topic, shop_domain)?;
    let source = format!("shopify:{topic}");
    let event = |key: String, occurred_at: Timestamp, customer: CustomerFacts, kind: EventKind| {
        Ok::<_, PayloadError>(ShopEvent {
            id: body_event_id("id", format!("shopify:{key}"))?,
            source: source.clone(),
            occurred_at,
            customer,
            kind,
        })
    };
    let stamp = |t: Timestamp| t.as_second();
    match topic {
        "orders/create" => {
            let placed_at = root
                .time("processed_at")?
                .or(root.time("created_at")?)
                .ok_or_else(|| PayloadError::new("created_at", "is required"))?;
            let body_time = root.time("created_at")?.unwrap_or(placed_at);
            let updated = root.time("updated_at")?.unwrap_or(body_time);
            let order = placed_order(&root, placed_at)?;
            let customer = order_customer(shop, guests, &root)?;
            Ok(Inbound::Apply {
                event: event(
                    format!("order:{}:{}", order.id, stamp(updated)),
                    occurred(body_time, triggered_at),
                    customer,
                    EventKind::OrderPlaced(order),
                )?,
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
            let key = format!("fulfillment_event:{}", root.require_id("id")?);
            delivered(event, key, &root, delivered_at, triggered_at)
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
            let key = format!(
                "fulfillment:{}:{}",
                root.require_id("id")?,
                stamp(delivered_at)
            );
            delivered(event, key, &root, delivered_at, triggered_at)
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
                    refunded = Some(
                        refunded
                            .unwrap_or(0)
                            .checked_add(a.ten_thousandths.abs())
                            .ok_or_else(|| too_large(&tx, "amount"))?,
                    );
                }
            }
            let order_id = OrderId::parse(root.require_id("order_id")?)
                .map_err(|e| PayloadError::new("order_id", e))?;
            let id = body_event_id("id", format!("shopify:refund:{}", root.require_id("id")?))?;
            let facts = ReturnFacts {
                event_id: id.clone(),
                returned_at,
                refund_total: refunded.map(|t| Amount { ten_thousandths: t }),
                scope: ReturnScope::Lines(lines),
                reason: root.str("note")?.map(|n| n.chars().take(512).collect()),
            };
            Ok(Inbound::Apply {
                event: ShopEvent {
                    id,
                    source: source.clone(),
                    occurred_at: occurred(returned_at, triggered_at),
                    customer: unknown_customer(),
                    kind: EventKind::OrderReturned { order_id, facts },
                },
                customer_from_order: true,
            })
        }
        t if t.starts_with("returns/") => Ok(Inbound::Ignored {
            reason: "returns are read from refunds/create, which carries the refunded lines".into(),
        }),
        "customers/update" | "customers/create" => {
            let customer = customer_facts(shop, &root, "")?;
            let updated = root
                .time("updated_at")?
                .ok_or_else(|| PayloadError::new("updated_at", "is required"))?;
            Ok(Inbound::Apply {
                event: event(
                    format!("customer:{}:{}", customer.id, stamp(updated)),
                    occurred(updated, triggered_at),
                    customer,
                    EventKind::AddressChanged,
                )?,
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
            let key = format!(
                "consent:{customer_id}:{}:{}",
                stamp(occurred_at),
                if granted { "in" } else { "out" }
            );
            let customer = CustomerFacts {
                marketing_consent: Some(granted),
                ..bare_customer(customer_id)
            };
            Ok(Inbound::Apply {
                event: event(
                    key,
                    occurred(occurred_at, triggered_at),
                    customer,
                    EventKind::AddressChanged,
                )?,
                customer_from_order: false,
            })
        }
        "customers/redact" => {
            let path = "customer";
            let customer = root
                .object("customer", path)
                .ok_or_else(|| PayloadError::new(path, "is required"))?;
            let customer = customer_id(customer.require_id("id")?, "customer.id")?;
            let orders = match root.get("orders_to_redact") {
                Some(Value::Array(ids)) => ids
                    .iter()
                    .enumerate()
                    .map(|(i, id)| {
                        let path = format!("orders_to_redact[{i}]");
                        let text = match id {
                            Value::Number(n) => n.to_string(),
                            Value::String(s) => s.clone(),
                            _ => return Err(PayloadError::new(path, "must be an order id")),
                        };
                        OrderId::parse(text).map_err(|e| PayloadError::new(path, e))
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                _ => Vec::new(),
            };
            Ok(Inbound::Erase { customer, orders })
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
    event: impl Fn(String, Timestamp, CustomerFacts, EventKind) -> Result<ShopEvent, PayloadError>,
    key: String,
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
            key,
            occurred(delivered_at, triggered_at),
            unknown_customer(),
            kind,
        )?,
        customer_from_order: true,
    })
}

/// Stands in until the handler has looked up the order's customer.
fn unknown_customer() -> CustomerFacts {
    bare_customer(CustomerId::parse("unresolved").expect("a constant, valid id"))
}

fn bare_customer(id: CustomerId) -> CustomerFacts {
    CustomerFacts {
        id,
        email: None,
        first_name: None,
        locale: None,
        marketing_consent: None,
        address: None,
        birthday: None,
    }
}

fn customer_id(raw: String, field: &str) -> Result<CustomerId, PayloadError> {
    CustomerId::parse(raw).map_err(|e| PayloadError::new(field, e))
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
                let mut discount: i64 = 0;
                for (j, alloc) in item.array("discount_allocations")?.iter().enumerate() {
                    let alloc_path = format!("{path}.discount_allocations[{j}]");
                    let alloc = Obj {
                        value: alloc,
                        path: &alloc_path,
                    };
                    discount = discount
                        .checked_add(alloc.amount("amount")?.map_or(0, |a| a.ten_thousandths))
                        .ok_or_else(|| too_large(&alloc, "amount"))?;
                }
                let paid = price
                    .ten_thousandths
                    .checked_mul(i64::from(quantity))
                    .ok_or_else(|| too_large(&item, "quantity"))?
                    .checked_sub(discount)
                    .ok_or_else(|| too_large(&item, "discount_allocations"))?;
                let minor_unit = 10_i64.pow(4 - currency.minor_digits());
                let per_unit = (paid / i64::from(quantity)) / minor_unit * minor_unit;
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
            category: line_category(&item),
            quantity,
            unit_price,
            replenish_after_days: None,
            contract: None,
        });
    }
    Ok(PlacedOrder {
        id: OrderId::parse(root.require_id("id")?).map_err(|e| PayloadError::new("id", e))?,
        placed_at,
        discount_codes: root.codes("discount_codes"),
        total,
        lines,
    })
}

/// Money arithmetic that does not fit: refused, naming the field, never wrapped or panicking.
fn too_large(obj: &Obj<'_>, name: &str) -> PayloadError {
    PayloadError::new(obj.field_path(name), "makes an amount too large to count")
}

/// The line's category: the product type, when the payload carries one (the order webhooks'
/// line items usually do not; a category is optional, so an unusable one is left out rather
/// than refusing the order).
fn line_category(line: &Obj<'_>) -> Option<String> {
    let text: String = line.str("product_type").ok()??.chars().take(128).collect();
    crate::domain::check_text(&text).is_ok().then_some(text)
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
fn order_customer(
    shop: &ShopId,
    guests: Option<&GuestIds>,
    root: &Obj<'_>,
) -> Result<CustomerFacts, PayloadError> {
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
            bare_customer(super::guest::guest_id(guests, shop, &email)?)
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
        birthday: None,
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
    const DOMAIN: &str = "demo.myshopify.com";
    fn shop() -> ShopId {
        ShopId::parse("demo").unwrap()
    }
    fn ts(t: &str) -> Timestamp {
        t.parse().unwrap()
    }
    fn mapped(route: EventType, topic: &str, name: &str) -> Inbound {
        map(
            &shop(),
            DOMAIN,
            Some(&guests()),
            route,
            topic,
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
            DOMAIN,
            Some(&guests()),
            EventType::AddressChanged,
            "customers/update",
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
                customer: CustomerId::parse("7390412345678").unwrap(),
                orders: vec![OrderId::parse("5912345678901").unwrap()],
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
            DOMAIN,
            Some(&guests()),
            EventType::OrderPlaced,
            "orders/create",
            None,
            order.to_string().as_bytes(),
        )
        .unwrap_err();
        assert_eq!(err.field, "total_price");
        order["total_price"] = serde_json::json!("63.31");
        order["line_items"][1]["quantity"] = serde_json::json!(0);
        let err = map(
            &shop(),
            DOMAIN,
            Some(&guests()),
            EventType::OrderPlaced,
            "orders/create",
            None,
            order.to_string().as_bytes(),
        )
        .unwrap_err();
        assert_eq!(err.field, "line_items[1].quantity");
    }

    #[test]
    fn a_line_items_product_type_is_its_category_when_the_payload_carries_one() {
        let placed = |body: &[u8]| {
            let event = map(
                &shop(),
                DOMAIN,
                Some(&guests()),
                EventType::OrderPlaced,
                "orders/create",
                None,
                body,
            )
            .unwrap();
            let Inbound::Apply { event, .. } = event else {
                panic!("an order to apply")
            };
            let crate::domain::EventKind::OrderPlaced(order) = event.kind else {
                panic!("an order placed")
            };
            order
        };
        let order = placed(&edited("orders-create.json", |v| {
            v["line_items"][0]["product_type"] = "Koffiebonen".into();
            v["line_items"][1]["product_type"] = "bad\u{202E}type".into();
        }));
        assert_eq!(order.lines[0].category.as_deref(), Some("Koffiebonen"));
        assert_eq!(order.lines[1].category, None, "unusable: left out");
        let order = placed(&fixture("orders-create.json"));
        assert!(order.lines.iter().all(|l| l.category.is_none()));
    }

    fn refused(route: EventType, topic: &str, body: &[u8]) -> String {
        map(&shop(), DOMAIN, Some(&guests()), route, topic, None, body)
            .expect_err(topic)
            .field
    }
    fn edited(name: &str, edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
        let mut value: serde_json::Value = serde_json::from_slice(&fixture(name)).unwrap();
        edit(&mut value);
        value.to_string().into_bytes()
    }

    #[test]
    fn bodies_must_fit_their_topic() {
        let address = EventType::AddressChanged;
        let order = fixture("orders-create.json");
        assert_eq!(
            refused(address, "customers/redact", &order),
            "shop_domain",
            "an order body posted as a redact erases nothing"
        );
        let other_shop = edited("customers-redact.json", |v| {
            v["shop_domain"] = "someone-else.myshopify.com".into()
        });
        assert_eq!(
            refused(address, "customers/redact", &other_shop),
            "shop_domain"
        );
        let no_orders = edited("customers-redact.json", |v| {
            v.as_object_mut().unwrap().remove("orders_to_redact");
        });
        assert_eq!(
            refused(address, "customers/redact", &no_orders),
            "orders_to_redact"
        );
        assert_eq!(
            refused(address, "customers/update", &order),
            "admin_graphql_api_id"
        );
        let bare_order = edited("orders-create.json", |v| {
            v.as_object_mut().unwrap().remove("admin_graphql_api_id");
        });
        assert_eq!(
            refused(address, "customers/update", &bare_order),
            "line_items"
        );
        assert_eq!(
            refused(address, "customers/data_request", &order),
            "shop_domain"
        );
        assert_eq!(refused(address, "shop/redact", &order), "shop_domain");
        assert_eq!(
            refused(address, "shop/redact", &fixture("customers-redact.json")),
            "customer"
        );
        assert_eq!(
            refused(
                EventType::OrderPlaced,
                "orders/create",
                &fixture("customers-update-moved.json")
            ),
            "admin_graphql_api_id"
        );
        assert_eq!(
            refused(
                EventType::OrderReturned,
                "refunds/create",
                &fixture("fulfillment-events-create-delivered.json")
            ),
            "admin_graphql_api_id"
        );
        let bare_customer = edited("customers-update-moved.json", |v| {
            v.as_object_mut().unwrap().remove("admin_graphql_api_id");
        });
        assert_eq!(
            refused(
                EventType::OrderDelivered,
                "fulfillments/update",
                &bare_customer
            ),
            "order_id"
        );
        assert_eq!(
            refused(
                address,
                "customers_email_marketing_consent/update",
                &fixture("customers-update-moved.json")
            ),
            "customer_id"
        );
    }

    #[test]
    fn events_are_keyed_by_the_bodys_own_ids() {
        let (refund, _) = applied(
            EventType::OrderReturned,
            "refunds/create",
            "refunds-create-partial.json",
        );
        assert_eq!(refund.id.as_str(), "shopify:refund:9600000000001");
        assert!(
            matches!(&refund.kind, EventKind::OrderReturned { facts, .. } if facts.event_id == refund.id),
            "the refund is counted once on the order, whatever the header said"
        );
        let (order, _) = applied(
            EventType::OrderPlaced,
            "orders/create",
            "orders-create.json",
        );
        let updated = ts("2026-11-02T09:14:06+01:00").as_second();
        assert_eq!(
            order.id.as_str(),
            format!("shopify:order:5912345678901:{updated}")
        );
        let (delivered, _) = applied(
            EventType::OrderDelivered,
            "fulfillment_events/create",
            "fulfillment-events-create-delivered.json",
        );
        assert_eq!(
            delivered.id.as_str(),
            "shopify:fulfillment_event:6100000000003"
        );
        let (customer, _) = applied(
            EventType::AddressChanged,
            "customers/update",
            "customers-update-moved.json",
        );
        assert!(
            customer
                .id
                .as_str()
                .starts_with("shopify:customer:7390412345678:")
        );
    }

    #[test]
    fn an_old_body_cannot_pass_for_new_with_a_fresh_header() {
        let event = |triggered: &str| match map(
            &shop(),
            DOMAIN,
            Some(&guests()),
            EventType::AddressChanged,
            "customers/update",
            Some(ts(triggered)),
            &fixture("customers-update-same-address.json"),
        )
        .unwrap()
        {
            Inbound::Apply { event, .. } => event,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            event("2026-11-28T00:00:00Z").occurred_at,
            ts("2026-11-10T12:00:00+01:00"),
            "the signed updated_at, not the unsigned header"
        );
        let (placed, _) = applied(
            EventType::OrderPlaced,
            "orders/create",
            "orders-create.json",
        );
        assert_eq!(placed.occurred_at, ts("2026-11-02T09:14:03+01:00"));
    }

    #[test]
    fn extreme_values_are_refused_by_field_not_a_crash() {
        let placed = EventType::OrderPlaced;
        let huge = edited("orders-create.json", |v| {
            v["line_items"][0]["price"] = "999999999999.9999".into();
            v["line_items"][0]["quantity"] = 100_000.into();
        });
        assert_eq!(
            refused(placed, "orders/create", &huge),
            "line_items[0].quantity"
        );
        let far = edited("orders-create.json", |v| {
            v["processed_at"] = "9999-12-30T00:00:00Z".into()
        });
        assert_eq!(refused(placed, "orders/create", &far), "processed_at");
        let long_id = "7".repeat(129);
        let long = edited("orders-create.json", |v| v["id"] = long_id.clone().into());
        assert_eq!(refused(placed, "orders/create", &long), "id");
        let long_refund = edited("refunds-create-partial.json", |v| {
            v["id"] = "9".repeat(120).into()
        });
        let Inbound::Apply { event, .. } = map(
            &shop(),
            DOMAIN,
            Some(&guests()),
            EventType::OrderReturned,
            "refunds/create",
            None,
            &long_refund,
        )
        .unwrap() else {
            panic!()
        };
        assert!(event.id.as_str().chars().count() <= 128);
    }

    fn guests() -> GuestIds {
        GuestIds::new("test-guest-secret")
    }

    #[test]
    fn a_body_triggered_more_than_a_day_ago_is_stale() {
        let now: Timestamp = "2026-11-29T12:00:00Z".parse().unwrap();
        let ago = |hours: i64| Some(now - jiff::SignedDuration::from_hours(hours));
        assert!(!is_stale(None, now));
        assert!(!is_stale(ago(23), now));
        assert!(!is_stale(ago(24), now));
        assert!(is_stale(ago(25), now));
        assert!(!is_stale(
            Some(now + jiff::SignedDuration::from_hours(1)),
            now
        ));
    }
}
