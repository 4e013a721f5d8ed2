//! `make bench`: what each kind of event costs in DynamoDB requests and units, and per million
//! events in dollars, measured over HTTP against the local stack (moto). Each event goes
//! through the real handlers; the handlers' DynamoDB clients go through the metering proxy
//! ([`crate::meter`]), which prices every request from the items it touched, and are counted
//! by the SDK interceptor ([`crate::RequestCounter`]). What the event's own function spent is
//! kept apart from what followed it downstream (the sender, the schedule), so a message's
//! lifecycle is priced on its own.

use crate::meter::{MeterProxy, Metered, Totals, per_function, total};
use crate::{LINK_SECRET, StackOptions, TestStack, example, fixture, local_aws, unique};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use trouw::domain::{CustomerId, OrderId};
use trouw_local::functions::Function;
use trouw_local::table::TableDefinition;

/// One measured step: the event's own function and everything downstream of it.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub what: String,
    /// The function the event reaches first (`order-placed`, `run-schedule`, ...).
    pub function: String,
    pub own: Totals,
    /// Everything the event caused afterwards in other functions (the sender's claim and
    /// finish of its message), by function.
    pub downstream: BTreeMap<String, Totals>,
    /// Requests the SDK interceptor counted in the step (all functions).
    pub counted_requests: usize,
    /// The event function's measured time (debug build, moto, proxy overhead taken out).
    pub duration_ms: f64,
    /// The same for what ran downstream (the wait for the stream included).
    pub downstream_ms: f64,
    /// Emails SES accepted in the step.
    pub emails: usize,
    /// For a per-item row: how many items the step's figures were divided by.
    pub per: usize,
    /// The event function's write units per kind of item written (`MSG`, `PROFILE`, ...):
    /// (all, of which indexes).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub own_items: BTreeMap<String, (u64, u64)>,
}

impl Row {
    pub fn downstream_total(&self) -> Totals {
        let mut sum = Totals::default();
        for t in self.downstream.values() {
            sum.requests += t.requests;
            sum.read_units += t.read_units;
            sum.write_units += t.write_units;
            sum.index_write_units += t.index_write_units;
        }
        sum
    }
}

/// The schedule pass against a table of `customers` customers with nothing due but `due`.
#[derive(Debug, Clone, Serialize)]
pub struct PassScale {
    pub customers: usize,
    pub due: usize,
    pub requests: usize,
    pub read_units: f64,
    pub due_items_read: usize,
    pub seeded_in_s: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub events: Vec<Row>,
    pub lifecycle: Vec<Row>,
    /// The loyalty API's writes, its timers and an order with a reward's code.
    pub loyalty: Vec<Row>,
    pub passes: Vec<PassScale>,
    /// The year's overview of a big shop, from the day counters.
    pub overview: Vec<crate::bench_overview::YearOverview>,
    /// The release bootstraps' starts, the hello-world baseline first (empty when not built).
    pub starts: Vec<trouw_local::cold_start::Starts>,
}

pub struct Bench {
    pub stack: TestStack,
    proxy: MeterProxy,
    emails_seen: std::sync::atomic::AtomicUsize,
}

impl Bench {
    pub async fn start() -> Bench {
        Self::start_with(true).await
    }

    /// `with_sender: false`: no stream mapping (the schedule pass's table, seeded by the
    /// hundred thousand, would otherwise stream every seeded item to the sender).
    async fn start_with(with_sender: bool) -> Bench {
        let aws = local_aws();
        let operator = aws_sdk_dynamodb::Client::new(&aws.sdk_config().await);
        let shape = TableDefinition::from_repository().unwrap().shape().unwrap();
        let proxy = MeterProxy::start(&aws.endpoint, operator, shape).await;
        let stack = TestStack::start_with(StackOptions {
            dynamo_endpoint: Some(proxy.endpoint.clone()),
            with_sender,
            route_every_function: true,
            // The proxy reads every item twice around each write: give it time.
            dynamo_attempt_timeout: Duration::from_secs(10),
            ..Default::default()
        })
        .await;
        proxy.name_identities(stack.identities.values());
        proxy.take();
        let emails_seen = crate::all_emails().await.len();
        Bench {
            stack,
            proxy,
            emails_seen: emails_seen.into(),
        }
    }

