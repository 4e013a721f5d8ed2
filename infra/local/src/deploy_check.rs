//! `make deploy-check`: every function's built `bootstrap` (`sam build` output) starts under the
//! local Lambda Runtime API with the environment the template gives it, answers one realistic
//! event against moto as the deployed function would, and exits cleanly on SIGTERM.
//!
//! The moto it starts holds what a deployment finds in the account: the table created from the
//! template, the SSM SecureString parameters the functions' variables name, the demo shop with
//! its webhook secret under the shops' path, a Cognito user pool and client, a verified SES
//! identity and the stack's configuration set. Functions run in an order that lets each event
//! be real: the webhooks create the customer and a PENDING message, send-messages sends it,
//! ses-events records SES's delivery report on it.

use crate::aws::LocalAws;
use crate::demo::{DEFAULT_DEMO_SECRET, demo_shop};
use crate::events::{scheduler_event, ses_envelope};
use crate::functions::Function;
use crate::lambda_events::{http_api_request, stream_insert, stream_window_final};
use crate::runtime_api::{LambdaProcess, Outcome, lambda_environment};
use crate::table::TableDefinition;
use crate::template::{Stack, Template};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use trouw::domain::{CustomerId, DeliveryStatus, ShopId};
use trouw::store::{MessageStatus, Store};
use trouw::webhook::WebhookSecret;

const STACK: &str = "trouw-check";
use crate::events::{ACCOUNT, REGION};
const API_ID: &str = "deploycheck";
/// How long a function may take to exit after SIGTERM (Lambda's grace is shorter for a runtime
/// with no extensions; two seconds leaves room for a loaded machine).
pub const SIGTERM_GRACE: Duration = Duration::from_secs(2);

/// A fixed-offset zone where it is early afternoon at `now`, so that the check's message goes out
/// at once rather than waiting for the end of the shop's quiet hours (21:00 to 08:00 local).
pub fn daytime_zone(now: jiff::Timestamp) -> String {
    let hour = i32::from(now.to_zoned_datetime(jiff::tz::TimeZone::UTC).hour());
    // Etc/GMT-N is N hours ahead of UTC (POSIX signs); they run from -14 to +12.
    let ahead = (14 - hour).clamp(-12, 14);
    match ahead {
        0 => "Etc/GMT".into(),
        n if n > 0 => format!("Etc/GMT-{n}"),
        n => format!("Etc/GMT+{}", -n),
    }
}

/// The CPU a bootstrap must be built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    X86_64,
    Arm64,
}

impl Architecture {
    pub fn parse(name: &str) -> Option<Architecture> {
        match name {
            "x86_64" => Some(Architecture::X86_64),
            "arm64" => Some(Architecture::Arm64),
            _ => None,
        }
    }

    /// The ELF `e_machine` of its executables.
    fn elf_machine(self) -> u16 {
        match self {
            Architecture::X86_64 => 0x3e,
            Architecture::Arm64 => 0xb7,
        }
    }
}

/// The architecture an ELF executable is built for, from its header.
pub fn elf_architecture(bytes: &[u8]) -> Option<Architecture> {
    if bytes.len() < 20 || &bytes[..4] != b"\x7fELF" {
        return None;
    }
    let machine = u16::from_le_bytes([bytes[18], bytes[19]]);
    [Architecture::X86_64, Architecture::Arm64]
        .into_iter()
        .find(|a| a.elf_machine() == machine)
}

/// One function's result.
#[derive(Debug)]
pub struct FunctionReport {
    pub function: Function,
    /// What it answered (e.g. `200`, `0 batch item failures`), or what went wrong.
    pub result: Result<String, String>,
    /// From start to the answer of the first invocation (includes the cold start).
    pub first_answer: Option<Duration>,
    /// From SIGTERM to exit.
    pub exit_after_sigterm: Option<Duration>,
}

