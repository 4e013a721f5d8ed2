//! What comes after a message was sent: SES's reports (delivery, bounce, complaint, open,
//! click) added to its history, and a click on the customer's last touch stamped on the
//! profile, where it starts the attribution window in click mode.

use super::error::condition_applied;
use super::keys;
use super::{Store, StoreError};
use crate::domain::{
    CustomerId, DeliveryReport, DeliveryStatus, MessageRecord, ShopId, add_report, delivery_status,
};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::AttributeValue;

impl Store {
    /// Adds an SES report to its message's history and sets the delivery status, with a
    /// condition on the history read, so concurrent reports are all kept. Idempotent.
    pub async fn record_report(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        key: &str,
        report: &DeliveryReport,
    ) -> Result<ReportRecorded, StoreError> {
        let item_key = keys::message(shop, customer, key);
        for _ in 0..5 {
            let Some(message) = self.get::<MessageRecord>(&item_key, "message").await? else {
                return Ok(ReportRecorded::UnknownMessage);
            };
            // The customer was erased: the report is kept without SES's text (a bounce's
            // diagnostic may quote the address).
            let mut report = report.clone();
            if message.erased_at.is_some() {
                report.detail = None;
            }
            // A report on a message of an earlier day changes that day's summary; marked after
            // the report is in (and again on a duplicate, should the first marking have failed).
            let Some(history) = add_report(&message.reports, report.clone()) else {
                self.mark_log_change(shop, message.intent.created_at, report.at)
                    .await?;
                // Again on a duplicate, should the first stamp have failed (it is once only).
                self.stamp_click(shop, customer, key, &report).await?;
                return Ok(ReportRecorded::Duplicate);
            };
            let status = delivery_status(&history).map(DeliveryStatus::as_str);
            let reports = serde_dynamo::to_attribute_value(&history)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let mut update = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(item_key.to_item()))
                .update_expression("SET reports = :reports, delivery_status = :status")
                .expression_attribute_values(":reports", reports)
                .expression_attribute_values(
                    ":status",
                    AttributeValue::S(status.unwrap_or_default().to_owned()),
                );
            // An erasure since the read cancels the write: read again and drop the text.
            let erasure = if message.erased_at.is_some() {
                ""
            } else {
                " AND attribute_not_exists(erased_at)"
            };
            update = if message.reports.is_empty() {
                update.condition_expression(format!(
                    "attribute_exists(pk) AND attribute_not_exists(reports){erasure}"
                ))
            } else {
                update
                    .condition_expression(format!("size(reports) = :read{erasure}"))
                    .expression_attribute_values(
                        ":read",
                        AttributeValue::N(message.reports.len().to_string()),
                    )
            };
            match update.send().await {
                Ok(_) => {
                    self.mark_log_change(shop, message.intent.created_at, report.at)
                        .await?;
                    self.stamp_click(shop, customer, key, &report).await?;
                    return Ok(ReportRecorded::Added);
                }
                Err(err) if err.code() == Some("ConditionalCheckFailedException") => continue,
                Err(err) => return Err(StoreError::from_sdk(&err)),
            }
        }
        Err(StoreError::Unavailable(
            "the message kept changing under concurrent reports".into(),
        ))
    }

    /// A click on the customer's last touch starts its attribution window in click mode: the
    /// first click is stamped on the profile (1 write unit, with the version moved so that a
    /// decision made on the profile read before it is made again). A click on an older message,
    /// or a later click, changes nothing.
    async fn stamp_click(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        key: &str,
        report: &DeliveryReport,
    ) -> Result<(), StoreError> {
        if report.status != DeliveryStatus::Clicked {
            return Ok(());
        }
        let at = crate::domain::epoch::whole_second(report.at).as_second();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::profile(shop, customer).to_item()))
            .update_expression("SET #mail.last_touch.clicked_at = :at, version = version + :one")
            .condition_expression(
                "#mail.last_touch.#key = :key AND attribute_not_exists(#mail.last_touch.clicked_at)",
            )
            .expression_attribute_names("#mail", "mail")
            .expression_attribute_names("#key", "key")
            .expression_attribute_values(":key", AttributeValue::S(key.to_owned()))
            .expression_attribute_values(":at", AttributeValue::N(at.to_string()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .send()
            .await;
        condition_applied(result).map(|_| ())
    }
}

/// What became of an SES report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportRecorded {
    /// Added to the message's history.
    Added,
    /// The same report was there already.
    Duplicate,
    /// No such message (not trouw's, or removed).
    UnknownMessage,
}
