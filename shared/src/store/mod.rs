//! DynamoDB: the single table, its items and the one-transaction write of a decision.

mod audit;
mod dynamo;
mod error;
pub mod keys;
mod login_throttle;

pub use login_throttle::ThrottleRead;

pub use dynamo::{
    ActivityRecord, CustomerItems, DueEntry, Item, Loaded, LogEntry, MessageOutcome, MessageRecord,
    MessageStatus, ProcessedEvent, ReportRecorded, ShopRecord, Store, Written,
};
pub use error::StoreError;
