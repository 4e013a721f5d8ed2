//! Shop settings and webhook secrets, cached per container so that a warm Lambda adds no
//! request per webhook for them. Only the functions that verify webhooks resolve secrets: every
//! other function gets a settings-only directory, which holds no SSM client at all.

use crate::domain::{ShopId, ShopSettings};
use crate::store::{ShopRecord, Store, StoreError};
use crate::webhook::{WebhookSecret, WooCommerceConnection};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A shop ready to serve: settings plus resolved secrets per platform.
#[derive(Debug)]
pub struct Shop {
    pub settings: ShopSettings,
    /// Standard Webhooks secrets (canonical format).
    pub secrets: Vec<WebhookSecret>,
    pub shopify: Option<ShopifyAccess>,
    pub woocommerce: Option<WooCommerceAccess>,
}

#[derive(Debug)]
pub struct ShopifyAccess {
    pub shop_domain: String,
    pub secrets: Vec<WebhookSecret>,
}

#[derive(Debug)]
pub struct WooCommerceAccess {
    pub connection: WooCommerceConnection,
    pub secrets: Vec<WebhookSecret>,
}

/// The loyalty API's secrets of one shop, as references: the shop's API keys (its own server)
/// and the secrets its server signs customer tokens with (more than one during a rotation).
/// Under SSM they lie at [`loyalty_secrets_path`]`{shop}/...` (e.g. `/trouw/loyalty/de-winkel/api-key`),
/// apart from the webhook secrets: the loyalty function may read only these, and the webhook
/// functions none of them.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LoyaltyApiRefs {
    pub api_keys: Vec<String>,
    pub token_secrets: Vec<String>,
    /// The shop's storefront origins (`https://host[:port]`) a browser may call the API from;
    /// not secret, kept here beside the API's other settings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_origins: Vec<String>,
    /// Where rewards with `code_source: endpoint` get their codes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupon_endpoint: Option<CouponEndpointRefs>,
}

/// The shop's coupon endpoint: its URL and the `whsec_` secrets its requests are signed with
/// (references, like the other loyalty secrets; more than one while rotating: every request
/// carries a signature of each).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CouponEndpointRefs {
    pub url: String,
    pub secrets: Vec<String>,
}

/// A coupon endpoint's URL as trouw calls it: `https://`, or `http://` on this machine only
/// (`localhost`, `127.0.0.1`, `[::1]`, for local development); a host, no user info, no
/// fragment, at most 512 characters.
pub fn valid_coupon_url(url: &str) -> bool {
    let Ok(uri) = url.parse::<http::Uri>() else {
        return false;
    };
    let Some(host) = uri.host() else {
        return false;
    };
    let loopback = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
    let authority = uri.authority().map_or("", |a| a.as_str());
    url.len() <= 512
        && !authority.contains('@')
        && !url.contains('#')
        && !host.is_empty()
        && match uri.scheme_str() {
            Some("https") => true,
            Some("http") => loopback,
            _ => false,
        }
}

/// Where secret references point: `ssm:<parameter name>` (SecureString, decrypted) or
/// `env:<VARIABLE>` (local development).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    Ssm(String),
    Env(String),
}

/// Where the shops' webhook secrets lie in SSM: `{SECRETS_PATH_PREFIX}shops/`. The webhook
/// functions may read this path and nothing else; the link and session secrets lie beside it,
/// out of their reach.
pub fn shop_secrets_path(secrets_path_prefix: &str) -> String {
    format!("{secrets_path_prefix}shops/")
}

/// Where the shops' loyalty API secrets lie in SSM: `{SECRETS_PATH_PREFIX}loyalty/`, beside
/// the shops' webhook secrets, so that each function's policy covers exactly its own.
pub fn loyalty_secrets_path(secrets_path_prefix: &str) -> String {
    format!("{secrets_path_prefix}loyalty/")
}

impl SecretRef {
    /// A shop's secret reference as the functions accept it: `env:VARIABLE`, or an SSM
    /// parameter under [`shop_secrets_path`] (anything else the webhook functions could not
    /// read, or should not).
    pub fn parse_shop_secret(text: &str, secrets_path_prefix: &str) -> Option<SecretRef> {
        match SecretRef::parse(text)? {
            SecretRef::Ssm(name)
                if !name.starts_with(&shop_secrets_path(secrets_path_prefix))
                    || name.split('/').any(|part| part == "..") =>
            {
                None
            }
            parsed => Some(parsed),
        }
    }

