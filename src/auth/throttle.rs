//! Brute-force protection for sign-in, as a rule on plain numbers, with the generic cell
//! rate algorithm (GCRA): a key may spend `max_attempts` at once, then one more each
//! `window / max_attempts`.
//!
//! Every attempt is counted against its *account* before its password is checked, so
//! "5 per 15 minutes" holds however many guesses arrive together. The client *address*
//! is checked before and charged only for a failed attempt: a hall of volunteers behind
//! one address signing in at once is not refused, while an address that keeps failing
//! (one guess each at many accounts) is.
//!
//! The state of a key is one number, its theoretical arrival time (TAT) in milliseconds.
//! The store keeps it in `login_throttle` and applies [`Limit::admit`] under a row lock
//! (`db::throttle`), so several server processes count the same attempts.

use std::time::Duration;

/// Limits for one kind of key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max_attempts: u32,
    pub window: Duration,
}

impl Limit {
    fn window_ms(&self) -> i64 {
        i64::try_from(self.window.as_millis()).unwrap_or(i64::MAX / 4)
    }

    /// How long one attempt keeps occupying the key.
    pub fn interval_ms(&self) -> i64 {
        (self.window_ms() / i64::from(self.max_attempts.max(1))).max(1)
    }

    /// Admits an attempt at `now_ms` to a key whose stored time is `tat_ms` (`None`: no
    /// row). `Ok(new time to store)`, or `Err(seconds to wait)`, at least 1.
    pub fn admit(&self, tat_ms: Option<i64>, now_ms: i64) -> Result<i64, u64> {
        let next = tat_ms.unwrap_or(now_ms).max(now_ms) + self.interval_ms();
        let over = next - now_ms - self.window_ms();
        if over <= 0 {
            Ok(next)
        } else {
            Err(u64::try_from(over).map_or(1, |ms| ms.div_ceil(1000)).max(1))
        }
    }
}

/// The limits of sign-in: per account (the email) and per client address.
#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    pub account: Limit,
    pub address: Limit,
}

impl LoginLimits {
    /// The key an attempt is counted against before its password is checked.
    pub fn account(&self, email: &str) -> (String, Limit) {
        (account_key(email), self.account)
    }

    /// The key that is checked before and charged for failures.
    pub fn address(&self, address: &str) -> (String, Limit) {
        (address_key(address), self.address)
    }
}

/// The key of an account: a success clears it.
pub fn account_key(email: &str) -> String {
    format!("acct:{email}")
}

/// The key of a client address.
pub fn address_key(address: &str) -> String {
    format!("addr:{address}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIVE_PER_15_MIN: Limit = Limit {
        max_attempts: 5,
        window: Duration::from_secs(15 * 60),
    };

    /// Applies `admit` to one key as the store would, keeping the admitted times.
    fn attempts(limit: Limit, times_ms: &[i64]) -> Vec<Result<i64, u64>> {
        let mut tat = None;
        times_ms
            .iter()
            .map(|&now| {
                let answer = limit.admit(tat, now);
                if let Ok(next) = answer {
                    tat = Some(next);
                }
                answer
            })
            .collect()
    }

    #[test]
    fn five_at_once_then_one_every_three_minutes() {
        let burst = attempts(FIVE_PER_15_MIN, &[0; 40]);
        assert_eq!(burst.iter().filter(|a| a.is_ok()).count(), 5);
        // The sixth waits for the first attempt's three minutes to pass.
        assert_eq!(burst[5], Err(180));
        let later = attempts(
            FIVE_PER_15_MIN,
            &[0, 0, 0, 0, 0, 179_000, 180_000, 180_000, 360_000],
        );
        let admitted: Vec<bool> = later.iter().map(Result::is_ok).collect();
        assert_eq!(
            admitted,
            [true, true, true, true, true, false, true, false, true]
        );
        assert_eq!(later[5], Err(1));
    }

    #[test]
    fn a_quiet_key_forgets_its_past() {
        let limit = FIVE_PER_15_MIN;
        let tat = (0..5).try_fold(None, |tat, _| limit.admit(tat, 0).map(Some));
        assert_eq!(tat, Ok(Some(15 * 60 * 1000)));
        // A full window later it may spend the whole burst again.
        let again = (0..5).try_fold(tat.ok().flatten(), |tat, _| {
            limit.admit(tat, 15 * 60 * 1000).map(Some)
        });
        assert!(again.is_ok());
    }

    #[test]
    fn keys_name_the_account_and_the_address() {
        let limits = LoginLimits {
            account: FIVE_PER_15_MIN,
            address: Limit {
                max_attempts: 50,
                window: Duration::from_secs(900),
            },
        };
        let ((acct, a), (addr, b)) = (limits.account("a@x.org"), limits.address("10.0.0.1"));
        assert_eq!((acct.as_str(), a.max_attempts), ("acct:a@x.org", 5));
        assert_eq!((addr.as_str(), b.max_attempts), ("addr:10.0.0.1", 50));
    }
}
