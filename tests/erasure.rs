//! Erasure (Shopify `customers/redact`): nothing personal is left in any item of the customer
//! or in the log index, counts and statuses stay; a customer with more items than one
//! transaction holds is erased in version-checked steps, a write racing the erasure is kept
//! without bringing anything personal back, and an erasure that died halfway is finished by
//! the platform's retry.

use aws_sdk_dynamodb::types::AttributeValue;
use trouw::domain::{
    Currency, CustomerId, DeliveryReport, DeliveryStatus, EventId, MessageClass, MessageData,
    MessageIntent, Money, Order, OrderId, OrderLine, OrderStatus, PlacedOrder, Sku,
};
use trouw::store::{MessageOutcome, MessageRecord, MessageStatus, keys};
use trouw_local::functions::Function;
use trouw_tests::fault::{Fault, FaultProxy};
use trouw_tests::{
    Item, LOYALTY_API_KEY, SHOPIFY_SECRET, StackOptions, TestStack, fixture, local_aws, unique,
};

const CUSTOMER: &str = "7390412345678";
/// Orders seeded beside the fixture's: more than one transaction holds.
const SEEDED: usize = 150;
const ORDER: &str = "5912345678901";
/// An order of the customer's that trouw has not seen (its refund came first).
const UNSEEN_ORDER: u64 = 5912345678999;
/// Everything personal the fixtures and the seeded items say about the customer. The postal
/// code as stored (compact) and as sent; a bare "1016" would also match times and hashes.
const PERSONAL: [&str; 10] = [
    "anna.devries",
    "Anna",
    "Prinsengracht",
    "1016GV",
    "1016 GV",
    "Tandpasta",
    "Tandenborstel",
    "naar zeep",
    "de Vries",
    "+31612345678",
];

fn customer() -> CustomerId {
    CustomerId::parse(CUSTOMER).unwrap()
}

/// The customer's profile and orders, read past any fault proxy.
async fn stored(stack: &TestStack) -> (Option<trouw::domain::CustomerProfile>, Vec<Order>) {
    trouw::store::Store::new(stack.dynamo.clone(), &stack.table)
        .customer(&stack.shop, &customer())
        .await
        .unwrap()
}

use trouw_tests::shopify_fixture as shopify;

/// Posts `customers/redact` with a given event id (a platform's retry repeats it).
async fn redact(stack: &TestStack, event_id: &str) -> trouw_local::client::Answer {
    stack
        .send(stack.shopify_request(
            "address-changed",
            "customers/redact",
            &fixture("shopify/customers-redact.json"),
            SHOPIFY_SECRET,
            event_id,
        ))
        .await
}

fn keyed(mut item: Item, key: &keys::Key, kind: &str) -> Item {
    item.extend(key.to_item());
    item.insert("item".into(), AttributeValue::S(kind.into()));
    item
}

/// An order of the customer with product names, as the store keeps one.
fn named_order(stack: &TestStack, id: &str) -> Item {
    let mut order = Order::empty(OrderId::parse(id).unwrap());
    order.placed = Some(PlacedOrder {
        id: order.id.clone(),
        placed_at: "2026-10-01T10:00:00Z".parse().unwrap(),
        discount_codes: Vec::new(),
        total: Money::new(1295, Currency::EUR),
        lines: vec![OrderLine {
            sku: Sku::parse("TP-075").unwrap(),
            name: Some("Tandpasta mint 75 ml".into()),
            category: Some("mondverzorging".into()),
            quantity: 1,
            unit_price: Some(Money::new(1295, Currency::EUR)),
            replenish_after_days: None,
            contract: None,
        }],
    });
    order.status = OrderStatus::Delivered;
    order.points_earned = 12;
    order.survey_comment = Some("Anna hier: de tandpasta smaakte naar zeep".into());
    keyed(
        serde_dynamo::to_item(&order).unwrap(),
        &keys::order(&stack.shop, &customer(), &order.id),
        "order",
    )
}

/// A message of the customer as the sender and SES leave it, in the log index.
fn message(data: MessageData, status: MessageStatus, cause: &str) -> MessageRecord {
    let created_at = jiff::Timestamp::now();
    let intent = MessageIntent {
        key: format!("{}#{cause}", data.kind()),
        customer_id: customer(),
        class: data.class(),
        locale: None,
        data,
        created_at,
    };
    MessageRecord {
        status,
        ..MessageRecord::pending_for(
            &trouw::domain::ShopId::parse("placeholder").unwrap(),
            EventId::parse(format!("seed-{cause}")).unwrap(),
            &intent,
        )
    }
}

