//! A customer's first months, lived in seconds against the local stack (`make demo-months`):
//! order, delivery, survey and answer, care tips, points confirmed, at risk, lapsed and asked,
//! a replenishment reminder, inactive, and back with a new order. Each step moves the local
//! clock (`POST /dev/clock`), posts a signed webhook or runs a schedule pass
//! (`POST /dev/run-schedule`), waits until the table's stream has delivered what it caused
//! (`POST /dev/settle`), and reports the emails moto's SES received for the customer.
//! A test runs the same function, so the demo in the README cannot go stale.

use crate::client::{HttpClient, send, signed_post};
use bytes::Bytes;
use http_body_util::Full;
use jiff::Timestamp;
use serde_json::{Value, json};
use trouw::webhook::WebhookSecret;

const ORDER_PLACED: &str = include_str!("../../../shared/contracts/examples/order-placed.json");
const ORDER_DELIVERED: &str =
    include_str!("../../../shared/contracts/examples/order-delivered.json");

/// Where the demo runs.
pub struct Stack<'a> {
    pub client: &'a HttpClient,
    /// The local API, e.g. `http://127.0.0.1:3000`.
    pub api: String,
    pub shop: String,
    pub secret: WebhookSecret,
    /// moto, e.g. `http://127.0.0.1:4566`, where the emails are read back.
    pub moto: String,
}

/// One step of the demo and what came of it.
#[derive(Debug, Clone)]
pub struct Step {
    pub at: Timestamp,
    pub what: &'static str,
    /// Subjects of the emails the customer received in this step.
    pub emails: Vec<String>,
}

enum Action {
    Order { id: String },
    Deliver,
    Schedule,
    AnswerSurvey { score: u8 },
}

/// Runs the demo for a new customer `customer` with address `email`; calls `report` after each
/// step.
pub async fn first_months(
    stack: &Stack<'_>,
    customer: &str,
    email: &str,
    report: impl FnMut(&Step),
) -> Result<Vec<Step>, String> {
    let orders = [format!("{customer}-1"), format!("{customer}-2")];
    first_months_with_orders(stack, customer, &orders, email, report).await
}

