//! The marketers' session generations: one small item per marketer, read once per page view
//! (one strongly consistent `GetItem`, 1 read unit) and moved on by logout or a password reset,
//! which ends every session issued before.

use super::keys::{self, ITEM_KIND};
use super::{Store, StoreError};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

const GENERATION: &str = "generation";

impl Store {
    /// The marketer's current session generation (0 before the first logout).
    pub async fn session_generation(&self, user: &str) -> Result<u64, StoreError> {
        let out = self
            .client()
            .get_item()
            .table_name(self.table())
            .set_key(Some(keys::admin_sessions(user).to_item()))
            .projection_expression(GENERATION)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::from_sdk(&e))?;
        generation_of(out.item.as_ref().and_then(|item| item.get(GENERATION)))
    }

    /// Ends every session of the marketer: moves the generation on and returns the new one.
    pub async fn end_sessions(&self, user: &str) -> Result<u64, StoreError> {
        let out = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(keys::admin_sessions(user).to_item()))
            .update_expression("ADD #generation :one SET #item = :kind")
            .expression_attribute_names("#generation", GENERATION)
            .expression_attribute_names("#item", ITEM_KIND)
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":kind", AttributeValue::S("admin_sessions".into()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| StoreError::from_sdk(&e))?;
        generation_of(
            out.attributes
                .as_ref()
                .and_then(|item| item.get(GENERATION)),
        )
    }
}

fn generation_of(value: Option<&AttributeValue>) -> Result<u64, StoreError> {
    match value {
        None => Ok(0),
        Some(AttributeValue::N(n)) => n
            .parse()
            .map_err(|_| StoreError::Corrupt("admin session generation".into())),
        Some(_) => Err(StoreError::Corrupt("admin session generation".into())),
    }
}
