//! The one reader of `infra/template.yaml` for what the local stand-ins need from it: the event
//! sources' settings (the stream mapping, the SES rule, the schedule) and each function's
//! configuration (environment, memory, timeout). Values are resolved as CloudFormation would
//! for a given [`Stack`]: `!Ref`/`!Sub` of a pseudo parameter, of a parameter (given, else its
//! default) or of a resource (its name in that stack), `!GetAtt`, and `!If` over the template's
//! `Conditions`. Unknown intrinsics are errors, so a template change the local stack cannot
//! follow fails loudly instead of passing unseen. (The table's own definition is read by
//! [`crate::table`]: it takes literal properties only.)

use serde_yaml_ng::Value;
use std::collections::BTreeMap;

/// The stack name `make dev` stands for (`${AWS::StackName}`); each test stack is named after
/// its table.
pub const LOCAL_STACK: &str = "trouw-local";

#[derive(Debug, thiserror::Error)]
#[error("infra/template.yaml: {0}")]
pub struct TemplateError(pub String);

impl From<TemplateError> for String {
    fn from(error: TemplateError) -> String {
        error.to_string()
    }
}

/// What a stack resolves the template's references to.
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

impl Stack {
    /// The local stack `name` in the local account and region (moto's), with the template's
    /// default parameters and no resource named yet.
    pub fn local(name: impl Into<String>) -> Stack {
        Stack {
            name: name.into(),
            region: crate::events::REGION.to_owned(),
            account: crate::events::ACCOUNT.to_owned(),
            parameters: BTreeMap::new(),
            resources: BTreeMap::new(),
        }
    }

    /// `!Ref resource` resolves to `name` (e.g. the configuration set's local name).
    pub fn with_resource(mut self, resource: &str, name: impl Into<String>) -> Stack {
        self.resources.insert(resource.to_owned(), name.into());
        self
    }
}

/// One function as Lambda would run it.
#[derive(Debug, Clone)]
pub struct FunctionConfig {
    pub logical_id: String,
    pub environment: BTreeMap<String, String>,
    pub memory_mb: u32,
    pub timeout_seconds: u32,
}

/// The parsed template.
pub struct Template {
    doc: Value,
}

fn error(message: impl Into<String>) -> TemplateError {
    TemplateError(message.into())
}

