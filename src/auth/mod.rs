//! Who is calling: the bearer-token extractor and role checks. A handler that takes an
//! [`AuthUser`] argument cannot run for an anonymous caller, nor for a user whose
//! account has been deactivated since the token was issued; and it runs with the user's
//! current role, not the one written in the token (read from the store, or from the
//! last two seconds' reading: see [`profile_cache`]).

pub mod jwt;
pub mod password;
pub mod profile_cache;
pub mod secret;
pub mod throttle;

use std::time::Instant;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::future::LocalBoxFuture;

use crate::domain::Role;
use crate::error::ApiError;
use crate::state::AppState;

/// The verified caller: who, in which campaign, with which role.
#[derive(Debug, Clone, Copy)]
pub struct AuthUser {
    pub user_id: i64,
    pub campaign_id: i64,
    pub role: Role,
}

impl From<&AuthUser> for crate::app::Actor {
    fn from(a: &AuthUser) -> Self {
        crate::app::Actor {
            user_id: a.user_id,
            campaign_id: a.campaign_id,
            role: a.role,
        }
    }
}

impl AuthUser {
    /// Refuses (403) a caller below `min`.
    pub fn require(&self, min: Role) -> Result<(), ApiError> {
        if self.role >= min {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "this needs the {min} role or above"
            )))
        }
    }
}

/// The token's claims, checked: who it names and in which campaign.
fn verify_token(req: &HttpRequest, state: &AppState) -> Result<(i64, i64), ApiError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthorized("missing Authorization: Bearer token".into()))?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::Unauthorized("malformed Authorization header".into()))?;
    let token = match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => {
            return Err(ApiError::Unauthorized(
                "expected Authorization: Bearer <token>".into(),
            ));
        }
    };
    let claims = state.jwt.verify(token).map_err(|e| {
        use jsonwebtoken::errors::ErrorKind;
        let why = match e.kind() {
            ErrorKind::ExpiredSignature => "the access token has expired",
            ErrorKind::InvalidSignature => "the access token signature is invalid",
            ErrorKind::InvalidAlgorithm => {
                "the access token uses an algorithm this server does not accept"
            }
            _ => "the access token is invalid",
        };
        ApiError::Unauthorized(why.into())
    })?;
    let user_id = claims
        .sub
        .parse()
        .map_err(|_| ApiError::Unauthorized("the access token is invalid".into()))?;
    Ok((user_id, claims.campaign_id))
}

/// Sessions of the pages (a cookie, not a bearer token) are stored like refresh tokens,
/// in families whose id starts with this; the API's refresh refuses them.
pub const PAGE_FAMILY_PREFIX: &str = "page:";

/// The user's current role, or `None` when the account is deactivated or gone: what
/// every request, API or page, acts with.
pub(crate) async fn current_role(
    state: &web::Data<AppState>,
    campaign_id: i64,
    user_id: i64,
) -> Result<Option<Role>, ApiError> {
    let asked = Instant::now();
    if let Some(role) = state.accounts.get(campaign_id, user_id, asked) {
        return Ok(role);
    }
    let user = crate::routes::store::run(&state.db, move |conn| {
        Ok(crate::db::users::find(conn, campaign_id, user_id)?)
    })
    .await?;
    let role = user
        .filter(|u| u.active)
        .and_then(|u| u.role.parse::<Role>().ok());
    state.accounts.put(campaign_id, user_id, asked, role);
    Ok(role)
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let verified = req
            .app_data::<web::Data<AppState>>()
            .cloned()
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("app state is not registered")))
            .and_then(|state| verify_token(req, &state).map(|ids| (state, ids)));
        if let Ok((_, (user_id, _))) = &verified {
            req.extensions_mut().insert(RequestUser(*user_id));
        }
        Box::pin(async move {
            let (state, (user_id, campaign_id)) = verified?;
            let role = current_role(&state, campaign_id, user_id)
                .await?
                .ok_or_else(|| {
                    ApiError::Unauthorized("this account no longer exists or is deactivated".into())
                })?;
            Ok(AuthUser {
                user_id,
                campaign_id,
                role,
            })
        })
    }
}

/// Who made a request, left in the request's extensions by [`AuthUser`] for the access
/// log (never the token itself).
#[derive(Debug, Clone, Copy)]
pub struct RequestUser(pub i64);
