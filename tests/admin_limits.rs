//! The marketers' pages stay inside Lambda's limits for a big shop: exports come in parts under
//! the 6 MB response limit without a read per row, the overview of a long period reads day
//! summaries instead of the log, and a tampered paging cursor is a 400, never a walk of days.

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use std::collections::BTreeSet;
use trouw::domain::{
    Activity, ActivityKind, CustomerId, CustomerProfile, DeliveryReport, DeliveryStatus, Email,
    EventId, MessageClass, MessageData, MessageIntent, OrderId, Stamped,
};
use trouw::store::{ActivityRecord, MessageRecord, MessageStatus, keys};
use trouw_tests::client::Answer;
use trouw_tests::{ADMIN_PASSWORD, ADMIN_USER, Item, TestStack};

/// Lambda's limit on a synchronous response.
const LAMBDA_RESPONSE_LIMIT: usize = 6 * 1024 * 1024;

async fn admin(stack: &TestStack, path: &str) -> Answer {
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{ADMIN_USER}:{ADMIN_PASSWORD}"))
    );
    let request = http::Request::get(format!("{}{path}", stack.base_url))
        .header("authorization", basic)
        .body(Default::default())
        .unwrap();
    stack.send(request).await
}

fn amsterdam() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::get("Europe/Amsterdam").unwrap()
}

fn amsterdam_today() -> Date {
    Timestamp::now().to_zoned_datetime(amsterdam()).date()
}

/// How many UTC days of the shop's local days `from..=to` are too recent to keep a summary of,
/// so that every request counts them from the log again: yesterday and today (UTC), and in the
/// hour or two before midnight UTC also tomorrow, where the shop's today already reaches.
fn days_counted_every_time(from: Date, to: Date) -> usize {
    let midnight = |day: Date| amsterdam().to_timestamp(day.at(0, 0, 0, 0)).unwrap();
    let now = Timestamp::now();
    trouw::admin::overview::day_parts(
        midnight(from),
        midnight(to.tomorrow().unwrap()),
        &amsterdam(),
    )
    .iter()
    .filter(|part| !trouw::store::summaries::cacheable(part.day, now))
    .count()
}

/// A message item as the store writes it, with its place in the log index.
fn message_item(
    stack: &TestStack,
    customer: &str,
    n: usize,
    data: MessageData,
    status: MessageStatus,
    created: Timestamp,
    subject: Option<String>,
) -> Item {
    let customer = CustomerId::parse(customer).unwrap();
    let sent = status == MessageStatus::Sent;
    let intent = MessageIntent {
        key: format!("{}#e-{n}", data.kind()),
        customer_id: customer.clone(),
        class: MessageClass::Service,
        locale: None,
        data,
        created_at: created,
    };
    let record = MessageRecord {
        status,
        reason: (status == MessageStatus::Skipped).then(|| "frequency_cap".into()),
        ses_message_id: sent.then(|| format!("ses-{n}")),
        sent_at: sent.then_some(created),
        subject,
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
        ..MessageRecord::pending_for(
            &stack.shop,
            EventId::parse(format!("e-{n}")).unwrap(),
            &intent,
        )
    };
    trouw::store::message_item(&record).unwrap()
}

fn with_log(stack: &TestStack, item: &mut Item, at: Timestamp) {
    let day = at.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
    item.insert(
        keys::LOG_DAY.into(),
        AttributeValue::S(keys::log_day(&stack.shop, day)),
    );
    item.insert(
        keys::LOG_AT.into(),
        AttributeValue::N(at.as_millisecond().to_string()),
    );
}

/// Drops the test's table: the shared moto keeps every table in one Python heap, and a big
/// shop's log left there would slow every later test.
async fn drop_table(stack: &TestStack) {
    stack
        .dynamo
        .delete_table()
        .table_name(&stack.table)
        .send()
        .await
        .unwrap();
}

/// The DynamoDB requests of a page refused with a 400 before it reads anything: what the login
/// itself costs.
async fn page_cost(stack: &TestStack, path: &str) -> usize {
    let before = stack.requests.get();
    let answer = admin(stack, path).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    stack.requests.get() - before
}

