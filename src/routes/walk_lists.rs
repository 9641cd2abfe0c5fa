//! Walk lists: built from a turf and a universe, read by phones (with ETags), assigned
//! by organizers, claimed by volunteers nearby, and told to phones through the outbox.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Datelike, NaiveDateTime, Utc};
use h3o::{CellIndex, LatLng};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::store;
use super::views::utc;
use super::{PageQuery, Paged};
use crate::auth::AuthUser;
use crate::db::walk_lists::{NewList, NewStop, WalkList};
use crate::db::{self, DbConnection};
use crate::domain::{DisplayName, Role};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::push::notify::{self, Event};
use crate::routing::{self, RouteParams};
use crate::spatial::{cells, tiling};
use crate::state::AppState;
use crate::walk::{self, PlanDoor, Status, Universe};

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
use crate::walk::NEARBY_RESOLUTION;

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Point {
    pub lat: f64,
    pub lng: f64,
}

impl Point {
    fn check(&self, field: &str) -> Result<LatLng, ApiError> {
        let in_range = (-90.0..=90.0).contains(&self.lat) && (-180.0..=180.0).contains(&self.lng);
        LatLng::new(self.lat, self.lng)
            .ok()
            .filter(|_| in_range)
            .ok_or_else(|| {
                ApiError::validation(field, "lat must be within ±90 and lng within ±180")
            })
    }
}

/// A list without its stops: for lists of lists and answers to changes.
#[derive(Debug, Serialize)]
pub struct WalkListSummary {
    pub id: i64,
    /// The list's number in the campaign, for people to type or read off paper.
    pub number: i64,
    pub name: String,
    pub turf_id: i64,
    pub status: Status,
    pub version: i64,
    pub door_count: i64,
    /// Doors with at least one knock.
    pub knocked_doors: i64,
    /// Doors with a result that closes them for this list.
    pub finished_doors: i64,
    /// Doors where someone was spoken to.
    pub contacts: i64,
    /// Doors still to knock (again).
    pub remaining_doors: i64,
    pub people_count: i64,
    pub distance_m: f64,
    pub walking_minutes: f64,
    pub start: Point,
    pub assignees: Vec<i64>,
    pub claimed_by: Option<i64>,
    pub claimed_until: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When an organizer closed it.
    pub closed_at: Option<DateTime<Utc>>,
}

fn summary(list: &WalkList, assignees: Vec<i64>, now: NaiveDateTime) -> WalkListSummary {
    let claim_active = list.list_state().claim_active(now);
    WalkListSummary {
        id: list.id,
        number: list.number,
        name: list.name.clone(),
        turf_id: list.turf_id,
        status: list.list_state().status(now),
        version: list.version,
        door_count: list.door_count,
        knocked_doors: list.knocked_doors,
        finished_doors: list.finished_doors,
        contacts: list.contacts,
        remaining_doors: (list.door_count - list.finished_doors).max(0),
        people_count: list.people_count,
        distance_m: list.distance_m.round(),
        walking_minutes: (list.walking_seconds / 60.0).round(),
        start: Point {
            lat: list.start_lat,
            lng: list.start_lng,
        },
        assignees,
        claimed_by: list.claimed_by.filter(|_| claim_active),
        claimed_until: list.claimed_until.filter(|_| claim_active).map(utc),
        expires_at: utc(list.expires_at),
        created_at: utc(list.created_at),
        updated_at: utc(list.updated_at),
        closed_at: list.closed_at.map(utc),
    }
}

fn summarise(
    conn: &mut DbConnection,
    list: &WalkList,
    now: NaiveDateTime,
) -> Result<WalkListSummary, ApiError> {
    let assignees = db::walk_lists::assignees(conn, list.campaign_id, list.id)?;
    Ok(summary(list, assignees, now))
}

fn find_list(conn: &mut DbConnection, campaign_id: i64, id: i64) -> Result<WalkList, ApiError> {
    db::walk_lists::get(conn, campaign_id, id)?.ok_or_else(|| ApiError::not_found("walk list"))
}

