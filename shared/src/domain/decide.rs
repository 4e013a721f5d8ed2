//! `decide`: the one function that turns a customer's state and an event into the next state.

use super::{
    Activity, ActivityKind, Consent, Contact, CustomerFacts, CustomerProfile, Engagement,
    EventKind, LapseAnswer, Lifecycle, MessageData, MessageIntent, Money, Order, OrderId,
    OrderLine, OrderStatus, RetentionEffect, ShopEvent, ShopSettings, SkipReason, Stamped,
    Timestamp, never_goes,
};
use jiff::SignedDuration;
use std::collections::BTreeMap;

/// What the store holds for the event's customer (and order, if the event names one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerState {
    pub profile: Option<CustomerProfile>,
    pub order: Option<Order>,
    /// The customer's orders, read only when their yearly recap is due
    /// ([`super::recap::next_anniversary`]); `None` otherwise, and then no recap is decided.
    pub year_orders: Option<Vec<Order>>,
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
    /// What happened, for the customer's timeline and the marketers' overview.
    pub activities: Vec<Activity>,
    /// Messages the policy gate would refuse whatever happens before they are sent (no
    /// consent, opted out, suppressed, inactive, no address), by key: created SKIPPED, so no
    /// sender ever claims them.
    pub skipped: BTreeMap<String, SkipReason>,
    /// The event changes something stored. When it does not, nothing is written but the
    /// processed-event record, and the profile keeps its version. The version moves only when
    /// the profile itself changes.
    pub changed: bool,
    /// The order is new to the store (its owner record is written once, with it).
    pub order_first_seen: bool,
    /// The order differs from the one read (only then is it written).
    pub order_changed: bool,
    /// Ledger items of the time-based loyalty rules (an expiry, birthday points), written in
    /// the same transaction as the profile whose balance they change.
    pub ledger: Vec<super::loyalty_rules::LedgerItem>,
    /// What this event changed in an attributed order's worth to its message.
    pub attribution: Option<OrderAttribution>,
    /// A customer's first answer to a question, kept under the question (in the same
    /// transaction as the profile that records it answered).
    pub answer: Option<super::questions::QuestionAnswer>,
    /// The entries of the products' regular buyers this order changes (written in its
    /// transaction); filled by the caller, which reads the customer's earlier orders for them
    /// ([`super::stock::regular_buys`]).
    pub regular_buys: Vec<super::stock::RegularBuy>,
    pub outcome: Outcome,
}

/// A change to what a message earned: recorded on the message item in the same transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderAttribution {
    pub message_key: String,
    pub order_id: OrderId,
    pub placed_at: Timestamp,
    /// The order was attributed by this event (it counts once).
    pub newly_attributed: bool,
    /// The change in what the customer kept of the order (negative for a return).
    pub revenue_change: Money,
    /// The message was held out from the customer: the order is the holdout group's
    /// conversion, recorded on the message as such.
    pub held_out: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub order_status: Option<OrderStatus>,
    pub points_pending: u64,
    pub lifecycle: Lifecycle,
    /// This event moved the customer to a new address.
    pub moved: bool,
    pub engagement: Engagement,
    /// This event (an order) brought a lapsed or inactive customer back.
    pub reactivated: bool,
}

/// How far in the future an event's own time may lie before it is treated as "now": a shop
/// with a fast clock must not be able to pin consent or contact data for ever.
const MAX_CLOCK_SKEW: SignedDuration = SignedDuration::from_mins(5);

