//! Survey links and mail scanners. Scanners (Safe Links, Mimecast, Proofpoint) open every link
//! of an email: a GET of a score link only shows the answer, with that score chosen, and
//! changes nothing; the POST the page sends (by itself, through a script its
//! Content-Security-Policy allows by hash) records the answer and causes exactly the follow-up
//! the score calls for.

use base64::Engine;
use jiff::Timestamp;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use trouw::domain::CustomerId;
use trouw::handlers::run_schedule::run_pass;
use trouw::store::{MessageRecord, MessageStatus};
use trouw_tests::{StackOptions, TestStack, all_emails, example, join_all, unique};

/// Where the shop's detractor alerts go (the demo shop's `service_email`).
const SERVICE: &str = "service@demo.trouw.test";

/// A customer whose survey email went out, and its eleven score links (paths with query).
struct Surveyed {
    customer: String,
    order: String,
    email: String,
    links: BTreeMap<u8, String>,
    /// How many emails the customer had once the survey went out.
    emails: usize,
}

impl Surveyed {
    fn token_path(&self) -> String {
        self.links[&0].split('?').next().unwrap().to_owned()
    }
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// Places and delivers an order at the contract's times, then runs the pass on day 5 that
/// sends the survey; the links are read from the email moto's SES received.
async fn surveyed(stack: &TestStack) -> Surveyed {
    let customer = unique("cus");
    let order = unique("NL");
    let email = format!("{}@example.nl", unique("anna"));
    stack.set_now(at("2026-11-02T08:15:00Z"));
    let mut placed = example("order-placed");
    placed["order"]["id"] = json!(order);
    placed["customer"]["id"] = json!(customer);
    placed["customer"]["email"] = json!(email);
    for line in placed["order"]["lines"].as_array_mut().unwrap() {
        let line = line.as_object_mut().unwrap();
        line.remove("category");
        line.remove("replenish_after_days");
    }
    assert_eq!(stack.post("order-placed", &placed).await.status, 200);
    // The table's stream sends the order's email at the time of the order.
    stack.settle().await;
    stack.set_now(at("2026-11-04T12:40:00Z"));
    let mut delivered = example("order-delivered");
    delivered["order"]["id"] = json!(order);
    delivered["customer"]["id"] = json!(customer);
    assert_eq!(stack.post("order-delivered", &delivered).await.status, 200);
    stack.settle().await;
    stack.set_now(at("2026-11-09T14:00:00Z"));
    run_pass(stack.app.schedule.as_ref().unwrap())
        .await
        .unwrap();
    let survey = message(stack, &customer, "survey#")
        .await
        .expect("a survey");
    assert_eq!(survey.status, MessageStatus::Sent);

    let mailbox = Mailbox::read().await;
    let emails = mailbox.to(&email).len();
    let raw = mailbox.to(&email).join("\n");
    let text = raw.replace("=\r\n", "").replace("=3D", "=");
    let mut links = BTreeMap::new();
    for (start, _) in text.match_indices(&format!("{}/s/", stack.base_url)) {
        let rest = &text[start + stack.base_url.len()..];
        let end = rest.find(['"', '\r', '\n', ' ', '<', '>']).unwrap();
        let link = rest[..end].to_owned();
        let score: u8 = link.split("score=").nth(1).unwrap().parse().unwrap();
        links.insert(score, link);
    }
    assert_eq!(
        links.keys().copied().collect::<Vec<_>>(),
        (0..=10).collect::<Vec<_>>(),
        "the email links every score"
    );
    Surveyed {
        customer,
        order,
        email,
        links,
        emails,
    }
}

async fn messages(stack: &TestStack, customer: &str) -> Vec<MessageRecord> {
    stack
        .store()
        .messages(&stack.shop, &CustomerId::parse(customer).unwrap())
        .await
        .unwrap()
}

async fn message(stack: &TestStack, customer: &str, prefix: &str) -> Option<MessageRecord> {
    messages(stack, customer)
        .await
        .into_iter()
        .find(|m| m.intent.key.starts_with(prefix))
}

/// The kinds of the customer's messages that went out, sorted.
async fn sent_kinds(stack: &TestStack, customer: &str) -> Vec<String> {
    let mut kinds: Vec<String> = messages(stack, customer)
        .await
        .into_iter()
        .filter(|m| m.status == MessageStatus::Sent)
        .map(|m| m.intent.data.kind().to_owned())
        .collect();
    kinds.sort();
    kinds
}

/// What moto's SES received, from one read (each read costs seconds on a busy moto).
struct Mailbox(Vec<(Vec<String>, String)>);

impl Mailbox {
    async fn read() -> Mailbox {
        Mailbox(all_emails().await)
    }

