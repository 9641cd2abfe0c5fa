//! Walk lists: building them from a turf and a universe, reading one (who may) and
//! finding open ones nearby, assigning and claiming them, moving doors between them, and
//! a list's lifecycle after it is built: closing it early, deleting one built by
//! mistake, and recycling the doors a list left unfinished into a new routed list.
//!
//! Building and recycling route doors, which takes CPU time, so they come in steps: a
//! check of the request, a read ([`candidates`], [`recycle_input`]), a pure step the
//! caller runs on `crate::lanes` outside any transaction ([`plan`]), and a store step
//! inside the caller's write transaction ([`store_built`], [`store_recycled`]) that
//! answers `None` when a door was taken meanwhile (plan again).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::NaiveDateTime;
use h3o::{CellIndex, LatLng};
use serde_json::{Value, json};

use super::{Actor, AppError};
use crate::db::experiments::Script;
use crate::db::people::{Door, Person};
use crate::db::walk_lists::{NewList, NewStop, StopProgress, WalkList};
use crate::db::{self, DbConnection, DbPool};
use crate::domain::{DisplayName, Role};
use crate::lanes;
use crate::push::notify::{self, Event};
use crate::routing::{self, RouteParams};
use crate::spatial::{cells, tiling};
use crate::walk::{self, NEARBY_RESOLUTION, PlanDoor, PlannedList, Status, Universe};

/// Most doors one request may put on lists (all its lists together).
pub const MAX_DOORS_PER_REQUEST: usize = 5000;
/// Most doors on one list, and the default.
pub const MAX_DOORS_PER_LIST: u32 = 500;
pub const DEFAULT_DOORS_PER_LIST: u32 = 150;
/// Widest "near me" search, in metres.
pub const MAX_NEARBY_RADIUS_M: f64 = 5000.0;
/// Most lists one volunteer may hold by claim at once.
pub const MAX_CLAIMS_PER_USER: i64 = 3;
/// Most doors moved in one request.
pub const MAX_DOORS_MOVED: usize = 500;

