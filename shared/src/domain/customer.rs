//! The customer profile: one versioned item per customer and shop.

use super::{
    AddressHistory, Currency, CustomerId, Email, FollowedProducts, Locale, MailStanding, Retention,
    ShopId, Timestamp,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerProfile {
    pub shop: ShopId,
    pub id: CustomerId,
    pub contact: Contact,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<Consent>,
    #[serde(default)]
    pub addresses: AddressHistory,
    pub order_count: u32,
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub returned_order_count: u32,
    /// The customer's historic value: what they spent and kept (order totals less returns),
    /// per currency. (Returns a profile saw before returns were taken off stay counted in.)
    pub total_spent: Spend,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "super::epoch::option"
    )]
    pub first_order_at: Option<Timestamp>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "super::epoch::option"
    )]
    pub last_order_at: Option<Timestamp>,
    pub loyalty: Loyalty,
    pub lifecycle: Lifecycle,
    /// Opt-outs, suppression, inactivity and the last send, for the policy gate.
    #[serde(default)]
    pub mail: MailStanding,
    /// When the customer was last asked the satisfaction survey (at most once per 90 days).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "super::epoch::option"
    )]
    pub last_survey_at: Option<Timestamp>,
    /// Tiers already announced, so a tier is announced once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tiers_announced: Vec<String>,
    /// When the customer's personal data was erased on request (GDPR), if ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erased_at: Option<Timestamp>,
    /// An erasure too big for one transaction is under way: the profile is erased, some of
    /// the customer's other items may not be yet. While set, `decide` stores nothing
    /// personal, not even what was there before (it strips the order it writes).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub erasing: bool,
    /// Active, at risk, lapsed or inactive, and the order rhythm that decides it.
    #[serde(default)]
    pub retention: Retention,
    /// When each followed product (replenishable, under a contract, or a regular buy) was
    /// last ordered, so a reminder for an older order is cancelled once the customer
    /// reordered it (to the second, stored as epoch seconds; bounded, see [`FollowedProducts`]).
    #[serde(default, skip_serializing_if = "FollowedProducts::is_empty")]
    pub last_ordered: FollowedProducts,
    /// The last year whose anniversary of the first order was decided on (the yearly recap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recapped_year: Option<i16>,
    /// The next anniversary to wake the customer for (see [`super::recap`]; epoch seconds).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "super::epoch::option"
    )]
    pub recap_at: Option<Timestamp>,
    /// Orders per product category, only for categories the shop has a question for and
    /// stopping at two (see [`super::questions`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub category_orders: BTreeMap<String, u8>,
    /// The ids of the shop's questions this customer was asked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub questions_asked: Vec<String>,
    /// The ids of the questions this customer answered (the first answer counts).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub questions_answered: Vec<String>,
    /// The stock-outs this customer was told of, by sku key (see [`super::stock::notice`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub stock_told: BTreeMap<String, super::stock::StockTold>,
    /// Bumped on every write; the store writes only if it still holds the version it read.
    pub version: u64,
}

impl CustomerProfile {
    pub fn new(shop: ShopId, id: CustomerId) -> Self {
        CustomerProfile {
            shop,
            id,
            contact: Contact::default(),
            consent: None,
            addresses: AddressHistory::default(),
            order_count: 0,
            returned_order_count: 0,
            total_spent: Spend::default(),
            first_order_at: None,
            last_order_at: None,
            loyalty: Loyalty::default(),
            lifecycle: Lifecycle::Prospect,
            mail: MailStanding::default(),
            tiers_announced: Vec::new(),
            last_survey_at: None,
            erased_at: None,
            erasing: false,
            retention: Retention::default(),
            last_ordered: FollowedProducts::default(),
            recapped_year: None,
            recap_at: None,
            category_orders: BTreeMap::new(),
            questions_asked: Vec::new(),
            questions_answered: Vec::new(),
            stock_told: BTreeMap::new(),
            version: 0,
        }
    }

