//! The writes: redemptions, their cancellation, adjustments and codes for the pools. Each
//! change of points is read, decided in the domain, and written in one transaction with its
//! ledger entry; when another writer changed the customer meanwhile, it is read again.

use super::coupon::{CodeRequest, NoCode};
use super::{LoyaltyApp, LoyaltyShop, invalid};
use crate::domain::{
    Balance, CodeSource, CustomerId, CustomerProfile, EntryKind, LOW_POOL_MARK, LedgerEntry,
    MessageClass, MessageData, MessageIntent, MessageRecord, RedeemError, Reward, ShopId,
    ShopSettings, Timestamp,
};
use crate::handlers::responses::{error, json};
use crate::store::{
    Adjustment, Attachment, PointsChange, PointsWritten, PoolRunsLow, Redemption, StoreError,
};
use lambda_http::{Body, Response};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

/// How often a write is tried again when other writers keep changing the customer: enough for
/// twenty redemptions of one customer at once.
const MAX_ATTEMPTS: usize = 40;
/// How long a redeemed code is valid.
const CODE_VALID_DAYS: i64 = 90;
/// Free codes read per attempt: concurrent redemptions pick different ones among them, and
/// fewer than this many means the redemption leaves the pool below the low mark.
const CODES_PER_READ: i32 = LOW_POOL_MARK as i32 + 1;

fn insufficient(balance: Balance) -> Response<Body> {
    json(
        409,
        json!({
            "error": "insufficient_points",
            "message": "not enough available points",
            "balance": { "available": balance.available, "pending": balance.pending, "debt": balance.debt },
        }),
    )
}

/// Parses a JSON body strictly, naming the field that is wrong (also for the birthday). The
/// refusal is the complete answer, made once per request: its size does not matter.
#[allow(clippy::result_large_err)]
pub(super) fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Response<Body>> {
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let field = err.path().to_string();
        let field = if field == "." {
            "body".to_owned()
        } else {
            field
        };
        let detail = err.inner().to_string();
        let detail = detail
            .split(" at line")
            .next()
            .unwrap_or_default()
            .to_owned();
        invalid(&field, format!("{field}: {detail}"))
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RedeemRequest {
    reward: String,
    #[serde(default, deserialize_with = "whole_points")]
    points: Option<u64>,
}

/// A whole number of points: JSON has one number type, so `600.0` is 600 as JSON Schema's
/// `integer` says; `600.5` or a negative number is refused.
fn whole_points<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let Some(n) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(None);
    };
    whole(&n)
        .and_then(|v| u64::try_from(v).ok())
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom("expected a whole number of points, at least 0"))
}

/// A whole signed number, also when written as `-327.0`.
fn whole(n: &serde_json::Number) -> Option<i128> {
    if let Some(v) = n.as_i64() {
        return Some(i128::from(v));
    }
    if let Some(v) = n.as_u64() {
        return Some(i128::from(v));
    }
    let f = n.as_f64()?;
    (f.fract() == 0.0 && f.abs() < 1e15).then_some(f as i128)
}

fn whole_signed<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    whole(&n)
        .and_then(|v| i64::try_from(v).ok())
        .ok_or_else(|| serde::de::Error::custom("expected a whole number of points"))
}

/// The id for an idempotency key: the same key of the same customer names the same
/// redemption (`rd_`) or adjustment (`adj_`).
fn keyed_id(prefix: &str, customer: &CustomerId, key: &str) -> String {
    let digest = Sha256::digest(format!("{customer}\n{key}").as_bytes());
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("{prefix}_{hex}")
}

/// The `Idempotency-Key` header, required: 1 to 128 visible ASCII characters (the refusal is
/// the answer itself).
#[allow(clippy::result_large_err)]
fn idempotency_key(header: Option<&str>) -> Result<&str, Response<Body>> {
    header
        .filter(|k| (1..=128).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            invalid(
                "Idempotency-Key",
                "Idempotency-Key: required, 1 to 128 visible ASCII characters",
            )
        })
}

fn key_reused(what: &str) -> Response<Body> {
    error(
        409,
        "idempotency_key_reused",
        format!("this Idempotency-Key was used for another {what}"),
    )
}

/// The stored answer again, marked as a replay.
fn replayed(body: serde_json::Value) -> Response<Body> {
    let mut response = json(201, body);
    response.headers_mut().insert(
        "idempotent-replayed",
        http::HeaderValue::from_static("true"),
    );
    response
}

