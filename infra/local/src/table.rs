//! Creates the table exactly as `infra/template.yaml` declares it (keys, indexes, stream, TTL),
//! so the local stack can never drift from what `sam deploy` creates.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};
use serde::Deserialize;
use serde_yaml_ng::Value;
use trouw::store::capacity::{self, IndexShape, TableShape};

/// The logical id of the table in the template.
pub const TABLE_RESOURCE: &str = "Table";

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TableDefinition {
    pub attribute_definitions: Vec<AttrDef>,
    pub key_schema: Vec<KeyDef>,
    #[serde(default)]
    pub billing_mode: Option<String>,
    #[serde(default)]
    pub global_secondary_indexes: Vec<IndexDef>,
    #[serde(default)]
    pub stream_specification: Option<StreamDef>,
    #[serde(default)]
    pub time_to_live_specification: Option<TtlDef>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttrDef {
    pub attribute_name: String,
    pub attribute_type: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyDef {
    pub attribute_name: String,
    pub key_type: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IndexDef {
    pub index_name: String,
    pub key_schema: Vec<KeyDef>,
    pub projection: ProjectionDef,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProjectionDef {
    pub projection_type: String,
    #[serde(default)]
    pub non_key_attributes: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamDef {
    pub stream_view_type: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TtlDef {
    pub attribute_name: String,
    pub enabled: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("cannot read the template: {0}")]
    Template(String),
    #[error("DynamoDB: {0}")]
    Dynamo(String),
}

impl TableDefinition {
    /// Reads `Resources.Table.Properties` from SAM template text. CloudFormation tags such as
    /// `!Ref` elsewhere in the file are fine; the table's key properties must be literals.
    pub fn from_template(text: &str) -> Result<Self, TableError> {
        let doc: Value =
            serde_yaml_ng::from_str(text).map_err(|e| TableError::Template(e.to_string()))?;
        let props = doc
            .get("Resources")
            .and_then(|r| r.get(TABLE_RESOURCE))
            .and_then(|t| t.get("Properties"))
            .ok_or_else(|| {
                TableError::Template(format!("no Resources.{TABLE_RESOURCE}.Properties"))
            })?;
        serde_yaml_ng::from_value(props.clone()).map_err(|e| TableError::Template(e.to_string()))
    }

    /// The definition in the repository's `infra/template.yaml`.
    pub fn from_repository() -> Result<Self, TableError> {
        let path = crate::workspace_root().join("infra/template.yaml");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| TableError::Template(format!("{}: {e}", path.display())))?;
        Self::from_template(&text)
    }

    /// The keys and indexes as the capacity calculator needs them (what each write costs on
    /// the table and on every index it lands in).
    pub fn shape(&self) -> Result<TableShape, TableError> {
        let key_of = |schema: &[KeyDef], kind: &str| {
            schema
                .iter()
                .find(|k| k.key_type == kind)
                .map(|k| k.attribute_name.clone())
        };
        let partition_key = |schema: &[KeyDef], whose: &str| {
            key_of(schema, "HASH")
                .ok_or_else(|| TableError::Template(format!("{whose} has no HASH key")))
        };
        let indexes = self
            .global_secondary_indexes
            .iter()
            .map(|index| {
                let projection = match index.projection.projection_type.as_str() {
                    "ALL" => capacity::Projection::All,
                    "KEYS_ONLY" => capacity::Projection::KeysOnly,
                    "INCLUDE" => {
                        capacity::Projection::Include(index.projection.non_key_attributes.clone())
                    }
                    other => {
                        return Err(TableError::Template(format!(
                            "index {}: unknown ProjectionType {other}",
                            index.index_name
                        )));
                    }
                };
                Ok(IndexShape {
                    name: index.index_name.clone(),
                    partition_key: partition_key(&index.key_schema, &index.index_name)?,
                    sort_key: key_of(&index.key_schema, "RANGE"),
                    projection,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(TableShape {
            partition_key: partition_key(&self.key_schema, "the table")?,
            sort_key: key_of(&self.key_schema, "RANGE"),
            indexes,
        })
    }

    /// Creates the table under `name` (if absent) and waits until it is active.
    pub async fn create(&self, client: &Client, name: &str) -> Result<(), TableError> {
        let dynamo = |e: String| TableError::Dynamo(e);
        let exists = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .is_ok();
        if exists {
            return Ok(());
        }
        let key = |k: &KeyDef| {
            KeySchemaElement::builder()
                .attribute_name(&k.attribute_name)
                .key_type(KeyType::from(k.key_type.as_str()))
                .build()
                .map_err(|e| dynamo(e.to_string()))
        };
        let mut request = client
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::from(
                self.billing_mode.as_deref().unwrap_or("PAY_PER_REQUEST"),
            ));
        for a in &self.attribute_definitions {
            request = request.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(&a.attribute_name)
                    .attribute_type(ScalarAttributeType::from(a.attribute_type.as_str()))
                    .build()
                    .map_err(|e| dynamo(e.to_string()))?,
            );
        }
        for k in &self.key_schema {
            request = request.key_schema(key(k)?);
        }
        for index in &self.global_secondary_indexes {
            let mut projection = Projection::builder().projection_type(ProjectionType::from(
                index.projection.projection_type.as_str(),
            ));
            for attr in &index.projection.non_key_attributes {
                projection = projection.non_key_attributes(attr);
            }
            let mut gsi = GlobalSecondaryIndex::builder()
                .index_name(&index.index_name)
                .projection(projection.build());
            for k in &index.key_schema {
                gsi = gsi.key_schema(key(k)?);
            }
            request =
                request.global_secondary_indexes(gsi.build().map_err(|e| dynamo(e.to_string()))?);
        }
        if let Some(stream) = &self.stream_specification {
            request = request.stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::from(stream.stream_view_type.as_str()))
                    .build()
                    .map_err(|e| dynamo(e.to_string()))?,
            );
        }
        request.send().await.map_err(|e| dynamo(format!("{e:?}")))?;
        if let Some(ttl) = self
            .time_to_live_specification
            .as_ref()
            .filter(|t| t.enabled)
        {
            client
                .update_time_to_live()
                .table_name(name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .attribute_name(&ttl.attribute_name)
                        .enabled(true)
                        .build()
                        .map_err(|e| dynamo(e.to_string()))?,
                )
                .send()
                .await
                .map_err(|e| dynamo(format!("{e:?}")))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repository_template_declares_the_keys_the_store_uses() {
        let def = TableDefinition::from_repository().unwrap();
        let keys: Vec<(&str, &str)> = def
            .key_schema
            .iter()
            .map(|k| (k.attribute_name.as_str(), k.key_type.as_str()))
            .collect();
        assert_eq!(
            keys,
            [
                (trouw::store::keys::PK, "HASH"),
                (trouw::store::keys::SK, "RANGE")
            ]
        );
        assert_eq!(
            def.time_to_live_specification.unwrap().attribute_name,
            trouw::store::keys::EXPIRES_AT
        );
        assert!(def.stream_specification.is_some());
    }

    #[test]
    fn the_shape_carries_every_index_with_its_keys_and_projection() {
        let text = "Resources:\n  Table:\n    Properties:\n      AttributeDefinitions: []\n      KeySchema: [{AttributeName: pk, KeyType: HASH}, {AttributeName: sk, KeyType: RANGE}]\n      GlobalSecondaryIndexes:\n        - IndexName: due\n          KeySchema: [{AttributeName: due_at, KeyType: RANGE}, {AttributeName: due_shard, KeyType: HASH}]\n          Projection: {ProjectionType: KEYS_ONLY}\n        - IndexName: by_day\n          KeySchema: [{AttributeName: log_day, KeyType: HASH}]\n          Projection: {ProjectionType: INCLUDE, NonKeyAttributes: [status]}\n";
        let shape = TableDefinition::from_template(text)
            .unwrap()
            .shape()
            .unwrap();
        assert_eq!(
            (shape.partition_key.as_str(), shape.sort_key.as_deref()),
            ("pk", Some("sk"))
        );
        let due = &shape.indexes[0];
        assert_eq!(
            (due.partition_key.as_str(), due.sort_key.as_deref()),
            ("due_shard", Some("due_at"))
        );
        assert_eq!(due.projection, capacity::Projection::KeysOnly);
        assert_eq!(shape.indexes[1].sort_key, None);
        assert_eq!(
            shape.indexes[1].projection,
            capacity::Projection::Include(vec!["status".into()])
        );
        // The repository's own template must be readable as a shape too.
        let ours = TableDefinition::from_repository().unwrap().shape().unwrap();
        assert_eq!(
            ours.indexes.len(),
            TableDefinition::from_repository()
                .unwrap()
                .global_secondary_indexes
                .len()
        );
    }

    #[test]
    fn intrinsic_tags_elsewhere_do_not_matter() {
        let text = "Resources:\n  Table:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]\n      KeySchema: [{AttributeName: pk, KeyType: HASH}]\n  Fn:\n    Properties:\n      Env: !Ref Table\n";
        let def = TableDefinition::from_template(text).unwrap();
        assert_eq!(def.key_schema[0].attribute_name, "pk");
    }
}
