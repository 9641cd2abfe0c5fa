//! What the exports back to the voter file read: the campaign's external codes, pages
//! of people with their doors, and for a page the latest support ID, last result and
//! residents, each one query per thousand ids.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::people::Person;
use super::schema::{doors, export_codes, knock_answers, knocks, people};
use super::values::Param;
use crate::export::{CodeKind, Codes};

const CHUNK: usize = 1000;

/// The campaign's codes.
pub fn codes(conn: &mut DbConnection, campaign_id: i64) -> QueryResult<Codes> {
    let rows: Vec<(String, String, String)> = export_codes::table
        .filter(export_codes::campaign_id.eq(campaign_id))
        .order((export_codes::kind, export_codes::local_key))
        .select((
            export_codes::kind,
            export_codes::local_key,
            export_codes::code,
        ))
        .load(conn)?;
    Ok(Codes(
        rows.into_iter()
            .filter_map(|(kind, key, code)| Some(((CodeKind::parse(&kind)?, key), code)))
            .collect(),
    ))
}

/// Replaces the campaign's codes with `codes`, inside the caller's transaction.
pub fn replace_codes(conn: &mut DbConnection, campaign_id: i64, codes: &Codes) -> QueryResult<()> {
    diesel::delete(export_codes::table.filter(export_codes::campaign_id.eq(campaign_id)))
        .execute(conn)?;
    super::values::update_from_values(
        conn,
        "INSERT INTO export_codes (campaign_id, kind, local_key, code) VALUES {values}",
        (campaign_id, super::now()),
        codes.0.iter().map(|((kind, key), code)| {
            vec![
                Param::Int(campaign_id),
                Param::Text(kind.as_str()),
                Param::Text(key),
                Param::Text(code),
            ]
        }),
    )?;
    Ok(())
}

/// A person with the address and position of their door, as the voter file has them.
#[derive(Debug, Clone)]
pub struct PersonAtDoor {
    pub person: Person,
    pub street: String,
    pub housenumber: String,
    pub unit: String,
    pub postcode: String,
    pub city: String,
    pub lat: f64,
    pub lng: f64,
    pub cell: i64,
}

/// A door's street, number, unit, postcode, city, latitude, longitude and cell.
type DoorColumns = (String, String, String, String, String, f64, f64, i64);

/// A page of the campaign's people by id, with their doors.
pub fn people_page(
    conn: &mut DbConnection,
    campaign_id: i64,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<PersonAtDoor>> {
    let rows: Vec<(Person, DoorColumns)> = people::table
        .inner_join(
            doors::table.on(doors::campaign_id
                .eq(people::campaign_id)
                .and(doors::id.eq(people::door_id))),
        )
        .filter(people::campaign_id.eq(campaign_id))
        .filter(people::id.gt(after))
        .order(people::id)
        .limit(limit)
        .select((
            Person::as_select(),
            (
                doors::street,
                doors::housenumber,
                doors::unit,
                doors::postcode,
                doors::city,
                doors::lat,
                doors::lng,
                doors::cell,
            ),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(person, (street, housenumber, unit, postcode, city, lat, lng, cell))| PersonAtDoor {
                person,
                street,
                housenumber,
                unit,
                postcode,
                city,
                lat,
                lng,
                cell,
            },
        )
        .collect())
}

/// Each person's latest support ID and when it was given.
pub fn latest_support_ids(
    conn: &mut DbConnection,
    campaign_id: i64,
    person_ids: &[i64],
) -> QueryResult<HashMap<i64, (String, NaiveDateTime)>> {
    let mut out: HashMap<i64, (String, NaiveDateTime)> = HashMap::new();
    for chunk in person_ids.chunks(CHUNK) {
        let rows: Vec<(i64, String, NaiveDateTime, i64)> = knock_answers::table
            .inner_join(
                knocks::table.on(knocks::campaign_id
                    .eq(knock_answers::campaign_id)
                    .and(knocks::id.eq(knock_answers::knock_id))),
            )
            .filter(knock_answers::campaign_id.eq(campaign_id))
            .filter(knock_answers::person_id.eq_any(chunk))
            .filter(knock_answers::question_key.eq(crate::knock::SUPPORT_ID))
            .select((
                knock_answers::person_id,
                knock_answers::answer,
                knocks::knocked_at,
                knocks::id,
            ))
            .load(conn)?;
        let mut latest: HashMap<i64, (NaiveDateTime, i64, String)> = HashMap::new();
        for (person, answer, at, id) in rows {
            let entry = latest.entry(person).or_insert((at, id, answer.clone()));
            if (at, id) > (entry.0, entry.1) {
                *entry = (at, id, answer);
            }
        }
        out.extend(latest.into_iter().map(|(p, (at, _, a))| (p, (a, at))));
    }
    Ok(out)
}

/// Each door's latest knock: its result and when.
pub fn last_results(
    conn: &mut DbConnection,
    campaign_id: i64,
    door_ids: &[i64],
) -> QueryResult<HashMap<i64, (String, NaiveDateTime)>> {
    let mut out: HashMap<i64, (NaiveDateTime, i64, String)> = HashMap::new();
    for chunk in door_ids.chunks(CHUNK) {
        let rows: Vec<(i64, String, NaiveDateTime, i64)> = knocks::table
            .filter(knocks::campaign_id.eq(campaign_id))
            .filter(knocks::door_id.eq_any(chunk))
            .select((
                knocks::door_id,
                knocks::result,
                knocks::knocked_at,
                knocks::id,
            ))
            .load(conn)?;
        for (door, result, at, id) in rows {
            let entry = out.entry(door).or_insert((at, id, result.clone()));
            if (at, id) > (entry.0, entry.1) {
                *entry = (at, id, result);
            }
        }
    }
    Ok(out
        .into_iter()
        .map(|(d, (at, _, result))| (d, (result, at)))
        .collect())
}

/// The people living at each door, by id, with their external ids.
pub fn residents(
    conn: &mut DbConnection,
    campaign_id: i64,
    door_ids: &[i64],
) -> QueryResult<BTreeMap<i64, Vec<(i64, String)>>> {
    let mut out: BTreeMap<i64, Vec<(i64, String)>> = BTreeMap::new();
    for chunk in door_ids.chunks(CHUNK) {
        let rows: Vec<(i64, i64, String)> = people::table
            .filter(people::campaign_id.eq(campaign_id))
            .filter(people::door_id.eq_any(chunk))
            .order(people::id)
            .select((people::door_id, people::id, people::external_id))
            .load(conn)?;
        for (door, id, external) in rows {
            out.entry(door).or_default().push((id, external));
        }
    }
    Ok(out)
}

/// External ids of people by id.
pub fn external_ids(
    conn: &mut DbConnection,
    campaign_id: i64,
    person_ids: &[i64],
) -> QueryResult<HashMap<i64, String>> {
    let mut out = HashMap::new();
    for chunk in person_ids.chunks(CHUNK) {
        let rows: Vec<(i64, String)> = people::table
            .filter(people::campaign_id.eq(campaign_id))
            .filter(people::id.eq_any(chunk))
            .select((people::id, people::external_id))
            .load(conn)?;
        out.extend(rows);
    }
    Ok(out)
}
