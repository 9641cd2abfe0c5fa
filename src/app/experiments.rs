//! Scripts and script experiments: randomised A/B tests at the door. An experiment
//! assigns every door of its scope to an arm (a script) once, when it starts, and its
//! design never changes afterwards; its results are read by intention to treat. The
//! assignment and the statistics are pure rules in `crate::experiments`.
//!
//! Creating a script or an experiment takes two steps: the input is checked on its own
//! ([`check_script`], [`check_experiment`]), before any connection is taken, and what
//! passed is stored against what the store knows ([`create_script`], [`create`]).

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Actor, AppError};
use crate::db::experiments::{Experiment, NewExperiment, Script};
use crate::db::{self, DbConnection};
use crate::domain::{DisplayName, Role};
use crate::experiments::{self as stats, Analysis, ArmCounts};
use crate::knock::{QuestionKind, SUPPORT_ID};

/// Most arms in one experiment.
pub const MAX_ARMS: usize = 10;
/// Contacts each arm needs before a verdict, unless the organizer sets another.
pub const DEFAULT_MIN_CONTACTS: u64 = 30;
/// Draws for the Bayesian view.
const BAYES_DRAWS: usize = 20_000;
/// Most turfs in a scope.
const MAX_SCOPE_TURFS: usize = 1000;
/// Most answers that count as success.
const MAX_OUTCOME_ANSWERS: usize = 50;
/// Most questions a script asks.
const MAX_SCRIPT_QUESTIONS: usize = 50;

/// One arm: the script its doors hear, and its share of the doors. Stored as given.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Arm {
    pub script_id: i64,
    pub weight: u32,
}

/// Which doors an experiment covers: some turfs, a region, or (neither) the whole
/// campaign. Stored as given.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    #[serde(default)]
    pub turf_ids: Option<Vec<i64>>,
    #[serde(default)]
    pub region_id: Option<i64>,
}

/// What counts as success: these answers to a single-choice question, among the people
/// contacted. Stored as given.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    pub question_key: String,
    pub answers: Vec<Value>,
}

impl Default for Outcome {
    /// Support ID 1 or 2 among contacted people.
    fn default() -> Self {
        Outcome {
            question_key: SUPPORT_ID.into(),
            answers: vec![Value::from(1), Value::from(2)],
        }
    }
}

/// An experiment with how many doors it assigned.
#[derive(Debug, Clone)]
pub struct Summary {
    pub experiment: Experiment,
    pub doors_assigned: usize,
}

fn not_found() -> AppError {
    AppError::NotFound("experiment")
}

fn audit(
    conn: &mut DbConnection,
    actor: Actor,
    action: &str,
    target_type: &str,
    target_id: i64,
    details: Value,
) -> Result<(), AppError> {
    actor.audit(conn, action, (target_type, Some(target_id)), details)
}

// --- Scripts ---

/// A script as asked for.
#[derive(Debug, Clone)]
pub struct ScriptRequest {
    pub title: String,
    pub body: String,
    pub question_keys: Vec<String>,
}

/// A script whose input passed [`check_script`].
#[derive(Debug, Clone)]
pub struct CheckedScript {
    title: String,
    body: String,
    question_keys: Vec<String>,
}

/// Checks a script's input on its own: title, body and how many questions.
pub fn check_script(req: ScriptRequest) -> Result<CheckedScript, AppError> {
    let title = req.title.trim().to_owned();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(AppError::invalid("title", "title is 1 to 200 characters"));
    }
    if req.body.trim().is_empty() || req.body.chars().count() > 10_000 {
        return Err(AppError::invalid("body", "body is 1 to 10,000 characters"));
    }
    if req.question_keys.len() > MAX_SCRIPT_QUESTIONS {
        return Err(AppError::invalid("question_keys", "at most 50 questions"));
    }
    Ok(CheckedScript {
        title,
        body: req.body,
        question_keys: req.question_keys,
    })
}

/// Stores a script whose questions are all active ones. Audited.
pub fn create_script(
    conn: &mut DbConnection,
    actor: Actor,
    script: CheckedScript,
) -> Result<Script, AppError> {
    let known = super::knocks::load_questions(conn, actor.campaign_id)?;
    if let Some(unknown) = script
        .question_keys
        .iter()
        .find(|k| !known.iter().any(|q| &q.key == *k))
    {
        return Err(AppError::invalid(
            "question_keys",
            format!("{unknown:?} is not an active question"),
        ));
    }
    let keys_json = serde_json::to_string(&script.question_keys).unwrap_or_else(|_| "[]".into());
    let stored = db::experiments::create_script(
        conn,
        actor.campaign_id,
        &script.title,
        &script.body,
        &keys_json,
        actor.user_id,
    )?;
    audit(
        conn,
        actor,
        "script.create",
        "script",
        stored.id,
        json!({ "title": script.title }),
    )?;
    Ok(stored)
}

