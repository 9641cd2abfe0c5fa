//! Buildings: doors that share an address (one door per unit), and the notes kept on
//! them by address.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::people::Door;
use super::schema::{building_notes, doors, walk_list_assignments, walk_list_stops, walk_lists};

/// The doors at an address (every unit of a building), by unit name; at most `limit`.
pub fn units(
    conn: &mut DbConnection,
    campaign_id: i64,
    address_key: &str,
    limit: i64,
) -> QueryResult<Vec<Door>> {
    doors::table
        .filter(doors::campaign_id.eq(campaign_id))
        .filter(doors::address_key.eq(address_key))
        .order(doors::unit)
        .limit(limit)
        .select(Door::as_select())
        .load(conn)
}

/// The notes on these addresses: address → (notes, when written).
pub fn notes(
    conn: &mut DbConnection,
    campaign_id: i64,
    address_keys: &[&str],
) -> QueryResult<HashMap<String, (String, NaiveDateTime)>> {
    let mut out = HashMap::new();
    for chunk in address_keys.chunks(super::ROWS_PER_STATEMENT) {
        let rows: Vec<(String, String, NaiveDateTime)> = building_notes::table
            .filter(building_notes::campaign_id.eq(campaign_id))
            .filter(building_notes::address_key.eq_any(chunk))
            .select((
                building_notes::address_key,
                building_notes::notes,
                building_notes::updated_at,
            ))
            .load(conn)?;
        out.extend(rows.into_iter().map(|(k, n, at)| (k, (n, at))));
    }
    Ok(out)
}

/// Writes the notes on an address (empty notes remove them).
pub fn set_notes(
    conn: &mut DbConnection,
    campaign_id: i64,
    address_key: &str,
    notes: &str,
    user_id: i64,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::delete(
        building_notes::table
            .filter(building_notes::campaign_id.eq(campaign_id))
            .filter(building_notes::address_key.eq(address_key)),
    )
    .execute(conn)?;
    if !notes.is_empty() {
        diesel::insert_into(building_notes::table)
            .values((
                building_notes::campaign_id.eq(campaign_id),
                building_notes::address_key.eq(address_key),
                building_notes::notes.eq(notes),
                building_notes::updated_by.eq(user_id),
                building_notes::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// When the campaign's building notes last changed (for walk-list ETags).
pub fn last_change(
    conn: &mut DbConnection,
    campaign_id: i64,
) -> QueryResult<Option<NaiveDateTime>> {
    building_notes::table
        .filter(building_notes::campaign_id.eq(campaign_id))
        .select(diesel::dsl::max(building_notes::updated_at))
        .first(conn)
}

/// Whether a door of this address is on a live list the user holds (assigned, or
/// claimed and the claim still running).
pub fn on_lists_held_by(
    conn: &mut DbConnection,
    campaign_id: i64,
    address_key: &str,
    user_id: i64,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let lists: Vec<i64> = walk_list_stops::table
        .inner_join(
            doors::table.on(doors::campaign_id
                .eq(walk_list_stops::campaign_id)
                .and(doors::id.eq(walk_list_stops::door_id))),
        )
        .inner_join(
            walk_lists::table.on(walk_lists::campaign_id
                .eq(walk_list_stops::campaign_id)
                .and(walk_lists::id.eq(walk_list_stops::walk_list_id))),
        )
        .filter(walk_list_stops::campaign_id.eq(campaign_id))
        .filter(doors::address_key.eq(address_key))
        .filter(walk_list_stops::live)
        .filter(walk_lists::state.eq(crate::walk::Stored::Active.as_str()))
        .filter(walk_lists::expires_at.gt(now))
        .filter(
            walk_lists::claimed_by
                .eq(user_id)
                .and(walk_lists::claimed_until.gt(now))
                .or(diesel::dsl::exists(
                    walk_list_assignments::table
                        .filter(walk_list_assignments::campaign_id.eq(campaign_id))
                        .filter(walk_list_assignments::walk_list_id.eq(walk_lists::id))
                        .filter(walk_list_assignments::user_id.eq(user_id)),
                )),
        )
        .select(walk_lists::id)
        .limit(1)
        .load(conn)?;
    Ok(!lists.is_empty())
}
