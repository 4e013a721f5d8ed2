//! Messages: what a decision asks to send, and the one policy gate that says whether it may go.
//!
//! The retention playbook's three classes: transactional (part of a purchase; always allowed),
//! service (loyalty status, surveys, care tips: no marketing opt-in needed, but never after an
//! opt-out of all mail, a bounce or complaint, or when the customer went inactive) and
//! promotional (offers, coupons, replenishment reminders: only with marketing consent, and
//! never to an inactive customer either).

use super::{CustomerId, CustomerProfile, Locale, OrderId, ShopSettings, Sku, Timestamp};
use jiff::SignedDuration;
use serde::{Deserialize, Serialize};

/// The kinds a shop may hold out (`holdout_kinds`): mail that invites an order, which a
/// customer misses nothing essential by not getting. Never a transactional reply, an internal
/// alert, or service news about the customer's own account or order (points, tiers, surveys):
/// those always go. The contract reminder, the yearly recap and the co-creation question are
/// there for a shop that wants to measure what they add to renewals and orders (never by
/// default: without the reminder a held-out customer learns of their contract's end only from
/// the shop's own mail).
pub const HOLDABLE_KINDS: [&str; 9] = [
    "reactivation",
    "replenishment",
    "welcome-after-move",
    "care-tip",
    "contract-ending",
    "yearly-recap",
    "question",
    "out-of-stock-alternative",
    "back-in-stock",
];

