//! The local stack's fixtures: the demo shop and the verified sender.

use trouw::domain::ShopSettings;
use trouw::shops::SecretRef;
use trouw::store::{ShopRecord, Store, StoreError};

/// The demo shop (`infra/local/demo-shop.json`); its secret comes from `DEMO_WEBHOOK_SECRET`.
pub const DEMO_SHOP_JSON: &str = include_str!("../demo-shop.json");

/// Documented, local-only defaults for the demo shop's secrets. Never use them anywhere else.
pub const DEFAULT_DEMO_SECRET: &str = "whsec_bG9jYWwtb25seS1kZW1vLXNlY3JldC0xMjM0NTY=";
pub const DEFAULT_DEMO_SHOPIFY_SECRET: &str = "local-only-demo-shopify-app-secret";
pub const DEFAULT_DEMO_WOOCOMMERCE_SECRET: &str = "local-only-demo-woocommerce-secret";

/// Local-only defaults for the marketers' pages (`ADMIN_USER` / `ADMIN_PASSWORD`).
pub const DEFAULT_ADMIN_USER: &str = "marketing";
pub const DEFAULT_ADMIN_PASSWORD: &str = "trouw-local-only";

/// Local-only default for `LINK_SECRET`, the key unsubscribe links are signed with.
pub const DEFAULT_LINK_SECRET: &str = "local-only-link-secret";

/// Local-only default for `ADMIN_SESSION_SECRET`, the key the marketers' sessions are signed
/// with (its own, never the link secret's).
pub const DEFAULT_ADMIN_SESSION_SECRET: &str = "local-only-admin-session-secret-0123456789";
/// Local-only default for `GUEST_ID_SECRET`, the key guest customer ids are derived with.
pub const DEFAULT_GUEST_ID_SECRET: &str = "local-only-guest-id-secret";

/// Local-only defaults for the demo shop's loyalty API key and customer-token secret.
pub const DEFAULT_DEMO_LOYALTY_API_KEY: &str = "local-only-demo-loyalty-api-key";
pub const DEFAULT_DEMO_LOYALTY_TOKEN_SECRET: &str = "local-only-demo-loyalty-token-secret";

/// The demo secrets' variables and their local defaults.
pub const DEMO_SECRET_DEFAULTS: [(&str, &str); 5] = [
    ("DEMO_WEBHOOK_SECRET", DEFAULT_DEMO_SECRET),
    ("DEMO_SHOPIFY_SECRET", DEFAULT_DEMO_SHOPIFY_SECRET),
    ("DEMO_WOOCOMMERCE_SECRET", DEFAULT_DEMO_WOOCOMMERCE_SECRET),
    ("DEMO_LOYALTY_API_KEY", DEFAULT_DEMO_LOYALTY_API_KEY),
    (
        "DEMO_LOYALTY_TOKEN_SECRET",
        DEFAULT_DEMO_LOYALTY_TOKEN_SECRET,
    ),
];

/// The demo shop's codes per reward (`make dev` adds them to the pools): 150 each, so that a
/// long local session or the contract test's many redemptions do not empty them.
pub fn demo_codes() -> Vec<(&'static str, String)> {
    let fixed = (1..=150).map(|n| ("r5", format!("DEMO5-{n:04}")));
    let variable = (1..=150).map(|n| ("naar-keuze", format!("DEMOKEUZE-{n:04}")));
    fixed.chain(variable).collect()
}

