//! Sign-in, token refresh with rotation, sign-out, and accepting an invite.

use std::time::Instant;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::store;
use super::views::UserView;
use crate::auth::{password, secret};
use crate::db::{self, DbConnection};
use crate::domain::{DisplayName, Email, NewPassword, Role};
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

/// Stores a new refresh token for the user in `family` and returns the secret. The
/// pages' sign-in stores its session cookie the same way, in a family of its own kind
/// (see [`crate::auth::PAGE_FAMILY_PREFIX`]).
pub(crate) fn store_refresh(
    conn: &mut DbConnection,
    state: &AppState,
    user: &db::users::User,
    family: &str,
) -> Result<String, ApiError> {
    let token = secret::generate(user.campaign_id)?;
    let ttl = chrono::Duration::from_std(state.settings.refresh_token_ttl)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("refresh token ttl: {e}")))?;
    db::sessions::insert(
        conn,
        user.campaign_id,
        user.id,
        family,
        &secret::digest(&token),
        db::now() + ttl,
    )?;
    Ok(token)
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

/// Signs a user in and opens a new session family.
async fn open_session(
    state: web::Data<AppState>,
    user: db::users::User,
) -> Result<HttpResponse, ApiError> {
    let st = state.clone();
    let (user, refresh) = store::run(&state.db, move |conn| {
        let family = uuid::Uuid::new_v4().to_string();
        let refresh = store_refresh(conn, &st, &user, &family)?;
        Ok((user, refresh))
    })
    .await?;
    token_response(&state, user, refresh)
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
    let user =
        check_credentials(&state, &req, &body.email, body.password, body.campaign_id).await?;
    open_session(state, user).await
}

