//! Configuration from the environment, read once per container.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Config {
    /// `TABLE_NAME`: the single table from `infra/template.yaml`.
    pub table_name: String,
    /// `SETTINGS_CACHE_SECONDS` (default 60): how long a container trusts cached shop settings.
    pub settings_cache: Duration,
    /// `SECRETS_PATH_PREFIX` (default `/trouw/`): SSM secret references must lie under it,
    /// as the functions' IAM policy allows nothing else.
    pub secrets_path_prefix: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{0} is not a valid number")]
    Invalid(&'static str),
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let table_name =
            std::env::var("TABLE_NAME").map_err(|_| ConfigError::Missing("TABLE_NAME"))?;
        let settings_cache = match std::env::var("SETTINGS_CACHE_SECONDS") {
            Ok(v) => Duration::from_secs(
                v.parse()
                    .map_err(|_| ConfigError::Invalid("SETTINGS_CACHE_SECONDS"))?,
            ),
            Err(_) => Duration::from_secs(60),
        };
        let secrets_path_prefix =
            std::env::var("SECRETS_PATH_PREFIX").unwrap_or_else(|_| "/trouw/".into());
        Ok(Config {
            table_name,
            settings_cache,
            secrets_path_prefix,
        })
    }
}

/// The SDK configuration of the Lambda functions: region and credentials from the environment
/// as usual, and `AWS_ENDPOINT_URL` honoured by the SDK itself (that is how the local stack
/// points here). Short timeouts and two attempts: a webhook answers 503 quickly and the
/// platform retries, rather than a Lambda waiting out DynamoDB. HTTPS trusts Amazon Trust
/// Services' roots only ([`TrustedRoots::Amazon`]).
pub async fn aws_sdk_config() -> aws_config::SdkConfig {
    sdk_config(TrustedRoots::Amazon).await
}

/// The SDK configuration of an operator's command (`trouw-admin`): as the functions', but
/// trusting the system's certificate store, which on an operator's machine may hold a
/// company proxy's authority.
pub async fn operator_sdk_config() -> aws_config::SdkConfig {
    sdk_config(TrustedRoots::System).await
}

async fn sdk_config(roots: TrustedRoots) -> aws_config::SdkConfig {
    use aws_config::retry::RetryConfig;
    use aws_config::timeout::TimeoutConfig;
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(https_client(roots))
        .retry_config(RetryConfig::standard().with_max_attempts(2))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(1))
                .operation_attempt_timeout(Duration::from_secs(2))
                .operation_timeout(Duration::from_secs(5))
                .build(),
        )
        .load()
        .await
}

/// The certificate authorities an SDK client trusts for HTTPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustedRoots {
    /// The five roots of Amazon Trust Services, compiled in ([`AMAZON_TRUST_SERVICES_ROOTS`]).
    /// Every AWS service endpoint of the standard partition chains to them (AWS moved its
    /// endpoints to its own authority from 2018; S3, the last, in 2022), and they are the
    /// roots Amazon Trust Services asks a custom store to hold. Nothing is read from disk: the
    /// SDK's default loads the system's store at start, which on Debian is some 290 files and
    /// was most of a function's init beyond a bare `lambda_runtime` binary (README, "Cold
    /// start and size"). It also means that no other authority in the system's store can
    /// stand in for DynamoDB, SSM or SES.
    Amazon,
    /// The system's store (`SSL_CERT_FILE`, `SSL_CERT_DIR` or the platform's).
    System,
}

/// Amazon Root CA 1 to 4 and Starfield Services Root Certificate Authority - G2 (which
/// cross-signs them for older clients), in PEM, as Amazon Trust Services publishes them
/// (<https://www.amazontrust.com/repository/>). They expire from 2037 to 2040.
pub const AMAZON_TRUST_SERVICES_ROOTS: &str = include_str!("../certs/amazon-trust-services.pem");

/// The HTTPS client of the SDK clients: the SDK's own (hyper, rustls with aws-lc), with the
/// trust store `roots`.
pub fn https_client(roots: TrustedRoots) -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
    let store = match roots {
        TrustedRoots::Amazon => {
            TrustStore::empty().with_pem_certificate(AMAZON_TRUST_SERVICES_ROOTS)
        }
        TrustedRoots::System => TrustStore::default(),
    };
    let context = TlsContext::builder().with_trust_store(store);
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        // Building a context only stores what it is given and cannot fail; were it ever to,
        // the SDK's default context (the system's store) would serve.
        .tls_context(context.build().unwrap_or_default())
        .build_https()
}

/// The key links in emails are signed with: `LINK_SECRET` (local development) or the SSM
/// SecureString named by `LINK_SECRET_PARAMETER` (deployments).
pub async fn link_key(ssm: &aws_sdk_ssm::Client) -> Result<crate::mail::LinkKey, String> {
    secret(ssm, "LINK_SECRET", "LINK_SECRET_PARAMETER")
        .await
        .map(crate::mail::LinkKey::new)
}

