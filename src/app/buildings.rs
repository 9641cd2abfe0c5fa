//! Buildings: doors that share an address, one per unit. A walk list shows a building
//! as one stop with its units inside, ordered by floor; organizers and the canvassers
//! holding a list with the building set its notes (access, where the entry code is,
//! "doorman").

use chrono::NaiveDateTime;
use serde::Serialize;
use serde_json::json;

use super::{Actor, AppError};
use crate::db::{self, DbConnection, people::Door};
use crate::domain::Role;
use crate::walk;

/// Longest building notes, in characters.
pub const MAX_NOTES: usize = 2000;
/// Most units a building shows.
pub const MAX_UNITS: i64 = 1000;

#[derive(Debug, Serialize)]
pub struct Unit {
    pub door_id: i64,
    pub unit: String,
    pub floor: Option<i32>,
}

#[derive(Debug, Serialize)]
pub struct Building {
    pub street: String,
    pub housenumber: String,
    pub postcode: String,
    pub city: String,
    /// Every door at the address, ground floor first.
    pub units: Vec<Unit>,
    pub notes: Option<String>,
    pub notes_updated_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The door, when the actor may see its building: staff always, a volunteer only for a
/// building with a door on a live list they hold.
fn reachable(
    conn: &mut DbConnection,
    actor: Actor,
    door_id: i64,
    now: NaiveDateTime,
) -> Result<Door, AppError> {
    let door =
        db::people::door(conn, actor.campaign_id, door_id)?.ok_or(AppError::NotFound("door"))?;
    if actor.role >= Role::Organizer
        || db::buildings::on_lists_held_by(
            conn,
            actor.campaign_id,
            &door.address_key,
            actor.user_id,
            now,
        )?
    {
        Ok(door)
    } else {
        Err(AppError::NotFound("door"))
    }
}

/// The building a door is in: its units and its notes.
pub fn of_door(
    conn: &mut DbConnection,
    actor: Actor,
    door_id: i64,
    now: NaiveDateTime,
) -> Result<Building, AppError> {
    let door = reachable(conn, actor, door_id, now)?;
    let mut units: Vec<Unit> =
        db::buildings::units(conn, actor.campaign_id, &door.address_key, MAX_UNITS)?
            .into_iter()
            .map(|d| Unit {
                door_id: d.id,
                floor: walk::floor_of(&d.unit),
                unit: d.unit,
            })
            .collect();
    units.sort_by_cached_key(|u| walk::unit_order(&u.unit));
    let notes = db::buildings::notes(conn, actor.campaign_id, &[door.address_key.as_str()])?
        .remove(&door.address_key);
    Ok(Building {
        street: door.street,
        housenumber: door.housenumber,
        postcode: door.postcode,
        city: door.city,
        units,
        notes_updated_at: notes.as_ref().map(|(_, at)| at.and_utc()),
        notes: notes.map(|(n, _)| n),
    })
}

/// Sets the notes of the building a door is in (empty text removes them), inside the
/// caller's write transaction. Audited.
pub fn set_notes(
    conn: &mut DbConnection,
    actor: Actor,
    door_id: i64,
    notes: &str,
    now: NaiveDateTime,
) -> Result<Building, AppError> {
    let notes = notes.trim();
    if notes.chars().count() > MAX_NOTES {
        return Err(AppError::invalid(
            "notes",
            format!("notes are at most {MAX_NOTES} characters"),
        ));
    }
    let door = reachable(conn, actor, door_id, now)?;
    db::buildings::set_notes(
        conn,
        actor.campaign_id,
        &door.address_key,
        notes,
        actor.user_id,
        now,
    )?;
    actor.audit(
        conn,
        "building.notes",
        ("door", Some(door.id)),
        json!({ "street": door.street, "housenumber": door.housenumber }),
    )?;
    of_door(conn, actor, door_id, now)
}
