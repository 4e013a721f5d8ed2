//! Co-creation questions over HTTP, against moto with the stack's movable clock: a category's
//! buyers are asked the shop's question at their second order in it, once, while the question
//! is active; the answer links show (GET) and record (POST), with the customer's own words
//! where the question invites them; the marketers' answers page counts them.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use trouw::domain::questions::Question;
use trouw::domain::{CustomerId, MessageData};
use trouw::handlers::run_schedule::run_pass;
use trouw::handlers::send_messages::{SenderApp, deliver_pending};
use trouw::store::{MessageRecord, MessageStatus};
use trouw_tests::{LINK_SECRET, TestStack, emails_to, example, unique};

/// 09:14 in Amsterdam on 2 November 2026.
fn start() -> Timestamp {
    "2026-11-02T08:14:03Z".parse().unwrap()
}

fn day(n: i64) -> Timestamp {
    start() + SignedDuration::from_hours(24 * n)
}

const CATEGORY: &str = "mondverzorging";

fn question(id: &str) -> Question {
    Question {
        id: id.into(),
        category: CATEGORY.into(),
        text: "Welke smaak tandpasta zullen we erbij nemen?".into(),
        options: vec![
            "Munt extra sterk".into(),
            "Kruiden".into(),
            "Houtskool".into(),
        ],
        free_text: true,
        active_from: None,
        active_until: None,
    }
}

/// The contract's example order for `customer`: line 0 in `category` (or none), line 1 in
/// `apparaten`, without replenishment (only the question is about this test).
fn order_body(customer: &str, email: &str, order: &str, category: Option<&str>) -> Value {
    let mut body = example("order-placed");
    body["order"]["id"] = json!(order);
    body["customer"]["id"] = json!(customer);
    body["customer"]["email"] = json!(email);
    for line in body["order"]["lines"].as_array_mut().unwrap() {
        line.as_object_mut().unwrap().remove("replenish_after_days");
    }
    match category {
        Some(c) => body["order"]["lines"][0]["category"] = json!(c),
        None => {
            body["order"]["lines"][0]
                .as_object_mut()
                .unwrap()
                .remove("category");
        }
    }
    body
}

async fn place(stack: &TestStack, sender: &SenderApp, on: i64, body: &mut Value) {
    let at = day(on);
    stack.set_now(at + SignedDuration::from_mins(1));
    body["occurred_at"] = json!(at.to_string());
    body["order"]["placed_at"] = json!(at.to_string());
    let answer = stack.post("order-placed", body).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let customer = CustomerId::parse(body["customer"]["id"].as_str().unwrap()).unwrap();
    deliver_pending(sender, &stack.shop, &customer)
        .await
        .unwrap();
}

async fn questions(stack: &TestStack, customer: &str) -> Vec<MessageRecord> {
    stack
        .store()
        .messages(&stack.shop, &CustomerId::parse(customer).unwrap())
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.intent.data.kind() == "question")
        .collect()
}

/// A shop asking its toothpaste buyers, with a second question not active yet, and four
/// customers: A orders in the category three times, B once, C twice but only in another
/// category, D twice after the active question ended.
async fn asked() -> (TestStack, SenderApp, [String; 4]) {
    let stack = TestStack::start().await;
    stack
        .update_shop(|s| {
            let mut later = question("later");
            later.active_from = Some(day(400));
            let mut ended = question("ended");
            ended.category = "bleekmiddel".into();
            ended.active_until = Some(day(5));
            s.questions = vec![question("smaak"), later, ended];
            s.reorder_interval_days = 730;
        })
        .await;
    let sender = stack.sender(stack.clock(), None).await;
    let emails = ["a", "b", "c", "d"].map(|n| format!("{}@example.nl", unique(n)));
    let [a, b, c, d] = &emails;
    place(
        &stack,
        &sender,
        0,
        &mut order_body("cus-a", a, "A-1", Some(CATEGORY)),
    )
    .await;
    place(
        &stack,
        &sender,
        0,
        &mut order_body("cus-b", b, "B-1", Some(CATEGORY)),
    )
    .await;
    place(&stack, &sender, 0, &mut order_body("cus-c", c, "C-1", None)).await;
    place(
        &stack,
        &sender,
        1,
        &mut order_body("cus-d", d, "D-1", Some("bleekmiddel")),
    )
    .await;
    place(
        &stack,
        &sender,
        10,
        &mut order_body("cus-a", a, "A-2", Some(CATEGORY)),
    )
    .await;
    place(
        &stack,
        &sender,
        10,
        &mut order_body("cus-c", c, "C-2", None),
    )
    .await;
    place(
        &stack,
        &sender,
        10,
        &mut order_body("cus-d", d, "D-2", Some("bleekmiddel")),
    )
    .await;
    (stack, sender, emails)
}

