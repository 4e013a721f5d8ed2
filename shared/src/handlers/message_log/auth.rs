//! Who is logged in: the login form, Cognito or the local password, HTTP Basic for scripts,
//! and logout. Every login is checked in one place, [`AdminApp::check_login`]; the session
//! cookie is in `session`, the form token in `csrf`.

use super::guard::{Outcome, busy};
use super::render::{Lang, json_error, merge, redirect};
use super::session::clear_session_cookie;
use super::{AdminApp, AdminAuth, LoginCheck};
use crate::domain::ShopId;
use base64::Engine;
use hmac::{Hmac, Mac};
use lambda_http::{Body, Request, Response};
use serde_json::json;
use sha2::Sha256;

impl AdminApp {
    /// The MAC of the code form's challenge and the local password check.
    pub(super) fn mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.session_key).expect("HMAC takes any key length")
    }

    /// Checks a user name and password.
    pub(super) async fn check_login(&self, user: &str, password: &str) -> LoginCheck {
        if user.is_empty() || password.is_empty() {
            return LoginCheck::Refused;
        }
        match &self.auth {
            AdminAuth::Password { .. } => {
                if self.password_ok(user, password) {
                    LoginCheck::Accepted
                } else {
                    LoginCheck::Refused
                }
            }
            AdminAuth::Cognito { client, client_id } => {
                use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata;
                use aws_sdk_cognitoidentityprovider::types::AuthFlowType;
                let answer = client
                    .initiate_auth()
                    .client_id(client_id)
                    .auth_flow(AuthFlowType::UserPasswordAuth)
                    .auth_parameters("USERNAME", user)
                    .auth_parameters("PASSWORD", password)
                    .send()
                    .await;
                match answer {
                    Ok(out) if out.authentication_result().is_some() => LoginCheck::Accepted,
                    Ok(out)
                        if out.challenge_name()
                            == Some(&aws_sdk_cognitoidentityprovider::types::ChallengeNameType::SoftwareTokenMfa) =>
                    {
                        LoginCheck::Challenge(out.session().unwrap_or_default().to_owned())
                    }
                    Ok(_) => LoginCheck::Unfinished,
                    Err(err) => match err.code() {
                        Some(
                            "NotAuthorizedException"
                            | "UserNotFoundException"
                            | "UserNotConfirmedException"
                            | "PasswordResetRequiredException"
                            | "InvalidParameterException",
                        ) => LoginCheck::Refused,
                        code => LoginCheck::Unavailable(code.unwrap_or("no answer").to_owned()),
                    },
                }
            }
        }
    }

    /// Checks the local user name and password without leaking timing.
    fn password_ok(&self, user: &str, password: &str) -> bool {
        let AdminAuth::Password {
            user: expected_user,
            password: expected,
        } = &self.auth
        else {
            return false;
        };
        let digest = |text: &str| {
            let mut mac = self.mac();
            mac.update(text.as_bytes());
            mac.finalize().into_bytes()
        };
        let given = digest(&format!("{user}\n{password}"));
        let mut mac = self.mac();
        mac.update(format!("{expected_user}\n{expected}").as_bytes());
        mac.verify_slice(&given).is_ok()
    }

    /// The logged-in user, from a session cookie whose generation is still the marketer's
    /// current one (logout and password resets move it on), or (where switched on) HTTP Basic
    /// credentials, checked behind the login throttles.
    pub(super) async fn visitor(&self, req: &Request) -> Visitor {
        if self.basic_auth
            && let Some(basic) = req
                .headers()
                .get(http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Basic "))
        {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(basic.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok());
            let Some((user, password)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
                return Visitor::Nobody;
            };
            let address = super::guard::client_address(req);
            return match self.guarded_login(&address, user, password).await {
                Ok(Outcome::In) => Visitor::User(user.to_owned()),
                Ok(Outcome::Wait(retry_after)) => Visitor::Wait(retry_after),
                Ok(Outcome::Unavailable(_)) | Err(_) => Visitor::Unavailable,
                Ok(Outcome::Refused | Outcome::Challenge(_)) => Visitor::Nobody,
            };
        }
        let Some(session) = self.session_of(req) else {
            return Visitor::Nobody;
        };
        match self.store.session_generation(&session.user).await {
            Ok(current) if current == session.generation => Visitor::User(session.user),
            Ok(_) => Visitor::Nobody,
            Err(err) => {
                tracing::error!(detail = %err, "the session could not be checked");
                Visitor::Unavailable
            }
        }
    }

    pub(super) fn login_page(
        &self,
        status: u16,
        lang: &Lang,
        error: bool,
        next: &str,
        browser: bool,
    ) -> Response<Body> {
        let shop = self
            .allowed_shops
            .first()
            .cloned()
            .unwrap_or_else(|| ShopId::parse("none").expect("a valid id"));
        let mut response = self.render(
            status,
            "login.html",
            merge(
                lang.context(None, &shop),
                json!({ "error": error, "next": next }),
            ),
        );
        if status == 401 && !browser && self.basic_auth {
            // Scripts and `curl -u` see the standard challenge; browsers get the form only (a
            // challenge would make them show their own password dialog instead).
            response.headers_mut().insert(
                http::header::WWW_AUTHENTICATE,
                http::HeaderValue::from_static("Basic realm=\"trouw\", charset=\"UTF-8\""),
            );
        }
        response
    }
}