    /// When the schedule needs this customer next (the lapse clock, a loyalty rule), if ever.
    pub fn due_at(&self) -> Option<Timestamp> {
        let clock = &self.loyalty.clock;
        let warning = clock
            .warning_at
            .filter(|_| self.loyalty.balance().available > 0);
        [
            self.retention.due_at,
            clock.timer_at,
            warning,
            self.recap_at,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Drops the fractions of a second from the times stored as epoch seconds, so that the
    /// profile `decide` returns equals the one the store reads back (and an event that changes
    /// nothing is seen to change nothing).
    pub(crate) fn keep_to_the_second(&mut self) {
        use super::epoch::whole_second;
        let whole = |t: &mut Option<Timestamp>| *t = t.map(whole_second);
        whole(&mut self.first_order_at);
        whole(&mut self.last_order_at);
        whole(&mut self.last_survey_at);
        let contact = &mut self.contact;
        if let Some(s) = &mut contact.email {
            s.at = whole_second(s.at);
        }
        if let Some(s) = &mut contact.first_name {
            s.at = whole_second(s.at);
        }
        if let Some(s) = &mut contact.locale {
            s.at = whole_second(s.at);
        }
        if let Some(c) = &mut self.consent {
            c.at = whole_second(c.at);
        }
        let r = &mut self.retention;
        whole(&mut r.since);
        whole(&mut r.last_sign_of_life);
        whole(&mut r.asked_at);
        whole(&mut r.last_reactivated_at);
        whole(&mut r.due_at);
        whole(&mut self.mail.last_sent_at);
        whole(&mut self.recap_at);
    }

    pub fn has_marketing_consent(&self) -> bool {
        self.consent.as_ref().is_some_and(|c| c.granted)
    }
}

/// How to reach the customer. Each field follows the newest event that carried it, so
/// events arriving in any order leave the same contact details.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Stamped<Email>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<Stamped<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<Stamped<Locale>>,
}

impl Contact {
    pub fn email(&self) -> Option<&Email> {
        self.email.as_ref().map(|s| &s.value)
    }
    pub fn first_name(&self) -> Option<&str> {
        self.first_name.as_ref().map(|s| s.value.as_str())
    }
    pub fn locale(&self) -> Option<&Locale> {
        self.locale.as_ref().map(|s| &s.value)
    }
}

/// A value with the `occurred_at` of the event that said it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamped<T> {
    pub value: T,
    /// To the second (stored as epoch seconds).
    #[serde(with = "super::epoch::single")]
    pub at: Timestamp,
}

impl<T: Ord + Clone> Stamped<T> {
    /// Keeps the newer of the two; on the same instant the larger value, so that the result
    /// never depends on which arrived first.
    pub fn merge(current: &mut Option<Stamped<T>>, value: &T, at: Timestamp) {
        let replace = match current {
            None => true,
            Some(c) => at > c.at || (at == c.at && *value > c.value),
        };
        if replace {
            *current = Some(Stamped {
                value: value.clone(),
                at,
            });
        }
    }
}

/// Marketing consent: the newest statement by `occurred_at` wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    pub granted: bool,
    /// To the second (stored as epoch seconds).
    #[serde(with = "super::epoch::single")]
    pub at: Timestamp,
    /// Where it was given or withdrawn: the event type, e.g. `order.placed`.
    pub source: String,
}

/// Spent per currency, in minor units (a shop may sell in more than one).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Spend(pub BTreeMap<Currency, i64>);