#[tokio::test]
async fn the_second_order_in_a_category_brings_its_active_question_once() {
    let (stack, sender, [a, b, c, d]) = asked().await;
    // The question may wait for the frequency cap after the order's own mail: a pass later
    // sends it.
    let schedule = stack.schedule(stack.clock(), None).await;
    stack.set_now(day(14));
    run_pass(&schedule).await.unwrap();

    let asked = questions(&stack, "cus-a").await;
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0].status, MessageStatus::Sent, "{:?}", asked[0]);
    match &asked[0].intent.data {
        MessageData::Question {
            question_id,
            options,
            ..
        } => {
            assert_eq!(question_id, "smaak");
            assert_eq!(options.len(), 3);
        }
        other => panic!("{other:?}"),
    }
    let mail = emails_to(&a).await;
    let email = mail
        .iter()
        .find(|m| m.contains("Welke smaak tandpasta"))
        .expect("the question's email");
    assert!(email.matches("/q/").count() >= 3, "one link per answer");
    assert!(
        email.contains("option=2") || email.contains("option=3D2"),
        "the third answer's link"
    );

    // A third order in the category: asked already, nothing more.
    place(
        &stack,
        &sender,
        20,
        &mut order_body("cus-a", &a, "A-3", Some(CATEGORY)),
    )
    .await;
    stack.set_now(day(24));
    run_pass(&schedule).await.unwrap();
    assert_eq!(questions(&stack, "cus-a").await.len(), 1);
    let (profile, _) = stack.customer("cus-a").await;
    let profile = profile.unwrap();
    assert_eq!(profile.questions_asked, vec!["smaak".to_owned()]);
    assert_eq!(profile.category_orders.get(CATEGORY), Some(&2));

    // One order in the category, orders only in other categories, a question no longer
    // active: nothing goes.
    assert!(questions(&stack, "cus-b").await.is_empty());
    assert!(questions(&stack, "cus-c").await.is_empty());
    assert!(questions(&stack, "cus-d").await.is_empty());
    for to in [&b, &c, &d] {
        assert!(
            emails_to(to).await.iter().all(|m| !m.contains("/q/")),
            "no question to {to}"
        );
    }
    let (c_profile, _) = stack.customer("cus-c").await;
    assert!(
        c_profile.unwrap().category_orders.is_empty(),
        "categories without a question are not counted"
    );
}

/// The question's answer links in the customer's email (paths with query, by answer index).
async fn answer_links(stack: &TestStack, email: &str) -> Vec<String> {
    let raw = emails_to(email).await.join("\n");
    let text = raw.replace("=\r\n", "").replace("=3D", "=");
    let mut links: Vec<String> = text
        .match_indices(&format!("{}/q/", stack.base_url))
        .map(|(start, _)| {
            let rest = &text[start + stack.base_url.len()..];
            let end = rest.find(['"', '\r', '\n', ' ', '<', '>']).unwrap();
            rest[..end].to_owned()
        })
        .collect();
    links.sort();
    links.dedup();
    links
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

#[tokio::test]
async fn an_answer_link_shows_on_get_and_records_the_first_answer_on_post() {
    let (stack, _sender, [a, ..]) = asked().await;
    let schedule = stack.schedule(stack.clock(), None).await;
    stack.set_now(day(14));
    run_pass(&schedule).await.unwrap();
    let links = answer_links(&stack, &a).await;
    assert_eq!(links.len(), 3, "{links:?}");
    let second = links.iter().find(|l| l.ends_with("option=1")).unwrap();
    let path = second.split('?').next().unwrap();

    // GET (a mail scanner, or the customer before the page submits itself): the question with
    // the answer chosen, nothing recorded.
    for _ in 0..2 {
        let page = get(&stack, second).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("Welke smaak tandpasta"), "{}", page.body);
        assert!(
            page.body.contains("value=\"1\" checked"),
            "the answer chosen: {}",
            page.body
        );
    }
    let (profile, _) = stack.customer("cus-a").await;
    assert!(
        profile.unwrap().questions_answered.is_empty(),
        "GET changes nothing"
    );

    // Unclear answers are refused and change nothing.
    assert_eq!(get(&stack, &format!("{path}?option=9")).await.status, 400);
    assert_eq!(stack.post_form(path, &[("option", "3")]).await.status, 400);
    assert_eq!(stack.post_form(path, &[("option", "x")]).await.status, 400);
    let tampered = format!("{}x?option=1", &path[..path.len() - 1]);
    assert_eq!(get(&stack, &tampered).await.status, 400);

    // POST records the answer; a second answer changes nothing (the first counts).
    let answered = stack.post_form(path, &[("option", "1")]).await;
    assert_eq!(answered.status, 200, "{}", answered.body);
    let again = stack.post_form(path, &[("option", "2")]).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert!(
        again.body.contains("het eerste antwoord telt"),
        "{}",
        again.body
    );
    let (profile, _) = stack.customer("cus-a").await;
    assert_eq!(
        profile.unwrap().questions_answered,
        vec!["smaak".to_owned()]
    );

    // The customer's timeline shows the answer, in the shop's words.
    let activities = stack
        .store()
        .customer_items_consistent(&stack.shop, &CustomerId::parse("cus-a").unwrap())
        .await
        .unwrap()
        .activities;
    let answers: Vec<_> = activities
        .iter()
        .filter(|r| r.activity.what.name() == "question_answered")
        .collect();
    assert_eq!(answers.len(), 1, "{answers:?}");
    let page = admin_page(&stack, "/admin/customers/cus-a?lang=en").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("question answered"), "{}", page.body);
    assert!(page.body.contains("smaak · Kruiden"), "{}", page.body);
}

