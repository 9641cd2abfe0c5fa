//! Walk lists: ordered doors of one turf, the universe's people at each, who holds the
//! list (assignments, a claim) and its cells for "near me".
//!
//! A door is on at most one live list: the partial unique index
//! `walk_list_stops_live_door` refuses a second, so even a bug cannot double-book a door.
//! Every change to what a phone shows bumps `version`, which the API turns into an ETag.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::dsl::{exists, not};
use diesel::prelude::*;

use super::DbConnection;
use super::people::{Door, Person, on_backend};
use super::schema::{
    doors, people, turf_cells, walk_list_assignments, walk_list_cells, walk_list_holders,
    walk_list_people, walk_list_stops, walk_lists,
};
use super::turfs::turf_doors;
use crate::walk::{ListState, Stored};

mod holders;
mod lifecycle;
mod stops;

pub use holders::*;
pub use lifecycle::*;
pub use stops::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = walk_lists)]
pub struct WalkList {
    pub id: i64,
    pub campaign_id: i64,
    pub turf_id: i64,
    pub name: String,
    pub state: String,
    pub universe: String,
    pub door_count: i64,
    pub people_count: i64,
    pub distance_m: f64,
    pub walking_seconds: f64,
    pub start_lat: f64,
    pub start_lng: f64,
    pub assignee_count: i64,
    pub claimed_by: Option<i64>,
    pub claimed_until: Option<NaiveDateTime>,
    pub knocked_doors: i64,
    pub version: i64,
    pub expires_at: NaiveDateTime,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The list's number in its campaign, for people: typed on a phone, read off paper.
    pub number: i64,
    pub finished_doors: i64,
    /// Doors where someone was spoken to.
    pub contacts: i64,
    pub closed_at: Option<NaiveDateTime>,
}

impl WalkList {
    pub fn list_state(&self) -> ListState {
        ListState {
            state: Stored::parse(&self.state),
            closed: self.closed_at.is_some(),
            expires_at: self.expires_at,
            assignee_count: self.assignee_count,
            claimed_until: self.claimed_until,
            knocked_doors: self.knocked_doors,
        }
    }

    /// Whether `user_id` holds the list now (assigned, or an unexpired claim).
    pub fn claimed_by_now(&self, user_id: i64, now: NaiveDateTime) -> bool {
        self.claimed_by == Some(user_id) && self.claimed_until.is_some_and(|t| t > now)
    }
}

/// The doors of a turf on no live list, by id.
macro_rules! free_doors {
    ($campaign_id:expr, $turf_id:expr) => {
        turf_doors!($campaign_id, $turf_id)
            .filter(not(exists(
                walk_list_stops::table
                    .filter(walk_list_stops::campaign_id.eq(doors::campaign_id))
                    .filter(walk_list_stops::door_id.eq(doors::id))
                    .filter(walk_list_stops::live),
            )))
            .order(doors::id + 0_i64)
            .select(Door::as_select())
    };
}

