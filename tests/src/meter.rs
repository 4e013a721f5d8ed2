//! A metering proxy between the handlers and moto: what each DynamoDB request costs in read
//! and write units, computed from the very items it touched (moto's `ConsumedCapacity` is a
//! flat 1.0, and empty for transactions).
//!
//! For a write it reads every item the request names just before forwarding it and again just
//! after, and prices the change with [`trouw::store::capacity`]: the table's units (doubled in
//! a transaction) and each index write by the template's projections. Capturing the items
//! around each request, rather than diffing the table around a whole event, prices every write
//! even when one event writes an item twice (a message's claim, then its finish) or writes it
//! unchanged (which DynamoDB bills all the same). For a read it prices what DynamoDB would
//! have read: the whole item (or index entry) of every item in the answer, even when a
//! projection expression returned less. Requests pass one at a time, so the images are exact.
//! Whose request it was is read from the SigV4 credential: each function has its own key.

use crate::relay;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use bytes::Bytes;
use http_body_util::Full;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use trouw::store::capacity::{self, Consistency, Item, TableShape, WriteCost};

/// One DynamoDB request, priced.
#[derive(Debug, Clone)]
pub struct Metered {
    /// The function whose credential signed it (its access key if unknown).
    pub function: String,
    pub operation: String,
    /// The write units it cost, per item written.
    pub writes: Vec<WriteCost>,
    /// What each written item is (its sort key up to the first `#`: `PROFILE`, `MSG`,
    /// `EVENT`...), in the order of `writes`.
    pub items: Vec<String>,
    /// Per written item, the top-level attributes the write changed (what a write that
    /// "changes nothing" still changed).
    pub changed: Vec<Vec<String>>,
    pub read_units: f64,
    /// DynamoDB refused it (a failed condition, a cancelled transaction): it still costs.
    pub refused: bool,
}

impl Metered {
    pub fn write_units(&self) -> u64 {
        self.writes.iter().map(WriteCost::total).sum()
    }

    pub fn index_write_units(&self) -> u64 {
        self.writes.iter().map(WriteCost::index_total).sum()
    }
}

struct Shared {
    upstream: String,
    client: crate::client::HttpClient,
    /// The operator's client: the before and after images.
    dynamo: aws_sdk_dynamodb::Client,
    shape: TableShape,
    functions: Mutex<HashMap<String, String>>,
    records: Mutex<Vec<Metered>>,
    /// Time spent reading images and waiting for a turn: not the handler's.
    overhead: Mutex<std::time::Duration>,
    /// One request at a time, images included.
    turn: tokio::sync::Mutex<()>,
}

#[derive(Clone)]
pub struct MeterProxy {
    pub endpoint: String,
    shared: Arc<Shared>,
}

impl MeterProxy {
    pub async fn start(
        upstream: &str,
        dynamo: aws_sdk_dynamodb::Client,
        shape: TableShape,
    ) -> MeterProxy {
        let shared = Arc::new(Shared {
            upstream: upstream.to_owned(),
            client: crate::client::http_client(),
            dynamo,
            shape,
            functions: Mutex::default(),
            records: Mutex::default(),
            overhead: Mutex::default(),
            turn: tokio::sync::Mutex::new(()),
        });
        let serving = shared.clone();
        let endpoint = relay::serve_loopback(move |request| {
            let shared = serving.clone();
            async move { Ok::<_, std::convert::Infallible>(meter(&shared, request).await) }
        })
        .await;
        MeterProxy { endpoint, shared }
    }

    /// Names the functions by their access keys (the stack's identities).
    pub fn name_identities<'a>(
        &self,
        identities: impl IntoIterator<Item = &'a trouw_local::aws::FunctionIdentity>,
    ) {
        let mut functions = self.shared.functions.lock().unwrap();
        for identity in identities {
            functions.insert(
                identity.access_key.clone(),
                identity.function.binary().to_owned(),
            );
        }
    }

    /// The requests priced since the last call.
    pub fn take(&self) -> Vec<Metered> {
        std::mem::take(&mut *self.shared.records.lock().unwrap())
    }

    /// The time the proxy itself added to the handlers' requests since the last call (reading
    /// images, waiting for its turn): subtracted from a handler's measured duration.
    pub fn take_overhead(&self) -> std::time::Duration {
        std::mem::take(&mut *self.shared.overhead.lock().unwrap())
    }
}

/// Where one write lands: the item's key, and how it is billed.
struct Target {
    key: Item,
    transactional: bool,
    condition_check: bool,
}

