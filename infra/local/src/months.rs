//! A customer's first months, lived in seconds against the local stack (`make demo-months`):
//! order, delivery, survey and answer, care tips, points confirmed, welcome points spent on a
//! discount code (through the loyalty API), a warning before the unused points expire, at risk
//! (the points expire), lapsed and asked, a replenishment reminder, inactive, back with a new
//! order that uses the code, the shop's question to its toothpaste buyers (the second such order)
//! answered with a few words of the customer's own, two reminders before the maintenance plan
//! bought with the first order ends, and the yearly recap on the first order's anniversary.
//! Between the lapse and inactivity the toothpaste sells out just before the customer's tubes
//! run out: the shop names what replaces it, that notice takes the replenishment reminder's
//! place, and the customer hears when it is back. Each step moves the local
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
const PRODUCT_CHANGED: &str =
    include_str!("../../../shared/contracts/examples/product-changed.json");

/// Where the demo runs.
pub struct Stack<'a> {
    pub client: &'a HttpClient,
    /// The local API, e.g. `http://127.0.0.1:3000`.
    pub api: String,
    pub shop: String,
    pub secret: WebhookSecret,
    /// moto, e.g. `http://127.0.0.1:4566`, where the emails are read back.
    pub moto: String,
    /// The shop's loyalty API key: with it the customer also gets welcome points and spends
    /// them on a code; without, those steps are left out.
    pub loyalty_key: Option<String>,
    /// The shop asks its toothpaste buyers [`demo_question`]: the customer is asked at the second
    /// order and answers; without, those steps are left out.
    pub asks_question: bool,
    /// The shop says the toothpaste is sold out, and later that it is back (see
    /// [`stock_moments_fit`]); without, those steps are left out and the replenishment
    /// reminder goes as usual.
    pub stock_moments: bool,
}

/// The toothpaste the demo's customer buys (the contract example's order), which sells out.
pub const DEMO_SKU: &str = "TP-075";

/// When the demo's toothpaste sells out: after the customer lapsed, 15 days before their
/// tubes run out (within the shop's 30 days of notice) and before the reminder is due.
const DEMO_SOLD_OUT_AT: &str = "2027-07-15T10:00:00Z";

/// Whether the demo's stock steps can show on a shop whose news of [`DEMO_SKU`] is `product`:
/// the shop's news is applied in the order it happened, so after an earlier run (which left
/// the product back in stock in August 2027) the demo's stock-out would be older news and
/// change nothing. A fresh stack (or a product never heard of) shows them.
pub fn stock_moments_fit(product: Option<&trouw::domain::stock::ProductState>) -> bool {
    let sold_out: Timestamp = DEMO_SOLD_OUT_AT.parse().expect("a timestamp");
    product.is_none_or(|p| p.changed_at < sold_out)
}

/// Months without an order after which the demo shop's points expire (see [`demo_expiry`]).
pub const DEMO_EXPIRY_MONTHS: u16 = 6;

/// Turns on points expiry as the demo expects it: after [`DEMO_EXPIRY_MONTHS`] months without
/// an order, on since 1 October 2026 (before the demo's first order, so the first period is
/// over in time for its expiry). A shop with expiry on already is left as it is.
pub fn demo_expiry(rules: &mut trouw::domain::LoyaltyRules) -> bool {
    if rules.expire_after_months.is_some() {
        return false;
    }
    rules.expire_after_months = Some(DEMO_EXPIRY_MONTHS);
    rules.expiry_turned_on_at = Some("2026-10-01T00:00:00Z".parse().expect("a timestamp"));
    true
}

/// The demo's co-creation question: which flavour of toothpaste to add, to the buyers of
/// `mondverzorging` (the contract example's toothpaste), with room for their own words.
pub const DEMO_QUESTION: &str = "smaak";