/// The SQL of the free-doors query of [`free_doors_of_turf`] for `backend`, its two
/// parameters being the campaign and the turf: for tests that look at its plan.
pub fn free_doors_sql(backend: super::Backend) -> String {
    let text = match backend {
        super::Backend::Sqlite => {
            diesel::debug_query::<diesel::sqlite::Sqlite, _>(&free_doors!(0_i64, 0_i64)).to_string()
        }
        super::Backend::Postgres => {
            diesel::debug_query::<diesel::pg::Pg, _>(&free_doors!(0_i64, 0_i64)).to_string()
        }
    };
    text.split(" -- binds:")
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// The turf's doors that are on no live list, with all their people (the universe is
/// applied by the caller). Doors come ordered by id.
///
/// Every test for a live stop is written `live`, never `live = ?`: only then do SQLite
/// and PostgreSQL's generic plans see that the partial index `walk_list_stops_live_door`
/// (`… WHERE live`) answers it. With a bound `true` they read every stop of the campaign
/// for each door: 3.9 s instead of 57 ms for a 103-door list once 3,000 doors were live.
pub fn free_doors_of_turf(
    conn: &mut DbConnection,
    campaign_id: i64,
    turf_id: i64,
) -> QueryResult<Vec<(Door, Vec<Person>)>> {
    let free: Vec<Door> = free_doors!(campaign_id, turf_id).load(conn)?;
    // The people of exactly these doors, looked up by (campaign, door): with the turf's
    // doors as a subquery instead, a turf PostgreSQL has no statistics for yet can be
    // planned as a walk over every person of the campaign (3 s once a second campaign
    // had been loaded).
    let ids: Vec<i64> = free.iter().map(|d| d.id).collect();
    let mut by_door: BTreeMap<i64, Vec<Person>> = BTreeMap::new();
    for chunk in ids.chunks(super::ROWS_PER_STATEMENT) {
        for person in people::table
            .filter(people::campaign_id.eq(campaign_id))
            .filter(people::door_id.eq_any(chunk))
            .order(people::id + 0_i64)
            .select(Person::as_select())
            .load::<Person>(conn)?
        {
            by_door.entry(person.door_id).or_default().push(person);
        }
    }
    Ok(free
        .into_iter()
        .map(|d| {
            let people = by_door.remove(&d.id).unwrap_or_default();
            (d, people)
        })
        .collect())
}

/// How many of the turf's doors are on a live list now.
///
/// Two steps, so the work follows the turf's own doors: asked in one query, a turf
/// made since PostgreSQL last analysed `turf_cells` looks like three rows to its
/// planner, which then walks every live stop of the campaign against every cell of the
/// turf (3.6 s measured with 15,609 live stops and a 63-cell turf). The turf's doors
/// are read by their cells' ranges, then their live stops by the partial index on
/// live doors (at most one per door).
pub fn doors_taken_in_turf(
    conn: &mut DbConnection,
    campaign_id: i64,
    turf_id: i64,
) -> QueryResult<i64> {
    let ids: Vec<i64> = turf_doors!(campaign_id, turf_id)
        .select(doors::id)
        .load(conn)?;
    let mut taken = 0;
    for chunk in ids.chunks(super::ROWS_PER_STATEMENT) {
        taken += walk_list_stops::table
            .filter(walk_list_stops::campaign_id.eq(campaign_id))
            .filter(walk_list_stops::door_id.eq_any(chunk))
            .filter(walk_list_stops::live)
            .count()
            .get_result::<i64>(conn)?;
    }
    Ok(taken)
}

/// One stop of a new list, in route order.
pub struct NewStop {
    pub door_id: i64,
    pub people: Vec<i64>,
    /// The door's resolution-9 cell, as stored.
    pub cell9: i64,
}

/// A list to store.
pub struct NewList<'a> {
    pub turf_id: i64,
    pub name: &'a str,
    pub universe: &'a str,
    pub start: (f64, f64),
    pub distance_m: f64,
    pub walking_seconds: f64,
    pub expires_at: NaiveDateTime,
    pub created_by: Option<i64>,
    pub stops: Vec<NewStop>,
}

#[derive(Insertable)]
#[diesel(table_name = walk_list_stops)]
struct StopRow {
    campaign_id: i64,
    walk_list_id: i64,
    door_id: i64,
    position: i64,
    live: bool,
}

#[derive(Insertable)]
#[diesel(table_name = walk_list_people)]
struct PersonRow {
    campaign_id: i64,
    walk_list_id: i64,
    person_id: i64,
    door_id: i64,
}

