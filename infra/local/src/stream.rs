//! The local event source mapping in front of `send-messages`: what Lambda does in AWS with
//! the template's `PendingMessages` event. It reads the table's stream through the real
//! DynamoDB Streams API (moto), shard by shard and in order; drops records that match none of
//! the template's `FilterCriteria` patterns, as Lambda does; gathers the rest into batches of
//! the template's `BatchSize` within its batching window; and hands each batch, in the
//! `aws_lambda_events` DynamoDB event shape, to the very `send_messages::handle` the Lambda
//! runs. Failures are handled as Lambda documents it: a partial batch response checkpoints
//! before the lowest reported sequence number and retries from there; a function error splits
//! the batch in two (`BisectBatchOnFunctionError`, not counted as a retry); after
//! `MaximumRetryAttempts` retries, or once a record is older than `MaximumRecordAgeInSeconds`,
//! the records are given up and the invocation record Lambda writes is sent to the on-failure
//! queue (SQS, moto). One reader per stream; one batch in flight at a time, as Lambda runs one
//! invocation per shard.

use crate::pattern::Pattern;
use crate::template::{LOCAL_STACK, Stack, Template, TemplateError};
use aws_lambda_events::event::dynamodb::Event as StreamEvent;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use aws_sdk_dynamodbstreams::types::{AttributeValue, ShardIteratorType};
use base64::Engine as _;
use jiff::SignedDuration;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// The template's function and event this mapping stands in for.
pub const FUNCTION: &str = "SendMessagesFunction";
pub const EVENT: &str = "PendingMessages";

/// The mapping's settings, as the template declares them (plus the local timings).
#[derive(Debug, Clone)]
pub struct MappingSettings {
    pub batch_size: usize,
    pub batching_window: Duration,
    pub bisect_on_function_error: bool,
    /// `None`: retry until the record expires (`-1`).
    pub maximum_retry_attempts: Option<u32>,
    /// `None`: no age limit (`-1`).
    pub maximum_record_age: Option<Duration>,
    pub report_batch_item_failures: bool,
    /// `TRIM_HORIZON` (true) or `LATEST`.
    pub from_trim_horizon: bool,
    pub filters: Vec<Pattern>,
    /// Whether the template names an on-failure destination.
    pub on_failure: bool,
    /// `TumblingWindowInSeconds`: the function is invoked with a window's state (see
    /// [`start_windowed`]).
    pub tumbling_window: Option<Duration>,
    /// Local only: how often an idle reader asks for new records (Lambda: 4 times a second).
    pub poll_interval: Duration,
    /// Local only: the pause before the first retry, doubling per retry up to `retry_backoff_max`.
    pub retry_backoff: Duration,
    pub retry_backoff_max: Duration,
}

impl MappingSettings {
    /// `SendMessagesFunction`'s `PendingMessages` event in the repository's template.
    pub fn from_repository() -> Result<MappingSettings, TemplateError> {
        Self::from_template(&Template::from_repository()?, &Stack::local(LOCAL_STACK))
    }

    pub fn from_template(
        template: &Template,
        stack: &Stack,
    ) -> Result<MappingSettings, TemplateError> {
        Self::from_template_for(template, stack, FUNCTION, EVENT)
    }

    /// Another function's DynamoDB event in the repository's template.
    pub fn from_repository_for(
        function: &str,
        event: &str,
    ) -> Result<MappingSettings, TemplateError> {
        Self::from_template_for(
            &Template::from_repository()?,
            &Stack::local(LOCAL_STACK),
            function,
            event,
        )
    }

    pub fn from_template_for(
        template: &Template,
        stack: &Stack,
        function: &str,
        event: &str,
    ) -> Result<MappingSettings, TemplateError> {
        let (kind, properties) = template.function_event(function, event)?;
        if kind != "DynamoDB" {
            return Err(TemplateError(format!(
                "{function}.{event} is a {kind} event"
            )));
        }
        let get = |name: &str| template.resolve(stack, &properties[name]);
        let number = |name: &str, default: i64| -> Result<i64, TemplateError> {
            match get(name)? {
                Value::Null => Ok(default),
                value => value
                    .as_f64()
                    .map(|n| n as i64)
                    .ok_or_else(|| TemplateError(format!("{event}.{name} is not a number"))),
            }
        };
        let batch_size = number("BatchSize", 100)?;
        if !(1..=10_000).contains(&batch_size) {
            return Err(TemplateError(format!(
                "BatchSize {batch_size} is out of range"
            )));
        }
        let mut filters = Vec::new();
        if let Some(list) = properties["FilterCriteria"]["Filters"].as_sequence() {
            for filter in list {
                let text = template.resolve(stack, &filter["Pattern"])?;
                let text = text
                    .as_str()
                    .ok_or_else(|| TemplateError("a filter's Pattern is a JSON string".into()))?;
                filters.push(Pattern::parse(text).map_err(|e| TemplateError(e.to_string()))?);
            }
        }
        let retries = number("MaximumRetryAttempts", -1)?;
        let age = number("MaximumRecordAgeInSeconds", -1)?;
        Ok(MappingSettings {
            batch_size: batch_size as usize,
            batching_window: Duration::from_secs(
                number("MaximumBatchingWindowInSeconds", 0)? as u64
            ),
            bisect_on_function_error: get("BisectBatchOnFunctionError")?.as_bool() == Some(true),
            maximum_retry_attempts: u32::try_from(retries).ok(),
            maximum_record_age: u64::try_from(age).ok().map(Duration::from_secs),
            report_batch_item_failures: get("FunctionResponseTypes")?
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t == "ReportBatchItemFailures")),
            from_trim_horizon: get("StartingPosition")?.as_str() != Some("LATEST"),
            filters,
            on_failure: !properties["DestinationConfig"]["OnFailure"]["Destination"].is_null(),
            tumbling_window: u64::try_from(number("TumblingWindowInSeconds", 0)?)
                .ok()
                .filter(|s| *s > 0)
                .map(Duration::from_secs),
            poll_interval: Duration::from_millis(250),
            retry_backoff: Duration::from_millis(200),
            retry_backoff_max: Duration::from_secs(5),
        })
    }

    /// Whether Lambda hands `record` (its JSON as the function sees it) to the function.
    pub fn lets_through(&self, record: &Value) -> bool {
        self.filters.is_empty() || self.filters.iter().any(|p| p.matches(record))
    }

    fn backoff(&self, retry: u32) -> Duration {
        self.retry_backoff
            .saturating_mul(1 << retry.min(16))
            .min(self.retry_backoff_max)
    }
}

