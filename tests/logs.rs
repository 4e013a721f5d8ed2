//! Logs: one JSON line per webhook with request id, shop, event id, route and outcome; never
//! an email address or a street. (Its own test binary: it installs the process's subscriber.)

use serde_json::{Value, json};
use trouw_tests::captured_logs::CapturedLogs;
use trouw_tests::{TestStack, example};

#[tokio::test]
async fn logs_carry_the_request_context_and_no_personal_data() {
    let captured = CapturedLogs::install();
    let stack = TestStack::start().await;

    let mut bad_email = example("order-placed");
    bad_email["customer"]["email"] = json!("anna.devries@example");
    for (n, (route, body)) in [
        ("order-placed", example("order-placed")),
        ("address-changed", example("address-changed")),
        ("order-placed", bad_email),
    ]
    .into_iter()
    .enumerate()
    {
        stack.post_as(route, &format!("log-{n}"), &body).await;
    }

    let text = captured.text();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect();
    let handled: Vec<&Value> = lines
        .iter()
        .filter(|l| l["message"] == "webhook handled")
        .collect();
    assert_eq!(handled.len(), 3, "{text}");
    for line in &handled {
        let span = &line["span"];
        assert!(
            span["request_id"]
                .as_str()
                .is_some_and(|id| id.starts_with("local-")),
            "{line}"
        );
        assert_eq!(span["shop"], stack.shop.as_str(), "{line}");
        assert!(
            span["event_id"]
                .as_str()
                .is_some_and(|id| id.starts_with("log-")),
            "{line}"
        );
        assert!(span["route"].is_string(), "{line}");
        assert!(line["outcome"].is_string(), "{line}");
    }
    let outcomes: Vec<&str> = handled
        .iter()
        .map(|l| l["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["processed", "processed", "invalid_payload"]);
    assert_eq!(handled[2]["detail"], "customer.email");

    // The gateway's access line: every request's route (as the template names it), status and
    // whole time, which `make load` reads.
    let served: Vec<&Value> = lines
        .iter()
        .filter(|l| l["message"] == "request served")
        .filter(|l| {
            l["route"]
                .as_str()
                .is_some_and(|r| r.starts_with("/webhooks/"))
        })
        .collect();
    assert_eq!(served.len(), 3, "{text}");
    for (line, (route, status)) in served.iter().zip([
        ("/webhooks/{shop}/order-placed", 200),
        ("/webhooks/{shop}/address-changed", 200),
        ("/webhooks/{shop}/order-placed", 400),
    ]) {
        assert_eq!(line["route"], route, "{line}");
        assert_eq!(line["method"], "POST", "{line}");
        assert_eq!(line["status"], status, "{line}");
        assert!(
            line["duration_ms"].as_f64().is_some_and(|ms| ms > 0.0),
            "{line}"
        );
    }

    for secret_thing in [
        "anna.devries",
        "example.nl",
        "Prinsengracht",
        "Oudegracht",
        // Postal codes as sent and compacted; bare digits would also match log timestamps.
        "1016 GV",
        "1016GV",
        "3511 AZ",
        "3511AZ",
        "Anna",
    ] {
        assert!(
            !text.contains(secret_thing),
            "logs contain {secret_thing:?}:\n{text}"
        );
    }
}
