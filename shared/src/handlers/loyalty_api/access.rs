//! A shop's settings and loyalty secrets, read once and cached per container: one GetItem for
//! the shop, one SSM request for its secrets, then nothing per request until the TTL passes.

use super::auth::ApiSecrets;
use super::coupon::CouponEndpoint;
use crate::domain::{ShopId, ShopSettings};
use crate::shops::{SecretRef, loyalty_secrets_path};
use crate::store::{Store, StoreError};
use crate::webhook::WebhookSecret;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the loyalty API needs of a shop.
#[derive(Debug)]
pub struct LoyaltyShop {
    pub settings: ShopSettings,
    pub secrets: ApiSecrets,
    /// The storefront origins a browser may call the API from (CORS).
    pub allowed_origins: Vec<String>,
    /// Where rewards with `code_source: endpoint` get their codes.
    pub coupon_endpoint: Option<CouponEndpoint>,
}

pub struct LoyaltyShops {
    store: Store,
    ssm: aws_sdk_ssm::Client,
    secrets_path_prefix: String,
    ttl: Duration,
    cache: Mutex<HashMap<ShopId, Cached>>,
}

/// A shop (or that there is none) and when it was read.
type Cached = (Instant, Option<Arc<LoyaltyShop>>);

/// The only shop parameters the loyalty function may read: `{prefix}loyalty/{shop}/{name}`.
pub fn is_loyalty_parameter(name: &str, secrets_path_prefix: &str, shop: &ShopId) -> bool {
    let dir = format!("{}{shop}/", loyalty_secrets_path(secrets_path_prefix));
    name.strip_prefix(&dir)
        .is_some_and(|rest| !rest.is_empty() && !rest.contains('/') && rest != "..")
}

impl LoyaltyShops {
    pub fn new(
        store: Store,
        ssm: aws_sdk_ssm::Client,
        secrets_path_prefix: String,
        ttl: Duration,
    ) -> Self {
        LoyaltyShops {
            store,
            ssm,
            secrets_path_prefix,
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The shop, or `None` when there is no such shop (remembered for the TTL as well, at
    /// most a minute).
    pub async fn get(&self, id: &ShopId) -> Result<Option<Arc<LoyaltyShop>>, StoreError> {
        if let Some((at, shop)) = self.cache.lock().unwrap_or_else(|e| e.into_inner()).get(id) {
            let ttl = if shop.is_some() {
                self.ttl
            } else {
                self.ttl.min(Duration::from_secs(60))
            };
            if at.elapsed() < ttl {
                return Ok(shop.clone());
            }
        }
        let shop = match self.store.get_shop(id).await? {
            None => None,
            Some(record) => {
                let refs = record.loyalty_api.clone().unwrap_or_default();
                let coupon_secrets = refs
                    .coupon_endpoint
                    .as_ref()
                    .map_or(&[][..], |e| e.secrets.as_slice());
                // One SSM request for all of them.
                let mut values = self
                    .resolve(
                        id,
                        &[
                            refs.api_keys.as_slice(),
                            refs.token_secrets.as_slice(),
                            coupon_secrets,
                        ],
                    )
                    .await?
                    .into_iter();
                let api_keys = values.next().unwrap_or_default();
                let token_secrets = values.next().unwrap_or_default();
                let coupon_endpoint = refs.coupon_endpoint.as_ref().map(|e| CouponEndpoint {
                    url: e.url.clone(),
                    secrets: values
                        .next()
                        .unwrap_or_default()
                        .into_iter()
                        .map(WebhookSecret::new)
                        .collect(),
                });
                Some(Arc::new(LoyaltyShop {
                    allowed_origins: refs.allowed_origins.clone(),
                    settings: record.settings,
                    secrets: ApiSecrets {
                        api_keys,
                        token_secrets,
                    },
                    coupon_endpoint,
                }))
            }
        };
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= 1024 {
            cache.clear();
        }
        cache.insert(id.clone(), (Instant::now(), shop.clone()));
        Ok(shop)
    }

    /// Resolves groups of references with one SSM request per ten; a reference outside the
    /// shop's loyalty parameters, or one that does not resolve, is logged by name and left out.
    async fn resolve(
        &self,
        shop: &ShopId,
        groups: &[&[String]],
    ) -> Result<Vec<Vec<String>>, StoreError> {
        let parsed: Vec<Vec<SecretRef>> = groups
            .iter()
            .map(|refs| {
                refs.iter()
                    .filter_map(|r| match SecretRef::parse(r) {
                        Some(SecretRef::Ssm(name))
                            if is_loyalty_parameter(&name, &self.secrets_path_prefix, shop) =>
                        {
                            Some(SecretRef::Ssm(name))
                        }
                        Some(SecretRef::Env(var)) => Some(SecretRef::Env(var)),
                        _ => {
                            tracing::error!(shop = %shop, "a loyalty secret reference is neither env:... nor an SSM parameter loyalty/{{shop}}/...; skipped");
                            None
                        }
                    })
                    .collect()
            })
            .collect();
        let names: Vec<String> = parsed
            .iter()
            .flatten()
            .filter_map(|r| match r {
                SecretRef::Ssm(name) => Some(name.clone()),
                SecretRef::Env(_) => None,
            })
            .collect();
        let values = crate::shops::ssm_parameter_values(&self.ssm, shop, &names, "loyalty").await?;
        Ok(parsed
            .into_iter()
            .map(|group| {
                group
                    .into_iter()
                    .filter_map(|r| match r {
                        SecretRef::Ssm(name) => values.get(&name).cloned(),
                        SecretRef::Env(var) => std::env::var(&var).ok().filter(|v| !v.is_empty()),
                    })
                    .collect()
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_shops_own_loyalty_parameters() {
        let shop = ShopId::parse("demo").unwrap();
        let ok = |n: &str| is_loyalty_parameter(n, "/trouw/", &shop);
        assert!(ok("/trouw/loyalty/demo/api-key"));
        assert!(ok("/trouw/loyalty/demo/token-secret"));
        assert!(ok("/trouw/loyalty/demo/coupon-secret"));
        // Not the webhook secrets' path, not another shop's, no way out of the directory.
        assert!(!ok("/trouw/shops/demo/loyalty-api-key"));
        assert!(!ok("/trouw/shops/demo/webhook-secret"));
        assert!(!ok("/trouw/loyalty/other/api-key"));
        assert!(!ok("/trouw/loyalty/demo/"));
        assert!(!ok("/trouw/loyalty/demo/x/../../../link-secret"));
        assert!(!ok("/trouw/loyalty/demo/.."));
        assert!(!ok("/trouw/link-secret"));
    }
}
