//! The marketers' pages against seeded data in moto: login, filters, paging, masking, CSV
//! (with formula neutralisation) and JSON, the detail and timeline pages, and the overview.

use base64::Engine;
use serde_json::{Value, json};
use trouw_tests::client::Answer;
use trouw_tests::{
    ADMIN_PASSWORD, ADMIN_USER, LINK_SECRET, SESSION_SECRET, TestStack, example, unique,
};

fn basic() -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{ADMIN_USER}:{ADMIN_PASSWORD}"))
    )
}

async fn get(stack: &TestStack, path: &str, auth: Option<&str>) -> Answer {
    let mut request = http::Request::get(format!("{}{path}", stack.base_url));
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    stack.send(request.body(Default::default()).unwrap()).await
}

async fn admin(stack: &TestStack, path: &str) -> Answer {
    get(stack, path, Some(&basic())).await
}

async fn order(stack: &TestStack, customer: &str, email: &str, order: &str) {
    let mut body = example("order-placed");
    body["customer"]["id"] = json!(customer);
    body["customer"]["email"] = json!(email);
    body["order"]["id"] = json!(order);
    let answer = stack.post("order-placed", &body).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

/// Today in Amsterdam, where the demo shop is; messages are created at the real time.
fn period() -> String {
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::get("Europe/Amsterdam").unwrap())
        .date();
    format!(
        "from={}&to={}",
        today.yesterday().unwrap(),
        today.tomorrow().unwrap()
    )
}

fn rows(answer: &Answer) -> Vec<Value> {
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()["rows"].as_array().cloned().unwrap()
}

#[tokio::test]
async fn without_valid_credentials_there_is_only_a_login_prompt() {
    let stack = TestStack::start().await;
    for path in [
        "/admin",
        "/admin/messages",
        "/admin/messages?format=csv",
        "/admin/customers/cus-8812",
    ] {
        let answer = get(&stack, path, None).await;
        assert_eq!(answer.status, 401, "{path}");
        assert!(
            answer.body.contains("name=\"password\""),
            "{path}: the login form"
        );
        assert!(answer.headers.contains_key("www-authenticate"));
        assert!(!answer.body.contains("cus-8812") || path.contains("cus-8812"));
    }
    let wrong = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{ADMIN_USER}:nope"))
    );
    assert_eq!(
        get(&stack, "/admin/messages", Some(&wrong)).await.status,
        401
    );
    let forged = get(&stack, "/admin/messages", None).await;
    assert_eq!(forged.status, 401);

    // The login form: a session cookie, which opens the pages; a tampered one does not.
    let login = stack
        .log_in(ADMIN_USER, ADMIN_PASSWORD, "/admin/messages")
        .await;
    assert_eq!(login.status, 303);
    assert_eq!(login.headers["location"], "/admin/messages");
    let cookie = login.headers["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let session = cookie.split(';').next().unwrap().to_owned();
    let with = |cookie: String| {
        http::Request::get(format!("{}/admin/messages", stack.base_url))
            .header("cookie", cookie)
            .body(Default::default())
            .unwrap()
    };
    assert_eq!(stack.send(with(session.clone())).await.status, 200);
    let tampered = session.replace("trouw_session=", "trouw_session=x");
    assert_eq!(stack.send(with(tampered)).await.status, 401);
    let bad_login = stack
        .log_in(ADMIN_USER, "wrong", "https://evil.example")
        .await;
    assert_eq!(bad_login.status, 401);
    assert!(!bad_login.headers.contains_key("set-cookie"));
}

