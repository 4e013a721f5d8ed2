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
mod erasure;
#[cfg(feature = "aws")]
mod error;
#[cfg(feature = "aws")]
mod items;
pub mod keys;
#[cfg(feature = "aws")]
mod login_throttle;
#[cfg(feature = "aws")]
mod loyalty;
#[cfg(feature = "aws")]
mod parked;
#[cfg(feature = "aws")]
mod reads;
#[cfg(feature = "aws")]
mod reports;
mod sending;
#[cfg(feature = "aws")]
mod stock;
#[cfg(feature = "aws")]
pub mod summaries;

#[cfg(feature = "aws")]
pub use claim::ClaimToken;
#[cfg(feature = "aws")]
pub use login_throttle::{ThrottleCount, ThrottleRead, ThrottleSettle};

#[cfg(feature = "aws")]
pub use dynamo::{Loaded, ProcessedEvent, ShopRecord, Store, Written};
#[cfg(feature = "aws")]
pub use items::{Item, message_item};
#[cfg(feature = "aws")]
pub use reads::{CustomerItems, DueEntry, LogEntry};
#[cfg(feature = "aws")]
pub use reports::ReportRecorded;
pub use sending::MessageOutcome;
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