/// The local account and what the check learns along the way.
pub(crate) struct Account {
    pub(crate) endpoint: String,
    pub(crate) template: Template,
    pub(crate) stack: Stack,
    pub(crate) store: Store,
    pub(crate) dynamo: aws_sdk_dynamodb::Client,
    pub(crate) table: String,
    pub(crate) link_secret: String,
    pub(crate) shop: ShopId,
    pub(crate) customer: Option<CustomerId>,
}

/// Runs the check on the bootstraps under `build_dir` (`infra/.aws-sam/build`).
pub async fn run(
    build_dir: &Path,
    architecture: Architecture,
) -> Result<Vec<FunctionReport>, String> {
    let aws = LocalAws::start(0).map_err(|e| format!("starting moto: {e}"))?;
    let mut account = prepare(&aws).await?;
    let mut reports = Vec::new();
    for function in ORDER {
        let started = Instant::now();
        let mut report = FunctionReport {
            function,
            result: Err(String::new()),
            first_answer: None,
            exit_after_sigterm: None,
        };
        report.result =
            check_one(&mut account, build_dir, architecture, function, &mut report).await;
        tracing::debug!(function = function.binary(), elapsed = ?started.elapsed(), "checked");
        reports.push(report);
    }
    drop(aws);
    Ok(reports)
}

/// The webhooks first (they create the customer and its messages), then the sender, the SES
/// report on what it sent, and the rest.
pub(crate) const ORDER: [Function; 12] = [
    Function::OrderPlaced,
    Function::OrderDelivered,
    Function::OrderReturned,
    Function::AddressChanged,
    Function::ProductChanged,
    Function::SendMessages,
    Function::CountDays,
    Function::SesEvents,
    Function::RunSchedule,
    Function::CustomerLinks,
    Function::MessageLog,
    Function::LoyaltyApi,
];

pub(crate) async fn prepare(aws: &LocalAws) -> Result<Account, String> {
    let sdk = aws.sdk_config().await;
    let template = Template::from_repository()?;
    let table = format!("{STACK}-Table-LOCAL");
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    TableDefinition::from_repository()
        .map_err(|e| e.to_string())?
        .create(&dynamo, &table)
        .await
        .map_err(|e| format!("creating the table: {e}"))?;
    let table_arn = format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}");
    let mut stack = Stack {
        name: STACK.into(),
        region: REGION.into(),
        account: ACCOUNT.into(),
        parameters: BTreeMap::new(),
        resources: [
            ("Table".to_owned(), table.clone()),
            ("Table.Arn".to_owned(), table_arn.clone()),
            (
                "Table.StreamArn".to_owned(),
                format!("{table_arn}/stream/local"),
            ),
            ("HttpApi".to_owned(), API_ID.to_owned()),
        ]
        .into(),
    };

    // SES: the stack's configuration set (named by the template) and the shop's verified sender.
    let configuration_set = template.resource_text(&stack, "SesConfigurationSet", "Name")?;
    let ses = aws_sdk_sesv2::Client::new(&sdk);
    ses.create_configuration_set()
        .configuration_set_name(&configuration_set)
        .send()
        .await
        .map_err(|e| format!("creating the SES configuration set: {e:?}"))?;
    stack
        .resources
        .insert("SesConfigurationSet".into(), configuration_set);
    let mut shop = demo_shop();
    crate::demo::verify_sender(&sdk, shop.settings.sender.as_str())
        .await
        .map_err(|e| format!("verifying the sender: {e}"))?;

    // Cognito: the marketers' pool and the pages' app client.
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&sdk);
    let pool = cognito
        .create_user_pool()
        .pool_name(format!("{STACK}-marketers"))
        .send()
        .await
        .map_err(|e| format!("creating the user pool: {e:?}"))?;
    let pool_id = pool
        .user_pool
        .and_then(|p| p.id)
        .ok_or("the user pool has no id")?;
    let client = cognito
        .create_user_pool_client()
        .user_pool_id(&pool_id)
        .client_name("trouw-message-log")
        .send()
        .await
        .map_err(|e| format!("creating the app client: {e:?}"))?;
    let client_id = client
        .user_pool_client
        .and_then(|c| c.client_id)
        .ok_or("the app client has no id")?;
    stack.resources.insert("AdminUserPool".into(), pool_id);
    stack
        .resources
        .insert("AdminUserPoolClient".into(), client_id);

    // SSM: every parameter a function's variables name, and the shop's webhook secret under
    // the shops' path, as SecureStrings.
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    let put = |name: String, value: String| {
        let ssm = ssm.clone();
        async move {
            ssm.put_parameter()
                .name(&name)
                .value(value)
                .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
                .overwrite(true)
                .send()
                .await
                .map_err(|e| format!("putting {name}: {e:?}"))
        }
    };
    let link_secret = format!("deploy-check-link-secret-{}", std::process::id());
    let mut parameters = BTreeMap::new();
    for function in Function::ALL {
        let config = template.function(&stack, function.logical_id())?;
        for (name, value) in &config.environment {
            if name.ends_with("_PARAMETER") {
                parameters.insert(name.clone(), value.clone());
            }
        }
    }
    for (variable, parameter) in &parameters {
        let value = match variable.as_str() {
            "LINK_SECRET_PARAMETER" => link_secret.clone(),
            other => format!(
                "deploy-check-{}-0123456789abcdef0123456789",
                other.to_lowercase()
            ),
        };
        put(parameter.clone(), value).await?;
    }
    let prefix = template.parameter_value(&stack, "SecretsPathPrefix")?;
    let secret_name = format!("{prefix}shops/{}/webhook-secret", shop.settings.id);
    put(secret_name.clone(), DEFAULT_DEMO_SECRET.into()).await?;
    shop.webhook_secrets = vec![format!("ssm:{secret_name}")];
    shop.settings.time_zone = daytime_zone(jiff::Timestamp::now());
    shop.shopify = None;
    shop.woocommerce = None;
    let store = Store::new(dynamo.clone(), table.clone());
    store
        .put_shop(&shop)
        .await
        .map_err(|e| format!("registering the demo shop: {e}"))?;

    Ok(Account {
        endpoint: aws.endpoint.clone(),
        template,
        stack,
        store,
        dynamo,
        table,
        link_secret,
        shop: shop.settings.id,
        customer: None,
    })
}