// --- Experiments ---

/// An experiment as asked for (times in UTC).
#[derive(Debug, Clone)]
pub struct ExperimentRequest {
    pub name: String,
    pub arms: Vec<Arm>,
    /// Without a scope, the whole campaign.
    pub scope: Option<Scope>,
    /// Without an outcome, support ID 1 or 2.
    pub outcome: Option<Outcome>,
    /// Without a start, now.
    pub starts_at: Option<NaiveDateTime>,
    pub ends_at: Option<NaiveDateTime>,
    pub min_contacts_per_arm: Option<u64>,
}

/// An experiment whose input passed [`check_experiment`], defaults filled in.
#[derive(Debug, Clone)]
pub struct Design {
    name: String,
    arms: Vec<Arm>,
    scope: Scope,
    scope_kind: &'static str,
    outcome: Outcome,
    starts_at: NaiveDateTime,
    ends_at: Option<NaiveDateTime>,
    min_contacts: u64,
}

/// Checks an experiment's input on its own: name, arms and weights, the shape of the
/// scope, the outcome's answers, the dates and the contacts needed per arm.
pub fn check_experiment(req: ExperimentRequest) -> Result<Design, AppError> {
    let name = DisplayName::parse("name", &req.name)
        .map_err(AppError::from)?
        .as_str()
        .to_owned();
    if req.arms.len() < 2 || req.arms.len() > MAX_ARMS {
        return Err(AppError::invalid(
            "arms",
            format!("an experiment has 2 to {MAX_ARMS} arms"),
        ));
    }
    if req.arms.iter().any(|a| a.weight == 0 || a.weight > 1000) {
        return Err(AppError::invalid("arms", "each weight is 1 to 1000"));
    }
    let scope = req.scope.unwrap_or_default();
    let scope_kind = match (&scope.turf_ids, scope.region_id) {
        (Some(_), Some(_)) => {
            return Err(AppError::invalid(
                "scope",
                "give turf_ids or region_id, not both",
            ));
        }
        (Some(ids), None) if ids.is_empty() || ids.len() > MAX_SCOPE_TURFS => {
            return Err(AppError::invalid("scope.turf_ids", "give 1 to 1000 turfs"));
        }
        (Some(_), None) => "turfs",
        (None, Some(_)) => "region",
        (None, None) => "campaign",
    };
    let outcome = req.outcome.unwrap_or_default();
    if outcome.answers.is_empty() || outcome.answers.len() > MAX_OUTCOME_ANSWERS {
        return Err(AppError::invalid(
            "outcome.answers",
            "give 1 to 50 answers that count as success",
        ));
    }
    let starts_at = req.starts_at.unwrap_or_else(db::now);
    if req.ends_at.is_some_and(|e| e <= starts_at) {
        return Err(AppError::invalid(
            "ends_at",
            "ends_at must be after starts_at",
        ));
    }
    let min_contacts = req.min_contacts_per_arm.unwrap_or(DEFAULT_MIN_CONTACTS);
    if !(1..=100_000).contains(&min_contacts) {
        return Err(AppError::invalid(
            "min_contacts_per_arm",
            "min_contacts_per_arm is 1 to 100,000",
        ));
    }
    Ok(Design {
        name,
        arms: req.arms,
        scope,
        scope_kind,
        outcome,
        starts_at,
        ends_at: req.ends_at,
        min_contacts,
    })
}

/// Every arm's script is one of the campaign's.
fn check_scripts(conn: &mut DbConnection, campaign_id: i64, arms: &[Arm]) -> Result<(), AppError> {
    for arm in arms {
        if db::experiments::script(conn, campaign_id, arm.script_id)?.is_none() {
            return Err(AppError::invalid(
                "arms",
                format!("script {} is not a script of this campaign", arm.script_id),
            ));
        }
    }
    Ok(())
}

