use super::*;
use crate::domain::{EventId, MessageClass, MessageData, MessageIntent, MessageStatus};
use serde_json::json;

struct Utc;

impl ShopRules for Utc {
    fn split(&self, _: &ShopId, day: Date) -> Option<Timestamp> {
        local_midnight_in(day, &TimeZone::UTC)
    }
    fn held_out(&self, _: &ShopId, _: &CustomerId) -> bool {
        false
    }
}

fn message(status: MessageStatus) -> MessageRecord {
    let data = MessageData::Reactivation {
        months_since_last_order: 8,
    };
    let intent = MessageIntent {
        key: format!("{}#c1", data.kind()),
        customer_id: CustomerId::parse("c1").unwrap(),
        class: MessageClass::Service,
        locale: None,
        data,
        created_at: "2026-11-02T10:00:00Z".parse().unwrap(),
    };
    MessageRecord {
        status,
        sent_at: (status == MessageStatus::Sent).then(|| "2026-11-02T10:00:01Z".parse().unwrap()),
        ..MessageRecord::pending_for(
            &ShopId::parse("demo").unwrap(),
            EventId::parse("e").unwrap(),
            &intent,
        )
    }
}

/// A message item's image, as the stream carries it.
fn image(m: &MessageRecord) -> serde_json::Value {
    let mut item: serde_dynamo::Item = serde_dynamo::to_item(m).unwrap();
    item.insert(
        "pk".into(),
        serde_dynamo::AttributeValue::S("SHOP#demo#CUST#c1".into()),
    );
    item.insert(
        "sk".into(),
        serde_dynamo::AttributeValue::S("MSG#reactivation#e".into()),
    );
    item.insert(
        "item".into(),
        serde_dynamo::AttributeValue::S("message".into()),
    );
    serde_json::to_value(item).unwrap()
}

fn record(sequence: &str, old: Option<serde_json::Value>, new: serde_json::Value) -> EventRecord {
    let mut change = json!({
        "Keys": { "pk": { "S": "SHOP#demo#CUST#c1" }, "sk": { "S": "MSG#reactivation#e" } },
        "NewImage": new,
        "SequenceNumber": sequence,
        "SizeBytes": 100,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
        "ApproximateCreationDateTime": 1_793_613_600.0,
    });
    if let Some(old) = old {
        change["OldImage"] = old;
    }
    serde_json::from_value(json!({
        "eventID": format!("e{sequence}"),
        "eventName": "MODIFY",
        "eventSource": "aws:dynamodb",
        "eventVersion": "1.1",
        "awsRegion": "eu-west-1",
        "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/t/stream/x",
        "dynamodb": change,
    }))
    .unwrap()
}

#[test]
fn a_record_handed_over_twice_in_a_window_counts_once_and_a_bad_one_is_skipped() {
    let pending = message(MessageStatus::Pending);
    let sent = message(MessageStatus::Sent);
    let created = record("100", None, image(&pending));
    let went = record("200", Some(image(&pending)), image(&sent));
    let mut broken = image(&sent);
    broken["status"] = json!({ "S": "NOT_A_STATUS" });
    let bad = record("150", Some(image(&pending)), broken);

    let mut state = WindowState::default();
    state.fold(&[created.clone(), bad], &Utc);
    // The window's next batch, with the first record again (a retry after a failure).
    let mut state = WindowState::from_state(&state.to_state());
    state.fold(&[created, went], &Utc);
    assert_eq!(state.skipped, 1);
    assert_eq!(state.last.as_deref(), Some(&*format!("{:0>40}", "200")));
    let day = (
        ShopId::parse("demo").unwrap(),
        "2026-11-02".parse().unwrap(),
    );
    let counters = &state.counts[&day];
    assert_eq!(counters.get("a.K.R.c"), Some(&1), "{counters:?}");
    assert_eq!(counters.get("a.K.R.s"), Some(&1), "{counters:?}");
    assert_eq!(WindowState::from_state(&state.to_state()), state);
}
