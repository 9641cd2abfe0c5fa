//! People and their doors: the voter file as stored, and its import.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Bool, Double, Nullable, Text};
use diesel::sqlite::Sqlite;

use super::DbConnection;
use super::schema::{doors, people};
use super::values::{Param, load_bound};
use crate::domain::{DoorId, WalkListId};
use crate::voter_file::row::PersonRecord;

/// Runs the same diesel code on whichever connection is live. Needed where the
/// multi-backend connection cannot express a query (batch inserts, ON CONFLICT) although
/// each concrete backend can, with identical code.
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            DbConnection::Postgresql($c) => $body,
            DbConnection::Sqlite($c) => $body,
        }
    };
}
pub(crate) use on_backend;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = doors)]
pub struct Door {
    pub id: i64,
    pub campaign_id: i64,
    pub address_key: String,
    pub unit: String,
    pub street: String,
    pub housenumber: String,
    pub postcode: String,
    pub city: String,
    pub lat: f64,
    pub lng: f64,
    pub cell: i64,
    pub do_not_walk: bool,
    pub last_contact_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = people)]
pub struct Person {
    pub id: i64,
    pub campaign_id: i64,
    pub external_id: String,
    pub door_id: i64,
    pub first_name: String,
    pub last_name: String,
    pub party: Option<String>,
    pub birth_year: Option<i64>,
    pub phone: Option<String>,
    pub do_not_walk: bool,
    pub deceased: bool,
    pub moved: bool,
    pub support_score: Option<f64>,
    pub turnout_score: Option<f64>,
    pub last_contact_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Recorded at the door or by an organizer; the voter file does not carry them.
    pub email: Option<String>,
    pub preferred_language: Option<String>,
}

/// What one batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Upserted {
    pub created: u64,
    pub updated: u64,
}

/// The doors of a batch: one per distinct (address key, unit), in order of first
/// appearance, each with the row whose spelling and location it takes (the last one).
struct BatchDoors<'a> {
    /// Door slot → index in the batch of the row that describes the door.
    rows: Vec<usize>,
    /// Batch index → door slot.
    slot_of: Vec<usize>,
    /// (address key, unit) → door slot.
    slots: HashMap<(&'a str, &'a str), usize>,
}

impl<'a> BatchDoors<'a> {
    fn new(batch: &'a [PersonRecord]) -> Self {
        let mut doors = BatchDoors {
            rows: Vec::new(),
            slot_of: Vec::with_capacity(batch.len()),
            slots: HashMap::with_capacity(batch.len()),
        };
        for (i, p) in batch.iter().enumerate() {
            let next = doors.rows.len();
            let slot = *doors
                .slots
                .entry((p.door_key.as_str(), p.unit_key.as_str()))
                .or_insert(next);
            if slot == next {
                doors.rows.push(i);
            } else {
                doors.rows[slot] = i;
            }
            doors.slot_of.push(slot);
        }
        doors
    }
}

/// Stores a batch of voter-file people and their doors. People are matched by external
/// id and doors by normalised address and unit, so importing the same file again updates
/// rows and never duplicates one. An external id must appear at most once per batch.
///
/// Flags set in the field (do-not-walk, deceased, moved) are kept when a later file
/// does not carry them: the file can add a flag but never erases what canvassers found.
/// Call inside a transaction.
///
/// `updated` counts the people of the batch that were stored already, changed or not.
///
/// - SQLite writes each door and person once, and the door ids and the created/updated
///   split come back from the writes themselves (no look-ups before or after): prepared
///   upserts of a few fixed numbers of rows ([`SQLITE_STATEMENT_ROWS`]), each compiled
///   once per connection (SQLite has no round trips to save, and a VALUES list as long
///   as the batch would be compiled again for every batch). A person is new when its id
///   is above the largest id before the batch: the write lock is held from the first
///   door on, and AUTOINCREMENT ids only grow.
/// - PostgreSQL gets an upsert of the doors, a look-up of the ids of the doors it left
///   alone (when there are any), and an upsert of the people, each binding one array
///   per column. A stored row is rewritten only when the file changes it, so
///   re-importing a file writes only what it changes. See [`pg_upsert`].
pub fn upsert_batch(
    conn: &mut DbConnection,
    campaign_id: i64,
    batch: &[PersonRecord],
) -> QueryResult<Upserted> {
    if batch.is_empty() {
        return Ok(Upserted::default());
    }
    let now = super::now();
    let doors = BatchDoors::new(batch);
    let created = match conn {
        DbConnection::Sqlite(c) => sqlite_upsert(c, campaign_id, now, batch, &doors)?,
        DbConnection::Postgresql(c) => pg_upsert(c, campaign_id, now, batch, &doors)?,
    };
    let total = batch.len() as u64;
    Ok(Upserted {
        created,
        updated: total - created,
    })
}