fn message_item(stack: &TestStack, mut record: MessageRecord) -> Item {
    record.shop = stack.shop.clone();
    trouw::store::message_item(&record).unwrap()
}

/// Messages that hold each kind of personal text: a detractor's comment quoted to the shop, a
/// subject greeting the customer by name, SES's report and rejection texts, product names.
fn personal_messages(stack: &TestStack) -> Vec<Item> {
    let order_id = OrderId::parse(ORDER).unwrap();
    let mut alert = message(
        MessageData::DetractorAlert {
            order_id: order_id.clone(),
            customer_id: customer(),
            score: 3,
            comment: Some("Anna hier: de tandpasta smaakte naar zeep".into()),
        },
        MessageStatus::Sent,
        ORDER,
    );
    alert.subject = Some("Ontevreden klant Anna de Vries: score 3".into());
    alert.sent_at = Some(jiff::Timestamp::now());
    alert.ses_message_id = Some("ses-alert".into());
    alert.reports = vec![DeliveryReport {
        status: DeliveryStatus::Delivered,
        at: jiff::Timestamp::now(),
        detail: Some("250 2.0.0 OK anna.devries@example.nl".into()),
        permanent: false,
    }];
    alert.delivery_status = Some(DeliveryStatus::Delivered);

    let mut tip = message(
        MessageData::CareTip {
            order_id: order_id.clone(),
            category: "apparaten".into(),
            title: "Je Elektrische Tandenborstel langer mee".into(),
            text: "Spoel de opzetborstel van je tandenborstel na elk gebruik.".into(),
        },
        MessageStatus::Failed,
        &format!("{ORDER}#1"),
    );
    tip.error = Some("MessageRejected: anna.devries@example.nl is on the suppression list".into());

    let mut promoter = message(
        MessageData::SurveyPromoter {
            order_id,
            review_url: None,
        },
        MessageStatus::Sent,
        &format!("{ORDER}#old"),
    );
    promoter.subject = Some("Dank je wel, Anna!".into());
    promoter.sent_at = Some(jiff::Timestamp::now());
    [alert, tip, promoter]
        .into_iter()
        .map(|m| message_item(stack, m))
        .collect()
}

/// A replenishment reminder, waiting for the sender.
fn pending_reminder(stack: &TestStack) -> Item {
    message_item(
        stack,
        message(
            MessageData::Replenishment {
                order_id: OrderId::parse(ORDER).unwrap(),
                sku: Sku::parse("TP-075").unwrap(),
                product_name: Some("Tandpasta mint 75 ml".into()),
                quantity: 3,
                run_out_on: "2027-01-20".into(),
            },
            MessageStatus::Pending,
            &format!("{ORDER}#TP-075"),
        ),
    )
}

