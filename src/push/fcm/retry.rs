//! When to retry: exponential backoff with full jitter, floored by `Retry-After`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// First retry delay of [`backoff`].
pub const BACKOFF_BASE: Duration = Duration::from_secs(1);
/// Longest delay [`backoff`] picks on its own (a longer `Retry-After` still wins).
pub const BACKOFF_CAP: Duration = Duration::from_secs(15 * 60);

/// Delay before retry number `attempt` (0 for the first retry): "full jitter" exponential
/// backoff, a uniform pick in `[BACKOFF_BASE, min(BACKOFF_CAP, BACKOFF_BASE * 2^attempt)]`.
/// A `Retry-After` from the server is a floor (and may exceed the cap).
pub fn backoff(attempt: u32, retry_after: Option<Duration>) -> Duration {
    let delay = jittered(backoff_ceiling(attempt), random_u64());
    retry_after.map_or(delay, |floor| delay.max(floor))
}

/// `min(BACKOFF_CAP, BACKOFF_BASE * 2^attempt)`.
fn backoff_ceiling(attempt: u32) -> Duration {
    // 2^20 seconds is far beyond the cap already.
    let factor = 1_u32 << attempt.min(20);
    BACKOFF_BASE.saturating_mul(factor).min(BACKOFF_CAP)
}

/// A point in `[BACKOFF_BASE, ceiling]` picked by `random`.
fn jittered(ceiling: Duration, random: u64) -> Duration {
    let low = u64::try_from(BACKOFF_BASE.as_millis()).unwrap_or(u64::MAX);
    let high = u64::try_from(ceiling.as_millis())
        .unwrap_or(u64::MAX)
        .max(low);
    let span = (high - low).saturating_add(1);
    Duration::from_millis(low + random % span)
}

fn random_u64() -> u64 {
    getrandom::u64().unwrap_or_else(|_| {
        // No OS randomness: the clock's nanoseconds still spread concurrent retries.
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::from(d.subsec_nanos()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_ceiling_grows_then_caps() {
        assert_eq!(backoff_ceiling(0), Duration::from_secs(1));
        assert_eq!(backoff_ceiling(1), Duration::from_secs(2));
        assert_eq!(backoff_ceiling(2), Duration::from_secs(4));
        assert_eq!(backoff_ceiling(9), Duration::from_secs(512));
        assert_eq!(backoff_ceiling(10), BACKOFF_CAP);
        assert_eq!(backoff_ceiling(u32::MAX), BACKOFF_CAP);
    }

    #[test]
    fn jitter_stays_within_base_and_ceiling() {
        let ceiling = Duration::from_secs(8);
        assert_eq!(jittered(ceiling, 0), BACKOFF_BASE);
        assert_eq!(jittered(ceiling, 7000), ceiling);
        assert_eq!(jittered(ceiling, 7001), BACKOFF_BASE);
        assert!(jittered(ceiling, u64::MAX) <= ceiling);
        assert_eq!(jittered(BACKOFF_BASE, u64::MAX), BACKOFF_BASE);
    }

    #[test]
    fn backoff_bounds_growth_and_cap() {
        for attempt in 0..40 {
            let ceiling = backoff_ceiling(attempt);
            for _ in 0..50 {
                let d = backoff(attempt, None);
                assert!(
                    d >= BACKOFF_BASE && d <= ceiling,
                    "attempt {attempt}: {d:?}"
                );
                assert!(d <= BACKOFF_CAP);
            }
        }
        // Growth: late attempts wait longer on average than early ones.
        let mean = |attempt| {
            (0..200)
                .map(|_| backoff(attempt, None).as_secs_f64())
                .sum::<f64>()
                / 200.0
        };
        let (m2, m6, m12) = (mean(2), mean(6), mean(12));
        assert!(m2 < m6 && m6 < m12, "{m2} {m6} {m12}");
        assert!(
            m12 > 300.0,
            "capped attempts should average ~7.5 min, got {m12}"
        );
        // Jitter: a burst of retries does not all pick the same delay.
        let picks: std::collections::BTreeSet<_> = (0..20).map(|_| backoff(8, None)).collect();
        assert!(picks.len() > 1);
    }

    #[test]
    fn retry_after_is_a_floor() {
        let floor = Duration::from_secs(90);
        for attempt in 0..5 {
            assert!(backoff(attempt, Some(floor)) >= floor);
        }
        // Longer than the cap: still honoured.
        let long = Duration::from_secs(3600);
        assert_eq!(backoff(30, Some(long)), long);
        // Shorter than the jittered delay: the jitter wins.
        let d = backoff(12, Some(Duration::from_millis(1)));
        assert!(d >= BACKOFF_BASE);
    }
}
