//! The overview for a period: what each kind of message came to, why messages were skipped,
//! the NPS, and the reactivation rate beside the holdout group's.

use super::rows::status_word;
use crate::domain::{ActivityKind, CustomerId, DeliveryStatus, OrderId};
use crate::store::{ActivityRecord, MessageRecord};
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
