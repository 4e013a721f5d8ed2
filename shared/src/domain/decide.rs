//! `decide`: the one function that turns a customer's state and an event into the next state.

use super::{
    Consent, Contact, CustomerFacts, CustomerProfile, EventKind, Lifecycle, MessageData,
    MessageIntent, Money, Order, OrderStatus, ShopEvent, ShopSettings, Stamped, Timestamp,
};
use jiff::SignedDuration;

/// What the store holds for the event's customer (and order, if the event names one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerState {
    pub profile: Option<CustomerProfile>,
    pub order: Option<Order>,
}

/// The next state, to be written in one transaction, and a summary for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub profile: CustomerProfile,
    pub order: Option<Order>,
    /// When the order needs the schedule next (its return window closing), if ever.
    pub order_due_at: Option<Timestamp>,
    /// Messages to create with the state change, in the same transaction.
    pub messages: Vec<MessageIntent>,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub order_status: Option<OrderStatus>,
    pub points_pending: u64,
    pub lifecycle: Lifecycle,
    /// This event moved the customer to a new address.
    pub moved: bool,
}

/// How far in the future an event's own time may lie before it is treated as "now": a shop
/// with a fast clock must not be able to pin consent or contact data for ever.
const MAX_CLOCK_SKEW: SignedDuration = SignedDuration::from_mins(5);

/// Applies one event. Pure: same inputs, same decision.
///
/// Rules:
/// - contact fields and marketing consent follow the newest event by `occurred_at`
///   (consent: on a tie, the opt-out wins);
/// - an address is kept as a fingerprint; a change from a known address is a move;
/// - an order is a set of facts (placed, delivered, returns); status and points are derived
///   from them, and the customer's totals change by the difference the event made, so any
///   arrival order ends in the same state;
/// - order placed: order count, spend, first/last order time, pending points (whole currency
///   units times the shop's rate), lifecycle new/repeat;
/// - returned: whole or partial; pending points for the returned value are taken back, never
///   more than the order earned;
/// - after an erasure ([`erase`](super::erase)), contact data, consent and addresses from
///   events that happened before it are not stored again.
pub fn decide(
    state: &CustomerState,
    event: &ShopEvent,
    now: Timestamp,
    settings: &ShopSettings,
) -> Decision {
    let at = event.occurred_at.min(now + MAX_CLOCK_SKEW);
    let mut profile = state
        .profile
        .clone()
        .unwrap_or_else(|| CustomerProfile::new(settings.id.clone(), event.customer.id.clone()));

    // After an erasure, personal data said before it stays erased, however late it arrives.
    let personal_data_allowed = profile.erased_at.is_none_or(|erased| at > erased);
    if personal_data_allowed {
        apply_contact(&mut profile.contact, &event.customer, at);
    }
    if let Some(granted) = event
        .customer
        .marketing_consent
        .filter(|_| personal_data_allowed)
    {
        apply_consent(&mut profile, granted, at, &event.source);
    }

    let mut moved = false;
    if let Some(address) = event
        .customer
        .address
        .as_ref()
        .filter(|_| personal_data_allowed)
    {
        let moves_before = profile.addresses.move_count();
        profile.addresses.observe(address, at);
        moved = profile.addresses.move_count() > moves_before
            && profile.addresses.last_move_at() == Some(at);
    }

    // A timer for an order the store no longer has changes nothing.
    let timer_without_order = matches!(
        event.kind,
        EventKind::OrderTimer { .. } | EventKind::SurveyAnswered { .. }
    ) && state.order.is_none();
    let order = event
        .order_id()
        .filter(|_| !timer_without_order)
        .map(|order_id| {
            let before = state.order.clone();
            let mut order = before
                .clone()
                .unwrap_or_else(|| Order::empty(order_id.clone()));
            match &event.kind {
                EventKind::OrderPlaced(placed) => {
                    // The first "placed" wins; a re-sent one with a new id changes nothing.
                    if order.placed.is_none() {
                        order.placed = Some(placed.clone());
                    }
                }
                EventKind::OrderDelivered { delivered_at, .. } => {
                    let earliest = order
                        .delivered_at
                        .map_or(*delivered_at, |d| d.min(*delivered_at));
                    order.delivered_at = Some(earliest);
                }
                EventKind::OrderReturned { facts, .. } => order.add_return(facts.clone()),
                EventKind::AddressChanged => {}
                EventKind::OrderTimer { .. } => {
                    let due = order.confirmation_due(settings.return_window_days);
                    if due.is_some_and(|due| due <= now) {
                        order.points_confirmed_at = Some(now);
                    }
                    if order.care_tip_due(settings).is_some_and(|due| due <= now) {
                        order.care_tips_sent += 1;
                    }
                    if order.survey_due(settings).is_some_and(|due| due <= now) {
                        order.survey_handled_at = Some(now);
                    }
                }
                EventKind::SurveyAnswered { score, .. } => {
                    // The latest answer within 7 days of the question counts.
                    let asked = order.survey_handled_at;
                    if asked.is_some_and(|asked| now <= asked + SignedDuration::from_hours(24 * 7))
                    {
                        order.survey_answer = Some(crate::domain::SurveyAnswer {
                            score: (*score).min(10),
                            at: now,
                        });
                    }
                }
            }
            order.derive(&settings.loyalty);
            apply_order_difference(&mut profile, before.as_ref(), &order);
            order
        });

    profile.lifecycle = Lifecycle::for_order_count(profile.order_count);
    let held = profile.loyalty.points_pending + profile.loyalty.points_available;
    profile.loyalty.tier = settings.loyalty.tier_for(held).map(|t| t.name.clone());
    profile.version += 1;

    let messages = messages_for(
        state,
        event,
        order.as_ref(),
        &mut profile,
        moved,
        now,
        settings,
    );

    let outcome = Outcome {
        order_status: order.as_ref().map(|o| o.status),
        points_pending: profile.loyalty.points_pending,
        lifecycle: profile.lifecycle,
        moved,
    };
    let order_due_at = order.as_ref().and_then(|o| o.next_due(settings));
    Decision {
        profile,
        order,
        order_due_at,
        messages,
        outcome,
    }
}

