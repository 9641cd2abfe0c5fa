//! Goals and the pace against them (directors set them; organizers and above read).

use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{PageQuery, store};
use crate::app::{self, Actor, goals::Standing};
use crate::auth::AuthUser;
use crate::domain::Role;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::AppState;

fn view(s: &Standing) -> Value {
    let g = &s.goal;
    let p = &s.pace;
    let round = |x: f64| (x * 10.0).round() / 10.0;
    json!({
        "id": g.id,
        "region_id": g.region_id,
        "metric": g.metric,
        "starts_on": g.starts_on,
        "ends_on": g.ends_on,
        "starts_at": s.window.0.and_utc(),
        "ends_at": s.window.1.and_utc(),
        "target": g.target,
        "done": p.done,
        "remaining": p.remaining,
        "days_elapsed": round(p.days_elapsed),
        "days_left": round(p.days_left),
        "pace_achieved_per_day": p.achieved_per_day.map(round),
        "pace_needed_per_day": p.needed_per_day.map(round),
        "projected": p.projected,
        "on_track": p.on_track,
        "created_at": g.created_at.and_utc(),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewGoalBody {
    region_id: Option<i64>,
    metric: String,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    target: i64,
}

pub async fn create(
    state: web::Data<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<NewGoalBody>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Director)?;
    let actor = Actor::from(&auth);
    let standing = store::transaction(&state.db, move |conn| {
        let goal = app::goals::create(
            conn,
            actor,
            app::goals::GoalRequest {
                region_id: body.region_id,
                metric: body.metric,
                starts_on: body.starts_on,
                ends_on: body.ends_on,
                target: body.target,
            },
        )?;
        Ok(app::goals::standing(conn, goal, crate::db::now())?)
    })
    .await?;
    Ok(HttpResponse::Created().json(view(&standing)))
}

pub async fn list(
    state: web::Data<AppState>,
    auth: AuthUser,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let page = query.page()?;
    let actor = Actor::from(&auth);
    let rows = store::run(&state.db, move |conn| {
        Ok(app::goals::list(conn, actor, page.after, page.fetch())?)
    })
    .await?;
    let (rows, next_after) = page.finish(rows, |s| s.goal.id);
    let items: Vec<Value> = rows.iter().map(view).collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items, "next_after": next_after })))
}

pub async fn delete(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Director)?;
    let actor = Actor::from(&auth);
    let id = path.into_inner();
    store::transaction(&state.db, move |conn| {
        Ok(app::goals::delete(conn, actor, id)?)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