/// Rows per SQLite statement: a batch is written in as many statements of the first size
/// as fit, the rest in the smaller ones. Each size is compiled once per connection and
/// then kept prepared, and a statement of many rows copies each page it changes into
/// the statement journal once instead of once per row.
const SQLITE_STATEMENT_ROWS: [usize; 5] = [256, 64, 16, 4, 1];

/// Evaluates `$body` with `$rows` a `const usize` equal to `$len`, which must be one of
/// [`SQLITE_STATEMENT_ROWS`]: each size becomes a type of its own, so diesel keeps its
/// statement by type instead of writing out and hashing its SQL on every use.
macro_rules! with_statement_rows {
    ($len:expr, $rows:ident => $body:expr) => {
        match $len {
            256 => {
                const $rows: usize = 256;
                $body
            }
            64 => {
                const $rows: usize = 64;
                $body
            }
            16 => {
                const $rows: usize = 16;
                $body
            }
            4 => {
                const $rows: usize = 4;
                $body
            }
            _ => {
                const $rows: usize = 1;
                $body
            }
        }
    };
}

/// Calls `f` on consecutive pieces of `rows`, each of a size in [`SQLITE_STATEMENT_ROWS`].
fn in_statement_sizes<T>(
    mut rows: &[T],
    mut f: impl FnMut(&[T]) -> QueryResult<()>,
) -> QueryResult<()> {
    for size in SQLITE_STATEMENT_ROWS {
        while rows.len() >= size {
            let (piece, rest) = rows.split_at(size);
            f(piece)?;
            rows = rest;
        }
    }
    Ok(())
}

/// Returns how many people were created.
fn sqlite_upsert(
    c: &mut diesel::SqliteConnection,
    campaign_id: i64,
    now: NaiveDateTime,
    batch: &[PersonRecord],
    doors: &BatchDoors<'_>,
) -> QueryResult<u64> {
    // Exactly what diesel's `ToSql<Timestamp, Sqlite>` writes, formatted once per batch
    // rather than twice per row.
    let now = now.format("%F %T%.f").to_string();
    let door_rows: Vec<&PersonRecord> = doors.rows.iter().map(|&i| &batch[i]).collect();
    let mut door_ids: Vec<Option<i64>> = vec![None; door_rows.len()];
    in_statement_sizes(&door_rows, |rows| {
        let returned = with_statement_rows!(rows.len(), N => SqliteDoors::<N> {
            campaign_id,
            now: &now,
            rows,
        }
        .load::<(i64, String, String)>(c))?;
        // RETURNING promises no order, so each id finds its door by key.
        for (id, key, unit) in returned {
            if let Some(&slot) = doors.slots.get(&(key.as_str(), unit.as_str())) {
                door_ids[slot] = Some(id);
            }
        }
        Ok(())
    })?;
    let door_ids = door_ids
        .into_iter()
        .collect::<Option<Vec<i64>>>()
        .ok_or_else(|| broken("a door of the batch came back without its id"))?;

    // Read after the first write, so this transaction already holds SQLite's one write
    // lock and nobody else can add people until it commits.
    let before = people::table
        .select(diesel::dsl::max(people::id))
        .first::<Option<i64>>(c)?
        .unwrap_or(0);
    let people_rows: Vec<(&PersonRecord, i64)> = batch
        .iter()
        .zip(&doors.slot_of)
        .map(|(p, &slot)| (p, door_ids[slot]))
        .collect();
    let mut created = 0;
    in_statement_sizes(&people_rows, |rows| {
        let ids = with_statement_rows!(rows.len(), N => SqlitePeople::<N> {
            campaign_id,
            now: &now,
            rows,
        }
        .load::<i64>(c))?;
        created += ids.iter().filter(|&&id| id > before).count() as u64;
        Ok(())
    })?;
    Ok(created)
}

/// A door upsert of `ROWS` rows on SQLite, answering each door's id and key. Written
/// out rather than with diesel's `on_conflict().do_update()`, which diesel never keeps
/// prepared; this one is kept, one statement per number of rows.
struct SqliteDoors<'a, const ROWS: usize> {
    campaign_id: i64,
    now: &'a str,
    rows: &'a [&'a PersonRecord],
}

impl<const ROWS: usize> QueryId for SqliteDoors<'_, ROWS> {
    type QueryId = SqliteDoors<'static, ROWS>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<const ROWS: usize> Query for SqliteDoors<'_, ROWS> {
    type SqlType = (BigInt, Text, Text);
}

