//! A shop's own rules. Stored as one item per shop and cached per container.

use super::{Email, Locale, ShopId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("time_zone: {0:?} is not an IANA time zone such as Europe/Amsterdam")]
    TimeZone(String),
    #[error("loyalty.tiers: tier names must be unique and thresholds strictly increasing")]
    Tiers,
    #[error("return_window_days: must be between 0 and 365")]
    ReturnWindow,
    #[error("care_tip_months: must be between 3 and 6")]
    CareTipMonths,
    #[error("name: must not be empty")]
    Name,
    #[error("reorder_interval_days: must be between 7 and 730")]
    ReorderInterval,
    #[error("holdout_percent: must be between 0 and 50")]
    Holdout,
    #[error(
        "holdout_kinds: {0:?} cannot be held out; only {holdable} can (transactional replies and service news always go)",
        holdable = super::HOLDABLE_KINDS.join(", ")
    )]
    HoldoutKind(String),
    #[error("attribution_window_days: must be between 1 and 30")]
    AttributionWindow,
    #[error("replenishment: days must be between 1 and 730, remind_days_before at most 30")]
    Replenishment,
    #[error(
        "loyalty.rewards: ids must be unique and URL-safe, names set, points and values positive"
    )]
    Rewards,
    #[error(
        "loyalty.expire_after_months: 1 to 60, with expiry_turned_on_at set, and expiry_warning_days each 1 to 90 and unique"
    )]
    Expiry,
    #[error("loyalty.birthday_points: must be between 1 and 100000")]
    BirthdayPoints,
    #[error("loyalty.anniversary_points: must be between 1 and 100000")]
    AnniversaryPoints,
    #[error("contract_notice_days: must be between 8 and 365")]
    ContractNotice,
    #[error("stock_notice_days: must be between 1 and 365")]
    StockNotice,
    /// Names the question and its field, e.g. `questions[1].options: ...`.
    #[error("{0}")]
    Questions(String),
}

/// What a shop configures. Loyalty rules and the return window drive the domain; sender and
/// locale drive mail (later issues).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopSettings {
    pub id: ShopId,
    pub name: String,
    pub sender: Email,
    pub default_locale: Locale,
    /// IANA zone name, e.g. `Europe/Amsterdam`.
    pub time_zone: String,
    pub return_window_days: u16,
    pub loyalty: LoyaltyRules,
    /// At most one non-transactional message per customer in this many hours (default 72).
    #[serde(default = "default_frequency_cap_hours")]
    pub frequency_cap_hours: u16,
    /// Care and usage tips per product category, sent (service) every 14 days after delivery.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub care_tips: BTreeMap<String, Vec<CareTip>>,
    /// Where promoters are invited to leave a review.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_url: Option<String>,
    /// The shop's service address: internal alerts (a detractor's answer) go there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_email: Option<Email>,
    /// Days after delivery that the satisfaction survey goes out (default 5).
    #[serde(default = "default_survey_delay_days")]
    pub survey_delay_days: u16,
    /// Months after delivery that care tips stop (3 to 6, default 4).
    #[serde(default = "default_care_tip_months")]
    pub care_tip_months: u8,
    /// How the shop's emails look.
    #[serde(default)]
    pub branding: Branding,
    /// The coupon in the welcome-after-a-move note, if the shop offers one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub welcome_coupon: Option<String>,
    /// The expected days between orders for customers with one order (default 120); customers
    /// with more orders are measured against the median of their own intervals.
    #[serde(default = "default_reorder_interval_days")]
    pub reorder_interval_days: u16,
    /// How long products last, for reminders before they run out.
    #[serde(default)]
    pub replenishment: Replenishment,
    /// The share of customers (percent, 0 to 50) who get no reactivation or replenishment mail,
    /// so that those messages' lift can be measured against them. Default 0: no holdout.
    #[serde(default)]
    pub holdout_percent: u8,
    /// The kinds held out from the holdout group and measured against it (default
    /// reactivation and replenishment); any of [`super::HOLDABLE_KINDS`].
    #[serde(default = "default_holdout_kinds")]
    pub holdout_kinds: Vec<String>,
    /// Orders placed this many days (1 to 30, default 5) after a message are attributed to it.
    #[serde(default = "default_attribution_window_days")]
    pub attribution_window_days: u16,
    /// Whether the attribution window starts at the send (default) or at a click.
    #[serde(default)]
    pub attribution_from: super::AttributionFrom,
    /// Days before a contract or subscription ends that the first reminder goes (8 to 365,
    /// default 30); the last goes a week before the end.
    #[serde(default = "default_contract_notice_days")]
    pub contract_notice_days: u16,
    /// Co-creation questions, asked of a category's buyers at their second order in it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub questions: Vec<super::questions::Question>,
    /// A regular buyer hears that their product is out of stock when their next purchase of
    /// it is expected within this many days (1 to 365, default 30).
    #[serde(default = "default_stock_notice_days")]
    pub stock_notice_days: u16,
    /// The out-of-stock message is service mail (about the customer's own product, no offer)
    /// unless the shop makes it promotional (then marketing consent is needed).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stock_notice_promotional: bool,
}

