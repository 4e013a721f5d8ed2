//! Shop settings and webhook secrets, cached per container so that a warm Lambda adds no
//! request per webhook for them.

use crate::domain::{ShopId, ShopSettings};
use crate::store::{ShopRecord, Store, StoreError};
use crate::webhook::WebhookSecret;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A shop ready to serve: settings plus resolved secrets.
#[derive(Debug)]
pub struct Shop {
    pub settings: ShopSettings,
    pub secrets: Vec<WebhookSecret>,
}

/// Where secret references point: `ssm:<parameter name>` (SecureString, decrypted) or
/// `env:<VARIABLE>` (local development).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    Ssm(String),
    Env(String),
}

impl SecretRef {
    pub fn parse(text: &str) -> Option<SecretRef> {
        match text.split_once(':') {
            Some(("ssm", name)) if name.starts_with('/') && name.len() > 1 => {
                Some(SecretRef::Ssm(name.to_owned()))
            }
            Some(("env", var)) if !var.is_empty() => Some(SecretRef::Env(var.to_owned())),
            _ => None,
        }
    }
}

pub struct ShopDirectory {
    store: Store,
    ssm: aws_sdk_ssm::Client,
    ttl: Duration,
    secrets_path_prefix: String,
    cache: Mutex<HashMap<ShopId, (Instant, Arc<Shop>)>>,
}

impl ShopDirectory {
    pub fn new(
        store: Store,
        ssm: aws_sdk_ssm::Client,
        ttl: Duration,
        secrets_path_prefix: String,
    ) -> Self {
        Self {
            store,
            ssm,
            ttl,
            secrets_path_prefix,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The shop, from the cache while fresh; `None` if no such shop is configured.
    pub async fn get(&self, id: &ShopId) -> Result<Option<Arc<Shop>>, StoreError> {
        if let Some((loaded, shop)) = self.cache.lock().expect("cache lock").get(id)
            && loaded.elapsed() < self.ttl
        {
            return Ok(Some(shop.clone()));
        }
        let Some(record) = self.store.get_shop(id).await? else {
            return Ok(None);
        };
        let shop = Arc::new(self.resolve(record).await?);
        self.cache
            .lock()
            .expect("cache lock")
            .insert(id.clone(), (Instant::now(), shop.clone()));
        Ok(Some(shop))
    }

    async fn resolve(&self, record: ShopRecord) -> Result<Shop, StoreError> {
        let refs: Vec<SecretRef> = record
            .webhook_secrets
            .iter()
            .filter_map(|r| {
                let parsed = SecretRef::parse(r);
                if parsed.is_none() {
                    tracing::error!(shop = %record.settings.id, "a webhook secret reference is neither ssm:/... nor env:...");
                }
                parsed
            })
            .collect();
        let mut secrets = Vec::new();
        let ssm_names: Vec<String> = refs
            .iter()
            .filter_map(|r| match r {
                SecretRef::Ssm(name) if name.starts_with(&self.secrets_path_prefix) => Some(name.clone()),
                SecretRef::Ssm(name) => {
                    tracing::error!(shop = %record.settings.id, parameter = %name, prefix = %self.secrets_path_prefix, "webhook secret parameter lies outside SECRETS_PATH_PREFIX; skipped");
                    None
                }
                SecretRef::Env(_) => None,
            })
            .collect();
        for chunk in ssm_names.chunks(10) {
            let out = self
                .ssm
                .get_parameters()
                .set_names(Some(chunk.to_vec()))
                .with_decryption(true)
                .send()
                .await
                .map_err(|e| ssm_error(&e))?;
            for missing in out.invalid_parameters() {
                tracing::error!(shop = %record.settings.id, parameter = %missing, "webhook secret parameter not found");
            }
            secrets.extend(
                out.parameters()
                    .iter()
                    .filter_map(|p| p.value())
                    .map(WebhookSecret::new),
            );
        }
        for r in &refs {
            if let SecretRef::Env(var) = r {
                match std::env::var(var) {
                    Ok(value) if !value.is_empty() => secrets.push(WebhookSecret::new(value)),
                    _ => {
                        tracing::error!(shop = %record.settings.id, variable = %var, "webhook secret variable is not set")
                    }
                }
            }
        }
        Ok(Shop {
            settings: record.settings,
            secrets,
        })
    }
}

fn ssm_error<E, R>(err: &aws_sdk_ssm::error::SdkError<E, R>) -> StoreError
where
    E: aws_sdk_ssm::error::ProvideErrorMetadata,
{
    use aws_sdk_ssm::error::SdkError;
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            StoreError::Unavailable("SSM unreachable".into())
        }
        SdkError::ServiceError(ctx) if ctx.err().code() == Some("ThrottlingException") => {
            StoreError::Unavailable("SSM throttled".into())
        }
        SdkError::ServiceError(ctx) => {
            StoreError::Failed(format!("SSM: {}", ctx.err().code().unwrap_or("error")))
        }
        _ => StoreError::Failed("SSM request failed".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_references_are_ssm_paths_or_env_vars() {
        assert_eq!(
            SecretRef::parse("ssm:/trouw/demo/secret"),
            Some(SecretRef::Ssm("/trouw/demo/secret".into()))
        );
        assert_eq!(
            SecretRef::parse("env:DEMO_WEBHOOK_SECRET"),
            Some(SecretRef::Env("DEMO_WEBHOOK_SECRET".into()))
        );
        assert_eq!(
            SecretRef::parse("whsec_abc"),
            None,
            "a secret itself is never stored in the table"
        );
        assert_eq!(SecretRef::parse("ssm:relative"), None);
        assert_eq!(SecretRef::parse("env:"), None);
    }
}