/// One stream record, as Lambda hands it to the function.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamRecord {
    pub sequence: String,
    /// When the change was written (`ApproximateCreationDateTime`).
    pub arrival: jiff::Timestamp,
    /// The record in the shape of the Lambda event (`eventName`, `dynamodb`, ...).
    pub json: Value,
}

/// What one invocation came to.
#[derive(Debug, Clone)]
pub enum Invocation {
    Answered(DynamoDbEventResponse),
    /// The function failed (an error, a timeout, a crash).
    FunctionError(String),
}

/// Records given up, with what Lambda reports about them.
#[derive(Debug, Clone, PartialEq)]
pub struct GivenUp {
    pub condition: &'static str,
    pub records: Vec<StreamRecord>,
    pub invoke_count: u32,
    pub function_error: bool,
}

/// Runs one batch to its end: invoked, retried, split and finally handled or given up, as
/// Lambda treats a batch of one shard. Returns what was given up.
pub async fn run_batch<F, Fut>(
    settings: &MappingSettings,
    batch: Vec<StreamRecord>,
    now: impl Fn() -> jiff::Timestamp,
    mut invoke: F,
) -> Vec<GivenUp>
where
    F: FnMut(Vec<StreamRecord>) -> Fut,
    Fut: Future<Output = Invocation>,
{
    let mut given_up = Vec::new();
    // Each entry: records still to deliver and the retries they have used.
    let mut work: VecDeque<(Vec<StreamRecord>, u32)> = VecDeque::from([(batch, 0)]);
    while let Some((mut records, retries)) = work.pop_front() {
        if let Some(max_age) = settings.maximum_record_age {
            let now = now();
            let expired = records
                .iter()
                .take_while(|r| now.duration_since(r.arrival).unsigned_abs() > max_age)
                .count();
            if expired > 0 {
                let rest = records.split_off(expired);
                given_up.push(GivenUp {
                    condition: "RecordAgeExceeded",
                    records,
                    invoke_count: retries,
                    function_error: false,
                });
                records = rest;
            }
        }
        if records.is_empty() {
            continue;
        }
        let (failed_from, function_error) = match invoke(records.clone()).await {
            Invocation::Answered(response)
                if !settings.report_batch_item_failures
                    || response.batch_item_failures.is_empty() =>
            {
                continue;
            }
            Invocation::Answered(response) => {
                // The lowest reported sequence number; an identifier that names no record of
                // the batch makes the whole batch a failure.
                let reported: Option<Vec<usize>> = response
                    .batch_item_failures
                    .iter()
                    .map(|f| {
                        f.item_identifier
                            .as_deref()
                            .and_then(|id| records.iter().position(|r| r.sequence == id))
                    })
                    .collect();
                (
                    reported.and_then(|r| r.into_iter().min()).unwrap_or(0),
                    false,
                )
            }
            Invocation::FunctionError(_) => (0, true),
        };
        if function_error && settings.bisect_on_function_error && records.len() > 1 {
            let second = records.split_off(records.len() / 2);
            work.push_front((second, retries));
            work.push_front((records, retries));
            continue;
        }
        let remaining = records.split_off(failed_from);
        if settings
            .maximum_retry_attempts
            .is_some_and(|max| retries >= max)
        {
            given_up.push(GivenUp {
                condition: "RetryAttemptsExhausted",
                records: remaining,
                invoke_count: retries + 1,
                function_error,
            });
            continue;
        }
        tokio::time::sleep(settings.backoff(retries)).await;
        work.push_front((remaining, retries + 1));
    }
    given_up
}

/// The invocation record Lambda sends to an on-failure destination for a DynamoDB stream.
pub fn failure_record(
    given_up: &GivenUp,
    function_arn: &str,
    shard_id: &str,
    stream_arn: &str,
    now: jiff::Timestamp,
) -> Value {
    let first = given_up.records.first();
    let last = given_up.records.last();
    let seconds = |t: jiff::Timestamp| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let mut response_context = json!({ "statusCode": 200, "executedVersion": "$LATEST" });
    if given_up.function_error {
        // Only a failed invocation names an error; a partial batch response has none.
        response_context["functionError"] = json!("Unhandled");
    }
    json!({
        "requestContext": {
            "requestId": uuid_like(&format!("{function_arn}{}{}", first.map_or("", |r| &r.sequence), now)),
            "functionArn": function_arn,
            "condition": given_up.condition,
            "approximateInvokeCount": given_up.invoke_count,
        },
        "responseContext": response_context,
        "version": "1.0",
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": first.map(|r| r.sequence.clone()),
            "endSequenceNumber": last.map(|r| r.sequence.clone()),
            "approximateArrivalOfFirstRecord": first.map(|r| seconds(r.arrival)),
            "approximateArrivalOfLastRecord": last.map(|r| seconds(r.arrival)),
            "batchSize": given_up.records.len(),
            "streamArn": stream_arn,
        }
    })
}