/// The same demo with the two orders' ids given (tests use ids of every accepted length).
pub async fn first_months_with_orders(
    stack: &Stack<'_>,
    customer: &str,
    orders: &[String; 2],
    email: &str,
    mut report: impl FnMut(&Step),
) -> Result<Vec<Step>, String> {
    let first_order = orders[0].clone();
    let plan: Vec<(&str, &'static str, Action)> = vec![
        (
            "2026-11-02T10:00:00Z",
            "orders 3 tubes of toothpaste and a toothbrush",
            Action::Order {
                id: first_order.clone(),
            },
        ),
        (
            "2026-11-04T13:00:00Z",
            "the parcel is delivered",
            Action::Deliver,
        ),
        (
            "2026-11-09T13:00:00Z",
            "5 days after delivery: the survey",
            Action::Schedule,
        ),
        (
            "2026-11-09T13:05:00Z",
            "answers 9 in the survey email",
            Action::AnswerSurvey { score: 9 },
        ),
        (
            "2026-11-18T13:00:00Z",
            "2 weeks after delivery: a care tip",
            Action::Schedule,
        ),
        (
            "2026-12-02T13:00:00Z",
            "4 weeks after delivery: the next tip",
            Action::Schedule,
        ),
        (
            "2026-12-06T13:00:00Z",
            "the return window closed: points available",
            Action::Schedule,
        ),
        (
            "2026-12-16T13:00:00Z",
            "6 weeks after delivery: the last tip",
            Action::Schedule,
        ),
        (
            "2027-05-09T12:00:00Z",
            "1.5 x the usual 120 days quiet: at risk (no email)",
            Action::Schedule,
        ),
        (
            "2027-07-09T12:00:00Z",
            "2 x: lapsed, asked whether to keep hearing from the shop",
            Action::Schedule,
        ),
        (
            "2027-07-27T13:00:00Z",
            "the toothpaste runs out in 5 days: a reminder",
            Action::Schedule,
        ),
        (
            "2027-08-09T12:00:00Z",
            "no answer in 30 days: inactive (no email)",
            Action::Schedule,
        ),
        (
            "2027-09-15T10:00:00Z",
            "orders again: reactivated",
            Action::Order {
                id: orders[1].clone(),
            },
        ),
    ];
    let mut seen = emails_to(stack, email).await?.len();
    let mut steps = Vec::new();
    for (at, what, action) in plan {
        let at: Timestamp = at.parse().map_err(|e| format!("{e}"))?;
        set_clock(stack, at).await?;
        match action {
            Action::Order { id } => {
                let mut body: Value = serde_json::from_str(ORDER_PLACED).expect("contract example");
                body["occurred_at"] = json!(at.to_string());
                body["order"]["id"] = json!(id);
                body["order"]["placed_at"] = json!(at.to_string());
                body["customer"]["id"] = json!(customer);
                body["customer"]["email"] = json!(email);
                post(stack, "order-placed", &body).await?;
            }
            Action::Deliver => {
                let mut body: Value =
                    serde_json::from_str(ORDER_DELIVERED).expect("contract example");
                body["order"]["id"] = json!(first_order);
                body["customer"]["id"] = json!(customer);
                post(stack, "order-delivered", &body).await?;
            }
            Action::Schedule => {
                let request = http::Request::post(format!("{}/dev/run-schedule", stack.api))
                    .body(Full::new(Bytes::new()))
                    .map_err(|e| e.to_string())?;
                let answer = send(stack.client, request).await?;
                if answer.status != 200 {
                    return Err(format!("run-schedule answered {}", answer.status));
                }
            }
            Action::AnswerSurvey { score } => {
                let raw = emails_to(stack, email).await?.join("\n");
                let url = survey_link(&raw, &stack.api, score)
                    .ok_or("no survey link in the customer's emails")?;
                // The link opens a page that submits the chosen score at once (a browser
                // runs its script): open it, then post the score as the page does.
                let request = http::Request::get(url.as_str())
                    .body(Full::new(Bytes::new()))
                    .map_err(|e| e.to_string())?;
                let answer = send(stack.client, request).await?;
                if answer.status != 200 {
                    return Err(format!("the survey link answered {}", answer.status));
                }
                let action = url.split('?').next().unwrap_or_default();
                let request = http::Request::post(action)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(Full::new(Bytes::from(format!("score={score}"))))
                    .map_err(|e| e.to_string())?;
                let answer = send(stack.client, request).await?;
                if answer.status != 200 {
                    return Err(format!("the survey answer got {}", answer.status));
                }
            }
        }
        // The table's stream delivers what the step caused; wait until it has.
        settle(stack).await?;
        let all = emails_to(stack, email).await?;
        let emails = all[seen..].iter().map(|raw| subject(raw)).collect();
        seen = all.len();
        let step = Step { at, what, emails };
        report(&step);
        steps.push(step);
    }
    Ok(steps)
}

/// `POST /dev/settle`: answers once the stream has delivered everything written so far.
async fn settle(stack: &Stack<'_>) -> Result<(), String> {
    let request = http::Request::post(format!("{}/dev/settle", stack.api))
        .body(Full::new(Bytes::new()))
        .map_err(|e| e.to_string())?;
    let answer = send(stack.client, request).await?;
    if answer.status != 200 {
        return Err(format!("POST /dev/settle answered {}", answer.status));
    }
    Ok(())
}

async fn set_clock(stack: &Stack<'_>, at: Timestamp) -> Result<(), String> {
    let request = http::Request::post(format!("{}/dev/clock", stack.api))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(
            json!({ "now": at.to_string() }).to_string(),
        )))
        .map_err(|e| e.to_string())?;
    let answer = send(stack.client, request).await?;
    if answer.status != 200 {
        return Err(format!(
            "POST /dev/clock answered {}: is `make dev` running?",
            answer.status
        ));
    }
    Ok(())
}

