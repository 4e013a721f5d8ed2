//! Outbound HTTPS (the shops' coupon endpoints, `make codes` against a deployed API): rustls
//! on aws-lc-rs with the system's trusted roots, the TLS stack the AWS SDK already builds, so
//! no second one.

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;

/// A connector for `https://` URLs that also speaks plain `http://`: callers decide which
/// plain URLs they accept (the coupon endpoints: this machine only).
pub fn connector() -> HttpsConnector<HttpConnector> {
    let provider = || std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = match hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(provider())
    {
        Ok(builder) => builder,
        Err(err) => {
            // Without roots no HTTPS server is trusted: each such call fails (and is logged by
            // its caller), rather than a function that cannot start for its other work.
            tracing::error!(detail = %err, "no trusted roots for outbound HTTPS");
            let config = rustls::ClientConfig::builder_with_provider(provider())
                .with_safe_default_protocol_versions()
                .map(|c| {
                    c.with_root_certificates(rustls::RootCertStore::empty())
                        .with_no_client_auth()
                })
                .expect("the default provider supports the default versions");
            hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(config)
        }
    };
    builder.https_or_http().enable_http1().build()
}
