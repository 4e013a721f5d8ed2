//! The time handlers pass to `decide`. The local stack can move it (later: `POST /dev/clock`);
//! Lambdas use the system clock.

use crate::domain::Timestamp;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// The system clock shifted by an adjustable offset, for living through months in seconds;
/// or stopped at one second, for runs whose stored times must not depend on how long they took.
#[derive(Debug, Default)]
pub struct OffsetClock {
    offset_seconds: AtomicI64,
    /// Whether the clock stands still at `stopped_at` (Unix seconds).
    stopped: AtomicBool,
    stopped_at: AtomicI64,
}

impl OffsetClock {
    /// Runs the clock again, `seconds` ahead of the system clock.
    pub fn set_offset_seconds(&self, seconds: i64) {
        self.offset_seconds.store(seconds, Ordering::SeqCst);
        self.stopped.store(false, Ordering::SeqCst);
    }

    /// Stops the clock at `second` (Unix seconds) until it is set again.
    pub fn stop_at_second(&self, second: i64) {
        self.stopped_at.store(second, Ordering::SeqCst);
        self.stopped.store(true, Ordering::SeqCst);
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> Timestamp {
        if self.stopped.load(Ordering::SeqCst)
            && let Ok(stopped) = Timestamp::from_second(self.stopped_at.load(Ordering::SeqCst))
        {
            return stopped;
        }
        let offset = jiff::SignedDuration::from_secs(self.offset_seconds.load(Ordering::SeqCst));
        Timestamp::now()
            .checked_add(offset)
            .unwrap_or_else(|_| Timestamp::now())
    }
}

/// A clock that always says the same time: for tests of time-dependent rules.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0
    }
}
