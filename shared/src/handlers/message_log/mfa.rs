//! The second step of a login, for marketers with an authenticator app: when Cognito answers
//! the password with the `SOFTWARE_TOKEN_MFA` challenge, the form asks for the 6-digit code
//! and trouw answers the challenge with `RespondToAuthChallenge`. Between the two steps the
//! browser holds Cognito's session string in a hidden field, signed and valid for three
//! minutes (as long as Cognito's own session), so that nothing is stored server-side.

use super::AdminApp;
use super::AdminAuth;
use super::LoginCheck;
use super::session::{hex, unhex};
use base64::Engine;
use hmac::Mac;
use serde_json::{Value, json};

/// How long the code form may be answered.
const CHALLENGE_SECONDS: i64 = 180;
/// Keeps a challenge's signature apart from a session cookie's under the same key.
const PURPOSE: &[u8] = b"trouw-mfa-challenge\0";

/// A pending second step, as the hidden field carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Challenge {
    pub user: String,
    /// Cognito's `Session` from `InitiateAuth`.
    pub session: String,
    pub next: String,
}

impl AdminApp {
    pub(super) fn challenge_token(&self, challenge: &Challenge) -> String {
        let expires = self.clock.now().as_second() + CHALLENGE_SECONDS;
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
            json!({ "u": challenge.user, "s": challenge.session, "n": challenge.next, "e": expires })
                .to_string(),
        );
        let mut mac = self.mac();
        mac.update(PURPOSE);
        mac.update(payload.as_bytes());
        format!("{payload}.{}", hex(&mac.finalize().into_bytes()))
    }

    /// The challenge in a token this deployment signed and that has not expired.
    pub(super) fn open_challenge(&self, token: &str) -> Option<Challenge> {
        let (payload, signature) = token.rsplit_once('.')?;
        let mut mac = self.mac();
        mac.update(PURPOSE);
        mac.update(payload.as_bytes());
        mac.verify_slice(&unhex(signature)?).ok()?;
        let value: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .ok()?,
        )
        .ok()?;
        if value["e"].as_i64()? < self.clock.now().as_second() {
            return None;
        }
        Some(Challenge {
            user: value["u"].as_str()?.to_owned(),
            session: value["s"].as_str()?.to_owned(),
            next: value["n"].as_str()?.to_owned(),
        })
    }

    /// Answers Cognito's TOTP challenge with the code the marketer typed.
    pub(super) async fn check_code(&self, challenge: &Challenge, code: &str) -> LoginCheck {
        let AdminAuth::Cognito { client, client_id } = &self.auth else {
            // The local password has no second factor: no code can be right.
            return LoginCheck::Refused;
        };
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return LoginCheck::Refused;
        }
        use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata;
        use aws_sdk_cognitoidentityprovider::types::ChallengeNameType;
        let answer = client
            .respond_to_auth_challenge()
            .client_id(client_id)
            .challenge_name(ChallengeNameType::SoftwareTokenMfa)
            .session(&challenge.session)
            .challenge_responses("USERNAME", &challenge.user)
            .challenge_responses("SOFTWARE_TOKEN_MFA_CODE", code)
            .send()
            .await;
        match answer {
            Ok(out) if out.authentication_result().is_some() => LoginCheck::Accepted,
            Ok(_) => LoginCheck::Unfinished,
            Err(err) => match err.code() {
                // A wrong or expired code, or a session that is used up or expired.
                Some(
                    "CodeMismatchException"
                    | "ExpiredCodeException"
                    | "NotAuthorizedException"
                    | "UserNotFoundException"
                    | "InvalidParameterException"
                    | "ResourceNotFoundException",
                ) => LoginCheck::Refused,
                code => LoginCheck::Unavailable(code.unwrap_or("no answer").to_owned()),
            },
        }
    }
}
