//! Where a reward's codes come from, over HTTP against the local stack: the shop's coupon
//! endpoint (a real HTTP server in the test acts as the shop: it verifies trouw's signature and
//! answers codes, or fails), the pools, and the alert when a pool runs low.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use trouw::domain::CodeSource;
use trouw_local::client::Answer;
use trouw_tests::{LOYALTY_API_KEY, TestStack, example, join_all, unique};

const CUSTOMER: &str = "cus-8812";
/// The shop's coupon-endpoint secret (test only).
const COUPON_SECRET: &str = "whsec_Y291cG9uLWVuZHBvaW50LXRlc3Qtc2VjcmV0";

async fn call(stack: &TestStack, method: &str, path: &str, key: &str, body: Value) -> Answer {
    let request = http::Request::builder()
        .method(method)
        .uri(format!("{}/loyalty/{}/{path}", stack.base_url, stack.shop))
        .header("authorization", format!("Bearer {LOYALTY_API_KEY}"))
        .header("idempotency-key", key)
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    stack.send(request).await
}

async fn redeem(stack: &TestStack, key: &str) -> Answer {
    call(
        stack,
        "POST",
        &format!("customers/{CUSTOMER}/redemptions"),
        key,
        json!({ "reward": "r5" }),
    )
    .await
}

/// A customer with `points` available (and the example order's pending points).
async fn customer_with(stack: &TestStack, points: i64) {
    let placed = stack.post("order-placed", &example("order-placed")).await;
    assert_eq!(placed.status, 200, "{}", placed.body);
    let granted = call(
        stack,
        "POST",
        &format!("customers/{CUSTOMER}/adjustments"),
        &unique("adjust"),
        json!({ "points": points, "reason": "welcome gift" }),
    )
    .await;
    assert_eq!(granted.status, 201, "{}", granted.body);
}

async fn available(stack: &TestStack) -> u64 {
    let request = http::Request::get(format!(
        "{}/loyalty/{}/customers/{CUSTOMER}",
        stack.base_url, stack.shop
    ))
    .header("authorization", format!("Bearer {LOYALTY_API_KEY}"))
    .body(Full::new(Bytes::new()))
    .unwrap();
    let answer = stack.send(request).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()["points"]["available"].as_u64().unwrap()
}

/// How the test's shop answers.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Shop {
    /// A new code per redemption id, the same one again for the same id.
    Codes,
    Fails,
    /// Answers after 5 s: longer than trouw waits.
    Slow,
    NotJson,
    EmptyCode,
    /// Always this code, whatever the redemption.
    Always(&'static str),
}

/// What the shop saw.
#[derive(Default)]
struct Seen {
    /// Requests per `webhook-id`, with a valid signature.
    calls: HashMap<String, usize>,
    /// Requests whose signature did not verify (answered 401).
    bad_signatures: usize,
    codes: HashMap<String, String>,
    bodies: Vec<Value>,
}

struct ShopServer {
    url: String,
    mode: Arc<Mutex<Shop>>,
    seen: Arc<Mutex<Seen>>,
}

impl ShopServer {
    fn set(&self, mode: Shop) {
        *self.mode.lock().unwrap() = mode;
    }

    fn calls(&self, id: &str) -> usize {
        self.seen
            .lock()
            .unwrap()
            .calls
            .get(id)
            .copied()
            .unwrap_or(0)
    }
}

/// The shop's own coupon endpoint on loopback: verifies the Standard Webhooks signature with
/// the shop's secret, as a shop would, then answers as `mode` says.
async fn shop_server() -> ShopServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/trouw/coupons", listener.local_addr().unwrap());
    let mode = Arc::new(Mutex::new(Shop::Codes));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let (m, s) = (mode.clone(), seen.clone());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (mode, seen) = (m.clone(), s.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let (mode, seen) = (mode.clone(), seen.clone());
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let answer = answer(&parts.headers, &body, &mode, &seen).await;
                            Ok::<_, std::convert::Infallible>(answer)
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    ShopServer { url, mode, seen }
}

