//! Erasing a customer's personal data on request (GDPR; Shopify's `customers/redact`).
//!
//! What is personal: the email address, the name and locale, addresses (fingerprints and
//! postal codes), product names (what someone bought says a lot about them), the customer's
//! own words (survey and lapse comments, return reasons), and what was rendered or reported
//! about a message (its subject, which greets the customer by name; SES's texts, which may
//! quote the address). What stays: counts, totals, lines by sku, quantity and price, statuses,
//! scores, points and times, so loyalty balances and the shop's statistics stay right.
//!
//! Loyalty items: a ledger entry keeps its kind, points, time and redemption id, and loses the
//! shop's reason for an adjustment (free text that may name the person). A redemption keeps its
//! reward, value, points, times and state (voided, used by which order), so the shop's
//! liability figures stay right, and loses its code: the code is what ties the person to their
//! orders on the shop's platform, so the code registry no longer leads to the redemption either.
//!
//! Every function here is idempotent: erasing an erased item changes nothing, so an erasure
//! that died halfway is finished by running it again, and only items that still hold
//! something personal are written.

use super::{
    AddressHistory, Consent, Contact, CustomerProfile, DeliveryReport, LedgerEntry, MessageData,
    MessageRecord, MessageStatus, Order, OrderFact, ParkedEvent, Redemption, Timestamp,
};

/// The erased profile and the orders that held personal data, to be written together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erasure {
    pub profile: CustomerProfile,
    /// Only the orders that changed.
    pub orders: Vec<Order>,
}

/// Erases the profile and the orders. The profile's version is left to the store, which
/// writes the erasure in version-checked steps.
pub fn erase(profile: CustomerProfile, orders: Vec<Order>, now: Timestamp) -> Erasure {
    Erasure {
        profile: erase_profile(profile, now),
        orders: orders.iter().filter_map(erase_order).collect(),
    }
}

/// Does the profile still hold anything personal?
pub fn profile_holds_personal_data(profile: &CustomerProfile) -> bool {
    profile.contact != Contact::default()
        || profile.addresses != AddressHistory::default()
        || profile
            .retention
            .answer
            .as_ref()
            .is_some_and(|a| a.comment.is_some())
        || profile.consent.as_ref().is_some_and(|c| c.granted)
        || profile.loyalty.clock.birthday.is_some()
}

/// Removes contact details, addresses and the customer's own words from the profile.
/// Marketing consent becomes a withdrawal at `now`, so nothing promotional can follow, and
/// without an address no mail can be sent at all. A profile erased before and holding nothing
/// personal since is returned unchanged (its `erased_at` stays the first erasure's).
pub fn erase_profile(profile: CustomerProfile, now: Timestamp) -> CustomerProfile {
    if profile.erased_at.is_some() && !profile_holds_personal_data(&profile) {
        return profile;
    }
    let mut profile = profile;
    profile.contact = Contact::default();
    profile.addresses = AddressHistory::default();
    profile.consent = Some(Consent {
        granted: false,
        at: now,
        source: "erasure".into(),
    });
    profile.erased_at = Some(now);
    // A birthday is personal data; the year's points already given stay (birthday_year).
    profile.loyalty.clock.birthday = None;
    if let Some(answer) = &mut profile.retention.answer {
        answer.comment = None;
    }
    profile
}

/// The order without product names, return reasons and the survey comment; `None` when it
/// held none of them (nothing to write).
pub fn erase_order(order: &Order) -> Option<Order> {
    let mut erased = order.clone();
    strip_order(&mut erased);
    (erased != *order).then_some(erased)
}

/// Strips an order in place (also used by `decide` while a customer is being erased).
pub(crate) fn strip_order(order: &mut Order) {
    if let Some(placed) = &mut order.placed {
        for line in &mut placed.lines {
            line.name = None;
            // A renewal link may carry the customer's own token: the end date stays.
            if let Some(contract) = &mut line.contract {
                contract.renewal_url.clear();
            }
        }
    }
    for ret in &mut order.returns {
        ret.reason = None;
    }
    order.survey_comment = None;
}