/// The list, if the caller may read it: organizers and above read every list of their
/// campaign; a volunteer only lists assigned to them or claimed by them. Anything else
/// is a 404, so a volunteer cannot probe which lists exist.
fn readable_list(
    conn: &mut DbConnection,
    auth: &AuthUser,
    id: i64,
    now: NaiveDateTime,
) -> Result<WalkList, ApiError> {
    let list = find_list(conn, auth.campaign_id, id)?;
    if auth.role >= Role::Organizer
        || list.claimed_by_now(auth.user_id, now)
        || db::walk_lists::is_assigned(conn, auth.campaign_id, id, auth.user_id)?
    {
        Ok(list)
    } else {
        Err(ApiError::not_found("walk list"))
    }
}

/// A live list, or 409 saying why it cannot change any more.
fn require_live(list: &WalkList, now: NaiveDateTime) -> Result<(), ApiError> {
    match list.list_state().status(now) {
        Status::Expired => Err(ApiError::Conflict(format!(
            "walk list {} has expired",
            list.id
        ))),
        Status::Done => Err(ApiError::Conflict(format!("walk list {} is done", list.id))),
        Status::Closed => Err(ApiError::Conflict(format!(
            "walk list {} was closed",
            list.id
        ))),
        _ => Ok(()),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWalkListBody {
    turf_id: i64,
    #[serde(default, deserialize_with = "crate::domain::json::object")]
    universe: Universe,
    max_doors: Option<u32>,
    #[serde(default, deserialize_with = "crate::domain::json::optional_object")]
    start: Option<Point>,
    name: Option<String>,
}

/// Everything needed to plan lists, read outside any transaction.
struct Candidates {
    turf: db::turfs::Turf,
    turf_cells: Vec<CellIndex>,
    doors: Vec<PlanDoor>,
    door_cells: Vec<i64>,
    taken: i64,
}

fn candidates(
    conn: &mut DbConnection,
    campaign_id: i64,
    turf_id: i64,
    universe: &Universe,
    now: NaiveDateTime,
) -> Result<Candidates, ApiError> {
    let turf = db::turfs::get(conn, campaign_id, turf_id)?
        .ok_or_else(|| ApiError::validation("turf_id", "turf_id is not a turf of this campaign"))?;
    let turf_cells = db::turfs::cells_of(conn, campaign_id, turf_id)?;
    let mut doors = Vec::new();
    let mut door_cells = Vec::new();
    let free = db::walk_lists::free_doors_of_turf(conn, campaign_id, turf_id)?;
    let everyone: Vec<(i64, Option<f64>, i64)> = free
        .iter()
        .flat_map(|(door, people)| people.iter().map(|p| (p.id, p.support_score, door.cell)))
        .collect();
    let scores = db::scores::effective(conn, campaign_id, &everyone)?;
    for (door, people) in free {
        let admitted: Vec<i64> = people
            .iter()
            .filter(|p| {
                universe.admits(
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
                    },
                    now,
                )
            })
            .map(|p| p.id)
            .collect();
        if admitted.is_empty() {
            continue;
        }
        let cell9 = cells::from_db(door.cell)
            .and_then(|c| c.parent(NEARBY_RESOLUTION))
            .map_or(0, cells::to_db);
        door_cells.push(cell9);
        doors.push(PlanDoor {
            door_id: door.id,
            lat: door.lat,
            lng: door.lng,
            street: door.street,
            housenumber: door.housenumber,
            people: admitted,
        });
    }
    let taken = db::walk_lists::doors_taken_in_turf(conn, campaign_id, turf_id)?;
    Ok(Candidates {
        turf,
        turf_cells,
        doors,
        door_cells,
        taken,
    })
}

pub async fn create(
    state: web::Data<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<NewWalkListBody>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    body.universe.validate()?;
    let max_doors = body.max_doors.unwrap_or(DEFAULT_DOORS_PER_LIST);
    if !(1..=MAX_DOORS_PER_LIST).contains(&max_doors) {
        return Err(ApiError::validation(
            "max_doors",
            format!("max_doors is between 1 and {MAX_DOORS_PER_LIST}"),
        ));
    }
    let start = match body.start {
        Some(p) => Some(p.check("start").map(|_| (p.lat, p.lng))?),
        None => None,
    };
    let name = match &body.name {
        Some(n) => Some(DisplayName::parse("name", n)?.as_str().to_owned()),
        None => None,
    };
    let universe_json = serde_json::to_string(&body.universe)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("universe does not serialise: {e}")))?;
    let ttl = chrono::Duration::from_std(state.settings.walk_list_ttl)
        .unwrap_or(chrono::Duration::days(30));
    let turf_id = body.turf_id;
    let universe = body.universe;

    // Plan outside the write transaction (routing a few thousand doors takes a moment),
    // then store under the campaign's walk-list lock after checking that no door was
    // taken meanwhile; if one was, plan again.
    for _attempt in 0..3 {
        let now = db::now();
        let universe = universe.clone();
        let c = store::run(&state.db, move |conn| {
            candidates(conn, auth.campaign_id, turf_id, &universe, now)
        })
        .await?;
        if c.doors.is_empty() {
            return Err(ApiError::validation(
                "universe",
                format!(
                    "no free door of turf {} has anyone in this universe ({} of its doors are on other live lists)",
                    c.turf.id, c.taken
                ),
            ));
        }
        if c.doors.len() > MAX_DOORS_PER_REQUEST {
            return Err(ApiError::validation(
                "universe",
                format!(
                    "{} doors match; at most {MAX_DOORS_PER_REQUEST} doors go on lists in one request; narrow the universe or cut the turf smaller",
                    c.doors.len()
                ),
            ));
        }
        let taken = c.taken;
        let planned = crate::lanes::compute(move || {
            let start = start
                .or_else(|| walk::default_start(&tiling::outline(&c.turf_cells)))
                .unwrap_or((c.doors[0].lat, c.doors[0].lng));
            let lists = walk::plan(&c.doors, start, max_doors as usize, &RouteParams::default());
            (c, lists)
        })
        .await
        .map_err(ApiError::Internal)?;
        let (c, lists) = planned;
        let name = name.clone();
        let universe_json = universe_json.clone();
        let stored = store::transaction(&state.db, move |conn| {
            db::lock_campaign(conn, db::CampaignLock::WalkLists, auth.campaign_id)?;
            let door_ids: Vec<i64> = c.doors.iter().map(|d| d.door_id).collect();
            if db::walk_lists::any_live(conn, auth.campaign_id, &door_ids)? {
                return Ok(None);
            }
            let base = name.unwrap_or_else(|| c.turf.name.clone());
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
                    auth.campaign_id,
                    &NewList {
                        turf_id,
                        name: &list_name,
                        universe: &universe_json,
                        start: planned.start,
                        distance_m: planned.distance_m,
                        walking_seconds: planned.walking_seconds,
                        expires_at: now + ttl,
                        created_by: Some(auth.user_id),
                        stops,
                    },
                )?;
                out.push(list);
            }
            db::audit::record(
                conn,
                db::audit::Change {
                    campaign_id: auth.campaign_id,
                    actor_id: Some(auth.user_id),
                    action: "walk_list.create",
                    target_type: "turf",
                    target_id: Some(turf_id),
                    details: json!({ "walk_lists": out.iter().map(|l| l.id).collect::<Vec<_>>() }),
                },
            )?;
            Ok(Some(out))
        })
        .await?;
        if let Some(lists) = stored {
            db::refresh_statistics_soon(&state.db);
            let now = db::now();
            let doors: i64 = lists.iter().map(|l| l.door_count).sum();
            let items: Vec<WalkListSummary> =
                lists.iter().map(|l| summary(l, Vec::new(), now)).collect();
            return Ok(HttpResponse::Created().json(json!({
                "items": items,
                "door_count": doors,
                "doors_on_other_lists": taken,
            })));
        }
    }
    Err(ApiError::Conflict(
        "other walk lists kept taking this turf's doors; try again".into(),
    ))
}

