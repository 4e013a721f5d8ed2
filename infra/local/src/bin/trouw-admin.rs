//! Operating a trouw installation, locally or on AWS (credentials and region as for the AWS
//! CLI; `AWS_ENDPOINT_URL` points it at the local stack).
//!
//!   trouw-admin put-shop FILE.json            add or update a shop (TABLE_NAME)
//!   trouw-admin customer SHOP CUSTOMER_ID     print a customer's profile and orders (TABLE_NAME)
//!   trouw-admin end-sessions USER             end every session of a marketer, e.g. after a
//!                                             password reset (TABLE_NAME)
//!   trouw-admin post ROUTE FILE.json [URL]    sign FILE with $WEBHOOK_SECRET and POST it to
//!                                             URL (default http://127.0.0.1:3000/webhooks/demo/ROUTE)
//!   trouw-admin emails [TO]                  the emails moto's SES received (AWS_ENDPOINT_URL)
//!   trouw-admin preview DIR                  render every template in every locale to DIR
//!   trouw-admin post-shopify ROUTE TOPIC FILE.json [URL]
//!                                             as Shopify sends it ($SHOPIFY_SECRET, $SHOPIFY_DOMAIN)
//!   trouw-admin post-woocommerce ROUTE TOPIC FILE.json [URL]
//!                                             as WooCommerce sends it ($WOOCOMMERCE_SECRET)
//!   trouw-admin demo-months [API]             a new customer's first months against the local
//!                                             stack (`make dev`; $WEBHOOK_SECRET, AWS_ENDPOINT_URL)
//!   trouw-admin smoke API_URL SHOP            after a deploy: one signed order-placed event to
//!                                             the API, its customer read back ($WEBHOOK_SECRET,
//!                                             TABLE_NAME)
//!   trouw-admin codes SHOP REWARD [FILE|-]    add the codes of FILE (or stdin) to the reward's
//!                                             pool ($LOYALTY_API_URL, $LOYALTY_API_KEY)
//!   trouw-admin recount SHOP DAY [DAYS]       after the day counter gave up a window ending
//!                                             on DAY (UTC): the overview counts that day and
//!                                             the DAYS-1 before it (31 in all by default)
//!                                             from the log (TABLE_NAME)

use std::process::ExitCode;
use trouw::domain::{CustomerId, EventType, ShopId};
use trouw::store::Store;
use trouw::webhook::WebhookSecret;
use trouw_local::client::{http_client, send, signed_post, web_client};
use trouw_local::demo::parse_shop_file;

const USAGE: &str = "usage:\n  trouw-admin emails [TO]\n  trouw-admin preview DIR\n  trouw-admin put-shop FILE.json\n  trouw-admin customer SHOP CUSTOMER_ID\n  trouw-admin end-sessions USER\n  trouw-admin post ROUTE FILE.json [URL]\n  trouw-admin post-shopify ROUTE TOPIC FILE.json [URL]\n  trouw-admin post-woocommerce ROUTE TOPIC FILE.json [URL]\n  trouw-admin demo-months [API]\n  trouw-admin smoke API_URL SHOP\n  trouw-admin codes SHOP REWARD [FILE|-]\n  trouw-admin recount SHOP DAY [DAYS]";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["put-shop", file] => put_shop(file).await,
        ["emails"] => emails(None).await,
        ["emails", to] => emails(Some(to)).await,
        ["preview", dir] => preview(dir),
        ["customer", shop, id] => customer(shop, id).await,
        ["end-sessions", user] => end_sessions(user).await,
        ["post", route, file] => post(route, file, None).await,
        ["post", route, file, url] => post(route, file, Some(url)).await,
        ["post-shopify", route, topic, file] => {
            post_platform("shopify", route, topic, file, None).await
        }
        ["post-shopify", route, topic, file, url] => {
            post_platform("shopify", route, topic, file, Some(url)).await
        }
        ["post-woocommerce", route, topic, file] => {
            post_platform("woocommerce", route, topic, file, None).await
        }
        ["post-woocommerce", route, topic, file, url] => {
            post_platform("woocommerce", route, topic, file, Some(url)).await
        }
        ["demo-months"] => demo_months("http://127.0.0.1:3000").await,
        ["demo-months", api] => demo_months(api).await,
        ["smoke", api, shop] => smoke(api, shop).await,
        ["codes", rest @ ..] => codes(rest).await,
        ["recount", shop, day] => recount(shop, day, &RECOUNT_DAYS.to_string()).await,
        ["recount", shop, day, days] => recount(shop, day, days).await,
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{err}");
            ExitCode::FAILURE
        }
    }
}