    pub fn parse(text: &str) -> Option<SecretRef> {
        match text.split_once(':') {
            Some(("ssm", name)) if name.starts_with('/') && name.len() > 1 => {
                Some(SecretRef::Ssm(name.to_owned()))
            }
            Some(("env", var)) if !var.is_empty() => Some(SecretRef::Env(var.to_owned())),
            _ => None,
        }
    }
}

pub struct ShopDirectory {
    store: Store,
    /// Where webhook secrets come from; `None` for functions that never verify a webhook.
    secrets: Option<SecretSource>,
    ttl: Duration,
    cache: Mutex<HashMap<ShopId, (Instant, Arc<Shop>)>>,
    /// Shop ids the table does not know, so junk traffic on `/webhooks/nope/...` costs one
    /// read per id and per [`MISS_TTL`], not one per request.
    misses: Mutex<MissCache>,
}

/// How long a "no such shop" answer is trusted (at most the settings cache's own TTL): short,
/// so a newly added shop is served within a minute.
pub const MISS_TTL: Duration = Duration::from_secs(60);
/// At most this many unknown shop ids are remembered per container, so a flood of random ids
/// cannot grow memory without limit (each entry is a validated id of at most 63 characters).
pub const MAX_MISSES: usize = 1024;

/// Recently looked-up shop ids that do not exist, bounded in size and age.
#[derive(Debug)]
pub struct MissCache {
    ttl: Duration,
    capacity: usize,
    entries: HashMap<ShopId, Instant>,
}

impl MissCache {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity,
            entries: HashMap::new(),
        }
    }

    /// Whether `id` was found missing less than the TTL before `now`.
    pub fn is_missing(&self, id: &ShopId, now: Instant) -> bool {
        self.entries
            .get(id)
            .is_some_and(|at| now.saturating_duration_since(*at) < self.ttl)
    }

    /// Remembers that `id` does not exist. When full, expired entries go first, then the
    /// oldest one, so the cache never holds more than its capacity.
    pub fn record(&mut self, id: ShopId, now: Instant) {
        if self.capacity == 0 {
            return;
        }
        if self.entries.len() >= self.capacity && !self.entries.contains_key(&id) {
            let ttl = self.ttl;
            self.entries
                .retain(|_, at| now.saturating_duration_since(*at) < ttl);
            if self.entries.len() >= self.capacity
                && let Some(oldest) = self
                    .entries
                    .iter()
                    .min_by_key(|(_, at)| **at)
                    .map(|(id, _)| id.clone())
            {
                self.entries.remove(&oldest);
            }
        }
        self.entries.insert(id, now);
    }

    /// Forgets `id` (it exists now).
    pub fn forget(&mut self, id: &ShopId) {
        self.entries.remove(id);
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

struct SecretSource {
    ssm: aws_sdk_ssm::Client,
    secrets_path_prefix: String,
}

impl ShopDirectory {
    /// For the functions that verify webhooks: settings and the shops' webhook secrets.
    pub fn new(
        store: Store,
        ssm: aws_sdk_ssm::Client,
        ttl: Duration,
        secrets_path_prefix: String,
    ) -> Self {
        Self {
            store,
            secrets: Some(SecretSource {
                ssm,
                secrets_path_prefix,
            }),
            ttl,
            cache: Mutex::new(HashMap::new()),
            misses: Mutex::new(MissCache::new(ttl.min(MISS_TTL), MAX_MISSES)),
        }
    }

    /// For every other function: settings only. No webhook secret is ever resolved, so their
    /// IAM policies need no access to the shops' secrets.
    pub fn settings_only(store: Store, ttl: Duration) -> Self {
        Self {
            store,
            secrets: None,
            ttl,
            cache: Mutex::new(HashMap::new()),
            misses: Mutex::new(MissCache::new(ttl.min(MISS_TTL), MAX_MISSES)),
        }
    }

    /// The shop, from the cache while fresh; `None` if no such shop is configured (also
    /// answered from the cache for [`MISS_TTL`], without a read).
    pub async fn get(&self, id: &ShopId) -> Result<Option<Arc<Shop>>, StoreError> {
        // A poisoned lock only means another request panicked mid-update; the maps stay valid.
        if let Some((loaded, shop)) = self.cache.lock().unwrap_or_else(|e| e.into_inner()).get(id)
            && loaded.elapsed() < self.ttl
        {
            return Ok(Some(shop.clone()));
        }
        if self
            .misses
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_missing(id, Instant::now())
        {
            return Ok(None);
        }
        let Some(record) = self.store.get_shop(id).await? else {
            self.misses
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .record(id.clone(), Instant::now());
            return Ok(None);
        };
        let shop = Arc::new(self.resolve(record).await?);
        self.misses
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .forget(id);
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), (Instant::now(), shop.clone()));
        Ok(Some(shop))
    }

    async fn resolve(&self, record: ShopRecord) -> Result<Shop, StoreError> {
        let Some(source) = &self.secrets else {
            return Ok(Shop {
                shopify: record.shopify.map(|s| ShopifyAccess {
                    shop_domain: s.shop_domain,
                    secrets: Vec::new(),
                }),
                woocommerce: record.woocommerce.map(|connection| WooCommerceAccess {
                    connection,
                    secrets: Vec::new(),
                }),
                settings: record.settings,
                secrets: Vec::new(),
            });
        };
        let shop_id = record.settings.id.clone();
        let groups: Vec<&[String]> = vec![
            &record.webhook_secrets,
            record.shopify.as_ref().map_or(&[][..], |s| &s.app_secrets),
            record
                .woocommerce
                .as_ref()
                .map_or(&[][..], |w| &w.webhook_secrets),
        ];
        let mut resolved = source.resolve_refs(&shop_id, &groups).await?.into_iter();
        let secrets = resolved.next().unwrap_or_default();
        let shopify_secrets = resolved.next().unwrap_or_default();
        let woo_secrets = resolved.next().unwrap_or_default();
        Ok(Shop {
            shopify: record.shopify.map(|s| ShopifyAccess {
                shop_domain: s.shop_domain,
                secrets: shopify_secrets,
            }),
            woocommerce: record.woocommerce.map(|connection| WooCommerceAccess {
                connection,
                secrets: woo_secrets,
            }),
            settings: record.settings,
            secrets,
        })
    }
}

