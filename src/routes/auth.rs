//! Sign-in, token refresh with rotation, sign-out, and accepting an invite.

use std::time::Instant;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::store;
use super::views::UserView;
use crate::app::AppError;
use crate::app::accounts::{self, Refreshed};
use crate::db;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::AppState;

#[derive(Debug, Serialize)]
struct TokenResponse {
    access_token: String,
    refresh_token: String,
    token_type: &'static str,
    expires_in: i64,
    user: UserView,
}

fn token_response(
    state: &AppState,
    user: db::users::User,
    refresh_token: String,
) -> Result<HttpResponse, ApiError> {
    let view = UserView::try_from(user)?;
    let access_token = state.jwt.issue(view.id, view.campaign_id, view.role)?;
    Ok(HttpResponse::Ok().json(TokenResponse {
        access_token,
        refresh_token,
        token_type: "Bearer",
        expires_in: state.jwt.ttl_secs(),
        user: view,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    email: String,
    password: String,
    campaign_id: Option<i64>,
}

pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    let user = check_credentials(&state, &req, body.email, body.password, body.campaign_id).await?;
    let ttl = state.settings.refresh_token_ttl;
    let (user, refresh) = accounts::open_session(&state.db, ttl, user).await?;
    token_response(&state, user, refresh)
}

/// The active user these credentials name, under the sign-in throttle: the API's
/// sign-in and the pages' sign-in form both come through here.
pub(crate) async fn check_credentials(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    email: String,
    password: String,
    campaign_id: Option<i64>,
) -> Result<db::users::User, AppError> {
    let address = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let credentials = accounts::Credentials {
        email,
        password,
        campaign_id,
        address,
    };
    let checked = accounts::check_credentials(&state.db, state.login_limits, credentials).await;
    if !matches!(checked, Err(AppError::Throttled { .. })) {
        sweep_throttle(state);
    }
    checked
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    refresh_token: String,
}

pub async fn refresh(
    state: web::Data<AppState>,
    ApiJson(body): ApiJson<RefreshBody>,
) -> Result<HttpResponse, ApiError> {
    let ttl = state.settings.refresh_token_ttl;
    match accounts::refresh(&state.db, ttl, &body.refresh_token).await? {
        Refreshed::Rotated(user, token) => token_response(&state, *user, token),
        Refreshed::Reused => Err(ApiError::Unauthorized(
            "this refresh token was already used; the session has been revoked".into(),
        )),
        Refreshed::Invalid => Err(ApiError::Unauthorized(
            "the refresh token is invalid, expired or revoked".into(),
        )),
    }
}

pub async fn logout(
    state: web::Data<AppState>,
    ApiJson(body): ApiJson<RefreshBody>,
) -> Result<HttpResponse, ApiError> {
    accounts::sign_out(&state.db, &body.refresh_token).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptInviteBody {
    /// As `POST /api/v1/users` names it.
    invite_code: String,
    password: String,
    name: Option<String>,
}

pub async fn accept_invite(
    state: web::Data<AppState>,
    ApiJson(body): ApiJson<AcceptInviteBody>,
) -> Result<HttpResponse, ApiError> {
    let acceptance = accounts::Acceptance {
        invite_code: body.invite_code,
        password: body.password,
        name: body.name,
    };
    let ttl = state.settings.refresh_token_ttl;
    let (user, refresh) = accounts::accept_invite(&state.db, ttl, acceptance).await?;
    // The name may have changed.
    state.user_changed(user.campaign_id, user.id);
    token_response(&state, user, refresh)
}

/// Removes spent throttle keys, at most once a minute per process, in the background.
fn sweep_throttle(state: &web::Data<AppState>) {
    let now = Instant::now();
    {
        let mut last = state
            .throttle_swept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.is_some_and(|at| now.duration_since(at) < std::time::Duration::from_secs(60)) {
            return;
        }
        *last = Some(now);
    }
    let pool = state.db.clone();
    actix_web::rt::spawn(async move {
        let now_ms = chrono::Utc::now().timestamp_millis();
        if let Err(e) =
            store::write_run(&pool, move |conn| Ok(db::throttle::sweep(conn, now_ms)?)).await
        {
            tracing::warn!(error = %e, "sweeping the sign-in throttle failed");
        }
    });
}
