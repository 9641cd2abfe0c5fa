//! The store: one code base over SQLite (the zero-setup default) and PostgreSQL
//! (production). The backend is picked from the URL scheme; every query runs on the
//! blocking thread pool through [`run`], never on the async executor.

pub mod audit;
pub mod buildings;
pub mod campaigns;
pub mod devices;
pub mod experiments;
pub mod exports;
pub mod goals;
pub mod imports;
pub mod invites;
pub mod knocks;
pub mod names;
pub mod outbox;
pub mod people;
pub mod progress;
pub mod regions;
pub mod schema;
pub mod scores;
pub mod sessions;
pub mod tags;
pub mod tallies;
pub mod throttle;
pub mod turfs;
pub mod users;
mod values;
pub mod walk_lists;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{self, ManageConnection, Pool, PooledConnection};
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Set on every SQLite connection: WAL lets readers run beside the one writer,
/// `busy_timeout` makes a second writer wait instead of failing, and foreign keys are
/// off by default in SQLite (and per connection).
/// `busy_timeout` comes first: switching a new database to WAL needs its lock, which a
/// server starting beside this one may hold for a moment.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
     PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;";

/// A connection to whichever backend the URL names.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

/// The pool handed to handlers through the app state.
#[derive(Clone)]
pub struct DbPool {
    pool: Pool<DbManager>,
    /// SQLite only: the queue for its one write lock among this pool's connections.
    writer: Option<Arc<Mutex<()>>>,
    /// When [`refresh_statistics`] last ran.
    statistics_checked: Arc<Mutex<Option<std::time::Instant>>>,
}

/// Rows per multi-row statement where a batch's row count has no fixed bound: with at
/// most 17 values a row, well inside SQLite's 32,766 and PostgreSQL's 65,535 bound
/// values per statement.
pub const ROWS_PER_STATEMENT: usize = 1000;

/// The tables that grow as a campaign is loaded, cut, listed and knocked, and whose
/// plans go wrong without statistics that follow them.
pub const GROWING_TABLES: [&str; 14] = [
    "doors",
    "people",
    "turfs",
    "turf_cells",
    "walk_lists",
    "walk_list_stops",
    "walk_list_people",
    "knocks",
    "knock_answers",
    "score_history",
    "person_evidence",
    "cell_evidence",
    "walk_list_holders",
    "progress_tallies",
];

