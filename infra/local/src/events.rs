//! The local stand-ins for the two EventBridge paths of the template:
//! - EventBridge Scheduler -> `run-schedule`: the event Scheduler delivers to a Lambda target
//!   when the schedule (SAM's `ScheduleV2` without `Input`) gives none;
//! - SES -> EventBridge -> `ses-events`: an SES event wrapped in the envelope SES publishes to
//!   the default bus, matched against the template's rule pattern (`SesReports`), and handed to
//!   `ses_events::handle` only when it matches, as the rule would.

use crate::pattern::Pattern;
use crate::template::{LOCAL_STACK, Stack, Template, TemplateError};
use serde_json::{Value, json};

/// The account and region of the local stack (moto's defaults).
pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "eu-west-1";
/// The name of the template's `SesConfigurationSet` in the local stack `stack`
/// (`${AWS::StackName}-messages`).
pub fn configuration_set(stack: &str) -> Result<String, TemplateError> {
    Template::from_repository()?.resource_text(&Stack::local(stack), "SesConfigurationSet", "Name")
}

/// A fresh event id in the 8-4-4-4-12 form EventBridge uses.
pub fn event_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = jiff::Timestamp::now().as_nanosecond() as u128;
    let n = N.fetch_add(1, Ordering::Relaxed) as u128;
    uuid_form((nanos << 20) ^ n ^ ((std::process::id() as u128) << 96))
}