/// `GET /admin/login` shows the form; `POST /admin/login` checks the form token, then the user
/// name and password (or the TOTP code), and starts a session.
pub(super) async fn login(
    app: &AdminApp,
    req: &Request,
    lang: &Lang,
    browser: bool,
) -> Response<Body> {
    match *req.method() {
        http::Method::GET => app.login_page(200, lang, false, "/admin", browser),
        http::Method::POST => {
            let form: Vec<(String, String)> = form_urlencoded::parse(req.body().as_ref())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            let field = |name: &str| {
                form.iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            let next = same_site_next(&field("next")).to_owned();
            if !app.form_token_ok(req, &field("csrf")) {
                tracing::warn!(
                    outcome = "login_refused",
                    detail = "csrf",
                    "admin login without a valid form token"
                );
                return app.login_page(403, lang, true, &next, browser);
            }
            super::guard::answer_login(app, req, lang, browser, &field, next).await
        }
        _ => json_error(405, "method_not_allowed", None, "GET or POST"),
    }
}

/// `POST /admin/logout`: with the form token, ends every session of the marketer (the
/// generation moves on, so a copied cookie is worthless too) and clears the cookie.
pub(super) async fn logout(app: &AdminApp, req: &Request) -> Response<Body> {
    let form = form_urlencoded::parse(req.body().as_ref())
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    if !app.form_token_ok(req, &form) {
        return json_error(
            403,
            "forbidden",
            Some("csrf"),
            "the form token is missing or stale; reload the page",
        );
    }
    if let Some(session) = app.session_of(req)
        && let Err(err) = app.store.end_sessions(&session.user).await
    {
        tracing::error!(detail = %err, "the sessions could not be ended");
        return busy("the table is busy; try again");
    }
    tracing::info!(outcome = "logout", "admin logged out");
    redirect("/admin/login", Some(clear_session_cookie()))
}

/// Where to go after logging in: a path of these pages (`/admin`, `/admin/...`, `/admin?...`)
/// made only of characters a URL may hold as they are; anything else (another site, `//host`,
/// a backslash, control characters such as `%0A`) goes to `/admin`. Never an open redirect, and
/// never a header value that cannot be sent.
pub(super) fn same_site_next(next: &str) -> &str {
    let under_admin =
        next == "/admin" || next.starts_with("/admin/") || next.starts_with("/admin?");
    let plain = next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    if under_admin && plain && next.len() <= 2048 {
        next
    } else {
        "/admin"
    }
}

/// Who is asking for a page.
pub(super) enum Visitor {
    User(String),
    Nobody,
    /// Basic credentials while their user name or address waits.
    Wait(u64),
    Unavailable,
}

#[cfg(test)]
mod tests {
    use super::same_site_next;

    #[test]
    fn after_login_only_paths_of_these_pages() {
        for kept in [
            "/admin",
            "/admin/messages?kind=survey&lang=en",
            "/admin?from=2026-11-01",
        ] {
            assert_eq!(same_site_next(kept), kept);
        }
        for refused in [
            "",
            "https://evil.example/admin",
            "//evil.example",
            "/admin\n/x",
            "/admin\nLocation: https://evil.example",
            "/admin\r\nSet-Cookie: x=1",
            "/admin\\@evil.example",
            "/admins",
            "/administrator",
            "/admin.evil.example",
            "/admin/\u{e9}",
            "/admin/ x",
            "javascript:alert(1)",
        ] {
            assert_eq!(same_site_next(refused), "/admin", "{refused:?}");
        }
        assert_eq!(
            same_site_next(&format!("/admin/{}", "a".repeat(5000))),
            "/admin"
        );
    }
}