/// The outcome asks an active single-choice question, for answers it has.
fn check_outcome(
    conn: &mut DbConnection,
    campaign_id: i64,
    outcome: &Outcome,
) -> Result<(), AppError> {
    let questions = super::knocks::load_questions(conn, campaign_id)?;
    let Some(question) = questions.iter().find(|q| q.key == outcome.question_key) else {
        return Err(AppError::invalid(
            "outcome.question_key",
            "not an active question",
        ));
    };
    if question.kind != QuestionKind::SingleChoice {
        return Err(AppError::invalid(
            "outcome.question_key",
            "the outcome must be a single-choice question",
        ));
    }
    if let Some(bad) = outcome
        .answers
        .iter()
        .find(|a| !question.values.contains(a))
    {
        return Err(AppError::invalid(
            "outcome.answers",
            format!("{bad} is not an answer of {:?}", question.key),
        ));
    }
    Ok(())
}

/// The scope's region or turfs are the campaign's; answers the doors it holds (some).
fn doors_of_scope(
    conn: &mut DbConnection,
    campaign_id: i64,
    scope: &Scope,
) -> Result<Vec<i64>, AppError> {
    if let Some(region) = scope.region_id
        && db::regions::find(conn, campaign_id, region)?.is_none()
    {
        return Err(AppError::invalid(
            "scope.region_id",
            "not a region of this campaign",
        ));
    }
    if let Some(ids) = &scope.turf_ids {
        for id in ids {
            if db::turfs::get(conn, campaign_id, *id)?.is_none() {
                return Err(AppError::invalid(
                    "scope.turf_ids",
                    format!("turf {id} is not a turf of this campaign"),
                ));
            }
        }
    }
    let doors = db::experiments::doors_in_scope(
        conn,
        campaign_id,
        scope.region_id,
        scope.turf_ids.as_deref(),
    )?;
    if doors.is_empty() {
        return Err(AppError::invalid("scope", "the scope holds no doors"));
    }
    Ok(doors)
}

/// A door in two running experiments would mix their effects: refuse, naming the
/// running experiments and how many doors each shares.
fn refuse_overlap(
    conn: &mut DbConnection,
    campaign_id: i64,
    doors: &[i64],
) -> Result<(), AppError> {
    let overlap = db::experiments::overlapping(conn, campaign_id, doors)?;
    if overlap.is_empty() {
        return Ok(());
    }
    Err(AppError::Conflict {
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
    })
}

/// Starts an experiment: checks the design against the store (scripts, outcome
/// question, scope, no door already in a running experiment), stores it and assigns
/// every door of its scope to an arm. Audited. Run it in a write transaction.
pub fn create(conn: &mut DbConnection, actor: Actor, design: Design) -> Result<Summary, AppError> {
    let campaign_id = actor.campaign_id;
    check_scripts(conn, campaign_id, &design.arms)?;
    check_outcome(conn, campaign_id, &design.outcome)?;
    let doors = doors_of_scope(conn, campaign_id, &design.scope)?;
    refuse_overlap(conn, campaign_id, &doors)?;
    let stored = db::experiments::create(
        conn,
        campaign_id,
        &NewExperiment {
            name: &design.name,
            arms: &serde_json::to_string(&design.arms).unwrap_or_default(),
            scope_kind: design.scope_kind,
            scope: &serde_json::to_string(&design.scope).unwrap_or_default(),
            region_id: design.scope.region_id,
            outcome: &serde_json::to_string(&design.outcome).unwrap_or_default(),
            min_contacts: i64::try_from(design.min_contacts).unwrap_or(i64::MAX),
            starts_at: design.starts_at,
            ends_at: design.ends_at,
            created_by: actor.user_id,
        },
    )?;
    let weights: Vec<u32> = design.arms.iter().map(|a| a.weight).collect();
    let rows: Vec<(i64, i64, i64)> = doors
        .iter()
        .filter_map(|&door| {
            stats::assign_arm(stored.id, door, &weights).and_then(|arm| {
                let script_id = design.arms.get(arm)?.script_id;
                Some((door, i64::try_from(arm).unwrap_or(0), script_id))
            })
        })
        .collect();
    db::experiments::record_assignments(conn, campaign_id, stored.id, &rows)?;
    audit(
        conn,
        actor,
        "experiment.create",
        "experiment",
        stored.id,
        json!({ "doors": rows.len() }),
    )?;
    Ok(Summary {
        experiment: stored,
        doors_assigned: rows.len(),
    })
}

/// Who may see an experiment: admins all; directors those of their region (or all
/// when they have none); organizers the ones they created.
fn visible(conn: &mut DbConnection, actor: Actor, e: &Experiment) -> Result<bool, AppError> {
    match actor.role {
        Role::Admin => Ok(true),
        Role::Director => {
            let me = db::users::find(conn, actor.campaign_id, actor.user_id)?;
            Ok(match me.and_then(|u| u.region_id) {
                None => true,
                Some(region) => e.region_id == Some(region),
            })
        }
        Role::Organizer => Ok(e.created_by == Some(actor.user_id)),
        Role::Volunteer => Ok(false),
    }
}

