//! Invite codes: six digits, valid for ten minutes, used once, and guarded
//! against guessing per account. Time is always passed in.

use std::collections::{HashMap, VecDeque};

use parking_lot::Mutex;
use rand::Rng;

use crate::timefmt::Millis;

pub const INVITE_TTL_MS: Millis = 10 * 60_000;
pub const CODE_DIGITS: usize = 6;
/// Wrong codes an account may try per [`GUESS_WINDOW_MS`].
pub const WRONG_CODES_ALLOWED: usize = 5;
pub const GUESS_WINDOW_MS: Millis = 10 * 60_000;
/// Accounts whose wrong tries are remembered; the oldest are forgotten first.
const GUESSERS_REMEMBERED: usize = 10_000;

/// The code as a person typed or a link carried it: digits, allowing the
/// spaces and dashes people put in ("123 456", "123-456").
pub fn normalize_code(typed: &str) -> Option<String> {
    let digits: String = typed
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '\u{a0}'))
        .collect();
    (digits.len() == CODE_DIGITS && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// A fresh random code that `in_use` does not know.
pub fn new_code<E>(
    rng: &mut impl Rng,
    mut in_use: impl FnMut(&str) -> Result<bool, E>,
) -> Result<String, E> {
    loop {
        let code = format!("{:06}", rng.random_range(0..1_000_000u32));
        if !in_use(&code)? {
            return Ok(code);
        }
    }
}

/// Tries of codes per account within the window (right ones given back).
#[derive(Default)]
pub struct GuessLimit {
    wrong: Mutex<HashMap<i64, VecDeque<Millis>>>,
}

impl GuessLimit {
    /// Counts a try before its code is looked up, so parallel tries cannot
    /// all slip through: `Err(seconds)` when none is left. A
    /// try that turns out right is given back with [`GuessLimit::refund`].
    pub fn attempt(&self, user_id: i64, now: Millis) -> Result<(), u64> {
        let mut wrong = self.wrong.lock();
        if let Some(times) = wrong.get_mut(&user_id) {
            while times.front().is_some_and(|t| now - t >= GUESS_WINDOW_MS) {
                times.pop_front();
            }
            if times.len() >= WRONG_CODES_ALLOWED {
                let oldest = times.front().copied().unwrap_or(now);
                let wait_ms = (oldest + GUESS_WINDOW_MS - now).max(1);
                return Err((wait_ms as u64).div_ceil(1000));
            }
        }
        Self::push(&mut wrong, user_id, now);
        Ok(())
    }

    /// The try counted by [`GuessLimit::attempt`] was a real code.
    pub fn refund(&self, user_id: i64) {
        if let Some(times) = self.wrong.lock().get_mut(&user_id) {
            times.pop_back();
        }
    }

    fn push(wrong: &mut HashMap<i64, VecDeque<Millis>>, user_id: i64, now: Millis) {
        if wrong.len() >= GUESSERS_REMEMBERED && !wrong.contains_key(&user_id) {
            wrong.retain(|_, times| times.back().is_some_and(|t| now - t < GUESS_WINDOW_MS));
        }
        let times = wrong.entry(user_id).or_default();
        times.push_back(now);
        while times.len() > WRONG_CODES_ALLOWED {
            times.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_as_people_type_them() {
        assert_eq!(normalize_code("123456").as_deref(), Some("123456"));
        assert_eq!(normalize_code(" 123 456 ").as_deref(), Some("123456"));
        assert_eq!(normalize_code("123-456").as_deref(), Some("123456"));
        assert_eq!(normalize_code("012345").as_deref(), Some("012345"));
        for bad in ["12345", "1234567", "12345a", "", "١٢٣٤٥٦", "12 34 5"] {
            assert_eq!(normalize_code(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn new_codes_avoid_the_ones_in_use() {
        let mut rng = rand::rng();
        for _ in 0..100 {
            let code = new_code(&mut rng, |c| Ok::<_, ()>(c.starts_with('0'))).unwrap();
            assert_eq!(normalize_code(&code).as_deref(), Some(code.as_str()));
            assert!(!code.starts_with('0'));
        }
    }

    #[test]
    fn five_wrong_codes_then_wait_until_the_oldest_leaves_the_window() {
        let limit = GuessLimit::default();
        let t0 = 1_000_000;
        for i in 0..WRONG_CODES_ALLOWED as i64 {
            assert_eq!(limit.attempt(7, t0 + i * 1000), Ok(()));
        }
        // The sixth try is refused until ten minutes after the first.
        assert_eq!(limit.attempt(7, t0 + 5_000), Err(595));
        assert_eq!(limit.attempt(7, t0 + GUESS_WINDOW_MS - 1), Err(1));
        assert_eq!(limit.attempt(7, t0 + GUESS_WINDOW_MS), Ok(()));
        // Another account is not affected.
        assert_eq!(limit.attempt(8, t0 + 5_000), Ok(()));
    }

    #[test]
    fn tries_count_before_the_lookup_and_right_codes_are_given_back() {
        let limit = GuessLimit::default();
        let t0 = 1_000_000;
        // Five in flight at once use up the budget; the sixth is refused
        // before any of them is answered.
        for _ in 0..WRONG_CODES_ALLOWED {
            assert_eq!(limit.attempt(7, t0), Ok(()));
        }
        assert!(limit.attempt(7, t0).is_err());
        // One of them was a real code: it does not count.
        limit.refund(7);
        assert_eq!(limit.attempt(7, t0 + 1), Ok(()));
        assert!(limit.attempt(7, t0 + 2).is_err());
    }
}
