//! Test harness: a fresh table and shop per test on a moto endpoint (`TROUW_AWS_ENDPOINT`, as
//! `make test` provides, or a moto this process starts), the real handlers behind the local
//! gateway on a free port, and the real aws-sdk-rust in between.

pub mod bench;
pub mod bench_loyalty;
pub mod bench_overview;
pub mod bench_report;
pub mod captured_logs;
pub mod fault;
pub mod journeys;
pub mod meter;
pub mod relay;
pub mod writes;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
use std::collections::BTreeMap;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use trouw::domain::{CustomerId, CustomerProfile, Order, ShopId};
use trouw::webhook::platform::sign_body;
use trouw::webhook::{ShopifyConnection, WebhookSecret};
use trouw_local::apps::{DynamoFor, FunctionApps, Secret, Secrets};
use trouw_local::aws::{FunctionIdentity, LocalAws, function_identities};
use trouw_local::client::{Answer, HttpClient, http_client, send, signed_post};
use trouw_local::functions::{Function, LocalNames};
use trouw_local::table::TableDefinition;

pub use trouw_local::client;

pub type Item = HashMap<String, AttributeValue>;

static AWS: OnceLock<LocalAws> = OnceLock::new();

/// The moto endpoint for this test process.
pub fn local_aws() -> &'static LocalAws {
    AWS.get_or_init(|| LocalAws::from_env_or_start().expect("moto endpoint (run `make venv`)"))
}

/// `days` whole days before today (UTC) at `hour`:00 UTC. For tests whose emails must go at
/// once: with an hour in the shop's daytime, no run falls in its quiet hours, whatever time of
/// day it starts.
pub fn days_ago_at(days: i64, hour: i64) -> jiff::Timestamp {
    const DAY: i64 = 24 * 3600;
    let today = jiff::Timestamp::now().as_second().div_euclid(DAY) * DAY;
    jiff::Timestamp::from_second(today - days * DAY + hour * 3600)
        .expect("a time within jiff's range")
}

/// Gives this test process a moto of its own instead of the suite's shared one; call it before
/// anything else talks to moto. For a test whose outcome must not depend on other tests: the
/// shared moto serves one request at a time, and on a slow machine a request can wait there
/// behind other tests' big transactions for longer than a handler keeps trying.
pub fn own_moto() -> &'static LocalAws {
    let shared = std::env::var("TROUW_AWS_ENDPOINT").ok();
    let aws = AWS.get_or_init(|| LocalAws::start(0).expect("moto (run `make venv`)"));
    assert!(
        shared.as_deref() != Some(aws.endpoint.as_str()),
        "own_moto() comes before any other use of moto in the test"
    );
    aws
}