async fn answer(
    headers: &http::HeaderMap,
    body: &[u8],
    mode: &Mutex<Shop>,
    seen: &Mutex<Seen>,
) -> hyper::Response<Full<Bytes>> {
    let reply = |status: u16, body: String| {
        hyper::Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap()
    };
    let secret = trouw::webhook::WebhookSecret::new(COUPON_SECRET);
    let Ok(id) = trouw::webhook::verify_standard_webhook(headers, body, &[secret]) else {
        seen.lock().unwrap().bad_signatures += 1;
        return reply(401, "{}".into());
    };
    let id = id.as_str().to_owned();
    let mode = *mode.lock().unwrap();
    {
        let mut seen = seen.lock().unwrap();
        *seen.calls.entry(id.clone()).or_default() += 1;
        seen.bodies
            .push(serde_json::from_slice(body).unwrap_or(Value::Null));
    }
    match mode {
        Shop::Codes => {
            let code = {
                let mut seen = seen.lock().unwrap();
                let n = seen.codes.len();
                seen.codes
                    .entry(id)
                    .or_insert_with(|| format!("shop5-{n:04}"))
                    .clone()
            };
            reply(200, json!({ "code": code }).to_string())
        }
        Shop::Fails => reply(500, r#"{"error":"oops"}"#.into()),
        Shop::Slow => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            reply(200, json!({ "code": "TOO-LATE" }).to_string())
        }
        Shop::NotJson => reply(200, "<html>ok</html>".into()),
        Shop::EmptyCode => reply(200, r#"{"code":""}"#.into()),
        Shop::Always(code) => reply(200, json!({ "code": code }).to_string()),
    }
}

/// A stack whose reward `r5` takes its codes from `shop`'s endpoint.
async fn stack_with_endpoint(shop: &ShopServer) -> TestStack {
    let stack = TestStack::start().await;
    let secret = stack
        .put_loyalty_secret("coupon-secret", COUPON_SECRET)
        .await;
    let url = shop.url.clone();
    stack
        .update_shop_record(|record| {
            record.settings.loyalty.rewards[0].code_source = CodeSource::Endpoint;
            record.loyalty_api.as_mut().unwrap().coupon_endpoint =
                Some(trouw::shops::CouponEndpointRefs {
                    url,
                    secrets: vec![secret],
                });
        })
        .await;
    stack
}

#[tokio::test]
async fn the_shops_endpoint_makes_the_code_and_without_one_no_points_are_taken() {
    let shop = shop_server().await;
    let stack = stack_with_endpoint(&shop).await;
    customer_with(&stack, 1200).await;
    let key = unique("checkout");

    // No code, no points: each failure is a retryable 503 naming its cause.
    for (mode, cause) in [
        (Shop::Fails, "status"),
        (Shop::NotJson, "bad_answer"),
        (Shop::EmptyCode, "bad_code"),
        (Shop::Slow, "timeout"),
    ] {
        shop.set(mode);
        let started = Instant::now();
        let answer = redeem(&stack, &key).await;
        assert_eq!(answer.status, 503, "{mode:?}: {}", answer.body);
        assert_eq!(answer.json()["error"], "coupon_endpoint_failed");
        assert_eq!(answer.json()["cause"], cause, "{mode:?}");
        assert!(answer.headers.contains_key("retry-after"));
        assert!(
            started.elapsed() < Duration::from_millis(4500),
            "{mode:?}: the customer waits at most about 3 s"
        );
        assert_eq!(available(&stack).await, 1200, "{mode:?}: nothing spent");
    }

    // The same redemption again (the same Idempotency-Key): the shop gets the same
    // webhook-id, now answers, and the code is handed out.
    shop.set(Shop::Codes);
    let answer = redeem(&stack, &key).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let body = answer.json();
    let id = body["id"].as_str().unwrap().to_owned();
    assert_eq!(shop.calls(&id), 5, "every try carried the redemption's id");
    assert_eq!(body["code"], "SHOP5-0000");
    assert_eq!(body["points_spent"], 500);
    assert_eq!(body["balance_after"], 700);
    assert_eq!(available(&stack).await, 700);
    {
        let seen = shop.seen.lock().unwrap();
        assert_eq!(
            seen.bad_signatures, 0,
            "every request was signed with the secret"
        );
        let asked = &seen.bodies.last().unwrap()["data"];
        assert_eq!(asked["redemption"], id.as_str());
        assert_eq!(asked["customer"], CUSTOMER);
        assert_eq!(asked["reward"], "r5");
        assert_eq!(asked["value"], json!({"minor": 500, "currency": "EUR"}));
        assert_eq!(asked["expires_at"], body["expires_at"]);
    }

    // Once more: the stored answer, the shop is not asked again and nothing more is spent.
    let again = redeem(&stack, &key).await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.json()["code"], "SHOP5-0000");
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(shop.calls(&id), 5);
    assert_eq!(available(&stack).await, 700);
    assert_eq!(
        stack
            .store()
            .code_redemption(&stack.shop, "SHOP5-0000")
            .await
            .unwrap()
            .as_deref(),
        Some(id.as_str()),
        "the code's registry entry leads to the redemption"
    );
}