impl SecretSource {
    /// Resolves groups of references with one SSM request per ten parameters; a reference that
    /// cannot be resolved is logged (by name, never value) and left out.
    async fn resolve_refs(
        &self,
        shop: &ShopId,
        groups: &[&[String]],
    ) -> Result<Vec<Vec<WebhookSecret>>, StoreError> {
        let parsed: Vec<Vec<Option<SecretRef>>> = groups
            .iter()
            .map(|refs| {
                refs.iter()
                    .map(|r| {
                        let parsed = SecretRef::parse_shop_secret(r, &self.secrets_path_prefix);
                        if parsed.is_none() {
                            tracing::error!(shop = %shop, prefix = %shop_secrets_path(&self.secrets_path_prefix), "a webhook secret reference is neither an SSM parameter under the shops' path nor env:...; skipped");
                        }
                        parsed
                    })
                    .collect()
            })
            .collect();
        let mut ssm_names: Vec<String> = Vec::new();
        for r in parsed.iter().flatten().flatten() {
            if let SecretRef::Ssm(name) = r
                && !ssm_names.contains(name)
            {
                ssm_names.push(name.clone());
            }
        }
        let ssm_values = ssm_parameter_values(&self.ssm, shop, &ssm_names, "webhook").await?;
        Ok(parsed
            .into_iter()
            .map(|group| {
                group
                    .into_iter()
                    .flatten()
                    .filter_map(|r| match r {
                        SecretRef::Ssm(name) => ssm_values.get(&name).cloned(),
                        SecretRef::Env(var) => match std::env::var(&var) {
                            Ok(value) if !value.is_empty() => Some(value),
                            _ => {
                                tracing::error!(shop = %shop, variable = %var, "webhook secret variable is not set");
                                None
                            }
                        },
                    })
                    .map(WebhookSecret::new)
                    .collect()
            })
            .collect())
    }
}

/// The decrypted values of SSM parameters, one request per ten names. A name SSM does not know
/// is logged (with `secret`, what the parameter is for) and left out of the answer.
pub(crate) async fn ssm_parameter_values(
    ssm: &aws_sdk_ssm::Client,
    shop: &ShopId,
    names: &[String],
    secret: &'static str,
) -> Result<HashMap<String, String>, StoreError> {
    let mut values = HashMap::new();
    for chunk in names.chunks(10) {
        let out = ssm
            .get_parameters()
            .set_names(Some(chunk.to_vec()))
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| ssm_error(&e))?;
        for missing in out.invalid_parameters() {
            tracing::error!(shop = %shop, parameter = %missing, secret, "secret parameter not found");
        }
        for p in out.parameters() {
            if let (Some(name), Some(value)) = (p.name(), p.value()) {
                values.insert(name.to_owned(), value.to_owned());
            }
        }
    }
    Ok(values)
}

