//! The form token against cross-site requests (signed double submit): a random value in an
//! `HttpOnly`, `SameSite=Strict` cookie, set with the first page a browser gets, and in every
//! form that changes something (login, logout) its HMAC under the session secret. A POST whose
//! token does not match the browser's cookie is refused with 403: another site can neither read
//! the cookie nor compute the token.

use super::AdminApp;
use super::session::{cookie, hex, unhex};
use hmac::Mac;
use lambda_http::Request;

const CSRF_COOKIE: &str = "trouw_csrf";

impl AdminApp {
    /// This browser's form token, and the cookie to set when it has none yet.
    pub(super) fn form_token(&self, req: &Request) -> (String, Option<String>) {
        if let Some(nonce) = csrf_nonce(req) {
            return (self.token_for(&nonce), None);
        }
        let nonce = new_nonce();
        let set = format!(
            "{CSRF_COOKIE}={nonce}; Path=/admin; HttpOnly; SameSite=Strict{}",
            if self.secure_cookie { "; Secure" } else { "" }
        );
        (self.token_for(&nonce), Some(set))
    }

    /// Whether `given` (a form's `csrf` field) is the token of this browser's cookie.
    pub(super) fn form_token_ok(&self, req: &Request, given: &str) -> bool {
        let (Some(nonce), Some(given)) = (csrf_nonce(req), unhex(given)) else {
            return false;
        };
        let mut mac = self.session_mac();
        mac.update(b"csrf\x1f");
        mac.update(nonce.as_bytes());
        mac.verify_slice(&given).is_ok()
    }

    fn token_for(&self, nonce: &str) -> String {
        let mut mac = self.session_mac();
        mac.update(b"csrf\x1f");
        mac.update(nonce.as_bytes());
        hex(&mac.finalize().into_bytes())
    }
}

/// The cookie's value, if it looks like one trouw set (32 hex digits).
fn csrf_nonce(req: &Request) -> Option<String> {
    cookie(req, CSRF_COOKIE).filter(|n| n.len() == 32 && n.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn new_nonce() -> String {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).expect("the operating system's random source");
    hex(&bytes)
}
