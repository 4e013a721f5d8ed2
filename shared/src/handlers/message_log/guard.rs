//! Every check of a marketer's credentials goes through here, behind the login throttles: the
//! password form, the code form of a TOTP login, and HTTP Basic where it is switched on.
//! While a user name or client address waits, the answer is 429 with `Retry-After` and
//! nothing is checked.

use super::AdminApp;
use super::LoginCheck;
use super::mfa::Challenge;
use super::render::{Lang, json_error, merge, redirect};
use super::throttle::{Attempt, Gate};
use crate::domain::ShopId;
use crate::store::StoreError;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::json;

/// What a guarded check came to.
pub(super) enum Outcome {
    In,
    /// The password was right; Cognito wants the TOTP code (its `Session`).
    Challenge(String),
    Refused,
    Wait(u64),
    Unavailable(String),
}

/// The client's address as API Gateway saw it (`requestContext.http.sourceIp`, the TCP peer);
/// never `X-Forwarded-For`, which the client writes itself.
pub(super) fn client_address(req: &Request) -> String {
    match req.request_context_ref() {
        Some(lambda_http::request::RequestContext::ApiGatewayV2(context)) => {
            context.http.source_ip.clone()
        }
        _ => None,
    }
    .unwrap_or_else(|| "unknown".into())
}

impl AdminApp {
    /// Checks a user name and password behind the throttles.
    pub(super) async fn guarded_login(
        &self,
        address: &str,
        user: &str,
        password: &str,
    ) -> Result<Outcome, StoreError> {
        let counted = match Attempt::new(&self.session_key, user, address)
            .begin(&self.store, self.clock.now())
            .await?
        {
            Gate::Wait { retry_after } => return Ok(Outcome::Wait(retry_after)),
            Gate::Counted(counted) => counted,
        };
        let check = self.check_login(user, password).await;
        self.settle(counted, check).await
    }

    /// Checks the TOTP code of a pending login behind the same throttles.
    pub(super) async fn guarded_code(
        &self,
        address: &str,
        challenge: &Challenge,
        code: &str,
    ) -> Result<Outcome, StoreError> {
        let counted = match Attempt::new(&self.session_key, &challenge.user, address)
            .begin(&self.store, self.clock.now())
            .await?
        {
            Gate::Wait { retry_after } => return Ok(Outcome::Wait(retry_after)),
            Gate::Counted(counted) => counted,
        };
        let check = self.check_code(challenge, code).await;
        self.settle(counted, check).await
    }

    async fn settle(
        &self,
        counted: super::throttle::Counted,
        check: LoginCheck,
    ) -> Result<Outcome, StoreError> {
        Ok(match check {
            LoginCheck::Accepted => {
                counted.logged_in(&self.store).await?;
                Outcome::In
            }
            LoginCheck::Challenge(session) => {
                counted.give_back(&self.store).await?;
                Outcome::Challenge(session)
            }
            LoginCheck::Refused => {
                counted.failed();
                Outcome::Refused
            }
            // The right password for an account still to be finished: no guess to slow down.
            LoginCheck::Unfinished => {
                counted.give_back(&self.store).await?;
                Outcome::Refused
            }
            LoginCheck::Unavailable(code) => {
                counted.give_back(&self.store).await?;
                Outcome::Unavailable(code)
            }
        })
    }

    /// The login form again, 429, with how long to wait.
    pub(super) fn wait_page(&self, lang: &Lang, next: &str, retry_after: u64) -> Response<Body> {
        let mut response = self.render(
            429,
            "login.html",
            merge(
                lang.context(None, &self.first_shop()),
                json!({ "error": false, "next": next, "wait": retry_after }),
            ),
        );
        response.headers_mut().insert(
            http::header::RETRY_AFTER,
            http::HeaderValue::from(retry_after),
        );
        response
    }

    /// The code form of a TOTP login.
    pub(super) fn code_page(&self, lang: &Lang, challenge: &Challenge) -> Response<Body> {
        self.render(
            200,
            "login_code.html",
            merge(
                lang.context(None, &self.first_shop()),
                json!({ "challenge": self.challenge_token(challenge), "next": challenge.next, "error": false }),
            ),
        )
    }

    fn first_shop(&self) -> ShopId {
        self.allowed_shops
            .first()
            .cloned()
            .unwrap_or_else(|| ShopId::parse("none").expect("a valid id"))
    }
}

/// `POST /admin/login`, either step: the user name and password, or (with `challenge`) the
/// TOTP code.
pub(super) async fn answer_login(
    app: &AdminApp,
    req: &Request,
    lang: &Lang,
    browser: bool,
    field: &(dyn Fn(&str) -> String + Sync),
    mut next: String,
) -> Response<Body> {
    let address = client_address(req);
    let challenge_field = field("challenge");
    let (user, outcome) = if challenge_field.is_empty() {
        let user = field("username");
        let outcome = app.guarded_login(&address, &user, &field("password")).await;
        (user, outcome)
    } else {
        let Some(challenge) = app.open_challenge(&challenge_field) else {
            tracing::warn!(
                outcome = "login_refused",
                "admin code form expired or forged"
            );
            return app.login_page(401, lang, true, &next, browser);
        };
        let outcome = app
            .guarded_code(&address, &challenge, field("code").trim())
            .await;
        // Where to go was signed with the challenge; the form's copy is not trusted.
        next = challenge.next;
        (challenge.user, outcome)
    };
    match outcome {
        Ok(Outcome::In) => match app.store.session_generation(&user).await {
            // The session begins under the marketer's current generation.
            Ok(generation) => {
                tracing::info!(outcome = "login", "admin logged in");
                redirect(&next, Some(app.session_cookie(&user, generation)))
            }
            Err(err) => {
                tracing::error!(detail = %err, "the session generation could not be read");
                busy("the table is busy; try again")
            }
        },
        Ok(Outcome::Challenge(session)) => {
            tracing::info!(
                outcome = "login_code_asked",
                "admin password accepted, code asked"
            );
            app.code_page(
                lang,
                &Challenge {
                    user,
                    session,
                    next,
                },
            )
        }
        Ok(Outcome::Refused) => {
            tracing::warn!(outcome = "login_refused", "admin login refused");
            app.login_page(401, lang, true, &next, browser)
        }
        Ok(Outcome::Wait(retry_after)) => {
            tracing::warn!(
                outcome = "login_delayed",
                retry_after,
                "admin login delayed"
            );
            app.wait_page(lang, &next, retry_after)
        }
        Ok(Outcome::Unavailable(code)) => {
            tracing::error!(detail = %code, "the user pool did not answer");
            busy("the login service is busy; try again")
        }
        Err(err) => {
            tracing::error!(detail = %err, "login throttles could not be read");
            busy("the login service is busy; try again")
        }
    }
}

pub(super) fn busy(message: &str) -> Response<Body> {
    let mut response = json_error(503, "temporarily_unavailable", None, message);
    response
        .headers_mut()
        .insert("retry-after", http::HeaderValue::from_static("5"));
    response
}