/// How long after a detractor's answer the shop's alert goes, so that a comment written on the
/// thank-you page goes with it.
pub const ALERT_DELAY: SignedDuration = SignedDuration::from_mins(10);

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
    // Stamps are kept to the second: two statements within one second are a tie.
    let at = super::epoch::whole_second(event.occurred_at.min(now + MAX_CLOCK_SKEW));
    let mut profile = state
        .profile
        .clone()
        .unwrap_or_else(|| CustomerProfile::new(settings.id.clone(), event.customer.id.clone()));

    // After an erasure, personal data said before it stays erased, however late it arrives;
    // while an erasure is under way nothing personal is stored at all.
    let personal_data_allowed =
        !profile.erasing && profile.erased_at.is_none_or(|erased| at > erased);
    // The customer's own words answer a question asked by email: kept only if the question
    // was asked after the last erasure (an old link must not bring words back).
    let (erasing, erased_at) = (profile.erasing, profile.erased_at);
    let words_allowed = move |asked: Option<Timestamp>| {
        !erasing && erased_at.is_none_or(|erased| asked.is_some_and(|asked| asked > erased))
    };
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

    if let Some(month_day) = event.customer.birthday.filter(|_| personal_data_allowed) {
        super::loyalty_rules::set_birthday(&mut profile.loyalty, month_day, at);
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

    // Before order rhythms were kept, only the last order's time was: start from it.
    if profile.retention.order_times.is_empty()
        && let Some(last) = profile.last_order_at
    {
        profile.retention.record_order(last);
    }

    super::loyalty_rules::seed_rolling(&mut profile.loyalty, profile.last_order_at, settings);

    // A timer or answer for an order the store no longer has changes nothing.
    let timer_without_order = matches!(
        event.kind,
        EventKind::OrderTimer { .. }
            | EventKind::SurveyAnswered { .. }
            | EventKind::SurveyCommented { .. }
    ) && state.order.is_none();
    let mut replenish_now = Vec::new();
    let mut contract_now = Vec::new();
    let mut contract_renewed = Vec::new();
    let mut reactivated = false;
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
                        // Last touch, decided once: one order, one message (sent, or
                        // held out from this customer).
                        match super::credit(
                            profile.mail.last_touch.as_ref(),
                            profile.mail.held_out_touch.as_ref(),
                            placed.placed_at,
                            settings.attribution_window_days,
                            settings.attribution_from,
                        ) {
                            Some(super::Credit::Attributed(a)) => {
                                order.attributed_to = Some(a.message_key)
                            }
                            Some(super::Credit::HeldOut(h)) => order.held_out_for = Some(h.key),
                            None => {}
                        }
                    }
                }
                EventKind::OrderDelivered { delivered_at, .. } => {
                    let earliest = order
                        .delivered_at
                        .map_or(*delivered_at, |d| d.min(*delivered_at));
                    order.delivered_at = Some(earliest);
                }
                EventKind::OrderReturned { facts, .. } => order.add_return(facts.clone()),
                EventKind::AddressChanged
                | EventKind::CustomerTimer
                | EventKind::KeptInTouch
                | EventKind::LapseSurveyAnswered(_)
                | EventKind::QuestionAnswered { .. }
                | EventKind::StockChanged(_) => {}
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
                    if order.alert_due().is_some_and(|due| due <= now) {
                        order.alert_raised_at = Some(now);
                    }
                    let due: Vec<_> = order
                        .replenishments_due(settings)
                        .into_iter()
                        .filter(|r| r.remind_at <= now)
                        .map(|r| (r.line.clone(), r.quantity, r.runs_out_at))
                        .collect();
                    for (line, _, _) in &due {
                        order.replenishment_handled.push(line.sku.clone());
                    }
                    // A reminder whose product the customer was told is out of stock (after
                    // this order) is replaced by that message: handled, not sent.
                    let placed_at = order.placed.as_ref().map(|p| p.placed_at);
                    replenish_now = due
                        .into_iter()
                        .filter(|(line, _, _)| {
                            placed_at.is_none_or(|at| {
                                !super::stock::replaces_reminder(&profile, &line.sku, at)
                            })
                        })
                        .collect();
                    (contract_now, contract_renewed) =
                        due_contract_notices(&mut order, &profile, now, settings);
                }
                EventKind::SurveyAnswered { score, .. } => {
                    // The latest answer within 7 days of the question counts.
                    let asked = order.survey_handled_at;
                    if asked.is_some_and(|asked| now <= asked + SignedDuration::from_hours(24 * 7))
                    {
                        let score = (*score).min(10);
                        // A detractor's first answer: the shop hears of it a few minutes
                        // later, so that a comment written right away goes with the alert.
                        if order.survey_answer.is_none() && score <= 6 {
                            order.alert_due_at = Some(now + ALERT_DELAY);
                        }
                        // The customer's value as it stands: an answer changes no spend.
                        let value = order.placed.as_ref().map(|p| {
                            let currency = p.total.currency;
                            Money::new(profile.total_spent.get(currency), currency)
                        });
                        order.survey_answer = Some(crate::domain::SurveyAnswer {
                            score,
                            at: now,
                            value,
                        });
                    }
                }
                EventKind::SurveyCommented { comment, .. } => {
                    if order.survey_answer.is_some() && words_allowed(order.survey_handled_at) {
                        order.survey_comment = Some(comment.clone());
                        if order.alert_due_at.is_some() {
                            if order.alert_raised_at.is_none() {
                                order.alert_raised_at = Some(now);
                            } else {
                                order.comment_alert_raised = true;
                            }
                        }
                    }
                }
            }
            let comment_event = matches!(event.kind, EventKind::SurveyCommented { .. });
            if erasing || (!personal_data_allowed && !comment_event) {
                // What the store held may not be erased yet (an erasure under way), and a late
                // event's product names and reasons are from before the erasure.
                super::erasure::strip_order(&mut order);
            }
            order.derive(&settings.loyalty);
            apply_order_difference(&mut profile, before.as_ref(), &order);
            super::loyalty_rules::record_order(
                &mut profile.loyalty,
                before.as_ref(),
                &order,
                settings,
            );
            let was_placed = before.as_ref().is_some_and(|b| b.placed.is_some());
            if let (false, Some(placed)) = (was_placed, &order.placed) {
                reactivated = profile.retention.order_placed(placed.placed_at, now)
                    == RetentionEffect::Reactivated;
                let placed_at = super::epoch::whole_second(placed.placed_at);
                for line in &placed.lines {
                    // Replenishable products, contracts, and any sku already followed (a
                    // renewal of a contract need not carry one itself).
                    if settings.replenishment.days_per_unit(line).is_some()
                        || super::contract::is_tracked(line)
                        || profile.last_ordered.contains(&line.sku)
                    {
                        profile.last_ordered.note(&line.sku, placed_at);
                    }
                }
            }
            order
        });

    // Answers through the links are signs of life: the customer is still there.
    if matches!(
        event.kind,
        EventKind::SurveyAnswered { .. }
            | EventKind::SurveyCommented { .. }
            | EventKind::KeptInTouch
            | EventKind::LapseSurveyAnswered(_)
            | EventKind::QuestionAnswered { .. }
    ) && (order.is_some() || event.order_id().is_none())
    {
        profile.retention.sign_of_life(now);
    }
    let (question_answered, answer) = match &event.kind {
        EventKind::QuestionAnswered {
            question_id,
            option,
            free_text,
        } => super::questions::record_answer(
            &mut profile,
            question_id,
            *option,
            free_text.as_deref(),
            // Words from a customer being erased, or erased before (the link was mailed
            // before the erasure), are not kept; the choice still counts.
            words_allowed(None),
            &settings.questions,
            now,
        )
        .unzip(),
        _ => (None, None),
    };
    if let EventKind::LapseSurveyAnswered(answer) = &event.kind {
        profile.retention.answer = Some(LapseAnswer {
            reason: answer.reason,
            comment: answer
                .comment
                .clone()
                .filter(|_| words_allowed(profile.retention.asked_at)),
            at: now,
        });
    }
    let stage_before = state
        .profile
        .as_ref()
        .map_or(Engagement::Active, |p| p.retention.stage);
    let lapsed = profile.retention.advance(now, settings) == RetentionEffect::Lapsed;
    profile.mail.inactive = profile.retention.is_inactive();

    profile.lifecycle = Lifecycle::for_order_count(profile.order_count);
    let loyalty_rules = super::loyalty_rules::apply(&mut profile, now, settings);

    // The yearly recap, when its anniversary is due and the year's orders were read; then the
    // next anniversary to wake the customer for.
    let recap = state
        .year_orders
        .as_deref()
        .and_then(|orders| super::recap::decide_recap(&mut profile, orders, now, settings));
    profile.recap_at = super::recap::next_anniversary(&profile, now, settings).map(|(_, at)| at);

    let mut messages = messages_for(
        state,
        event,
        order.as_ref(),
        &mut profile,
        moved,
        now,
        settings,
    );
    for (cause, data) in loyalty_rules.messages {
        messages.push(MessageIntent::new(&cause, &profile, data, now));
    }
    let mut ledger = loyalty_rules.entries;
    if let Some(recap) = recap {
        messages.push(MessageIntent::new(&recap.cause, &profile, recap.data, now));
        ledger.extend(recap.ledger);
    }
    if let EventKind::StockChanged(notice) = &event.kind
        && let Some(data) = super::stock::notice(&mut profile, notice, now, settings)
    {
        let mut message =
            MessageIntent::new(&super::stock::notice_cause(notice), &profile, data, now);
        if settings.stock_notice_promotional
            && matches!(message.data, MessageData::OutOfStockAlternative { .. })
        {
            message.class = super::MessageClass::Promotional;
        }
        messages.push(message);
    }
    if lapsed {
        let months = profile
            .last_order_at
            .map_or(0, |last| now.duration_since(last).as_hours() / (24 * 30));
        let data = MessageData::Reactivation {
            months_since_last_order: u32::try_from(months).unwrap_or(0),
        };
        let asked = profile.retention.asked_at.unwrap_or(now);
        messages.push(MessageIntent::new(
            &asked.as_second().to_string(),
            &profile,
            data,
            now,
        ));
    }
    if let Some(order) = &order {
        messages.extend(replenishment_messages(
            order,
            &replenish_now,
            &profile,
            now,
            settings,
        ));
        messages.extend(contract_messages(
            order,
            &contract_now,
            &profile,
            now,
            settings,
        ));
    }

    let outcome = Outcome {
        order_status: order.as_ref().map(|o| o.status),
        points_pending: profile.loyalty.points_pending,
        lifecycle: profile.lifecycle,
        moved,
        engagement: profile.retention.stage,
        reactivated,
    };
    let order_due_at = order.as_ref().and_then(|o| o.next_due(settings));
    let survey_sent = messages
        .iter()
        .any(|m| matches!(m.data, MessageData::SurveyRequest { .. }));
    let mut activities = activities_for(
        state.order.as_ref(),
        order.as_ref(),
        event,
        stage_before,
        profile.retention.stage,
        reactivated,
        now,
    );
    activities.extend(question_answered.map(|what| Activity { at: now, what }));
    if let Some(order) = &order {
        for sku in contract_renewed {
            activities.push(Activity {
                at: now,
                what: ActivityKind::ContractRenewed {
                    order_id: order.id.clone(),
                    sku,
                },
            });
        }
    }
    if let Some(order) = &order
        && state
            .order
            .as_ref()
            .is_none_or(|b| b.survey_handled_at.is_none())
        && order.survey_handled_at.is_some()
        && !survey_sent
    {
        activities.push(Activity {
            at: now,
            what: ActivityKind::SurveySkipped {
                order_id: order.id.clone(),
                reason: "asked_within_90_days".into(),
            },
        });
    }
    profile.keep_to_the_second();
    // The version counts the profile's own changes: an event that changes only its order
    // leaves the profile as it was, unwritten (the order carries its own revision).
    let profile_changed = state.profile.as_ref() != Some(&profile);
    let changed =
        !messages.is_empty() || !activities.is_empty() || order != state.order || profile_changed;
    if profile_changed {
        profile.version += 1;
    }
    let skipped = messages
        .iter()
        .filter_map(|m| never_goes(m, &profile, now, settings).map(|r| (m.key.clone(), r)))
        .collect();
    let attribution = order
        .as_ref()
        .and_then(|after| attribution_change(state.order.as_ref(), after));
    Decision {
        order_first_seen: state.order.is_none() && order.is_some(),
        order_changed: order.is_some() && order != state.order,
        attribution,
        answer,
        regular_buys: Vec::new(),
        ledger,
        profile,
        order,
        order_due_at,
        messages,
        activities,
        skipped,
        changed,
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
    let held = super::loyalty_rules::qualifying_points(&loyalty, now, settings);
    if let Some(order) = order {
        let before = state.order.as_ref();
        let was_placed = before.is_some_and(|b| b.placed.is_some());
        if !was_placed && order.placed.is_some() && order.points_held() > 0 {
            let next = settings.loyalty.tiers.iter().find(|t| t.min_points > held);
            let data = MessageData::LoyaltyEarned {
                order_id: order.id.clone(),
                points: order.points_held(),
                points_pending: loyalty.points_pending,
                points_available: loyalty.balance().available,
                tier: loyalty.tier.clone(),
                next_tier: next.map(|t| t.name.clone()),
                points_to_next_tier: next.map(|t| t.min_points - held),
            };
            messages.push(MessageIntent::new(order.id.as_str(), profile, data, now));
        }
        if !was_placed && order.placed.is_some() {
            let due = super::questions::on_order_placed(profile, order, &settings.questions, now);
            for (cause, data) in due {
                messages.push(MessageIntent::new(&cause, profile, data, now));
            }
        }
        let reversed_before = before.map_or(0, |b| b.points_reversed);
        if was_placed && order.points_reversed > reversed_before {
            let data = MessageData::LoyaltyReversed {
                order_id: order.id.clone(),
                points: order.points_reversed - reversed_before,
                points_pending: loyalty.points_pending,
                points_available: loyalty.balance().available,
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
            }
        }
        // The shop's alert about a detractor (with the comment, if one came in time), and a
        // comment that came after it in one follow-up.
        let alert = |cause: String| {
            let data = MessageData::DetractorAlert {
                order_id: order.id.clone(),
                customer_id: profile.id.clone(),
                score: order.survey_answer.map_or(0, |a| a.score),
                comment: order.survey_comment.clone(),
            };
            MessageIntent::new(&cause, profile, data, now)
        };
        if before.is_none_or(|b| b.alert_raised_at.is_none()) && order.alert_raised_at.is_some() {
            messages.push(alert(order.id.to_string()));
        }
        if before.is_none_or(|b| !b.comment_alert_raised) && order.comment_alert_raised {
            messages.push(alert(format!("{}#comment", order.id)));
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
                points_available: loyalty.balance().available,
            };
            messages.push(MessageIntent::new(order.id.as_str(), profile, data, now));
        }
    }
    let standing = loyalty
        .tier
        .as_ref()
        .and_then(|name| settings.loyalty.tiers.iter().find(|t| t.name == *name));
    if let Some(tier) = standing.filter(|t| t.min_points > 0)
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
    /// What the customer kept of it: a return takes its part off.
    spent: Option<Money>,
    points_pending: u64,
    points_available: u64,
    returned: u32,
}