/// What one attempt at a change of points came to: an answer with nothing (more) to write, or
/// the change to write and the answer once it is written. One lives per attempt: the size of
/// the answer does not matter.
#[allow(clippy::large_enum_variant)]
enum Attempt {
    Answer(Response<Body>),
    Write {
        read_version: u64,
        next: CustomerProfile,
        entry: LedgerEntry,
        entry_id: String,
        with: Attachment,
        answer: Response<Body>,
    },
}

/// Reads, decides and writes a change of points (one transaction: the profile, version-checked,
/// its ledger entry and what goes with it) until it is written or another answer is due; when
/// another writer got there first, `decide` reads and decides again after a short pause.
async fn write_change<F, Decided>(
    app: &LoyaltyApp,
    outcome: &'static str,
    mut decide: F,
) -> Result<Response<Body>, StoreError>
where
    F: FnMut(usize) -> Decided,
    Decided: Future<Output = Result<Attempt, StoreError>>,
{
    for attempt in 0..MAX_ATTEMPTS {
        let (read_version, next, entry, entry_id, with, answer) = match decide(attempt).await? {
            Attempt::Answer(response) => return Ok(response),
            Attempt::Write {
                read_version,
                next,
                entry,
                entry_id,
                with,
                answer,
            } => (read_version, next, entry, entry_id, with, answer),
        };
        let change = PointsChange {
            profile: &next,
            read_version,
            entry: &entry,
            entry_id: &entry_id,
        };
        match app.store.write_points(change, &with).await? {
            PointsWritten::Committed => {
                // Never the reason: it is the shop's text, kept in the ledger only.
                tracing::info!(outcome, points = entry.points, "points changed");
                return Ok(answer);
            }
            // The shop's endpoint answered with a code the registry knows (from a pool or
            // another redemption): trouw hands out no code twice, and spends nothing.
            PointsWritten::CodeTaken if matches!(with, Attachment::Issued(_)) => {
                tracing::warn!(outcome = "code_not_unique", "redemption refused");
                return Ok(error(
                    409,
                    "code_not_unique",
                    "the shop's coupon endpoint answered with a code already handed out or in a pool; no points were taken",
                ));
            }
            PointsWritten::Recorded | PointsWritten::Conflict | PointsWritten::CodeTaken => {
                backoff(attempt).await;
            }
        }
    }
    Err(StoreError::Unavailable(
        "the customer kept changing under concurrent writes".into(),
    ))
}

fn redemption_body(r: &Redemption) -> serde_json::Value {
    json!({
        "id": r.id,
        "reward": r.reward,
        "code": r.code,
        "value": r.value,
        "points_spent": r.points_spent,
        "expires_at": r.expires_at.to_string(),
        "balance_after": r.balance_after,
    })
}

fn bumped(profile: &CustomerProfile) -> CustomerProfile {
    let mut next = profile.clone();
    next.version += 1;
    next
}