async fn admin_page(stack: &TestStack, path: &str) -> trouw_tests::client::Answer {
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        trouw_tests::ADMIN_USER,
        trouw_tests::ADMIN_PASSWORD
    ));
    let request = http::Request::get(format!("{}{path}", stack.base_url))
        .header("authorization", format!("Basic {basic}"))
        .body(Default::default())
        .unwrap();
    stack.send(request).await
}

/// A shop with two questions to its toothpaste buyers, one inviting the customer's own words
/// (`smaak`) and one not (`dik`), and `n` customers who ordered in the category twice (asked
/// both). Orders only: the asking is decided with the order, whether or not its mail went.
async fn asked_customers(n: usize) -> (TestStack, Vec<String>) {
    let stack = TestStack::start().await;
    stack
        .update_shop(|s| {
            let mut thick = question("dik");
            thick.text = "Hoe dik mag de tube zijn?".into();
            thick.options = vec!["Dun".into(), "Dik".into()];
            thick.free_text = false;
            s.questions = vec![question("smaak"), thick];
            s.reorder_interval_days = 730;
        })
        .await;
    let mut customers = Vec::new();
    for i in 0..n {
        let id = format!("cus-{i}");
        let email = format!("{}@example.nl", unique("vraag"));
        for (on, order) in [(0, "1"), (10, "2")] {
            let at = day(on);
            stack.set_now(at + SignedDuration::from_mins(1));
            let mut body = order_body(&id, &email, &format!("{id}-{order}"), Some(CATEGORY));
            body["occurred_at"] = json!(at.to_string());
            body["order"]["placed_at"] = json!(at.to_string());
            let answer = stack.post("order-placed", &body).await;
            assert_eq!(answer.status, 200, "{}", answer.body);
        }
        customers.push(id);
    }
    (stack, customers)
}

/// The answer page of `question` for `customer`, as its email links it.
fn answer_path(stack: &TestStack, customer: &str, question: &str) -> String {
    let token = trouw::mail::LinkKey::new(LINK_SECRET).question_token(
        &stack.shop,
        &CustomerId::parse(customer).unwrap(),
        question,
    );
    format!("/q/{token}")
}

