//! DynamoDB's transaction rules hold on the local stack, whose moto wrapper undoes only the
//! items a transaction touched (infra/local/moto_fast.py): a transaction whose last condition
//! fails leaves every item, every index and the table's stream exactly as before; one that
//! commits moves its items between index partitions and writes one stream record per item.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update,
};
use trouw_local::table::TableDefinition;
use trouw_tests::{Item, local_aws, unique};

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn item(pairs: &[(&str, AttributeValue)]) -> Item {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn key(pk: &str, sk: &str) -> Item {
    item(&[("pk", s(pk)), ("sk", s(sk))])
}

struct Table {
    dynamo: Client,
    streams: aws_sdk_dynamodbstreams::Client,
    name: String,
    pk: String,
    shard: String,
    day: String,
}

/// A table from the template with three items of one customer: A in the due index, B in the
/// log index, C carrying the value the transaction's last condition checks.
async fn table() -> Table {
    let sdk = local_aws().sdk_config().await;
    let dynamo = Client::new(&sdk);
    let streams = aws_sdk_dynamodbstreams::Client::new(&sdk);
    let name = unique("trouw-tx");
    TableDefinition::from_repository()
        .unwrap()
        .create(&dynamo, &name)
        .await
        .unwrap();
    let pk = unique("SHOP#tx#CUST");
    let shard = unique("DUE");
    let day = unique("SHOP#tx#2026-11-02");
    let t = Table {
        dynamo,
        streams,
        name,
        pk,
        shard,
        day,
    };
    for (sk, extra) in [
        (
            "A",
            vec![("due_shard", s(&t.shard)), ("due_at", n(100)), ("n", n(1))],
        ),
        ("B", vec![("log_day", s(&t.day)), ("log_at", n(5))]),
        ("C", vec![("v", n(1))]),
    ] {
        let mut it = key(&t.pk, sk);
        it.extend(extra.into_iter().map(|(k, v)| (k.to_owned(), v)));
        t.dynamo
            .put_item()
            .table_name(&t.name)
            .set_item(Some(it))
            .send()
            .await
            .unwrap();
    }
    t
}

/// Everything a reader can see of the customer: each item as stored, and the keys the due and
/// log indexes list.
#[derive(Debug, PartialEq)]
struct Seen {
    items: Vec<Option<Item>>,
    due: Vec<String>,
    log: Vec<String>,
}

impl Table {
    /// The event names of every record in the table's stream, oldest first.
    async fn stream(&self) -> Vec<String> {
        let table = self
            .dynamo
            .describe_table()
            .table_name(&self.name)
            .send()
            .await
            .unwrap();
        let arn = table
            .table()
            .unwrap()
            .latest_stream_arn()
            .unwrap()
            .to_owned();
        trouw_local::stream::read_all(&self.streams, &arn, None)
            .await
            .unwrap()
            .iter()
            .map(|r| r.event_name().unwrap().as_str().to_owned())
            .collect()
    }

    async fn seen(&self) -> Seen {
        let mut items = Vec::new();
        for sk in ["A", "B", "C", "D"] {
            let got = self
                .dynamo
                .get_item()
                .table_name(&self.name)
                .set_key(Some(key(&self.pk, sk)))
                .consistent_read(true)
                .send()
                .await
                .unwrap();
            items.push(got.item);
        }
        let due = self
            .index_keys(
                "due",
                "due_shard = :p AND due_at <= :t",
                &[(":p", s(&self.shard)), (":t", n(1_000))],
            )
            .await;
        let log = self
            .index_keys(
                trouw::store::keys::BY_DAY_INDEX,
                "log_day = :p",
                &[(":p", s(&self.day))],
            )
            .await;
        Seen { items, due, log }
    }

    async fn index_keys(
        &self,
        index: &str,
        condition: &str,
        values: &[(&str, AttributeValue)],
    ) -> Vec<String> {
        let mut query = self
            .dynamo
            .query()
            .table_name(&self.name)
            .index_name(index)
            .key_condition_expression(condition);
        for (name, value) in values {
            query = query.expression_attribute_values(*name, value.clone());
        }
        let answer = query.send().await.unwrap();
        answer
            .items()
            .iter()
            .map(|i| i["sk"].as_s().unwrap().clone())
            .collect()
    }

    /// Creates D (in both indexes), moves A out of the due index, deletes B, and last checks
    /// that C's `v` is `expected`.
    async fn transaction(&self, expected: i64) -> Result<(), TransactWriteItemsError> {
        let mut d = key(&self.pk, "D");
        d.extend([
            ("due_shard".to_owned(), s(&self.shard)),
            ("due_at".to_owned(), n(50)),
            ("log_day".to_owned(), s(&self.day)),
            ("log_at".to_owned(), n(9)),
        ]);
        let put = Put::builder()
            .table_name(&self.name)
            .set_item(Some(d))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .unwrap();
        let update = Update::builder()
            .table_name(&self.name)
            .set_key(Some(key(&self.pk, "A")))
            .update_expression("SET n = n + :one REMOVE due_shard, due_at")
            .expression_attribute_values(":one", n(1))
            .build()
            .unwrap();
        let delete = Delete::builder()
            .table_name(&self.name)
            .set_key(Some(key(&self.pk, "B")))
            .build()
            .unwrap();
        let check = ConditionCheck::builder()
            .table_name(&self.name)
            .set_key(Some(key(&self.pk, "C")))
            .condition_expression("v = :v")
            .expression_attribute_values(":v", n(expected))
            .build()
            .unwrap();
        self.dynamo
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(TransactWriteItem::builder().update(update).build())
            .transact_items(TransactWriteItem::builder().delete(delete).build())
            .transact_items(TransactWriteItem::builder().condition_check(check).build())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| e.into_service_error())
    }
}

#[tokio::test]
async fn a_transaction_whose_last_condition_fails_changes_no_item_index_or_stream_record() {
    let t = table().await;
    let before = t.seen().await;
    let stream_before = t.stream().await;
    assert_eq!(stream_before, ["INSERT", "INSERT", "INSERT"]);
    assert_eq!(before.due, ["A"]);
    assert_eq!(before.log, ["B"]);

    let err = t.transaction(2).await.expect_err("C's v is 1, not 2");
    let TransactWriteItemsError::TransactionCanceledException(cancel) = err else {
        panic!("expected a cancelled transaction, got {err:?}");
    };
    let codes: Vec<_> = cancel
        .cancellation_reasons()
        .iter()
        .map(|r| r.code().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(codes, ["None", "None", "None", "ConditionalCheckFailed"]);

    // D was never created, A is unchanged and still due, B is still there and logged, and
    // nothing of it reached the stream.
    assert_eq!(t.seen().await, before);
    assert_eq!(t.stream().await, stream_before);
}

#[tokio::test]
async fn a_committed_transaction_moves_its_items_between_index_partitions() {
    let t = table().await;
    t.transaction(1).await.expect("C's v is 1");
    assert_eq!(
        t.stream().await,
        ["INSERT", "INSERT", "INSERT", "INSERT", "MODIFY", "REMOVE"],
        "the three seeded items, then D created, A changed, B deleted; nothing for the check"
    );
    let after = t.seen().await;
    assert_eq!(after.due, ["D"], "A left the due index, D entered it");
    assert_eq!(after.log, ["D"], "B was deleted, D was logged");
    assert!(after.items[1].is_none(), "B deleted");
    assert_eq!(after.items[0].as_ref().unwrap()["n"], n(2));
    assert!(!after.items[0].as_ref().unwrap().contains_key("due_at"));
}
