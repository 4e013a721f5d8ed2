//! The two reads: the balance with tier and rewards, and the points history. GET only; they
//! change nothing.

use super::{LoyaltyApp, invalid};
use crate::domain::{CustomerId, EntryKind, RewardPrice, ShopSettings, Timestamp, loyalty_rules};
use crate::handlers::responses::{error, json};
use crate::store::{StoreError, keys, micros};
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

/// One line of the history, with the key it sorts by (newest first).
struct Line {
    sort: String,
    kind: EntryKind,
    points: i64,
    at: Timestamp,
    order: Option<String>,
    redemption: Option<String>,
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
                let valid = value.len() <= 300
                    && value.split_once('#').is_some_and(|(t, id)| {
                        t.len() == 16
                            && t.bytes().all(|b| b.is_ascii_digit())
                            && !id.is_empty()
                            && !id.contains('#')
                    });
                if !valid {
                    return Ok(invalid(
                        "cursor",
                        "cursor: use next_cursor of the page before",
                    ));
                }
                before = Some(format!("{}{value}", keys::LEDGER_PREFIX));
            }
            _ => {}
        }
    }
    let Some(profile) = app.store.profile(&settings.id, customer).await? else {
        return Ok(error(404, "customer_not_found", "no such customer"));
    };
    let entries = app
        .store
        .ledger_page(&settings.id, customer, before.as_deref(), limit)
        .await?;
    let own_full = entries.len() == usize::try_from(limit).unwrap_or(0);
    let mut lines: Vec<Line> = entries
        .into_iter()
        .map(|(sort, e)| Line {
            sort,
            kind: e.kind,
            points: e.points,
            at: e.at,
            order: None,
            redemption: e.redemption,
        })
        .collect();
    // An order's points live on the order item: its lines are read from there.
    for order in app.store.orders(&settings.id, customer).await? {
        let Some(placed) = &order.placed else {
            continue;
        };
        let mut add = |kind: EntryKind, points: i64, at: Timestamp| {
            let id = format!("{}~{}", order.id, kind.as_str());
            lines.push(Line {
                sort: keys::ledger_sort_key(micros(at), &id),
                kind,
                points,
                at,
                order: Some(order.id.to_string()),
                redemption: None,
            });
        };
        if order.points_earned > 0 {
            add(
                EntryKind::Earned,
                order.points_earned as i64,
                placed.placed_at,
            );
        }
        if let Some(at) = order.points_confirmed_at
            && order.points_held() > 0
        {
            add(EntryKind::Confirmed, order.points_held() as i64, at);
        }
        if order.points_reversed > 0
            && let Some(last) = order.returns.iter().map(|r| r.returned_at).max()
        {
            add(EntryKind::Reversed, -(order.points_reversed as i64), last);
        }
    }
    lines.retain(|l| before.as_ref().is_none_or(|b| l.sort < *b));
    lines.sort_by(|a, b| b.sort.cmp(&a.sort));
    let more = lines.len() > usize::try_from(limit).unwrap_or(0) || own_full;
    lines.truncate(usize::try_from(limit).unwrap_or(0));
    let locale = profile
        .contact
        .locale()
        .map(|l| l.as_str().to_owned())
        .unwrap_or_else(|| settings.default_locale.as_str().to_owned());
    let next_cursor = match (more, lines.last()) {
        (true, Some(last)) => json!(last.sort.strip_prefix(keys::LEDGER_PREFIX)),
        _ => Value::Null,
    };
    let items: Vec<Value> = lines
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