/// A request id in the usual 8-4-4-4-12 form, derived from `seed` (no random source needed).
fn uuid_like(seed: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut parts = [0u64; 2];
    for (i, part) in parts.iter_mut().enumerate() {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (seed, i).hash(&mut hasher);
        *part = hasher.finish();
    }
    crate::events::uuid_form((u128::from(parts[0]) << 64) | u128::from(parts[1]))
}

/// `a` comes after `b` in a shard (sequence numbers are decimal strings of any length).
fn later(a: &str, b: &str) -> bool {
    (a.len(), a) > (b.len(), b)
}

/// A stream record from the Streams API, as the JSON Lambda puts in the event.
pub fn lambda_record(
    record: &aws_sdk_dynamodbstreams::types::Record,
    region: &str,
    stream_arn: &str,
) -> Option<StreamRecord> {
    let change = record.dynamodb.as_ref()?;
    let sequence = change.sequence_number.clone()?;
    let arrival = change
        .approximate_creation_date_time
        .and_then(|t| jiff::Timestamp::from_second(t.secs()).ok())
        .unwrap_or_else(jiff::Timestamp::now);
    let image = |item: &Option<std::collections::HashMap<String, AttributeValue>>| {
        item.as_ref().map(|item| {
            Value::Object(
                item.iter()
                    .map(|(k, v)| (k.clone(), attribute(v)))
                    .collect(),
            )
        })
    };
    let mut dynamodb = json!({
        "ApproximateCreationDateTime": arrival.as_second(),
        "Keys": image(&change.keys).unwrap_or_else(|| json!({})),
        "SequenceNumber": sequence,
        "SizeBytes": change.size_bytes.unwrap_or(0),
        "StreamViewType": change.stream_view_type.as_ref().map(|t| t.as_str().to_owned()),
    });
    if let Some(new) = image(&change.new_image) {
        dynamodb["NewImage"] = new;
    }
    if let Some(old) = image(&change.old_image) {
        dynamodb["OldImage"] = old;
    }
    Some(StreamRecord {
        sequence,
        arrival,
        json: json!({
            "eventID": record.event_id.clone(),
            "eventName": record.event_name.as_ref().map(|n| n.as_str().to_owned()),
            "eventVersion": record.event_version.clone().unwrap_or_else(|| "1.1".into()),
            "eventSource": "aws:dynamodb",
            "awsRegion": region,
            "dynamodb": dynamodb,
            "eventSourceARN": stream_arn,
        }),
    })
}

/// An attribute value in DynamoDB's JSON form (`{"S": "..."}`, `{"N": "1"}`, ...).
fn attribute(value: &AttributeValue) -> Value {
    let b64 = |b: &aws_sdk_dynamodbstreams::primitives::Blob| {
        Value::from(base64::engine::general_purpose::STANDARD.encode(b.as_ref()))
    };
    match value {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::B(b) => json!({ "B": b64(b) }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::Null(n) => json!({ "NULL": n }),
        AttributeValue::Ss(list) => json!({ "SS": list }),
        AttributeValue::Ns(list) => json!({ "NS": list }),
        AttributeValue::Bs(list) => json!({ "BS": list.iter().map(b64).collect::<Vec<_>>() }),
        AttributeValue::L(list) => json!({ "L": list.iter().map(attribute).collect::<Vec<_>>() }),
        AttributeValue::M(map) => json!({
            "M": map.iter().map(|(k, v)| (k.clone(), attribute(v))).collect::<serde_json::Map<_, _>>()
        }),
        _ => Value::Null,
    }
}

/// The event Lambda invokes the function with for `records`.
pub fn lambda_event(records: &[StreamRecord]) -> Result<StreamEvent, serde_json::Error> {
    serde_json::from_value(json!({
        "Records": records.iter().map(|r| r.json.clone()).collect::<Vec<_>>()
    }))
}

/// The function behind the mapping: takes the event, answers as the Lambda handler does.
pub type Function =
    Arc<dyn Fn(StreamEvent) -> Pin<Box<dyn Future<Output = Invocation> + Send>> + Send + Sync>;

/// `send-messages` itself: `send_messages::handle` with the app the mapping is given.
pub fn send_messages(app: Arc<trouw::handlers::send_messages::SenderApp>) -> Function {
    Arc::new(move |event| {
        let app = app.clone();
        Box::pin(async move {
            let mut context = lambda_runtime::Context::default();
            context.request_id = uuid_like(&format!("{:?}", jiff::Timestamp::now()));
            context.invoked_function_arn = function_arn();
            let event = lambda_runtime::LambdaEvent::new(event, context);
            match trouw::handlers::send_messages::handle(&app, event).await {
                Ok(response) => Invocation::Answered(response),
                Err(err) => Invocation::FunctionError(err.to_string()),
            }
        })
    })
}

/// A function behind a mapping with tumbling windows: takes the window's event, answers with
/// the state (or fails).
pub type WindowFunction = Arc<
    dyn Fn(
            aws_lambda_events::event::dynamodb::TimeWindowEvent,
        ) -> Pin<
            Box<
                dyn Future<
                        Output = Result<
                            aws_lambda_events::event::dynamodb::TimeWindowEventResponse,
                            String,
                        >,
                    > + Send,
            >,
        > + Send
        + Sync,
>;

/// `count-days` itself: `count_days::handle` with the app the mapping is given.
pub fn count_days(app: Arc<trouw::handlers::count_days::CounterApp>) -> WindowFunction {
    Arc::new(move |event| {
        let app = app.clone();
        Box::pin(async move {
            let mut context = lambda_runtime::Context::default();
            context.request_id = uuid_like(&format!("{:?}", jiff::Timestamp::now()));
            context.invoked_function_arn = function_arn_of("count-days");
            let event = lambda_runtime::LambdaEvent::new(event, context);
            trouw::handlers::count_days::handle(&app, event)
                .await
                .map_err(|e| e.to_string())
        })
    })
}

/// What the mapping invokes.
#[derive(Clone)]
enum Target {
    Batches(Function),
    Windows(WindowFunction),
}

/// The tumbling window a mapping with windows has open: its bounds and the state the function
/// answered last.
struct OpenWindow {
    start: jiff::Timestamp,
    end: jiff::Timestamp,
    state: std::collections::HashMap<String, String>,
}

/// The local account and region (moto's defaults, as the SDK config gives them).
const ACCOUNT: &str = "123456789012";

fn function_arn() -> String {
    function_arn_of("send-messages")
}

fn function_arn_of(name: &str) -> String {
    format!("arn:aws:lambda:eu-west-1:{ACCOUNT}:function:{name}")
}

/// The on-failure queue (`SenderFailureQueue`) of the local stack `stack`, created if absent
/// and named as CloudFormation names it (`<stack>-SenderFailureQueue`, without the suffix).
pub async fn failure_queue(
    sdk: &aws_config::SdkConfig,
    stack: &str,
) -> Result<String, aws_sdk_sqs::Error> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let created = sqs
        .create_queue()
        .queue_name(format!("{stack}-SenderFailureQueue"))
        .send()
        .await?;
    Ok(created.queue_url.unwrap_or_default())
}