    /// Runs `step`, waits until the stream has handed everything to the sender, and prices
    /// what happened: `function`'s requests as the event's own, the rest as downstream.
    pub async fn measure<F: std::future::Future<Output = ()>>(
        &self,
        what: &str,
        function: Function,
        step: F,
    ) -> Row {
        // What earlier steps handed to the sender is finished first: a send still in flight
        // would be counted by the interceptor before this step and priced by the proxy in it.
        self.stack.settle().await;
        self.proxy.take();
        self.proxy.take_overhead();
        self.emails_seen.store(
            crate::all_emails().await.len(),
            std::sync::atomic::Ordering::SeqCst,
        );
        let counted = self.stack.requests.get();
        let started = Instant::now();
        step.await;
        let wall = started.elapsed();
        let overhead = self.proxy.take_overhead();
        let settling = Instant::now();
        self.stack.settle().await;
        let downstream = settling
            .elapsed()
            .saturating_sub(self.proxy.take_overhead());
        let records = self.proxy.take();
        let mut row = self
            .row(
                what,
                function,
                &records,
                counted,
                wall.saturating_sub(overhead),
            )
            .await;
        if !row.downstream.is_empty() {
            row.downstream_ms = downstream.as_secs_f64() * 1000.0;
        }
        row
    }

    async fn row(
        &self,
        what: &str,
        function: Function,
        records: &[Metered],
        counted_before: usize,
        duration: Duration,
    ) -> Row {
        let mut by_function = per_function(records);
        let own = by_function.remove(function.binary()).unwrap_or_default();
        let mut own_items: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        let detail = std::env::var_os("BENCH_DETAIL").is_some();
        for record in records {
            if detail {
                let writes: Vec<String> = record
                    .items
                    .iter()
                    .zip(&record.writes)
                    .zip(&record.changed)
                    .map(|((item, cost), changed)| {
                        format!("{item} {}+{:?} {changed:?}", cost.table, cost.indexes)
                    })
                    .collect();
                eprintln!(
                    "  {what}: {} {}{} rru {} [{}]",
                    record.function,
                    record.operation,
                    if record.refused { " (refused)" } else { "" },
                    record.read_units,
                    writes.join(", ")
                );
            }
            if record.function != function.binary() {
                continue;
            }
            for (item, cost) in record.items.iter().zip(&record.writes) {
                let entry = own_items.entry(item.clone()).or_default();
                entry.0 += cost.total();
                entry.1 += cost.index_total();
            }
        }
        let emails = crate::all_emails().await.len();
        let row = Row {
            what: what.to_owned(),
            function: function.binary().to_owned(),
            own,
            downstream: by_function,
            counted_requests: self.stack.requests.get() - counted_before,
            duration_ms: duration.as_secs_f64() * 1000.0,
            downstream_ms: 0.0,
            emails: emails
                - self
                    .emails_seen
                    .swap(emails, std::sync::atomic::Ordering::SeqCst),
            per: 1,
            own_items,
        };
        let metered = total(records).requests;
        assert_eq!(
            row.counted_requests, metered,
            "{what}: the interceptor counted {} requests, the proxy priced {metered}",
            row.counted_requests
        );
        row
    }

    /// Stops the stack's clock at `when`, once the sender has handled what earlier steps
    /// caused: each email then goes at the time of the step that caused it, however busy the
    /// machine (the stream hands records over a moment later, and by then a bare clock move
    /// would have moved the send too).
    pub async fn move_clock_to(&self, when: &str) {
        self.stack.settle().await;
        self.stack.stop_clock_at(at(when));
    }

    pub async fn post(&self, route: &str, body: &Value) {
        let answer = self.stack.post(route, body).await;
        assert_eq!(answer.status, 200, "{route}: {}", answer.body);
    }

    async fn post_form(&self, path: &str, form: &[(&str, &str)]) {
        let answer = self.stack.post_form(path, form).await;
        assert!(
            answer.status < 400,
            "{path}: {} {}",
            answer.status,
            answer.body
        );
    }
}

/// The canonical order example for `customer` (with `email`), order `order` placed `at`.
pub fn order(customer: &str, email: &str, order: &str, at: &str) -> Value {
    let mut body = example("order-placed");
    body["customer"]["id"] = json!(customer);
    body["customer"]["email"] = json!(email);
    body["order"]["id"] = json!(order);
    body["order"]["placed_at"] = json!(at);
    body["occurred_at"] = json!(at);
    body
}

fn with_customer(mut body: Value, customer: &str, order: Option<&str>) -> Value {
    body["customer"]["id"] = json!(customer);
    if let Some(order) = order {
        body["order"]["id"] = json!(order);
    }
    body
}

pub fn at(text: &str) -> jiff::Timestamp {
    text.parse().unwrap()
}