/// A message's data without the customer's words and product names; `None` when it held
/// neither. A care tip's title and text name the product the customer kept, so they go too;
/// its category stays, as it does on the order's lines.
pub fn erase_message_data(data: &MessageData) -> Option<MessageData> {
    let mut erased = data.clone();
    match &mut erased {
        MessageData::DetractorAlert { comment, .. } => *comment = None,
        MessageData::Replenishment { product_name, .. } => *product_name = None,
        MessageData::ContractEnding {
            product_name,
            renewal_url,
            ..
        } => {
            *product_name = None;
            renewal_url.clear();
        }
        MessageData::CareTip { title, text, .. } => {
            title.clear();
            text.clear();
        }
        // What the customer bought, and what was offered in its place, say what they use.
        MessageData::OutOfStockAlternative {
            product_name,
            alternatives,
            ..
        } => {
            *product_name = None;
            alternatives.clear();
        }
        MessageData::BackInStock { product_name, .. } => *product_name = None,
        MessageData::LoyaltyEarned { .. }
        | MessageData::LoyaltyConfirmed { .. }
        | MessageData::SurveyRequest { .. }
        | MessageData::SurveyPromoter { .. }
        | MessageData::SurveyDetractor { .. }
        | MessageData::Reactivation { .. }
        | MessageData::LoyaltyReversed { .. }
        | MessageData::TierReached { .. }
        | MessageData::TierChanged { .. }
        | MessageData::PointsExpiring { .. }
        | MessageData::Birthday { .. }
        | MessageData::YearlyRecap { .. }
        | MessageData::Question { .. }
        | MessageData::PoolLow { .. }
        | MessageData::WelcomeAfterMove { .. } => {}
    }
    (erased != *data).then_some(erased)
}

/// SES's reports without their texts (a bounce's diagnostic may quote the address); the
/// statuses, times and whether a bounce was permanent stay. `None` when there was no text.
pub fn erase_reports(reports: &[DeliveryReport]) -> Option<Vec<DeliveryReport>> {
    if reports.iter().all(|r| r.detail.is_none()) {
        return None;
    }
    Some(
        reports
            .iter()
            .cloned()
            .map(|mut r| {
                r.detail = None;
                r
            })
            .collect(),
    )
}

/// A platform event parked under an order without the words it may carry (a refund's note);
/// `None` when it carries none. The return itself stays, so it still counts once its order
/// arrives.
pub fn erase_parked(parked: &ParkedEvent) -> Option<ParkedEvent> {
    let mut erased = parked.clone();
    match &mut erased.fact {
        OrderFact::Returned { facts } => facts.reason = None,
        OrderFact::Delivered { .. } => {}
    }
    (erased != *parked).then_some(erased)
}

/// A ledger entry without the shop's reason; `None` when it had none.
pub fn erase_ledger_entry(entry: &LedgerEntry) -> Option<LedgerEntry> {
    entry.reason.as_ref()?;
    Some(LedgerEntry {
        reason: None,
        ..entry.clone()
    })
}

/// A redemption without its code; `None` when it has none left.
pub fn erase_redemption(redemption: &Redemption) -> Option<Redemption> {
    if redemption.code.is_empty() {
        return None;
    }
    Some(Redemption {
        code: String::new(),
        ..redemption.clone()
    })
}

/// How one message is erased: only its personal attributes change (the store writes them
/// as an update, so a concurrent claim, outcome or SES report is never overwritten).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageErasure {
    /// The message's key (`kind#cause`).
    pub key: String,
    /// The data without words and product names, if it held any.
    pub data: Option<MessageData>,
    /// The reports without their texts, if any had one.
    pub reports: Option<Vec<DeliveryReport>>,
    /// How many reports were read: a report added since must cancel the write.
    pub reports_read: usize,
}

