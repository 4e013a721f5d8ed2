//! The pure domain: everything trouw decides, with no I/O, no async and no AWS types.
//!
//! Handlers parse input into these types at the edge, load a [`CustomerState`], call
//! [`decide`] and persist the [`Decision`]. Every business rule lives under this module and is
//! tested with plain values.

mod activity;
pub use activity::{Activity, ActivityKind, ActivityRecord};
mod admin_audit;
pub use admin_audit::{AuditAction, AuditEntry};
mod amounts;
pub use amounts::{AmountOverflow, check_amounts};
mod attribution;
pub use attribution::{
    Attribution, AttributionFrom, Credit, DEFAULT_ATTRIBUTION_WINDOW_DAYS, HeldOutTouch, LastTouch,
    MAX_ATTRIBUTION_WINDOW_DAYS, attribute, credit,
};
mod address;
mod connection;
pub use connection::{ShopifyConnection, WooCommerceConnection};
pub mod contract;
pub mod questions;
pub mod recap;
pub mod stock;
pub use contract::Contract;
mod customer;
mod decide;
pub(crate) mod epoch;
mod erasure;
pub use erasure::{
    Erasure, MessageErasure, erase, erase_ledger_entry, erase_message, erase_message_data,
    erase_order, erase_parked, erase_profile, erase_redemption, erase_reports,
    profile_holds_personal_data,
};
mod event;
mod feedback;
mod followed;
pub use feedback::{
    DeliveryReport, DeliveryStatus, StandingChange, add_report, apply_standing, delivery_status,
};
pub use followed::{FOLLOWED_KEPT, FollowedProducts};
mod holdout;
pub use holdout::is_held_out;
mod ids;
mod login_throttle;
mod loyalty;
pub mod loyalty_rules;
pub use login_throttle::{Admission, LoginThrottle, ThrottlePolicy};
pub use loyalty::{Balance, EntryKind, Insufficient, LedgerChange, LedgerEntry};
mod message;
mod message_record;
pub use message_record::{Earned, MessageRecord, MessageStatus, WAITS_KEPT, Wait, wait_fits};
mod money;
mod order;
mod parked;
pub use parked::{OrderFact, ParkedEvent};
mod preferences;
pub use preferences::unsubscribe;
mod retention;
mod rewards;
pub use retention::{Engagement, LapseAnswer, LapseReason, Retention, RetentionEffect};
pub use rewards::{
    CodeSource, LOW_POOL_MARK, PoolAlert, Price, RedeemError, Redemption, Reward, RewardPrice,
    RewardValue, code_key, redeem, redemptions_used,
};
mod shop;
pub mod uplift;
pub mod value;
#[cfg(test)]
pub(crate) use shop::fixtures::demo_settings;

pub use address::{AddressHistory, AddressSighting, PostalArea};
pub use customer::{
    Consent, Contact, CustomerProfile, Lifecycle, Loyalty, LoyaltyClock, Spend, Stamped,
};
pub use decide::{CustomerState, Decision, OrderAttribution, Outcome, decide};
pub use event::{
    CustomerFacts, EventKind, EventType, LapseSurvey, ObservedAddress, PlacedOrder, ReturnFacts,
    ReturnScope, ShopEvent,
};
pub use ids::{
    CustomerId, Email, EventId, IdError, Locale, OrderId, ShopId, Sku, check_text, derived_id,
};
pub use message::{
    DEFAULT_HOLDOUT_KINDS, DeferReason, HOLDABLE_KINDS, MAX_MESSAGE_KEY_BYTES, MailStanding,
    MessageClass, MessageData, MessageIntent, OptOut, OptOutScope, SENDING_UNKNOWN_AFTER,
    SENDING_UNKNOWN_REASON, SendAttempt, SkipReason, Verdict, gate, holds_cap_place, message_key,
    never_goes, would_have_gone_at,
};
pub use money::{Amount, Currency, Money, MoneyError};
pub use order::{Order, OrderLine, OrderStatus, ReturnedLine, SurveyAnswer};
pub use shop::{
    Branding, CareTip, LoyaltyRules, Replenishment, SettingsError, ShopSettings, Tier,
    TierQualification,
};

/// A point in time, always UTC inside the domain.
pub type Timestamp = jiff::Timestamp;