/// Every item of the customer's partition, read consistently.
async fn partition(stack: &TestStack) -> Vec<Item> {
    let pk = keys::profile(&stack.shop, &customer()).pk;
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let out = stack
            .dynamo
            .query()
            .table_name(&stack.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        items.extend(out.items.unwrap_or_default());
        start = out.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    items
}

/// The items the log index (`by_day_v2`, keys only) lists for the customer today and yesterday
/// (UTC), as the pages read them.
async fn log_entries(stack: &TestStack) -> Vec<Item> {
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date();
    let pk = keys::profile(&stack.shop, &customer()).pk;
    let mut items = Vec::new();
    for day in [today.yesterday().unwrap(), today] {
        let mut start = None;
        loop {
            let out = stack
                .dynamo
                .query()
                .table_name(&stack.table)
                .index_name(keys::BY_DAY_INDEX)
                .key_condition_expression("log_day = :day")
                .expression_attribute_values(
                    ":day",
                    AttributeValue::S(keys::log_day(&stack.shop, day)),
                )
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap();
            items.extend(
                out.items
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|i| i.get("pk").and_then(|v| v.as_s().ok()) == Some(&pk)),
            );
            start = out.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
    }
    let mut listed = Vec::new();
    for key in items {
        let key: Item = key
            .into_iter()
            .filter(|(name, _)| name == "pk" || name == "sk")
            .collect();
        let got = stack
            .dynamo
            .get_item()
            .table_name(&stack.table)
            .set_key(Some(key))
            .send()
            .await
            .unwrap();
        listed.extend(got.item);
    }
    listed
}

fn assert_nothing_personal(items: &[Item], what: &str) {
    for item in items {
        let text = format!("{item:?}");
        for personal in PERSONAL {
            assert!(
                !text.contains(personal),
                "{what}: {personal:?} is still in {:?} {:?}",
                item.get("pk"),
                item.get("sk")
            );
        }
    }
}

/// Kind and status of every message, kinds of activities: what the statistics count.
fn counted(items: &[Item]) -> Vec<String> {
    let mut counted: Vec<String> = items
        .iter()
        .filter_map(|i| {
            let kind = i.get("item")?.as_s().ok()?;
            match kind.as_str() {
                "message" => Some(format!(
                    "message {} {:?} {:?}",
                    i.get("sk")?.as_s().ok()?,
                    i.get("status")?.as_s().ok()?,
                    i.get("delivery_status").and_then(|v| v.as_s().ok()),
                )),
                "activity" => Some(format!(
                    "activity {} {:?}",
                    i.get("sk")?.as_s().ok()?,
                    i.get("activity")?.as_s().ok()?
                )),
                _ => None,
            }
        })
        .collect();
    counted.sort();
    counted
}

#[tokio::test]
async fn erasure_leaves_nothing_personal_in_any_item_of_the_customer_and_keeps_the_counts() {
    let stack = TestStack::start().await;
    shopify(
        &stack,
        "order-placed",
        "orders/create",
        "orders-create.json",
    )
    .await;
    shopify(
        &stack,
        "order-returned",
        "refunds/create",
        "refunds-create-partial.json",
    )
    .await;
    // A refund, with a note naming the customer, of an order trouw has not seen yet: parked.
    let mut early =
        serde_json::from_slice::<serde_json::Value>(&fixture("shopify/refunds-create-full.json"))
            .unwrap();
    early["id"] = serde_json::json!(9600000000999_u64);
    early["order_id"] = serde_json::json!(UNSEEN_ORDER);
    early["note"] = serde_json::json!("Anna de Vries: de borstel deed pijn");
    let parked = stack
        .post_shopify(
            "order-returned",
            "refunds/create",
            early.to_string().as_bytes(),
        )
        .await;
    assert_eq!(parked.json()["status"], "parked", "{}", parked.body);
    let mut seeded = personal_messages(&stack);
    seeded.push(pending_reminder(&stack));
    stack.seed(seeded).await;
    let store = &stack.store_as(Function::SendMessages);
    // The sender claimed the reminder and is calling SES while the erasure runs.
    let reminder_key = format!("replenishment#{ORDER}#TP-075");
    let claim = trouw::store::ClaimToken::new();
    let claimed = store
        .claim_message(
            &stack.shop,
            &customer(),
            &reminder_key,
            &claim,
            jiff::Timestamp::now(),
        )
        .await
        .unwrap();
    assert!(claimed.is_some());

    let before = partition(&stack).await;
    assert!(
        format!("{before:?}").contains("Tandpasta") && format!("{before:?}").contains("Anna"),
        "the customer's items hold personal data before"
    );
    let (profile, _) = stack.customer(CUSTOMER).await;
    let points = profile.unwrap().loyalty.points_pending;
    let log_before = counted(&log_entries(&stack).await);
    assert!(log_before.len() >= 6, "{log_before:?}");

    let mut body =
        serde_json::from_slice::<serde_json::Value>(&fixture("shopify/customers-redact.json"))
            .unwrap();
    body["orders_to_redact"] = serde_json::json!([ORDER.parse::<u64>().unwrap(), UNSEEN_ORDER]);
    let answer = stack
        .send(stack.shopify_request(
            "address-changed",
            "customers/redact",
            body.to_string().as_bytes(),
            SHOPIFY_SECRET,
            &unique("redact"),
        ))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["status"], "erased");
    let still_parked = store
        .parked_events(
            &stack.shop,
            &OrderId::parse(UNSEEN_ORDER.to_string()).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        still_parked.len(),
        1,
        "the parked refund still counts later"
    );

    // What comes after the erasure: the sender's outcome (its rendered subject greets the
    // customer) and SES's report with its text.
    store
        .finish_message(
            &stack.shop,
            &customer(),
            &reminder_key,
            &claim,
            jiff::Timestamp::now(),
            &MessageOutcome::Sent {
                ses_message_id: "ses-reminder".into(),
                subject: "Anna, je Tandpasta is bijna op".into(),
                locale: "nl".into(),
                counts_for_cap: true,
                last_touch: true,
            },
            jiff::Timestamp::now(),
        )
        .await
        .unwrap();
    store
        .record_report(
            &stack.shop,
            &customer(),
            &reminder_key,
            &DeliveryReport {
                status: DeliveryStatus::Bounced,
                at: jiff::Timestamp::now(),
                detail: Some("550 5.1.1 anna.devries@example.nl: user unknown".into()),
                permanent: true,
            },
        )
        .await
        .unwrap();

    let after = partition(&stack).await;
    assert_eq!(after.len(), before.len(), "no item was removed");
    assert_nothing_personal(&after, "customer partition");
    assert!(
        after.iter().all(|i| !i.contains_key(keys::EMAIL_HASH)),
        "the address search no longer finds the customer"
    );
    assert_nothing_personal(&log_entries(&stack).await, "log index");
    // Everything else the customer left: the order-owner record and processed events.
    assert_nothing_personal(&stack.snapshot().await, "table");

    // The statistics keep their numbers: kinds, statuses, activities, points.
    let mut log_after = counted(&log_entries(&stack).await);
    let reminder = log_after
        .iter()
        .position(|c| c.contains("replenishment"))
        .unwrap();
    assert!(log_after[reminder].contains("\"SENT\"") && log_after[reminder].contains("bounced"));
    log_after.remove(reminder);
    let reminder = log_before
        .iter()
        .position(|c| c.contains("replenishment"))
        .unwrap();
    let mut log_before = log_before;
    log_before.remove(reminder);
    assert_eq!(log_after, log_before);
    let (profile, orders) = stack.customer(CUSTOMER).await;
    let profile = profile.unwrap();
    assert_eq!(profile.loyalty.points_pending, points);
    assert!(!profile.erasing);
    assert_eq!(orders[0].status, OrderStatus::PartiallyReturned);
    let messages = store.messages(&stack.shop, &customer()).await.unwrap();
    let alert = messages
        .iter()
        .find(|m| m.intent.data.kind() == "detractor-alert")
        .unwrap();
    assert_eq!(alert.status, MessageStatus::Sent);
    assert_eq!(alert.reports[0].status, DeliveryStatus::Delivered);
    assert!(matches!(
        alert.intent.data,
        MessageData::DetractorAlert { score: 3, .. }
    ));
    assert_eq!(alert.intent.class, MessageClass::Internal);
}

