//! What points buy: the shop's rewards and the price of one redemption.

use super::{Balance, Insufficient, Loyalty, Money, OrderId, Timestamp};
use serde::{Deserialize, Serialize};

/// One reward a shop offers for points, from its settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reward {
    /// Short and URL-safe, e.g. `r5`.
    pub id: String,
    /// What the customer sees, in the shop's language.
    pub name: String,
    #[serde(flatten)]
    pub price: RewardPrice,
    /// Where its codes come from (default: the pool).
    #[serde(default, skip_serializing_if = "CodeSource::is_pool")]
    pub code_source: CodeSource,
}

/// Where a reward's codes come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeSource {
    /// Codes the shop made in its own shop admin and added to the reward's pool.
    #[default]
    Pool,
    /// The shop's coupon endpoint makes one per redemption (`loyalty_api.coupon_endpoint`).
    Endpoint,
}

impl CodeSource {
    pub fn is_pool(&self) -> bool {
        *self == CodeSource::Pool
    }
}

/// How many points a reward takes for what value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RewardPrice {
    /// A fixed number of points for a fixed value.
    Fixed { points: u64, value: RewardValue },
    /// A step of points for a step of value, from `min_points` to `max_points`.
    Variable {
        step_points: u64,
        step_value: Money,
        min_points: u64,
        max_points: u64,
    },
}

/// What a reward is worth: an amount in the shop's currency, or a percentage off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RewardValue {
    Amount(Money),
    Percent { percent: u8 },
}

/// Why a redemption request is refused; nothing changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedeemError {
    /// `points` given for a fixed reward, or missing or off the steps for a variable one.
    Points(String),
    Insufficient(Balance),
}

/// What one redemption spends and is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Price {
    pub points: u64,
    pub value: RewardValue,
}

impl Reward {
    /// The price of this reward for `points` (only for a variable reward), checked against the
    /// rules but not yet against a balance.
    pub fn price(&self, points: Option<u64>) -> Result<Price, RedeemError> {
        match (&self.price, points) {
            (RewardPrice::Fixed { points, value }, None) => Ok(Price {
                points: *points,
                value: *value,
            }),
            (RewardPrice::Fixed { .. }, Some(_)) => Err(RedeemError::Points(
                "points: only for a variable reward; leave it out".into(),
            )),
            (RewardPrice::Variable { .. }, None) => Err(RedeemError::Points(
                "points: required for a variable reward".into(),
            )),
            (
                RewardPrice::Variable {
                    step_points,
                    step_value,
                    min_points,
                    max_points,
                },
                Some(points),
            ) => {
                if *step_points == 0
                    || points < *min_points
                    || points > *max_points
                    || points % step_points != 0
                {
                    return Err(RedeemError::Points(format!(
                        "points: must be a multiple of {step_points} from {min_points} to {max_points}"
                    )));
                }
                let steps = i64::try_from(points / step_points).unwrap_or(i64::MAX);
                Ok(Price {
                    points,
                    value: RewardValue::Amount(Money::new(
                        step_value.minor.saturating_mul(steps),
                        step_value.currency,
                    )),
                })
            }
        }
    }

    /// The least a customer must hold to redeem this reward.
    pub fn least_points(&self) -> u64 {
        match &self.price {
            RewardPrice::Fixed { points, .. } => *points,
            RewardPrice::Variable { min_points, .. } => *min_points,
        }
    }

    /// Checks the whole rewards list of a shop: ids unique and URL-safe, prices sane.
    pub fn check_all(rewards: &[Reward]) -> bool {
        let mut ids: Vec<&str> = rewards.iter().map(|r| r.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len() == rewards.len()
            && rewards.iter().all(|r| {
                !r.id.is_empty()
                    && r.id.len() <= 32
                    && r.id
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                    && !r.name.trim().is_empty()
                    && match &r.price {
                        RewardPrice::Fixed { points, value } => {
                            *points > 0
                                && match value {
                                    RewardValue::Amount(m) => m.minor > 0,
                                    RewardValue::Percent { percent } => (1..=100).contains(percent),
                                }
                        }
                        RewardPrice::Variable {
                            step_points,
                            step_value,
                            min_points,
                            max_points,
                        } => {
                            *step_points > 0
                                && step_value.minor > 0
                                && min_points <= max_points
                                && *min_points >= *step_points
                                && min_points % step_points == 0
                        }
                    }
            })
    }
}

/// A redemption as stored: the answer it gave, so the same idempotency key gets it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redemption {
    pub id: String,
    pub reward: String,
    /// What was asked: the same key with another request is refused.
    pub requested_points: Option<u64>,
    pub code: String,
    /// The answer's `value` (an amount or a percentage).
    pub value: serde_json::Value,
    pub points_spent: u64,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub balance_after: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voided_at: Option<Timestamp>,
    /// The order whose discount code it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_by_order: Option<String>,
    /// When that order was placed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_at: Option<Timestamp>,
}

