//! A walk list's lifecycle after it is built: closing it early, deleting one built by
//! mistake, and recycling the doors a list left unfinished into a new routed list.

use chrono::NaiveDateTime;
use serde_json::{Value, json};

use super::{Actor, AppError};
use crate::db::walk_lists::{NewList, NewStop, WalkList};
use crate::db::{self, DbConnection};
use crate::push::notify::{self, Event};
use crate::spatial::cells;
use crate::walk::{self, PlanDoor, PlannedList, Status};

fn conflict(message: String) -> AppError {
    AppError::Conflict {
        message,
        details: Value::Null,
    }
}

fn find(conn: &mut DbConnection, actor: Actor, id: i64) -> Result<WalkList, AppError> {
    db::walk_lists::get(conn, actor.campaign_id, id)?.ok_or(AppError::NotFound("walk list"))
}

/// Everyone holding the list now: its assignees and an unexpired claim's holder.
fn holders(
    conn: &mut DbConnection,
    list: &WalkList,
    now: NaiveDateTime,
) -> Result<Vec<i64>, AppError> {
    let mut users = db::walk_lists::assignees(conn, list.campaign_id, list.id)?;
    if let Some(claimer) = list
        .claimed_by
        .filter(|_| list.list_state().claim_active(now))
        && !users.contains(&claimer)
    {
        users.push(claimer);
    }
    Ok(users)
}

fn audit(
    conn: &mut DbConnection,
    actor: Actor,
    action: &'static str,
    id: i64,
    details: Value,
) -> Result<(), AppError> {
    db::audit::record(
        conn,
        db::audit::Change {
            campaign_id: actor.campaign_id,
            actor_id: Some(actor.user_id),
            action,
            target_type: "walk_list",
            target_id: Some(id),
            details,
        },
    )?;
    Ok(())
}

/// Closes a live list before it is done: its doors go back to the pool and its holders
/// are told. Inside the caller's write transaction; audited.
pub fn close(
    conn: &mut DbConnection,
    actor: Actor,
    id: i64,
    now: NaiveDateTime,
) -> Result<WalkList, AppError> {
    let list = find(conn, actor, id)?;
    match list.list_state().status(now) {
        Status::Closed => return Err(conflict(format!("walk list {id} is already closed"))),
        Status::Done => return Err(conflict(format!("walk list {id} is done"))),
        Status::Expired => return Err(conflict(format!("walk list {id} has expired"))),
        _ => {}
    }
    let told = holders(conn, &list, now)?;
    if !db::walk_lists::close(conn, actor.campaign_id, id, now)? {
        return Err(conflict(format!("walk list {id} is no longer active")));
    }
    let closed = find(conn, actor, id)?;
    notify::walk_list_event(conn, &closed, Event::Closed, &told)?;
    audit(
        conn,
        actor,
        "walk_list.close",
        id,
        json!({ "finished_doors": closed.finished_doors, "door_count": closed.door_count }),
    )?;
    Ok(closed)
}

/// Deletes a list nobody has knocked on (a wrong build); its holders are told. A list
/// with knocks keeps its history: close it instead (409). Audited.
pub fn delete(
    conn: &mut DbConnection,
    actor: Actor,
    id: i64,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let list = find(conn, actor, id)?;
    if db::knocks::any_on_list(conn, actor.campaign_id, id)? {
        return Err(conflict(format!(
            "walk list {id} has knocks; close it instead, which keeps them"
        )));
    }
    let told = holders(conn, &list, now)?;
    notify::walk_list_event(conn, &list, Event::Deleted, &told)?;
    db::walk_lists::delete(conn, actor.campaign_id, id)?;
    audit(
        conn,
        actor,
        "walk_list.delete",
        id,
        json!({ "name": list.name, "turf_id": list.turf_id, "door_count": list.door_count }),
    )?;
    Ok(())
}

/// What recycling a list starts from, read outside any transaction.
pub struct RecycleInput {
    pub list: WalkList,
    pub doors: Vec<PlanDoor>,
    pub cells9: Vec<i64>,
}

/// Reads the unfinished doors of a list to recycle (409 when none is left, or the list
/// is done).
pub fn recycle_input(
    conn: &mut DbConnection,
    actor: Actor,
    id: i64,
) -> Result<RecycleInput, AppError> {
    let list = find(conn, actor, id)?;
    let unfinished = db::walk_lists::unfinished(conn, actor.campaign_id, id)?;
    let unfinished: Vec<_> = unfinished
        .into_iter()
        .filter(|(_, people)| !people.is_empty())
        .collect();
    if unfinished.is_empty() {
        return Err(conflict(format!(
            "walk list {id} has no unfinished door with someone to ask for"
        )));
    }
    let cells9 = unfinished
        .iter()
        .map(|(d, _)| {
            cells::from_db(d.cell)
                .and_then(|c| c.parent(walk::NEARBY_RESOLUTION))
                .map_or(0, cells::to_db)
        })
        .collect();
    let doors = unfinished
        .into_iter()
        .map(|(d, people)| PlanDoor {
            door_id: d.id,
            lat: d.lat,
            lng: d.lng,
            street: d.street,
            housenumber: d.housenumber,
            people,
        })
        .collect();
    Ok(RecycleInput {
        list,
        doors,
        cells9,
    })
}

/// Stores the recycled list planned from `input`: the old list is closed (if it still
/// runs) and a new one of its unfinished doors, in walking order, takes them. Inside
/// the caller's write transaction; `None` when one of the doors went onto another live
/// list meanwhile (plan again). Audited.
pub fn store_recycled(
    conn: &mut DbConnection,
    actor: Actor,
    input: &RecycleInput,
    planned: &PlannedList,
    (now, expires_at): (NaiveDateTime, NaiveDateTime),
) -> Result<Option<WalkList>, AppError> {
    db::lock_campaign(conn, db::CampaignLock::WalkLists, actor.campaign_id)?;
    let old = find(conn, actor, input.list.id)?;
    if old.version != input.list.version {
        return Ok(None);
    }
    if old.list_state().status(now) == Status::Done {
        return Err(conflict(format!("walk list {} is done", old.id)));
    }
    if db::walk_lists::close(conn, actor.campaign_id, old.id, now)? {
        let told = holders(conn, &old, now)?;
        let closed = find(conn, actor, old.id)?;
        notify::walk_list_event(conn, &closed, Event::Closed, &told)?;
    }
    let door_ids: Vec<i64> = input.doors.iter().map(|d| d.door_id).collect();
    if db::walk_lists::any_live(conn, actor.campaign_id, &door_ids)? {
        return Ok(None);
    }
    let stops: Vec<NewStop> = planned
        .doors
        .iter()
        .map(|&k| NewStop {
            door_id: input.doors[k].door_id,
            people: input.doors[k].people.clone(),
            cell9: input.cells9[k],
        })
        .collect();
    let name = format!("{} (again)", old.name);
    let list = db::walk_lists::create(
        conn,
        actor.campaign_id,
        &NewList {
            turf_id: old.turf_id,
            name: name.chars().take(200).collect::<String>().as_str(),
            universe: &old.universe,
            start: planned.start,
            distance_m: planned.distance_m,
            walking_seconds: planned.walking_seconds,
            expires_at,
            created_by: Some(actor.user_id),
            stops,
        },
    )?;
    audit(
        conn,
        actor,
        "walk_list.recycle",
        old.id,
        json!({ "new_walk_list_id": list.id, "doors": list.door_count }),
    )?;
    Ok(Some(list))
}