#[derive(Debug, thiserror::Error)]
pub enum ShopFileError {
    #[error("not a valid shop file: {0}")]
    Json(String),
    #[error("{0}")]
    Settings(#[from] trouw::domain::SettingsError),
    #[error(
        "{0} must be ssm:{{SECRETS_PATH_PREFIX}}shops/... (e.g. ssm:/trouw/shops/de-winkel/webhook-secret) or env:VARIABLE"
    )]
    SecretRef(String),
    #[error(
        "{0} must be ssm:{{SECRETS_PATH_PREFIX}}loyalty/{{shop}}/... (e.g. ssm:/trouw/loyalty/de-winkel/api-key) or env:VARIABLE"
    )]
    LoyaltySecretRef(String),
    #[error(
        "{0} must be an origin as browsers send it: https://host or https://host:port, lower case, no path (http:// only for localhost)"
    )]
    Origin(String),
    #[error(
        "the shop needs at least one secret: webhook_secrets, shopify.app_secrets or woocommerce.webhook_secrets"
    )]
    NoSecrets,
    #[error(
        "loyalty_api.coupon_endpoint.url must be https://... (http:// only for localhost, 127.0.0.1 or [::1]), without user info or fragment, at most 512 characters"
    )]
    CouponUrl,
    #[error(
        "loyalty_api.coupon_endpoint.secrets: at least one whsec_ secret reference (ssm:{{SECRETS_PATH_PREFIX}}loyalty/{{shop}}/... or env:VARIABLE)"
    )]
    CouponSecrets,
    #[error("loyalty.rewards[{0}]: code_source endpoint needs loyalty_api.coupon_endpoint")]
    NoCouponEndpoint(usize),
}

/// Parses and checks a shop file before anything is written; SSM secrets must lie under the
/// shops' path of `secrets_path_prefix` (`/trouw/` unless the stack says otherwise).
pub fn parse_shop_file(text: &str, secrets_path_prefix: &str) -> Result<ShopRecord, ShopFileError> {
    let record: ShopRecord =
        serde_json::from_str(text).map_err(|e| ShopFileError::Json(e.to_string()))?;
    // A file that turns points expiry on leaves its moment to `make shop`, which records it.
    let mut checked = record.settings.clone();
    checked.loyalty.stamp_expiry(None, jiff::Timestamp::now());
    ShopSettings::validate(&checked)?;
    let groups = [
        ("webhook_secrets", record.webhook_secrets.as_slice()),
        (
            "shopify.app_secrets",
            record
                .shopify
                .as_ref()
                .map_or(&[][..], |s| s.app_secrets.as_slice()),
        ),
        (
            "woocommerce.webhook_secrets",
            record
                .woocommerce
                .as_ref()
                .map_or(&[][..], |w| w.webhook_secrets.as_slice()),
        ),
    ];
    if groups.iter().all(|(_, refs)| refs.is_empty()) {
        return Err(ShopFileError::NoSecrets);
    }
    let coupon_endpoint = record
        .loyalty_api
        .as_ref()
        .and_then(|l| l.coupon_endpoint.as_ref());
    if let Some(i) = record
        .settings
        .loyalty
        .rewards
        .iter()
        .position(|r| !r.code_source.is_pool())
        && coupon_endpoint.is_none()
    {
        return Err(ShopFileError::NoCouponEndpoint(i));
    }
    if let Some(endpoint) = coupon_endpoint {
        if !trouw::shops::valid_coupon_url(&endpoint.url) {
            return Err(ShopFileError::CouponUrl);
        }
        if endpoint.secrets.is_empty() {
            return Err(ShopFileError::CouponSecrets);
        }
    }
    if let Some(loyalty) = &record.loyalty_api {
        let coupon_secrets = loyalty
            .coupon_endpoint
            .as_ref()
            .map_or(&[][..], |e| e.secrets.as_slice());
        for (name, refs) in [
            ("loyalty_api.api_keys", loyalty.api_keys.as_slice()),
            (
                "loyalty_api.token_secrets",
                loyalty.token_secrets.as_slice(),
            ),
            ("loyalty_api.coupon_endpoint.secrets", coupon_secrets),
        ] {
            let outside = refs.iter().position(|r| match SecretRef::parse(r) {
                Some(SecretRef::Env(_)) => false,
                Some(SecretRef::Ssm(parameter)) => {
                    !trouw::handlers::loyalty_api::is_loyalty_parameter(
                        &parameter,
                        secrets_path_prefix,
                        &record.settings.id,
                    )
                }
                None => true,
            });
            if let Some(i) = outside {
                return Err(ShopFileError::LoyaltySecretRef(format!("{name}[{i}]")));
            }
        }
        if let Some(i) = loyalty
            .allowed_origins
            .iter()
            .position(|o| !trouw::handlers::loyalty_api::cors::valid_origin(o))
        {
            return Err(ShopFileError::Origin(format!(
                "loyalty_api.allowed_origins[{i}]"
            )));
        }
    }
    for (name, refs) in groups {
        if let Some(i) = refs
            .iter()
            .position(|r| SecretRef::parse_shop_secret(r, secrets_path_prefix).is_none())
        {
            return Err(ShopFileError::SecretRef(format!("{name}[{i}]")));
        }
    }
    Ok(record)
}