#[tokio::test]
async fn filters_masking_downloads_and_bad_parameters() {
    let stack = TestStack::start().await;
    let anna = format!("{}@example.nl", unique("anna"));
    let bram = format!("{}@example.nl", unique("bram"));
    order(&stack, "cus-anna", &anna, "A-1").await;
    order(&stack, "cus-bram", &bram, "B-1").await;
    // A customer id a spreadsheet would run as a formula.
    order(
        &stack,
        "=2+3",
        &format!("{}@example.nl", unique("eve")),
        "E-1",
    )
    .await;
    let mut moved = example("address-changed");
    moved["customer"]["id"] = json!("cus-anna");
    moved["customer"].as_object_mut().unwrap().remove("email");
    assert_eq!(stack.post("address-changed", &moved).await.status, 200);

    let all = rows(&admin(&stack, &format!("/admin/messages?{}&format=json", period())).await);
    assert_eq!(all.len(), 4, "{all:#?}");
    assert!(
        all.iter().all(|r| r["status"] == "pending"),
        "the sender has not run"
    );
    let masked = all.iter().find(|r| r["customer_id"] == "cus-anna").unwrap();
    assert_eq!(
        masked["email"],
        json!(format!("{}***@example.nl", &anna[..1]))
    );
    assert!(
        !admin(&stack, &format!("/admin/messages?{}&format=json", period()))
            .await
            .body
            .contains(&anna)
    );
    let revealed = admin(
        &stack,
        &format!("/admin/messages?{}&format=json&reveal=1", period()),
    )
    .await;
    assert!(revealed.body.contains(&anna), "{}", revealed.body);

    let kind = rows(
        &admin(
            &stack,
            &format!(
                "/admin/messages?{}&format=json&kind=welcome-after-move",
                period()
            ),
        )
        .await,
    );
    assert_eq!(kind.len(), 1);
    assert_eq!(kind[0]["class"], "promotional");
    let class = rows(
        &admin(
            &stack,
            &format!("/admin/messages?{}&format=json&class=service", period()),
        )
        .await,
    );
    assert_eq!(class.len(), 3);
    let by_customer = rows(
        &admin(
            &stack,
            &format!("/admin/messages?{}&format=json&customer=cus-anna", period()),
        )
        .await,
    );
    assert_eq!(by_customer.len(), 2);
    let email = form_urlencoded::byte_serialize(bram.to_uppercase().as_bytes()).collect::<String>();
    let by_email = rows(
        &admin(
            &stack,
            &format!("/admin/messages?{}&format=json&email={email}", period()),
        )
        .await,
    );
    assert_eq!(by_email.len(), 1, "exact address, any case");
    assert_eq!(by_email[0]["customer_id"], "cus-bram");
    let none = rows(
        &admin(
            &stack,
            &format!("/admin/messages?{}&format=json&status=bounced", period()),
        )
        .await,
    );
    assert!(none.is_empty());

    let csv = admin(&stack, &format!("/admin/messages?{}&format=csv", period())).await;
    assert_eq!(csv.status, 200);
    assert!(
        csv.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        csv.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines.len(), 5, "a header and four rows");
    assert!(lines[0].starts_with("\"time\",\"customer_id\",\"email\""));
    assert!(
        csv.body.contains("\"'=2+3\""),
        "the formula is neutralised: {}",
        csv.body
    );
    assert!(!csv.body.contains(",\"=2+3\""));

    for (query, field) in [
        ("from=2026-13-01", "from"),
        ("status=lost", "status"),
        ("kind=spam", "kind"),
        ("email=nope", "email"),
        ("shop=someone-else", "shop"),
        ("format=xml", "format"),
    ] {
        let answer = admin(&stack, &format!("/admin/messages?{query}")).await;
        assert_eq!(answer.status, 400, "{query}");
        assert_eq!(answer.json()["field"], field, "{query}");
    }
}