    /// The raw emails to `address`, oldest first.
    fn to(&self, address: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(to, _)| to.iter().any(|t| t == address))
            .map(|(_, raw)| raw.as_str())
            .collect()
    }

    /// The shop's alerts about `order`.
    fn alerts_about(&self, order: &str) -> Vec<&str> {
        self.to(SERVICE)
            .into_iter()
            .filter(|raw| raw.contains(order))
            .collect()
    }
}

async fn get(stack: &TestStack, path: &str) -> trouw_tests::client::Answer {
    stack
        .send(
            http::Request::get(format!("{}{path}", stack.base_url))
                .body(Default::default())
                .unwrap(),
        )
        .await
}

fn with_sender() -> StackOptions {
    StackOptions {
        with_sender: true,
        ..Default::default()
    }
}

#[tokio::test]
async fn scanners_opening_every_score_link_record_nothing_and_send_nothing() {
    let stack = TestStack::start_with(with_sender()).await;
    let surveyed = surveyed(&stack).await;
    let before = stack.snapshot().await;

    // Ten scanner visits of every score link, at once, as a scanning fleet fetches them (the
    // table's stream delivers whatever they might cause).
    for (score, link) in &surveyed.links {
        for page in join_all((0..10).map(|_| get(&stack, link))).await {
            assert_eq!(page.status, 200, "{}", page.body);
            assert!(
                page.body
                    .contains(&format!("name=\"score\" value=\"{score}\" checked")),
                "the page shows score {score} chosen: {}",
                page.body
            );
            assert!(page.body.contains("<form id=\"answer\" method=\"post\">"));
            assert!(
                page.body
                    .contains("<textarea id=\"comment\" name=\"comment\"")
            );
        }
    }
    stack.settle().await;
    assert_eq!(stack.snapshot().await, before, "the table did not change");
    let (_, orders) = stack.customer(&surveyed.customer).await;
    assert_eq!(orders[0].survey_answer, None);
    // The schedule's next pass finds nothing to send either.
    stack.set_now(at("2026-11-09T15:00:00Z"));
    run_pass(stack.app.schedule.as_ref().unwrap())
        .await
        .unwrap();
    let mailbox = Mailbox::read().await;
    assert_eq!(
        mailbox.to(&surveyed.email).len(),
        surveyed.emails,
        "no email to the customer"
    );
    assert!(
        mailbox.alerts_about(&surveyed.order).is_empty(),
        "no alert to the shop"
    );
    assert_eq!(
        sent_kinds(&stack, &surveyed.customer).await,
        ["loyalty-earned", "survey"]
    );
}

