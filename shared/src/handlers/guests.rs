//! Guests from before guest ids were keyed. A guest checkout's id is an HMAC of the address
//! under the deployment's secret (`crate::webhook::guest`). Guests who already have a profile
//! under the old, unkeyed id keep it: their orders, points, survey history and lapse clock live
//! there, and every event of an order placed under it (a WooCommerce delivery or refund names the
//! guest by address again) must reach the same profile. No profile is ever made under an
//! unkeyed id again.

use crate::domain::{ShopEvent, ShopId};
use crate::store::{Store, StoreError};
use crate::webhook::GuestIds;
use crate::webhook::guest::legacy_guest_id;

/// Moves a guest event to the guest's unkeyed id when a profile exists under it: one
/// `GetItem`, for guest checkouts only.
pub(crate) async fn keep_existing_guest_id(
    store: &Store,
    shop: &ShopId,
    event: &mut ShopEvent,
) -> Result<(), StoreError> {
    if !GuestIds::is_keyed_guest(&event.customer.id) {
        return Ok(());
    }
    let Some(email) = &event.customer.email else {
        return Ok(());
    };
    let legacy = legacy_guest_id(shop, email);
    if store.profile(shop, &legacy).await?.is_some() {
        tracing::info!(
            customer_id = legacy.as_str(),
            "a guest with a profile from before keyed ids keeps its id"
        );
        event.customer.id = legacy;
    }
    Ok(())
}