async fn store() -> Result<Store, String> {
    let table = std::env::var("TABLE_NAME")
        .ok()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| "set TABLE_NAME to the stack's table".to_owned())?;
    let sdk = trouw::config::operator_sdk_config().await;
    Ok(Store::new(aws_sdk_dynamodb::Client::new(&sdk), table))
}

async fn put_shop(file: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
    let prefix = std::env::var("SECRETS_PATH_PREFIX").unwrap_or_else(|_| "/trouw/".into());
    let mut record = parse_shop_file(&text, &prefix).map_err(|e| format!("{file}: {e}"))?;
    let store = store().await?;
    // Points expiry: the moment the shop turned it on is kept from the stored settings (or
    // is now), so that no points expire sooner than one full period after it.
    let stored = store
        .get_shop(&record.settings.id)
        .await
        .map_err(|e| e.to_string())?;
    record.settings.loyalty.stamp_expiry(
        stored.as_ref().map(|s| &s.settings.loyalty),
        jiff::Timestamp::now(),
    );
    store.put_shop(&record).await.map_err(|e| e.to_string())?;
    println!(
        "shop {} saved (containers pick it up within SETTINGS_CACHE_SECONDS)",
        record.settings.id
    );
    Ok(())
}

/// Moves the marketer's session generation on: every session issued before is refused.
async fn end_sessions(user: &str) -> Result<(), String> {
    store()
        .await?
        .end_sessions(user)
        .await
        .map_err(|e| e.to_string())?;
    println!("every session of that marketer has ended");
    Ok(())
}

/// The repair when `CounterFailureQueueAlarm` fired: a given-up window's records were written
/// on or before the UTC day of its end, and change the counts of that day and of the older
/// items they update (SES reports, clicks, unsubscribes, attributed orders and returns: nearly
/// all within a month, the longest attribution window being 30 days).
/// The days `recount` marks by default: the day the window was lost on and the longest
/// attribution window before it, since an order in a lost window credits the emails of up to
/// that many days before (their days' counts changed with it).
const RECOUNT_DAYS: u16 = trouw::domain::MAX_ATTRIBUTION_WINDOW_DAYS + 1;

async fn recount(shop: &str, day: &str, days: &str) -> Result<(), String> {
    let shop = ShopId::parse(shop).map_err(|e| format!("shop: {e}"))?;
    let last: jiff::civil::Date = day
        .parse()
        .map_err(|e| format!("DAY: {e} (a date, YYYY-MM-DD)"))?;
    let days: i64 = days
        .parse()
        .ok()
        .filter(|n| (1..=366).contains(n))
        .ok_or("DAYS: a number of days from 1 to 366")?;
    let first = last
        .checked_sub(jiff::Span::new().days(days - 1))
        .map_err(|e| format!("DAY: {e}"))?;
    let marked = store()
        .await?
        .count_from_log(&shop, first, last)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "{shop}: {marked} days, {first} to {last}, are counted from the log on their next view (the counters go on as before for the other days)"
    );
    Ok(())
}

