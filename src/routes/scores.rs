//! A person's supporter score and the history that explains it.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::store;
use super::views::utc;
use crate::app::{Actor, scores};
use crate::auth::AuthUser;
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

/// What the campaign's evidence has taught the model (see `crate::scores::Params`).
#[derive(Debug, Serialize)]
pub struct ModelView {
    /// Support IDs and cells with support IDs the estimates rest on.
    pub support_ids: i64,
    pub cells: usize,
    /// Mean residual of the campaign, within-cell residual variance and between-cell
    /// variance, on the latent logit scale.
    pub centre: f64,
    pub residual_variance: f64,
    pub cell_variance: f64,
    /// Per kind (support IDs 1–5, refused, hostile): how much more supportive than their
    /// imported scores the people giving it are (a logit).
    pub lift: [f64; crate::scores::Kind::COUNT],
}

#[derive(Debug, Serialize)]
pub struct ScoreView {
    pub person_id: i64,
    /// The score from the voter file.
    pub imported_score: Option<f64>,
    /// The score now: the imported one, the cell's shift, the household's and the
    /// person's own evidence.
    pub score: Option<f64>,
    /// The score without the cell's shift.
    pub personal_score: Option<f64>,
    /// How far the person's cell moves everyone in it (a latent logit).
    pub cell_shift: f64,
    pub model: ModelView,
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
    let (actor, id) = (Actor::from(&auth), path.into_inner());
    let score = store::run(&state.db, move |conn| {
        Ok(scores::of_person(conn, actor, id)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(ScoreView::from(score)))
}

impl From<scores::PersonScore> for ScoreView {
    fn from(s: scores::PersonScore) -> Self {
        let (explained, params) = (s.explained, s.params);
        let history = s
            .history
            .into_iter()
            .map(|h| Change {
                rule: h.rule,
                knock_id: h.knock_id,
                old_score: h.old_score,
                new_score: h.new_score,
                created_at: utc(h.created_at),
            })
            .collect();
        ScoreView {
            person_id: s.person_id,
            imported_score: s.imported,
            score: explained.map(|e| e.score),
            personal_score: explained.map(|e| e.personal),
            cell_shift: explained.map_or(0.0, |e| e.cell_shift),
            model: ModelView {
                support_ids: params.ids,
                cells: params.cells,
                centre: params.centre,
                residual_variance: params.residual_variance,
                cell_variance: params.cell_variance,
                lift: params.lift,
            },
            history,
        }
    }
}
