//! Events parked for an order trouw does not know yet, and the order's owner that tells when
//! it arrives. Apart from the decision's write: a parked event is read and removed around a
//! decision, never in its transaction.

use super::dynamo::{OrderOwner, Written};
use super::error::condition_applied;
use super::items::{decode, encode};
use super::keys;
use super::{Store, StoreError};
use crate::domain::{CustomerId, OrderFact, OrderId, ParkedEvent, ShopId, Timestamp};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use serde::{Deserialize, Serialize};

impl Store {
    /// Parks an event about an order trouw does not know yet, for [`ParkedEvent::KEEP_FOR`].
    /// `Duplicate` when it is parked already (nothing is written then).
    pub async fn park_event(
        &self,
        shop: &ShopId,
        parked: &ParkedEvent,
        now: Timestamp,
    ) -> Result<Written, StoreError> {
        let record = ParkedRecord {
            event: parked.clone(),
            expires_at: (now + ParkedEvent::KEEP_FOR).as_second(),
        };
        let key = keys::parked_event(shop, &parked.order_id, &parked.event_id);
        // `expires_at` (the table's TTL attribute) is a field of the record.
        let item = encode(&record, &key, "parked_event")?;
        match self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
        {
            Ok(_) => Ok(Written::Committed),
            Err(err) if err.code() == Some("ConditionalCheckFailedException") => {
                Ok(Written::Duplicate)
            }
            Err(err) => Err(StoreError::from_sdk(&err)),
        }
    }

    /// One Query, strongly consistent: the order's owner, if trouw has seen the order, and the
    /// events parked for it that have not expired (DynamoDB's TTL deletes late).
    pub async fn order_arrivals(
        &self,
        shop: &ShopId,
        order: &OrderId,
        now: Timestamp,
    ) -> Result<(Option<CustomerId>, Vec<ParkedEvent>), StoreError> {
        let mut owner = None;
        let mut parked = Vec::new();
        self.read_partition(
            &keys::order_partition(shop, order),
            None,
            true,
            |sk, item| {
                if sk == keys::OWNER_SK {
                    owner = Some(decode::<OrderOwner>(item, "order owner")?.customer_id);
                } else if sk.starts_with(keys::PARKED_PREFIX) {
                    let record = decode::<ParkedRecord>(item, "parked event")?;
                    if record.expires_at > now.as_second() {
                        parked.push(record.event);
                    }
                }
                Ok(())
            },
        )
        .await?;
        Ok((owner, parked))
    }

    /// Removes a parked event once it has been applied (or found applied before).
    pub async fn unpark_event(
        &self,
        shop: &ShopId,
        parked: &ParkedEvent,
    ) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(
                keys::parked_event(shop, &parked.order_id, &parked.event_id).to_item(),
            ))
            .send()
            .await
            .map_err(|e| StoreError::from_sdk(&e))?;
        Ok(())
    }

    /// Every event parked under an order, expired or not (for an erasure).
    pub async fn parked_events(
        &self,
        shop: &ShopId,
        order: &OrderId,
    ) -> Result<Vec<ParkedEvent>, StoreError> {
        let mut parked = Vec::new();
        self.read_partition(
            &keys::order_partition(shop, order),
            Some(keys::PARKED_PREFIX),
            true,
            |_, item| {
                parked.push(decode::<ParkedRecord>(item, "parked event")?.event);
                Ok(())
            },
        )
        .await?;
        Ok(parked)
    }

    /// Replaces what a parked return says (its facts), if it is still parked: one applied
    /// meanwhile is gone and stays gone.
    pub async fn rewrite_parked(
        &self,
        shop: &ShopId,
        parked: &ParkedEvent,
    ) -> Result<(), StoreError> {
        let OrderFact::Returned { facts } = &parked.fact else {
            return Ok(());
        };
        let facts = serde_dynamo::to_attribute_value(facts)
            .map_err(|e| StoreError::Corrupt(format!("parked event: {e}")))?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(
                keys::parked_event(shop, &parked.order_id, &parked.event_id).to_item(),
            ))
            .update_expression("SET #facts = :facts")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#facts", "facts")
            .expression_attribute_values(":facts", facts)
            .send()
            .await;
        condition_applied(result).map(|_| ())
    }

    /// The customer an order belongs to, if trouw has seen the order.
    pub async fn order_owner(
        &self,
        shop: &ShopId,
        order: &OrderId,
    ) -> Result<Option<CustomerId>, StoreError> {
        let owner: Option<OrderOwner> = self
            .get(&keys::order_owner(shop, order), "order owner")
            .await?;
        Ok(owner.map(|o| o.customer_id))
    }
}

/// A parked event as stored, with its TTL.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ParkedRecord {
    #[serde(flatten)]
    event: ParkedEvent,
    /// Epoch seconds; the table's TTL attribute.
    expires_at: i64,
}
