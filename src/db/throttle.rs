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

/// Counts one attempt at `now_ms` against every key of `spend` and checks that none of
/// `check` is spent, inside the caller's write transaction: `Err(seconds to wait)` (and
/// nothing counted) when any key is spent.
pub fn take(
    conn: &mut DbConnection,
    spend: &[(String, Limit)],
    check: &[(String, Limit)],
    now_ms: i64,
) -> QueryResult<Result<(), u64>> {
    let mut wait = 0;
    for (key, limit) in check {
        let stored: Vec<Tat> = load_bound(
            conn,
            "SELECT tat_ms FROM login_throttle WHERE key = {?}",
            &[Param::Text(key)],
        )?;
        if let Err(secs) = limit.admit(stored.first().map(|t| t.tat_ms), now_ms) {
            wait = wait.max(secs);
        }
    }
    // Keys locked in one order everywhere: two attempts cannot wait for each other.
    let mut spend: Vec<&(String, Limit)> = spend.iter().collect();
    spend.sort_by(|a, b| a.0.cmp(&b.0));
    let mut admitted = Vec::with_capacity(spend.len());
    for (key, limit) in spend {
        match limit.admit(locked(conn, key, now_ms)?, now_ms) {
            Ok(next) => admitted.push((key, next)),
            Err(secs) => wait = wait.max(secs),
        }
    }
    if wait > 0 {
        return Ok(Err(wait));
    }
    for (key, next) in admitted {
        store(conn, key, next)?;
    }
    Ok(Ok(()))
}

/// Charges `key` one attempt at `now_ms` (a failed one), past its limit too: an address
/// that keeps failing stays refused for longer.
pub fn charge(conn: &mut DbConnection, key: &str, limit: Limit, now_ms: i64) -> QueryResult<()> {
    let tat = locked(conn, key, now_ms)?;
    let next = tat.unwrap_or(now_ms).max(now_ms) + limit.interval_ms();
    store(conn, key, next)
}

/// The key's time, its row locked until the transaction ends (made first if missing:
/// concurrent inserts of one key meet on the primary key, and the loser waits and then
/// sees the row).
fn locked(conn: &mut DbConnection, key: &str, now_ms: i64) -> QueryResult<Option<i64>> {
    let lock = match conn {
        // SQLite: the write transaction already holds the database's one write lock.
        DbConnection::Sqlite(_) => "",
        DbConnection::Postgresql(_) => " FOR UPDATE",
    };
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
    Ok(stored.first().map(|t| t.tat_ms))
}

fn store(conn: &mut DbConnection, key: &str, tat_ms: i64) -> QueryResult<()> {
    execute_bound(
        conn,
        "UPDATE login_throttle SET tat_ms = {?} WHERE key = {?}",
        &[Param::Int(tat_ms), Param::Text(key)],
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
