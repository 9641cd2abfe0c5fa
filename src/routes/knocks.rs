//! `POST /api/v1/knocks/batch`: the knock sync (see `crate::app::knocks`).

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::Value;

use crate::app::{self, Actor};
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::extract::ApiJsonKeepingNul;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchBody {
    /// Parsed one by one, so a malformed knock is rejected alone.
    knocks: Vec<Value>,
}

/// `POST /api/v1/knocks/batch`: at most `knock::MAX_BATCH` knocks; the answer lists
/// each with `created`, `duplicate`, `conflict` or `rejected` (and why).
pub async fn batch(
    state: web::Data<crate::state::AppState>,
    auth: AuthUser,
    ApiJsonKeepingNul(body): ApiJsonKeepingNul<BatchBody>,
) -> Result<HttpResponse, ApiError> {
    let answer = app::knocks::sync(&state.db, Actor::from(&auth), body.knocks).await?;
    Ok(HttpResponse::Ok().json(answer))
}
