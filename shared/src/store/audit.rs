//! The audit entries of the marketers' pages: one item per reveal or download, in one
//! partition per shop sorted by time (a Query reads a period), removed by the TTL after 400
//! days. Not in the log index: they are about marketers, not customers.

use super::keys::{self, EXPIRES_AT};
use super::{Store, StoreError};
use crate::domain::{AuditEntry, ShopId, Timestamp};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::AttributeValue;

const KIND: &str = "audit entry";

impl Store {
    /// Records an entry. Two entries in the same microsecond get neighbouring keys.
    pub async fn record_audit(&self, shop: &ShopId, entry: &AuditEntry) -> Result<(), StoreError> {
        let micros = entry.at.as_microsecond();
        for attempt in 0..5 {
            let key = keys::audit_entry(shop, micros.saturating_add(attempt));
            let mut item = super::items::encode(entry, &key, KIND)?;
            item.insert(
                EXPIRES_AT.into(),
                AttributeValue::N(entry.expires_at().to_string()),
            );
            match self
                .client()
                .put_item()
                .table_name(self.table())
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .send()
                .await
            {
                Ok(_) => return Ok(()),
                Err(err) if err.code() == Some("ConditionalCheckFailedException") => continue,
                Err(err) => return Err(StoreError::from_sdk(&err)),
            }
        }
        Err(StoreError::Unavailable(
            "no free audit key in five microseconds".into(),
        ))
    }

    /// Entries at `start` or later and before `end`, newest first, at most `limit`; and the
    /// time (epoch µs) to pass as `end` for the next, older page.
    pub async fn audit_page(
        &self,
        shop: &ShopId,
        start: Timestamp,
        end: Timestamp,
        limit: i32,
    ) -> Result<(Vec<AuditEntry>, Option<i64>), StoreError> {
        let micros = |t: Timestamp| t.as_microsecond();
        let out = self
            .client()
            .query()
            .table_name(self.table())
            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
            .expression_attribute_values(":pk", AttributeValue::S(keys::audit_partition(shop)))
            .expression_attribute_values(
                ":from",
                AttributeValue::S(keys::audit_sort_key(micros(start))),
            )
            .expression_attribute_values(
                ":to",
                AttributeValue::S(keys::audit_sort_key(micros(end).saturating_sub(1))),
            )
            .scan_index_forward(false)
            .limit(limit)
            .send()
            .await
            .map_err(|e| StoreError::from_sdk(&e))?;
        let items = out.items.unwrap_or_default();
        let entries = items
            .into_iter()
            .map(|item| super::items::decode::<AuditEntry>(item, KIND))
            .collect::<Result<Vec<_>, _>>()?;
        let older = out.last_evaluated_key.and_then(|k| {
            k.get(keys::SK)?
                .as_s()
                .ok()?
                .strip_prefix(keys::AUDIT_PREFIX)?
                .parse()
                .ok()
        });
        Ok((entries, older))
    }
}