/// A pool with fewer free codes than this is low: the shop's service address hears of it once,
/// and the overview marks it.
pub const LOW_POOL_MARK: u64 = 50;

/// Whether a reward's pool is low, and how many times it ran low: each time is one alert.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolAlert {
    /// How many times the pool ran low (the alert of each time is keyed by it).
    pub episode: u64,
    /// Since when the pool is low (none: it is not, or never was).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low_since: Option<Timestamp>,
}

impl PoolAlert {
    /// After a redemption left `left` free codes: the next state when the pool just ran low
    /// (alert once), `None` when nothing changes (not low, or low and alerted already).
    pub fn after_redemption(&self, left: u64, now: Timestamp) -> Option<PoolAlert> {
        (left < LOW_POOL_MARK && self.low_since.is_none()).then(|| PoolAlert {
            episode: self.episode + 1,
            low_since: Some(now),
        })
    }

    /// After codes were added and `free` are free: the next state when that lifts the pool to
    /// the mark or above (the next fall alerts again), `None` when nothing changes.
    pub fn after_refill(&self, free: u64) -> Option<PoolAlert> {
        (free >= LOW_POOL_MARK && self.low_since.is_some()).then_some(PoolAlert {
            episode: self.episode,
            low_since: None,
        })
    }
}

/// A discount code as trouw keys it: letters, digits, `-` and `_`, 1 to 64 of them,
/// upper-cased (shop platforms match codes without regard to case). `None` for anything else,
/// which no pool can hold.
pub fn code_key(code: &str) -> Option<String> {
    let code = code.trim();
    let valid = (1..=64).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    valid.then(|| code.to_ascii_uppercase())
}

/// The redemptions an order's discount codes use, each marked used by the order. `held` are
/// the customer's own redemptions that the codes' registry entries lead to (a code of another
/// customer leads to none of theirs). A redemption counts when its code is among the order's,
/// and it is neither voided nor used by an order; one this order used already is not returned
/// (nothing to write), so a re-sent order changes nothing. A code is used once: the first
/// order that carries it keeps it.
pub fn redemptions_used(
    order: &OrderId,
    placed_at: Timestamp,
    codes: &[String],
    held: &[Redemption],
) -> Vec<Redemption> {
    held.iter()
        .filter(|r| !r.code.is_empty() && codes.contains(&r.code))
        .filter(|r| r.voided_at.is_none() && r.used_by_order.is_none())
        .map(|r| Redemption {
            used_by_order: Some(order.as_str().to_owned()),
            used_at: Some(placed_at),
            ..r.clone()
        })
        .collect()
}

