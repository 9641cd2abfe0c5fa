//! The signed-in user: their profile and their registered devices.

use std::time::Instant;

use actix_web::http::header::ContentType;
use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::store;
use super::views::{DeviceView, UserView};
use crate::auth::AuthUser;
use crate::db;
use crate::domain::{DeviceToken, Platform, Role};
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
    let (registered, device) = store::transaction(&state.db, move |conn| {
        let result = db::devices::register(
            conn,
            auth.campaign_id,
            auth.user_id,
            token.as_str(),
            platform.as_str(),
        )?;
        if auth.role >= Role::Organizer && result.0 == db::devices::Registered::Created {
            db::audit::record(
                conn,
                db::audit::Change {
                    campaign_id: auth.campaign_id,
                    actor_id: Some(auth.user_id),
                    action: "device.register",
                    target_type: "device",
                    target_id: Some(result.1.id),
                    details: serde_json::json!({ "platform": platform.as_str() }),
                },
            )?;
        }
        Ok(result)
    })
    .await?;
    let view = DeviceView::from(device);
    Ok(match registered {
        db::devices::Registered::Created => HttpResponse::Created().json(view),
        db::devices::Registered::Refreshed => HttpResponse::Ok().json(view),
    })
}

pub async fn delete_device(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let token = path.into_inner();
    let deleted = store::transaction(&state.db, move |conn| {
        let deleted = db::devices::delete_for_user(conn, auth.campaign_id, auth.user_id, &token)?;
        if deleted && auth.role >= Role::Organizer {
            db::audit::record(
                conn,
                db::audit::Change {
                    campaign_id: auth.campaign_id,
                    actor_id: Some(auth.user_id),
                    action: "device.delete",
                    target_type: "device",
                    target_id: None,
                    details: serde_json::json!({}),
                },
            )?;
        }
        Ok(deleted)
    })
    .await?;
    if deleted {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::not_found("device"))
    }
}
