//! The names beside ids that directors read: regions, turfs, walk lists, volunteers and
//! door addresses, looked up for a set of ids at once (one query per kind and thousand
//! ids), only ever within the caller's campaign.

use std::collections::{BTreeSet, HashMap};

use diesel::prelude::*;

use super::DbConnection;
use super::schema::{doors, regions, turfs, users, walk_lists};

/// What kind of thing an id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Named {
    Region,
    Turf,
    WalkList,
    User,
}

/// Ids looked up per query (well under SQLite's bound on bound parameters).
const CHUNK: usize = 1000;

/// The names of `ids` of one kind in the campaign; ids it does not hold are left out.
pub fn of(
    conn: &mut DbConnection,
    campaign_id: i64,
    kind: Named,
    ids: impl IntoIterator<Item = i64>,
) -> QueryResult<HashMap<i64, String>> {
    let ids: Vec<i64> = ids
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<(i64, String)> = match kind {
            Named::Region => regions::table
                .filter(regions::campaign_id.eq(campaign_id))
                .filter(regions::id.eq_any(chunk))
                .select((regions::id, regions::name))
                .load(conn)?,
            Named::Turf => turfs::table
                .filter(turfs::campaign_id.eq(campaign_id))
                .filter(turfs::id.eq_any(chunk))
                .select((turfs::id, turfs::name))
                .load(conn)?,
            Named::WalkList => walk_lists::table
                .filter(walk_lists::campaign_id.eq(campaign_id))
                .filter(walk_lists::id.eq_any(chunk))
                .select((walk_lists::id, walk_lists::name))
                .load(conn)?,
            Named::User => users::table
                .filter(users::campaign_id.eq(campaign_id))
                .filter(users::id.eq_any(chunk))
                .select((users::id, users::name))
                .load(conn)?,
        };
        out.extend(rows);
    }
    Ok(out)
}

/// Door addresses as a person writes them: "Street 12, Unit 3, Town".
pub fn addresses(
    conn: &mut DbConnection,
    campaign_id: i64,
    ids: impl IntoIterator<Item = i64>,
) -> QueryResult<HashMap<i64, String>> {
    let ids: Vec<i64> = ids
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<(i64, String, String, String, String)> = doors::table
            .filter(doors::campaign_id.eq(campaign_id))
            .filter(doors::id.eq_any(chunk))
            .select((
                doors::id,
                doors::street,
                doors::housenumber,
                doors::unit,
                doors::city,
            ))
            .load(conn)?;
        out.extend(rows.into_iter().map(|(id, street, number, unit, city)| {
            (
                id,
                crate::domain::address_line(&street, &number, &unit, &city),
            )
        }));
    }
    Ok(out)
}
