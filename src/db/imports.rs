//! Import runs: what a voter-file load is doing and what it did.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::imports;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = imports)]
pub struct ImportRun {
    pub id: i64,
    pub campaign_id: i64,
    pub kind: String,
    pub status: String,
    pub rows_read: i64,
    pub created: i64,
    pub updated: i64,
    pub rejected: i64,
    /// JSON array of `{line, reason}`, the first errors only.
    pub errors: String,
    pub message: Option<String>,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
}

/// Counters written while an import runs.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    pub rows_read: i64,
    pub created: i64,
    pub updated: i64,
    pub rejected: i64,
    pub errors_json: String,
}

pub fn create(
    conn: &mut DbConnection,
    campaign_id: i64,
    kind: &str,
    created_by: Option<i64>,
) -> QueryResult<ImportRun> {
    diesel::insert_into(imports::table)
        .values((
            imports::campaign_id.eq(campaign_id),
            imports::kind.eq(kind),
            imports::status.eq("queued"),
            imports::created_by.eq(created_by),
            imports::created_at.eq(super::now()),
            imports::updated_at.eq(super::now()),
        ))
        .returning(imports::all_columns)
        .get_result(conn)
}

pub fn get(conn: &mut DbConnection, campaign_id: i64, id: i64) -> QueryResult<Option<ImportRun>> {
    imports::table
        .filter(imports::campaign_id.eq(campaign_id))
        .filter(imports::id.eq(id))
        .select(ImportRun::as_select())
        .first(conn)
        .optional()
}

/// Records progress; `finished` ends the run with `done` or `failed` and a message.
pub fn record(
    conn: &mut DbConnection,
    campaign_id: i64,
    id: i64,
    progress: &Progress,
    finished: Option<(&str, Option<&str>)>,
) -> QueryResult<()> {
    let (status, message, finished_at) = match finished {
        Some((status, message)) => (status, message, Some(super::now())),
        None => ("running", None, None),
    };
    diesel::update(
        imports::table
            .filter(imports::campaign_id.eq(campaign_id))
            .filter(imports::id.eq(id)),
    )
    .set((
        imports::status.eq(status),
        imports::rows_read.eq(progress.rows_read),
        imports::created.eq(progress.created),
        imports::updated.eq(progress.updated),
        imports::rejected.eq(progress.rejected),
        imports::errors.eq(&progress.errors_json),
        imports::message.eq(message),
        imports::finished_at.eq(finished_at),
        imports::updated_at.eq(super::now()),
    ))
    .execute(conn)
    .map(|_| ())
}

/// How long a run may go without recording progress before it is taken for dead (its
/// server stopped or crashed). Progress is recorded at least every few seconds.
pub const STALE_AFTER: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

/// Marks a run that stopped making progress as failed, so nobody waits on it forever.
/// Returns whether it did.
pub fn fail_if_stale(conn: &mut DbConnection, run: &ImportRun) -> QueryResult<bool> {
    let cutoff = super::now() - STALE_AFTER;
    if run.finished_at.is_some() || run.updated_at > cutoff {
        return Ok(false);
    }
    let changed = diesel::update(
        imports::table
            .filter(imports::campaign_id.eq(run.campaign_id))
            .filter(imports::id.eq(run.id))
            .filter(imports::updated_at.le(cutoff))
            .filter(imports::finished_at.is_null()),
    )
    .set((
        imports::status.eq("failed"),
        imports::message.eq("the import stopped making progress (its server stopped); import the file again: rows already loaded are updated, not duplicated"),
        imports::finished_at.eq(super::now()),
        imports::updated_at.eq(super::now()),
    ))
    .execute(conn)?;
    Ok(changed > 0)
}
