//! Each function's IAM policy in `infra/template.yaml` reads exactly the SSM parameters the
//! function needs: the webhook functions the shops' webhook secrets (SecretsPathPrefix's
//! `shops/` path) and nothing else (the order functions also the guest id secret parameter),
//! the link functions the link secret parameter itself,
//! message-log the session secret parameter itself, the rest none.

use serde_yaml_ng::Value;
use std::collections::{BTreeMap, BTreeSet};

const PARAMETER: &str = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter";

/// A template value as text: a plain string, or a tag (`!Sub`, `!Ref`, ...) with its text.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Tagged(tagged) => format!("{} {}", tagged.tag, text(&tagged.value)),
        Value::Sequence(items) => items.iter().map(text).collect::<Vec<_>>().join(" "),
        other => format!("{other:?}"),
    }
}

fn list(value: &Value) -> Vec<String> {
    match value {
        Value::Sequence(items) => items.iter().map(text).collect(),
        Value::Null => Vec::new(),
        one => vec![text(one)],
    }
}

/// Per function: the SSM actions and resources of its policy statements.
fn ssm_access() -> BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml");
    let template: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut access = BTreeMap::new();
    for (name, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let (mut actions, mut resources) = (BTreeSet::new(), BTreeSet::new());
        for policy in resource["Properties"]["Policies"]
            .as_sequence()
            .into_iter()
            .flatten()
        {
            for statement in policy["Statement"].as_sequence().into_iter().flatten() {
                let these = list(&statement["Action"]);
                if these.iter().any(|a| a.starts_with("ssm:") || a == "*") {
                    actions.extend(these);
                    resources.extend(list(&statement["Resource"]));
                }
            }
        }
        access.insert(text(name), (actions, resources));
    }
    access
}

#[test]
fn each_function_reads_exactly_the_parameters_it_needs() {
    let set = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    let shop_secrets = (
        set(&["ssm:GetParameters"]),
        set(&[&format!("!Sub {PARAMETER}${{SecretsPathPrefix}}shops/*")]),
    );
    let link_secret = (
        set(&["ssm:GetParameter"]),
        set(&[&format!(
            "!Sub {PARAMETER}${{SecretsPathPrefix}}${{LinkSecretName}}"
        )]),
    );
    let session_secret = (
        set(&["ssm:GetParameter"]),
        set(&[&format!(
            "!Sub {PARAMETER}${{SecretsPathPrefix}}${{SessionSecretName}}"
        )]),
    );
    // The order functions also derive guest customer ids, with their own secret.
    let order_secrets = (
        set(&["ssm:GetParameters", "ssm:GetParameter"]),
        set(&[
            &format!("!Sub {PARAMETER}${{SecretsPathPrefix}}shops/*"),
            &format!("!Sub {PARAMETER}${{SecretsPathPrefix}}${{GuestIdSecretName}}"),
        ]),
    );
    let nothing = (BTreeSet::new(), BTreeSet::new());
    let expected = BTreeMap::from([
        ("OrderPlacedFunction".to_owned(), order_secrets.clone()),
        ("OrderDeliveredFunction".to_owned(), order_secrets.clone()),
        ("OrderReturnedFunction".to_owned(), order_secrets),
        ("AddressChangedFunction".to_owned(), shop_secrets),
        ("SendMessagesFunction".to_owned(), link_secret.clone()),
        ("RunScheduleFunction".to_owned(), link_secret.clone()),
        ("CustomerLinksFunction".to_owned(), link_secret),
        ("MessageLogFunction".to_owned(), session_secret),
        ("SesEventsFunction".to_owned(), nothing),
    ]);
    // A new function must be added here, with the parameters it needs.
    assert_eq!(ssm_access(), expected);
}

#[test]
fn the_pages_write_only_the_marketers_own_items() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml");
    let template: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let function = &template["Resources"]["MessageLogFunction"]["Properties"];
    let mut bounded = BTreeSet::new();
    for policy in function["Policies"].as_sequence().into_iter().flatten() {
        for statement in policy["Statement"].as_sequence().into_iter().flatten() {
            let writes = list(&statement["Action"]).into_iter().any(|a| {
                a.starts_with("dynamodb:")
                    && !["Get", "Query", "Describe"].iter().any(|r| a.contains(r))
            });
            if !writes {
                continue;
            }
            let keys =
                list(&statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]);
            assert!(!keys.is_empty(), "an unbounded write: {statement:?}");
            bounded.extend(keys);
        }
    }
    // Session generations among them: logout writes `ADMIN#...` and nothing else of the table.
    assert!(bounded.contains("ADMIN#*"), "{bounded:?}");
    assert!(
        bounded.iter().all(|k| !k.starts_with("SHOP#*#CUST")),
        "{bounded:?}"
    );
}

/// Per function: the DynamoDB actions its policy allows.
fn dynamodb_actions() -> BTreeMap<String, BTreeSet<String>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml");
    let template: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut access = BTreeMap::new();
    for (name, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let actions: BTreeSet<String> = resource["Properties"]["Policies"]
            .as_sequence()
            .into_iter()
            .flatten()
            .flat_map(|p| p["Statement"].as_sequence().into_iter().flatten())
            .flat_map(|s| list(&s["Action"]))
            .filter(|a| a.starts_with("dynamodb:"))
            .collect();
        access.insert(text(name), actions);
    }
    access
}

/// Shopify's `customers/redact` arrives on `address-changed`. The
/// erasure reads every item of the customer (Query), clears the words in their messages and
/// parked events with updates, and writes the erased profile and orders in version-checked
/// steps: without these actions AWS answers AccessDenied, the handler 500, and after the
/// platform's retries the erasure never happens.
#[test]
fn the_function_that_erases_may_do_everything_the_erasure_does() {
    let actions = &dynamodb_actions()["AddressChangedFunction"];
    for needed in [
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:ConditionCheckItem",
    ] {
        assert!(
            actions.contains(needed),
            "address-changed lacks {needed}: {actions:?}"
        );
    }
}
