//! Operations: liveness, readiness, metrics and the served contract.

use actix_web::{HttpResponse, web};
use diesel::connection::SimpleConnection;
use serde_json::json;

use super::store;
use crate::error::ApiError;
use crate::state::AppState;

/// The process is up; no dependency is consulted.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// The database answers a query.
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    store::run(&state.db, |conn| {
        conn.batch_execute("SELECT 1").map_err(|e| {
            tracing::warn!(error = %e, "readiness query failed");
            ApiError::Unavailable("the database does not answer".into())
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "status": "ready" })))
}

/// Prometheus text exposition, with the pool's state read at scrape time.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.db.state();
    metrics::gauge!("db_pool_connections").set(f64::from(pool.connections));
    metrics::gauge!("db_pool_idle_connections").set(f64::from(pool.idle_connections));
    metrics::gauge!("db_pool_max_size").set(f64::from(state.db.max_size()));
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}

/// `api-spec/openapi.yaml` as JSON.
pub async fn openapi(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(state.openapi_json.clone())
}
