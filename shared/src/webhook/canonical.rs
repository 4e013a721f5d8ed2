//! The canonical JSON body (`shared/contracts/canonical-events.schema.json`) into a
//! [`ShopEvent`]. Every refusal names the field path, e.g. `order.lines[1].quantity`.

use crate::domain::{
    Amount, Contract, Currency, CustomerFacts, CustomerId, Email, EventId, EventKind, EventType,
    IdError, Locale, ObservedAddress, OrderId, OrderLine, PlacedOrder, ReturnFacts, ReturnScope,
    ReturnedLine, ShopEvent, ShopId, Sku, Timestamp, check_text,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// A body that is not a valid canonical event for its route.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct PayloadError {
    /// Dotted path of the offending field; `body` for the body as a whole.
    pub field: String,
    pub message: String,
}

impl PayloadError {
    pub(crate) fn new(field: impl Into<String>, message: impl ToString) -> Self {
        Self {
            field: field.into(),
            message: message.to_string(),
        }
    }
}

/// Parses and checks a canonical body for `route`. The address is fingerprinted here, so
/// street lines go no further than this function.
pub fn parse_canonical(
    shop: &ShopId,
    route: EventType,
    event_id: EventId,
    body: &[u8],
) -> Result<ShopEvent, PayloadError> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        PayloadError::new(
            "body",
            format!(
                "is not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            ),
        )
    })?;
    if !value.is_object() {
        return Err(PayloadError::new("body", "must be a JSON object"));
    }
    if let Some(field) = super::duplicate_keys::first_repeated_key(body) {
        return Err(PayloadError::new(field, "is given twice in its object"));
    }
    let kind = value
        .get("type")
        .ok_or_else(|| PayloadError::new("type", "is required"))?
        .as_str()
        .ok_or_else(|| PayloadError::new("type", "must be a string"))?;
    if kind != route.wire_name() {
        return Err(PayloadError::new(
            "type",
            format!("is {kind:?} but this route accepts {:?}", route.wire_name()),
        ));
    }
    match route {
        EventType::OrderPlaced => {
            let raw: RawPlaced = typed(value)?;
            let occurred_at = timestamp("occurred_at", &raw.occurred_at)?;
            let currency = Currency::parse(&raw.order.currency)
                .map_err(|e| PayloadError::new("order.currency", e))?;
            let total = money("order.total", &raw.order.total, currency)?;
            if raw.order.lines.is_empty() || raw.order.lines.len() > 500 {
                return Err(PayloadError::new("order.lines", "must hold 1 to 500 lines"));
            }
            let lines = raw
                .order
                .lines
                .into_iter()
                .enumerate()
                .map(|(i, l)| order_line(&format!("order.lines[{i}]"), l, currency))
                .collect::<Result<Vec<_>, _>>()?;
            let discount_codes = discount_codes(raw.order.discount_codes.unwrap_or_default())?;
            let order = PlacedOrder {
                id: id("order.id", raw.order.id, OrderId::parse)?,
                placed_at: timestamp("order.placed_at", &raw.order.placed_at)?,
                discount_codes,
                total,
                lines,
            };
            let customer = customer(shop, raw.customer)?;
            if customer.email.is_none() {
                return Err(PayloadError::new(
                    "customer.email",
                    "is required for order.placed",
                ));
            }
            Ok(ShopEvent {
                id: event_id,
                source: route.wire_name().to_owned(),
                occurred_at,
                customer,
                kind: EventKind::OrderPlaced(order),
            })
        }
        EventType::OrderDelivered => {
            let raw: RawDelivered = typed(value)?;
            let occurred_at = timestamp("occurred_at", &raw.occurred_at)?;
            let order_id = id("order.id", raw.order.id, OrderId::parse)?;
            let delivered_at = timestamp("order.delivered_at", &raw.order.delivered_at)?;
            let customer = customer(shop, raw.customer)?;
            Ok(ShopEvent {
                id: event_id,
                source: route.wire_name().to_owned(),
                occurred_at,
                customer,
                kind: EventKind::OrderDelivered {
                    order_id,
                    delivered_at,
                },
            })
        }
        EventType::OrderReturned => {
            let raw: RawReturned = typed(value)?;
            let occurred_at = timestamp("occurred_at", &raw.occurred_at)?;
            let order_id = id("order.id", raw.order.id, OrderId::parse)?;
            let returned_at = timestamp("order.returned_at", &raw.order.returned_at)?;
            let refund_total = raw
                .order
                .refund_total
                .map(|t| refund_total(&t))
                .transpose()?;
            let scope = match raw.order.lines {
                None => ReturnScope::Whole,
                Some(lines) if lines.is_empty() || lines.len() > 500 => {
                    return Err(PayloadError::new(
                        "order.lines",
                        "must hold 1 to 500 lines, or be left out for a whole return",
                    ));
                }
                Some(lines) => ReturnScope::Lines(
                    lines
                        .into_iter()
                        .enumerate()
                        .map(|(i, l)| {
                            let path = format!("order.lines[{i}]");
                            Ok(ReturnedLine {
                                sku: id(&format!("{path}.sku"), l.sku, Sku::parse)?,
                                quantity: quantity(&format!("{path}.quantity"), l.quantity)?,
                            })
                        })
                        .collect::<Result<Vec<_>, PayloadError>>()?,
                ),
            };
            let reason = bounded("order.reason", raw.order.reason, 512)?;
            let customer = customer(shop, raw.customer)?;
            let facts = ReturnFacts {
                event_id: event_id.clone(),
                returned_at,
                refund_total,
                scope,
                reason,
            };
            Ok(ShopEvent {
                id: event_id,
                source: route.wire_name().to_owned(),
                occurred_at,
                customer,
                kind: EventKind::OrderReturned { order_id, facts },
            })
        }
        EventType::Timer | EventType::CustomerAnswer => {
            Err(PayloadError::new("type", "is not a webhook event"))
        }
        EventType::ProductChanged => Err(PayloadError::new(
            "type",
            "is not an event about a customer",
        )),
        EventType::AddressChanged => {
            let raw: RawAddressChanged = typed(value)?;
            let occurred_at = timestamp("occurred_at", &raw.occurred_at)?;
            let customer = customer(shop, raw.customer)?;
            if customer.address.is_none() {
                return Err(PayloadError::new(
                    "customer.address",
                    "is required for customer.address_changed",
                ));
            }
            Ok(ShopEvent {
                id: event_id,
                source: route.wire_name().to_owned(),
                occurred_at,
                customer,
                kind: EventKind::AddressChanged,
            })
        }
    }
}

