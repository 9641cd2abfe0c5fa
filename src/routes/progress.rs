//! Progress for directors: door knocks by region, turf, volunteer, day or H3 cell, a
//! hexagon heatmap, and this week's leaderboard. Directors and organizers with a region
//! see that region; admins see all; volunteers see only their own figures.

use actix_web::{HttpResponse, web};
use std::collections::BTreeMap;

use chrono::{Datelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::store;
use crate::auth::AuthUser;
use crate::db::names::{self, Named};
use crate::db::progress::{Figures, Filter, GroupBy};
use crate::db::{self, DbConnection};
use crate::domain::{Role, When};
use crate::error::ApiError;
use crate::progress::{VolunteerRate, unusual_contact_rates};
use crate::spatial::{cells, tiling};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgressQuery {
    group_by: Option<String>,
    resolution: Option<u8>,
    from: Option<When>,
    to: Option<When>,
    region_id: Option<i64>,
    turf_id: Option<i64>,
}

/// A time window as asked: instants, or campaign wall-clock times.
#[derive(Debug, Clone, Copy, Default)]
pub struct Window {
    pub from: Option<When>,
    pub to: Option<When>,
}

/// The filter with the window read in the campaign's time zone and the caller's scope
/// applied (see [`scoped_filter`]), and the zone.
pub fn resolve(
    conn: &mut DbConnection,
    auth: &AuthUser,
    mut f: Filter,
    window: Window,
) -> Result<(Filter, Tz), ApiError> {
    let zone = db::campaigns::time_zone(conn, auth.campaign_id)?;
    f.from = window.from.map(|w| w.utc(zone));
    f.to = window.to.map(|w| w.utc(zone));
    if let (Some(a), Some(b)) = (f.from, f.to)
        && a >= b
    {
        return Err(ApiError::validation("from", "from must be before to"));
    }
    Ok((scoped_filter(conn, auth, f)?, zone))
}

#[derive(Debug, Serialize)]
pub struct Row {
    pub key: Value,
    /// The region's, turf's or volunteer's name (not for days and cells).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub attempts: i64,
    pub doors_knocked: i64,
    pub contacts: i64,
    pub contact_rate: Option<f64>,
    /// Support IDs by answer: "1" (strong support) … "5" (strong oppose).
    pub support_ids: serde_json::Map<String, Value>,
    /// Answers to the campaign's choice questions: question key → choice → count.
    pub questions: BTreeMap<String, BTreeMap<String, i64>>,
    pub doors_remaining: Option<i64>,
    /// Attempts per hour in which the group knocked at all.
    pub pace_per_hour: Option<f64>,
}

pub(super) fn row(key: Value, f: &Figures) -> Row {
    let ratio = |a: i64, b: i64| (b > 0).then(|| (a as f64 / b as f64 * 1000.0).round() / 1000.0);
    Row {
        key,
        name: None,
        attempts: f.attempts,
        doors_knocked: f.doors_knocked,
        contacts: f.contacts,
        contact_rate: ratio(f.contacts, f.attempts),
        support_ids: (1..=5)
            .map(|i| (i.to_string(), Value::from(f.support_ids[i - 1])))
            .collect(),
        questions: {
            let mut q: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
            for ((question, choice), n) in &f.answers {
                q.entry(question.clone())
                    .or_default()
                    .insert(choice.clone(), *n);
            }
            q
        },
        doors_remaining: f.doors_remaining,
        pace_per_hour: ratio(f.attempts, f.active_hours),
    }
}

/// The caller's scope: volunteers see their own knocks; anyone with a region sees
/// that region (asking for another is 403); admins and region-less staff see all.
pub fn scoped_filter(
    conn: &mut DbConnection,
    auth: &AuthUser,
    mut f: Filter,
) -> Result<Filter, ApiError> {
    if auth.role == Role::Volunteer {
        f.user_id = Some(auth.user_id);
        return Ok(f);
    }
    if auth.role == Role::Admin {
        return Ok(f);
    }
    let me = db::users::find(conn, auth.campaign_id, auth.user_id)?
        .ok_or_else(|| ApiError::Unauthorized("the user no longer exists".into()))?;
    if let Some(region) = me.region_id {
        if f.region_id.is_some_and(|r| r != region) {
            return Err(ApiError::forbidden(
                "you see only your own region's progress",
            ));
        }
        f.region_id = Some(region);
    }
    Ok(f)
}

fn parse_query(q: &ProgressQuery) -> Result<(GroupBy, Filter, Window), ApiError> {
    let resolution = q.resolution.unwrap_or(8);
    // Finer than 11 (about 2,000 m²) would be a row per door, not a picture.
    if resolution > 11 {
        return Err(ApiError::validation("resolution", "resolution is 0 to 11"));
    }
    let group = group_by(q.group_by.as_deref().unwrap_or("turf"), resolution)?;
    Ok((
        group,
        Filter {
            region_id: q.region_id,
            turf_id: q.turf_id,
            ..Filter::default()
        },
        Window {
            from: q.from,
            to: q.to,
        },
    ))
}

/// The grouping `group_by=` names (the pages' progress table asks the same way).
pub(crate) fn group_by(name: &str, resolution: u8) -> Result<GroupBy, ApiError> {
    Ok(match name {
        "campaign" => GroupBy::Campaign,
        "region" => GroupBy::Region,
        "turf" => GroupBy::Turf,
        "walk_list" => GroupBy::WalkList,
        "volunteer" => GroupBy::Volunteer,
        "day" => GroupBy::Day,
        "cell" => GroupBy::Cell(resolution),
        _ => {
            return Err(ApiError::validation(
                "group_by",
                "group_by is one of campaign, region, turf, walk_list, volunteer, day, cell",
            ));
        }
    })
}

fn key_value(group: GroupBy, key: Option<String>) -> Value {
    let Some(key) = key else { return Value::Null };
    match group {
        GroupBy::Day | GroupBy::Campaign => Value::from(key),
        GroupBy::Cell(_) => key
            .parse::<i64>()
            .ok()
            .and_then(cells::from_db)
            .map_or(Value::Null, |c| Value::from(c.to_string())),
        _ => key.parse::<i64>().map_or(Value::Null, Value::from),
    }
}

pub async fn progress(
    state: web::Data<AppState>,
    auth: AuthUser,
    query: web::Query<ProgressQuery>,
) -> Result<HttpResponse, ApiError> {
    let (group, filter, window) = parse_query(&query)?;
    let (items, zone) = store::run(&state.db, move |conn| {
        rows(conn, &auth, group, filter, window)
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({
        "group_by": query.group_by.as_deref().unwrap_or("turf"),
        "time_zone": zone.name(),
        "items": items,
    })))
}

/// The rows of `GET /progress` (named, in key order) and the campaign's zone: the
/// dashboard's table reads the same.
pub(crate) fn rows(
    conn: &mut DbConnection,
    auth: &AuthUser,
    group: GroupBy,
    filter: Filter,
    window: Window,
) -> Result<(Vec<Row>, Tz), ApiError> {
    let (filter, zone) = resolve(conn, auth, filter, window)?;
    let mut rows: Vec<Row> = db::progress::figures(conn, auth.campaign_id, group, &filter)?
        .into_iter()
        .map(|(k, f)| row(key_value(group, k), &f))
        .collect();
    // Ids in numeric order (the database groups them as text), days and cells as text.
    rows.sort_by(|a, b| match (a.key.as_i64(), b.key.as_i64()) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => a.key.as_str().cmp(&b.key.as_str()),
    });
    let named = match group {
        GroupBy::Region => Some(Named::Region),
        GroupBy::Turf => Some(Named::Turf),
        GroupBy::WalkList => Some(Named::WalkList),
        GroupBy::Volunteer => Some(Named::User),
        GroupBy::Campaign | GroupBy::Day | GroupBy::Cell(_) => None,
    };
    if let Some(kind) = named {
        let names = names::of(
            conn,
            auth.campaign_id,
            kind,
            rows.iter().filter_map(|r| r.key.as_i64()),
        )?;
        for r in &mut rows {
            r.name = r.key.as_i64().and_then(|id| names.get(&id).cloned());
        }
    }
    Ok((rows, zone))
}

