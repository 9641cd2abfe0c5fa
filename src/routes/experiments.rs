//! Scripts and script experiments: randomised A/B tests at the door, analysed by
//! intention to treat with honest intervals (the statistics are in `crate::experiments`).

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::store;
use super::views::utc;
use crate::auth::AuthUser;
use crate::db::experiments::{Experiment, NewExperiment};
use crate::db::{self, DbConnection};
use crate::domain::Role;
use crate::error::ApiError;
use crate::experiments::{self as stats, ArmCounts};
use crate::extract::ApiJson;
use crate::knock::SUPPORT_ID;
use crate::state::AppState;

/// Most arms in one experiment.
pub const MAX_ARMS: usize = 10;
/// Contacts each arm needs before a verdict, unless the organizer sets another.
pub const DEFAULT_MIN_CONTACTS: u64 = 30;
/// Draws for the Bayesian view.
const BAYES_DRAWS: usize = 20_000;

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
    let title = body.title.trim().to_owned();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(ApiError::validation(
            "title",
            "title is 1 to 200 characters",
        ));
    }
    if body.body.trim().is_empty() || body.body.chars().count() > 10_000 {
        return Err(ApiError::validation(
            "body",
            "body is 1 to 10,000 characters",
        ));
    }
    if body.question_keys.len() > 50 {
        return Err(ApiError::validation(
            "question_keys",
            "at most 50 questions",
        ));
    }
    let keys = body.question_keys;
    let text = body.body;
    let script = store::transaction(&state.db, move |conn| {
        let known: Vec<String> = super::questions::active(conn, auth.campaign_id)?
            .into_iter()
            .map(|q| q.key)
            .collect();
        if let Some(unknown) = keys.iter().find(|k| !known.contains(k)) {
            return Err(ApiError::validation(
                "question_keys",
                format!("{unknown:?} is not an active question"),
            ));
        }
        let keys_json = serde_json::to_string(&keys).unwrap_or_else(|_| "[]".into());
        let script = db::experiments::create_script(
            conn,
            auth.campaign_id,
            &title,
            &text,
            &keys_json,
            auth.user_id,
        )?;
        audit(
            conn,
            &auth,
            "script.create",
            "script",
            script.id,
            json!({ "title": title }),
        )?;
        Ok(script)
    })
    .await?;
    Ok(HttpResponse::Created().json(script_view(script)))
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

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArmBody {
    pub script_id: i64,
    pub weight: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeBody {
    #[serde(default)]
    turf_ids: Option<Vec<i64>>,
    #[serde(default)]
    region_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeBody {
    question_key: String,
    answers: Vec<Value>,
}

impl Default for OutcomeBody {
    /// Support ID 1 or 2 among contacted people.
    fn default() -> Self {
        OutcomeBody {
            question_key: SUPPORT_ID.into(),
            answers: vec![Value::from(1), Value::from(2)],
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewExperimentBody {
    name: String,
    #[serde(deserialize_with = "crate::domain::json::objects")]
    arms: Vec<ArmBody>,
    /// Without a scope, the whole campaign.
    #[serde(default, deserialize_with = "crate::domain::json::optional_object")]
    scope: Option<ScopeBody>,
    #[serde(default, deserialize_with = "crate::domain::json::optional_object")]
    outcome: Option<OutcomeBody>,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
    min_contacts_per_arm: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct ExperimentView {
    pub id: i64,
    pub name: String,
    pub state: String,
    pub arms: Vec<ArmBody>,
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

fn audit(
    conn: &mut DbConnection,
    auth: &AuthUser,
    action: &str,
    target_type: &str,
    target_id: i64,
    details: Value,
) -> Result<(), ApiError> {
    db::audit::record(
        conn,
        db::audit::Change {
            campaign_id: auth.campaign_id,
            actor_id: Some(auth.user_id),
            action,
            target_type,
            target_id: Some(target_id),
            details,
        },
    )?;
    Ok(())
}

/// Who may see an experiment: admins all; directors those of their region (or all
/// when they have none); organizers the ones they created.
fn visible(conn: &mut DbConnection, auth: &AuthUser, e: &Experiment) -> Result<bool, ApiError> {
    match auth.role {
        Role::Admin => Ok(true),
        Role::Director => {
            let me = db::users::find(conn, auth.campaign_id, auth.user_id)?;
            Ok(match me.and_then(|u| u.region_id) {
                None => true,
                Some(region) => e.region_id == Some(region),
            })
        }
        Role::Organizer => Ok(e.created_by == Some(auth.user_id)),
        Role::Volunteer => Ok(false),
    }
}

fn find_visible(conn: &mut DbConnection, auth: &AuthUser, id: i64) -> Result<Experiment, ApiError> {
    let e = db::experiments::get(conn, auth.campaign_id, id)?
        .ok_or_else(|| ApiError::not_found("experiment"))?;
    if visible(conn, auth, &e)? {
        Ok(e)
    } else {
        Err(ApiError::not_found("experiment"))
    }
}

pub async fn create(
    state: web::Data<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<NewExperimentBody>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let name = crate::domain::DisplayName::parse("name", &body.name)?
        .as_str()
        .to_owned();
    if body.arms.len() < 2 || body.arms.len() > MAX_ARMS {
        return Err(ApiError::validation(
            "arms",
            format!("an experiment has 2 to {MAX_ARMS} arms"),
        ));
    }
    if body.arms.iter().any(|a| a.weight == 0 || a.weight > 1000) {
        return Err(ApiError::validation("arms", "each weight is 1 to 1000"));
    }
    let scope = body.scope.unwrap_or(ScopeBody {
        turf_ids: None,
        region_id: None,
    });
    let scope_kind = match (&scope.turf_ids, scope.region_id) {
        (Some(_), Some(_)) => {
            return Err(ApiError::validation(
                "scope",
                "give turf_ids or region_id, not both",
            ));
        }
        (Some(ids), None) if ids.is_empty() || ids.len() > 1000 => {
            return Err(ApiError::validation(
                "scope.turf_ids",
                "give 1 to 1000 turfs",
            ));
        }
        (Some(_), None) => "turfs",
        (None, Some(_)) => "region",
        (None, None) => "campaign",
    };
    let outcome = body.outcome.unwrap_or_default();
    if outcome.answers.is_empty() || outcome.answers.len() > 50 {
        return Err(ApiError::validation(
            "outcome.answers",
            "give 1 to 50 answers that count as success",
        ));
    }
    let starts_at = body.starts_at.map_or_else(db::now, |t| t.naive_utc());
    let ends_at = body.ends_at.map(|t| t.naive_utc());
    if ends_at.is_some_and(|e| e <= starts_at) {
        return Err(ApiError::validation(
            "ends_at",
            "ends_at must be after starts_at",
        ));
    }
    let min_contacts = body.min_contacts_per_arm.unwrap_or(DEFAULT_MIN_CONTACTS);
    if !(1..=100_000).contains(&min_contacts) {
        return Err(ApiError::validation(
            "min_contacts_per_arm",
            "min_contacts_per_arm is 1 to 100,000",
        ));
    }
    let arms = body.arms;
    let view = store::transaction(&state.db, move |conn| {
        for arm in &arms {
            if db::experiments::script(conn, auth.campaign_id, arm.script_id)?.is_none() {
                return Err(ApiError::validation(
                    "arms",
                    format!("script {} is not a script of this campaign", arm.script_id),
                ));
            }
        }
        let questions = super::questions::active(conn, auth.campaign_id)?;
        let Some(question) = questions.iter().find(|q| q.key == outcome.question_key) else {
            return Err(ApiError::validation(
                "outcome.question_key",
                "not an active question",
            ));
        };
        if question.kind != crate::knock::QuestionKind::SingleChoice.as_str() {
            return Err(ApiError::validation(
                "outcome.question_key",
                "the outcome must be a single-choice question",
            ));
        }
        if let Some(bad) = outcome
            .answers
            .iter()
            .find(|a| !question.answers.iter().any(|o| &o.value == *a))
        {
            return Err(ApiError::validation(
                "outcome.answers",
                format!("{bad} is not an answer of {:?}", question.key),
            ));
        }
        if let Some(region) = scope.region_id
            && db::regions::find(conn, auth.campaign_id, region)?.is_none()
        {
            return Err(ApiError::validation("scope.region_id", "not a region of this campaign"));
        }
        if let Some(ids) = &scope.turf_ids {
            for id in ids {
                if db::turfs::get(conn, auth.campaign_id, *id)?.is_none() {
                    return Err(ApiError::validation(
                        "scope.turf_ids",
                        format!("turf {id} is not a turf of this campaign"),
                    ));
                }
            }
        }
        let doors = db::experiments::doors_in_scope(
            conn,
            auth.campaign_id,
            scope.region_id,
            scope.turf_ids.as_deref(),
        )?;
        if doors.is_empty() {
            return Err(ApiError::validation("scope", "the scope holds no doors"));
        }
        // A door in two running experiments would mix their effects: refuse.
        let overlap = db::experiments::overlapping(conn, auth.campaign_id, &doors)?;
        if !overlap.is_empty() {
            return Err(ApiError::ConflictWith {
                message: format!(
                    "{} door(s) of this scope are already in running experiment(s); stop them or choose another scope",
                    overlap.iter().map(|o| o.1).sum::<i64>()
                ),
                details: json!({
                    "experiments": overlap
                        .iter()
                        .map(|(id, n)| json!({ "id": id, "shared_doors": n }))
                        .collect::<Vec<_>>()
                }),
            });
        }
        let stored = db::experiments::create(
            conn,
            auth.campaign_id,
            &NewExperiment {
                name: &name,
                arms: &serde_json::to_string(&arms).unwrap_or_default(),
                scope_kind,
                scope: &serde_json::to_string(&scope).unwrap_or_default(),
                region_id: scope.region_id,
                outcome: &serde_json::to_string(&outcome).unwrap_or_default(),
                min_contacts: i64::try_from(min_contacts).unwrap_or(i64::MAX),
                starts_at,
                ends_at,
                created_by: auth.user_id,
            },
        )?;
        let weights: Vec<u32> = arms.iter().map(|a| a.weight).collect();
        let rows: Vec<(i64, i64, i64)> = doors
            .iter()
            .filter_map(|&door| {
                stats::assign_arm(stored.id, door, &weights).map(|arm| {
                    (door, i64::try_from(arm).unwrap_or(0), arms[arm].script_id)
                })
            })
            .collect();
        db::experiments::record_assignments(conn, auth.campaign_id, stored.id, &rows)?;
        db::audit::record(
            conn,
            db::audit::Change {
                campaign_id: auth.campaign_id,
                actor_id: Some(auth.user_id),
                action: "experiment.create",
                target_type: "experiment",
                target_id: Some(stored.id),
                details: json!({ "doors": rows.len() }),
            },
        )?;
        Ok(experiment_view(&stored, rows.len()))
    })
    .await?;
    Ok(HttpResponse::Created().json(view))
}

pub async fn list(state: web::Data<AppState>, auth: AuthUser) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let items = store::run(&state.db, move |conn| {
        let mut out = Vec::new();
        for e in db::experiments::list(conn, auth.campaign_id)? {
            if visible(conn, &auth, &e)? {
                let doors = db::experiments::assignments(conn, auth.campaign_id, e.id)?.len();
                out.push(experiment_view(&e, doors));
            }
        }
        Ok(out)
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

pub async fn get(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let id = path.into_inner();
    let view = store::run(&state.db, move |conn| {
        let e = find_visible(conn, &auth, id)?;
        let doors = db::experiments::assignments(conn, auth.campaign_id, e.id)?.len();
        Ok(experiment_view(&e, doors))
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
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
    let id = path.into_inner();
    let view = store::transaction(&state.db, move |conn| {
        let e = find_visible(conn, &auth, id)?;
        if body.arms.is_some() || body.scope.is_some() || body.outcome.is_some() {
            return Err(ApiError::Conflict(
                "arms, weights, scope and outcome of an experiment never change; stop it and start a new one".into(),
            ));
        }
        if let Some(name) = &body.name {
            let name = crate::domain::DisplayName::parse("name", name)?;
            db::experiments::rename(conn, auth.campaign_id, id, name.as_str())?;
            audit(conn, &auth, "experiment.rename", "experiment", id, json!({ "name": name.as_str() }))?;
        }
        let e = db::experiments::get(conn, auth.campaign_id, e.id)?
            .ok_or_else(|| ApiError::not_found("experiment"))?;
        let doors = db::experiments::assignments(conn, auth.campaign_id, e.id)?.len();
        Ok(experiment_view(&e, doors))
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

pub async fn stop(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let id = path.into_inner();
    let view = store::transaction(&state.db, move |conn| {
        let e = find_visible(conn, &auth, id)?;
        if !db::experiments::stop(conn, auth.campaign_id, e.id)? {
            return Err(ApiError::Conflict(format!(
                "experiment {id} is already stopped"
            )));
        }
        audit(
            conn,
            &auth,
            "experiment.stop",
            "experiment",
            id,
            json!({ "name": e.name }),
        )?;
        let e = db::experiments::get(conn, auth.campaign_id, e.id)?
            .ok_or_else(|| ApiError::not_found("experiment"))?;
        let doors = db::experiments::assignments(conn, auth.campaign_id, e.id)?.len();
        Ok(experiment_view(&e, doors))
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Per arm figures with intervals, differences against the first arm and a verdict.
pub async fn results(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let id = path.into_inner();
    let body = store::run(&state.db, move |conn| {
        let e = find_visible(conn, &auth, id)?;
        let arms: Vec<ArmBody> = serde_json::from_str(&e.arms).unwrap_or_default();
        let outcome: OutcomeBody = serde_json::from_str(&e.outcome).unwrap_or_default();
        let answers: Vec<String> = outcome.answers.iter().map(Value::to_string).collect();
        let counts = db::experiments::arm_counts(conn, &e, &outcome.question_key, &answers)?;
        let mut per_arm = vec![ArmCounts::default(); arms.len()];
        for (arm, [assigned, attempted, contacted, succeeded]) in counts {
            if let Some(slot) = usize::try_from(arm).ok().and_then(|i| per_arm.get_mut(i)) {
                *slot = ArmCounts {
                    doors_assigned: assigned,
                    attempts: attempted,
                    contacts: contacted,
                    successes: succeeded,
                };
            }
        }
        let min = u64::try_from(e.min_contacts).unwrap_or(DEFAULT_MIN_CONTACTS);
        let analysis = stats::analyse(&per_arm, min, BAYES_DRAWS, u64::try_from(e.id).unwrap_or(0));
        Ok(json!({
            "experiment": experiment_view(&e, per_arm.iter().map(|a| a.doors_assigned as usize).sum()),
            "scripts": arms,
            "analysis": analysis,
        }))
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}