/// A unique, key-safe suffix.
pub fn unique(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{prefix}-{}-{:x}-{}",
        std::process::id(),
        nanos & 0xffff_ffff,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A test secret and a second one for rotation.
pub const SECRET: &str = "whsec_dGVzdC1zZWNyZXQtb25lLTAxMjM0NTY3ODk=";
pub const ROTATED_SECRET: &str = "whsec_dGVzdC1zZWNyZXQtdHdvLTAxMjM0NTY3ODk=";
/// The test shop's Shopify app secrets (two, as during a rotation) and WooCommerce secret.
pub const SHOPIFY_SECRET: &str = "shpss_test_app_secret_current";
pub const SHOPIFY_OLD_SECRET: &str = "shpss_test_app_secret_previous";
pub const WOO_SECRET: &str = "wc-test-webhook-secret";
/// The test shop's loyalty API key and customer-token secret (SSM, like its other secrets).
pub const LOYALTY_API_KEY: &str = "test-loyalty-api-key";
pub const LOYALTY_TOKEN_SECRET: &str = "test-loyalty-token-secret";
/// The test shop's storefront: the one origin its loyalty API answers browsers from.
pub const STOREFRONT_ORIGIN: &str = "https://winkel.example.nl";
pub const SHOPIFY_DOMAIN: &str = "demo.myshopify.com";
/// The key the test stack signs links with.
pub const LINK_SECRET: &str = "test-link-secret";
/// The secret the test stack signs admin sessions with (its own, as in the cloud).
pub const SESSION_SECRET: &str = "test-only-admin-session-secret-0123456789";
/// The key the test stack derives guest customer ids with.
pub const GUEST_ID_SECRET: &str = "test-guest-id-secret";
/// The marketers' pages in tests.
pub const ADMIN_USER: &str = "marketing";
pub const ADMIN_PASSWORD: &str = "test-admin-password";

/// Counts every DynamoDB request the handlers' client sends (one per attempt), and records
/// the keys each write request touches.
#[derive(Debug, Clone, Default)]
pub struct RequestCounter(pub Arc<AtomicUsize>, pub writes::WriteLog);

impl aws_sdk_dynamodb::config::Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }
    fn read_before_execution(
        &self,
        context: &aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef<
            '_,
        >,
        _cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let input = context.input();
        self.1.record(
            input.downcast_ref(),
            input.downcast_ref(),
            input.downcast_ref(),
            input.downcast_ref(),
        );
        Ok(())
    }
    fn read_before_transmit(
        &self,
        _context: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _components: &aws_sdk_dynamodb::config::RuntimeComponents,
        _cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

impl RequestCounter {
    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

pub struct TestStack {
    /// The operator's SDK configuration: setup and assertions, never a handler.
    pub sdk: aws_config::SdkConfig,
    /// Each function's identity: its handlers' clients are built from it, and the local IAM
    /// check (moto_iam.py) holds it to that function's policy in the template.
    pub identities: BTreeMap<Function, FunctionIdentity>,
    /// How the handlers' DynamoDB clients reach the table (directly, or through a proxy).
    route: HandlerRoute,
    /// What builds each function's app (the senders of [`TestStack::sender`] too).
    functions: FunctionApps,
    /// Denials a test has taken ([`TestStack::take_iam_denials`]): not reported again.
    denials_taken: std::sync::atomic::AtomicUsize,
    pub table: String,
    pub shop: ShopId,
    /// What the gateway serves; `app.webhooks` are the handlers under test.
    pub app: Arc<trouw_local::gateway::Services>,
    pub base_url: String,
    pub dynamo: aws_sdk_dynamodb::Client,
    /// Requests of the webhooks and the marketers' pages.
    pub requests: RequestCounter,
    pub http: HttpClient,
    /// The day counter's stream mapping (`with_counter`).
    pub counter: Option<Arc<trouw_local::stream::MappingHandle>>,
}

pub struct StackOptions {
    /// Where the handlers' DynamoDB client sends requests (default: moto itself).
    pub dynamo_endpoint: Option<String>,
    pub secrets: Vec<&'static str>,
    /// SSM path the secrets are stored under; the handlers accept only `/trouw/shops/...`.
    pub secrets_path: &'static str,
    /// As `make dev`: the table's stream delivers messages to the sender (the template's
    /// mapping; [`TestStack::settle`] waits for it), and `POST /dev/run-schedule` runs a pass.
    pub with_sender: bool,
    /// With `with_sender`: also send what a webhook or link answer caused before answering
    /// (a deterministic step beside the stream; off by default).
    pub direct_drive: bool,
    /// With `with_sender`: the mapping's settings (default [`stream_settings`]).
    pub stream_settings: Option<trouw_local::stream::MappingSettings>,
    /// How long the handlers' DynamoDB client waits for one attempt behind `dynamo_endpoint`
    /// (moto takes longer than DynamoDB for a transaction of 100 items on a big table, and a
    /// busy test machine longer still: 2 s by default, so that only a hung answer times out).
    pub dynamo_attempt_timeout: Duration,
    /// The deployment's guest id secret (default [`GUEST_ID_SECRET`]).
    pub guest_id_secret: &'static str,
    /// The shop's id (default: a new unique one), e.g. the same shop in two deployments.
    pub shop: Option<ShopId>,
    /// The SAM template whose policies the functions' identities get (default
    /// `infra/template.yaml`): a test of what a changed policy would do.
    pub template: Option<std::path::PathBuf>,
    /// Every function's DynamoDB client (the links', the sender's and the schedule's too)
    /// goes through `dynamo_endpoint` and is counted in `requests`: what `make bench` meters.
    pub route_every_function: bool,
    /// The day counter reads the table's stream in its tumbling windows (the template's
    /// mapping); [`TestStack::settle`] ends the open window and waits for its counters.
    pub with_counter: bool,
}

impl Default for StackOptions {
    fn default() -> Self {
        StackOptions {
            dynamo_endpoint: None,
            secrets: vec![SECRET],
            secrets_path: "/trouw/shops",
            with_sender: false,
            direct_drive: false,
            stream_settings: None,
            dynamo_attempt_timeout: Duration::from_secs(2),
            guest_id_secret: GUEST_ID_SECRET,
            shop: None,
            template: None,
            route_every_function: false,
            with_counter: false,
        }
    }
}

/// Where the handlers' DynamoDB clients send requests: moto, or a proxy in front of it with
/// short timeouts and one retry.
#[derive(Debug, Clone)]
struct HandlerRoute {
    endpoint: Option<String>,
    attempt_timeout: Duration,
    every_function: bool,
}

impl HandlerRoute {
    /// The handlers' DynamoDB clients: the request path's (webhooks, pages) through the route
    /// and counted in `requests`, with one retry; the sender's and the schedule's through the
    /// route too (so that a fault test reaches their claims and records), not counted, with
    /// the SDK's default three attempts as deployed; the links' straight to moto.
    fn handler_dynamo(&self, requests: &RequestCounter) -> DynamoFor {
        let (route, requests) = (self.clone(), requests.clone());
        Arc::new(move |function, sdk| match function {
            Function::CustomerLinks if !route.every_function => aws_sdk_dynamodb::Client::new(sdk),
            Function::SendMessages | Function::RunSchedule | Function::CountDays
                if !route.every_function =>
            {
                route.client(sdk, None, 3)
            }
            _ => route.client(sdk, Some(&requests), 2),
        })
    }

    fn client(
        &self,
        sdk: &aws_config::SdkConfig,
        requests: Option<&RequestCounter>,
        attempts: u32,
    ) -> aws_sdk_dynamodb::Client {
        let mut config = aws_sdk_dynamodb::config::Builder::from(sdk);
        if let Some(requests) = requests {
            config = config.interceptor(requests.clone());
        }
        if let Some(endpoint) = &self.endpoint {
            config = config
                .endpoint_url(endpoint)
                .timeout_config(
                    aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
                        .operation_attempt_timeout(self.attempt_timeout)
                        .operation_timeout(self.attempt_timeout * 4)
                        .build(),
                )
                // The SDK's pause before its retry, shortened as the stream mapping's is (a
                // run with thousands of injected faults would spend most of its time asleep).
                .retry_config(
                    aws_sdk_dynamodb::config::retry::RetryConfig::standard()
                        .with_max_attempts(attempts)
                        .with_initial_backoff(Duration::from_millis(20)),
                );
        }
        aws_sdk_dynamodb::Client::from_conf(config.build())
    }
}

impl TestStack {
    pub async fn start() -> TestStack {
        Self::start_with(StackOptions::default()).await
    }

    /// A new table created from the template, a new shop whose secrets live in SSM
    /// (SecureString), and the gateway on a free port.
    pub async fn start_with(options: StackOptions) -> TestStack {
        let aws = local_aws();
        let sdk = aws.sdk_config().await;
        let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
        let table = unique("trouw-test");
        TableDefinition::from_repository()
            .unwrap()
            .create(&dynamo, &table)
            .await
            .unwrap();

        let shop = options
            .shop
            .clone()
            .unwrap_or_else(|| ShopId::parse(unique("shop")).unwrap());
        let ssm = aws_sdk_ssm::Client::new(&sdk);
        // Every secret lives in SSM as a SecureString, as in the cloud; the shop holds references.
        let prefix = format!("{}/{shop}", options.secrets_path);
        let put_secret = |name: String, secret: &'static str| {
            let (ssm, name) = (ssm.clone(), format!("{prefix}/{name}"));
            async move {
                put_secure_string(&ssm, &name, secret).await;
                format!("ssm:{name}")
            }
        };
        let mut refs = Vec::new();
        for (i, secret) in options.secrets.iter().enumerate() {
            refs.push(put_secret(format!("webhook-secret-{i}"), secret).await);
        }
        let mut platform_refs = Vec::new();
        for (name, secret) in [
            ("shopify-current", SHOPIFY_SECRET),
            ("shopify-previous", SHOPIFY_OLD_SECRET),
            ("woocommerce", WOO_SECRET),
        ] {
            platform_refs.push(put_secret(name.to_owned(), secret).await);
        }
        let mut record = trouw_local::demo::demo_shop();
        record.settings.id = shop.clone();
        // The loyalty API's secrets lie on their own path, out of the webhook functions' reach.
        let put_loyalty_secret = |name: &str, secret: &'static str| {
            let name = format!("/trouw/loyalty/{shop}/{name}");
            let ssm = ssm.clone();
            async move {
                put_secure_string(&ssm, &name, secret).await;
                format!("ssm:{name}")
            }
        };
        record.loyalty_api = Some(trouw::shops::LoyaltyApiRefs {
            api_keys: vec![put_loyalty_secret("api-key", LOYALTY_API_KEY).await],
            token_secrets: vec![put_loyalty_secret("token-secret", LOYALTY_TOKEN_SECRET).await],
            allowed_origins: vec![STOREFRONT_ORIGIN.to_owned()],
            coupon_endpoint: None,
        });
        record.webhook_secrets = refs;
        record.shopify = Some(ShopifyConnection {
            shop_domain: SHOPIFY_DOMAIN.into(),
            app_secrets: platform_refs[..2].to_vec(),
        });
        if let Some(woo) = &mut record.woocommerce {
            woo.webhook_secrets = platform_refs[2..].to_vec();
        }
        trouw::store::Store::new(dynamo.clone(), &table)
            .put_shop(&record)
            .await
            .unwrap();

        // The deployment's own secrets, each in its SSM parameter under SecretsPathPrefix as in
        // the cloud (named per stack here); each handler reads its secret with its function's
        // identity, as its Lambda does at start.
        let deployment_secrets = [
            ("LinkSecretName", "link-secret", LINK_SECRET),
            ("SessionSecretName", "admin-session-secret", SESSION_SECRET),
            (
                "GuestIdSecretName",
                "guest-id-secret",
                options.guest_id_secret,
            ),
        ];
        let mut parameters = BTreeMap::new();
        let mut secret_parameters = BTreeMap::new();
        for (parameter, name, secret) in deployment_secrets {
            let local_name = format!("{table}-{name}");
            let name = format!("/trouw/{local_name}");
            put_secure_string(&ssm, &name, secret).await;
            parameters.insert(parameter.to_owned(), local_name);
            secret_parameters.insert(parameter, name);
        }
        let names = LocalNames {
            parameters,
            template: options.template.clone(),
            ..LocalNames::for_table(&table)
        };
        let identities = function_identities(&aws.endpoint, &names).await.unwrap();
        let requests = RequestCounter::default();
        let route = HandlerRoute {
            endpoint: options.dynamo_endpoint.clone(),
            attempt_timeout: options.dynamo_attempt_timeout,
            every_function: options.route_every_function,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let secret = |parameter: &str| Secret::Parameter(secret_parameters[parameter].clone());
        let functions = FunctionApps {
            table: table.clone(),
            identities: identities.clone(),
            // One movable clock for the stack's webhooks and links (as `POST /dev/clock` moves
            // `make dev`'s); it runs at the real time until a test sets it.
            clock: Arc::new(trouw::clock::OffsetClock::default()),
            secrets: Secrets {
                link: secret("LinkSecretName"),
                guest_id: secret("GuestIdSecretName"),
                admin_session: secret("SessionSecretName"),
            },
            settings_cache: Duration::from_secs(300),
            public_base_url: base_url.clone(),
            configuration_set: trouw_local::events::configuration_set(&table).unwrap(),
            dynamo: route.handler_dynamo(&requests),
        };
        let webhooks = functions.webhooks().await.unwrap();
        let links = functions.links().await.unwrap();
        let (sender, schedule) = if options.with_sender {
            prepare_ses(&sdk, &functions.configuration_set).await;
            let sender = functions.sender(Function::SendMessages).await.unwrap();
            let schedule = functions.sender(Function::RunSchedule).await.unwrap();
            (Some(Arc::new(sender)), Some(Arc::new(schedule)))
        } else {
            (None, None)
        };
        let stream = match &sender {
            Some(sender) => Some(Arc::new(
                start_stream(
                    &sdk,
                    &identities[&Function::SendMessages].sdk,
                    &table,
                    trouw_local::stream::send_messages(sender.clone()),
                    options
                        .stream_settings
                        .clone()
                        .unwrap_or_else(stream_settings),
                )
                .await,
            )),
            None => None,
        };
        let counter = if options.with_counter {
            let queue = trouw_local::stream::counter_failure_queue(&sdk, &table)
                .await
                .unwrap();
            let stream_arn = trouw_local::stream::stream_arn(&sdk, &table).await.unwrap();
            let settings = trouw_local::stream::MappingSettings::from_repository_for(
                trouw_local::stream::COUNTER_FUNCTION,
                trouw_local::stream::COUNTER_EVENT,
            )
            .unwrap();
            Some(Arc::new(
                trouw_local::stream::start_windowed(
                    &identities[&Function::CountDays].sdk,
                    stream_arn,
                    settings,
                    Some(queue),
                    trouw_local::stream::count_days(Arc::new(functions.counter())),
                )
                .await
                .unwrap(),
            ))
        } else {
            None
        };
        let admin_auth = trouw::handlers::message_log::AdminAuth::Password {
            user: ADMIN_USER.into(),
            password: ADMIN_PASSWORD.into(),
        };
        let admin = functions
            .admin(admin_auth, vec![shop.clone()])
            .await
            .unwrap();
        let app = Arc::new(trouw_local::gateway::Services {
            webhooks,
            links: Some(links),
            admin: Some(admin),
            loyalty: Some(functions.loyalty()),
            sender,
            schedule,
            clock: Some(functions.clock.clone()),
            stream,
            counter: counter.clone(),
            direct_drive: options.direct_drive,
        });
        tokio::spawn(trouw_local::gateway::serve(
            listener,
            app.clone(),
            std::future::pending(),
        ));
        TestStack {
            sdk,
            functions,
            identities,
            route,
            denials_taken: Default::default(),
            table,
            shop,
            app,
            base_url,
            dynamo,
            requests,
            http: http_client(),
            counter,
        }
    }

    /// Changes the shop's settings. Call it before the first request: the handlers cache
    /// settings for minutes, as in the cloud.
    pub async fn update_shop(&self, change: impl FnOnce(&mut trouw::domain::ShopSettings)) {
        let store = trouw::store::Store::new(self.dynamo.clone(), &self.table);
        let mut record = store.get_shop(&self.shop).await.unwrap().unwrap();
        change(&mut record.settings);
        record.settings.validate().unwrap();
        store.put_shop(&record).await.unwrap();
    }

    /// Changes the shop's whole record (the loyalty API's references too). Call it before the
    /// first request, as [`Self::update_shop`].
    pub async fn update_shop_record(&self, change: impl FnOnce(&mut trouw::store::ShopRecord)) {
        let store = trouw::store::Store::new(self.dynamo.clone(), &self.table);
        let mut record = store.get_shop(&self.shop).await.unwrap().unwrap();
        change(&mut record);
        record.settings.validate().unwrap();
        store.put_shop(&record).await.unwrap();
    }

    /// Puts a secret on the shop's loyalty path in SSM (SecureString) and answers its
    /// reference.
    pub async fn put_loyalty_secret(&self, name: &str, value: &str) -> String {
        let name = format!("/trouw/loyalty/{}/{name}", self.shop);
        put_secure_string(&aws_sdk_ssm::Client::new(&self.sdk), &name, value).await;
        format!("ssm:{name}")
    }

    /// The stack's movable clock, for a sender that lives at the same time as the webhooks.
    pub fn clock(&self) -> Arc<dyn trouw::clock::Clock> {
        self.app
            .clock
            .clone()
            .expect("the test stack has a movable clock")
    }

    /// Moves the stack's clock (webhooks and links) to `now`; it keeps running from there.
    pub fn set_now(&self, now: jiff::Timestamp) {
        if let Some(clock) = &self.app.clock {
            clock.set_offset_seconds(now.as_second() - jiff::Timestamp::now().as_second());
        }
    }

    /// Stops the stack's clock (webhooks and links) at `now`, so that what a run stores does
    /// not depend on how long it took; [`TestStack::set_now`] runs it again.
    pub fn stop_clock_at(&self, now: jiff::Timestamp) {
        if let Some(clock) = &self.app.clock {
            clock.stop_at_second(now.as_second());
        }
    }

    /// Waits until the stream mapping (`with_sender`) has handled everything written so far;
    /// fails the test if it does not within 15 s.
    pub async fn settle(&self) {
        if let Some(stream) = &self.app.stream {
            stream
                .settle(Duration::from_secs(15))
                .await
                .expect("the stream mapping catches up");
        }
        if let Some(counter) = &self.counter {
            counter
                .settle(Duration::from_secs(180))
                .await
                .expect("the day counter's mapping catches up");
        }
        assert!(
            self.app.stream.is_some() || self.counter.is_some(),
            "a stack with_sender or with_counter has a stream mapping"
        );
    }

    /// A stream mapping of this stack's table in front of `sender` (for tests that give the
    /// sender other endpoints or the mapping other timings). Dropped: it stops.
    pub async fn stream_to(
        &self,
        sender: trouw::handlers::send_messages::SenderApp,
        settings: trouw_local::stream::MappingSettings,
    ) -> trouw_local::stream::MappingHandle {
        start_stream(
            &self.sdk,
            &self.identities[&Function::SendMessages].sdk,
            &self.table,
            trouw_local::stream::send_messages(Arc::new(sender)),
            settings,
        )
        .await
    }

    /// The day counter as this stack builds it (its store with count-days' identity).
    pub fn counter_app(&self) -> trouw::handlers::count_days::CounterApp {
        self.functions.counter()
    }

    /// The template's day-counter mapping in front of `counter`, with other timings
    /// (`settings`): it reads the stream and sends what it gives up to `CounterFailureQueue`
    /// with count-days' identity, as Lambda does with the function's role. Dropped: it stops.
    pub async fn count_to(
        &self,
        counter: trouw::handlers::count_days::CounterApp,
        settings: trouw_local::stream::MappingSettings,
    ) -> trouw_local::stream::MappingHandle {
        let queue = self.counter_failure_queue().await;
        let stream = trouw_local::stream::stream_arn(&self.sdk, &self.table)
            .await
            .unwrap();
        trouw_local::stream::start_windowed(
            &self.identities[&Function::CountDays].sdk,
            stream,
            settings,
            Some(queue),
            trouw_local::stream::count_days(Arc::new(counter)),
        )
        .await
        .unwrap()
    }

    /// Every message of the queue at `queue` (an on-failure destination's invocation
    /// records), read as JSON and deleted.
    pub async fn take_queue_records(&self, queue: &str) -> Vec<Value> {
        let sqs = aws_sdk_sqs::Client::new(&self.sdk);
        let mut bodies = Vec::new();
        loop {
            let received = sqs
                .receive_message()
                .queue_url(queue)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap();
            let batch = received.messages.unwrap_or_default();
            if batch.is_empty() {
                return bodies;
            }
            for message in batch {
                bodies.push(serde_json::from_str(message.body().unwrap()).unwrap());
                sqs.delete_message()
                    .queue_url(queue)
                    .receipt_handle(message.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }

    /// The URL of this stack's `CounterFailureQueue` in moto.
    pub async fn counter_failure_queue(&self) -> String {
        trouw_local::stream::counter_failure_queue(&self.sdk, &self.table)
            .await
            .unwrap()
    }

    /// The URL of this stack's on-failure queue (`SenderFailureQueue`) in moto (each test
    /// stack is named after its table).
    pub async fn failure_queue(&self) -> String {
        trouw_local::stream::failure_queue(&self.sdk, &self.table)
            .await
            .unwrap()
    }

    pub fn url(&self, route: &str) -> String {
        format!("{}/webhooks/{}/{route}", self.base_url, self.shop)
    }

    /// What a browser gets with the login form: its form-token cookie (`trouw_csrf=...`) and
    /// the token the form carries.
    pub async fn login_form(&self) -> (String, String) {
        let answer = self
            .send(
                http::Request::get(format!("{}/admin/login", self.base_url))
                    .body(Default::default())
                    .unwrap(),
            )
            .await;
        form_token_of(&answer)
    }

    /// Logs in through the form as a browser does (form token included); the answer carries
    /// the session cookie.
    pub async fn log_in(&self, user: &str, password: &str, next: &str) -> Answer {
        let (cookie, token) = self.login_form().await;
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("username", user)
            .append_pair("password", password)
            .append_pair("next", next)
            .append_pair("csrf", &token)
            .finish();
        self.send(
            http::Request::post(format!("{}/admin/login", self.base_url))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("cookie", cookie)
                .body(body.into())
                .unwrap(),
        )
        .await
    }

    /// Posts `body` to `route`, signed with the test secret, with a fresh webhook-id.
    pub async fn post(&self, route: &str, body: &Value) -> Answer {
        self.post_as(route, &unique("msg"), body).await
    }

    /// Posts with a given webhook-id (for duplicate deliveries).
    pub async fn post_as(&self, route: &str, id: &str, body: &Value) -> Answer {
        let bytes = body.to_string().into_bytes();
        self.send(signed_post(
            &self.url(route),
            &WebhookSecret::new(SECRET),
            id,
            now(),
            &bytes,
        ))
        .await
    }

    /// Posts a Shopify delivery: `topic`, body signed with the current app secret.
    pub async fn post_shopify(&self, route: &str, topic: &str, body: &[u8]) -> Answer {
        self.send(self.shopify_request(
            route,
            topic,
            body,
            SHOPIFY_SECRET,
            &unique("shopify-event"),
        ))
        .await
    }

    pub fn shopify_request(
        &self,
        route: &str,
        topic: &str,
        body: &[u8],
        secret: &str,
        event_id: &str,
    ) -> http::Request<http_body_util::Full<bytes::Bytes>> {
        http::Request::post(self.url(route))
            .header("content-type", "application/json")
            .header("x-shopify-topic", topic)
            .header(
                "x-shopify-hmac-sha256",
                sign_body(body, &WebhookSecret::new(secret)),
            )
            .header("x-shopify-shop-domain", SHOPIFY_DOMAIN)
            .header("x-shopify-api-version", "2025-10")
            .header("x-shopify-webhook-id", unique("shopify-webhook"))
            .header("x-shopify-event-id", event_id)
            .body(http_body_util::Full::new(bytes::Bytes::copy_from_slice(
                body,
            )))
            .unwrap()
    }

    /// Posts a WooCommerce delivery: `topic`, body signed with the webhook secret.
    pub async fn post_woo(&self, route: &str, topic: &str, body: &[u8]) -> Answer {
        let request = http::Request::post(self.url(route))
            .header("content-type", "application/json")
            .header("x-wc-webhook-topic", topic)
            .header(
                "x-wc-webhook-signature",
                sign_body(body, &WebhookSecret::new(WOO_SECRET)),
            )
            .header("x-wc-webhook-source", "https://winkel.example.nl/")
            .header("x-wc-webhook-delivery-id", unique("wc-delivery"))
            .body(http_body_util::Full::new(bytes::Bytes::copy_from_slice(
                body,
            )))
            .unwrap();
        self.send(request).await
    }

    /// Posts a form (`application/x-www-form-urlencoded`) to `path`, as a browser submits one.
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Answer {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        self.send(
            http::Request::post(format!("{}{path}", self.base_url))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.into())
                .unwrap(),
        )
        .await
    }

    pub async fn send(&self, request: http::Request<http_body_util::Full<bytes::Bytes>>) -> Answer {
        send(&self.http, request).await.expect("gateway answers")
    }

    /// The table through the operator's credentials: setup and assertions.
    pub fn store(&self) -> trouw::store::Store {
        trouw::store::Store::new(self.dynamo.clone(), &self.table)
    }

    /// The table as `function`'s handler reaches it: its identity (its IAM policy), counted
    /// in `requests`, through the stack's `dynamo_endpoint` if any.
    pub fn store_as(&self, function: Function) -> trouw::store::Store {
        trouw::store::Store::new(
            self.route
                .client(&self.identities[&function].sdk, Some(&self.requests), 2),
            &self.table,
        )
    }

    /// The table as `function` reaches it through `endpoint` (a fault proxy), with no retries
    /// of the SDK's own: every fault the proxy makes reaches the handler.
    pub fn store_through(&self, function: Function, endpoint: &str) -> trouw::store::Store {
        let client = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&self.identities[&function].sdk)
                .endpoint_url(endpoint)
                .retry_config(
                    aws_sdk_dynamodb::config::retry::RetryConfig::standard().with_max_attempts(1),
                )
                .build(),
        );
        trouw::store::Store::new(client, &self.table)
    }

    /// Writes items straight into the table, 25 to a `BatchWriteItem` (moto's transactions
    /// copy the whole table per item, so big seeds go this way), again until none is left
    /// unprocessed; a failed request is tried up to five times more.
    pub async fn seed(&self, items: Vec<Item>) {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        let requests: Vec<WriteRequest> = items
            .into_iter()
            .map(|item| {
                WriteRequest::builder()
                    .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
                    .build()
            })
            .collect();
        for chunk in requests.chunks(25) {
            let mut pending = chunk.to_vec();
            while !pending.is_empty() {
                let mut attempt = 0;
                let out = loop {
                    match self
                        .dynamo
                        .batch_write_item()
                        .request_items(&self.table, pending.clone())
                        .send()
                        .await
                    {
                        Ok(out) => break out,
                        Err(err) if attempt < 5 => {
                            attempt += 1;
                            eprintln!("seeding: {err}; again ({attempt})");
                        }
                        Err(err) => panic!("seeding with BatchWriteItem: {err:?}"),
                    }
                };
                pending = out
                    .unprocessed_items
                    .and_then(|mut left| left.remove(&self.table))
                    .unwrap_or_default();
            }
        }
    }

    /// Every item in the table, sorted by key: the "did anything change" check.
    pub async fn snapshot(&self) -> Vec<Item> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .dynamo
                .scan()
                .table_name(&self.table)
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap();
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        let key = |i: &Item| format!("{:?}{:?}", i.get("pk"), i.get("sk"));
        items.sort_by_key(key);
        items
    }

    pub async fn customer(&self, id: &str) -> (Option<CustomerProfile>, Vec<Order>) {
        self.store()
            .customer(&self.shop, &CustomerId::parse(id).unwrap())
            .await
            .unwrap()
    }
}

