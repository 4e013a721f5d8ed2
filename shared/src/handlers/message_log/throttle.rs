//! The login throttles around every check of a marketer's credentials (form, MFA code, HTTP
//! Basic): one counter per user name and one per client address, both counted before the
//! check and given back when it passed. While either counter waits, nothing is checked.

use crate::domain::{Admission, LoginThrottle, ThrottlePolicy, Timestamp};
use crate::store::keys::ThrottleScope;
use crate::store::{Store, StoreError, ThrottleCount, ThrottleRead, ThrottleSettle, Written};
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
        let user_policy = &ThrottlePolicy::PER_USER;
        let address_policy = &ThrottlePolicy::PER_ADDRESS;
        let counters = [
            (ThrottleScope::User, self.user.as_str()),
            (ThrottleScope::Address, self.address.as_str()),
        ];
        let [mut user, mut address] = store.login_throttles(counters).await?;
        for _ in 0..MAX_CONFLICTS {
            let wait = [user.state.admit(now), address.state.admit(now)]
                .into_iter()
                .filter_map(|a| match a {
                    Admission::Wait { retry_after } => Some(retry_after),
                    Admission::Go => None,
                })
                .max();
            if let Some(retry_after) = wait {
                return Ok(Gate::Wait { retry_after });
            }
            let user_next: LoginThrottle = user.state.after_failure(now, user_policy);
            let address_next = address.state.after_failure(now, address_policy);
            let (written, versions) = store
                .count_login_attempt(&[
                    ThrottleCount {
                        scope: ThrottleScope::User,
                        subject: &self.user,
                        read: &user,
                        next: &user_next,
                        policy: user_policy,
                    },
                    ThrottleCount {
                        scope: ThrottleScope::Address,
                        subject: &self.address,
                        read: &address,
                        next: &address_next,
                        policy: address_policy,
                    },
                ])
                .await?;
            if written == Written::Committed {
                return Ok(Gate::Counted(Counted {
                    user: Slot {
                        subject: self.user,
                        before: user,
                        written: versions[0],
                    },
                    address: Slot {
                        subject: self.address,
                        before: address,
                        written: versions[1],
                    },
                }));
            }
            [user, address] = store.login_throttles(counters).await?;
        }
        Ok(Gate::Wait { retry_after: 1 })
    }
}

impl Counted {
    /// The marketer is in: their user name's failures are forgotten, the address's count of
    /// this attempt given back.
    pub async fn logged_in(self, store: &Store) -> Result<(), StoreError> {
        store
            .settle_login_attempt(&[
                ThrottleSettle::Forget {
                    scope: ThrottleScope::User,
                    subject: &self.user.subject,
                },
                self.address.give_back(ThrottleScope::Address),
            ])
            .await
    }

    /// Nothing was learnt about the credentials' worth as a guess: the password was right and
    /// a second factor follows (the code is counted on its own), or the user pool did not
    /// answer. Both counts are given back; earlier failures stay.
    pub async fn give_back(self, store: &Store) -> Result<(), StoreError> {
        store
            .settle_login_attempt(&[
                self.user.give_back(ThrottleScope::User),
                self.address.give_back(ThrottleScope::Address),
            ])
            .await
    }

    /// The check failed: the counts stay, which is what slows the next attempt down.
    pub fn failed(self) {}
}

impl Slot {
    fn give_back(&self, scope: ThrottleScope) -> ThrottleSettle<'_> {
        ThrottleSettle::GiveBack {
            scope,
            subject: &self.subject,
            before: &self.before,
            written: self.written,
            policy: policy(scope),
        }
    }
}

fn policy(scope: ThrottleScope) -> &'static ThrottlePolicy {
    match scope {
        ThrottleScope::User => &ThrottlePolicy::PER_USER,
        ThrottleScope::Address => &ThrottlePolicy::PER_ADDRESS,
    }
}
