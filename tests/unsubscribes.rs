//! "Unsubscribed" per kind, over HTTP: the unsubscribe link names the email it was mailed in, the
//! POST that unsubscribes counts against that email's kind (on the email's day, as its opens and
//! orders), in the overview's page, CSV and JSON; opening the link counts nothing, a second
//! unsubscribe counts nothing more, and a link that names no email still unsubscribes.

use serde_json::{Value, json};
use trouw::domain::CustomerId;
use trouw::handlers::send_messages::deliver_pending;
use trouw::mail::LinkKey;
use trouw::store::MessageStatus;
use trouw_tests::client::Answer;
use trouw_tests::{ADMIN_PASSWORD, ADMIN_USER, LINK_SECRET, TestStack, emails_to, example, unique};

fn at(text: &str) -> jiff::Timestamp {
    text.parse().unwrap()
}

/// A marketers' page (Basic authentication, as scripts use it).
async fn admin_page(stack: &TestStack, path_and_query: &str) -> String {
    use base64::Engine;
    let auth =
        base64::engine::general_purpose::STANDARD.encode(format!("{ADMIN_USER}:{ADMIN_PASSWORD}"));
    let request = http::Request::get(format!("{}{path_and_query}", stack.base_url))
        .header("authorization", format!("Basic {auth}"))
        .body(Default::default())
        .unwrap();
    let answer = stack.send(request).await;
    assert_eq!(answer.status, 200, "{path_and_query}: {}", answer.body);
    answer.body
}

/// A customer's order on Monday 2 November and its email, sent then: the email's
/// `List-Unsubscribe` link and the email's kind.
async fn ordered_and_mailed(stack: &TestStack, customer: &str) -> (String, String) {
    let email = format!("{}@example.nl", unique("klant"));
    stack.set_now(at("2026-11-02T10:00:00Z"));
    let mut body = example("order-placed");
    body["order"]["id"] = json!(unique("NL"));
    body["customer"]["id"] = json!(customer);
    body["customer"]["email"] = json!(email);
    let answer = stack.post("order-placed", &body).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let sender = stack.sender(stack.clock(), None).await;
    let id = CustomerId::parse(customer).unwrap();
    deliver_pending(&sender, &stack.shop, &id).await.unwrap();
    let sent: Vec<_> = stack
        .store()
        .messages(&stack.shop, &id)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.status == MessageStatus::Sent && m.intent.class.is_optional_mail())
        .collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let raw = emails_to(&email).await.remove(0);
    let url = raw
        .lines()
        .find_map(|l| {
            l.strip_prefix("List-Unsubscribe: <")
                .and_then(|u| u.strip_suffix('>'))
        })
        .expect("a List-Unsubscribe header")
        .to_owned();
    (url, sent[0].intent.data.kind().to_owned())
}

async fn one_click(stack: &TestStack, url: &str) -> Answer {
    stack
        .send(
            http::Request::post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(http_body_util::Full::new(bytes::Bytes::from_static(
                    b"List-Unsubscribe=One-Click",
                )))
                .unwrap(),
        )
        .await
}

/// The period's figures of `kind` as the JSON gives them.
async fn unsubscribed_in_json(stack: &TestStack, query: &str, kind: &str) -> Value {
    let json: Value =
        serde_json::from_str(&admin_page(stack, &format!("{query}&format=json")).await).unwrap();
    json["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {json}"))["unsubscribed"]
        .clone()
}

#[tokio::test]
async fn an_unsubscribe_through_an_emails_link_counts_once_against_its_kind_on_the_emails_day() {
    let stack = TestStack::start().await;
    let (url, kind) = ordered_and_mailed(&stack, "cus-8812").await;
    let (_, other_kind) = ordered_and_mailed(&stack, "cus-4410").await;
    assert_eq!(other_kind, kind);
    let token = url.rsplit('/').next().unwrap();
    let (_, _, named) = LinkKey::new(LINK_SECRET).verify_unsubscribe(token).unwrap();
    assert!(
        named
            .as_deref()
            .is_some_and(|k| k.starts_with(&format!("{kind}#"))),
        "the link names its email: {named:?}"
    );

    // Two days later the overview keeps 2 November's summary: nobody has unsubscribed yet.
    stack.set_now(at("2026-11-04T09:00:00Z"));
    let query = format!("/admin?shop={}&from=2026-11-01&to=2026-11-04", stack.shop);
    assert_eq!(unsubscribed_in_json(&stack, &query, &kind).await, json!(0));

    // Opening the link (a mail scanner) changes nothing and counts nothing.
    let before = stack.snapshot().await;
    let page = stack
        .send(http::Request::get(&url).body(Default::default()).unwrap())
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(stack.snapshot().await, before);

    // The customer unsubscribes, twice: once on the email's day, against its kind.
    for _ in 0..2 {
        assert_eq!(one_click(&stack, &url).await.status, 200);
    }
    let (profile, _) = stack.customer("cus-8812").await;
    assert!(profile.unwrap().mail.opted_out.is_some());
    stack.set_now(at("2026-11-04T09:05:00Z"));
    assert_eq!(unsubscribed_in_json(&stack, &query, &kind).await, json!(1));
    // The page's form, for a scope the one-click already covered, counts nothing more.
    let answer = stack
        .post_form(&url[stack.base_url.len()..], &[("scope", "all")])
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(unsubscribed_in_json(&stack, &query, &kind).await, json!(1));

    // A link mailed before links named their email still unsubscribes; it counts under no kind.
    let old = LinkKey::new(LINK_SECRET)
        .unsubscribe_token(&stack.shop, &CustomerId::parse("cus-4410").unwrap());
    assert_eq!(
        one_click(&stack, &format!("{}/u/{old}", stack.base_url))
            .await
            .status,
        200
    );
    let (profile, _) = stack.customer("cus-4410").await;
    assert!(profile.unwrap().mail.opted_out.is_some());
    assert_eq!(unsubscribed_in_json(&stack, &query, &kind).await, json!(1));

    // The customer's timeline says which email they unsubscribed through.
    for (lang, words) in [
        ("nl", "afgemeld via deze e-mail"),
        ("en", "unsubscribed through this email"),
    ] {
        let page = admin_page(
            &stack,
            &format!("/admin/customers/cus-8812?shop={}&lang={lang}", stack.shop),
        )
        .await;
        assert_eq!(page.matches(words).count(), 1, "{lang}: {page}");
    }

    // The CSV and the page, in both languages, say the same.
    let csv = admin_page(&stack, &format!("{query}&format=csv")).await;
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let column = header
        .iter()
        .position(|h| *h == "\"unsubscribed\"")
        .unwrap();
    let line = csv
        .lines()
        .find(|l| l.starts_with(&format!("\"{kind}\"")))
        .unwrap();
    assert_eq!(line.split(',').nth(column), Some("\"1\""), "{csv}");
    for (lang, word) in [("nl", "afgemeld"), ("en", "unsubscribed")] {
        let page = admin_page(&stack, &format!("{query}&lang={lang}")).await;
        assert!(page.contains(&format!(">{word}</th>")), "{lang}: {page}");
        let row = &page[page.find(&format!("kind-{kind}")).unwrap()..];
        assert!(
            row[..row.find("</tr>").unwrap()].contains("<td class=\"num unsubscribed\">1</td>"),
            "{lang}: {row}"
        );
    }
}
