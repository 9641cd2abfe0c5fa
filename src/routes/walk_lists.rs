//! Walk lists: built from a turf and a universe, read by phones (with ETags), assigned
//! by organizers, claimed by volunteers nearby, and told to phones through the outbox.
//! The use cases are in `crate::app::walk_lists`; here are the requests and the views.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Datelike, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::store;
use super::views::utc;
use super::{PageQuery, Paged};
use crate::app::Actor;
use crate::app::walk_lists::{self as use_case, Contents};
use crate::auth::AuthUser;
use crate::db::walk_lists::WalkList;
use crate::db::{self, DbConnection};
use crate::domain::Role;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::AppState;
use crate::walk::{self, Status, Universe};

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Point {
    pub lat: f64,
    pub lng: f64,
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

/// The list's summary with its assignees, as every answer about a list shows it.
pub(crate) fn summarise(
    conn: &mut DbConnection,
    list: &WalkList,
    now: NaiveDateTime,
) -> Result<WalkListSummary, ApiError> {
    let assignees = db::walk_lists::assignees(conn, list.campaign_id, list.id)?;
    Ok(summary(list, assignees, now))
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

/// Checks the request, then reads the candidates, plans the lists on a compute lane
/// outside the write transaction (routing a few thousand doors takes a moment), and
/// stores them under the campaign's walk-list lock after checking that no door was
/// taken meanwhile; if one was, plans again.
pub async fn create(
    state: web::Data<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<NewWalkListBody>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let req = use_case::BuildRequest {
        turf_id: body.turf_id,
        universe: body.universe,
        max_doors: body.max_doors,
        start: body.start.map(|p| (p.lat, p.lng)),
        name: body.name,
    };
    let built = use_case::build(&state.db, Actor::from(&auth), req, list_ttl(&state)).await?;
    let now = db::now();
    let doors: i64 = built.lists.iter().map(|l| l.door_count).sum();
    let items: Vec<WalkListSummary> = built
        .lists
        .iter()
        .map(|l| summary(l, Vec::new(), now))
        .collect();
    Ok(HttpResponse::Created().json(json!({
        "items": items,
        "door_count": doors,
        "doors_on_other_lists": built.taken,
    })))
}

/// How long a new list lives.
fn list_ttl(state: &AppState) -> chrono::Duration {
    chrono::Duration::from_std(state.settings.walk_list_ttl).unwrap_or(chrono::Duration::days(30))
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
    /// The walking stop, from 1: every unit of a building shares its building's.
    pub stop: usize,
    pub door_id: i64,
    pub address: Address,
    /// The unit's floor, when its name tells (`EG`, `2 OG`, `3rd floor`, `Apt 312`).
    pub floor: Option<i32>,
    /// Set when the door is a unit of a building.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub building: Option<StopBuilding>,
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

/// The building a stop's door is in, as the list shows it.
#[derive(Debug, Clone, Serialize)]
pub struct StopBuilding {
    /// How many of its units are on this list.
    pub units_on_list: usize,
    pub notes: Option<String>,
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

/// The stops as a canvasser reads them, in walking order.
fn stop_views(contents: Contents, now: NaiveDateTime) -> Vec<StopView> {
    let Contents {
        stops,
        mut progress,
        mut people,
        scores,
        scripts,
        building_notes,
    } = contents;
    // Walking stops: consecutive doors of one address are one stop.
    let mut stop_of = Vec::with_capacity(stops.len());
    let mut units_on_list: HashMap<&str, usize> = HashMap::new();
    for (i, d) in stops.iter().enumerate() {
        let same = i > 0 && stops[i - 1].address_key == d.address_key;
        let last = stop_of.last().copied().unwrap_or(0);
        stop_of.push(if same { last } else { last + 1 });
        *units_on_list.entry(d.address_key.as_str()).or_default() += 1;
    }
    let buildings: HashMap<i64, StopBuilding> = stops
        .iter()
        .filter_map(|d| {
            let units = units_on_list
                .get(d.address_key.as_str())
                .copied()
                .unwrap_or(1);
            (units > 1 || !d.unit.is_empty()).then(|| {
                (
                    d.id,
                    StopBuilding {
                        units_on_list: units,
                        notes: building_notes.get(&d.address_key).cloned(),
                    },
                )
            })
        })
        .collect();
    let scripts: HashMap<i64, StopScript> = scripts
        .into_iter()
        .map(|(door, s)| {
            (
                door,
                StopScript {
                    id: s.script.id,
                    experiment_id: s.experiment_id,
                    title: s.script.title,
                    body: s.script.body,
                },
            )
        })
        .collect();
    let year = i64::from(now.year());
    stops
        .into_iter()
        .enumerate()
        .map(|(i, d)| StopView {
            position: i,
            stop: stop_of[i],
            door_id: d.id,
            floor: walk::floor_of(&d.unit),
            building: buildings.get(&d.id).cloned(),
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
        .collect()
}

pub async fn get(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let actor = Actor::from(&auth);
    let id = path.into_inner();
    let now = db::now();
    let (list, revision) = store::run(&state.db, move |conn| {
        let list = use_case::readable(conn, actor, id, now)?;
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
    let view = store::run(&state.db, move |conn| view(conn, &list, now)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, tag))
        .insert_header((header::CACHE_CONTROL, "private, no-cache"))
        .json(view))
}

/// The whole list as `GET /walk-lists/{id}` shows it (the walk packet prints the same).
pub(crate) fn view(
    conn: &mut DbConnection,
    list: &WalkList,
    now: NaiveDateTime,
) -> Result<WalkListView, ApiError> {
    let stops = stop_views(use_case::contents(conn, list)?, now);
    let universe = serde_json::from_str(&list.universe).unwrap_or(serde_json::Value::Null);
    Ok(WalkListView {
        summary: summarise(conn, list, now)?,
        universe,
        stops,
        questions: crate::app::questions::listed(conn, list.campaign_id, false)?,
        result_codes: result_codes(),
    })
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
    let actor = Actor::from(&auth);
    let search = use_case::check_nearby(use_case::NearbyRequest {
        lat: query.lat,
        lng: query.lng,
        radius_m: query.radius_m,
        limit: query.limit,
    })?;
    let now = db::now();
    let found = store::run(&state.db, move |conn| {
        use_case::nearby(conn, actor, &search, now)?
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
    let actor = Actor::from(&auth);
    let id = path.into_inner();
    let (created, view) = assign_list(&state, actor, id, (body.user_id, body.replace)).await?;
    Ok(if created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

/// Assigns the list (see [`use_case::assign`]) and wakes the push worker: for the API
/// and the organizer page alike.
pub(crate) async fn assign_list(
    state: &web::Data<AppState>,
    actor: Actor,
    id: i64,
    (user_id, replace): (i64, bool),
) -> Result<(bool, WalkListSummary), ApiError> {
    let done = store::transaction(&state.db, move |conn| {
        let now = db::now();
        let (created, list) = use_case::assign(conn, actor, id, (user_id, replace), now)?;
        Ok((created, summarise(conn, &list, now)?))
    })
    .await?;
    state.push_wakeup.notify_one();
    Ok(done)
}

pub async fn unassign(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let actor = Actor::from(&auth);
    let (id, user_id) = path.into_inner();
    store::transaction(&state.db, move |conn| {
        Ok(use_case::unassign(conn, actor, id, user_id)?)
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
    let actor = Actor::from(&auth);
    let id = path.into_inner();
    let ttl =
        chrono::Duration::from_std(state.settings.claim_ttl).unwrap_or(chrono::Duration::hours(12));
    let view = store::transaction(&state.db, move |conn| {
        let now = db::now();
        let list = use_case::claim(conn, actor, id, (now, now + ttl))?;
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
    let actor = Actor::from(&auth);
    let id = path.into_inner();
    store::transaction(&state.db, move |conn| {
        Ok(use_case::release(conn, actor, id, db::now())?)
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

/// Moves doors from this list to another live list of the campaign; both are
/// re-routed, and the phones holding either are told.
pub async fn move_doors(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
    ApiJson(body): ApiJson<MoveDoorsBody>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let actor = Actor::from(&auth);
    let from = path.into_inner();
    let to = body.to_walk_list_id;
    let door_ids = use_case::check_move(body.door_ids, from, to)?;
    let moved = use_case::move_doors(&state.db, actor, (from, to), door_ids).await?;
    let now = db::now();
    let views: Vec<WalkListSummary> = moved
        .into_iter()
        .map(|(list, assignees)| summary(&list, assignees, now))
        .collect();
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
    let actor = Actor::from(&auth);
    let items = store::run(&state.db, move |conn| {
        use_case::find(conn, actor, id)?;
        Ok(
            db::outbox::for_walk_list(conn, auth.campaign_id, id, page.after, page.fetch())?
                .into_iter()
                .map(|m| NotificationView {
                    next_attempt_at: (m.state == crate::domain::Delivery::Pending.as_str())
                        .then(|| utc(m.next_attempt_at)),
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
    let summary = close_list(&state, Actor::from(&auth), path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(summary))
}

/// Closes the list (see [`use_case::close`]) and wakes the push worker: for the API and
/// the organizer page alike.
pub(crate) async fn close_list(
    state: &web::Data<AppState>,
    actor: Actor,
    id: i64,
) -> Result<WalkListSummary, ApiError> {
    let now = db::now();
    let summary = store::transaction(&state.db, move |conn| {
        let list = use_case::close(conn, actor, id, now)?;
        summarise(conn, &list, now)
    })
    .await?;
    state.push_wakeup.notify_one();
    Ok(summary)
}

/// `DELETE /api/v1/walk-lists/{id}`: a list nobody knocked on is deleted.
pub async fn delete(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let actor = Actor::from(&auth);
    let id = path.into_inner();
    store::transaction(&state.db, move |conn| {
        Ok(use_case::delete(conn, actor, id, db::now())?)
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
    let summary = recycle_list(&state, Actor::from(&auth), path.into_inner()).await?;
    Ok(HttpResponse::Created().json(summary))
}

/// Recycles the list (see [`use_case::recycle`]) and tells its holders; for the API
/// and the organizer page alike.
pub(crate) async fn recycle_list(
    state: &web::Data<AppState>,
    actor: Actor,
    id: i64,
) -> Result<WalkListSummary, ApiError> {
    let (list, assignees) = use_case::recycle(&state.db, actor, id, list_ttl(state)).await?;
    state.push_wakeup.notify_one();
    Ok(summary(&list, assignees, db::now()))
}
