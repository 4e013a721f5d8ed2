//! `make dev`: moto, the table from the template, the verified demo sender, the demo shop,
//! and the HTTP API on 127.0.0.1:$PORT. Ctrl-C stops all of it.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use trouw::clock::OffsetClock;
use trouw::handlers::message_log::AdminAuth;
use trouw::store::Store;
use trouw_local::apps::{FunctionApps, Secret, Secrets, plain_dynamo};
use trouw_local::aws::{LocalAws, function_identities};
use trouw_local::demo::{
    DEFAULT_ADMIN_PASSWORD, DEFAULT_ADMIN_SESSION_SECRET, DEFAULT_ADMIN_USER,
    DEFAULT_GUEST_ID_SECRET, DEFAULT_LINK_SECRET, DEMO_SECRET_DEFAULTS, register_demo_shop,
    verify_sender,
};
use trouw_local::functions::{Function, LocalNames};
use trouw_local::gateway::Services;
use trouw_local::table::TableDefinition;
use trouw_local::template::LOCAL_STACK;

fn main() -> ExitCode {
    for (variable, default) in DEMO_SECRET_DEFAULTS {
        if std::env::var(variable).map_or(true, |s| s.is_empty()) {
            // SAFETY: no other thread exists yet.
            unsafe { std::env::set_var(variable, default) };
        }
    }
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    match runtime.block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("trouw-dev: {err}");
            ExitCode::FAILURE
        }
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> Result<T, String> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v.parse().map_err(|_| format!("{name}={v} is not valid")),
        _ => Ok(default),
    }
}

