//! The local stand-in for the cloud, for `make dev` and the integration tests:
//! - [`aws`]: moto (DynamoDB, Streams, SSM, SES v2) on loopback, one request at a time;
//! - [`table`]: the table created from `infra/template.yaml` itself, not from a copy;
//! - [`gateway`]: an HTTP server with the API's routes, calling the Lambda handlers;
//! - [`demo`]: the demo shop and the verified sender identity;
//! - [`functions`]: the template's functions, each with its own identity locally;
//! - [`apps`]: every function's app in a local stack, built with that function's identity;
//! - [`stream`]: the table's stream in front of `send-messages`, as Lambda's event source
//!   mapping runs it, with the template's filter ([`pattern`]) and settings;
//! - [`events`]: the Scheduler event for `run-schedule` and SES's EventBridge events through
//!   the template's rule for `ses-events`;
//! - [`runtime_api`]: a local Lambda Runtime API, to run a built `bootstrap` as Lambda does;
//! - [`template`]: the one reader of `infra/template.yaml` for the event sources' settings and
//!   each function's configuration, resolved for a given stack;
//! - [`lambda_events`], [`deploy_check`]: `make deploy-check`, each built
//!   function with the template's configuration and a realistic event;
//! - [`smoke`]: `make smoke`, one signed event to a deployed API, its customer read back;
//! - [`codes`]: `make codes`, a shop's discount codes from a file into a reward's pool.

pub mod apps;
pub mod aws;
pub mod client;
pub mod codes;
pub mod cold_start;
pub mod demo;
pub mod deploy_check;
pub mod events;
pub mod functions;
pub mod gateway;
pub mod lambda_events;
pub mod months;
pub mod pattern;
pub mod runtime_api;
pub mod smoke;
pub mod stream;
pub mod table;
pub mod template;

/// The workspace root (this crate lives in `infra/local`).
pub fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}