/// The `rel="next"` target of a `Link` header.
fn next_link(answer: &Answer) -> Option<String> {
    let link = answer.headers.get("link")?.to_str().unwrap().to_owned();
    assert!(link.ends_with("; rel=\"next\""), "{link}");
    Some(
        link.trim_start_matches('<')
            .split('>')
            .next()
            .unwrap()
            .to_owned(),
    )
}

#[tokio::test]
async fn exports_of_a_big_log_come_in_parts_under_six_megabytes_holding_every_row_once() {
    let stack = TestStack::start().await;
    // 2,000 messages of the last hour with long subjects: about 7 MB of rows. Half the customers
    // have a profile with an address.
    let now = Timestamp::now();
    let subject = "Uw bestelling en uw punten ".repeat(125);
    let mut items = Vec::new();
    for i in 0..2000_usize {
        let created = now - SignedDuration::from_millis(1000 * (i as i64 + 1));
        items.push(message_item(
            &stack,
            &format!("cus-{i}"),
            i,
            MessageData::TierReached {
                tier: "Zilver".into(),
                points: 250,
            },
            MessageStatus::Sent,
            created,
            Some(format!("{subject}{i}")),
        ));
        if i % 2 == 0 {
            let customer = CustomerId::parse(format!("cus-{i}")).unwrap();
            let mut profile = CustomerProfile::new(stack.shop.clone(), customer.clone());
            profile.contact.email = Some(Stamped {
                value: Email::parse(format!("klant{i}@example.nl")).unwrap(),
                at: now,
            });
            let mut item: Item = serde_dynamo::to_item(&profile).unwrap();
            item.extend(keys::profile(&stack.shop, &customer).to_item());
            item.insert("item".into(), AttributeValue::S("profile".into()));
            items.push(item);
        }
    }
    stack.seed(items).await;
    let today = amsterdam_today();
    let period = format!(
        "from={}&to={}",
        today.yesterday().unwrap(),
        today.tomorrow().unwrap()
    );

    for format in ["json", "csv"] {
        let before = stack.requests.get();
        let mut path = format!("/admin/messages?{period}&format={format}&reveal=1");
        let mut keys_seen = Vec::new();
        let mut parts = 0;
        let mut addresses = 0;
        loop {
            let part = admin(&stack, &path).await;
            assert_eq!(
                part.status,
                200,
                "{}",
                &part.body[..part.body.len().min(500)]
            );
            parts += 1;
            assert!(
                part.body.len() < LAMBDA_RESPONSE_LIMIT - 512 * 1024,
                "part {parts} of the {format} export holds {} bytes",
                part.body.len()
            );
            if format == "json" {
                let body = part.json();
                for row in body["rows"].as_array().unwrap() {
                    keys_seen.push(row["key"].as_str().unwrap().to_owned());
                    addresses += usize::from(row["email"].is_string());
                }
                assert_eq!(
                    body["next"].as_str().map(str::to_owned),
                    next_link(&part),
                    "the body names the next part too"
                );
            } else {
                for line in part.body.lines().skip(1) {
                    let cells: Vec<&str> = line.split("\",\"").collect();
                    keys_seen.push(cells[8].trim_end_matches('"').to_owned());
                    addresses += usize::from(cells[2].contains('@'));
                }
            }
            match next_link(&part) {
                Some(next) => path = next,
                None => break,
            }
            assert!(parts < 20, "the parts end");
        }
        assert!(parts >= 2, "7 MB of rows take more than one part");
        let unique: BTreeSet<&String> = keys_seen.iter().collect();
        assert_eq!(keys_seen.len(), 2000, "{format}: every row once");
        assert_eq!(unique.len(), 2000, "{format}: no row twice");
        assert_eq!(addresses, 1000, "{format}: every known address");
        let requests = stack.requests.get() - before;
        assert!(
            requests < 100,
            "{format}: {requests} DynamoDB requests for 2,000 rows: no read per row"
        );
    }
    drop_table(&stack).await;
}

