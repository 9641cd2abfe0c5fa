//! The end of a walk list: expiry when its time is up, closing, and deleting one that
//! was never knocked.

use super::*;

/// Live lists whose expiry has passed, across campaigns (for the expiry sweep).
pub fn due_for_expiry(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<WalkList>> {
    walk_lists::table
        .filter(walk_lists::state.eq(Stored::Active.as_str()))
        .filter(walk_lists::expires_at.le(now))
        .order(walk_lists::expires_at)
        .limit(limit)
        .select(WalkList::as_select())
        .load(conn)
}

/// Ends a list: its doors go back to the pool and any claim is dropped. Returns false
/// when the list was no longer active (another sweeper got there first).
pub fn expire(
    conn: &mut DbConnection,
    campaign_id: i64,
    list_id: i64,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        walk_lists::table
            .filter(walk_lists::campaign_id.eq(campaign_id))
            .filter(walk_lists::id.eq(list_id))
            .filter(walk_lists::state.eq(Stored::Active.as_str())),
    )
    .set((
        walk_lists::state.eq(Stored::Expired.as_str()),
        walk_lists::claimed_by.eq(None::<i64>),
        walk_lists::claimed_until.eq(None::<NaiveDateTime>),
        walk_lists::version.eq(walk_lists::version + 1),
        walk_lists::updated_at.eq(now),
    ))
    .execute(conn)?;
    if n == 0 {
        return Ok(false);
    }
    diesel::update(
        walk_list_stops::table
            .filter(walk_list_stops::campaign_id.eq(campaign_id))
            .filter(walk_list_stops::walk_list_id.eq(list_id)),
    )
    .set(walk_list_stops::live.eq(false))
    .execute(conn)?;
    Ok(true)
}

/// Closes an active list: stored as expired with the time it was closed, its doors
/// back in the pool. Returns whether it was active.
pub fn close(
    conn: &mut DbConnection,
    campaign_id: i64,
    list_id: i64,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let closed = expire(conn, campaign_id, list_id, now)?;
    if closed {
        diesel::update(
            walk_lists::table
                .filter(walk_lists::campaign_id.eq(campaign_id))
                .filter(walk_lists::id.eq(list_id)),
        )
        .set(walk_lists::closed_at.eq(Some(now)))
        .execute(conn)?;
    }
    Ok(closed)
}

/// Locks the list's row until the transaction ends. On PostgreSQL this waits for a
/// transaction that is storing knocks on the list (their foreign-key check holds a
/// share lock on the row); SQLite runs one writer at a time anyway.
pub fn lock_for_delete(conn: &mut DbConnection, campaign_id: i64, list_id: i64) -> QueryResult<()> {
    if let DbConnection::Postgresql(c) = conn {
        diesel::sql_query(
            "SELECT id FROM walk_lists WHERE campaign_id = $1 AND id = $2 FOR UPDATE",
        )
        .bind::<diesel::sql_types::BigInt, _>(campaign_id)
        .bind::<diesel::sql_types::BigInt, _>(list_id)
        .execute(c)?;
    }
    Ok(())
}

/// Deletes a list and everything that hangs on it (stops, people, cells, holders,
/// assignments); the caller checked that no knock names it. Its push messages stay as
/// a record.
pub fn delete(conn: &mut DbConnection, campaign_id: i64, list_id: i64) -> QueryResult<bool> {
    macro_rules! delete_from {
        ($table:ident) => {
            diesel::delete(
                $table::table
                    .filter($table::campaign_id.eq(campaign_id))
                    .filter($table::walk_list_id.eq(list_id)),
            )
            .execute(conn)?
        };
    }
    delete_from!(walk_list_stops);
    delete_from!(walk_list_people);
    delete_from!(walk_list_cells);
    delete_from!(walk_list_holders);
    delete_from!(walk_list_assignments);
    let n = diesel::delete(
        walk_lists::table
            .filter(walk_lists::campaign_id.eq(campaign_id))
            .filter(walk_lists::id.eq(list_id)),
    )
    .execute(conn)?;
    Ok(n > 0)
}