/// The campaign's walk list with this id (not found also for another campaign's list).
pub fn find(conn: &mut DbConnection, actor: Actor, id: i64) -> Result<WalkList, AppError> {
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
    actor.audit(conn, action, ("walk_list", Some(id)), details)
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
        Status::Closed => {
            return Err(AppError::conflict(format!(
                "walk list {id} is already closed"
            )));
        }
        Status::Done => return Err(AppError::conflict(format!("walk list {id} is done"))),
        Status::Expired => return Err(AppError::conflict(format!("walk list {id} has expired"))),
        _ => {}
    }
    let told = holders(conn, &list, now)?;
    if !db::walk_lists::close(conn, actor.campaign_id, id, now)? {
        return Err(AppError::conflict(format!(
            "walk list {id} is no longer active"
        )));
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
    // The row lock waits for a knock batch storing knocks on this list right now, so
    // the check below sees them.
    db::walk_lists::lock_for_delete(conn, actor.campaign_id, id)?;
    if db::knocks::any_on_list(conn, actor.campaign_id, id)? {
        return Err(AppError::conflict(format!(
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

/// Recycles a list: its unfinished doors become a new list, routed again outside any
/// transaction, and the old one is closed; read, route and store are tried again (three
/// times at most) when a door was taken meanwhile. Answers the new list with its
/// assignees. The caller wakes the push worker: the old list's holders are told.
pub async fn recycle(
    pool: &DbPool,
    actor: Actor,
    id: i64,
    ttl: chrono::Duration,
) -> Result<(WalkList, Vec<i64>), AppError> {
    for _attempt in 0..3 {
        let input = db::run(pool, move |conn| recycle_input(conn, actor, id)).await?;
        let (input, mut planned) = lanes::compute(move || {
            let start = (input.list.start_lat, input.list.start_lng);
            let all = input.doors.len();
            let planned = walk::plan(&input.doors, start, all, &RouteParams::default());
            (input, planned)
        })
        .await?;
        let Some(route) = planned.pop() else {
            return Err(AppError::Internal(anyhow::anyhow!("a route of no list")));
        };
        let now = db::now();
        let stored = db::transaction(pool, move |conn| {
            let Some(list) = store_recycled(conn, actor, &input, &route, (now, now + ttl))? else {
                return Ok(None);
            };
            let assignees = db::walk_lists::assignees(conn, actor.campaign_id, list.id)?;
            Ok::<_, AppError>(Some((list, assignees)))
        })
        .await?;
        if let Some(recycled) = stored {
            db::refresh_statistics_soon(pool);
            return Ok(recycled);
        }
    }
    Err(AppError::conflict(
        "the list kept changing while it was recycled; try again",
    ))
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
    // Doors another live list holds now (the list expired and new lists took them)
    // are that list's to knock.
    let ids: Vec<i64> = unfinished.iter().map(|(d, _)| d.id).collect();
    let elsewhere = db::walk_lists::live_elsewhere(conn, actor.campaign_id, &ids, id)?;
    let unfinished: Vec<_> = unfinished
        .into_iter()
        .filter(|(d, people)| !people.is_empty() && !elsewhere.contains(&d.id))
        .collect();
    if unfinished.is_empty() {
        return Err(AppError::conflict(format!(
            "walk list {id} has no unfinished door with someone to ask for"
        )));
    }
    let cells9 = unfinished.iter().map(|(d, _)| cell9(d.cell)).collect();
    let doors = unfinished
        .into_iter()
        .map(|(d, people)| PlanDoor {
            people,
            ..plan_door(d)
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
        return Err(AppError::conflict(format!("walk list {} is done", old.id)));
    }
    let door_ids: Vec<i64> = input.doors.iter().map(|d| d.door_id).collect();
    if !db::walk_lists::live_elsewhere(conn, actor.campaign_id, &door_ids, old.id)?.is_empty() {
        return Ok(None);
    }
    if db::walk_lists::close(conn, actor.campaign_id, old.id, now)? {
        let told = holders(conn, &old, now)?;
        let closed = find(conn, actor, old.id)?;
        notify::walk_list_event(conn, &closed, Event::Closed, &told)?;
    }
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

/// A live list, or 409 saying why it cannot change any more.
fn require_live(list: &WalkList, now: NaiveDateTime) -> Result<(), AppError> {
    match list.list_state().status(now) {
        Status::Expired => Err(AppError::conflict(format!(
            "walk list {} has expired",
            list.id
        ))),
        Status::Done => Err(AppError::conflict(format!("walk list {} is done", list.id))),
        Status::Closed => Err(AppError::conflict(format!(
            "walk list {} was closed",
            list.id
        ))),
        _ => Ok(()),
    }
}

/// A point on the globe, or invalid naming `field`.
pub fn check_point(field: &str, lat: f64, lng: f64) -> Result<LatLng, AppError> {
    let in_range = (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lng);
    LatLng::new(lat, lng)
        .ok()
        .filter(|_| in_range)
        .ok_or_else(|| AppError::invalid(field, "lat must be within ±90 and lng within ±180"))
}

/// The resolution-9 cell of a door's cell, as stored with its stop (0 when it has none).
fn cell9(cell: i64) -> i64 {
    cells::parent_of(cell, u8::from(NEARBY_RESOLUTION)).unwrap_or(0)
}

/// Lists to build, as asked for.
pub struct BuildRequest {
    pub turf_id: i64,
    pub universe: Universe,
    pub max_doors: Option<u32>,
    pub start: Option<(f64, f64)>,
    pub name: Option<String>,
}

/// A checked request to build lists.
pub struct Build {
    turf_id: i64,
    universe: Universe,
    universe_json: String,
    max_doors: u32,
    start: Option<(f64, f64)>,
    name: Option<String>,
}

/// Checks the universe, the list size, the start and the name of lists to build.
pub fn check_build(req: BuildRequest) -> Result<Build, AppError> {
    req.universe.validate().map_err(AppError::from)?;
    let max_doors = req.max_doors.unwrap_or(DEFAULT_DOORS_PER_LIST);
    if !(1..=MAX_DOORS_PER_LIST).contains(&max_doors) {
        return Err(AppError::invalid(
            "max_doors",
            format!("max_doors is between 1 and {MAX_DOORS_PER_LIST}"),
        ));
    }
    if let Some((lat, lng)) = req.start {
        check_point("start", lat, lng)?;
    }
    let name = match &req.name {
        Some(n) => Some(
            DisplayName::parse("name", n)
                .map_err(AppError::from)?
                .as_str()
                .to_owned(),
        ),
        None => None,
    };
    let universe_json = serde_json::to_string(&req.universe)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("universe does not serialise: {e}")))?;
    Ok(Build {
        turf_id: req.turf_id,
        universe: req.universe,
        universe_json,
        max_doors,
        start: req.start,
        name,
    })
}

/// Everything needed to plan lists, read outside any transaction.
pub struct Candidates {
    turf: db::turfs::Turf,
    turf_cells: Vec<CellIndex>,
    doors: Vec<PlanDoor>,
    door_cells: Vec<i64>,
    taken: i64,
}

impl Candidates {
    /// The turf's doors already on other live lists.
    pub fn taken(&self) -> i64 {
        self.taken
    }
}

/// Reads the turf's free doors with the universe's people at each (by their effective
/// scores at `now`). Invalid when the turf is not the campaign's, when no door is left,
/// or when more doors match than one request may put on lists.
pub fn candidates(
    conn: &mut DbConnection,
    actor: Actor,
    build: &Build,
    now: NaiveDateTime,
) -> Result<Candidates, AppError> {
    let (campaign_id, turf_id) = (actor.campaign_id, build.turf_id);
    let turf = db::turfs::get(conn, campaign_id, turf_id)?
        .ok_or_else(|| AppError::invalid("turf_id", "turf_id is not a turf of this campaign"))?;
    let turf_cells = db::turfs::cells_of(conn, campaign_id, turf_id)?;
    let mut doors = Vec::new();
    let mut door_cells = Vec::new();
    let mut free = db::walk_lists::free_doors_of_turf(conn, campaign_id, turf_id)?;
    // Doors finished, refused or hostile in this pass stay off its lists.
    let pass = build.universe.pass();
    let mut history: HashMap<i64, Vec<(bool, Option<String>)>> = HashMap::new();
    for (door, universe, finished, last) in
        db::walk_lists::turf_stop_history(conn, campaign_id, turf_id)?
    {
        let list_pass = serde_json::from_str::<walk::Universe>(&universe)
            .map(|u| u.pass().to_owned())
            .unwrap_or_else(|_| walk::FIRST_PASS.to_owned());
        if list_pass == pass {
            history.entry(door).or_default().push((finished, last));
        }
    }
    free.retain(|(door, _)| {
        history.get(&door.id).is_none_or(|h| {
            walk::Universe::door_open_in_pass(h.iter().map(|(f, l)| (*f, l.as_deref())))
        })
    });
    let everyone: Vec<(i64, Option<f64>, i64)> = free
        .iter()
        .flat_map(|(door, people)| people.iter().map(|p| (p.id, p.support_score, door.cell)))
        .collect();
    let scores = db::scores::effective(conn, campaign_id, &everyone)?;
    let ids: Vec<i64> = everyone.iter().map(|e| e.0).collect();
    let support_ids: HashMap<i64, u8> = if build.universe.support_ids.is_some() {
        db::exports::latest_support_ids(conn, campaign_id, &ids)?
            .into_iter()
            .filter_map(|(p, (answer, _))| Some((p, answer.trim().parse::<u8>().ok()?)))
            .collect()
    } else {
        HashMap::new()
    };
    let tags = if build.universe.tags.is_some() || build.universe.without_tags.is_some() {
        db::tags::of_people(conn, campaign_id, &ids)?
    } else {
        std::collections::BTreeMap::new()
    };
    for (door, people) in free {
        let admitted: Vec<i64> = people
            .iter()
            .filter(|p| {
                build.universe.admits(
                    &walk::Candidate {
                        support_score: scores.get(&p.id).copied(),
                        turnout_score: p.turnout_score,
                        party: p.party.as_deref(),
                        birth_year: p.birth_year,
                        last_contact_at: p.last_contact_at,
                        do_not_walk: p.do_not_walk,
                        deceased: p.deceased,
                        moved: p.moved,
                        door_do_not_walk: door.do_not_walk,
                        latest_support_id: support_ids.get(&p.id).copied(),
                        tags: tags.get(&p.id).map_or(&[][..], Vec::as_slice),
                    },
                    now,
                )
            })
            .map(|p| p.id)
            .collect();
        if admitted.is_empty() {
            continue;
        }
        door_cells.push(cell9(door.cell));
        doors.push(PlanDoor {
            door_id: door.id,
            lat: door.lat,
            lng: door.lng,
            street: door.street,
            housenumber: door.housenumber,
            building: door.address_key,
            unit: door.unit,
            people: admitted,
        });
    }
    let taken = db::walk_lists::doors_taken_in_turf(conn, campaign_id, turf_id)?;
    if doors.is_empty() {
        return Err(AppError::invalid(
            "universe",
            format!(
                "no free door of turf {} has anyone in this universe ({} of its doors are on other live lists)",
                turf.id, taken
            ),
        ));
    }
    if doors.len() > MAX_DOORS_PER_REQUEST {
        return Err(AppError::invalid(
            "universe",
            format!(
                "{} doors match; at most {MAX_DOORS_PER_REQUEST} doors go on lists in one request; narrow the universe or cut the turf smaller",
                doors.len()
            ),
        ));
    }
    Ok(Candidates {
        turf,
        turf_cells,
        doors,
        door_cells,
        taken,
    })
}

/// Lists routed from the candidates, to store.
pub struct Planned {
    candidates: Candidates,
    lists: Vec<PlannedList>,
}

/// Routes the candidates into lists of at most the asked number of doors, from the
/// asked start, else the turf's default start, else the first door (pure CPU work: run
/// it outside any transaction).
pub fn plan(c: Candidates, build: &Build) -> Planned {
    let start = build
        .start
        .or_else(|| walk::default_start(&tiling::outline(&c.turf_cells)))
        .unwrap_or((c.doors[0].lat, c.doors[0].lng));
    let lists = walk::plan(
        &c.doors,
        start,
        build.max_doors as usize,
        &RouteParams::default(),
    );
    Planned {
        candidates: c,
        lists,
    }
}

/// Lists built from a turf, and how many of its doors other live lists hold.
pub struct Built {
    pub lists: Vec<WalkList>,
    pub taken: i64,
}

/// Builds walk lists from a turf: reads the candidate doors, plans the lists outside
/// any transaction, and stores them; tried again (three times at most) when another
/// list took one of the doors meanwhile.
pub async fn build(
    pool: &DbPool,
    actor: Actor,
    req: BuildRequest,
    ttl: chrono::Duration,
) -> Result<Built, AppError> {
    let build = Arc::new(check_build(req)?);
    for _attempt in 0..3 {
        let now = db::now();
        let b = build.clone();
        let c = db::run(pool, move |conn| candidates(conn, actor, &b, now)).await?;
        let taken = c.taken();
        let b = build.clone();
        let planned = lanes::compute(move || plan(c, &b)).await?;
        let b = build.clone();
        let stored = db::transaction(pool, move |conn| {
            store_built(conn, actor, &b, planned, now + ttl)
        })
        .await?;
        if let Some(lists) = stored {
            db::refresh_statistics_soon(pool);
            return Ok(Built { lists, taken });
        }
    }
    Err(AppError::conflict(
        "other walk lists kept taking this turf's doors; try again",
    ))
}

/// Stores the planned lists under the campaign's walk-list lock, inside the caller's
/// write transaction; `None` when one of the doors went onto another live list
/// meanwhile (read and plan again). Audited.
pub fn store_built(
    conn: &mut DbConnection,
    actor: Actor,
    build: &Build,
    planned: Planned,
    expires_at: NaiveDateTime,
) -> Result<Option<Vec<WalkList>>, AppError> {
    let Planned {
        candidates: c,
        lists,
    } = planned;
    db::lock_campaign(conn, db::CampaignLock::WalkLists, actor.campaign_id)?;
    let door_ids: Vec<i64> = c.doors.iter().map(|d| d.door_id).collect();
    if db::walk_lists::any_live(conn, actor.campaign_id, &door_ids)? {
        return Ok(None);
    }
    let base = build.name.clone().unwrap_or_else(|| c.turf.name.clone());
    let total = lists.len();
    let mut out = Vec::with_capacity(total);
    for (i, planned) in lists.into_iter().enumerate() {
        let list_name = if total == 1 {
            base.clone()
        } else {
            format!("{base} {}/{total}", i + 1)
        };
        let stops: Vec<NewStop> = planned
            .doors
            .iter()
            .map(|&k| NewStop {
                door_id: c.doors[k].door_id,
                people: c.doors[k].people.clone(),
                cell9: c.door_cells[k],
            })
            .collect();
        let list = db::walk_lists::create(
            conn,
            actor.campaign_id,
            &NewList {
                turf_id: build.turf_id,
                name: &list_name,
                universe: &build.universe_json,
                start: planned.start,
                distance_m: planned.distance_m,
                walking_seconds: planned.walking_seconds,
                expires_at,
                created_by: Some(actor.user_id),
                stops,
            },
        )?;
        out.push(list);
    }
    actor.audit(
        conn,
        "walk_list.create",
        ("turf", Some(build.turf_id)),
        json!({ "walk_lists": out.iter().map(|l| l.id).collect::<Vec<_>>() }),
    )?;
    Ok(Some(out))
}

/// The list, if the caller may read it: organizers and above read every list of their
/// campaign; a volunteer only lists assigned to them or claimed by them. Anything else
/// is not found, so a volunteer cannot probe which lists exist.
pub fn readable(
    conn: &mut DbConnection,
    actor: Actor,
    id: i64,
    now: NaiveDateTime,
) -> Result<WalkList, AppError> {
    let list = find(conn, actor, id)?;
    if actor.role >= Role::Organizer
        || list.claimed_by_now(actor.user_id, now)
        || db::walk_lists::is_assigned(conn, actor.campaign_id, id, actor.user_id)?
    {
        Ok(list)
    } else {
        Err(AppError::NotFound("walk list"))
    }
}

/// The script a running experiment gives a door.
pub struct DoorScript {
    pub experiment_id: i64,
    pub script: Script,
}

/// What a list shows at the door: its stops in walking order, how far each got, the
/// people to ask for at each (by door), their effective support scores, and the
/// experiments' scripts (by door).
pub struct Contents {
    pub stops: Vec<Door>,
    pub progress: BTreeMap<i64, StopProgress>,
    pub people: BTreeMap<i64, Vec<Person>>,
    pub scores: HashMap<i64, f64>,
    pub scripts: HashMap<i64, DoorScript>,
    /// Building notes, by address.
    pub building_notes: HashMap<String, String>,
}

/// Reads what `list` shows at the door.
pub fn contents(conn: &mut DbConnection, list: &WalkList) -> Result<Contents, AppError> {
    let stops = db::walk_lists::stops(conn, list.campaign_id, list.id)?;
    let progress = db::walk_lists::stop_progress(conn, list.campaign_id, list.id)?;
    let people = db::walk_lists::people(conn, list.campaign_id, list.id)?;
    let door_cells: HashMap<i64, i64> = stops.iter().map(|d| (d.id, d.cell)).collect();
    let named: Vec<(i64, Option<f64>, i64)> = people
        .values()
        .flatten()
        .map(|p| {
            (
                p.id,
                p.support_score,
                door_cells.get(&p.door_id).copied().unwrap_or(0),
            )
        })
        .collect();
    let scores = db::scores::effective(conn, list.campaign_id, &named)?;
    let door_ids: Vec<i64> = stops.iter().map(|d| d.id).collect();
    let mut scripts = HashMap::new();
    for (door, experiment_id, script_id) in
        db::experiments::scripts_for_doors(conn, list.campaign_id, &door_ids)?
    {
        if let Some(script) = db::experiments::script(conn, list.campaign_id, script_id)? {
            scripts.insert(
                door,
                DoorScript {
                    experiment_id,
                    script,
                },
            );
        }
    }
    let addresses: Vec<&str> = stops.iter().map(|d| d.address_key.as_str()).collect();
    let building_notes = db::buildings::notes(conn, list.campaign_id, &addresses)?
        .into_iter()
        .map(|(address, (notes, _))| (address, notes))
        .collect();
    Ok(Contents {
        stops,
        progress,
        people,
        scores,
        scripts,
        building_notes,
    })
}

/// A "near me" search, as asked for.
pub struct NearbyRequest {
    pub lat: f64,
    pub lng: f64,
    pub radius_m: Option<f64>,
    pub limit: Option<usize>,
}

/// A checked "near me" search with the cells it looks in.
pub struct Nearby {
    lat: f64,
    lng: f64,
    radius: f64,
    limit: usize,
    edge: f64,
    disk: Vec<i64>,
}

/// Checks the point, the radius and the limit of a "near me" search. The caller's
/// resolution-9 cell and the rings around it that cover the radius are what the search
/// looks up by key: no list is scanned.
pub fn check_nearby(req: NearbyRequest) -> Result<Nearby, AppError> {
    let here = check_point("lat", req.lat, req.lng)?;
    let radius = req.radius_m.unwrap_or(1000.0);
    if !(radius.is_finite() && radius > 0.0 && radius <= MAX_NEARBY_RADIUS_M) {
        return Err(AppError::invalid(
            "radius_m",
            format!("radius_m is above 0 and at most {MAX_NEARBY_RADIUS_M}"),
        ));
    }
    let limit = req.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(AppError::invalid("limit", "limit is between 1 and 100"));
    }
    let origin = here.to_cell(NEARBY_RESOLUTION);
    // A ring k away is at least k·√3·(inner radius) from the centre cell; the edge
    // length bounds the inner radius from above, so 1.5 × edge per ring plus one
    // ring of margin covers every cell that touches the circle.
    let edge = NEARBY_RESOLUTION.edge_length_m();
    let k = (radius / (1.5 * edge)).ceil() as u32 + 1;
    let disk: Vec<i64> = origin
        .grid_disk::<Vec<_>>(k)
        .into_iter()
        .map(cells::to_db)
        .collect();
    Ok(Nearby {
        lat: req.lat,
        lng: req.lng,
        radius,
        limit,
        edge,
        disk,
    })
}

/// Open lists within the radius, nearest first (ties by id), with the distance in
/// metres from the caller to each list's nearest door.
pub fn nearby(
    conn: &mut DbConnection,
    actor: Actor,
    q: &Nearby,
    now: NaiveDateTime,
) -> Result<Vec<(f64, WalkList)>, AppError> {
    let (lat, lng, radius, limit, edge) = (q.lat, q.lng, q.radius, q.limit, q.edge);
    let lists = db::walk_lists::claimable_in_cells(conn, actor.campaign_id, &q.disk, now)?;
    // A door lies within one edge length of its cell's centre, so the nearest cell
    // centre gives a lower bound; exact distances (to the list's doors) are then
    // read only for lists that could still make the first `limit`.
    let mut bounded: Vec<(f64, WalkList)> = lists
        .into_iter()
        .map(|(list, cells_here)| {
            let nearest = cells_here
                .iter()
                .filter_map(|&c| cells::from_db(c))
                .map(|c| {
                    let centre = LatLng::from(c);
                    routing::distance_m((lat, lng), (centre.lat(), centre.lng()))
                })
                .fold(f64::INFINITY, f64::min);
            ((nearest - edge).max(0.0), list)
        })
        .filter(|(bound, _)| *bound <= radius)
        .collect();
    bounded.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.id.cmp(&b.1.id)));
    let mut exact: Vec<(f64, WalkList)> = Vec::new();
    for (bound, list) in bounded {
        if exact.len() >= limit && exact.last().is_some_and(|(d, _)| *d < bound) {
            break;
        }
        let away = db::walk_lists::stop_locations(conn, list.campaign_id, list.id)?
            .into_iter()
            .map(|p| routing::distance_m((lat, lng), p))
            .fold(f64::INFINITY, f64::min);
        if away <= radius {
            exact.push((away, list));
            exact.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.id.cmp(&b.1.id)));
            exact.truncate(limit);
        }
    }
    Ok(exact)
}

