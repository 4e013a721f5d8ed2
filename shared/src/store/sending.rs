//! A message's sending: the sender's claim, the record of its outcome with the frequency cap's
//! stamp on the profile, and a send whose outcome is unknown. What SES reports afterwards is in
//! `reports.rs`. Apart from the decision's write, which only creates messages: each of these
//! writes one message (and the profile's stamp) on its own.

use super::dynamo::{WRITE_TRIES, pause_before_try};
use super::error::condition_applied;
use super::items::decode;
use super::keys::{self, Key};
use super::summaries;
use super::{ClaimToken, Store, StoreError};
use crate::domain::{CustomerId, MessageRecord, MessageStatus, ShopId, Timestamp};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use serde::Deserialize;
use std::collections::HashMap;

impl Store {
    /// Claims a message for sending: PENDING (or DEFERRED and due) becomes SENDING, atomically.
    /// `None` if someone else has it or it was handled already, so a second delivery of the
    /// same stream record does nothing. The claim also puts the message in the due index at
    /// the moment its outcome counts as unknown (`SENDING_UNKNOWN_AFTER`): recording the
    /// outcome takes it out again, so the schedule meets only a message whose sender stopped
    /// between the claim and the record.
    ///
    /// The claim carries the attempt's `claim` token, and a message SENDING under that same
    /// token is claimed again: when DynamoDB applied the claim but its answer was lost, the
    /// SDK's retry finds the message SENDING and must not take it for someone else's (the
    /// message would be stranded, never sent, and reported unknown). For the same reason a
    /// claim that fails for a transient reason is tried again a few times: once given up, a
    /// claim that was applied strands the message.
    pub async fn claim_message(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        key: &str,
        claim: &ClaimToken,
        now: Timestamp,
    ) -> Result<Option<MessageRecord>, StoreError> {
        let mut tries = 0;
        loop {
            tries += 1;
            match self.try_claim(shop, customer, key, claim, now).await {
                Err(err) if err.is_transient() && tries < WRITE_TRIES => {
                    pause_before_try(tries).await
                }
                done => return done,
            }
        }
    }

