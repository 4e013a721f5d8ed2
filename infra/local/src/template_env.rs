//! Each function's configuration as `infra/template.yaml` gives it in a deployed stack: the
//! environment (Globals merged with the function's own variables, intrinsics resolved against
//! the stack's parameters and resources), memory and timeout. Unknown intrinsics are errors, so
//! a template change the local checks cannot follow fails loudly instead of passing unseen.
//! ([`crate::template`] reads the event sources' settings for the local stack; this reads what a
//! deployed stack, with its own name, parameters and resources, gives each function.)

use serde_yaml_ng::Value;
use std::collections::BTreeMap;

/// What a deployed stack resolves references to.
#[derive(Debug, Clone)]
pub struct Stack {
    pub name: String,
    pub region: String,
    pub account: String,
    /// Parameter values given at deploy time; the others take their defaults.
    pub parameters: BTreeMap<String, String>,
    /// `!Ref` (logical id) and `!GetAtt` (`Id.Attribute`) values of the stack's resources.
    pub resources: BTreeMap<String, String>,
}

/// One function as Lambda would run it.
#[derive(Debug, Clone)]
pub struct FunctionConfig {
    pub logical_id: String,
    pub environment: BTreeMap<String, String>,
    pub memory_mb: u32,
    pub timeout_seconds: u32,
}

pub struct StackTemplate {
    doc: Value,
}

impl StackTemplate {
    pub fn parse(text: &str) -> Result<StackTemplate, String> {
        let doc = serde_yaml_ng::from_str(text).map_err(|e| format!("template: {e}"))?;
        Ok(StackTemplate { doc })
    }

    pub fn from_repository() -> Result<StackTemplate, String> {
        let path = crate::workspace_root().join("infra/template.yaml");
        StackTemplate::parse(
            &std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?,
        )
    }

    /// A resource's property, resolved (e.g. a configuration set's `Name`).
    pub fn resource_property(
        &self,
        stack: &Stack,
        id: &str,
        property: &str,
    ) -> Result<String, String> {
        let value = &self.doc["Resources"][id]["Properties"][property];
        if value.is_null() {
            return Err(format!("{id} has no {property}"));
        }
        self.resolve(stack, value)
    }