/// Assigns a live list to an active user of the campaign, inside the caller's write
/// transaction. With `replace`, everyone else assigned loses it; a claim by someone
/// else is released either way (an organizer's assignment overrides a volunteer's
/// claim). The new assignee and those who lost it are told. Answers whether the
/// assignment is new, and the list. Audited.
pub fn assign(
    conn: &mut DbConnection,
    actor: Actor,
    id: i64,
    (user_id, replace): (i64, bool),
    now: NaiveDateTime,
) -> Result<(bool, WalkList), AppError> {
    let campaign_id = actor.campaign_id;
    // Lock the list row first: a claim racing this assignment waits, then finds the
    // list assigned and fails, so the list never ends up both assigned and claimed by
    // someone else.
    db::walk_lists::touch(conn, campaign_id, id)?;
    let list = find(conn, actor, id)?;
    require_live(&list, now)?;
    match db::users::find(conn, campaign_id, user_id)? {
        Some(u) if u.active => {}
        _ => {
            return Err(AppError::invalid(
                "user_id",
                "user_id is not an active user of this campaign",
            ));
        }
    }
    let mut others: Vec<i64> = Vec::new();
    if replace {
        for holder in db::walk_lists::assignees(conn, campaign_id, id)? {
            if holder != user_id {
                db::walk_lists::unassign(conn, campaign_id, id, holder)?;
                others.push(holder);
            }
        }
    }
    if let Some(claimer) = list
        .claimed_by
        .filter(|_| list.list_state().claim_active(now))
        && claimer != user_id
    {
        db::walk_lists::release(conn, campaign_id, id, claimer, now)?;
        others.push(claimer);
    }
    let created = db::walk_lists::assign(conn, campaign_id, id, user_id, actor.user_id)?;
    let list = find(conn, actor, id)?;
    if created {
        notify::walk_list_event(conn, &list, Event::Assigned, &[user_id])?;
    }
    notify::walk_list_event(conn, &list, Event::Reassigned, &others)?;
    audit(
        conn,
        actor,
        "walk_list.assign",
        id,
        json!({ "user_id": user_id, "replaced": others }),
    )?;
    Ok((created, list))
}

