//! Voter-file imports over HTTP: the CSV body is spooled to a temporary file (never
//! held in memory), the import runs on its own thread, and its progress is read back.

use std::io::{Seek, Write};
use std::time::{Duration, Instant};

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::Serialize;

use super::store;
use super::views::utc;
use crate::auth::AuthUser;
use crate::db::{self, DbPool};
use crate::domain::Role;
use crate::error::ApiError;
use crate::import::{self, RowError};
use crate::state::AppState;

#[derive(Debug, Serialize)]
pub struct ImportView {
    pub id: i64,
    pub kind: String,
    pub status: String,
    pub rows_read: i64,
    pub created: i64,
    pub updated: i64,
    pub rejected: i64,
    pub errors: Vec<RowError>,
    pub message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<db::imports::ImportRun> for ImportView {
    fn from(run: db::imports::ImportRun) -> Self {
        ImportView {
            id: run.id,
            errors: serde_json::from_str(&run.errors).unwrap_or_default(),
            kind: run.kind,
            status: run.status,
            rows_read: run.rows_read,
            created: run.created,
            updated: run.updated,
            rejected: run.rejected,
            message: run.message,
            created_at: utc(run.created_at),
            finished_at: run.finished_at.map(utc),
        }
    }
}

/// Spooled body bytes are written in pieces of this size.
const SPOOL_CHUNK: usize = 1024 * 1024;

pub async fn create_people(
    state: web::Data<AppState>,
    auth: AuthUser,
    req: HttpRequest,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let mime = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if mime != "text/csv" && mime != "application/csv" {
        return Err(ApiError::UnsupportedMediaType(
            "the body must be a CSV file (Content-Type: text/csv)".into(),
        ));
    }
    let limit = state.settings.max_import_bytes;
    let too_large = || ApiError::TooLarge {
        message: format!("the file is larger than the import limit of {limit} bytes"),
        details: serde_json::json!({ "limit_bytes": limit }),
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }

    let mut file = web::block(tempfile::tempfile)
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("spool task failed: {e}")))?
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("cannot create a spool file: {e}")))?;
    let mut buffer: Vec<u8> = Vec::with_capacity(SPOOL_CHUNK);
    // The file's first bytes, to check its header before queueing it.
    let mut start: Vec<u8> = Vec::new();
    let mut total: u64 = 0;
    loop {
        let chunk = payload.next().await;
        let done = chunk.is_none();
        if let Some(chunk) = chunk {
            let chunk = chunk.map_err(|e| ApiError::BadRequest {
                message: format!("could not read the request body: {e}"),
                details: serde_json::Value::Null,
            })?;
            total += chunk.len() as u64;
            if total > limit {
                return Err(too_large());
            }
            let room = import::MAX_ROW_BYTES.saturating_sub(start.len());
            start.extend_from_slice(&chunk[..room.min(chunk.len())]);
            buffer.extend_from_slice(&chunk);
        }
        if buffer.len() >= SPOOL_CHUNK || (done && !buffer.is_empty()) {
            let data = std::mem::take(&mut buffer);
            file = web::block(move || file.write_all(&data).map(|()| file))
                .await
                .map_err(|e| ApiError::Internal(anyhow::anyhow!("spool task failed: {e}")))?
                .map_err(|e| {
                    ApiError::Internal(anyhow::anyhow!("cannot write the spool file: {e}"))
                })?;
        }
        if done {
            break;
        }
    }
    if total == 0 {
        return Err(ApiError::validation(
            "body",
            "the file is empty: expected a header row and people",
        ));
    }
    let whole = total == start.len() as u64;
    import::check_header(&start, whole).map_err(|e| ApiError::validation("body", e.to_string()))?;

    let run = store::run(&state.db, move |conn| {
        let run = db::imports::create(conn, auth.campaign_id, "people", Some(auth.user_id))?;
        db::audit::record(
            conn,
            db::audit::Change {
                campaign_id: auth.campaign_id,
                actor_id: Some(auth.user_id),
                action: "import.start",
                target_type: "import",
                target_id: Some(run.id),
                details: serde_json::json!({ "kind": "people", "bytes": total }),
            },
        )?;
        Ok(run)
    })
    .await?;
    let pool = state.db.clone();
    let (campaign_id, id) = (run.campaign_id, run.id);
    std::thread::Builder::new()
        .name(format!("import-{id}"))
        .spawn(move || run_import(&pool, campaign_id, id, file))
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("cannot start the import: {e}")))?;
    Ok(HttpResponse::Accepted()
        .insert_header((header::LOCATION, format!("/api/v1/imports/{id}")))
        .json(ImportView::from(run)))
}