#[tokio::test]
async fn the_list_pages_through_the_log_newest_first_without_gaps_or_repeats() {
    let stack = TestStack::start().await;
    // 130 messages of 130 customers over the last minutes, written straight into the table with
    // the store's key layout (creating them through webhooks is tested elsewhere).
    let now = jiff::Timestamp::now();
    let mut items = Vec::new();
    for i in 0..130_i64 {
        let customer = trouw::domain::CustomerId::parse(format!("cus-{i}")).unwrap();
        let created = now - jiff::SignedDuration::from_secs(600 - i);
        let intent = trouw::domain::MessageIntent {
            key: format!("tier-reached#t{i}"),
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
            status: trouw::store::MessageStatus::Skipped,
            // One in five for want of consent: the overview's funnel splits the skipped by reason.
            reason: Some(
                if i % 5 == 0 {
                    "no_consent"
                } else {
                    "frequency_cap"
                }
                .into(),
            ),
            ..trouw::store::MessageRecord::pending_for(
                &stack.shop,
                trouw::domain::EventId::parse(format!("e-{i}")).unwrap(),
                &intent,
            )
        };
        let item = trouw::store::message_item(&record).unwrap();
        items.push(item);
    }
    stack.seed(items).await;
    let mut seen = Vec::new();
    let mut path = format!("/admin/messages?{}&status=skipped", period());
    let mut pages = 0;
    loop {
        let page = admin(&stack, &path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        pages += 1;
        let customers: Vec<String> = page
            .body
            .match_indices("/admin/customers/")
            .map(|(at, _)| page.body[at..].split(['?', '"']).next().unwrap().to_owned())
            .collect();
        seen.extend(customers);
        let Some(at) = page.body.find("rel=\"next\"") else {
            break;
        };
        let href = page.body[..at].rsplit("href=\"").next().unwrap();
        path = href.split('"').next().unwrap().replace("&amp;", "&");
        assert!(pages < 10, "paging ends");
    }
    assert!(pages >= 2, "130 messages take more than one page");
    let mut unique_seen = seen.clone();
    unique_seen.sort();
    unique_seen.dedup();
    assert_eq!(seen.len(), 130, "every message once");
    assert_eq!(unique_seen.len(), 130);
    assert_eq!(seen[0], "/admin/customers/cus-129", "newest first");
    assert_eq!(seen[129], "/admin/customers/cus-0");

    // The overview's funnel for this kind: 130 created, all skipped, 104 for the frequency
    // cap and 26 for want of consent, as words.
    let overview = admin(&stack, &format!("/admin?{}&lang=en", period())).await;
    let card = &overview.body[overview
        .body
        .find("id=\"funnel-tier-reached\"")
        .unwrap_or_else(|| panic!("a funnel for the kind: {}", overview.body))..];
    let card = &card[..card.find("</table>").unwrap()];
    let reason =
        |code: &str| trouw::admin::labels::code("en", trouw::admin::labels::Group::Reason, code);
    for row in [
        "<th scope=\"row\">created</th><td class=\"num count\">130</td><td class=\"num share\">100%</td>".to_owned(),
        "<th scope=\"row\">skipped</th><td class=\"num count\">130</td><td class=\"num share\">100%</td>".to_owned(),
        format!("<th scope=\"row\">{}</th><td class=\"num count\">104</td><td class=\"num share\">80%</td>", reason("frequency_cap")),
        format!("<th scope=\"row\">{}</th><td class=\"num count\">26</td><td class=\"num share\">20%</td>", reason("no_consent")),
        "<th scope=\"row\">sent</th><td class=\"num count\">0</td><td class=\"num share\">0%</td>".to_owned(),
    ] {
        assert!(card.contains(&row), "{row}: {card}");
    }
    let frequency = card.find(&reason("frequency_cap")).unwrap();
    assert!(
        frequency < card.find(&reason("no_consent")).unwrap(),
        "most first"
    );
}

#[tokio::test]
async fn detail_timeline_and_overview_answer_what_was_sent_and_the_nps() {
    let stack = TestStack::start().await;
    let anna = format!("{}@example.nl", unique("anna"));
    order(&stack, "cus-8812", &anna, "NL-100482").await;
    let sender = stack.sender(stack.clock(), None).await;
    trouw::handlers::send_messages::deliver_pending(
        &sender,
        &stack.shop,
        &trouw::domain::CustomerId::parse("cus-8812").unwrap(),
    )
    .await
    .unwrap();
    let row =
        rows(&admin(&stack, &format!("/admin/messages?{}&format=json", period())).await).remove(0);
    let detail = admin(
        &stack,
        &format!(
            "/admin/messages/cus-8812/{}?lang=en",
            form_urlencoded::byte_serialize(row["key"].as_str().unwrap().as_bytes())
                .collect::<String>()
        ),
    )
    .await;
    assert_eq!(detail.status, 200, "{}", detail.body);
    for expected in [
        "Status history",
        "points earned",
        "points pending",
        "created",
    ] {
        assert!(
            detail.body.contains(expected),
            "{expected}: {}",
            detail.body
        );
    }
    assert!(
        !detail.body.contains(&anna),
        "masked on the detail page too"
    );
    let timeline = admin(&stack, "/admin/customers/cus-8812").await;
    assert!(
        timeline.body.contains("bestelling geplaatst") && timeline.body.contains("punten gespaard"),
        "{}",
        timeline.body
    );

    // Three answers for three orders: a promoter, a passive and a detractor: NPS 0.
    stack
        .post("order-delivered", &example("order-delivered"))
        .await;
    let links = trouw::mail::LinkKey::new(LINK_SECRET);
    for (i, score) in [(0, 10), (1, 8), (2, 3)] {
        let order_id = format!("NL-{i}");
        if i > 0 {
            order(&stack, "cus-8812", &anna, &order_id).await;
        }
        let order_id = if i == 0 {
            "NL-100482".to_owned()
        } else {
            order_id
        };
        let mut delivered = example("order-delivered");
        delivered["order"]["id"] = json!(order_id);
        stack.post("order-delivered", &delivered).await;
        // The survey goes out 5 days after delivery; here it is marked as asked directly.
        let survey_day = stack.clock().now();
        let mut item = stack
            .snapshot()
            .await
            .into_iter()
            .find(|i| i["sk"].as_s().unwrap() == &format!("ORDER#{order_id}"))
            .unwrap();
        item.insert(
            "survey_handled_at".into(),
            aws_sdk_dynamodb::types::AttributeValue::S(survey_day.to_string()),
        );
        stack
            .dynamo
            .put_item()
            .table_name(&stack.table)
            .set_item(Some(item))
            .send()
            .await
            .unwrap();
        let token = links.survey_token(
            &stack.shop,
            &trouw::domain::CustomerId::parse("cus-8812").unwrap(),
            &trouw::domain::OrderId::parse(order_id.as_str()).unwrap(),
        );
        let answer = stack
            .post_form(&format!("/s/{token}"), &[("score", &score.to_string())])
            .await;
        assert_eq!(answer.status, 200);
    }
    let overview = admin(&stack, &format!("/admin?{}&lang=en", period())).await;
    assert_eq!(overview.status, 200);
    let text = overview.body.replace(['\n', ' '], "");
    assert!(
        text.contains("<divclass=\"big\">0</div>"),
        "NPS 0: {}",
        overview.body
    );
    assert!(
        overview
            .body
            .contains("3 answers: 1 promoters, 1 passives, 1 detractors"),
        "{}",
        overview.body
    );
    // The NPS per week: this week's score with its three answers, in the chart's table.
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::get("Europe/Amsterdam").unwrap())
        .date();
    let monday = trouw::admin::overview_charts::week_of(today);
    let row = format!(
        "<tr><th scope=\"row\">{monday}</th><td class=\"num\">0</td><td class=\"num\">3</td></tr>"
    );
    assert!(overview.body.contains(&row), "{row}: {}", overview.body);
    assert!(
        overview
            .body
            .contains("<svg class=\"chart\" id=\"chart-nps\"")
    );
}

