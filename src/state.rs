//! The one state shared by all handlers.

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use tokio::sync::Notify;

use crate::auth::jwt::JwtKeys;
use crate::auth::profile_cache::ProfileCache;
use crate::auth::throttle::LoginThrottle;
use crate::config::Settings;
use crate::db::DbPool;

/// Registered once as `web::Data<AppState>`.
pub struct AppState {
    pub db: DbPool,
    pub jwt: JwtKeys,
    pub login_throttle: LoginThrottle,
    pub settings: Settings,
    /// `api-spec/openapi.yaml`, converted to JSON once at start.
    pub openapi_json: String,
    pub metrics: PrometheusHandle,
    /// Wakes the push worker when a change wrote messages to the outbox.
    pub push_wakeup: Arc<Notify>,
    /// `GET /api/v1/me` answers, kept for a moment.
    pub profiles: ProfileCache,
}