fn default_stock_notice_days() -> u16 {
    30
}

fn default_contract_notice_days() -> u16 {
    30
}

fn default_holdout_kinds() -> Vec<String> {
    super::DEFAULT_HOLDOUT_KINDS.map(String::from).to_vec()
}

fn default_attribution_window_days() -> u16 {
    super::DEFAULT_ATTRIBUTION_WINDOW_DAYS
}

/// The shop's catalog knowledge for replenishment: days one unit lasts, by sku or by category
/// (a line's own `replenish_after_days` wins, then the sku, then the category).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replenishment {
    /// The reminder goes this many days before the expected run-out (default 5).
    #[serde(default = "default_remind_days_before")]
    pub remind_days_before: u16,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_sku: BTreeMap<String, u16>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_category: BTreeMap<String, u16>,
}

impl Default for Replenishment {
    fn default() -> Self {
        Replenishment {
            remind_days_before: default_remind_days_before(),
            by_sku: BTreeMap::new(),
            by_category: BTreeMap::new(),
        }
    }
}

impl Replenishment {
    /// How many days one unit of the line lasts, if the shop or the payload knows.
    pub fn days_per_unit(&self, line: &super::OrderLine) -> Option<u16> {
        line.replenish_after_days
            .or_else(|| self.by_sku.get(line.sku.as_str()).copied())
            .or_else(|| {
                line.category
                    .as_deref()
                    .and_then(|c| self.by_category.get(c).copied())
            })
            .filter(|d| *d > 0)
    }
}

fn default_remind_days_before() -> u16 {
    5
}

fn default_reorder_interval_days() -> u16 {
    120
}

/// Logo, colour and website for the email layout.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Branding {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_url: Option<String>,
    /// A CSS colour such as `#1f6f5c`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_colour: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website_url: Option<String>,
}

/// One tip: a title and a few sentences, in the shop's language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CareTip {
    pub title: String,
    pub text: String,
}

fn default_survey_delay_days() -> u16 {
    5
}

fn default_care_tip_months() -> u8 {
    4
}

fn default_frequency_cap_hours() -> u16 {
    72
}