pub fn demo_shop() -> ShopRecord {
    parse_shop_file(DEMO_SHOP_JSON, "/trouw/").expect("the bundled demo shop is valid")
}

/// Registers the demo shop.
pub async fn register_demo_shop(store: &Store) -> Result<ShopRecord, StoreError> {
    let shop = demo_shop();
    store.put_shop(&shop).await?;
    Ok(shop)
}

/// SES sends only from verified identities; the local stack verifies the shop's sender as a
/// real deployment must (moto marks it verified at once).
pub async fn verify_sender(sdk: &aws_config::SdkConfig, sender: &str) -> Result<(), String> {
    let ses = aws_sdk_sesv2::Client::new(sdk);
    match ses
        .create_email_identity()
        .email_identity(sender)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(err) if format!("{err:?}").contains("AlreadyExists") => Ok(()),
        Err(err) => Err(format!("{err:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_demo_shop_is_valid_and_holds_no_secret() {
        let shop = demo_shop();
        assert_eq!(shop.settings.id.as_str(), "demo");
        assert_eq!(shop.webhook_secrets, ["env:DEMO_WEBHOOK_SECRET"]);
    }

    #[test]
    fn shop_files_are_checked() {
        let bad_secret = DEMO_SHOP_JSON.replace("env:DEMO_WEBHOOK_SECRET", "whsec_plain");
        assert!(
            matches!(parse_shop_file(&bad_secret, "/trouw/"), Err(ShopFileError::SecretRef(f)) if f == "webhook_secrets[0]")
        );
        let bad_shopify = DEMO_SHOP_JSON.replace("env:DEMO_SHOPIFY_SECRET", "shpss_plain");
        assert!(
            matches!(parse_shop_file(&bad_shopify, "/trouw/"), Err(ShopFileError::SecretRef(f)) if f == "shopify.app_secrets[0]")
        );
        // The link secret's parameter, beside the shops' path: the webhook functions could not
        // read it, and a shop must never name it.
        let beside = DEMO_SHOP_JSON.replace("env:DEMO_WEBHOOK_SECRET", "ssm:/trouw/link-secret");
        assert!(
            matches!(parse_shop_file(&beside, "/trouw/"), Err(ShopFileError::SecretRef(f)) if f == "webhook_secrets[0]")
        );
        let under = DEMO_SHOP_JSON.replace(
            "env:DEMO_WEBHOOK_SECRET",
            "ssm:/trouw/shops/demo/webhook-secret",
        );
        assert!(parse_shop_file(&under, "/trouw/").is_ok());
        // A transactional or service kind cannot be held out: refused, naming the field.
        let holdout_kinds = |kinds: &str| {
            DEMO_SHOP_JSON.replacen(
                "\"time_zone\"",
                &format!("\"holdout_kinds\": {kinds}, \"time_zone\""),
                1,
            )
        };
        let refused = parse_shop_file(
            &holdout_kinds(r#"["replenishment", "loyalty-earned"]"#),
            "/trouw/",
        )
        .unwrap_err()
        .to_string();
        assert!(
            refused.starts_with("holdout_kinds: \"loyalty-earned\" cannot be held out"),
            "{refused}"
        );
        let chosen = parse_shop_file(&holdout_kinds(r#"["care-tip"]"#), "/trouw/").unwrap();
        assert_eq!(chosen.settings.holdout_kinds, ["care-tip"]);
        let bad_zone = DEMO_SHOP_JSON.replace("Europe/Amsterdam", "Mars/Olympus");
        assert!(matches!(
            parse_shop_file(&bad_zone, "/trouw/"),
            Err(ShopFileError::Settings(_))
        ));
        // The loyalty API's secrets on their own path, and its origins as browsers send them.
        let loyalty_key = DEMO_SHOP_JSON.replace(
            "env:DEMO_LOYALTY_API_KEY",
            "ssm:/trouw/loyalty/demo/api-key",
        );
        assert!(parse_shop_file(&loyalty_key, "/trouw/").is_ok());
        let on_webhook_path = DEMO_SHOP_JSON.replace(
            "env:DEMO_LOYALTY_API_KEY",
            "ssm:/trouw/shops/demo/loyalty-api-key",
        );
        assert!(matches!(
            parse_shop_file(&on_webhook_path, "/trouw/"),
            Err(ShopFileError::LoyaltySecretRef(f)) if f == "loyalty_api.api_keys[0]"
        ));
        let origins = |list: &str| {
            DEMO_SHOP_JSON.replacen(
                "\"loyalty_api\": {",
                &format!("\"loyalty_api\": {{\"allowed_origins\": {list},"),
                1,
            )
        };
        assert!(parse_shop_file(&origins(r#"["https://winkel.example.nl"]"#), "/trouw/").is_ok());
        assert!(matches!(
            parse_shop_file(&origins(r#"["https://winkel.example.nl", "*"]"#), "/trouw/"),
            Err(ShopFileError::Origin(f)) if f == "loyalty_api.allowed_origins[1]"
        ));
        // A reward whose codes the shop's endpoint makes, and the endpoint it needs.
        let endpoint = |endpoint: &str| {
            DEMO_SHOP_JSON
                .replacen(
                    "\"loyalty_api\": {",
                    &format!("\"loyalty_api\": {{{endpoint}"),
                    1,
                )
                .replacen(
                    "\"kind\": \"fixed\"",
                    "\"code_source\": \"endpoint\", \"kind\": \"fixed\"",
                    1,
                )
        };
        assert!(matches!(
            parse_shop_file(&endpoint(""), "/trouw/"),
            Err(ShopFileError::NoCouponEndpoint(0))
        ));
        let with = |url: &str, secret: &str| {
            endpoint(&format!(
                "\"coupon_endpoint\": {{\"url\": \"{url}\", \"secrets\": [\"{secret}\"]}},"
            ))
        };
        let secret = "ssm:/trouw/loyalty/demo/coupon-secret";
        assert!(parse_shop_file(&with("https://www.demo.nl/coupons", secret), "/trouw/").is_ok());
        assert!(parse_shop_file(&with("http://127.0.0.1:9000/c", secret), "/trouw/").is_ok());
        assert!(matches!(
            parse_shop_file(&with("http://www.demo.nl/coupons", secret), "/trouw/"),
            Err(ShopFileError::CouponUrl)
        ));
        assert!(matches!(
            parse_shop_file(&with("https://www.demo.nl/c", "ssm:/trouw/shops/demo/x"), "/trouw/"),
            Err(ShopFileError::LoyaltySecretRef(f)) if f == "loyalty_api.coupon_endpoint.secrets[0]"
        ));
        let bad_id = DEMO_SHOP_JSON.replace("\"demo\"", "\"De Mo\"");
        assert!(matches!(
            parse_shop_file(&bad_id, "/trouw/"),
            Err(ShopFileError::Json(_))
        ));
    }
}