/// A customer with more orders than one transaction holds, seeded straight into the table.
async fn big_customer(stack: &TestStack, orders: usize) {
    shopify(stack, "order-placed", "orders/create", "orders-create.json").await;
    let mut items: Vec<Item> = (0..orders)
        .map(|i| named_order(stack, &format!("10000000{i:05}")))
        .collect();
    items.extend(personal_messages(stack));
    stack.seed(items).await;
}

fn named_orders(items: &[Item]) -> usize {
    items
        .iter()
        .filter(|i| {
            i.get("item")
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
                == Some("order")
        })
        .filter(|i| format!("{i:?}").contains("Tandpasta"))
        .count()
}

#[tokio::test]
async fn a_customer_with_hundreds_of_orders_is_erased_completely_and_once() {
    let stack = TestStack::start().await;
    big_customer(&stack, SEEDED).await;
    assert_eq!(named_orders(&partition(&stack).await), SEEDED + 1);
    let (profile, _) = stack.customer(CUSTOMER).await;
    let version = profile.unwrap().version;

    let event = unique("redact");
    let answer = redact(&stack, &event).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["status"], "erased");
    let after = partition(&stack).await;
    assert_eq!(named_orders(&after), 0);
    assert_nothing_personal(&after, "customer partition");
    let (profile, orders) = stack.customer(CUSTOMER).await;
    let profile = profile.unwrap();
    assert_eq!(orders.len(), SEEDED + 1);
    assert!(!profile.erasing, "the erasure finished");
    assert_eq!(
        profile.version,
        version + 2,
        "marked in the first step, unmarked in the last"
    );

    let snapshot = stack.snapshot().await;
    let again = redact(&stack, &event).await;
    assert_eq!(again.json()["status"], "duplicate", "{}", again.body);
    assert_eq!(
        stack.snapshot().await,
        snapshot,
        "a duplicate writes nothing"
    );
}

