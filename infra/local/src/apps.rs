//! Every function's app in a local stack (`make dev`, each test stack), each built with its own
//! function's identity so that its IAM policy in the template applies as in AWS: the four
//! webhooks, the links, the marketers' pages, the sender and the schedule pass.

use crate::aws::FunctionIdentity;
use crate::functions::Function;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use trouw::clock::{Clock, OffsetClock};
use trouw::config::Config;
use trouw::domain::ShopId;
use trouw::handlers::WebhookApp;
use trouw::handlers::customer_links::LinksApp;
use trouw::handlers::message_log::{AdminApp, AdminAuth};
use trouw::handlers::send_messages::SenderApp;
use trouw::mail::{LinkKey, Mailer, Renderer};
use trouw::shops::ShopDirectory;
use trouw::store::Store;

/// One of the deployment's secrets, as a function gets it.
#[derive(Debug, Clone)]
pub enum Secret {
    /// The value itself (`make dev`: from its environment).
    Value(String),
    /// The SSM parameter holding it: each function reads it with its own identity, as its
    /// Lambda does (at start; the guest id key when a guest's order first needs it).
    Parameter(String),
}

impl Secret {
    async fn read(&self, identity: &FunctionIdentity) -> Result<String, String> {
        match self {
            Secret::Value(value) => Ok(value.clone()),
            Secret::Parameter(name) => {
                trouw::config::parameter_value(&aws_sdk_ssm::Client::new(&identity.sdk), name)
                    .await
                    .map_err(|e| format!("{:?} reading {name}: {e}", identity.function))
            }
        }
    }
}

/// The deployment's own secrets.
#[derive(Debug, Clone)]
pub struct Secrets {
    /// Signs the links in emails (the links and the senders).
    pub link: Secret,
    /// Derives guest customer ids (the order webhooks).
    pub guest_id: Secret,
    /// Signs the marketers' sessions (the pages).
    pub admin_session: Secret,
}

/// The DynamoDB client a function's handler gets from its identity.
pub type DynamoFor =
    Arc<dyn Fn(Function, &aws_config::SdkConfig) -> aws_sdk_dynamodb::Client + Send + Sync>;

/// What every function's app shares in one local stack; each app is built with its own
/// function's identity from `identities`.
#[derive(Clone)]
pub struct FunctionApps {
    pub table: String,
    pub identities: BTreeMap<Function, FunctionIdentity>,
    /// One movable clock for the stack (`POST /dev/clock`).
    pub clock: Arc<OffsetClock>,
    pub secrets: Secrets,
    /// How long each app caches shop settings.
    pub settings_cache: Duration,
    /// Where the links in emails point (the gateway).
    pub public_base_url: String,
    /// The template's SES configuration set every message goes out with, as in AWS.
    pub configuration_set: String,
    /// The handlers' DynamoDB client (default [`plain_dynamo`]; tests route and count some).
    pub dynamo: DynamoFor,
}

/// A function's DynamoDB client straight from its identity.
pub fn plain_dynamo() -> DynamoFor {
    Arc::new(|_, sdk| aws_sdk_dynamodb::Client::new(sdk))
}

impl FunctionApps {
    fn identity(&self, function: Function) -> &FunctionIdentity {
        &self.identities[&function]
    }

    fn store(&self, function: Function) -> Store {
        Store::new(
            (self.dynamo)(function, &self.identity(function).sdk),
            self.table.clone(),
        )
    }

    /// Settings only, as in the cloud: only the webhook handlers resolve shop secrets.
    fn directory(&self, store: &Store) -> ShopDirectory {
        ShopDirectory::settings_only(store.clone(), self.settings_cache)
    }