impl Template {
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let doc = serde_yaml_ng::from_str(text).map_err(|e| error(e.to_string()))?;
        Ok(Template { doc })
    }

    /// The repository's `infra/template.yaml`.
    pub fn from_repository() -> Result<Template, TemplateError> {
        let path = crate::workspace_root().join("infra/template.yaml");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| error(format!("{}: {e}", path.display())))?;
        Template::parse(&text)
    }

    /// `Resources.<resource>.Properties.<property>`, resolved; absent is an error.
    pub fn resource_property(
        &self,
        stack: &Stack,
        resource: &str,
        property: &str,
    ) -> Result<serde_json::Value, TemplateError> {
        let value = &self.doc["Resources"][resource]["Properties"][property];
        if value.is_null() {
            return Err(error(format!("{resource} has no {property}")));
        }
        self.resolve(stack, value)
    }

    /// [`Template::resource_property`] as text (e.g. a configuration set's `Name`).
    pub fn resource_text(
        &self,
        stack: &Stack,
        resource: &str,
        property: &str,
    ) -> Result<String, TemplateError> {
        text(self.resource_property(stack, resource, property)?)
            .map_err(|e| error(format!("{resource}.{property}: {e}")))
    }

    /// `Resources.<function>.Properties.Events.<event>`: its `Type` and `Properties`.
    pub fn function_event(
        &self,
        function: &str,
        event: &str,
    ) -> Result<(&str, &Value), TemplateError> {
        let node = &self.doc["Resources"][function]["Properties"]["Events"][event];
        let kind = node["Type"]
            .as_str()
            .ok_or_else(|| error(format!("no event {function}.{event}")))?;
        Ok((kind, &node["Properties"]))
    }

    /// The function `logical_id` as `stack` configures it: Globals merged with its own
    /// variables, memory and timeout.
    pub fn function(
        &self,
        stack: &Stack,
        logical_id: &str,
    ) -> Result<FunctionConfig, TemplateError> {
        let resource = &self.doc["Resources"][logical_id];
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            return Err(error(format!(
                "{logical_id} is not a function of the template"
            )));
        }
        let globals = &self.doc["Globals"]["Function"];
        let properties = &resource["Properties"];
        let mut environment = BTreeMap::new();
        for source in [globals, properties] {
            if let Some(variables) = source["Environment"]["Variables"].as_mapping() {
                for (name, value) in variables {
                    let name = name
                        .as_str()
                        .ok_or_else(|| error("a variable name is not text"))?;
                    let value = self
                        .resolve_text(stack, value)
                        .map_err(|e| error(format!("{logical_id} {name}: {}", e.0)))?;
                    environment.insert(name.to_owned(), value);
                }
            }
        }
        let number = |key: &str| -> Result<u32, TemplateError> {
            let value = if properties[key].is_null() {
                &globals[key]
            } else {
                &properties[key]
            };
            self.resolve_text(stack, value)?
                .parse()
                .map_err(|_| error(format!("{logical_id} {key} is not a number")))
        };
        Ok(FunctionConfig {
            logical_id: logical_id.to_owned(),
            environment,
            memory_mb: number("MemorySize")?,
            timeout_seconds: number("Timeout")?,
        })
    }

    /// A parameter's value in `stack` (given, else the default), as text.
    pub fn parameter_value(&self, stack: &Stack, name: &str) -> Result<String, TemplateError> {
        match self.parameter(stack, name)? {
            Some(value) => text(value),
            None => Err(error(format!("no parameter {name}"))),
        }
    }

    /// `value` resolved in `stack`, as JSON (for event patterns and settings).
    pub fn resolve(
        &self,
        stack: &Stack,
        value: &Value,
    ) -> Result<serde_json::Value, TemplateError> {
        Ok(match value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => serde_json::to_value(n).map_err(|e| error(e.to_string()))?,
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::Sequence(items) => serde_json::Value::Array(
                items
                    .iter()
                    .map(|i| self.resolve(stack, i))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Mapping(map) => {
                let mut object = serde_json::Map::new();
                for (key, value) in map {
                    let key = key.as_str().ok_or_else(|| error("a key is not a string"))?;
                    object.insert(key.to_owned(), self.resolve(stack, value)?);
                }
                serde_json::Value::Object(object)
            }
            Value::Tagged(tagged) => {
                let tag = tagged.tag.to_string();
                match (tag.trim_start_matches('!'), &tagged.value) {
                    ("Ref", Value::String(name)) => self.reference(stack, name)?,
                    ("GetAtt", Value::String(path)) => self.attribute(stack, path)?,
                    ("Sub", Value::String(text)) => {
                        serde_json::Value::String(self.substitute(stack, text)?)
                    }
                    ("If", Value::Sequence(items)) if items.len() == 3 => {
                        let condition = items[0]
                            .as_str()
                            .ok_or_else(|| error("!If needs a condition name"))?;
                        let chosen = if self.condition(stack, condition)? {
                            &items[1]
                        } else {
                            &items[2]
                        };
                        self.resolve(stack, chosen)?
                    }
                    _ => {
                        return Err(error(format!(
                            "{tag} {:?} cannot be resolved locally",
                            tagged.value
                        )));
                    }
                }
            }
        })
    }

    /// `value` resolved in `stack`, as the text CloudFormation hands a function's variable.
    pub fn resolve_text(&self, stack: &Stack, value: &Value) -> Result<String, TemplateError> {
        text(self.resolve(stack, value)?)
    }

    /// A parameter's value: given in `stack`, else its default (none: `""`); `None` if the
    /// template has no such parameter. CloudFormation hands a Number parameter over as a number.
    fn parameter(
        &self,
        stack: &Stack,
        name: &str,
    ) -> Result<Option<serde_json::Value>, TemplateError> {
        let parameter = &self.doc["Parameters"][name];
        if !parameter.is_mapping() {
            return Ok(None);
        }
        let value = match stack.parameters.get(name) {
            Some(given) => serde_json::Value::String(given.clone()),
            None => match self.resolve(stack, &parameter["Default"])? {
                serde_json::Value::Null => serde_json::Value::String(String::new()),
                default => default,
            },
        };
        if parameter["Type"].as_str() == Some("Number")
            && let Some(text) = value.as_str()
        {
            let number = text
                .parse::<i64>()
                .map(serde_json::Number::from)
                .ok()
                .or_else(|| {
                    text.parse::<f64>()
                        .ok()
                        .and_then(serde_json::Number::from_f64)
                })
                .ok_or_else(|| error(format!("{name}: {text:?} is not a number")))?;
            return Ok(Some(serde_json::Value::Number(number)));
        }
        Ok(Some(value))
    }

    /// `!Ref name`: a pseudo parameter, a parameter, or a resource's name in `stack`.
    fn reference(&self, stack: &Stack, name: &str) -> Result<serde_json::Value, TemplateError> {
        let pseudo = match name {
            "AWS::StackName" => Some(stack.name.clone()),
            "AWS::Region" => Some(stack.region.clone()),
            "AWS::AccountId" => Some(stack.account.clone()),
            "AWS::Partition" => Some("aws".into()),
            "AWS::URLSuffix" => Some("amazonaws.com".into()),
            _ => None,
        };
        if let Some(value) = pseudo {
            return Ok(serde_json::Value::String(value));
        }
        if let Some(value) = self.parameter(stack, name)? {
            return Ok(value);
        }
        stack
            .resources
            .get(name)
            .map(|local| serde_json::Value::String(local.clone()))
            .ok_or_else(|| error(format!("nothing to resolve {name} to")))
    }

    /// `!GetAtt Id.Attribute`: the attribute's value in `stack`.
    fn attribute(&self, stack: &Stack, path: &str) -> Result<serde_json::Value, TemplateError> {
        stack
            .resources
            .get(path)
            .map(|value| serde_json::Value::String(value.clone()))
            .ok_or_else(|| error(format!("nothing to resolve !GetAtt {path} to")))
    }

    /// `${Name}` and `${Id.Attribute}` in a `!Sub` string (its string form).
    fn substitute(&self, stack: &Stack, template: &str) -> Result<String, TemplateError> {
        let mut out = String::new();
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..]
                .find('}')
                .ok_or_else(|| error(format!("!Sub {template}: unclosed ${{")))?;
            let name = &rest[start + 2..start + end];
            let value = if name.contains('.') && !name.starts_with("AWS::") {
                self.attribute(stack, name)?
            } else {
                self.reference(stack, name)?
            };
            out.push_str(&text(value)?);
            rest = &rest[start + end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn condition(&self, stack: &Stack, name: &str) -> Result<bool, TemplateError> {
        let definition = &self.doc["Conditions"][name];
        if definition.is_null() {
            return Err(error(format!("no condition {name}")));
        }
        self.evaluate(stack, definition)
    }

    fn evaluate(&self, stack: &Stack, value: &Value) -> Result<bool, TemplateError> {
        let Value::Tagged(tagged) = value else {
            return Err(error(format!("unsupported condition {value:?}")));
        };
        let tag = tagged.tag.to_string();
        let items = tagged.value.as_sequence();
        match (tag.trim_start_matches('!'), items) {
            ("Not", Some(items)) if items.len() == 1 => Ok(!self.evaluate(stack, &items[0])?),
            // CloudFormation compares the two values as text.
            ("Equals", Some(items)) if items.len() == 2 => {
                Ok(self.resolve_text(stack, &items[0])? == self.resolve_text(stack, &items[1])?)
            }
            ("And", Some(items)) => {
                for item in items {
                    if !self.evaluate(stack, item)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            ("Or", Some(items)) => {
                for item in items {
                    if self.evaluate(stack, item)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            ("Condition", _) => self.condition(stack, tagged.value.as_str().unwrap_or("")),
            (_, _) => Err(error(format!("unsupported condition {tag}"))),
        }
    }
}

/// A resolved scalar as text; anything else is an error.
fn text(value: serde_json::Value) -> Result<String, TemplateError> {
    match value {
        serde_json::Value::String(s) => Ok(s),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        serde_json::Value::Bool(b) => Ok(b.to_string()),
        other => Err(error(format!("{other} is not a single value"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_resolve_to_parameter_defaults_and_local_names() {
        let template = Template::parse(
            "Parameters:\n  Size:\n    Type: Number\n    Default: 10\n  Name:\n    Type: String\n    Default: x\nResources:\n  F:\n    Properties:\n      Events:\n        E:\n          Type: DynamoDB\n          Properties:\n            BatchSize: !Ref Size\n            Label: !Ref Name\n            Set: [!Ref Config]\n            Named: !Sub \"${AWS::StackName}-${Name}\"\n",
        )
        .unwrap();
        let stack = Stack::local(LOCAL_STACK).with_resource("Config", "local-set");
        let (kind, properties) = template.function_event("F", "E").unwrap();
        assert_eq!(kind, "DynamoDB");
        let resolved = template.resolve(&stack, properties).unwrap();
        assert_eq!(resolved["BatchSize"].as_f64(), Some(10.0));
        assert_eq!(resolved["Label"], "x");
        assert_eq!(resolved["Set"][0], "local-set");
        assert_eq!(resolved["Named"], "trouw-local-x");
        assert!(template.function_event("F", "Missing").is_err());
        assert!(
            template
                .resolve(&Stack::local(LOCAL_STACK), properties)
                .is_err(),
            "!Ref Config with no local name"
        );
    }

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
        let template = Template::from_repository().unwrap();
        let sender = template.function(&stack(), "SendMessagesFunction").unwrap();
        let env = &sender.environment;
        assert_eq!(env["TABLE_NAME"], "trouw-check-Table-1");
        assert_eq!(env["SECRETS_PATH_PREFIX"], "/trouw/");
        assert_eq!(env["LINK_SECRET_PARAMETER"], "/trouw/link-secret");
        assert_eq!(env["SES_CONFIGURATION_SET"], "trouw-check-messages");
        // A Number parameter, as its text (not "60.0").
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
        let template = Template::from_repository().unwrap();
        let mut bare = stack();
        bare.resources.remove("AdminUserPoolClient");
        let err = template
            .function(&bare, "MessageLogFunction")
            .unwrap_err()
            .to_string();
        assert!(err.contains("AdminUserPoolClient"), "{err}");
    }
}
