//! The session cookie: `{user}.{expires}.{generation}.{signature}`, signed with HMAC-SHA256
//! under the session secret, a secret of its own (no function that signs or checks links holds
//! it). `generation` is the marketer's session generation when the session began: logging out
//! or a password reset moves it on, which ends every earlier session. With the local password,
//! the signature also covers the configured password, so changing it ends every session too.

use super::{AdminApp, AdminAuth};
use base64::Engine;
use hmac::{Hmac, Mac};
use lambda_http::Request;
use sha2::Sha256;

/// How long a login lasts.
const SESSION_SECONDS: i64 = 8 * 3600;
const COOKIE: &str = "trouw_session";

/// A session cookie whose signature and lifetime were checked (its generation is checked
/// against the store by the caller).
pub(super) struct Session {
    pub(super) user: String,
    pub(super) generation: u64,
}

impl AdminApp {
    /// The MAC sessions (and the local password check) are made with.
    pub(super) fn session_mac(&self) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.session_key).expect("HMAC takes any key length");
        mac.update(b"trouw-session-v2\x1f");
        if let AdminAuth::Password { user, password } = &self.auth {
            mac.update(user.as_bytes());
            mac.update(b"\x1f");
            mac.update(password.as_bytes());
            mac.update(b"\x1f");
        }
        mac
    }

    pub(super) fn session_cookie(&self, user: &str, generation: u64) -> String {
        let expires = self.clock.now().as_second() + SESSION_SECONDS;
        let user = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(user);
        let payload = format!("{user}.{expires}.{generation}");
        let mut mac = self.session_mac();
        mac.update(payload.as_bytes());
        let signature = hex(&mac.finalize().into_bytes());
        format!(
            "{COOKIE}={payload}.{signature}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={SESSION_SECONDS}{}",
            if self.secure_cookie { "; Secure" } else { "" }
        )
    }

    /// The session in the request's cookie, if it is signed with the session key and current.
    pub(super) fn session_of(&self, req: &Request) -> Option<Session> {
        let cookie = cookie(req, COOKIE)?;
        let (payload, signature) = cookie.rsplit_once('.')?;
        let mut parts = payload.split('.');
        let (user, expires, generation) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let mut mac = self.session_mac();
        mac.update(payload.as_bytes());
        mac.verify_slice(&unhex(signature)?).ok()?;
        if expires.parse::<i64>().ok()? < self.clock.now().as_second() {
            return None;
        }
        let user = String::from_utf8(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(user)
                .ok()?,
        )
        .ok()?;
        Some(Session {
            user,
            generation: generation.parse().ok()?,
        })
    }
}

/// The `Set-Cookie` value that removes the session cookie.
pub(super) fn clear_session_cookie() -> String {
    format!("{COOKIE}=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// The value of the request's cookie `name`.
pub(super) fn cookie(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            c.trim()
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('='))
                .map(str::to_owned)
        })
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn unhex(text: &str) -> Option<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}
