//! The hub's clock for rules that tests must be able to move forward
//! (invite expiry, the guessing limit) without sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::timefmt::{Millis, now_millis};

/// The wall clock plus an offset that only ever grows.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    ahead_ms: Arc<AtomicI64>,
}

impl Clock {
    pub fn now(&self) -> Millis {
        now_millis() + self.ahead_ms.load(Ordering::Relaxed)
    }

    /// Moves this clock (and every copy of it) forward, as tests do to
    /// expire an invite.
    pub fn advance(&self, by: std::time::Duration) {
        let ms = Millis::try_from(by.as_millis()).unwrap_or(Millis::MAX / 4);
        self.ahead_ms.fetch_add(ms, Ordering::Relaxed);
    }
}