pub(crate) fn ssm_error<E, R>(err: &aws_sdk_ssm::error::SdkError<E, R>) -> StoreError
where
    E: aws_sdk_ssm::error::ProvideErrorMetadata,
{
    use aws_sdk_ssm::error::SdkError;
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            StoreError::Unavailable("SSM unreachable".into())
        }
        SdkError::ServiceError(ctx) if ctx.err().code() == Some("ThrottlingException") => {
            StoreError::Unavailable("SSM throttled".into())
        }
        SdkError::ServiceError(ctx) => {
            StoreError::Failed(format!("SSM: {}", ctx.err().code().unwrap_or("error")))
        }
        _ => StoreError::Failed("SSM request failed".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop(n: usize) -> ShopId {
        ShopId::parse(format!("nope-{n}")).unwrap()
    }

    #[test]
    fn coupon_endpoints_are_https_or_this_machine() {
        assert!(valid_coupon_url("https://www.dewinkel.nl/trouw/coupons"));
        assert!(valid_coupon_url(
            "https://api.dewinkel.nl:8443/coupons?shop=1"
        ));
        assert!(valid_coupon_url("http://127.0.0.1:8081/coupons"));
        assert!(valid_coupon_url("http://localhost:8081/coupons"));
        assert!(valid_coupon_url("http://[::1]:8081/"));
        for bad in [
            "http://www.dewinkel.nl/coupons",
            "http://10.0.0.5/coupons",
            "ftp://www.dewinkel.nl/",
            "https://user:pw@www.dewinkel.nl/",
            "https://www.dewinkel.nl/#x",
            "www.dewinkel.nl/coupons",
            "/coupons",
            "",
        ] {
            assert!(!valid_coupon_url(bad), "{bad}");
        }
        assert!(!valid_coupon_url(&format!(
            "https://a.nl/{}",
            "x".repeat(600)
        )));
    }

    #[test]
    fn unknown_shops_are_remembered_for_a_short_while() {
        let start = Instant::now();
        let mut misses = MissCache::new(Duration::from_secs(60), 8);
        assert!(!misses.is_missing(&shop(1), start));
        misses.record(shop(1), start);
        assert!(misses.is_missing(&shop(1), start + Duration::from_secs(59)));
        assert!(
            !misses.is_missing(&shop(1), start + Duration::from_secs(60)),
            "a shop added since is looked up again"
        );
        misses.forget(&shop(1));
        assert!(!misses.is_missing(&shop(1), start));
    }

    #[test]
    fn junk_shop_ids_cannot_grow_the_cache_beyond_its_capacity() {
        let start = Instant::now();
        let mut misses = MissCache::new(Duration::from_secs(60), 100);
        for n in 0..10_000 {
            misses.record(shop(n), start + Duration::from_millis(n as u64));
            assert!(misses.len() <= 100);
        }
        assert_eq!(misses.len(), 100);
        let late = start + Duration::from_millis(10_000);
        assert!(
            misses.is_missing(&shop(9_999), late),
            "the newest stay, the oldest go"
        );
        assert!(!misses.is_missing(&shop(0), late));
        let mut none = MissCache::new(Duration::from_secs(60), 0);
        none.record(shop(1), start);
        assert!(none.is_empty());
    }

    #[test]
    fn secret_references_are_ssm_paths_or_env_vars() {
        assert_eq!(
            SecretRef::parse("ssm:/trouw/demo/secret"),
            Some(SecretRef::Ssm("/trouw/demo/secret".into()))
        );
        assert_eq!(
            SecretRef::parse("env:DEMO_WEBHOOK_SECRET"),
            Some(SecretRef::Env("DEMO_WEBHOOK_SECRET".into()))
        );
        assert_eq!(
            SecretRef::parse("whsec_abc"),
            None,
            "a secret itself is never stored in the table"
        );
        assert_eq!(SecretRef::parse("ssm:relative"), None);
        assert_eq!(SecretRef::parse("env:"), None);
    }

    #[test]
    fn shop_secrets_lie_under_the_shops_path_only() {
        let shop_secret = |r: &str| SecretRef::parse_shop_secret(r, "/trouw/");
        assert_eq!(
            shop_secret("ssm:/trouw/shops/demo/webhook-secret"),
            Some(SecretRef::Ssm("/trouw/shops/demo/webhook-secret".into()))
        );
        assert_eq!(
            shop_secret("env:DEMO_WEBHOOK_SECRET"),
            Some(SecretRef::Env("DEMO_WEBHOOK_SECRET".into()))
        );
        for outside in [
            // The link and session secrets: a shop must never name them as its own.
            "ssm:/trouw/link-secret",
            "ssm:/trouw/admin-session-secret",
            "ssm:/trouw/demo/webhook-secret",
            "ssm:/trouw/shops/../link-secret",
            "ssm:/elsewhere/shops/demo",
        ] {
            assert_eq!(shop_secret(outside), None, "{outside}");
        }
    }
}