impl TestStack {
    /// What the stack's identities were denied so far (a test that expects a denial takes it,
    /// so that the end of the test does not report it).
    pub fn take_iam_denials(&self) -> Vec<trouw_local::aws::Denial> {
        let denials = self.iam_denials().expect("the local IAM check answers");
        let taken = self
            .denials_taken
            .swap(denials.len(), Ordering::SeqCst)
            .min(denials.len());
        denials[taken..].to_vec()
    }

    fn iam_denials(&self) -> Result<Vec<trouw_local::aws::Denial>, String> {
        let keys: Vec<String> = self
            .identities
            .values()
            .map(|i| i.access_key.clone())
            .collect();
        trouw_local::aws::iam_denials(&local_aws().endpoint, &keys)
    }
}

/// A handler that called what its function's policy does not grant fails the test here, with
/// the function and the action: the check runs when the stack is dropped (at the end of the
/// test), over every request its identities sent. A test that already failed gets the denials
/// printed beside its own failure instead (no panic while panicking).
impl Drop for TestStack {
    fn drop(&mut self) {
        let denials = match self.iam_denials() {
            Ok(denials) => {
                denials[self.denials_taken.load(Ordering::SeqCst).min(denials.len())..].to_vec()
            }
            Err(err) if std::thread::panicking() => {
                eprintln!("could not read the IAM denials: {err}");
                return;
            }
            Err(err) => panic!("could not read the IAM denials: {err}"),
        };
        if denials.is_empty() {
            return;
        }
        let listed: Vec<String> = denials
            .iter()
            .map(|d| format!("  {} may not {} on {}", d.function, d.action, d.resource))
            .collect();
        let report = format!(
            "IAM denied what a handler called (its policy in infra/template.yaml does not grant it):\n{}\n{}",
            listed.join("\n"),
            denials[0].message
        );
        if std::thread::panicking() {
            eprintln!("{report}");
        } else {
            panic!("{report}");
        }
    }
}

