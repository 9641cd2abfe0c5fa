//! Turfs: named sets of H3 cells, and the doors and people inside them.
//!
//! Membership is by range: each turf cell keeps `[lo, hi]`, the span of its
//! resolution-15 descendants, and a door is inside when its cell lies in a span. The
//! queries join `turf_cells` to `doors` on that range, which the `(campaign_id, cell)`
//! index on doors answers with one range scan per turf cell: no door outside the turf is
//! read.

use chrono::NaiveDateTime;
use std::collections::BTreeMap;

use diesel::prelude::*;
use h3o::CellIndex;

use super::DbConnection;
use super::people::{Door, Person, on_backend};
use super::schema::{doors, people, turf_cells, turfs};
use crate::spatial::{cells, overlap};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = turfs)]
pub struct Turf {
    pub id: i64,
    pub campaign_id: i64,
    pub name: String,
    pub region_id: Option<i64>,
    pub resolution: i64,
    pub cell_count: i64,
    pub min_lng: f64,
    pub min_lat: f64,
    pub max_lng: f64,
    pub max_lat: f64,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
}

/// A turf to store.
pub struct NewTurf<'a> {
    pub name: &'a str,
    pub region_id: Option<i64>,
    pub cells: &'a [CellIndex],
    pub bbox: [f64; 4],
    pub created_by: Option<i64>,
}

#[derive(Insertable)]
#[diesel(table_name = turf_cells)]
struct NewTurfCell {
    campaign_id: i64,
    turf_id: i64,
    cell: i64,
    lo: i64,
    hi: i64,
}

/// The cells of the campaign's turfs that may overlap `near` (cells of one new turf),
/// with their turf: those whose spans meet the spans `near` covers. Read through
/// `turf_cells_range` span by span, so the cost follows the new turf, not the campaign.
pub fn taken_cells(
    conn: &mut DbConnection,
    campaign_id: i64,
    near: &[CellIndex],
) -> QueryResult<Vec<(i64, CellIndex)>> {
    use super::values::{Param, load_bound};
    #[derive(QueryableByName)]
    struct Taken {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        turf_id: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        cell: i64,
    }
    let widest = overlap::widest_turf_span();
    let mut found = Vec::new();
    for spans in overlap::covered_ranges(near).chunks(300) {
        // An existing cell meets [lo, hi] when it starts no later than hi and ends no
        // earlier than lo; being no wider than `widest`, it starts after lo - widest.
        // Each term names the campaign, so each is one range of the index.
        let mut sql = String::from("SELECT tc.turf_id, tc.cell FROM turf_cells tc WHERE ");
        let mut params = Vec::with_capacity(spans.len() * 4);
        for (i, &(lo, hi)) in spans.iter().enumerate() {
            if i > 0 {
                sql.push_str(" OR ");
            }
            sql.push_str("(tc.campaign_id = {?} AND tc.lo BETWEEN {?} AND {?} AND tc.hi >= {?})");
            params.extend([
                Param::Int(campaign_id),
                Param::Int(lo.saturating_sub(widest)),
                Param::Int(hi),
                Param::Int(lo),
            ]);
        }
        let rows: Vec<Taken> = load_bound(conn, &sql, &params)?;
        found.extend(
            rows.into_iter()
                .filter_map(|t| cells::from_db(t.cell).map(|c| (t.turf_id, c))),
        );
    }
    found.sort_unstable();
    found.dedup();
    Ok(found)
}

/// Stores a turf and its cells (all of one resolution). Call inside the campaign's turf
/// lock (see [`super::lock_campaign`]) after checking the cells are free.
pub fn create(conn: &mut DbConnection, campaign_id: i64, turf: &NewTurf) -> QueryResult<Turf> {
    let resolution = turf
        .cells
        .first()
        .map_or(10, |c| i64::from(u8::from(c.resolution())));
    let [min_lng, min_lat, max_lng, max_lat] = turf.bbox;
    let stored: Turf = diesel::insert_into(turfs::table)
        .values((
            turfs::campaign_id.eq(campaign_id),
            turfs::name.eq(turf.name),
            turfs::region_id.eq(turf.region_id),
            turfs::resolution.eq(resolution),
            turfs::cell_count.eq(i64::try_from(turf.cells.len()).unwrap_or(i64::MAX)),
            turfs::min_lng.eq(min_lng),
            turfs::min_lat.eq(min_lat),
            turfs::max_lng.eq(max_lng),
            turfs::max_lat.eq(max_lat),
            turfs::created_by.eq(turf.created_by),
            turfs::created_at.eq(super::now()),
        ))
        .returning(turfs::all_columns)
        .get_result(conn)?;
    insert_cells(conn, campaign_id, stored.id, turf.cells)?;
    Ok(stored)
}