/// Calls the handler directly (as the Lambda runtime does) with a request to `path`.
async fn call(
    app: &trouw::handlers::message_log::AdminApp,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> http::Response<lambda_http::Body> {
    let mut request = http::Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(lambda_http::Body::from(body.to_owned()))
        .unwrap();
    trouw::handlers::message_log::handle(app, request)
        .await
        .unwrap()
}

#[tokio::test]
async fn marketers_log_in_with_their_cognito_account() {
    use aws_sdk_cognitoidentityprovider::types::{ExplicitAuthFlowsType, MessageActionType};
    let stack = TestStack::start().await;
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&stack.sdk);
    let pool = cognito
        .create_user_pool()
        .pool_name(unique("marketers"))
        .send()
        .await
        .unwrap()
        .user_pool
        .unwrap()
        .id
        .unwrap();
    let client_id = cognito
        .create_user_pool_client()
        .user_pool_id(&pool)
        .client_name("trouw-message-log")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .send()
        .await
        .unwrap()
        .user_pool_client
        .unwrap()
        .client_id
        .unwrap();
    let (anna, bram) = ("anna@dewinkel.example", "bram@dewinkel.example");
    for user in [anna, bram] {
        cognito
            .admin_create_user()
            .user_pool_id(&pool)
            .username(user)
            .temporary_password("Temporary-Password-1")
            .message_action(MessageActionType::Suppress)
            .send()
            .await
            .unwrap();
    }
    cognito
        .admin_set_user_password()
        .user_pool_id(&pool)
        .username(anna)
        .password("Correct-Horse-Battery-42")
        .permanent(true)
        .send()
        .await
        .unwrap();
    let store = trouw::store::Store::new(stack.dynamo.clone(), &stack.table);
    let app = trouw::handlers::message_log::AdminApp::new(
        store.clone(),
        trouw::shops::ShopDirectory::settings_only(store, std::time::Duration::from_secs(60)),
        trouw::handlers::message_log::AdminAuth::Cognito {
            client: cognito.clone(),
            client_id,
        },
        vec![stack.shop.clone()],
        stack.clock(),
        SESSION_SECRET.as_bytes().to_vec(),
        true,
    );
    // The form's token and its cookie, as the browser got them with the form.
    let page = call(&app, "GET", "/admin/login", &[], "").await;
    let set_cookie = page.headers()["set-cookie"].to_str().unwrap().to_owned();
    let csrf_cookie = set_cookie.split(';').next().unwrap().to_owned();
    let body = match page.body() {
        lambda_http::Body::Text(text) => text.clone(),
        _ => panic!("the login page is text"),
    };
    let token = body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let form = |user: &str, password: &str| {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("username", user)
            .append_pair("password", password)
            .append_pair("csrf", &token)
            .finish()
    };
    let html = ("content-type", "application/x-www-form-urlencoded");
    let with_token = ("cookie", csrf_cookie.as_str());
    let ok = call(
        &app,
        "POST",
        "/admin/login",
        &[html, with_token],
        &form(anna, "Correct-Horse-Battery-42"),
    )
    .await;
    assert_eq!(ok.status(), 303);
    let cookie = ok.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("; Secure"),
        "HTTPS only in the cloud: {cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_owned();
    let page = call(&app, "GET", "/admin/messages", &[("cookie", &session)], "").await;
    assert_eq!(page.status(), 200);

    for (user, password) in [
        (anna, "wrong-password"),
        ("nobody@dewinkel.example", "Correct-Horse-Battery-42"),
        // Still on the temporary password: refused until the account is finished.
        (bram, "Temporary-Password-1"),
    ] {
        let refused = call(
            &app,
            "POST",
            "/admin/login",
            &[html, with_token],
            &form(user, password),
        )
        .await;
        assert_eq!(refused.status(), 401, "{user}");
        assert!(!refused.headers().contains_key("set-cookie"));
    }
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{anna}:Correct-Horse-Battery-42"))
    );
    let download = call(
        &app,
        "GET",
        "/admin/messages?format=csv",
        &[("authorization", &basic)],
        "",
    )
    .await;
    assert_eq!(download.status(), 200, "scripts use the same account");
}