/// The on-failure queue of the day counter (`CounterFailureQueue`) of the local stack `stack`,
/// created if absent.
pub async fn counter_failure_queue(
    sdk: &aws_config::SdkConfig,
    stack: &str,
) -> Result<String, aws_sdk_sqs::Error> {
    let created = aws_sdk_sqs::Client::new(sdk)
        .create_queue()
        .queue_name(format!("{stack}-CounterFailureQueue"))
        .send()
        .await?;
    Ok(created.queue_url.unwrap_or_default())
}

/// The template's function and event of the day counter.
pub const COUNTER_FUNCTION: &str = "CountDaysFunction";
pub const COUNTER_EVENT: &str = "CountedItems";

/// Where the mapping stands, for [`MappingHandle::settle`].
#[derive(Debug, Clone, Default)]
struct Progress {
    /// The last sequence number read from the stream.
    read_through: Option<String>,
    /// Nothing read is waiting for or in an invocation.
    idle: bool,
    /// Invocations so far, each with its batch size (for tests and logs).
    invocations: Vec<usize>,
    /// Batches given up and sent to the on-failure queue.
    given_up: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("the table has no stream: {0}")]
    NoStream(String),
    #[error("DynamoDB Streams: {0}")]
    Streams(String),
    #[error("the stream mapping did not catch up within {0:?}")]
    Timeout(Duration),
}

/// A running mapping; stops when dropped.
pub struct MappingHandle {
    progress: watch::Receiver<Progress>,
    /// Set by [`MappingHandle::settle`]: hand over what is read without waiting for the window.
    flush: Arc<Notify>,
    streams: aws_sdk_dynamodbstreams::Client,
    stream_arn: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MappingHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl MappingHandle {
    /// Waits until every record written to the stream so far was handed to the function and
    /// handled, or dropped by the filter, or given up. Records still in the batching window
    /// are handed over at once.
    pub async fn settle(&self, timeout: Duration) -> Result<(), StreamError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let end = tokio::time::timeout_at(deadline, self.stream_end())
            .await
            .map_err(|_| StreamError::Timeout(timeout))??;
        let mut progress = self.progress.clone();
        let caught_up = |p: &Progress| {
            p.idle
                && match (&end, &p.read_through) {
                    (None, _) => true,
                    (Some(_), None) => false,
                    (Some(end), Some(read)) => !later(end, read),
                }
        };
        loop {
            self.flush.notify_one();
            if caught_up(&progress.borrow_and_update()) {
                return Ok(());
            }
            match tokio::time::timeout_at(deadline, progress.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(StreamError::Streams("the mapping stopped".into())),
                Err(_) => return Err(StreamError::Timeout(timeout)),
            }
        }
    }

    /// The batch sizes of every invocation so far.
    pub fn invocations(&self) -> Vec<usize> {
        self.progress.borrow().invocations.clone()
    }

    /// How many batches were given up and sent to the on-failure queue.
    pub fn given_up(&self) -> usize {
        self.progress.borrow().given_up
    }

    /// The last sequence number written to the stream, read from where the mapping stands.
    async fn stream_end(&self) -> Result<Option<String>, StreamError> {
        let from = self.progress.borrow().read_through.clone();
        let records = read_all(&self.streams, &self.stream_arn, from.as_deref()).await?;
        Ok(records
            .last()
            .and_then(|r| r.dynamodb.as_ref())
            .and_then(|d| d.sequence_number.clone())
            .or(from))
    }
}

/// Every record of the stream written so far after the sequence number `after` (from the trim
/// horizon if `None`), shard by shard, oldest first.
pub async fn read_all(
    streams: &aws_sdk_dynamodbstreams::Client,
    stream_arn: &str,
    after: Option<&str>,
) -> Result<Vec<aws_sdk_dynamodbstreams::types::Record>, StreamError> {
    let mut all = Vec::new();
    for shard in shards(streams, stream_arn).await? {
        let request = streams
            .get_shard_iterator()
            .stream_arn(stream_arn)
            .shard_id(&shard);
        let request = match after {
            Some(seq) => request
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .sequence_number(seq),
            None => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
        };
        let mut iterator = request
            .send()
            .await
            .map_err(|e| StreamError::Streams(format!("{e:?}")))?
            .shard_iterator;
        while let Some(current) = iterator {
            let page = streams
                .get_records()
                .shard_iterator(current)
                .send()
                .await
                .map_err(|e| StreamError::Streams(format!("{e:?}")))?;
            let records = page.records.unwrap_or_default();
            if records.is_empty() {
                break;
            }
            all.extend(records);
            iterator = page.next_shard_iterator;
        }
    }
    Ok(all)
}