impl<const ROWS: usize> RunQueryDsl<diesel::SqliteConnection> for SqliteDoors<'_, ROWS> {}

impl<const ROWS: usize> QueryFragment<Sqlite> for SqliteDoors<'_, ROWS> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        if self.rows.len() != ROWS {
            return Err(broken("a door statement got the wrong number of rows"));
        }
        out.push_sql(
            "INSERT INTO doors (campaign_id, address_key, unit, street, housenumber, \
             postcode, city, lat, lng, cell, created_at, updated_at) VALUES ",
        );
        for (n, p) in self.rows.iter().enumerate() {
            out.push_sql(if n == 0 { "(" } else { ", (" });
            out.push_bind_param::<BigInt, _>(&self.campaign_id)?;
            for text in [
                &p.door_key,
                &p.unit_key,
                &p.address.street,
                &p.address.housenumber,
                &p.address.postcode,
                &p.address.city,
            ] {
                out.push_sql(", ");
                out.push_bind_param::<Text, _>(text)?;
            }
            out.push_sql(", ");
            out.push_bind_param::<Double, _>(&p.lat)?;
            out.push_sql(", ");
            out.push_bind_param::<Double, _>(&p.lng)?;
            out.push_sql(", ");
            out.push_bind_param::<BigInt, _>(&p.cell)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, _>(self.now)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, _>(self.now)?;
            out.push_sql(")");
        }
        out.push_sql(
            " ON CONFLICT (campaign_id, address_key, unit) DO UPDATE SET \
             street = excluded.street, housenumber = excluded.housenumber, \
             postcode = excluded.postcode, city = excluded.city, lat = excluded.lat, \
             lng = excluded.lng, cell = excluded.cell, updated_at = excluded.updated_at \
             RETURNING id, address_key, unit",
        );
        Ok(())
    }
}

/// A people upsert of `ROWS` rows on SQLite (each person with its door's id), answering
/// the people's ids; kept prepared like [`SqliteDoors`]. Flags are OR'ed with the stored
/// ones.
struct SqlitePeople<'a, const ROWS: usize> {
    campaign_id: i64,
    now: &'a str,
    rows: &'a [(&'a PersonRecord, i64)],
}

impl<const ROWS: usize> QueryId for SqlitePeople<'_, ROWS> {
    type QueryId = SqlitePeople<'static, ROWS>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<const ROWS: usize> Query for SqlitePeople<'_, ROWS> {
    type SqlType = BigInt;
}

impl<const ROWS: usize> RunQueryDsl<diesel::SqliteConnection> for SqlitePeople<'_, ROWS> {}

impl<const ROWS: usize> QueryFragment<Sqlite> for SqlitePeople<'_, ROWS> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        if self.rows.len() != ROWS {
            return Err(broken("a people statement got the wrong number of rows"));
        }
        out.push_sql(
            "INSERT INTO people (campaign_id, external_id, door_id, first_name, last_name, \
             party, birth_year, phone, do_not_walk, deceased, moved, support_score, \
             turnout_score, created_at, updated_at) VALUES ",
        );
        for (n, (p, door_id)) in self.rows.iter().enumerate() {
            out.push_sql(if n == 0 { "(" } else { ", (" });
            out.push_bind_param::<BigInt, _>(&self.campaign_id)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, _>(&p.external_id)?;
            out.push_sql(", ");
            out.push_bind_param::<BigInt, _>(door_id)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, _>(&p.first_name)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, _>(&p.last_name)?;
            out.push_sql(", ");
            out.push_bind_param::<Nullable<Text>, _>(&p.party)?;
            out.push_sql(", ");
            out.push_bind_param::<Nullable<BigInt>, _>(&p.birth_year)?;
            out.push_sql(", ");
            out.push_bind_param::<Nullable<Text>, _>(&p.phone)?;
            for flag in [&p.do_not_walk, &p.deceased, &p.moved] {
                out.push_sql(", ");
                out.push_bind_param::<Bool, _>(flag)?;
            }
            out.push_sql(", ");
            out.push_bind_param::<Nullable<Double>, _>(&p.support_score)?;
            out.push_sql(", ");
            out.push_bind_param::<Nullable<Double>, _>(&p.turnout_score)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, _>(self.now)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, _>(self.now)?;
            out.push_sql(")");
        }
        out.push_sql(
            " ON CONFLICT (campaign_id, external_id) DO UPDATE SET \
             door_id = excluded.door_id, first_name = excluded.first_name, \
             last_name = excluded.last_name, party = excluded.party, \
             birth_year = excluded.birth_year, \
             phone = COALESCE(excluded.phone, people.phone), \
             do_not_walk = people.do_not_walk OR excluded.do_not_walk, \
             deceased = people.deceased OR excluded.deceased, \
             moved = people.moved OR excluded.moved, \
             support_score = excluded.support_score, \
             turnout_score = excluded.turnout_score, updated_at = excluded.updated_at \
             RETURNING id",
        );
        Ok(())
    }
}

