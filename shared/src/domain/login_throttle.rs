//! Slowing down password guessing on the marketers' login, per user name and per client
//! address: a few free failures, then a short delay that doubles with each further failure up
//! to a cap of minutes. Never a hard lock: whoever hammers a marketer's user name can make
//! them wait at most the cap between attempts, never lock them out for hours.
//!
//! Every attempt is counted before the password is checked (and the count given back when it
//! was right), so a burst of parallel guesses cannot all slip through before the first failure
//! is written.

use super::Timestamp;
use jiff::SignedDuration;
use serde::{Deserialize, Serialize};

/// How one counter slows attempts down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures allowed without any delay.
    pub free_failures: u32,
    /// Failures older than this (without a newer one) are forgotten.
    pub quiet: SignedDuration,
    /// The wait after the last free failure; each further failure doubles it.
    pub first_delay: SignedDuration,
    /// The longest wait, however many failures.
    pub max_delay: SignedDuration,
}

impl ThrottlePolicy {
    /// Per user name: 5 failures within 15 minutes, then 30 s, 1, 2, 4 and at most 5 minutes.
    pub const PER_USER: ThrottlePolicy = ThrottlePolicy {
        free_failures: 5,
        quiet: SignedDuration::from_mins(15),
        first_delay: SignedDuration::from_secs(30),
        max_delay: SignedDuration::from_mins(5),
    };

    /// Per client address: more room (several marketers behind one office address), the same
    /// growth, so spraying one password over many user names is slowed down as well.
    pub const PER_ADDRESS: ThrottlePolicy = ThrottlePolicy {
        free_failures: 20,
        quiet: SignedDuration::from_mins(15),
        first_delay: SignedDuration::from_secs(30),
        max_delay: SignedDuration::from_mins(5),
    };

    /// The wait after the `n`-th failure within the quiet period (none while `n` is free).
    pub fn delay_after(&self, failures: u32) -> Option<SignedDuration> {
        let over = failures.checked_sub(self.free_failures)?;
        // 2^over, saturating long before it matters: the cap is reached within a few steps.
        let factor = 1_i32.checked_shl(over.min(20)).unwrap_or(i32::MAX);
        let delay = self
            .first_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay);
        Some(delay.min(self.max_delay))
    }
}

/// One counter's state as stored (one small item per user name or address, with a TTL).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginThrottle {
    /// Failures (attempts counted up front included) since the last quiet period.
    pub failures: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failure_at: Option<Timestamp>,
    /// No attempt is even checked before this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delayed_until: Option<Timestamp>,
}

/// Whether an attempt may be checked now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Go,
    /// Answer 429 and check nothing; `retry_after` is whole seconds, at least one.
    Wait {
        retry_after: u64,
    },
}

impl LoginThrottle {
    pub fn admit(&self, now: Timestamp) -> Admission {
        match self.delayed_until {
            Some(until) if until > now => {
                // Round up, so a client that waits exactly Retry-After is let in.
                let secs = (((until - now).as_millis() + 999) / 1000).max(1);
                Admission::Wait {
                    retry_after: u64::try_from(secs).unwrap_or(u64::MAX),
                }
            }
            _ => Admission::Go,
        }
    }

    /// The state once one more failed attempt is counted at `now`.
    pub fn after_failure(&self, now: Timestamp, policy: &ThrottlePolicy) -> LoginThrottle {
        let recent = self
            .last_failure_at
            .is_some_and(|last| now.duration_since(last) < policy.quiet);
        let failures = if recent {
            self.failures.saturating_add(1)
        } else {
            1
        };
        LoginThrottle {
            failures,
            last_failure_at: Some(now),
            delayed_until: policy
                .delay_after(failures)
                .and_then(|d| now.checked_add(d).ok()),
        }
    }

