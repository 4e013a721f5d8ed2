//! DynamoDB: the single table, its items and the one-transaction write of a decision.

mod dynamo;
mod error;
pub mod keys;

pub use dynamo::{
    CustomerItems, DueEntry, Item, Loaded, LogEntry, MessageOutcome, ProcessedEvent,
    ReportRecorded, ShopRecord, Store, Written,
};
// Kept here too so that callers may name the stored records beside the store.
pub use crate::domain::{ActivityRecord, MessageRecord, MessageStatus};
pub use error::StoreError;
