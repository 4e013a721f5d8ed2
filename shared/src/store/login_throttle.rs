//! The login throttles' items: one per user name and one per client address (keyed hashes),
//! each a few dozen bytes with a TTL. An attempt costs three requests whatever happens: one
//! `BatchGetItem` for both counters, one transaction counting it on both (each only if still as
//! read, so parallel attempts are each counted), one transaction settling it.

use super::items::Item;
use super::keys::{self, Key, ThrottleScope};
use super::{Store, StoreError, Written};
use crate::domain::{LoginThrottle, ThrottlePolicy};
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use serde::{Deserialize, Serialize};

/// A throttle as read, with the version its next write must find.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThrottleRead {
    pub state: LoginThrottle,
    /// `None`: there was no item.
    pub version: Option<u64>,
}

/// One counter of an attempt: which, as read, and the state with the attempt counted.
pub struct ThrottleCount<'a> {
    pub scope: ThrottleScope,
    pub subject: &'a str,
    pub read: &'a ThrottleRead,
    pub next: &'a LoginThrottle,
    pub policy: &'a ThrottlePolicy,
}

/// What becomes of one counter once the credentials were checked.
pub enum ThrottleSettle<'a> {
    /// Forget every failure (a complete login of this user name).
    Forget {
        scope: ThrottleScope,
        subject: &'a str,
    },
    /// Put back the state `before` the attempt, only if nobody counted another since `written`;
    /// otherwise this attempt stays counted, which is harmless.
    GiveBack {
        scope: ThrottleScope,
        subject: &'a str,
        before: &'a ThrottleRead,
        written: u64,
        policy: &'a ThrottlePolicy,
    },
}

/// The item; `expires_at` is the table's TTL attribute (`keys::EXPIRES_AT`).
#[derive(Serialize, Deserialize)]
struct ThrottleItem {
    #[serde(flatten)]
    state: LoginThrottle,
    version: u64,
    expires_at: i64,
}

const KIND: &str = "login throttle";

impl Store {
    /// Both counters of an attempt, read consistently in one request.
    pub async fn login_throttles(
        &self,
        counters: [(ThrottleScope, &str); 2],
    ) -> Result<[ThrottleRead; 2], StoreError> {
        let wanted: [Key; 2] =
            counters.map(|(scope, subject)| keys::login_throttle(scope, subject));
        let found = self.items_by_key(&wanted, true).await?;
        let read = |key: &Key| -> Result<ThrottleRead, StoreError> {
            match found.get(key) {
                None => Ok(ThrottleRead::default()),
                Some(item) => {
                    let item: ThrottleItem = super::items::decode(item.clone(), KIND)?;
                    Ok(ThrottleRead {
                        state: item.state,
                        version: Some(item.version),
                    })
                }
            }
        };
        Ok([read(&wanted[0])?, read(&wanted[1])?])
    }

    /// Counts an attempt on every counter in one transaction, each only if still as read;
    /// `Conflict` if any changed meanwhile (read again and retry). Returns the versions written.
    pub async fn count_login_attempt(
        &self,
        counts: &[ThrottleCount<'_>],
    ) -> Result<(Written, Vec<u64>), StoreError> {
        let mut items = Vec::new();
        let mut versions = Vec::new();
        for count in counts {
            let version = count.read.version.map_or(1, |v| v.saturating_add(1));
            let item = throttle_item(
                count.scope,
                count.subject,
                count.next,
                version,
                count.policy,
            )?;
            let put = Put::builder().table_name(self.table()).set_item(Some(item));
            let put = match count.read.version {
                None => put.condition_expression("attribute_not_exists(pk)"),
                Some(v) => put
                    .condition_expression("version = :read")
                    .expression_attribute_values(":read", AttributeValue::N(v.to_string())),
            };
            items.push(
                TransactWriteItem::builder()
                    .put(put.build().map_err(|e| StoreError::Failed(e.to_string()))?)
                    .build(),
            );
            versions.push(version);
        }
        match self.try_transact(items).await? {
            None => Ok((Written::Committed, versions)),
            Some(_) => Ok((Written::Conflict, versions)),
        }
    }

    /// Settles an attempt on every counter in one transaction; if a give-back finds a newer
    /// count, the counters are settled one by one and that one is left as it is.
    pub async fn settle_login_attempt(
        &self,
        settles: &[ThrottleSettle<'_>],
    ) -> Result<(), StoreError> {
        let items = settles
            .iter()
            .map(|s| self.settle_item(s))
            .collect::<Result<Vec<_>, _>>()?;
        if self.try_transact(items).await?.is_none() {
            return Ok(());
        }
        // One at a time (a rare path, so the doubled transaction price does not matter): a
        // counter that another attempt moved on is left as it is.
        for settle in settles {
            if let Some(reasons) = self.try_transact(vec![self.settle_item(settle)?]).await?
                && reasons.iter().any(|r| r != "ConditionalCheckFailed")
            {
                return Err(StoreError::Unavailable(format!(
                    "settling a login attempt was cancelled: {reasons:?}"
                )));
            }
        }
        Ok(())
    }

    fn settle_item(&self, settle: &ThrottleSettle<'_>) -> Result<TransactWriteItem, StoreError> {
        let built = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Failed(e.to_string());
        Ok(match settle {
            ThrottleSettle::Forget { scope, subject } => TransactWriteItem::builder()
                .delete(
                    Delete::builder()
                        .table_name(self.table())
                        .set_key(Some(keys::login_throttle(*scope, subject).to_item()))
                        .build()
                        .map_err(built)?,
                )
                .build(),
            ThrottleSettle::GiveBack {
                scope,
                subject,
                before,
                written,
                policy,
            } => {
                let written = AttributeValue::N(written.to_string());
                match before.version {
                    None => TransactWriteItem::builder()
                        .delete(
                            Delete::builder()
                                .table_name(self.table())
                                .set_key(Some(keys::login_throttle(*scope, subject).to_item()))
                                .condition_expression("version = :written")
                                .expression_attribute_values(":written", written)
                                .build()
                                .map_err(built)?,
                        )
                        .build(),
                    Some(_) => {
                        let version = written_plus_one(&written);
                        TransactWriteItem::builder()
                            .put(
                                Put::builder()
                                    .table_name(self.table())
                                    .set_item(Some(throttle_item(
                                        *scope,
                                        subject,
                                        &before.state,
                                        version,
                                        policy,
                                    )?))
                                    .condition_expression("version = :written")
                                    .expression_attribute_values(":written", written)
                                    .build()
                                    .map_err(built)?,
                            )
                            .build()
                    }
                }
            }
        })
    }
}

fn written_plus_one(written: &AttributeValue) -> u64 {
    written
        .as_n()
        .ok()
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0)
        .saturating_add(1)
}

fn throttle_item(
    scope: ThrottleScope,
    subject: &str,
    state: &LoginThrottle,
    version: u64,
    policy: &ThrottlePolicy,
) -> Result<Item, StoreError> {
    let item = ThrottleItem {
        state: state.clone(),
        version,
        expires_at: state.expires_at(policy).as_second(),
    };
    super::items::encode(&item, &keys::login_throttle(scope, subject), KIND)
}