/// More than two transactions' worth: the steps between the first (which marks the profile)
/// and the last (which writes it) hold the profile's version with a condition check, so a
/// concurrent write stops the erasure rather than being overwritten. That check is its own IAM
/// action (`dynamodb:ConditionCheckItem`), which address-changed's policy must grant.
#[tokio::test]
async fn an_erasure_in_three_steps_finishes_and_bumps_the_version_twice() {
    let stack = TestStack::start().await;
    big_customer(&stack, 2 * SEEDED).await;
    let (profile, _) = stack.customer(CUSTOMER).await;
    let version = profile.unwrap().version;
    let answer = redact(&stack, &unique("redact")).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["status"], "erased");
    let after = partition(&stack).await;
    assert_eq!(named_orders(&after), 0);
    assert_nothing_personal(&after, "customer partition");
    let (profile, orders) = stack.customer(CUSTOMER).await;
    let profile = profile.unwrap();
    assert_eq!(orders.len(), 2 * SEEDED + 1);
    assert!(!profile.erasing, "the erasure finished");
    assert_eq!(profile.version, version + 2, "the middle step only checks");
}

#[tokio::test]
async fn a_write_during_an_erasure_is_kept_without_personal_data_and_a_retry_finishes_it() {
    let proxy = FaultProxy::start(&local_aws().endpoint).await;
    let stack = TestStack::start_with(StackOptions {
        dynamo_endpoint: Some(proxy.endpoint.clone()),
        dynamo_attempt_timeout: std::time::Duration::from_secs(20),
        ..Default::default()
    })
    .await;
    big_customer(&stack, SEEDED).await;

    // The first step commits, then DynamoDB throttles: the erasure stops halfway (503, the
    // platform retries later).
    proxy.set_after("TransactWriteItems", Fault::Throttle, 1);
    let event = unique("redact");
    let answer = redact(&stack, &event).await;
    assert_eq!(answer.status, 503, "{}", answer.body);
    proxy.clear();
    let (profile, _) = stored(&stack).await;
    let profile = profile.unwrap();
    assert!(profile.erasing && profile.contact.email().is_none());
    let halfway = partition(&stack).await;
    let left = named_orders(&halfway);
    assert!(
        left > 0 && left < SEEDED + 1,
        "halfway: {left} orders still named"
    );
    assert!(
        format!(
            "{:?}",
            halfway.iter().find(
                |i| i.get("sk").and_then(|v| v.as_s().ok()) == Some(&format!("ORDER#{ORDER}"))
            )
        )
        .contains("Tandpasta"),
        "the refunded order is not erased yet"
    );

    // Meanwhile: a refund of an order the erasure has not reached, and a customer update.
    let refund = shopify(
        &stack,
        "order-returned",
        "refunds/create",
        "refunds-create-partial.json",
    )
    .await;
    assert_eq!(refund["status"], "processed", "{refund}");
    assert_eq!(refund["order_status"], "partially_returned");
    shopify(
        &stack,
        "address-changed",
        "customers/update",
        "customers-update-moved.json",
    )
    .await;
    let (profile, orders) = stored(&stack).await;
    let profile = profile.unwrap();
    assert!(profile.erasing && profile.contact.email().is_none());
    assert!(profile.addresses.current().is_none());
    let refunded = orders.iter().find(|o| o.id.as_str() == ORDER).unwrap();
    assert!(
        refunded
            .placed
            .as_ref()
            .unwrap()
            .lines
            .iter()
            .all(|l| l.name.is_none()),
        "the racing write stores the order erased"
    );
    let points = profile.loyalty.points_pending;

    // The platform's retry of the same delivery finishes the erasure.
    let retry = redact(&stack, &event).await;
    assert_eq!(retry.status, 200, "{}", retry.body);
    assert_eq!(retry.json()["status"], "erased");
    let after = partition(&stack).await;
    assert_eq!(named_orders(&after), 0);
    assert_nothing_personal(&after, "customer partition");
    let (profile, orders) = stored(&stack).await;
    let profile = profile.unwrap();
    assert!(!profile.erasing);
    assert_eq!(profile.loyalty.points_pending, points, "the refund is kept");
    let refunded = orders.iter().find(|o| o.id.as_str() == ORDER).unwrap();
    assert_eq!(refunded.status, OrderStatus::PartiallyReturned);
    assert!(refunded.points_reversed > 0);
    assert_eq!(redact(&stack, &event).await.json()["status"], "duplicate");
}

