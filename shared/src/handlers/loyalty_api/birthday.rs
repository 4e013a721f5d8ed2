//! `PUT customers/{customer}/birthday`: the customer's birthday, for the shop's birthday points.
//! The same birthday again writes nothing (and keeps the moment it was first given, from which
//! the 30 days' notice counts).

use super::{LoyaltyApp, invalid};
use crate::domain::{CustomerId, ShopSettings, Timestamp, loyalty_rules};
use crate::handlers::responses::{error, json};
use crate::store::{StoreError, Written};
use lambda_http::{Body, Response};
use serde::Deserialize;
use serde_json::json;

/// How often the write is tried again when the customer changed meanwhile.
const MAX_ATTEMPTS: usize = 10;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BirthdayRequest {
    birthday: String,
}

pub(super) async fn put(
    app: &LoyaltyApp,
    settings: &ShopSettings,
    customer: &CustomerId,
    body: &[u8],
    now: Timestamp,
) -> Result<Response<Body>, StoreError> {
    let request: BirthdayRequest = match super::points::parse(body) {
        Ok(r) => r,
        Err(response) => return Ok(response),
    };
    let Some(month_day) = loyalty_rules::parse_birthday(&request.birthday) else {
        return Ok(invalid(
            "birthday",
            "birthday: a day of the year as MM-DD, e.g. 04-23 (02-29 is kept on 28 February in other years)",
        ));
    };
    let shop = &settings.id;
    for _ in 0..MAX_ATTEMPTS {
        let Some(profile) = app.store.profile(shop, customer).await? else {
            return Ok(error(404, "customer_not_found", "no such customer"));
        };
        let mut next = profile.clone();
        if !loyalty_rules::set_birthday(&mut next.loyalty, month_day, now) {
            return Ok(answer(&request.birthday));
        }
        // Its timer goes into the due index with the write.
        loyalty_rules::schedule_birthday(&mut next.loyalty, now, settings);
        next.version += 1;
        match app.store.save_profile(shop, profile.version, &next).await? {
            Written::Committed => {
                tracing::info!(outcome = "birthday_set", "birthday set");
                return Ok(answer(&request.birthday));
            }
            _ => continue,
        }
    }
    Err(StoreError::Unavailable(
        "the customer kept changing under concurrent writes".into(),
    ))
}

fn answer(birthday: &str) -> Response<Body> {
    json(200, json!({ "birthday": birthday }))
}