async fn run() -> Result<(), String> {
    trouw::telemetry::init();
    let port: u16 = env_or("PORT", 3000)?;
    let aws_port: u16 = env_or("LOCAL_AWS_PORT", 4566)?;
    let table: String = env_or("TABLE_NAME", "trouw-local".to_owned())?;

    let aws = match std::env::var("TROUW_AWS_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => LocalAws::existing(endpoint),
        _ => LocalAws::start(aws_port).map_err(|e| format!("starting moto: {e}"))?,
    };
    let sdk = aws.sdk_config().await;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    TableDefinition::from_repository()
        .map_err(|e| e.to_string())?
        .create(&dynamo, &table)
        .await
        .map_err(|e| e.to_string())?;

    // Setup (the demo shop, the sender identity) with the operator's credentials; every
    // handler with its own function's identity, so that its IAM policy applies as in AWS.
    let store = Store::new(dynamo.clone(), table.clone());
    let names = LocalNames {
        stack: LOCAL_STACK.to_owned(),
        ..LocalNames::for_table(&table)
    };
    let identities = function_identities(&aws.endpoint, &names)
        .await
        .map_err(|e| format!("registering the functions' identities: {e}"))?;
    let shop = register_demo_shop(&store)
        .await
        .map_err(|e| e.to_string())?;
    // The demo reward's pool of codes, as a shop adds them from its own admin.
    for (reward, code) in trouw_local::demo::demo_codes() {
        store
            .add_code(&shop.settings.id, reward, &code)
            .await
            .map_err(|e| e.to_string())?;
    }
    verify_sender(&sdk, shop.settings.sender.as_str())
        .await
        .map_err(|e| format!("verifying the sender in SES: {e}"))?;
    let functions = FunctionApps {
        table: table.clone(),
        identities,
        // One movable clock for the whole local stack (`POST /dev/clock`).
        clock: Arc::new(OffsetClock::default()),
        secrets: Secrets {
            link: Secret::Value(env_or("LINK_SECRET", DEFAULT_LINK_SECRET.to_owned())?),
            guest_id: Secret::Value(env_or(
                "GUEST_ID_SECRET",
                DEFAULT_GUEST_ID_SECRET.to_owned(),
            )?),
            admin_session: Secret::Value(env_or(
                "ADMIN_SESSION_SECRET",
                DEFAULT_ADMIN_SESSION_SECRET.to_owned(),
            )?),
        },
        settings_cache: Duration::from_secs(2),
        public_base_url: format!("http://127.0.0.1:{port}"),
        // The template's configuration set, as `make dev`'s stack names it.
        configuration_set: trouw_local::events::configuration_set(LOCAL_STACK)
            .map_err(|e| e.to_string())?,
        dynamo: plain_dynamo(),
    };
    let admin_auth = AdminAuth::Password {
        user: env_or("ADMIN_USER", DEFAULT_ADMIN_USER.to_owned())?,
        password: env_or("ADMIN_PASSWORD", DEFAULT_ADMIN_PASSWORD.to_owned())?,
    };
    let webhooks = functions.webhooks().await?;
    let links = functions.links().await?;
    let admin = functions
        .admin(admin_auth, vec![shop.settings.id.clone()])
        .await?;
    let sender = Arc::new(functions.sender(Function::SendMessages).await?);
    let schedule = Arc::new(functions.sender(Function::RunSchedule).await?);
    let configuration_set = &functions.configuration_set;
    trouw_local::events::create_configuration_set(&sdk, configuration_set)
        .await
        .map_err(|e| format!("creating the SES configuration set: {e}"))?;
    // The table's stream delivers the messages to the sender, as Lambda's mapping does in AWS,
    // reading the stream and writing the on-failure queue with send-messages' role.
    let failure_queue = trouw_local::stream::failure_queue(&sdk, LOCAL_STACK)
        .await
        .map_err(|e| format!("creating the on-failure queue: {e}"))?;
    let stream_arn = trouw_local::stream::stream_arn(&sdk, &table)
        .await
        .map_err(|e| e.to_string())?;
    let stream = trouw_local::stream::start(
        &functions.identities[&Function::SendMessages].sdk,
        stream_arn,
        trouw_local::stream::MappingSettings::from_repository().map_err(|e| e.to_string())?,
        Some(failure_queue),
        trouw_local::stream::send_messages(sender.clone()),
    )
    .await
    .map_err(|e| format!("starting the stream mapping: {e}"))?;
    // The day counter reads the same stream in tumbling windows, with count-days' role.
    let counter_queue = trouw_local::stream::counter_failure_queue(&sdk, LOCAL_STACK)
        .await
        .map_err(|e| format!("creating the counter's on-failure queue: {e}"))?;
    let counter = trouw_local::stream::start_windowed(
        &functions.identities[&Function::CountDays].sdk,
        trouw_local::stream::stream_arn(&sdk, &table)
            .await
            .map_err(|e| e.to_string())?,
        trouw_local::stream::MappingSettings::from_repository_for(
            trouw_local::stream::COUNTER_FUNCTION,
            trouw_local::stream::COUNTER_EVENT,
        )
        .map_err(|e| e.to_string())?,
        Some(counter_queue),
        trouw_local::stream::count_days(Arc::new(functions.counter())),
    )
    .await
    .map_err(|e| format!("starting the counter's stream mapping: {e}"))?;
    // The local stand-in for the EventBridge schedule: a pass every few seconds, invoked with
    // the event Scheduler sends.
    let every = Duration::from_secs(env_or("SCHEDULE_EVERY_SECONDS", 5)?);
    let scheduled = schedule.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            if let Err(err) = trouw_local::events::run_schedule(&scheduled).await {
                tracing::warn!(detail = %err, "schedule pass failed; the next one repeats it");
            }
        }
    });
    let app = Arc::new(Services {
        webhooks,
        links: Some(links),
        admin: Some(admin),
        loyalty: Some(functions.loyalty()),
        sender: Some(sender),
        schedule: Some(schedule),
        clock: Some(functions.clock.clone()),
        stream: Some(Arc::new(stream)),
        counter: Some(Arc::new(counter)),
        direct_drive: false,
    });

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("binding 127.0.0.1:{port}: {e}"))?;
    eprintln!(
        "\ntrouw is running (local only)\n  API:        http://127.0.0.1:{port}  (POST /webhooks/demo/order-placed, ...; GET /healthz)\n  AWS (moto): {}  table {table}\n  shop:       demo (canonical: DEMO_WEBHOOK_SECRET; Shopify demo.myshopify.com: DEMO_SHOPIFY_SECRET;\n              WooCommerce: DEMO_WOOCOMMERCE_SECRET)\n  try:        make post EVENT=order-placed      then   make customer CUSTOMER=cus-8812   and   make emails\n  clock:      POST /dev/clock {{\"now\": \"2026-11-02T10:00:00Z\"}}; POST /dev/run-schedule; POST /dev/settle (local only)\n  marketers:  http://127.0.0.1:{port}/admin  (ADMIN_USER / ADMIN_PASSWORD; local defaults marketing / trouw-local-only)\n  months:     make demo-months\n  stop:       Ctrl-C\n",
        aws.endpoint
    );
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
        eprintln!("\nstopping trouw and moto");
    };
    trouw_local::gateway::serve(listener, app, shutdown).await;
    drop(aws);
    Ok(())
}
