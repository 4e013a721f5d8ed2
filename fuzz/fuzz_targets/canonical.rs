//! The canonical parser: any body on any of the four routes is an event or a refusal naming a
//! field, and an event goes on through `check_amounts` and `decide` without a panic.
//! Input: one byte choosing the route, then the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trouw::domain::{EventId, EventType};
use trouw::webhook::parse_canonical;

const ROUTES: [EventType; 4] = [
    EventType::OrderPlaced,
    EventType::OrderDelivered,
    EventType::OrderReturned,
    EventType::AddressChanged,
];

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    let route = ROUTES[usize::from(which) % ROUTES.len()];
    let id = EventId::parse("fuzz-event").expect("valid");
    match parse_canonical(&trouw_fuzz::shop(), route, id, body) {
        Ok(event) => {
            assert_eq!(event.event_type(), route, "an event of another route");
            trouw_fuzz::apply_twice(&event, &trouw_fuzz::settings());
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
