//! What a request needs to know of its user, kept for a moment: whether the account is
//! active and its current role (read by every authenticated request), and the profile
//! as `GET /api/v1/me` answers it.
//!
//! Phones ask "who am I" on every start and every sync screen. Each answer needs the
//! user row (a deactivated account must stop getting one), and reading it means handing
//! the request to the blocking pool and back: measured with `benches/load.sh`, that
//! hand-off cost three quarters of the endpoint's throughput. The answer is kept, already
//! serialised, for a short time (2 s by default): changes made through this server drop
//! it at once, and changes made through another server show within that time, which is
//! far less than an access token lives. Every request acts with the user's state and
//! role as stored at most that long ago, whichever server changed them: a deactivated
//! or demoted user loses their powers everywhere within 2 s.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use actix_web::web::Bytes;

/// More entries than this and the expired ones are swept out (all of them, if none
/// has expired), so memory stays bounded whatever the number of users.
const MAX_ENTRIES: usize = 50_000;

/// (campaign, user) → a value (the JSON body, the account's state) and when it was read.
pub struct ProfileCache<V = Bytes> {
    ttl: Duration,
    entries: Mutex<Entries<V>>,
}

struct Entries<V> {
    kept: HashMap<(i64, i64), (Instant, V)>,
    /// When each user's row last changed here: an answer read before that (by a
    /// request that was still running) is not kept.
    changed: HashMap<(i64, i64), Instant>,
}

impl<V> Default for Entries<V> {
    fn default() -> Self {
        Entries {
            kept: HashMap::new(),
            changed: HashMap::new(),
        }
    }
}

impl<V: Clone> ProfileCache<V> {
    /// A cache keeping answers for `ttl`; a zero `ttl` keeps nothing.
    pub fn new(ttl: Duration) -> Self {
        ProfileCache {
            ttl,
            entries: Mutex::new(Entries::default()),
        }
    }

    pub fn get(&self, campaign_id: i64, user_id: i64, now: Instant) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let (read_at, body) = entries.kept.get(&(campaign_id, user_id))?;
        (now.duration_since(*read_at) < self.ttl).then(|| body.clone())
    }

    pub fn put(&self, campaign_id: i64, user_id: i64, read_at: Instant, body: V) {
        if self.ttl.is_zero() {
            return;
        }
        let key = (campaign_id, user_id);
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.changed.get(&key).is_some_and(|&at| at >= read_at) {
            return;
        }
        let ttl = self.ttl;
        let fresh = |at: &Instant| read_at.saturating_duration_since(*at) < ttl;
        if entries.kept.len() >= MAX_ENTRIES {
            entries.kept.retain(|_, (at, _)| fresh(at));
            if entries.kept.len() >= MAX_ENTRIES {
                entries.kept.clear();
            }
        }
        if entries.changed.len() >= MAX_ENTRIES {
            // A change older than the time an answer is kept can spoil no answer.
            entries.changed.retain(|_, at| fresh(at));
        }
        entries.kept.insert(key, (read_at, body));
    }

    /// Drops a user's kept answer, and refuses any answer read before now: their row
    /// just changed.
    pub fn forget(&self, campaign_id: i64, user_id: i64, now: Instant) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.kept.remove(&(campaign_id, user_id));
        entries.changed.insert((campaign_id, user_id), now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_until_the_time_is_up_or_the_user_changes() {
        let cache: ProfileCache = ProfileCache::new(Duration::from_secs(2));
        let t0 = Instant::now();
        cache.put(1, 7, t0, Bytes::from_static(b"{\"id\":7}"));
        assert_eq!(
            cache.get(1, 7, t0 + Duration::from_millis(1999)).as_deref(),
            Some(&b"{\"id\":7}"[..])
        );
        assert_eq!(cache.get(1, 7, t0 + Duration::from_secs(2)), None);
        // Another campaign's user with the same id is another entry.
        assert_eq!(cache.get(2, 7, t0), None);
        cache.forget(1, 7, t0 + Duration::from_millis(5));
        assert_eq!(cache.get(1, 7, t0), None);
        // A request that read the row before the change finishes after it: its answer
        // is not kept; one that read after the change is.
        cache.put(
            1,
            7,
            t0 + Duration::from_millis(4),
            Bytes::from_static(b"old"),
        );
        assert_eq!(cache.get(1, 7, t0 + Duration::from_millis(6)), None);
        cache.put(
            1,
            7,
            t0 + Duration::from_millis(6),
            Bytes::from_static(b"new"),
        );
        assert_eq!(
            cache.get(1, 7, t0 + Duration::from_millis(7)).as_deref(),
            Some(&b"new"[..])
        );
    }

    #[test]
    fn a_zero_time_keeps_nothing_and_the_size_stays_bounded() {
        let off: ProfileCache = ProfileCache::new(Duration::ZERO);
        let t0 = Instant::now();
        off.put(1, 1, t0, Bytes::new());
        assert_eq!(off.get(1, 1, t0), None);

        let cache: ProfileCache = ProfileCache::new(Duration::from_secs(2));
        for user in 0..(MAX_ENTRIES as i64 + 10) {
            cache.put(1, user, t0, Bytes::new());
        }
        let len = cache
            .entries
            .lock()
            .map(|e| e.kept.len())
            .unwrap_or(usize::MAX);
        assert!(len <= MAX_ENTRIES, "{len} entries");
        // The newest answer is always kept.
        assert!(cache.get(1, MAX_ENTRIES as i64 + 9, t0).is_some());
    }
}
