//! trouw: webshop events in, customer retention out.
//!
//! - [`domain`]: the pure rules (no I/O): `decide(state, event, now, settings)`.
//! - [`webhook`]: the inbound edge: signatures and payloads into canonical events.
//! - [`store`]: DynamoDB: the key layout, items and transactions.
//! - [`shops`]: shop settings and secrets, cached per container.
//! - [`handlers`]: one module per Lambda, shared by the Lambda mains and the local gateway.
//!
//! The modules that need AWS or the Lambda runtime are behind the default feature `aws`; the
//! rest is the pure core the fuzz targets (fuzz/) build on their own.

pub mod admin;
pub mod clock;
#[cfg(feature = "aws")]
pub mod config;
pub mod domain;
#[cfg(feature = "aws")]
pub mod handlers;
#[cfg(feature = "aws")]
pub mod https;
pub mod mail;
#[cfg(feature = "aws")]
pub mod shops;
#[cfg(feature = "aws")]
pub mod shutdown;
pub mod store;
pub mod telemetry;
pub mod webhook;
