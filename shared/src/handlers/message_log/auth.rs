//! Who is logged in: the login form, Cognito or the local password, the signed session cookie,
//! HTTP Basic for scripts, and logout. Every login is checked in one place, [`AdminApp::check_login`].

use super::AdminApp;
use super::render::{Lang, json_error, merge, redirect};
use crate::domain::ShopId;
use base64::Engine;
use hmac::{Hmac, Mac};
use lambda_http::{Body, Request, Response};
use serde_json::json;
use sha2::Sha256;

/// Who may log in.
pub enum AdminAuth {
    /// The deployment's Cognito user pool: each marketer has their own account there (password
    /// policy, disabling, resets in the console); trouw checks a login with `InitiateAuth`
    /// (`USER_PASSWORD_AUTH`) and keeps its own signed session afterwards.
    Cognito {
        client: aws_sdk_cognitoidentityprovider::Client,
        /// The app client (no secret) that allows `USER_PASSWORD_AUTH`.
        client_id: String,
    },
    /// One user name and password: the local stack (`ADMIN_USER` / `ADMIN_PASSWORD`).
    Password { user: String, password: String },
}

/// What a login attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum LoginCheck {
    Accepted,
    Refused,
    /// The account must first be finished in Cognito (a new password, MFA set-up).
    Unfinished,
    /// Cognito did not answer (throttled, down): try again.
    Unavailable(String),
}

/// How long a login lasts.
const SESSION_SECONDS: i64 = 8 * 3600;
const COOKIE: &str = "trouw_session";

impl AdminApp {
    fn mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.session_key).expect("HMAC takes any key length")
    }

    /// Checks a user name and password.
    async fn check_login(&self, user: &str, password: &str) -> LoginCheck {
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

    fn session_cookie(&self, user: &str) -> String {
        let expires = self.clock.now().as_second() + SESSION_SECONDS;
        let user = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(user);
        let payload = format!("{user}.{expires}");
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        let signature = hex(&mac.finalize().into_bytes());
        format!(
            "{COOKIE}={payload}.{signature}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={SESSION_SECONDS}{}",
            if self.secure_cookie { "; Secure" } else { "" }
        )
    }

    /// The logged-in user, from the session cookie or HTTP Basic credentials.
    pub(super) async fn user(&self, req: &Request) -> Option<String> {
        let headers = req.headers();
        if let Some(basic) = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
        {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(basic.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())?;
            let (user, password) = decoded.split_once(':')?;
            return (self.check_login(user, password).await == LoginCheck::Accepted)
                .then(|| user.to_owned());
        }
        let cookie = headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|c| {
                c.trim()
                    .strip_prefix(&format!("{COOKIE}="))
                    .map(str::to_owned)
            })?;
        let (payload, signature) = cookie.rsplit_once('.')?;
        let (user, expires) = payload.split_once('.')?;
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        mac.verify_slice(&unhex(signature)?).ok()?;
        if expires.parse::<i64>().ok()? < self.clock.now().as_second() {
            return None;
        }
        String::from_utf8(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(user)
                .ok()?,
        )
        .ok()
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
        if status == 401 && !browser {
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

/// `GET /admin/login` shows the form; `POST /admin/login` checks the user name and password and
/// starts a session.
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
            let (user, password) = (field("username"), field("password"));
            // Only local paths: never an open redirect.
            let next = Some(field("next"))
                .filter(|n| n.starts_with("/admin") && !n.starts_with("//"))
                .unwrap_or_else(|| "/admin".into());
            match app.check_login(&user, &password).await {
                LoginCheck::Accepted => {
                    tracing::info!(outcome = "login", "admin logged in");
                    redirect(&next, Some(app.session_cookie(&user)))
                }
                LoginCheck::Refused | LoginCheck::Unfinished => {
                    tracing::warn!(outcome = "login_refused", "admin login refused");
                    app.login_page(401, lang, true, &next, browser)
                }
                LoginCheck::Unavailable(code) => {
                    tracing::error!(detail = %code, "the user pool did not answer");
                    let mut response = json_error(
                        503,
                        "temporarily_unavailable",
                        None,
                        "the login service is busy; try again",
                    );
                    response
                        .headers_mut()
                        .insert("retry-after", http::HeaderValue::from_static("5"));
                    response
                }
            }
        }
        _ => json_error(405, "method_not_allowed", None, "GET or POST"),
    }
}

/// `POST /admin/logout`: clears the session cookie.
pub(super) fn logout() -> Response<Body> {
    let clear = format!("{COOKIE}=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0");
    redirect("/admin/login", Some(clear))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}
