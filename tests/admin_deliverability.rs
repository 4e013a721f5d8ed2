//! Deliverability on the marketers' pages, over HTTP against the local stack: the overview's
//! 7- and 30-day bounce and complaint rates against Gmail's and SES's marks, and the warning
//! every page shows once a shop is close to one, read from the kept day summaries.

use base64::Engine;
use trouw::domain::{DeliveryReport, DeliveryStatus};
use trouw_tests::client::Answer;
use trouw_tests::{ADMIN_PASSWORD, ADMIN_USER, TestStack};

async fn admin(stack: &TestStack, path: &str) -> Answer {
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{ADMIN_USER}:{ADMIN_PASSWORD}"));
    let request = http::Request::get(format!("{}{path}", stack.base_url))
        .header("authorization", format!("Basic {basic}"))
        .body(Default::default())
        .unwrap();
    let answer = stack.send(request).await;
    assert_eq!(answer.status, 200, "{path}: {}", answer.body);
    answer
}

/// `count` sent welcome emails created at `at`, the first `bounced` of them bounced, written
/// straight into the table with the store's key layout (sending is tested elsewhere).
async fn seed_sent(stack: &TestStack, at: &str, count: i64, bounced: i64, tag: &str) {
    let created: jiff::Timestamp = at.parse().unwrap();
    let mut items = Vec::new();
    for i in 0..count {
        let customer = trouw::domain::CustomerId::parse(format!("cus-{tag}-{i}")).unwrap();
        let reports = if i < bounced {
            vec![DeliveryReport {
                status: DeliveryStatus::Bounced,
                at: created,
                detail: None,
                permanent: true,
            }]
        } else {
            vec![DeliveryReport {
                status: DeliveryStatus::Delivered,
                at: created,
                detail: None,
                permanent: false,
            }]
        };
        let intent = trouw::domain::MessageIntent {
            key: format!("tier-reached#{tag}{i}"),
            customer_id: customer.clone(),
            class: trouw::domain::MessageClass::Service,
            locale: None,
            data: trouw::domain::MessageData::TierReached {
                tier: "Zilver".into(),
                points: 250,
            },
            created_at: created,
        };
        let record = trouw::store::MessageRecord {
            status: trouw::store::MessageStatus::Sent,
            ses_message_id: Some(format!("ses-{tag}-{i}")),
            sent_at: Some(created),
            attempts: 1,
            delivery_status: Some(reports[0].status),
            reports,
            ..trouw::store::MessageRecord::pending_for(
                &stack.shop,
                trouw::domain::EventId::parse(format!("e-{tag}-{i}")).unwrap(),
                &intent,
            )
        };
        let item = trouw::store::message_item(&record).unwrap();
        items.push(item);
    }
    stack.seed(items).await;
}

/// The cells of the overview's row for a window of `days`.
fn window_row(html: &str, days: u32) -> String {
    let at = html
        .find(&format!("<tr class=\"window-{days}\">"))
        .unwrap_or_else(|| panic!("a {days}-day row: {html}"));
    let row = &html[at..];
    row[..row.find("</tr>").unwrap()].to_owned()
}

#[tokio::test]
async fn the_overview_rates_bounces_against_the_marks_and_every_page_warns_when_close() {
    let stack = TestStack::start().await;
    stack.set_now("2026-11-20T10:00:00Z".parse().unwrap());
    // 20 days ago: 100 sent, none bounced (only in the 30-day window). 5 days ago: 100 sent,
    // 9 bounced: 9% over the last 7 days (over SES's 5%), 4.5% over 30 (close: from 4%).
    seed_sent(&stack, "2026-10-31T10:00:00Z", 100, 0, "old").await;
    seed_sent(&stack, "2026-11-15T10:00:00Z", 100, 9, "new").await;

    // No summary is kept yet: the banner, which reads only kept summaries, says nothing.
    let before = admin(&stack, "/admin/messages?lang=en").await;
    assert!(
        !before.body.contains("deliverability-warning"),
        "{}",
        before.body
    );

    // The overview counts the days from the log (and keeps them).
    let overview = admin(&stack, "/admin?from=2026-11-01&to=2026-11-20&lang=en").await;
    let week = window_row(&overview.body, 7);
    assert!(week.contains("<td class=\"num sent\">100</td>"), "{week}");
    assert!(week.contains("9.00% (9)"), "{week}");
    assert!(week.contains("level-over\">over a mark"), "{week}");
    assert!(week.contains("0.00% (0)"), "{week}");
    assert!(week.contains("level-fine\">fine"), "{week}");
    let month = window_row(&overview.body, 30);
    assert!(month.contains("<td class=\"num sent\">200</td>"), "{month}");
    assert!(month.contains("4.50% (9)"), "{month}");
    assert!(month.contains("level-close\">close to a mark"), "{month}");
    assert!(overview.body.contains("SES: 5% review, 10% pause"));
    assert!(overview.body.contains("Gmail: under 0.1%, never 0.3%"));

    // Now every page warns, in the page's language, naming the worst window.
    for (path, words) in [
        ("/admin/messages?lang=en", "Deliverability needs attention"),
        ("/admin/audit?lang=en", "Deliverability needs attention"),
        (
            "/admin/customers/cus-new-1?lang=en",
            "Deliverability needs attention",
        ),
        ("/admin?lang=nl", "Bezorgbaarheid vraagt aandacht"),
    ] {
        let page = admin(&stack, path).await;
        let at = page
            .body
            .find("class=\"warning deliverability-warning\"")
            .unwrap_or_else(|| panic!("{path} warns: {}", page.body));
        let banner = &page.body[at..at + page.body[at..].find("</div>").unwrap()];
        assert!(banner.contains(words), "{path}: {banner}");
        assert!(
            banner.contains(&format!("{}, 7", stack.shop)),
            "{path}: {banner}"
        );
        assert!(banner.contains("9.00%"), "{path}: {banner}");
    }
    // Downloads carry no banner.
    let csv = admin(&stack, "/admin/messages?format=csv").await;
    assert!(!csv.body.contains("deliverability"));
}

#[tokio::test]
async fn a_shop_within_the_marks_gets_no_warning() {
    let stack = TestStack::start().await;
    stack.set_now("2026-11-20T10:00:00Z".parse().unwrap());
    // 3 of 100 bounced: 3%, under the 4% where close starts.
    seed_sent(&stack, "2026-11-15T10:00:00Z", 100, 3, "ok").await;
    let overview = admin(&stack, "/admin?lang=en").await;
    assert!(window_row(&overview.body, 7).contains("3.00% (3)"));
    assert!(window_row(&overview.body, 7).contains("level-fine\">fine"));
    let page = admin(&stack, "/admin/messages?lang=en").await;
    assert!(
        !page.body.contains("deliverability-warning"),
        "{}",
        page.body
    );
}