pub(super) async fn redeem(
    app: &LoyaltyApp,
    loyalty_shop: &LoyaltyShop,
    customer: &CustomerId,
    idempotency_key: Option<&str>,
    body: &[u8],
    now: Timestamp,
) -> Result<Response<Body>, StoreError> {
    let settings = &loyalty_shop.settings;
    let key = match self::idempotency_key(idempotency_key) {
        Ok(key) => key,
        Err(response) => return Ok(response),
    };
    let request: RedeemRequest = match parse(body) {
        Ok(r) => r,
        Err(response) => return Ok(response),
    };
    let Some(reward) = settings
        .loyalty
        .rewards
        .iter()
        .find(|r| r.id == request.reward)
    else {
        return Ok(invalid(
            "reward",
            "reward: the shop has no reward with this id",
        ));
    };
    match reward.price(request.points) {
        Ok(_) => {}
        Err(RedeemError::Points(message)) => return Ok(invalid("points", message)),
        Err(RedeemError::Insufficient(balance)) => return Ok(insufficient(balance)),
    }
    let shop = &settings.id;
    let id = keyed_id("rd", customer, key);
    // Where among the free codes this request starts looking, so that concurrent redemptions
    // do not all reach for the first code.
    let spread = usize::from(Sha256::digest(id.as_bytes())[0]);
    // The code the shop's endpoint made for this redemption, asked once per request: an
    // attempt that meets a concurrent writer hands out the same code.
    let issued = tokio::sync::OnceCell::<String>::new();
    let (id, request, issued) = (&id, &request, &issued);
    write_change(app, "redeemed", move |attempt| async move {
        if let Some(existing) = app.store.redemption(shop, customer, id).await? {
            if existing.reward != request.reward || existing.requested_points != request.points {
                return Ok(Attempt::Answer(key_reused("redemption")));
            }
            return Ok(Attempt::Answer(replayed(redemption_body(&existing))));
        }
        let Some(profile) = app.store.profile(shop, customer).await? else {
            return Ok(Attempt::Answer(error(
                404,
                "customer_not_found",
                "no such customer",
            )));
        };
        let mut next = bumped(&profile);
        let price = match crate::domain::redeem(&mut next.loyalty, reward, request.points) {
            Ok(price) => price,
            Err(RedeemError::Insufficient(balance)) => {
                return Ok(Attempt::Answer(insufficient(balance)));
            }
            Err(RedeemError::Points(message)) => {
                return Ok(Attempt::Answer(invalid("points", message)));
            }
        };
        let value = json!(price.value);
        let expires_at = now
            .checked_add(jiff::SignedDuration::from_hours(24 * CODE_VALID_DAYS))
            .unwrap_or(now);
        let (code, source) = match reward.code_source {
            CodeSource::Pool => {
                let codes = app
                    .store
                    .free_codes(shop, &reward.id, CODES_PER_READ)
                    .await?;
                if codes.is_empty() {
                    tracing::warn!(reward = %reward.id, outcome = "no_codes", "redemption refused");
                    return Ok(Attempt::Answer(no_codes()));
                }
                // Exact below the mark, where it matters: fewer codes than were asked for are
                // all the pool holds.
                let left = codes.len() as u64 - 1;
                let runs_low = if left < LOW_POOL_MARK {
                    let read = app.store.pool_alert(shop, &reward.id).await?;
                    read.after_redemption(left, now).map(|next| {
                        Box::new(PoolRunsLow {
                            alert: pool_low_alert(
                                shop,
                                customer,
                                id,
                                reward,
                                left,
                                next.episode,
                                now,
                            ),
                            read,
                            next,
                        })
                    })
                } else {
                    None
                };
                (
                    codes[(spread + attempt) % codes.len()].clone(),
                    Some(runs_low),
                )
            }
            CodeSource::Endpoint => {
                let asked = CodeRequest {
                    redemption: id,
                    customer,
                    reward: &reward.id,
                    value: &value,
                    points: price.points,
                    expires_at,
                };
                let code = issued
                    .get_or_try_init(|| {
                        app.coupons
                            .code(loyalty_shop.coupon_endpoint.as_ref(), &asked, now)
                    })
                    .await;
                match code {
                    Ok(code) => (code.clone(), None),
                    Err(no_code) => return Ok(Attempt::Answer(endpoint_failed(no_code))),
                }
            }
        };
        let redemption = Redemption {
            id: id.clone(),
            reward: reward.id.clone(),
            requested_points: request.points,
            code,
            value,
            points_spent: price.points,
            created_at: now,
            expires_at,
            balance_after: next.loyalty.balance().available,
            voided_at: None,
            used_by_order: None,
            used_at: None,
        };
        Ok(Attempt::Write {
            read_version: profile.version,
            entry: LedgerEntry {
                kind: EntryKind::Redeemed,
                points: -(price.points as i64),
                at: now,
                redemption: Some(id.clone()),
                reason: None,
            },
            entry_id: id.clone(),
            next,
            answer: json(201, redemption_body(&redemption)),
            with: match source {
                Some(runs_low) => Attachment::Redeemed(redemption, runs_low),
                None => Attachment::Issued(redemption),
            },
        })
    })
    .await
}

/// The alert that a reward's pool ran low, to the shop's service address (an internal message,
/// kept beside the redeeming customer's other messages; its key names the pool and how often
/// it ran low, so each fall is one message).
fn pool_low_alert(
    shop: &ShopId,
    customer: &CustomerId,
    redemption: &str,
    reward: &Reward,
    left: u64,
    episode: u64,
    now: Timestamp,
) -> MessageRecord {
    let cause = format!("{}#{episode}", reward.id);
    let data = MessageData::PoolLow {
        reward: reward.id.clone(),
        reward_name: reward.name.clone(),
        codes_left: left,
        mark: LOW_POOL_MARK,
    };
    let intent = MessageIntent {
        key: crate::domain::message_key(data.kind(), &cause),
        customer_id: customer.clone(),
        class: MessageClass::Internal,
        locale: None,
        data,
        created_at: now,
    };
    // Caused by the redemption that left the pool low.
    let event = crate::domain::EventId::parse(redemption)
        .unwrap_or_else(|_| crate::domain::EventId::derived("redemption", &[redemption]));
    MessageRecord::pending_for(shop, event, &intent)
}