/// Deserialises with the failing path kept; "missing field `x`" at `order` becomes `order.x`.
pub(crate) fn typed<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, PayloadError> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner().to_string();
        let prefix = if path == "." {
            String::new()
        } else {
            format!("{path}.")
        };
        if let Some(name) = inner
            .strip_prefix("missing field `")
            .and_then(|r| r.split('`').next())
        {
            return PayloadError::new(format!("{prefix}{name}"), "is required");
        }
        // serde's messages may quote the offending value; keep only the expectation.
        let message = match inner.split_once(", expected ") {
            Some((_, expected)) => format!("must be {expected}"),
            None => inner,
        };
        PayloadError::new(if path == "." { "body".to_owned() } else { path }, message)
    })
}

pub(crate) fn timestamp(field: &str, text: &str) -> Result<Timestamp, PayloadError> {
    let t = text.parse::<Timestamp>().map_err(|_| {
        PayloadError::new(
            field,
            "must be an RFC 3339 time with offset, like 2026-11-02T09:14:07+01:00",
        )
    })?;
    in_event_range(field, t)
}

/// Event times lie between 1900 and 2200. The domain adds return windows, tips and run-out
/// dates to them; inside this range that arithmetic always fits (a time like year 9999 would
/// overflow it), and no real shop event lies outside it.
pub(crate) fn in_event_range(field: &str, t: Timestamp) -> Result<Timestamp, PayloadError> {
    const EARLIEST: i64 = -2_208_988_800; // 1900-01-01T00:00:00Z
    const LATEST: i64 = 7_258_118_400; // 2200-01-01T00:00:00Z
    if (EARLIEST..LATEST).contains(&t.as_second()) {
        Ok(t)
    } else {
        Err(PayloadError::new(
            field,
            "must lie between the years 1900 and 2200",
        ))
    }
}