/// The doors of a batch, one row per door: an upsert that rewrites a stored door only
/// when its spelling or location differs (otherwise the door is only locked, and its
/// `updated_at` stays). Answers the ids of the doors it inserted or rewrote.
const PG_UPSERT_DOORS: &str = "\
INSERT INTO doors AS d (campaign_id, address_key, unit, street, housenumber, postcode, \
                        city, lat, lng, cell, created_at, updated_at) \
SELECT $1, t.address_key, t.unit, t.street, t.housenumber, t.postcode, t.city, \
       t.lat, t.lng, t.cell, $11, $11 \
FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], \
            $8::float8[], $9::float8[], $10::int8[]) \
     AS t(address_key, unit, street, housenumber, postcode, city, lat, lng, cell) \
ON CONFLICT (campaign_id, address_key, unit) DO UPDATE SET \
    street = excluded.street, housenumber = excluded.housenumber, \
    postcode = excluded.postcode, city = excluded.city, lat = excluded.lat, \
    lng = excluded.lng, cell = excluded.cell, updated_at = excluded.updated_at \
WHERE (d.street, d.housenumber, d.postcode, d.city, d.lat, d.lng, d.cell) \
      IS DISTINCT FROM (excluded.street, excluded.housenumber, excluded.postcode, \
                        excluded.city, excluded.lat, excluded.lng, excluded.cell) \
RETURNING d.id, d.address_key, d.unit";

/// The ids of the doors [`PG_UPSERT_DOORS`] left as they were. The look-up is a
/// subquery per door, so it is an index probe whatever the planner expects: a join may
/// be planned as a hash of all the campaign's doors. The upsert locked these doors, so
/// each is found.
const PG_DOOR_IDS: &str = "\
SELECT (SELECT d.id FROM doors d \
         WHERE d.campaign_id = $1 AND d.address_key = t.address_key \
           AND d.unit = t.unit) AS id, \
       t.address_key, t.unit \
FROM unnest($2::text[], $3::text[]) AS t(address_key, unit)";

/// The people of a batch, each with their door's id: an upsert that rewrites a stored
/// person only when a value differs or the file adds a flag (flags are OR'ed with the
/// stored ones). Answers how many people it inserted and how many it wrote in all.
const PG_UPSERT_PEOPLE: &str = "\
WITH up AS ( \
INSERT INTO people AS p (campaign_id, external_id, door_id, first_name, last_name, party, \
                         birth_year, phone, do_not_walk, deceased, moved, support_score, \
                         turnout_score, created_at, updated_at) \
SELECT $1, t.external_id, t.door_id, t.first_name, t.last_name, t.party, t.birth_year, \
       t.phone, t.do_not_walk, t.deceased, t.moved, t.support_score, t.turnout_score, \
       $14, $14 \
FROM unnest($2::text[], $3::int8[], $4::text[], $5::text[], $6::text[], $7::int8[], \
            $8::text[], $9::bool[], $10::bool[], $11::bool[], $12::float8[], \
            $13::float8[]) \
     AS t(external_id, door_id, first_name, last_name, party, birth_year, phone, \
          do_not_walk, deceased, moved, support_score, turnout_score) \
ON CONFLICT (campaign_id, external_id) DO UPDATE SET \
    door_id = excluded.door_id, first_name = excluded.first_name, \
    last_name = excluded.last_name, party = excluded.party, \
    birth_year = excluded.birth_year, phone = COALESCE(excluded.phone, p.phone), \
    do_not_walk = p.do_not_walk OR excluded.do_not_walk, \
    deceased = p.deceased OR excluded.deceased, \
    moved = p.moved OR excluded.moved, \
    support_score = excluded.support_score, turnout_score = excluded.turnout_score, \
    updated_at = excluded.updated_at \
WHERE (p.door_id, p.first_name, p.last_name, p.party, p.birth_year, p.phone, \
       p.support_score, p.turnout_score) \
      IS DISTINCT FROM (excluded.door_id, excluded.first_name, excluded.last_name, \
                        excluded.party, excluded.birth_year, \
                        COALESCE(excluded.phone, p.phone), \
                        excluded.support_score, excluded.turnout_score) \
   OR (excluded.do_not_walk AND NOT p.do_not_walk) \
   OR (excluded.deceased AND NOT p.deceased) \
   OR (excluded.moved AND NOT p.moved) \
RETURNING p.xmax = 0 AS inserted) \
SELECT COUNT(*) FILTER (WHERE inserted) AS created, COUNT(*) AS written FROM up";

