//! WooCommerce's adapter, topic x body: every topic on its routes and on the others; what
//! comes out goes on into the domain. Input: one byte choosing the topic, one the route (and
//! the shop's delivered status), then the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trouw::domain::EventType;
use trouw::webhook::{GuestIds, Inbound, WooCommerceConnection, woocommerce};

const TOPICS: [&str; 7] = [
    "order.created",
    "order.updated",
    "customer.updated",
    "customer.created",
    "order.deleted",
    "product.updated",
    "",
];

const ROUTES: [EventType; 4] = [
    EventType::OrderPlaced,
    EventType::OrderDelivered,
    EventType::OrderReturned,
    EventType::AddressChanged,
];

fuzz_target!(|data: &[u8]| {
    let [topic, route, body @ ..] = data else {
        return;
    };
    let topic = TOPICS[usize::from(*topic) % TOPICS.len()];
    let own = woocommerce::route_of(topic);
    let route = if !own.is_empty() && route % 4 != 3 {
        own[usize::from(route / 4) % own.len()]
    } else {
        ROUTES[usize::from(route / 4) % ROUTES.len()]
    };
    let connection = WooCommerceConnection {
        webhook_secrets: vec![],
        delivered_status: if data[1] & 0x80 == 0 {
            "completed"
        } else {
            "delivered"
        }
        .into(),
        consent_meta_key: Some("newsletter_opt_in".into()),
    };
    let guests = GuestIds::new("fuzz-guest-secret");
    let settings = trouw_fuzz::settings();
    let _ = woocommerce::is_ping(body);
    if let Ok(items) = woocommerce::map(
        &trouw_fuzz::shop(),
        Some(&guests),
        &connection,
        route,
        topic,
        body,
    ) {
        for item in items {
            if let Inbound::Apply { event, .. } = item {
                assert_eq!(
                    event.event_type(),
                    route,
                    "{topic}: an event of another route"
                );
                trouw_fuzz::apply_twice(&event, &settings);
            }
        }
    }
});