async fn shards(
    streams: &aws_sdk_dynamodbstreams::Client,
    stream_arn: &str,
) -> Result<Vec<String>, StreamError> {
    let described = streams
        .describe_stream()
        .stream_arn(stream_arn)
        .send()
        .await
        .map_err(|e| StreamError::Streams(format!("{e:?}")))?;
    Ok(described
        .stream_description
        .and_then(|d| d.shards)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|s| s.shard_id)
        .collect())
}

/// The table's stream ARN (what CloudFormation hands the mapping as `Stream`); setup, with
/// the operator's identity.
pub async fn stream_arn(sdk: &aws_config::SdkConfig, table: &str) -> Result<String, StreamError> {
    aws_sdk_dynamodb::Client::new(sdk)
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(|e| StreamError::NoStream(format!("{e:?}")))?
        .table
        .and_then(|t| t.latest_stream_arn)
        .ok_or_else(|| StreamError::NoStream(table.to_owned()))
}

/// Starts the mapping for the stream `stream_arn` in front of `function`. `sdk` is the
/// identity the mapping reads the stream and writes the on-failure queue with (the function's
/// role in AWS: `DescribeStream`, `GetShardIterator`, `GetRecords`, `sqs:SendMessage`).
pub async fn start(
    sdk: &aws_config::SdkConfig,
    stream_arn: String,
    settings: MappingSettings,
    failure_queue_url: Option<String>,
    function: Function,
) -> Result<MappingHandle, StreamError> {
    start_target(
        sdk,
        stream_arn,
        settings,
        failure_queue_url,
        Target::Batches(function),
    )
    .await
}

/// Starts a mapping with tumbling windows (`TumblingWindowInSeconds`) in front of `function`.
/// Records are assigned to windows by their arrival; each batch of a window is handed over
/// with the state the function answered before, and once the window's end has passed the
/// function is invoked once more with `isFinalInvokeForWindow`. Local only: when someone
/// waits for the mapping ([`MappingHandle::settle`]) the open window is ended at once, as
/// Lambda ends one early (the same window then goes on with a fresh state).
pub async fn start_windowed(
    sdk: &aws_config::SdkConfig,
    stream_arn: String,
    settings: MappingSettings,
    failure_queue_url: Option<String>,
    function: WindowFunction,
) -> Result<MappingHandle, StreamError> {
    start_target(
        sdk,
        stream_arn,
        settings,
        failure_queue_url,
        Target::Windows(function),
    )
    .await
}

async fn start_target(
    sdk: &aws_config::SdkConfig,
    stream_arn: String,
    settings: MappingSettings,
    failure_queue_url: Option<String>,
    target: Target,
) -> Result<MappingHandle, StreamError> {
    let streams = aws_sdk_dynamodbstreams::Client::new(sdk);
    let shard_ids = shards(&streams, &stream_arn).await?;
    let shard = shard_ids
        .last()
        .cloned()
        .ok_or_else(|| StreamError::NoStream(format!("{stream_arn} has no shard")))?;
    let (sender, progress) = watch::channel(Progress {
        idle: true,
        ..Progress::default()
    });
    let flush = Arc::new(Notify::new());
    let reader = Reader {
        streams: streams.clone(),
        sqs: aws_sdk_sqs::Client::new(sdk),
        region: sdk
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "eu-west-1".into()),
        stream_arn: stream_arn.clone(),
        shard,
        settings,
        failure_queue_url,
        target,
        progress: sender,
        flush: flush.clone(),
    };
    let task = tokio::spawn(reader.run());
    Ok(MappingHandle {
        progress,
        flush,
        streams,
        stream_arn,
        task,
    })
}

/// The one reader of the stream: polls, filters, batches, invokes.
struct Reader {
    streams: aws_sdk_dynamodbstreams::Client,
    sqs: aws_sdk_sqs::Client,
    region: String,
    stream_arn: String,
    /// The open shard (moto keeps one per table).
    shard: String,
    settings: MappingSettings,
    failure_queue_url: Option<String>,
    target: Target,
    progress: watch::Sender<Progress>,
    flush: Arc<Notify>,
}