/// The numbers of a kind's row in the overview: sent, delivered, bounced, complained, opened,
/// clicked, skipped, held out.
fn kind_row(body: &str, kind: &str) -> Vec<u32> {
    // The row is named by the kind's English label.
    let label = trouw::admin::labels::code("en", trouw::admin::labels::Group::Kind, kind);
    let start = body
        .find(&format!(">{label}</a></th>"))
        .unwrap_or_else(|| panic!("{kind} in {body}"));
    let row = &body[start..body[start..].find("</tr>").unwrap() + start];
    let cells: Vec<&str> = row
        .split("<td class=\"num")
        .skip(1)
        .map(|cell| {
            cell.split_once('>')
                .unwrap()
                .1
                .split('<')
                .next()
                .unwrap()
                .trim()
        })
        .collect();
    // The page's columns: sent, delivered, opened, clicked, unsubscribed, bounced, complained,
    // orders, revenue, placed-order rate, revenue per recipient, skipped, held out. The counts
    // this test checks, in its own order: sent, delivered, bounced, complained, opened,
    // clicked, skipped, held out.
    assert_eq!(cells.len(), 13, "{kind}: {row}");
    [0, 1, 5, 6, 2, 3, 11, 12]
        .iter()
        .map(|&i| cells[i].parse().unwrap())
        .collect()
}