#[derive(QueryableByName)]
struct PgDoorId {
    #[diesel(sql_type = Nullable<BigInt>)]
    id: Option<i64>,
    #[diesel(sql_type = Text)]
    address_key: String,
    #[diesel(sql_type = Text)]
    unit: String,
}

#[derive(QueryableByName)]
struct PgCounts {
    #[diesel(sql_type = BigInt)]
    created: i64,
    #[diesel(sql_type = BigInt)]
    written: i64,
}

/// Returns how many people were created.
///
/// Each statement binds one array per column and reads the batch from `unnest` (a
/// handful of parameters however large the batch, one round trip, planned with the real
/// values).
/// A stored row that the file does not change is locked but not rewritten: no new row
/// version, index entries or dead row to vacuum, and its `updated_at` stays. A row came
/// from the INSERT, not the UPDATE, when its `xmax` is 0.
///
/// Measured against this with the import benchmark (two people per door): copying each
/// batch into a TEMP table with binary `COPY` and upserting from there cost more
/// database time than `unnest` (the copy, and the joins back to the staging table). An
/// `INSERT` of the missing keys beside an `UPDATE ... FROM` the staging table for the
/// changed rows (which would not even lock unchanged rows) either looked every key up
/// twice or, done in one statement, was planned as a hash join over all the campaign's
/// people once many rows changed, scanning the table for every batch. `ON CONFLICT`
/// probes the unique index once per row whatever the statistics say, and stays correct
/// when another transaction stores one of the keys meanwhile: it waits for that
/// transaction, then updates the row it stored.
fn pg_upsert(
    c: &mut diesel::PgConnection,
    campaign_id: i64,
    now: NaiveDateTime,
    batch: &[PersonRecord],
    doors: &BatchDoors<'_>,
) -> QueryResult<u64> {
    use diesel::sql_types::{Array, Timestamp};

    let door_rows = || doors.rows.iter().map(|&i| &batch[i]);
    let texts = |f: fn(&PersonRecord) -> &str| door_rows().map(f).collect::<Vec<&str>>();
    let written: Vec<PgDoorId> = diesel::sql_query(PG_UPSERT_DOORS)
        .bind::<BigInt, _>(campaign_id)
        .bind::<Array<Text>, _>(texts(|p| &p.door_key))
        .bind::<Array<Text>, _>(texts(|p| &p.unit_key))
        .bind::<Array<Text>, _>(texts(|p| &p.address.street))
        .bind::<Array<Text>, _>(texts(|p| &p.address.housenumber))
        .bind::<Array<Text>, _>(texts(|p| &p.address.postcode))
        .bind::<Array<Text>, _>(texts(|p| &p.address.city))
        .bind::<Array<Double>, _>(door_rows().map(|p| p.lat).collect::<Vec<f64>>())
        .bind::<Array<Double>, _>(door_rows().map(|p| p.lng).collect::<Vec<f64>>())
        .bind::<Array<BigInt>, _>(door_rows().map(|p| p.cell).collect::<Vec<i64>>())
        .bind::<Timestamp, _>(now)
        .load(c)?;
    // RETURNING promises no order, so each id finds its door by key.
    let mut door_ids: Vec<Option<i64>> = vec![None; doors.rows.len()];
    let place = |door_ids: &mut [Option<i64>], returned: Vec<PgDoorId>| {
        for d in returned {
            if let Some(&slot) = doors.slots.get(&(d.address_key.as_str(), d.unit.as_str())) {
                door_ids[slot] = d.id;
            }
        }
    };
    place(&mut door_ids, written);
    let unchanged: Vec<usize> = (0..door_ids.len())
        .filter(|&slot| door_ids[slot].is_none())
        .collect();
    if !unchanged.is_empty() {
        let keys = |f: fn(&PersonRecord) -> &str| {
            unchanged
                .iter()
                .map(|&slot| f(&batch[doors.rows[slot]]))
                .collect::<Vec<&str>>()
        };
        let looked_up: Vec<PgDoorId> = diesel::sql_query(PG_DOOR_IDS)
            .bind::<BigInt, _>(campaign_id)
            .bind::<Array<Text>, _>(keys(|p| &p.door_key))
            .bind::<Array<Text>, _>(keys(|p| &p.unit_key))
            .load(c)?;
        place(&mut door_ids, looked_up);
    }
    let door_ids = door_ids
        .into_iter()
        .collect::<Option<Vec<i64>>>()
        .ok_or_else(|| broken("a door of the batch came back without its id"))?;

    let column = |f: fn(&PersonRecord) -> &str| batch.iter().map(f).collect::<Vec<&str>>();
    let optional = |f: fn(&PersonRecord) -> Option<&str>| batch.iter().map(f).collect::<Vec<_>>();
    let flags = |f: fn(&PersonRecord) -> bool| batch.iter().map(f).collect::<Vec<bool>>();
    let scores = |f: fn(&PersonRecord) -> Option<f64>| batch.iter().map(f).collect::<Vec<_>>();
    let counts: PgCounts = diesel::sql_query(PG_UPSERT_PEOPLE)
        .bind::<BigInt, _>(campaign_id)
        .bind::<Array<Text>, _>(column(|p| &p.external_id))
        .bind::<Array<BigInt>, _>(
            doors
                .slot_of
                .iter()
                .map(|&s| door_ids[s])
                .collect::<Vec<_>>(),
        )
        .bind::<Array<Text>, _>(column(|p| &p.first_name))
        .bind::<Array<Text>, _>(column(|p| &p.last_name))
        .bind::<Array<Nullable<Text>>, _>(optional(|p| p.party.as_deref()))
        .bind::<Array<Nullable<BigInt>>, _>(batch.iter().map(|p| p.birth_year).collect::<Vec<_>>())
        .bind::<Array<Nullable<Text>>, _>(optional(|p| p.phone.as_deref()))
        .bind::<Array<Bool>, _>(flags(|p| p.do_not_walk))
        .bind::<Array<Bool>, _>(flags(|p| p.deceased))
        .bind::<Array<Bool>, _>(flags(|p| p.moved))
        .bind::<Array<Nullable<Double>>, _>(scores(|p| p.support_score))
        .bind::<Array<Nullable<Double>>, _>(scores(|p| p.turnout_score))
        .bind::<Timestamp, _>(now)
        .get_result(c)?;
    if counts.created > counts.written || counts.written > batch.len() as i64 {
        return Err(broken(
            "the people upsert answered more rows than it was given",
        ));
    }
    Ok(u64::try_from(counts.created).unwrap_or(0))
}