async fn check_one(
    account: &mut Account,
    build_dir: &Path,
    architecture: Architecture,
    function: Function,
    report: &mut FunctionReport,
) -> Result<String, String> {
    let bootstrap = build_dir.join(function.logical_id()).join("bootstrap");
    let bytes = std::fs::read(&bootstrap).map_err(|e| format!("{}: {e}", bootstrap.display()))?;
    match elf_architecture(&bytes) {
        Some(built) if built == architecture => {}
        built => {
            return Err(format!(
                "bootstrap built for {built:?}, the stack runs {architecture:?}"
            ));
        }
    }
    let config = account
        .template
        .function(&account.stack, function.logical_id())?;
    let (environment, key, arn) = environment_for(account, function).await?;
    let event = event_for(account, function).await?;
    let timeout = Duration::from_secs(u64::from(config.timeout_seconds));

    let log_path = logs_dir().join(format!("{}.log", function.binary()));
    let log =
        std::fs::File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
    let mut command = tokio::process::Command::new(&bootstrap);
    command
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log);
    let started = Instant::now();
    let mut process = LambdaProcess::spawn(command, &arn, &environment)
        .await
        .map_err(|e| format!("starting {}: {e}", bootstrap.display()))?;
    let invoked = process.invoke(event.to_string().as_bytes(), timeout).await;
    report.first_answer = Some(started.elapsed());
    let answer = match invoked {
        Ok(invoked) => match invoked.outcome {
            Outcome::Response(body) => {
                serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null)
            }
            Outcome::Error(error) => {
                let _ = process.terminate(SIGTERM_GRACE).await;
                return Err(format!(
                    "function error {}: {}",
                    error.error_type, error.body
                ));
            }
        },
        Err(err) => {
            let _ = process.terminate(SIGTERM_GRACE).await;
            // Its last words (e.g. why it could not start).
            let last = std::fs::read_to_string(&log_path)
                .ok()
                .and_then(|log| log.lines().last().map(str::to_owned))
                .unwrap_or_default();
            return Err(format!("{err} {last}").trim().to_owned());
        }
    };
    let stopping = Instant::now();
    let status = process.terminate(SIGTERM_GRACE).await?;
    report.exit_after_sigterm = Some(stopping.elapsed());
    let denials = crate::aws::iam_denials(&account.endpoint, &[key])?;
    if let Some(denial) = denials.first() {
        return Err(format!(
            "its IAM policy denied {} on {} ({} denials)",
            denial.action,
            denial.resource,
            denials.len()
        ));
    }
    let verdict = expect(account, function, &answer).await?;
    if !status.success() {
        return Err(format!("{verdict}, but on SIGTERM it {status}"));
    }
    Ok(verdict)
}

