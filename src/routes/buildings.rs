//! Buildings: the units at a door's address and the notes on them (`app::buildings`).

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::store;
use crate::app::{self, Actor};
use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::AppState;

/// `GET /api/v1/doors/{id}/building`: the building a door is in.
pub async fn get(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, now) = (Actor::from(&auth), path.into_inner(), db::now());
    let building = store::run(&state.db, move |conn| {
        Ok(app::buildings::of_door(conn, actor, id, now)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(building))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotesBody {
    notes: String,
}

/// `PUT /api/v1/doors/{id}/building/notes`: organizers, or a canvasser holding a list
/// with the building.
pub async fn set_notes(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
    ApiJson(body): ApiJson<NotesBody>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, now) = (Actor::from(&auth), path.into_inner(), db::now());
    let building = store::transaction(&state.db, move |conn| {
        Ok(app::buildings::set_notes(
            conn,
            actor,
            id,
            &body.notes,
            now,
        )?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(building))
}