/// Analyses those of `tables` whose planner statistics PostgreSQL lacks or that have
/// changed a lot since: never analysed but holding rows, or with more rows inserted,
/// updated or deleted since the last analysis than a tenth of the rows it saw, plus
/// 1,000. SQLite decides for itself ([`optimize_sqlite`]).
///
/// A new database fills its tables within seconds, long before autovacuum looks at
/// them (once a minute, and then by a tenth of the table). Without statistics the
/// planner may check the foreign key on `knocks (campaign_id, id)` through another
/// index that starts with `campaign_id`, reading every knock of the campaign for each
/// answer stored; with the statistics of a table a thousand times smaller, a cached
/// plan looks up client ids by reading the whole table. The load harness fell from
/// 9,000 to 330 and to 2,000 knocks/s that way. A second campaign loaded into the same
/// database doubles `doors` and `people` while their statistics still describe only the
/// first: auto-cut in it nested scans over 70 million join rows (56 s instead of 63 ms
/// after `ANALYZE`). `ANALYZE` gives fresh statistics and makes every connection plan
/// those statements again. A table analysed while empty would look empty to the
/// planner, so empty ones are left for later.
pub fn refresh_statistics(conn: &mut DbConnection, tables: &[&str]) -> diesel::QueryResult<()> {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Table {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let c = match conn {
        DbConnection::Postgresql(c) => c,
        DbConnection::Sqlite(c) => return optimize_sqlite(c),
    };
    let stale: Vec<Table> = diesel::sql_query(
        "SELECT c.relname::text AS name FROM pg_class c \
           JOIN pg_stat_user_tables s ON s.relid = c.oid \
          WHERE c.relnamespace = to_regnamespace(current_schema()) AND c.relname = ANY($1) \
            AND s.n_live_tup > 0 \
            AND (c.reltuples < 0 OR s.last_analyze IS NULL AND s.last_autoanalyze IS NULL \
                 OR s.n_mod_since_analyze > 0.1 * greatest(c.reltuples, 0) + 1000)",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(tables)
    .load(c)?;
    for table in stale {
        // Only names from `tables` (this crate's constants) come back.
        diesel::sql_query(format!("ANALYZE {}", table.name)).execute(c)?;
    }
    Ok(())
}

/// Analyses `tables` when a writer that just added `added` rows to each knows that is
/// more than a tenth of what the planner believes they hold, plus 1,000, or they were
/// never analysed. For bulk loads, which cannot wait for the server's row counters
/// (published up to a second late, and not at all for the loading session's own
/// open work). SQLite decides for itself ([`optimize_sqlite`]).
pub fn analyze_if_grown(
    conn: &mut DbConnection,
    tables: &[&str],
    added: u64,
) -> diesel::QueryResult<()> {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Table {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let c = match conn {
        DbConnection::Postgresql(c) => c,
        DbConnection::Sqlite(c) => return optimize_sqlite(c),
    };
    let added = i64::try_from(added).unwrap_or(i64::MAX);
    let grown: Vec<Table> = diesel::sql_query(
        "SELECT c.relname::text AS name FROM pg_class c \
          WHERE c.relnamespace = to_regnamespace(current_schema()) AND c.relname = ANY($1) \
            AND (c.reltuples <= 0 OR $2 > 0.1 * c.reltuples + 1000)",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(tables)
    .bind::<diesel::sql_types::BigInt, _>(added)
    .load(c)?;
    for table in grown {
        // Only names from `tables` (this crate's constants) come back.
        diesel::sql_query(format!("ANALYZE {}", table.name)).execute(c)?;
    }
    Ok(())
}

/// SQLite's own rule for fresh statistics: `PRAGMA optimize` analyses the tables whose
/// row counts have moved far from what `sqlite_stat1` says (or that have none), each
/// from a sample (`analysis_limit`), and does nothing otherwise.
///
/// SQLite needs statistics too: the campaign rehearsal at 40,000 doors built a walk
/// list in 3.8 s and read one in 410 ms without them, in 10–27 ms and 3–7 ms after one
/// `ANALYZE` of 0.4 s.
fn optimize_sqlite(c: &mut SqliteConnection) -> diesel::QueryResult<()> {
    c.batch_execute("PRAGMA analysis_limit = 1000; PRAGMA optimize = 0x10002;")
}

/// After a change that grew the campaign's tables: looks at their statistics in the
/// background (at most once a second per process), outside the change's transaction so
/// its locks are not held meanwhile, and a moment later: PostgreSQL publishes a
/// session's row counts up to a second after its commit. See [`refresh_statistics`].
pub fn refresh_statistics_soon(pool: &DbPool) {
    if !pool.statistics_due() {
        return;
    }
    let pool = pool.clone();
    actix_web::rt::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let refreshed = write_run::<_, _, StoreError>(&pool, |conn| {
            Ok(refresh_statistics(conn, &GROWING_TABLES)?)
        })
        .await;
        if let Err(e) = refreshed {
            tracing::warn!(error = %e, "refreshing planner statistics failed");
        }
    });
}

impl DbPool {
    /// Whether it is time to look at the tables' statistics again (at most once a
    /// second per process); see [`refresh_statistics`].
    pub fn statistics_due(&self) -> bool {
        let now = std::time::Instant::now();
        let mut last = self
            .statistics_checked
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if last.is_some_and(|at| now.duration_since(at) < Duration::from_secs(1)) {
            return false;
        }
        *last = Some(now);
        true
    }
}

impl std::ops::Deref for DbPool {
    type Target = Pool<DbManager>;

    fn deref(&self) -> &Pool<DbManager> {
        &self.pool
    }
}
/// A connection checked out of [`DbPool`].
pub type PooledDb = PooledConnection<DbManager>;

/// Which store a database URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// `postgres://` and `postgresql://` are PostgreSQL; `sqlite://path` or a plain path is SQLite.
    pub fn from_url(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// The file path inside a SQLite URL (`sqlite://groundswell.db` → `groundswell.db`).
pub fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
}

/// Opens exactly one kind of connection, chosen by URL scheme, so a failure reports the
/// backend's own error (diesel's derived `establish` tries every variant and hides it).
#[derive(Debug, Clone)]
pub struct DbManager {
    url: String,
    backend: Backend,
    /// PostgreSQL: `statement_timeout` of the pool's connections (not of [`establish`]'s,
    /// which migrations and the command line use for work that may take long).
    ///
    /// [`establish`]: DbManager::establish
    statement_timeout: Option<Duration>,
}

impl DbManager {
    pub fn new(url: &str) -> Self {
        DbManager {
            url: url.to_owned(),
            backend: Backend::from_url(url),
            statement_timeout: None,
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A fresh connection outside any pool (used for migrations and the CLI).
    pub fn establish(&self) -> Result<DbConnection, r2d2::Error> {
        match self.backend {
            Backend::Postgres => PgConnection::establish(&self.url)
                .map(DbConnection::Postgresql)
                .map_err(r2d2::Error::ConnectionError),
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(sqlite_path(&self.url))
                    .map_err(r2d2::Error::ConnectionError)?;
                conn.batch_execute(SQLITE_PRAGMAS)
                    .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    /// [`establish`](DbManager::establish) for migrating at start: on SQLite it waits up
    /// to two minutes for the database's lock, as a server starting beside this one may
    /// hold it for all its migrations. Switching a new file to WAL can answer "locked"
    /// at once, without waiting, so that is tried again until the time is up.
    fn establish_to_migrate(&self) -> Result<DbConnection, r2d2::Error> {
        const MIGRATION_WAIT: &str = "PRAGMA busy_timeout = 120000;";
        if self.backend == Backend::Postgres {
            return self.establish();
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        loop {
            let mut conn = SqliteConnection::establish(sqlite_path(&self.url))
                .map_err(r2d2::Error::ConnectionError)?;
            let set = conn
                .batch_execute(MIGRATION_WAIT)
                .and_then(|()| conn.batch_execute(SQLITE_PRAGMAS))
                .and_then(|()| conn.batch_execute(MIGRATION_WAIT));
            match set {
                Ok(()) => return Ok(DbConnection::Sqlite(conn)),
                Err(e)
                    if e.to_string().contains("database is locked")
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => return Err(r2d2::Error::QueryError(e)),
            }
        }
    }
}

impl ManageConnection for DbManager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        let mut conn = self.establish()?;
        if let (DbConnection::Postgresql(c), Some(limit)) = (&mut conn, self.statement_timeout) {
            c.batch_execute(&format!("SET statement_timeout = {}", limit.as_millis()))
                .map_err(r2d2::Error::QueryError)?;
        }
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}

/// The migrations that made (or remade) the progress tallies, which the knocks stored
/// before them fill once.
const TALLIES_MIGRATIONS: [&str; 2] = ["20261123000008", "20261207000030"];

/// The PostgreSQL advisory lock that servers starting together take in turn to migrate.
const MIGRATION_LOCK: i64 = 0x6773_6d69_6772; // "gsmigr"

/// Applies the embedded migrations for the connection's backend. When that creates the
/// progress tallies, they are filled from the knocks already stored.
///
/// Several servers may start at once on one database. On PostgreSQL they take turns
/// under an advisory lock, so the first migrates (and fills the tallies) and the others
/// find nothing left to do. On SQLite the loser of the race for the write lock fails
/// on a migration the winner already applied; it tries again until none is pending.
pub fn migrate(conn: &mut DbConnection) -> anyhow::Result<()> {
    if let DbConnection::Postgresql(c) = conn {
        c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))?;
        let result = migrate_now(conn);
        if let DbConnection::Postgresql(c) = conn {
            c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))?;
        }
        return result;
    }
    // SQLite: a process that lost the race fails on a migration the winner has applied;
    // it tries again (on what is still pending) until none is.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        match migrate_now(conn) {
            Err(e) if !pending_migrations(conn)? => {
                tracing::info!(error = %e, "another process applied the migrations first");
                return Ok(());
            }
            Err(_) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(100));
            }
            other => return other,
        }
    }
}

