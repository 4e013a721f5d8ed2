//! `send-messages`: consumes new PENDING message items from the table's stream. For each:
//! claim it (so a second delivery does nothing), ask the one policy gate, render, send through
//! SES, and record SENT, SKIPPED, DEFERRED or FAILED on the item. SES throttling defers the
//! message (one minute, doubling per attempt) for the schedule to try again; SES did not take
//! it, so nothing is sent twice, and a throttled SES never turns into a hot retry loop.

use crate::clock::Clock;
use crate::domain::{
    CustomerId, DeferReason, MessageClass, SendAttempt, ShopId, SkipReason, Verdict, gate,
    holds_cap_place,
};
use crate::mail::{LinkKey, Mailer, Outgoing, Renderer, SendError};
use crate::shops::{Shop, ShopDirectory};
use crate::store::{ClaimToken, MessageOutcome, MessageRecord, MessageStatus, Store, StoreError};
use aws_lambda_events::event::dynamodb::Event as StreamEvent;
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use lambda_runtime::LambdaEvent;
use serde_json::json;
use std::sync::Arc;
use tracing::Instrument;

/// Everything the sender needs, built once per container.
pub struct SenderApp {
    pub store: Store,
    pub shops: ShopDirectory,
    pub mailer: Mailer,
    pub renderer: Renderer,
    pub links: LinkKey,
    /// Where links in emails point: the API's URL in the cloud, the gateway locally.
    pub public_base_url: String,
    /// The SES configuration set for delivery events (optional locally).
    pub configuration_set: Option<String>,
    pub clock: Arc<dyn Clock>,
}

impl SenderApp {
    /// Builds the sender from the environment, as the Lambda main does: `TABLE_NAME`,
    /// `PUBLIC_BASE_URL` (where links point), `LINK_SECRET_PARAMETER` (an SSM SecureString
    /// holding the secret unsubscribe links are signed with) and `SES_CONFIGURATION_SET`.
    pub async fn from_env() -> Result<Self, lambda_runtime::Error> {
        let config = crate::config::Config::from_env()?;
        let sdk = crate::config::aws_sdk_config().await;
        let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
        let ssm = aws_sdk_ssm::Client::new(&sdk);
        let links = crate::config::link_key(&ssm).await?;
        let store = Store::new(dynamo, config.table_name.clone());
        Ok(SenderApp {
            // Settings only: the sender never verifies a webhook, so no shop secret is resolved.
            shops: ShopDirectory::settings_only(store.clone(), config.settings_cache),
            store,
            mailer: Mailer::new(aws_sdk_sesv2::Client::new(&sdk)),
            renderer: Renderer::new(),
            links,
            public_base_url: std::env::var("PUBLIC_BASE_URL")
                .map_err(|_| "PUBLIC_BASE_URL is not set")?,
            configuration_set: std::env::var("SES_CONFIGURATION_SET")
                .ok()
                .filter(|s| !s.is_empty()),
            clock: Arc::new(crate::clock::SystemClock),
        })
    }
}

/// What happened to one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Another delivery of the record handled it, or it is not due.
    AlreadyHandled,
    Done(MessageOutcome),
    /// SES got the request and its answer was lost: the message stays SENDING, never sent
    /// again; the schedule records it as unknown once its claim is old enough.
    OutcomeUnknown,
}

/// A failure worth retrying (the store or SES was busy); the message is PENDING again.
#[derive(Debug, thiserror::Error)]
#[error("retry later: {0}")]
pub struct RetryLater(pub String);