impl ShopSettings {
    /// Checks what types alone cannot: a real time zone, sane tiers.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if self.name.trim().is_empty() {
            return Err(SettingsError::Name);
        }
        if jiff::tz::TimeZone::get(&self.time_zone).is_err() {
            return Err(SettingsError::TimeZone(self.time_zone.clone()));
        }
        if self.return_window_days > 365 {
            return Err(SettingsError::ReturnWindow);
        }
        if !(3..=6).contains(&self.care_tip_months) {
            return Err(SettingsError::CareTipMonths);
        }
        if !(7..=730).contains(&self.reorder_interval_days) {
            return Err(SettingsError::ReorderInterval);
        }
        if self.holdout_percent > 50 {
            return Err(SettingsError::Holdout);
        }
        if let Some(kind) = self
            .holdout_kinds
            .iter()
            .find(|k| !super::HOLDABLE_KINDS.contains(&k.as_str()))
        {
            return Err(SettingsError::HoldoutKind(kind.clone()));
        }
        if !(1..=super::MAX_ATTRIBUTION_WINDOW_DAYS).contains(&self.attribution_window_days) {
            return Err(SettingsError::AttributionWindow);
        }
        if !(super::contract::FINAL_NOTICE_DAYS + 1..=365).contains(&self.contract_notice_days) {
            return Err(SettingsError::ContractNotice);
        }
        super::questions::check(&self.questions).map_err(SettingsError::Questions)?;
        if !(1..=365).contains(&self.stock_notice_days) {
            return Err(SettingsError::StockNotice);
        }
        let r = &self.replenishment;
        if r.remind_days_before > 30
            || r.by_sku
                .values()
                .chain(r.by_category.values())
                .any(|d| !(1..=730).contains(d))
        {
            return Err(SettingsError::Replenishment);
        }
        if !super::Reward::check_all(&self.loyalty.rewards) {
            return Err(SettingsError::Rewards);
        }
        let l = &self.loyalty;
        if let Some(months) = l.expire_after_months {
            let mut days = l.expiry_warning_days.clone();
            days.sort_unstable();
            days.dedup();
            if !(1..=60).contains(&months)
                || l.expiry_turned_on_at.is_none()
                || days.len() != l.expiry_warning_days.len()
                || days.iter().any(|d| !(1..=90).contains(d))
            {
                return Err(SettingsError::Expiry);
            }
        }
        if l.birthday_points
            .is_some_and(|p| !(1..=100_000).contains(&p))
        {
            return Err(SettingsError::BirthdayPoints);
        }
        if l.anniversary_points
            .is_some_and(|p| !(1..=100_000).contains(&p))
        {
            return Err(SettingsError::AnniversaryPoints);
        }
        let tiers = &self.loyalty.tiers;
        let increasing = tiers.windows(2).all(|w| w[0].min_points < w[1].min_points);
        let mut names: Vec<&str> = tiers.iter().map(|t| t.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        if !increasing
            || names.len() != tiers.len()
            || tiers.iter().any(|t| t.name.trim().is_empty())
        {
            return Err(SettingsError::Tiers);
        }
        Ok(())
    }
}

/// Points per whole currency unit spent, and named tiers by points held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoyaltyRules {
    pub points_per_unit: u32,
    /// Ordered by `min_points`, lowest first.
    pub tiers: Vec<Tier>,
    /// What points buy (the loyalty API's redemptions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rewards: Vec<super::Reward>,
    /// Which earned points count for a tier: all ever earned, or those of the last 12 months.
    #[serde(default)]
    pub tier_qualification: TierQualification,
    /// Available points expire after this many months without an order (none: never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expire_after_months: Option<u16>,
    /// When the shop turned expiry on: no points expire sooner than one full period after it.
    /// `make shop` records it the first time a shop's file sets `expire_after_months`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "super::epoch::option"
    )]
    pub expiry_turned_on_at: Option<super::Timestamp>,
    /// Days before an expiry that the `points-expiring` email goes (default 30 and 7).
    #[serde(default = "default_expiry_warning_days")]
    pub expiry_warning_days: Vec<u16>,
    /// Points given on the customer's birthday each year (none: no birthday points).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birthday_points: Option<u64>,
    /// Points given with the yearly recap, on the anniversary of the first order (none: no
    /// points, the recap still goes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anniversary_points: Option<u64>,
}

fn default_expiry_warning_days() -> Vec<u16> {
    vec![30, 7]
}

/// Which earned points a tier qualifies on. Spent points count either way: spending never
/// lowers a tier.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TierQualification {
    /// Every point earned with orders and kept (returns take theirs back).
    #[default]
    Lifetime,
    /// Points earned with orders in the current calendar month and the eleven before it. A
    /// tier no longer earned is kept until its `retain_until`, then drops (announced once).
    Rolling12Months,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tier {
    pub name: String,
    pub min_points: u64,
}

impl LoyaltyRules {
    /// Expiry is on, with the moment it was turned on.
    pub fn expiry(&self) -> Option<(u16, super::Timestamp)> {
        Some((self.expire_after_months?, self.expiry_turned_on_at?))
    }

