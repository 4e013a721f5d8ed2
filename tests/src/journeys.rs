//! A year of customers, generated from a seed: orders, deliveries, partial and full returns,
//! moves, consent changes, survey answers, quiet customers who lapse, and erasures; then
//! delivered as a platform does, with duplicates and out of order. The same seed gives the
//! same corpus; `tag` only makes the addresses and the service address unique to one run.

use crate::fault::splitmix64;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

/// One delivery a platform makes (a duplicate is a second delivery of the same event).
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The day it arrives (0 = the corpus's first day).
    pub day: u32,
    /// Whose event it is (the customer's number).
    pub customer: usize,
    /// Stable per event: the platform's event id (duplicates repeat it).
    pub event_id: String,
    pub what: Sent,
}

#[derive(Debug, Clone)]
pub enum Sent {
    /// A canonical (Standard Webhooks) event to `/webhooks/{shop}/{route}`.
    Canonical { route: &'static str, body: Value },
    /// A Shopify webhook (`topic`) to the address-changed route.
    Shopify { topic: &'static str, body: Value },
    /// A survey answer posted from the survey page (`POST /s/{token}`).
    SurveyAnswer {
        customer: String,
        order: String,
        score: u8,
    },
}

pub struct Corpus {
    pub customers: usize,
    pub days: u32,
    /// Every delivery, in the order the platform makes them.
    pub deliveries: Vec<Delivery>,
    /// Events before duplicates.
    pub events: usize,
}

/// A seeded stream of numbers (SplitMix64).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        splitmix64(self.0)
    }
    /// A number in `low..high`.
    pub fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.next_u64() % (high - low).max(1)
    }
    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }
}

/// The first day of the corpus, midnight UTC.
pub fn start() -> Timestamp {
    "2027-01-04T00:00:00Z".parse().unwrap()
}

pub fn at(day: u32, minute: u32) -> Timestamp {
    start() + SignedDuration::from_mins(day as i64 * 24 * 60 + minute as i64)
}

/// The Shopify-style numeric id of customer `n` (erasure and consent topics carry numbers).
pub fn customer_id(n: usize) -> u64 {
    7_390_000_000_000 + n as u64
}

pub fn email(n: usize, tag: &str) -> String {
    format!("c{n}.{tag}@example.nl")
}

const CATALOG: [(&str, &str, &str, Option<u32>); 5] = [
    ("TP-075", "Tandpasta mint 75 ml", "3.95", Some(90)),
    ("EB-200", "Elektrische tandenborstel", "53.00", None),
    ("FL-050", "Flosdraad 50 m", "2.49", Some(60)),
    ("MW-500", "Mondwater 500 ml", "6.95", Some(45)),
    ("OB-004", "Opzetborstels 4 stuks", "19.95", None),
];