async fn meter(
    shared: &Shared,
    request: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let operation = request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.rsplit('.').next())
        .unwrap_or("")
        .to_owned();
    let access_key = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|auth| auth.split("Credential=").nth(1))
        .and_then(|credential| credential.split('/').next())
        .unwrap_or("")
        .to_owned();
    let (parts, body) = request.into_parts();
    let body = relay::whole_body(body).await;
    let input: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);

    let arrived = std::time::Instant::now();
    let _turn = shared.turn.lock().await;
    let targets = write_targets(&shared.shape, &operation, &input);
    let mut before = Vec::with_capacity(targets.len());
    for target in &targets {
        before.push(current(shared, &input, &target.key).await);
    }

    let forwarded = std::time::Instant::now();
    let forwarding = relay::pass_on(&shared.client, &shared.upstream, &parts, body).await;
    let upstream_time = forwarded.elapsed();
    let Some((answer, answer_body)) = forwarding else {
        return relay::bad_gateway();
    };
    let respond = |answer: http::response::Parts, bytes: Bytes| {
        hyper::Response::from_parts(answer, Full::new(bytes))
    };
    let status = answer.status.as_u16();
    // Throttling and server errors change nothing and are not billed; a refused condition is.
    if status >= 500 || (status != 200 && !refused_but_billed(&answer_body)) {
        return respond(answer, answer_body);
    }
    let refused = status != 200;
    let mut writes = Vec::with_capacity(targets.len());
    let mut changed = Vec::with_capacity(targets.len());
    let items = targets.iter().map(|t| item_name(&t.key)).collect();
    for (target, before) in targets.iter().zip(&before) {
        let after = if refused {
            before.clone()
        } else {
            current(shared, &input, &target.key).await
        };
        changed.push(changed_attributes(before.as_ref(), after.as_ref()));
        writes.push(if target.condition_check {
            // A condition check is billed as a transactional write of the item it reads.
            WriteCost {
                table: 2 * capacity::write_units(
                    before.as_ref().map(capacity::item_size).unwrap_or(0),
                ),
                indexes: Vec::new(),
            }
        } else if refused {
            // A refused write pays the table for the item as it stands, no index.
            let mut cost =
                shared
                    .shape
                    .write_cost(before.as_ref(), before.as_ref(), target.transactional);
            cost.indexes.clear();
            cost
        } else {
            shared
                .shape
                .write_cost(before.as_ref(), after.as_ref(), target.transactional)
        });
    }
    let read_units = if refused {
        0.0
    } else {
        let output: Value = serde_json::from_slice(&answer_body).unwrap_or(Value::Null);
        read_units(shared, &operation, &input, &output).await
    };
    let function = shared
        .functions
        .lock()
        .unwrap()
        .get(&access_key)
        .cloned()
        .unwrap_or(access_key);
    *shared.overhead.lock().unwrap() += arrived.elapsed().saturating_sub(upstream_time);
    shared.records.lock().unwrap().push(Metered {
        function,
        operation,
        writes,
        items,
        changed,
        read_units,
        refused,
    });
    respond(answer, answer_body)
}

/// The top-level attributes that differ between two images of an item.
fn changed_attributes(before: Option<&Item>, after: Option<&Item>) -> Vec<String> {
    let empty = Item::new();
    let (before, after) = (before.unwrap_or(&empty), after.unwrap_or(&empty));
    let mut names: Vec<String> = before
        .keys()
        .chain(after.keys())
        .filter(|name| before.get(*name) != after.get(*name))
        .cloned()
        .collect();
    names.sort();
    names.dedup();
    names
}

/// An item's kind from its sort key (`MSG#welcome#...` is `MSG`).
fn item_name(key: &Item) -> String {
    let sk = key
        .get("sk")
        .and_then(|v| v.as_s().ok())
        .map(String::as_str);
    sk.and_then(|sk| sk.split('#').next())
        .unwrap_or("?")
        .to_owned()
}

/// DynamoDB bills a write whose condition failed, and a cancelled transaction.
fn refused_but_billed(answer: &Bytes) -> bool {
    let body = String::from_utf8_lossy(answer);
    body.contains("ConditionalCheckFailedException")
        || body.contains("TransactionCanceledException")
}

