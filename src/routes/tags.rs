//! Tags (activist codes): the campaign defines them; canvassers apply and remove them
//! at the door inside a knock (`people[].tags`).

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::store;
use super::views::utc;
use crate::auth::AuthUser;
use crate::db;
use crate::domain::{DisplayName, Role};
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

/// Most tags a campaign defines.
pub const MAX_TAGS: usize = 500;

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
    let key_ok = !body.key.is_empty()
        && body.key.len() <= 64
        && body
            .key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !key_ok {
        return Err(ApiError::validation(
            "key",
            "key is 1 to 64 of a-z, 0-9 and _",
        ));
    }
    let name = DisplayName::parse("name", &body.name)?;
    let tag = store::transaction(&state.db, move |conn| {
        if db::tags::key_taken(conn, auth.campaign_id, &body.key)? {
            return Err(ApiError::Conflict(format!(
                "a tag with key {:?} exists",
                body.key
            )));
        }
        if db::tags::list(conn, auth.campaign_id)?.len() >= MAX_TAGS {
            return Err(ApiError::TooLarge {
                message: format!("a campaign has at most {MAX_TAGS} tags"),
                details: json!({ "limit": MAX_TAGS }),
            });
        }
        let tag = db::tags::create(conn, auth.campaign_id, &body.key, name.as_str())?;
        db::audit::record(
            conn,
            db::audit::Change {
                campaign_id: auth.campaign_id,
                actor_id: Some(auth.user_id),
                action: "tag.create",
                target_type: "tag",
                target_id: Some(tag.id),
                details: json!({ "key": tag.key }),
            },
        )?;
        Ok(tag)
    })
    .await?;
    Ok(HttpResponse::Created().json(view(&tag)))
}
