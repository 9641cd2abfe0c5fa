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

/// The users the list is assigned to, by id.
pub fn assignees(conn: &mut DbConnection, campaign_id: i64, list_id: i64) -> QueryResult<Vec<i64>> {
    walk_list_assignments::table
        .filter(walk_list_assignments::campaign_id.eq(campaign_id))
        .filter(walk_list_assignments::walk_list_id.eq(list_id))
        .order(walk_list_assignments::user_id)
        .select(walk_list_assignments::user_id)
        .load(conn)
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

fn refresh_assignee_count(
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
            walk_list_assignments::assigned_at.eq(super::now()),
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

/// The stops of the list not finished yet, in walking order, with the people the list
/// names at each.
pub fn unfinished(
    conn: &mut DbConnection,
    campaign_id: i64,
    list_id: i64,
) -> QueryResult<Vec<(Door, Vec<i64>)>> {
    let doors: Vec<Door> = walk_list_stops::table
        .inner_join(
            doors::table.on(doors::campaign_id
                .eq(walk_list_stops::campaign_id)
                .and(doors::id.eq(walk_list_stops::door_id))),
        )
        .filter(walk_list_stops::campaign_id.eq(campaign_id))
        .filter(walk_list_stops::walk_list_id.eq(list_id))
        .filter(walk_list_stops::moved_to.is_null())
        .filter(walk_list_stops::finished.eq(false))
        .order(walk_list_stops::position)
        .select(Door::as_select())
        .load(conn)?;
    let mut named = people(conn, campaign_id, list_id)?;
    Ok(doors
        .into_iter()
        .map(|d| {
            let ids = named
                .remove(&d.id)
                .unwrap_or_default()
                .into_iter()
                .map(|p| p.id)
                .collect();
            (d, ids)
        })
        .collect())
}

/// Which of `door_ids` are stops of the list.
pub fn stops_among(
    conn: &mut DbConnection,
    campaign_id: i64,
    list_id: i64,
    door_ids: &[i64],
) -> QueryResult<Vec<i64>> {
    walk_list_stops::table
        .filter(walk_list_stops::campaign_id.eq(campaign_id))
        .filter(walk_list_stops::walk_list_id.eq(list_id))
        .filter(walk_list_stops::door_id.eq_any(door_ids))
        .filter(walk_list_stops::moved_to.is_null())
        .select(walk_list_stops::door_id)
        .load(conn)
}

/// Replaces the order and the route figures of a list whose stops changed: `order`
/// holds every remaining door of the list, in walking order.
pub fn reorder(
    conn: &mut DbConnection,
    campaign_id: i64,
    list_id: i64,
    order: &[i64],
    route: (f64, f64),
) -> QueryResult<()> {
    // Positions are unique only by convention, so they can be rewritten one by one.
    for (i, door_id) in order.iter().enumerate() {
        diesel::update(
            walk_list_stops::table
                .filter(walk_list_stops::campaign_id.eq(campaign_id))
                .filter(walk_list_stops::walk_list_id.eq(list_id))
                .filter(walk_list_stops::door_id.eq(door_id)),
        )
        .set(walk_list_stops::position.eq(count(i)))
        .execute(conn)?;
    }
    let people_count: i64 = walk_list_people::table
        .filter(walk_list_people::campaign_id.eq(campaign_id))
        .filter(walk_list_people::walk_list_id.eq(list_id))
        .count()
        .get_result(conn)?;
    diesel::update(
        walk_lists::table
            .filter(walk_lists::campaign_id.eq(campaign_id))
            .filter(walk_lists::id.eq(list_id)),
    )
    .set((
        walk_lists::door_count.eq(count(order.len())),
        walk_lists::people_count.eq(people_count),
        walk_lists::distance_m.eq(route.0),
        walk_lists::walking_seconds.eq(route.1),
    ))
    .execute(conn)?;
    touch(conn, campaign_id, list_id)
}

/// Moves doors (with their people) from one list to the end of another; the caller
/// reorders both afterwards. Cells of the target are added; the source keeps its cells
/// (a stale cell only makes "near me" look one ring further, never miss a list).
pub fn move_stops(
    conn: &mut DbConnection,
    campaign_id: i64,
    from: i64,
    to: i64,
    door_ids: &[i64],
    cells9: &[i64],
) -> QueryResult<()> {
    let moved_people: Vec<(i64, i64)> = walk_list_people::table
        .filter(walk_list_people::campaign_id.eq(campaign_id))
        .filter(walk_list_people::walk_list_id.eq(from))
        .filter(walk_list_people::door_id.eq_any(door_ids))
        .select((walk_list_people::person_id, walk_list_people::door_id))
        .load(conn)?;
    diesel::delete(
        walk_list_people::table
            .filter(walk_list_people::campaign_id.eq(campaign_id))
            .filter(walk_list_people::walk_list_id.eq(from))
            .filter(walk_list_people::door_id.eq_any(door_ids)),
    )
    .execute(conn)?;
    // The source keeps its rows (not live, pointing at the target), so knocks made
    // offline against it still sync; what the doors have seen moves with them.
    let moved = walk_list_stops::table
        .filter(walk_list_stops::campaign_id.eq(campaign_id))
        .filter(walk_list_stops::walk_list_id.eq(from))
        .filter(walk_list_stops::door_id.eq_any(door_ids));
    let seen: Vec<(i64, Option<String>, Option<NaiveDateTime>, bool)> = moved
        .clone()
        .select((
            walk_list_stops::door_id,
            walk_list_stops::last_result,
            walk_list_stops::last_knocked_at,
            walk_list_stops::finished,
        ))
        .load(conn)?;
    diesel::update(moved)
        .set((
            walk_list_stops::live.eq(false),
            walk_list_stops::moved_to.eq(to),
        ))
        .execute(conn)?;
    let last: Option<i64> = walk_list_stops::table
        .filter(walk_list_stops::campaign_id.eq(campaign_id))
        .filter(walk_list_stops::walk_list_id.eq(to))
        .select(diesel::dsl::max(walk_list_stops::position))
        .first(conn)?;
    let mut people_by_door: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for (person, door) in moved_people {
        people_by_door.entry(door).or_default().push(person);
    }
    let stops: Vec<NewStop> = door_ids
        .iter()
        .zip(cells9)
        .map(|(&door_id, &cell9)| NewStop {
            door_id,
            people: people_by_door.remove(&door_id).unwrap_or_default(),
            cell9,
        })
        .collect();
    insert_stops(conn, campaign_id, to, last.map_or(0, |p| p + 1), &stops)?;
    for (door, result, at, finished) in seen {
        diesel::update(
            walk_list_stops::table
                .filter(walk_list_stops::campaign_id.eq(campaign_id))
                .filter(walk_list_stops::walk_list_id.eq(to))
                .filter(walk_list_stops::door_id.eq(door)),
        )
        .set((
            walk_list_stops::last_result.eq(result),
            walk_list_stops::last_knocked_at.eq(at),
            walk_list_stops::finished.eq(finished),
        ))
        .execute(conn)?;
    }
    Ok(())
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

/// Whether any of the doors is on a live list now.
pub fn any_live(conn: &mut DbConnection, campaign_id: i64, door_ids: &[i64]) -> QueryResult<bool> {
    for chunk in door_ids.chunks(1000) {
        let n: i64 = walk_list_stops::table
            .filter(walk_list_stops::campaign_id.eq(campaign_id))
            .filter(walk_list_stops::door_id.eq_any(chunk))
            .filter(walk_list_stops::live)
            .count()
            .get_result(conn)?;
        if n > 0 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Which of `door_ids` are live on a list other than `except`.
pub fn live_elsewhere(
    conn: &mut DbConnection,
    campaign_id: i64,
    door_ids: &[i64],
    except: i64,
) -> QueryResult<std::collections::HashSet<i64>> {
    let mut out = std::collections::HashSet::new();
    for chunk in door_ids.chunks(1000) {
        out.extend(
            walk_list_stops::table
                .filter(walk_list_stops::campaign_id.eq(campaign_id))
                .filter(walk_list_stops::door_id.eq_any(chunk))
                .filter(walk_list_stops::live)
                .filter(walk_list_stops::walk_list_id.ne(except))
                .select(walk_list_stops::door_id)
                .load::<i64>(conn)?,
        );
    }
    Ok(out)
}

/// Where the list's doors are, in walking order.
pub fn stop_locations(
    conn: &mut DbConnection,
    campaign_id: i64,
    list_id: i64,
) -> QueryResult<Vec<(f64, f64)>> {
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
        .select((doors::lat, doors::lng))
        .load(conn)
}

/// One stop of a turf's list: (door, the list's universe as stored, finished, last
/// result).
pub type StopHistory = (i64, String, bool, Option<String>);

/// What the turf's lists did at each door so far, for the stops still on their list.
pub fn turf_stop_history(
    conn: &mut DbConnection,
    campaign_id: i64,
    turf_id: i64,
) -> QueryResult<Vec<StopHistory>> {
    walk_list_stops::table
        .inner_join(
            walk_lists::table.on(walk_lists::campaign_id
                .eq(walk_list_stops::campaign_id)
                .and(walk_lists::id.eq(walk_list_stops::walk_list_id))),
        )
        .filter(walk_lists::campaign_id.eq(campaign_id))
        .filter(walk_lists::turf_id.eq(turf_id))
        .filter(walk_list_stops::moved_to.is_null())
        .select((
            walk_list_stops::door_id,
            walk_lists::universe,
            walk_list_stops::finished,
            walk_list_stops::last_result,
        ))
        .load(conn)
}