fn pending_migrations(conn: &mut DbConnection) -> anyhow::Result<bool> {
    let pending = match conn {
        DbConnection::Postgresql(c) => c.has_pending_migration(PG_MIGRATIONS),
        DbConnection::Sqlite(c) => c.has_pending_migration(SQLITE_MIGRATIONS),
    };
    pending.map_err(|e| anyhow::anyhow!("reading the applied migrations failed: {e}"))
}

fn migrate_now(conn: &mut DbConnection) -> anyhow::Result<()> {
    let result = match conn {
        DbConnection::Postgresql(c) => c
            .run_pending_migrations(PG_MIGRATIONS)
            .map(|v| v.iter().map(ToString::to_string).collect::<Vec<_>>()),
        DbConnection::Sqlite(c) => c
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|v| v.iter().map(ToString::to_string).collect::<Vec<_>>()),
    };
    let applied = result.map_err(|e| anyhow::anyhow!("applying migrations failed: {e}"))?;
    if applied
        .iter()
        .any(|v| TALLIES_MIGRATIONS.contains(&v.replace('-', "").as_str()))
    {
        let written = write_transaction(conn, tallies::rebuild_all)?;
        if written > 0 {
            tracing::info!(
                tallies = written,
                "filled the progress tallies from the stored knocks"
            );
        }
    }
    Ok(())
}

