//! `GET /admin/messages?from=&to=&shop=&kind=&class=&status=&customer=&email=&format=`,
//! parsed once; a bad value is a 400 naming the parameter.

use crate::domain::{CustomerId, MessageClass, ShopId};
use jiff::civil::Date;

/// Statuses as the product names them everywhere (lowercase), for the status filter.
pub const STATUSES: [&str; 15] = [
    "pending",
    "sending",
    "unknown",
    "sent",
    "skipped",
    "deferred",
    "failed",
    "held_out",
    "delivered",
    "delivery_delayed",
    "bounced",
    "complained",
    "opened",
    "clicked",
    "rejected",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Html,
    Csv,
    Json,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageFilter {
    pub shop: ShopId,
    /// Inclusive days in the shop's time zone.
    pub from: Date,
    pub to: Date,
    pub kind: Option<String>,
    pub class: Option<MessageClass>,
    pub status: Option<String>,
    pub customer: Option<CustomerId>,
    pub email: Option<String>,
    /// Show addresses in clear (otherwise masked).
    pub reveal: bool,
    pub format: Format,
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct QueryError {
    pub field: &'static str,
    pub message: String,
}

fn bad(field: &'static str, message: impl Into<String>) -> QueryError {
    QueryError {
        field,
        message: message.into(),
    }
}

/// The `format` parameter of a page that also answers as a download.
pub fn format_of(value: Option<&str>) -> Result<Format, QueryError> {
    match value {
        None | Some("html") => Ok(Format::Html),
        Some("csv") => Ok(Format::Csv),
        Some("json") => Ok(Format::Json),
        Some(_) => Err(bad("format", "must be html, csv or json")),
    }
}

/// The longest period one request may cover.
pub const MAX_DAYS: i64 = 366;

/// How many years back a period may start. The overview keeps a summary of every past day it
/// counts and adds the outstanding points up from the first one kept, so a single request for
/// a long-gone year would make every later overview read (and at first count) every day since.
pub const MAX_YEARS_BACK: i16 = 5;

/// The period a page covers, inclusive days in the shop's time zone: `to` defaults to `today`,
/// `from` to `default_from(to)`, but not before [`MAX_YEARS_BACK`] years before `today`; `from`
/// may not be after `to`, nor more than [`MAX_DAYS`] before it, nor more than
/// [`MAX_YEARS_BACK`] years before `today` (nor `to`, when `from` is left to its default).
pub fn period(
    from: Option<String>,
    to: Option<String>,
    today: Date,
    default_from: impl FnOnce(Date) -> Date,
) -> Result<(Date, Date), QueryError> {
    let date = |field: &'static str, text: String| {
        text.parse::<Date>()
            .map_err(|_| bad(field, "must be a date such as 2026-11-02"))
    };
    let floor = today
        .checked_sub(jiff::Span::new().years(MAX_YEARS_BACK))
        .unwrap_or(Date::MIN);
    let too_old = |field| {
        bad(
            field,
            format!("may be at most {MAX_YEARS_BACK} years ago (from {floor})"),
        )
    };
    let to = to.map(|t| date("to", t)).transpose()?.unwrap_or(today);
    let from = match from {
        Some(text) => date("from", text)?,
        // Without a `from`, a `to` past the floor is the one to name; a `to` just after it
        // gets a default start no earlier than the floor.
        None if to < floor => return Err(too_old("to")),
        None => default_from(to).max(floor),
    };
    if from > to {
        return Err(bad("from", "must not be after to"));
    }
    if (to - from).get_days() > MAX_DAYS as i32 {
        return Err(bad(
            "from",
            format!("the period may span at most {MAX_DAYS} days"),
        ));
    }
    if from < floor {
        return Err(too_old("from"));
    }
    Ok((from, to))
}

/// The default start of the message list and the audit: 30 days before `to`.
pub fn thirty_days_before(to: Date) -> Date {
    to.checked_sub(jiff::Span::new().days(30)).unwrap_or(to)
}

impl MessageFilter {
    /// Parses the query string. `allowed_shops` are the shops this deployment shows (the first
    /// is the default); `today` is in the shop's time zone and is the default `to`, with
    /// `from` 30 days earlier.
    pub fn parse(
        query: &str,
        allowed_shops: &[ShopId],
        today: Date,
        known_kinds: &[&str],
    ) -> Result<MessageFilter, QueryError> {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.trim().to_owned()))
            .collect();
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(k, v)| k == name && !v.is_empty())
                .map(|(_, v)| v.clone())
        };
        let shop = match get("shop") {
            None => allowed_shops
                .first()
                .cloned()
                .ok_or_else(|| bad("shop", "no shop is configured for this view"))?,
            Some(text) => {
                let shop = ShopId::parse(&text).map_err(|e| bad("shop", e.to_string()))?;
                if !allowed_shops.contains(&shop) {
                    return Err(bad("shop", "is not a shop of this view"));
                }
                shop
            }
        };
        let (from, to) = period(get("from"), get("to"), today, thirty_days_before)?;
        let kind = get("kind");
        if let Some(kind) = &kind
            && !known_kinds.contains(&kind.as_str())
        {
            return Err(bad(
                "kind",
                format!("must be one of {}", known_kinds.join(", ")),
            ));
        }
        let class = match get("class").as_deref() {
            None => None,
            Some("transactional") => Some(MessageClass::Transactional),
            Some("service") => Some(MessageClass::Service),
            Some("promotional") => Some(MessageClass::Promotional),
            Some("internal") => Some(MessageClass::Internal),
            Some(_) => {
                return Err(bad(
                    "class",
                    "must be transactional, service, promotional or internal",
                ));
            }
        };
        let status = get("status").map(|s| s.to_lowercase());
        if let Some(status) = &status
            && !STATUSES.contains(&status.as_str())
        {
            return Err(bad(
                "status",
                format!("must be one of {}", STATUSES.join(", ")),
            ));
        }
        let customer = get("customer")
            .map(|c| CustomerId::parse(c).map_err(|e| bad("customer", e.to_string())))
            .transpose()?;
        let email = get("email");
        if let Some(email) = &email
            && crate::domain::Email::parse(email).is_err()
        {
            return Err(bad("email", "is not an email address"));
        }
        let format = format_of(get("format").as_deref())?;
        // Another value is refused rather than read as "masked": the caller asked for something.
        let reveal = match get("reveal").as_deref() {
            None => false,
            Some("1" | "true" | "on") => true,
            Some(_) => return Err(bad("reveal", "must be 1")),
        };
        Ok(MessageFilter {
            shop,
            from,
            to,
            kind,
            class,
            status,
            customer,
            email,
            reveal,
            format,
            cursor: get("cursor"),
        })
    }

    /// The same filters as a query string (for links to the next page and the downloads).
    pub fn query(&self, format: Format, cursor: Option<&str>) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("shop", self.shop.as_str());
        q.append_pair("from", &self.from.to_string());
        q.append_pair("to", &self.to.to_string());
        if let Some(kind) = &self.kind {
            q.append_pair("kind", kind);
        }
        if let Some(class) = self.class {
            q.append_pair("class", class_word(class));
        }
        if let Some(status) = &self.status {
            q.append_pair("status", status);
        }
        if let Some(customer) = &self.customer {
            q.append_pair("customer", customer.as_str());
        }
        if let Some(email) = &self.email {
            q.append_pair("email", email);
        }
        if self.reveal {
            q.append_pair("reveal", "1");
        }
        match format {
            Format::Html => {}
            Format::Csv => {
                q.append_pair("format", "csv");
            }
            Format::Json => {
                q.append_pair("format", "json");
            }
        }
        if let Some(cursor) = cursor {
            q.append_pair("cursor", cursor);
        }
        q.finish()
    }
}