/// The items a write request names.
fn write_targets(shape: &TableShape, operation: &str, input: &Value) -> Vec<Target> {
    let target = |key: Item, transactional, condition_check| Target {
        key,
        transactional,
        condition_check,
    };
    match operation {
        "PutItem" => vec![target(key_of(shape, &input["Item"]), false, false)],
        "UpdateItem" | "DeleteItem" => vec![target(item(&input["Key"]), false, false)],
        "BatchWriteItem" => input["RequestItems"]
            .as_object()
            .into_iter()
            .flat_map(|tables| tables.values())
            .flat_map(|requests| requests.as_array().cloned().unwrap_or_default())
            .map(|request| {
                let key = if request["PutRequest"].is_object() {
                    key_of(shape, &request["PutRequest"]["Item"])
                } else {
                    item(&request["DeleteRequest"]["Key"])
                };
                target(key, false, false)
            })
            .collect(),
        "TransactWriteItems" => input["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|action| {
                if action["Put"].is_object() {
                    Some(target(key_of(shape, &action["Put"]["Item"]), true, false))
                } else if action["Update"].is_object() {
                    Some(target(item(&action["Update"]["Key"]), true, false))
                } else if action["Delete"].is_object() {
                    Some(target(item(&action["Delete"]["Key"]), true, false))
                } else if action["ConditionCheck"].is_object() {
                    Some(target(item(&action["ConditionCheck"]["Key"]), true, true))
                } else {
                    None
                }
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The table a request names (every request of the store names the one table).
fn table_of(input: &Value) -> Option<String> {
    if let Some(name) = input["TableName"].as_str() {
        return Some(name.to_owned());
    }
    for list in ["TransactItems"] {
        if let Some(first) = input[list].as_array().and_then(|a| a.first()) {
            for kind in ["Put", "Update", "Delete", "ConditionCheck", "Get"] {
                if let Some(name) = first[kind]["TableName"].as_str() {
                    return Some(name.to_owned());
                }
            }
        }
    }
    ["RequestItems"]
        .iter()
        .find_map(|k| input[*k].as_object().and_then(|t| t.keys().next().cloned()))
}

/// The item under `key` now (strongly consistent), as the operator reads it.
async fn current(shared: &Shared, input: &Value, key: &Item) -> Option<Item> {
    let table = table_of(input)?;
    shared
        .dynamo
        .get_item()
        .table_name(table)
        .set_key(Some(key.clone()))
        .consistent_read(true)
        .send()
        .await
        .ok()?
        .item
}

/// What a read request cost, from its answer.
async fn read_units(shared: &Shared, operation: &str, input: &Value, output: &Value) -> f64 {
    let consistency = if input["ConsistentRead"].as_bool() == Some(true) {
        Consistency::Strong
    } else {
        Consistency::Eventual
    };
    match operation {
        "GetItem" => {
            let size = match output["Item"].as_object() {
                Some(_) => full_size(shared, input, None, &output["Item"]).await,
                None => 0,
            };
            capacity::item_read_units([size], consistency)
        }
        "BatchGetItem" => {
            let mut units = 0.0;
            let requested = input["RequestItems"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            for (table, request) in requested {
                let consistency = if request["ConsistentRead"].as_bool() == Some(true) {
                    Consistency::Strong
                } else {
                    Consistency::Eventual
                };
                let asked = request["Keys"].as_array().map(Vec::len).unwrap_or(0);
                let unprocessed = output["UnprocessedKeys"][&table]["Keys"]
                    .as_array()
                    .map(Vec::len)
                    .unwrap_or(0);
                let found = output["Responses"][&table]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                let table_input = serde_json::json!({ "TableName": table });
                let mut sizes = Vec::new();
                for item in &found {
                    sizes.push(full_size(shared, &table_input, None, item).await);
                }
                // A key that found nothing still reads one block.
                sizes.extend(std::iter::repeat_n(
                    0,
                    asked.saturating_sub(found.len() + unprocessed),
                ));
                units += capacity::item_read_units(sizes, consistency);
            }
            units
        }
        "Query" | "Scan" => {
            let index = input["IndexName"].as_str();
            let mut sizes = Vec::new();
            for item in output["Items"].as_array().into_iter().flatten() {
                sizes.push(full_size(shared, input, index, item).await);
            }
            capacity::query_read_units(sizes, consistency)
        }
        "TransactGetItems" => {
            let mut sizes = Vec::new();
            for response in output["Responses"].as_array().into_iter().flatten() {
                sizes.push(full_size(shared, input, None, &response["Item"]).await);
            }
            capacity::item_read_units(sizes, Consistency::Transactional)
        }
        _ => 0.0,
    }
}

/// The size DynamoDB bills for an item in an answer: the whole item (or its whole index entry),
/// whatever the projection expression returned.
async fn full_size(shared: &Shared, input: &Value, index: Option<&str>, answered: &Value) -> u64 {
    let answered = item(answered);
    let key = key_of_item(&shared.shape, &answered);
    let whole = match key {
        Some(key) => current(shared, input, &key).await,
        None => None,
    };
    let whole = whole.unwrap_or(answered);
    match index.and_then(|name| shared.shape.indexes.iter().find(|i| i.name == name)) {
        Some(index) => shared
            .shape
            .index_entry(index, &whole)
            .map(|entry| capacity::item_size(&entry))
            .unwrap_or(0),
        None => capacity::item_size(&whole),
    }
}

fn key_of_item(shape: &TableShape, item: &Item) -> Option<Item> {
    let mut key = Item::new();
    for name in std::iter::once(&shape.partition_key).chain(shape.sort_key.as_ref()) {
        key.insert(name.clone(), item.get(name)?.clone());
    }
    Some(key)
}

fn key_of(shape: &TableShape, item_json: &Value) -> Item {
    key_of_item(shape, &item(item_json)).unwrap_or_default()
}

/// An item from DynamoDB's JSON wire form.
pub fn item(json: &Value) -> Item {
    json.as_object()
        .into_iter()
        .flatten()
        .map(|(name, value)| (name.clone(), attribute(value)))
        .collect()
}

fn attribute(json: &Value) -> AttributeValue {
    let blob = |v: &Value| {
        Blob::new(
            base64::engine::general_purpose::STANDARD
                .decode(v.as_str().unwrap_or(""))
                .unwrap_or_default(),
        )
    };
    let texts = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect()
    };
    let Some((kind, value)) = json.as_object().and_then(|o| o.iter().next()) else {
        return AttributeValue::Null(true);
    };
    match kind.as_str() {
        "S" => AttributeValue::S(value.as_str().unwrap_or("").to_owned()),
        "N" => AttributeValue::N(value.as_str().unwrap_or("0").to_owned()),
        "B" => AttributeValue::B(blob(value)),
        "BOOL" => AttributeValue::Bool(value.as_bool().unwrap_or(false)),
        "NULL" => AttributeValue::Null(true),
        "SS" => AttributeValue::Ss(texts(value)),
        "NS" => AttributeValue::Ns(texts(value)),
        "BS" => AttributeValue::Bs(value.as_array().into_iter().flatten().map(blob).collect()),
        "L" => AttributeValue::L(
            value
                .as_array()
                .into_iter()
                .flatten()
                .map(attribute)
                .collect(),
        ),
        "M" => AttributeValue::M(item(value)),
        _ => AttributeValue::Null(true),
    }
}

/// Requests, read units and write units, summed per function.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Totals {
    pub requests: usize,
    pub read_units: f64,
    pub write_units: u64,
    /// Of `write_units`, what the indexes cost.
    pub index_write_units: u64,
}

impl Totals {
    pub fn add(&mut self, metered: &Metered) {
        self.requests += 1;
        self.read_units += metered.read_units;
        self.write_units += metered.write_units();
        self.index_write_units += metered.index_write_units();
    }
}

pub fn per_function(records: &[Metered]) -> BTreeMap<String, Totals> {
    let mut totals: BTreeMap<String, Totals> = BTreeMap::new();
    for record in records {
        totals
            .entry(record.function.clone())
            .or_default()
            .add(record);
    }
    totals
}

pub fn total(records: &[Metered]) -> Totals {
    let mut totals = Totals::default();
    for record in records {
        totals.add(record);
    }
    totals
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_items_become_attribute_values() {
        let json = serde_json::json!({
            "pk": {"S": "SHOP#a"}, "n": {"N": "12"}, "b": {"B": "AAEC"}, "ok": {"BOOL": true},
            "l": {"L": [{"S": "x"}, {"NULL": true}]}, "m": {"M": {"k": {"N": "1"}}},
            "ss": {"SS": ["a", "bc"]}
        });
        let item = item(&json);
        assert_eq!(item["b"], AttributeValue::B(Blob::new(vec![0, 1, 2])));
        assert_eq!(
            item["l"],
            AttributeValue::L(vec![
                AttributeValue::S("x".into()),
                AttributeValue::Null(true)
            ])
        );
        // pk 2+6, n 1+2, b 1+3, ok 2+1, l 1+3+(1+1)+(1+1), m 1+3+(1+1+2), ss 2+3
        assert_eq!(capacity::item_size(&item), 8 + 3 + 4 + 3 + 8 + 8 + 5);
    }
}
