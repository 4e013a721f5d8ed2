//! One module per Lambda. A handler takes the request, calls the edge, the domain and the
//! store, and answers. Lambda mains and the local gateway call these same functions.

pub mod count_days;
pub mod customer_links;
mod guests;
pub mod loyalty_api;
pub mod message_log;
pub mod points_history;
mod product_changed;
mod responses;
pub mod run_schedule;
pub mod send_messages;
pub mod ses_events;
pub mod stock_pass;
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
    /// The key guest ids are derived with; only the functions that take orders have it.
    pub guests: crate::config::GuestKey,
}

impl WebhookApp {
    /// Wires the app from configuration and SDK clients built once by the caller.
    pub fn new(
        config: &Config,
        dynamo: aws_sdk_dynamodb::Client,
        ssm: aws_sdk_ssm::Client,
        clock: Arc<dyn Clock>,
        guests: Option<crate::webhook::GuestIds>,
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
            guests: crate::config::GuestKey::known(guests),
        }
    }

    /// Builds the app from the environment with the system clock, as the Lambda mains do.
    pub async fn from_env() -> Result<Self, lambda_http::Error> {
        let config = Config::from_env()?;
        let sdk = crate::config::aws_sdk_config().await;
        let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
        let ssm = aws_sdk_ssm::Client::new(&sdk);
        let guests = crate::config::guest_key(&ssm);
        let mut app = Self::new(
            &config,
            dynamo,
            ssm,
            Arc::new(crate::clock::SystemClock),
            None,
        );
        app.guests = guests;
        Ok(app)
    }
}

/// What applying one event came to.
pub(crate) enum Applied {
    Committed(Box<crate::domain::Decision>),
    Duplicate,
    /// The event's amounts do not fit what trouw counts in; nothing was written.
    Refused(crate::domain::AmountOverflow),
}

/// Read, decide, write: one BatchGetItem, the pure `decide`, the store's write of what changed
/// (`Store::write_decision`); again if another writer changed the customer in between. Webhooks and the schedule both apply their
/// events here, so every rule lives in `decide` and nowhere else.
pub(crate) async fn apply_event(
    store: &Store,
    clock: &dyn Clock,
    settings: &crate::domain::ShopSettings,
    event: &crate::domain::ShopEvent,
) -> Result<Applied, crate::store::StoreError> {
    const MAX_WRITE_ATTEMPTS: usize = 5;
    let shop = &settings.id;
    let placed = match &event.kind {
        crate::domain::EventKind::OrderPlaced(placed) if !placed.discount_codes.is_empty() => {
            Some(placed)
        }
        _ => None,
    };
    for _ in 0..MAX_WRITE_ATTEMPTS {
        let mut loaded = store
            .load(shop, &event.id, &event.customer.id, event.order_id())
            .await?;
        if loaded.already_processed {
            return Ok(Applied::Duplicate);
        }
        // A stock notice for a customer the store no longer holds (erased meanwhile) creates
        // no one.
        if matches!(event.kind, crate::domain::EventKind::StockChanged(_))
            && loaded.state.profile.is_none()
        {
            return Ok(Applied::Duplicate);
        }
        if let Err(overflow) = crate::domain::check_amounts(&loaded.state, event, settings) {
            return Ok(Applied::Refused(overflow));
        }
        let now = clock.now();
        // The customer's timer on the anniversary of their first order: the year's orders
        // for the recap (one Query, once a year).
        let recap_due = matches!(event.kind, crate::domain::EventKind::CustomerTimer)
            && loaded.state.profile.as_ref().is_some_and(|p| {
                crate::domain::recap::next_anniversary(p, now, settings)
                    .is_some_and(|(_, at)| at <= now)
            });
        if recap_due {
            loaded.state.year_orders = Some(store.orders_of(shop, &event.customer.id).await?);
        }
        // An order placed for the first time: the regular buyers of its products, from the
        // customer's earlier orders (one Query, only for a customer who ordered before).
        let newly_placed = matches!(event.kind, crate::domain::EventKind::OrderPlaced(_))
            && loaded
                .state
                .order
                .as_ref()
                .is_none_or(|o| o.placed.is_none());
        let earlier = if newly_placed
            && loaded
                .state
                .profile
                .as_ref()
                .is_some_and(|p| p.order_count > 0)
        {
            store.orders_of(shop, &event.customer.id).await?
        } else {
            Vec::new()
        };
        let mut decision = crate::domain::decide(&loaded.state, event, now, settings);
        if newly_placed && let Some(order) = &decision.order {
            decision.regular_buys = crate::domain::stock::regular_buys(&earlier, order, settings);
            crate::domain::stock::follow(&mut decision.profile, &decision.regular_buys);
        }
        let processed = webhook::processed_record(
            &event.id,
            event.event_type(),
            Some(&event.customer.id),
            event.order_id(),
            now,
        );
        // The redemptions the order's discount codes used (the rule is the domain's).
        let used = match placed {
            Some(placed) => {
                let held = store
                    .redemptions_of_codes(shop, &event.customer.id, &placed.discount_codes)
                    .await?;
                let used = crate::domain::redemptions_used(
                    &placed.id,
                    placed.placed_at,
                    &placed.discount_codes,
                    &held,
                );
                if used.len() < placed.discount_codes.len() {
                    // Never the code itself: the order id says where to look.
                    tracing::info!(
                        order_id = placed.id.as_str(),
                        codes = placed.discount_codes.len(),
                        used = used.len(),
                        "discount codes that mark no open redemption of the customer"
                    );
                }
                used
            }
            None => Vec::new(),
        };
        let written = if decision.changed || !used.is_empty() {
            store
                .write_decision(shop, &loaded, &decision, &used, &processed)
                .await?
        } else {
            // Nothing stored changes: only the event is remembered, as done.
            store.record_event(shop, &processed).await?
        };
        match written {
            crate::store::Written::Committed => return Ok(Applied::Committed(Box::new(decision))),
            crate::store::Written::Duplicate => return Ok(Applied::Duplicate),
            crate::store::Written::Conflict => continue,
        }
    }
    Err(crate::store::StoreError::Unavailable(
        "the customer kept changing under concurrent writes".into(),
    ))
}
