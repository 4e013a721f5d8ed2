//! The login throttles' items: one per user name and one per client address (keyed hashes),
//! each a few dozen bytes with a TTL. Written with a version check, so that parallel attempts
//! are each counted.

use super::keys::{self, ThrottleScope};
use super::{Store, StoreError, Written};
use crate::domain::{LoginThrottle, ThrottlePolicy};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

/// A throttle as read, with the version its next write must find.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThrottleRead {
    pub state: LoginThrottle,
    /// `None`: there was no item.
    pub version: Option<u64>,
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
    pub async fn login_throttle(
        &self,
        scope: ThrottleScope,
        subject: &str,
    ) -> Result<ThrottleRead, StoreError> {
        let item: Option<ThrottleItem> = self
            .get(&keys::login_throttle(scope, subject), KIND)
            .await?;
        Ok(item.map_or_else(ThrottleRead::default, |i| ThrottleRead {
            state: i.state,
            version: Some(i.version),
        }))
    }

    /// Writes `state` if the item is still as `read` found it; returns the version written.
    pub async fn put_login_throttle(
        &self,
        scope: ThrottleScope,
        subject: &str,
        read: &ThrottleRead,
        state: &LoginThrottle,
        policy: &ThrottlePolicy,
    ) -> Result<(Written, u64), StoreError> {
        let key = keys::login_throttle(scope, subject);
        let version = read.version.map_or(1, |v| v.saturating_add(1));
        let item = ThrottleItem {
            state: state.clone(),
            version,
            expires_at: state.expires_at(policy).as_second(),
        };
        let mut put = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(super::dynamo::encode(&item, &key, KIND)?));
        put = match read.version {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some(v) => put
                .condition_expression("version = :read")
                .expression_attribute_values(":read", AttributeValue::N(v.to_string())),
        };
        match put.send().await {
            Ok(_) => Ok((Written::Committed, version)),
            Err(err) if err.code() == Some("ConditionalCheckFailedException") => {
                Ok((Written::Conflict, version))
            }
            Err(err) => Err(StoreError::from_sdk(&err)),
        }
    }

    /// Gives back an attempt counted up front: puts `before` back (or removes the item if there
    /// was none), only if nobody counted another attempt since `written`. A conflict leaves
    /// one attempt too many counted, which is harmless.
    pub async fn restore_login_throttle(
        &self,
        scope: ThrottleScope,
        subject: &str,
        before: &ThrottleRead,
        written: u64,
        policy: &ThrottlePolicy,
    ) -> Result<(), StoreError> {
        let key = keys::login_throttle(scope, subject);
        let condition = (":written", AttributeValue::N(written.to_string()));
        let result = match before.version {
            None => self
                .client()
                .delete_item()
                .table_name(self.table())
                .set_key(Some(key.to_item()))
                .condition_expression("version = :written")
                .expression_attribute_values(condition.0, condition.1)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| {
                    (
                        e.code() == Some("ConditionalCheckFailedException"),
                        StoreError::from_sdk(&e),
                    )
                }),
            Some(_) => {
                let item = ThrottleItem {
                    state: before.state.clone(),
                    version: written.saturating_add(1),
                    expires_at: before.state.expires_at(policy).as_second(),
                };
                self.client()
                    .put_item()
                    .table_name(self.table())
                    .set_item(Some(super::dynamo::encode(&item, &key, KIND)?))
                    .condition_expression("version = :written")
                    .expression_attribute_values(condition.0, condition.1)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| {
                        (
                            e.code() == Some("ConditionalCheckFailedException"),
                            StoreError::from_sdk(&e),
                        )
                    })
            }
        };
        match result {
            Ok(()) | Err((true, _)) => Ok(()),
            Err((false, err)) => Err(err),
        }
    }

    /// Forgets a user name's failures (after a complete login).
    pub async fn clear_login_throttle(
        &self,
        scope: ThrottleScope,
        subject: &str,
    ) -> Result<(), StoreError> {
        self.client()
            .delete_item()
            .table_name(self.table())
            .set_key(Some(keys::login_throttle(scope, subject).to_item()))
            .send()
            .await
            .map_err(|e| StoreError::from_sdk(&e))?;
        Ok(())
    }
}
