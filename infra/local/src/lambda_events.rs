//! The events AWS invokes trouw's HTTP and stream functions with, as JSON in the shapes the
//! services document: API Gateway HTTP API payload 2.0 and a DynamoDB stream batch. (The
//! EventBridge ones, Scheduler's and SES's, are in [`crate::events`].)

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// An HTTP API (payload format 2.0) request `method path`, matched by the route `route_key`
/// (e.g. `ANY /webhooks/{shop}/order-placed`).
#[allow(clippy::too_many_arguments)]
pub fn http_api_request(
    api_id: &str,
    region: &str,
    method: &str,
    route_key: &str,
    path: &str,
    headers: &[(&str, String)],
    path_parameters: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Value {
    let now = jiff::Timestamp::now();
    let domain = format!("{api_id}.execute-api.{region}.amazonaws.com");
    let mut header_map = Map::new();
    header_map.insert("host".into(), json!(domain));
    header_map.insert("user-agent".into(), json!("trouw-deploy-check"));
    header_map.insert("x-forwarded-proto".into(), json!("https"));
    for (name, value) in headers {
        header_map.insert(name.to_ascii_lowercase(), json!(value));
    }
    let mut request = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": "",
        "headers": header_map,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": api_id,
            "domainName": domain,
            "domainPrefix": api_id,
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.10",
                "userAgent": "trouw-deploy-check"
            },
            "requestId": format!("{:x}", now.as_nanosecond()),
            "routeKey": route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000").to_string(),
            "timeEpoch": now.as_millisecond()
        },
        "isBase64Encoded": false
    });
    if !path_parameters.is_empty() {
        request["pathParameters"] = path_parameters
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect::<Map<_, _>>()
            .into();
    }
    if let Some(body) = body {
        match std::str::from_utf8(body) {
            Ok(text) => request["body"] = json!(text),
            Err(_) => {
                request["body"] = json!(base64::engine::general_purpose::STANDARD.encode(body));
                request["isBase64Encoded"] = json!(true);
            }
        }
    }
    request
}

/// An item in DynamoDB's JSON (`{"S": ...}`, `{"N": ...}`, ...), as stream records carry it.
pub fn dynamodb_json(item: &HashMap<String, AttributeValue>) -> Value {
    item.iter()
        .map(|(k, v)| (k.clone(), attribute_json(v)))
        .collect::<Map<_, _>>()
        .into()
}

fn attribute_json(value: &AttributeValue) -> Value {
    let b64 = |b: &aws_sdk_dynamodb::primitives::Blob| {
        base64::engine::general_purpose::STANDARD.encode(b.as_ref())
    };
    match value {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::B(b) => json!({ "B": b64(b) }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::Null(_) => json!({ "NULL": true }),
        AttributeValue::Ss(items) => json!({ "SS": items }),
        AttributeValue::Ns(items) => json!({ "NS": items }),
        AttributeValue::Bs(items) => json!({ "BS": items.iter().map(b64).collect::<Vec<_>>() }),
        AttributeValue::L(items) => {
            json!({ "L": items.iter().map(attribute_json).collect::<Vec<_>>() })
        }
        AttributeValue::M(map) => json!({ "M": dynamodb_json(map) }),
        _ => json!({ "NULL": true }),
    }
}

/// A stream batch of one INSERT of `item` (the table's NEW_AND_OLD_IMAGES view: an insert has
/// no old image), from the table `table_arn`.
pub fn stream_insert(
    table_arn: &str,
    region: &str,
    item: &HashMap<String, AttributeValue>,
    key_names: &[&str],
    sequence_number: &str,
) -> Value {
    let keys: HashMap<String, AttributeValue> = key_names
        .iter()
        .filter_map(|k| item.get(*k).map(|v| ((*k).to_owned(), v.clone())))
        .collect();
    let image = dynamodb_json(item);
    json!({
        "Records": [{
            "eventID": format!("{:032x}", jiff::Timestamp::now().as_nanosecond()),
            "eventName": "INSERT",
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": region,
            "dynamodb": {
                "ApproximateCreationDateTime": jiff::Timestamp::now().as_second(),
                "Keys": dynamodb_json(&keys),
                "NewImage": image,
                "SequenceNumber": sequence_number,
                "SizeBytes": image.to_string().len(),
                "StreamViewType": "NEW_AND_OLD_IMAGES"
            },
            "eventSourceARN": format!("{table_arn}/stream/2026-01-01T00:00:00.000")
        }]
    })
}

/// A tumbling window's final invocation (a `TimeWindowEvent`) over `records` (as
/// [`stream_insert`] makes them) of the shard `shard`, for the window `[start, end)` (epoch
/// seconds) and with no state yet.
pub fn stream_window_final(records: &Value, shard: &str, start: i64, end: i64) -> Value {
    let stamp = |s: i64| {
        jiff::Timestamp::from_second(s)
            .map(|t| t.to_string())
            .unwrap_or_default()
    };
    let source = records["Records"][0]["eventSourceARN"].clone();
    json!({
        "Records": records["Records"].clone(),
        "window": { "start": stamp(start), "end": stamp(end) },
        "state": {},
        "shardId": shard,
        "eventSourceARN": source,
        "isFinalInvokeForWindow": true,
        "isWindowTerminatedEarly": false
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_record_reads_back_as_lambdas_dynamodb_event() {
        let item: HashMap<String, AttributeValue> = [
            ("pk", AttributeValue::S("SHOP#demo#CUST#c".into())),
            ("sk", AttributeValue::S("MSG#x".into())),
            ("n", AttributeValue::N("3".into())),
            ("flags", AttributeValue::Ss(vec!["a".into()])),
            (
                "data",
                AttributeValue::M([("on".to_owned(), AttributeValue::Bool(true))].into()),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let event = stream_insert(
            "arn:aws:dynamodb:eu-west-1:123456789012:table/t",
            "eu-west-1",
            &item,
            &["pk", "sk"],
            "100",
        );
        let parsed: aws_lambda_events::event::dynamodb::Event =
            serde_json::from_value(event).unwrap();
        let record = &parsed.records[0];
        assert_eq!(record.change.sequence_number.as_deref(), Some("100"));
        assert_eq!(record.change.keys.len(), 2);
        assert_eq!(record.change.new_image.len(), 5);
    }

    #[test]
    fn an_http_api_request_reads_back_as_lambda_https_request() {
        let event = http_api_request(
            "abc",
            "eu-west-1",
            "GET",
            "GET /u/{token}",
            "/u/t0k",
            &[],
            &[("token", "t0k")],
            None,
        );
        let parsed: aws_lambda_events::event::apigw::ApiGatewayV2httpRequest =
            serde_json::from_value(event).unwrap();
        assert_eq!(parsed.raw_path.as_deref(), Some("/u/t0k"));
        assert_eq!(parsed.request_context.http.method, http::Method::GET);
    }
}
