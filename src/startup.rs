//! Builds the application from settings: database, keys, state, HTTP server.
//! Tests build it on port 0 and read the port back.

use std::net::TcpListener;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers, from_fn};
use actix_web::{App, HttpResponse, HttpServer, web};
use tracing_actix_web::TracingLogger;

use crate::auth::jwt::JwtKeys;
use crate::auth::throttle::{Limit, LoginLimits};
use crate::config::{self, Settings};
use crate::db::{self, Backend};
use crate::error::{ApiError, error_body};
use crate::state::AppState;
use crate::{pages, push, routes, telemetry};

/// A built, bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
}

/// The contract, parsed once: a broken spec stops the server from starting.
pub fn openapi_json() -> anyhow::Result<String> {
    let yaml = include_str!("../api-spec/openapi.yaml");
    let value: serde_json::Value =
        yaml_serde::from_str(yaml).map_err(|e| anyhow::anyhow!("api-spec/openapi.yaml: {e}"))?;
    Ok(value.to_string())
}

/// The JWT secret from the settings, or for SQLite the one kept beside the database.
fn jwt_secret(settings: &Settings) -> anyhow::Result<String> {
    if let Some(secret) = &settings.jwt_secret {
        return Ok(secret.clone());
    }
    match Backend::from_url(&settings.database_url) {
        Backend::Postgres => anyhow::bail!(
            "GROUNDSWELL_JWT_SECRET must be set when running on PostgreSQL (at least 32 bytes)"
        ),
        Backend::Sqlite => config::load_or_create_secret(&config::secret_file_for(
            db::sqlite_path(&settings.database_url),
        )),
    }
}

/// The shared state: connects and migrates the database, loads keys.
pub fn build_state(settings: Settings) -> anyhow::Result<AppState> {
    let pool = db::connect_with_limit(
        &settings.database_url,
        settings.db_pool_size,
        settings.statement_timeout,
    )?;
    let jwt = JwtKeys::new(jwt_secret(&settings)?.as_bytes(), settings.access_token_ttl)?;
    let attempts = |n: usize| u32::try_from(n).unwrap_or(u32::MAX).max(1);
    let login_limits = LoginLimits {
        account: Limit {
            max_attempts: attempts(settings.login_max_failures_per_account),
            window: settings.login_failure_window,
        },
        address: Limit {
            max_attempts: attempts(settings.login_max_failures_per_address),
            window: settings.login_failure_window,
        },
    };
    Ok(AppState {
        db: pool,
        jwt,
        login_limits,
        throttle_swept: std::sync::Mutex::new(None),
        openapi_json: openapi_json()?,
        metrics: telemetry::metrics_handle()?,
        push_wakeup: std::sync::Arc::new(tokio::sync::Notify::new()),
        import_wakeup: std::sync::Arc::new(tokio::sync::Notify::new()),
        profiles: crate::auth::profile_cache::ProfileCache::new(settings.profile_cache_ttl),
        accounts: crate::auth::profile_cache::ProfileCache::new(settings.profile_cache_ttl),
        settings,
    })
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&settings.addr)
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.addr))?;
        let workers = settings.workers;
        let state = web::block(move || build_state(settings))
            .await
            .map_err(|e| anyhow::anyhow!("startup task failed: {e}"))??;
        let port = listener.local_addr()?.port();
        let client = push::worker::client_from_settings(&state.settings.push)?;
        if client.is_none() {
            tracing::warn!(
                "push is not configured (no FCM credentials file): messages are kept as skipped"
            );
        }
        tokio::spawn(push::worker::run_push_worker(
            state.db.clone(),
            client.map(std::sync::Arc::new),
            state.settings.push.clone(),
            state.push_wakeup.clone(),
        ));
        tokio::spawn(push::worker::run_expiry_sweep(
            state.db.clone(),
            state.settings.expiry_sweep_interval,
            state.push_wakeup.clone(),
        ));
        if state.settings.import_jobs {
            tokio::spawn(crate::import::jobs::run_import_jobs(
                state.db.clone(),
                state.settings.import_poll_interval,
                state.import_wakeup.clone(),
            ));
        }
        let server = serve(listener, web::Data::new(state), workers)?;
        Ok(Application { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs until SIGTERM/SIGINT, then stops accepting and lets requests in flight finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

fn serve(
    listener: TcpListener,
    state: web::Data<AppState>,
    workers: Option<usize>,
) -> anyhow::Result<Server> {
    // Every query runs on the blocking pool and needs a pooled connection, so more
    // blocking threads than connections only queue up on the pool's lock and wake each
    // other for nothing (measured: the authenticated read ran at a fifth of /healthz).
    let blocking_threads = usize::try_from(state.db.max_size()).unwrap_or(8).max(2);
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(web::QueryConfig::default().error_handler(|err, _req| {
                ApiError::Validation {
                    field: None,
                    message: format!("invalid query string: {err}"),
                }
                .into()
            }))
            .app_data(web::PathConfig::default().error_handler(|err, _req| {
                ApiError::BadRequest {
                    message: format!("invalid path parameter: {err}"),
                    details: serde_json::Value::Null,
                }
                .into()
            }))
            .configure(routes::configure)
            .configure(pages::configure)
            .default_service(web::to(routes::route_not_found))
            .wrap(ErrorHandlers::new().default_handler(json_error_body))
            .wrap(from_fn(telemetry::record_metrics))
            .wrap(TracingLogger::<telemetry::RequestSpan>::new())
    })
    .shutdown_timeout(30)
    .worker_max_blocking_threads(blocking_threads)
    .listen(listener)?;
    if let Some(n) = workers {
        server = server.workers(n);
    }
    Ok(server.run())
}

/// Gives any error response that is not already ours (actix's own 4xx/5xx) our JSON shape.
fn json_error_body<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    // Ours already: JSON from the API, HTML from the pages.
    let is_ours = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    if is_ours {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let code = if status.is_server_error() {
        "internal"
    } else {
        "bad_request"
    };
    let message = status.canonical_reason().unwrap_or("error").to_lowercase();
    let (req, _) = res.into_parts();
    let response =
        HttpResponse::build(status).json(error_body(code, &message, serde_json::Value::Null));
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, response).map_into_right_body(),
    ))
}
