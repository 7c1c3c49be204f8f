//! At most one log line a second per reason, with a count of what was not
//! logged: a flood of junk from one device must not flood the journal (or an
//! SD card) while every drop is still counted.

use parking_lot::Mutex;

use crate::timefmt::Millis;

pub struct LogGate<const N: usize> {
    /// Per reason: the time of the last logged line, and how many were
    /// suppressed since.
    slots: Mutex<[(Millis, u64); N]>,
}

impl<const N: usize> Default for LogGate<N> {
    fn default() -> Self {
        LogGate {
            slots: Mutex::new([(Millis::MIN, 0); N]),
        }
    }
}

impl<const N: usize> LogGate<N> {
    /// `Some(suppressed)` when a line for `reason` may be logged now, with the
    /// number of lines held back since the last one; `None` to stay quiet.
    pub fn admit(&self, reason: usize, now: Millis) -> Option<u64> {
        let mut slots = self.slots.lock();
        let (last, suppressed) = slots.get_mut(reason)?;
        if now.saturating_sub(*last) < 1000 {
            *suppressed += 1;
            return None;
        }
        *last = now;
        Some(std::mem::take(suppressed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_a_second_per_reason_with_the_suppressed_count() {
        let gate = LogGate::<2>::default();
        assert_eq!(gate.admit(0, 10_000), Some(0));
        assert_eq!(gate.admit(0, 10_100), None);
        assert_eq!(gate.admit(0, 10_200), None);
        assert_eq!(gate.admit(1, 10_200), Some(0), "reasons are independent");
        assert_eq!(gate.admit(0, 11_000), Some(2));
        assert_eq!(gate.admit(5, 11_000), None, "an unknown reason never logs");
    }
}
