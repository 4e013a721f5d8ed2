//! `GET /admin/customers/{customer}`: the customer's standing, points (balance, tier, history)
//! and timeline.

use super::AdminApp;
use super::render::{Lang, json_error, local, merge, query_pairs, shop_of};
use crate::admin::labels::{self, Group, code};
use crate::admin::status_word;
use crate::domain::value::{CustomerValue, customer_value, hundredths_text};
use crate::domain::{ActivityKind, CustomerId, MessageData, Money, OptOutScope};
use crate::handlers::points_history;
use crate::store::{CustomerItems, MessageRecord, StoreError};
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
    let l = lang.lang;
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
    let customer_q =
        form_urlencoded::byte_serialize(customer.as_str().as_bytes()).collect::<String>();
    for m in &messages {
        let link = format!(
            "/admin/messages/{customer_q}/{}?shop={shop}{langq}",
            form_urlencoded::byte_serialize(m.intent.key.as_bytes()).collect::<String>()
        );
        let status = status_word(m);
        timeline.push((
            m.intent.created_at,
            json!({
                "what": format!("✉ {}", code(l, Group::Kind, m.intent.data.kind())),
                "status": status,
                "status_label": code(l, Group::Status, status),
                "detail": with_unsubscribe(l, m, with_orders(l, m, message_detail(l, m, reveal, &tz))),
                "link": link,
            }),
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
                    format!(" · {}", code(l, Group::Activity, "reactivation"))
                } else {
                    String::new()
                }
            ),
            ActivityKind::OrderReturned {
                order_id,
                points_reversed,
            } => format!("{order_id} · -{points_reversed} pt"),
            ActivityKind::PointsConfirmed { order_id, points } => {
                format!("{order_id} · {points} pt")
            }
            ActivityKind::SurveyAnswered {
                order_id, score, ..
            } => format!("{order_id} · {score}/10"),
            ActivityKind::SurveySkipped { order_id, reason } => {
                format!("{order_id} · {}", code(l, Group::Reason, reason))
            }
            ActivityKind::EngagementChanged { from, to } => format!(
                "{} → {}",
                code(l, Group::Engagement, from.as_str()),
                code(l, Group::Engagement, to.as_str())
            ),
            ActivityKind::KeptInTouch => String::new(),
            ActivityKind::ContractRenewed { order_id, sku } => format!("{order_id} · {sku}"),
            ActivityKind::LapseAnswered { reason } => reason
                .map(|r| code(l, Group::Lapse, r.as_str()))
                .unwrap_or_default(),
            // The shop's own words: its question id and the answer as it wrote it.
            ActivityKind::QuestionAnswered {
                question_id,
                answer,
                ..
            } => format!("{question_id} · {answer}"),
        };
        timeline.push((
            a.activity.at,
            json!({ "what": code(l, Group::Activity, a.activity.what.name()), "detail": detail }),
        ));
    }
    for o in &orders {
        if let Some(delivered) = o.delivered_at {
            timeline.push((
                delivered,
                json!({ "what": code(l, Group::Activity, "delivered"), "detail": o.id.as_str() }),
            ));
        }
    }
    timeline.sort_by_key(|entry| std::cmp::Reverse(entry.0));
    let timeline: Vec<Value> = timeline
        .into_iter()
        .map(|(at, entry)| merge(entry, json!({ "time": local(at, &tz) })))
        .collect();
    let loyalty = match &profile {
        Some(p) => Some(loyalty(app, req, lang, &shop, &tz, p, &messages).await?),
        None => None,
    };
    let loyalty = match loyalty {
        Some(Ok(found)) => Some(found),
        Some(Err(response)) => return Ok(response),
        None => None,
    };
    let settings = app.shops.get(&shop).await?.map(|s| s.settings.clone());
    let profile = profile.map(|p| {
        json!({
            "lifecycle": code(l, Group::Lifecycle, p.lifecycle.as_str()),
            "engagement": code(l, Group::Engagement, p.retention.stage.as_str()),
            "order_count": p.order_count,
            "returned_order_count": p.returned_order_count,
            "mail": mail_standing(l, &p),
            "value": settings.as_ref().map(|s| value_json(&customer_value(&p, s))),
        })
    });
    Ok(app.render(
        200,
        "customer.html",
        merge(
            lang.context(Some(user), &shop),
            json!({ "customer_id": customer.as_str(), "profile": profile, "email": email, "timeline": timeline, "loyalty": loyalty }),
        ),
    ))
}

/// Lines of the points history per page, as the message list pages its rows.
const LEDGER_ROWS: usize = 20;