/// An error for a batch the database answered in a way that cannot be (a door without
/// its id): the batch's transaction is rolled back rather than storing a wrong link.
fn broken(what: &'static str) -> diesel::result::Error {
    diesel::result::Error::QueryBuilderError(what.into())
}

/// Runs an import on `conn` with settings made for it, then gives the connection its
/// own settings back (also when `f` fails), as it may go back to a pool.
///
/// SQLite keeps statement journals in memory (`temp_store = MEMORY`). Each multi-row
/// upsert records the pages it changes in a statement journal, so an error can undo that
/// statement alone; past 64 KiB SQLite moves the journal to a temporary file, and
/// writing that file took more than a tenth of the import. The journal is dropped at
/// the end of each statement and plays no part in making a commit durable. (Changing
/// `temp_store` also drops the connection's TEMP tables; the application has none.)
/// PostgreSQL needs nothing.
pub fn with_import_settings<T, E: From<diesel::result::Error>>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E> {
    #[derive(QueryableByName)]
    struct TempStore {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        temp_store: i32,
    }
    let DbConnection::Sqlite(c) = conn else {
        return f(conn);
    };
    let previous = diesel::sql_query("PRAGMA temp_store")
        .get_result::<TempStore>(c)?
        .temp_store;
    c.batch_execute("PRAGMA temp_store = MEMORY")
        .map_err(E::from)?;
    let result = f(conn);
    let restored = conn.batch_execute(&format!("PRAGMA temp_store = {previous}"));
    let value = result?;
    restored?;
    Ok(value)
}