/// `make codes`; the logic is `trouw_local::codes`.
async fn codes(args: &[&str]) -> Result<(), String> {
    let report = trouw_local::codes::run(args, |name| std::env::var(name).ok()).await?;
    if !report.skipped_lines.is_empty() {
        eprintln!(
            "skipped {} line(s) without a usable code: {:?}",
            report.skipped_lines.len(),
            report.skipped_lines
        );
    }
    println!(
        "{}",
        serde_json::json!({ "added": report.added, "available": report.available, "skipped": report.skipped_lines.len() })
    );
    Ok(())
}

/// The post-deploy smoke test (`make smoke`); the logic is `trouw_local::smoke`.
async fn smoke(api: &str, shop: &str) -> Result<(), String> {
    let shop = ShopId::parse(shop).map_err(|e| format!("shop: {e}"))?;
    let secret = std::env::var("WEBHOOK_SECRET")
        .map_err(|_| "set WEBHOOK_SECRET to the shop's whsec_ secret".to_owned())?;
    let run_id = jiff::Timestamp::now().as_second().to_string();
    let store = store().await?;
    let result = trouw_local::smoke::run(
        &trouw_local::smoke::client(),
        api,
        &shop,
        &WebhookSecret::new(secret),
        &store,
        &run_id,
    )
    .await;
    let (lines, outcome) = match result {
        Ok(lines) => (lines, Ok(())),
        Err((lines, err)) => (lines, Err(format!("smoke test failed: {err}"))),
    };
    for line in lines {
        println!("{line}");
    }
    if outcome.is_ok() {
        println!("smoke test passed");
    }
    outcome
}

async fn customer(shop: &str, customer: &str) -> Result<(), String> {
    let shop = ShopId::parse(shop).map_err(|e| format!("shop: {e}"))?;
    let customer = CustomerId::parse(customer).map_err(|e| format!("customer: {e}"))?;
    let (profile, orders) = store()
        .await?
        .customer(&shop, &customer)
        .await
        .map_err(|e| e.to_string())?;
    let view = serde_json::json!({ "profile": profile, "orders": orders });
    println!("{}", serde_json::to_string_pretty(&view).expect("json"));
    Ok(())
}

async fn post(route: &str, file: &str, url: Option<&str>) -> Result<(), String> {
    EventType::from_route(route).ok_or_else(|| format!("unknown route {route}; use order-placed, order-delivered, order-returned, address-changed or product-changed"))?;
    let secret = std::env::var("WEBHOOK_SECRET")
        .map_err(|_| "set WEBHOOK_SECRET to the shop's whsec_ secret".to_owned())?;
    let body = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
    let url = url
        .map(str::to_owned)
        .unwrap_or_else(|| format!("http://127.0.0.1:3000/webhooks/demo/{route}"));
    let id = format!("msg_{}", jiff::Timestamp::now().as_nanosecond());
    let request = signed_post(
        &url,
        &WebhookSecret::new(secret),
        &id,
        jiff::Timestamp::now().as_second(),
        &body,
    );
    let answer = send(&web_client(), request).await?;
    println!("{} {}", answer.status, answer.body);
    if answer.status >= 400 {
        Err(format!("refused with {}", answer.status))
    } else {
        Ok(())
    }
}

