//! Who may open the marketers' pages and what is kept of what they saw, over HTTP against
//! moto: HTTP Basic only where the switch allows it, growing delays after failed logins (per
//! user name and per client address), the TOTP code asked by the login form when Cognito wants
//! one, and the audit of every reveal and download.

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use trouw::handlers::message_log::{AdminApp, AdminAuth};
use trouw_tests::client::Answer;
use trouw_tests::{
    ADMIN_PASSWORD, ADMIN_USER, SESSION_SECRET, TestStack, example, form_token_of, unique,
};

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

async fn get(base: &str, stack: &TestStack, path: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = http::Request::get(format!("{base}{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    stack.send(request.body(Default::default()).unwrap()).await
}

/// Posts the login form as a browser does: with the form token of a login page it got first.
async fn post_form(base: &str, stack: &TestStack, fields: &[(&str, &str)]) -> Answer {
    let (cookie, token) = form_token_of(&get(base, stack, "/admin/login", &[]).await);
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .append_pair("csrf", &token)
        .finish();
    stack
        .send(
            http::Request::post(format!("{base}/admin/login"))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("accept", "text/html")
                .header("cookie", cookie)
                .body(body.into())
                .unwrap(),
        )
        .await
}

fn session_of(answer: &Answer) -> String {
    assert_eq!(answer.status, 303, "{}", answer.body);
    answer.headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// An admin app over this stack's table with the given login and Basic switch.
fn admin_app(stack: &TestStack, auth: AdminAuth, basic_auth: bool) -> AdminApp {
    let store = stack.store_as(trouw_local::functions::Function::MessageLog);
    let mut app = AdminApp::new(
        store.clone(),
        trouw::shops::ShopDirectory::settings_only(store, Duration::from_secs(60)),
        auth,
        vec![stack.shop.clone()],
        stack.clock(),
        SESSION_SECRET.as_bytes().to_vec(),
        false,
    );
    app.basic_auth = basic_auth;
    app
}

/// Serves `admin` under `/admin` on a gateway of its own; returns its base URL.
async fn serve(admin: AdminApp) -> String {
    let services = Arc::new(trouw_local::gateway::Services {
        webhooks: Default::default(),
        links: None,
        admin: Some(admin),
        loyalty: None,
        sender: None,
        schedule: None,
        clock: None,
        stream: None,
        counter: None,
        direct_drive: false,
    });
    let addr = trouw_local::gateway::spawn(services, "127.0.0.1:0")
        .await
        .unwrap();
    format!("http://{addr}")
}

fn local_password() -> AdminAuth {
    AdminAuth::Password {
        user: ADMIN_USER.into(),
        password: ADMIN_PASSWORD.into(),
    }
}

#[tokio::test]
async fn http_basic_opens_the_pages_only_where_the_switch_allows_it() {
    let stack = TestStack::start().await;
    let good = basic(ADMIN_USER, ADMIN_PASSWORD);
    let script = [("authorization", good.as_str())];

    // Locally (switch on): `curl -u` works, and scripts are told so.
    let local = serve(admin_app(&stack, local_password(), true)).await;
    assert_eq!(
        get(&local, &stack, "/admin/messages?format=csv", &script)
            .await
            .status,
        200
    );
    let prompt = get(&local, &stack, "/admin/messages", &[]).await;
    assert_eq!(prompt.status, 401);
    assert!(prompt.headers.contains_key("www-authenticate"));

    // In the cloud (switch off): the same credentials in a header open nothing, and no
    // challenge invites them; the login form and its session cookie still work.
    let cloud = serve(admin_app(&stack, local_password(), false)).await;
    for path in ["/admin", "/admin/messages", "/admin/messages?format=csv"] {
        let answer = get(&cloud, &stack, path, &script).await;
        assert_eq!(answer.status, 401, "{path}");
        assert!(!answer.headers.contains_key("www-authenticate"), "{path}");
        assert!(answer.body.contains("name=\"password\""), "{path}");
    }
    let session = session_of(
        &post_form(
            &cloud,
            &stack,
            &[("username", ADMIN_USER), ("password", ADMIN_PASSWORD)],
        )
        .await,
    );
    let page = get(&cloud, &stack, "/admin/messages", &[("cookie", &session)]).await;
    assert_eq!(page.status, 200);
}

fn retry_after(answer: &Answer) -> i64 {
    assert_eq!(answer.status, 429, "{}", answer.body);
    answer.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn failed_logins_bring_short_growing_delays_not_a_lock() {
    let stack = TestStack::start().await;
    let base = &stack.base_url;
    let start = jiff::Timestamp::now();
    stack.set_now(start);
    let wrong = [("username", ADMIN_USER), ("password", "not-the-password")];
    let right = [("username", ADMIN_USER), ("password", ADMIN_PASSWORD)];

    for _ in 0..5 {
        assert_eq!(post_form(base, &stack, &wrong).await.status, 401);
    }
    // Now even the right password is not checked: 429 with the wait, no session.
    let waiting = post_form(base, &stack, &right).await;
    assert!((29..=30).contains(&retry_after(&waiting)));
    assert!(!waiting.headers.contains_key("set-cookie"));
    assert!(waiting.body.contains("name=\"password\""), "the form again");
    let script = basic(ADMIN_USER, ADMIN_PASSWORD);
    let by_script = get(
        base,
        &stack,
        "/admin/messages",
        &[("authorization", &script)],
    )
    .await;
    assert!(retry_after(&by_script) <= 30, "Basic waits as well");

    // The wait is short: after it the marketer is in, and their count starts again.
    stack.set_now(start + jiff::SignedDuration::from_secs(31));
    session_of(&post_form(base, &stack, &right).await);
    for _ in 0..5 {
        assert_eq!(post_form(base, &stack, &wrong).await.status, 401);
    }
    stack.set_now(start + jiff::SignedDuration::from_secs(62));
    // Each further failure doubles the wait: 30 s, then 60 s.
    assert_eq!(post_form(base, &stack, &wrong).await.status, 401);
    let longer = retry_after(&post_form(base, &stack, &right).await);
    assert!((59..=60).contains(&longer), "{longer}");

    // One client address trying many user names is slowed down too.
    stack.set_now(start + jiff::SignedDuration::from_hours(1));
    let mut statuses = Vec::new();
    for i in 0..21 {
        let user = format!("guess-{i}@example.nl");
        let answer = post_form(
            base,
            &stack,
            &[("username", &user), ("password", "Summer2026!")],
        )
        .await;
        statuses.push(answer.status);
    }
    assert!(statuses[..20].iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(
        statuses[20], 429,
        "the 21st user name from one address waits"
    );
    // After a quiet quarter hour everything is forgotten.
    stack.set_now(start + jiff::SignedDuration::from_mins(80));
    session_of(&post_form(base, &stack, &right).await);

    // A burst of parallel guesses: each attempt is counted before its password is checked, so
    // no more than the five free ones are checked at all.
    let burst = [
        ("username", "bram@dewinkel.example"),
        ("password", "Winter2026!"),
    ];
    let answers = trouw_tests::join_all((0..12).map(|_| post_form(base, &stack, &burst))).await;
    let checked = answers.iter().filter(|a| a.status == 401).count();
    let waited = answers.iter().filter(|a| a.status == 429).count();
    assert_eq!(
        checked + waited,
        12,
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    assert!(checked <= 5, "{checked} of a parallel burst were checked");
}

/// RFC 6238 TOTP (SHA-1, 6 digits, 30 s), as authenticator apps compute it.
fn totp(secret: &str, unix: i64) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits = 0u64;
    let mut held = 0;
    let mut key = Vec::new();
    for c in secret.trim_end_matches('=').bytes() {
        let value = ALPHABET
            .iter()
            .position(|a| *a == c.to_ascii_uppercase())
            .expect("base32") as u64;
        bits = (bits << 5) | value;
        held += 5;
        if held >= 8 {
            held -= 8;
            key.push((bits >> held) as u8);
        }
    }
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&key).unwrap();
    mac.update(&((unix / 30) as u64).to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = (digest[19] & 0x0f) as usize;
    let number = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    format!("{:06}", number % 1_000_000)
}

/// The current code, away from a 30-second boundary so that the server sees the same step.
async fn current_code(secret: &str) -> String {
    let now = jiff::Timestamp::now().as_second();
    if now % 30 >= 27 {
        tokio::time::sleep(Duration::from_secs(4)).await;
    }
    totp(secret, jiff::Timestamp::now().as_second())
}

fn hidden(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("{name} in {body}"))
        + marker.len();
    let end = start + body[start..].find('"').unwrap();
    body[start..end]
        .replace("&#x2f;", "/")
        .replace("&#x3d;", "=")
        .replace("&#x2b;", "+")
}

#[tokio::test]
async fn a_marketer_with_an_authenticator_app_logs_in_with_its_code() {
    use aws_sdk_cognitoidentityprovider::types::{
        AuthFlowType, ExplicitAuthFlowsType, MessageActionType, SoftwareTokenMfaConfigType,
        SoftwareTokenMfaSettingsType, UserPoolMfaType,
    };
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
    cognito
        .set_user_pool_mfa_config()
        .user_pool_id(&pool)
        .mfa_configuration(UserPoolMfaType::Optional)
        .software_token_mfa_configuration(
            SoftwareTokenMfaConfigType::builder().enabled(true).build(),
        )
        .send()
        .await
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
    let (anna, password) = ("anna@dewinkel.example", "Correct-Horse-Battery-42");
    cognito
        .admin_create_user()
        .user_pool_id(&pool)
        .username(anna)
        .temporary_password("Temporary-Password-1")
        .message_action(MessageActionType::Suppress)
        .send()
        .await
        .unwrap();
    cognito
        .admin_set_user_password()
        .user_pool_id(&pool)
        .username(anna)
        .password(password)
        .permanent(true)
        .send()
        .await
        .unwrap();
    // Anna sets up her authenticator app, as she would with the CLI (README).
    let access = cognito
        .initiate_auth()
        .client_id(&client_id)
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", anna)
        .auth_parameters("PASSWORD", password)
        .send()
        .await
        .unwrap()
        .authentication_result
        .unwrap()
        .access_token
        .unwrap();
    let secret = cognito
        .associate_software_token()
        .access_token(&access)
        .send()
        .await
        .unwrap()
        .secret_code
        .unwrap();
    cognito
        .verify_software_token()
        .access_token(&access)
        .user_code(current_code(&secret).await)
        .send()
        .await
        .unwrap();
    cognito
        .set_user_mfa_preference()
        .access_token(&access)
        .software_token_mfa_settings(
            SoftwareTokenMfaSettingsType::builder()
                .enabled(true)
                .preferred_mfa(true)
                .build(),
        )
        .send()
        .await
        .unwrap();

    let auth = AdminAuth::Cognito {
        client: cognito.clone(),
        client_id,
    };
    let base = serve(admin_app(&stack, auth, false)).await;
    let first = |base: String| {
        let stack = &stack;
        async move {
            let answer = post_form(
                &base,
                stack,
                &[
                    ("username", anna),
                    ("password", password),
                    ("next", "/admin/messages"),
                ],
            )
            .await;
            assert_eq!(answer.status, 200, "the code form: {}", answer.body);
            assert!(!answer.headers.contains_key("set-cookie"));
            assert!(answer.body.contains("name=\"code\""), "{}", answer.body);
            assert!(!answer.body.contains("name=\"password\""));
            hidden(&answer.body, "challenge")
        }
    };

    // A wrong code: no session, and the password step starts again.
    let challenge = first(base.clone()).await;
    let right = current_code(&secret).await;
    let wrong = format!("{:06}", (right.parse::<u32>().unwrap() + 1) % 1_000_000);
    let refused = post_form(
        &base,
        &stack,
        &[
            ("challenge", &challenge),
            ("code", &wrong),
            ("next", "/admin/messages"),
        ],
    )
    .await;
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert!(!refused.headers.contains_key("set-cookie"));
    assert!(refused.body.contains("name=\"password\""));

    // A forged or altered challenge is refused without asking Cognito.
    let forged = challenge.replacen('a', "b", 1);
    let altered = post_form(
        &base,
        &stack,
        &[
            ("challenge", &forged),
            ("code", &right),
            ("next", "/admin/messages"),
        ],
    )
    .await;
    assert_eq!(altered.status, 401);
    assert!(!altered.headers.contains_key("set-cookie"));

    // A code form left open longer than Cognito's three minutes is refused as well.
    let stale = first(base.clone()).await;
    stack.set_now(jiff::Timestamp::now() + jiff::SignedDuration::from_secs(181));
    let late = post_form(
        &base,
        &stack,
        &[
            ("challenge", &stale),
            ("code", &current_code(&secret).await),
            ("next", "/admin/messages"),
        ],
    )
    .await;
    assert_eq!(late.status, 401, "{}", late.body);
    stack.set_now(jiff::Timestamp::now());

    // The right code: the session, and the pages open.
    let challenge = first(base.clone()).await;
    let code = current_code(&secret).await;
    let answer = post_form(
        &base,
        &stack,
        &[
            ("challenge", &challenge),
            ("code", &code),
            ("next", "/admin/messages"),
        ],
    )
    .await;
    let session = session_of(&answer);
    assert_eq!(answer.headers["location"], "/admin/messages");
    let page = get(&base, &stack, "/admin/messages", &[("cookie", &session)]).await;
    assert_eq!(page.status, 200);
}

async fn order(stack: &TestStack, customer: &str, email: &str, order: &str) {
    let mut body = example("order-placed");
    body["customer"]["id"] = json!(customer);
    body["customer"]["email"] = json!(email);
    body["order"]["id"] = json!(order);
    let answer = stack.post("order-placed", &body).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

/// Yesterday to tomorrow in Amsterdam, where the demo shop is.
fn period() -> (String, String) {
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::get("Europe/Amsterdam").unwrap())
        .date();
    (
        today.yesterday().unwrap().to_string(),
        today.tomorrow().unwrap().to_string(),
    )
}

/// The audit page's entries: (user, action, page · format, filters, rows).
fn audit_rows(body: &str) -> Vec<Vec<String>> {
    body.split("<tr class=\"audit-entry\">")
        .skip(1)
        .map(|row| {
            let row = &row[..row.find("</tr>").unwrap()];
            row.split("<td")
                .skip(1)
                .map(|cell| {
                    let cell = &cell[cell.find('>').unwrap() + 1..];
                    cell[..cell.find("</td>").unwrap()].trim().to_owned()
                })
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn every_reveal_and_download_is_on_the_audit_page() {
    let stack = TestStack::start().await;
    let base = &stack.base_url;
    let anna = format!("{}@example.nl", unique("anna"));
    let bram = format!("{}@example.nl", unique("bram"));
    order(&stack, "cus-anna", &anna, "A-1").await;
    order(&stack, "cus-bram", &bram, "B-1").await;
    let (from, to) = period();
    let script = basic(ADMIN_USER, ADMIN_PASSWORD);
    let auth = [("authorization", script.as_str())];

    // Masked pages are not recorded.
    let masked = get(
        base,
        &stack,
        &format!("/admin/messages?from={from}&to={to}"),
        &auth,
    )
    .await;
    assert_eq!(masked.status, 200);
    assert!(
        masked.body.contains("href=\"/admin/audit"),
        "linked from the pages"
    );
    let none = get(base, &stack, "/admin/audit", &auth).await;
    assert_eq!(none.status, 200, "{}", none.body);
    assert!(audit_rows(&none.body).is_empty());

    // A reveal in the list, a CSV download with a filter, a JSON download in clear, and a
    // customer's page in clear.
    let revealed = get(
        base,
        &stack,
        &format!("/admin/messages?from={from}&to={to}&reveal=1"),
        &auth,
    )
    .await;
    assert!(revealed.body.contains(&anna) && revealed.body.contains(&bram));
    let csv = get(
        base,
        &stack,
        &format!("/admin/messages?from={from}&to={to}&format=csv&customer=cus-anna"),
        &auth,
    )
    .await;
    assert_eq!(csv.body.lines().count(), 2, "{}", csv.body);
    let json = get(
        base,
        &stack,
        &format!(
            "/admin/messages?from={from}&to={to}&format=json&reveal=1&email={}",
            form_urlencoded::byte_serialize(bram.as_bytes()).collect::<String>()
        ),
        &auth,
    )
    .await;
    assert_eq!(json.json()["rows"].as_array().unwrap().len(), 1);
    let customer = get(base, &stack, "/admin/customers/cus-anna?reveal=1", &auth).await;
    assert!(customer.body.contains(&anna));

    // The audit page, newest first, by the marketer who did it, with filters and row counts.
    let audit = get(
        base,
        &stack,
        &format!("/admin/audit?from={from}&to={to}&lang=en"),
        &auth,
    )
    .await;
    assert_eq!(audit.status, 200);
    let rows = audit_rows(&audit.body);
    assert_eq!(rows.len(), 4, "{rows:#?}");
    assert!(rows.iter().all(|r| r[1] == ADMIN_USER), "{rows:#?}");
    let masked_bram = format!("{}***@example.nl", &bram[..1]);
    let expected = [
        (
            "addresses shown",
            "customer · page",
            "customer: cus-anna",
            "1",
        ),
        (
            "download",
            "messages · JSON",
            &*format!("from: {from}, to: {to}, email: {masked_bram}"),
            "1",
        ),
        (
            "download",
            "messages · CSV",
            &*format!("from: {from}, to: {to}, customer: cus-anna"),
            "1",
        ),
        (
            "addresses shown",
            "messages · page",
            &*format!("from: {from}, to: {to}"),
            "2",
        ),
    ];
    for (row, (action, page, filters, count)) in rows.iter().zip(expected) {
        assert!(row[2].starts_with(action), "{row:?}");
        assert_eq!(row[3], page, "{row:?}");
        assert_eq!(row[4], filters, "{row:?}");
        assert_eq!(row[5], count, "{row:?}");
    }
    assert!(rows[0][2].contains("in clear"));
    assert!(
        !audit.body.contains(&bram),
        "no address in clear in the audit"
    );
}

/// The template is what runs in the cloud: Basic off, TOTP per `AdminMfa`, and the pages'
/// function may write only login throttles and audit entries.
#[test]
fn the_template_switches_basic_off_and_lets_the_pool_require_totp() {
    use serde_yaml_ng::Value;
    let path = format!("{}/../infra/template.yaml", env!("CARGO_MANIFEST_DIR"));
    let template: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let resources = &template["Resources"];
    let function = &resources["MessageLogFunction"]["Properties"];
    assert_eq!(
        function["Environment"]["Variables"]["ADMIN_BASIC_AUTH"].as_str(),
        Some("off")
    );
    let mfa: Vec<&str> = template["Parameters"]["AdminMfa"]["AllowedValues"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(mfa, ["OFF", "OPTIONAL", "ON"]);
    let pool = &resources["AdminUserPool"]["Properties"];
    match &pool["MfaConfiguration"] {
        Value::Tagged(tagged) => {
            assert_eq!(tagged.tag, "Ref");
            assert_eq!(tagged.value.as_str(), Some("AdminMfa"));
        }
        other => panic!("MfaConfiguration follows AdminMfa, not {other:?}"),
    }
    let pool_text = serde_yaml_ng::to_string(&pool["EnabledMfas"]).unwrap();
    assert!(pool_text.contains("SOFTWARE_TOKEN_MFA"), "{pool_text}");
    // Every statement that lets the pages write is bounded to the throttle and audit keys.
    let statements = function["Policies"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|p| p["Statement"].as_sequence().cloned().unwrap_or_default())
        .collect::<Vec<_>>();
    let writes: Vec<&Value> = statements
        .iter()
        .filter(|s| {
            s["Action"].as_sequence().is_some_and(|actions| {
                actions.iter().any(|a| {
                    a.as_str().is_some_and(|a| {
                        a.starts_with("dynamodb:") && !a.contains("Get") && !a.contains("Query")
                    })
                })
            })
        })
        .collect();
    // (and the overview's day summaries, in a statement of their own that only puts).
    let keys_of = |statement: &Value| -> Vec<String> {
        statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(writes.len(), 2, "{writes:#?}");
    assert_eq!(keys_of(writes[0]), ["LOGIN#*", "SHOP#*#AUDIT"]);
    assert_eq!(keys_of(writes[1]), ["SHOP#*#DAYS"]);
    assert_eq!(
        writes[1]["Action"].as_sequence().unwrap().len(),
        1,
        "day summaries are only put"
    );
}
