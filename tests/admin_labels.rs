//! The marketers' pages speak Dutch or English, never in codes: every page of a seeded shop
//! (overview, message list, each message, each customer, the audit, the answers, the login) is
//! rendered in both languages and none of the product's stored codes (`held_out`,
//! `frequency_cap`, `loyalty-earned`, ...) appears in its text. A message that waited for the frequency cap and
//! then went shows as sent, with the wait as its history.

use base64::Engine;
use bytes::Bytes;
use http_body_util::Full;
use serde_json::{Value, json};
use std::sync::Arc;
use trouw::clock::FixedClock;
use trouw::domain::CustomerId;
use trouw::handlers::run_schedule::run_pass;
use trouw::handlers::send_messages::deliver_pending;
use trouw_local::client::Answer;
use trouw_tests::{ADMIN_PASSWORD, ADMIN_USER, LOYALTY_API_KEY, TestStack, example, unique};

const PERIOD: &str = "from=2026-11-01&to=2026-11-30";

fn at(t: &str) -> Arc<FixedClock> {
    Arc::new(FixedClock(t.parse().unwrap()))
}

async fn get(stack: &TestStack, path: &str, headers: &[(&str, &str)], auth: bool) -> Answer {
    let mut request = http::Request::get(format!("{}{path}", stack.base_url));
    if auth {
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{ADMIN_USER}:{ADMIN_PASSWORD}"));
        request = request.header("authorization", format!("Basic {basic}"));
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    stack.send(request.body(Default::default()).unwrap()).await
}

async fn order(stack: &TestStack, customer: &str, email: &str, id: &str) {
    let mut body = example("order-placed");
    body["customer"]["id"] = json!(customer);
    body["customer"]["email"] = json!(email);
    body["order"]["id"] = json!(id);
    let answer = stack.post("order-placed", &body).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

async fn loyalty_post(stack: &TestStack, path: &str, key: &str, body: Value) {
    let request = http::Request::post(format!("{}/loyalty/{}/{path}", stack.base_url, stack.shop))
        .header("authorization", format!("Bearer {LOYALTY_API_KEY}"))
        .header("idempotency-key", key)
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let answer = stack.send(request).await;
    assert!(answer.status < 300, "{path}: {}", answer.body);
}

/// What a reader sees of a page: its text, without tags, attributes or the style sheet.
fn text(html: &str) -> String {
    let html = match (html.find("<style>"), html.find("</style>")) {
        (Some(a), Some(b)) => format!("{}{}", &html[..a], &html[b..]),
        _ => html.to_owned(),
    };
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&#x2f;", "/").replace("&amp;", "&")
}

/// The words of a text: runs of letters, digits, `_` and `-`.
fn words(text: &str) -> Vec<&str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
        .filter(|w| !w.is_empty())
        .collect()
}

/// Every code the product stores and a page might show.
fn codes() -> Vec<&'static str> {
    let mut all: Vec<&str> = trouw::admin::labels::codes().collect();
    all.extend(trouw::mail::render::KINDS);
    all.extend(trouw::admin::filters::STATUSES);
    all.sort_unstable();
    all.dedup();
    all
}

/// No code in the page's text: in English none of the snake or kebab codes; in Dutch none at
/// all, except the few whose Dutch label is the same word (`service`).
fn assert_no_codes(path: &str, lang: &str, html: &str) {
    let text = text(html);
    let seen = words(&text);
    for code in codes() {
        let compound = code.contains(['_', '-']);
        let dutch_differs = trouw::admin::labels::code("nl", group_of(code), code) != code;
        let forbidden = compound || (lang == "nl" && dutch_differs);
        assert!(
            !(forbidden && seen.contains(&code)),
            "{path} ({lang}) shows the code {code}: {text}"
        );
    }
}

/// The group a code's Dutch label is looked up in (only to know whether it differs).
fn group_of(code: &str) -> trouw::admin::labels::Group {
    use trouw::admin::labels::{Group, has_label};
    [
        Group::Status,
        Group::Kind,
        Group::Class,
        Group::Reason,
        Group::Activity,
        Group::Entry,
        Group::Engagement,
        Group::Lifecycle,
        Group::Lapse,
        Group::AuditAction,
        Group::AuditPage,
        Group::Format,
        Group::Mail,
        Group::Field,
    ]
    .into_iter()
    .find(|g| has_label(*g, code))
    .unwrap_or(Group::Status)
}