/// The Lambda entry point. Every record is tried, and each one that must be retried is
/// reported as a batch item failure. Lambda retries from the lowest reported record; the
/// records after it that went out are claimed already and do nothing the second time. So a
/// record that keeps failing holds back only its own customer: when Lambda gives up on it
/// (and its successors in the batch) after the mapping's retries, the other customers'
/// successors were sent.
///
/// A customer's later messages in the batch wait behind one that must be retried: they are
/// reported too, and go after it when Lambda retries. Sent first, a later message would take
/// the frequency cap's place the earlier one had (an order's points update and the tier it
/// reached are created together: the tier mail would go and the points mail wait), so a
/// passing fault would change what the customer gets.
pub async fn handle(
    app: &SenderApp,
    event: LambdaEvent<StreamEvent>,
) -> Result<DynamoDbEventResponse, lambda_runtime::Error> {
    let mut response = DynamoDbEventResponse::default();
    let mut waiting = std::collections::HashSet::new();
    let mut retry = |record: &aws_lambda_events::event::dynamodb::EventRecord| {
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = record.change.sequence_number.clone();
        response.batch_item_failures.push(failure);
    };
    for record in &event.payload.records {
        let message: MessageRecord = match serde_dynamo::from_item(record.change.new_image.clone())
        {
            Ok(message) => message,
            Err(_) => {
                // The event filter lets only message items through; anything else is not ours.
                tracing::warn!(
                    sequence = record.change.sequence_number.as_deref(),
                    "stream record is not a message item; skipped"
                );
                continue;
            }
        };
        let customer = (message.shop.clone(), message.intent.customer_id.clone());
        if waiting.contains(&customer) {
            tracing::info!(
                sequence = record.change.sequence_number.as_deref(),
                "message waits behind an earlier one of its customer that will be retried"
            );
            retry(record);
            continue;
        }
        if let Err(err) = deliver(app, &message).await {
            tracing::warn!(
                sequence = record.change.sequence_number.as_deref(),
                detail = %err,
                "message will be retried"
            );
            waiting.insert(customer);
            retry(record);
        }
    }
    Ok(response)
}

/// Claims and handles one message, its log lines in the message's span.
pub async fn deliver(app: &SenderApp, message: &MessageRecord) -> Result<Delivery, RetryLater> {
    let key = message.intent.key.as_str();
    let span = tracing::info_span!("message", shop = %message.shop, kind = message.intent.data.kind(), key = key);
    // Instrumented, not entered: a span entered across an await stays entered on the thread
    // while this waits, and whatever else runs there meanwhile logs under it.
    claim_and_send(app, message).instrument(span).await
}

async fn claim_and_send(app: &SenderApp, message: &MessageRecord) -> Result<Delivery, RetryLater> {
    let shop_id = &message.shop;
    let customer = &message.intent.customer_id;
    let key = message.intent.key.as_str();
    let transient = |e: StoreError| RetryLater(e.to_string());
    let now = app.clock.now();
    // This attempt's own: its claim and its record, each sent again after a lost answer, are
    // known as its own.
    let claim = ClaimToken::new();
    let Some(claimed) = app
        .store
        .claim_message(shop_id, customer, key, &claim, now)
        .await
        .map_err(transient)?
    else {
        tracing::info!(outcome = "already_handled", "message not claimed");
        return Ok(Delivery::AlreadyHandled);
    };
    let outcome = match decide_and_send(app, &claimed).await {
        Ok(outcome) => outcome,
        // SES did not take the message: try again later through the schedule, backing off.
        // A message to be retried keeps its place under the frequency cap: another optional
        // email to the customer meanwhile is capped, as it would be had this one gone out now
        // (its retry is not capped by its own place: see `decide_and_send`).
        Err(NotSent::Retry(RetryLater(error))) => MessageOutcome::Retry {
            until: now + retry_backoff(claimed.attempts),
            error,
            counts_for_cap: holds_cap_place(claimed.intent.class, SendAttempt::Retry),
        },
        // SES may have sent it: recording any outcome could only lead to a second email. It
        // counts for the frequency cap as a send would, so that no other optional email follows
        // it too soon.
        Err(NotSent::Unknown(error)) => {
            tracing::warn!(outcome = "unknown", detail = %error, "message outcome unknown; left SENDING");
            stamp_unknown_send(app, &claimed).await;
            return Ok(Delivery::OutcomeUnknown);
        }
    };
    app.store
        .finish_message(
            shop_id,
            customer,
            key,
            &claim,
            message.intent.created_at,
            &outcome,
            app.clock.now(),
        )
        .await
        .map_err(transient)?;
    let status = match &outcome {
        MessageOutcome::Sent { .. } => MessageStatus::Sent,
        MessageOutcome::Skipped { .. } => MessageStatus::Skipped,
        MessageOutcome::HeldOut { .. } => MessageStatus::HeldOut,
        MessageOutcome::Deferred { .. } => MessageStatus::Deferred,
        MessageOutcome::Failed { .. } => MessageStatus::Failed,
        MessageOutcome::Retry { .. } => MessageStatus::Deferred,
    };
    tracing::info!(outcome = status.as_str(), "message handled");
    Ok(Delivery::Done(outcome))
}