#[derive(Insertable)]
#[diesel(table_name = walk_list_cells)]
struct CellRow {
    campaign_id: i64,
    cell: i64,
    walk_list_id: i64,
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Stores a list with its stops, people and cells. Call inside a transaction holding
/// the campaign's walk-list lock, after choosing free doors.
#[derive(QueryableByName)]
struct Number {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    last_number: i64,
}

/// Creates a list with its stops, numbered after the campaign's last list (the caller
/// holds the campaign's walk-list lock).
pub fn create(conn: &mut DbConnection, campaign_id: i64, list: &NewList) -> QueryResult<WalkList> {
    let now = super::now();
    // The campaign's last number given is kept, so a deleted list's is not given again.
    let number: i64 = super::values::load_bound::<Number>(
        conn,
        "INSERT INTO list_numbers (campaign_id, last_number) VALUES ({?}, 1)
         ON CONFLICT (campaign_id) DO UPDATE SET last_number = list_numbers.last_number + 1
         RETURNING last_number",
        &[super::values::Param::Int(campaign_id)],
    )?
    .first()
    .map_or(1, |n| n.last_number);
    let people_count: usize = list.stops.iter().map(|s| s.people.len()).sum();
    let stored: WalkList = diesel::insert_into(walk_lists::table)
        .values((
            walk_lists::campaign_id.eq(campaign_id),
            walk_lists::turf_id.eq(list.turf_id),
            walk_lists::name.eq(list.name),
            walk_lists::state.eq(Stored::Active.as_str()),
            walk_lists::universe.eq(list.universe),
            walk_lists::door_count.eq(count(list.stops.len())),
            walk_lists::people_count.eq(count(people_count)),
            walk_lists::distance_m.eq(list.distance_m),
            walk_lists::walking_seconds.eq(list.walking_seconds),
            walk_lists::start_lat.eq(list.start.0),
            walk_lists::start_lng.eq(list.start.1),
            walk_lists::expires_at.eq(list.expires_at),
            walk_lists::created_by.eq(list.created_by),
            walk_lists::created_at.eq(now),
            walk_lists::updated_at.eq(now),
            walk_lists::number.eq(number),
        ))
        .returning(walk_lists::all_columns)
        .get_result(conn)?;
    insert_stops(conn, campaign_id, stored.id, 0, &list.stops)?;
    Ok(stored)
}

/// Appends stops (with their people and cells) at positions from `first_position` on.
fn insert_stops(
    conn: &mut DbConnection,
    campaign_id: i64,
    list_id: i64,
    first_position: i64,
    stops: &[NewStop],
) -> QueryResult<()> {
    let stop_rows: Vec<StopRow> = stops
        .iter()
        .enumerate()
        .map(|(i, s)| StopRow {
            campaign_id,
            walk_list_id: list_id,
            door_id: s.door_id,
            position: first_position + count(i),
            live: true,
        })
        .collect();
    let person_rows: Vec<PersonRow> = stops
        .iter()
        .flat_map(|s| {
            s.people.iter().map(|&p| PersonRow {
                campaign_id,
                walk_list_id: list_id,
                person_id: p,
                door_id: s.door_id,
            })
        })
        .collect();
    let mut cells: Vec<i64> = stops.iter().map(|s| s.cell9).collect();
    cells.sort_unstable();
    cells.dedup();
    let existing: Vec<i64> = walk_list_cells::table
        .filter(walk_list_cells::campaign_id.eq(campaign_id))
        .filter(walk_list_cells::walk_list_id.eq(list_id))
        .select(walk_list_cells::cell)
        .load(conn)?;
    let cell_rows: Vec<CellRow> = cells
        .into_iter()
        .filter(|c| !existing.contains(c))
        .map(|cell| CellRow {
            campaign_id,
            cell,
            walk_list_id: list_id,
        })
        .collect();
    // At most 5 parameters a row: 4,000 rows stay below SQLite's bound-parameter limit.
    for chunk in stop_rows.chunks(4000) {
        on_backend!(conn, |c| diesel::insert_into(walk_list_stops::table)
            .values(chunk)
            .execute(c))?;
    }
    for chunk in person_rows.chunks(4000) {
        on_backend!(conn, |c| diesel::insert_into(walk_list_people::table)
            .values(chunk)
            .execute(c))?;
    }
    for chunk in cell_rows.chunks(4000) {
        on_backend!(conn, |c| diesel::insert_into(walk_list_cells::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}

pub fn get(conn: &mut DbConnection, campaign_id: i64, id: i64) -> QueryResult<Option<WalkList>> {
    walk_lists::table
        .filter(walk_lists::campaign_id.eq(campaign_id))
        .filter(walk_lists::id.eq(id))
        .select(WalkList::as_select())
        .first(conn)
        .optional()
}

/// Lists of the campaign by id, optionally of one turf.
pub fn list(
    conn: &mut DbConnection,
    campaign_id: i64,
    turf_id: Option<i64>,
    after: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<WalkList>> {
    let mut query = walk_lists::table
        .filter(walk_lists::campaign_id.eq(campaign_id))
        .filter(walk_lists::id.gt(after.unwrap_or(0)))
        .into_boxed();
    if let Some(turf_id) = turf_id {
        query = query.filter(walk_lists::turf_id.eq(turf_id));
    }
    query
        .order(walk_lists::id)
        .limit(limit)
        .select(WalkList::as_select())
        .load(conn)
}

/// How many lists (of any state) were cut from the turf.
pub fn count_for_turf(conn: &mut DbConnection, campaign_id: i64, turf_id: i64) -> QueryResult<i64> {
    walk_lists::table
        .filter(walk_lists::campaign_id.eq(campaign_id))
        .filter(walk_lists::turf_id.eq(turf_id))
        .count()
        .get_result(conn)
}

/// The list's doors in walking order.
pub fn stops(conn: &mut DbConnection, campaign_id: i64, list_id: i64) -> QueryResult<Vec<Door>> {
    walk_list_stops::table
        .inner_join(
            doors::table.on(doors::campaign_id
                .eq(walk_list_stops::campaign_id)
                .and(doors::id.eq(walk_list_stops::door_id))),
        )
        .filter(walk_list_stops::campaign_id.eq(campaign_id))
        .filter(walk_list_stops::walk_list_id.eq(list_id))
        .filter(walk_list_stops::moved_to.is_null())
        .order(walk_list_stops::position)
        .select(Door::as_select())
        .load(conn)
}

/// How far one stop got: its last result and when, and whether it is finished.
#[derive(Debug, Clone, Queryable)]
pub struct StopProgress {
    pub door_id: i64,
    pub last_result: Option<String>,
    pub last_knocked_at: Option<NaiveDateTime>,
    pub finished: bool,
}

/// The list's stops' progress, by door.
pub fn stop_progress(
    conn: &mut DbConnection,
    campaign_id: i64,
    list_id: i64,
) -> QueryResult<BTreeMap<i64, StopProgress>> {
    let rows: Vec<StopProgress> = walk_list_stops::table
        .filter(walk_list_stops::campaign_id.eq(campaign_id))
        .filter(walk_list_stops::walk_list_id.eq(list_id))
        .filter(walk_list_stops::moved_to.is_null())
        .select((
            walk_list_stops::door_id,
            walk_list_stops::last_result,
            walk_list_stops::last_knocked_at,
            walk_list_stops::finished,
        ))
        .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.door_id, r)).collect())
}

/// The people the list names, by door.
pub fn people(
    conn: &mut DbConnection,
    campaign_id: i64,
    list_id: i64,
) -> QueryResult<BTreeMap<i64, Vec<Person>>> {
    let rows: Vec<Person> = walk_list_people::table
        .inner_join(
            people::table.on(people::campaign_id
                .eq(walk_list_people::campaign_id)
                .and(people::id.eq(walk_list_people::person_id))),
        )
        .filter(walk_list_people::campaign_id.eq(campaign_id))
        .filter(walk_list_people::walk_list_id.eq(list_id))
        .order(people::id)
        .select(Person::as_select())
        .load(conn)?;
    let mut by_door: BTreeMap<i64, Vec<Person>> = BTreeMap::new();
    for p in rows {
        by_door.entry(p.door_id).or_default().push(p);
    }
    Ok(by_door)
}

/// Bumps the version (and the change time) after anything a phone shows changed.
pub fn touch(conn: &mut DbConnection, campaign_id: i64, list_id: i64) -> QueryResult<()> {
    diesel::update(
        walk_lists::table
            .filter(walk_lists::campaign_id.eq(campaign_id))
            .filter(walk_lists::id.eq(list_id)),
    )
    .set((
        walk_lists::version.eq(walk_lists::version + 1),
        walk_lists::updated_at.eq(super::now()),
    ))
    .execute(conn)
    .map(|_| ())
}