fn money(
    field: &str,
    text: &str,
    currency: Currency,
) -> Result<crate::domain::Money, PayloadError> {
    let money = Amount::parse(text)
        .and_then(|a| a.in_currency(currency))
        .map_err(|e| PayloadError::new(field, e))?;
    if money.minor < 0 {
        return Err(PayloadError::new(field, "must not be negative"));
    }
    Ok(money)
}

/// A refund is money paid back: a negative one would add to what the customer spent.
fn refund_total(text: &str) -> Result<Amount, PayloadError> {
    let field = "order.refund_total";
    let amount = Amount::parse(text).map_err(|e| PayloadError::new(field, e))?;
    if amount.ten_thousandths < 0 {
        return Err(PayloadError::new(field, "must not be negative"));
    }
    Ok(amount)
}

fn id<T>(
    field: &str,
    value: String,
    parse: fn(String) -> Result<T, IdError>,
) -> Result<T, PayloadError> {
    parse(value).map_err(|e| PayloadError::new(field, e))
}

/// Free text (names, street lines, reasons): at most `max` characters, and none that are
/// control or bidirectional formatting characters (they would reach emails and pages).
fn bounded(field: &str, value: Option<String>, max: usize) -> Result<Option<String>, PayloadError> {
    match value {
        Some(v) if v.chars().count() > max => Err(PayloadError::new(
            field,
            format!("must be at most {max} characters"),
        )),
        Some(v) => {
            check_text(&v).map_err(|e| PayloadError::new(field, e))?;
            Ok(Some(v))
        }
        None => Ok(None),
    }
}

/// Quantities of a line: 1 to 100000 (the canonical schema's range, used for every platform).
pub(crate) fn quantity(field: &str, q: u64) -> Result<u32, PayloadError> {
    if !(1..=100_000).contains(&q) {
        return Err(PayloadError::new(field, "must be between 1 and 100000"));
    }
    Ok(q as u32)
}

fn order_line(path: &str, raw: RawLine, currency: Currency) -> Result<OrderLine, PayloadError> {
    let replenish_after_days = match raw.replenish_after_days {
        None => None,
        Some(d @ 1..=3650) => Some(d as u16),
        Some(_) => {
            return Err(PayloadError::new(
                format!("{path}.replenish_after_days"),
                "must be between 1 and 3650",
            ));
        }
    };
    Ok(OrderLine {
        sku: id(&format!("{path}.sku"), raw.sku, Sku::parse)?,
        name: bounded(&format!("{path}.name"), raw.name, 256)?,
        category: bounded(&format!("{path}.category"), raw.category, 128)?,
        quantity: quantity(&format!("{path}.quantity"), raw.quantity)?,
        unit_price: raw
            .unit_price
            .map(|p| money(&format!("{path}.unit_price"), &p, currency))
            .transpose()?,
        replenish_after_days,
        contract: raw
            .contract
            .map(|c| contract(&format!("{path}.contract"), c))
            .transpose()?,
    })
}

/// The longest renewal link accepted (the canonical schema's `maxLength`).
const MAX_RENEWAL_URL: usize = 512;

/// A contract sold with a line: when it ends and an https link where the customer renews
/// (printable ASCII without spaces: it goes into emails as is).
fn contract(path: &str, raw: RawContract) -> Result<Contract, PayloadError> {
    let ends_at = timestamp(&format!("{path}.ends_at"), &raw.ends_at)?;
    let url = raw.renewal_url;
    let well_formed = url
        .strip_prefix("https://")
        .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_graphic()));
    if !well_formed || url.len() > MAX_RENEWAL_URL {
        return Err(PayloadError::new(
            format!("{path}.renewal_url"),
            format!(
                "must be an https URL of printable characters without spaces, at most {MAX_RENEWAL_URL} long"
            ),
        ));
    }
    Ok(Contract {
        ends_at,
        renewal_url: url,
    })
}