/// A person as a canvasser needs them at the door.
#[derive(Debug, Serialize)]
pub struct StopPerson {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub age: Option<i64>,
    pub party: Option<String>,
    pub support_band: &'static str,
    pub last_contact_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize)]
pub struct Address {
    pub street: String,
    pub housenumber: String,
    pub unit: String,
    pub postcode: String,
    pub city: String,
}

#[derive(Debug, Serialize)]
pub struct StopView {
    pub position: usize,
    pub door_id: i64,
    pub address: Address,
    pub location: Point,
    pub last_contact_at: Option<DateTime<Utc>>,
    /// The last result on this list, and when (none before the first knock).
    pub last_result: Option<String>,
    pub last_knocked_at: Option<DateTime<Utc>>,
    /// Whether the door is done for this list (a second canvasser skips it).
    pub finished: bool,
    pub people: Vec<StopPerson>,
    /// The script to use at this door, when a running experiment holds it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub script: Option<StopScript>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StopScript {
    pub id: i64,
    pub experiment_id: i64,
    pub title: String,
    pub body: String,
}

#[derive(Debug, Serialize)]
pub struct ResultCodeView {
    pub code: &'static str,
    pub label: &'static str,
    /// Whether the door is finished for this list with this result.
    pub r#final: bool,
}

