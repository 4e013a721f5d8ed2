//! The keys each DynamoDB write request of the handlers touched, recorded by the handlers'
//! client, so a test can price what one event wrote with the store's capacity calculator
//! (moto reports no usable consumed capacity).

use aws_sdk_dynamodb::operation::{
    delete_item::DeleteItemInput, put_item::PutItemInput,
    transact_write_items::TransactWriteItemsInput, update_item::UpdateItemInput,
};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// One item written by one request: its key, and whether inside `TransactWriteItems`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenKey {
    pub pk: String,
    pub sk: String,
    pub transactional: bool,
    /// A condition check only (`ConditionCheck`), priced as a write by DynamoDB.
    pub check_only: bool,
}

#[derive(Debug, Clone, Default)]
pub struct WriteLog(Arc<Mutex<Vec<WrittenKey>>>);

fn key_of(item: Option<&HashMap<String, AttributeValue>>) -> (String, String) {
    let text = |name: &str| {
        item.and_then(|i| i.get(name))
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    (text("pk"), text("sk"))
}

impl WriteLog {
    /// Records a write request among the handlers' requests (the input as one of the write
    /// operations' types; a read has none of them).
    pub(crate) fn record(
        &self,
        put: Option<&PutItemInput>,
        update: Option<&UpdateItemInput>,
        delete: Option<&DeleteItemInput>,
        transaction: Option<&TransactWriteItemsInput>,
    ) {
        let mut written = Vec::new();
        let mut push = |(pk, sk): (String, String), transactional, check_only| {
            written.push(WrittenKey {
                pk,
                sk,
                transactional,
                check_only,
            })
        };
        if let Some(put) = put {
            push(key_of(put.item.as_ref()), false, false);
        } else if let Some(update) = update {
            push(key_of(update.key.as_ref()), false, false);
        } else if let Some(delete) = delete {
            push(key_of(delete.key.as_ref()), false, false);
        } else if let Some(transaction) = transaction {
            for item in transaction.transact_items.iter().flatten() {
                if let Some(put) = &item.put {
                    push(key_of(Some(&put.item)), true, false);
                } else if let Some(update) = &item.update {
                    push(key_of(Some(&update.key)), true, false);
                } else if let Some(delete) = &item.delete {
                    push(key_of(Some(&delete.key)), true, false);
                } else if let Some(check) = &item.condition_check {
                    push(key_of(Some(&check.key)), true, true);
                }
            }
        }
        if !written.is_empty() {
            self.0.lock().unwrap().extend(written);
        }
    }

    /// Everything recorded since the last call.
    pub fn take(&self) -> Vec<WrittenKey> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}
