//! A real browser through the marketers' pages: headless Debian Chromium, driven by
//! playwright-core (`infra/local/browser/admin-walkthrough.mjs`), logs in, filters, opens a
//! message, downloads the CSV, looks at the overview (its charts and what each kind earned) and
//! logs out. Screenshots are kept in `target/test-artifacts/`. `make test` installs Chromium and
//! the npm package first.

use serde_json::json;
use trouw::domain::CustomerId;
use trouw::handlers::send_messages::deliver_pending;
use trouw_tests::{ADMIN_PASSWORD, ADMIN_USER, TestStack, example, unique};

#[tokio::test]
async fn a_marketer_logs_in_filters_opens_a_message_and_downloads_the_csv() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let script = root.join("infra/local/browser/admin-walkthrough.mjs");
    assert!(
        root.join("infra/local/browser/node_modules/playwright-core")
            .exists(),
        "run `make test` (or `npm ci --prefix infra/local/browser`) to install playwright-core"
    );
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "run `make test` to install Debian's chromium"
    );
    let stack = TestStack::start().await;
    // Yesterday at 11:00 UTC: daytime in the shop, so no email waits for its quiet hours (run in
    // the evening, they all did and nothing was there to attribute), and inside the pages'
    // default periods, which end at the real today.
    let daytime = trouw_tests::days_ago_at(1, 11);
    stack.set_now(daytime);
    let sender = stack.sender(stack.clock(), None).await;
    let anna = format!("{}@example.nl", unique("cus-anna"));
    let bram = format!("{}@example.nl", unique("cus-bram"));
    for (customer, email, order) in [("cus-anna", &anna, "A-1"), ("cus-bram", &bram, "B-1")] {
        let mut body = example("order-placed");
        body["customer"]["id"] = json!(customer);
        body["customer"]["email"] = json!(email);
        body["order"]["id"] = json!(order);
        assert_eq!(stack.post("order-placed", &body).await.status, 200);
        deliver_pending(&sender, &stack.shop, &CustomerId::parse(customer).unwrap())
            .await
            .unwrap();
    }
    // Anna orders again a minute after her email went: the order is attributed to it.
    let now = daytime + jiff::SignedDuration::from_secs(60);
    let mut again = example("order-placed");
    again["customer"]["id"] = json!("cus-anna");
    again["customer"]["email"] = json!(anna);
    again["order"]["id"] = json!("A-2");
    again["order"]["placed_at"] = json!(now.to_string());
    again["occurred_at"] = json!(now.to_string());
    assert_eq!(stack.post("order-placed", &again).await.status, 200);
    let out = root.join("target/test-artifacts");
    let run = tokio::process::Command::new("node")
        .arg(&script)
        .arg(&stack.base_url)
        .arg(ADMIN_USER)
        .arg(ADMIN_PASSWORD)
        .arg(&out)
        .output();
    let output = tokio::time::timeout(std::time::Duration::from_secs(120), run)
        .await
        .expect("the browser walk stops within two minutes")
        .expect("node runs");
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    for name in [
        "admin-messages.png",
        "admin-chart-attributed.png",
        "admin-per-kind.png",
    ] {
        let screenshot = out.join(name);
        assert!(
            std::fs::metadata(&screenshot).is_ok_and(|m| m.len() > 1000),
            "a screenshot at {}",
            screenshot.display()
        );
    }
}
