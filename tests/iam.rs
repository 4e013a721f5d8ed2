//! Each function's IAM policy in `infra/template.yaml` reads exactly the SSM parameters the
//! function needs: the webhook functions the shops' webhook secrets (SecretsPathPrefix's
//! `shops/` path) and nothing else (the order functions also the guest id secret parameter),
//! the link functions the link secret parameter itself,
//! message-log the session secret parameter itself, the loyalty API the shops' loyalty secrets
//! (their own path, `loyalty/`), the rest none.

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
    // The loyalty API: each shop's loyalty key and token secrets, not its webhook secrets.
    let loyalty_secrets = (
        set(&["ssm:GetParameters"]),
        set(&[&format!("!Sub {PARAMETER}${{SecretsPathPrefix}}loyalty/*")]),
    );
    let nothing = (BTreeSet::new(), BTreeSet::new());
    let expected = BTreeMap::from([
        ("OrderPlacedFunction".to_owned(), order_secrets.clone()),
        ("OrderDeliveredFunction".to_owned(), order_secrets.clone()),
        ("OrderReturnedFunction".to_owned(), order_secrets),
        ("AddressChangedFunction".to_owned(), shop_secrets.clone()),
        ("ProductChangedFunction".to_owned(), shop_secrets),
        ("SendMessagesFunction".to_owned(), link_secret.clone()),
        ("RunScheduleFunction".to_owned(), link_secret.clone()),
        ("CustomerLinksFunction".to_owned(), link_secret),
        ("MessageLogFunction".to_owned(), session_secret),
        ("SesEventsFunction".to_owned(), nothing.clone()),
        ("CountDaysFunction".to_owned(), nothing),
        ("LoyaltyApiFunction".to_owned(), loyalty_secrets),
    ]);
    // A new function must be added here, with the parameters it needs.
    assert_eq!(ssm_access(), expected);
}

/// Whether an IAM resource pattern matches a name: `*` any run of characters (`/` included),
/// `?` one character, as IAM matches ARNs.
fn iam_matches(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    // reachable[j]: the pattern read so far can match the first j characters of the name.
    let mut reachable = vec![false; n.len() + 1];
    reachable[0] = true;
    for c in p {
        let mut next = vec![false; n.len() + 1];
        for j in 0..=n.len() {
            match c {
                '*' => next[j] = reachable[j] || (j > 0 && next[j - 1]),
                '?' => next[j] = j > 0 && reachable[j - 1],
                c => next[j] = j > 0 && reachable[j - 1] && n[j - 1] == c,
            }
        }
        reachable = next;
    }
    reachable[n.len()]
}

#[test]
fn no_webhook_function_reaches_a_loyalty_secret_nor_the_loyalty_function_a_webhook_secret() {
    // The names as the code places them (and the README shows them), under the template's
    // prefix variable.
    let prefix = "${SecretsPathPrefix}";
    let loyalty = trouw::shops::loyalty_secrets_path(prefix);
    let shops = trouw::shops::shop_secrets_path(prefix);
    let loyalty_secrets = [
        format!("{loyalty}de-winkel/api-key"),
        format!("{loyalty}de-winkel/token-secret"),
        // The coupon endpoint's signing secret: on the same path, read with the others.
        format!("{loyalty}de-winkel/coupon-secret"),
    ];
    let webhook_secrets = [
        format!("{shops}de-winkel/webhook-secret"),
        format!("{shops}de-winkel/shopify-current"),
        format!("{shops}de-winkel/woocommerce"),
    ];
    let shop = trouw::domain::ShopId::parse("de-winkel").unwrap();
    for name in &loyalty_secrets {
        assert!(trouw::handlers::loyalty_api::is_loyalty_parameter(
            name, prefix, &shop
        ));
    }
    assert!(iam_matches("a*c", "abbc") && iam_matches("a*", "a/b") && !iam_matches("a*c", "ab"));
    let webhooks = [
        "OrderPlacedFunction",
        "OrderDeliveredFunction",
        "OrderReturnedFunction",
        "AddressChangedFunction",
        "ProductChangedFunction",
    ];
    let access = ssm_access();
    let reaches = |function: &str, name: &str| {
        access[function].1.iter().any(|resource| {
            let pattern = resource.strip_prefix("!Sub ").unwrap_or(resource);
            iam_matches(pattern, &format!("{PARAMETER}{name}"))
        })
    };
    for function in webhooks {
        assert!(
            reaches(function, &webhook_secrets[0]),
            "{function} reads webhook secrets"
        );
        for secret in &loyalty_secrets {
            assert!(!reaches(function, secret), "{function} may read {secret}");
        }
    }
    for secret in &loyalty_secrets {
        assert!(reaches("LoyaltyApiFunction", secret));
    }
    for secret in &webhook_secrets {
        assert!(
            !reaches("LoyaltyApiFunction", secret),
            "the loyalty function may read {secret}"
        );
    }
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
        "dynamodb:DeleteItem",
    ] {
        assert!(
            actions.contains(needed),
            "address-changed lacks {needed}: {actions:?}"
        );
    }
}

