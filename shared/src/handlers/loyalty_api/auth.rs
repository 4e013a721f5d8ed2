//! Who is calling: the shop's own server (its API key) or one logged-in customer (a token the
//! shop's server signed for them, HS256, at most 15 minutes ahead).

use crate::domain::{CustomerId, ShopId, Timestamp};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// How far ahead a customer token may expire: a short-lived token, so a leaked one is
/// worth little.
pub const MAX_TOKEN_LIFETIME_SECONDS: i64 = 15 * 60;
/// Clock skew allowed between the shop's server and trouw.
const SKEW_SECONDS: i64 = 30;

/// The resolved secrets of one shop.
#[derive(Clone, Default)]
pub struct ApiSecrets {
    pub api_keys: Vec<String>,
    pub token_secrets: Vec<String>,
}

impl std::fmt::Debug for ApiSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ApiSecrets({} keys, {} token secrets)",
            self.api_keys.len(),
            self.token_secrets.len()
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The shop's server: any customer of the shop.
    Shop,
    /// One customer: their own data only.
    Customer(CustomerId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// No or an unusable credential: 401.
    Unauthenticated(&'static str),
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    shop: String,
    exp: i64,
}

/// Checks `Authorization: Bearer ...` against the shop's secrets at `now`.
pub fn authenticate(
    authorization: Option<&str>,
    secrets: &ApiSecrets,
    shop: &ShopId,
    now: Timestamp,
) -> Result<Caller, Refused> {
    let Some(token) = authorization
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
    else {
        return Err(Refused::Unauthenticated(
            "Authorization: send Bearer <shop API key> or Bearer <customer token>",
        ));
    };
    // Compared as digests, so the comparison's time says nothing about the key.
    let digest = Sha256::digest(token.as_bytes());
    if secrets
        .api_keys
        .iter()
        .any(|key| Sha256::digest(key.as_bytes()) == digest)
    {
        return Ok(Caller::Shop);
    }
    if token.split('.').count() != 3 {
        return Err(Refused::Unauthenticated("Authorization: unknown API key"));
    }
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    // Expiry is checked below against trouw's clock, with the 15-minute ceiling.
    validation.validate_exp = false;
    validation.required_spec_claims = ["sub", "exp"].iter().map(|s| s.to_string()).collect();
    let claims = secrets.token_secrets.iter().find_map(|secret| {
        // An empty secret is no key at all: it verifies nothing.
        let key = jsonwebtoken::DecodingKey::from_secret(secret.as_bytes()).ok()?;
        jsonwebtoken::decode::<Claims>(token, &key, &validation).ok()
    });
    let Some(claims) = claims.map(|c| c.claims) else {
        return Err(Refused::Unauthenticated(
            "Authorization: the customer token's signature does not verify",
        ));
    };
    let now = now.as_second();
    if claims.exp <= now - SKEW_SECONDS {
        return Err(Refused::Unauthenticated(
            "Authorization: the customer token has expired",
        ));
    }
    if claims.exp > now + MAX_TOKEN_LIFETIME_SECONDS + SKEW_SECONDS {
        return Err(Refused::Unauthenticated(
            "Authorization: exp must be at most 15 minutes ahead",
        ));
    }
    if claims.shop != shop.as_str() {
        return Err(Refused::Unauthenticated(
            "Authorization: the customer token is for another shop",
        ));
    }
    let Ok(customer) = CustomerId::parse(claims.sub) else {
        return Err(Refused::Unauthenticated(
            "Authorization: sub is not a customer id",
        ));
    };
    Ok(Caller::Customer(customer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> ApiSecrets {
        ApiSecrets {
            api_keys: vec!["key-1".into()],
            token_secrets: vec!["old-secret".into(), "token-secret".into()],
        }
    }

    fn token(secret: &str, shop: &str, sub: &str, exp: i64) -> String {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &serde_json::json!({ "sub": sub, "shop": shop, "exp": exp }),
            &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn the_shop_key_or_a_fresh_customer_token_of_this_shop() {
        let shop = ShopId::parse("demo").unwrap();
        let now: Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
        let t = now.as_second();
        let auth = |h: &str| authenticate(Some(h), &secrets(), &shop, now);
        assert_eq!(auth("Bearer key-1"), Ok(Caller::Shop));
        assert!(auth("Bearer key-2").is_err());
        assert!(authenticate(None, &secrets(), &shop, now).is_err());
        assert_eq!(
            auth(&format!(
                "Bearer {}",
                token("token-secret", "demo", "c1", t + 600)
            )),
            Ok(Caller::Customer(CustomerId::parse("c1").unwrap()))
        );
        // Signed with the secret before a rotation: still accepted while listed.
        assert!(
            auth(&format!(
                "Bearer {}",
                token("old-secret", "demo", "c1", t + 600)
            ))
            .is_ok()
        );
        for refused in [
            token("wrong", "demo", "c1", t + 600),
            token("token-secret", "other", "c1", t + 600),
            token("token-secret", "demo", "c1", t - 60),
            token("token-secret", "demo", "c1", t + 3600),
        ] {
            assert!(auth(&format!("Bearer {refused}")).is_err(), "{refused}");
        }
    }

    #[test]
    fn a_token_with_another_algorithm_is_refused() {
        let shop = ShopId::parse("demo").unwrap();
        let now: Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
        let t = now.as_second();
        let header = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            br#"{"alg":"none","typ":"JWT"}"#,
        );
        let body = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            format!(r#"{{"sub":"c1","shop":"demo","exp":{}}}"#, t + 60),
        );
        let unsigned = format!("Bearer {header}.{body}.");
        assert!(authenticate(Some(&unsigned), &secrets(), &shop, now).is_err());
    }
}