    async fn try_claim(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        key: &str,
        claim: &ClaimToken,
        now: Timestamp,
    ) -> Result<Option<MessageRecord>, StoreError> {
        let item_key = keys::message(shop, customer, key);
        let unknown_at = now + crate::domain::SENDING_UNKNOWN_AFTER;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key.to_item()))
            .update_expression(
                "SET #status = :sending, claim_token = :claim, claimed_at = :now, due_at = :unknown_at, due_shard = :shard",
            )
            .condition_expression(
                "#status = :pending OR (#status = :deferred AND due_at <= :now_epoch) \
                 OR (#status = :sending AND claim_token = :claim)",
            )
            .expression_attribute_values(":claim", AttributeValue::S(claim.as_str().into()))
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(
                ":sending",
                AttributeValue::S(MessageStatus::Sending.as_str().into()),
            )
            .expression_attribute_values(
                ":pending",
                AttributeValue::S(MessageStatus::Pending.as_str().into()),
            )
            .expression_attribute_values(
                ":deferred",
                AttributeValue::S(MessageStatus::Deferred.as_str().into()),
            )
            .expression_attribute_values(":now", AttributeValue::S(now.to_string()))
            .expression_attribute_values(
                ":now_epoch",
                AttributeValue::N(now.as_second().to_string()),
            )
            .expression_attribute_values(
                ":unknown_at",
                AttributeValue::N(unknown_at.as_second().to_string()),
            )
            .expression_attribute_values(
                ":shard",
                AttributeValue::S(keys::due_shard(&item_key.pk)),
            )
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => out
                .attributes
                .map(|i| decode::<MessageRecord>(i, "message"))
                .transpose(),
            Err(err) if err.code() == Some("ConditionalCheckFailedException") => Ok(None),
            Err(err) => Err(StoreError::from_sdk(&err)),
        }
    }

    /// Records what became of a claimed message: one conditional `UpdateItem` of the message.
    /// A message that counts for the frequency cap (sent, or waiting for a retry) first stamps
    /// the customer's last send on the profile with a plain update (and bumps its version, so
    /// that a webhook's write of the profile read before it is refused and decided again):
    /// stamped first, so a record that fails after it leaves the message SENDING, which counts
    /// for the cap all the same. A message created on an earlier day (deferred) also marks that
    /// day's summary changed, in one transaction with the record, so that no summary is kept
    /// between the two.
    ///
    /// Only the attempt holding the claim (`claim`) records, and the record removes the token.
    /// So when the condition fails and the message no longer holds this claim, this attempt's
    /// record is in already: an earlier try was applied and its answer lost. That is success,
    /// not an error (an error would leave a message that SES sent, or that never went,
    /// looking as if its sender had stopped). A transaction conflict or a transient failure
    /// is tried again a few times: the message is SENDING until this succeeds.
    #[allow(clippy::too_many_arguments)]
    pub async fn finish_message(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        key: &str,
        claim: &ClaimToken,
        created_at: Timestamp,
        outcome: &MessageOutcome,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let cancelled = |reasons: Vec<String>| {
            Err(StoreError::Failed(format!(
                "recording the message outcome was cancelled: {reasons:?}"
            )))
        };
        let mut stamp = self.finish_stamp(shop, customer, key, outcome, now)?;
        let day = summaries::log_day_of(created_at);
        let marks_day = summaries::marks_day(day, now);
        // First as if the customer were not erased; if they were (the message is marked), again
        // without the texts: the rendered subject greets them by name, SES's error may quote
        // their address.
        let mut erased = false;
        let mut tries = 0;
        loop {
            tries += 1;
            let again = tries < WRITE_TRIES;
            if let Some(update) = stamp.clone() {
                match self.update(update).await {
                    // No profile: nothing to stamp.
                    Ok(()) => stamp = None,
                    Err(err) if err.code() == Some("ConditionalCheckFailedException") => {
                        stamp = None
                    }
                    Err(err) => {
                        let err = StoreError::from_sdk(&err);
                        if err.is_transient() && again {
                            pause_before_try(tries).await;
                            continue;
                        }
                        return Err(err);
                    }
                }
            }
            let record = self.finish_update(shop, customer, key, claim, outcome, now, erased)?;
            let reasons = if marks_day {
                let changed = summaries::day_changed(&self.table, shop, day, now)?;
                let items = vec![
                    TransactWriteItem::builder().update(record).build(),
                    TransactWriteItem::builder().update(changed).build(),
                ];
                match self.try_transact(items).await {
                    Ok(None) => return Ok(()),
                    Ok(Some(reasons)) => reasons,
                    Err(err) if err.is_transient() && again => {
                        pause_before_try(tries).await;
                        continue;
                    }
                    Err(err) => return Err(err),
                }
            } else {
                match self.update(record).await {
                    Ok(()) => return Ok(()),
                    Err(err) if err.code() == Some("ConditionalCheckFailedException") => {
                        vec!["ConditionalCheckFailed".to_owned()]
                    }
                    Err(err) => {
                        let err = StoreError::from_sdk(&err);
                        if err.is_transient() && again {
                            pause_before_try(tries).await;
                            continue;
                        }
                        return Err(err);
                    }
                }
            };
            if reasons.first().map(String::as_str) == Some("ConditionalCheckFailed") {
                let message = keys::message(shop, customer, key);
                let Some(state) = self.get::<ClaimState>(&message, "message").await? else {
                    return cancelled(reasons);
                };
                let held = state.status == MessageStatus::Sending
                    && state.claim_token.as_deref() == Some(claim.as_str());
                if !held {
                    tracing::info!("the outcome was recorded already (an answer was lost)");
                    return Ok(());
                }
                if state.erased_at.is_some() && !erased {
                    erased = true;
                    continue;
                }
                return cancelled(reasons);
            }
            if reasons.iter().any(|r| r == "TransactionConflict") && again {
                pause_before_try(tries).await;
                continue;
            }
            return cancelled(reasons);
        }
    }

    /// One update on its own, as `UpdateItem` (the transaction's `Update` shape).
    async fn update(
        &self,
        update: aws_sdk_dynamodb::types::Update,
    ) -> Result<
        (),
        aws_sdk_dynamodb::error::SdkError<
            aws_sdk_dynamodb::operation::update_item::UpdateItemError,
        >,
    > {
        self.client
            .update_item()
            .table_name(update.table_name)
            .set_key(Some(update.key))
            .update_expression(update.update_expression)
            .set_condition_expression(update.condition_expression)
            .set_expression_attribute_names(update.expression_attribute_names)
            .set_expression_attribute_values(update.expression_attribute_values)
            .send()
            .await?;
        Ok(())
    }

    /// The update that records `outcome` on the message, only while this attempt holds it.
    #[allow(clippy::too_many_arguments)]
    fn finish_update(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        key: &str,
        claim: &ClaimToken,
        outcome: &MessageOutcome,
        now: Timestamp,
        erased: bool,
    ) -> Result<aws_sdk_dynamodb::types::Update, StoreError> {
        let s = |v: &str| AttributeValue::S(v.to_owned());
        let (status, set, mut values): (MessageStatus, &str, Vec<(&str, AttributeValue)>) =
            match outcome {
                MessageOutcome::Sent {
                    ses_message_id,
                    subject,
                    locale,
                    ..
                } => (
                    MessageStatus::Sent,
                    "ses_message_id = :id, sent_at = :now, subject = :subject, rendered_locale = :locale",
                    vec![
                        (":id", s(ses_message_id)),
                        (":subject", s(subject)),
                        (":locale", s(locale)),
                    ],
                ),
                MessageOutcome::Skipped { reason } => (
                    MessageStatus::Skipped,
                    "reason = :reason",
                    vec![(":reason", s(reason))],
                ),
                MessageOutcome::HeldOut { .. } => (
                    MessageStatus::HeldOut,
                    "reason = :reason",
                    vec![(":reason", s("holdout"))],
                ),
                MessageOutcome::Deferred {
                    until,
                    reason,
                    wait_fits: true,
                } => (
                    MessageStatus::Deferred,
                    "reason = :reason, deferred_until = :until, due_at = :due, due_shard = :shard, waits = list_append(if_not_exists(waits,:no_waits),:wait)",
                    vec![
                        (
                            ":wait",
                            AttributeValue::L(vec![wait_of(reason, *until, now)]),
                        ),
                        (":no_waits", AttributeValue::L(Vec::new())),
                        (":reason", s(reason)),
                        (":until", s(&until.to_string())),
                        (":due", AttributeValue::N(until.as_second().to_string())),
                        (
                            ":shard",
                            s(&keys::due_shard(&keys::message(shop, customer, key).pk)),
                        ),
                    ],
                ),
                MessageOutcome::Deferred {
                    until,
                    reason,
                    wait_fits: false,
                } => (
                    MessageStatus::Deferred,
                    LATEST_WAIT_REPLACED,
                    vec![
                        (":wait", wait_of(reason, *until, now)),
                        (":zero", AttributeValue::N("0".into())),
                        (":one", AttributeValue::N("1".into())),
                        (":reason", s(reason)),
                        (":until", s(&until.to_string())),
                        (":due", AttributeValue::N(until.as_second().to_string())),
                        (
                            ":shard",
                            s(&keys::due_shard(&keys::message(shop, customer, key).pk)),
                        ),
                    ],
                ),
                MessageOutcome::Failed { error } => (
                    MessageStatus::Failed,
                    "#error = :error",
                    vec![(":error", s(error))],
                ),
                MessageOutcome::Retry { until, error, .. } => (
                    MessageStatus::Deferred,
                    "reason = :reason, #error = :error, deferred_until = :until, due_at = :due, due_shard = :shard, attempts = if_not_exists(attempts, :zero) + :one",
                    vec![
                        (":reason", s("ses_unavailable")),
                        (":error", s(error)),
                        (":until", s(&until.to_string())),
                        (":due", AttributeValue::N(until.as_second().to_string())),
                        (
                            ":shard",
                            s(&keys::due_shard(&keys::message(shop, customer, key).pk)),
                        ),
                        (":zero", AttributeValue::N("0".into())),
                        (":one", AttributeValue::N("1".into())),
                    ],
                ),
            };
        let personal = [":subject", ":error"];
        let mut clauses = vec!["#status = :status", "finished_at = :now"];
        clauses.extend(
            set.split(", ")
                .filter(|clause| !erased || !personal.iter().any(|p| clause.contains(p))),
        );
        let set = clauses.join(", ");
        // Out of the due index, where the claim put it, unless deferred to a new due time; an
        // earlier deferral's time and reason go too, so that an outcome never shows a stale
        // "why" (a message SENT after a throttled try is not `ses_unavailable`).
        let mut stale = vec!["claim_token"];
        if !set.contains("due_at") {
            stale.extend(["due_shard", "due_at", "deferred_until"]);
        }
        if !set.contains("reason") {
            stale.push("reason");
        }
        let remove = format!(" REMOVE {}", stale.join(", "));
        values.retain(|(name, _)| !erased || !personal.contains(name));
        values.push((":status", s(status.as_str())));
        values.push((":sending", s(MessageStatus::Sending.as_str())));
        values.push((":claim", s(claim.as_str())));
        values.push((":now", s(&now.to_string())));
        let mut update = aws_sdk_dynamodb::types::Update::builder()
            .table_name(&self.table)
            .set_key(Some(keys::message(shop, customer, key).to_item()))
            .update_expression(format!("SET {set}{remove}"))
            .condition_expression(if erased {
                "#status = :sending AND claim_token = :claim AND attribute_exists(erased_at)"
            } else {
                "#status = :sending AND claim_token = :claim AND attribute_not_exists(erased_at)"
            })
            .expression_attribute_names("#status", "status");
        if set.contains("#error") {
            update = update.expression_attribute_names("#error", "error");
        }
        for (name, value) in values {
            update = update.expression_attribute_values(name, value);
        }
        update
            .build()
            .map_err(|e| StoreError::Failed(e.to_string()))
    }

    /// The profile's update that goes with a recorded outcome, if any: optional mail that went
    /// out, or waits for its retry, takes its place under the customer's frequency cap; mail to
    /// the customer that went out becomes their last touch (for attribution), in the same
    /// update; a message held out becomes their held-out touch. Each bumps the version, so a
    /// webhook's write of the profile read before it is refused and decided again.
    fn finish_stamp(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        key: &str,
        outcome: &MessageOutcome,
        now: Timestamp,
    ) -> Result<Option<aws_sdk_dynamodb::types::Update>, StoreError> {
        if let MessageOutcome::HeldOut { would_have_gone_at } = outcome {
            let held = crate::domain::HeldOutTouch {
                key: key.to_owned(),
                at: crate::domain::epoch::whole_second(*would_have_gone_at),
            };
            let held = serde_dynamo::to_attribute_value(&held)
                .map_err(|e| StoreError::Failed(e.to_string()))?;
            return aws_sdk_dynamodb::types::Update::builder()
                .table_name(&self.table)
                .set_key(Some(keys::profile(shop, customer).to_item()))
                .update_expression("SET #mail.held_out_touch = :held, version = version + :one")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_names("#mail", "mail")
                .expression_attribute_values(":held", held)
                .expression_attribute_values(":one", AttributeValue::N("1".into()))
                .build()
                .map(Some)
                .map_err(|e| StoreError::Failed(e.to_string()));
        }
        let cap = matches!(
            outcome,
            MessageOutcome::Sent {
                counts_for_cap: true,
                ..
            } | MessageOutcome::Retry {
                counts_for_cap: true,
                ..
            }
        );
        let touch = matches!(
            outcome,
            MessageOutcome::Sent {
                last_touch: true,
                ..
            }
        );
        if !cap && !touch {
            return Ok(None);
        }
        let mut set = Vec::new();
        if cap {
            set.push("#mail.last_sent_at = :now");
        }
        if touch {
            set.push("#mail.last_touch = :touch");
        }
        let mut stamp = aws_sdk_dynamodb::types::Update::builder()
            .table_name(&self.table)
            .set_key(Some(keys::profile(shop, customer).to_item()))
            .update_expression(format!("SET {}, version = version + :one", set.join(", ")))
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#mail", "mail")
            .expression_attribute_values(":one", AttributeValue::N("1".into()));
        if cap {
            stamp = stamp.expression_attribute_values(":now", epoch_second(now));
        }
        if touch {
            let last = crate::domain::LastTouch {
                key: key.to_owned(),
                sent_at: crate::domain::epoch::whole_second(now),
                clicked_at: None,
            };
            let touch = serde_dynamo::to_attribute_value(&last)
                .map_err(|e| StoreError::Failed(e.to_string()))?;
            stamp = stamp.expression_attribute_values(":touch", touch);
        }
        stamp
            .build()
            .map(Some)
            .map_err(|e| StoreError::Failed(e.to_string()))
    }

    /// Records on a message still SENDING at its due time that its outcome is unknown (the
    /// sender stopped between the claim and the record; SES may have sent it), once, and takes
    /// it out of the due index. It stays SENDING, so it is never sent again automatically.
    /// `false` if the sender recorded an outcome after all, or it was marked already. A mark
    /// with the same `now` counts as this call's own (applied, its answer lost, sent again by
    /// the SDK): `true`, so that the pass counts it and the alarm hears of it.
    pub async fn mark_send_unknown(
        &self,
        key: &Key,
        reason: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key.to_item()))
            .update_expression("SET reason = :reason, unknown_at = :now REMOVE due_shard, due_at")
            .condition_expression(
                "#status = :sending AND (attribute_not_exists(unknown_at) OR unknown_at = :now)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(
                ":sending",
                AttributeValue::S(MessageStatus::Sending.as_str().into()),
            )
            .expression_attribute_values(":reason", AttributeValue::S(reason.into()))
            .expression_attribute_values(":now", AttributeValue::S(now.to_string()))
            .send()
            .await;
        condition_applied(result)
    }

    /// Counts a send whose outcome is unknown for the customer's frequency cap, as a recorded
    /// send does (`mail.last_sent_at`): SES may well have sent it. No profile: nothing to do.
    /// Tried as often as the claim and the record: nothing retries it later (the message stays
    /// SENDING and is never claimed again), so a busy moment here would let the customer's
    /// next optional email follow too soon.
    pub async fn stamp_possible_send(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tries = 0;
        loop {
            tries += 1;
            match self.try_stamp_possible_send(shop, customer, now).await {
                Err(err) if err.is_transient() && tries < WRITE_TRIES => {
                    pause_before_try(tries).await
                }
                done => return done,
            }
        }
    }

    async fn try_stamp_possible_send(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::profile(shop, customer).to_item()))
            .update_expression("SET #mail.last_sent_at = :now, version = version + :one")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#mail", "mail")
            .expression_attribute_values(":now", epoch_second(now))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .send()
            .await;
        condition_applied(result).map(|_| ())
    }
}