#[tokio::test]
async fn the_overview_of_a_long_period_reads_day_summaries_not_the_log() {
    let stack = TestStack::start().await;
    // 60 past days, each with five reactivation emails sent and delivered, two tier mails
    // skipped and one survey answer (a promoter): 480 log items.
    let today = amsterdam_today();
    let mut items = Vec::new();
    let mut n = 0;
    let mut clicked_later = None;
    let mut waiting = None;
    for back in 3..63_i64 {
        let day = today.checked_sub(jiff::Span::new().days(back)).unwrap();
        let noon = day
            .at(12, 0, 0, 0)
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .unwrap()
            .timestamp();
        for i in 0..7 {
            n += 1;
            let customer = format!("cus-{n}");
            let at = noon + SignedDuration::from_secs(i);
            let (data, status) = if i < 5 {
                (
                    MessageData::Reactivation {
                        months_since_last_order: 8,
                    },
                    MessageStatus::Sent,
                )
            } else {
                (
                    MessageData::TierReached {
                        tier: "Zilver".into(),
                        points: 250,
                    },
                    MessageStatus::Skipped,
                )
            };
            if back == 30 && i == 0 {
                clicked_later = Some((customer.clone(), format!("reactivation#e-{n}")));
            }
            if back == 20 && i == 0 {
                // A message of 20 days ago still waiting for the sender (deferred for long).
                waiting = Some(at);
                items.push(message_item(
                    &stack,
                    "cus-waiting",
                    0,
                    MessageData::TierReached {
                        tier: "Goud".into(),
                        points: 900,
                    },
                    MessageStatus::Pending,
                    at,
                    None,
                ));
            }
            items.push(message_item(&stack, &customer, n, data, status, at, None));
        }
        let customer = CustomerId::parse(format!("cus-{n}")).unwrap();
        let event = EventId::parse(format!("answer-{n}")).unwrap();
        let record = ActivityRecord {
            shop: stack.shop.clone(),
            customer_id: customer.clone(),
            activity: Activity {
                at: noon,
                what: ActivityKind::SurveyAnswered {
                    order_id: OrderId::parse(format!("NL-{n}")).unwrap(),
                    score: 10,
                    value: Some(trouw::domain::Money::new(
                        6485,
                        trouw::domain::Currency::EUR,
                    )),
                },
            },
        };
        let mut item: Item = serde_dynamo::to_item(&record).unwrap();
        item.extend(keys::activity(&stack.shop, &customer, &event, 0).to_item());
        item.insert("item".into(), AttributeValue::S("activity".into()));
        with_log(&stack, &mut item, noon);
        items.push(item);
    }
    stack.seed(items).await;
    let from = today.checked_sub(jiff::Span::new().days(100)).unwrap();
    let period = format!("/admin?from={from}&to={today}&lang=en");

    let first = admin(&stack, &period).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(
        kind_row(&first.body, "reactivation"),
        [300, 300, 0, 0, 0, 0, 0, 0]
    );
    assert_eq!(
        kind_row(&first.body, "tier-reached"),
        [0, 0, 0, 0, 0, 0, 120, 0]
    );
    assert!(
        first
            .body
            .contains("60 answers: 60 promoters, 0 passives, 0 detractors"),
        "{}",
        first.body
    );

    // Again: the past days come from their summaries, a handful of requests for 100 days
    // beyond what any page costs (the login's own reads) and the recent days' reads of the log
    // (how many depends on the hour: the shop's today reaches into tomorrow's UTC day before
    // midnight UTC).
    let login = page_cost(&stack, "/admin?to=someday").await;
    let recent = days_counted_every_time(from, today);
    let before = stack.requests.get();
    let second = admin(&stack, &period).await;
    let requests = stack.requests.get() - before;
    for kind in ["reactivation", "tier-reached"] {
        assert_eq!(kind_row(&second.body, kind), kind_row(&first.body, kind));
    }
    assert!(second.body.contains("60 answers: 60 promoters"));
    assert!(
        requests <= login + 3 + recent,
        "{requests} DynamoDB requests for an overview of 100 days ({login} for any page, \
         {recent} recent days read from the log)"
    );
    // Each summary is a small item.
    let summaries: Vec<Item> = stack
        .snapshot()
        .await
        .into_iter()
        .filter(|i| i["pk"].as_s().unwrap().ends_with("#DAYS"))
        .collect();
    assert!(summaries.len() >= 60, "{}", summaries.len());
    for summary in &summaries {
        let size: usize = summary
            .iter()
            .map(|(k, v)| k.len() + v.as_s().map_or(8, String::len))
            .sum();
        assert!(size < 1024, "a summary of {size} bytes: {summary:?}");
    }

    // SES reports a click on a message of 30 days ago: that day is counted again.
    let (customer, key) = clicked_later.unwrap();
    let store = trouw::store::Store::new(stack.dynamo.clone(), &stack.table);
    store
        .record_report(
            &stack.shop,
            &CustomerId::parse(customer).unwrap(),
            &key,
            &DeliveryReport {
                status: DeliveryStatus::Clicked,
                at: Timestamp::now(),
                detail: None,
                permanent: false,
            },
        )
        .await
        .unwrap();
    let before = stack.requests.get();
    let third = admin(&stack, &period).await;
    let requests = stack.requests.get() - before;
    assert_eq!(
        kind_row(&third.body, "reactivation"),
        [300, 300, 0, 0, 1, 1, 0, 0]
    );
    // One day read again: a page of the log index (keys only) and its items (`BatchGetItem`).
    assert!(
        requests <= login + 5 + recent,
        "{requests}: one day read again"
    );

    // The waiting message of 20 days ago is sent now: that day is counted again too.
    let created = waiting.unwrap();
    let customer = CustomerId::parse("cus-waiting").unwrap();
    let now = Timestamp::now();
    let claim = trouw::store::ClaimToken::new();
    let claimed = store
        .claim_message(&stack.shop, &customer, "tier-reached#e-0", &claim, now)
        .await
        .unwrap();
    assert!(claimed.is_some());
    store
        .finish_message(
            &stack.shop,
            &customer,
            "tier-reached#e-0",
            &claim,
            created,
            &trouw::store::MessageOutcome::Sent {
                ses_message_id: "ses-late".into(),
                subject: "Goud".into(),
                locale: "nl".into(),
                // A seeded message of a customer with no profile: nothing to stamp on one.
                counts_for_cap: false,
                last_touch: false,
            },
            now,
        )
        .await
        .unwrap();
    let fourth = admin(&stack, &period).await;
    assert_eq!(
        kind_row(&fourth.body, "tier-reached"),
        [1, 0, 0, 0, 0, 0, 120, 0]
    );

    // A period is at most 366 days.
    for (query, field) in [
        (
            format!(
                "from={}&to={today}",
                today.checked_sub(jiff::Span::new().days(367)).unwrap()
            ),
            "from",
        ),
        ("from=2026-02-30".into(), "from"),
        ("to=someday".into(), "to"),
    ] {
        let answer = admin(&stack, &format!("/admin?{query}")).await;
        assert_eq!(answer.status, 400, "{query}");
        assert_eq!(answer.json()["field"], field, "{query}");
    }
    drop_table(&stack).await;
}

