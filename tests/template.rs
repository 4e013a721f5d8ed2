//! Checks of the deploy path that need no deployment: the Makefile gives `sam build` and `sam
//! deploy` the same architecture, and `infra/template.yaml` can be deployed twice in one account,
//! with SES event types, secret names and the dead-letter queue policy as AWS accepts them.

use serde_yaml_ng::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

fn root() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn template() -> Value {
    serde_yaml_ng::from_str(&read("infra/template.yaml")).unwrap()
}

// ------------------------------------------------------------------ Makefile

/// The Makefile's simple variables (`NAME := value`, `NAME ?= value`, `NAME = value`).
fn make_variables(makefile: &str) -> BTreeMap<String, String> {
    let mut variables = BTreeMap::new();
    for line in makefile.lines() {
        if line.starts_with('\t') || line.trim_start().starts_with('#') {
            continue;
        }
        for op in [":=", "?=", "="] {
            if let Some((name, value)) = line.split_once(op) {
                let name = name.trim();
                if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    variables.insert(name.to_owned(), value.trim().to_owned());
                }
                break;
            }
        }
    }
    variables
}

/// `text` with `$(NAME)` expanded from `variables`, except `keep` (left as `$(keep)`).
fn expand(text: &str, variables: &BTreeMap<String, String>, keep: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("$(") {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find(')') else {
            break;
        };
        let name = &rest[start + 2..start + len];
        match variables.get(name) {
            Some(value) if name != keep => out.push_str(&expand(value, variables, keep)),
            _ => out.push_str(&rest[start..=start + len]),
        }
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

/// The recipe of `target`, its continuation lines joined.
fn recipe(makefile: &str, target: &str) -> String {
    let mut lines = makefile
        .lines()
        .skip_while(|l| !l.starts_with(&format!("{target}:")));
    lines
        .next()
        .unwrap_or_else(|| panic!("no target {target} in the Makefile"));
    lines
        .take_while(|l| l.starts_with('\t'))
        .map(|l| l.trim().trim_end_matches('\\'))
        .collect::<Vec<_>>()
        .join(" ")
}

/// What follows `--parameter-overrides` on the `sam <command>` line of `recipe`.
fn sam_parameter_overrides(recipe: &str, command: &str) -> String {
    let at = recipe
        .find(&format!("sam {command}"))
        .unwrap_or_else(|| panic!("no `sam {command}` in: {recipe}"));
    let line = &recipe[at..];
    let line = line.split("&&").next().unwrap_or(line);
    match line.split_once("--parameter-overrides") {
        Some((_, overrides)) => overrides.trim().to_owned(),
        None => String::new(),
    }
}

/// The parameters `sam build` gets and those `sam deploy` gets in `deploy_target` (with
/// `$(ARCH)` unexpanded), as the Makefile text says.
fn sam_architectures(makefile: &str, deploy_target: &str) -> (String, String) {
    let variables = make_variables(makefile);
    let build = expand(&recipe(makefile, "sam-build"), &variables, "ARCH");
    let deploy = expand(&recipe(makefile, deploy_target), &variables, "ARCH");
    (
        sam_parameter_overrides(&build, "build"),
        sam_parameter_overrides(&deploy, "deploy"),
    )
}

#[test]
fn sam_build_and_sam_deploy_get_the_same_architecture() {
    let makefile = read("Makefile");
    for target in ["deploy", "deploy-guided"] {
        let (build, deploy) = sam_architectures(&makefile, target);
        assert!(
            build.contains("Architecture=$(ARCH)"),
            "`make sam-build` must pass Architecture=$(ARCH) to sam build, passes: {build:?}"
        );
        assert_eq!(
            build, deploy,
            "sam build and `make {target}`'s sam deploy differ"
        );
        assert!(
            makefile.contains(&format!("\n{target}: sam-build")),
            "`make {target}` must build with `make sam-build` first"
        );
    }
    // `make build` (cargo lambda without SAM) follows ARCH too.
    let build = recipe(&makefile, "build");
    assert!(
        build.contains("$(filter arm64,$(ARCH)),--arm64,--x86-64"),
        "{build}"
    );
}

#[test]
fn the_architecture_check_sees_the_old_mismatch() {
    // The Makefile before the fix: sam build without the override, sam deploy with it.
    let before = "ARCH ?= arm64\nsam-build: x\n\tcd infra && sam build\n\ndeploy: sam-build\n\tcd infra && sam deploy --parameter-overrides Architecture=$(ARCH)\n";
    let (build, deploy) = sam_architectures(before, "deploy");
    assert_eq!(build, "");
    assert_ne!(build, deploy);
}

#[test]
fn samconfig_sets_no_architecture_of_its_own() {
    // The architecture comes from ARCH on the command line, for build and deploy alike; a
    // parameter_overrides in samconfig.toml would apply to one command and not the other.
    let samconfig = read("infra/samconfig.toml");
    for line in samconfig
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
    {
        assert!(
            !line.contains("parameter_overrides") && !line.contains("Architecture"),
            "infra/samconfig.toml: {line}"
        );
    }
}

// ------------------------------------------------------------------ template

/// Where a value names a physical resource: `Name` and every property ending in `Name`.
fn is_name_key(key: &str) -> bool {
    key == "Name" || key.ends_with("Name")
}

/// Properties called *Name that name no resource of their own or are scoped to one (so two
/// stacks cannot collide on them), by resource type and property path, with the reason.
const SCOPED_NAMES: &[(&str, &str, &str)] = &[
    ("AWS::Serverless::HttpApi", "StageName", "scoped to its API"),
    (
        "AWS::CloudWatch::Alarm",
        "MetricName",
        "a metric, not a resource",
    ),
    (
        "AWS::CloudWatch::Alarm",
        "Dimensions.Name",
        "a metric dimension",
    ),
    (
        "AWS::DynamoDB::Table",
        "AttributeDefinitions.AttributeName",
        "scoped to the table",
    ),
    (
        "AWS::DynamoDB::Table",
        "KeySchema.AttributeName",
        "scoped to the table",
    ),
    (
        "AWS::DynamoDB::Table",
        "GlobalSecondaryIndexes.IndexName",
        "scoped to the table",
    ),
    (
        "AWS::DynamoDB::Table",
        "GlobalSecondaryIndexes.KeySchema.AttributeName",
        "scoped to the table",
    ),
    (
        "AWS::DynamoDB::Table",
        "TimeToLiveSpecification.AttributeName",
        "scoped to the table",
    ),
    (
        "AWS::SES::ConfigurationSetEventDestination",
        "EventDestination.Name",
        "scoped to its configuration set",
    ),
    (
        "AWS::Cognito::UserPool",
        "AccountRecoverySetting.RecoveryMechanisms.Name",
        "a recovery mechanism, not a resource",
    ),
    (
        "AWS::Cognito::UserPoolClient",
        "ClientName",
        "scoped to its user pool (and not unique even there)",
    ),
];

/// A name value two stacks cannot share: a reference (`!Ref`, `!GetAtt`: derived from a
/// resource or chosen per deployment) or a `!Sub` with the stack's name in it.
fn is_per_stack(value: &Value) -> bool {
    match value {
        Value::Tagged(tagged) => match tagged.tag.to_string().as_str() {
            "!Ref" | "!GetAtt" => true,
            "!Sub" => match &tagged.value {
                Value::String(s) => s.contains("${AWS::StackName}"),
                Value::Sequence(items) => items
                    .first()
                    .and_then(Value::as_str)
                    .is_some_and(|s| s.contains("${AWS::StackName}")),
                _ => false,
            },
            _ => false,
        },
        Value::Mapping(map) => map.keys().any(|k| {
            matches!(k.as_str(), Some("Ref" | "Fn::GetAtt"))
                || (k.as_str() == Some("Fn::Sub")
                    && format!("{:?}", map[k]).contains("${AWS::StackName}"))
        }),
        _ => false,
    }
}

/// Every `*Name` property under `value` that holds a fixed name: (path, value).
fn fixed_names(value: &Value, path: &str, found: &mut Vec<(String, String)>) {
    match value {
        Value::Mapping(map) => {
            for (key, value) in map {
                let Some(key) = key.as_str() else { continue };
                let here = if path.is_empty() {
                    key.to_owned()
                } else {
                    format!("{path}.{key}")
                };
                if is_name_key(key) && !is_per_stack(value) && !value.is_mapping() {
                    found.push((here.clone(), format!("{value:?}")));
                }
                fixed_names(value, &here, found);
            }
        }
        Value::Sequence(items) => {
            for item in items {
                fixed_names(item, path, found);
            }
        }
        Value::Tagged(tagged) => fixed_names(&tagged.value, path, found),
        _ => {}
    }
}

/// Names SAM gives what it generates for a function's events when the template gives none:
/// an `AWS::Scheduler::Schedule` is named after its logical id, the same in every stack.
fn sam_generated_fixed_names(resource: &Value) -> Vec<String> {
    let mut found = Vec::new();
    for (event, spec) in resource["Properties"]["Events"]
        .as_mapping()
        .into_iter()
        .flatten()
    {
        if spec["Type"].as_str() == Some("ScheduleV2") {
            let name = &spec["Properties"]["Name"];
            let omitted = spec["Properties"]["OmitName"].as_bool() == Some(true);
            if !omitted && !is_per_stack(name) {
                found.push(format!(
                    "Events.{}.Properties.Name (a ScheduleV2 without a per-stack Name is named after its logical id)",
                    event.as_str().unwrap_or("?")
                ));
            }
        }
    }
    found
}

fn collisions(template: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for (id, resource) in template["Resources"].as_mapping().unwrap() {
        let id = id.as_str().unwrap();
        let kind = resource["Type"].as_str().unwrap_or("");
        let mut found = Vec::new();
        fixed_names(&resource["Properties"], "", &mut found);
        for (path, value) in found {
            if !SCOPED_NAMES
                .iter()
                .any(|(t, p, _)| *t == kind && *p == path)
            {
                problems.push(format!("{id} ({kind}) {path} = {value}"));
            }
        }
        if kind == "AWS::Serverless::Function" {
            problems.extend(
                sam_generated_fixed_names(resource)
                    .into_iter()
                    .map(|p| format!("{id} {p}")),
            );
        }
    }
    problems
}

#[test]
fn two_stacks_in_one_account_share_no_physical_name() {
    let problems = collisions(&template());
    assert!(
        problems.is_empty(),
        "fixed physical names (put ${{AWS::StackName}} in them, or allow-list a scoped one with its reason):\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_name_check_sees_a_fixed_name_and_an_unnamed_schedule() {
    let template: Value = serde_yaml_ng::from_str(
        r#"
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: trouw-failures
  Logs:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: !Sub /aws/lambda/${AWS::StackName}-x
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Every:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: rate(1 hour)
"#,
    )
    .unwrap();
    let problems = collisions(&template);
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(problems[0].starts_with("Queue ") || problems[1].starts_with("Queue "));
    assert!(problems.iter().any(|p| p.starts_with("Fn Events.Every")));
}

#[test]
fn ses_event_types_are_as_cloudformation_accepts_them() {
    // AWS::SES::ConfigurationSetEventDestination takes the SES API's camelCase names.
    const ACCEPTED: [&str; 10] = [
        "send",
        "reject",
        "bounce",
        "complaint",
        "delivery",
        "open",
        "click",
        "renderingFailure",
        "deliveryDelay",
        "subscription",
    ];
    let template = template();
    let mut seen = 0;
    for (id, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"].as_str() != Some("AWS::SES::ConfigurationSetEventDestination") {
            continue;
        }
        let types = resource["Properties"]["EventDestination"]["MatchingEventTypes"]
            .as_sequence()
            .unwrap();
        for t in types {
            let t = t.as_str().unwrap();
            assert!(
                ACCEPTED.contains(&t),
                "{id:?}: {t} is not an event type CloudFormation accepts"
            );
            seen += 1;
        }
    }
    // The event types ses-events handles, each with its EventBridge detail-type.
    assert_eq!(seen, 8);
}

#[test]
fn secret_parameters_lie_under_the_prefix_and_beside_the_shops_path() {
    // CloudFormation's Rules cannot test a prefix, so the secrets' parameters are named relative
    // to SecretsPathPrefix by one path segment: whatever is deployed, the full name lies
    // directly under the prefix, never under its shops/ path (which the webhook functions read).
    let template = template();
    let text = read("infra/template.yaml");
    let parameters = template["Parameters"].as_mapping().unwrap();
    let prefix = &template["Parameters"]["SecretsPathPrefix"];
    assert_eq!(
        prefix["AllowedPattern"].as_str(),
        Some("^/([A-Za-z0-9_.-]+/)*$")
    );
    let mut secrets = 0;
    for (name, parameter) in parameters {
        let name = name.as_str().unwrap();
        assert!(
            !name.ends_with("SecretParameter"),
            "{name}: a full parameter name could lie anywhere; name it relative to SecretsPathPrefix"
        );
        if !name.ends_with("SecretName") {
            continue;
        }
        secrets += 1;
        assert_eq!(
            parameter["AllowedPattern"].as_str(),
            Some("^[A-Za-z0-9_.-]+$"),
            "{name}: one path segment, no slash"
        );
        let default = parameter["Default"].as_str().unwrap();
        assert!(
            !default.contains('/') && !default.is_empty(),
            "{name}: {default}"
        );
        let used = format!("${{{name}}}");
        let beside = format!("${{SecretsPathPrefix}}${{{name}}}");
        assert!(text.contains(&beside), "{name} is not used");
        assert_eq!(
            text.matches(&used).count(),
            text.matches(&beside).count(),
            "{name} is used without SecretsPathPrefix in front"
        );
        assert!(!text.contains(&format!("!Ref {name}")), "{name} used alone");
    }
    assert_eq!(secrets, 3, "link, session and guest id secrets");
}

#[test]
fn the_ses_dead_letter_queue_takes_only_the_ses_reports_rule() {
    let template = template();
    let resources = template["Resources"].as_mapping().unwrap();
    // The EventBridge rules SAM generates with a dead-letter queue: {Function}{Event}.
    let mut rules = BTreeMap::new();
    for (id, resource) in resources {
        for (event, spec) in resource["Properties"]["Events"]
            .as_mapping()
            .into_iter()
            .flatten()
        {
            if spec["Type"].as_str() == Some("EventBridgeRule") {
                let dlq = format!("{:?}", spec["Properties"]["DeadLetterConfig"]["Arn"]);
                rules.insert(
                    format!("{}{}", id.as_str().unwrap(), event.as_str().unwrap()),
                    dlq,
                );
            }
        }
    }
    assert!(!rules.is_empty());
    let mut checked = 0;
    for (id, resource) in resources {
        if resource["Type"].as_str() != Some("AWS::SQS::QueuePolicy") {
            continue;
        }
        let queues = format!("{:?}", resource["Properties"]["Queues"]);
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
            .as_sequence()
            .unwrap()
        {
            if statement["Principal"]["Service"].as_str() != Some("events.amazonaws.com") {
                continue;
            }
            let source = &statement["Condition"]["ArnEquals"]["aws:SourceArn"];
            let Value::Tagged(tagged) = source else {
                panic!(
                    "{id:?}: EventBridge may send only with ArnEquals aws:SourceArn of its rule"
                );
            };
            assert_eq!(tagged.tag.to_string(), "!GetAtt");
            let rule = tagged.value.as_str().unwrap().trim_end_matches(".Arn");
            let dlq = rules
                .get(rule)
                .unwrap_or_else(|| panic!("{id:?}: {rule} is not a rule SAM generates"));
            let queue = queues
                .split('"')
                .nth(1)
                .unwrap_or_else(|| panic!("{queues}"));
            assert!(dlq.contains(queue), "{rule} sends to another queue: {dlq}");
            checked += 1;
        }
    }
    assert_eq!(checked, 1);
}

/// The text of an intrinsic (`!Ref X`, `!GetAtt X.Y`) or a plain string.
fn reference(value: &Value) -> String {
    match value {
        Value::Tagged(tagged) => reference(&tagged.value),
        Value::String(s) => s.clone(),
        _ => String::new(),
    }
}

/// A stream reader's failures show nowhere by themselves (retried batches are no Lambda errors,
/// given-up records land in a queue): each function fed by the table's stream has alarms on its
/// errors, its iterator age and its failure queue.
#[test]
fn every_stream_reader_has_alarms_on_errors_lag_and_its_failure_queue() {
    let template = template();
    let resources = template["Resources"].as_mapping().unwrap();
    let alarms: Vec<(String, String)> = resources
        .values()
        .filter(|r| r["Type"].as_str() == Some("AWS::CloudWatch::Alarm"))
        .flat_map(|r| {
            let metric = r["Properties"]["MetricName"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            r["Properties"]["Dimensions"]
                .as_sequence()
                .into_iter()
                .flatten()
                .map(move |d| (metric.clone(), reference(&d["Value"])))
        })
        .collect();
    let mut readers = 0;
    for (id, resource) in resources {
        let id = id.as_str().unwrap();
        let events = resource["Properties"]["Events"].as_mapping();
        for event in events.into_iter().flat_map(|e| e.values()) {
            if event["Type"].as_str() != Some("DynamoDB") {
                continue;
            }
            readers += 1;
            for metric in ["Errors", "IteratorAge"] {
                assert!(
                    alarms.contains(&(metric.to_owned(), id.to_owned())),
                    "{id}: no alarm on {metric}"
                );
            }
            let queue =
                reference(&event["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]);
            let queue = queue.split('.').next().unwrap().to_owned();
            assert!(
                alarms.contains(&(
                    "ApproximateNumberOfMessagesVisible".to_owned(),
                    format!("{queue}.QueueName")
                )),
                "{id}: no alarm on its failure queue {queue}"
            );
        }
    }
    assert_eq!(readers, 2, "the sender and the day counter");
}