impl Reader {
    async fn run(self) {
        let mut iterator: Option<String> = None;
        // Records that passed the filter, waiting for a batch, each with when it was read.
        let mut pending: VecDeque<(StreamRecord, tokio::time::Instant)> = VecDeque::new();
        let mut flushing = false;
        let mut open: Option<OpenWindow> = None;
        loop {
            if iterator.is_none() {
                let read_through = self.progress.borrow().read_through.clone();
                match self.iterator(read_through).await {
                    Ok(it) => iterator = it,
                    Err(err) => {
                        tracing::warn!(detail = %err, "stream mapping: no shard iterator; trying again");
                        tokio::time::sleep(self.settings.poll_interval).await;
                        continue;
                    }
                }
            }
            let mut read_any = false;
            if let Some(current) = iterator.clone() {
                match self
                    .streams
                    .get_records()
                    .shard_iterator(current)
                    .limit(1000)
                    .send()
                    .await
                {
                    Ok(page) => {
                        iterator = page.next_shard_iterator;
                        let records = page.records.unwrap_or_default();
                        read_any = !records.is_empty();
                        for record in &records {
                            let Some(record) =
                                lambda_record(record, &self.region, &self.stream_arn)
                            else {
                                continue;
                            };
                            let sequence = record.sequence.clone();
                            if self.settings.lets_through(&record.json) {
                                pending.push_back((record, tokio::time::Instant::now()));
                            }
                            self.progress.send_modify(|p| {
                                p.read_through = Some(sequence);
                                p.idle = false;
                            });
                        }
                    }
                    Err(err) => {
                        // An expired or trimmed iterator: ask for a new one where we stand.
                        tracing::warn!(detail = ?err, "stream mapping: GetRecords failed; trying again");
                        iterator = None;
                    }
                }
            }
            // A batch goes when it is full, when its first record has waited the batching
            // window, or when someone waits for the mapping to catch up.
            while let Some((_, first_read)) = pending.front() {
                let full = pending.len() >= self.settings.batch_size;
                let window_over = first_read.elapsed() >= self.settings.batching_window;
                if !(full || window_over || flushing) {
                    break;
                }
                let take = pending.len().min(self.settings.batch_size);
                let batch: Vec<StreamRecord> = pending.drain(..take).map(|(r, _)| r).collect();
                match &self.target {
                    Target::Batches(function) => self.deliver(function, batch).await,
                    Target::Windows(function) => {
                        self.deliver_windowed(function, &mut open, batch).await;
                    }
                }
            }
            // A window ends when its time is over, or at once for someone waiting.
            if let (Target::Windows(function), Some(window)) = (&self.target, &open)
                && ((flushing && pending.is_empty()) || jiff::Timestamp::now() >= window.end)
            {
                self.close_window(function, &mut open).await;
            }
            if pending.is_empty() && !read_any && open.is_none() {
                flushing = false;
                self.progress.send_modify(|p| p.idle = true);
            }
            if read_any {
                continue;
            }
            tokio::select! {
                () = tokio::time::sleep(self.settings.poll_interval) => {}
                () = self.flush.notified() => flushing = true,
            }
        }
    }

    async fn iterator(&self, after: Option<String>) -> Result<Option<String>, String> {
        let request = self
            .streams
            .get_shard_iterator()
            .stream_arn(&self.stream_arn)
            .shard_id(&self.shard);
        let request = match after {
            Some(seq) => request
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .sequence_number(seq),
            None if self.settings.from_trim_horizon => {
                request.shard_iterator_type(ShardIteratorType::TrimHorizon)
            }
            None => request.shard_iterator_type(ShardIteratorType::Latest),
        };
        request
            .send()
            .await
            .map(|out| out.shard_iterator)
            .map_err(|e| format!("{e:?}"))
    }

    async fn deliver(&self, function: &Function, batch: Vec<StreamRecord>) {
        let function = function.clone();
        let progress = &self.progress;
        let given_up = run_batch(&self.settings, batch, jiff::Timestamp::now, |records| {
            let function = function.clone();
            progress.send_modify(|p| p.invocations.push(records.len()));
            async move {
                match lambda_event(&records) {
                    Ok(event) => function(event).await,
                    // The runtime could not read the event: the invocation fails.
                    Err(err) => Invocation::FunctionError(err.to_string()),
                }
            }
        })
        .await;
        self.give_up(given_up).await;
    }

    /// Logs records given up and sends Lambda's invocation record to the on-failure queue.
    async fn give_up(&self, given_up: Vec<GivenUp>) {
        for failed in given_up {
            let first = failed.records.first().map(|r| r.sequence.clone());
            let last = failed.records.last().map(|r| r.sequence.clone());
            tracing::error!(
                condition = failed.condition,
                records = failed.records.len(),
                first_sequence = first.as_deref(),
                last_sequence = last.as_deref(),
                "stream records given up"
            );
            if let (true, Some(queue)) = (self.settings.on_failure, &self.failure_queue_url) {
                let body = failure_record(
                    &failed,
                    &match self.target {
                        Target::Batches(_) => function_arn(),
                        Target::Windows(_) => function_arn_of("count-days"),
                    },
                    &self.shard,
                    &self.stream_arn,
                    jiff::Timestamp::now(),
                );
                if let Err(err) = self
                    .sqs
                    .send_message()
                    .queue_url(queue)
                    .message_body(body.to_string())
                    .send()
                    .await
                {
                    tracing::error!(detail = ?err, "stream mapping: on-failure queue refused the record");
                }
            }
            self.progress.send_modify(|p| p.given_up += 1);
        }
    }
}

impl Reader {
    /// Hands a batch over window by window: a record of a later window ends the open one.
    async fn deliver_windowed(
        &self,
        function: &WindowFunction,
        open: &mut Option<OpenWindow>,
        batch: Vec<StreamRecord>,
    ) {
        let Some(length) = self.settings.tumbling_window else {
            return;
        };
        let seconds = i64::try_from(length.as_secs().max(1)).unwrap_or(i64::MAX);
        let window_of = |r: &StreamRecord| {
            let start = r.arrival.as_second().div_euclid(seconds) * seconds;
            jiff::Timestamp::from_second(start).unwrap_or(r.arrival)
        };
        let mut rest = batch;
        while !rest.is_empty() {
            let start = window_of(&rest[0]);
            let split = rest
                .iter()
                .position(|r| window_of(r) != start)
                .unwrap_or(rest.len());
            let later = rest.split_off(split);
            if open.as_ref().is_some_and(|w| w.start != start) {
                self.close_window(function, open).await;
            }
            let window = open.get_or_insert_with(|| OpenWindow {
                start,
                end: start + SignedDuration::from_secs(seconds),
                state: Default::default(),
            });
            if let Some(state) = self.invoke_window(function, window, &rest, false).await {
                window.state = state;
            }
            rest = later;
        }
    }

    /// The window's final invocation; the next batch starts a fresh state.
    async fn close_window(&self, function: &WindowFunction, open: &mut Option<OpenWindow>) {
        if let Some(window) = open.take() {
            self.invoke_window(function, &window, &[], true).await;
        }
    }

