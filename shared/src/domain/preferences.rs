//! What a customer says about mail through a link: no more offers, or no more mail at all.

use super::{Consent, CustomerProfile, OptOut, OptOutScope, Timestamp};

/// Applies an unsubscribe. Idempotent: the same request again changes nothing, a narrower one
/// never undoes a wider one. Any opt-out also withdraws marketing consent, with its time.
/// Returns `None` when nothing changes.
pub fn unsubscribe(
    profile: &CustomerProfile,
    scope: OptOutScope,
    now: Timestamp,
) -> Option<CustomerProfile> {
    let current = profile.mail.opted_out.as_ref().map(|o| o.scope);
    let wider = matches!(
        (current, scope),
        (None, _) | (Some(OptOutScope::Promotional), OptOutScope::All)
    );
    let consent_on = profile.has_marketing_consent();
    if !wider && !consent_on {
        return None;
    }
    let mut next = profile.clone();
    if wider {
        next.mail.opted_out = Some(OptOut { scope, at: now });
    }
    next.consent = Some(Consent {
        granted: false,
        at: now,
        source: "unsubscribe".into(),
    });
    next.version += 1;
    Some(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CustomerId, ShopId};

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn unsubscribing_is_idempotent_and_never_narrows() {
        let mut p = CustomerProfile::new(
            ShopId::parse("demo").unwrap(),
            CustomerId::parse("c").unwrap(),
        );
        p.consent = Some(Consent {
            granted: true,
            at: t("2026-11-01T00:00:00Z"),
            source: "order.placed".into(),
        });
        let offers = unsubscribe(&p, OptOutScope::Promotional, t("2026-11-02T00:00:00Z")).unwrap();
        assert_eq!(
            offers.mail.opted_out.as_ref().unwrap().scope,
            OptOutScope::Promotional
        );
        assert!(!offers.has_marketing_consent());
        assert_eq!(
            unsubscribe(&offers, OptOutScope::Promotional, t("2026-11-03T00:00:00Z")),
            None
        );
        let all = unsubscribe(&offers, OptOutScope::All, t("2026-11-03T00:00:00Z")).unwrap();
        assert_eq!(all.mail.opted_out.as_ref().unwrap().scope, OptOutScope::All);
        assert_eq!(
            unsubscribe(&all, OptOutScope::Promotional, t("2026-11-04T00:00:00Z")),
            None,
            "a narrower request does not undo"
        );
        assert_eq!(
            unsubscribe(&all, OptOutScope::All, t("2026-11-04T00:00:00Z")),
            None
        );
    }
}