fn insert_cells(
    conn: &mut DbConnection,
    campaign_id: i64,
    turf_id: i64,
    cells: &[CellIndex],
) -> QueryResult<()> {
    let rows: Vec<NewTurfCell> = cells
        .iter()
        .map(|&cell| {
            let (lo, hi) = cells::door_range(cell);
            NewTurfCell {
                campaign_id,
                turf_id,
                cell: cells::to_db(cell),
                lo,
                hi,
            }
        })
        .collect();
    // 5 parameters a row: 4,000 rows stay below SQLite's 32,766 bound parameters.
    for chunk in rows.chunks(4000) {
        on_backend!(conn, |c| diesel::insert_into(turf_cells::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}

pub fn get(conn: &mut DbConnection, campaign_id: i64, id: i64) -> QueryResult<Option<Turf>> {
    turfs::table
        .filter(turfs::campaign_id.eq(campaign_id))
        .filter(turfs::id.eq(id))
        .select(Turf::as_select())
        .first(conn)
        .optional()
}

pub fn list(
    conn: &mut DbConnection,
    campaign_id: i64,
    region_id: Option<i64>,
    after: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<Turf>> {
    let mut query = turfs::table
        .filter(turfs::campaign_id.eq(campaign_id))
        .into_boxed();
    if let Some(region) = region_id {
        query = query.filter(turfs::region_id.eq(region));
    }
    if let Some(after) = after {
        query = query.filter(turfs::id.gt(after));
    }
    query
        .order(turfs::id)
        .limit(limit)
        .select(Turf::as_select())
        .load(conn)
}

/// Deletes a turf and its cells; returns whether it existed.
pub fn delete(conn: &mut DbConnection, campaign_id: i64, id: i64) -> QueryResult<bool> {
    diesel::delete(
        turf_cells::table
            .filter(turf_cells::campaign_id.eq(campaign_id))
            .filter(turf_cells::turf_id.eq(id)),
    )
    .execute(conn)?;
    let n = diesel::delete(
        turfs::table
            .filter(turfs::campaign_id.eq(campaign_id))
            .filter(turfs::id.eq(id)),
    )
    .execute(conn)?;
    Ok(n > 0)
}

/// Replaces a turf's cells (all of one resolution, checked free by the caller under the
/// campaign's turf lock) and its name; keeps its id, region and walk lists.
pub fn set_cells(
    conn: &mut DbConnection,
    campaign_id: i64,
    id: i64,
    name: &str,
    cells: &[CellIndex],
    bbox: [f64; 4],
) -> QueryResult<Turf> {
    diesel::delete(
        turf_cells::table
            .filter(turf_cells::campaign_id.eq(campaign_id))
            .filter(turf_cells::turf_id.eq(id)),
    )
    .execute(conn)?;
    insert_cells(conn, campaign_id, id, cells)?;
    let resolution = cells
        .first()
        .map_or(10, |c| i64::from(u8::from(c.resolution())));
    let [min_lng, min_lat, max_lng, max_lat] = bbox;
    diesel::update(
        turfs::table
            .filter(turfs::campaign_id.eq(campaign_id))
            .filter(turfs::id.eq(id)),
    )
    .set((
        turfs::name.eq(name),
        turfs::resolution.eq(resolution),
        turfs::cell_count.eq(i64::try_from(cells.len()).unwrap_or(i64::MAX)),
        turfs::min_lng.eq(min_lng),
        turfs::min_lat.eq(min_lat),
        turfs::max_lng.eq(max_lng),
        turfs::max_lat.eq(max_lat),
    ))
    .returning(turfs::all_columns)
    .get_result(conn)
}

/// Gives turf `from`'s walk lists and progress history to turf `to` (a merge).
pub fn move_history(
    conn: &mut DbConnection,
    campaign_id: i64,
    from: i64,
    to: i64,
) -> QueryResult<()> {
    use super::schema::walk_lists;
    diesel::update(
        walk_lists::table
            .filter(walk_lists::campaign_id.eq(campaign_id))
            .filter(walk_lists::turf_id.eq(from)),
    )
    .set(walk_lists::turf_id.eq(to))
    .execute(conn)?;
    // Tallies are keyed by walk list too, so no two rows meet.
    super::values::execute_bound(
        conn,
        "UPDATE progress_tallies SET turf_id = {?} WHERE campaign_id = {?} AND turf_id = {?}",
        &[
            super::values::Param::Int(to),
            super::values::Param::Int(campaign_id),
            super::values::Param::Int(from),
        ],
    )?;
    Ok(())
}

/// The turf's cells, ascending.
pub fn cells_of(
    conn: &mut DbConnection,
    campaign_id: i64,
    turf_id: i64,
) -> QueryResult<Vec<CellIndex>> {
    Ok(turf_cells::table
        .filter(turf_cells::campaign_id.eq(campaign_id))
        .filter(turf_cells::turf_id.eq(turf_id))
        .order(turf_cells::cell)
        .select(turf_cells::cell)
        .load::<i64>(conn)?
        .into_iter()
        .filter_map(cells::from_db)
        .collect())
}

/// Every turf of the campaign (or of one region), in id order, at most `limit`.
pub fn all(
    conn: &mut DbConnection,
    campaign_id: i64,
    region_id: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<Turf>> {
    list(conn, campaign_id, region_id, None, limit)
}

/// The cells of several turfs, by turf, each ascending: one query per thousand turfs.
pub fn cells_of_turfs(
    conn: &mut DbConnection,
    campaign_id: i64,
    turf_ids: &[i64],
) -> QueryResult<BTreeMap<i64, Vec<CellIndex>>> {
    let mut out: BTreeMap<i64, Vec<CellIndex>> = BTreeMap::new();
    for chunk in turf_ids.chunks(1000) {
        let rows: Vec<(i64, i64)> = turf_cells::table
            .filter(turf_cells::campaign_id.eq(campaign_id))
            .filter(turf_cells::turf_id.eq_any(chunk))
            .order((turf_cells::turf_id, turf_cells::cell))
            .select((turf_cells::turf_id, turf_cells::cell))
            .load(conn)?;
        for (turf, cell) in rows {
            if let Some(cell) = cells::from_db(cell) {
                out.entry(turf).or_default().push(cell);
            }
        }
    }
    Ok(out)
}

/// `turf_cells` joined to the doors inside each cell's range.
macro_rules! turf_doors {
    ($campaign_id:expr, $turf_id:expr) => {
        turf_cells::table
            .inner_join(
                doors::table.on(doors::campaign_id
                    .eq(turf_cells::campaign_id)
                    .and(doors::cell.between(turf_cells::lo, turf_cells::hi))),
            )
            .filter(turf_cells::campaign_id.eq($campaign_id))
            .filter(turf_cells::turf_id.eq($turf_id))
    };
}
pub(crate) use turf_doors;

/// How many doors and people the turf holds.
pub fn counts(conn: &mut DbConnection, campaign_id: i64, turf_id: i64) -> QueryResult<(i64, i64)> {
    // The turf's doors first, then their people by (campaign_id, door_id) in chunks: as
    // one query with the doors as a subquery, a turf PostgreSQL has no statistics for
    // yet can be planned as a walk over every person of the campaign.
    let ids: Vec<i64> = turf_doors!(campaign_id, turf_id)
        .select(doors::id)
        .load(conn)?;
    let mut people = 0;
    for chunk in ids.chunks(super::ROWS_PER_STATEMENT) {
        people += people::table
            .filter(people::campaign_id.eq(campaign_id))
            .filter(people::door_id.eq_any(chunk))
            .count()
            .get_result::<i64>(conn)?;
    }
    Ok((ids.len() as i64, people))
}

/// Where one of the campaign's doors is, `(lat, lng)`, or `None` when it has none.
pub fn any_door(conn: &mut DbConnection, campaign_id: i64) -> QueryResult<Option<(f64, f64)>> {
    doors::table
        .filter(doors::campaign_id.eq(campaign_id))
        .select((doors::lat, doors::lng))
        .first(conn)
        .optional()
}

/// A page of the turf's doors, by id.
pub fn doors_in(
    conn: &mut DbConnection,
    campaign_id: i64,
    turf_id: i64,
    after: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<Door>> {
    // `id + 0` keeps planners from walking the whole campaign in id order and testing
    // each door against the turf: the turf's doors are found by range, then sorted.
    turf_doors!(campaign_id, turf_id)
        .filter((doors::id + 0_i64).gt(after.unwrap_or(0)))
        .order(doors::id + 0_i64)
        .limit(limit)
        .select(Door::as_select())
        .load(conn)
}

/// A page of the people living in the turf, by id.
pub fn people_in(
    conn: &mut DbConnection,
    campaign_id: i64,
    turf_id: i64,
    after: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<Person>> {
    people::table
        .filter(people::campaign_id.eq(campaign_id))
        .filter(people::door_id.eq_any(turf_doors!(campaign_id, turf_id).select(doors::id)))
        .filter((people::id + 0_i64).gt(after.unwrap_or(0)))
        .order(people::id + 0_i64)
        .limit(limit)
        .select(Person::as_select())
        .load(conn)
}

/// Door counts per cell of `area` (cells of one resolution, without duplicates); cells
/// without doors are left out. The area is compacted first, so each range scan of the
/// door index covers as many cells as possible.
pub fn door_counts(
    conn: &mut DbConnection,
    campaign_id: i64,
    area: &[CellIndex],
) -> QueryResult<Vec<(CellIndex, u32)>> {
    let Some(res) = area.first().map(|c| c.resolution()) else {
        return Ok(Vec::new());
    };
    let mut compacted = area.to_vec();
    if CellIndex::compact(&mut compacted).is_err() {
        compacted = area.to_vec();
    }
    let mut counts: std::collections::BTreeMap<CellIndex, u32> = std::collections::BTreeMap::new();
    for cell in compacted {
        let (lo, hi) = cells::door_range(cell);
        let found: Vec<i64> = doors::table
            .filter(doors::campaign_id.eq(campaign_id))
            .filter(doors::cell.between(lo, hi))
            .select(doors::cell)
            .load(conn)?;
        for door in found {
            if let Some(parent) = cells::from_db(door).and_then(|d| d.parent(res)) {
                *counts.entry(parent).or_default() += 1;
            }
        }
    }
    Ok(counts.into_iter().collect())
}
