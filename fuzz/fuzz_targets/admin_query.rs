//! The admin list's query string (`GET /admin/messages?...`): any query is a filter or a 400
//! naming a parameter; a filter written back as a query (the next-page and download links)
//! parses to the same filter; its period and cursor are read as the handler reads them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trouw::admin::cursor::{Cursor, Period};
use trouw::admin::filters::{Format, MessageFilter};
use trouw::domain::ShopId;

const KINDS: [&str; 4] = ["welcome", "loyalty-earned", "survey", "reactivation"];
const ZONES: [&str; 4] = [
    "Europe/Amsterdam",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "UTC",
];

fuzz_target!(|data: &[u8]| {
    let Some((&which, query)) = data.split_first() else {
        return;
    };
    let Ok(query) = std::str::from_utf8(query) else {
        return;
    };
    let shops = [
        ShopId::parse("demo").expect("valid"),
        ShopId::parse("de-winkel").expect("valid"),
    ];
    let today: jiff::civil::Date = match which % 3 {
        0 => "2026-11-29".parse().expect("valid"),
        1 => jiff::civil::Date::MIN,
        _ => jiff::civil::Date::MAX,
    };
    let filter = match MessageFilter::parse(query, &shops, today, &KINDS) {
        Ok(filter) => filter,
        Err(e) => {
            assert!(!e.field.is_empty() && !e.message.is_empty());
            return;
        }
    };
    assert!(shops.contains(&filter.shop));
    assert!(filter.from <= filter.to);
    for format in [Format::Html, Format::Csv, Format::Json] {
        let again = MessageFilter::parse(
            &filter.query(format, filter.cursor.as_deref()),
            &shops,
            today,
            &KINDS,
        )
        .expect("a filter's own query parses");
        assert_eq!(
            again,
            MessageFilter {
                format,
                ..filter.clone()
            }
        );
    }
    let zone =
        jiff::tz::TimeZone::get(ZONES[usize::from(which / 3) % ZONES.len()]).expect("a known zone");
    let period = Period::of(&zone, filter.from, filter.to);
    assert!(period.start <= period.end);
    if let Some(text) = &filter.cursor
        && let Some(cursor) = Cursor::decode(text, &filter.shop, &period)
    {
        assert_eq!(
            Cursor::decode(&cursor.encode(), &filter.shop, &period),
            Some(cursor)
        );
    }
});
