//! Scripts and script experiments: the stored experiments, each door's recorded arm,
//! and the per-arm counts the analysis needs.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::DbConnection;
use super::people::on_backend;
use super::schema::{doors, experiment_doors, experiments, scripts, turf_cells, turfs};
use super::turfs::turf_doors;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = scripts)]
pub struct Script {
    pub id: i64,
    pub campaign_id: i64,
    pub title: String,
    pub body: String,
    pub question_keys: String,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
}

pub fn create_script(
    conn: &mut DbConnection,
    campaign_id: i64,
    title: &str,
    body: &str,
    question_keys: &str,
    created_by: i64,
) -> QueryResult<Script> {
    diesel::insert_into(scripts::table)
        .values((
            scripts::campaign_id.eq(campaign_id),
            scripts::title.eq(title),
            scripts::body.eq(body),
            scripts::question_keys.eq(question_keys),
            scripts::created_by.eq(created_by),
            scripts::created_at.eq(super::now()),
        ))
        .returning(scripts::all_columns)
        .get_result(conn)
}

pub fn scripts_of(conn: &mut DbConnection, campaign_id: i64) -> QueryResult<Vec<Script>> {
    scripts::table
        .filter(scripts::campaign_id.eq(campaign_id))
        .order(scripts::id)
        .select(Script::as_select())
        .load(conn)
}

pub fn script(conn: &mut DbConnection, campaign_id: i64, id: i64) -> QueryResult<Option<Script>> {
    scripts::table
        .filter(scripts::campaign_id.eq(campaign_id))
        .filter(scripts::id.eq(id))
        .select(Script::as_select())
        .first(conn)
        .optional()
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = experiments)]
pub struct Experiment {
    pub id: i64,
    pub campaign_id: i64,
    pub name: String,
    pub arms: String,
    pub scope_kind: String,
    pub scope: String,
    pub region_id: Option<i64>,
    pub outcome: String,
    pub min_contacts: i64,
    pub state: String,
    pub starts_at: NaiveDateTime,
    pub ends_at: Option<NaiveDateTime>,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub stopped_at: Option<NaiveDateTime>,
}

/// An experiment to store.
pub struct NewExperiment<'a> {
    pub name: &'a str,
    pub arms: &'a str,
    pub scope_kind: &'a str,
    pub scope: &'a str,
    pub region_id: Option<i64>,
    pub outcome: &'a str,
    pub min_contacts: i64,
    pub starts_at: NaiveDateTime,
    pub ends_at: Option<NaiveDateTime>,
    pub created_by: i64,
}

pub fn create(
    conn: &mut DbConnection,
    campaign_id: i64,
    e: &NewExperiment,
) -> QueryResult<Experiment> {
    diesel::insert_into(experiments::table)
        .values((
            experiments::campaign_id.eq(campaign_id),
            experiments::name.eq(e.name),
            experiments::arms.eq(e.arms),
            experiments::scope_kind.eq(e.scope_kind),
            experiments::scope.eq(e.scope),
            experiments::region_id.eq(e.region_id),
            experiments::outcome.eq(e.outcome),
            experiments::min_contacts.eq(e.min_contacts),
            experiments::state.eq("running"),
            experiments::starts_at.eq(e.starts_at),
            experiments::ends_at.eq(e.ends_at),
            experiments::created_by.eq(e.created_by),
            experiments::created_at.eq(super::now()),
        ))
        .returning(experiments::all_columns)
        .get_result(conn)
}

pub fn get(conn: &mut DbConnection, campaign_id: i64, id: i64) -> QueryResult<Option<Experiment>> {
    experiments::table
        .filter(experiments::campaign_id.eq(campaign_id))
        .filter(experiments::id.eq(id))
        .select(Experiment::as_select())
        .first(conn)
        .optional()
}

pub fn list(conn: &mut DbConnection, campaign_id: i64) -> QueryResult<Vec<Experiment>> {
    experiments::table
        .filter(experiments::campaign_id.eq(campaign_id))
        .order(experiments::id)
        .select(Experiment::as_select())
        .load(conn)
}

