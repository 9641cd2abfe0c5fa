//! The caller's campaign: read by anyone in it, its settings changed by an admin.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::store;
use crate::app::{self, Actor};
use crate::auth::AuthUser;
use crate::db::{self, campaigns::Campaign};
use crate::domain::Role;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::AppState;

fn view(c: &Campaign) -> serde_json::Value {
    json!({
        "id": c.id,
        "name": c.name,
        "time_zone": c.time_zone,
        "created_at": c.created_at.and_utc(),
    })
}

pub async fn get(state: web::Data<AppState>, auth: AuthUser) -> Result<HttpResponse, ApiError> {
    let campaign = store::run(&state.db, move |conn| {
        Ok(db::campaigns::find(conn, auth.campaign_id)?)
    })
    .await?
    .ok_or_else(|| ApiError::not_found("campaign"))?;
    Ok(HttpResponse::Ok().json(view(&campaign)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignPatch {
    time_zone: String,
}

/// `PATCH /api/v1/campaign`: the time zone (admin only). Days, weeks and hours of every
/// figure follow it at once.
pub async fn update(
    state: web::Data<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<CampaignPatch>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Admin)?;
    let actor = Actor::from(&auth);
    let (campaign, _) = store::transaction(&state.db, move |conn| {
        Ok(app::campaign::set_time_zone(conn, actor, &body.time_zone)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view(&campaign)))
}