fn customer(shop: &ShopId, raw: RawCustomer) -> Result<CustomerFacts, PayloadError> {
    let address = match raw.address {
        None => None,
        Some(a) => {
            let country_ok =
                a.country.len() == 2 && a.country.bytes().all(|b| b.is_ascii_uppercase());
            if !country_ok {
                return Err(PayloadError::new(
                    "customer.address.country",
                    "must be a two-letter ISO 3166 code like NL",
                ));
            }
            let postal_code = bounded("customer.address.postal_code", Some(a.postal_code), 32)?
                .unwrap_or_default();
            let line1 = bounded("customer.address.line1", a.line1, 256)?;
            let line2 = bounded("customer.address.line2", a.line2, 256)?;
            let city = bounded("customer.address.city", a.city, 128)?;
            Some(ObservedAddress::from_parts(
                shop,
                line1.as_deref(),
                line2.as_deref(),
                &postal_code,
                city.as_deref(),
                &a.country,
            ))
        }
    };
    Ok(CustomerFacts {
        id: id("customer.id", raw.id, CustomerId::parse)?,
        email: raw
            .email
            .map(|e| id("customer.email", e, Email::parse))
            .transpose()?,
        first_name: bounded("customer.first_name", raw.first_name, 128)?,
        locale: raw
            .locale
            .map(|l| id("customer.locale", l, Locale::parse))
            .transpose()?,
        marketing_consent: raw.marketing_consent,
        address,
        birthday: raw
            .birthday
            .map(|b| {
                crate::domain::loyalty_rules::parse_birthday(&b).ok_or_else(|| {
                    PayloadError::new(
                        "customer.birthday",
                        "must be a day of the year as MM-DD, e.g. 04-23",
                    )
                })
            })
            .transpose()?,
    })
}

/// An optional member that, when sent, has its own type: `null` is refused like any other wrong
/// type (leave the member out instead), as the canonical schema says.
pub(crate) fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// A JSON Schema integer: a number without a fractional part, however it is written (`3`,
/// `3.0` and `3e0` are the same integer).
fn whole_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    let number = serde_json::Number::deserialize(deserializer)?;
    number
        .as_u64()
        .or_else(|| {
            number
                .as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < u64::MAX as f64)
                .map(|f| f as u64)
        })
        .ok_or_else(|| serde::de::Error::custom("invalid value, expected a whole number"))
}

fn present_whole_number<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u64>, D::Error> {
    whole_number(deserializer).map(Some)
}

#[derive(Deserialize)]
struct RawCustomer {
    id: String,
    #[serde(default, deserialize_with = "present")]
    email: Option<String>,
    #[serde(default, deserialize_with = "present")]
    first_name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    locale: Option<String>,
    #[serde(default, deserialize_with = "present")]
    marketing_consent: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    address: Option<RawAddress>,
    #[serde(default, deserialize_with = "present")]
    birthday: Option<String>,
}

#[derive(Deserialize)]
struct RawAddress {
    #[serde(default, deserialize_with = "present")]
    line1: Option<String>,
    #[serde(default, deserialize_with = "present")]
    line2: Option<String>,
    postal_code: String,
    #[serde(default, deserialize_with = "present")]
    city: Option<String>,
    country: String,
}

#[derive(Deserialize)]
struct RawLine {
    sku: String,
    #[serde(default, deserialize_with = "present")]
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    category: Option<String>,
    #[serde(deserialize_with = "whole_number")]
    quantity: u64,
    #[serde(default, deserialize_with = "present")]
    unit_price: Option<String>,
    #[serde(default, deserialize_with = "present_whole_number")]
    replenish_after_days: Option<u64>,
    #[serde(default, deserialize_with = "present")]
    contract: Option<RawContract>,
}

#[derive(Deserialize)]
struct RawContract {
    ends_at: String,
    renewal_url: String,
}

#[derive(Deserialize)]
struct RawPlaced {
    occurred_at: String,
    order: RawPlacedOrder,
    customer: RawCustomer,
}

