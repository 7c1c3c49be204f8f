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

/// Wrong codes per account within the window.
#[derive(Default)]
pub struct GuessLimit {
    wrong: Mutex<HashMap<i64, VecDeque<Millis>>>,
}

impl GuessLimit {
    /// `Err(seconds)` while the account has used up its wrong tries.
    pub fn check(&self, user_id: i64, now: Millis) -> Result<(), u64> {
        let mut wrong = self.wrong.lock();
        let Some(times) = wrong.get_mut(&user_id) else {
            return Ok(());
        };
        while times.front().is_some_and(|t| now - t >= GUESS_WINDOW_MS) {
            times.pop_front();
        }
        if times.len() < WRONG_CODES_ALLOWED {
            return Ok(());
        }
        let oldest = times.front().copied().unwrap_or(now);
        let wait_ms = (oldest + GUESS_WINDOW_MS - now).max(1);
        Err((wait_ms as u64).div_ceil(1000))
    }

    pub fn wrong_code(&self, user_id: i64, now: Millis) {
        let mut wrong = self.wrong.lock();
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
            assert_eq!(limit.check(7, t0 + i * 1000), Ok(()));
            limit.wrong_code(7, t0 + i * 1000);
        }
        // The sixth try is refused until ten minutes after the first.
        assert_eq!(limit.check(7, t0 + 5_000), Err(595));
        assert_eq!(limit.check(7, t0 + GUESS_WINDOW_MS - 1), Err(1));
        assert_eq!(limit.check(7, t0 + GUESS_WINDOW_MS), Ok(()));
        // Another account is not affected.
        assert_eq!(limit.check(8, t0 + 5_000), Ok(()));
    }
}
