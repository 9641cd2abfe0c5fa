//! A person's supporter score and the history that explains it.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::views::utc;
use crate::auth::AuthUser;
use crate::db;
use crate::domain::Role;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Serialize)]
pub struct Change {
    pub rule: String,
    pub knock_id: Option<i64>,
    pub old_score: Option<f64>,
    pub new_score: f64,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
pub struct ScoreView {
    pub person_id: i64,
    /// The score from the voter file.
    pub imported_score: Option<f64>,
    /// The score now: the imported one, the person's evidence, and cell pooling.
    pub score: Option<f64>,
    /// Every change to the person's own score, oldest first.
    pub history: Vec<Change>,
}

/// `GET /api/v1/people/{id}/score` (organizer and above).
pub async fn get(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let id = path.into_inner();
    let view = db::run(&state.db, move |conn| {
        let (prior, cell) = db::scores::person_with_cell(conn, auth.campaign_id, id)?
            .ok_or_else(|| ApiError::not_found("person"))?;
        let score = db::scores::effective(conn, auth.campaign_id, &[(id, prior, cell)])?
            .get(&id)
            .copied();
        let history = db::scores::history_of(conn, auth.campaign_id, id)?
            .into_iter()
            .map(|h| Change {
                rule: h.rule,
                knock_id: h.knock_id,
                old_score: h.old_score,
                new_score: h.new_score,
                created_at: utc(h.created_at),
            })
            .collect();
        Ok(ScoreView {
            person_id: id,
            imported_score: prior,
            score,
            history,
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}