/// The active user these credentials name, under the sign-in throttle: the API's
/// sign-in and the pages' sign-in form both come through here.
pub(crate) async fn check_credentials(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    email: &str,
    password: String,
    campaign_id: Option<i64>,
) -> Result<db::users::User, ApiError> {
    let email = Email::parse(email)?;
    if password.len() > NewPassword::MAX_CHARS * 4 {
        return Err(ApiError::validation("password", "password is too long"));
    }
    let address = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    // Counted against the account before the password is checked, in the database:
    // concurrent attempts, on this server or another, each spend one. The address is
    // only checked here, and charged below if the attempt fails.
    let account = state.login_limits.account(email.as_str());
    let address_key = state.login_limits.address(&address);
    let (spend, check) = ([account.clone()], [address_key.clone()]);
    let now_ms = chrono::Utc::now().timestamp_millis();
    let admitted = store::transaction(&state.db, move |conn| {
        Ok(db::throttle::take(conn, &spend, &check, now_ms)?)
    })
    .await?;
    if let Err(retry_after_secs) = admitted {
        return Err(ApiError::TooManyRequests {
            message: format!("too many sign-in attempts; retry in {retry_after_secs} s"),
            retry_after_secs,
        });
    }
    sweep_throttle(state);

    let (lookup, campaign) = (email.as_str().to_owned(), campaign_id);
    let candidates = store::run(&state.db, move |conn| {
        Ok(db::users::find_active_by_email(conn, &lookup, campaign)?)
    })
    .await?;
    let pw = password;
    let mut matched = password::on_hashing_threads(move || {
        let with_hash: Vec<_> = candidates
            .into_iter()
            .filter(|u| u.password_hash.is_some())
            .collect();
        if with_hash.is_empty() {
            password::burn_time(&pw);
        }
        with_hash
            .into_iter()
            .filter(|u| {
                u.password_hash
                    .as_deref()
                    .is_some_and(|h| password::verify(&pw, h))
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(ApiError::Internal)?;

    if matched.len() > 1 {
        return Err(ApiError::validation(
            "campaign_id",
            "this email belongs to several campaigns; give campaign_id",
        ));
    }
    let Some(user) = matched.pop() else {
        let now_ms = chrono::Utc::now().timestamp_millis();
        store::transaction(&state.db, move |conn| {
            let (key, limit) = address_key;
            Ok(db::throttle::charge(conn, &key, limit, now_ms)?)
        })
        .await?;
        return Err(ApiError::Unauthorized("invalid email or password".into()));
    };
    // Signed in: the account starts afresh.
    store::transaction(&state.db, move |conn| {
        Ok(db::throttle::clear(conn, &account.0)?)
    })
    .await?;
    Ok(user)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    refresh_token: String,
}

enum Refreshed {
    Rotated(Box<db::users::User>, String),
    Reused,
    Invalid,
}

pub async fn refresh(
    state: web::Data<AppState>,
    ApiJson(body): ApiJson<RefreshBody>,
) -> Result<HttpResponse, ApiError> {
    let invalid =
        || ApiError::Unauthorized("the refresh token is invalid, expired or revoked".into());
    let campaign_id = secret::campaign_of(&body.refresh_token).ok_or_else(invalid)?;
    let hash = secret::digest(&body.refresh_token);
    let st = state.clone();
    // One transaction: find, rotate, issue. A token presented after it was rotated has
    // leaked (or was replayed); the whole family is revoked and that revocation commits.
    let outcome = store::transaction(&state.db, move |conn| {
        let Some(row) = db::sessions::find_by_hash(conn, campaign_id, &hash)? else {
            return Ok(Refreshed::Invalid);
        };
        if row.revoked_at.is_some() {
            if row.rotated {
                db::sessions::revoke_family(conn, campaign_id, &row.family_id)?;
                return Ok(Refreshed::Reused);
            }
            return Ok(Refreshed::Invalid);
        }
        if row.expires_at <= db::now() || row.family_id.starts_with(crate::auth::PAGE_FAMILY_PREFIX)
        {
            // A page session's cookie is not a refresh token: it never becomes a
            // bearer token.
            return Ok(Refreshed::Invalid);
        }
        let user = match db::users::find(conn, campaign_id, row.user_id)? {
            Some(u) if u.active => u,
            _ => {
                db::sessions::revoke_family(conn, campaign_id, &row.family_id)?;
                return Ok(Refreshed::Invalid);
            }
        };
        if !db::sessions::rotate(conn, campaign_id, row.id)? {
            db::sessions::revoke_family(conn, campaign_id, &row.family_id)?;
            return Ok(Refreshed::Reused);
        }
        let token = store_refresh(conn, &st, &user, &row.family_id)?;
        Ok(Refreshed::Rotated(Box::new(user), token))
    })
    .await?;
    match outcome {
        Refreshed::Rotated(user, token) => token_response(&state, *user, token),
        Refreshed::Reused => Err(ApiError::Unauthorized(
            "this refresh token was already used; the session has been revoked".into(),
        )),
        Refreshed::Invalid => Err(invalid()),
    }
}

pub async fn logout(
    state: web::Data<AppState>,
    ApiJson(body): ApiJson<RefreshBody>,
) -> Result<HttpResponse, ApiError> {
    if let Some(campaign_id) = secret::campaign_of(&body.refresh_token) {
        let hash = secret::digest(&body.refresh_token);
        store::transaction(&state.db, move |conn| {
            if let Some(row) = db::sessions::find_by_hash(conn, campaign_id, &hash)? {
                db::sessions::revoke_family(conn, campaign_id, &row.family_id)?;
            }
            Ok(())
        })
        .await?;
    }
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
    let gone = || ApiError::NotFound("the invite code is unknown, used or expired".into());
    let new_password = NewPassword::parse(body.password)?;
    let name = body
        .name
        .as_deref()
        .map(|n| DisplayName::parse("name", n))
        .transpose()?;
    let campaign_id = secret::campaign_of(&body.invite_code).ok_or_else(gone)?;
    let hash = secret::digest(&body.invite_code);

    // Check the code before spending an Argon2 hash on it.
    let h = hash.clone();
    let usable = store::run(&state.db, move |conn| {
        Ok(db::invites::find_usable(conn, campaign_id, &h)?.is_some())
    })
    .await?;
    if !usable {
        return Err(gone());
    }
    let phc = password::on_hashing_threads(move || password::hash(new_password.expose()))
        .await
        .map_err(ApiError::Internal)??;

    let st = state.clone();
    let accepted = store::transaction(&state.db, move |conn| {
        let Some(invite) = db::invites::find_usable(conn, campaign_id, &hash)? else {
            return Ok(None);
        };
        if !db::invites::mark_used(conn, campaign_id, invite.id)? {
            return Ok(None);
        }
        let Some(user) = db::users::find(conn, campaign_id, invite.user_id)?.filter(|u| u.active)
        else {
            return Ok(None);
        };
        let changes = db::users::UserChanges {
            name: name.map(DisplayName::into_string),
            password_hash: Some(Some(phc)),
            updated_at: Some(db::now()),
            ..Default::default()
        };
        db::users::update(conn, campaign_id, user.id, &changes)?;
        db::audit::record(
            conn,
            db::audit::Change {
                campaign_id,
                actor_id: Some(user.id),
                action: "user.accept_invite",
                target_type: "user",
                target_id: Some(user.id),
                details: serde_json::json!({}),
            },
        )?;
        let user = db::users::find(conn, campaign_id, user.id)?.ok_or_else(gone)?;
        let family = uuid::Uuid::new_v4().to_string();
        let refresh = store_refresh(conn, &st, &user, &family)?;
        Ok(Some((user, refresh)))
    })
    .await?;
    let (user, refresh) = accepted.ok_or_else(gone)?;
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

/// Used by the role checks of other handlers: `Role` must parse from a stored row.
pub fn stored_role(user: &db::users::User) -> Result<Role, ApiError> {
    user.role
        .parse()
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("user {} has unknown role", user.id)))
}