/// Progress by H3 cell as a GeoJSON FeatureCollection of hexagons.
pub async fn heatmap(
    state: web::Data<AppState>,
    auth: AuthUser,
    query: web::Query<ProgressQuery>,
) -> Result<HttpResponse, ApiError> {
    let resolution = query.resolution.unwrap_or(8);
    if !(5..=11).contains(&resolution) {
        return Err(ApiError::validation("resolution", "resolution is 5 to 11"));
    }
    if query.group_by.is_some() {
        return Err(ApiError::validation(
            "group_by",
            "the heatmap is always by cell",
        ));
    }
    let (_, filter, window) = parse_query(&query)?;
    let features = store::run(&state.db, move |conn| {
        let mut features = Vec::new();
        for (cell, f) in cell_figures(conn, &auth, resolution, filter, window)? {
            // One hexagon is one Polygon (cell_polygon gives a MultiPolygon of one).
            let Some(hexagon) = tiling::cell_polygon(cell).0.into_iter().next() else {
                continue;
            };
            let geometry = geojson::Geometry::new(geojson::GeometryValue::from(&hexagon));
            let props = serde_json::to_value(row(Value::from(cell.to_string()), &f))
                .unwrap_or(Value::Null);
            features.push(json!({ "type": "Feature", "id": cell.to_string(), "geometry": geometry, "properties": props }));
        }
        Ok(features)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/geo+json")
        .json(json!({ "type": "FeatureCollection", "features": features })))
}

/// The figures per H3 cell of `resolution` in the caller's scope, as the heatmap draws
/// them (the dashboard's map reads the same).
pub(crate) fn cell_figures(
    conn: &mut DbConnection,
    auth: &AuthUser,
    resolution: u8,
    filter: Filter,
    window: Window,
) -> Result<Vec<(h3o::CellIndex, Figures)>, ApiError> {
    let (filter, _) = resolve(conn, auth, filter, window)?;
    let rows = db::progress::figures(conn, auth.campaign_id, GroupBy::Cell(resolution), &filter)?;
    Ok(rows
        .into_iter()
        .filter_map(|(key, f)| {
            let cell = key
                .and_then(|k| k.parse::<i64>().ok())
                .and_then(cells::from_db)?;
            Some((cell, f))
        })
        .collect())
}

/// The leaderboard takes no query parameters; naming one is a mistake worth a 422.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaderboardQuery {}

/// Doors and contacts per volunteer this week (from Monday 00:00 UTC), most doors first.
pub async fn leaderboard(
    state: web::Data<AppState>,
    auth: AuthUser,
    _query: web::Query<LeaderboardQuery>,
) -> Result<HttpResponse, ApiError> {
    let (items, monday, zone) = store::run(&state.db, move |conn| leaders(conn, &auth)).await?;
    Ok(HttpResponse::Ok().json(json!({
        "since": monday.and_utc(),
        "time_zone": zone.name(),
        "items": items,
    })))
}

/// One volunteer on the leaderboard.
#[derive(Debug, Serialize)]
pub struct Leader {
    pub user_id: i64,
    pub name: Option<String>,
    pub doors: i64,
    pub contacts: i64,
}

/// This week's leaderboard in the caller's scope, since when, and the campaign's zone.
pub(crate) fn leaders(
    conn: &mut DbConnection,
    auth: &AuthUser,
) -> Result<(Vec<Leader>, chrono::NaiveDateTime, Tz), ApiError> {
    let zone = db::campaigns::time_zone(conn, auth.campaign_id)?;
    let today = crate::progress::local(zone, Utc::now().naive_utc()).date();
    let monday = crate::progress::day_start(
        zone,
        today - chrono::Duration::days(i64::from(today.weekday().num_days_from_monday())),
    );
    let filter = scoped_filter(
        conn,
        auth,
        Filter {
            from: Some(monday),
            ..Filter::default()
        },
    )?;
    let rows = db::progress::figures(conn, auth.campaign_id, GroupBy::Volunteer, &filter)?;
    let volunteers: Vec<(i64, Figures)> = rows
        .into_iter()
        .filter(|(_, f)| f.attempts > 0)
        .filter_map(|(key, f)| Some((key?.parse::<i64>().ok()?, f)))
        .collect();
    let names = names::of(
        conn,
        auth.campaign_id,
        Named::User,
        volunteers.iter().map(|v| v.0),
    )?;
    let mut items: Vec<Leader> = volunteers
        .into_iter()
        .map(|(user_id, f)| Leader {
            user_id,
            name: names.get(&user_id).cloned(),
            doors: f.doors_knocked,
            contacts: f.contacts,
        })
        .collect();
    items.sort_by_key(|i| std::cmp::Reverse(i.doors));
    Ok((items, monday, zone))
}

/// Most doors one volunteer plausibly knocks in an hour.
pub const MAX_DOORS_PER_HOUR: i64 = 30;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlagsQuery {
    from: Option<When>,
    to: Option<When>,
    region_id: Option<i64>,
    turf_id: Option<i64>,
}

/// Knocks far from their door, volunteers with more than 30 doors in an hour, and
/// contact rates far from the other volunteers' (see
/// [`crate::progress::unusual_contact_rates`]).
pub async fn quality_flags(
    state: web::Data<AppState>,
    auth: AuthUser,
    query: web::Query<FlagsQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = ProgressQuery {
        group_by: None,
        resolution: None,
        from: query.from,
        to: query.to,
        region_id: query.region_id,
        turf_id: query.turf_id,
    };
    let (_, filter, window) = parse_query(&q)?;
    let body = store::run(&state.db, move |conn| flags(conn, &auth, filter, window)).await?;
    Ok(HttpResponse::Ok().json(body))
}

/// The body of `GET /quality-flags` for the caller's scope (the dashboard lists the
/// same).
pub(crate) fn flags(
    conn: &mut DbConnection,
    auth: &AuthUser,
    filter: Filter,
    window: Window,
) -> Result<Value, ApiError> {
    let (filter, _) = resolve(conn, auth, filter, window)?;
    let far = db::progress::far_knocks(conn, auth.campaign_id, &filter, 200)?;
    let busy = db::progress::busy_hours(conn, auth.campaign_id, &filter, MAX_DOORS_PER_HOUR)?;
    let per_volunteer = db::progress::figures(conn, auth.campaign_id, GroupBy::Volunteer, &filter)?;
    let volunteers: Vec<VolunteerRate> = per_volunteer
        .iter()
        .filter_map(|(key, f)| {
            Some(VolunteerRate {
                user_id: key.as_deref()?.parse().ok()?,
                attempts: f.attempts,
                contacts: f.contacts,
            })
        })
        .collect();
    let unusual = unusual_contact_rates(&volunteers);
    let users = names::of(
        conn,
        auth.campaign_id,
        Named::User,
        far.iter()
            .map(|k| k.user_id)
            .chain(busy.iter().map(|b| b.user_id))
            .chain(unusual.iter().map(|u| u.user_id)),
    )?;
    let addresses = names::addresses(conn, auth.campaign_id, far.iter().map(|k| k.door_id))?;
    let far: Vec<Value> = far
        .into_iter()
        .map(|k| {
            json!({
                "knock_id": k.knock_id,
                "user_id": k.user_id,
                "user_name": users.get(&k.user_id),
                "door_id": k.door_id,
                "address": addresses.get(&k.door_id),
                "distance_m": k.distance_m,
                "location_quality": k.location_quality,
                "knocked_at": k.knocked_at.and_utc(),
            })
        })
        .collect();
    let busy: Vec<Value> = busy
        .into_iter()
        .map(|b| {
            json!({
                "user_id": b.user_id,
                "user_name": users.get(&b.user_id),
                "hour": b.hour,
                "doors": b.doors,
            })
        })
        .collect();
    let round = |x: f64, places: f64| (x * places).round() / places;
    let rates: Vec<Value> = unusual
        .into_iter()
        .map(|u| {
            json!({
                "user_id": u.user_id,
                "user_name": users.get(&u.user_id),
                "attempts": u.attempts,
                "contact_rate": round(u.contact_rate, 1000.0),
                "others_rate": round(u.others_rate, 1000.0),
                "campaign_rate": round(u.campaign_rate, 1000.0),
                "z": round(u.z, 100.0),
            })
        })
        .collect();
    Ok(json!({
        "far_from_door": far,
        "too_many_doors_per_hour": busy,
        "unusual_contact_rates": rates,
    }))
}
