//! `make smoke`: after a deploy, one canonical order-placed event signed with the shop's webhook
//! secret goes to the deployed API, and the customer it creates is read back from the table.
//!
//! The event is the contract's example with its own customer and order ids (`smoke-...`,
//! `SMOKE-...`), no marketing consent, and SES's mailbox simulator as the address, so that the
//! messages it may cause reach no person and count against no bounce rate.

use crate::client::{WebClient, send, signed_post, web_client};
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use std::time::Instant;
use trouw::domain::{CustomerId, ShopId};
use trouw::store::Store;
use trouw::webhook::WebhookSecret;

/// SES's mailbox simulator: accepts mail and reports a delivery, without counting it.
pub const SIMULATOR_ADDRESS: &str = "success@simulator.amazonses.com";

/// The event the smoke test posts: the canonical example with its own ids, for `run_id`.
pub fn smoke_event(run_id: &str) -> Result<serde_json::Value, String> {
    let path = crate::workspace_root().join("shared/contracts/examples/order-placed.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut event: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    event["order"]["id"] = format!("SMOKE-{run_id}").into();
    event["customer"]["id"] = format!("smoke-{run_id}").into();
    event["customer"]["email"] = SIMULATOR_ADDRESS.into();
    event["customer"]["marketing_consent"] = false.into();
    let now = jiff::Timestamp::now().to_string();
    event["occurred_at"] = now.clone().into();
    event["order"]["placed_at"] = now.into();
    Ok(event)
}

/// The client `make smoke` posts with: a deployed `ApiUrl` is `https://` (API Gateway serves
/// nothing else), `make dev` plain `http://`.
pub fn client() -> WebClient {
    web_client()
}

/// Posts the smoke event to `api` (the stack's `ApiUrl`) for `shop` and reads its customer back
/// through `store`. The lines it printed, or what failed (after the lines so far).
pub async fn run<C>(
    client: &Client<C, Full<Bytes>>,
    api: &str,
    shop: &ShopId,
    secret: &WebhookSecret,
    store: &Store,
    run_id: &str,
) -> Result<Vec<String>, (Vec<String>, String)>
where
    C: hyper_util::client::legacy::connect::Connect + Clone + Send + Sync + 'static,
{
    let mut lines = Vec::new();
    let event = smoke_event(run_id).map_err(|e| (Vec::new(), e))?;
    let body = event.to_string().into_bytes();
    let url = format!("{}/webhooks/{shop}/order-placed", api.trim_end_matches('/'));
    let id = format!("msg_smoke_{run_id}");
    let request = signed_post(&url, secret, &id, jiff::Timestamp::now().as_second(), &body);
    let started = Instant::now();
    let answer = match send(client, request).await {
        Ok(answer) => answer,
        Err(err) => return Err((lines, format!("POST {url}: {err}"))),
    };
    lines.push(format!(
        "POST {url} (order SMOKE-{run_id}, webhook-id {id}) -> {} in {} ms",
        answer.status,
        started.elapsed().as_millis()
    ));
    if answer.status != 200 {
        let body: String = answer.body.chars().take(300).collect();
        return Err((lines, format!("the API answered {}: {body}", answer.status)));
    }
    let customer = answer.json()["customer_id"]
        .as_str()
        .and_then(|c| CustomerId::parse(c).ok());
    let Some(customer) = customer else {
        return Err((
            lines,
            format!("the answer names no customer: {}", answer.body),
        ));
    };
    let (profile, orders) = match store.customer(shop, &customer).await {
        Ok(found) => found,
        Err(err) => return Err((lines, format!("reading customer {customer}: {err}"))),
    };
    let order = orders
        .iter()
        .find(|o| o.id.as_str() == format!("SMOKE-{run_id}"));
    lines.push(format!(
        "table {}: customer {customer} {}, order SMOKE-{run_id} {}",
        store.table(),
        if profile.is_some() {
            "found"
        } else {
            "MISSING"
        },
        if order.is_some() { "found" } else { "MISSING" },
    ));
    if profile.is_none() || order.is_none() {
        return Err((
            lines,
            "the event was accepted but its customer is not in the table".into(),
        ));
    }
    Ok(lines)
}