/// The environment Lambda gives `function` in this account, its access key, and its ARN.
pub(crate) async fn environment_for(
    account: &Account,
    function: Function,
) -> Result<(BTreeMap<String, String>, String, String), String> {
    let config = account
        .template
        .function(&account.stack, function.logical_id())?;
    let name = format!("{STACK}-{}", function.binary());
    let mut environment = lambda_environment(&name, config.memory_mb, REGION);
    environment.extend(config.environment.clone());
    // What the execution role gives a function in AWS: its own credentials, which the local
    // moto holds to the function's policy in the template; the endpoint makes the SDK talk to
    // moto.
    let (key, secret) = function_credentials(account, function).await?;
    environment.insert("AWS_ACCESS_KEY_ID".into(), key.clone());
    environment.insert("AWS_SECRET_ACCESS_KEY".into(), secret);
    environment.insert("AWS_ENDPOINT_URL".into(), account.endpoint.clone());
    let arn = format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}");
    Ok((environment, key, arn))
}

/// The function's own access key and secret: the local moto evaluates what they sign against
/// the function's policy in the template, resolved with this stack's names.
async fn function_credentials(
    account: &Account,
    function: Function,
) -> Result<(String, String), String> {
    use aws_sdk_dynamodb::config::ProvideCredentials;
    let names = crate::functions::LocalNames {
        stack: STACK.into(),
        table: account.table.clone(),
        resources: account
            .stack
            .resources
            .iter()
            .filter(|(id, _)| !id.contains('.'))
            .map(|(id, name)| (id.clone(), name.clone()))
            .collect(),
        parameters: BTreeMap::new(),
        template: None,
    };
    let identity = crate::aws::function_sdk_config(&account.endpoint, function, &names).await?;
    let provider = identity
        .sdk
        .credentials_provider()
        .ok_or("the identity has no credentials")?;
    let credentials = provider
        .provide_credentials()
        .await
        .map_err(|e| e.to_string())?;
    Ok((
        credentials.access_key_id().to_owned(),
        credentials.secret_access_key().to_owned(),
    ))
}