/// Takes the list from a user it is assigned to (not found when it is not); they are
/// told. Inside the caller's write transaction; audited.
pub fn unassign(
    conn: &mut DbConnection,
    actor: Actor,
    id: i64,
    user_id: i64,
) -> Result<(), AppError> {
    find(conn, actor, id)?;
    if !db::walk_lists::unassign(conn, actor.campaign_id, id, user_id)? {
        return Err(AppError::Absent(format!(
            "user {user_id} is not assigned to walk list {id}"
        )));
    }
    let list = find(conn, actor, id)?;
    notify::walk_list_event(conn, &list, Event::Unassigned, &[user_id])?;
    audit(
        conn,
        actor,
        "walk_list.unassign",
        id,
        json!({ "user_id": user_id }),
    )?;
    Ok(())
}

/// Checks an open list out to the caller until `until`, inside the caller's write
/// transaction. Of two callers at the same moment exactly one wins (one conditional
/// update); the other gets a conflict, as does a caller already holding the most claims
/// at once.
pub fn claim(
    conn: &mut DbConnection,
    actor: Actor,
    id: i64,
    (now, until): (NaiveDateTime, NaiveDateTime),
) -> Result<WalkList, AppError> {
    let (campaign_id, user_id) = (actor.campaign_id, actor.user_id);
    // Claims are for walking, not for reading lists: a few at a time.
    let held = db::walk_lists::active_claims(conn, campaign_id, user_id, now)?;
    let already_mine =
        db::walk_lists::get(conn, campaign_id, id)?.is_some_and(|l| l.claimed_by_now(user_id, now));
    if held >= MAX_CLAIMS_PER_USER && !already_mine {
        return Err(AppError::conflict(format!(
            "you already hold {held} claimed lists (the most at once is {MAX_CLAIMS_PER_USER}); release one first"
        )));
    }
    if !db::walk_lists::claim(conn, campaign_id, id, user_id, now, until)? {
        let list = find(conn, actor, id)?;
        require_live(&list, now)?;
        let why = if list.assignee_count > 0 {
            "it is assigned"
        } else {
            "another volunteer has claimed it"
        };
        return Err(AppError::conflict(format!(
            "walk list {id} cannot be claimed: {why}"
        )));
    }
    find(conn, actor, id)
}

