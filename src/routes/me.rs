//! The signed-in user: their profile and their registered devices.

use std::time::Instant;

use actix_web::http::header::ContentType;
use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::store;
use super::views::{DeviceView, UserView};
use crate::app::{Actor, devices};
use crate::auth::AuthUser;
use crate::db;
use crate::db::devices::Registered;
use crate::domain::{DeviceToken, Platform};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::AppState;

/// `GET /api/v1/me`: the signed-in user, from the store or, for a moment after, from
/// memory (see [`crate::auth::profile_cache`]).
pub async fn get_me(state: web::Data<AppState>, auth: AuthUser) -> Result<HttpResponse, ApiError> {
    let json = |body: Bytes| {
        HttpResponse::Ok()
            .content_type(ContentType::json())
            .body(body)
    };
    let asked = Instant::now();
    if let Some(body) = state.profiles.get(auth.campaign_id, auth.user_id, asked) {
        return Ok(json(body));
    }
    let user = store::run(&state.db, move |conn| {
        Ok(db::users::find(conn, auth.campaign_id, auth.user_id)?)
    })
    .await?
    .filter(|u| u.active)
    .ok_or_else(|| {
        ApiError::Unauthorized("this account no longer exists or is deactivated".into())
    })?;
    let body = Bytes::from(
        serde_json::to_vec(&UserView::try_from(user)?)
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("writing the profile: {e}")))?,
    );
    state
        .profiles
        .put(auth.campaign_id, auth.user_id, asked, body.clone());
    Ok(json(body))
}

pub async fn list_devices(
    state: web::Data<AppState>,
    auth: AuthUser,
    query: web::Query<super::PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = query.page()?;
    let devices = store::run(&state.db, move |conn| {
        Ok(db::devices::list_for_user(
            conn,
            auth.campaign_id,
            auth.user_id,
            &page,
        )?)
    })
    .await?;
    let (devices, next_after) = page.finish(devices, |d| d.id);
    let items: Vec<DeviceView> = devices.into_iter().map(DeviceView::from).collect();
    Ok(HttpResponse::Ok().json(super::Paged { items, next_after }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceBody {
    token: String,
    platform: String,
}

pub async fn register_device(
    state: web::Data<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<DeviceBody>,
) -> Result<HttpResponse, ApiError> {
    let token = DeviceToken::parse(&body.token)?;
    let platform = Platform::parse(&body.platform)?;
    let actor = Actor::from(&auth);
    let (registered, device) = store::transaction(&state.db, move |conn| {
        Ok(devices::register(conn, actor, &token, platform)?)
    })
    .await?;
    let view = DeviceView::from(device);
    Ok(match registered {
        Registered::Created => HttpResponse::Created().json(view),
        Registered::Refreshed => HttpResponse::Ok().json(view),
    })
}

pub async fn delete_device(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (actor, token) = (Actor::from(&auth), path.into_inner());
    let deleted = store::transaction(&state.db, move |conn| {
        Ok(devices::remove(conn, actor, &token)?)
    })
    .await?;
    if deleted {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::not_found("device"))
    }
}