/// The form-token cookie an admin page set (`trouw_csrf=...`) and the token in its form.
pub fn form_token_of(answer: &Answer) -> (String, String) {
    let cookie = answer
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("trouw_csrf="))
        .and_then(|v| v.split(';').next())
        .expect("the page sets the form-token cookie")
        .to_owned();
    let token = answer
        .body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the form carries a token")
        .to_owned();
    (cookie, token)
}

pub fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// Runs futures concurrently on this task, answers in order (no extra dependency).
pub async fn join_all<F: std::future::Future>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    let mut pending: Vec<_> = futures.into_iter().map(Box::pin).enumerate().collect();
    let mut results: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        pending.retain_mut(|(i, f)| match f.as_mut().poll(cx) {
            std::task::Poll::Ready(v) => {
                results[*i] = Some(v);
                false
            }
            std::task::Poll::Pending => true,
        });
        if pending.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    results.into_iter().map(Option::unwrap).collect()
}

/// A contract example from `shared/contracts/examples` (a verbatim copy of the canonical
/// contracts; `contracts_match_the_reference` checks it).
pub fn example(route: &str) -> Value {
    let path = format!(
        "{}/../shared/contracts/examples/{route}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
        .unwrap()
}

/// A platform fixture from `tests/fixtures/`.
pub fn fixture(path: &str) -> Vec<u8> {
    let path = format!("{}/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Posts the Shopify fixture `shopify/{file}` as `topic` to `route`; it must be answered 200.
pub async fn shopify_fixture(stack: &TestStack, route: &str, topic: &str, file: &str) -> Value {
    let answer = stack
        .post_shopify(route, topic, &fixture(&format!("shopify/{file}")))
        .await;
    assert_eq!(answer.status, 200, "{topic} {file}: {}", answer.body);
    answer.json()
}

/// Emails moto's SES received for `to`, as raw MIME, oldest first.
pub async fn emails_to(to: &str) -> Vec<String> {
    trouw_local::client::moto_emails_to(&http_client(), &local_aws().endpoint, to)
        .await
        .unwrap()
}

/// Every email moto's SES received, as (recipients, raw MIME), oldest first: read once and
/// filter, rather than once per recipient.
pub async fn all_emails() -> Vec<(Vec<String>, String)> {
    let request = http::Request::get(format!(
        "{}{}",
        local_aws().endpoint,
        trouw_local::client::MOTO_SES_MESSAGES
    ))
    .body(Default::default())
    .unwrap();
    let answer = send(&http_client(), request).await.unwrap();
    let data: Value = serde_json::from_str(&answer.body).unwrap();
    data["ses"]["RawMessage"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|m| {
            let to = m["destinations"]
                .as_array()?
                .iter()
                .filter_map(|d| d.as_str().map(str::to_owned))
                .collect();
            Some((to, m["raw_data"].as_str()?.to_owned()))
        })
        .collect()
}

impl TestStack {
    /// The sender (`send-messages`, with its identity) for this stack's table, with its own
    /// clock, SES at `ses_endpoint` (default moto) and links pointing at the gateway.
    pub async fn sender(
        &self,
        clock: Arc<dyn trouw::clock::Clock>,
        ses_endpoint: Option<&str>,
    ) -> trouw::handlers::send_messages::SenderApp {
        self.sender_as(Function::SendMessages, clock, ses_endpoint)
            .await
    }

    /// The schedule pass (`run-schedule`, with its identity): `run_pass` on it, as the
    /// EventBridge schedule invokes that function.
    pub async fn schedule(
        &self,
        clock: Arc<dyn trouw::clock::Clock>,
        ses_endpoint: Option<&str>,
    ) -> trouw::handlers::send_messages::SenderApp {
        self.sender_as(Function::RunSchedule, clock, ses_endpoint)
            .await
    }

    async fn sender_as(
        &self,
        function: Function,
        clock: Arc<dyn trouw::clock::Clock>,
        ses_endpoint: Option<&str>,
    ) -> trouw::handlers::send_messages::SenderApp {
        prepare_ses(&self.sdk, &self.functions.configuration_set).await;
        let mut ses_config = aws_sdk_sesv2::config::Builder::from(&self.identities[&function].sdk);
        if let Some(endpoint) = ses_endpoint {
            ses_config = ses_config.endpoint_url(endpoint).retry_config(
                aws_sdk_sesv2::config::retry::RetryConfig::standard().with_max_attempts(1),
            );
        }
        let ses = aws_sdk_sesv2::Client::from_conf(ses_config.build());
        self.functions
            .sender_with(function, clock, ses)
            .await
            .unwrap()
    }
}

/// The template's mapping settings, with the brief retry pause tests can afford (polling stays
/// at Lambda's 4 a second: `settle` wakes the reader itself).
pub fn stream_settings() -> trouw_local::stream::MappingSettings {
    let mut settings = trouw_local::stream::MappingSettings::from_repository().unwrap();
    settings.retry_backoff = Duration::from_millis(5);
    settings.retry_backoff_max = Duration::from_millis(50);
    settings
}

/// The template's mapping in front of `function`: the operator (`sdk`) creates the on-failure
/// queue; the mapping reads the stream and sends to the queue with send-messages' identity
/// (`role`), as Lambda does with the function's execution role.
async fn start_stream(
    sdk: &aws_config::SdkConfig,
    role: &aws_config::SdkConfig,
    table: &str,
    function: trouw_local::stream::Function,
    settings: trouw_local::stream::MappingSettings,
) -> trouw_local::stream::MappingHandle {
    let queue = trouw_local::stream::failure_queue(sdk, table)
        .await
        .unwrap();
    let stream = trouw_local::stream::stream_arn(sdk, table).await.unwrap();
    trouw_local::stream::start(role, stream, settings, Some(queue), function)
        .await
        .unwrap()
}

/// Stores `value` in SSM as a SecureString, as every secret lives in the cloud.
async fn put_secure_string(ssm: &aws_sdk_ssm::Client, name: &str, value: &str) {
    ssm.put_parameter()
        .name(name)
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .unwrap_or_else(|e| panic!("putting {name}: {e:?}"));
}

/// SES as the senders need it (setup, the operator's `sdk`): the demo shop's sender verified,
/// and the stack's configuration set, which every message goes out with as in AWS.
async fn prepare_ses(sdk: &aws_config::SdkConfig, configuration_set: &str) {
    trouw_local::demo::verify_sender(sdk, trouw_local::demo::demo_shop().settings.sender.as_str())
        .await
        .unwrap();
    trouw_local::events::create_configuration_set(sdk, configuration_set)
        .await
        .unwrap();
}