pub fn class_word(class: MessageClass) -> &'static str {
    match class {
        MessageClass::Internal => "internal",
        MessageClass::Transactional => "transactional",
        MessageClass::Service => "service",
        MessageClass::Promotional => "promotional",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shops() -> Vec<ShopId> {
        vec![ShopId::parse("demo").unwrap()]
    }
    fn today() -> Date {
        "2026-11-23".parse().unwrap()
    }
    const KINDS: [&str; 2] = ["survey", "care-tip"];

    #[test]
    fn defaults_are_the_last_thirty_days_of_the_first_shop() {
        let f = MessageFilter::parse("", &shops(), today(), &KINDS).unwrap();
        assert_eq!(
            (f.from.to_string(), f.to.to_string()),
            ("2026-10-24".into(), "2026-11-23".into())
        );
        assert_eq!(f.shop.as_str(), "demo");
        assert_eq!(f.format, Format::Html);
    }

    #[test]
    fn bad_values_name_their_parameter() {
        let field = |q: &str| {
            MessageFilter::parse(q, &shops(), today(), &KINDS)
                .unwrap_err()
                .field
        };
        assert_eq!(field("from=yesterday"), "from");
        assert_eq!(field("from=2026-11-10&to=2026-11-01"), "from");
        assert_eq!(field("from=2024-01-01&to=2026-01-01"), "from");
        assert_eq!(field("shop=other"), "shop");
        assert_eq!(field("kind=spam"), "kind");
        assert_eq!(field("class=loud"), "class");
        assert_eq!(field("status=lost"), "status");
        assert_eq!(field("email=not-an-address"), "email");
        assert_eq!(field("format=xml"), "format");
        assert_eq!(field("reveal=yes"), "reveal");
    }

    /// Found by fuzzing the overview: one request for a period in 1970 kept a summary for each
    /// of its days, and every later overview added the outstanding points up from 1970.
    #[test]
    fn a_period_starts_at_most_five_years_back() {
        let first_of_month = |to: Date| to.first_of_month();
        let of = |from: &str, to: &str| {
            period(Some(from.into()), Some(to.into()), today(), first_of_month)
        };
        assert!(of("2021-11-23", "2022-01-01").is_ok());
        let err = of("2021-11-22", "2022-01-01").unwrap_err();
        assert_eq!(err.field, "from");
        assert!(err.message.contains("2021-11-23"), "{}", err.message);
        assert_eq!(of("1970-01-01", "1970-12-31").unwrap_err().field, "from");
        // Without a `from`, a long-gone `to` is the field named: the user did not give the
        // start the rule refuses.
        let gone = period(None, Some("1970-06-30".into()), today(), first_of_month);
        assert_eq!(gone.unwrap_err().field, "to");
        // A `to` just after the floor: the default start (the first of its month, here) is
        // moved up to the floor, not refused.
        let near = period(None, Some("2021-11-30".into()), today(), first_of_month).unwrap();
        assert_eq!(
            near,
            ("2021-11-23".parse().unwrap(), "2021-11-30".parse().unwrap())
        );
    }

    /// The filter form sends every field, so an empty one means "no filter", also for dates.
    #[test]
    fn empty_parameters_count_as_absent() {
        let all_empty =
            "from=&to=&shop=&kind=&class=&status=&customer=&email=&reveal=&format=&cursor=";
        let f = MessageFilter::parse(all_empty, &shops(), today(), &KINDS).unwrap();
        assert_eq!(
            f,
            MessageFilter::parse("", &shops(), today(), &KINDS).unwrap()
        );
    }

    #[test]
    fn the_query_round_trips() {
        let q = "shop=demo&from=2026-11-01&to=2026-11-20&kind=survey&class=service&status=bounced&customer=cus-1&email=anna%40example.nl&reveal=1";
        let f = MessageFilter::parse(q, &shops(), today(), &KINDS).unwrap();
        let again = MessageFilter::parse(
            &f.query(Format::Csv, Some("abc")),
            &shops(),
            today(),
            &KINDS,
        )
        .unwrap();
        assert_eq!(again.format, Format::Csv);
        assert_eq!(again.cursor.as_deref(), Some("abc"));
        assert_eq!(
            MessageFilter {
                format: Format::Html,
                cursor: None,
                ..again
            },
            f
        );
    }
}
