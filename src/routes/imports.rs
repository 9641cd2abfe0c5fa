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
use crate::app::{Actor, imports};
use crate::auth::AuthUser;
use crate::db;
use crate::db::imports::ImportRun;
use crate::domain::Role;
use crate::error::ApiError;
use crate::import::RowError;
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

/// `POST /api/v1/imports/people`: the CSV body is stored as it arrives and queued;
/// 202 with where to follow the run.
pub async fn create_people(
    state: web::Data<AppState>,
    auth: AuthUser,
    req: HttpRequest,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    check_csv(&req)?;
    let limit = state.settings.max_import_bytes;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(imports::too_large(limit).into());
    }
    let actor = Actor::from(&auth);
    let run = store::run(&state.db, move |c| Ok(imports::open(c, actor, "people")?)).await?;
    let id = run.id;
    let queued = match receive(&state, &run, &mut payload, limit).await {
        Ok(total) => {
            store::run(&state.db, move |c| {
                Ok(imports::queue(c, actor, &run, total)?)
            })
            .await?
        }
        Err(e) => {
            // Nothing of a refused upload is kept.
            let _ = store::run(&state.db, move |c| Ok(imports::discard(c, &run)?)).await;
            return Err(e);
        }
    };
    state.import_wakeup.notify_one();
    Ok(HttpResponse::Accepted()
        .insert_header((header::LOCATION, format!("/api/v1/imports/{id}")))
        .json(ImportView::from(queued)))
}

/// Refuses (415) a body that is not declared CSV.
fn check_csv(req: &HttpRequest) -> Result<(), ApiError> {
    let mime = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if mime == "text/csv" || mime == "application/csv" {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(
            "the body must be a CSV file (Content-Type: text/csv)".into(),
        ))
    }
}

/// Moves the body from the socket into the store a piece at a time; the file's size.
async fn receive(
    state: &web::Data<AppState>,
    run: &ImportRun,
    payload: &mut web::Payload,
    limit: u64,
) -> Result<u64, ApiError> {
    let mut spool = imports::Spool::new(limit);
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest {
            message: format!("could not read the request body: {e}"),
            details: serde_json::Value::Null,
        })?;
        if let Some(piece) = spool.push(&chunk)? {
            store_piece(state, run, piece).await?;
        }
    }
    let (last, total) = spool.finish()?;
    if let Some(piece) = last {
        store_piece(state, run, piece).await?;
    }
    Ok(total)
}

async fn store_piece(
    state: &web::Data<AppState>,
    run: &ImportRun,
    piece: imports::Piece,
) -> Result<(), ApiError> {
    let run = run.clone();
    store::write_run(&state.db, move |c| {
        Ok(imports::store_piece(c, &run, &piece)?)
    })
    .await
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