#[derive(Debug, Serialize)]
pub struct WalkListView {
    #[serde(flatten)]
    pub summary: WalkListSummary,
    pub universe: serde_json::Value,
    pub stops: Vec<StopView>,
    pub questions: Vec<super::questions::QuestionView>,
    pub result_codes: Vec<ResultCodeView>,
}

fn result_codes() -> Vec<ResultCodeView> {
    crate::knock::KnockResult::ALL
        .into_iter()
        .map(|r| ResultCodeView {
            code: r.code(),
            label: r.label(),
            r#final: r.finishes_door(),
        })
        .collect()
}

/// The strong validator of what a list shows: its stored version plus the status the
/// clock may change without a write (a lapsed claim, a passed expiry).
fn etag(list: &WalkList, now: NaiveDateTime, revision: &str) -> String {
    format!(
        "\"wl-{}-{}-{}-{revision}\"",
        list.id,
        list.version,
        list.list_state().status(now).as_str()
    )
}

/// Whether `If-None-Match` names the current ETag (or `*`); weak tags compare too.
fn not_modified(req: &HttpRequest, tag: &str) -> bool {
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == tag)
}

pub async fn get(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let now = db::now();
    let (list, revision) = store::run(&state.db, move |conn| {
        let list = readable_list(conn, &auth, id, now)?;
        let revision = db::experiments::campaign_revision(conn, auth.campaign_id)?;
        Ok((list, revision))
    })
    .await?;
    let tag = etag(&list, now, &revision);
    if not_modified(&req, &tag) {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, tag))
            .finish());
    }
    let view = store::run(&state.db, move |conn| {
        let stops = db::walk_lists::stops(conn, list.campaign_id, list.id)?;
        let mut progress = db::walk_lists::stop_progress(conn, list.campaign_id, list.id)?;
        let mut people = db::walk_lists::people(conn, list.campaign_id, list.id)?;
        let door_cells: std::collections::HashMap<i64, i64> =
            stops.iter().map(|d| (d.id, d.cell)).collect();
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
        let mut scripts: std::collections::HashMap<i64, StopScript> =
            std::collections::HashMap::new();
        for (door, experiment_id, script_id) in
            db::experiments::scripts_for_doors(conn, list.campaign_id, &door_ids)?
        {
            if let Some(s) = db::experiments::script(conn, list.campaign_id, script_id)? {
                scripts.insert(
                    door,
                    StopScript {
                        id: s.id,
                        experiment_id,
                        title: s.title,
                        body: s.body,
                    },
                );
            }
        }
        let year = i64::from(now.year());
        let stops = stops
            .into_iter()
            .enumerate()
            .map(|(i, d)| StopView {
                position: i,
                door_id: d.id,
                address: Address {
                    street: d.street,
                    housenumber: d.housenumber,
                    unit: d.unit,
                    postcode: d.postcode,
                    city: d.city,
                },
                location: Point {
                    lat: d.lat,
                    lng: d.lng,
                },
                last_contact_at: d.last_contact_at.map(utc),
                last_result: progress.get(&d.id).and_then(|p| p.last_result.clone()),
                last_knocked_at: progress.get(&d.id).and_then(|p| p.last_knocked_at).map(utc),
                finished: progress.remove(&d.id).is_some_and(|p| p.finished),
                script: scripts.get(&d.id).cloned(),
                people: people
                    .remove(&d.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|p| StopPerson {
                        id: p.id,
                        first_name: p.first_name,
                        last_name: p.last_name,
                        age: p.birth_year.map(|b| year - b),
                        party: p.party,
                        support_band: walk::support_band(scores.get(&p.id).copied()),
                        last_contact_at: p.last_contact_at.map(utc),
                    })
                    .collect(),
            })
            .collect();
        let universe = serde_json::from_str(&list.universe).unwrap_or(serde_json::Value::Null);
        Ok(WalkListView {
            summary: summarise(conn, &list, now)?,
            universe,
            stops,
            questions: super::questions::active(conn, list.campaign_id)?,
            result_codes: result_codes(),
        })
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, tag))
        .insert_header((header::CACHE_CONTROL, "private, no-cache"))
        .json(view))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    turf_id: Option<i64>,
    limit: Option<i64>,
    after: Option<i64>,
}