/// The kinds held out when a shop names none.
pub const DEFAULT_HOLDOUT_KINDS: [&str; 2] = ["reactivation", "replenishment"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageClass {
    /// To the shop itself (its service address), never to a customer.
    Internal,
    Transactional,
    Service,
    Promotional,
}

impl MessageClass {
    /// Service and promotional mail is mail the customer can stop: it carries the unsubscribe
    /// headers and link, and it counts for the frequency cap. Transactional replies and
    /// internal alerts do neither.
    pub fn is_optional_mail(self) -> bool {
        matches!(self, MessageClass::Service | MessageClass::Promotional)
    }
}

/// What a message says, with the values its template needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum MessageData {
    /// Points earned with an order (pending until the return window closes).
    LoyaltyEarned {
        order_id: OrderId,
        points: u64,
        points_pending: u64,
        points_available: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tier: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next_tier: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        points_to_next_tier: Option<u64>,
    },
    /// The return window closed: the order's points are available now.
    LoyaltyConfirmed {
        order_id: OrderId,
        points: u64,
        points_pending: u64,
        points_available: u64,
    },
    /// "How likely are you to recommend us?" with the scores 0 to 10 as links.
    SurveyRequest { order_id: OrderId },
    /// Thanks to a promoter (9-10), with the shop's review link.
    SurveyPromoter {
        order_id: OrderId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        review_url: Option<String>,
    },
    /// A short apology to a detractor (0-6): a person will reach out.
    SurveyDetractor { order_id: OrderId },
    /// To the shop's service address: a detractor answered (with their comment, if they
    /// wrote one).
    DetractorAlert {
        order_id: OrderId,
        customer_id: CustomerId,
        score: u8,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
    /// A lapsed customer is asked, plainly and without an offer, whether they want to keep
    /// hearing from the shop: a "yes, keep me" link and a two-question survey link.
    Reactivation {
        /// Whole months since the customer's last order.
        months_since_last_order: u32,
    },
    /// A product is about to run out: a reminder a few days before, so the customer can
    /// reorder in time.
    Replenishment {
        order_id: OrderId,
        sku: Sku,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        product_name: Option<String>,
        quantity: u32,
        /// The expected run-out day in the shop's time zone, `YYYY-MM-DD`.
        run_out_on: String,
    },
    /// A contract or subscription ends soon: when, and where to renew. The first reminder
    /// goes the shop's `contract_notice_days` before the end, the last (`last`) a week before.
    ContractEnding {
        order_id: OrderId,
        sku: Sku,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        product_name: Option<String>,
        /// The end day in the shop's time zone, `YYYY-MM-DD`.
        ends_on: String,
        days_left: u32,
        renewal_url: String,
        last: bool,
    },
    /// The customer's year, on the anniversary of their first order: orders, favourite
    /// category, points earned, tier, and the shop's thanks (with the shop's anniversary
    /// points, if it gives any).
    YearlyRecap {
        /// Years since the first order.
        years: u16,
        orders: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        favourite_category: Option<String>,
        points_earned: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tier: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        anniversary_points: Option<u64>,
        points_available: u64,
    },
    /// A regular buyer's product is out of stock: what the shop offers instead, and when it
    /// is expected back (if the shop said).
    OutOfStockAlternative {
        sku: Sku,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        product_name: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        alternatives: Vec<super::stock::Alternative>,
        /// The expected return day in the shop's time zone, `YYYY-MM-DD`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expected_back_on: Option<String>,
    },
    /// The product a customer was told was out of stock is back.
    BackInStock {
        sku: Sku,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        product_name: Option<String>,
    },
    /// A co-creation question to a buyer of its category: the shop's text and answers (each
    /// answer a link to the answer page).
    Question {
        question_id: String,
        category: String,
        text: String,
        options: Vec<String>,
        #[serde(default)]
        free_text: bool,
    },
    /// A care or usage tip for a product the customer kept.
    CareTip {
        order_id: OrderId,
        category: String,
        title: String,
        text: String,
    },
    /// Points taken back after a return.
    LoyaltyReversed {
        order_id: OrderId,
        points: u64,
        points_pending: u64,
        points_available: u64,
    },
    /// The customer reached a higher tier.
    TierReached { tier: String, points: u64 },
    /// A rolling tier no longer earned ended at its `retain_until`: the tier now (none when
    /// the shop has no base tier).
    TierChanged {
        previous: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tier: Option<String>,
    },
    /// Available points expire soon unless the customer orders.
    PointsExpiring {
        points: u64,
        /// The expiry day in the shop's time zone, `YYYY-MM-DD`.
        expires_on: String,
        /// Which of the shop's warnings this is (days before the expiry).
        days_before: u16,
    },
    /// Points given on the customer's birthday: a gift from the shop, no offer.
    Birthday { points: u64, points_available: u64 },
    /// To the shop's service address: a redemption left a reward's pool with fewer codes than
    /// [`super::LOW_POOL_MARK`] (once each time it runs low).
    PoolLow {
        reward: String,
        reward_name: String,
        codes_left: u64,
        mark: u64,
    },
    /// A short, warm note after a real move, with the shop's coupon.
    WelcomeAfterMove {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        coupon_code: Option<String>,
    },
}

impl MessageData {
    /// The kind's name in keys, templates and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            MessageData::LoyaltyEarned { .. } => "loyalty-earned",
            MessageData::LoyaltyConfirmed { .. } => "loyalty-confirmed",
            MessageData::CareTip { .. } => "care-tip",
            MessageData::SurveyRequest { .. } => "survey",
            MessageData::SurveyPromoter { .. } => "survey-promoter",
            MessageData::SurveyDetractor { .. } => "survey-detractor",
            MessageData::DetractorAlert { .. } => "detractor-alert",
            MessageData::PoolLow { .. } => "pool-low",
            MessageData::LoyaltyReversed { .. } => "loyalty-reversed",
            MessageData::TierReached { .. } => "tier-reached",
            MessageData::TierChanged { .. } => "tier-changed",
            MessageData::PointsExpiring { .. } => "points-expiring",
            MessageData::Birthday { .. } => "birthday",
            MessageData::WelcomeAfterMove { .. } => "welcome-after-move",
            MessageData::Reactivation { .. } => "reactivation",
            MessageData::Replenishment { .. } => "replenishment",
            MessageData::ContractEnding { .. } => "contract-ending",
            MessageData::YearlyRecap { .. } => "yearly-recap",
            MessageData::Question { .. } => "question",
            MessageData::OutOfStockAlternative { .. } => "out-of-stock-alternative",
            MessageData::BackInStock { .. } => "back-in-stock",
        }
    }

    pub fn class(&self) -> MessageClass {
        match self {
            MessageData::LoyaltyEarned { .. }
            | MessageData::LoyaltyConfirmed { .. }
            | MessageData::CareTip { .. }
            | MessageData::SurveyRequest { .. }
            | MessageData::LoyaltyReversed { .. }
            | MessageData::TierReached { .. }
            | MessageData::TierChanged { .. }
            | MessageData::PointsExpiring { .. }
            // News about the customer's own points account, not an offer: no marketing consent
            // needed, like the other loyalty updates (and, like them, never after an opt-out).
            | MessageData::Birthday { .. }
            // About the customer's own contract and when it ends: information they need, not
            // an offer (the renewal link is theirs to use).
            | MessageData::ContractEnding { .. }
            // The customer's own year with the shop and a thank-you, no offer.
            | MessageData::YearlyRecap { .. }
            // Asks the customer's opinion on the range; no offer.
            | MessageData::Question { .. }
            // About the customer's own product: gone for now, what replaces it, and that it is
            // back; no offer (a shop may make the first promotional, see `stock_notice_promotional`).
            | MessageData::OutOfStockAlternative { .. }
            | MessageData::BackInStock { .. }
            | MessageData::Reactivation { .. } => MessageClass::Service,
            MessageData::WelcomeAfterMove { .. } | MessageData::Replenishment { .. } => {
                MessageClass::Promotional
            }
            MessageData::DetractorAlert { .. } | MessageData::PoolLow { .. } => {
                MessageClass::Internal
            }
            // A reply to what the customer just did (answering the survey): like a receipt, it
            // needs no opt-in and does not wait for the frequency cap.
            MessageData::SurveyPromoter { .. } | MessageData::SurveyDetractor { .. } => {
                MessageClass::Transactional
            }
        }
    }

    /// Whether the shop measures this kind against its holdout group (`holdout_kinds`):
    /// held-out customers do not get it (recorded as HELD_OUT).
    pub fn is_measured_by_holdout(&self, holdout_kinds: &[String]) -> bool {
        let kind = self.kind();
        holdout_kinds.iter().any(|k| k == kind)
    }

    /// What the frequency cap does with this kind: loyalty news keeps (deferred), a tier
    /// announcement is dropped (the next loyalty update shows the tier anyway).
    fn when_capped(&self) -> CapAction {
        match self {
            MessageData::TierReached { .. } => CapAction::Skip,
            _ => CapAction::Defer,
        }
    }
}