impl Spend {
    /// Adds `minor` (negative to take back). Saturates instead of wrapping; events that would
    /// overflow are refused before they get here ([`check_amounts`](super::check_amounts)).
    pub fn add(&mut self, currency: Currency, minor: i64) {
        let entry = self.0.entry(currency).or_insert(0);
        *entry = entry.saturating_add(minor);
        if *entry == 0 {
            self.0.remove(&currency);
        }
    }
    pub fn get(&self, currency: Currency) -> i64 {
        self.0.get(&currency).copied().unwrap_or(0)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Loyalty {
    /// Earned but still inside the return window.
    pub points_pending: u64,
    /// Confirmed on orders (before spending: the balance is [`Loyalty::balance`]).
    pub points_available: u64,
    /// Spent on rewards, less cancelled redemptions (each a ledger item).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub points_spent: u64,
    /// Granted outside orders: goodwill adjustments (each a ledger item).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub points_granted: u64,
    /// Taken outside returns: corrections (each a ledger item).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub points_withdrawn: u64,
    /// Expired after a period without an order (each an `expired` ledger item).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub points_expired: u64,
    /// Given on birthdays (each a `birthday` ledger item).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub points_birthday: u64,
    /// Given on anniversaries of the first order (each an `anniversary` ledger item).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub points_anniversary: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    /// The time-based rules' own state: rolling tiers, expiry, birthday, and when the schedule
    /// wakes the customer for them (see [`super::loyalty_rules`]).
    #[serde(default, skip_serializing_if = "LoyaltyClock::is_empty")]
    pub clock: LoyaltyClock,
}

/// What the time-based loyalty rules keep between events. Small: at most 13 months of
/// earnings, a handful of epoch seconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoyaltyClock {
    /// Rolling tiers only: order points earned per calendar month (`YYYYMM` in the shop's time
    /// zone), the months that still count. Stored as the first month and one number per month
    /// from it (see [`earned_months`]).
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        with = "earned_months"
    )]
    pub earned_by_month: BTreeMap<String, u64>,
    /// Rolling tiers only: the tier held is kept until then, even when no longer earned.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "super::epoch::option"
    )]
    pub retain_until: Option<Timestamp>,
    /// The last expiry moment handled (with or without points to expire): a new period runs
    /// from the latest of it, the last order and the moment the shop turned expiry on.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "super::epoch::option"
    )]
    pub expiry_checked_at: Option<Timestamp>,
    /// The expiry moment last warned about (epoch seconds) and the fewest days before it that
    /// a warning went (each configured warning once per period).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warned: Option<(i64, u16)>,
    /// The customer's birthday, `MM-DD`, and when it was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birthday: Option<Stamped<String>>,
    /// The last year birthday points were given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birthday_year: Option<i16>,
    /// The next moment a time-based rule needs the customer: an expiry, a birthday, a rolling
    /// tier's `retain_until`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "super::epoch::option"
    )]
    pub timer_at: Option<Timestamp>,
    /// The next expiry warning: the schedule wakes the customer for it only while points are
    /// available (an adjustment may make some available between two events).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "super::epoch::option"
    )]
    pub warning_at: Option<Timestamp>,
}

impl LoyaltyClock {
    pub fn is_empty(&self) -> bool {
        *self == LoyaltyClock::default()
    }
}

/// [`LoyaltyClock::earned_by_month`] as the profile stores it: `{"from": "202506", "points":
/// [64, 0, 64]}`, the points of each month from `from` on (0 for a month without), where a map
/// paid each month's six-character name again (a year of months: about 50 bytes instead of
/// 125). Profiles written before hold the map; both read the same.
mod earned_months {
    use super::super::loyalty_rules::{key_index, month_key};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    #[derive(Serialize, Deserialize)]
    struct Months {
        from: String,
        points: Vec<u64>,
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Months(Months),
        Named(BTreeMap<String, u64>),
    }

    /// Longest run of months written as a list; a map with months further apart (only a
    /// corrupt or hand-made one) is written as it is.
    const MAX_MONTHS: i32 = 24;

