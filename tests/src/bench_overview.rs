//! `make bench`: the year's overview of a big shop. A year of messages (100,000 by default,
//! `BENCH_OVERVIEW_MESSAGES`) is seeded with `BatchWriteItem`; the day counter reads them off
//! the stream as it reads any write; then the year's overview is asked for once, as a first
//! view: how long it takes and how many DynamoDB requests and day items it reads.

use crate::{ADMIN_PASSWORD, ADMIN_USER, Item, StackOptions, TestStack};
use base64::Engine;
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use std::time::Instant;
use trouw::domain::{
    CustomerId, DeliveryReport, DeliveryStatus, EventId, MessageClass, MessageData, MessageIntent,
};
use trouw::store::{MessageRecord, MessageStatus};

#[derive(Debug, Clone, Serialize)]
pub struct YearOverview {
    pub messages: usize,
    pub seeded_in_s: f64,
    /// Until the counter had added every day.
    pub counted_in_s: f64,
    pub requests: usize,
    pub day_items: usize,
    pub answer_ms: f64,
}

/// Message `n` of a seeded log: sent and delivered (a reactivation email), or skipped under
/// the frequency cap (a tier mail), created at `created`, as the store writes it.
pub fn message_item(
    shop: &trouw::domain::ShopId,
    n: usize,
    sent: bool,
    created: Timestamp,
) -> Item {
    let data = if sent {
        MessageData::Reactivation {
            months_since_last_order: 8,
        }
    } else {
        MessageData::TierReached {
            tier: "Zilver".into(),
            points: 250,
        }
    };
    let intent = MessageIntent {
        key: format!("{}#e-{n}", data.kind()),
        customer_id: CustomerId::parse(format!("cus-{n}")).unwrap(),
        class: MessageClass::Service,
        locale: None,
        data,
        created_at: created,
    };
    let record = MessageRecord {
        status: if sent {
            MessageStatus::Sent
        } else {
            MessageStatus::Skipped
        },
        reason: (!sent).then(|| "frequency_cap".into()),
        ses_message_id: sent.then(|| format!("ses-{n}")),
        sent_at: sent.then_some(created),
        reports: if sent {
            vec![DeliveryReport {
                status: DeliveryStatus::Delivered,
                at: created,
                detail: None,
                permanent: false,
            }]
        } else {
            Vec::new()
        },
        delivery_status: sent.then_some(DeliveryStatus::Delivered),
        ..MessageRecord::pending_for(shop, EventId::parse(format!("e-{n}")).unwrap(), &intent)
    };
    trouw::store::message_item(&record).unwrap()
}

/// A year of `messages` messages ending yesterday (Amsterdam), two in three sent, spread over
/// the days; the first day counted whole noted at the year's first day, as for a shop whose
/// whole log the counter saw. Returns the year's first day and today.
pub async fn seed_year(stack: &TestStack, messages: usize) -> (Date, Date) {
    let today = Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::get("Europe/Amsterdam").unwrap())
        .date();
    let first = today.checked_sub(jiff::Span::new().days(365)).unwrap();
    stack
        .store()
        .note_counted_since(&stack.shop, first)
        .await
        .unwrap();
    let start = first
        .at(0, 0, 0, 0)
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .unwrap()
        .timestamp();
    let spacing = SignedDuration::from_secs(365 * 86_400 / messages.max(1) as i64);
    let mut batch = Vec::new();
    for n in 0..messages {
        let at = start + spacing * n as i32;
        batch.push(message_item(&stack.shop, n, n % 3 != 2, at));
        if batch.len() == 1000 || n + 1 == messages {
            stack.seed(std::mem::take(&mut batch)).await;
        }
    }
    (first, today)
}

/// The year's overview, asked once: its answer and how many requests it made.
pub async fn year_overview_answer(
    stack: &TestStack,
    first: Date,
    today: Date,
) -> (crate::client::Answer, usize, f64) {
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{ADMIN_USER}:{ADMIN_PASSWORD}"))
    );
    let request = http::Request::get(format!(
        "{}/admin?from={first}&to={today}&format=json",
        stack.base_url
    ))
    .header("authorization", basic)
    .body(Default::default())
    .unwrap();
    let before = stack.requests.get();
    let started = Instant::now();
    let answer = stack.send(request).await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    (answer, stack.requests.get() - before, ms)
}

pub async fn year_overview(messages: usize) -> YearOverview {
    let stack = TestStack::start_with(StackOptions {
        with_counter: true,
        ..Default::default()
    })
    .await;
    let started = Instant::now();
    let (first, today) = seed_year(&stack, messages).await;
    let seeded_in_s = started.elapsed().as_secs_f64();
    let started = Instant::now();
    stack
        .counter
        .as_ref()
        .expect("a stack with_counter")
        .settle(std::time::Duration::from_secs(1800))
        .await
        .expect("the counter catches up");
    let counted_in_s = started.elapsed().as_secs_f64();
    let (answer, requests, answer_ms) = year_overview_answer(&stack, first, today).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let day_items = stack
        .snapshot()
        .await
        .iter()
        .filter(|i| i["pk"].as_s().is_ok_and(|pk| pk.ends_with("#DAYS")))
        .count();
    YearOverview {
        messages,
        seeded_in_s,
        counted_in_s,
        requests,
        day_items,
        answer_ms,
    }
}