/// What erasing a message takes; `None` when there is nothing to do. Its subject and error
/// text go; besides what it holds, a message that may still be sent or reported on is marked
/// erased, so that what comes later (a subject, SES's texts) is not stored with it.
pub fn erase_message(message: &MessageRecord) -> Option<MessageErasure> {
    let data = erase_message_data(&message.intent.data);
    let reports = erase_reports(&message.reports);
    let texts = message.subject.is_some() || message.error.is_some();
    let may_change = matches!(
        message.status,
        MessageStatus::Pending
            | MessageStatus::Sending
            | MessageStatus::Deferred
            | MessageStatus::Sent
    );
    let needed =
        data.is_some() || reports.is_some() || texts || (message.erased_at.is_none() && may_change);
    needed.then(|| MessageErasure {
        key: message.intent.key.clone(),
        data,
        reports,
        reports_read: message.reports.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CustomerId, DeliveryStatus, Email, OrderId, ShopId, Stamped};

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    fn profile() -> CustomerProfile {
        let mut p = CustomerProfile::new(
            ShopId::parse("demo").unwrap(),
            CustomerId::parse("c1").unwrap(),
        );
        p.contact.email = Some(Stamped {
            value: Email::parse("anna@example.nl").unwrap(),
            at: t(0),
        });
        p
    }

    #[test]
    fn erasing_twice_changes_nothing_the_second_time() {
        let once = erase_profile(profile(), t(10));
        assert!(!profile_holds_personal_data(&once));
        assert_eq!(once.erased_at, Some(t(10)));
        assert_eq!(erase_profile(once.clone(), t(20)), once);
    }

    #[test]
    fn a_customer_back_after_an_erasure_is_erased_again() {
        let mut back = erase_profile(profile(), t(10));
        back.contact = profile().contact;
        let again = erase_profile(back, t(20));
        assert_eq!(again.erased_at, Some(t(20)));
        assert!(again.contact.email().is_none());
    }

    #[test]
    fn a_contract_reminder_loses_its_product_name_and_renewal_link_and_keeps_its_dates() {
        let reminder = MessageData::ContractEnding {
            order_id: crate::domain::OrderId::parse("NL-1").unwrap(),
            sku: crate::domain::Sku::parse("CARE-1Y").unwrap(),
            product_name: Some("Onderhoud".into()),
            ends_on: "2027-11-02".into(),
            days_left: 30,
            renewal_url: "https://shop.example/renew?customer=abc".into(),
            last: false,
        };
        let Some(MessageData::ContractEnding {
            product_name,
            renewal_url,
            ends_on,
            ..
        }) = erase_message_data(&reminder)
        else {
            panic!("erased")
        };
        assert_eq!((product_name, renewal_url.as_str()), (None, ""));
        assert_eq!(ends_on, "2027-11-02");
    }

    #[test]
    fn messages_keep_their_numbers_and_lose_words_and_product_names() {
        let alert = MessageData::DetractorAlert {
            order_id: OrderId::parse("o1").unwrap(),
            customer_id: CustomerId::parse("c1").unwrap(),
            score: 3,
            comment: Some("Anna hier, de tandpasta smaakte naar zeep".into()),
        };
        let erased = erase_message_data(&alert).unwrap();
        assert_eq!(
            erased,
            MessageData::DetractorAlert {
                order_id: OrderId::parse("o1").unwrap(),
                customer_id: CustomerId::parse("c1").unwrap(),
                score: 3,
                comment: None,
            }
        );
        assert_eq!(erase_message_data(&erased), None, "nothing left to erase");
        let loyalty = MessageData::TierReached {
            tier: "Goud".into(),
            points: 500,
        };
        assert_eq!(erase_message_data(&loyalty), None);
    }

    #[test]
    fn a_parked_return_keeps_what_counts_and_loses_its_note() {
        use crate::domain::{EventId, ReturnFacts, ReturnScope};
        let parked = ParkedEvent {
            event_id: EventId::parse("shopify:refund:1").unwrap(),
            source: "shopify:refunds/create".into(),
            occurred_at: t(1),
            order_id: OrderId::parse("o1").unwrap(),
            fact: OrderFact::Returned {
                facts: ReturnFacts {
                    event_id: EventId::parse("shopify:refund:1").unwrap(),
                    returned_at: t(1),
                    refund_total: None,
                    scope: ReturnScope::Whole,
                    reason: Some("Anna: de borstel deed pijn".into()),
                },
            },
        };
        let erased = erase_parked(&parked).unwrap();
        let OrderFact::Returned { facts } = &erased.fact else {
            panic!("still a return");
        };
        assert_eq!(
            (facts.reason.as_deref(), &facts.scope),
            (None, &ReturnScope::Whole)
        );
        assert_eq!(erase_parked(&erased), None);
    }

    #[test]
    fn loyalty_items_keep_their_points_and_times_and_lose_reason_and_code() {
        use crate::domain::EntryKind;
        let entry = LedgerEntry {
            kind: EntryKind::Adjusted,
            points: 250,
            at: t(3),
            redemption: None,
            reason: Some("Anna de Vries belde: pakket kwijt".into()),
        };
        let erased = erase_ledger_entry(&entry).unwrap();
        assert_eq!(
            (erased.kind, erased.points, erased.at),
            (EntryKind::Adjusted, 250, t(3))
        );
        assert_eq!(erased.reason, None);
        assert_eq!(erase_ledger_entry(&erased), None, "nothing left to erase");

        let redemption = Redemption {
            id: "rd_1".into(),
            reward: "r5".into(),
            requested_points: None,
            code: "SAVE5-ANNA".into(),
            value: serde_json::json!({"minor": 500, "currency": "EUR"}),
            points_spent: 500,
            created_at: t(4),
            expires_at: t(5),
            balance_after: 100,
            voided_at: None,
            used_by_order: Some("o1".into()),
            used_at: None,
        };
        let erased = erase_redemption(&redemption).unwrap();
        assert_eq!(erased.code, "");
        assert_eq!(
            Redemption {
                code: redemption.code.clone(),
                ..erased.clone()
            },
            redemption,
            "only the code goes"
        );
        assert_eq!(erase_redemption(&erased), None);
    }

    #[test]
    fn reports_keep_their_status_and_lose_their_text() {
        let report = DeliveryReport {
            status: DeliveryStatus::Bounced,
            at: t(5),
            detail: Some("550 anna@example.nl: no such user".into()),
            permanent: true,
        };
        let erased = erase_reports(std::slice::from_ref(&report)).unwrap();
        assert_eq!(erased[0].status, DeliveryStatus::Bounced);
        assert!(erased[0].permanent && erased[0].detail.is_none());
        assert_eq!(erase_reports(&erased), None);
    }
}
