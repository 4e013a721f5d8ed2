//! An erasure's writes: the erased customer in version-checked transactions within
//! DynamoDB's limits, and the update that erases a message's personal attributes. Apart from
//! the decision's write: an erasure writes many items in steps, and sizes them.

use super::dynamo::{ProcessedEvent, Written, interpret, processed_item};
use super::items::{Item, order_item, order_put, profile_item, put_item};
use super::keys;
use super::{Store, StoreError};
use crate::domain::{CustomerId, Erasure, MessageErasure, ShopId, Timestamp};
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};

impl Store {
    /// Writes an erasure in version-checked steps, each one transaction within DynamoDB's limits
    /// (100 items, 4 MB). What fits in one is written at once: the processed-event record, the
    /// erased profile (only if still at the version read) and every changed item. A bigger one
    /// first writes the erased profile marked `erasing` with a new version, then erases more
    /// items in steps that each check the profile is still at that version, and last writes the
    /// processed-event record and the profile without the mark. A writer that changes the
    /// customer in between moves the version, so the next step is cancelled and the erasure
    /// reads and goes on from what is stored (`Conflict`); while the mark is set `decide`
    /// stores nothing personal, so no write is lost and none brings personal data back. Each
    /// step is idempotent: an erasure that died halfway is finished by running it again.
    #[allow(clippy::too_many_arguments)]
    pub async fn write_erasure(
        &self,
        shop: &ShopId,
        read_version: u64,
        erasure: &Erasure,
        messages: &[MessageErasure],
        loyalty: &super::LoyaltyErasure,
        bought: &[crate::domain::Sku],
        processed: &ProcessedEvent,
        settings: &crate::domain::ShopSettings,
        now: Timestamp,
    ) -> Result<Written, StoreError> {
        let customer = &erasure.profile.id;
        let mut writes: std::collections::VecDeque<(TransactWriteItem, usize)> =
            std::collections::VecDeque::new();
        for order in &erasure.orders {
            // Loyalty facts stay, and so do their timers (points still get confirmed).
            let item = order_item(shop, customer, order, order.next_due(settings))?;
            let size = item_size(&item);
            // Only if still as read: an order's own write does not move the profile's version.
            writes.push_back((order_put(&self.table, item, order, false)?, size));
        }
        for message in messages {
            writes.push_back(self.message_erasure(shop, customer, message, now)?);
        }
        writes.extend(self.loyalty_erasure(shop, customer, loyalty)?);
        // The customer leaves the regular buyers of every product they bought (deleting an
        // entry that is not there changes nothing).
        for sku in bought {
            let delete = super::stock::regular_buyer_delete(&self.table, shop, customer, sku)?;
            writes.push_back((delete, 300));
        }
        let profile_at =
            |version: u64, erasing: bool| -> Result<(TransactWriteItem, usize), StoreError> {
                let mut profile = erasure.profile.clone();
                profile.version = version + 1;
                profile.erasing = erasing;
                let item = profile_item(shop, &profile)?;
                let size = item_size(&item);
                let put = put_item(
                    &self.table,
                    item,
                    Some(("version = :read_version", Some(version))),
                )?;
                Ok((put, size))
            };
        let event = processed_item(shop, processed)?;
        let event_size = item_size(&event);
        let event = put_item(&self.table, event, Some(("attribute_not_exists(pk)", None)))?;

        let mut version = read_version;
        let mut marked = false;
        loop {
            let (last_profile, profile_size) = profile_at(version, false)?;
            let rest: usize = writes.iter().map(|w| w.1).sum();
            if writes.len() + 2 <= TRANSACTION_ITEMS
                && rest + event_size + profile_size <= TRANSACTION_BYTES
            {
                let mut items = vec![event, last_profile];
                items.extend(writes.into_iter().map(|w| w.0));
                return match self.try_transact(items).await? {
                    None => Ok(Written::Committed),
                    Some(reasons) => erasure_cancelled(&reasons, true),
                };
            }
            let (head, head_size) = if marked {
                let check = aws_sdk_dynamodb::types::ConditionCheck::builder()
                    .table_name(&self.table)
                    .set_key(Some(keys::profile(shop, customer).to_item()))
                    .condition_expression("version = :read_version")
                    .expression_attribute_values(
                        ":read_version",
                        AttributeValue::N(version.to_string()),
                    )
                    .build()
                    .map_err(|e| StoreError::Failed(e.to_string()))?;
                (
                    TransactWriteItem::builder().condition_check(check).build(),
                    200,
                )
            } else {
                let marked_profile = profile_at(version, true)?;
                version += 1;
                marked = true;
                marked_profile
            };
            let mut items = vec![head];
            let mut bytes = head_size;
            while let Some((_, size)) = writes.front() {
                if items.len() == TRANSACTION_ITEMS
                    || (items.len() > 1 && bytes + size > TRANSACTION_BYTES)
                {
                    break;
                }
                bytes += size;
                items.extend(writes.pop_front().map(|w| w.0));
            }
            if let Some(reasons) = self.try_transact(items).await? {
                return erasure_cancelled(&reasons, false);
            }
        }
    }