/// Runs one import to its end, recording progress at most twice a second.
fn run_import(pool: &DbPool, campaign_id: i64, id: i64, mut file: std::fs::File) {
    let mut conn = match pool.get() {
        Ok(conn) => conn,
        Err(e) => {
            tracing::error!(import = id, error = %e, "no database connection for the import");
            return;
        }
    };
    let to_progress = |report: &import::Report| db::imports::Progress {
        rows_read: i64::try_from(report.rows_read).unwrap_or(i64::MAX),
        created: i64::try_from(report.created).unwrap_or(i64::MAX),
        updated: i64::try_from(report.updated).unwrap_or(i64::MAX),
        rejected: i64::try_from(report.rejected).unwrap_or(i64::MAX),
        errors_json: serde_json::to_string(&report.errors).unwrap_or_else(|_| "[]".into()),
    };
    let started = db::imports::record(
        &mut conn,
        campaign_id,
        id,
        &db::imports::Progress {
            errors_json: "[]".into(),
            ..Default::default()
        },
        None,
    );
    if let Err(e) = started {
        tracing::error!(import = id, error = %e, "cannot mark the import as running");
    }
    let mut last = Instant::now();
    let mut latest = import::Report::default();
    let result = file
        .rewind()
        .map_err(|e| import::ImportError::Read(e.to_string()))
        .and_then(|()| {
            import::import_people(
                &mut conn,
                campaign_id,
                std::io::BufReader::new(file),
                &mut |c, report| {
                    latest = report.clone();
                    if last.elapsed() >= Duration::from_millis(500) {
                        last = Instant::now();
                        db::imports::record(c, campaign_id, id, &to_progress(report), None)?;
                    }
                    Ok(())
                },
            )
        });
    let outcome = match &result {
        Ok(report) => {
            let message = (!report.ignored_columns.is_empty())
                .then(|| format!("ignored columns: {}", report.ignored_columns.join(", ")));
            db::imports::record(
                &mut conn,
                campaign_id,
                id,
                &to_progress(report),
                Some(("done", message.as_deref())),
            )
        }
        Err(e) => {
            let message = e.to_string();
            db::imports::record(
                &mut conn,
                campaign_id,
                id,
                &to_progress(&latest),
                Some(("failed", Some(&message))),
            )
        }
    };
    if let Err(e) = outcome {
        tracing::error!(import = id, error = %e, "cannot record the end of the import");
    }
    match result {
        Ok(report) => tracing::info!(
            import = id,
            rows = report.rows_read,
            created = report.created,
            updated = report.updated,
            rejected = report.rejected,
            "import done"
        ),
        Err(e) => tracing::warn!(import = id, error = %e, "import failed"),
    }
}

pub async fn get(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let id = path.into_inner();
    let run = store::run(&state.db, move |conn| {
        let run = db::imports::get(conn, auth.campaign_id, id)?
            .ok_or_else(|| ApiError::not_found("import"))?;
        if db::imports::fail_if_stale(conn, &run)? {
            return db::imports::get(conn, auth.campaign_id, id)?
                .ok_or_else(|| ApiError::not_found("import"));
        }
        Ok(run)
    })
    .await?;
    Ok(HttpResponse::Ok().json(ImportView::from(run)))
}