enum CapAction {
    Skip,
    Defer,
}

/// A message a decision creates. Its key (kind and cause) is deterministic, so the same cause
/// can never create it twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageIntent {
    pub key: String,
    pub customer_id: CustomerId,
    pub class: MessageClass,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<Locale>,
    pub data: MessageData,
    pub created_at: Timestamp,
}

impl MessageIntent {
    pub fn new(
        key_cause: &str,
        profile: &CustomerProfile,
        data: MessageData,
        now: Timestamp,
    ) -> Self {
        MessageIntent {
            key: message_key(data.kind(), key_cause),
            customer_id: profile.id.clone(),
            class: data.class(),
            locale: profile.contact.locale().cloned(),
            data,
            created_at: now,
        }
    }
}

/// A message claimed for sending (SENDING) whose outcome was not recorded this long after the
/// claim counts as `unknown`: its sender stopped between the claim and the record, perhaps
/// after SES took it. It is never sent again automatically (at most once); the marketers' pages
/// show it, the schedule counts it once and an alarm fires.
pub const SENDING_UNKNOWN_AFTER: SignedDuration = SignedDuration::from_mins(15);

/// The reason shown with such a message.
pub const SENDING_UNKNOWN_REASON: &str = "sender_stopped";

/// The longest message key (bytes): its item's sort key (`MSG#{key}`) stays far below
/// DynamoDB's 1 KB, and the key fits SES tags and the marketers' URLs.
pub const MAX_MESSAGE_KEY_BYTES: usize = 180;

/// A message's key, `{kind}#{cause}`; a cause made of long customer, order or event ids is
/// hashed (see [`super::derived_id`]), so every accepted id makes a valid key.
pub fn message_key(kind: &str, cause: &str) -> String {
    super::derived_id(kind, '#', &[cause], MAX_MESSAGE_KEY_BYTES)
}

