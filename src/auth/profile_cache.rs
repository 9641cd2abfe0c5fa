//! The signed-in user's profile as `GET /api/v1/me` answers it, kept for a moment.
//!
//! Phones ask "who am I" on every start and every sync screen. Each answer needs the
//! user row (a deactivated account must stop getting one), and reading it means handing
//! the request to the blocking pool and back: measured with `benches/load.sh`, that
//! hand-off cost three quarters of the endpoint's throughput. The answer is kept, already
//! serialised, for a short time (2 s by default): changes made through this server drop
//! it at once, and changes made through another server show within that time, which is
//! far less than an access token lives anyway (the token alone authorises every other
//! endpoint until it expires).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use actix_web::web::Bytes;

/// More entries than this and the expired ones are swept out (all of them, if none
/// has expired), so memory stays bounded whatever the number of users.
const MAX_ENTRIES: usize = 50_000;

/// (campaign, user) → the JSON body and when it was read.
pub struct ProfileCache {
    ttl: Duration,
    entries: Mutex<HashMap<(i64, i64), (Instant, Bytes)>>,
}

impl ProfileCache {
    /// A cache keeping answers for `ttl`; a zero `ttl` keeps nothing.
    pub fn new(ttl: Duration) -> Self {
        ProfileCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub fn get(&self, campaign_id: i64, user_id: i64, now: Instant) -> Option<Bytes> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let (read_at, body) = entries.get(&(campaign_id, user_id))?;
        (now.duration_since(*read_at) < self.ttl).then(|| body.clone())
    }

    pub fn put(&self, campaign_id: i64, user_id: i64, read_at: Instant, body: Bytes) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= MAX_ENTRIES {
            let ttl = self.ttl;
            entries.retain(|_, (at, _)| read_at.saturating_duration_since(*at) < ttl);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert((campaign_id, user_id), (read_at, body));
    }

    /// Drops a user's kept answer: their row just changed.
    pub fn forget(&self, campaign_id: i64, user_id: i64) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&(campaign_id, user_id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_until_the_time_is_up_or_the_user_changes() {
        let cache = ProfileCache::new(Duration::from_secs(2));
        let t0 = Instant::now();
        cache.put(1, 7, t0, Bytes::from_static(b"{\"id\":7}"));
        assert_eq!(
            cache.get(1, 7, t0 + Duration::from_millis(1999)).as_deref(),
            Some(&b"{\"id\":7}"[..])
        );
        assert_eq!(cache.get(1, 7, t0 + Duration::from_secs(2)), None);
        // Another campaign's user with the same id is another entry.
        assert_eq!(cache.get(2, 7, t0), None);
        cache.forget(1, 7);
        assert_eq!(cache.get(1, 7, t0), None);
    }

    #[test]
    fn a_zero_time_keeps_nothing_and_the_size_stays_bounded() {
        let off = ProfileCache::new(Duration::ZERO);
        let t0 = Instant::now();
        off.put(1, 1, t0, Bytes::new());
        assert_eq!(off.get(1, 1, t0), None);

        let cache = ProfileCache::new(Duration::from_secs(2));
        for user in 0..(MAX_ENTRIES as i64 + 10) {
            cache.put(1, user, t0, Bytes::new());
        }
        let len = cache.entries.lock().map(|e| e.len()).unwrap_or(usize::MAX);
        assert!(len <= MAX_ENTRIES, "{len} entries");
        // The newest answer is always kept.
        assert!(cache.get(1, MAX_ENTRIES as i64 + 9, t0).is_some());
    }
}