/// Connects, migrates and builds the pool. The first connection is opened directly so a
/// wrong URL or a database that is down fails at once with the driver's message.
pub fn connect(url: &str, pool_size: Option<u32>) -> anyhow::Result<DbPool> {
    connect_with_limit(url, pool_size, Duration::ZERO)
}

/// [`connect`], and on PostgreSQL every statement on the pool's connections is stopped
/// after `statement_timeout` (zero: never), so a runaway query answers 503 and frees its
/// connection instead of holding it for minutes.
pub fn connect_with_limit(
    url: &str,
    pool_size: Option<u32>,
    statement_timeout: Duration,
) -> anyhow::Result<DbPool> {
    let mut manager = DbManager::new(url);
    manager.statement_timeout = (!statement_timeout.is_zero()).then_some(statement_timeout);
    let backend = manager.backend();
    let mut first = manager
        .establish_to_migrate()
        .map_err(|e| anyhow::anyhow!("cannot open database {}: {e}", redact(url)))?;
    migrate(&mut first)?;
    let rebuilt = scores::run_queued_rebuilds(&mut first)
        .map_err(|e| anyhow::anyhow!("rebuilding scores after a model change failed: {e}"))?;
    if !rebuilt.is_empty() {
        tracing::info!(campaigns = ?rebuilt, "scores rebuilt for the new score model");
    }
    drop(first);
    let size = pool_size.unwrap_or(match backend {
        // SQLite has one writer at a time; a few connections serve the readers.
        Backend::Sqlite => 8,
        // Twice the cores: more connections than that only queue inside PostgreSQL.
        // On the 2-core machine, 200 phones synced 10,311 knocks/s with 4 connections
        // and 9,408 with 16.
        Backend::Postgres => std::thread::available_parallelism()
            .map_or(16, |n| u32::try_from(n.get() * 2).unwrap_or(16))
            .max(4),
    });
    let pool = Pool::builder()
        .max_size(size)
        .min_idle(Some(1))
        // r2d2 runs a test query on every checkout by default, which doubles the cost of
        // a point read. A SQLite connection is a file handle and cannot go stale; a
        // PostgreSQL one can (server restart, idle timeout), so it keeps the check.
        .test_on_check_out(backend == Backend::Postgres)
        .connection_timeout(Duration::from_secs(10))
        .build(manager)
        .map_err(|e| anyhow::anyhow!("cannot build the connection pool: {e}"))?;
    Ok(DbPool {
        pool,
        writer: (backend == Backend::Sqlite).then(|| Arc::new(Mutex::new(()))),
        statistics_checked: Arc::default(),
    })
}