/// The key admin sessions are signed with, a secret of its own (nothing that can sign links can
/// sign a session): `ADMIN_SESSION_SECRET` (local development) or the SSM SecureString named by
/// `SESSION_SECRET_PARAMETER` (deployments).
pub async fn session_key(ssm: &aws_sdk_ssm::Client) -> Result<Vec<u8>, String> {
    let secret = secret(ssm, "ADMIN_SESSION_SECRET", "SESSION_SECRET_PARAMETER").await?;
    if secret.len() < 32 {
        return Err("the admin session secret must hold at least 32 characters".into());
    }
    Ok(secret.into_bytes())
}

/// A secret from the variable `local` (local development) or the SSM SecureString that the
/// variable `parameter` names. A parameter under the shops' path is refused: the webhook
/// functions may read that path.
async fn secret(ssm: &aws_sdk_ssm::Client, local: &str, parameter: &str) -> Result<String, String> {
    if let Ok(secret) = std::env::var(local)
        && !secret.is_empty()
    {
        return Ok(secret);
    }
    let name =
        std::env::var(parameter).map_err(|_| format!("set {parameter} (or {local} locally)"))?;
    let prefix = std::env::var("SECRETS_PATH_PREFIX").unwrap_or_else(|_| "/trouw/".into());
    if name.starts_with(&crate::shops::shop_secrets_path(&prefix)) {
        return Err(format!(
            "{parameter} must not lie under the shops' secrets path"
        ));
    }
    parameter_value(ssm, &name).await
}

/// The decrypted value of the SSM SecureString parameter `name` (one `ssm:GetParameter`).
pub async fn parameter_value(ssm: &aws_sdk_ssm::Client, name: &str) -> Result<String, String> {
    ssm.get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| format!("reading {name}: {e}"))?
        .parameter
        .and_then(|p| p.value)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| format!("{name} is empty"))
}

/// The key guest customer ids are derived with: `GUEST_ID_SECRET` (local development) or the
/// SSM SecureString named by `GUEST_ID_SECRET_PARAMETER` (deployments: only the functions that
/// take orders have it), read when an order first needs it ([`GuestKey`]). None when neither is
/// set: that function makes no guest ids.
pub fn guest_key(ssm: &aws_sdk_ssm::Client) -> GuestKey {
    if let Ok(secret) = std::env::var("GUEST_ID_SECRET")
        && !secret.is_empty()
    {
        return GuestKey::known(Some(crate::webhook::GuestIds::new(secret)));
    }
    match std::env::var("GUEST_ID_SECRET_PARAMETER") {
        Ok(parameter) => GuestKey::from_parameter(ssm.clone(), parameter),
        Err(_) => GuestKey::known(None),
    }
}

/// A function's guest id key, read from SSM the first time a delivery needs it rather than at
/// init: only an order without a customer (a guest checkout) does, so a container that never
/// sees one never pays the read, and no cold start waits for it. Read once, then kept.
pub struct GuestKey {
    known: tokio::sync::OnceCell<crate::webhook::GuestIds>,
    /// The SSM SecureString still to read, if any.
    parameter: Option<(aws_sdk_ssm::Client, String)>,
}

impl GuestKey {
    /// A key given outright (or none: the function makes no guest ids).
    pub fn known(ids: Option<crate::webhook::GuestIds>) -> Self {
        let known = tokio::sync::OnceCell::new();
        if let Some(ids) = ids {
            let _ = known.set(ids);
        }
        GuestKey {
            known,
            parameter: None,
        }
    }

    /// A key in the SSM SecureString `name`, read when first needed.
    pub fn from_parameter(ssm: aws_sdk_ssm::Client, name: String) -> Self {
        GuestKey {
            known: tokio::sync::OnceCell::new(),
            parameter: Some((ssm, name)),
        }
    }

    /// The key, if it is known without a read.
    pub fn get(&self) -> Option<&crate::webhook::GuestIds> {
        self.known.get()
    }

    /// Whether a read could still give a key.
    pub fn can_read(&self) -> bool {
        self.known.get().is_none() && self.parameter.is_some()
    }

    /// The key, read from SSM if it is not known yet (concurrent callers share one read; a
    /// failed read is tried again by the next caller).
    pub async fn read(&self) -> Result<Option<&crate::webhook::GuestIds>, String> {
        let Some((ssm, name)) = self.parameter.as_ref().filter(|_| self.can_read()) else {
            return Ok(self.known.get());
        };
        self.known
            .get_or_try_init(|| async {
                parameter_value(ssm, name)
                    .await
                    .map(crate::webhook::GuestIds::new)
            })
            .await
            .map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::{CertificateDer, pem::PemObject};

    #[test]
    fn amazons_five_roots_are_all_usable_trust_anchors() {
        let certificates = CertificateDer::pem_slice_iter(AMAZON_TRUST_SERVICES_ROOTS.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .expect("the compiled-in roots are PEM");
        assert_eq!(certificates.len(), 5);
        let mut store = rustls::RootCertStore::empty();
        assert_eq!(store.add_parsable_certificates(certificates), (5, 0));
    }
}