    /// Records when expiry was turned on: kept from the shop's stored settings while expiry
    /// stays on there, else `now` (turning it off and on again starts a new first period).
    pub fn stamp_expiry(&mut self, stored: Option<&LoyaltyRules>, now: super::Timestamp) {
        if self.expire_after_months.is_none() {
            self.expiry_turned_on_at = None;
            return;
        }
        if self.expiry_turned_on_at.is_none() {
            self.expiry_turned_on_at = stored
                .filter(|s| s.expire_after_months.is_some())
                .and_then(|s| s.expiry_turned_on_at)
                .or(Some(super::epoch::whole_second(now)));
        }
    }

    /// The highest tier whose threshold `points` reaches, if any.
    pub fn tier_for(&self, points: u64) -> Option<&Tier> {
        self.tiers.iter().rev().find(|t| points >= t.min_points)
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    /// The settings most domain tests use: 1 point per euro, Brons/Zilver/Goud, 30-day returns.
    pub fn demo_settings() -> ShopSettings {
        ShopSettings {
            id: ShopId::parse("demo").unwrap(),
            name: "Demo Winkel".into(),
            sender: Email::parse("winkel@demo.example").unwrap(),
            default_locale: Locale::parse("nl").unwrap(),
            time_zone: "Europe/Amsterdam".into(),
            return_window_days: 30,
            frequency_cap_hours: 72,
            care_tips: BTreeMap::from([(
                "apparaten".to_owned(),
                vec![
                    CareTip {
                        title: "Opzetborstel vervangen".into(),
                        text: "Vervang je opzetborstel elke drie maanden.".into(),
                    },
                    CareTip {
                        title: "Opladen".into(),
                        text: "Laad je tandenborstel pas op als hij bijna leeg is.".into(),
                    },
                ],
            )]),
            care_tip_months: 4,
            survey_delay_days: 5,
            review_url: Some("https://www.kiyoh.com/demo-winkel".into()),
            service_email: Some(Email::parse("service@demo.example").unwrap()),
            branding: Branding::default(),
            welcome_coupon: Some("WELKOMTHUIS".into()),
            reorder_interval_days: 120,
            replenishment: Replenishment {
                remind_days_before: 5,
                by_sku: BTreeMap::from([("TB-REFILL-4".to_owned(), 30)]),
                by_category: BTreeMap::from([("verzorging".to_owned(), 60)]),
            },
            holdout_percent: 0,
            holdout_kinds: super::super::DEFAULT_HOLDOUT_KINDS
                .map(String::from)
                .to_vec(),
            attribution_window_days: 5,
            attribution_from: crate::domain::AttributionFrom::Send,
            contract_notice_days: 30,
            questions: Vec::new(),
            stock_notice_days: 30,
            stock_notice_promotional: false,
            loyalty: LoyaltyRules {
                points_per_unit: 1,
                tiers: vec![
                    Tier {
                        name: "Brons".into(),
                        min_points: 0,
                    },
                    Tier {
                        name: "Zilver".into(),
                        min_points: 250,
                    },
                    Tier {
                        name: "Goud".into(),
                        min_points: 1000,
                    },
                ],
                rewards: Vec::new(),
                tier_qualification: TierQualification::Lifetime,
                expire_after_months: None,
                expiry_turned_on_at: None,
                expiry_warning_days: vec![30, 7],
                birthday_points: None,
                anniversary_points: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::demo_settings;
    use super::*;

    #[test]
    fn demo_settings_are_valid() {
        assert_eq!(demo_settings().validate(), Ok(()));
    }

    #[test]
    fn unknown_time_zone_and_unordered_tiers_are_refused() {
        let mut s = demo_settings();
        s.time_zone = "Europe/Atlantis".into();
        assert!(matches!(s.validate(), Err(SettingsError::TimeZone(_))));
        let mut s = demo_settings();
        s.loyalty.tiers.swap(1, 2);
        assert_eq!(s.validate(), Err(SettingsError::Tiers));
    }

    #[test]
    fn holdout_kinds_default_to_reactivation_and_replenishment_and_refuse_mail_that_must_go() {
        let mut json = serde_json::to_value(demo_settings()).unwrap();
        json.as_object_mut().unwrap().remove("holdout_kinds");
        let s: ShopSettings = serde_json::from_value(json).unwrap();
        assert_eq!(s.holdout_kinds, ["reactivation", "replenishment"]);
        let mut s = demo_settings();
        s.holdout_kinds = vec!["care-tip".into(), "welcome-after-move".into()];
        assert_eq!(s.validate(), Ok(()));
        for kind in [
            "loyalty-earned",
            "survey-promoter",
            "detractor-alert",
            "no-such-kind",
        ] {
            let mut s = demo_settings();
            s.holdout_kinds = vec!["reactivation".into(), kind.into()];
            let err = s.validate().unwrap_err();
            assert_eq!(err, SettingsError::HoldoutKind(kind.into()));
            assert!(err.to_string().starts_with("holdout_kinds: "), "{err}");
            assert!(
                err.to_string().contains("reactivation, replenishment, "),
                "{err}"
            );
        }
    }

    #[test]
    fn expiry_needs_the_moment_it_was_turned_on_which_the_shop_file_keeps() {
        let mut s = demo_settings();
        s.loyalty.expire_after_months = Some(12);
        assert_eq!(s.validate(), Err(SettingsError::Expiry));
        let on: crate::domain::Timestamp = "2026-01-10T12:00:00Z".parse().unwrap();
        let later: crate::domain::Timestamp = "2026-06-01T12:00:00Z".parse().unwrap();
        s.loyalty.stamp_expiry(None, on);
        assert_eq!(s.loyalty.expiry_turned_on_at, Some(on));
        assert_eq!(s.validate(), Ok(()));
        let stored = s.loyalty.clone();
        let mut again = demo_settings();
        again.loyalty.expire_after_months = Some(6);
        again.loyalty.stamp_expiry(Some(&stored), later);
        assert_eq!(again.loyalty.expiry_turned_on_at, Some(on), "kept while on");
        let mut off = demo_settings();
        off.loyalty.stamp_expiry(Some(&stored), later);
        assert_eq!(off.loyalty.expiry_turned_on_at, None);
        s.loyalty.expiry_warning_days = vec![7, 7];
        assert_eq!(s.validate(), Err(SettingsError::Expiry));
        let mut b = demo_settings();
        b.loyalty.birthday_points = Some(0);
        assert_eq!(b.validate(), Err(SettingsError::BirthdayPoints));
        let mut a = demo_settings();
        a.loyalty.anniversary_points = Some(100_001);
        assert_eq!(a.validate(), Err(SettingsError::AnniversaryPoints));
    }

    #[test]
    fn the_first_contract_reminder_comes_before_the_last_one() {
        let mut s = demo_settings();
        s.contract_notice_days = 7;
        assert_eq!(s.validate(), Err(SettingsError::ContractNotice));
        s.contract_notice_days = 8;
        assert_eq!(s.validate(), Ok(()));
        let parsed: ShopSettings = serde_json::from_value(
            serde_json::to_value(demo_settings())
                .map(|mut v| {
                    v.as_object_mut().unwrap().remove("contract_notice_days");
                    v
                })
                .unwrap(),
        )
        .unwrap();
        assert_eq!(parsed.contract_notice_days, 30, "the default");
    }

    #[test]
    fn tier_is_the_highest_threshold_reached() {
        let rules = demo_settings().loyalty;
        assert_eq!(rules.tier_for(0).unwrap().name, "Brons");
        assert_eq!(rules.tier_for(249).unwrap().name, "Brons");
        assert_eq!(rules.tier_for(250).unwrap().name, "Zilver");
        assert_eq!(rules.tier_for(5000).unwrap().name, "Goud");
        let no_base = LoyaltyRules {
            points_per_unit: 1,
            tiers: vec![Tier {
                name: "Goud".into(),
                min_points: 10,
            }],
            ..demo_settings().loyalty
        };
        assert!(no_base.tier_for(9).is_none());
    }
}
