//! Erasing a customer's personal data on request (GDPR; Shopify's `customers/redact`).

use super::{AddressHistory, Consent, Contact, CustomerProfile, Order, Timestamp};

/// The erased profile and orders, to be written together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erasure {
    pub profile: CustomerProfile,
    pub orders: Vec<Order>,
}

/// Removes contact details, addresses, product names and the customer's own words (survey
/// comments, return reasons); keeps what the loyalty rules need
/// (order totals, lines by sku, quantity and price, statuses, points) so balances stay right.
/// Marketing consent becomes a withdrawal at `now`, so nothing promotional can follow, and
/// without an address no mail can be sent at all.
pub fn erase(profile: CustomerProfile, orders: Vec<Order>, now: Timestamp) -> Erasure {
    let mut profile = profile;
    profile.contact = Contact::default();
    profile.addresses = AddressHistory::default();
    profile.consent = Some(Consent {
        granted: false,
        at: now,
        source: "erasure".into(),
    });
    profile.erased_at = Some(now);
    if let Some(answer) = &mut profile.retention.answer {
        answer.comment = None;
    }
    profile.version += 1;
    let orders = orders
        .into_iter()
        .map(|mut order| {
            if let Some(placed) = &mut order.placed {
                for line in &mut placed.lines {
                    line.name = None;
                }
            }
            for ret in &mut order.returns {
                ret.reason = None;
            }
            order.survey_comment = None;
            order
        })
        .collect();
    Erasure { profile, orders }
}