/// Money as the contract writes it, from cents.
fn money(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

fn cents(text: &str) -> u64 {
    let (whole, frac) = text.split_once('.').unwrap();
    whole.parse::<u64>().unwrap() * 100 + frac.parse::<u64>().unwrap()
}

/// Events happen between 08:00 and 12:00 UTC (the shop's daytime, outside quiet hours).
fn minute(rng: &mut Rng) -> u32 {
    rng.range(8 * 60, 12 * 60) as u32
}

pub fn generate(seed: u64, customers: usize, days: u32, tag: &str) -> Corpus {
    let mut rng = Rng::new(seed);
    let mut events: Vec<(u32, usize, String, Sent)> = Vec::new();
    for n in 0..customers {
        let id = customer_id(n).to_string();
        let mail = email(n, tag);
        let locale = if rng.chance(70) { "nl" } else { "en" };
        let mut consent = rng.chance(70);
        let address = json!({ "line1": format!("Prinsengracht {}", n + 1), "postal_code": "1016 GV", "city": "Amsterdam", "country": "NL" });
        let orders = 1 + (rng.next_u64() % 100 / 35) as usize; // 1..=3, one in three buys once
        let mut day = rng.range(0, days as u64 * 3 / 4) as u32;
        let mut last = day;
        for o in 0..orders {
            if day + 5 >= days {
                break;
            }
            let order = format!("NL-{n}-{o}");
            let mut lines = Vec::new();
            let mut total = 0;
            for (sku, name, price, refill) in CATALOG {
                if lines.is_empty() && sku == "OB-004" || rng.chance(40) {
                    let quantity = rng.range(1, 4);
                    total += cents(price) * quantity;
                    let mut line = json!({ "sku": sku, "name": name, "quantity": quantity, "unit_price": price });
                    if let Some(days) = refill {
                        line["replenish_after_days"] = json!(days);
                    }
                    lines.push(line);
                }
            }
            let placed_minute = minute(&mut rng);
            let placed = at(day, placed_minute);
            events.push((day, n, format!("placed-{order}"), Sent::Canonical {
                route: "order-placed",
                body: json!({
                    "type": "order.placed",
                    "occurred_at": placed.to_string(),
                    "order": { "id": order, "placed_at": placed.to_string(), "currency": "EUR", "total": money(total), "lines": lines },
                    "customer": { "id": id, "email": mail, "first_name": format!("Klant{n}"), "locale": locale, "marketing_consent": consent, "address": address },
                }),
            }));
            last = last.max(day);
            if !rng.chance(85) {
                day += rng.range(20, 120) as u32;
                continue;
            }
            let delivered_day = day + rng.range(2, 5) as u32;
            let m = minute(&mut rng);
            events.push((
                delivered_day,
                n,
                format!("delivered-{order}"),
                Sent::Canonical {
                    route: "order-delivered",
                    body: json!({
                        "type": "order.delivered",
                        "occurred_at": at(delivered_day, m).to_string(),
                        "order": { "id": order, "delivered_at": at(delivered_day, m).to_string() },
                        "customer": { "id": id },
                    }),
                },
            ));
            last = last.max(delivered_day);
            let roll = rng.next_u64() % 100;
            let mut fully_returned = false;
            if roll < 23 {
                let returned_day = delivered_day + rng.range(3, 20) as u32;
                let m = minute(&mut rng);
                let (returned, refund): (Vec<Value>, u64) = if roll < 8 {
                    fully_returned = true;
                    (
                        lines
                            .iter()
                            .map(|l| json!({ "sku": l["sku"], "quantity": l["quantity"] }))
                            .collect(),
                        total,
                    )
                } else {
                    let line = &lines[0];
                    (
                        vec![json!({ "sku": line["sku"], "quantity": 1 })],
                        cents(line["unit_price"].as_str().unwrap()),
                    )
                };
                events.push((returned_day, n, format!("returned-{order}"), Sent::Canonical {
                    route: "order-returned",
                    body: json!({
                        "type": "order.returned",
                        "occurred_at": at(returned_day, m).to_string(),
                        "order": { "id": order, "returned_at": at(returned_day, m).to_string(), "refund_total": money(refund), "lines": returned, "reason": "changed_mind" },
                        "customer": { "id": id },
                    }),
                }));
                last = last.max(returned_day);
            }
            // The survey goes out five days after the delivery; some answer two days later.
            if !fully_returned && rng.chance(50) {
                let answer_day = delivered_day + 7;
                events.push((
                    answer_day,
                    n,
                    format!("answer-{order}"),
                    Sent::SurveyAnswer {
                        customer: id.clone(),
                        order: order.clone(),
                        score: rng.range(0, 11) as u8,
                    },
                ));
                last = last.max(answer_day);
            }
            day += rng.range(20, 120) as u32;
        }
        if rng.chance(20) && last + 2 < days {
            let moved_day = rng.range(last as u64 + 1, days as u64) as u32;
            let m = minute(&mut rng);
            events.push((moved_day, n, format!("moved-{n}"), Sent::Canonical {
                route: "address-changed",
                body: json!({
                    "type": "customer.address_changed",
                    "occurred_at": at(moved_day, m).to_string(),
                    "customer": { "id": id, "email": mail, "address": { "line1": format!("Oudegracht {}", n + 1), "postal_code": "3511 AZ", "city": "Utrecht", "country": "NL" } },
                }),
            }));
            last = last.max(moved_day);
        }
        if rng.chance(25) && last + 2 < days {
            let changed_day = rng.range(last as u64 + 1, days as u64) as u32;
            let m = minute(&mut rng);
            consent = !consent;
            events.push((
                changed_day,
                n,
                format!("consent-{n}"),
                Sent::Shopify {
                    topic: "customers_email_marketing_consent/update",
                    body: json!({
                        "customer_id": customer_id(n),
                        "email_address": mail,
                        "email_marketing_consent": {
                            "state": if consent { "subscribed" } else { "unsubscribed" },
                            "opt_in_level": "single_opt_in",
                            "consent_updated_at": at(changed_day, m).to_string(),
                        },
                    }),
                },
            ));
            last = last.max(changed_day);
        }
        // Erasure comes last for a customer: nothing of theirs arrives after it.
        if rng.chance(6) && last + 10 < days {
            let erased_day = rng.range(last as u64 + 10, days as u64) as u32;
            events.push((
                erased_day,
                n,
                format!("redact-{n}"),
                Sent::Shopify {
                    topic: "customers/redact",
                    body: json!({
                        "shop_id": 9000000001u64,
                        "shop_domain": crate::SHOPIFY_DOMAIN,
                        "customer": { "id": customer_id(n), "email": mail },
                        "orders_to_redact": [],
                    }),
                },
            ));
        }
    }
    events.retain(|(day, ..)| *day < days);
    let count = events.len();
    // Arrival: one event in twenty comes a day or two late, one in ten twice (the second
    // delivery up to a day later); within a day the order is shuffled.
    let mut deliveries: Vec<(u32, u64, Delivery)> = Vec::new();
    for (day, customer, event_id, what) in events {
        // A survey answer is a person on a page, not a platform: never late or repeated.
        let platform = !matches!(what, Sent::SurveyAnswer { .. });
        let arrives = if platform && rng.chance(5) {
            (day + rng.range(1, 3) as u32).min(days - 1)
        } else {
            day
        };
        let delivery = Delivery {
            day: arrives,
            customer,
            event_id,
            what,
        };
        if platform && rng.chance(10) {
            let again = (arrives + rng.range(0, 2) as u32).min(days - 1);
            let repeated = Delivery {
                day: again,
                ..delivery.clone()
            };
            deliveries.push((again, rng.next_u64(), repeated));
        }
        deliveries.push((arrives, rng.next_u64(), delivery));
    }
    deliveries.sort_by_key(|(day, shuffle, _)| (*day, *shuffle));
    Corpus {
        customers,
        days,
        deliveries: deliveries.into_iter().map(|(_, _, d)| d).collect(),
        events: count,
    }
}