/// Redeems: prices the reward and spends the points from the balance, or refuses.
pub fn redeem(
    loyalty: &mut Loyalty,
    reward: &Reward,
    points: Option<u64>,
) -> Result<Price, RedeemError> {
    let price = reward.price(points)?;
    loyalty
        .spend(price.points)
        .map_err(|Insufficient { balance }| RedeemError::Insufficient(balance))?;
    Ok(price)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Currency;
    use proptest::prelude::*;

    fn eur(minor: i64) -> Money {
        Money::new(minor, Currency::EUR)
    }

    fn r5() -> Reward {
        Reward {
            id: "r5".into(),
            name: "€5 korting".into(),
            price: RewardPrice::Fixed {
                points: 500,
                value: RewardValue::Amount(eur(500)),
            },
            code_source: CodeSource::Pool,
        }
    }

    fn flex() -> Reward {
        Reward {
            id: "flex".into(),
            name: "Korting naar keuze".into(),
            price: RewardPrice::Variable {
                step_points: 100,
                step_value: eur(100),
                min_points: 200,
                max_points: 5000,
            },
            code_source: CodeSource::Pool,
        }
    }

    #[test]
    fn rewards_read_from_the_shops_settings() {
        let fixed: Reward = serde_json::from_value(serde_json::json!({
            "id": "r5", "name": "€5 korting", "kind": "fixed", "points": 500,
            "value": {"minor": 500, "currency": "EUR"}
        }))
        .unwrap();
        assert_eq!(fixed, r5());
        let percent: Reward = serde_json::from_value(serde_json::json!({
            "id": "p10", "name": "10%", "kind": "fixed", "points": 800, "value": {"percent": 10}
        }))
        .unwrap();
        assert!(Reward::check_all(&[r5(), flex(), percent]));
        assert!(!Reward::check_all(&[r5(), r5()]), "ids are unique");
    }

    #[test]
    fn a_fixed_reward_costs_its_points_and_a_variable_one_its_steps() {
        let mut l = Loyalty {
            points_available: 1000,
            ..Loyalty::default()
        };
        let p = redeem(&mut l, &r5(), None).unwrap();
        assert_eq!(p.points, 500);
        assert!(matches!(
            redeem(&mut l, &r5(), Some(500)),
            Err(RedeemError::Points(_))
        ));
        assert!(matches!(
            redeem(&mut l, &flex(), None),
            Err(RedeemError::Points(_))
        ));
        assert!(matches!(
            redeem(&mut l, &flex(), Some(250)),
            Err(RedeemError::Points(_))
        ));
        assert!(matches!(
            redeem(&mut l, &flex(), Some(100)),
            Err(RedeemError::Points(_))
        ));
        let p = redeem(&mut l, &flex(), Some(300)).unwrap();
        assert_eq!(p.value, RewardValue::Amount(eur(300)));
        assert_eq!(l.balance().available, 200);
        match redeem(&mut l, &r5(), None) {
            Err(RedeemError::Insufficient(b)) => assert_eq!(b.available, 200),
            other => panic!("{other:?}"),
        }
    }

    fn redemption(id: &str, code: &str) -> Redemption {
        let at = Timestamp::from_second(1_790_000_000).unwrap();
        Redemption {
            id: id.into(),
            reward: "r5".into(),
            requested_points: None,
            code: code.into(),
            value: serde_json::json!({"minor": 500, "currency": "EUR"}),
            points_spent: 500,
            created_at: at,
            expires_at: at,
            balance_after: 0,
            voided_at: None,
            used_by_order: None,
            used_at: None,
        }
    }

    #[test]
    fn an_order_uses_the_open_redemptions_of_its_codes_once() {
        let order = OrderId::parse("NL-1").unwrap();
        let at = Timestamp::from_second(1_790_000_100).unwrap();
        let codes = vec![code_key(" spring5-a ").unwrap(), "OTHER".to_owned()];
        assert_eq!(codes[0], "SPRING5-A");
        let open = redemption("rd_1", "SPRING5-A");
        let used = redemptions_used(&order, at, &codes, std::slice::from_ref(&open));
        assert_eq!(used.len(), 1);
        assert_eq!(used[0].used_by_order.as_deref(), Some("NL-1"));
        assert_eq!(used[0].used_at, Some(at));
        // Again (a re-sent order), or by another order: nothing more.
        assert!(redemptions_used(&order, at, &codes, &used).is_empty());
        let other = OrderId::parse("NL-2").unwrap();
        assert!(redemptions_used(&other, at, &codes, &used).is_empty());
        // Voided, erased (no code left), or a code the order does not carry: nothing.
        let voided = Redemption {
            voided_at: Some(at),
            ..open.clone()
        };
        assert!(redemptions_used(&order, at, &codes, &[voided]).is_empty());
        let erased = redemption("rd_2", "");
        assert!(redemptions_used(&order, at, &[String::new()], &[erased]).is_empty());
        assert!(redemptions_used(&order, at, &["SPRING5-B".into()], &[open]).is_empty());
        assert_eq!(code_key("a b"), None);
        assert_eq!(code_key(&"x".repeat(65)), None);
    }

    #[test]
    fn a_pool_alerts_once_per_fall_below_the_mark() {
        let at = Timestamp::from_second(1_790_000_000).unwrap();
        let fresh = PoolAlert::default();
        assert_eq!(fresh.after_redemption(LOW_POOL_MARK, at), None);
        let low = fresh.after_redemption(LOW_POOL_MARK - 1, at).unwrap();
        assert_eq!(low.episode, 1);
        // Lower still: no second alert; a refill below the mark changes nothing.
        assert_eq!(low.after_redemption(3, at), None);
        assert_eq!(low.after_refill(LOW_POOL_MARK - 1), None);
        assert_eq!(fresh.after_refill(500), None, "never low: nothing to write");
        let refilled = low.after_refill(LOW_POOL_MARK).unwrap();
        assert_eq!(refilled.low_since, None);
        // The next fall is the next alert.
        assert_eq!(refilled.after_redemption(10, at).unwrap().episode, 2);
    }

    proptest! {
        /// However many redemptions are asked for, together they never spend more than the
        /// balance held, and each refused one changes nothing.
        #[test]
        fn redemptions_never_spend_more_than_the_balance(
            held in 0u64..5000,
            asks in proptest::collection::vec(proptest::option::of(0u64..60), 0..40),
        ) {
            let mut l = Loyalty { points_available: held, ..Loyalty::default() };
            let mut spent = 0;
            for ask in asks {
                let (reward, points) = match ask {
                    None => (r5(), None),
                    Some(steps) => (flex(), Some(steps * 100)),
                };
                let before = l.clone();
                match redeem(&mut l, &reward, points) {
                    Ok(price) => spent += price.points,
                    Err(_) => prop_assert_eq!(&l, &before),
                }
                prop_assert!(spent <= held);
                prop_assert_eq!(l.balance().available, held - spent);
            }
        }
    }
}