    /// When the item may go (the table's TTL): once nothing in it matters any more.
    pub fn expires_at(&self, policy: &ThrottlePolicy) -> Timestamp {
        let forgotten = self
            .last_failure_at
            .and_then(|t| t.checked_add(policy.quiet).ok());
        [forgotten, self.delayed_until]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(Timestamp::UNIX_EPOCH)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    /// Fails `n` times one second apart from `start`, waiting out any delay first.
    fn fail_times(policy: &ThrottlePolicy, n: u32) -> (LoginThrottle, i64) {
        let mut state = LoginThrottle::default();
        let mut now = 0;
        for _ in 0..n {
            if let Admission::Wait { retry_after } = state.admit(at(now)) {
                now += retry_after as i64;
            }
            state = state.after_failure(at(now), policy);
            now += 1;
        }
        (state, now)
    }

    #[test]
    fn five_failures_are_free_then_the_wait_doubles_up_to_five_minutes() {
        let p = ThrottlePolicy::PER_USER;
        let mut state = LoginThrottle::default();
        let mut waits = Vec::new();
        let mut now = 0;
        for _ in 0..9 {
            assert_eq!(state.admit(at(now)), Admission::Go);
            state = state.after_failure(at(now), &p);
            let wait = match state.admit(at(now)) {
                Admission::Go => 0,
                Admission::Wait { retry_after } => retry_after,
            };
            waits.push(wait);
            now += wait as i64;
        }
        assert_eq!(waits, [0, 0, 0, 0, 30, 60, 120, 240, 300]);
    }

    #[test]
    fn while_delayed_an_attempt_waits_with_the_seconds_left_rounded_up() {
        let p = ThrottlePolicy::PER_USER;
        let (state, now) = fail_times(&p, 5);
        let until = state.delayed_until.unwrap();
        let half = until - SignedDuration::from_millis(10_500);
        assert_eq!(state.admit(half), Admission::Wait { retry_after: 11 });
        assert_eq!(state.admit(until), Admission::Go);
        assert!(now > 0);
    }

    #[test]
    fn failures_are_forgotten_after_a_quiet_quarter_hour() {
        let p = ThrottlePolicy::PER_USER;
        let (state, now) = fail_times(&p, 4);
        let later = at(now + 15 * 60);
        let next = state.after_failure(later, &p);
        assert_eq!(next.failures, 1);
        assert_eq!(next.admit(later), Admission::Go);
        // Within the quarter hour the fifth failure brings the first wait.
        let soon = state.after_failure(at(now + 14 * 60), &p);
        assert_eq!(soon.failures, 5);
        assert!(matches!(
            soon.admit(at(now + 14 * 60)),
            Admission::Wait { .. }
        ));
    }

    #[test]
    fn the_address_counter_allows_more_before_it_waits() {
        let p = ThrottlePolicy::PER_ADDRESS;
        let (state, now) = fail_times(&p, 19);
        assert_eq!(state.admit(at(now)), Admission::Go);
        let state = state.after_failure(at(now), &p);
        assert_eq!(state.admit(at(now)), Admission::Wait { retry_after: 30 });
    }

    #[test]
    fn the_item_expires_once_neither_the_count_nor_the_wait_matters() {
        let p = ThrottlePolicy::PER_USER;
        let state = LoginThrottle::default().after_failure(at(0), &p);
        assert_eq!(state.expires_at(&p), at(15 * 60));
        let (state, _) = fail_times(&p, 12);
        assert!(state.expires_at(&p) >= state.delayed_until.unwrap());
    }

    proptest! {
        /// However many failures, the wait never passes the cap and never shrinks while
        /// failures keep coming within the quiet period.
        #[test]
        fn the_wait_is_capped_and_never_shrinks(n in 1u32..10_000) {
            for p in [ThrottlePolicy::PER_USER, ThrottlePolicy::PER_ADDRESS] {
                let now = p.delay_after(n);
                let next = p.delay_after(n.saturating_add(1));
                prop_assert!(now.unwrap_or_default() <= p.max_delay);
                prop_assert!(next.unwrap_or_default() >= now.unwrap_or_default());
            }
        }
    }
}