#[tokio::test]
async fn one_redemption_asked_at_once_spends_once_and_a_known_code_is_refused() {
    let shop = shop_server().await;
    let stack = stack_with_endpoint(&shop).await;
    customer_with(&stack, 1200).await;

    // Five deliveries of one redemption at once: the shop may see its id several times and
    // answers the same code; trouw hands out that one code and spends once.
    let key = unique("checkout");
    let answers = join_all((0..5).map(|_| redeem(&stack, &key))).await;
    let mut codes: Vec<String> = answers
        .iter()
        .map(|a| {
            assert_eq!(a.status, 201, "{}", a.body);
            a.json()["code"].as_str().unwrap().to_owned()
        })
        .collect();
    codes.dedup();
    assert_eq!(codes.len(), 1, "{codes:?}");
    assert_eq!(available(&stack).await, 700);

    // A code the registry knows already (this one was handed out) is not handed out again.
    shop.set(Shop::Always("shop5-0000"));
    let answer = redeem(&stack, &unique("checkout")).await;
    assert_eq!(answer.status, 409, "{}", answer.body);
    assert_eq!(answer.json()["error"], "code_not_unique");
    assert_eq!(available(&stack).await, 700, "nothing spent");
    // Nor one that lies in a pool.
    let added = call(
        &stack,
        "POST",
        "rewards/naar-keuze/codes",
        "-",
        json!({ "codes": ["POOLED-1"] }),
    )
    .await;
    assert_eq!(added.status, 200, "{}", added.body);
    shop.set(Shop::Always("pooled-1"));
    let answer = redeem(&stack, &unique("checkout")).await;
    assert_eq!(answer.status, 409, "{}", answer.body);
    assert_eq!(available(&stack).await, 700);
    assert_eq!(shop.seen.lock().unwrap().bad_signatures, 0);
}