/// Who holds a message, read when recording its outcome was refused.
#[derive(Debug, Deserialize)]
struct ClaimState {
    status: MessageStatus,
    #[serde(default)]
    claim_token: Option<String>,
    #[serde(default)]
    erased_at: Option<String>,
}

/// What became of a claimed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageOutcome {
    Sent {
        ses_message_id: String,
        subject: String,
        locale: String,
        /// Service and promotional mail counts for the customer's frequency cap.
        counts_for_cap: bool,
        /// Mail to the customer (not the shop's own alerts) becomes their last touch, the
        /// message their next order is attributed to.
        last_touch: bool,
    },
    Skipped {
        reason: String,
    },
    /// The customer is in the holdout group: not sent. The message becomes their held-out
    /// touch, measured from when it would have gone.
    HeldOut {
        would_have_gone_at: Timestamp,
    },
    Deferred {
        until: Timestamp,
        reason: String,
        /// The message's history has room for this wait; if not, it replaces the latest.
        wait_fits: bool,
    },
    Failed {
        error: String,
    },
    /// SES did not take it (throttled, paused): DEFERRED until `until`, when the schedule
    /// tries again; the attempt is counted.
    Retry {
        until: Timestamp,
        error: String,
        /// Optional mail keeps its place under the customer's frequency cap while it waits.
        counts_for_cap: bool,
    },
}

/// A deferral as the message's `waits` list holds it (see [`crate::domain::Wait`]).
fn wait_of(reason: &str, until: Timestamp, now: Timestamp) -> AttributeValue {
    AttributeValue::M(HashMap::from([
        ("at".to_owned(), AttributeValue::S(now.to_string())),
        ("reason".to_owned(), AttributeValue::S(reason.to_owned())),
        ("until".to_owned(), AttributeValue::S(until.to_string())),
    ]))
}

/// A deferral of a message whose history is full: it takes the latest wait's place (the last
/// of [`crate::domain::WAITS_KEPT`]) and the one it replaces is counted.
const LATEST_WAIT_REPLACED: &str = "reason = :reason, deferred_until = :until, due_at = :due, due_shard = :shard, waits[2] = :wait, waits_dropped = if_not_exists(waits_dropped, :zero) + :one";

const _: () = assert!(
    crate::domain::WAITS_KEPT == 3,
    "LATEST_WAIT_REPLACED names waits[2]"
);

/// A profile's time as it stores them: whole epoch seconds (see [`crate::domain::epoch`]).
fn epoch_second(at: Timestamp) -> AttributeValue {
    AttributeValue::N(at.as_second().to_string())
}