/// A customer's standing with mail, kept on the profile.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailStanding {
    /// Opted out (one-click unsubscribe or the preference page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opted_out: Option<OptOut>,
    /// A hard bounce or a complaint: the address must not be mailed again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed_at: Option<Timestamp>,
    /// No sign of life after a reactivation question (set by the lifecycle rules).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inactive: bool,
    /// When the last non-transactional message went out, for the frequency cap (to the
    /// second, as epoch seconds; earlier versions stored RFC 3339 text, still read).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "super::epoch::option"
    )]
    pub last_sent_at: Option<Timestamp>,
    /// The last sent, non-internal message: the one an order is attributed to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_touch: Option<super::LastTouch>,
    /// The last message held out from the customer (holdout group): an order within the
    /// window after it counts as the held-out group's conversion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_out_touch: Option<super::HeldOutTouch>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptOut {
    pub scope: OptOutScope,
    pub at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptOutScope {
    /// No more offers; service mail still comes.
    Promotional,
    /// No mail at all except what belongs to a purchase.
    All,
}

/// Why a message did not go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    NoEmail,
    NoConsent,
    OptedOut,
    Suppressed,
    Inactive,
    FrequencyCap,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeferReason {
    QuietHours,
    FrequencyCap,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Send,
    Skip(SkipReason),
    /// The customer is in the shop's holdout group: recorded, not sent. `would_have_gone_at`
    /// is when the message would have gone (after the frequency cap and quiet hours): the
    /// held-out customer's conversion is measured from then.
    HeldOut {
        would_have_gone_at: Timestamp,
    },
    Defer {
        until: Timestamp,
        reason: DeferReason,
    },
}

/// The gate's verdict when a message is created, if it can never go: a refusal that nothing
/// between its creation and its send (seconds later) is expected to lift. The frequency cap
/// and the holdout are left to the sender, which asks the gate again right before sending.
pub fn never_goes(
    message: &MessageIntent,
    profile: &CustomerProfile,
    now: Timestamp,
    settings: &ShopSettings,
) -> Option<SkipReason> {
    match gate(message, profile, now, settings) {
        Verdict::Skip(SkipReason::FrequencyCap) => None,
        Verdict::Skip(reason) => Some(reason),
        Verdict::Send | Verdict::HeldOut { .. } | Verdict::Defer { .. } => None,
    }
}

impl SkipReason {
    /// The word stored as the message's `reason` and shown on the marketers' pages.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::NoEmail => "no_email",
            SkipReason::NoConsent => "no_consent",
            SkipReason::OptedOut => "opted_out",
            SkipReason::Suppressed => "suppressed",
            SkipReason::Inactive => "inactive",
            SkipReason::FrequencyCap => "frequency_cap",
        }
    }
}

/// Quiet hours in the shop's time zone: no service or promotional mail from 21:00 to 08:00.
const QUIET_FROM_HOUR: i8 = 21;
const QUIET_UNTIL_HOUR: i8 = 8;

/// The one policy gate. Pure: the sender asks it right before every send.
pub fn gate(
    message: &MessageIntent,
    profile: &CustomerProfile,
    now: Timestamp,
    settings: &ShopSettings,
) -> Verdict {
    // Internal alerts go to the shop's own service address, whatever the customer's standing.
    if message.class == MessageClass::Internal {
        return if settings.service_email.is_some() {
            Verdict::Send
        } else {
            Verdict::Skip(SkipReason::NoEmail)
        };
    }
    if profile.contact.email().is_none() {
        return Verdict::Skip(SkipReason::NoEmail);
    }
    if message.class == MessageClass::Transactional {
        return Verdict::Send;
    }
    let mail = &profile.mail;
    if mail.suppressed_at.is_some() {
        return Verdict::Skip(SkipReason::Suppressed);
    }
    let opted_out = mail.opted_out.as_ref().map(|o| o.scope);
    if opted_out == Some(OptOutScope::All) {
        return Verdict::Skip(SkipReason::OptedOut);
    }
    if message.class == MessageClass::Promotional {
        if opted_out == Some(OptOutScope::Promotional) {
            return Verdict::Skip(SkipReason::OptedOut);
        }
        if !profile.has_marketing_consent() {
            return Verdict::Skip(SkipReason::NoConsent);
        }
    }
    // A customer who did not answer the reactivation question gets no optional mail at all:
    // mailing people who stopped reading hurts the shop's sender reputation.
    if mail.inactive {
        return Verdict::Skip(SkipReason::Inactive);
    }
    // After the rules that would stop the message anyway, so the held-out group holds exactly
    // the customers who would have received it.
    if message.data.is_measured_by_holdout(&settings.holdout_kinds)
        && super::is_held_out(&settings.id, &profile.id, settings.holdout_percent)
    {
        return Verdict::HeldOut {
            would_have_gone_at: would_have_gone_at(message, profile, now, settings),
        };
    }
    timing(message, profile, now, settings)
}