/// Every list of the campaign (organizers and above), by id.
pub async fn list(
    state: web::Data<AppState>,
    auth: AuthUser,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let page = PageQuery {
        limit: query.limit,
        after: query.after,
    }
    .page()?;
    let turf_id = query.turf_id;
    let now = db::now();
    let items = store::run(&state.db, move |conn| {
        db::walk_lists::list(conn, auth.campaign_id, turf_id, page.after, page.fetch())?
            .iter()
            .map(|l| summarise(conn, l, now))
            .collect::<Result<Vec<_>, _>>()
    })
    .await?;
    let (items, next_after) = page.finish(items, |l| l.id);
    Ok(HttpResponse::Ok().json(Paged { items, next_after }))
}

/// The caller's lists: assigned to them or claimed by them, not expired.
pub async fn mine(state: web::Data<AppState>, auth: AuthUser) -> Result<HttpResponse, ApiError> {
    let now = db::now();
    let items = store::run(&state.db, move |conn| {
        db::walk_lists::held_by(conn, auth.campaign_id, auth.user_id, now)?
            .iter()
            .map(|l| summarise(conn, l, now))
            .collect::<Result<Vec<_>, _>>()
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NearbyQuery {
    lat: f64,
    lng: f64,
    radius_m: Option<f64>,
    limit: Option<usize>,
}

#[derive(Debug, Serialize)]
pub struct NearbyItem {
    #[serde(flatten)]
    pub list: WalkListSummary,
    /// From the caller to the list's nearest door, in metres.
    pub away_m: f64,
}

/// Open lists near the caller, nearest first. The caller's resolution-9 cell and the
/// rings around it that cover the radius are looked up by key: no list is scanned.
pub async fn nearby(
    state: web::Data<AppState>,
    auth: AuthUser,
    query: web::Query<NearbyQuery>,
) -> Result<HttpResponse, ApiError> {
    let here = Point {
        lat: query.lat,
        lng: query.lng,
    }
    .check("lat")?;
    let radius = query.radius_m.unwrap_or(1000.0);
    if !(radius.is_finite() && radius > 0.0 && radius <= MAX_NEARBY_RADIUS_M) {
        return Err(ApiError::validation(
            "radius_m",
            format!("radius_m is above 0 and at most {MAX_NEARBY_RADIUS_M}"),
        ));
    }
    let limit = query.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::validation("limit", "limit is between 1 and 100"));
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
    let now = db::now();
    let (lat, lng) = (query.lat, query.lng);
    let found = store::run(&state.db, move |conn| {
        let lists = db::walk_lists::claimable_in_cells(conn, auth.campaign_id, &disk, now)?;
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
        exact
            .into_iter()
            .map(|(away, list)| {
                Ok(NearbyItem {
                    list: summarise(conn, &list, now)?,
                    away_m: away.round(),
                })
            })
            .collect::<Result<Vec<_>, ApiError>>()
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "items": found })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    user_id: i64,
    /// Take the list from everyone else who holds it (they are told it was reassigned).
    #[serde(default)]
    replace: bool,
}

pub async fn assign(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
    ApiJson(body): ApiJson<AssignBody>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let id = path.into_inner();
    let (created, view) = store::transaction(&state.db, move |conn| {
        let now = db::now();
        // Lock the list row first: a claim racing this assignment waits, then finds
        // the list assigned and fails, so the list never ends up both assigned and
        // claimed by someone else.
        db::walk_lists::touch(conn, auth.campaign_id, id)?;
        let list = find_list(conn, auth.campaign_id, id)?;
        require_live(&list, now)?;
        match db::users::find(conn, auth.campaign_id, body.user_id)? {
            Some(u) if u.active => {}
            _ => {
                return Err(ApiError::validation(
                    "user_id",
                    "user_id is not an active user of this campaign",
                ));
            }
        }
        let mut others: Vec<i64> = Vec::new();
        if body.replace {
            for holder in db::walk_lists::assignees(conn, auth.campaign_id, id)? {
                if holder != body.user_id {
                    db::walk_lists::unassign(conn, auth.campaign_id, id, holder)?;
                    others.push(holder);
                }
            }
        }
        // An organizer's assignment overrides a volunteer's claim.
        if let Some(claimer) = list
            .claimed_by
            .filter(|_| list.list_state().claim_active(now))
            && claimer != body.user_id
        {
            db::walk_lists::release(conn, auth.campaign_id, id, claimer, now)?;
            others.push(claimer);
        }
        let created =
            db::walk_lists::assign(conn, auth.campaign_id, id, body.user_id, auth.user_id)?;
        let list = find_list(conn, auth.campaign_id, id)?;
        if created {
            notify::walk_list_event(conn, &list, Event::Assigned, &[body.user_id])?;
        }
        notify::walk_list_event(conn, &list, Event::Reassigned, &others)?;
        db::audit::record(
            conn,
            db::audit::Change {
                campaign_id: auth.campaign_id,
                actor_id: Some(auth.user_id),
                action: "walk_list.assign",
                target_type: "walk_list",
                target_id: Some(id),
                details: json!({ "user_id": body.user_id, "replaced": others }),
            },
        )?;
        Ok((created, summarise(conn, &list, now)?))
    })
    .await?;
    state.push_wakeup.notify_one();
    Ok(if created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

pub async fn unassign(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let (id, user_id) = path.into_inner();
    store::transaction(&state.db, move |conn| {
        find_list(conn, auth.campaign_id, id)?;
        if !db::walk_lists::unassign(conn, auth.campaign_id, id, user_id)? {
            return Err(ApiError::NotFound(format!(
                "user {user_id} is not assigned to walk list {id}"
            )));
        }
        let list = find_list(conn, auth.campaign_id, id)?;
        notify::walk_list_event(conn, &list, Event::Unassigned, &[user_id])?;
        db::audit::record(
            conn,
            db::audit::Change {
                campaign_id: auth.campaign_id,
                actor_id: Some(auth.user_id),
                action: "walk_list.unassign",
                target_type: "walk_list",
                target_id: Some(id),
                details: json!({ "user_id": user_id }),
            },
        )?;
        Ok(())
    })
    .await?;
    state.push_wakeup.notify_one();
    Ok(HttpResponse::NoContent().finish())
}

/// Checks an open list out to the caller. Of two callers at the same moment exactly one
/// wins (one conditional update); the other gets 409.
pub async fn claim(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let ttl =
        chrono::Duration::from_std(state.settings.claim_ttl).unwrap_or(chrono::Duration::hours(12));
    let view = store::transaction(&state.db, move |conn| {
        let now = db::now();
        // Claims are for walking, not for reading lists: a few at a time.
        let held = db::walk_lists::active_claims(conn, auth.campaign_id, auth.user_id, now)?;
        let already_mine = db::walk_lists::get(conn, auth.campaign_id, id)?
            .is_some_and(|l| l.claimed_by_now(auth.user_id, now));
        if held >= MAX_CLAIMS_PER_USER && !already_mine {
            return Err(ApiError::Conflict(format!(
                "you already hold {held} claimed lists (the most at once is {MAX_CLAIMS_PER_USER}); release one first"
            )));
        }
        if !db::walk_lists::claim(conn, auth.campaign_id, id, auth.user_id, now, now + ttl)? {
            let list = find_list(conn, auth.campaign_id, id)?;
            require_live(&list, now)?;
            let why = if list.assignee_count > 0 {
                "it is assigned"
            } else {
                "another volunteer has claimed it"
            };
            return Err(ApiError::Conflict(format!(
                "walk list {id} cannot be claimed: {why}"
            )));
        }
        let list = find_list(conn, auth.campaign_id, id)?;
        summarise(conn, &list, now)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

pub async fn release(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    store::transaction(&state.db, move |conn| {
        let now = db::now();
        find_list(conn, auth.campaign_id, id)?;
        if db::walk_lists::release(conn, auth.campaign_id, id, auth.user_id, now)? {
            Ok(())
        } else {
            Err(ApiError::Conflict(format!(
                "you hold no claim on walk list {id}"
            )))
        }
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoveDoorsBody {
    door_ids: Vec<i64>,
    to_walk_list_id: i64,
}

/// Re-routes a list's remaining doors from its start and stores the new order.
fn reroute(conn: &mut DbConnection, list: &WalkList) -> Result<(), ApiError> {
    let doors = db::walk_lists::stops(conn, list.campaign_id, list.id)?;
    let plan_doors: Vec<PlanDoor> = doors
        .into_iter()
        .map(|d| PlanDoor {
            door_id: d.id,
            lat: d.lat,
            lng: d.lng,
            street: d.street,
            housenumber: d.housenumber,
            people: Vec::new(),
        })
        .collect();
    let params = RouteParams::default();
    let planned = walk::plan(
        &plan_doors,
        (list.start_lat, list.start_lng),
        plan_doors.len().max(1),
        &params,
    );
    let (order, route) = match planned.first() {
        Some(p) => (
            p.doors
                .iter()
                .map(|&k| plan_doors[k].door_id)
                .collect::<Vec<_>>(),
            (p.distance_m, p.walking_seconds),
        ),
        None => (Vec::new(), (0.0, 0.0)),
    };
    db::walk_lists::reorder(conn, list.campaign_id, list.id, &order, route)?;
    Ok(())
}

/// Moves doors from this list to another live list of the campaign; both are
/// re-routed, and the phones holding either are told.
pub async fn move_doors(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
    ApiJson(body): ApiJson<MoveDoorsBody>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let from = path.into_inner();
    let mut door_ids = body.door_ids;
    door_ids.sort_unstable();
    door_ids.dedup();
    if door_ids.is_empty() || door_ids.len() > MAX_DOORS_MOVED {
        return Err(ApiError::validation(
            "door_ids",
            format!("give between 1 and {MAX_DOORS_MOVED} door ids"),
        ));
    }
    let to = body.to_walk_list_id;
    if to == from {
        return Err(ApiError::validation(
            "to_walk_list_id",
            "the doors are already on this list",
        ));
    }
    let views = store::transaction(&state.db, move |conn| {
        let now = db::now();
        db::lock_campaign(conn, db::CampaignLock::WalkLists, auth.campaign_id)?;
        let source = find_list(conn, auth.campaign_id, from)?;
        require_live(&source, now)?;
        let target = db::walk_lists::get(conn, auth.campaign_id, to)?.ok_or_else(|| {
            ApiError::validation(
                "to_walk_list_id",
                "to_walk_list_id is not a walk list of this campaign",
            )
        })?;
        require_live(&target, now)?;
        let present = db::walk_lists::stops_among(conn, auth.campaign_id, from, &door_ids)?;
        let missing: Vec<i64> = door_ids
            .iter()
            .copied()
            .filter(|d| !present.contains(d))
            .collect();
        if !missing.is_empty() {
            return Err(ApiError::validation(
                "door_ids",
                format!("doors {missing:?} are not on walk list {from}"),
            ));
        }
        if target.door_count + i64::try_from(door_ids.len()).unwrap_or(i64::MAX)
            > i64::from(MAX_DOORS_PER_LIST)
        {
            return Err(ApiError::validation(
                "door_ids",
                format!("walk list {to} would hold more than {MAX_DOORS_PER_LIST} doors"),
            ));
        }
        // Each moved door with its own cell (door_ids is sorted, and so are these).
        let cell_of: std::collections::HashMap<i64, i64> =
            db::walk_lists::stops(conn, auth.campaign_id, from)?
                .into_iter()
                .map(|d| {
                    let cell = cells::from_db(d.cell)
                        .and_then(|c| c.parent(NEARBY_RESOLUTION))
                        .map_or(0, cells::to_db);
                    (d.id, cell)
                })
                .collect();
        let cells9: Vec<i64> = door_ids
            .iter()
            .map(|d| cell_of.get(d).copied().unwrap_or(0))
            .collect();
        db::walk_lists::move_stops(conn, auth.campaign_id, from, to, &door_ids, &cells9)?;
        reroute(conn, &source)?;
        reroute(conn, &target)?;
        let mut out = Vec::new();
        for id in [from, to] {
            let list = find_list(conn, auth.campaign_id, id)?;
            let holders = db::walk_lists::assignees(conn, auth.campaign_id, id)?;
            let mut told = holders.clone();
            if let Some(c) = list
                .claimed_by
                .filter(|_| list.list_state().claim_active(now))
            {
                told.push(c);
            }
            notify::walk_list_event(conn, &list, Event::Updated, &told)?;
            out.push(summary(&list, holders, now));
        }
        db::audit::record(
            conn,
            db::audit::Change {
                campaign_id: auth.campaign_id,
                actor_id: Some(auth.user_id),
                action: "walk_list.move_doors",
                target_type: "walk_list",
                target_id: Some(from),
                details: json!({ "to": to, "door_ids": door_ids }),
            },
        )?;
        Ok(out)
    })
    .await?;
    state.push_wakeup.notify_one();
    Ok(HttpResponse::Ok().json(json!({ "items": views })))
}

#[derive(Debug, Serialize)]
pub struct NotificationView {
    pub id: i64,
    pub user_id: i64,
    pub device_id: Option<i64>,
    pub event: String,
    pub title: String,
    pub body: String,
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// Every push message about the list and what became of it (organizers and above).
pub async fn notifications(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let id = path.into_inner();
    let page = query.page()?;
    let items = store::run(&state.db, move |conn| {
        find_list(conn, auth.campaign_id, id)?;
        Ok(
            db::outbox::for_walk_list(conn, auth.campaign_id, id, page.after, page.fetch())?
                .into_iter()
                .map(|m| NotificationView {
                    next_attempt_at: (m.state == "pending").then(|| utc(m.next_attempt_at)),
                    id: m.id,
                    user_id: m.user_id,
                    device_id: m.device_id,
                    event: m.event,
                    title: m.title,
                    body: m.body,
                    state: m.state,
                    attempts: m.attempts,
                    last_error: m.last_error,
                    created_at: utc(m.created_at),
                    sent_at: m.sent_at.map(utc),
                })
                .collect::<Vec<_>>(),
        )
    })
    .await?;
    let (items, next_after) = page.finish(items, |m| m.id);
    Ok(HttpResponse::Ok().json(Paged { items, next_after }))
}

/// `POST /api/v1/walk-lists/{id}/close`: the list stops before it is done; its doors go
/// back to the pool and its holders are told.
pub async fn close(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let actor = crate::app::Actor::from(&auth);
    let id = path.into_inner();
    let now = db::now();
    let summary = store::transaction(&state.db, move |conn| {
        let list = crate::app::walk_lists::close(conn, actor, id, now)?;
        summarise(conn, &list, now)
    })
    .await?;
    state.push_wakeup.notify_one();
    Ok(HttpResponse::Ok().json(summary))
}

/// `DELETE /api/v1/walk-lists/{id}`: a list nobody knocked on is deleted.
pub async fn delete(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let actor = crate::app::Actor::from(&auth);
    let id = path.into_inner();
    store::transaction(&state.db, move |conn| {
        Ok(crate::app::walk_lists::delete(conn, actor, id, db::now())?)
    })
    .await?;
    state.push_wakeup.notify_one();
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/walk-lists/{id}/recycle`: the doors the list left unfinished become a
/// new list, routed again from the old list's start; the old list is closed.
pub async fn recycle(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let actor = crate::app::Actor::from(&auth);
    let id = path.into_inner();
    let ttl = chrono::Duration::from_std(state.settings.walk_list_ttl)
        .unwrap_or(chrono::Duration::days(30));
    // Read, route outside any transaction, then store (planning again if a door was
    // taken meanwhile).
    for _attempt in 0..3 {
        let input = store::run(&state.db, move |conn| {
            Ok(crate::app::walk_lists::recycle_input(conn, actor, id)?)
        })
        .await?;
        let planned = crate::lanes::compute(move || {
            let start = (input.list.start_lat, input.list.start_lng);
            let all = input.doors.len();
            let planned = walk::plan(&input.doors, start, all, &RouteParams::default());
            (input, planned)
        })
        .await
        .map_err(ApiError::Internal)?;
        let (input, mut planned) = planned;
        let Some(route) = planned.pop() else {
            return Err(ApiError::Internal(anyhow::anyhow!("a route of no list")));
        };
        let now = db::now();
        let stored = store::transaction(&state.db, move |conn| {
            let list = crate::app::walk_lists::store_recycled(
                conn,
                actor,
                &input,
                &route,
                (now, now + ttl),
            )?;
            list.map(|l| summarise(conn, &l, now)).transpose()
        })
        .await?;
        if let Some(summary) = stored {
            state.push_wakeup.notify_one();
            db::refresh_statistics_soon(&state.db);
            return Ok(HttpResponse::Created().json(summary));
        }
    }
    Err(ApiError::Conflict(
        "the list kept changing while it was recycled; try again".into(),
    ))
}
