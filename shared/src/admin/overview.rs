//! The overview for a period: what each kind of message came to, why messages were skipped,
//! the NPS, and the reactivation rate beside the holdout group's.

use super::rows::status_word;
use crate::domain::{ActivityKind, CustomerId, DeliveryStatus, OrderId};
use crate::domain::{ActivityRecord, MessageRecord};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KindFigures {
    pub kind: String,
    pub created: u32,
    pub sent: u32,
    pub delivered: u32,
    pub bounced: u32,
    pub complained: u32,
    pub opened: u32,
    pub clicked: u32,
    pub skipped: u32,
    pub held_out: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Nps {
    pub answers: u32,
    pub promoters: u32,
    pub passives: u32,
    pub detractors: u32,
    /// Promoters % minus detractors %, rounded; none without answers.
    pub score: Option<i32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Reactivation {
    /// Reactivation emails sent in the period.
    pub asked: u32,
    /// Orders in the period that brought back a customer who was not held out.
    pub reactivated: u32,
    /// `reactivated / asked`, in percent.
    pub rate: Option<u32>,
    /// Held-out customers whose reactivation email was not sent.
    pub held_out: u32,
    pub held_out_reactivated: u32,
    pub held_out_rate: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Overview {
    pub kinds: Vec<KindFigures>,
    /// Skipped messages by reason, most first.
    pub skips: Vec<(String, u32)>,
    pub nps: Nps,
    pub reactivation: Reactivation,
}

fn percent(part: u32, whole: u32) -> Option<u32> {
    (whole > 0).then(|| ((f64::from(part) * 100.0) / f64::from(whole)).round() as u32)
}

/// Figures for the messages and activities of one period. `held_out` says whether a customer
/// is in the shop's holdout group.
pub fn overview(
    messages: &[MessageRecord],
    activities: &[ActivityRecord],
    held_out: impl Fn(&CustomerId) -> bool,
) -> Overview {
    let mut kinds: BTreeMap<String, KindFigures> = BTreeMap::new();
    let mut skips: BTreeMap<String, u32> = BTreeMap::new();
    let mut reactivation = Reactivation::default();
    for m in messages {
        let kind = m.intent.data.kind();
        let f = kinds.entry(kind.to_owned()).or_insert_with(|| KindFigures {
            kind: kind.to_owned(),
            ..KindFigures::default()
        });
        f.created += 1;
        let has = |s: DeliveryStatus| m.reports.iter().any(|r| r.status == s);
        let status = status_word(m);
        let sent = m.sent_at.is_some() || m.delivery_status.is_some();
        f.sent += u32::from(sent);
        f.delivered += u32::from(
            has(DeliveryStatus::Delivered)
                || has(DeliveryStatus::Opened)
                || has(DeliveryStatus::Clicked),
        );
        f.bounced += u32::from(has(DeliveryStatus::Bounced));
        f.complained += u32::from(has(DeliveryStatus::Complained));
        f.opened += u32::from(has(DeliveryStatus::Opened) || has(DeliveryStatus::Clicked));
        f.clicked += u32::from(has(DeliveryStatus::Clicked));
        f.skipped += u32::from(status == "skipped");
        f.held_out += u32::from(status == "held_out");
        if status == "skipped" {
            *skips
                .entry(m.reason.clone().unwrap_or_else(|| "unknown".into()))
                .or_insert(0) += 1;
        }
        if kind == "reactivation" {
            reactivation.asked += u32::from(sent);
            reactivation.held_out += u32::from(status == "held_out");
        }
    }
    // The latest answer per order counts.
    let mut answers: BTreeMap<(&CustomerId, &OrderId), (jiff::Timestamp, u8)> = BTreeMap::new();
    for a in activities {
        match &a.activity.what {
            ActivityKind::SurveyAnswered { order_id, score } => {
                let slot = answers
                    .entry((&a.customer_id, order_id))
                    .or_insert((a.activity.at, *score));
                if a.activity.at >= slot.0 {
                    *slot = (a.activity.at, *score);
                }
            }
            ActivityKind::OrderPlaced {
                reactivation: true, ..
            } => {
                if held_out(&a.customer_id) {
                    reactivation.held_out_reactivated += 1;
                } else {
                    reactivation.reactivated += 1;
                }
            }
            _ => {}
        }
    }
    let mut nps = Nps::default();
    for (_, score) in answers.values() {
        nps.answers += 1;
        match score {
            9..=10 => nps.promoters += 1,
            7..=8 => nps.passives += 1,
            _ => nps.detractors += 1,
        }
    }
    nps.score = (nps.answers > 0).then(|| {
        let n = f64::from(nps.answers);
        ((f64::from(nps.promoters) - f64::from(nps.detractors)) * 100.0 / n).round() as i32
    });
    reactivation.rate = percent(reactivation.reactivated, reactivation.asked);
    reactivation.held_out_rate = percent(reactivation.held_out_reactivated, reactivation.held_out);
    let mut skips: Vec<(String, u32)> = skips.into_iter().collect();
    skips.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Overview {
        kinds: kinds.into_values().collect(),
        skips,
        nps,
        reactivation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::MessageStatus;
    use crate::domain::{
        Activity, Currency, DeliveryReport, EventId, MessageClass, MessageData, MessageIntent,
        Money, ShopId,
    };

    fn t(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    fn message(customer: &str, data: MessageData, status: MessageStatus) -> MessageRecord {
        MessageRecord {
            shop: ShopId::parse("demo").unwrap(),
            intent: MessageIntent {
                key: format!("{}#{customer}", data.kind()),
                customer_id: CustomerId::parse(customer).unwrap(),
                class: MessageClass::Service,
                locale: None,
                data,
                created_at: t("2026-11-02T10:00:00Z"),
            },
            status,
            cause: EventId::parse("e").unwrap(),
            reason: (status == MessageStatus::Skipped).then(|| "no_consent".into()),
            deferred_until: None,
            error: None,
            ses_message_id: None,
            sent_at: (status == MessageStatus::Sent).then(|| t("2026-11-02T10:00:01Z")),
            subject: None,
            rendered_locale: None,
            attempts: 0,
            reports: Vec::new(),
            delivery_status: None,
            erased_at: None,
        }
    }

    fn activity(customer: &str, at: &str, what: ActivityKind) -> ActivityRecord {
        ActivityRecord {
            shop: ShopId::parse("demo").unwrap(),
            customer_id: CustomerId::parse(customer).unwrap(),
            activity: Activity { at: t(at), what },
        }
    }

    fn reactivation() -> MessageData {
        MessageData::Reactivation {
            months_since_last_order: 8,
        }
    }

    #[test]
    fn figures_per_kind_nps_and_reactivation_beside_the_holdout() {
        let mut bounced = message("c1", reactivation(), MessageStatus::Sent);
        bounced.reports = vec![DeliveryReport {
            status: DeliveryStatus::Bounced,
            at: t("2026-11-02T10:00:02Z"),
            detail: None,
            permanent: true,
        }];
        bounced.delivery_status = Some(DeliveryStatus::Bounced);
        let mut clicked = message("c2", reactivation(), MessageStatus::Sent);
        clicked.reports = vec![DeliveryReport {
            status: DeliveryStatus::Clicked,
            at: t("2026-11-02T12:00:00Z"),
            detail: None,
            permanent: false,
        }];
        let messages = vec![
            bounced,
            clicked,
            message("c3", reactivation(), MessageStatus::Sent),
            message("c4", reactivation(), MessageStatus::Sent),
            message("h1", reactivation(), MessageStatus::HeldOut),
            message("h2", reactivation(), MessageStatus::HeldOut),
            message(
                "c5",
                MessageData::WelcomeAfterMove { coupon_code: None },
                MessageStatus::Skipped,
            ),
        ];
        let order = |n: &str| crate::domain::OrderId::parse(n).unwrap();
        let placed = |reactivation| ActivityKind::OrderPlaced {
            order_id: order("o"),
            total: Money::new(1000, Currency::EUR),
            points: 10,
            reactivation,
        };
        let answered = |o: &str, score| ActivityKind::SurveyAnswered {
            order_id: order(o),
            score,
        };
        let activities = vec![
            activity("c2", "2026-11-05T10:00:00Z", placed(true)),
            activity("h1", "2026-11-06T10:00:00Z", placed(true)),
            activity("c9", "2026-11-06T10:00:00Z", placed(false)),
            // The latest answer per order counts: c1 changed 4 into 9.
            activity("c1", "2026-11-03T10:00:00Z", answered("A", 4)),
            activity("c1", "2026-11-03T11:00:00Z", answered("A", 9)),
            activity("c2", "2026-11-03T10:00:00Z", answered("B", 10)),
            activity("c3", "2026-11-03T10:00:00Z", answered("C", 8)),
            activity("c4", "2026-11-03T10:00:00Z", answered("D", 2)),
        ];
        let o = overview(&messages, &activities, |c| c.as_str().starts_with('h'));
        let r = o.kinds.iter().find(|k| k.kind == "reactivation").unwrap();
        assert_eq!(
            (
                r.created,
                r.sent,
                r.delivered,
                r.bounced,
                r.opened,
                r.clicked,
                r.held_out
            ),
            (6, 4, 1, 1, 1, 1, 2)
        );
        assert_eq!(o.skips, vec![("no_consent".to_owned(), 1)]);
        assert_eq!(
            (
                o.nps.answers,
                o.nps.promoters,
                o.nps.passives,
                o.nps.detractors
            ),
            (4, 2, 1, 1)
        );
        assert_eq!(o.nps.score, Some(25), "(2 - 1) / 4 = 25%");
        assert_eq!(
            (
                o.reactivation.asked,
                o.reactivation.reactivated,
                o.reactivation.rate
            ),
            (4, 1, Some(25))
        );
        assert_eq!(
            (
                o.reactivation.held_out,
                o.reactivation.held_out_reactivated,
                o.reactivation.held_out_rate
            ),
            (2, 1, Some(50))
        );
        assert_eq!(overview(&[], &[], |_| false).nps.score, None);
    }
}