/// Gives up the caller's claim on the list (a conflict when they hold none).
pub fn release(
    conn: &mut DbConnection,
    actor: Actor,
    id: i64,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    find(conn, actor, id)?;
    if db::walk_lists::release(conn, actor.campaign_id, id, actor.user_id, now)? {
        Ok(())
    } else {
        Err(AppError::conflict(format!(
            "you hold no claim on walk list {id}"
        )))
    }
}

/// Checks the doors to move (each once, sorted) and the list they go to.
pub fn check_move(mut door_ids: Vec<i64>, from: i64, to: i64) -> Result<Vec<i64>, AppError> {
    door_ids.sort_unstable();
    door_ids.dedup();
    if door_ids.is_empty() || door_ids.len() > MAX_DOORS_MOVED {
        return Err(AppError::invalid(
            "door_ids",
            format!("give between 1 and {MAX_DOORS_MOVED} door ids"),
        ));
    }
    if to == from {
        return Err(AppError::invalid(
            "to_walk_list_id",
            "the doors are already on this list",
        ));
    }
    Ok(door_ids)
}

/// A door as routing sees it (nobody to ask for yet).
fn plan_door(d: Door) -> PlanDoor {
    PlanDoor {
        door_id: d.id,
        lat: d.lat,
        lng: d.lng,
        street: d.street,
        housenumber: d.housenumber,
        building: d.address_key,
        unit: d.unit,
        people: Vec::new(),
    }
}

