//! The holdout group: a stable share of a shop's customers who get no reactivation or
//! replenishment mail, so that the lift of those messages can be measured against them.

use super::{CustomerId, ShopId};
use sha2::{Digest, Sha256};

/// Whether the customer is in the shop's holdout group. Stable: the same customer is always in
/// or out for the same share, on every machine and after every deploy; raising the share only
/// adds customers.
pub fn is_held_out(shop: &ShopId, customer: &CustomerId, percent: u8) -> bool {
    if percent == 0 {
        return false;
    }
    let digest = Sha256::new()
        .chain_update(shop.as_str().as_bytes())
        .chain_update(b"\0holdout\0")
        .chain_update(customer.as_str().as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    // Basis points, so a share like 5% is exact.
    u64::from_be_bytes(first) % 10_000 < u64::from(percent) * 100
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn about_the_configured_share_is_held_out() {
        let shop = ShopId::parse("demo").unwrap();
        let held = (0..20_000)
            .filter(|i| is_held_out(&shop, &CustomerId::parse(format!("cus-{i}")).unwrap(), 5))
            .count();
        // 5% of 20,000 is 1,000; a fair hash stays well within 15% of that.
        assert!((850..=1150).contains(&held), "{held} held out");
    }

    proptest! {
        #[test]
        fn placement_is_stable_and_grows_with_the_share(id in "[a-z0-9-]{1,20}", low in 0u8..=50, extra in 0u8..=50) {
            let shop = ShopId::parse("demo").unwrap();
            let customer = CustomerId::parse(id).unwrap();
            let high = low.saturating_add(extra).min(50);
            prop_assert_eq!(is_held_out(&shop, &customer, low), is_held_out(&shop, &customer, low));
            if is_held_out(&shop, &customer, low) {
                prop_assert!(is_held_out(&shop, &customer, high));
            }
            prop_assert!(!is_held_out(&shop, &customer, 0));
        }
    }
}
