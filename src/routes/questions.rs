//! Survey questions: the built-in support ID, and the campaign's own (`app::questions`).

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::store;
use crate::app::{self, Actor};
use crate::auth::AuthUser;
use crate::domain::Role;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::AppState;

pub use crate::app::questions::QuestionView;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    #[serde(default)]
    retired: bool,
}

/// `GET /api/v1/questions`: what walk lists carry; `?retired=true` adds the retired
/// questions (organizers).
pub async fn list(
    state: web::Data<AppState>,
    auth: AuthUser,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    if q.retired {
        auth.require(Role::Organizer)?;
    }
    let items = store::run(&state.db, move |conn| {
        Ok(app::questions::listed(conn, auth.campaign_id, q.retired)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

pub async fn create(
    state: web::Data<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<app::questions::NewQuestion>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let actor = Actor::from(&auth);
    let q = store::transaction(&state.db, move |conn| {
        Ok(app::questions::create(conn, actor, body)?)
    })
    .await?;
    Ok(HttpResponse::Created().json(q))
}

/// `PATCH /api/v1/questions/{key}`: new text, relabelled or added answers.
pub async fn edit(
    state: web::Data<AppState>,
    auth: AuthUser,
    key: web::Path<String>,
    ApiJson(body): ApiJson<app::questions::Edit>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let actor = Actor::from(&auth);
    let key = key.into_inner();
    let q = store::transaction(&state.db, move |conn| {
        Ok(app::questions::edit(conn, actor, &key, body)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(q))
}

/// `DELETE /api/v1/questions/{key}`: retires the question (answers stay).
pub async fn retire(
    state: web::Data<AppState>,
    auth: AuthUser,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let actor = Actor::from(&auth);
    let key = key.into_inner();
    store::transaction(&state.db, move |conn| {
        Ok(app::questions::retire(conn, actor, &key)?)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