/// `value` in the 8-4-4-4-12 hex form of a UUID (event ids, request ids).
pub fn uuid_form(value: u128) -> String {
    let hex = format!("{value:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The name of the template's schedule for run-schedule: its `Name` (resolved in `stack`),
/// else the logical id SAM gives the schedule (function + event).
pub fn schedule_name(template: &Template, stack: &Stack) -> Result<String, TemplateError> {
    let (kind, properties) = template.function_event("RunScheduleFunction", "Every")?;
    if kind != "ScheduleV2" {
        return Err(TemplateError(format!(
            "RunScheduleFunction.Every is a {kind} event"
        )));
    }
    Ok(match template.resolve(stack, &properties["Name"])? {
        Value::String(name) => name,
        _ => "RunScheduleFunctionEvery".to_owned(),
    })
}

/// What EventBridge Scheduler delivers to a Lambda target whose schedule has no `Input`: its
/// default notification, with `detail` the JSON text `"{}"` (a string, not an object).
pub fn scheduler_event(schedule: &str, at: jiff::Timestamp) -> Value {
    json!({
        "version": "0",
        "id": event_id(),
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": ACCOUNT,
        "time": at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "region": REGION,
        "resources": [format!("arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/{schedule}")],
        "detail": "{}"
    })
}

/// One schedule pass, invoked as EventBridge Scheduler invokes `run-schedule` (at the sender's
/// clock, which `POST /dev/clock` moves).
pub async fn run_schedule(
    sender: &trouw::handlers::send_messages::SenderApp,
) -> Result<trouw::handlers::run_schedule::PassReport, lambda_runtime::Error> {
    let schedule = schedule_name(&Template::from_repository()?, &Stack::local(LOCAL_STACK))?;
    let event = scheduler_event(&schedule, sender.clock.now());
    let mut context = lambda_runtime::Context::default();
    context.request_id = event_id();
    context.invoked_function_arn =
        format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:run-schedule");
    trouw::handlers::run_schedule::handle(sender, lambda_runtime::LambdaEvent::new(event, context))
        .await
}

/// The `detail-type` SES gives each event type on EventBridge.
pub fn ses_detail_type(event_type: &str) -> Option<&'static str> {
    Some(match event_type {
        "Send" => "Email Sent",
        "Reject" => "Email Rejected",
        "Bounce" => "Email Bounced",
        "Complaint" => "Email Complaint Received",
        "Delivery" => "Email Delivered",
        "Open" => "Email Opened",
        "Click" => "Email Clicked",
        "Rendering Failure" => "Email Rendering Failed",
        "DeliveryDelay" => "Email Delivery Delayed",
        "Subscription" => "Email Subscription",
        _ => return None,
    })
}

/// An SES event (`eventType`, `mail`, and the per-type object) in the envelope SES publishes
/// to EventBridge for the configuration set named in the mail's `ses:configuration-set` tag.
pub fn ses_envelope(detail: Value, at: jiff::Timestamp) -> Value {
    let detail_type = detail["eventType"]
        .as_str()
        .and_then(ses_detail_type)
        .unwrap_or("Email Event");
    let set = detail["mail"]["tags"]["ses:configuration-set"][0]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    json!({
        "version": "0",
        "id": event_id(),
        "detail-type": detail_type,
        "source": "aws.ses",
        "account": ACCOUNT,
        "time": at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "region": REGION,
        "resources": [format!("arn:aws:ses:{REGION}:{ACCOUNT}:configuration-set/{set}")],
        "detail": detail
    })
}

/// The template's rule in front of `ses-events`, with its configuration set resolved.
pub struct SesRule {
    pub pattern: Pattern,
}

impl SesRule {
    /// `SesEventsFunction`'s `SesReports` rule, resolved in `stack` (which names its
    /// `SesConfigurationSet`).
    pub fn from_template(template: &Template, stack: &Stack) -> Result<SesRule, TemplateError> {
        let (kind, properties) = template.function_event("SesEventsFunction", "SesReports")?;
        if kind != "EventBridgeRule" {
            return Err(TemplateError(format!(
                "SesEventsFunction.SesReports is a {kind} event"
            )));
        }
        let pattern = template.resolve(stack, &properties["Pattern"])?;
        Ok(SesRule {
            pattern: Pattern::from_value(&pattern).map_err(|e| TemplateError(e.to_string()))?,
        })
    }

    /// The repository's rule in the local stack `stack`, for its configuration set.
    pub fn for_stack(stack: &str) -> Result<SesRule, TemplateError> {
        let template = Template::from_repository()?;
        let local = Stack::local(stack);
        let set = template.resource_text(&local, "SesConfigurationSet", "Name")?;
        SesRule::from_template(&template, &local.with_resource("SesConfigurationSet", set))
    }

    /// Publishes `event` (an SES event in its EventBridge envelope) to the rule: `ses-events`
    /// runs only if the pattern matches. `None`: the rule did not match.
    pub async fn publish(
        &self,
        app: &trouw::handlers::ses_events::FeedbackApp,
        event: Value,
    ) -> Option<Result<(), lambda_runtime::Error>> {
        if !self.pattern.matches(&event) {
            return None;
        }
        let mut context = lambda_runtime::Context::default();
        context.request_id = event_id();
        context.invoked_function_arn =
            format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:ses-events");
        Some(
            trouw::handlers::ses_events::handle(
                app,
                lambda_runtime::LambdaEvent::new(event, context),
            )
            .await,
        )
    }
}

/// Creates the configuration set `name` in SES (moto), if absent. moto accepts the set and the
/// tags on each send but publishes no events: [`ses_envelope`] and [`SesRule`] stand in.
pub async fn create_configuration_set(
    sdk: &aws_config::SdkConfig,
    name: &str,
) -> Result<(), String> {
    let ses = aws_sdk_sesv2::Client::new(sdk);
    match ses
        .create_configuration_set()
        .configuration_set_name(name)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        // SES v2 says AlreadyExistsException; moto answers with SES v1's name for it.
        Err(err)
            if err
                .as_service_error()
                .and_then(|e| aws_sdk_sesv2::error::ProvideErrorMetadata::code(e))
                .is_some_and(|code| code.ends_with("AlreadyExistsException")) =>
        {
            Ok(())
        }
        Err(err) => Err(format!("{err:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheduler_event_is_the_default_notification() {
        let template = Template::from_repository().unwrap();
        let name = schedule_name(&template, &Stack::local(LOCAL_STACK)).unwrap();
        let event = scheduler_event(&name, "2026-11-02T10:00:00Z".parse().unwrap());
        assert_eq!(event["source"], "aws.scheduler");
        assert_eq!(event["detail-type"], "Scheduled Event");
        assert_eq!(event["detail"], "{}");
        assert_eq!(event["time"], "2026-11-02T10:00:00Z");
        assert_eq!(
            event["resources"][0],
            format!("arn:aws:scheduler:eu-west-1:123456789012:schedule/default/{name}")
        );
        assert_eq!(
            name, "trouw-local-schedule",
            "the template's Name for the local stack"
        );
        assert_eq!(event["id"].as_str().unwrap().len(), 36);
    }

    fn detail(event_type: &str, set: &str) -> Value {
        json!({
            "eventType": event_type,
            "mail": {"messageId": "m", "timestamp": "2026-11-02T10:00:00.000Z",
                     "tags": {"ses:configuration-set": [set]}}
        })
    }

    #[test]
    fn the_rule_takes_the_templates_report_kinds_of_our_configuration_set_only() {
        let rule = SesRule::for_stack("trouw-local").unwrap();
        let ours = configuration_set("trouw-local").unwrap();
        assert_eq!(ours, "trouw-local-messages");
        let at = "2026-11-02T10:00:05Z".parse().unwrap();
        for kind in [
            "Delivery",
            "Bounce",
            "Complaint",
            "Reject",
            "Rendering Failure",
            "DeliveryDelay",
            "Open",
            "Click",
        ] {
            let event = ses_envelope(detail(kind, &ours), at);
            assert!(rule.pattern.matches(&event), "{kind}");
            assert_eq!(
                event["resources"][0],
                "arn:aws:ses:eu-west-1:123456789012:configuration-set/trouw-local-messages"
            );
        }
        // Sends and subscriptions are not subscribed to; another stack's set is not ours.
        assert!(
            !rule
                .pattern
                .matches(&ses_envelope(detail("Send", &ours), at))
        );
        assert!(
            !rule
                .pattern
                .matches(&ses_envelope(detail("Delivery", "other-messages"), at))
        );
        let mut foreign = ses_envelope(detail("Delivery", &ours), at);
        foreign["source"] = json!("aws.sesv2");
        assert!(!rule.pattern.matches(&foreign));
    }
}
