//! DynamoDB: the single table, its items and the one-transaction write of a decision.

mod admin_sessions;
mod audit;
pub mod capacity;
mod claim;
mod dynamo;
mod error;
pub mod keys;
mod login_throttle;
pub mod summaries;

pub use claim::ClaimToken;
pub use login_throttle::{ThrottleCount, ThrottleRead, ThrottleSettle};

pub use dynamo::{
    CustomerItems, DueEntry, Item, Loaded, LogEntry, MessageOutcome, ProcessedEvent,
    ReportRecorded, ShopRecord, Store, Written,
};
// Kept here too so that callers may name the stored records beside the store.
pub use crate::domain::{ActivityRecord, MessageRecord, MessageStatus};
pub use error::StoreError;
pub use summaries::StoredDaySummary;