/// A list's new walking order from its start: door ids, and (metres, seconds).
type Route = (Vec<i64>, (f64, f64));

fn route_of(doors: &[PlanDoor], start: (f64, f64)) -> Route {
    let planned = walk::plan(doors, start, doors.len().max(1), &RouteParams::default());
    match planned.first() {
        Some(p) => (
            p.doors.iter().map(|&k| doors[k].door_id).collect(),
            (p.distance_m, p.walking_seconds),
        ),
        None => (Vec::new(), (0.0, 0.0)),
    }
}

/// What moving doors starts from, read outside any transaction: both lists, the doors
/// each held when read, and the doors each will hold.
pub struct MoveInput {
    pub from: WalkList,
    pub to: WalkList,
    pub door_ids: Vec<i64>,
    /// The stops of each list when read (door ids), to see that nothing changed since.
    pub held: (Vec<i64>, Vec<i64>),
    /// The doors of each list after the move, for routing.
    pub after: (Vec<PlanDoor>, Vec<PlanDoor>),
    /// The resolution-9 cell of each moved door, in `door_ids` order.
    pub cells9: Vec<i64>,
}

/// The two lists of a move, both live: the source one the actor may read, the target
/// one of the campaign.
fn live_pair(
    conn: &mut DbConnection,
    actor: Actor,
    (from, to): (i64, i64),
    now: NaiveDateTime,
) -> Result<(WalkList, WalkList), AppError> {
    let source = find(conn, actor, from)?;
    require_live(&source, now)?;
    let target = db::walk_lists::get(conn, actor.campaign_id, to)?.ok_or_else(|| {
        AppError::invalid(
            "to_walk_list_id",
            "to_walk_list_id is not a walk list of this campaign",
        )
    })?;
    require_live(&target, now)?;
    Ok((source, target))
}