#[tokio::test]
async fn the_customers_own_words_go_with_the_answer_only_where_the_question_invites_them() {
    let (stack, customers) = asked_customers(1).await;
    let customer = &customers[0];
    stack.set_now(day(12));
    let smaak = answer_path(&stack, customer, "smaak");
    let dik = answer_path(&stack, customer, "dik");

    // The question that invites words shows a field for them and waits for the customer (no
    // submitting on load); the other submits itself and has no field.
    let page = get(&stack, &format!("{smaak}?option=1")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("name=\"free_text\""), "{}", page.body);
    assert!(!page.body.contains("<script"), "{}", page.body);
    let page = get(&stack, &format!("{dik}?option=1")).await;
    assert!(!page.body.contains("free_text"), "{}", page.body);
    assert!(page.body.contains("<script"), "{}", page.body);

    // Words to a question that does not invite them, and words too long: 400 naming the
    // field, nothing recorded.
    let refused = stack
        .post_form(&dik, &[("option", "0"), ("free_text", "Liever een pompje")])
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(
        refused.body.contains("data-field=\"free_text\""),
        "{}",
        refused.body
    );
    let long = "a".repeat(501);
    let refused = stack
        .post_form(&smaak, &[("option", "1"), ("free_text", &long)])
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(
        refused.body.contains("data-field=\"free_text\""),
        "{}",
        refused.body
    );
    let (profile, _) = stack.customer(customer).await;
    assert!(
        profile.unwrap().questions_answered.is_empty(),
        "nothing recorded"
    );
    assert!(
        stack
            .store()
            .question_answers(&stack.shop, "smaak")
            .await
            .unwrap()
            .is_empty()
            && stack
                .store()
                .question_answers(&stack.shop, "dik")
                .await
                .unwrap()
                .is_empty()
    );

    // The answer with its words, kept under the question; a blank field is no words.
    let words = "Meer kruiden graag, en stuur me iets op anna@example.nl";
    let answered = stack
        .post_form(&smaak, &[("option", "1"), ("free_text", words)])
        .await;
    assert_eq!(answered.status, 200, "{}", answered.body);
    let answered = stack
        .post_form(&dik, &[("option", "0"), ("free_text", "  ")])
        .await;
    assert_eq!(answered.status, 200, "{}", answered.body);
    let kept = stack
        .store()
        .question_answers(&stack.shop, "smaak")
        .await
        .unwrap();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(
        (kept[0].option, kept[0].free_text.as_deref()),
        (1, Some(words))
    );
    let kept = stack
        .store()
        .question_answers(&stack.shop, "dik")
        .await
        .unwrap();
    assert_eq!((kept[0].option, kept[0].free_text.as_deref()), (0, None));

    // A second answer, with other words, changes nothing.
    let again = stack
        .post_form(&smaak, &[("option", "2"), ("free_text", "Toch houtskool")])
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    let kept = stack
        .store()
        .question_answers(&stack.shop, "smaak")
        .await
        .unwrap();
    assert_eq!((kept.len(), kept[0].option), (1, 1));
    assert_eq!(kept[0].free_text.as_deref(), Some(words));
}

#[tokio::test]
async fn the_answers_page_counts_each_option_and_shows_the_newest_words_without_addresses() {
    let (stack, customers) = asked_customers(4).await;
    let answers = [
        (0, "1", "Eerste woorden"),
        (
            1,
            "1",
            "Tweede, schrijf naar anna@example.nl of Kerkstraat 12, 1016 GV",
        ),
        (2, "0", ""),
        (3, "2", ""),
    ];
    for (n, (who, option, words)) in answers.iter().enumerate() {
        stack.set_now(day(12) + SignedDuration::from_mins(n as i64));
        let path = answer_path(&stack, &customers[*who], "smaak");
        let answer = stack
            .post_form(&path, &[("option", option), ("free_text", words)])
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    // A second answer by the last customer does not count.
    let path = answer_path(&stack, &customers[3], "smaak");
    stack.post_form(&path, &[("option", "0")]).await;

    let page = admin_page(&stack, "/admin/answers?lang=en").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let body = &page.body;
    assert!(
        body.contains("<span class=\"answer-total\">4</span>"),
        "{body}"
    );
    for (option, count, share) in [
        ("Munt extra sterk", 1, "25.0%"),
        ("Kruiden", 2, "50.0%"),
        ("Houtskool", 1, "25.0%"),
    ] {
        let row = format!(
            "<tr class=\"answer-option\"><td>{option}</td><td class=\"num\">{count}</td><td class=\"num\">{share}</td></tr>"
        );
        assert!(body.contains(&row), "{row} in {body}");
    }
    // The other question: asked, not answered.
    assert!(body.contains("Hoe dik mag de tube zijn?"), "{body}");
    assert!(
        body.contains("<span class=\"answer-total\">0</span>"),
        "{body}"
    );
    // Newest words first, addresses taken out.
    let second = body.find("Tweede, schrijf naar").expect("the newest words");
    let first = body.find("Eerste woorden").expect("the older words");
    assert!(second < first, "newest first: {body}");
    assert!(
        !body.contains("anna@example.nl") && !body.contains("Kerkstraat 12"),
        "{body}"
    );
    assert!(!body.contains("1016 GV"), "{body}");
    assert!(body.contains("Tweede, schrijf naar […] of […]"), "{body}");
    // The overview links the page.
    let overview = admin_page(&stack, "/admin").await;
    assert!(
        overview.body.contains("href=\"/admin/answers?shop="),
        "{}",
        overview.body
    );
    let dutch = admin_page(&stack, "/admin/answers").await;
    assert!(
        dutch.body.contains("In hun eigen woorden"),
        "{}",
        dutch.body
    );
}
