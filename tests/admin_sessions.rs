//! The marketers' sessions and forms: sessions are signed with a secret of their own (the link
//! secret cannot mint one), logout and a password reset end them, every state-changing form
//! carries a token bound to the browser, and no `next` leaves these pages or breaks the answer.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use trouw_tests::client::Answer;
use trouw_tests::{
    ADMIN_PASSWORD, ADMIN_USER, LINK_SECRET, SESSION_SECRET, TestStack, form_token_of,
};

fn session_of(login: &Answer) -> String {
    assert_eq!(login.status, 303, "{}", login.body);
    login
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("trouw_session="))
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_owned()
}

async fn page(stack: &TestStack, cookie: &str) -> Answer {
    stack
        .send(
            http::Request::get(format!("{}/admin/messages", stack.base_url))
                .header("cookie", cookie)
                .body(Default::default())
                .unwrap(),
        )
        .await
}

async fn post_form(stack: &TestStack, path: &str, cookie: &str, body: String) -> Answer {
    stack
        .send(
            http::Request::post(format!("{}{path}", stack.base_url))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("cookie", cookie)
                .body(body.into())
                .unwrap(),
        )
        .await
}

fn sign(key: &[u8], parts: &[&[u8]]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    for part in parts {
        mac.update(part);
    }
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A session payload signed as the pages sign it (purpose tag, the local password), under `key`.
fn sign_session(key: &[u8], payload: &str) -> String {
    sign(
        key,
        &[
            b"trouw-session-v2\x1f",
            ADMIN_USER.as_bytes(),
            b"\x1f",
            ADMIN_PASSWORD.as_bytes(),
            b"\x1f",
            payload.as_bytes(),
        ],
    )
}

#[tokio::test]
async fn a_session_signed_with_the_link_secret_is_refused() {
    let stack = TestStack::start().await;
    let link_derived = trouw::mail::LinkKey::new(LINK_SECRET).derive("admin-session");
    let user = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(ADMIN_USER);
    let expires = jiff::Timestamp::now().as_second() + 3600;
    // As a function holding the link secret could sign one: the earlier cookie layout, and
    // today's layout (with its purpose tag and the password binding) under the link's key.
    let old = format!("{user}.{expires}");
    let new = format!("{user}.{expires}.0");
    let forged = [
        format!(
            "trouw_session={old}.{}",
            sign(&link_derived, &[old.as_bytes()])
        ),
        format!("trouw_session={new}.{}", sign_session(&link_derived, &new)),
    ];
    for cookie in forged {
        assert_eq!(page(&stack, &cookie).await.status, 401, "{cookie}");
    }
    // The same cookie under the session secret opens the pages: only the key differs.
    let genuine = format!(
        "trouw_session={new}.{}",
        sign_session(SESSION_SECRET.as_bytes(), &new)
    );
    assert_eq!(page(&stack, &genuine).await.status, 200);
}

#[tokio::test]
async fn logout_and_a_password_reset_make_the_old_cookie_useless() {
    let stack = TestStack::start().await;
    let (csrf_cookie, token) = stack.login_form().await;
    let session = session_of(&stack.log_in(ADMIN_USER, ADMIN_PASSWORD, "/admin").await);
    let both = format!("{session}; {csrf_cookie}");
    let open = page(&stack, &both).await;
    assert_eq!(open.status, 200);
    assert!(open.body.contains("action=\"/admin/logout\""));

    // Without the form's token, logout is refused and the session lives on.
    let forged = post_form(&stack, "/admin/logout", &both, String::new()).await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert_eq!(page(&stack, &session).await.status, 200);

    let out = post_form(&stack, "/admin/logout", &both, format!("csrf={token}")).await;
    assert_eq!(out.status, 303);
    assert_eq!(out.headers["location"], "/admin/login");
    // A copy of the cookie kept elsewhere is worthless too.
    assert_eq!(page(&stack, &session).await.status, 401);

    // A password reset ends the sessions the same way (`trouw-admin end-sessions`).
    let again = session_of(&stack.log_in(ADMIN_USER, ADMIN_PASSWORD, "/admin").await);
    assert_eq!(page(&stack, &again).await.status, 200);
    trouw::store::Store::new(stack.dynamo.clone(), &stack.table)
        .end_sessions(ADMIN_USER)
        .await
        .unwrap();
    assert_eq!(page(&stack, &again).await.status, 401);
    let fresh = session_of(&stack.log_in(ADMIN_USER, ADMIN_PASSWORD, "/admin").await);
    assert_eq!(page(&stack, &fresh).await.status, 200);
}

/// Calls the handler directly, as the Lambda runtime does.
async fn call(
    app: &trouw::handlers::message_log::AdminApp,
    method: &str,
    path: &str,
    cookie: &str,
    body: String,
) -> http::Response<lambda_http::Body> {
    let request = http::Request::builder()
        .method(method)
        .uri(path)
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(lambda_http::Body::from(body))
        .unwrap();
    trouw::handlers::message_log::handle(app, request)
        .await
        .unwrap()
}

#[tokio::test]
async fn changing_the_local_password_ends_every_session() {
    let stack = TestStack::start().await;
    let app = |password: &str| {
        let store = trouw::store::Store::new(stack.dynamo.clone(), &stack.table);
        trouw::handlers::message_log::AdminApp::new(
            store.clone(),
            trouw::shops::ShopDirectory::settings_only(store, std::time::Duration::from_secs(60)),
            trouw::handlers::message_log::AdminAuth::Password {
                user: ADMIN_USER.into(),
                password: password.into(),
            },
            vec![stack.shop.clone()],
            stack.clock(),
            SESSION_SECRET.as_bytes().to_vec(),
            false,
        )
    };
    let before = app("the-old-password-1");
    let form = call(&before, "GET", "/admin/login", "", String::new()).await;
    let answer = Answer {
        status: form.status().as_u16(),
        headers: form.headers().clone(),
        body: match form.body() {
            lambda_http::Body::Text(text) => text.clone(),
            _ => String::new(),
        },
    };
    let (csrf_cookie, token) = form_token_of(&answer);
    let login = call(
        &before,
        "POST",
        "/admin/login",
        &csrf_cookie,
        format!("username={ADMIN_USER}&password=the-old-password-1&csrf={token}"),
    )
    .await;
    assert_eq!(login.status(), 303);
    let session = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let open = call(&before, "GET", "/admin/messages", &session, String::new()).await;
    assert_eq!(open.status(), 200);
    let after = app("the-new-password-2");
    let refused = call(&after, "GET", "/admin/messages", &session, String::new()).await;
    assert_eq!(refused.status(), 401);
}

#[tokio::test]
async fn a_login_without_the_form_token_is_refused() {
    let stack = TestStack::start().await;
    let (cookie, token) = stack.login_form().await;
    let (other_cookie, _) = stack.login_form().await;
    let credentials = format!("username={ADMIN_USER}&password={ADMIN_PASSWORD}&next=/admin");
    for (what, cookie, body) in [
        ("no token", cookie.clone(), credentials.clone()),
        (
            "no cookie",
            String::new(),
            format!("{credentials}&csrf={token}"),
        ),
        (
            "another browser's cookie",
            other_cookie,
            format!("{credentials}&csrf={token}"),
        ),
        (
            "a made-up token",
            cookie.clone(),
            format!("{credentials}&csrf={}", "ab".repeat(32)),
        ),
    ] {
        let answer = post_form(&stack, "/admin/login", &cookie, body).await;
        assert_eq!(answer.status, 403, "{what}");
        assert!(
            !answer
                .headers
                .get_all("set-cookie")
                .iter()
                .any(|v| v.to_str().unwrap().starts_with("trouw_session=")),
            "{what}: no session"
        );
    }
    let answer = post_form(
        &stack,
        "/admin/login",
        &cookie,
        format!("{credentials}&csrf={token}"),
    )
    .await;
    assert_eq!(answer.status, 303);
}

#[tokio::test]
async fn no_next_leaves_these_pages_or_breaks_the_answer() {
    let stack = TestStack::start().await;
    for next in [
        "/admin\n/messages",
        "/admin\r\nSet-Cookie: trouw_session=forged",
        "/admin\u{0}",
        "/admin/\u{e9}t\u{e9}",
        "https://evil.example/admin",
        "//evil.example/admin",
        "/admin\\@evil.example",
        "/administrator",
        "",
    ] {
        let answer = stack.log_in(ADMIN_USER, ADMIN_PASSWORD, next).await;
        assert_eq!(answer.status, 303, "{next:?}");
        assert_eq!(answer.headers["location"], "/admin", "{next:?}");
    }
    let kept = stack
        .log_in(
            ADMIN_USER,
            ADMIN_PASSWORD,
            "/admin/messages?kind=survey&lang=en",
        )
        .await;
    assert_eq!(
        kept.headers["location"],
        "/admin/messages?kind=survey&lang=en"
    );
    // The raw form as an attacker would send it, percent-encoded line break and all.
    let (cookie, token) = stack.login_form().await;
    let raw = post_form(
        &stack,
        "/admin/login",
        &cookie,
        format!("username={ADMIN_USER}&password={ADMIN_PASSWORD}&csrf={token}&next=/admin%0ALocation:%20https://evil.example"),
    )
    .await;
    assert_eq!(
        (raw.status, raw.headers["location"].to_str().unwrap()),
        (303, "/admin")
    );
}
