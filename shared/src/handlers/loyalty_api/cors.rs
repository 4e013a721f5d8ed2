//! CORS for the shop's storefront: a browser on one of the shop's own origins (its settings'
//! `loyalty_api.allowed_origins`) may call the API with a customer token; any other origin
//! gets no CORS headers, so the browser keeps the answer from its script. API Gateway's
//! `CorsConfiguration` is one list per API, not per shop, so the function answers preflights
//! itself.

use super::error;
use lambda_http::{Body, Response};

/// The request headers a storefront sends: its token, JSON, and the key of a redemption or
/// adjustment.
const ALLOWED_HEADERS: &str = "Authorization, Content-Type, Idempotency-Key";
/// Response headers a script may read besides the simple ones.
const EXPOSED_HEADERS: &str = "Idempotent-Replayed, Retry-After, WWW-Authenticate";
/// How long a browser may reuse a preflight's answer (seconds).
const MAX_AGE: &str = "600";

/// An origin as a shop lists it: `https://host` or `https://host:port` (`http://` for
/// `localhost` only, for a storefront in development), lower case, no path, no trailing slash.
pub fn valid_origin(origin: &str) -> bool {
    let rest = if let Some(rest) = origin.strip_prefix("https://") {
        rest
    } else if let Some(rest) = origin.strip_prefix("http://") {
        let host = rest.split(':').next().unwrap_or_default();
        if host != "localhost" && host != "127.0.0.1" {
            return false;
        }
        rest
    } else {
        return false;
    };
    let (host, port) = match rest.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (rest, None),
    };
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && !host.starts_with(['.', '-'])
        && !host.ends_with(['.', '-']);
    let port_ok = port.is_none_or(|p| {
        (1..=5).contains(&p.len())
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u16>().is_ok_and(|n| n > 0)
    });
    host_ok && port_ok
}

/// The request's `Origin` when the shop lists it (exactly, as browsers send it).
pub fn listed<'a>(origin: Option<&'a str>, allowed: &[String]) -> Option<&'a str> {
    origin.filter(|o| valid_origin(o) && allowed.iter().any(|a| a == o))
}

/// Marks a response for a listed origin; every answer varies by `Origin`, so no cache hands
/// one origin's answer to another.
pub fn expose(response: &mut Response<Body>, origin: Option<&str>) {
    let headers = response.headers_mut();
    headers.append(http::header::VARY, http::HeaderValue::from_static("Origin"));
    let Some(origin) = origin.and_then(|o| http::HeaderValue::from_str(o).ok()) else {
        return;
    };
    headers.insert(http::header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(
        http::header::ACCESS_CONTROL_EXPOSE_HEADERS,
        http::HeaderValue::from_static(EXPOSED_HEADERS),
    );
}

/// The answer to `OPTIONS` on a route whose one method is `allow`: for a listed origin the
/// preflight's permission (that method, the storefront's headers); for another origin 403 and
/// no CORS headers; without an `Origin` (not a browser's preflight) the route's methods.
pub fn preflight(origin: Option<&str>, allowed: &[String], allow: &'static str) -> Response<Body> {
    let listed = listed(origin, allowed);
    let mut response = match (origin, listed) {
        (_, Some(_)) => {
            let mut response = Response::new(Body::Empty);
            *response.status_mut() = http::StatusCode::NO_CONTENT;
            let headers = response.headers_mut();
            headers.insert(
                http::header::ACCESS_CONTROL_ALLOW_METHODS,
                http::HeaderValue::from_static(allow),
            );
            headers.insert(
                http::header::ACCESS_CONTROL_ALLOW_HEADERS,
                http::HeaderValue::from_static(ALLOWED_HEADERS),
            );
            headers.insert(
                http::header::ACCESS_CONTROL_MAX_AGE,
                http::HeaderValue::from_static(MAX_AGE),
            );
            response
        }
        (Some(_), None) => {
            tracing::info!(outcome = "origin_not_allowed", "loyalty preflight refused");
            error(
                403,
                "origin_not_allowed",
                "this origin is not among the shop's allowed origins",
            )
        }
        (None, None) => {
            let mut response = Response::new(Body::Empty);
            *response.status_mut() = http::StatusCode::NO_CONTENT;
            response
        }
    };
    if let Ok(methods) = http::HeaderValue::from_str(&format!("{allow}, OPTIONS")) {
        response.headers_mut().insert(http::header::ALLOW, methods);
    }
    expose(&mut response, listed);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_as_shops_list_them() {
        for ok in [
            "https://winkel.example.nl",
            "https://shop.example.com:8443",
            "http://localhost:5173",
            "http://127.0.0.1:8080",
        ] {
            assert!(valid_origin(ok), "{ok}");
        }
        for bad in [
            "*",
            "null",
            "https://winkel.example.nl/",
            "https://winkel.example.nl/account",
            "https://Winkel.example.nl",
            "http://winkel.example.nl",
            "https://",
            "https://winkel.example.nl:0",
            "https://winkel.example.nl:99999",
            "https://-winkel.nl",
            "winkel.example.nl",
        ] {
            assert!(!valid_origin(bad), "{bad}");
        }
    }

    #[test]
    fn only_a_listed_origin_is_allowed_and_never_a_wildcard() {
        let allowed = vec!["https://winkel.example.nl".to_owned(), "*".to_owned()];
        assert_eq!(
            listed(Some("https://winkel.example.nl"), &allowed),
            Some("https://winkel.example.nl")
        );
        assert_eq!(listed(Some("https://evil.example"), &allowed), None);
        assert_eq!(listed(Some("*"), &allowed), None);
        assert_eq!(listed(None, &allowed), None);
        let refused = preflight(Some("https://evil.example"), &allowed, "GET");
        assert_eq!(refused.status(), 403);
        assert!(
            refused
                .headers()
                .get("access-control-allow-origin")
                .is_none()
        );
        let granted = preflight(Some("https://winkel.example.nl"), &allowed, "POST");
        assert_eq!(granted.status(), 204);
        assert_eq!(granted.headers()["access-control-allow-methods"], "POST");
        assert_eq!(granted.headers()["vary"], "Origin");
    }
}
