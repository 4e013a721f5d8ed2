//! trouw: webshop events in, customer retention out.
//!
//! - [`domain`]: the pure rules (no I/O): `decide(state, event, now, settings)`.
//! - [`webhook`]: the inbound edge: signatures and payloads into canonical events.
//! - [`store`]: DynamoDB: the key layout, items and transactions.
//! - [`shops`]: shop settings and secrets, cached per container.
//! - [`handlers`]: one module per Lambda, shared by the Lambda mains and the local gateway.

pub mod admin;
pub mod clock;
pub mod config;
pub mod domain;
pub mod handlers;
pub mod mail;
pub mod shops;
pub mod shutdown;
pub mod store;
pub mod telemetry;
pub mod webhook;