    /// One invocation of the window, retried as Lambda retries a batch; the state it answered,
    /// or none when the records were given up.
    async fn invoke_window(
        &self,
        function: &WindowFunction,
        window: &OpenWindow,
        records: &[StreamRecord],
        last: bool,
    ) -> Option<std::collections::HashMap<String, String>> {
        let event = json!({
            "Records": records.iter().map(|r| r.json.clone()).collect::<Vec<_>>(),
            "window": { "start": window.start.to_string(), "end": window.end.to_string() },
            "state": window.state,
            "shardId": self.shard,
            "eventSourceARN": self.stream_arn,
            "isFinalInvokeForWindow": last,
            "isWindowTerminatedEarly": false,
        });
        let mut retries = 0;
        loop {
            self.progress
                .send_modify(|p| p.invocations.push(records.len()));
            let answer = match serde_json::from_value(event.clone()) {
                Ok(event) => function(event).await,
                Err(err) => Err(err.to_string()),
            };
            match answer {
                Ok(response) => {
                    return Some(response.time_window_event_response_properties.state);
                }
                Err(err) => {
                    tracing::warn!(detail = %err, retries, "windowed invocation failed");
                    if self
                        .settings
                        .maximum_retry_attempts
                        .is_some_and(|max| retries >= max)
                    {
                        self.give_up(vec![GivenUp {
                            condition: "RetryAttemptsExhausted",
                            records: records.to_vec(),
                            invoke_count: retries + 1,
                            function_error: true,
                        }])
                        .await;
                        return None;
                    }
                    tokio::time::sleep(self.settings.backoff(retries)).await;
                    retries += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::event::streams::DynamoDbBatchItemFailure;
    use std::sync::Mutex;

    fn settings() -> MappingSettings {
        let mut settings = MappingSettings::from_repository().unwrap();
        settings.retry_backoff = Duration::ZERO;
        settings
    }

    fn record(n: u32) -> StreamRecord {
        StreamRecord {
            sequence: format!("{}", 1000 + n),
            arrival: jiff::Timestamp::now(),
            json: json!({}),
        }
    }

    fn failures(sequences: &[&str]) -> Invocation {
        let mut response = DynamoDbEventResponse::default();
        for s in sequences {
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = Some((*s).to_owned());
            response.batch_item_failures.push(failure);
        }
        Invocation::Answered(response)
    }

    /// Runs a batch against `answer` and returns every invocation's sequence numbers.
    async fn run(
        settings: &MappingSettings,
        batch: Vec<StreamRecord>,
        answer: impl Fn(&[String]) -> Invocation,
    ) -> (Vec<Vec<String>>, Vec<GivenUp>) {
        let calls = Mutex::new(Vec::new());
        let given_up = run_batch(settings, batch, jiff::Timestamp::now, |records| {
            let sequences: Vec<String> = records.iter().map(|r| r.sequence.clone()).collect();
            calls.lock().unwrap().push(sequences.clone());
            let answer = answer(&sequences);
            async move { answer }
        })
        .await;
        (calls.into_inner().unwrap(), given_up)
    }

    #[test]
    fn the_settings_are_the_templates() {
        let settings = MappingSettings::from_repository().unwrap();
        assert_eq!(settings.batch_size, 10, "SenderBatchSize's default");
        assert_eq!(settings.batching_window, Duration::from_secs(1));
        assert!(settings.bisect_on_function_error);
        assert_eq!(settings.maximum_retry_attempts, Some(10));
        assert_eq!(
            settings.maximum_record_age,
            Some(Duration::from_secs(86_400))
        );
        assert!(settings.report_batch_item_failures);
        assert!(settings.from_trim_horizon);
        assert!(settings.on_failure);
        assert_eq!(settings.filters.len(), 1);
        let pending = json!({"eventName": "INSERT", "dynamodb": {"NewImage": {
            "item": {"S": "message"}, "status": {"S": "PENDING"}}}});
        assert!(settings.lets_through(&pending));
        let sent = json!({"eventName": "MODIFY", "dynamodb": {"NewImage": {
            "item": {"S": "message"}, "status": {"S": "SENT"}}}});
        assert!(!settings.lets_through(&sent));
    }

    #[tokio::test]
    async fn a_partial_failure_retries_from_the_lowest_reported_record_only() {
        let batch: Vec<_> = (0..5).map(record).collect();
        let (calls, given_up) = run(&settings(), batch, |seqs| {
            if seqs.len() == 5 {
                failures(&["1004", "1002"])
            } else {
                failures(&[])
            }
        })
        .await;
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[1], ["1002", "1003", "1004"]);
        assert!(given_up.is_empty());
    }

    #[tokio::test]
    async fn a_record_that_always_fails_is_given_up_after_the_retries_with_what_follows_it() {
        let batch: Vec<_> = (0..4).map(record).collect();
        let (calls, given_up) = run(&settings(), batch, |seqs| {
            if seqs.contains(&"1001".to_owned()) {
                failures(&["1001"])
            } else {
                failures(&[])
            }
        })
        .await;
        // The first invocation and 10 retries of what failed.
        assert_eq!(calls.len(), 11);
        assert!(calls[1..].iter().all(|c| c == &["1001", "1002", "1003"]));
        assert_eq!(given_up.len(), 1);
        assert_eq!(given_up[0].condition, "RetryAttemptsExhausted");
        assert_eq!(given_up[0].invoke_count, 11);
        assert!(!given_up[0].function_error);
        let given: Vec<_> = given_up[0]
            .records
            .iter()
            .map(|r| r.sequence.as_str())
            .collect();
        assert_eq!(given, ["1001", "1002", "1003"]);
    }

    #[tokio::test]
    async fn a_function_error_bisects_down_to_the_bad_record_without_using_retries() {
        let batch: Vec<_> = (0..8).map(record).collect();
        let (calls, given_up) = run(&settings(), batch, |seqs| {
            if seqs.contains(&"1005".to_owned()) {
                Invocation::FunctionError("boom".into())
            } else {
                Invocation::Answered(DynamoDbEventResponse::default())
            }
        })
        .await;
        // 8 -> 4 (ok) + 4 -> 2 + 2 (ok) -> 1 (ok) + 1: only the single bad record uses retries.
        assert_eq!(calls[0].len(), 8);
        assert_eq!(calls[1], ["1000", "1001", "1002", "1003"]);
        assert_eq!(calls[2], ["1004", "1005", "1006", "1007"]);
        assert_eq!(calls[3], ["1004", "1005"]);
        assert_eq!(calls[4], ["1004"]);
        // The bad record alone: the first try and its 10 retries; then the rest of the shard.
        assert!(calls[5..16].iter().all(|c| c == &["1005"]));
        assert_eq!(calls[16], ["1006", "1007"]);
        assert_eq!(calls.len(), 17);
        assert_eq!(given_up.len(), 1);
        assert!(given_up[0].function_error);
        assert_eq!(given_up[0].records.len(), 1);
    }

    #[tokio::test]
    async fn an_identifier_that_names_no_record_fails_the_whole_batch() {
        let batch: Vec<_> = (0..3).map(record).collect();
        let answered = std::cell::Cell::new(0);
        let (calls, given_up) = run(&settings(), batch, |_| {
            answered.set(answered.get() + 1);
            if answered.get() == 1 {
                failures(&["not-a-sequence-number"])
            } else {
                failures(&[])
            }
        })
        .await;
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[1].len(), 3, "the whole batch again");
        assert!(given_up.is_empty());
    }

    #[tokio::test]
    async fn records_older_than_the_maximum_age_are_given_up_unread() {
        let mut old = record(0);
        old.arrival = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(25);
        let (calls, given_up) = run(&settings(), vec![old, record(1)], |_| failures(&[])).await;
        assert_eq!(calls, [["1001"]]);
        assert_eq!(given_up[0].condition, "RecordAgeExceeded");
        assert_eq!(given_up[0].invoke_count, 0);
    }

    #[test]
    fn the_failure_record_has_lambdas_shape() {
        let given_up = GivenUp {
            condition: "RetryAttemptsExhausted",
            records: vec![record(1), record(2)],
            invoke_count: 11,
            function_error: false,
        };
        let at: jiff::Timestamp = "2026-11-02T10:00:00.5Z".parse().unwrap();
        let body = failure_record(&given_up, "arn:fn", "shard-1", "arn:stream", at);
        assert_eq!(body["version"], "1.0");
        assert_eq!(body["timestamp"], "2026-11-02T10:00:00.500Z");
        assert_eq!(
            body["requestContext"]["condition"],
            "RetryAttemptsExhausted"
        );
        assert_eq!(body["requestContext"]["approximateInvokeCount"], 11);
        assert_eq!(
            body["requestContext"]["requestId"].as_str().unwrap().len(),
            36
        );
        assert_eq!(body["responseContext"]["statusCode"], 200);
        assert!(body["responseContext"].get("functionError").is_none());
        let info = &body["DDBStreamBatchInfo"];
        assert_eq!(info["shardId"], "shard-1");
        assert_eq!(info["startSequenceNumber"], "1001");
        assert_eq!(info["endSequenceNumber"], "1002");
        assert_eq!(info["batchSize"], 2);
        assert_eq!(info["streamArn"], "arn:stream");
        assert!(
            info["approximateArrivalOfFirstRecord"]
                .as_str()
                .unwrap()
                .ends_with('Z')
        );
    }

    #[test]
    fn records_become_the_lambda_event_the_handler_reads() {
        use aws_sdk_dynamodbstreams::types::{OperationType, Record, StreamRecord as Change};
        let change = Change::builder()
            .sequence_number("1100000000017454423009")
            .size_bytes(42)
            .approximate_creation_date_time(
                aws_sdk_dynamodbstreams::primitives::DateTime::from_secs(1_790_000_000),
            )
            .keys("pk", AttributeValue::S("SHOP#s".into()))
            .new_image("item", AttributeValue::S("message".into()))
            .new_image("n", AttributeValue::N("3".into()))
            .new_image("l", AttributeValue::L(vec![AttributeValue::Bool(true)]))
            .stream_view_type(aws_sdk_dynamodbstreams::types::StreamViewType::NewAndOldImages)
            .build();
        let sdk_record = Record::builder()
            .event_id("e1")
            .event_name(OperationType::Insert)
            .event_version("1.1")
            .dynamodb(change)
            .build();
        let record = lambda_record(&sdk_record, "eu-west-1", "arn:stream").unwrap();
        assert_eq!(record.json["eventSourceARN"], "arn:stream");
        assert_eq!(record.json["dynamodb"]["NewImage"]["n"], json!({"N": "3"}));
        let event = lambda_event(&[record]).unwrap();
        let parsed = &event.records[0];
        assert_eq!(parsed.event_name, "INSERT");
        assert_eq!(parsed.event_id, "e1");
        assert_eq!(parsed.aws_region, "eu-west-1");
        assert_eq!(
            parsed.change.sequence_number.as_deref(),
            Some("1100000000017454423009")
        );
        assert_eq!(parsed.change.size_bytes, 42);
        assert_eq!(
            parsed.change.approximate_creation_date_time.timestamp(),
            1_790_000_000
        );
        assert!(parsed.change.new_image.get("item").is_some());
        assert!(later("1100000000017454423010", "1100000000017454423009"));
        assert!(later("10", "9"));
    }
}