pub fn stop(conn: &mut DbConnection, campaign_id: i64, id: i64) -> QueryResult<bool> {
    let now = super::now();
    let n = diesel::update(
        experiments::table
            .filter(experiments::campaign_id.eq(campaign_id))
            .filter(experiments::id.eq(id))
            .filter(experiments::state.eq("running")),
    )
    .set((
        experiments::state.eq("stopped"),
        experiments::stopped_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n > 0)
}

pub fn rename(conn: &mut DbConnection, campaign_id: i64, id: i64, name: &str) -> QueryResult<()> {
    diesel::update(
        experiments::table
            .filter(experiments::campaign_id.eq(campaign_id))
            .filter(experiments::id.eq(id)),
    )
    .set(experiments::name.eq(name))
    .execute(conn)
    .map(|_| ())
}

/// The doors of a scope: every door of the campaign, of a region's turfs, or of
/// some turfs (ids ascending, without duplicates).
pub fn doors_in_scope(
    conn: &mut DbConnection,
    campaign_id: i64,
    region_id: Option<i64>,
    turf_ids: Option<&[i64]>,
) -> QueryResult<Vec<i64>> {
    let turfs_of_scope: Option<Vec<i64>> = match (region_id, turf_ids) {
        (Some(region), _) => Some(
            turfs::table
                .filter(turfs::campaign_id.eq(campaign_id))
                .filter(turfs::region_id.eq(region))
                .select(turfs::id)
                .load(conn)?,
        ),
        (None, Some(ids)) => Some(ids.to_vec()),
        (None, None) => None,
    };
    let mut out: Vec<i64> = match turfs_of_scope {
        None => doors::table
            .filter(doors::campaign_id.eq(campaign_id))
            .select(doors::id)
            .load(conn)?,
        Some(ids) => {
            let mut all = Vec::new();
            for turf_id in ids {
                all.extend(
                    turf_doors!(campaign_id, turf_id)
                        .select(doors::id)
                        .load::<i64>(conn)?,
                );
            }
            all
        }
    };
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Running experiments that already hold some of these doors: (experiment, doors held).
pub fn overlapping(
    conn: &mut DbConnection,
    campaign_id: i64,
    door_ids: &[i64],
) -> QueryResult<Vec<(i64, i64)>> {
    let mut counts: std::collections::BTreeMap<i64, i64> = std::collections::BTreeMap::new();
    for chunk in door_ids.chunks(1000) {
        for id in experiment_doors::table
            .inner_join(
                experiments::table.on(experiments::campaign_id
                    .eq(experiment_doors::campaign_id)
                    .and(experiments::id.eq(experiment_doors::experiment_id))),
            )
            .filter(experiment_doors::campaign_id.eq(campaign_id))
            .filter(experiment_doors::door_id.eq_any(chunk))
            .filter(experiments::state.eq("running"))
            .filter(
                experiments::ends_at
                    .is_null()
                    .or(experiments::ends_at.gt(super::now())),
            )
            .select(experiment_doors::experiment_id)
            .load::<i64>(conn)?
        {
            *counts.entry(id).or_default() += 1;
        }
    }
    Ok(counts.into_iter().collect())
}

/// Records each door's arm and script.
pub fn record_assignments(
    conn: &mut DbConnection,
    campaign_id: i64,
    experiment_id: i64,
    rows: &[(i64, i64, i64)],
) -> QueryResult<()> {
    let values: Vec<_> = rows
        .iter()
        .map(|&(door, arm, script)| {
            (
                experiment_doors::campaign_id.eq(campaign_id),
                experiment_doors::experiment_id.eq(experiment_id),
                experiment_doors::door_id.eq(door),
                experiment_doors::arm.eq(arm),
                experiment_doors::script_id.eq(script),
            )
        })
        .collect();
    for chunk in values.chunks(1000) {
        on_backend!(conn, |c| diesel::insert_into(experiment_doors::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}

/// Each door's recorded arm in the experiment: (door, arm).
pub fn assignments(
    conn: &mut DbConnection,
    campaign_id: i64,
    experiment_id: i64,
) -> QueryResult<Vec<(i64, i64)>> {
    experiment_doors::table
        .filter(experiment_doors::campaign_id.eq(campaign_id))
        .filter(experiment_doors::experiment_id.eq(experiment_id))
        .order(experiment_doors::door_id)
        .select((experiment_doors::door_id, experiment_doors::arm))
        .load(conn)
}

/// The script each of these doors should hear now (running experiments only):
/// (door, experiment, script).
pub fn scripts_for_doors(
    conn: &mut DbConnection,
    campaign_id: i64,
    door_ids: &[i64],
) -> QueryResult<Vec<(i64, i64, i64)>> {
    let mut out = Vec::new();
    for chunk in door_ids.chunks(1000) {
        out.extend(
            experiment_doors::table
                .inner_join(
                    experiments::table.on(experiments::campaign_id
                        .eq(experiment_doors::campaign_id)
                        .and(experiments::id.eq(experiment_doors::experiment_id))),
                )
                .filter(experiment_doors::campaign_id.eq(campaign_id))
                .filter(experiment_doors::door_id.eq_any(chunk))
                .filter(experiments::state.eq("running"))
                .filter(
                    experiments::ends_at
                        .is_null()
                        .or(experiments::ends_at.gt(super::now())),
                )
                .select((
                    experiment_doors::door_id,
                    experiment_doors::experiment_id,
                    experiment_doors::script_id,
                ))
                .load::<(i64, i64, i64)>(conn)?,
        );
    }
    Ok(out)
}

#[derive(QueryableByName)]
struct ArmRow {
    #[diesel(sql_type = BigInt)]
    arm: i64,
    #[diesel(sql_type = BigInt)]
    assigned: i64,
    #[diesel(sql_type = BigInt)]
    attempted: i64,
    #[diesel(sql_type = BigInt)]
    contacted: i64,
    #[diesel(sql_type = BigInt)]
    succeeded: i64,
}

/// Per arm, by intention to treat (every door counts in its recorded arm): doors
/// assigned, doors attempted, doors contacted, and contacted doors where someone gave
/// a success answer — counting knocks from the experiment's start to its end.
pub fn arm_counts(
    conn: &mut DbConnection,
    e: &Experiment,
    question_key: &str,
    success_answers: &[String],
) -> QueryResult<Vec<(i64, [u64; 4])>> {
    // Bound in this order: campaign, question, start, end, the answers, experiment.
    let mut next = super::placeholders(conn);
    let [p1a, p2, p3, p4] = std::array::from_fn(|_| next());
    let answers: Vec<String> = success_answers.iter().map(|_| next()).collect();
    let p5a = next();
    let in_answers = if answers.is_empty() {
        "NULL".to_owned()
    } else {
        answers.join(", ")
    };
    // Knocks count until the experiment ended: its end time or when it was stopped,
    // whichever came first.
    let end = match (e.ends_at, e.stopped_at) {
        (Some(a), Some(b)) => a.min(b),
        (Some(t), None) | (None, Some(t)) => t,
        (None, None) => super::now() + chrono::Duration::days(3650),
    };
    let sql = format!(
        "SELECT ed.arm AS arm, COUNT(*) AS assigned,
                SUM(CASE WHEN EXISTS (SELECT 1 FROM knocks k WHERE k.campaign_id = ed.campaign_id
                     AND k.door_id = ed.door_id AND k.knocked_at >= {p3} AND k.knocked_at < {p4})
                    THEN 1 ELSE 0 END) AS attempted,
                SUM(CASE WHEN EXISTS (SELECT 1 FROM knocks k WHERE k.campaign_id = ed.campaign_id
                     AND k.door_id = ed.door_id AND k.result = 'contacted'
                     AND k.knocked_at >= {p3} AND k.knocked_at < {p4})
                    THEN 1 ELSE 0 END) AS contacted,
                SUM(CASE WHEN EXISTS (SELECT 1 FROM knocks k JOIN knock_answers a
                       ON a.campaign_id = k.campaign_id AND a.knock_id = k.id
                     WHERE k.campaign_id = ed.campaign_id AND k.door_id = ed.door_id
                       AND k.result = 'contacted' AND k.knocked_at >= {p3} AND k.knocked_at < {p4}
                       AND a.question_key = {p2} AND a.answer IN ({in_answers}))
                    THEN 1 ELSE 0 END) AS succeeded
           FROM experiment_doors ed
          WHERE ed.campaign_id = {p1a} AND ed.experiment_id = {p5a}
          GROUP BY ed.arm
          ORDER BY ed.arm",
    );
    let rows: Vec<ArmRow> = on_backend!(conn, |c| {
        let mut q = diesel::sql_query(sql.clone())
            .into_boxed()
            .bind::<BigInt, _>(e.campaign_id)
            .bind::<Text, _>(question_key.to_owned())
            .bind::<diesel::sql_types::Timestamp, _>(e.starts_at)
            .bind::<diesel::sql_types::Timestamp, _>(end);
        for a in success_answers {
            q = q.bind::<Text, _>(a.clone());
        }
        q.bind::<BigInt, _>(e.id).load::<ArmRow>(c)
    })?;
    let count = |v: i64| u64::try_from(v).unwrap_or(0);
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.arm,
                [
                    count(r.assigned),
                    count(r.attempted),
                    count(r.contacted),
                    count(r.succeeded),
                ],
            )
        })
        .collect())
}

/// A fingerprint of what every walk list of the campaign shows besides its own rows:
/// the questions (added, edited, retired), the building notes and the experiments
/// (started, stopped, renamed). It goes into the walk-list ETag so phones fetch again
/// when one of them changes.
pub fn campaign_revision(conn: &mut DbConnection, campaign_id: i64) -> QueryResult<String> {
    use super::schema::questions;
    let q: (i64, Option<i64>) = questions::table
        .filter(questions::campaign_id.eq(campaign_id))
        .filter(questions::active.eq(true))
        .select((diesel::dsl::count_star(), diesel::dsl::max(questions::id)))
        .first(conn)?;
    // Every edit or retirement takes the campaign's next question version.
    let edits: Option<i64> = questions::table
        .filter(questions::campaign_id.eq(campaign_id))
        .select(diesel::dsl::max(questions::version))
        .first(conn)?;
    let e: (i64, Option<i64>) = experiments::table
        .filter(experiments::campaign_id.eq(campaign_id))
        .filter(experiments::state.eq("running"))
        .select((diesel::dsl::count_star(), diesel::dsl::max(experiments::id)))
        .first(conn)?;
    let notes = super::buildings::last_change(conn, campaign_id)?
        .map_or(0, |t| t.and_utc().timestamp_micros());
    Ok(format!(
        "q{}.{}.{}b{notes}e{}.{}",
        q.0,
        q.1.unwrap_or(0),
        edits.unwrap_or(0),
        e.0,
        e.1.unwrap_or(0)
    ))
}