/// The messages an event causes:
/// - an order placed: its loyalty points (service);
/// - points taken back by a return of a known order (service);
/// - a higher tier reached for the first time, above the base tier (service);
/// - a real move: a welcome in the new home with the shop's coupon (promotional).
fn messages_for(
    state: &CustomerState,
    event: &ShopEvent,
    order: Option<&Order>,
    profile: &mut CustomerProfile,
    moved: bool,
    now: Timestamp,
    settings: &ShopSettings,
) -> Vec<MessageIntent> {
    let mut messages = Vec::new();
    let loyalty = profile.loyalty.clone();
    let held = loyalty.points_pending + loyalty.points_available;
    if let Some(order) = order {
        let before = state.order.as_ref();
        let was_placed = before.is_some_and(|b| b.placed.is_some());
        if !was_placed && order.placed.is_some() && order.points_held() > 0 {
            let next = settings.loyalty.tiers.iter().find(|t| t.min_points > held);
            let data = MessageData::LoyaltyEarned {
                order_id: order.id.clone(),
                points: order.points_held(),
                points_pending: loyalty.points_pending,
                points_available: loyalty.points_available,
                tier: loyalty.tier.clone(),
                next_tier: next.map(|t| t.name.clone()),
                points_to_next_tier: next.map(|t| t.min_points - held),
            };
            messages.push(MessageIntent::new(order.id.as_str(), profile, data, now));
        }
        let reversed_before = before.map_or(0, |b| b.points_reversed);
        if was_placed && order.points_reversed > reversed_before {
            let data = MessageData::LoyaltyReversed {
                order_id: order.id.clone(),
                points: order.points_reversed - reversed_before,
                points_pending: loyalty.points_pending,
                points_available: loyalty.points_available,
            };
            messages.push(MessageIntent::new(
                &format!("{}#{}", order.id, event.id),
                profile,
                data,
                now,
            ));
        }
        let asked_before = before.is_some_and(|b| b.survey_handled_at.is_some());
        if !asked_before && order.survey_handled_at.is_some() {
            // At most one survey per customer per 90 days.
            let recent = profile
                .last_survey_at
                .is_some_and(|last| now < last + SignedDuration::from_hours(24 * 90));
            if !recent {
                profile.last_survey_at = Some(now);
                let data = MessageData::SurveyRequest {
                    order_id: order.id.clone(),
                };
                messages.push(MessageIntent::new(order.id.as_str(), profile, data, now));
            }
        }
        // The first answer to the survey: promoters are thanked (with the review link),
        // detractors get an apology and the shop's service address an alert.
        let answered_before = before.is_some_and(|b| b.survey_answer.is_some());
        if let (false, Some(answer)) = (answered_before, order.survey_answer) {
            if answer.score >= 9 {
                let data = MessageData::SurveyPromoter {
                    order_id: order.id.clone(),
                    review_url: settings.review_url.clone(),
                };
                messages.push(MessageIntent::new(order.id.as_str(), profile, data, now));
            } else if answer.score <= 6 {
                let data = MessageData::SurveyDetractor {
                    order_id: order.id.clone(),
                };
                messages.push(MessageIntent::new(order.id.as_str(), profile, data, now));
                let alert = MessageData::DetractorAlert {
                    order_id: order.id.clone(),
                    customer_id: profile.id.clone(),
                    score: answer.score,
                };
                messages.push(MessageIntent::new(order.id.as_str(), profile, alert, now));
            }
        }
        let tips_before = before.map_or(0, |b| b.care_tips_sent);
        if order.care_tips_sent > tips_before {
            let tips = order.care_tips(settings);
            if let Some((category, tip)) = tips.get(order.care_tips_sent as usize - 1) {
                let data = MessageData::CareTip {
                    order_id: order.id.clone(),
                    category: (*category).to_owned(),
                    title: tip.title.clone(),
                    text: tip.text.clone(),
                };
                messages.push(MessageIntent::new(
                    &format!("{}#{}", order.id, order.care_tips_sent),
                    profile,
                    data,
                    now,
                ));
            }
        }
        let was_confirmed = before.is_some_and(|b| b.points_confirmed_at.is_some());
        if !was_confirmed && order.points_confirmed_at.is_some() {
            let data = MessageData::LoyaltyConfirmed {
                order_id: order.id.clone(),
                points: order.points_held(),
                points_pending: loyalty.points_pending,
                points_available: loyalty.points_available,
            };
            messages.push(MessageIntent::new(order.id.as_str(), profile, data, now));
        }
    }
    if let Some(tier) = settings.loyalty.tier_for(held).filter(|t| t.min_points > 0)
        && !profile.tiers_announced.contains(&tier.name)
    {
        profile.tiers_announced.push(tier.name.clone());
        let data = MessageData::TierReached {
            tier: tier.name.clone(),
            points: held,
        };
        messages.push(MessageIntent::new(&tier.name, profile, data, now));
    }
    if moved && let Some(at) = profile.addresses.last_move_at() {
        let data = MessageData::WelcomeAfterMove {
            coupon_code: settings.welcome_coupon.clone(),
        };
        messages.push(MessageIntent::new(
            &at.as_second().to_string(),
            profile,
            data,
            now,
        ));
    }
    messages
}

