//! Tags (activist codes): the campaign defines them; canvassers apply and remove them
//! at the door inside a knock (`people[].tags`).

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::store;
use super::views::utc;
use crate::app::{Actor, tags};
use crate::auth::AuthUser;
use crate::db;
use crate::domain::Role;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::AppState;

fn view(t: &db::tags::Tag) -> Value {
    json!({ "id": t.id, "key": t.key, "name": t.name, "created_at": utc(t.created_at) })
}

/// `GET /api/v1/tags`: every tag of the campaign (any role: phones show them).
pub async fn list(state: web::Data<AppState>, auth: AuthUser) -> Result<HttpResponse, ApiError> {
    let tags = store::run(&state.db, move |conn| {
        Ok(db::tags::list(conn, auth.campaign_id)?)
    })
    .await?;
    let items: Vec<Value> = tags.iter().map(view).collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTagBody {
    key: String,
    name: String,
}

/// `POST /api/v1/tags` (organizer and up; audited).
pub async fn create(
    state: web::Data<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<NewTagBody>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let tag = tags::check(body.key, &body.name)?;
    let actor = Actor::from(&auth);
    let tag =
        store::transaction(&state.db, move |conn| Ok(tags::create(conn, actor, tag)?)).await?;
    Ok(HttpResponse::Created().json(view(&tag)))
}