    /// The webhook functions' apps; only the order functions derive guest ids
    /// (GUEST_ID_SECRET_PARAMETER in the template).
    pub async fn webhooks(&self) -> Result<BTreeMap<Function, WebhookApp>, String> {
        let config = Config {
            table_name: self.table.clone(),
            settings_cache: self.settings_cache,
            secrets_path_prefix: "/trouw/".into(),
        };
        let mut webhooks = BTreeMap::new();
        for function in [
            Function::OrderPlaced,
            Function::OrderDelivered,
            Function::OrderReturned,
            Function::AddressChanged,
            Function::ProductChanged,
        ] {
            let identity = self.identity(function);
            let mut app = WebhookApp::new(
                &config,
                (self.dynamo)(function, &identity.sdk),
                aws_sdk_ssm::Client::new(&identity.sdk),
                self.clock.clone(),
                None,
            );
            // As the Lambdas: the key is read (with the function's identity) when a guest's
            // order first needs it.
            app.guests = match (function, &self.secrets.guest_id) {
                (Function::AddressChanged | Function::ProductChanged, _) => {
                    trouw::config::GuestKey::known(None)
                }
                (_, Secret::Value(value)) => {
                    trouw::config::GuestKey::known(Some(trouw::webhook::GuestIds::new(value)))
                }
                (_, Secret::Parameter(name)) => trouw::config::GuestKey::from_parameter(
                    aws_sdk_ssm::Client::new(&identity.sdk),
                    name.clone(),
                ),
            };
            webhooks.insert(function, app);
        }
        Ok(webhooks)
    }

    /// customer-links' app.
    pub async fn links(&self) -> Result<LinksApp, String> {
        let function = Function::CustomerLinks;
        let store = self.store(function);
        Ok(LinksApp {
            shops: self.directory(&store),
            store,
            links: LinkKey::new(self.secrets.link.read(self.identity(function)).await?),
            clock: self.clock.clone(),
        })
    }

    /// loyalty-api's app: settings and the shops' loyalty secrets with its own identity.
    pub fn loyalty(&self) -> trouw::handlers::loyalty_api::LoyaltyApp {
        let function = Function::LoyaltyApi;
        let store = self.store(function);
        trouw::handlers::loyalty_api::LoyaltyApp {
            shops: trouw::handlers::loyalty_api::LoyaltyShops::new(
                store.clone(),
                aws_sdk_ssm::Client::new(&self.identity(function).sdk),
                "/trouw/".into(),
                self.settings_cache,
            ),
            store,
            coupons: Default::default(),
            clock: self.clock.clone(),
        }
    }

    /// message-log's app: the marketers' pages for `shops`, over plain HTTP on loopback (a
    /// Secure cookie would not be sent back).
    pub async fn admin(&self, auth: AdminAuth, shops: Vec<ShopId>) -> Result<AdminApp, String> {
        let function = Function::MessageLog;
        let store = self.store(function);
        let session_secret = self
            .secrets
            .admin_session
            .read(self.identity(function))
            .await?;
        Ok(AdminApp::new(
            store.clone(),
            self.directory(&store),
            auth,
            shops,
            self.clock.clone(),
            session_secret.into_bytes(),
            false,
        ))
    }

    /// The day counter (count-days) with its identity.
    pub fn counter(&self) -> trouw::handlers::count_days::CounterApp {
        let store = self.store(Function::CountDays);
        trouw::handlers::count_days::CounterApp {
            shops: self.directory(&store),
            store,
            noted: Default::default(),
        }
    }

    /// The sender as `function` (send-messages, or run-schedule for the schedule pass), at the
    /// stack's clock, sending through SES with its identity.
    pub async fn sender(&self, function: Function) -> Result<SenderApp, String> {
        let ses = aws_sdk_sesv2::Client::new(&self.identity(function).sdk);
        self.sender_with(function, self.clock.clone(), ses).await
    }

    /// [`FunctionApps::sender`] with its own clock and SES client (e.g. SES behind a fault
    /// proxy).
    pub async fn sender_with(
        &self,
        function: Function,
        clock: Arc<dyn Clock>,
        ses: aws_sdk_sesv2::Client,
    ) -> Result<SenderApp, String> {
        let store = self.store(function);
        Ok(SenderApp {
            shops: self.directory(&store),
            store,
            mailer: Mailer::new(ses),
            renderer: Renderer::new(),
            links: LinkKey::new(self.secrets.link.read(self.identity(function)).await?),
            public_base_url: self.public_base_url.clone(),
            configuration_set: Some(self.configuration_set.clone()),
            clock,
        })
    }
}