#[tokio::test]
async fn make_codes_adds_a_shopify_export_to_the_pool_through_the_api() {
    let stack = TestStack::start().await;
    let dir = std::env::temp_dir().join(unique("codes"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("shopify-codes.csv");
    let mut export = String::from("Code,Usage Count\n");
    for n in 0..130 {
        export.push_str(&format!("lente5-{n:03},0\n"));
    }
    export.push_str("twee woorden,0\nLENTE5-000,0\n");
    std::fs::write(&file, &export).unwrap();
    let env = |key: &'static str| {
        let base = stack.base_url.clone();
        move |name: &str| match name {
            "LOYALTY_API_URL" => Some(base.clone()),
            "LOYALTY_API_KEY" => Some(key.to_owned()),
            _ => None,
        }
    };
    let shop = stack.shop.to_string();
    let path = file.to_str().unwrap();

    // As `make codes` runs it: two requests (100 and 30), the bad line skipped and counted.
    let report = trouw_local::codes::run(&[&shop, "r5", path], env(LOYALTY_API_KEY))
        .await
        .unwrap();
    assert_eq!((report.added, report.available), (130, 130), "{report:?}");
    assert_eq!(report.skipped_lines, [132]);
    let first = stack
        .store()
        .free_codes(&stack.shop, "r5", 1)
        .await
        .unwrap();
    assert_eq!(first, ["LENTE5-000"], "codes are keyed in upper case");

    // Again: nothing new, the pool as it was.
    let again = trouw_local::codes::run(&[&shop, "r5", path], env(LOYALTY_API_KEY))
        .await
        .unwrap();
    assert_eq!((again.added, again.available), (0, 130));
    // Refusals end the run with the API's answer: a wrong key, an unknown reward.
    let wrong = trouw_local::codes::run(&[&shop, "r5", path], env("not-the-key")).await;
    assert!(wrong.unwrap_err().contains("401"));
    let unknown = trouw_local::codes::run(&[&shop, "r6", path], env(LOYALTY_API_KEY)).await;
    assert!(unknown.unwrap_err().contains("404"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The pool-low alerts stored for the customer (each is one message item), by key.
async fn pool_alerts(stack: &TestStack) -> Vec<String> {
    let customer = trouw::domain::CustomerId::parse(CUSTOMER).unwrap();
    let mut keys: Vec<String> = stack
        .store()
        .messages(&stack.shop, &customer)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.intent.data.kind() == "pool-low")
        .map(|m| m.intent.key)
        .collect();
    keys.sort();
    keys
}

async fn add_codes(stack: &TestStack, prefix: &str, count: usize) -> Value {
    let codes: Vec<String> = (0..count).map(|n| format!("{prefix}-{n:03}")).collect();
    let answer = call(
        stack,
        "POST",
        "rewards/r5/codes",
        "-",
        json!({ "codes": codes }),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()
}

#[tokio::test]
async fn a_pool_running_low_alerts_the_service_address_once_per_fall() {
    let stack = TestStack::start_with(trouw_tests::StackOptions {
        with_sender: true,
        ..Default::default()
    })
    .await;
    let service = format!("{}@winkel.example", unique("service"));
    let address = service.clone();
    stack
        .update_shop(|s| s.service_email = Some(trouw::domain::Email::parse(&address).unwrap()))
        .await;
    customer_with(&stack, 7000).await;
    let prefix = unique("lente").to_uppercase();
    assert_eq!(add_codes(&stack, &prefix, 52).await["available"], 52);

    // Down to the mark: no alert yet.
    for _ in 0..2 {
        assert_eq!(redeem(&stack, &unique("checkout")).await.status, 201);
    }
    assert!(pool_alerts(&stack).await.is_empty());
    // Below it, four at once and then further down: one alert.
    let answers =
        join_all((0..4).map(|_| async { redeem(&stack, &unique("checkout")).await })).await;
    assert!(answers.iter().all(|a| a.status == 201), "{answers:?}");
    assert_eq!(pool_alerts(&stack).await, ["pool-low#r5#1"]);
    stack.settle().await;
    let mails = trouw_tests::emails_to(&service).await;
    assert_eq!(mails.len(), 1, "one email to the service address");
    assert!(mails[0].contains("r5"), "it names the reward");

    // A refill back above the mark, a new fall: the next alert, once.
    assert_eq!(
        add_codes(&stack, &format!("{prefix}-B"), 10).await["available"],
        56
    );
    for _ in 0..7 {
        assert_eq!(redeem(&stack, &unique("checkout")).await.status, 201);
    }
    assert_eq!(
        pool_alerts(&stack).await,
        ["pool-low#r5#1", "pool-low#r5#2"]
    );
    stack.settle().await;
    assert_eq!(trouw_tests::emails_to(&service).await.len(), 2);
    assert_eq!(available(&stack).await, 7000 - 13 * 500);
}
