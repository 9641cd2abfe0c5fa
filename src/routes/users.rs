//! Users of the caller's campaign: invite, list, read, change, deactivate. Nobody acts
//! on someone who outranks them or grants a role above their own.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use super::auth::stored_role;
use super::store;
use super::views::{UserView, utc};
use super::{PageQuery, Paged};
use crate::auth::{AuthUser, secret};
use crate::db::{self, DbConnection};
use crate::domain::{DisplayName, Email, Role};
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

fn check_region(conn: &mut DbConnection, campaign_id: i64, region_id: i64) -> Result<(), ApiError> {
    match db::regions::find(conn, campaign_id, region_id)? {
        Some(_) => Ok(()),
        None => Err(ApiError::validation(
            "region_id",
            "no such region in this campaign",
        )),
    }
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
    let email = Email::parse(&body.email)?;
    let name = DisplayName::parse("name", &body.name)?;
    if !auth.role.may_grant(body.role) {
        return Err(ApiError::forbidden(format!(
            "a {} cannot create a {}",
            auth.role, body.role
        )));
    }
    let (role, region_id) = (body.role, body.region_id);
    let ttl = chrono::Duration::from_std(state.settings.invite_ttl)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("invite ttl: {e}")))?;
    let (user, code, expires) = store::transaction(&state.db, move |conn| {
        if let Some(region) = region_id {
            check_region(conn, auth.campaign_id, region)?;
        }
        let now = db::now();
        let id = db::users::insert(
            conn,
            &db::users::NewUser {
                campaign_id: auth.campaign_id,
                email: email.as_str(),
                name: name.as_str(),
                role: role.as_str(),
                region_id,
                password_hash: None,
                active: true,
                created_at: now,
                updated_at: now,
            },
        )
        .map_err(|e| match e {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => ApiError::Conflict(format!(
                "{} already has an account in this campaign",
                email.as_str()
            )),
            other => other.into(),
        })?;
        let code = secret::generate(auth.campaign_id)?;
        let expires = now + ttl;
        db::invites::insert(conn, auth.campaign_id, id, &secret::digest(&code), Some(auth.user_id), expires)?;
        db::audit::record(
            conn,
            db::audit::Change {
                campaign_id: auth.campaign_id,
                actor_id: Some(auth.user_id),
                action: "user.create",
                target_type: "user",
                target_id: Some(id),
                details: serde_json::json!({ "email": email.as_str(), "role": role, "region_id": region_id }),
            },
        )?;
        let user = db::users::find(conn, auth.campaign_id, id)?.ok_or_else(|| ApiError::not_found("user"))?;
        Ok((user, code, expires))
    })
    .await?;
    Ok(HttpResponse::Created().json(Invited {
        user: UserView::try_from(user)?,
        invite_code: code,
        invite_expires_at: utc(expires),
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

/// Applies a change to another user under the rank rules, with its audit row.
fn change_user(
    conn: &mut DbConnection,
    auth: AuthUser,
    id: i64,
    body: UpdateUserBody,
    action: &str,
) -> Result<db::users::User, ApiError> {
    let target =
        db::users::find(conn, auth.campaign_id, id)?.ok_or_else(|| ApiError::not_found("user"))?;
    let target_role = stored_role(&target)?;
    if target_role > auth.role {
        return Err(ApiError::forbidden(
            "you cannot change a user who outranks you",
        ));
    }
    if id == auth.user_id && (body.role.is_some() || body.active.is_some()) {
        return Err(ApiError::forbidden(
            "you cannot change your own role or deactivate yourself",
        ));
    }
    if let Some(role) = body.role
        && !auth.role.may_grant(role)
    {
        return Err(ApiError::forbidden(format!(
            "a {} cannot grant the {} role",
            auth.role, role
        )));
    }
    if let Some(Some(region)) = body.region_id {
        check_region(conn, auth.campaign_id, region)?;
    }
    let name = body
        .name
        .as_deref()
        .map(|n| DisplayName::parse("name", n))
        .transpose()?;
    let details = serde_json::json!({
        "name": name.as_ref().map(DisplayName::as_str),
        "role": body.role,
        "region_id": body.region_id,
        "active": body.active,
    });
    let changes = db::users::UserChanges {
        name: name.map(DisplayName::into_string),
        role: body.role.map(|r| r.as_str().to_owned()),
        region_id: body.region_id,
        active: body.active,
        password_hash: None,
        updated_at: Some(db::now()),
    };
    db::users::update(conn, auth.campaign_id, id, &changes)?;
    if body.active == Some(false) {
        db::sessions::revoke_user(conn, auth.campaign_id, id)?;
    }
    db::audit::record(
        conn,
        db::audit::Change {
            campaign_id: auth.campaign_id,
            actor_id: Some(auth.user_id),
            action,
            target_type: "user",
            target_id: Some(id),
            details,
        },
    )?;
    db::users::find(conn, auth.campaign_id, id)?.ok_or_else(|| ApiError::not_found("user"))
}

pub async fn update(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
    ApiJson(body): ApiJson<UpdateUserBody>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let id = path.into_inner();
    let user = store::transaction(&state.db, move |conn| {
        change_user(conn, auth, id, body, "user.update")
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
    let body = UpdateUserBody {
        active: Some(false),
        ..Default::default()
    };
    store::transaction(&state.db, move |conn| {
        change_user(conn, auth, id, body, "user.deactivate")
    })
    .await?;
    state.user_changed(auth.campaign_id, id);
    Ok(HttpResponse::NoContent().finish())
}