fn apply_contact(contact: &mut Contact, facts: &CustomerFacts, at: Timestamp) {
    if let Some(email) = &facts.email {
        Stamped::merge(&mut contact.email, email, at);
    }
    if let Some(name) = &facts.first_name {
        Stamped::merge(&mut contact.first_name, name, at);
    }
    if let Some(locale) = &facts.locale {
        Stamped::merge(&mut contact.locale, locale, at);
    }
}

fn apply_consent(profile: &mut CustomerProfile, granted: bool, at: Timestamp, source: &str) {
    let wins = match &profile.consent {
        None => true,
        Some(current) => at > current.at || (at == current.at && !granted && current.granted),
    };
    if wins {
        profile.consent = Some(Consent {
            granted,
            at,
            source: source.to_owned(),
        });
    }
}

/// What one order adds to the customer's totals.
#[derive(Default)]
struct Contribution {
    counted: u32,
    spent: Option<Money>,
    points_pending: u64,
    points_available: u64,
    returned: u32,
}

fn contribution(order: Option<&Order>) -> Contribution {
    let Some(order) = order else {
        return Contribution::default();
    };
    Contribution {
        counted: u32::from(order.placed.is_some()),
        spent: order.placed.as_ref().map(|p| p.total),
        points_pending: order.points_pending(),
        points_available: order.points_available(),
        returned: u32::from(order.has_returns()),
    }
}

fn apply_order_difference(profile: &mut CustomerProfile, before: Option<&Order>, after: &Order) {
    let (old, new) = (contribution(before), contribution(Some(after)));
    profile.order_count = (profile.order_count + new.counted).saturating_sub(old.counted);
    profile.returned_order_count =
        (profile.returned_order_count + new.returned).saturating_sub(old.returned);
    if let Some(m) = old.spent {
        profile.total_spent.add(m.currency, -m.minor);
    }
    if let Some(m) = new.spent {
        profile.total_spent.add(m.currency, m.minor);
    }
    profile.loyalty.points_pending =
        (profile.loyalty.points_pending + new.points_pending).saturating_sub(old.points_pending);
    profile.loyalty.points_available = (profile.loyalty.points_available + new.points_available)
        .saturating_sub(old.points_available);
    if let Some(placed) = &after.placed {
        let at = placed.placed_at;
        profile.first_order_at = Some(profile.first_order_at.map_or(at, |t| t.min(at)));
        profile.last_order_at = Some(profile.last_order_at.map_or(at, |t| t.max(at)));
    }
}

#[cfg(test)]
#[path = "decide_tests.rs"]
mod tests;