/// What an event changed in an attributed order's worth to its message: its attribution when
/// it is placed, and what a return took back. Nothing when nothing changed (a redelivered
/// order, a second delivery report).
fn attribution_change(before: Option<&Order>, after: &Order) -> Option<OrderAttribution> {
    let (message_key, held_out) = match (&after.attributed_to, &after.held_out_for) {
        (Some(key), _) => (key.clone(), false),
        (None, Some(key)) => (key.clone(), true),
        (None, None) => return None,
    };
    let placed = after.placed.as_ref()?;
    let kept = after.kept_value()?;
    let kept_before = before
        .filter(|b| b.attributed_to.is_some() || b.held_out_for.is_some())
        .and_then(Order::kept_value);
    let newly_attributed = kept_before.is_none();
    let change = kept.minor - kept_before.map_or(0, |m| m.minor);
    if !newly_attributed && change == 0 {
        return None;
    }
    Some(OrderAttribution {
        message_key,
        order_id: after.id.clone(),
        placed_at: placed.placed_at,
        newly_attributed,
        revenue_change: Money::new(change, kept.currency),
        held_out,
    })
}

fn contribution(order: Option<&Order>) -> Contribution {
    let Some(order) = order else {
        return Contribution::default();
    };
    Contribution {
        counted: u32::from(order.placed.is_some()),
        spent: order.kept_value(),
        points_pending: order.points_pending(),
        points_available: order.points_available(),
        returned: u32::from(order.has_returns()),
    }
}

