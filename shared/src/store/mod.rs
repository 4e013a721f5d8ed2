//! DynamoDB: the single table, its items and the one-transaction write of a decision.

mod dynamo;
mod error;
pub mod keys;

pub use dynamo::{
    ActivityRecord, CustomerItems, DueEntry, Item, Loaded, LogEntry, MessageErasure,
    MessageOutcome, MessageRecord, MessageStatus, ProcessedEvent, ReportRecorded, ShopRecord,
    Store, Written,
};
pub use error::StoreError;