#[tokio::test]
async fn every_page_in_dutch_and_english_without_a_raw_code_and_a_wait_is_history() {
    let stack = TestStack::start().await;
    let anna = format!("{}@example.nl", unique("anna"));
    let cees = format!("{}@example.nl", unique("cees"));
    let a = CustomerId::parse("cus-anna").unwrap();
    let c = CustomerId::parse("cus-cees").unwrap();
    // A question to buyers of a category nobody here orders: the answers page shows it, unasked.
    stack
        .update_shop(|s| {
            s.questions = vec![trouw::domain::questions::Question {
                id: "thee-smaak".into(),
                category: "thee".into(),
                text: "Welke smaak?".into(),
                options: vec!["Jasmijn".into(), "Rooibos".into()],
                free_text: true,
                active_from: None,
                active_until: None,
            }];
        })
        .await;
    // Anna orders twice within the frequency cap: the first email goes, the second waits.
    stack.set_now("2026-11-02T10:00:00Z".parse().unwrap());
    order(&stack, a.as_str(), &anna, "NL-A1").await;
    let morning = stack.sender(at("2026-11-02T10:00:00Z"), None).await;
    deliver_pending(&morning, &stack.shop, &a).await.unwrap();
    stack.set_now("2026-11-02T11:00:00Z".parse().unwrap());
    order(&stack, a.as_str(), &anna, "NL-A2").await;
    let later = stack.sender(at("2026-11-02T11:00:00Z"), None).await;
    deliver_pending(&later, &stack.shop, &a).await.unwrap();
    // Cees orders at 22:30 in Amsterdam: his email waits for the morning, and still waits.
    stack.set_now("2026-11-03T21:30:00Z".parse().unwrap());
    order(&stack, c.as_str(), &cees, "NL-C1").await;
    let night = stack.sender(at("2026-11-03T21:30:00Z"), None).await;
    deliver_pending(&night, &stack.shop, &c).await.unwrap();
    // The cap ends 72 hours after Anna's first email: the schedule sends the second.
    let after_cap = stack.schedule(at("2026-11-05T10:30:00Z"), None).await;
    let report = run_pass(&after_cap).await.unwrap();
    assert!(report.messages_handled >= 1, "{report:?}");
    // Points: a gift, codes, a redemption.
    stack.set_now("2026-11-06T10:00:00Z".parse().unwrap());
    loyalty_post(
        &stack,
        "customers/cus-anna/adjustments",
        "gift-1",
        json!({ "points": 600, "reason": "welcome gift" }),
    )
    .await;
    loyalty_post(
        &stack,
        "rewards/r5/codes",
        "codes-1",
        json!({ "codes": ["LBL-1"] }),
    )
    .await;
    loyalty_post(
        &stack,
        "customers/cus-anna/redemptions",
        "redeem-1",
        json!({ "reward": "r5" }),
    )
    .await;
    stack.set_now("2026-11-20T10:00:00Z".parse().unwrap());
    // Audited views: a reveal and a download.
    let revealed = get(
        &stack,
        &format!("/admin/messages?{PERIOD}&reveal=1"),
        &[],
        true,
    )
    .await;
    assert_eq!(revealed.status, 200);
    let csv = get(
        &stack,
        &format!("/admin/messages?{PERIOD}&kind=loyalty-earned&status=deferred&format=csv"),
        &[],
        true,
    )
    .await;
    assert_eq!(csv.status, 200);

    let list = get(
        &stack,
        &format!("/admin/messages?{PERIOD}&format=json"),
        &[],
        true,
    )
    .await;
    let rows = list.json()["rows"].as_array().cloned().unwrap();
    // Anna's two emails, Cees's, and the alert that her redemption left the pool low (its
    // page shows the new kind's label).
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert!(
        rows.iter()
            .any(|r| r["key"].as_str().unwrap().starts_with("pool-low#")),
        "{rows:?}"
    );
    let waited = rows
        .iter()
        .find(|r| r["customer_id"] == "cus-anna" && r["key"].as_str().unwrap().contains("NL-A2"))
        .expect("the message that waited");
    assert_eq!(waited["status"], "sent");
    assert_eq!(waited["reason"], Value::Null, "a wait is no reason");
    let mut paths = vec![
        format!("/admin?{PERIOD}"),
        format!("/admin/messages?{PERIOD}"),
        format!("/admin/messages?{PERIOD}&kind=loyalty-earned&status=deferred"),
        format!("/admin/audit?{PERIOD}"),
        "/admin/answers".to_owned(),
        "/admin/customers/cus-anna".to_owned(),
        "/admin/customers/cus-cees".to_owned(),
    ];
    for r in &rows {
        paths.push(format!(
            "/admin/messages/{}/{}",
            r["customer_id"].as_str().unwrap(),
            form_urlencoded::byte_serialize(r["key"].as_str().unwrap().as_bytes())
                .collect::<String>()
        ));
    }
    for path in &paths {
        let join = if path.contains('?') { '&' } else { '?' };
        for lang in ["nl", "en"] {
            let page = get(&stack, &format!("{path}{join}lang={lang}"), &[], true).await;
            assert_eq!(page.status, 200, "{path}: {}", page.body);
            assert!(page.body.contains(&format!("<html lang=\"{lang}\">")));
            assert_no_codes(path, lang, &page.body);
        }
        // The browser's language when there is no switch.
        let english = get(&stack, path, &[("accept-language", "en-GB,en;q=0.8")], true).await;
        assert!(english.body.contains("<html lang=\"en\">"), "{path}");
        assert_no_codes(path, "en", &english.body);
    }
    // The funnel of the order emails: three created, all three sent (Cees's after its wait).
    let overview = get(&stack, &format!("/admin?{PERIOD}&lang=en"), &[], true).await;
    let card = &overview.body[overview
        .body
        .find("id=\"funnel-loyalty-earned\"")
        .unwrap_or_else(|| panic!("a funnel for the order emails: {}", overview.body))..];
    let card = &card[..card.find("</table>").unwrap()];
    let step = |name: &str| {
        let row = &card[card
            .find(&format!("class=\"step-{name} "))
            .unwrap_or_else(|| panic!("{name}: {card}"))..];
        let cell = |class: &str| {
            let at = row.find(&format!("class=\"num {class}\">")).unwrap();
            let rest = &row[at..];
            rest[rest.find('>').unwrap() + 1..rest.find("</td>").unwrap()].to_owned()
        };
        (cell("count"), cell("share"))
    };
    assert_eq!(step("created"), ("3".into(), "100%".into()), "{card}");
    assert_eq!(step("sent"), ("3".into(), "100%".into()), "{card}");
    assert_eq!(step("not-sent"), ("0".into(), "0%".into()));
    assert_eq!(step("skipped"), ("0".into(), "0%".into()));
    assert_eq!(step("delivered"), ("0".into(), "0%".into()));
    assert_eq!(step("clicked"), ("0".into(), "–".into()), "nothing opened");
    let login = get(&stack, "/admin?lang=en", &[], false).await;
    assert_eq!(login.status, 401);
    assert_no_codes("login", "en", &login.body);
    assert_no_codes("login", "nl", &get(&stack, "/admin", &[], false).await.body);

    // The message that waited: sent, and its wait in the history (11:00 in Amsterdam).
    let key = form_urlencoded::byte_serialize(waited["key"].as_str().unwrap().as_bytes())
        .collect::<String>();
    for (lang, status, history) in [
        ("en", "sent", "waited: frequency cap until 2026-11-05 11:00"),
        (
            "nl",
            "verstuurd",
            "wachtte: maximaal aantal mails tot 2026-11-05 11:00",
        ),
    ] {
        let page = get(
            &stack,
            &format!("/admin/messages/cus-anna/{key}?lang={lang}"),
            &[],
            true,
        )
        .await;
        let text = text(&page.body);
        assert!(text.contains(history), "{lang}: {text}");
        let status_line = text.split("Status ").nth(1).unwrap_or_default();
        assert!(
            status_line.trim_start().starts_with(status),
            "{lang}: {text}"
        );
        assert!(
            !page.body.contains(&format!("{status}</span> · ")),
            "{lang}: no reason beside the status: {}",
            page.body
        );
    }
    // Switching language is a link: a GET that changes nothing.
    // Every item, in key order (items compare attribute by attribute).
    let table = || async {
        let mut items = stack.snapshot().await;
        let key = |i: &std::collections::HashMap<
            String,
            aws_sdk_dynamodb::types::AttributeValue,
        >| { format!("{:?}{:?}", i["pk"], i["sk"]) };
        items.sort_by_key(key);
        items
    };
    let before = table().await;
    let overview = get(&stack, &format!("/admin?{PERIOD}"), &[], true).await;
    assert!(overview.body.contains("lang=en"), "a switch to English");
    get(
        &stack,
        &format!("/admin/messages/cus-anna/{key}?lang=en"),
        &[],
        true,
    )
    .await;
    let after = table().await;
    let changed: Vec<_> = after.iter().filter(|i| !before.contains(i)).collect();
    assert!(
        changed.is_empty(),
        "nothing stored or changed: {changed:#?}"
    );
    assert_eq!(after.len(), before.len());
}