fn apply_order_difference(profile: &mut CustomerProfile, before: Option<&Order>, after: &Order) {
    let (old, new) = (contribution(before), contribution(Some(after)));
    // Saturating, never wrapping: events whose amounts would not fit are refused before
    // `decide` ([`check_amounts`](super::check_amounts)).
    profile.order_count = profile
        .order_count
        .saturating_add(new.counted)
        .saturating_sub(old.counted);
    profile.returned_order_count = profile
        .returned_order_count
        .saturating_add(new.returned)
        .saturating_sub(old.returned);
    if let Some(m) = old.spent {
        profile.total_spent.add(m.currency, -m.minor);
    }
    if let Some(m) = new.spent {
        profile.total_spent.add(m.currency, m.minor);
    }
    profile.loyalty.points_pending = profile
        .loyalty
        .points_pending
        .saturating_add(new.points_pending)
        .saturating_sub(old.points_pending);
    profile.loyalty.points_available = profile
        .loyalty
        .points_available
        .saturating_add(new.points_available)
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

/// Reminders for products about to run out, unless the customer reordered the product after
/// this order (then the reminder is cancelled: they have it already).
fn replenishment_messages(
    order: &Order,
    due: &[(OrderLine, u32, Timestamp)],
    profile: &CustomerProfile,
    now: Timestamp,
    settings: &ShopSettings,
) -> Vec<MessageIntent> {
    let Some(placed) = &order.placed else {
        return Vec::new();
    };
    let tz = jiff::tz::TimeZone::get(&settings.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    due.iter()
        .filter(|(line, _, _)| {
            profile
                .last_ordered
                .get(&line.sku)
                .is_none_or(|last| last <= placed.placed_at)
        })
        .map(|(line, quantity, runs_out_at)| {
            let data = MessageData::Replenishment {
                order_id: order.id.clone(),
                sku: line.sku.clone(),
                product_name: line.name.clone(),
                quantity: *quantity,
                run_out_on: runs_out_at.to_zoned_datetime(tz.clone()).date().to_string(),
            };
            MessageIntent::new(&format!("{}#{}", order.id, line.sku), profile, data, now)
        })
        .collect()
}

/// The contract reminders of an order that are due at `now`, each decided once: recorded on
/// the order as handled (sent, or closed by a renewal or the contract's end), returned with
/// the step to send; and the skus whose reminders a renewal closed (for the timeline).
#[allow(clippy::type_complexity)]
fn due_contract_notices(
    order: &mut Order,
    profile: &CustomerProfile,
    now: Timestamp,
    settings: &ShopSettings,
) -> (Vec<(OrderLine, super::Contract, u8, bool)>, Vec<super::Sku>) {
    use super::contract::{NOTICE_STEPS, NoticeOutcome, decide_notice, record_handled};
    let Some(placed_at) = order.placed.as_ref().map(|p| p.placed_at) else {
        return (Vec::new(), Vec::new());
    };
    let decided: Vec<_> = order
        .contract_notices_due(settings)
        .into_iter()
        .filter(|n| n.at <= now)
        .map(|n| {
            let last = profile.last_ordered.get(&n.line.sku);
            let outcome = decide_notice(&n, placed_at, last, now, settings);
            (n.line.clone(), n.contract.clone(), outcome)
        })
        .collect();
    let (mut send, mut renewed) = (Vec::new(), Vec::new());
    for (line, contract, outcome) in decided {
        match outcome {
            NoticeOutcome::Send { step, last } => {
                record_handled(order, &line.sku, step);
                send.push((line, contract, step, last));
            }
            NoticeOutcome::Renewed => {
                record_handled(order, &line.sku, NOTICE_STEPS);
                renewed.push(line.sku);
            }
            NoticeOutcome::Ended => record_handled(order, &line.sku, NOTICE_STEPS),
        }
    }
    (send, renewed)
}

/// A reminder for each contract about to end (service: it is about the customer's own
/// contract, not an offer), keyed by order, sku and step so each goes once.
fn contract_messages(
    order: &Order,
    due: &[(OrderLine, super::Contract, u8, bool)],
    profile: &CustomerProfile,
    now: Timestamp,
    settings: &ShopSettings,
) -> Vec<MessageIntent> {
    let tz = jiff::tz::TimeZone::get(&settings.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    due.iter()
        .map(|(line, contract, step, last)| {
            let data = MessageData::ContractEnding {
                order_id: order.id.clone(),
                sku: line.sku.clone(),
                product_name: line.name.clone(),
                ends_on: contract
                    .ends_at
                    .to_zoned_datetime(tz.clone())
                    .date()
                    .to_string(),
                days_left: super::contract::days_left(contract, now),
                renewal_url: contract.renewal_url.clone(),
                last: *last,
            };
            MessageIntent::new(
                &format!("{}#{}#{step}", order.id, line.sku),
                profile,
                data,
                now,
            )
        })
        .collect()
}

/// What the event changed, as marketers read it: found by comparing before and after, so a
/// re-applied event records nothing new.
fn activities_for(
    before: Option<&Order>,
    after: Option<&Order>,
    event: &ShopEvent,
    stage_before: Engagement,
    stage_after: Engagement,
    reactivated: bool,
    now: Timestamp,
) -> Vec<Activity> {
    let mut activities = Vec::new();
    let mut push = |what: ActivityKind| activities.push(Activity { at: now, what });
    if let Some(order) = after {
        if let (false, Some(placed)) = (before.is_some_and(|b| b.placed.is_some()), &order.placed) {
            push(ActivityKind::OrderPlaced {
                order_id: order.id.clone(),
                total: placed.total,
                points: order.points_earned,
                reactivation: reactivated,
            });
        }
        let reversed_before = before.map_or(0, |b| b.points_reversed);
        if order.points_reversed > reversed_before {
            push(ActivityKind::OrderReturned {
                order_id: order.id.clone(),
                points_reversed: order.points_reversed - reversed_before,
            });
        }
        if before.is_none_or(|b| b.points_confirmed_at.is_none())
            && order.points_confirmed_at.is_some()
        {
            push(ActivityKind::PointsConfirmed {
                order_id: order.id.clone(),
                points: order.points_held(),
            });
        }
        if let Some(answer) = order.survey_answer
            && before.and_then(|b| b.survey_answer) != Some(answer)
        {
            push(ActivityKind::SurveyAnswered {
                order_id: order.id.clone(),
                score: answer.score,
                value: answer.value,
            });
        }
    }
    match &event.kind {
        EventKind::KeptInTouch => push(ActivityKind::KeptInTouch),
        EventKind::LapseSurveyAnswered(answer) => push(ActivityKind::LapseAnswered {
            reason: answer.reason,
        }),
        _ => {}
    }
    if stage_before != stage_after {
        push(ActivityKind::EngagementChanged {
            from: stage_before,
            to: stage_after,
        });
    }
    activities
}
