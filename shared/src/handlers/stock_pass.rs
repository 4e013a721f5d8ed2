//! The pass over a product's regular buyers when it goes out of stock or comes back: each buyer
//! gets a stock notice through `decide` (which says whether a message goes), page by page.
//!
//! Bounded: a page is [`PAGE`] buyers (one Query); the webhook does one page before it answers,
//! and the schedule continues the rest, [`PAGES_PER_PASS`] pages per product per pass (the
//! product item waits in the due index, with the last buyer done, until the pass is finished).
//! A stock-out with 10,000 regular buyers is thus told in 200 pages: one by the webhook, the
//! rest over the next passes (20 pages, 1,000 buyers, per pass). Each buyer's notice is an
//! event with its own id (phase, product, stock-out, customer), so a page done twice (a retry,
//! the webhook and the schedule at once) tells nobody twice.

use crate::clock::Clock;
use crate::domain::stock::{Fanout, ProductState, StockNotice};
use crate::domain::{CustomerFacts, EventId, EventKind, MessageData, ShopEvent, ShopSettings};
use crate::store::{Store, StoreError};

/// Buyers per page (one Query of the product's partition).
pub const PAGE: i32 = 50;
/// Pages the schedule does per product per pass.
pub const PAGES_PER_PASS: usize = 20;

/// What a run of the pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PassDone {
    pub buyers_read: usize,
    /// Buyers told now (a message created for them).
    pub told: usize,
    /// Buyers skipped for an error (logged with their key and the error's kind).
    pub failed: usize,
    /// The pass is over (or there was none).
    pub finished: bool,
}

/// Continues the product's pass for at most `pages` pages.
pub async fn continue_pass(
    store: &Store,
    clock: &dyn Clock,
    settings: &ShopSettings,
    sku: &crate::domain::Sku,
    pages: usize,
) -> Result<PassDone, StoreError> {
    let shop = &settings.id;
    let mut done = PassDone::default();
    for _ in 0..pages {
        let Some(product) = store.product(shop, sku).await? else {
            done.finished = true;
            return Ok(done);
        };
        let Some(fanout) = product.fanout.clone() else {
            done.finished = true;
            return Ok(done);
        };
        let (buyers, next) = store
            .regular_buyers(shop, sku, fanout.after.as_deref(), PAGE)
            .await?;
        done.buyers_read += buyers.len();
        for buyer in buyers {
            let event = notice_event(&product, &fanout, &buyer, clock);
            match super::apply_event(store, clock, settings, &event).await {
                Ok(super::Applied::Committed(decision)) => {
                    let told = decision.messages.iter().any(|m| {
                        matches!(
                            m.data,
                            MessageData::OutOfStockAlternative { .. }
                                | MessageData::BackInStock { .. }
                        )
                    });
                    done.told += usize::from(told);
                }
                Ok(_) => {}
                Err(err) if err.is_transient() => return Err(err),
                Err(err) => {
                    // One unreadable customer never stops the pass.
                    done.failed += 1;
                    tracing::error!(
                        customer_id = buyer.customer.as_str(),
                        error_kind = "store_failed",
                        detail = %err,
                        "stock notice failed; skipped"
                    );
                }
            }
        }
        let mut after = product.clone();
        after.version += 1;
        after.fanout = next.map(|n| Fanout {
            after: Some(n),
            ..fanout
        });
        let finished = after.fanout.is_none();
        if !store.put_product(shop, &after, Some(clock.now())).await? {
            // The product changed meanwhile (a new stock-out, or back): its own pass goes on.
            return Ok(done);
        }
        if finished {
            done.finished = true;
            return Ok(done);
        }
    }
    Ok(done)
}

fn notice_event(
    product: &ProductState,
    fanout: &Fanout,
    buyer: &crate::store::RegularBuyer,
    clock: &dyn Clock,
) -> ShopEvent {
    let stockout = fanout.stockout.as_second().to_string();
    let key = crate::domain::stock::sku_key(&product.sku);
    ShopEvent {
        id: EventId::derived(
            "stock",
            &[
                fanout.phase.as_str(),
                &key,
                &stockout,
                buyer.customer.as_str(),
            ],
        ),
        source: "product-changed".into(),
        occurred_at: clock.now(),
        customer: CustomerFacts {
            id: buyer.customer.clone(),
            email: None,
            first_name: None,
            locale: None,
            marketing_consent: None,
            address: None,
            birthday: None,
        },
        kind: EventKind::StockChanged(StockNotice {
            sku: product.sku.clone(),
            product_name: product.name.clone(),
            phase: fanout.phase,
            stockout: fanout.stockout,
            interval_days: buyer.interval_days,
            alternatives: product.alternatives.clone(),
            expected_back_at: product.expected_back_at,
        }),
    }
}