/// The event AWS would invoke `function` with.
pub(crate) async fn event_for(account: &mut Account, function: Function) -> Result<Value, String> {
    let shop = account.shop.clone();
    Ok(match function {
        Function::OrderPlaced
        | Function::OrderDelivered
        | Function::OrderReturned
        | Function::AddressChanged
        | Function::ProductChanged => {
            let route = function.binary();
            let body = std::fs::read(
                crate::workspace_root().join(format!("shared/contracts/examples/{route}.json")),
            )
            .map_err(|e| format!("example {route}: {e}"))?;
            let id = format!("msg_deploy_check_{route}");
            let timestamp = jiff::Timestamp::now().as_second();
            let signature = trouw::webhook::signature::sign_standard_webhook(
                &WebhookSecret::new(DEFAULT_DEMO_SECRET),
                &id,
                timestamp,
                &body,
            )
            .map_err(|e| format!("signing: {e:?}"))?;
            let path = format!("/webhooks/{shop}/{route}");
            http_api_request(
                API_ID,
                REGION,
                "POST",
                &format!("ANY /webhooks/{{shop}}/{route}"),
                &path,
                &[
                    ("content-type", "application/json".into()),
                    ("webhook-id", id),
                    ("webhook-timestamp", timestamp.to_string()),
                    ("webhook-signature", signature),
                ],
                &[("shop", shop.as_str())],
                Some(&body),
            )
        }
        Function::SendMessages => {
            let item = pending_message(account).await?;
            stream_insert(
                account.stack.resources["Table.Arn"].as_str(),
                REGION,
                &item,
                &["pk", "sk"],
                "4200000000000000000001",
            )
        }
        Function::CountDays => {
            // The window's one record: a message created now; its day's counters count it.
            let item = pending_message(account).await?;
            let records = stream_insert(
                account.stack.resources["Table.Arn"].as_str(),
                REGION,
                &item,
                &["pk", "sk"],
                "4200000000000000000002",
            );
            let now = jiff::Timestamp::now().as_second();
            stream_window_final(
                &records,
                "shardId-00000001700000000000-deploycheck",
                now - 300,
                now,
            )
        }
        Function::SesEvents => {
            let customer = account.customer.clone().ok_or("no customer yet")?;
            let sent = account
                .store
                .messages(&shop, &customer)
                .await
                .map_err(|e| e.to_string())?
                .into_iter()
                .find(|m| m.status == MessageStatus::Sent && m.ses_message_id.is_some())
                .ok_or("no message was sent to report on")?;
            ses_envelope(
                ses_delivery(
                    &account.stack.resources["SesConfigurationSet"],
                    sent.ses_message_id.as_deref().unwrap_or_default(),
                    &trouw::mail::ses::message_ref_tags(&shop, &customer, &sent.intent.key),
                ),
                jiff::Timestamp::now(),
            )
        }
        Function::RunSchedule => {
            let name = crate::events::schedule_name(&account.template, &account.stack)?;
            scheduler_event(&name, jiff::Timestamp::now())
        }
        Function::CustomerLinks => {
            let customer = account.customer.clone().ok_or("no customer yet")?;
            let token =
                trouw::mail::LinkKey::new(&account.link_secret).unsubscribe_token(&shop, &customer);
            http_api_request(
                API_ID,
                REGION,
                "GET",
                "GET /u/{token}",
                &format!("/u/{token}"),
                &[("accept", "text/html".into())],
                &[("token", token.as_str())],
                None,
            )
        }
        Function::MessageLog => http_api_request(
            API_ID,
            REGION,
            "GET",
            "ANY /admin/{proxy+}",
            "/admin/login",
            &[("accept", "text/html".into())],
            &[("proxy", "login")],
            None,
        ),
        // Without a key: the function reads the shop with its role and refuses the caller.
        Function::LoyaltyApi => {
            let customer = account.customer.clone().ok_or("no customer yet")?;
            http_api_request(
                API_ID,
                REGION,
                "GET",
                "GET /loyalty/{shop}/customers/{customer}",
                &format!("/loyalty/{shop}/customers/{customer}"),
                &[("accept", "application/json".into())],
                &[("shop", shop.as_str()), ("customer", customer.as_str())],
                None,
            )
        }
    })
}