/// The events of the table, then the message lifecycles.
pub async fn events(bench: &Bench) -> (Vec<Row>, Vec<Row>) {
    let tag = unique("b");
    let schedule = bench
        .stack
        .app
        .schedule
        .clone()
        .expect("a stack with a schedule");
    let email = |name: &str| format!("{name}.{tag}@example.nl");
    let mut events = Vec::new();
    let mut lifecycle = Vec::new();
    // Deferred then sent: an order at 22:30 in Amsterdam, sent by the morning's pass.
    let cas = "cus-cas";
    bench.stack.stop_clock_at(at("2026-11-01T21:30:00Z"));
    let mut night = bench
        .measure(
            "order placed at night",
            Function::OrderPlaced,
            bench.post(
                "order-placed",
                &order(cas, &email("cas"), "NL-5", "2026-11-01T22:29:00+01:00"),
            ),
        )
        .await;
    bench.stack.stop_clock_at(at("2026-11-02T07:30:00Z"));
    let morning = bench
        .measure("morning pass", Function::RunSchedule, async {
            trouw::handlers::run_schedule::run_pass(&schedule)
                .await
                .expect("a pass");
        })
        .await;
    let deferred = night.downstream.remove("send-messages").unwrap_or_default();
    let mut own = morning.own.clone();
    for part in [&deferred, &morning.downstream_total()] {
        own.requests += part.requests;
        own.read_units += part.read_units;
        own.write_units += part.write_units;
        own.index_write_units += part.index_write_units;
    }
    lifecycle.push(Row {
        what: "deferred, then sent by a pass".into(),
        function: "send-messages".into(),
        own,
        downstream: BTreeMap::new(),
        counted_requests: 0,
        duration_ms: 0.0,
        downstream_ms: 0.0,
        emails: morning.emails,
        per: 1,
        own_items: BTreeMap::new(),
    });

    // 11:00 in Amsterdam: outside quiet hours.
    bench.stack.stop_clock_at(at("2026-11-02T10:00:00Z"));

    let anna = "cus-anna";
    let placed = order(anna, &email("anna"), "NL-1", "2026-11-02T09:14:03+01:00");
    let row = bench
        .measure(
            "order placed, new customer",
            Function::OrderPlaced,
            bench.post("order-placed", &placed),
        )
        .await;
    let sent = Row {
        what: "sent (claim, send, finish)".into(),
        function: "send-messages".into(),
        own: row
            .downstream
            .get("send-messages")
            .cloned()
            .unwrap_or_default(),
        downstream: BTreeMap::new(),
        counted_requests: 0,
        duration_ms: row.downstream_ms,
        downstream_ms: 0.0,
        emails: row.emails,
        per: 1,
        own_items: BTreeMap::new(),
    };
    events.push(row);
    lifecycle.push(sent);

    let reports = ses_reports(bench, anna).await;
    let row = bench
        .measure(
            "two SES reports (delivery, open)",
            Function::SesEvents,
            async {
                for report in &reports {
                    let outcome = trouw_local::events::SesRule::for_stack(&bench.stack.table)
                        .unwrap()
                        .publish(&feedback(&bench.stack), report.clone())
                        .await;
                    outcome
                        .expect("the rule matches")
                        .expect("the report is recorded");
                }
            },
        )
        .await;
    lifecycle.push(row);

    bench.stack.stop_clock_at(at("2026-11-09T10:00:00Z"));
    let repeat = order(anna, &email("anna"), "NL-2", "2026-11-09T09:00:00+01:00");
    events.push(
        bench
            .measure(
                "order placed, repeat customer",
                Function::OrderPlaced,
                bench.post("order-placed", &repeat),
            )
            .await,
    );
    let delivered = with_customer(example("order-delivered"), anna, Some("NL-1"));
    events.push(
        bench
            .measure(
                "delivered",
                Function::OrderDelivered,
                bench.post("order-delivered", &delivered),
            )
            .await,
    );
    let partial = with_customer(example("order-returned"), anna, Some("NL-1"));
    events.push(
        bench
            .measure(
                "partial return",
                Function::OrderReturned,
                bench.post("order-returned", &partial),
            )
            .await,
    );
    let mut full = with_customer(example("order-returned"), anna, Some("NL-2"));
    full["order"]["refund_total"] = json!("64.85");
    full["order"]["returned_at"] = json!("2026-11-09T09:30:00+01:00");
    full["occurred_at"] = json!("2026-11-09T09:31:00+01:00");
    full["order"]["lines"] =
        json!([{ "sku": "TP-075", "quantity": 3 }, { "sku": "EB-200", "quantity": 1 }]);
    events.push(
        bench
            .measure(
                "full return",
                Function::OrderReturned,
                bench.post("order-returned", &full),
            )
            .await,
    );
    let mut same = with_customer(example("address-changed"), anna, None);
    same["customer"]["email"] = json!(email("anna"));
    same["customer"]["address"] = placed["customer"]["address"].clone();
    events.push(
        bench
            .measure(
                "address changed, no move",
                Function::AddressChanged,
                bench.post("address-changed", &same),
            )
            .await,
    );
    let mut moved = with_customer(example("address-changed"), anna, None);
    moved["customer"]["email"] = json!(email("anna"));
    events.push(
        bench
            .measure(
                "address changed, moved",
                Function::AddressChanged,
                bench.post("address-changed", &moved),
            )
            .await,
    );

    // A Shopify customer, then a customers/update that changes nothing stored.
    let answer = bench
        .stack
        .post_shopify(
            "order-placed",
            "orders/create",
            &fixture("shopify/orders-create.json"),
        )
        .await;
    assert_eq!(answer.status, 200, "shopify orders/create: {}", answer.body);
    bench.stack.settle().await;
    let update = fixture("shopify/customers-update-same-address.json");
    events.push(
        bench
            .measure(
                "Shopify customers/update, nothing changed",
                Function::AddressChanged,
                async {
                    let answer = bench
                        .stack
                        .post_shopify("address-changed", "customers/update", &update)
                        .await;
                    assert_eq!(answer.status, 200, "customers/update: {}", answer.body);
                },
            )
            .await,
    );

    let survey = trouw::mail::LinkKey::new(LINK_SECRET).survey_token(
        &bench.stack.shop,
        &CustomerId::parse(anna).unwrap(),
        &OrderId::parse("NL-1").unwrap(),
    );
    let path = format!("/s/{survey}");
    events.push(
        bench
            .measure(
                "one survey answer",
                Function::CustomerLinks,
                bench.post_form(&path, &[("score", "9"), ("comment", "")]),
            )
            .await,
    );

    // Skipped by the gate: a customer who opted out of everything orders again.
    let ben = "cus-ben";
    bench
        .post(
            "order-placed",
            &order(ben, &email("ben"), "NL-3", "2026-11-09T09:10:00+01:00"),
        )
        .await;
    bench.stack.settle().await;
    let unsubscribe = trouw::mail::LinkKey::new(LINK_SECRET)
        .unsubscribe_token(&bench.stack.shop, &CustomerId::parse(ben).unwrap());
    bench
        .post_form(&format!("/u/{unsubscribe}"), &[("scope", "all")])
        .await;
    let mut row = bench
        .measure(
            "order placed, opted-out customer",
            Function::OrderPlaced,
            bench.post(
                "order-placed",
                &order(ben, &email("ben"), "NL-4", "2026-11-09T09:20:00+01:00"),
            ),
        )
        .await;
    // A message the gate refuses for good is recorded SKIPPED by the webhook that creates it:
    // its price is that item's write (and whatever the sender still spends on it).
    let mut skipped = row.downstream.remove("send-messages").unwrap_or_default();
    let (units, index_units) = row.own_items.get("MSG").copied().unwrap_or_default();
    skipped.write_units += units;
    skipped.index_write_units += index_units;
    lifecycle.push(Row {
        what: "skipped by the gate (its creation included)".into(),
        function: "send-messages".into(),
        own: skipped,
        downstream: std::mem::take(&mut row.downstream),
        counted_requests: 0,
        duration_ms: 0.0,
        downstream_ms: 0.0,
        emails: row.emails,
        per: 1,
        own_items: BTreeMap::new(),
    });

    // One schedule pass, per due item: months later, every timer of these customers is due.
    bench.stack.stop_clock_at(at("2027-04-01T10:00:00Z"));
    let mut due = 0;
    let mut row = bench
        .measure(
            "schedule pass, per due item",
            Function::RunSchedule,
            async {
                due = trouw::handlers::run_schedule::run_pass(&schedule)
                    .await
                    .expect("a pass")
                    .due_items_read;
            },
        )
        .await;
    row.per = due.max(1);
    events.push(row);
    (events, lifecycle)
}

