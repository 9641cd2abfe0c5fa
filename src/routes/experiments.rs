//! Scripts and script experiments: randomised A/B tests at the door, analysed by
//! intention to treat with honest intervals. The use cases are in
//! `crate::app::experiments`, the statistics in `crate::experiments`.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::store;
use super::views::utc;
use crate::app::experiments::{Arm, Outcome, Scope, Summary};
use crate::app::{self, Actor};
use crate::auth::AuthUser;
use crate::db::{self, experiments::Experiment};
use crate::domain::Role;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewScriptBody {
    title: String,
    body: String,
    #[serde(default)]
    question_keys: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ScriptView {
    pub id: i64,
    pub title: String,
    pub body: String,
    pub question_keys: Vec<String>,
    pub created_at: DateTime<Utc>,
}

fn script_view(s: db::experiments::Script) -> ScriptView {
    ScriptView {
        id: s.id,
        title: s.title,
        body: s.body,
        question_keys: serde_json::from_str(&s.question_keys).unwrap_or_default(),
        created_at: utc(s.created_at),
    }
}

pub async fn create_script(
    state: web::Data<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<NewScriptBody>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let actor = Actor::from(&auth);
    let script = app::experiments::check_script(app::experiments::ScriptRequest {
        title: body.title,
        body: body.body,
        question_keys: body.question_keys,
    })?;
    let stored = store::transaction(&state.db, move |conn| {
        Ok(app::experiments::create_script(conn, actor, script)?)
    })
    .await?;
    Ok(HttpResponse::Created().json(script_view(stored)))
}

pub async fn list_scripts(
    state: web::Data<AppState>,
    auth: AuthUser,
) -> Result<HttpResponse, ApiError> {
    let items: Vec<ScriptView> = store::run(&state.db, move |conn| {
        Ok(db::experiments::scripts_of(conn, auth.campaign_id)?)
    })
    .await?
    .into_iter()
    .map(script_view)
    .collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewExperimentBody {
    name: String,
    #[serde(deserialize_with = "crate::domain::json::objects")]
    arms: Vec<Arm>,
    /// Without a scope, the whole campaign.
    #[serde(default, deserialize_with = "crate::domain::json::optional_object")]
    scope: Option<Scope>,
    #[serde(default, deserialize_with = "crate::domain::json::optional_object")]
    outcome: Option<Outcome>,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
    min_contacts_per_arm: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct ExperimentView {
    pub id: i64,
    pub name: String,
    pub state: String,
    pub arms: Vec<Arm>,
    pub scope: Value,
    pub outcome: Value,
    pub min_contacts_per_arm: i64,
    pub doors_assigned: usize,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
}

fn experiment_view(e: &Experiment, doors: usize) -> ExperimentView {
    ExperimentView {
        id: e.id,
        name: e.name.clone(),
        state: e.state.clone(),
        arms: serde_json::from_str(&e.arms).unwrap_or_default(),
        scope: serde_json::from_str(&e.scope).unwrap_or(Value::Null),
        outcome: serde_json::from_str(&e.outcome).unwrap_or(Value::Null),
        min_contacts_per_arm: e.min_contacts,
        doors_assigned: doors,
        starts_at: utc(e.starts_at),
        ends_at: e.ends_at.map(utc),
        created_by: e.created_by,
        created_at: utc(e.created_at),
    }
}

fn summary_view(s: &Summary) -> ExperimentView {
    experiment_view(&s.experiment, s.doors_assigned)
}

pub async fn create(
    state: web::Data<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<NewExperimentBody>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let actor = Actor::from(&auth);
    let design = app::experiments::check_experiment(app::experiments::ExperimentRequest {
        name: body.name,
        arms: body.arms,
        scope: body.scope,
        outcome: body.outcome,
        starts_at: body.starts_at.map(|t| t.naive_utc()),
        ends_at: body.ends_at.map(|t| t.naive_utc()),
        min_contacts_per_arm: body.min_contacts_per_arm,
    })?;
    let created = store::transaction(&state.db, move |conn| {
        Ok(app::experiments::create(conn, actor, design)?)
    })
    .await?;
    Ok(HttpResponse::Created().json(summary_view(&created)))
}

pub async fn list(state: web::Data<AppState>, auth: AuthUser) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let actor = Actor::from(&auth);
    let rows = store::run(&state.db, move |conn| {
        Ok(app::experiments::list(conn, actor)?)
    })
    .await?;
    let items: Vec<ExperimentView> = rows.iter().map(summary_view).collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

pub async fn get(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let actor = Actor::from(&auth);
    let id = path.into_inner();
    let found = store::run(&state.db, move |conn| {
        Ok(app::experiments::get(conn, actor, id)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(summary_view(&found)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchBody {
    name: Option<String>,
    arms: Option<Value>,
    scope: Option<Value>,
    outcome: Option<Value>,
}

/// Renames an experiment. Arms, weights, scope and outcome of a running experiment
/// never change (that would break the randomisation): 409, stop it and start anew.
pub async fn update(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
    ApiJson(body): ApiJson<PatchBody>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let actor = Actor::from(&auth);
    let id = path.into_inner();
    let patch = app::experiments::ExperimentPatch {
        name: body.name,
        changes_design: body.arms.is_some() || body.scope.is_some() || body.outcome.is_some(),
    };
    let updated = store::transaction(&state.db, move |conn| {
        Ok(app::experiments::update(conn, actor, id, patch)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(summary_view(&updated)))
}

pub async fn stop(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let actor = Actor::from(&auth);
    let id = path.into_inner();
    let stopped = store::transaction(&state.db, move |conn| {
        Ok(app::experiments::stop(conn, actor, id)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(summary_view(&stopped)))
}

/// Per arm figures with intervals, differences against the first arm and a verdict.
pub async fn results(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let actor = Actor::from(&auth);
    let id = path.into_inner();
    let r = store::run(&state.db, move |conn| {
        Ok(app::experiments::results(conn, actor, id)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({
        "experiment": experiment_view(&r.experiment, r.doors_assigned),
        "scripts": r.arms,
        "analysis": r.analysis,
    })))
}