/// A message the rules hold back night after night keeps a small item: its history lists the
/// first two waits and the latest, counts the ones between, and the page says so in words.
#[tokio::test]
async fn a_message_deferred_night_after_night_keeps_its_first_and_latest_waits() {
    let stack = TestStack::start().await;
    let email = format!("{}@example.nl", unique("anna"));
    let mut body = example("order-placed");
    body["customer"]["email"] = json!(email);
    let answer = stack.post("order-placed", &body).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let customer = CustomerId::parse("cus-8812").unwrap();
    let message = || async {
        let [message] = stack
            .store()
            .messages(&stack.shop, &customer)
            .await
            .unwrap()
            .try_into()
            .unwrap();
        message
    };
    // Six nights at 23:30 in Amsterdam: quiet hours each time, until 08:00 the next morning.
    for night in 2..8 {
        let sender = stack
            .sender(at(&format!("2026-11-0{night}T22:30:00Z")), None)
            .await;
        let waiting = message().await;
        trouw::handlers::send_messages::deliver(&sender, &waiting)
            .await
            .unwrap();
    }
    let held = message().await;
    let untils: Vec<String> = held.waits.iter().map(|w| w.until.to_string()).collect();
    assert_eq!(
        untils,
        [
            "2026-11-03T07:00:00Z",
            "2026-11-04T07:00:00Z",
            "2026-11-08T07:00:00Z"
        ],
        "the first two and the latest"
    );
    assert_eq!(held.waits_dropped, 3);
    let morning = stack.sender(at("2026-11-08T07:00:00Z"), None).await;
    trouw::handlers::send_messages::deliver(&morning, &held)
        .await
        .unwrap();
    assert_eq!(message().await.status.as_str(), "SENT");

    let key = form_urlencoded::byte_serialize(held.intent.key.as_bytes()).collect::<String>();
    for (lang, between) in [
        ("en", "waited 3 more times in between"),
        ("nl", "wachtte daartussen nog 3 keer"),
    ] {
        let page = get(
            &stack,
            &format!("/admin/messages/cus-8812/{key}?lang={lang}"),
            &[],
            true,
        )
        .await;
        assert_eq!(page.status, 200, "{}", page.body);
        let text = text(&page.body);
        let (first, between_at, latest) = (
            text.find("2026-11-03 08:00")
                .unwrap_or_else(|| panic!("{text}")),
            text.find(between)
                .unwrap_or_else(|| panic!("{lang}: {text}")),
            text.find("2026-11-08 08:00")
                .unwrap_or_else(|| panic!("{text}")),
        );
        assert!(first < between_at && between_at < latest, "{lang}: {text}");
        assert_no_codes("message", lang, &page.body);
    }
}
