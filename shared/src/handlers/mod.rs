//! One module per Lambda. A handler takes the request, calls the edge, the domain and the
//! store, and answers. Lambda mains and the local gateway call these same functions.

pub mod customer_links;
mod responses;
pub mod run_schedule;
pub mod send_messages;
pub mod webhook;

use crate::clock::Clock;
use crate::config::Config;
use crate::shops::ShopDirectory;
use crate::store::Store;
use std::sync::Arc;

/// Everything a webhook handler needs, built once per container.
pub struct WebhookApp {
    pub store: Store,
    pub shops: ShopDirectory,
    pub clock: Arc<dyn Clock>,
}

impl WebhookApp {
    /// Wires the app from configuration and SDK clients built once by the caller.
    pub fn new(
        config: &Config,
        dynamo: aws_sdk_dynamodb::Client,
        ssm: aws_sdk_ssm::Client,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let store = Store::new(dynamo, config.table_name.clone());
        let shops = ShopDirectory::new(
            store.clone(),
            ssm,
            config.settings_cache,
            config.secrets_path_prefix.clone(),
        );
        WebhookApp {
            store,
            shops,
            clock,
        }
    }

    /// Builds the app from the environment with the system clock, as the Lambda mains do.
    pub async fn from_env() -> Result<Self, crate::config::ConfigError> {
        let config = Config::from_env()?;
        let sdk = crate::config::aws_sdk_config().await;
        let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
        let ssm = aws_sdk_ssm::Client::new(&sdk);
        Ok(Self::new(
            &config,
            dynamo,
            ssm,
            Arc::new(crate::clock::SystemClock),
        ))
    }
}