pub fn feedback(stack: &TestStack) -> trouw::handlers::ses_events::FeedbackApp {
    trouw::handlers::ses_events::FeedbackApp {
        store: stack.store_as(Function::SesEvents),
    }
}

/// A delivery and an open report on `customer`'s sent message, as SES publishes them.
pub async fn ses_reports(bench: &Bench, customer: &str) -> Vec<Value> {
    let stack = &bench.stack;
    let id = CustomerId::parse(customer).unwrap();
    let messages = stack.store().messages(&stack.shop, &id).await.unwrap();
    let message = messages
        .iter()
        .find(|m| m.ses_message_id.is_some())
        .expect("a sent message");
    let key = &message.intent.key;
    let tags = json!({
        "ses:configuration-set": [trouw_local::events::configuration_set(&stack.table).unwrap()],
        "ses:caller-identity": ["send-messages"],
        "shop": [stack.shop.to_string()],
        "kind": [message.intent.data.kind()],
        "message": [trouw::mail::ses::tag_value(key)],
        "customer": [customer],
        "locale": ["nl"],
        "ref": [trouw::mail::ses::tag_value(&trouw::mail::ses::message_ref(&stack.shop, &id, key))]
    });
    let mail = json!({
        "timestamp": "2026-11-02T10:00:00.123Z",
        "source": "winkel@demo.trouw.test",
        "messageId": message.ses_message_id.clone().unwrap(),
        "destination": ["customer@example.nl"],
        "tags": tags
    });
    let delivery = json!({ "eventType": "Delivery", "mail": mail, "delivery": { "timestamp": "2026-11-02T10:00:02Z", "recipients": ["customer@example.nl"], "smtpResponse": "250 ok" } });
    let open = json!({ "eventType": "Open", "mail": mail, "open": { "timestamp": "2026-11-02T11:00:00Z", "userAgent": "Mozilla/5.0", "ipAddress": "192.0.2.1" } });
    [delivery, open]
        .into_iter()
        .map(|detail| trouw_local::events::ses_envelope(detail, at("2026-11-02T11:00:01Z")))
        .collect()
}

