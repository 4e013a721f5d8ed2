//! Reading settings out of `infra/template.yaml` for the local stand-ins of the event sources
//! (the stream mapping, the SES rule, the schedule), with the intrinsics they use resolved as
//! CloudFormation would for a local deployment: `!Ref Parameter` to its default, `!Ref` of a
//! resource to the local name the caller gives.

use serde_yaml_ng::Value;
use std::collections::HashMap;

/// The stack name `make dev` stands for (`${AWS::StackName}`); each test stack is named after
/// its table.
pub const LOCAL_STACK: &str = "trouw-local";

#[derive(Debug, thiserror::Error)]
#[error("infra/template.yaml: {0}")]
pub struct TemplateError(pub String);

/// The parsed template and the local names of the resources its `!Ref`s may name.
pub struct Template {
    doc: Value,
    local_names: HashMap<String, String>,
    stack: String,
}

impl Template {
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let doc = serde_yaml_ng::from_str(text).map_err(|e| TemplateError(e.to_string()))?;
        Ok(Template {
            doc,
            local_names: HashMap::new(),
            stack: LOCAL_STACK.to_owned(),
        })
    }

    /// The repository's `infra/template.yaml`.
    pub fn from_repository() -> Result<Template, TemplateError> {
        let path = crate::workspace_root().join("infra/template.yaml");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| TemplateError(format!("{}: {e}", path.display())))?;
        Template::parse(&text)
    }

    /// `${AWS::StackName}` is `stack`.
    pub fn with_stack(mut self, stack: impl Into<String>) -> Template {
        self.stack = stack.into();
        self
    }

    /// `Resources.<resource>.Properties.<property>`, resolved.
    pub fn resource_property(
        &self,
        resource: &str,
        property: &str,
    ) -> Result<serde_json::Value, TemplateError> {
        self.resolve(&self.doc["Resources"][resource]["Properties"][property])
    }

    /// `!Ref resource` resolves to `name` (e.g. the configuration set's local name).
    pub fn with_local_name(mut self, resource: &str, name: impl Into<String>) -> Template {
        self.local_names.insert(resource.to_owned(), name.into());
        self
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
            .ok_or_else(|| TemplateError(format!("no event {function}.{event}")))?;
        Ok((kind, &node["Properties"]))
    }

    /// `value` with `!Ref`s resolved, as JSON (for event patterns and settings).
    pub fn resolve(&self, value: &Value) -> Result<serde_json::Value, TemplateError> {
        Ok(match value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => {
                serde_json::to_value(n).map_err(|e| TemplateError(e.to_string()))?
            }
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::Sequence(items) => serde_json::Value::Array(
                items
                    .iter()
                    .map(|i| self.resolve(i))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Mapping(map) => {
                let mut object = serde_json::Map::new();
                for (key, value) in map {
                    let key = key
                        .as_str()
                        .ok_or_else(|| TemplateError("a key is not a string".into()))?;
                    object.insert(key.to_owned(), self.resolve(value)?);
                }
                serde_json::Value::Object(object)
            }
            Value::Tagged(tagged) if tagged.tag == "Ref" => {
                let name = tagged
                    .value
                    .as_str()
                    .ok_or_else(|| TemplateError("!Ref names a string".into()))?;
                self.reference(name)?
            }
            Value::Tagged(tagged) if tagged.tag == "Sub" => {
                let text = tagged
                    .value
                    .as_str()
                    .ok_or_else(|| TemplateError("!Sub takes a string here".into()))?;
                serde_json::Value::String(self.substitute(text)?)
            }
            Value::Tagged(tagged) => {
                return Err(TemplateError(format!(
                    "{} cannot be resolved locally",
                    tagged.tag
                )));
            }
        })
    }

    /// `${Name}` in a `!Sub` string: pseudo parameters as the local stack has them, else what
    /// `!Ref Name` gives.
    fn substitute(&self, text: &str) -> Result<String, TemplateError> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..]
                .find('}')
                .ok_or_else(|| TemplateError(format!("!Sub {text}: unclosed ${{")))?;
            let name = &rest[start + 2..start + end];
            let value = match name {
                "AWS::StackName" => self.stack.clone(),
                "AWS::Region" => crate::events::REGION.to_owned(),
                "AWS::AccountId" => crate::events::ACCOUNT.to_owned(),
                "AWS::Partition" => "aws".to_owned(),
                other => match self.reference(other)? {
                    serde_json::Value::String(s) => s,
                    value => value.to_string(),
                },
            };
            out.push_str(&value);
            rest = &rest[start + end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn reference(&self, name: &str) -> Result<serde_json::Value, TemplateError> {
        if let Some(local) = self.local_names.get(name) {
            return Ok(serde_json::Value::String(local.clone()));
        }
        let parameter = &self.doc["Parameters"][name];
        if parameter.is_mapping() {
            let default = self.resolve(&parameter["Default"])?;
            // CloudFormation hands a Number parameter over as a number.
            if parameter["Type"].as_str() == Some("Number")
                && let Some(text) = default.as_str()
            {
                return text
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map(serde_json::Value::Number)
                    .ok_or_else(|| TemplateError(format!("{name}: not a number")));
            }
            return Ok(default);
        }
        Err(TemplateError(format!(
            "!Ref {name}: no parameter and no local name"
        )))
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
        .unwrap()
        .with_local_name("Config", "local-set");
        let (kind, properties) = template.function_event("F", "E").unwrap();
        assert_eq!(kind, "DynamoDB");
        let resolved = template.resolve(properties).unwrap();
        assert_eq!(resolved["BatchSize"].as_f64(), Some(10.0));
        assert_eq!(resolved["Label"], "x");
        assert_eq!(resolved["Set"][0], "local-set");
        assert_eq!(resolved["Named"], "trouw-local-x");
        assert!(template.function_event("F", "Missing").is_err());
    }
}