/// Adds [`DEMO_QUESTION`] to a shop that asks nothing yet (a shop with questions of its own is
/// left as it is; the demo then leaves its question steps out).
pub fn demo_question(settings: &mut trouw::domain::ShopSettings) -> bool {
    if !settings.questions.is_empty() {
        return false;
    }
    settings.questions = vec![trouw::domain::questions::Question {
        id: DEMO_QUESTION.into(),
        category: "mondverzorging".into(),
        text: "Welke smaak tandpasta zullen we erbij nemen?".into(),
        options: vec![
            "Munt extra sterk".into(),
            "Kruiden".into(),
            "Houtskool".into(),
        ],
        free_text: true,
        active_from: None,
        active_until: None,
    }];
    true
}

/// One step of the demo and what came of it.
#[derive(Debug, Clone)]
pub struct Step {
    pub at: Timestamp,
    pub what: &'static str,
    /// Subjects of the emails the customer received in this step.
    pub emails: Vec<String>,
    /// What the step answered, when it is not an email (the discount code received).
    pub detail: Option<String>,
}

enum Action {
    Order {
        id: String,
        /// The order also sells a year of the toothbrush's maintenance plan (a contract).
        with_contract: bool,
    },
    Deliver,
    Schedule,
    AnswerSurvey {
        score: u8,
    },
    /// The shop grants points (a goodwill adjustment through the loyalty API).
    Grant {
        points: i64,
    },
    /// The customer spends points on the €5 reward (the shop adds a code to its pool first).
    Redeem,
    /// The schedule sends the shop's question (it waited for the frequency cap).
    AskQuestion,
    /// The customer opens answer `option` in the question's email and sends it with `words`.
    AnswerQuestion {
        option: u8,
        words: &'static str,
    },
    /// The shop posts the toothpaste's availability (`product-changed`): sold out, with the
    /// alternatives it chose and when it expects it back, or back in stock.
    Stock {
        available: bool,
    },
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
            "orders 3 tubes of toothpaste, a toothbrush and a year of its maintenance plan",
            Action::Order {
                id: first_order.clone(),
                with_contract: true,
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
            "2026-12-10T10:00:00Z",
            "the shop gives 500 welcome points",
            Action::Grant { points: 500 },
        ),
        (
            "2026-12-10T10:05:00Z",
            "spends 500 points on a EUR 5 discount code",
            Action::Redeem,
        ),
        (
            "2026-12-16T13:00:00Z",
            "6 weeks after delivery: the last tip",
            Action::Schedule,
        ),
        (
            "2027-04-02T13:00:00Z",
            "30 days before the unused points expire: a warning",
            Action::Schedule,
        ),
        (
            "2027-05-09T12:00:00Z",
            "1.5 x the usual 120 days quiet: at risk (no email); the unused points expired",
            Action::Schedule,
        ),
        (
            "2027-07-09T12:00:00Z",
            "2 x: lapsed, asked whether to keep hearing from the shop",
            Action::Schedule,
        ),
        (
            DEMO_SOLD_OUT_AT,
            "the toothpaste sells out before theirs runs out: what replaces it, and when it is back",
            Action::Stock { available: false },
        ),
        (
            "2027-07-27T13:00:00Z",
            if stack.stock_moments {
                "the toothpaste runs out in 5 days: no reminder, the sold-out notice took its place"
            } else {
                "the toothpaste runs out in 5 days: a reminder"
            },
            Action::Schedule,
        ),
        (
            "2027-08-02T10:00:00Z",
            "the toothpaste is back in stock",
            Action::Stock { available: true },
        ),
        (
            "2027-08-09T12:00:00Z",
            "no answer in 30 days: inactive (no email)",
            Action::Schedule,
        ),
        (
            "2027-09-15T10:00:00Z",
            "orders again: reactivated (with the EUR 5 code, now used)",
            Action::Order {
                id: orders[1].clone(),
                with_contract: false,
            },
        ),
        (
            "2027-09-19T10:00:00Z",
            "a second toothpaste order: the shop asks which flavour to add (after the frequency cap)",
            Action::AskQuestion,
        ),
        (
            "2027-09-19T10:10:00Z",
            "answers \"Kruiden\", with a few words of their own",
            Action::AnswerQuestion {
                option: 1,
                words: "Graag iets met salie of tijm.",
            },
        ),
        (
            "2027-10-03T10:00:00Z",
            "30 days before the maintenance plan ends: a reminder",
            Action::Schedule,
        ),
        (
            "2027-10-26T10:00:00Z",
            "a week before the end, not renewed: the last reminder",
            Action::Schedule,
        ),
        (
            "2027-11-02T09:00:00Z",
            "a year since the first order (10:00 in Amsterdam): the yearly recap",
            Action::Schedule,
        ),
    ];
    let mut seen = emails_to(stack, email).await?.len();
    // The code the customer got for points, once they have one: a later order carries it.
    let mut code: Option<String> = None;
    let mut steps = Vec::new();
    for (at, what, action) in plan {
        let at: Timestamp = at.parse().map_err(|e| format!("{e}"))?;
        let loyalty = matches!(action, Action::Grant { .. } | Action::Redeem);
        if loyalty && stack.loyalty_key.is_none() {
            continue;
        }
        let question = matches!(action, Action::AskQuestion | Action::AnswerQuestion { .. });
        if question && !stack.asks_question {
            continue;
        }
        if matches!(action, Action::Stock { .. }) && !stack.stock_moments {
            continue;
        }
        let key = stack.loyalty_key.as_deref().unwrap_or_default();
        set_clock(stack, at).await?;
        let mut detail = None;
        match action {
            Action::Grant { points } => {
                let path = format!("customers/{}/adjustments", encode(customer));
                let body =
                    json!({ "points": points, "reason": "welcome to the loyalty programme" });
                loyalty_post(stack, key, &path, &format!("welcome-{customer}"), &body).await?;
            }
            Action::Redeem => {
                let path = format!("customers/{}/redemptions", encode(customer));
                let body = json!({ "reward": "r5" });
                let first = loyalty_post(stack, key, &path, &format!("r5-{customer}"), &body).await;
                let answer = match first {
                    Ok(answer) => answer,
                    // An empty pool (a fresh table) takes no points: the shop adds a code.
                    Err(err) if err.contains("no_codes") => {
                        let code = json!({ "codes": [format!("DEMO-{customer}")] });
                        let restock = format!("codes-{customer}");
                        loyalty_post(stack, key, "rewards/r5/codes", &restock, &code).await?;
                        let again = format!("r5-{customer}-restocked");
                        loyalty_post(stack, key, &path, &again, &body).await?
                    }
                    Err(err) => return Err(err),
                };
                code = answer["code"].as_str().map(str::to_owned);
                detail = code.as_ref().map(|c| format!("code {c}"));
            }
            Action::Order { id, with_contract } => {
                let mut body: Value = serde_json::from_str(ORDER_PLACED).expect("contract example");
                if with_contract {
                    let plan = json!({
                        "sku": "ONDERHOUD-1J",
                        "name": "Onderhoudsplan tandenborstel (1 jaar)",
                        "quantity": 1,
                        "contract": {
                            "ends_at": "2027-11-02T10:00:00Z",
                            "renewal_url": "https://www.demo-winkel.nl/onderhoud/verlengen",
                        },
                    });
                    if let Some(lines) = body["order"]["lines"].as_array_mut() {
                        lines.push(plan);
                    }
                }
                body["occurred_at"] = json!(at.to_string());
                body["order"]["id"] = json!(id);
                body["order"]["placed_at"] = json!(at.to_string());
                body["customer"]["id"] = json!(customer);
                body["customer"]["email"] = json!(email);
                if let Some(code) = &code {
                    body["order"]["discount_codes"] = json!([code]);
                    detail = Some(format!("code {code} used"));
                }
                post(stack, "order-placed", &body).await?;
            }
            Action::Deliver => {
                let mut body: Value =
                    serde_json::from_str(ORDER_DELIVERED).expect("contract example");
                body["order"]["id"] = json!(first_order);
                body["customer"]["id"] = json!(customer);
                post(stack, "order-delivered", &body).await?;
            }
            Action::Stock { available } => {
                let mut body: Value =
                    serde_json::from_str(PRODUCT_CHANGED).expect("contract example");
                body["occurred_at"] = json!(at.to_string());
                let product = &mut body["product"];
                product["sku"] = json!(DEMO_SKU);
                product["available"] = json!(available);
                if available {
                    if let Some(product) = product.as_object_mut() {
                        product.remove("expected_back_at");
                        product.remove("alternatives");
                    }
                } else {
                    product["expected_back_at"] = json!("2027-08-02T00:00:00+02:00");
                }
                post(stack, "product-changed", &body).await?;
            }
            Action::Schedule | Action::AskQuestion => {
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
            Action::AnswerQuestion { option, words } => {
                let raw = emails_to(stack, email).await?.join("\n");
                let url = answer_link(&raw, &stack.api, option)
                    .ok_or("no question link in the customer's emails")?;
                // The page shows the answer chosen and a field for the customer's own words;
                // the customer writes and sends.
                let request = http::Request::get(url.as_str())
                    .body(Full::new(Bytes::new()))
                    .map_err(|e| e.to_string())?;
                let answer = send(stack.client, request).await?;
                if answer.status != 200 {
                    return Err(format!("the answer link answered {}", answer.status));
                }
                let action = url.split('?').next().unwrap_or_default();
                let form = format!("option={option}&free_text={}", encode(words));
                let request = http::Request::post(action)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(Full::new(Bytes::from(form)))
                    .map_err(|e| e.to_string())?;
                let answer = send(stack.client, request).await?;
                if answer.status != 200 {
                    return Err(format!("the answer got {}: {}", answer.status, answer.body));
                }
                detail = Some(format!("answer {option}: {words}"));
            }
        }
        // The table's stream delivers what the step caused; wait until it has.
        settle(stack).await?;
        let all = emails_to(stack, email).await?;
        let emails = all[seen..].iter().map(|raw| subject(raw)).collect();
        seen = all.len();
        let step = Step {
            at,
            what,
            emails,
            detail,
        };
        report(&step);
        steps.push(step);
    }
    Ok(steps)
}

