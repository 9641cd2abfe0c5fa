//! Users of the caller's campaign: invite, list, read, change, deactivate. Nobody acts
//! on someone who outranks them or grants a role above their own.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use super::store;
use super::views::{UserView, utc};
use super::{PageQuery, Paged};
use crate::app::{Actor, users};
use crate::auth::AuthUser;
use crate::db;
use crate::domain::Role;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserListQuery {
    limit: Option<i64>,
    after: Option<i64>,
    role: Option<Role>,
    region_id: Option<i64>,
}

pub async fn list(
    state: web::Data<AppState>,
    auth: AuthUser,
    query: web::Query<UserListQuery>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let q = query.into_inner();
    if q.region_id.is_some_and(|r| r < 1) {
        return Err(ApiError::validation(
            "region_id",
            "region_id must be a positive id",
        ));
    }
    let page = PageQuery {
        limit: q.limit,
        after: q.after,
    }
    .page()?;
    let filter = db::users::UserFilter {
        role: q.role.map(|r| r.as_str().to_owned()),
        region_id: q.region_id,
    };
    let rows = store::run(&state.db, move |conn| {
        Ok(db::users::list(conn, auth.campaign_id, &filter, &page)?)
    })
    .await?;
    let (rows, next_after) = page.finish(rows, |u| u.id);
    let items = rows
        .into_iter()
        .map(UserView::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(Paged { items, next_after }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUserBody {
    email: String,
    name: String,
    role: Role,
    region_id: Option<i64>,
}

#[derive(Debug, Serialize)]
struct Invited {
    user: UserView,
    invite_code: String,
    invite_expires_at: DateTime<Utc>,
}

pub async fn create(
    state: web::Data<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<NewUserBody>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let who = users::Invitee {
        email: body.email,
        name: body.name,
        role: body.role,
        region_id: body.region_id,
    };
    let (actor, ttl) = (Actor::from(&auth), state.settings.invite_ttl);
    let who = users::check_invite(actor, who)?;
    let invited =
        store::transaction(&state.db, move |c| Ok(users::invite(c, actor, who, ttl)?)).await?;
    Ok(HttpResponse::Created().json(Invited {
        user: UserView::try_from(invited.user)?,
        invite_code: invited.invite_code,
        invite_expires_at: utc(invited.expires_at),
    }))
}

pub async fn get(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    if id != auth.user_id {
        auth.require(Role::Organizer)?;
    }
    let user = store::run(&state.db, move |conn| {
        Ok(db::users::find(conn, auth.campaign_id, id)?)
    })
    .await?
    .ok_or_else(|| ApiError::not_found("user"))?;
    Ok(HttpResponse::Ok().json(UserView::try_from(user)?))
}

/// `Some(None)` when the field is given as null, `None` when it is left out.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    de: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(de).map(Some)
}

/// A field that may be left out but, when given, must not be null.
fn not_null<'de, D: Deserializer<'de>, T: Deserialize<'de>>(de: D) -> Result<Option<T>, D::Error> {
    match Option::<T>::deserialize(de)? {
        Some(value) => Ok(Some(value)),
        None => Err(serde::de::Error::custom("may be left out but not null")),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserBody {
    #[serde(default, deserialize_with = "not_null")]
    name: Option<String>,
    #[serde(default, deserialize_with = "not_null")]
    role: Option<Role>,
    #[serde(default, deserialize_with = "present")]
    region_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "not_null")]
    active: Option<bool>,
}

impl From<UpdateUserBody> for users::Changes {
    fn from(body: UpdateUserBody) -> Self {
        users::Changes {
            name: body.name,
            role: body.role,
            region_id: body.region_id,
            active: body.active,
        }
    }
}

pub async fn update(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
    ApiJson(body): ApiJson<UpdateUserBody>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let id = path.into_inner();
    let actor = Actor::from(&auth);
    let user = store::transaction(&state.db, move |conn| {
        Ok(users::change(conn, actor, id, body.into(), "user.update")?)
    })
    .await?;
    state.user_changed(auth.campaign_id, id);
    Ok(HttpResponse::Ok().json(UserView::try_from(user)?))
}

pub async fn deactivate(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let id = path.into_inner();
    let changes = users::Changes {
        active: Some(false),
        ..Default::default()
    };
    let actor = Actor::from(&auth);
    store::transaction(&state.db, move |conn| {
        Ok(users::change(conn, actor, id, changes, "user.deactivate")?)
    })
    .await?;
    state.user_changed(auth.campaign_id, id);
    Ok(HttpResponse::NoContent().finish())
}
