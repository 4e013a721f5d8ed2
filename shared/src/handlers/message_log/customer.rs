//! `GET /admin/customers/{customer}`: the customer's standing and timeline.

use super::AdminApp;
use super::render::{Lang, json_error, local, merge, query_pairs, shop_of};
use crate::admin::status_word;
use crate::domain::{ActivityKind, CustomerId};
use crate::store::{CustomerItems, StoreError};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

pub(super) async fn customer_page(
    app: &AdminApp,
    req: &Request,
    lang: &Lang,
    user: &str,
    rest: &str,
) -> Result<Response<Body>, StoreError> {
    let (shop, tz) = match shop_of(app, req).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let Ok(customer) = CustomerId::parse(
        form_urlencoded::parse(format!("x={rest}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default(),
    ) else {
        return Ok(json_error(404, "not_found", None, "no such customer"));
    };
    let CustomerItems {
        profile,
        orders,
        messages,
        activities,
        ..
    } = app.store.customer_items(&shop, &customer).await?;
    let reveal = query_pairs(req)
        .iter()
        .any(|(k, v)| k == "reveal" && v == "1");
    let email = profile.as_ref().and_then(|p| p.contact.email()).map(|e| {
        if reveal {
            e.as_str().to_owned()
        } else {
            crate::admin::mask_email(e.as_str())
        }
    });
    super::audit::record(
        app,
        &shop,
        user,
        super::audit::Shown {
            page: "customer",
            format: "html",
            filters: format!("customer={customer}"),
            rows: usize::from(email.is_some()),
            revealed: reveal,
        },
    )
    .await?;
    let mut timeline: Vec<(jiff::Timestamp, Value)> = Vec::new();
    let langq = lang
        .param
        .as_ref()
        .map(|l| format!("&lang={l}"))
        .unwrap_or_default();
    let messages: Vec<_> = messages
        .into_iter()
        .map(|m| m.seen_at(app.clock.now()))
        .collect();
    for m in &messages {
        let link = format!(
            "/admin/messages/{}/{}?shop={shop}{langq}",
            form_urlencoded::byte_serialize(customer.as_str().as_bytes()).collect::<String>(),
            form_urlencoded::byte_serialize(m.intent.key.as_bytes()).collect::<String>()
        );
        timeline.push((
            m.intent.created_at,
            json!({ "what": format!("✉ {}", m.intent.data.kind()), "status": status_word(m), "detail": m.reason.clone().or_else(|| m.subject.clone()), "link": link }),
        ));
    }
    for a in &activities {
        let detail = match &a.activity.what {
            ActivityKind::OrderPlaced {
                order_id,
                total,
                points,
                reactivation,
            } => format!(
                "{order_id} · {total} · {points} pt{}",
                if *reactivation {
                    " · reactivation"
                } else {
                    ""
                }
            ),
            ActivityKind::OrderReturned {
                order_id,
                points_reversed,
            } => format!("{order_id} · -{points_reversed} pt"),
            ActivityKind::PointsConfirmed { order_id, points } => {
                format!("{order_id} · {points} pt")
            }
            ActivityKind::SurveyAnswered { order_id, score } => format!("{order_id} · {score}/10"),
            ActivityKind::SurveySkipped { order_id, reason } => format!("{order_id} · {reason}"),
            ActivityKind::EngagementChanged { from, to } => {
                format!("{} → {}", from.as_str(), to.as_str())
            }
            ActivityKind::KeptInTouch => String::new(),
            ActivityKind::LapseAnswered { reason } => {
                reason.map(|r| r.as_str().to_owned()).unwrap_or_default()
            }
        };
        timeline.push((
            a.activity.at,
            json!({ "what": a.activity.what.name(), "detail": detail }),
        ));
    }
    for o in &orders {
        if let Some(delivered) = o.delivered_at {
            timeline.push((
                delivered,
                json!({ "what": "delivered", "detail": o.id.as_str() }),
            ));
        }
    }
    timeline.sort_by(|a, b| b.0.cmp(&a.0));
    let timeline: Vec<Value> = timeline
        .into_iter()
        .map(|(at, entry)| merge(entry, json!({ "time": local(at, &tz) })))
        .collect();
    let profile = profile.map(|p| {
        json!({
            "lifecycle": p.lifecycle.as_str(),
            "engagement": p.retention.stage.as_str(),
            "order_count": p.order_count,
            "returned_order_count": p.returned_order_count,
            "points_available": p.loyalty.points_available,
            "points_pending": p.loyalty.points_pending,
            "tier": p.loyalty.tier,
            "mail": mail_standing(&p),
        })
    });
    Ok(app.render(
        200,
        "customer.html",
        merge(
            lang.context(Some(user), &shop),
            json!({ "customer_id": customer.as_str(), "profile": profile, "email": email, "timeline": timeline }),
        ),
    ))
}

fn mail_standing(p: &crate::domain::CustomerProfile) -> String {
    let mut parts = Vec::new();
    parts.push(if p.has_marketing_consent() {
        "consent".to_owned()
    } else {
        "no consent".to_owned()
    });
    if let Some(o) = &p.mail.opted_out {
        parts.push(format!("opted out ({:?})", o.scope).to_lowercase());
    }
    if p.mail.suppressed_at.is_some() {
        parts.push("suppressed".into());
    }
    if p.mail.inactive {
        parts.push("inactive".into());
    }
    parts.join(", ")
}
