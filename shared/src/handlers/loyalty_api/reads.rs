//! The two reads: the balance with tier and rewards, and the points history. GET only; they
//! change nothing.

use super::{LoyaltyApp, invalid};
use crate::domain::{CustomerId, RewardPrice, ShopSettings, loyalty_rules};
use crate::handlers::points_history;
use crate::handlers::responses::{error, json};
use crate::store::StoreError;
use lambda_http::{Body, Response};
use serde_json::{Value, json};

pub(super) async fn balance(
    app: &LoyaltyApp,
    settings: &ShopSettings,
    customer: &CustomerId,
) -> Result<Response<Body>, StoreError> {
    let Some(profile) = app.store.profile(&settings.id, customer).await? else {
        return Ok(error(404, "customer_not_found", "no such customer"));
    };
    let loyalty = &profile.loyalty;
    let balance = loyalty.balance();
    let now = app.clock.now();
    // Tiers qualify on points earned on orders (lifetime or the last 12 months), never
    // lowered by spending; a rolling tier shows until when it is kept.
    let qualifying = loyalty_rules::qualifying_points(loyalty, now, settings);
    let next = settings
        .loyalty
        .tiers
        .iter()
        .find(|t| t.min_points > qualifying);
    let tier = loyalty.tier.as_ref().map(|name| {
        json!({
            "name": name,
            "next": next.map(|t| json!({ "name": t.name, "points_needed": t.min_points - qualifying })),
            "retain_until": loyalty.clock.retain_until.map(|t| t.to_string()),
        })
    });
    let expiring = loyalty_rules::expiring(&profile, now, settings)
        .map(|(points, at)| json!({ "points": points, "at": at.to_string() }));
    let rewards: Vec<Value> = settings
        .loyalty
        .rewards
        .iter()
        .map(|r| {
            let mut out = json!({
                "id": r.id,
                "name": r.name,
                "affordable": balance.available >= r.least_points(),
            });
            match &r.price {
                RewardPrice::Fixed { points, value } => {
                    out["points"] = json!(points);
                    out["value"] = json!(value);
                }
                RewardPrice::Variable {
                    step_points,
                    step_value,
                    min_points,
                    max_points,
                } => {
                    out["step_points"] = json!(step_points);
                    out["value"] = json!(step_value);
                    out["min_points"] = json!(min_points);
                    out["max_points"] = json!(max_points);
                }
            }
            out
        })
        .collect();
    Ok(json(
        200,
        json!({
            "customer": customer.as_str(),
            "points": {
                "available": balance.available,
                "pending": balance.pending,
                "spent": balance.spent,
                "lifetime_earned": balance.lifetime_earned,
                "debt": balance.debt,
                "expiring": expiring,
            },
            "tier": tier,
            "rewards": rewards,
        }),
    ))
}

const DEFAULT_PAGE: i32 = 20;
const MAX_PAGE: i32 = 100;

pub(super) async fn transactions(
    app: &LoyaltyApp,
    settings: &ShopSettings,
    customer: &CustomerId,
    query: Option<&str>,
) -> Result<Response<Body>, StoreError> {
    let mut limit = DEFAULT_PAGE;
    let mut before: Option<String> = None;
    for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match name.as_ref() {
            "limit" => match value.parse::<i32>() {
                Ok(n) if (1..=MAX_PAGE).contains(&n) => limit = n,
                _ => {
                    return Ok(invalid(
                        "limit",
                        "limit: must be a whole number from 1 to 100",
                    ));
                }
            },
            "cursor" => {
                if !points_history::valid_cursor(&value) {
                    return Ok(invalid(
                        "cursor",
                        "cursor: use next_cursor of the page before",
                    ));
                }
                before = Some(value.into_owned());
            }
            _ => {}
        }
    }
    let Some(profile) = app.store.profile(&settings.id, customer).await? else {
        return Ok(error(404, "customer_not_found", "no such customer"));
    };
    let page = points_history::page(
        &app.store,
        &settings.id,
        customer,
        before.as_deref(),
        usize::try_from(limit).unwrap_or(0),
    )
    .await?;
    let locale = profile
        .contact
        .locale()
        .map(|l| l.as_str().to_owned())
        .unwrap_or_else(|| settings.default_locale.as_str().to_owned());
    let next_cursor = page.next_cursor.map_or(Value::Null, Value::String);
    let items: Vec<Value> = page
        .lines
        .iter()
        .map(|l| {
            json!({
                "kind": l.kind.as_str(),
                "points": l.points,
                "at": l.at.to_string(),
                "order_id": l.order,
                "redemption_id": l.redemption,
                "description": l.kind.describe(&locale),
            })
        })
        .collect();
    Ok(json(
        200,
        json!({ "transactions": items, "next_cursor": next_cursor }),
    ))
}
