//! Who holds a walk list: assignments by organizers, a volunteer's claim, and the
//! record of everyone who ever held it (phones keep syncing to a list they held).

use super::*;

/// The users the list is assigned to, by id.
pub fn assignees(conn: &mut DbConnection, campaign_id: i64, list_id: i64) -> QueryResult<Vec<i64>> {
    walk_list_assignments::table
        .filter(walk_list_assignments::campaign_id.eq(campaign_id))
        .filter(walk_list_assignments::walk_list_id.eq(list_id))
        .order(walk_list_assignments::user_id)
        .select(walk_list_assignments::user_id)
        .load(conn)
}

pub(super) fn refresh_assignee_count(
    conn: &mut DbConnection,
    campaign_id: i64,
    list_id: i64,
) -> QueryResult<()> {
    let n: i64 = walk_list_assignments::table
        .filter(walk_list_assignments::campaign_id.eq(campaign_id))
        .filter(walk_list_assignments::walk_list_id.eq(list_id))
        .count()
        .get_result(conn)?;
    diesel::update(
        walk_lists::table
            .filter(walk_lists::campaign_id.eq(campaign_id))
            .filter(walk_lists::id.eq(list_id)),
    )
    .set(walk_lists::assignee_count.eq(n))
    .execute(conn)?;
    touch(conn, campaign_id, list_id)
}

