//! Voter-file imports over HTTP: the CSV body is stored in the database a piece at a
//! time as it arrives (never held whole in memory), any server runs the import as a
//! job (`crate::import::jobs`), and its progress is read back.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::Serialize;

use super::store;
use super::views::utc;
use crate::auth::AuthUser;
use crate::db;
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

    // The file goes to the database a piece at a time as it arrives, where any server
    // can run the import (see `import::jobs`); it is never held whole in memory.
    let run = store::run(&state.db, move |conn| {
        Ok(db::imports::create(
            conn,
            auth.campaign_id,
            "people",
            Some(auth.user_id),
        )?)
    })
    .await?;
    let (campaign_id, id) = (run.campaign_id, run.id);
    let received = receive(&state, campaign_id, id, &mut payload, limit).await;
    let total = match received {
        Ok(r) => r,
        Err(e) => {
            // Nothing of a refused upload is kept.
            let _ = store::run(&state.db, move |conn| {
                Ok(db::imports::discard(conn, campaign_id, id)?)
            })
            .await;
            return Err(e);
        }
    };
    let run = store::run(&state.db, move |conn| {
        let run = db::imports::queue(
            conn,
            campaign_id,
            id,
            i64::try_from(total).unwrap_or(i64::MAX),
        )?;
        db::audit::record(
            conn,
            db::audit::Change {
                campaign_id,
                actor_id: Some(auth.user_id),
                action: "import.start",
                target_type: "import",
                target_id: Some(id),
                details: serde_json::json!({ "kind": "people", "bytes": total }),
            },
        )?;
        Ok(run)
    })
    .await?;
    state.import_wakeup.notify_one();
    Ok(HttpResponse::Accepted()
        .insert_header((header::LOCATION, format!("/api/v1/imports/{id}")))
        .json(ImportView::from(run)))
}

/// Reads the body into the import's pieces, refusing a file past `limit` or one whose
/// header cannot be imported; answers the size and the file's first bytes.
async fn receive(
    state: &web::Data<AppState>,
    campaign_id: i64,
    id: i64,
    payload: &mut web::Payload,
    limit: u64,
) -> Result<u64, ApiError> {
    let too_large = || ApiError::TooLarge {
        message: format!("the file is larger than the import limit of {limit} bytes"),
        details: serde_json::json!({ "limit_bytes": limit }),
    };
    let mut buffer: Vec<u8> = Vec::with_capacity(SPOOL_CHUNK);
    // The file's first bytes, to check its header before queueing it.
    let mut start: Vec<u8> = Vec::new();
    let mut total: u64 = 0;
    let mut seq: i64 = 0;
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
            let piece = seq;
            store::write_run(&state.db, move |conn| {
                Ok(db::imports::add_chunk(conn, campaign_id, id, piece, &data)?)
            })
            .await?;
            seq += 1;
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
    Ok(total)
}

pub async fn get(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let id = path.into_inner();
    let run = store::run(&state.db, move |conn| {
        db::imports::get(conn, auth.campaign_id, id)?.ok_or_else(|| ApiError::not_found("import"))
    })
    .await?;
    Ok(HttpResponse::Ok().json(ImportView::from(run)))
}