/// Reads and checks a move of checked doors ([`check_move`]): both lists live and of
/// the campaign, every door on the first, room on the second.
pub fn move_input(
    conn: &mut DbConnection,
    actor: Actor,
    (from, to): (i64, i64),
    door_ids: Vec<i64>,
    now: NaiveDateTime,
) -> Result<MoveInput, AppError> {
    let campaign_id = actor.campaign_id;
    let (source, target) = live_pair(conn, actor, (from, to), now)?;
    let from_stops = db::walk_lists::stops(conn, campaign_id, from)?;
    let to_stops = db::walk_lists::stops(conn, campaign_id, to)?;
    let missing: Vec<i64> = door_ids
        .iter()
        .copied()
        .filter(|d| !from_stops.iter().any(|s| s.id == *d))
        .collect();
    if !missing.is_empty() {
        return Err(AppError::invalid(
            "door_ids",
            format!("doors {missing:?} are not on walk list {from}"),
        ));
    }
    if to_stops.len() + door_ids.len() > MAX_DOORS_PER_LIST as usize {
        return Err(AppError::invalid(
            "door_ids",
            format!("walk list {to} would hold more than {MAX_DOORS_PER_LIST} doors"),
        ));
    }
    let held = (
        from_stops.iter().map(|d| d.id).collect(),
        to_stops.iter().map(|d| d.id).collect(),
    );
    let cell_of: HashMap<i64, i64> = from_stops.iter().map(|d| (d.id, cell9(d.cell))).collect();
    let cells9 = door_ids
        .iter()
        .map(|d| cell_of.get(d).copied().unwrap_or(0))
        .collect();
    let (mut moved, stay): (Vec<Door>, Vec<Door>) = from_stops
        .into_iter()
        .partition(|d| door_ids.binary_search(&d.id).is_ok());
    // The target takes them after its own stops in door order, as the store appends
    // them, and is routed from that order.
    moved.sort_by_key(|d| d.id);
    let after = (
        stay.into_iter().map(plan_door).collect(),
        to_stops.into_iter().chain(moved).map(plan_door).collect(),
    );
    Ok(MoveInput {
        from: source,
        to: target,
        door_ids,
        held,
        after,
        cells9,
    })
}

