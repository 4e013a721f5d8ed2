//! DynamoDB: the single table, its items and the one-transaction write of a decision.

mod dynamo;
mod error;
pub mod keys;
pub mod summaries;

pub use dynamo::{
    ActivityRecord, CustomerItems, DueEntry, Item, Loaded, LogEntry, MessageOutcome, MessageRecord,
    MessageStatus, ProcessedEvent, ReportRecorded, ShopRecord, Store, Written,
};
pub use error::StoreError;
pub use summaries::StoredDaySummary;
