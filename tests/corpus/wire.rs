//! Requests written byte by byte on a TCP connection to the local gateway: a bad-input case
//! needs what a well-behaved client will not send (header names in any case, a header twice,
//! a chunked body, bytes that are not UTF-8), so no HTTP library stands in between.

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One request as it goes on the wire.
pub struct RawRequest {
    pub method: String,
    /// The request target exactly as sent (not normalised).
    pub target: String,
    /// Names keep their case and order; a name may repeat.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Sent with `Transfer-Encoding: chunked` (no `Content-Length`): its size is known only
    /// by reading it.
    pub chunked: bool,
}

/// What came back.
#[derive(Debug, Clone)]
pub struct RawAnswer {
    pub status: u16,
    pub body: String,
}

impl RawAnswer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// Sends `request` to `addr` (`127.0.0.1:port`) and reads the answer until the server closes.
pub async fn exchange(addr: &str, request: &RawRequest) -> Result<RawAnswer, String> {
    let mut wire = Vec::with_capacity(request.body.len() + 512);
    wire.extend_from_slice(
        format!("{} {} HTTP/1.1\r\n", request.method, request.target).as_bytes(),
    );
    wire.extend_from_slice(format!("Host: {addr}\r\nConnection: close\r\n").as_bytes());
    for (name, value) in &request.headers {
        wire.extend_from_slice(name.as_bytes());
        wire.extend_from_slice(b": ");
        wire.extend_from_slice(value.as_bytes());
        wire.extend_from_slice(b"\r\n");
    }
    if request.chunked {
        wire.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
        for chunk in request.body.chunks(16 * 1024) {
            wire.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            wire.extend_from_slice(chunk);
            wire.extend_from_slice(b"\r\n");
        }
        wire.extend_from_slice(b"0\r\n\r\n");
    } else {
        wire.extend_from_slice(
            format!("Content-Length: {}\r\n\r\n", request.body.len()).as_bytes(),
        );
        wire.extend_from_slice(&request.body);
    }
    let io = async {
        let mut stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        // The server may answer (413) and close before it read everything: what it said counts.
        let _ = stream.write_all(&wire).await;
        let mut received = Vec::new();
        let _ = stream.read_to_end(&mut received).await;
        Ok::<_, String>(received)
    };
    let received = tokio::time::timeout(Duration::from_secs(20), io)
        .await
        .map_err(|_| "no answer within 20 s".to_owned())??;
    parse_answer(&received, request.method == "HEAD")
}

fn parse_answer(received: &[u8], head: bool) -> Result<RawAnswer, String> {
    let end = received
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no complete answer ({} bytes)", received.len()))?;
    let head_text = String::from_utf8_lossy(&received[..end]);
    let mut lines = head_text.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status line in {head_text:?}"))?;
    let chunked = lines.any(|l| {
        l.to_ascii_lowercase()
            .replace(' ', "")
            .starts_with("transfer-encoding:chunked")
    });
    let rest = &received[end + 4..];
    let body = if head {
        Vec::new()
    } else if chunked {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    Ok(RawAnswer {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(line_end) = rest.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&rest[..line_end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        rest = &rest[line_end + 2..];
        if size == 0 || rest.len() < size {
            break;
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[(size + 2).min(rest.len())..];
    }
    body
}
