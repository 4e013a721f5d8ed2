//! Whom the functions' SDK clients trust over HTTPS: Amazon Trust Services' roots, compiled in,
//! and nothing from the system's store (README, "Cold start and size"); an operator's command
//! trusts the system's store. A TLS endpoint on loopback with a certificate from an authority
//! of the test's own stands in for an endpoint that is not AWS's; the process's system store
//! (`SSL_CERT_FILE`) holds that authority, as a machine's store may hold one that is not
//! Amazon's.
//!
//! The test changes the process's environment, so this binary holds this one test.

use aws_sdk_dynamodb::config::{Credentials, Region};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A DynamoDB `ListTables` answer with no tables.
const NO_TABLES: &str = r#"{"TableNames":[]}"#;

#[test]
fn the_functions_trust_amazons_roots_only_and_an_operator_the_systems_store() {
    // An authority of the test's own, and the endpoint's certificate for localhost from it.
    let mut authority = CertificateParams::new(Vec::<String>::new()).unwrap();
    authority.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    authority
        .distinguished_name
        .push(DnType::CommonName, "trouw test authority");
    let authority = CertifiedIssuer::self_signed(authority, KeyPair::generate().unwrap()).unwrap();
    let endpoint_key = KeyPair::generate().unwrap();
    let endpoint = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&endpoint_key, &authority)
        .unwrap();

    // The system's store of this process: that authority alone.
    let store = std::env::temp_dir().join(format!("trouw-trust-{}.pem", std::process::id()));
    std::fs::write(&store, authority.pem()).unwrap();
    // SAFETY: set before any thread of this process reads the environment (the test builds its
    // runtime below), and this binary holds no other test.
    unsafe {
        std::env::set_var("SSL_CERT_FILE", &store);
        std::env::remove_var("SSL_CERT_DIR");
        std::env::set_var("AWS_REGION", "eu-west-1");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    }

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let served = Arc::new(AtomicUsize::new(0));
    let config = Arc::new(
        rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(
                vec![endpoint.der().clone()],
                rustls::pki_types::PrivatePkcs8KeyDer::from(endpoint_key.serialize_der()).into(),
            )
            .unwrap(),
    );
    {
        let served = served.clone();
        // Ends with the test's process.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = answer(stream, config.clone(), &served);
            }
        });
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = |sdk: aws_config::SdkConfig| {
            aws_sdk_dynamodb::Client::from_conf(
                aws_sdk_dynamodb::config::Builder::from(&sdk)
                    .region(Region::new("eu-west-1"))
                    .credentials_provider(Credentials::new(
                        "AKIDTEST", "secret", None, None, "test",
                    ))
                    .endpoint_url(format!("https://localhost:{port}"))
                    .build(),
            )
        };

        let functions = client(trouw::config::aws_sdk_config().await);
        let refused = functions
            .list_tables()
            .send()
            .await
            .expect_err("the functions must not trust an authority outside Amazon's roots");
        let chain = error_chain(&refused);
        assert!(
            chain.contains("UnknownIssuer"),
            "refused for the issuer, not for something else: {chain}"
        );
        assert_eq!(served.load(Ordering::SeqCst), 0, "no request got through");

        let operator = client(trouw::config::operator_sdk_config().await);
        let listed = operator
            .list_tables()
            .send()
            .await
            .map_err(|e| error_chain(&e))
            .expect("an operator's command trusts the system's store");
        assert!(listed.table_names().is_empty());
        assert_eq!(served.load(Ordering::SeqCst), 1);
    });
    let _ = std::fs::remove_file(&store);
}

/// Completes the handshake, reads one request and answers it with [`NO_TABLES`].
fn answer(
    tcp: std::net::TcpStream,
    config: Arc<rustls::ServerConfig>,
    served: &AtomicUsize,
) -> std::io::Result<()> {
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    let connection = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(connection, tcp);
    let mut request = Vec::new();
    let mut buffer = [0_u8; 4096];
    // The head, then as much body as it announces.
    loop {
        let n = tls.read(&mut buffer)?;
        if n == 0 {
            return Ok(());
        }
        request.extend_from_slice(&buffer[..n]);
        if let Some(end) = find(&request, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if request.len() >= end + 4 + length {
                break;
            }
        }
    }
    served.fetch_add(1, Ordering::SeqCst);
    write!(
        tls,
        "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{NO_TABLES}",
        NO_TABLES.len()
    )?;
    tls.flush()?;
    tls.conn.send_close_notify();
    let _ = tls.flush();
    Ok(())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The error and its sources, as one line.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = format!("{error:?}");
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(&format!(" <- {e:?}"));
        source = e.source();
    }
    text
}