fn cursor(day: &str, key: serde_json::Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::json!({ "day": day, "key": key }).to_string())
}

#[tokio::test]
async fn a_tampered_cursor_is_a_400_naming_it_never_a_walk_of_days() {
    let stack = TestStack::start().await;
    let now = Timestamp::now();
    let items = (0..130)
        .map(|i| {
            message_item(
                &stack,
                &format!("cus-{i}"),
                i,
                MessageData::TierReached {
                    tier: "Zilver".into(),
                    points: 250,
                },
                MessageStatus::Skipped,
                now - SignedDuration::from_secs(600 - i as i64),
                None,
            )
        })
        .collect();
    stack.seed(items).await;
    let today = amsterdam_today();
    let period = format!(
        "from={}&to={}",
        today.yesterday().unwrap(),
        today.tomorrow().unwrap()
    );
    let first = admin(&stack, &format!("/admin/messages?{period}")).await;
    assert_eq!(first.status, 200);
    let at = first.body.find("rel=\"next\"").expect("a second page");
    let href = first.body[..at].rsplit("href=\"").next().unwrap();
    let genuine_path = href.split('"').next().unwrap().replace("&amp;", "&");
    let genuine = form_urlencoded::parse(genuine_path.split_once('?').unwrap().1.as_bytes())
        .find(|(k, _)| k == "cursor")
        .unwrap()
        .1
        .into_owned();
    let decoded: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&genuine)
            .unwrap(),
    )
    .unwrap();
    let day = decoded["day"].as_str().unwrap().to_owned();
    let key = decoded["key"].clone();
    let utc_today = now.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
    let later = utc_today
        .checked_add(jiff::Span::new().days(40))
        .unwrap()
        .to_string();
    let earlier = utc_today
        .checked_sub(jiff::Span::new().days(40))
        .unwrap()
        .to_string();
    let mut other_shop = key.clone();
    if let Some(log_day) = other_shop.get_mut("log_day") {
        log_day["S"] = serde_json::json!(format!("SHOP#someone-else#{day}"));
    }
    let mut extra = key.clone();
    extra["evil"] = serde_json::json!({ "S": "x" });
    let mut no_number = key.clone();
    no_number["log_at"] = serde_json::json!({ "N": "soon" });
    let before = stack.snapshot().await;
    // What a page refused before any read costs (the login's own reads).
    let login = page_cost(&stack, &format!("/admin/messages?{period}&format=xml")).await;
    for (name, bad) in [
        ("not base64", "!!!".to_owned()),
        ("not JSON", "bm90IGpzb24".to_owned()),
        (
            "a day after the period",
            cursor(&later, serde_json::json!({})),
        ),
        (
            "a day before the period",
            cursor(&earlier, serde_json::json!({})),
        ),
        ("no day", cursor("2026-02-30", serde_json::json!({}))),
        ("another shop's key", cursor(&day, other_shop.clone())),
        ("a key of another day", cursor(&later, key.clone())),
        ("an extra attribute", cursor(&day, extra.clone())),
        ("a time that is no number", cursor(&day, no_number.clone())),
        ("far too long", "A".repeat(5000)),
        (
            "the last day there is",
            cursor("9999-12-31", serde_json::json!({})),
        ),
    ] {
        for format in ["html", "json", "csv"] {
            let requests = stack.requests.get();
            let answer = admin(
                &stack,
                &format!("/admin/messages?{period}&format={format}&cursor={bad}"),
            )
            .await;
            assert_eq!(answer.status, 400, "{name} ({format}): {}", answer.body);
            assert_eq!(answer.json()["field"], "cursor", "{name}");
            assert!(
                stack.requests.get() - requests <= login,
                "{name}: a refused cursor reads nothing of the log"
            );
        }
    }
    assert_eq!(stack.snapshot().await, before, "nothing changed");
    let next = admin(&stack, &genuine_path).await;
    assert_eq!(next.status, 200, "the genuine cursor still pages on");
}