async fn post(stack: &Stack<'_>, route: &str, body: &Value) -> Result<(), String> {
    let bytes = body.to_string().into_bytes();
    // The signature carries real time (the platform's clock), whatever the local clock says.
    let id = format!(
        "demo-{}-{}",
        Timestamp::now().as_nanosecond(),
        std::process::id()
    );
    let url = format!("{}/webhooks/{}/{route}", stack.api, stack.shop);
    let request = signed_post(
        &url,
        &stack.secret,
        &id,
        Timestamp::now().as_second(),
        &bytes,
    );
    let answer = send(stack.client, request).await?;
    if answer.status != 200 {
        return Err(format!(
            "{route} answered {}: {}",
            answer.status, answer.body
        ));
    }
    Ok(())
}

/// The raw emails moto's SES received for `to`, oldest first.
pub async fn emails_to(stack: &Stack<'_>, to: &str) -> Result<Vec<String>, String> {
    crate::client::moto_emails_to(stack.client, &stack.moto, to).await
}

/// The link for `score` in a survey email (quoted-printable undone).
fn survey_link(raw: &str, api: &str, score: u8) -> Option<String> {
    let text = raw.replace("=\r\n", "").replace("=3D", "=");
    let start = text.find(&format!("{}/s/", api.trim_end_matches('/')))?;
    let rest = &text[start..];
    let end = rest.find(['"', '\r', '\n', ' ', '<', '>'])?;
    let link = &rest[..end];
    let base = link.split('?').next()?;
    Some(format!("{base}?score={score}"))
}

/// The `Subject:` of a raw email, with RFC 2047 encoded words decoded.
pub fn subject(raw: &str) -> String {
    let mut value = String::new();
    let mut in_subject = false;
    for line in raw.lines() {
        if line.is_empty() {
            break;
        }
        if let Some(rest) = line.strip_prefix("Subject:") {
            value.push_str(rest.trim());
            in_subject = true;
        } else if in_subject && line.starts_with([' ', '\t']) {
            value.push_str(line.trim());
        } else {
            in_subject = false;
        }
    }
    decode_words(&value)
}

fn decode_words(value: &str) -> String {
    use base64::Engine;
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("=?") {
        out.push_str(&rest[..start]);
        let word = &rest[start + 2..];
        let parts: Vec<&str> = word.splitn(3, '?').collect();
        let Some(end) = parts.get(2).and_then(|p| p.find("?=")) else {
            out.push_str(&rest[start..]);
            return out;
        };
        let text = &parts[2][..end];
        let decoded = match parts[1].to_ascii_lowercase().as_str() {
            "b" => base64::engine::general_purpose::STANDARD
                .decode(text)
                .ok()
                .and_then(|b| String::from_utf8(b).ok()),
            "q" => Some(decode_q(text)),
            _ => None,
        };
        out.push_str(&decoded.unwrap_or_else(|| text.to_owned()));
        rest = &parts[2][end + 2..];
        rest = rest.trim_start();
    }
    out.push_str(rest);
    out
}

fn decode_q(text: &str) -> String {
    let mut bytes = Vec::new();
    let mut chars = text.bytes();
    while let Some(b) = chars.next() {
        match b {
            b'_' => bytes.push(b' '),
            b'=' => {
                let hex: Vec<u8> = chars.by_ref().take(2).collect();
                if let Ok(v) = u8::from_str_radix(&String::from_utf8_lossy(&hex), 16) {
                    bytes.push(v);
                }
            }
            _ => bytes.push(b),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_decoded() {
        let raw =
            "From: a\r\nSubject: =?utf-8?B?SmUgcHVudGVuIHppam4gYmVzY2hpa2JhYXIg4oKs?=\r\n\r\nbody";
        assert_eq!(subject(raw), "Je punten zijn beschikbaar €");
        let raw = "Subject: =?utf-8?Q?Caf=C3=A9_open?=\r\n\r\n";
        assert_eq!(subject(raw), "Café open");
        assert_eq!(subject("Subject: Plain\r\n\r\n"), "Plain");
    }

    #[test]
    fn the_survey_link_is_found_in_quoted_printable() {
        let raw = "<a href=3D\"http://127.0.0.1:3000/s/abc.d=\r\nef?score=3D7\">7</a>";
        assert_eq!(
            survey_link(raw, "http://127.0.0.1:3000", 9).as_deref(),
            Some("http://127.0.0.1:3000/s/abc.def?score=9")
        );
    }
}
