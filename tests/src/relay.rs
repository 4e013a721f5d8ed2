//! What the test proxies in front of moto (the fault proxy, the metering proxy) share: serving
//! on a loopback port, reading a body whole, and passing a request on to moto unchanged.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::future::Future;

pub type ProxyAnswer = hyper::Response<Full<Bytes>>;

/// Serves `handle` on a free loopback port until the test's runtime ends; returns the
/// endpoint (`http://127.0.0.1:port`). An `Err` from `handle` drops the connection without an
/// answer, as a network fault would.
pub async fn serve_loopback<H, F, E>(handle: H) -> String
where
    H: Fn(hyper::Request<hyper::body::Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Result<ProxyAnswer, E>> + Send + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let handle = handle.clone();
            tokio::spawn(async move {
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service_fn(handle))
                    .await;
            });
        }
    });
    endpoint
}

/// The whole body (empty if it broke off).
pub async fn whole_body(body: impl hyper::body::Body<Data = Bytes>) -> Bytes {
    body.collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default()
}

/// Sends the request (its method, path, query and headers, with `body`) to `upstream` and
/// reads the answer whole; `None` when upstream could not be reached.
pub async fn pass_on(
    client: &crate::client::HttpClient,
    upstream: &str,
    parts: &http::request::Parts,
    body: Bytes,
) -> Option<(http::response::Parts, Bytes)> {
    let uri = format!(
        "{upstream}{}",
        parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
    );
    let mut request = http::Request::builder()
        .method(parts.method.clone())
        .uri(uri);
    for (name, value) in &parts.headers {
        request = request.header(name, value);
    }
    let response = client
        .request(request.body(Full::new(body)).unwrap())
        .await
        .ok()?;
    let (parts, body) = response.into_parts();
    Some((parts, whole_body(body).await))
}

/// The answer for a request upstream could not take.
pub fn bad_gateway() -> ProxyAnswer {
    hyper::Response::builder()
        .status(502)
        .body(Full::new(Bytes::new()))
        .unwrap()
}