/// Both lists' new walking orders (pure; run outside any transaction).
pub fn route_move(input: &MoveInput) -> (Route, Route) {
    (
        route_of(&input.after.0, (input.from.start_lat, input.from.start_lng)),
        route_of(&input.after.1, (input.to.start_lat, input.to.start_lng)),
    )
}

/// Both lists of a move (from, then to), each with its assignees.
pub type Moved = Vec<(WalkList, Vec<i64>)>;

/// Stores a routed move under the campaign's walk-list lock, inside the caller's write
/// transaction: `None` when either list changed since it was read (read and route
/// again). The phones holding either list are told. Answers both lists (from, then to),
/// each with its assignees. Audited.
pub fn store_move(
    conn: &mut DbConnection,
    actor: Actor,
    input: &MoveInput,
    routes: &(Route, Route),
    now: NaiveDateTime,
) -> Result<Option<Moved>, AppError> {
    let campaign_id = actor.campaign_id;
    let (from, to) = (input.from.id, input.to.id);
    db::lock_campaign(conn, db::CampaignLock::WalkLists, campaign_id)?;
    live_pair(conn, actor, (from, to), now)?;
    let holds = |conn: &mut DbConnection, id| -> Result<Vec<i64>, AppError> {
        Ok(db::walk_lists::stops(conn, campaign_id, id)?
            .into_iter()
            .map(|d| d.id)
            .collect())
    };
    if holds(conn, from)? != input.held.0 || holds(conn, to)? != input.held.1 {
        return Ok(None);
    }
    db::walk_lists::move_stops(conn, campaign_id, from, to, &input.door_ids, &input.cells9)?;
    let ((from_order, from_route), (to_order, to_route)) = routes;
    db::walk_lists::reorder(conn, campaign_id, from, from_order, *from_route)?;
    db::walk_lists::reorder(conn, campaign_id, to, to_order, *to_route)?;
    let mut out = Vec::new();
    for id in [from, to] {
        let list = find(conn, actor, id)?;
        let assignees = db::walk_lists::assignees(conn, campaign_id, id)?;
        let mut told = assignees.clone();
        if let Some(c) = list
            .claimed_by
            .filter(|_| list.list_state().claim_active(now))
        {
            told.push(c);
        }
        notify::walk_list_event(conn, &list, Event::Updated, &told)?;
        out.push((list, assignees));
    }
    audit(
        conn,
        actor,
        "walk_list.move_doors",
        from,
        json!({ "to": to, "door_ids": input.door_ids }),
    )?;
    Ok(Some(out))
}

/// Moves checked doors ([`check_move`]) from one live list to another of the campaign:
/// read, route both lists outside any transaction, store (three tries when either list
/// changes meanwhile). The caller wakes the push worker.
pub async fn move_doors(
    pool: &DbPool,
    actor: Actor,
    (from, to): (i64, i64),
    door_ids: Vec<i64>,
) -> Result<Moved, AppError> {
    for _attempt in 0..3 {
        let ids = door_ids.clone();
        let now = db::now();
        let input = db::run(pool, move |conn| {
            move_input(conn, actor, (from, to), ids, now)
        })
        .await?;
        let (input, routes) = lanes::compute(move || {
            let routes = route_move(&input);
            (input, routes)
        })
        .await?;
        let stored = db::transaction(pool, move |conn| {
            store_move(conn, actor, &input, &routes, now)
        })
        .await?;
        if let Some(lists) = stored {
            return Ok(lists);
        }
    }
    Err(AppError::conflict(
        "the lists kept changing while the doors were moved; try again",
    ))
}
