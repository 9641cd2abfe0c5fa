//! The sign-in throttle's state (`login_throttle`): one time per key, changed under a
//! row lock so concurrent attempts, in this process or another, are counted one by one.

use diesel::QueryResult;
use diesel::sql_types::BigInt;

use super::DbConnection;
use super::values::{Param, execute_bound, load_bound};
use crate::auth::throttle::Limit;

#[derive(diesel::QueryableByName)]
struct Tat {
    #[diesel(sql_type = BigInt)]
    tat_ms: i64,
}

/// Counts one attempt at `now_ms` against every key, inside the caller's write
/// transaction: `Err(seconds to wait)` (and nothing counted) when any key is spent.
pub fn take(
    conn: &mut DbConnection,
    keys: &[(String, Limit)],
    now_ms: i64,
) -> QueryResult<Result<(), u64>> {
    // Keys locked in one order everywhere: two attempts cannot wait for each other.
    let mut keys: Vec<&(String, Limit)> = keys.iter().collect();
    keys.sort_by(|a, b| a.0.cmp(&b.0));
    let lock = match conn {
        // SQLite: the write transaction already holds the database's one write lock.
        DbConnection::Sqlite(_) => "",
        DbConnection::Postgresql(_) => " FOR UPDATE",
    };
    let mut admitted = Vec::with_capacity(keys.len());
    let mut wait = 0;
    for (key, limit) in keys {
        // A row to lock, even for a key seen for the first time (concurrent inserts of
        // the same key meet on the primary key; the loser waits and then sees the row).
        execute_bound(
            conn,
            "INSERT INTO login_throttle (key, tat_ms) VALUES ({?}, {?}) \
             ON CONFLICT (key) DO NOTHING",
            &[Param::Text(key), Param::Int(now_ms)],
        )?;
        let stored: Vec<Tat> = load_bound(
            conn,
            &format!("SELECT tat_ms FROM login_throttle WHERE key = {{?}}{lock}"),
            &[Param::Text(key)],
        )?;
        match limit.admit(stored.first().map(|t| t.tat_ms), now_ms) {
            Ok(next) => admitted.push((key, next)),
            Err(secs) => wait = wait.max(secs),
        }
    }
    if wait > 0 {
        return Ok(Err(wait));
    }
    for (key, next) in admitted {
        execute_bound(
            conn,
            "UPDATE login_throttle SET tat_ms = {?} WHERE key = {?}",
            &[Param::Int(next), Param::Text(key)],
        )?;
    }
    Ok(Ok(()))
}

/// Gives back one attempt of `limit` to `key` (a sign-in that succeeded).
pub fn give_back(conn: &mut DbConnection, key: &str, limit: Limit) -> QueryResult<()> {
    execute_bound(
        conn,
        "UPDATE login_throttle SET tat_ms = tat_ms - {?} WHERE key = {?}",
        &[Param::Int(limit.interval_ms()), Param::Text(key)],
    )
    .map(|_| ())
}

/// Forgets a key altogether (an account that signed in).
pub fn clear(conn: &mut DbConnection, key: &str) -> QueryResult<()> {
    execute_bound(
        conn,
        "DELETE FROM login_throttle WHERE key = {?}",
        &[Param::Text(key)],
    )
    .map(|_| ())
}

/// Removes up to 1,000 keys whose time has passed (they throttle nothing), skipping
/// any an attempt holds right now, so a sweep never waits for a sign-in.
pub fn sweep(conn: &mut DbConnection, now_ms: i64) -> QueryResult<usize> {
    let sql = match conn {
        DbConnection::Sqlite(_) => {
            "DELETE FROM login_throttle WHERE key IN \
             (SELECT key FROM login_throttle WHERE tat_ms < {?} LIMIT 1000)"
        }
        DbConnection::Postgresql(_) => {
            "DELETE FROM login_throttle WHERE key IN \
             (SELECT key FROM login_throttle WHERE tat_ms < {?} LIMIT 1000 \
              FOR UPDATE SKIP LOCKED)"
        }
    };
    execute_bound(conn, sql, &[Param::Int(now_ms)])
}