/// The schedule pass as the table grows: `sizes` customers in all, each with a timer that is
/// not due yet (copies of a real due-index item, seeded with `BatchWriteItem`), nothing else
/// due. The pass reads only what is due, so its reads must not grow with the table.
pub async fn pass_scale(events: &Bench, sizes: &[usize]) -> Vec<PassScale> {
    let template = timer_item(&events.stack).await;
    let bench = Bench::start_with(false).await;
    let stack = &bench.stack;
    let schedule = stack.schedule(stack.clock(), None).await;
    let mut seeded = 0;
    let mut results = Vec::new();
    for &size in sizes {
        let started = Instant::now();
        let mut batch = Vec::new();
        for n in seeded..size {
            let mut item = template.clone();
            let pk = format!("SHOP#{}#CUST#bench-{n}", stack.shop);
            item.insert("pk".into(), aws_sdk_dynamodb::types::AttributeValue::S(pk));
            // Due over the coming year, spread over the eight shards.
            let due_at = at("2028-01-01T00:00:00Z").as_second() + (n as i64 * 317) % 31_536_000;
            item.insert(
                "due_at".into(),
                aws_sdk_dynamodb::types::AttributeValue::N(due_at.to_string()),
            );
            item.insert(
                "due_shard".into(),
                aws_sdk_dynamodb::types::AttributeValue::S(format!("DUE#{}", n % 8)),
            );
            batch.push(item);
            if batch.len() == 25 || n + 1 == size {
                stack.seed(std::mem::take(&mut batch)).await;
            }
        }
        seeded = size;
        let seeded_in_s = started.elapsed().as_secs_f64();
        bench.proxy.take();
        let counted = stack.requests.get();
        let due = trouw::handlers::run_schedule::run_pass(&schedule)
            .await
            .expect("a pass")
            .due_items_read;
        let records = bench.proxy.take();
        assert_eq!(stack.requests.get() - counted, records.len());
        let pass = per_function(&records)
            .remove(Function::RunSchedule.binary())
            .unwrap_or_default();
        results.push(PassScale {
            customers: size,
            due: 0,
            requests: pass.requests,
            read_units: pass.read_units,
            due_items_read: due,
            seeded_in_s,
        });
    }
    results
}

/// An item of the due index as the store writes it (a customer's timer or deferred message).
async fn timer_item(stack: &TestStack) -> crate::Item {
    stack
        .snapshot()
        .await
        .into_iter()
        .find(|item| item.contains_key("due_shard") && item.contains_key("due_at"))
        .expect("the events left an item in the due index")
}