/// 503 `no_codes`: the pool is empty; nothing was spent.
fn no_codes() -> Response<Body> {
    let mut response = error(
        503,
        "no_codes",
        "this reward has no codes left; no points were taken",
    );
    response
        .headers_mut()
        .insert("retry-after", http::HeaderValue::from_static("3600"));
    response
}

/// 503 `coupon_endpoint_failed` naming the cause: the shop's endpoint gave no code, nothing
/// was spent, and the same request (the same `Idempotency-Key`) may be sent again.
fn endpoint_failed(no_code: NoCode) -> Response<Body> {
    let status = match no_code {
        NoCode::Status(status) => Some(status),
        _ => None,
    };
    tracing::warn!(
        outcome = "coupon_endpoint_failed",
        cause = no_code.cause(),
        status,
        "redemption refused"
    );
    let mut response = json(
        503,
        json!({
            "error": "coupon_endpoint_failed",
            "cause": no_code.cause(),
            "message": "the shop's coupon endpoint gave no code; no points were taken, the same request may be sent again",
        }),
    );
    response
        .headers_mut()
        .insert("retry-after", http::HeaderValue::from_static("5"));
    response
}

/// A short, growing, jittered pause before trying again, so that concurrent writers of one
/// customer do not meet again at once.
async fn backoff(attempt: usize) {
    let jitter = u64::from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
            % 20,
    );
    let base = 5 * (attempt.min(10) as u64);
    tokio::time::sleep(std::time::Duration::from_millis(base + jitter)).await;
}

