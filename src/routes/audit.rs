//! The audit log, for directors and admins.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::store;
use super::views::utc;
use super::{PageQuery, Paged};
use crate::auth::AuthUser;
use crate::db;
use crate::domain::Role;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Serialize)]
struct AuditView {
    id: i64,
    actor_id: Option<i64>,
    action: String,
    target_type: String,
    target_id: Option<i64>,
    details: serde_json::Value,
    created_at: DateTime<Utc>,
}

pub async fn list(
    state: web::Data<AppState>,
    auth: AuthUser,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Director)?;
    let page = query.page()?;
    let rows = store::run(&state.db, move |conn| {
        Ok(db::audit::list(conn, auth.campaign_id, &page)?)
    })
    .await?;
    let (rows, next_after) = page.finish(rows, |r| r.id);
    let items = rows
        .into_iter()
        .map(|r| AuditView {
            id: r.id,
            actor_id: r.actor_id,
            action: r.action,
            target_type: r.target_type,
            target_id: r.target_id,
            details: db::audit::details_object(&r.details),
            created_at: utc(r.created_at),
        })
        .collect();
    Ok(HttpResponse::Ok().json(Paged::<AuditView> { items, next_after }))
}