/// The URL without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Runs `f` with a pooled connection on the blocking thread pool. Handlers call this for
/// every query; waiting for a connection blocks too, so it happens inside as well.
pub async fn run<F, T, E>(pool: &DbPool, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
{
    on_blocking_pool(pool, false, f).await
}

/// Like [`run`], inside one write transaction: all of `f` commits or none of it does.
pub async fn transaction<F, T, E>(pool: &DbPool, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<StoreError> + From<diesel::result::Error> + Send + 'static,
{
    write_run(pool, move |conn| write_transaction(conn, f)).await
}

/// Like [`run`], for work that writes: on SQLite it first waits its turn for the
/// database's one write lock in this process's queue (see [`writer_turn`]), and only
/// then takes a connection, so writers waiting in line hold no connection readers need.
pub async fn write_run<F, T, E>(pool: &DbPool, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
{
    on_blocking_pool(pool, true, f).await
}

/// A query's failure, as callers outside the store name it.
pub type QueryError = diesel::result::Error;

/// Whether a query failed because a row with the same unique key exists.
pub fn is_unique_violation(e: &QueryError) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

/// Why the store could not run a piece of work at all (as opposed to a query failing).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
    /// No connection could be had from the pool in time.
    #[error("no database connection available: {0}")]
    Unreachable(#[from] diesel::r2d2::PoolError),
    /// The blocking task running the work failed (it panicked or was cancelled).
    #[error("the blocking task failed: {0}")]
    Task(String),
}

async fn on_blocking_pool<F, T, E>(pool: &DbPool, writes: bool, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
{
    let pool = pool.clone();
    actix_web::web::block(move || {
        let _turn = writes.then(|| writer_turn(&pool));
        let mut conn = pool.get().map_err(|e| E::from(StoreError::from(e)))?;
        f(&mut conn)
    })
    .await
    .map_err(|e| E::from(StoreError::Task(e.to_string())))?
}

/// Numbered bind placeholders in the backend's syntax, one per call: `$1`, `$2`, … on
/// PostgreSQL, `?1`, `?2`, … on SQLite.
pub(crate) fn placeholders(conn: &DbConnection) -> impl FnMut() -> String + use<> {
    let postgres = matches!(conn, DbConnection::Postgresql(_));
    let mut n = 0;
    move || {
        n += 1;
        if postgres {
            format!("${n}")
        } else {
            format!("?{n}")
        }
    }
}

/// `N` numbered placeholders as [`placeholders`] gives them, each cast to its SQL type
/// on PostgreSQL, which must know a parameter's type where it is only compared with
/// NULL.
pub(crate) fn typed_placeholders<const N: usize>(
    conn: &DbConnection,
    types: [&str; N],
) -> [String; N] {
    let postgres = matches!(conn, DbConnection::Postgresql(_));
    let mut next = placeholders(conn);
    types.map(|ty| {
        let p = next();
        if postgres {
            format!("CAST({p} AS {ty})")
        } else {
            p
        }
    })
}

/// Waits for this process's turn to write to a SQLite database; `None` on PostgreSQL,
/// whose writers lock rows, not the database.
///
/// SQLite lets one writer in at a time, and the others poll for the lock with growing
/// sleeps (up to 100 ms each) until `busy_timeout`. Under a steady stream of writers a
/// poller can lose every race and fail with "database is locked" after five seconds
/// (measured: 2 of 600 knock batches from 20 phones). Queueing on a mutex first hands
/// the lock over as soon as it is free and keeps busy polling for other processes (the
/// CLI beside a running server).
fn writer_turn(pool: &DbPool) -> Option<MutexGuard<'_, ()>> {
    let writer = pool.writer.as_ref()?;
    // A writer that panicked left nothing to protect: the mutex guards no data.
    Some(writer.lock().unwrap_or_else(PoisonError::into_inner))
}

/// Runs `f` in a transaction that holds the write lock from its first statement.
///
/// SQLite starts transactions deferred: one that reads and then writes must upgrade its
/// read snapshot to a write lock, and when another writer committed in between, SQLite
/// answers "database is locked" at once instead of waiting out `busy_timeout`. Taking the
/// write lock first (a no-op write) makes concurrent writers queue politely instead.
/// PostgreSQL needs nothing: its row locks and MVCC handle this.
pub fn write_transaction<T, E>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    conn.transaction(|conn| {
        if let DbConnection::Sqlite(c) = conn {
            c.batch_execute("UPDATE campaigns SET id = id WHERE id = -1")?;
        }
        f(conn)
    })
}

/// Whether a database error aborted the transaction for reasons of concurrency only
/// (a serialisation failure or a deadlock): running the same transaction again is safe.
pub fn is_retryable(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
        Error::DatabaseError(_, info) => info.message().contains("deadlock detected"),
        _ => false,
    }
}

/// What a campaign lock serialises.
#[derive(Debug, Clone, Copy)]
pub enum CampaignLock {
    /// Turf cells: two organizers cutting at once cannot both take a cell.
    Turfs = 7,
    /// Walk-list doors: two lists built at once cannot both take a door.
    WalkLists = 8,
}

/// Serialises one kind of writer of one campaign until the surrounding transaction
/// ends. PostgreSQL takes a transaction-scoped advisory lock keyed by kind and campaign.
/// SQLite needs nothing more: [`write_transaction`] already holds its single write lock.
pub fn lock_campaign(
    conn: &mut DbConnection,
    lock: CampaignLock,
    campaign_id: i64,
) -> diesel::QueryResult<()> {
    use diesel::RunQueryDsl;
    use diesel::sql_types::{BigInt, Integer};
    match conn {
        DbConnection::Postgresql(c) => {
            diesel::sql_query("SELECT pg_advisory_xact_lock($1, CAST($2 % 2147483647 AS INTEGER))")
                .bind::<Integer, _>(lock as i32)
                .bind::<BigInt, _>(campaign_id)
                .execute(c)
                .map(|_| ())
        }
        DbConnection::Sqlite(_) => Ok(()),
    }
}

/// The current time as stored: UTC without zone, cut to microseconds so both backends
/// round-trip the same value.
pub fn now() -> chrono::NaiveDateTime {
    use chrono::SubsecRound;
    chrono::Utc::now().naive_utc().trunc_subsecs(6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_follows_the_url_scheme() {
        assert_eq!(Backend::from_url("postgres://u@h/db"), Backend::Postgres);
        assert_eq!(Backend::from_url("postgresql://u@h/db"), Backend::Postgres);
        assert_eq!(
            Backend::from_url("sqlite://groundswell.db"),
            Backend::Sqlite
        );
        assert_eq!(Backend::from_url("data/canvass.db"), Backend::Sqlite);
        assert_eq!(sqlite_path("sqlite://groundswell.db"), "groundswell.db");
        assert_eq!(sqlite_path("sqlite:///var/lib/gs.db"), "/var/lib/gs.db");
        assert_eq!(sqlite_path("gs.db"), "gs.db");
    }

    #[test]
    fn redact_hides_only_the_password() {
        assert_eq!(
            redact("postgres://me:secret@db:5432/gs"),
            "postgres://me:***@db:5432/gs"
        );
        assert_eq!(redact("postgres://me@db/gs"), "postgres://me@db/gs");
        assert_eq!(redact("sqlite://x.db"), "sqlite://x.db");
    }
}