/// SES's delivery report (the EventBridge `detail`) on a message SES accepted as `message_id`,
/// with the configuration set's tag and the sender's `ref` tags.
fn ses_delivery(configuration_set: &str, message_id: &str, tags: &[(&str, String)]) -> Value {
    let at = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S.000Z")
        .to_string();
    let mut tag_map = serde_json::Map::new();
    tag_map.insert(
        "ses:configuration-set".into(),
        serde_json::json!([configuration_set]),
    );
    tag_map.insert(
        "ses:caller-identity".into(),
        serde_json::json!(["send-messages"]),
    );
    for (name, value) in tags {
        tag_map.insert((*name).to_owned(), serde_json::json!([value]));
    }
    serde_json::json!({
        "eventType": "Delivery",
        "mail": {
            "timestamp": at,
            "source": "winkel@demo.trouw.test",
            "sendingAccountId": ACCOUNT,
            "messageId": message_id,
            "destination": ["customer@example.nl"],
            "headersTruncated": false,
            "tags": tag_map
        },
        "delivery": {
            "timestamp": at,
            "processingTimeMillis": 512,
            "recipients": ["customer@example.nl"],
            "smtpResponse": "250 2.6.0 Message received",
            "reportingMTA": "a1-2.smtp-out.amazonses.com"
        }
    })
}

/// A PENDING message item of the customer, as the table holds it (the stream's new image).
async fn pending_message(account: &Account) -> Result<HashMap<String, AttributeValue>, String> {
    let customer = account.customer.clone().ok_or("no customer yet")?;
    let items = account
        .dynamo
        .query()
        .table_name(&account.table)
        .key_condition_expression("pk = :pk AND begins_with(sk, :msg)")
        .expression_attribute_values(
            ":pk",
            AttributeValue::S(format!("SHOP#{}#CUST#{customer}", account.shop)),
        )
        .expression_attribute_values(":msg", AttributeValue::S("MSG#".into()))
        .send()
        .await
        .map_err(|e| format!("reading the messages: {e:?}"))?
        .items
        .unwrap_or_default();
    items
        .into_iter()
        .find(|item| {
            matches!(item.get("item"), Some(AttributeValue::S(s)) if s == "message")
                && matches!(item.get("status"), Some(AttributeValue::S(s)) if s == "PENDING")
        })
        .ok_or_else(|| "the webhooks left no PENDING message to send".into())
}

/// Whether `answer` is what the function should have answered, and what it did to the table.
pub(crate) async fn expect(
    account: &mut Account,
    function: Function,
    answer: &Value,
) -> Result<String, String> {
    let http_status = || answer["statusCode"].as_u64();
    match function {
        Function::OrderPlaced
        | Function::OrderDelivered
        | Function::OrderReturned
        | Function::AddressChanged
        | Function::ProductChanged => {
            let body: Value = answer["body"]
                .as_str()
                .and_then(|b| serde_json::from_str(b).ok())
                .unwrap_or(Value::Null);
            if http_status() != Some(200) {
                return Err(format!("answered {answer}"));
            }
            if let Some(customer) = body["customer_id"].as_str() {
                account.customer = CustomerId::parse(customer).ok();
            }
            Ok(format!("200 {}", body["outcome"].as_str().unwrap_or(""))
                .trim()
                .to_owned())
        }
        Function::SendMessages => {
            let failures = answer["batchItemFailures"]
                .as_array()
                .ok_or_else(|| format!("answered {answer}"))?;
            if !failures.is_empty() {
                return Err(format!("{} batch item failures", failures.len()));
            }
            let customer = account.customer.clone().ok_or("no customer")?;
            let sent = account
                .store
                .messages(&account.shop, &customer)
                .await
                .map_err(|e| e.to_string())?
                .iter()
                .filter(|m| m.status == MessageStatus::Sent)
                .count();
            if sent == 0 {
                return Err("no batch item failures, yet no message is SENT".into());
            }
            Ok(format!("0 batch item failures, {sent} sent through SES"))
        }
        Function::CountDays => {
            if answer["batchItemFailures"]
                .as_array()
                .is_some_and(|f| !f.is_empty())
            {
                return Err(format!("answered {answer}"));
            }
            let today = trouw::store::summaries::log_day_of(jiff::Timestamp::now());
            let counted = account
                .store
                .day_summaries(&account.shop, today, today)
                .await
                .map_err(|e| e.to_string())?
                .get(&today)
                .map_or(0, |d| d.counters.len());
            if counted == 0 {
                return Err(format!("answered {answer}, but today has no counters"));
            }
            Ok(format!("{counted} counters of today"))
        }
        Function::SesEvents => {
            let customer = account.customer.clone().ok_or("no customer")?;
            let delivered = account
                .store
                .messages(&account.shop, &customer)
                .await
                .map_err(|e| e.to_string())?
                .iter()
                .any(|m| m.delivery_status == Some(DeliveryStatus::Delivered));
            if delivered {
                Ok("delivery recorded".into())
            } else {
                Err(format!("answered {answer}, but no message is delivered"))
            }
        }
        Function::RunSchedule => {
            if answer["failed"].as_u64() == Some(0) && answer["unreadable"].as_u64() == Some(0) {
                Ok(format!(
                    "pass: {} due read, {} failed",
                    answer["due_items_read"], answer["failed"]
                ))
            } else {
                Err(format!("answered {answer}"))
            }
        }
        Function::LoyaltyApi => {
            if http_status() == Some(401)
                && answer["body"]
                    .as_str()
                    .is_some_and(|b| b.contains("unauthorized"))
            {
                Ok("401 without a key, after reading the shop".into())
            } else {
                Err(format!(
                    "answered {} {}",
                    answer["statusCode"], answer["body"]
                ))
            }
        }
        Function::CustomerLinks | Function::MessageLog => {
            let html = answer["headers"]["content-type"]
                .as_str()
                .is_some_and(|t| t.starts_with("text/html"));
            if http_status() == Some(200) && html {
                Ok("200 text/html".into())
            } else {
                Err(format!(
                    "answered {} {}",
                    answer["statusCode"], answer["headers"]["content-type"]
                ))
            }
        }
    }
}