/// Counts a message whose outcome is unknown for the frequency cap, as a send, if it is mail
/// that counts (the message itself stays SENDING, untouched). The store tries it as often as a
/// claim; should it still fail, the cap forgets this message (logged), and the message is not
/// reported for a retry: a retry finds it claimed and would count nothing either.
async fn stamp_unknown_send(app: &SenderApp, message: &MessageRecord) {
    if !holds_cap_place(message.intent.class, SendAttempt::Unknown) {
        return;
    }
    if let Err(err) = app
        .store
        .stamp_possible_send(&message.shop, &message.intent.customer_id, app.clock.now())
        .await
    {
        tracing::warn!(detail = %err, "the frequency cap does not count this message");
    }
}

/// Why a claimed message has no outcome to record yet.
enum NotSent {
    /// Nothing went out: try again later.
    Retry(RetryLater),
    /// SES may have taken it (its answer was lost).
    Unknown(String),
}

impl From<RetryLater> for NotSent {
    fn from(retry: RetryLater) -> Self {
        NotSent::Retry(retry)
    }
}

async fn decide_and_send(
    app: &SenderApp,
    message: &MessageRecord,
) -> Result<MessageOutcome, NotSent> {
    let transient = |e: StoreError| RetryLater(e.to_string());
    let Some(shop) = app.shops.get(&message.shop).await.map_err(transient)? else {
        return Ok(MessageOutcome::Failed {
            error: "the shop is no longer configured".into(),
        });
    };
    let profile = app
        .store
        .profile(&message.shop, &message.intent.customer_id)
        .await
        .map_err(transient)?;
    let Some(profile) = profile else {
        return Ok(MessageOutcome::Skipped {
            reason: skip_reason(SkipReason::NoEmail).into(),
        });
    };
    // A retry (SES failed before) holds the cap's place it took then: its own place does not
    // cap it.
    let mut profile = profile;
    if message.attempts > 0 {
        profile.mail.last_sent_at = None;
    }
    let now = app.clock.now();
    match gate(&message.intent, &profile, now, &shop.settings) {
        Verdict::Skip(reason) => Ok(MessageOutcome::Skipped {
            reason: skip_reason(reason).into(),
        }),
        Verdict::HeldOut { would_have_gone_at } => {
            Ok(MessageOutcome::HeldOut { would_have_gone_at })
        }
        Verdict::Defer { until, reason } => Ok(MessageOutcome::Deferred {
            until,
            reason: defer_reason(reason).into(),
            wait_fits: crate::domain::wait_fits(&message.waits),
        }),
        Verdict::Send => {
            // Internal alerts go to the shop's service address, in the shop's language.
            let internal = message.intent.class == MessageClass::Internal;
            let (email, first_name, locale) = if internal {
                let email = shop
                    .settings
                    .service_email
                    .clone()
                    .expect("the gate checks for a service address");
                (email, None, None)
            } else {
                let email = profile
                    .contact
                    .email()
                    .cloned()
                    .expect("the gate checks for an email address");
                (
                    email,
                    profile.contact.first_name(),
                    profile.contact.locale().map(|l| l.as_str()),
                )
            };
            let outgoing = match compose(app, &shop, message, first_name, locale, email) {
                Ok(outgoing) => outgoing,
                Err(error) => return Ok(MessageOutcome::Failed { error }),
            };
            match app.mailer.send(&outgoing).await {
                Ok(id) => {
                    let locale = locale_of(&outgoing);
                    Ok(MessageOutcome::Sent {
                        ses_message_id: id,
                        subject: outgoing.subject,
                        locale,
                        counts_for_cap: holds_cap_place(message.intent.class, SendAttempt::Sent),
                        last_touch: message.intent.class != MessageClass::Internal,
                    })
                }
                Err(SendError::Retry(reason)) => Err(RetryLater(reason).into()),
                Err(SendError::Rejected(error)) => Ok(MessageOutcome::Failed { error }),
                Err(SendError::OutcomeUnknown(reason)) => Err(NotSent::Unknown(reason)),
            }
        }
    }
}

