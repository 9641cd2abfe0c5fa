//! The one state shared by all handlers.

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use tokio::sync::Notify;

use crate::auth::jwt::JwtKeys;
use crate::auth::profile_cache::ProfileCache;
use crate::auth::throttle::LoginLimits;
use crate::config::Settings;
use crate::db::DbPool;
use crate::domain::Role;

/// Registered once as `web::Data<AppState>`.
pub struct AppState {
    pub db: DbPool,
    pub jwt: JwtKeys,
    pub login_limits: LoginLimits,
    /// When this process last swept spent sign-in throttle keys.
    pub throttle_swept: std::sync::Mutex<Option<std::time::Instant>>,
    pub settings: Settings,
    /// `api-spec/openapi.yaml`, converted to JSON once at start.
    pub openapi_json: String,
    pub metrics: PrometheusHandle,
    /// Wakes the push worker when a change wrote messages to the outbox.
    pub push_wakeup: Arc<Notify>,
    /// Wakes the import runner when an upload was queued on this server.
    pub import_wakeup: Arc<Notify>,
    /// `GET /api/v1/me` answers, kept for a moment.
    pub profiles: ProfileCache,
    /// Each user's current role, or `None` when the account is deactivated or gone,
    /// kept for the same moment: every request acts with it, not with the token's.
    pub accounts: ProfileCache<Option<Role>>,
}

impl AppState {
    /// A user's row changed through this server: what was kept of it is dropped.
    pub fn user_changed(&self, campaign_id: i64, user_id: i64) {
        let now = std::time::Instant::now();
        self.profiles.forget(campaign_id, user_id, now);
        self.accounts.forget(campaign_id, user_id, now);
    }
}
