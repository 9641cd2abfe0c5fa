//! Progress for directors as use cases: the figures by region, turf, walk list,
//! volunteer, day or H3 cell in the caller's scope and in campaign time, this week's
//! leaderboard and the quality flags. The API's handlers and the dashboard read the
//! same functions, so their figures agree.

use std::collections::BTreeMap;

use chrono::{Datelike, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use serde_json::{Value, json};

use super::{Actor, AppError};
use crate::db::names::{self, Named};
use crate::db::progress::{Figures, Filter, GroupBy};
use crate::db::{self, DbConnection};
use crate::domain::{Role, When};
use crate::progress::{VolunteerRate, unusual_contact_rates};
use crate::spatial::cells;

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
    actor: Actor,
    mut f: Filter,
    window: Window,
) -> Result<(Filter, Tz), AppError> {
    let zone = db::campaigns::time_zone(conn, actor.campaign_id)?;
    f.from = window.from.map(|w| w.utc(zone));
    f.to = window.to.map(|w| w.utc(zone));
    if let (Some(a), Some(b)) = (f.from, f.to)
        && a >= b
    {
        return Err(AppError::invalid("from", "from must be before to"));
    }
    Ok((scoped_filter(conn, actor, f)?, zone))
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

pub fn row(key: Value, f: &Figures) -> Row {
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
    actor: Actor,
    mut f: Filter,
) -> Result<Filter, AppError> {
    if actor.role == Role::Volunteer {
        f.user_id = Some(actor.user_id);
        return Ok(f);
    }
    if actor.role == Role::Admin {
        return Ok(f);
    }
    let me = db::users::find(conn, actor.campaign_id, actor.user_id)?
        .ok_or_else(|| AppError::Forbidden("the user no longer exists".into()))?;
    if let Some(region) = me.region_id {
        if f.region_id.is_some_and(|r| r != region) {
            return Err(AppError::Forbidden(
                "you see only your own region's progress".into(),
            ));
        }
        f.region_id = Some(region);
    }
    Ok(f)
}

/// The grouping `group_by=` names (the pages' progress table asks the same way).
pub fn group_by(name: &str, resolution: u8) -> Result<GroupBy, AppError> {
    Ok(match name {
        "campaign" => GroupBy::Campaign,
        "region" => GroupBy::Region,
        "turf" => GroupBy::Turf,
        "walk_list" => GroupBy::WalkList,
        "volunteer" => GroupBy::Volunteer,
        "day" => GroupBy::Day,
        "cell" => GroupBy::Cell(resolution),
        _ => {
            return Err(AppError::invalid(
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

/// The rows of `GET /progress` (named, in key order) and the campaign's zone: the
/// dashboard's table reads the same.
pub fn rows(
    conn: &mut DbConnection,
    actor: Actor,
    group: GroupBy,
    filter: Filter,
    window: Window,
) -> Result<(Vec<Row>, Tz), AppError> {
    let (filter, zone) = resolve(conn, actor, filter, window)?;
    let mut rows: Vec<Row> = db::progress::figures(conn, actor.campaign_id, group, &filter)?
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
            actor.campaign_id,
            kind,
            rows.iter().filter_map(|r| r.key.as_i64()),
        )?;
        for r in &mut rows {
            r.name = r.key.as_i64().and_then(|id| names.get(&id).cloned());
        }
    }
    Ok((rows, zone))
}

/// The figures per H3 cell of `resolution` in the caller's scope, as the heatmap draws
/// them (the dashboard's map reads the same).
pub fn cell_figures(
    conn: &mut DbConnection,
    actor: Actor,
    resolution: u8,
    filter: Filter,
    window: Window,
) -> Result<Vec<(h3o::CellIndex, Figures)>, AppError> {
    let (filter, _) = resolve(conn, actor, filter, window)?;
    let rows = db::progress::figures(conn, actor.campaign_id, GroupBy::Cell(resolution), &filter)?;
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

/// One volunteer on the leaderboard.
#[derive(Debug, Serialize)]
pub struct Leader {
    pub user_id: i64,
    pub name: Option<String>,
    pub doors: i64,
    pub contacts: i64,
}

/// This week's leaderboard in the caller's scope, since when, and the campaign's zone.
pub fn leaders(
    conn: &mut DbConnection,
    actor: Actor,
) -> Result<(Vec<Leader>, chrono::NaiveDateTime, Tz), AppError> {
    let zone = db::campaigns::time_zone(conn, actor.campaign_id)?;
    let today = crate::progress::local(zone, Utc::now().naive_utc()).date();
    let monday = crate::progress::day_start(
        zone,
        today - chrono::Duration::days(i64::from(today.weekday().num_days_from_monday())),
    );
    let filter = scoped_filter(
        conn,
        actor,
        Filter {
            from: Some(monday),
            ..Filter::default()
        },
    )?;
    let rows = db::progress::figures(conn, actor.campaign_id, GroupBy::Volunteer, &filter)?;
    let volunteers: Vec<(i64, Figures)> = rows
        .into_iter()
        .filter(|(_, f)| f.attempts > 0)
        .filter_map(|(key, f)| Some((key?.parse::<i64>().ok()?, f)))
        .collect();
    let names = names::of(
        conn,
        actor.campaign_id,
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

/// The body of `GET /quality-flags` for the caller's scope (the dashboard lists the
/// same).
pub fn flags(
    conn: &mut DbConnection,
    actor: Actor,
    filter: Filter,
    window: Window,
) -> Result<Value, AppError> {
    let (filter, _) = resolve(conn, actor, filter, window)?;
    let far = db::progress::far_knocks(conn, actor.campaign_id, &filter, 200)?;
    let busy = db::progress::busy_hours(conn, actor.campaign_id, &filter, MAX_DOORS_PER_HOUR)?;
    let per_volunteer =
        db::progress::figures(conn, actor.campaign_id, GroupBy::Volunteer, &filter)?;
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
        actor.campaign_id,
        Named::User,
        far.iter()
            .map(|k| k.user_id)
            .chain(busy.iter().map(|b| b.user_id))
            .chain(unusual.iter().map(|u| u.user_id)),
    )?;
    let addresses = names::addresses(conn, actor.campaign_id, far.iter().map(|k| k.door_id))?;
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
