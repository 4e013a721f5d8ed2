//! Signed links: any text offered as a token of any kind is refused unless it is exactly the
//! token trouw made (no second spelling of a genuine token passes); genuine tokens of any valid
//! ids come back as they went out, and only for their own kind and key.
//! Input: one byte choosing what to do, then the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trouw::domain::{CustomerId, OrderId, ShopId};
use trouw::mail::LinkKey;

fuzz_target!(|data: &[u8]| {
    let key = LinkKey::new("fuzz-deployment-link-secret");
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    if mode % 2 == 0 {
        // Any text as a token of each kind.
        if let Some((shop, customer)) = key.verify_unsubscribe(&text) {
            assert_eq!(
                key.unsubscribe_token(&shop, &customer),
                text,
                "a second spelling"
            );
        }
        if let Some((shop, customer)) = key.verify_reactivation(&text) {
            assert_eq!(
                key.reactivation_token(&shop, &customer),
                text,
                "a second spelling"
            );
        }
        if let Some((shop, customer, order)) = key.verify_survey(&text) {
            assert_eq!(
                key.survey_token(&shop, &customer, &order),
                text,
                "a second spelling"
            );
        }
        return;
    }
    // Ids from the text (separated by 0x1f, the tokens' own separator, or anything else).
    let mut parts = text.splitn(3, '\n');
    let (Some(shop), Some(customer), Some(order)) = (parts.next(), parts.next(), parts.next())
    else {
        return;
    };
    let (Ok(shop), Ok(customer), Ok(order)) = (
        ShopId::parse(shop),
        CustomerId::parse(customer),
        OrderId::parse(order),
    ) else {
        return;
    };
    let unsubscribe = key.unsubscribe_token(&shop, &customer);
    let reactivation = key.reactivation_token(&shop, &customer);
    let survey = key.survey_token(&shop, &customer, &order);
    assert_eq!(
        key.verify_unsubscribe(&unsubscribe),
        Some((shop.clone(), customer.clone()))
    );
    assert_eq!(
        key.verify_reactivation(&reactivation),
        Some((shop.clone(), customer.clone()))
    );
    assert_eq!(
        key.verify_survey(&survey),
        Some((shop.clone(), customer.clone(), order.clone()))
    );
    // A token of one kind is no token of another.
    assert!(key.verify_reactivation(&unsubscribe).is_none());
    assert!(key.verify_survey(&unsubscribe).is_none());
    assert!(key.verify_unsubscribe(&reactivation).is_none());
    assert!(key.verify_unsubscribe(&survey).is_none());
    assert!(key.verify_reactivation(&survey).is_none());
    // Another deployment's key makes other tokens.
    let other = LinkKey::new("another-deployment-link-secret");
    assert!(other.verify_unsubscribe(&unsubscribe).is_none());
    // Any one character changed, dropped or added breaks it.
    let bytes = unsubscribe.as_bytes();
    let at = usize::from(mode) % bytes.len();
    let mut changed = bytes.to_vec();
    changed[at] = if changed[at] == b'A' { b'B' } else { b'A' };
    let mut dropped = bytes.to_vec();
    dropped.remove(at);
    let mut added = bytes.to_vec();
    added.insert(at, b'A');
    for tampered in [changed, dropped, added] {
        let tampered = String::from_utf8(tampered).expect("base64 is ASCII");
        assert!(
            key.verify_unsubscribe(&tampered).is_none(),
            "a tampered token passed: {tampered}"
        );
    }
});