/// A page of the campaign's people, by id.
pub fn list(
    conn: &mut DbConnection,
    campaign_id: i64,
    after: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<Person>> {
    people::table
        .filter(people::campaign_id.eq(campaign_id))
        .filter(people::id.gt(after.unwrap_or(0)))
        .order(people::id)
        .limit(limit)
        .select(Person::as_select())
        .load(conn)
}

/// The door a person lives at, if the person is in the campaign.
pub fn door_of(
    conn: &mut DbConnection,
    campaign_id: i64,
    person_id: i64,
) -> QueryResult<Option<i64>> {
    people::table
        .filter(people::campaign_id.eq(campaign_id))
        .filter(people::id.eq(person_id))
        .select(people::door_id)
        .first(conn)
        .optional()
}

/// One person of the campaign.
pub fn find(conn: &mut DbConnection, campaign_id: i64, id: i64) -> QueryResult<Option<Person>> {
    people::table
        .filter(people::campaign_id.eq(campaign_id))
        .filter(people::id.eq(id))
        .select(Person::as_select())
        .first(conn)
        .optional()
}

/// One door of the campaign.
pub fn door(conn: &mut DbConnection, campaign_id: i64, id: i64) -> QueryResult<Option<Door>> {
    doors::table
        .filter(doors::campaign_id.eq(campaign_id))
        .filter(doors::id.eq(id))
        .select(Door::as_select())
        .first(conn)
        .optional()
}

/// Everyone living at a door, by id.
pub fn at_door(
    conn: &mut DbConnection,
    campaign_id: i64,
    door_id: i64,
) -> QueryResult<Vec<Person>> {
    people::table
        .filter(people::campaign_id.eq(campaign_id))
        .filter(people::door_id.eq(door_id))
        .order(people::id)
        .select(Person::as_select())
        .load(conn)
}

/// What a search looks for: lower-cased prefixes as ranges `[from, to)`.
#[derive(Debug, Clone, Default)]
pub struct Search {
    /// Exactly this external id.
    pub external_id: String,
    /// Last names, and first names, starting with the text.
    pub name: (String, String),
    /// A first name and a last name starting with these (for "anna be").
    pub first_and_last: Option<((String, String), (String, String))>,
    /// Streets starting with the text, and when given the house number exactly.
    pub street: (String, String),
    pub housenumber: Option<String>,
}

/// The ids of the people matching any part of `s`, ascending, at most `cap` + 1 (so the
/// caller can tell there are more). Each part is its own query over its index
/// (`people_*_search`, `doors_street_search`, `people_door`): as one query with `OR`,
/// SQLite walked every person of the campaign in id order (0.9 s for a million).
///
/// Text is folded by lower-casing ASCII letters only, on both stores: SQLite's `lower`
/// does no more, and PostgreSQL's does as much under the "C" collation (which the
/// indexes use too), so both give the same people for the same search.
pub fn search_ids(
    conn: &mut DbConnection,
    campaign_id: i64,
    s: &Search,
    cap: usize,
) -> QueryResult<Vec<i64>> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    let fold = |column: &str| match conn {
        DbConnection::Postgresql(_) => format!("lower({column} COLLATE \"C\")"),
        DbConnection::Sqlite(_) => format!("lower({column})"),
    };
    let limit = cap.saturating_add(1);
    let (last, first, street, number) = (
        fold("last_name"),
        fold("first_name"),
        fold("street"),
        fold("housenumber"),
    );
    let mut ids: Vec<i64> = Vec::new();
    let mut run = |conn: &mut DbConnection, sql: String, params: Vec<Param>| -> QueryResult<()> {
        let rows: Vec<Id> = load_bound(conn, &sql, &params)?;
        ids.extend(rows.into_iter().map(|r| r.id));
        Ok(())
    };
    run(
        conn,
        "SELECT id FROM people WHERE campaign_id = {?} AND external_id = {?}".into(),
        vec![Param::Int(campaign_id), Param::Text(&s.external_id)],
    )?;
    for column in [&last, &first] {
        run(
            conn,
            format!(
                "SELECT id FROM people WHERE campaign_id = {{?}} AND {column} >= {{?}} AND {column} < {{?}} LIMIT {limit}"
            ),
            vec![
                Param::Int(campaign_id),
                Param::Text(&s.name.0),
                Param::Text(&s.name.1),
            ],
        )?;
    }
    if let Some(((f0, f1), (l0, l1))) = &s.first_and_last {
        run(
            conn,
            format!(
                "SELECT id FROM people WHERE campaign_id = {{?}} AND {first} >= {{?}} AND {first} < {{?}}
                    AND {last} >= {{?}} AND {last} < {{?}} LIMIT {limit}"
            ),
            vec![
                Param::Int(campaign_id),
                Param::Text(f0),
                Param::Text(f1),
                Param::Text(l0),
                Param::Text(l1),
            ],
        )?;
    }
    let mut door_sql = format!(
        "SELECT id FROM doors WHERE campaign_id = {{?}} AND {street} >= {{?}} AND {street} < {{?}}"
    );
    let mut door_params = vec![
        Param::Int(campaign_id),
        Param::Text(&s.street.0),
        Param::Text(&s.street.1),
    ];
    if let Some(n) = &s.housenumber {
        door_sql.push_str(&format!(" AND {number} = {{?}}"));
        door_params.push(Param::Text(n));
    }
    door_sql.push_str(&format!(" LIMIT {limit}"));
    let doors: Vec<Id> = load_bound(conn, &door_sql, &door_params)?;
    let door_ids: Vec<i64> = doors.into_iter().map(|d| d.id).collect();
    for chunk in door_ids.chunks(1000) {
        ids.extend(
            people::table
                .filter(people::campaign_id.eq(campaign_id))
                .filter(people::door_id.eq_any(chunk))
                .select(people::id)
                .load::<i64>(conn)?,
        );
    }
    ids.sort_unstable();
    ids.dedup();
    ids.truncate(limit);
    Ok(ids)
}

