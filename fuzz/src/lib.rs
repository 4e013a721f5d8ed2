//! What the fuzz targets share: a shop, its settings and the way a parsed event goes on into
//! the domain, as the webhook handlers take it (amounts checked, then `decide`).

use trouw::domain::{
    Branding, CareTip, CustomerState, Email, Locale, LoyaltyRules, Replenishment, ShopEvent,
    ShopId, ShopSettings, Tier, Timestamp, check_amounts, decide,
};

pub fn shop() -> ShopId {
    ShopId::parse("demo").expect("a valid shop id")
}

/// The time the targets decide at (a fixed instant, so that every run is reproducible).
pub fn now() -> Timestamp {
    "2026-11-29T12:00:00Z".parse().expect("a valid instant")
}

/// A shop like the demo shop: 1 point per euro, three tiers, 30-day returns, care tips and
/// replenishment reminders, so that every kind of message can come out of `decide`.
pub fn settings() -> ShopSettings {
    let tier = |name: &str, min_points| Tier {
        name: name.into(),
        min_points,
    };
    ShopSettings {
        id: shop(),
        name: "Demo Winkel".into(),
        sender: Email::parse("winkel@demo.example").expect("valid"),
        default_locale: Locale::parse("nl").expect("valid"),
        time_zone: "Europe/Amsterdam".into(),
        return_window_days: 30,
        frequency_cap_hours: 72,
        care_tips: [(
            "apparaten".to_owned(),
            vec![CareTip {
                title: "Opzetborstel vervangen".into(),
                text: "Vervang je opzetborstel elke drie maanden.".into(),
            }],
        )]
        .into(),
        care_tip_months: 4,
        survey_delay_days: 5,
        review_url: Some("https://www.kiyoh.com/demo-winkel".into()),
        service_email: Some(Email::parse("service@demo.example").expect("valid")),
        branding: Branding::default(),
        welcome_coupon: Some("WELKOMTHUIS".into()),
        reorder_interval_days: 120,
        replenishment: Replenishment {
            remind_days_before: 5,
            by_sku: [("TB-REFILL-4".to_owned(), 30)].into(),
            by_category: [("verzorging".to_owned(), 60)].into(),
        },
        holdout_percent: 0,
        holdout_kinds: trouw::domain::DEFAULT_HOLDOUT_KINDS.map(String::from).to_vec(),
        attribution_window_days: 5,
        attribution_from: trouw::domain::AttributionFrom::Send,
        loyalty: LoyaltyRules {
            points_per_unit: 1,
            tiers: vec![tier("Brons", 0), tier("Zilver", 250), tier("Goud", 1000)],
            rewards: Vec::new(),
            tier_qualification: Default::default(),
            expire_after_months: None,
            expiry_turned_on_at: None,
            expiry_warning_days: vec![30, 7],
            birthday_points: None,
        },
    }
}

/// Applies a parsed event to a new customer and then again to the state that made, as a
/// handler would (amounts checked first); nothing here may panic.
pub fn apply_twice(event: &ShopEvent, settings: &ShopSettings) {
    let now = now();
    let state = CustomerState::default();
    if check_amounts(&state, event, settings).is_err() {
        return;
    }
    let decision = decide(&state, event, now, settings);
    let again = CustomerState {
        profile: Some(decision.profile),
        order: decision.order,
    };
    if check_amounts(&again, event, settings).is_ok() {
        decide(&again, event, now, settings);
    }
}
