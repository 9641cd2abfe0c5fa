//! People and their doors: the voter file as stored, and its import.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::upsert::excluded;

use super::DbConnection;
use super::schema::{doors, people};
use crate::import::row::PersonRecord;

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
}

#[derive(Insertable)]
#[diesel(table_name = doors, treat_none_as_default_value = false)]
struct NewDoor<'a> {
    campaign_id: i64,
    address_key: String,
    unit: String,
    street: &'a str,
    housenumber: &'a str,
    postcode: &'a str,
    city: &'a str,
    lat: f64,
    lng: f64,
    cell: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = people, treat_none_as_default_value = false)]
struct NewPerson<'a> {
    campaign_id: i64,
    external_id: &'a str,
    door_id: i64,
    first_name: &'a str,
    last_name: &'a str,
    party: Option<&'a str>,
    birth_year: Option<i64>,
    phone: Option<&'a str>,
    do_not_walk: bool,
    deceased: bool,
    moved: bool,
    support_score: Option<f64>,
    turnout_score: Option<f64>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// What one batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Upserted {
    pub created: u64,
    pub updated: u64,
}

/// Stores a batch of voter-file people and their doors. People are matched by external
/// id and doors by normalised address and unit, so importing the same file again updates
/// rows and never duplicates one. An external id must appear at most once per batch.
///
/// Flags set in the field (do-not-walk, deceased, moved) are kept when a later file
/// does not carry them: the file can add a flag but never erases what canvassers found.
/// Call inside a transaction.
pub fn upsert_batch(
    conn: &mut DbConnection,
    campaign_id: i64,
    batch: &[PersonRecord],
) -> QueryResult<Upserted> {
    if batch.is_empty() {
        return Ok(Upserted::default());
    }
    let now = super::now();

    // Doors: one row per distinct (address, unit); the last row's location wins.
    let mut door_rows: Vec<NewDoor> = Vec::new();
    let mut door_slot: HashMap<(String, String), usize> = HashMap::new();
    for p in batch {
        let key = (p.address.key(), p.address.unit_key());
        let row = NewDoor {
            campaign_id,
            address_key: key.0.clone(),
            unit: key.1.clone(),
            street: &p.address.street,
            housenumber: &p.address.housenumber,
            postcode: &p.address.postcode,
            city: &p.address.city,
            lat: p.lat,
            lng: p.lng,
            cell: p.cell,
            created_at: now,
            updated_at: now,
        };
        match door_slot.get(&key) {
            Some(&i) => door_rows[i] = row,
            None => {
                door_slot.insert(key, door_rows.len());
                door_rows.push(row);
            }
        }
    }
    on_backend!(conn, |c| diesel::insert_into(doors::table)
        .values(&door_rows)
        .on_conflict((doors::campaign_id, doors::address_key, doors::unit))
        .do_update()
        .set((
            doors::street.eq(excluded(doors::street)),
            doors::housenumber.eq(excluded(doors::housenumber)),
            doors::postcode.eq(excluded(doors::postcode)),
            doors::city.eq(excluded(doors::city)),
            doors::lat.eq(excluded(doors::lat)),
            doors::lng.eq(excluded(doors::lng)),
            doors::cell.eq(excluded(doors::cell)),
            doors::updated_at.eq(excluded(doors::updated_at)),
        ))
        .execute(c))?;
    let keys: Vec<&str> = door_rows.iter().map(|d| d.address_key.as_str()).collect();
    let door_ids: HashMap<(String, String), i64> = doors::table
        .filter(doors::campaign_id.eq(campaign_id))
        .filter(doors::address_key.eq_any(&keys))
        .select((doors::address_key, doors::unit, doors::id))
        .load::<(String, String, i64)>(conn)?
        .into_iter()
        .map(|(k, u, id)| ((k, u), id))
        .collect();

    let ids: Vec<&str> = batch.iter().map(|p| p.external_id.as_str()).collect();
    let existing: HashSet<String> = people::table
        .filter(people::campaign_id.eq(campaign_id))
        .filter(people::external_id.eq_any(&ids))
        .select(people::external_id)
        .load::<String>(conn)?
        .into_iter()
        .collect();

    let mut rows = Vec::with_capacity(batch.len());
    for p in batch {
        let key = (p.address.key(), p.address.unit_key());
        let Some(&door_id) = door_ids.get(&key) else {
            return Err(diesel::result::Error::NotFound);
        };
        rows.push(NewPerson {
            campaign_id,
            external_id: &p.external_id,
            door_id,
            first_name: &p.first_name,
            last_name: &p.last_name,
            party: p.party.as_deref(),
            birth_year: p.birth_year,
            phone: p.phone.as_deref(),
            do_not_walk: p.do_not_walk,
            deceased: p.deceased,
            moved: p.moved,
            support_score: p.support_score,
            turnout_score: p.turnout_score,
            created_at: now,
            updated_at: now,
        });
    }
    on_backend!(conn, |c| diesel::insert_into(people::table)
        .values(&rows)
        .on_conflict((people::campaign_id, people::external_id))
        .do_update()
        .set((
            people::door_id.eq(excluded(people::door_id)),
            people::first_name.eq(excluded(people::first_name)),
            people::last_name.eq(excluded(people::last_name)),
            people::party.eq(excluded(people::party)),
            people::birth_year.eq(excluded(people::birth_year)),
            people::phone.eq(excluded(people::phone)),
            people::do_not_walk.eq(people::do_not_walk.or(excluded(people::do_not_walk))),
            people::deceased.eq(people::deceased.or(excluded(people::deceased))),
            people::moved.eq(people::moved.or(excluded(people::moved))),
            people::support_score.eq(excluded(people::support_score)),
            people::turnout_score.eq(excluded(people::turnout_score)),
            people::updated_at.eq(excluded(people::updated_at)),
        ))
        .execute(c))?;
    let updated = existing.len() as u64;
    Ok(Upserted {
        created: batch.len() as u64 - updated,
        updated,
    })
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