#[tokio::test]
async fn the_page_submits_itself_with_the_one_script_its_policy_allows() {
    let stack = TestStack::start_with(with_sender()).await;
    let surveyed = surveyed(&stack).await;
    let page = get(&stack, &surveyed.links[&7]).await;
    assert_eq!(page.status, 200);
    let policy = page
        .headers
        .get("content-security-policy")
        .expect("a Content-Security-Policy")
        .to_str()
        .unwrap()
        .to_owned();
    let script = page
        .body
        .split("<script>")
        .nth(1)
        .and_then(|rest| rest.split("</script>").next())
        .expect("an inline script");
    assert_eq!(page.body.matches("<script").count(), 1, "one script");
    assert!(
        script.contains("getElementById(\"answer\").submit()"),
        "{script}"
    );
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(script));
    assert!(
        policy.contains(&format!("script-src 'sha256-{hash}'")),
        "the policy allows exactly that script: {policy}"
    );
    assert!(policy.contains("default-src 'none'"), "{policy}");
    assert!(policy.contains("form-action 'self'"), "{policy}");
    // Other link pages run no script at all.
    let thanks = stack
        .post_form(&surveyed.token_path(), &[("score", "7")])
        .await;
    assert_eq!(thanks.status, 200);
    assert!(!thanks.body.contains("<script"));
    let thanks_policy = thanks.headers["content-security-policy"].to_str().unwrap();
    assert!(
        thanks_policy.contains("script-src 'none'"),
        "{thanks_policy}"
    );
}

#[tokio::test]
async fn one_post_records_the_answer_and_sends_exactly_the_follow_up_the_score_calls_for() {
    let stack = TestStack::start_with(with_sender()).await;
    let promoter = surveyed(&stack).await;
    let detractor = surveyed(&stack).await;

    // A promoter: thanks (with the review link), no apology, no alert.
    let answer = stack
        .post_form(&promoter.token_path(), &[("score", "9"), ("comment", "")])
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(
        answer.body.contains("name=\"comment\""),
        "a comment form follows"
    );
    let (_, orders) = stack.customer(&promoter.customer).await;
    assert_eq!(orders[0].survey_answer.map(|a| a.score), Some(9));

    // A detractor with a comment: an apology to the customer and an alert with the comment to
    // the shop; the same form sent again (a double click) adds nothing.
    let comment = unique("De-doos-was-kapot");
    for _ in 0..2 {
        let answer = stack
            .post_form(
                &detractor.token_path(),
                &[("score", "3"), ("comment", &comment)],
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    let (_, orders) = stack.customer(&detractor.customer).await;
    assert_eq!(orders[0].survey_answer.map(|a| a.score), Some(3));
    assert_eq!(orders[0].survey_comment.as_deref(), Some(comment.as_str()));

    // A bad score or a missing answer: 400, nothing changed (once the stream has sent what
    // the answers caused).
    stack.settle().await;
    let unchanged = stack.snapshot().await;
    for form in [
        vec![("score", "11")],
        vec![("score", "x")],
        vec![("comment", "")],
    ] {
        let refused = stack.post_form(&promoter.token_path(), &form).await;
        assert_eq!(refused.status, 400, "{form:?}");
    }
    assert_eq!(stack.snapshot().await, unchanged);

    // Later passes send nothing more: exactly one follow-up each, and one alert.
    stack.set_now(at("2026-11-09T16:00:00Z"));
    run_pass(stack.app.schedule.as_ref().unwrap())
        .await
        .unwrap();
    assert_eq!(
        sent_kinds(&stack, &promoter.customer).await,
        ["loyalty-earned", "survey", "survey-promoter"]
    );
    assert_eq!(
        sent_kinds(&stack, &detractor.customer).await,
        [
            "detractor-alert",
            "loyalty-earned",
            "survey",
            "survey-detractor"
        ]
    );
    let mailbox = Mailbox::read().await;
    assert_eq!(mailbox.to(&promoter.email).len(), promoter.emails + 1);
    assert_eq!(mailbox.to(&detractor.email).len(), detractor.emails + 1);
    assert!(mailbox.alerts_about(&promoter.order).is_empty());
    let alerts = mailbox.alerts_about(&detractor.order);
    assert_eq!(alerts.len(), 1, "one alert to the shop");
    assert!(alerts[0].contains(&comment));
}