/// A loyalty API call with the shop's key.
async fn loyalty(
    stack: &TestStack,
    method: &str,
    path: &str,
    key: &str,
    body: serde_json::Value,
) -> trouw_local::client::Answer {
    let request = http::Request::builder()
        .method(method)
        .uri(format!("{}/loyalty/{}/{path}", stack.base_url, stack.shop))
        .header("authorization", format!("Bearer {LOYALTY_API_KEY}"))
        .header("idempotency-key", key)
        .body(http_body_util::Full::new(bytes::Bytes::from(
            body.to_string(),
        )))
        .unwrap();
    stack.send(request).await
}

#[tokio::test]
async fn erasure_takes_the_adjustment_reasons_and_redemption_codes_and_keeps_the_points() {
    let stack = TestStack::start().await;
    shopify(
        &stack,
        "order-placed",
        "orders/create",
        "orders-create.json",
    )
    .await;
    let reason = "Anna de Vries belde: pakket kwijt, adres anna.devries@example.nl";
    let adjusted = loyalty(
        &stack,
        "POST",
        &format!("customers/{CUSTOMER}/adjustments"),
        "goodwill-1",
        serde_json::json!({ "points": 600, "reason": reason }),
    )
    .await;
    assert_eq!(adjusted.status, 201, "{}", adjusted.body);
    let added = loyalty(
        &stack,
        "POST",
        "rewards/r5/codes",
        "codes-1",
        serde_json::json!({ "codes": ["SPRING5-Q7W2"] }),
    )
    .await;
    assert_eq!(added.status, 200, "{}", added.body);
    let redeemed = loyalty(
        &stack,
        "POST",
        &format!("customers/{CUSTOMER}/redemptions"),
        "checkout-1",
        serde_json::json!({ "reward": "r5" }),
    )
    .await;
    assert_eq!(redeemed.status, 201, "{}", redeemed.body);
    let redemption = redeemed.json()["id"].as_str().unwrap().to_owned();
    let registry = keys::code_registry(&stack.shop, "SPRING5-Q7W2");
    let leads = |items: &[Item]| {
        items.iter().any(|i| {
            keys::Key::of_item(i).as_ref() == Some(&registry)
                && format!("{i:?}").contains(&redemption)
        })
    };
    let before = stack.snapshot().await;
    assert!(
        leads(&before),
        "the registry leads from the code to the redemption"
    );
    assert!(format!("{before:?}").contains("pakket kwijt"));

    let answer = redact(&stack, &unique("redact")).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["status"], "erased");

    let after = stack.snapshot().await;
    assert_eq!(
        after.len(),
        before.len() + 1,
        "no item was removed; the erasure's processed-event record was added"
    );
    assert!(
        !leads(&after),
        "the registry no longer leads to the redemption"
    );
    let own_partition = keys::profile(&stack.shop, &customer()).pk;
    for item in &after {
        let text = format!("{item:?}");
        for personal in ["anna.devries", "Anna", "de Vries", "pakket kwijt", reason] {
            assert!(
                !text.contains(personal),
                "{personal:?} is still in {:?} {:?}",
                item.get("pk"),
                item.get("sk")
            );
        }
        // Outside the customer's own items only the id-only records name the customer.
        let kind = item
            .get("item")
            .and_then(|v| v.as_s().ok())
            .map(String::as_str);
        let own = item.get("pk").and_then(|v| v.as_s().ok()) == Some(&own_partition);
        if !own && !matches!(kind, Some("order_owner" | "processed_event")) {
            assert!(
                !text.contains(CUSTOMER) && !text.contains(&redemption),
                "{:?} {:?} leads to the customer",
                item.get("pk"),
                item.get("sk")
            );
        }
    }
    let stored = stack
        .store()
        .redemption(&stack.shop, &customer(), &redemption)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.code, "", "the code is gone from the redemption");
    assert_eq!((stored.points_spent, stored.reward.as_str()), (500, "r5"));
    let (profile, _) = stored_profile(&stack).await;
    let balance = profile.loyalty.balance();
    assert_eq!(
        (balance.available, balance.spent),
        (100, 500),
        "the points stay"
    );
    assert!(stack.take_iam_denials().is_empty());
}