/// The frequency cap and quiet hours: now, later, or (a capped kind that is dropped) never.
fn timing(
    message: &MessageIntent,
    profile: &CustomerProfile,
    now: Timestamp,
    settings: &ShopSettings,
) -> Verdict {
    let cap = SignedDuration::from_hours(i64::from(settings.frequency_cap_hours));
    if let Some(last) = profile.mail.last_sent_at
        && now < last + cap
    {
        return match message.data.when_capped() {
            CapAction::Skip => Verdict::Skip(SkipReason::FrequencyCap),
            CapAction::Defer => Verdict::Defer {
                until: last + cap,
                reason: DeferReason::FrequencyCap,
            },
        };
    }
    match quiet_hours_end(now, &settings.time_zone) {
        Some(until) => Verdict::Defer {
            until,
            reason: DeferReason::QuietHours,
        },
        None => Verdict::Send,
    }
}

/// When a held-out message would have gone had the customer not been held out: the gate's
/// deferrals followed (the frequency cap, then quiet hours) as the sender would have followed
/// them, to the second. The held-out group's window starts there, as the treated group's
/// starts at the send.
pub fn would_have_gone_at(
    message: &MessageIntent,
    profile: &CustomerProfile,
    now: Timestamp,
    settings: &ShopSettings,
) -> Timestamp {
    let mut at = now;
    // A deferral ends where the next check starts; the cap's end never moves, so two rounds
    // (the cap, then the quiet hours it may end in) reach a time that is neither.
    for _ in 0..3 {
        match timing(message, profile, at, settings) {
            Verdict::Defer { until, .. } if until > at => at = until,
            _ => break,
        }
    }
    super::epoch::whole_second(at)
}

/// How far a claimed message got with SES, as far as the sender knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendAttempt {
    /// SES took it.
    Sent,
    /// SES did not take it (throttled, paused): it is tried again later.
    Retry,
    /// SES may have taken it (its answer was lost): it is never tried again.
    Unknown,
    /// It does not go (the gate skipped, deferred or held it out, or it failed for good).
    NotSent,
}

/// Whether a message holds a place under the customer's frequency cap after `attempt`, so
/// that the gate caps (or defers) the customer's next optional email as if this one had gone
/// out now: optional mail that was sent, that waits for a retry (it will go out, and must not
/// be followed too closely by another), or whose outcome is unknown (it may well have gone
/// out). Transactional replies and internal alerts never count for the cap.
pub fn holds_cap_place(class: MessageClass, attempt: SendAttempt) -> bool {
    class.is_optional_mail()
        && matches!(
            attempt,
            SendAttempt::Sent | SendAttempt::Retry | SendAttempt::Unknown
        )
}

/// If `now` falls in the shop's quiet hours, when they end.
fn quiet_hours_end(now: Timestamp, time_zone: &str) -> Option<Timestamp> {
    let tz = jiff::tz::TimeZone::get(time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let local = now.to_zoned_datetime(tz);
    let hour = local.hour();
    if (QUIET_UNTIL_HOUR..QUIET_FROM_HOUR).contains(&hour) {
        return None;
    }
    let day = if hour >= QUIET_FROM_HOUR {
        local.date().tomorrow().ok()?
    } else {
        local.date()
    };
    local
        .time_zone()
        .to_timestamp(day.at(QUIET_UNTIL_HOUR, 0, 0, 0))
        .ok()
}

#[cfg(test)]
#[path = "message_tests.rs"]
mod tests;
