//! `make smoke` (trouw-admin smoke): one signed canonical event to an API, its customer read
//! back from the table. Here against the local stack, as against a deployed one.

use trouw::domain::CustomerId;
use trouw::webhook::WebhookSecret;
use trouw_local::smoke::{SIMULATOR_ADDRESS, run};
use trouw_tests::{ROTATED_SECRET, SECRET, TestStack, unique};

/// The table as `make smoke` reads it: TABLE_NAME and the operator's credentials.
fn operator_store(stack: &TestStack) -> trouw::store::Store {
    trouw::store::Store::new(stack.dynamo.clone(), &stack.table)
}

#[tokio::test]
async fn the_smoke_test_posts_one_event_and_finds_its_customer() {
    let stack = TestStack::start().await;
    let run_id = unique("run");
    let lines = run(
        &stack.http,
        &format!("{}/", stack.base_url),
        &stack.shop,
        &WebhookSecret::new(SECRET),
        &operator_store(&stack),
        &run_id,
    )
    .await
    .unwrap_or_else(|(lines, err)| panic!("{lines:#?} {err}"));
    assert!(
        lines[0].contains("/webhooks/") && lines[0].contains("-> 200"),
        "{lines:#?}"
    );
    assert!(
        lines[1].contains("found") && !lines[1].contains("MISSING"),
        "{lines:#?}"
    );
    // The customer is the smoke test's own, at SES's mailbox simulator, without consent.
    let customer = CustomerId::parse(format!("smoke-{run_id}")).unwrap();
    let (profile, orders) = operator_store(&stack)
        .customer(&stack.shop, &customer)
        .await
        .unwrap();
    let profile = profile.unwrap();
    let email = profile
        .contact
        .email
        .as_ref()
        .map(|e| e.value.as_str().to_owned());
    assert_eq!(email.as_deref(), Some(SIMULATOR_ADDRESS));
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].id.as_str(), format!("SMOKE-{run_id}"));
}

#[tokio::test]
async fn a_wrong_secret_fails_the_smoke_test_and_says_why() {
    let stack = TestStack::start().await;
    let (lines, err) = run(
        &stack.http,
        &stack.base_url,
        &stack.shop,
        &WebhookSecret::new(ROTATED_SECRET),
        &operator_store(&stack),
        &unique("run"),
    )
    .await
    .unwrap_err();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(err.contains("401"), "{err}");
}

/// A deployed API is `https://` only: the smoke test's client speaks TLS to it (a listener on
/// loopback, standing in for API Gateway, receives a TLS handshake), and still reaches
/// `make dev` over plain HTTP.
#[tokio::test]
async fn the_smoke_test_speaks_tls_to_an_https_api_and_plain_http_to_the_local_one() {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let first_byte = tokio::spawn(async move {
        let (mut conn, _) = listener.accept().await.unwrap();
        let mut byte = [0u8; 1];
        conn.read_exact(&mut byte).await.unwrap();
        byte[0]
    });
    let stack = TestStack::start().await;
    let client = trouw_local::smoke::client();
    let (_, err) = run(
        &client,
        &format!("https://127.0.0.1:{port}/"),
        &stack.shop,
        &WebhookSecret::new(SECRET),
        &operator_store(&stack),
        &unique("run"),
    )
    .await
    .unwrap_err();
    // 0x16: a TLS record of the handshake (the ClientHello); the listener speaks no TLS, so
    // the post fails after it.
    let byte = tokio::time::timeout(std::time::Duration::from_secs(5), first_byte)
        .await
        .expect("the client connected")
        .unwrap();
    assert_eq!(byte, 0x16, "{err}");

    let lines = run(
        &client,
        &stack.base_url,
        &stack.shop,
        &WebhookSecret::new(SECRET),
        &operator_store(&stack),
        &unique("run"),
    )
    .await
    .unwrap_or_else(|(lines, err)| panic!("{lines:#?} {err}"));
    assert!(lines[0].contains("-> 200"), "{lines:#?}");
}