#[derive(Deserialize)]
struct RawPlacedOrder {
    id: String,
    placed_at: String,
    currency: String,
    total: String,
    lines: Vec<RawLine>,
    #[serde(default, deserialize_with = "present")]
    discount_codes: Option<Vec<String>>,
}

/// `order.discount_codes`: at most 50 strings of 1 to 255 characters without control
/// characters. A code in a form no pool can hold is kept out (it cannot match a redemption).
fn discount_codes(raw: Vec<String>) -> Result<Vec<String>, PayloadError> {
    if raw.len() > 50 {
        return Err(PayloadError::new(
            "order.discount_codes",
            "must hold at most 50 codes",
        ));
    }
    let mut codes = Vec::new();
    for (i, code) in raw.iter().enumerate() {
        if code.is_empty() || code.chars().count() > 255 || code.chars().any(char::is_control) {
            return Err(PayloadError::new(
                format!("order.discount_codes[{i}]"),
                "must be 1 to 255 characters without control characters",
            ));
        }
        if let Some(key) = crate::domain::code_key(code)
            && !codes.contains(&key)
        {
            codes.push(key);
        }
    }
    Ok(codes)
}

#[derive(Deserialize)]
struct RawDelivered {
    occurred_at: String,
    order: RawDeliveredOrder,
    customer: RawCustomer,
}

#[derive(Deserialize)]
struct RawDeliveredOrder {
    id: String,
    delivered_at: String,
}

#[derive(Deserialize)]
struct RawReturned {
    occurred_at: String,
    order: RawReturnedOrder,
    customer: RawCustomer,
}

#[derive(Deserialize)]
struct RawReturnedOrder {
    id: String,
    returned_at: String,
    #[serde(default, deserialize_with = "present")]
    refund_total: Option<String>,
    #[serde(default, deserialize_with = "present")]
    lines: Option<Vec<RawReturnedLine>>,
    #[serde(default, deserialize_with = "present")]
    reason: Option<String>,
}

#[derive(Deserialize)]
struct RawReturnedLine {
    sku: String,
    #[serde(deserialize_with = "whole_number")]
    quantity: u64,
}