/// The result table `make deploy-check` prints.
pub fn table(reports: &[FunctionReport]) -> String {
    let ms = |d: Option<Duration>| d.map_or("-".to_owned(), |d| format!("{} ms", d.as_millis()));
    let mut out = format!(
        "{:<16} {:<6} {:>12} {:>14}  {}\n",
        "function", "result", "first answer", "SIGTERM->exit", "detail"
    );
    for report in reports {
        let (result, detail) = match &report.result {
            Ok(detail) => ("ok", detail.as_str()),
            Err(detail) => ("FAILED", detail.as_str()),
        };
        out.push_str(&format!(
            "{:<16} {:<6} {:>12} {:>14}  {}\n",
            report.function.binary(),
            result,
            ms(report.first_answer),
            ms(report.exit_after_sigterm),
            detail
        ));
    }
    out
}

/// Where each function's output goes (`target/deploy-check/<function>.log`).
pub fn logs_dir() -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace_root().join("target"))
        .join("deploy-check");
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// The default place of `sam build`'s output.
pub fn default_build_dir() -> PathBuf {
    crate::workspace_root().join("infra/.aws-sam/build")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_daytime_zone_is_out_of_quiet_hours_at_every_hour() {
        for hour in 0..24 {
            let now: jiff::Timestamp = format!("2026-11-29T{hour:02}:30:00Z").parse().unwrap();
            let zone = daytime_zone(now);
            let local = now.in_tz(&zone).unwrap().hour();
            assert!((8..21).contains(&local), "{hour}h UTC: {zone} {local}h");
        }
    }

    #[test]
    fn the_elf_header_says_which_cpu_a_bootstrap_is_for() {
        let mut header = vec![0u8; 64];
        header[..4].copy_from_slice(b"\x7fELF");
        header[18] = 0x3e;
        assert_eq!(elf_architecture(&header), Some(Architecture::X86_64));
        header[18] = 0xb7;
        assert_eq!(elf_architecture(&header), Some(Architecture::Arm64));
        assert_eq!(elf_architecture(b"#!/bin/sh\n"), None);
        // This test's own executable.
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let expected = if cfg!(target_arch = "x86_64") {
            Some(Architecture::X86_64)
        } else if cfg!(target_arch = "aarch64") {
            Some(Architecture::Arm64)
        } else {
            None
        };
        assert_eq!(elf_architecture(&me), expected);
    }
}
