//! Answers as `shared/contracts/openapi.yaml` states them, each once found wrong by the contract
//! test (`make test-contract`). The links in emails: another method is 405 whatever the token
//! (the method is checked first, as on every route), and a form or query value outside the
//! contract is a 400 that changes nothing, never read as some other choice. The marketers'
//! export: a 405 names the method it accepts.

use trouw::domain::{CustomerId, OrderId};
use trouw::mail::LinkKey;
use trouw_tests::client::Answer;
use trouw_tests::{ADMIN_PASSWORD, ADMIN_USER, LINK_SECRET, TestStack, example, unique};

struct Tokens {
    unsubscribe: String,
    survey: String,
    reactivation: String,
}

/// A known customer with an order, and a genuine token of each kind for them.
async fn customer(stack: &TestStack) -> Tokens {
    let customer = unique("cus");
    let order = unique("NL");
    let mut placed = example("order-placed");
    placed["order"]["id"] = serde_json::json!(order);
    placed["customer"]["id"] = serde_json::json!(customer);
    assert_eq!(stack.post("order-placed", &placed).await.status, 200);
    let key = LinkKey::new(LINK_SECRET);
    let customer = CustomerId::parse(customer).unwrap();
    Tokens {
        unsubscribe: key.unsubscribe_token(&stack.shop, &customer),
        survey: key.survey_token(&stack.shop, &customer, &OrderId::parse(order).unwrap()),
        reactivation: key.reactivation_token(&stack.shop, &customer),
    }
}

async fn request(stack: &TestStack, method: &str, path: &str) -> Answer {
    stack
        .send(
            http::Request::builder()
                .method(method)
                .uri(format!("{}{path}", stack.base_url))
                .body(Default::default())
                .unwrap(),
        )
        .await
}

#[tokio::test]
async fn another_method_is_405_whatever_the_token() {
    let stack = TestStack::start().await;
    let tokens = customer(&stack).await;
    for path in [
        format!("/u/{}", tokens.unsubscribe),
        format!("/s/{}", tokens.survey),
        format!("/r/{}", tokens.reactivation),
        "/u/not-a-token".to_owned(),
        "/s/not-a-token".to_owned(),
        "/r/not-a-token".to_owned(),
    ] {
        let before = stack.snapshot().await;
        for method in ["TRACE", "PUT", "DELETE", "PATCH"] {
            let answer = request(&stack, method, &path).await;
            assert_eq!(answer.status, 405, "{method} {path}: {}", answer.body);
            let allow = answer.headers.get("allow").and_then(|v| v.to_str().ok());
            assert_eq!(allow, Some("GET, POST"), "{method} {path}");
        }
        assert_eq!(stack.snapshot().await, before, "{path}: nothing changed");
    }
}

#[tokio::test]
async fn values_outside_the_contract_are_refused_and_change_nothing() {
    let stack = TestStack::start().await;
    let tokens = customer(&stack).await;
    let too_long = "x".repeat(2001);
    let u = format!("/u/{}", tokens.unsubscribe);
    let r = format!("/r/{}", tokens.reactivation);
    let forms: [(&str, Vec<(&str, &str)>); 7] = [
        // One-Click with a scope that does not exist: unclear, not "everything".
        (
            &u,
            vec![("List-Unsubscribe", "One-Click"), ("scope", "some")],
        ),
        (&u, vec![("scope", "everything")]),
        (&u, vec![("List-Unsubscribe", "Two-Clicks")]),
        // A look-alike inside another field is no choice.
        (&u, vec![("note", "List-Unsubscribe=One-Click")]),
        // Keep me, with a comment over 2000 characters.
        (&r, vec![("action", "keep"), ("comment", too_long.as_str())]),
        (&r, vec![("action", "stay")]),
        // Keep me, with a reason that is not one of the list.
        (&r, vec![("action", "keep"), ("reason", "bored")]),
    ];
    for (path, form) in forms {
        let before = stack.snapshot().await;
        let answer = stack.post_form(path, &form).await;
        let names: Vec<_> = form.iter().map(|(k, _)| *k).collect();
        assert_eq!(answer.status, 400, "{path} {names:?}");
        assert_eq!(
            stack.snapshot().await,
            before,
            "{path} {names:?}: nothing changed"
        );
    }
    // `keep` is `1` or absent.
    let answer = request(&stack, "GET", &format!("{r}?keep=yes")).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(
        request(&stack, "GET", &format!("{r}?keep=1")).await.status,
        200
    );
    // And the forms of the contract still do what they say.
    let one_click = [("List-Unsubscribe", "One-Click"), ("scope", "promotional")];
    let answer = stack.post_form(&u, &one_click).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let answer = stack.post_form(&r, &[("action", "keep")]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[tokio::test]
async fn the_exports_405_names_get() {
    let stack = TestStack::start().await;
    let login = stack.log_in(ADMIN_USER, ADMIN_PASSWORD, "/admin").await;
    assert_eq!(login.status, 303, "{}", login.body);
    let session = login
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("trouw_session="))
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_owned();
    for method in ["TRACE", "PUT", "DELETE", "PATCH"] {
        let answer = stack
            .send(
                http::Request::builder()
                    .method(method)
                    .uri(format!("{}/admin/messages", stack.base_url))
                    .header("cookie", &session)
                    .body(Default::default())
                    .unwrap(),
            )
            .await;
        assert_eq!(answer.status, 405, "{method}: {}", answer.body);
        let allow = answer.headers.get("allow").and_then(|v| v.to_str().ok());
        assert_eq!(allow, Some("GET"), "{method}");
    }
}
