//! Shopify's adapter, topic x body: every topic trouw knows (and a few it does not) on its own
//! route and on the others, with any `X-Shopify-Triggered-At`; what comes out goes on into the
//! domain. Input: one byte choosing the topic, one the route, one the trigger time, the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trouw::domain::{EventType, Timestamp};
use trouw::webhook::{GuestIds, Inbound, shopify};

const TOPICS: [&str; 16] = [
    "orders/create",
    "fulfillment_events/create",
    "fulfillments/update",
    "fulfillments/create",
    "refunds/create",
    "returns/request",
    "returns/approve",
    "customers/update",
    "customers/create",
    "customers_email_marketing_consent/update",
    "customers/data_request",
    "customers/redact",
    "shop/redact",
    "orders/updated",
    "app/uninstalled",
    "",
];

const ROUTES: [EventType; 4] = [
    EventType::OrderPlaced,
    EventType::OrderDelivered,
    EventType::OrderReturned,
    EventType::AddressChanged,
];

fn triggered_at(which: u8) -> Option<Timestamp> {
    let now = trouw_fuzz::now();
    match which % 6 {
        0 => None,
        1 => Some(now),
        2 => Some(now - jiff::SignedDuration::from_hours(25)),
        3 => Some(now + jiff::SignedDuration::from_hours(1)),
        4 => Some(Timestamp::MIN),
        _ => Some(Timestamp::MAX),
    }
}

fuzz_target!(|data: &[u8]| {
    let [topic, route, trigger, body @ ..] = data else {
        return;
    };
    let topic = TOPICS[usize::from(*topic) % TOPICS.len()];
    // Mostly the topic's own route (so bodies reach the mapping), sometimes another.
    let route = match (shopify::route_of(topic), route % 4) {
        (Some(own), 0..=2) => own,
        _ => ROUTES[usize::from(route / 4) % ROUTES.len()],
    };
    let guests = GuestIds::new("fuzz-guest-secret");
    let settings = trouw_fuzz::settings();
    let inbound = shopify::map(
        &trouw_fuzz::shop(),
        "demo.myshopify.com",
        Some(&guests),
        route,
        topic,
        triggered_at(*trigger),
        body,
    );
    if let Ok(Inbound::Apply { event, .. }) = inbound {
        assert_eq!(
            event.event_type(),
            route,
            "{topic}: an event of another route"
        );
        trouw_fuzz::apply_twice(&event, &settings);
    }
});
