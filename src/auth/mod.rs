//! Who is calling: the bearer-token extractor and role checks. A handler that takes an
//! [`AuthUser`] argument cannot run for an anonymous caller.

pub mod jwt;
pub mod password;
pub mod profile_cache;
pub mod secret;
pub mod throttle;

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};

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

fn authenticate(req: &HttpRequest) -> Result<AuthUser, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("app state is not registered")))?;
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
    Ok(AuthUser {
        user_id,
        campaign_id: claims.campaign_id,
        role: claims.role,
    })
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req))
    }
}