    pub fn serialize<S: Serializer>(
        earned: &BTreeMap<String, u64>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let months: Option<Vec<(i32, u64)>> = earned
            .iter()
            .map(|(k, points)| key_index(k).map(|m| (m, *points)))
            .collect();
        let span = months.as_ref().and_then(|m| {
            let (first, last) = (m.first()?.0, m.last()?.0);
            (last - first < MAX_MONTHS).then_some((first, last))
        });
        let (Some(months), Some((first, last))) = (months, span) else {
            return earned.serialize(serializer);
        };
        let mut points = vec![0; usize::try_from(last - first + 1).unwrap_or(0)];
        for (month, earned) in months {
            if let Some(slot) = usize::try_from(month - first)
                .ok()
                .and_then(|i| points.get_mut(i))
            {
                *slot = earned;
            }
        }
        Months {
            from: month_key(first),
            points,
        }
        .serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<String, u64>, D::Error> {
        match Stored::deserialize(deserializer)? {
            Stored::Named(earned) => Ok(earned),
            Stored::Months(Months { from, points }) => {
                let first = key_index(&from)
                    .ok_or_else(|| serde::de::Error::custom("`from` is a month, YYYYMM"))?;
                Ok((first..)
                    .zip(points)
                    .filter(|(_, points)| *points > 0)
                    .map(|(month, points)| (month_key(month), points))
                    .collect())
            }
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

pub(crate) fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lifecycle {
    /// Known (e.g. from an address change) but no order yet.
    Prospect,
    /// One order.
    New,
    /// Two or more orders.
    Repeat,
}

impl Lifecycle {
    pub fn for_order_count(count: u32) -> Self {
        match count {
            0 => Lifecycle::Prospect,
            1 => Lifecycle::New,
            _ => Lifecycle::Repeat,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Lifecycle::Prospect => "prospect",
            Lifecycle::New => "new",
            Lifecycle::Repeat => "repeat",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};

    type Item = std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>;

    fn clock(months: &[(&str, u64)]) -> LoyaltyClock {
        LoyaltyClock {
            earned_by_month: months.iter().map(|(m, p)| ((*m).to_owned(), *p)).collect(),
            ..LoyaltyClock::default()
        }
    }

    #[test]
    fn earned_months_are_stored_as_a_list_from_the_first_and_read_back_the_same() {
        let earned = clock(&[("202511", 64), ("202601", 10), ("202602", 5)]);
        let item: Item = to_item(&earned).unwrap();
        let stored = item["earned_by_month"].as_m().unwrap();
        assert_eq!(stored["from"].as_s().unwrap(), "202511");
        let points: Vec<&str> = stored["points"]
            .as_l()
            .unwrap()
            .iter()
            .map(|n| n.as_n().unwrap().as_str())
            .collect();
        assert_eq!(points, ["64", "0", "10", "5"], "December earned nothing");
        assert_eq!(from_item::<LoyaltyClock>(item).unwrap(), earned);
    }

    #[test]
    fn earned_months_stored_by_name_still_read() {
        let earned = clock(&[("202511", 64), ("202601", 10)]);
        let mut item: Item = to_item(&earned).unwrap();
        item.insert(
            "earned_by_month".into(),
            aws_sdk_dynamodb::types::AttributeValue::M(
                [("202511", "64"), ("202601", "10")]
                    .into_iter()
                    .map(|(m, p)| {
                        (
                            m.to_owned(),
                            aws_sdk_dynamodb::types::AttributeValue::N(p.into()),
                        )
                    })
                    .collect(),
            ),
        );
        assert_eq!(from_item::<LoyaltyClock>(item).unwrap(), earned);
    }

    /// What the version before stored and this one leaves out or stores shorter: zero counts,
    /// `inactive: false`, the last send as RFC 3339 text with its fraction.
    #[test]
    fn a_profile_in_the_earlier_shape_reads_and_is_written_shorter() {
        let mut profile = CustomerProfile::new(
            ShopId::parse("demo").unwrap(),
            CustomerId::parse("cus-8812").unwrap(),
        );
        profile.order_count = 2;
        let mut earlier: Item = to_item(&profile).unwrap();
        use aws_sdk_dynamodb::types::AttributeValue as V;
        earlier.insert("returned_order_count".into(), V::N("0".into()));
        let V::M(mut retention) = earlier["retention"].clone() else {
            panic!("retention is a map")
        };
        retention.insert("reactivations".into(), V::N("0".into()));
        earlier.insert("retention".into(), V::M(retention));
        earlier.insert(
            "mail".into(),
            V::M(
                [
                    ("inactive".to_owned(), V::Bool(false)),
                    (
                        "last_sent_at".to_owned(),
                        V::S("2026-11-02T10:00:00.638329Z".into()),
                    ),
                ]
                .into(),
            ),
        );
        let read: CustomerProfile = from_item(earlier).unwrap();
        assert_eq!(
            read.mail.last_sent_at,
            Some("2026-11-02T10:00:00.638329Z".parse().unwrap())
        );
        let written: Item = to_item(&read).unwrap();
        assert!(!written.contains_key("returned_order_count"));
        assert!(
            !written["retention"]
                .as_m()
                .unwrap()
                .contains_key("reactivations")
        );
        let mail = written["mail"].as_m().unwrap();
        assert!(!mail.contains_key("inactive"));
        assert_eq!(mail["last_sent_at"].as_n().unwrap(), "1793613600");
    }
}