#[derive(Deserialize)]
struct RawAddressChanged {
    occurred_at: String,
    customer: RawCustomer,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn shop() -> ShopId {
        ShopId::parse("demo").unwrap()
    }
    fn example(name: &str) -> Value {
        let path = format!(
            "{}/contracts/examples/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }
    fn parse(route: EventType, body: &Value) -> Result<ShopEvent, PayloadError> {
        parse_canonical(
            &shop(),
            route,
            EventId::parse("evt-1").unwrap(),
            body.to_string().as_bytes(),
        )
    }
    fn field_of(route: EventType, body: &Value) -> String {
        parse(route, body).unwrap_err().field
    }

    #[test]
    fn every_contract_example_parses_on_its_route() {
        for route in EventType::ALL {
            let event = parse(route, &example(route.route())).unwrap();
            assert_eq!(event.event_type(), route);
            assert_eq!(event.customer.id.as_str(), "cus-8812");
        }
        let placed = parse(EventType::OrderPlaced, &example("order-placed")).unwrap();
        let EventKind::OrderPlaced(order) = placed.kind else {
            panic!()
        };
        assert_eq!(order.total.minor, 6485);
        assert_eq!(order.lines[0].replenish_after_days, Some(90));
        assert_eq!(order.lines[1].unit_price.unwrap().minor, 5300);
    }

    /// The canonical schema types every optional member: `null` is a wrong type, refused with
    /// the member's path, never taken for "absent".
    #[test]
    fn null_in_an_optional_member_is_refused_naming_it() {
        for (route, pointer, field) in [
            (
                EventType::OrderPlaced,
                "/customer/address/city",
                "customer.address.city",
            ),
            (
                EventType::OrderPlaced,
                "/customer/first_name",
                "customer.first_name",
            ),
            (
                EventType::OrderPlaced,
                "/customer/marketing_consent",
                "customer.marketing_consent",
            ),
            (
                EventType::OrderPlaced,
                "/order/lines/0/replenish_after_days",
                "order.lines[0].replenish_after_days",
            ),
            (EventType::OrderReturned, "/order/reason", "order.reason"),
            (
                EventType::AddressChanged,
                "/customer/address/line1",
                "customer.address.line1",
            ),
        ] {
            let mut b = example(route.route());
            *b.pointer_mut(pointer).unwrap() = Value::Null;
            let err = parse(route, &b).unwrap_err();
            assert_eq!(err.field, field, "{pointer}: {err:?}");
        }
    }

    #[test]
    fn a_birthday_is_month_and_day_and_anything_else_is_refused_naming_it() {
        let mut b = example("order-placed");
        b["customer"]["birthday"] = json!("02-29");
        let event = parse(EventType::OrderPlaced, &b).unwrap();
        assert_eq!(event.customer.birthday, Some((2, 29)));
        for wrong in [
            json!("02-30"),
            json!("1990-04-23"),
            json!("4-23"),
            json!(423),
            json!(null),
        ] {
            b["customer"]["birthday"] = wrong.clone();
            assert_eq!(
                field_of(EventType::OrderPlaced, &b),
                "customer.birthday",
                "{wrong}"
            );
        }
    }

    #[test]
    fn a_line_may_carry_the_contract_it_sold_and_a_wrong_one_is_refused_naming_the_field() {
        let mut b = example("order-placed");
        b["order"]["lines"][1]["contract"] = json!({
            "ends_at": "2027-11-02T00:00:00+01:00",
            "renewal_url": "https://shop.example/renew?plan=1y"
        });
        let EventKind::OrderPlaced(order) = parse(EventType::OrderPlaced, &b).unwrap().kind else {
            panic!()
        };
        let contract = order.lines[1].contract.as_ref().unwrap();
        assert_eq!(contract.ends_at, "2027-11-01T23:00:00Z".parse().unwrap());
        assert_eq!(contract.renewal_url, "https://shop.example/renew?plan=1y");
        assert_eq!(order.lines[0].contract, None);
        for (member, wrong, field) in [
            (
                "ends_at",
                json!("next year"),
                "order.lines[1].contract.ends_at",
            ),
            ("ends_at", json!(null), "order.lines[1].contract.ends_at"),
            (
                "renewal_url",
                json!("http://shop.example/renew"),
                "order.lines[1].contract.renewal_url",
            ),
            (
                "renewal_url",
                json!("https://shop.example/re new"),
                "order.lines[1].contract.renewal_url",
            ),
            (
                "renewal_url",
                json!(format!("https://{}", "a".repeat(600))),
                "order.lines[1].contract.renewal_url",
            ),
            (
                "renewal_url",
                json!("https://"),
                "order.lines[1].contract.renewal_url",
            ),
        ] {
            let mut wrong_body = b.clone();
            wrong_body["order"]["lines"][1]["contract"][member] = wrong.clone();
            assert_eq!(
                field_of(EventType::OrderPlaced, &wrong_body),
                field,
                "{wrong}"
            );
        }
        let mut missing = b.clone();
        missing["order"]["lines"][1]["contract"]
            .as_object_mut()
            .unwrap()
            .remove("renewal_url");
        assert_eq!(
            field_of(EventType::OrderPlaced, &missing),
            "order.lines[1].contract.renewal_url"
        );
        b["order"]["lines"][1]["contract"] = json!(null);
        assert_eq!(
            field_of(EventType::OrderPlaced, &b),
            "order.lines[1].contract"
        );
    }

    /// A JSON Schema integer is a number without a fraction, however it is written.
    #[test]
    fn whole_numbers_may_be_written_with_a_zero_fraction() {
        let mut b = example("order-placed");
        b["order"]["lines"][0]["quantity"] = json!(3.0);
        b["order"]["lines"][0]["replenish_after_days"] = json!(90.0);
        let EventKind::OrderPlaced(order) = parse(EventType::OrderPlaced, &b).unwrap().kind else {
            panic!()
        };
        assert_eq!(order.lines[0].quantity, 3);
        assert_eq!(order.lines[0].replenish_after_days, Some(90));
        for wrong in [json!(1.5), json!(-1.0), json!(-1), json!("3"), json!(true)] {
            let mut b = example("order-placed");
            b["order"]["lines"][0]["quantity"] = wrong.clone();
            assert_eq!(
                field_of(EventType::OrderPlaced, &b),
                "order.lines[0].quantity",
                "{wrong}"
            );
        }
    }

    #[test]
    fn type_must_match_the_route() {
        let err = parse(EventType::OrderDelivered, &example("order-placed")).unwrap_err();
        assert_eq!(err.field, "type");
        assert!(err.message.contains("order.delivered"));
    }

    #[test]
    fn refusals_name_the_field() {
        let mut b = example("order-placed");
        b["order"]["total"] = json!("64,85");
        assert_eq!(field_of(EventType::OrderPlaced, &b), "order.total");
        let mut b = example("order-placed");
        b["order"]["lines"][1]["quantity"] = json!(0);
        assert_eq!(
            field_of(EventType::OrderPlaced, &b),
            "order.lines[1].quantity"
        );
        let mut b = example("order-placed");
        b["order"]["lines"][0]["quantity"] = json!("three");
        assert_eq!(
            field_of(EventType::OrderPlaced, &b),
            "order.lines[0].quantity"
        );
        let mut b = example("order-placed");
        b["order"].as_object_mut().unwrap().remove("total");
        assert_eq!(field_of(EventType::OrderPlaced, &b), "order.total");
        let mut b = example("order-placed");
        b["customer"]["email"] = json!("not-an-email");
        assert_eq!(field_of(EventType::OrderPlaced, &b), "customer.email");
        let mut b = example("order-placed");
        b["customer"].as_object_mut().unwrap().remove("email");
        assert_eq!(field_of(EventType::OrderPlaced, &b), "customer.email");
        let mut b = example("order-placed");
        b["order"]["currency"] = json!("euro");
        assert_eq!(field_of(EventType::OrderPlaced, &b), "order.currency");
        let mut b = example("order-placed");
        b["order"]["lines"] = json!([]);
        assert_eq!(field_of(EventType::OrderPlaced, &b), "order.lines");
        let mut b = example("order-placed");
        b["occurred_at"] = json!("2026-11-02 09:14");
        assert_eq!(field_of(EventType::OrderPlaced, &b), "occurred_at");
        let mut b = example("order-delivered");
        b["order"].as_object_mut().unwrap().remove("delivered_at");
        assert_eq!(
            field_of(EventType::OrderDelivered, &b),
            "order.delivered_at"
        );
        let mut b = example("order-returned");
        b["order"]["refund_total"] = json!("lots");
        assert_eq!(field_of(EventType::OrderReturned, &b), "order.refund_total");
        let mut b = example("address-changed");
        b["customer"].as_object_mut().unwrap().remove("address");
        assert_eq!(field_of(EventType::AddressChanged, &b), "customer.address");
        let mut b = example("address-changed");
        b["customer"]["address"]["country"] = json!("Nederland");
        assert_eq!(
            field_of(EventType::AddressChanged, &b),
            "customer.address.country"
        );
        assert_eq!(field_of(EventType::AddressChanged, &json!([1])), "body");
        let err = parse_canonical(
            &shop(),
            EventType::OrderPlaced,
            EventId::parse("e").unwrap(),
            b"{not json",
        )
        .unwrap_err();
        assert_eq!(err.field, "body");
    }

    #[test]
    fn refusal_messages_do_not_echo_personal_data() {
        let mut b = example("order-placed");
        b["customer"]["email"] = json!(12);
        let err = parse(EventType::OrderPlaced, &b).unwrap_err();
        assert_eq!(err.field, "customer.email");
        let mut b = example("order-placed");
        b["customer"]["address"]["postal_code"] = json!(["Prinsengracht 263"]);
        let err = parse(EventType::OrderPlaced, &b).unwrap_err();
        assert!(!err.message.contains("Prinsengracht"), "{}", err.message);
    }

    #[test]
    fn extra_properties_are_ignored() {
        let mut b = example("order-delivered");
        b["carrier"] = json!("PostNL");
        b["order"]["tracking"] = json!("3S123");
        assert!(parse(EventType::OrderDelivered, &b).is_ok());
    }
}
