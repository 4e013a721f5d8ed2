//! The login throttles around every check of a marketer's credentials (form, MFA code, HTTP
//! Basic): one counter per user name and one per client address, both counted before the
//! check and given back when it passed. While either counter waits, nothing is checked.

use crate::domain::{Admission, LoginThrottle, ThrottlePolicy, Timestamp};
use crate::store::keys::ThrottleScope;
use crate::store::{Store, StoreError, ThrottleRead, Written};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Whose attempt this is, as keyed hashes: user names are email addresses and client
/// addresses are personal data, so neither is stored.
pub struct Attempt {
    user: String,
    address: String,
}

/// An attempt counted on both counters, to be settled once the check is done.
pub struct Counted {
    user: Slot,
    address: Slot,
}

struct Slot {
    subject: String,
    before: ThrottleRead,
    written: u64,
}

/// What the throttles allow.
pub enum Gate {
    /// Check the credentials, then settle.
    Counted(Counted),
    /// Do not check anything; answer 429 with `Retry-After`.
    Wait { retry_after: u64 },
}

/// Writers that keep changing one counter under us: let the client come back in a second.
const MAX_CONFLICTS: usize = 4;

impl Attempt {
    /// `key` is the deployment's session key; `address` the client's IP address as API Gateway
    /// saw it (never a header the client sets).
    pub fn new(key: &[u8], user: &str, address: &str) -> Attempt {
        let keyed = |purpose: &str, text: &str| {
            let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
            mac.update(purpose.as_bytes());
            mac.update(b"\0");
            mac.update(text.as_bytes());
            // 128 bits are plenty to keep counters apart and keep the key short.
            mac.finalize().into_bytes()[..16]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        };
        Attempt {
            user: keyed("login-user", &user.trim().to_lowercase()),
            address: keyed("login-address", address),
        }
    }

    /// Reads both counters; if neither waits, counts this attempt on both.
    pub async fn begin(self, store: &Store, now: Timestamp) -> Result<Gate, StoreError> {
        let user_read = store
            .login_throttle(ThrottleScope::User, &self.user)
            .await?;
        let address_read = store
            .login_throttle(ThrottleScope::Address, &self.address)
            .await?;
        let waits = [user_read.state.admit(now), address_read.state.admit(now)]
            .into_iter()
            .filter_map(|a| match a {
                Admission::Wait { retry_after } => Some(retry_after),
                Admission::Go => None,
            })
            .max();
        if let Some(retry_after) = waits {
            return Ok(Gate::Wait { retry_after });
        }
        let user = match count(store, ThrottleScope::User, self.user, user_read, now).await? {
            Ok(slot) => slot,
            Err(retry_after) => return Ok(Gate::Wait { retry_after }),
        };
        let address = match count(
            store,
            ThrottleScope::Address,
            self.address,
            address_read,
            now,
        )
        .await?
        {
            Ok(slot) => slot,
            Err(retry_after) => {
                give_back(store, ThrottleScope::User, &user, &ThrottlePolicy::PER_USER).await?;
                return Ok(Gate::Wait { retry_after });
            }
        };
        Ok(Gate::Counted(Counted { user, address }))
    }
}

impl Counted {
    /// The marketer is in: their user name's failures are forgotten, the address's count of
    /// this attempt given back.
    pub async fn logged_in(self, store: &Store) -> Result<(), StoreError> {
        store
            .clear_login_throttle(ThrottleScope::User, &self.user.subject)
            .await?;
        give_back(
            store,
            ThrottleScope::Address,
            &self.address,
            &ThrottlePolicy::PER_ADDRESS,
        )
        .await
    }

    /// Nothing was learnt about the credentials' worth as a guess: the password was right and
    /// a second factor follows (the code is counted on its own), or the user pool did not
    /// answer. Both counts are given back; earlier failures stay.
    pub async fn give_back(self, store: &Store) -> Result<(), StoreError> {
        give_back(
            store,
            ThrottleScope::User,
            &self.user,
            &ThrottlePolicy::PER_USER,
        )
        .await?;
        give_back(
            store,
            ThrottleScope::Address,
            &self.address,
            &ThrottlePolicy::PER_ADDRESS,
        )
        .await
    }

    /// The check failed: the counts stay, which is what slows the next attempt down.
    pub fn failed(self) {}
}

/// Counts one attempt on a counter, version-checked; `Err(seconds)` if it waits by now.
async fn count(
    store: &Store,
    scope: ThrottleScope,
    subject: String,
    mut read: ThrottleRead,
    now: Timestamp,
) -> Result<Result<Slot, u64>, StoreError> {
    let policy = policy(scope);
    for _ in 0..MAX_CONFLICTS {
        if let Admission::Wait { retry_after } = read.state.admit(now) {
            return Ok(Err(retry_after));
        }
        let next: LoginThrottle = read.state.after_failure(now, policy);
        match store
            .put_login_throttle(scope, &subject, &read, &next, policy)
            .await?
        {
            (Written::Committed, written) => {
                return Ok(Ok(Slot {
                    subject,
                    before: read,
                    written,
                }));
            }
            _ => read = store.login_throttle(scope, &subject).await?,
        }
    }
    Ok(Err(1))
}

async fn give_back(
    store: &Store,
    scope: ThrottleScope,
    slot: &Slot,
    policy: &ThrottlePolicy,
) -> Result<(), StoreError> {
    store
        .restore_login_throttle(scope, &slot.subject, &slot.before, slot.written, policy)
        .await
}

fn policy(scope: ThrottleScope) -> &'static ThrottlePolicy {
    match scope {
        ThrottleScope::User => &ThrottlePolicy::PER_USER,
        ThrottleScope::Address => &ThrottlePolicy::PER_ADDRESS,
    }
}