fn locale_of(outgoing: &Outgoing) -> String {
    outgoing
        .tags
        .iter()
        .find(|(n, _)| *n == "locale")
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// Renders the message for the customer and wraps it for SES.
pub fn compose(
    app: &SenderApp,
    shop: &Shop,
    message: &MessageRecord,
    first_name: Option<&str>,
    customer_locale: Option<&str>,
    to: crate::domain::Email,
) -> Result<Outgoing, String> {
    let settings = &shop.settings;
    let locale = Renderer::locale_for(customer_locale, settings.default_locale.as_str());
    let unsubscribe_url = message.intent.class.is_optional_mail().then(|| {
        unsubscribe_url(
            &app.public_base_url,
            &app.links,
            &message.shop,
            &message.intent.customer_id,
            &message.intent.key,
        )
    });
    let mut context = serde_json::to_value(&message.intent.data).map_err(|e| e.to_string())?;
    let fields = context
        .as_object_mut()
        .ok_or("message data is not an object")?;
    fields.insert("locale".into(), json!(locale));
    fields.insert(
        "shop".into(),
        json!({
            "name": settings.name,
            "logo_url": settings.branding.logo_url,
            "primary_colour": settings.branding.primary_colour,
            "website_url": settings.branding.website_url,
        }),
    );
    fields.insert("customer".into(), json!({ "first_name": first_name }));
    fields.insert(
        "return_window_days".into(),
        json!(settings.return_window_days),
    );
    if let crate::domain::MessageData::SurveyRequest { order_id } = &message.intent.data {
        let token = app
            .links
            .survey_token(&message.shop, &message.intent.customer_id, order_id);
        let base = app.public_base_url.trim_end_matches('/');
        let scores: Vec<_> = (0..=10)
            .map(
                |score| json!({ "score": score, "url": format!("{base}/s/{token}?score={score}") }),
            )
            .collect();
        fields.insert("score_links".into(), json!(scores));
    }
    if let crate::domain::MessageData::Question {
        question_id,
        options,
        ..
    } = &message.intent.data
    {
        let token =
            app.links
                .question_token(&message.shop, &message.intent.customer_id, question_id);
        let base = app.public_base_url.trim_end_matches('/');
        let links: Vec<_> = options
            .iter()
            .enumerate()
            .map(|(i, option)| json!({ "option": option, "url": format!("{base}/q/{token}?option={i}") }))
            .collect();
        fields.insert("answer_links".into(), json!(links));
    }
    if let crate::domain::MessageData::Reactivation { .. } = &message.intent.data {
        let token = app
            .links
            .reactivation_token(&message.shop, &message.intent.customer_id);
        let base = app.public_base_url.trim_end_matches('/');
        fields.insert("keep_url".into(), json!(format!("{base}/r/{token}?keep=1")));
        fields.insert("survey_url".into(), json!(format!("{base}/r/{token}")));
    }
    if let Some(url) = &unsubscribe_url {
        fields.insert("unsubscribe_url".into(), json!(url));
        fields.insert("preferences_url".into(), json!(url));
    }
    let rendered = app
        .renderer
        .render(
            message.intent.data.kind(),
            locale,
            &minijinja::Value::from(minijinja::value::Serde(&context)),
        )
        .map_err(|e| e.to_string())?;
    Ok(Outgoing {
        from_name: settings.name.clone(),
        from: settings.sender.clone(),
        to,
        subject: rendered.subject,
        html: rendered.html,
        text: rendered.text,
        unsubscribe_url,
        configuration_set: app.configuration_set.clone(),
        tags: [
            ("shop", message.shop.to_string()),
            ("kind", message.intent.data.kind().to_owned()),
            ("message", message.intent.key.clone()),
            ("customer", message.intent.customer_id.to_string()),
            ("locale", locale.to_owned()),
        ]
        .into_iter()
        .chain(crate::mail::ses::message_ref_tags(
            &message.shop,
            &message.intent.customer_id,
            &message.intent.key,
        ))
        .collect(),
    })
}

/// One minute after the first refusal, doubling per attempt, at most an hour.
fn retry_backoff(attempts: u32) -> jiff::SignedDuration {
    jiff::SignedDuration::from_mins(1_i64 << attempts.min(6))
        .min(jiff::SignedDuration::from_hours(1))
}

/// The longest unsubscribe link that names its message: it travels in the `List-Unsubscribe`
/// header, whose line must stay under 998 characters. Only ids near their 128-character limit
/// in other scripts pass it; their link names no message (the unsubscribe counts under no
/// kind).
pub const MAX_UNSUBSCRIBE_URL: usize = 900;

/// `{base}/u/{token}`: one-click unsubscribe (RFC 8058) and the preferences page, for the
/// message `message_key` (the link names it, so the unsubscribe counts against its kind).
pub fn unsubscribe_url(
    base: &str,
    links: &LinkKey,
    shop: &ShopId,
    customer: &CustomerId,
    message_key: &str,
) -> String {
    let base = base.trim_end_matches('/');
    let named = format!(
        "{base}/u/{}",
        links.message_unsubscribe_token(shop, customer, message_key)
    );
    if named.len() <= MAX_UNSUBSCRIBE_URL {
        return named;
    }
    format!("{base}/u/{}", links.unsubscribe_token(shop, customer))
}

fn skip_reason(reason: SkipReason) -> &'static str {
    match reason {
        SkipReason::NoEmail => "no_email",
        SkipReason::NoConsent => "no_consent",
        SkipReason::OptedOut => "opted_out",
        SkipReason::Suppressed => "suppressed",
        SkipReason::Inactive => "inactive",
        SkipReason::FrequencyCap => "frequency_cap",
    }
}