/// Posts a file the way Shopify or WooCommerce would, signed over the raw body.
async fn post_platform(
    platform: &str,
    route: &str,
    topic: &str,
    file: &str,
    url: Option<&str>,
) -> Result<(), String> {
    use trouw::webhook::platform::sign_body;
    let body = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
    let url = url
        .map(str::to_owned)
        .unwrap_or_else(|| format!("http://127.0.0.1:3000/webhooks/demo/{route}"));
    let env = |name: &str| std::env::var(name).map_err(|_| format!("set {name}"));
    let id = format!("{}", jiff::Timestamp::now().as_nanosecond());
    let mut request = http::Request::post(&url).header("content-type", "application/json");
    if platform == "shopify" {
        let secret = WebhookSecret::new(env("SHOPIFY_SECRET")?);
        request = request
            .header("x-shopify-topic", topic)
            .header("x-shopify-hmac-sha256", sign_body(&body, &secret))
            .header("x-shopify-shop-domain", env("SHOPIFY_DOMAIN")?)
            .header("x-shopify-webhook-id", &id)
            .header("x-shopify-event-id", &id)
            .header("x-shopify-triggered-at", jiff::Timestamp::now().to_string());
    } else {
        let secret = WebhookSecret::new(env("WOOCOMMERCE_SECRET")?);
        request = request
            .header("x-wc-webhook-topic", topic)
            .header("x-wc-webhook-signature", sign_body(&body, &secret))
            .header("x-wc-webhook-delivery-id", &id);
    }
    let request = request
        .body(http_body_util::Full::new(bytes::Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let answer = send(&web_client(), request).await?;
    println!("{} {}", answer.status, answer.body);
    if answer.status >= 400 {
        Err(format!("refused with {}", answer.status))
    } else {
        Ok(())
    }
}

/// Lists what moto's SES received: sender, recipient, subject, unsubscribe header.
async fn emails(to: Option<&str>) -> Result<(), String> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .map_err(|_| "set AWS_ENDPOINT_URL to the local stack (moto)".to_owned())?;
    let request = http::Request::get(format!(
        "{endpoint}{}",
        trouw_local::client::MOTO_SES_MESSAGES
    ))
    .body(http_body_util::Full::new(bytes::Bytes::new()))
    .map_err(|e| e.to_string())?;
    let answer = send(&web_client(), request).await?;
    let data: serde_json::Value = serde_json::from_str(&answer.body).map_err(|e| e.to_string())?;
    let messages = data["ses"]["RawMessage"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut shown = 0;
    for message in &messages {
        let raw = message["raw_data"].as_str().unwrap_or("");
        let recipients: Vec<&str> = message["destinations"]
            .as_array()
            .map(|d| d.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        if to.is_some_and(|t| !recipients.contains(&t)) {
            continue;
        }
        shown += 1;
        println!("--- {}", message["id"].as_str().unwrap_or(""));
        for line in raw.lines().take_while(|l| !l.is_empty()) {
            if ["From:", "To:", "Subject:", "List-Unsubscribe"]
                .iter()
                .any(|h| line.starts_with(h))
            {
                println!("{line}");
            }
        }
    }
    println!("{shown} email(s)");
    Ok(())
}

/// A new customer's first months against the running local stack.
async fn demo_months(api: &str) -> Result<(), String> {
    let secret = std::env::var("WEBHOOK_SECRET")
        .map_err(|_| "set WEBHOOK_SECRET to the demo shop's whsec_ secret".to_owned())?;
    let moto = std::env::var("AWS_ENDPOINT_URL")
        .map_err(|_| "set AWS_ENDPOINT_URL to the local stack (moto)".to_owned())?;
    let client = http_client();
    // The demo's points expire after months without an order: turn expiry on for the demo
    // shop if it is off (the local stack trusts cached settings for 2 seconds).
    let store = store().await?;
    let shop = ShopId::parse("demo").map_err(|e| e.to_string())?;
    let mut record = store
        .get_shop(&shop)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no demo shop: is `make dev` running?")?;
    let expiry = trouw_local::months::demo_expiry(&mut record.settings.loyalty);
    if expiry {
        println!(
            "points expiry turned on for the demo shop ({} months without an order)",
            trouw_local::months::DEMO_EXPIRY_MONTHS
        );
    }
    // The shop's question to its toothpaste buyers, unless it asks its own.
    let asked = trouw_local::months::demo_question(&mut record.settings);
    if asked {
        println!(
            "the demo shop asks its toothpaste buyers a question ({})",
            trouw_local::months::DEMO_QUESTION
        );
    }
    if expiry || asked {
        store.put_shop(&record).await.map_err(|e| e.to_string())?;
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    }
    let asks_question = record
        .settings
        .questions
        .iter()
        .any(|q| q.id == trouw_local::months::DEMO_QUESTION);
    // The toothpaste sells out and comes back, unless an earlier run left later news of it.
    let sku =
        trouw::domain::Sku::parse(trouw_local::months::DEMO_SKU).map_err(|e| e.to_string())?;
    let product = store
        .product(&shop, &sku)
        .await
        .map_err(|e| e.to_string())?;
    let stock_moments = trouw_local::months::stock_moments_fit(product.as_ref());
    if !stock_moments {
        println!(
            "the demo shop's news of {} is later than the demo's (an earlier run): the stock steps are left out (a fresh `make dev` shows them)",
            trouw_local::months::DEMO_SKU
        );
    }
    let loyalty_key = std::env::var("DEMO_LOYALTY_API_KEY")
        .unwrap_or_else(|_| trouw_local::demo::DEFAULT_DEMO_LOYALTY_API_KEY.to_owned());
    let stack = trouw_local::months::Stack {
        client: &client,
        api: api.trim_end_matches('/').to_owned(),
        shop: "demo".into(),
        secret: WebhookSecret::new(secret),
        moto,
        loyalty_key: Some(loyalty_key),
        asks_question,
        stock_moments,
    };
    let n = jiff::Timestamp::now().as_second();
    let customer = format!("cus-demo-{n}");
    let email = format!("anna.demo.{n}@example.nl");
    println!("customer {customer} <{email}>\n");
    trouw_local::months::first_months(&stack, &customer, &email, |step| {
        let day = step.at.strftime("%Y-%m-%d %H:%M UTC");
        let mails = if step.emails.is_empty() {
            "-".to_owned()
        } else {
            step.emails.join(" | ")
        };
        println!("{day}  {}\n                      email: {mails}", step.what);
        if let Some(detail) = &step.detail {
            println!("                      {detail}");
        }
    })
    .await?;
    println!(
        "\nmake customer CUSTOMER={customer}   shows the stored state; make emails TO={email}"
    );
    Ok(())
}

/// Renders every template in every locale with sample data, for marketers to open.
fn preview(dir: &str) -> Result<(), String> {
    use trouw::mail::render::{KINDS, LOCALES, Renderer, samples};
    let renderer = Renderer::new();
    std::fs::create_dir_all(dir).map_err(|e| format!("{dir}: {e}"))?;
    let mut index = String::from(
        "<!doctype html><meta charset=\"utf-8\"><title>trouw templates</title><h1>trouw templates</h1><ul>",
    );
    for kind in KINDS {
        for locale in LOCALES {
            for (n, sample) in samples(kind, locale).iter().enumerate() {
                let context = minijinja::Value::from(minijinja::value::Serde(sample));
                let out = renderer
                    .render(kind, locale, &context)
                    .map_err(|e| e.to_string())?;
                let name = format!(
                    "{kind}.{locale}.{}.html",
                    if n == 0 { "full" } else { "minimal" }
                );
                std::fs::write(format!("{dir}/{name}"), &out.html).map_err(|e| e.to_string())?;
                std::fs::write(
                    format!(
                        "{dir}/{kind}.{locale}.{}.txt",
                        if n == 0 { "full" } else { "minimal" }
                    ),
                    format!("Subject: {}\n\n{}", out.subject, out.text),
                )
                .map_err(|e| e.to_string())?;
                index.push_str(&format!(
                    "<li><a href=\"{name}\">{kind} ({locale}, {})</a>: {}</li>",
                    if n == 0 {
                        "all values"
                    } else {
                        "optional values left out"
                    },
                    out.subject.replace('<', "&lt;")
                ));
            }
        }
    }
    index.push_str("</ul>");
    std::fs::write(format!("{dir}/index.html"), index).map_err(|e| e.to_string())?;
    println!("open {dir}/index.html");
    Ok(())
}