    /// The function `logical_id` as the stack configures it.
    pub fn function(&self, stack: &Stack, logical_id: &str) -> Result<FunctionConfig, String> {
        let resource = &self.doc["Resources"][logical_id];
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            return Err(format!("{logical_id} is not a function of the template"));
        }
        let globals = &self.doc["Globals"]["Function"];
        let properties = &resource["Properties"];
        let mut environment = BTreeMap::new();
        for source in [globals, properties] {
            if let Some(variables) = source["Environment"]["Variables"].as_mapping() {
                for (name, value) in variables {
                    let name = name.as_str().ok_or("a variable name is not text")?;
                    let value = self
                        .resolve(stack, value)
                        .map_err(|e| format!("{logical_id} {name}: {e}"))?;
                    environment.insert(name.to_owned(), value);
                }
            }
        }
        let number = |key: &str| -> Result<u32, String> {
            let value = if properties[key].is_null() {
                &globals[key]
            } else {
                &properties[key]
            };
            self.resolve(stack, value)?
                .parse()
                .map_err(|_| format!("{logical_id} {key} is not a number"))
        };
        Ok(FunctionConfig {
            logical_id: logical_id.to_owned(),
            environment,
            memory_mb: number("MemorySize")?,
            timeout_seconds: number("Timeout")?,
        })
    }

    /// A parameter's value in `stack` (given, else the default).
    pub fn parameter_value(&self, stack: &Stack, name: &str) -> Result<String, String> {
        self.parameter(stack, name)
            .ok_or_else(|| format!("no parameter {name}"))
    }

    /// A property of the first event of `event_type` of the function `id`, resolved (e.g. the
    /// `Name` of its ScheduleV2 event).
    pub fn event_property(
        &self,
        stack: &Stack,
        id: &str,
        event_type: &str,
        property: &str,
    ) -> Result<String, String> {
        let events = self.doc["Resources"][id]["Properties"]["Events"]
            .as_mapping()
            .ok_or_else(|| format!("{id} has no events"))?;
        let event = events
            .values()
            .find(|e| e["Type"].as_str() == Some(event_type))
            .ok_or_else(|| format!("{id} has no {event_type} event"))?;
        self.resolve(stack, &event["Properties"][property])
    }

    fn parameter(&self, stack: &Stack, name: &str) -> Option<String> {
        if let Some(value) = stack.parameters.get(name) {
            return Some(value.clone());
        }
        let default = &self.doc["Parameters"][name];
        if default.is_null() {
            return None;
        }
        scalar(&default["Default"]).or(Some(String::new()))
    }

    fn reference(&self, stack: &Stack, name: &str) -> Result<String, String> {
        let pseudo = match name {
            "AWS::StackName" => Some(stack.name.clone()),
            "AWS::Region" => Some(stack.region.clone()),
            "AWS::AccountId" => Some(stack.account.clone()),
            "AWS::Partition" => Some("aws".into()),
            "AWS::URLSuffix" => Some("amazonaws.com".into()),
            _ => None,
        };
        pseudo
            .or_else(|| self.parameter(stack, name))
            .or_else(|| stack.resources.get(name).cloned())
            .ok_or_else(|| format!("nothing to resolve {name} to"))
    }

    /// A value with `!Ref`, `!Sub` (string form), `!GetAtt` and `!If` resolved.
    pub fn resolve(&self, stack: &Stack, value: &Value) -> Result<String, String> {
        if let Some(text) = scalar(value) {
            return Ok(text);
        }
        let Value::Tagged(tagged) = value else {
            return Err(format!("unsupported value {value:?}"));
        };
        let tag = tagged.tag.to_string();
        match (tag.as_str(), &tagged.value) {
            ("!Ref", Value::String(name)) => self.reference(stack, name),
            ("!GetAtt", Value::String(path)) => stack
                .resources
                .get(path)
                .cloned()
                .ok_or_else(|| format!("nothing to resolve !GetAtt {path} to")),
            ("!Sub", Value::String(text)) => self.substitute(stack, text),
            ("!If", Value::Sequence(items)) if items.len() == 3 => {
                let condition = items[0].as_str().ok_or("!If needs a condition name")?;
                if self.condition(stack, condition)? {
                    self.resolve(stack, &items[1])
                } else {
                    self.resolve(stack, &items[2])
                }
            }
            _ => Err(format!("unsupported intrinsic {tag} {:?}", tagged.value)),
        }
    }

    fn substitute(&self, stack: &Stack, text: &str) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..]
                .find('}')
                .ok_or_else(|| format!("unclosed ${{ in {text}"))?;
            let name = &rest[start + 2..start + end];
            let value = if name.contains('.') && !name.starts_with("AWS::") {
                stack
                    .resources
                    .get(name)
                    .cloned()
                    .ok_or_else(|| format!("nothing to resolve ${{{name}}} to"))?
            } else {
                self.reference(stack, name)?
            };
            out.push_str(&value);
            rest = &rest[start + end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn condition(&self, stack: &Stack, name: &str) -> Result<bool, String> {
        let definition = &self.doc["Conditions"][name];
        if definition.is_null() {
            return Err(format!("no condition {name}"));
        }
        self.evaluate(stack, definition)
    }

    fn evaluate(&self, stack: &Stack, value: &Value) -> Result<bool, String> {
        let Value::Tagged(tagged) = value else {
            return Err(format!("unsupported condition {value:?}"));
        };
        let items = tagged.value.as_sequence();
        match (tagged.tag.to_string().as_str(), items) {
            ("!Not", Some(items)) if items.len() == 1 => Ok(!self.evaluate(stack, &items[0])?),
            ("!Equals", Some(items)) if items.len() == 2 => {
                Ok(self.resolve(stack, &items[0])? == self.resolve(stack, &items[1])?)
            }
            ("!And", Some(items)) => {
                for item in items {
                    if !self.evaluate(stack, item)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            ("!Or", Some(items)) => {
                for item in items {
                    if self.evaluate(stack, item)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            ("!Condition", _) => self.condition(stack, tagged.value.as_str().unwrap_or("")),
            (tag, _) => Err(format!("unsupported condition {tag}")),
        }
    }
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack() -> Stack {
        Stack {
            name: "trouw-check".into(),
            region: "eu-west-1".into(),
            account: "123456789012".into(),
            parameters: BTreeMap::new(),
            resources: [
                ("Table", "trouw-check-Table-1"),
                ("HttpApi", "abc123"),
                ("SesConfigurationSet", "trouw-check-messages"),
                ("AdminUserPoolClient", "client-1"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        }
    }

    #[test]
    fn the_sender_gets_globals_its_own_variables_and_resolved_names() {
        let template = StackTemplate::from_repository().unwrap();
        let sender = template.function(&stack(), "SendMessagesFunction").unwrap();
        let env = &sender.environment;
        assert_eq!(env["TABLE_NAME"], "trouw-check-Table-1");
        assert_eq!(env["SECRETS_PATH_PREFIX"], "/trouw/");
        assert_eq!(env["LINK_SECRET_PARAMETER"], "/trouw/link-secret");
        assert_eq!(env["SES_CONFIGURATION_SET"], "trouw-check-messages");
        assert_eq!(env["SETTINGS_CACHE_SECONDS"], "60");
        // PublicBaseUrl empty: the API's own URL (the !If's other branch).
        assert_eq!(
            env["PUBLIC_BASE_URL"],
            "https://abc123.execute-api.eu-west-1.amazonaws.com"
        );
        assert_eq!(sender.timeout_seconds, 30);
        assert_eq!(sender.memory_mb, 256);

        let mut custom = stack();
        custom
            .parameters
            .insert("PublicBaseUrl".into(), "https://links.example.nl".into());
        custom
            .parameters
            .insert("SecretsPathPrefix".into(), "/shop-x/".into());
        let sender = template.function(&custom, "SendMessagesFunction").unwrap();
        assert_eq!(
            sender.environment["PUBLIC_BASE_URL"],
            "https://links.example.nl"
        );
        assert_eq!(
            sender.environment["LINK_SECRET_PARAMETER"],
            "/shop-x/link-secret"
        );
    }

    #[test]
    fn an_unresolvable_reference_is_an_error() {
        let template = StackTemplate::from_repository().unwrap();
        let mut bare = stack();
        bare.resources.remove("AdminUserPoolClient");
        let err = template.function(&bare, "MessageLogFunction").unwrap_err();
        assert!(err.contains("AdminUserPoolClient"), "{err}");
    }
}