fn defer_reason(reason: DeferReason) -> &'static str {
    match reason {
        DeferReason::QuietHours => "quiet_hours",
        DeferReason::FrequencyCap => "frequency_cap",
    }
}

/// Sends a customer's PENDING messages straight away: the local stack's stand-in for the
/// stream (the gateway calls it after each webhook), through the very same `deliver`.
pub async fn deliver_pending(
    app: &SenderApp,
    shop: &ShopId,
    customer: &CustomerId,
) -> Result<Vec<Delivery>, RetryLater> {
    let messages = app
        .store
        .messages(shop, customer)
        .await
        .map_err(|e| RetryLater(e.to_string()))?;
    let mut done = Vec::new();
    for message in messages
        .iter()
        .filter(|m| m.status == MessageStatus::Pending)
    {
        done.push(deliver(app, message).await?);
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The link names its message while it fits the header; with the longest ids (128
    /// characters of four bytes each, a message key of 180 bytes, a shop id of 63) it names
    /// none and still fits.
    #[test]
    fn the_unsubscribe_link_names_its_message_while_it_fits_the_header() {
        let links = LinkKey::new("secret");
        let base = "https://abcdefghij.execute-api.eu-west-1.amazonaws.com/";
        let shop = ShopId::parse("demo").unwrap();
        let customer = CustomerId::parse("cus-8812").unwrap();
        let url = unsubscribe_url(base, &links, &shop, &customer, "survey#NL-1");
        let token = url.rsplit('/').next().unwrap();
        assert_eq!(
            links.verify_unsubscribe(token),
            Some((shop, customer, Some("survey#NL-1".to_owned())))
        );

        let long_shop = ShopId::parse("s".repeat(63)).unwrap();
        let long_customer = CustomerId::parse("𝔘".repeat(128)).unwrap();
        let long_key = format!("welcome-after-move#~{}", "a".repeat(160));
        let url = unsubscribe_url(base, &links, &long_shop, &long_customer, &long_key);
        assert!(url.len() <= MAX_UNSUBSCRIBE_URL, "{} characters", url.len());
        let token = url.rsplit('/').next().unwrap();
        assert_eq!(
            links.verify_unsubscribe(token),
            Some((long_shop, long_customer, None))
        );
    }
}
