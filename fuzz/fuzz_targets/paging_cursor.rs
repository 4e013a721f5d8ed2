//! The message list's cursor, as a browser sends it back: any text is a cursor of this shop's
//! list and period or nothing; one that is read names this shop and a day of the period, and
//! reads the same after writing it out again.
#![no_main]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use trouw::admin::cursor::{Cursor, KeyValue, Period};
use trouw::domain::ShopId;
use trouw::store::keys;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let shop = ShopId::parse("demo").expect("valid");
    let zone = jiff::tz::TimeZone::get("Europe/Amsterdam").expect("a known zone");
    let period = Period::of(
        &zone,
        "2026-11-01".parse().expect("valid"),
        "2026-11-30".parse().expect("valid"),
    );
    // Also as the decoded text itself, so that the JSON inside is fuzzed without base64 in the way.
    let wrapped = URL_SAFE_NO_PAD.encode(text);
    for text in [text, wrapped.as_str()] {
        let Some(cursor) = Cursor::decode(text, &shop, &period) else {
            continue;
        };
        assert!(cursor.day >= period.first_day && cursor.day <= period.last_day);
        if let Some(key) = &cursor.key {
            let Some(KeyValue::S(pk)) = key.get(keys::PK) else {
                panic!("a key without its partition");
            };
            let (key_shop, _) = keys::parse_customer_partition(pk).expect("a customer's partition");
            assert_eq!(key_shop, shop, "another shop's key");
            assert_eq!(
                key.get(keys::LOG_DAY),
                Some(&KeyValue::S(keys::log_day(&shop, cursor.day)))
            );
        }
        assert_eq!(
            Cursor::decode(&cursor.encode(), &shop, &period),
            Some(cursor.clone())
        );
    }
});