/// Assigns the list to a user; false when it already was. Call inside a transaction.
pub fn assign(
    conn: &mut DbConnection,
    campaign_id: i64,
    list_id: i64,
    user_id: i64,
    by: i64,
) -> QueryResult<bool> {
    let n = on_backend!(conn, |c| diesel::insert_into(walk_list_assignments::table)
        .values((
            walk_list_assignments::campaign_id.eq(campaign_id),
            walk_list_assignments::walk_list_id.eq(list_id),
            walk_list_assignments::user_id.eq(user_id),
            walk_list_assignments::assigned_by.eq(by),
            walk_list_assignments::assigned_at.eq(crate::db::now()),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    record_holder(conn, campaign_id, list_id, user_id)?;
    if n > 0 {
        refresh_assignee_count(conn, campaign_id, list_id)?;
    }
    Ok(n > 0)
}

/// Removes a user's assignment; false when there was none. Call inside a transaction.
pub fn unassign(
    conn: &mut DbConnection,
    campaign_id: i64,
    list_id: i64,
    user_id: i64,
) -> QueryResult<bool> {
    let n = diesel::delete(
        walk_list_assignments::table
            .filter(walk_list_assignments::campaign_id.eq(campaign_id))
            .filter(walk_list_assignments::walk_list_id.eq(list_id))
            .filter(walk_list_assignments::user_id.eq(user_id)),
    )
    .execute(conn)?;
    if n > 0 {
        refresh_assignee_count(conn, campaign_id, list_id)?;
    }
    Ok(n > 0)
}

/// The live lists a user holds now: assigned to them, or claimed and not lapsed.
pub fn held_by(
    conn: &mut DbConnection,
    campaign_id: i64,
    user_id: i64,
    now: NaiveDateTime,
) -> QueryResult<Vec<WalkList>> {
    let assigned = walk_list_assignments::table
        .filter(walk_list_assignments::campaign_id.eq(campaign_id))
        .filter(walk_list_assignments::user_id.eq(user_id))
        .select(walk_list_assignments::walk_list_id);
    walk_lists::table
        .filter(walk_lists::campaign_id.eq(campaign_id))
        .filter(walk_lists::state.ne(Stored::Expired.as_str()))
        .filter(walk_lists::expires_at.gt(now))
        .filter(
            walk_lists::id.eq_any(assigned).or(walk_lists::claimed_by
                .eq(user_id)
                .and(walk_lists::claimed_until.gt(now))),
        )
        .order(walk_lists::id)
        .select(WalkList::as_select())
        .load(conn)
}

/// Whether the user is assigned to the list.
pub fn is_assigned(
    conn: &mut DbConnection,
    campaign_id: i64,
    list_id: i64,
    user_id: i64,
) -> QueryResult<bool> {
    diesel::select(exists(
        walk_list_assignments::table
            .filter(walk_list_assignments::campaign_id.eq(campaign_id))
            .filter(walk_list_assignments::walk_list_id.eq(list_id))
            .filter(walk_list_assignments::user_id.eq(user_id)),
    ))
    .get_result(conn)
}

/// Checks the list out to `user_id` until `until`, in one conditional update: of two
/// volunteers claiming at once exactly one changes the row. False when the list is not
/// claimable (assigned, claimed by someone else, expired or done).
pub fn claim(
    conn: &mut DbConnection,
    campaign_id: i64,
    list_id: i64,
    user_id: i64,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        walk_lists::table
            .filter(walk_lists::campaign_id.eq(campaign_id))
            .filter(walk_lists::id.eq(list_id))
            .filter(walk_lists::state.eq(Stored::Active.as_str()))
            .filter(walk_lists::expires_at.gt(now))
            .filter(walk_lists::assignee_count.eq(0))
            .filter(
                walk_lists::claimed_until
                    .is_null()
                    .or(walk_lists::claimed_until.le(now))
                    .or(walk_lists::claimed_by.eq(user_id)),
            ),
    )
    .set((
        walk_lists::claimed_by.eq(user_id),
        walk_lists::claimed_until.eq(until),
        walk_lists::version.eq(walk_lists::version + 1),
        walk_lists::updated_at.eq(now),
    ))
    .execute(conn)?;
    if n > 0 {
        record_holder(conn, campaign_id, list_id, user_id)?;
    }
    Ok(n > 0)
}

/// Gives a claim back; false when the user held no claim on the list.
pub fn release(
    conn: &mut DbConnection,
    campaign_id: i64,
    list_id: i64,
    user_id: i64,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        walk_lists::table
            .filter(walk_lists::campaign_id.eq(campaign_id))
            .filter(walk_lists::id.eq(list_id))
            .filter(walk_lists::claimed_by.eq(user_id))
            .filter(walk_lists::claimed_until.gt(now)),
    )
    .set((
        walk_lists::claimed_by.eq(None::<i64>),
        walk_lists::claimed_until.eq(None::<NaiveDateTime>),
        walk_lists::version.eq(walk_lists::version + 1),
        walk_lists::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n > 0)
}

/// Claimable lists with a door in one of `cells` (resolution 9), with the cells they
/// have there. Looked up by the `(campaign_id, cell)` key: no scan of the campaign.
pub fn claimable_in_cells(
    conn: &mut DbConnection,
    campaign_id: i64,
    cells: &[i64],
    now: NaiveDateTime,
) -> QueryResult<Vec<(WalkList, Vec<i64>)>> {
    let mut found: BTreeMap<i64, (WalkList, Vec<i64>)> = BTreeMap::new();
    // 1,000 cells a query keeps well inside every backend's parameter limit.
    for chunk in cells.chunks(1000) {
        let rows: Vec<(i64, WalkList)> = walk_list_cells::table
            .inner_join(
                walk_lists::table.on(walk_lists::campaign_id
                    .eq(walk_list_cells::campaign_id)
                    .and(walk_lists::id.eq(walk_list_cells::walk_list_id))),
            )
            .filter(walk_list_cells::campaign_id.eq(campaign_id))
            .filter(walk_list_cells::cell.eq_any(chunk))
            .filter(walk_lists::state.eq(Stored::Active.as_str()))
            .filter(walk_lists::expires_at.gt(now))
            .filter(walk_lists::assignee_count.eq(0))
            .filter(
                walk_lists::claimed_until
                    .is_null()
                    .or(walk_lists::claimed_until.le(now)),
            )
            .select((walk_list_cells::cell, WalkList::as_select()))
            .load(conn)?;
        for (cell, list) in rows {
            found
                .entry(list.id)
                .or_insert_with(|| (list, Vec::new()))
                .1
                .push(cell);
        }
    }
    Ok(found.into_values().collect())
}

/// Remembers that a user held the list (assigned or claimed), for good.
pub fn record_holder(
    conn: &mut DbConnection,
    campaign_id: i64,
    list_id: i64,
    user_id: i64,
) -> QueryResult<()> {
    on_backend!(conn, |c| diesel::insert_into(walk_list_holders::table)
        .values((
            walk_list_holders::campaign_id.eq(campaign_id),
            walk_list_holders::walk_list_id.eq(list_id),
            walk_list_holders::user_id.eq(user_id),
        ))
        .on_conflict_do_nothing()
        .execute(c))
    .map(|_| ())
}

/// Whether the user ever held the list.
pub fn has_held(
    conn: &mut DbConnection,
    campaign_id: i64,
    list_id: i64,
    user_id: i64,
) -> QueryResult<bool> {
    diesel::select(exists(
        walk_list_holders::table
            .filter(walk_list_holders::campaign_id.eq(campaign_id))
            .filter(walk_list_holders::walk_list_id.eq(list_id))
            .filter(walk_list_holders::user_id.eq(user_id)),
    ))
    .get_result(conn)
}

/// Active claims the user holds now, on any list.
pub fn active_claims(
    conn: &mut DbConnection,
    campaign_id: i64,
    user_id: i64,
    now: NaiveDateTime,
) -> QueryResult<i64> {
    walk_lists::table
        .filter(walk_lists::campaign_id.eq(campaign_id))
        .filter(walk_lists::claimed_by.eq(user_id))
        .filter(walk_lists::claimed_until.gt(now))
        .count()
        .get_result(conn)
}