async fn stored_profile(stack: &TestStack) -> (trouw::domain::CustomerProfile, Vec<Order>) {
    let (profile, orders) = stored(stack).await;
    (profile.unwrap(), orders)
}

/// The customer's own words in an answer to one of the shop's questions are kept under the
/// question, outside the customer's partition: the erasure takes them out there too, and keeps
/// the choice so the answers page still counts it.
#[tokio::test]
async fn erasure_takes_the_words_of_the_customers_answers_and_keeps_the_choice() {
    let stack = TestStack::start().await;
    stack
        .update_shop(|s| {
            s.questions = vec![trouw::domain::questions::Question {
                id: "smaak".into(),
                category: "mondverzorging".into(),
                text: "Welke smaak zullen we erbij nemen?".into(),
                options: vec!["Munt".into(), "Kruiden".into()],
                free_text: true,
                active_from: None,
                active_until: None,
            }];
        })
        .await;
    shopify(
        &stack,
        "order-placed",
        "orders/create",
        "orders-create.json",
    )
    .await;
    // The customer was asked (as at a second order in the category).
    let store = stack.store();
    let mut profile = stored_profile(&stack).await.0;
    let read = profile.version;
    profile.questions_asked = vec!["smaak".into()];
    profile.version += 1;
    store
        .save_profile(&stack.shop, read, &profile)
        .await
        .unwrap();
    let token = trouw::mail::LinkKey::new(trouw_tests::LINK_SECRET).question_token(
        &stack.shop,
        &customer(),
        "smaak",
    );
    let words = "Anna de Vries, Prinsengracht 263: meer kruiden graag";
    let answered = stack
        .post_form(
            &format!("/q/{token}"),
            &[("option", "1"), ("free_text", words)],
        )
        .await;
    assert_eq!(answered.status, 200, "{}", answered.body);
    let kept = store.question_answers(&stack.shop, "smaak").await.unwrap();
    assert_eq!(kept[0].free_text.as_deref(), Some(words));

    let answer = redact(&stack, &unique("redact")).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let kept = store.question_answers(&stack.shop, "smaak").await.unwrap();
    assert_eq!(kept.len(), 1, "the answer still counts");
    assert_eq!((kept[0].option, kept[0].free_text.as_deref()), (1, None));
    let mut items = Vec::new();
    let pk = keys::question_answers(&stack.shop, "smaak");
    let out = stack
        .dynamo
        .query()
        .table_name(&stack.table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(pk))
        .send()
        .await
        .unwrap();
    items.extend(out.items.unwrap_or_default());
    assert_nothing_personal(&items, "answers");
    assert!(stack.take_iam_denials().is_empty());
}

/// A customer who bought a product twice is among its regular buyers; the erasure takes them
/// out of every product's index.
#[tokio::test]
async fn erasure_takes_the_customer_out_of_the_products_regular_buyers() {
    let stack = TestStack::start().await;
    shopify(
        &stack,
        "order-placed",
        "orders/create",
        "orders-create.json",
    )
    .await;
    let mut again =
        serde_json::from_slice::<serde_json::Value>(&fixture("shopify/orders-create.json"))
            .unwrap();
    again["id"] = serde_json::json!(5912345678777_u64);
    again["admin_graphql_api_id"] = serde_json::json!("gid://shopify/Order/5912345678777");
    again["name"] = serde_json::json!("#1077");
    again["order_number"] = serde_json::json!(1077);
    for field in ["created_at", "processed_at", "updated_at"] {
        again[field] = serde_json::json!("2026-12-20T10:00:00+01:00");
    }
    let answer = stack
        .post_shopify(
            "order-placed",
            "orders/create",
            again.to_string().as_bytes(),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let buyers = |sku: &'static str| {
        let store = stack.store();
        let shop = stack.shop.clone();
        async move {
            store
                .regular_buyers(&shop, &Sku::parse(sku).unwrap(), None, 10)
                .await
                .unwrap()
                .0
        }
    };
    assert_eq!(
        buyers("EB-200").await.len(),
        1,
        "bought twice: a regular buyer"
    );
    assert_eq!(buyers("TP-075").await.len(), 1);

    let answer = redact(&stack, &unique("redact")).await;
    assert_eq!(answer.json()["status"], "erased", "{}", answer.body);
    assert!(buyers("EB-200").await.is_empty());
    assert!(buyers("TP-075").await.is_empty());
}
