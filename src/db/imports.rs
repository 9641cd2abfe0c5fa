//! Import runs: what a voter-file load is doing and what it did, and the uploaded file
//! itself, kept in pieces so any server can run the import (see `crate::import::jobs`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{import_chunks, imports};
use super::values::{Param, load_bound};

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
    /// While running: until when its server holds it.
    pub lease_until: Option<NaiveDateTime>,
    /// How many times a server started it.
    pub attempts: i64,
    /// The file's size.
    pub bytes: i64,
}

/// How long a server holds a running import without renewing; it renews whenever it
/// records progress (at least every few seconds while rows are read).
pub const LEASE: chrono::TimeDelta = chrono::TimeDelta::minutes(2);
/// How many times an import is started before it is failed for good.
pub const MAX_ATTEMPTS: i64 = 3;
/// How long an upload may take to arrive before its pieces are thrown away.
pub const UPLOAD_TIMEOUT: chrono::TimeDelta = chrono::TimeDelta::hours(1);

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

/// Stores piece `seq` of an import's file.
pub fn add_chunk(
    conn: &mut DbConnection,
    campaign_id: i64,
    import_id: i64,
    seq: i64,
    data: &[u8],
) -> QueryResult<()> {
    diesel::insert_into(import_chunks::table)
        .values((
            import_chunks::campaign_id.eq(campaign_id),
            import_chunks::import_id.eq(import_id),
            import_chunks::seq.eq(seq),
            import_chunks::data.eq(data),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Piece `seq` of an import's file, `None` past its end.
pub fn chunk(
    conn: &mut DbConnection,
    campaign_id: i64,
    import_id: i64,
    seq: i64,
) -> QueryResult<Option<Vec<u8>>> {
    import_chunks::table
        .filter(import_chunks::campaign_id.eq(campaign_id))
        .filter(import_chunks::import_id.eq(import_id))
        .filter(import_chunks::seq.eq(seq))
        .select(import_chunks::data)
        .first(conn)
        .optional()
}

/// The whole file has arrived: the import waits for a server to run it. (Until then it
/// is queued with no bytes, which no server takes.)
pub fn queue(
    conn: &mut DbConnection,
    campaign_id: i64,
    id: i64,
    bytes: i64,
) -> QueryResult<ImportRun> {
    diesel::update(
        imports::table
            .filter(imports::campaign_id.eq(campaign_id))
            .filter(imports::id.eq(id)),
    )
    .set((
        imports::status.eq("queued"),
        imports::bytes.eq(bytes),
        imports::updated_at.eq(super::now()),
    ))
    .returning(imports::all_columns)
    .get_result(conn)
}

/// Forgets an upload that will not be imported (its header was refused, or it never
/// arrived whole): its pieces and its run.
pub fn discard(conn: &mut DbConnection, campaign_id: i64, id: i64) -> QueryResult<()> {
    delete_chunks(conn, campaign_id, id)?;
    diesel::delete(
        imports::table
            .filter(imports::campaign_id.eq(campaign_id))
            .filter(imports::id.eq(id)),
    )
    .execute(conn)
    .map(|_| ())
}

/// Drops an import's file (once it is done or failed).
pub fn delete_chunks(conn: &mut DbConnection, campaign_id: i64, id: i64) -> QueryResult<()> {
    diesel::delete(
        import_chunks::table
            .filter(import_chunks::campaign_id.eq(campaign_id))
            .filter(import_chunks::import_id.eq(id)),
    )
    .execute(conn)
    .map(|_| ())
}

/// An import a server took to run.
#[derive(Debug, Clone, Copy, QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub campaign_id: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub id: i64,
    /// Including this one.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub attempts: i64,
}

/// Takes the oldest import that is queued, or running under a lease that ran out (its
/// server stopped), for this server: of servers asking at once, one gets it.
pub fn claim(conn: &mut DbConnection) -> QueryResult<Option<Claimed>> {
    let now = super::now();
    // A queued run with no bytes is an upload still arriving.
    let free = "((status = 'queued' AND bytes > 0) OR (status = 'running' AND lease_until < {?}))";
    let rows: Vec<Claimed> = load_bound(
        conn,
        &format!(
            "UPDATE imports SET status = 'running', lease_until = {{?}},
                    attempts = attempts + 1, updated_at = {{?}}
              WHERE id = (SELECT id FROM imports WHERE {free} ORDER BY id LIMIT 1)
                AND {free}
              RETURNING campaign_id, id, attempts"
        ),
        &[
            Param::Time(Some(now + LEASE)),
            Param::Time(Some(now)),
            Param::Time(Some(now)),
            Param::Time(Some(now)),
        ],
    )?;
    Ok(rows.into_iter().next())
}

/// Fails uploads that began more than [`UPLOAD_TIMEOUT`] ago and never arrived whole
/// (their server stopped while receiving), dropping their pieces; returns how many.
pub fn fail_abandoned_uploads(conn: &mut DbConnection) -> QueryResult<usize> {
    let cutoff = super::now() - UPLOAD_TIMEOUT;
    let abandoned: Vec<(i64, i64)> = imports::table
        .filter(imports::status.eq("queued"))
        .filter(imports::bytes.eq(0))
        .filter(imports::created_at.lt(cutoff))
        .select((imports::campaign_id, imports::id))
        .load(conn)?;
    for &(campaign_id, id) in &abandoned {
        delete_chunks(conn, campaign_id, id)?;
        diesel::update(
            imports::table
                .filter(imports::campaign_id.eq(campaign_id))
                .filter(imports::id.eq(id)),
        )
        .set((
            imports::status.eq("failed"),
            imports::message.eq("the upload never arrived whole; send the file again"),
            imports::finished_at.eq(super::now()),
            imports::updated_at.eq(super::now()),
        ))
        .execute(conn)?;
    }
    Ok(abandoned.len())
}

pub fn get(conn: &mut DbConnection, campaign_id: i64, id: i64) -> QueryResult<Option<ImportRun>> {
    imports::table
        .filter(imports::campaign_id.eq(campaign_id))
        .filter(imports::id.eq(id))
        .select(ImportRun::as_select())
        .first(conn)
        .optional()
}

/// Records progress of the run a server holds as its `attempt` (renewing the lease);
/// `finished` ends it with `done` or `failed` and a message. Returns `false` when the
/// server no longer holds the run (its lease ran out and another server took it): it
/// must stop and leave the file alone.
pub fn record_held(
    conn: &mut DbConnection,
    campaign_id: i64,
    (id, attempt): (i64, i64),
    progress: &Progress,
    finished: Option<(&str, Option<&str>)>,
) -> QueryResult<bool> {
    let (status, message, finished_at) = match finished {
        Some((status, message)) => (status, message, Some(super::now())),
        None => ("running", None, None),
    };
    let lease_until = finished.is_none().then(|| super::now() + LEASE);
    let n = diesel::update(
        imports::table
            .filter(imports::campaign_id.eq(campaign_id))
            .filter(imports::id.eq(id))
            .filter(imports::status.eq("running"))
            .filter(imports::attempts.eq(attempt)),
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
        imports::lease_until.eq(lease_until),
        imports::updated_at.eq(super::now()),
    ))
    .execute(conn)?;
    Ok(n == 1)
}
