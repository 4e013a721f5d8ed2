//! DynamoDB: the single table, its items and the one-transaction write of a decision.
//! Without the `aws` feature only [`keys`], the key layout as plain strings, is built.

#[cfg(feature = "aws")]
mod admin_sessions;
#[cfg(feature = "aws")]
mod answers;
#[cfg(feature = "aws")]
mod audit;
#[cfg(feature = "aws")]
pub mod capacity;
#[cfg(feature = "aws")]
mod claim;
#[cfg(feature = "aws")]
pub mod day_counts;
#[cfg(feature = "aws")]
mod dynamo;
#[cfg(feature = "aws")]
mod error;
pub mod keys;
#[cfg(feature = "aws")]
mod login_throttle;
#[cfg(feature = "aws")]
mod loyalty;
#[cfg(feature = "aws")]
mod stock;
#[cfg(feature = "aws")]
pub mod summaries;

#[cfg(feature = "aws")]
pub use claim::ClaimToken;
#[cfg(feature = "aws")]
pub use login_throttle::{ThrottleCount, ThrottleRead, ThrottleSettle};

#[cfg(feature = "aws")]
pub use dynamo::{
    CustomerItems, DueEntry, Item, Loaded, LogEntry, MessageOutcome, ProcessedEvent,
    ReportRecorded, ShopRecord, Store, Written, message_item,
};
// Kept here too so that callers may name the stored records beside the store.
#[cfg(feature = "aws")]
pub use crate::domain::Redemption;
#[cfg(feature = "aws")]
pub use crate::domain::{ActivityRecord, MessageRecord, MessageStatus};
#[cfg(feature = "aws")]
pub use error::StoreError;
#[cfg(feature = "aws")]
pub use loyalty::{
    Adjustment, Attachment, LoyaltyErasure, PointsChange, PointsWritten, PoolRunsLow, micros,
};
#[cfg(feature = "aws")]
pub use stock::RegularBuyer;
#[cfg(feature = "aws")]
pub use summaries::StoredDaySummary;