/// People by id, ascending.
pub fn by_ids(conn: &mut DbConnection, campaign_id: i64, ids: &[i64]) -> QueryResult<Vec<Person>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(1000) {
        out.extend(
            people::table
                .filter(people::campaign_id.eq(campaign_id))
                .filter(people::id.eq_any(chunk))
                .order(people::id)
                .select(Person::as_select())
                .load::<Person>(conn)?,
        );
    }
    out.sort_by_key(|p| p.id);
    Ok(out)
}

/// Changes to a person recorded at the door or by an organizer (`None`: unchanged;
/// `Some(None)` clears a text).
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = people)]
pub struct Details {
    pub phone: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub preferred_language: Option<Option<String>>,
    #[diesel(column_name = do_not_walk)]
    pub do_not_contact: Option<bool>,
    pub moved: Option<bool>,
    pub deceased: Option<bool>,
}

/// Writes `d` to the person in one statement (the caller checked that they exist).
pub fn update_details(
    conn: &mut DbConnection,
    campaign_id: i64,
    id: i64,
    d: &Details,
) -> QueryResult<()> {
    diesel::update(
        people::table
            .filter(people::campaign_id.eq(campaign_id))
            .filter(people::id.eq(id)),
    )
    .set((d, people::updated_at.eq(super::now())))
    .execute(conn)
    .map(|_| ())
}

/// Whether the person is named on a live list the user holds (assigned, or claimed
/// until after `now`).
pub fn on_lists_held_by(
    conn: &mut DbConnection,
    campaign_id: i64,
    person_id: i64,
    user_id: i64,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    use super::schema::{walk_list_assignments, walk_list_people, walk_lists};
    let lists: Vec<i64> = walk_list_people::table
        .inner_join(
            walk_lists::table.on(walk_lists::campaign_id
                .eq(walk_list_people::campaign_id)
                .and(walk_lists::id.eq(walk_list_people::walk_list_id))),
        )
        .filter(walk_list_people::campaign_id.eq(campaign_id))
        .filter(walk_list_people::person_id.eq(person_id))
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
        .load(conn)?;
    Ok(!lists.is_empty())
}

/// Someone added at a door from a knock.
pub struct MetAtDoor<'a> {
    pub external_id: String,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub phone: Option<&'a str>,
}

/// Adds people met at a door (each once: a person already stored with the external id
/// is left as is), and names them on the list there; returns the ids of those added.
pub fn add_at_door(
    conn: &mut DbConnection,
    campaign_id: i64,
    (walk_list_id, door_id): (WalkListId, DoorId),
    met: &[MetAtDoor],
) -> QueryResult<Vec<i64>> {
    let (walk_list_id, door_id) = (walk_list_id.get(), door_id.get());
    use super::schema::walk_list_people;
    let now = super::now();
    let mut added = Vec::new();
    for m in met {
        let ids: Vec<i64> = on_backend!(conn, |c| diesel::insert_into(people::table)
            .values((
                people::campaign_id.eq(campaign_id),
                people::external_id.eq(&m.external_id),
                people::door_id.eq(door_id),
                people::first_name.eq(m.first_name.trim()),
                people::last_name.eq(m.last_name.trim()),
                people::phone.eq(m.phone.map(str::trim)),
                people::do_not_walk.eq(false),
                people::deceased.eq(false),
                people::moved.eq(false),
                people::created_at.eq(now),
                people::updated_at.eq(now),
            ))
            .on_conflict_do_nothing()
            .returning(people::id)
            .get_results(c))?;
        for id in ids {
            on_backend!(conn, |c| diesel::insert_into(walk_list_people::table)
                .values((
                    walk_list_people::campaign_id.eq(campaign_id),
                    walk_list_people::walk_list_id.eq(walk_list_id),
                    walk_list_people::person_id.eq(id),
                    walk_list_people::door_id.eq(door_id),
                ))
                .on_conflict_do_nothing()
                .execute(c))?;
            added.push(id);
        }
    }
    Ok(added)
}