/// A call of the shop's server to the loyalty API (the shop's key, an idempotency key), and
/// its answer.
async fn loyalty_post(
    stack: &Stack<'_>,
    key: &str,
    path: &str,
    idempotency_key: &str,
    body: &Value,
) -> Result<Value, String> {
    let request = http::Request::post(format!("{}/loyalty/{}/{path}", stack.api, stack.shop))
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .header("idempotency-key", idempotency_key)
        .body(Full::new(Bytes::from(body.to_string())))
        .map_err(|e| e.to_string())?;
    let answer = send(stack.client, request).await?;
    if !(200..300).contains(&answer.status) {
        return Err(format!(
            "{path} answered {}: {}",
            answer.status, answer.body
        ));
    }
    serde_json::from_str(&answer.body).map_err(|e| format!("{path}: {e}"))
}

/// An id as one path segment (or a form value): every byte but letters, digits and `-._~`
/// percent-encoded.
fn encode(id: &str) -> String {
    id.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
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

/// The link for answer `option` in a question email (quoted-printable undone).
fn answer_link(raw: &str, api: &str, option: u8) -> Option<String> {
    let text = raw.replace("=\r\n", "").replace("=3D", "=");
    let start = text.find(&format!("{}/q/", api.trim_end_matches('/')))?;
    let rest = &text[start..];
    let end = rest.find(['"', '\r', '\n', ' ', '<', '>'])?;
    let base = rest[..end].split('?').next()?;
    Some(format!("{base}?option={option}"))
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
    fn the_stock_steps_show_unless_the_shop_has_later_news_of_the_toothpaste() {
        let product = |changed_at: &str| trouw::domain::stock::ProductState {
            sku: trouw::domain::Sku::parse(DEMO_SKU).unwrap(),
            name: None,
            available: true,
            changed_at: changed_at.parse().unwrap(),
            out_since: None,
            expected_back_at: None,
            alternatives: Vec::new(),
            fanout: None,
            family_sku: false,
            version: 1,
        };
        assert!(stock_moments_fit(None));
        assert!(stock_moments_fit(Some(&product("2026-12-14T07:30:00Z"))));
        // An earlier run's return to stock, in August 2027.
        assert!(!stock_moments_fit(Some(&product("2027-08-02T10:00:00Z"))));
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