/// The experiment, if the actor may see it; one they may not is not found.
fn find_visible(conn: &mut DbConnection, actor: Actor, id: i64) -> Result<Experiment, AppError> {
    let e = db::experiments::get(conn, actor.campaign_id, id)?.ok_or_else(not_found)?;
    if visible(conn, actor, &e)? {
        Ok(e)
    } else {
        Err(not_found())
    }
}

fn summary(conn: &mut DbConnection, experiment: Experiment) -> Result<Summary, AppError> {
    let doors_assigned =
        db::experiments::assignments(conn, experiment.campaign_id, experiment.id)?.len();
    Ok(Summary {
        experiment,
        doors_assigned,
    })
}

/// The experiments the actor may see.
pub fn list(conn: &mut DbConnection, actor: Actor) -> Result<Vec<Summary>, AppError> {
    let mut out = Vec::new();
    for e in db::experiments::list(conn, actor.campaign_id)? {
        if visible(conn, actor, &e)? {
            out.push(summary(conn, e)?);
        }
    }
    Ok(out)
}

/// One experiment the actor may see.
pub fn get(conn: &mut DbConnection, actor: Actor, id: i64) -> Result<Summary, AppError> {
    let e = find_visible(conn, actor, id)?;
    summary(conn, e)
}

/// A change asked of an experiment: only the name may change.
#[derive(Debug, Clone, Default)]
pub struct ExperimentPatch {
    pub name: Option<String>,
    /// Whether arms, weights, scope or outcome were given: they never change.
    pub changes_design: bool,
}

/// Renames an experiment (audited). Arms, weights, scope and outcome never change
/// (that would break the randomisation): a conflict; stop it and start anew.
pub fn update(
    conn: &mut DbConnection,
    actor: Actor,
    id: i64,
    patch: ExperimentPatch,
) -> Result<Summary, AppError> {
    let e = find_visible(conn, actor, id)?;
    if patch.changes_design {
        return Err(AppError::conflict(
            "arms, weights, scope and outcome of an experiment never change; stop it and start a new one",
        ));
    }
    if let Some(name) = &patch.name {
        let name = DisplayName::parse("name", name).map_err(AppError::from)?;
        db::experiments::rename(conn, actor.campaign_id, id, name.as_str())?;
        audit(
            conn,
            actor,
            "experiment.rename",
            "experiment",
            id,
            json!({ "name": name.as_str() }),
        )?;
    }
    let e = db::experiments::get(conn, actor.campaign_id, e.id)?.ok_or_else(not_found)?;
    summary(conn, e)
}

/// Stops a running experiment (audited); its doors are free for a new one. Stopping
/// a stopped one is a conflict.
pub fn stop(conn: &mut DbConnection, actor: Actor, id: i64) -> Result<Summary, AppError> {
    let e = find_visible(conn, actor, id)?;
    if !db::experiments::stop(conn, actor.campaign_id, e.id)? {
        return Err(AppError::conflict(format!(
            "experiment {id} is already stopped"
        )));
    }
    audit(
        conn,
        actor,
        "experiment.stop",
        "experiment",
        id,
        json!({ "name": e.name }),
    )?;
    let e = db::experiments::get(conn, actor.campaign_id, e.id)?.ok_or_else(not_found)?;
    summary(conn, e)
}

/// An experiment's results: per arm figures with intervals, differences against the
/// first arm and a verdict.
#[derive(Debug, Clone)]
pub struct Results {
    pub experiment: Experiment,
    /// Doors assigned over all arms.
    pub doors_assigned: usize,
    pub arms: Vec<Arm>,
    pub analysis: Analysis,
}

/// The results of an experiment the actor may see, by intention to treat.
pub fn results(conn: &mut DbConnection, actor: Actor, id: i64) -> Result<Results, AppError> {
    let e = find_visible(conn, actor, id)?;
    let arms: Vec<Arm> = serde_json::from_str(&e.arms).unwrap_or_default();
    let outcome: Outcome = serde_json::from_str(&e.outcome).unwrap_or_default();
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
    let doors_assigned = per_arm.iter().map(|a| a.doors_assigned as usize).sum();
    Ok(Results {
        experiment: e,
        doors_assigned,
        arms,
        analysis,
    })
}