/// The customer's points: balance, tier and since when, and a page of the history (`points`
/// in the query is the cursor of an older page).
async fn loyalty(
    app: &AdminApp,
    req: &Request,
    lang: &Lang,
    shop: &crate::domain::ShopId,
    tz: &jiff::tz::TimeZone,
    profile: &crate::domain::CustomerProfile,
    messages: &[MessageRecord],
) -> Result<Result<Value, Response<Body>>, StoreError> {
    let l = lang.lang;
    let cursor = query_pairs(req)
        .into_iter()
        .find(|(k, v)| k == "points" && !v.is_empty())
        .map(|(_, v)| v);
    if let Some(c) = &cursor
        && !points_history::valid_cursor(c)
    {
        return Ok(Err(json_error(
            400,
            "invalid_query",
            Some("points"),
            "is not a cursor of this history",
        )));
    }
    let page = points_history::page(
        &app.store,
        shop,
        &profile.id,
        cursor.as_deref(),
        LEDGER_ROWS,
    )
    .await?;
    let balance = profile.loyalty.balance();
    // The tier's date: when it was announced (its `tier-reached` or `tier-changed` message was
    // created).
    let tier = profile.loyalty.tier.as_ref().map(|name| {
        let since = messages
            .iter()
            .filter(|m| match &m.intent.data {
                MessageData::TierReached { tier, .. } => tier == name,
                MessageData::TierChanged { tier, .. } => tier.as_ref() == Some(name),
                _ => false,
            })
            .map(|m| m.intent.created_at)
            .max();
        json!({
            "name": name,
            "since": since.map(|at| local(at, tz)),
            // A tier that qualifies on a rolling 12 months is kept until then.
            "retain_until": profile.loyalty.clock.retain_until.map(|at| local(at, tz)),
        })
    });
    let lines: Vec<Value> = page
        .lines
        .iter()
        .map(|line| {
            json!({
                "time": local(line.at, tz),
                "what": code(l, Group::Entry, line.kind.as_str()),
                "points": line.points,
                "order": line.order,
                "redemption": line.redemption,
                "reason": line.reason,
            })
        })
        .collect();
    let customer_q =
        form_urlencoded::byte_serialize(profile.id.as_str().as_bytes()).collect::<String>();
    let older = page.next_cursor.map(|c| {
        format!(
            "/admin/customers/{customer_q}?shop={shop}&points={}{}",
            form_urlencoded::byte_serialize(c.as_bytes()).collect::<String>(),
            lang.param
                .as_ref()
                .map(|l| format!("&lang={l}"))
                .unwrap_or_default()
        )
    });
    Ok(Ok(json!({
        "available": balance.available,
        "pending": balance.pending,
        "debt": balance.debt,
        "spent": balance.spent,
        "lifetime_earned": balance.lifetime_earned,
        "tier": tier,
        "lines": lines,
        "older": older,
    })))
}

/// Why a message is where it is, in words: a skip's or a failure's reason, a deferral's
/// reason and time, else its subject.
fn message_detail(
    lang: &str,
    m: &MessageRecord,
    reveal: bool,
    tz: &jiff::tz::TimeZone,
) -> Option<String> {
    if let Some(until) = m.deferred_until {
        return Some(labels::waited(
            lang,
            m.reason.as_deref().unwrap_or("unknown"),
            &local(until, tz),
        ));
    }
    m.reason
        .as_deref()
        .map(|r| code(lang, Group::Reason, r))
        // A failure's text may quote the address: masked as everywhere, unless revealed.
        .or_else(|| {
            m.error
                .as_deref()
                .map(|e| crate::admin::shown_text(e, reveal))
        })
        .or_else(|| m.subject.clone())
}

/// A message that earned orders says so after its detail ("ordered 2 days after this email").
fn with_orders(lang: &str, m: &MessageRecord, detail: Option<String>) -> Option<String> {
    let (Some(first), Some(sent)) = (m.earned.first_order_at, m.sent_at) else {
        return detail;
    };
    let days = u32::try_from(first.duration_since(sent).as_secs().max(0) / 86_400).unwrap_or(0);
    let ordered = labels::ordered_after(lang, days, m.earned.attributed_orders);
    Some(match detail {
        Some(detail) => format!("{detail} · {ordered}"),
        None => ordered,
    })
}

/// The customer's value as the page shows it: amounts as decimal text with their currency,
/// several currencies side by side.
fn value_json(v: &CustomerValue) -> Value {
    let text = |amounts: &[Money]| {
        amounts
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    json!({
        "historic": text(&v.historic),
        "forecast": v.forecast.as_ref().map(|f| json!({
            "value": text(&f.value),
            "orders": hundredths_text(f.orders_hundredths),
            "average": text(&f.average_order),
            "interval_days": f.interval_days,
        })),
    })
}

/// A message whose link the customer unsubscribed through says so after its detail.
fn with_unsubscribe(lang: &str, m: &MessageRecord, detail: Option<String>) -> Option<String> {
    if m.unsubscribed_at.is_none() {
        return detail;
    }
    let words = labels::labels(lang);
    let said = words["unsubscribed_here"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    Some(match detail {
        Some(detail) => format!("{detail} · {said}"),
        None => said,
    })
}

fn mail_standing(lang: &str, p: &crate::domain::CustomerProfile) -> String {
    let mut parts = Vec::new();
    parts.push(if p.has_marketing_consent() {
        code(lang, Group::Mail, "consent")
    } else {
        code(lang, Group::Mail, "no_consent")
    });
    if let Some(o) = &p.mail.opted_out {
        parts.push(match o.scope {
            OptOutScope::Promotional => code(lang, Group::Mail, "opted_out_promotional"),
            OptOutScope::All => code(lang, Group::Mail, "opted_out_all"),
        });
    }
    if p.mail.suppressed_at.is_some() {
        parts.push(code(lang, Group::Mail, "suppressed"));
    }
    if p.mail.inactive {
        parts.push(code(lang, Group::Mail, "inactive"));
    }
    parts.join(", ")
}
