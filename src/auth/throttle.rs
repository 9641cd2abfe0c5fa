//! Brute-force protection for login: failed attempts are counted per account and per
//! client address in a sliding window; past the limit the key is refused until the
//! window has moved on. The state is per process and bounded in size.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Limits for one kind of key.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub max_failures: usize,
    pub window: Duration,
}

/// Counts failures and says when to refuse.
pub struct LoginThrottle {
    account: Limit,
    address: Limit,
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

/// Never track more keys than this; the oldest are dropped first when full.
const MAX_KEYS: usize = 100_000;

impl LoginThrottle {
    pub fn new(account: Limit, address: Limit) -> Self {
        LoginThrottle {
            account,
            address,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn keys(account: &str, address: &str) -> [(String, bool); 2] {
        [
            (format!("acct:{account}"), true),
            (format!("addr:{address}"), false),
        ]
    }

    fn limit(&self, is_account: bool) -> Limit {
        if is_account {
            self.account
        } else {
            self.address
        }
    }

    /// `Err(seconds to wait)` when this account or address has failed too often lately.
    pub fn check(&self, account: &str, address: &str, now: Instant) -> Result<(), u64> {
        let map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let mut wait = Duration::ZERO;
        for (key, is_account) in Self::keys(account, address) {
            let limit = self.limit(is_account);
            if let Some(times) = map.get(&key) {
                let recent: Vec<&Instant> = times
                    .iter()
                    .filter(|t| now.duration_since(**t) < limit.window)
                    .collect();
                if recent.len() >= limit.max_failures {
                    // Refused until enough of the recent failures leave the window.
                    let idx = recent.len() - limit.max_failures;
                    let until = *recent[idx] + limit.window;
                    wait = wait.max(until.saturating_duration_since(now));
                }
            }
        }
        if wait.is_zero() {
            Ok(())
        } else {
            Err(wait.as_secs().max(1))
        }
    }

    /// Records a failed attempt against both keys.
    pub fn fail(&self, account: &str, address: &str, now: Instant) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_KEYS {
            let (account_window, address_window) = (self.account.window, self.address.window);
            let longest = account_window.max(address_window);
            map.retain(|_, times| times.iter().any(|t| now.duration_since(*t) < longest));
            if map.len() >= MAX_KEYS {
                map.clear();
            }
        }
        for (key, is_account) in Self::keys(account, address) {
            let window = self.limit(is_account).window;
            let times = map.entry(key).or_default();
            times.retain(|t| now.duration_since(*t) < window);
            times.push(now);
        }
    }

    /// A successful login clears the account's failures (not the address's).
    pub fn succeed(&self, account: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&format!("acct:{account}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> LoginThrottle {
        LoginThrottle::new(
            Limit {
                max_failures: 3,
                window: Duration::from_secs(60),
            },
            Limit {
                max_failures: 5,
                window: Duration::from_secs(60),
            },
        )
    }

    #[test]
    fn refuses_after_the_limit_and_forgives_after_the_window() {
        let t = throttle();
        let start = Instant::now();
        for _ in 0..3 {
            assert!(t.check("a@x.org", "1.1.1.1", start).is_ok());
            t.fail("a@x.org", "1.1.1.1", start);
        }
        let wait = t.check("a@x.org", "1.1.1.1", start + Duration::from_secs(1));
        assert_eq!(wait, Err(59));
        assert!(
            t.check("a@x.org", "1.1.1.1", start + Duration::from_secs(61))
                .is_ok()
        );
    }

    #[test]
    fn an_address_spraying_many_accounts_is_refused() {
        let t = throttle();
        let now = Instant::now();
        for i in 0..5 {
            t.fail(&format!("user{i}@x.org"), "6.6.6.6", now);
        }
        assert!(t.check("fresh@x.org", "6.6.6.6", now).is_err());
        assert!(t.check("fresh@x.org", "7.7.7.7", now).is_ok());
    }

    #[test]
    fn success_clears_the_account_but_not_the_address() {
        let t = throttle();
        let now = Instant::now();
        for _ in 0..2 {
            t.fail("a@x.org", "1.1.1.1", now);
        }
        t.succeed("a@x.org");
        t.fail("a@x.org", "1.1.1.1", now);
        assert!(t.check("a@x.org", "2.2.2.2", now).is_ok());
    }
}