pub(super) async fn cancel(
    app: &LoyaltyApp,
    shop: &ShopId,
    customer: &CustomerId,
    id: &str,
    now: Timestamp,
) -> Result<Response<Body>, StoreError> {
    if id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Ok(error(404, "redemption_not_found", "no such redemption"));
    }
    let voided_body = |id: &str, points: i64, balance: &CustomerProfile| {
        json(
            200,
            json!({ "id": id, "status": "voided", "points_refunded": points, "balance_after": balance.loyalty.balance().available }),
        )
    };
    write_change(app, "voided", move |_| async move {
        let Some(redemption) = app.store.redemption(shop, customer, id).await? else {
            return Ok(Attempt::Answer(error(
                404,
                "redemption_not_found",
                "no such redemption",
            )));
        };
        if redemption.used_by_order.is_some() {
            return Ok(Attempt::Answer(error(
                409,
                "redemption_used",
                "the code was used on an order; its points stay spent",
            )));
        }
        let Some(profile) = app.store.profile(shop, customer).await? else {
            return Ok(Attempt::Answer(error(
                404,
                "customer_not_found",
                "no such customer",
            )));
        };
        if redemption.voided_at.is_some() {
            // Cancelled before: the same answer, nothing more given back.
            let points = redemption.points_spent as i64;
            return Ok(Attempt::Answer(voided_body(
                &redemption.id,
                points,
                &profile,
            )));
        }
        let mut next = bumped(&profile);
        let change = next.loyalty.refund(redemption.points_spent);
        Ok(Attempt::Write {
            read_version: profile.version,
            entry: LedgerEntry {
                kind: change.kind,
                points: change.points,
                at: now,
                redemption: Some(redemption.id.clone()),
                reason: None,
            },
            entry_id: format!("{}_void", redemption.id),
            answer: voided_body(&redemption.id, change.points, &next),
            next,
            with: Attachment::Voided(Redemption {
                voided_at: Some(now),
                ..redemption
            }),
        })
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdjustRequest {
    #[serde(deserialize_with = "whole_signed")]
    points: i64,
    reason: String,
}

fn adjustment_body(a: &Adjustment) -> serde_json::Value {
    json!({ "id": a.id, "points": a.points, "balance_after": a.balance_after })
}

pub(super) async fn adjust(
    app: &LoyaltyApp,
    shop: &ShopId,
    customer: &CustomerId,
    idempotency_key: Option<&str>,
    body: &[u8],
    now: Timestamp,
) -> Result<Response<Body>, StoreError> {
    let key = match self::idempotency_key(idempotency_key) {
        Ok(key) => key,
        Err(response) => return Ok(response),
    };
    let request: AdjustRequest = match parse(body) {
        Ok(r) => r,
        Err(response) => return Ok(response),
    };
    if request.points == 0 || request.points.unsigned_abs() > 1_000_000 {
        return Ok(invalid(
            "points",
            "points: a whole number from -1000000 to 1000000, not 0",
        ));
    }
    let reason = request.reason.trim();
    if reason.is_empty()
        || request.reason.chars().count() > 200
        || reason.chars().any(char::is_control)
    {
        return Ok(invalid(
            "reason",
            "reason: 1 to 200 characters, no control characters",
        ));
    }
    let id = keyed_id("adj", customer, key);
    // What was asked, to tell a retry from another request under the same key; a digest, so
    // that the reason is kept only on the ledger entry (which an erasure clears).
    let asked = {
        let digest = Sha256::digest(format!("{}\n{reason}", request.points).as_bytes());
        digest
            .iter()
            .take(12)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let (id, asked, request) = (&id, &asked, &request);
    write_change(app, "adjusted", move |_| async move {
        if let Some(existing) = app.store.adjustment(shop, customer, id).await? {
            if existing.asked != *asked {
                return Ok(Attempt::Answer(key_reused("adjustment")));
            }
            return Ok(Attempt::Answer(replayed(adjustment_body(&existing))));
        }
        let Some(profile) = app.store.profile(shop, customer).await? else {
            return Ok(Attempt::Answer(error(
                404,
                "customer_not_found",
                "no such customer",
            )));
        };
        let mut next = bumped(&profile);
        let change = match next.loyalty.adjust(request.points) {
            Ok(change) => change,
            Err(refused) => return Ok(Attempt::Answer(insufficient(refused.balance))),
        };
        let adjustment = Adjustment {
            id: id.clone(),
            asked: asked.clone(),
            points: change.points,
            balance_after: next.loyalty.balance().available,
            at: now,
        };
        Ok(Attempt::Write {
            read_version: profile.version,
            entry: LedgerEntry {
                kind: change.kind,
                points: change.points,
                at: now,
                redemption: None,
                reason: Some(reason.to_owned()),
            },
            entry_id: id.clone(),
            next,
            answer: json(201, adjustment_body(&adjustment)),
            with: Attachment::Adjusted(adjustment),
        })
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodesRequest {
    codes: Vec<String>,
}

pub(super) async fn add_codes(
    app: &LoyaltyApp,
    settings: &ShopSettings,
    reward: &str,
    body: &[u8],
) -> Result<Response<Body>, StoreError> {
    if !settings.loyalty.rewards.iter().any(|r| r.id == reward) {
        return Ok(error(
            404,
            "reward_not_found",
            "the shop has no reward with this id",
        ));
    }
    let request: CodesRequest = match parse(body) {
        Ok(r) => r,
        Err(response) => return Ok(response),
    };
    if request.codes.is_empty() || request.codes.len() > 100 {
        return Ok(invalid("codes", "codes: 1 to 100 codes per request"));
    }
    if let Some(n) = request
        .codes
        .iter()
        .position(|c| c.trim() != c || crate::domain::code_key(c).is_none())
    {
        return Ok(invalid(
            &format!("codes[{n}]"),
            format!("codes[{n}]: letters, digits, - and _ only, 1 to 64 characters"),
        ));
    }
    let mut added = 0u64;
    for code in &request.codes {
        // Codes are matched without regard to case, as the shop platforms do.
        let Some(code) = crate::domain::code_key(code) else {
            continue;
        };
        if app.store.add_code(&settings.id, reward, &code).await? {
            added += 1;
        }
    }
    let available = app.store.count_free_codes(&settings.id, reward).await?;
    // Back at the mark: the next fall below it alerts the shop again. Losing a race with a
    // redemption that just alerted only keeps the pool marked low until the next refill.
    if available >= LOW_POOL_MARK {
        let read = app.store.pool_alert(&settings.id, reward).await?;
        if let Some(next) = read.after_refill(available)
            && app
                .store
                .pool_refilled(&settings.id, reward, &read, &next)
                .await?
        {
            tracing::info!(reward, available, "reward pool refilled above the low mark");
        }
    }
    Ok(json(200, json!({ "added": added, "available": available })))
}