/// An attributed order adds its worth to the message it came after, and a return takes it
/// back, with an update in the order's transaction: the functions that place and return orders
/// may update items; the one that records deliveries, which changes no order's worth, may not.
#[test]
fn the_order_functions_that_change_what_a_message_earned_may_update_it() {
    let actions = dynamodb_actions();
    for function in ["OrderPlacedFunction", "OrderReturnedFunction"] {
        assert!(
            actions[function].contains("dynamodb:UpdateItem"),
            "{function}: {:?}",
            actions[function]
        );
    }
    assert!(!actions["OrderDeliveredFunction"].contains("dynamodb:UpdateItem"));
}

/// An unsubscribe through an email's link is stamped on that email and marks its day's
/// summary changed, both updates: without the action AWS answers AccessDenied and the link
/// answers 503 instead of unsubscribing.
#[test]
fn the_links_function_may_stamp_the_email_an_unsubscribe_came_from() {
    let actions = &dynamodb_actions()["CustomerLinksFunction"];
    assert!(actions.contains("dynamodb:UpdateItem"), "{actions:?}");
    assert!(!actions.contains("dynamodb:DeleteItem"), "{actions:?}");
}

// ---------------------------------------------------------------- enforced in the tests
// Every integration test runs each handler with its own function's identity; the local moto
// evaluates each request against that function's policy in this template (moto_iam.py).

use aws_sdk_dynamodb::types::AttributeValue;
use trouw_local::functions::Function;
use trouw_tests::{StackOptions, TestStack, fixture, shopify_fixture};

/// A call beyond a function's policy is answered AccessDenied, as AWS answers it: the error
/// names the role, the action and the resource.
#[tokio::test]
async fn a_call_beyond_the_policy_is_denied_naming_the_action_and_the_resource() {
    let stack = TestStack::start().await;
    let ses_events = aws_sdk_dynamodb::Client::new(&stack.identities[&Function::SesEvents].sdk);
    let err = ses_events
        .query()
        .table_name(&stack.table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S("SHOP#x".into()))
        .send()
        .await
        .expect_err("ses-events may not Query");
    let message = format!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(&err));
    assert!(message.contains("AccessDeniedException"), "{message}");
    assert!(
        message.contains(&format!(
            "assumed-role/{}-SesEventsFunctionRole/{}-SesEventsFunction is not authorized to perform: dynamodb:Query on resource: arn:aws:dynamodb:eu-west-1:123456789012:table/{} because no identity-based policy allows the dynamodb:Query action",
            stack.table, stack.table, stack.table
        )),
        "{message}"
    );
    let denials = stack.take_iam_denials();
    assert_eq!(denials.len(), 1, "{denials:?}");
    assert_eq!(
        (denials[0].function.as_str(), denials[0].action.as_str()),
        ("SesEventsFunction", "dynamodb:Query")
    );
    // What the policy grants goes through: GetItem on the table.
    ses_events
        .get_item()
        .table_name(&stack.table)
        .key("pk", AttributeValue::S("SHOP#x".into()))
        .key("sk", AttributeValue::S("x".into()))
        .send()
        .await
        .unwrap();
}

/// The end of a test reports what a handler was denied, with the function and the action,
/// even when nothing else in the test looked.
#[tokio::test]
#[should_panic(expected = "SesEventsFunction may not dynamodb:Query")]
async fn a_denial_fails_the_test_with_the_function_and_the_action() {
    let stack = TestStack::start().await;
    let _ = aws_sdk_dynamodb::Client::new(&stack.identities[&Function::SesEvents].sdk)
        .query()
        .table_name(&stack.table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S("SHOP#x".into()))
        .send()
        .await;
}

/// The defect this check exists for: with address-changed's policy as it was (no
/// `dynamodb:Query`), Shopify's `customers/redact` is denied in the cloud and the erasure never
/// happens. The template without that one action makes the erasure fail here, naming it.
#[tokio::test]
async fn without_query_the_erasure_is_denied_naming_dynamodb_query() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let function = text.find("\n  AddressChangedFunction:").unwrap();
    let query = function + text[function..].find("- dynamodb:Query\n").unwrap();
    let line_start = text[..query].rfind('\n').unwrap() + 1;
    let without = format!(
        "{}{}",
        &text[..line_start],
        &text[query + "- dynamodb:Query\n".len()..]
    );
    let copy = std::env::temp_dir().join(format!("{}-template.yaml", trouw_tests::unique("iam")));
    std::fs::write(&copy, without).unwrap();
    let stack = TestStack::start_with(StackOptions {
        template: Some(copy.clone()),
        ..Default::default()
    })
    .await;
    shopify_fixture(
        &stack,
        "order-placed",
        "orders/create",
        "orders-create.json",
    )
    .await;
    let answer = stack
        .post_shopify(
            "address-changed",
            "customers/redact",
            &fixture("shopify/customers-redact.json"),
        )
        .await;
    let denials = stack.take_iam_denials();
    let _ = std::fs::remove_file(&copy);
    assert_eq!(answer.status, 500, "{}", answer.body);
    assert!(
        denials
            .iter()
            .any(|d| d.function == "AddressChangedFunction" && d.action == "dynamodb:Query"),
        "{denials:?}"
    );
}