    /// The update that erases one message: only its personal attributes, and only if no SES
    /// report came since it was read (a report's text would otherwise stay).
    fn message_erasure(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        message: &MessageErasure,
        now: Timestamp,
    ) -> Result<(TransactWriteItem, usize), StoreError> {
        let key = keys::message(shop, customer, &message.key);
        let mut set = vec!["erased_at = :erased_at"];
        let mut values = vec![(":erased_at", AttributeValue::S(now.to_string()))];
        if let Some(data) = &message.data {
            set.push("#data = :data");
            values.push((
                ":data",
                serde_dynamo::to_attribute_value(data)
                    .map_err(|e| StoreError::Corrupt(format!("message data: {e}")))?,
            ));
        }
        if let Some(reports) = &message.reports {
            set.push("reports = :reports");
            values.push((
                ":reports",
                serde_dynamo::to_attribute_value(reports)
                    .map_err(|e| StoreError::Corrupt(format!("message reports: {e}")))?,
            ));
        }
        let reports_unchanged = if message.reports_read == 0 {
            "attribute_not_exists(reports)"
        } else {
            values.push((
                ":reports_read",
                AttributeValue::N(message.reports_read.to_string()),
            ));
            "size(reports) = :reports_read"
        };
        let mut update = aws_sdk_dynamodb::types::Update::builder()
            .table_name(&self.table)
            .set_key(Some(key.to_item()))
            .update_expression(format!("SET {} REMOVE subject, #error", set.join(", ")))
            .condition_expression(format!("attribute_exists(pk) AND {reports_unchanged}"))
            .expression_attribute_names("#error", "error");
        if message.data.is_some() {
            update = update.expression_attribute_names("#data", "data");
        }
        let mut size = key.pk.len() + key.sk.len() + 200;
        for (name, value) in values {
            size += attribute_size(&value);
            update = update.expression_attribute_values(name, value);
        }
        let update = update
            .build()
            .map_err(|e| StoreError::Failed(e.to_string()))?;
        Ok((TransactWriteItem::builder().update(update).build(), size))
    }
}

/// DynamoDB's limits for one transaction: 100 items and 4 MB (kept well below, for the
/// request's own overhead and the estimate's roughness).
const TRANSACTION_ITEMS: usize = 100;

const TRANSACTION_BYTES: usize = 3_000_000;

/// What a cancelled step of an erasure meant. The first item of the last step is the
/// processed-event record: there, its condition failing means a duplicate delivery. Any other
/// failed condition means the customer changed under the erasure (the profile's version, or a
/// message's SES history): read again and go on.
fn erasure_cancelled(reasons: &[String], event_first: bool) -> Result<Written, StoreError> {
    let failed = |r: &String| r == "ConditionalCheckFailed" || r == "TransactionConflict";
    if event_first && reasons.first().map(String::as_str) == Some("ConditionalCheckFailed") {
        return Ok(Written::Duplicate);
    }
    if reasons.iter().any(failed) {
        return Ok(Written::Conflict);
    }
    interpret(reasons)
}

/// Roughly how many bytes an item takes in a request (names and values), for the 4 MB limit.
fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + attribute_size(value))
        .sum()
}

fn attribute_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) | AttributeValue::N(s) => s.len() + 8,
        AttributeValue::B(b) => b.as_ref().len() + 8,
        AttributeValue::M(m) => item_size(m) + 8,
        AttributeValue::L(l) => l.iter().map(attribute_size).sum::<usize>() + 8,
        AttributeValue::Ss(v) | AttributeValue::Ns(v) => v.iter().map(|s| s.len() + 8).sum(),
        AttributeValue::Bs(v) => v.iter().map(|b| b.as_ref().len() + 8).sum(),
        _ => 8,
    }
}
