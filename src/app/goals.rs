//! Goals and pace: a director sets so many doors or contacts for a region (or the whole
//! campaign) over days of campaign time; progress against it is read from the same
//! figures as `GET /progress`, and the pace achieved is set against the pace needed
//! (see [`crate::progress::pace`]).

use chrono::{NaiveDate, NaiveDateTime};

use super::{Actor, AppError};
use crate::db::progress::{Filter, GroupBy};
use crate::db::{self, DbConnection, goals::Goal};
use crate::domain::Role;
use crate::progress::{Pace, day_start, pace};

/// The longest range a goal covers.
pub const MAX_GOAL_DAYS: i64 = 366;
/// The largest target.
pub const MAX_TARGET: i64 = 100_000_000;

/// What a goal counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Distinct doors knocked.
    Doors,
    /// Knocks with the result `contacted`.
    Contacts,
}

impl Metric {
    pub fn parse(text: &str) -> Option<Metric> {
        match text {
            "doors" => Some(Metric::Doors),
            "contacts" => Some(Metric::Contacts),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Doors => "doors",
            Metric::Contacts => "contacts",
        }
    }
}

/// A goal as asked for.
#[derive(Debug, Clone)]
pub struct GoalRequest {
    pub region_id: Option<i64>,
    pub metric: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub target: i64,
}

/// The region the actor is bound to, if any (admins and region-less staff: none).
fn own_region(conn: &mut DbConnection, actor: Actor) -> Result<Option<i64>, AppError> {
    if actor.role == Role::Admin {
        return Ok(None);
    }
    let me = db::users::find(conn, actor.campaign_id, actor.user_id)?
        .ok_or(AppError::NotFound("user"))?;
    Ok(me.region_id)
}

/// Sets a goal (director or above; a director of a region only for that region).
pub fn create(conn: &mut DbConnection, actor: Actor, req: GoalRequest) -> Result<Goal, AppError> {
    let metric = Metric::parse(&req.metric)
        .ok_or_else(|| AppError::invalid("metric", "metric is doors or contacts"))?;
    let sensible = |d: NaiveDate| (2000..=2200).contains(&chrono::Datelike::year(&d));
    if !sensible(req.starts_on) || !sensible(req.ends_on) {
        return Err(AppError::invalid(
            "starts_on",
            "goal dates are between 2000 and 2200",
        ));
    }
    if req.ends_on < req.starts_on {
        return Err(AppError::invalid(
            "ends_on",
            "ends_on is on or after starts_on",
        ));
    }
    if (req.ends_on - req.starts_on).num_days() >= MAX_GOAL_DAYS {
        return Err(AppError::invalid(
            "ends_on",
            format!("a goal covers at most {MAX_GOAL_DAYS} days"),
        ));
    }
    if !(1..=MAX_TARGET).contains(&req.target) {
        return Err(AppError::invalid(
            "target",
            format!("target is 1 to {MAX_TARGET}"),
        ));
    }
    if let Some(own) = own_region(conn, actor)?
        && req.region_id != Some(own)
    {
        return Err(AppError::Forbidden(
            "you set goals only for your own region".into(),
        ));
    }
    if let Some(region) = req.region_id
        && db::regions::find(conn, actor.campaign_id, region)?.is_none()
    {
        return Err(AppError::invalid(
            "region_id",
            "no such region in this campaign",
        ));
    }
    let goal = db::goals::insert(
        conn,
        actor.campaign_id,
        &db::goals::NewGoal {
            region_id: req.region_id,
            metric: metric.as_str(),
            starts_on: req.starts_on,
            ends_on: req.ends_on,
            target: req.target,
            created_by: actor.user_id,
        },
    )?;
    actor.audit(
        conn,
        "goal.create",
        ("goal", Some(goal.id)),
        serde_json::json!({
            "region_id": goal.region_id, "metric": goal.metric, "target": goal.target,
            "starts_on": goal.starts_on, "ends_on": goal.ends_on,
        }),
    )?;
    Ok(goal)
}

/// A goal with how it stands.
#[derive(Debug, Clone)]
pub struct Standing {
    pub goal: Goal,
    /// When the range starts and ends (the campaign's midnights, UTC).
    pub window: (NaiveDateTime, NaiveDateTime),
    pub pace: Pace,
}

/// How `goal` stands at `now`.
pub fn standing(
    conn: &mut DbConnection,
    goal: Goal,
    now: NaiveDateTime,
) -> Result<Standing, AppError> {
    let zone = db::campaigns::time_zone(conn, goal.campaign_id)?;
    let start = day_start(zone, goal.starts_on);
    let end = day_start(zone, goal.ends_on + chrono::Duration::days(1));
    let filter = Filter {
        from: Some(start),
        to: Some(end),
        region_id: goal.region_id,
        ..Filter::default()
    };
    let figures = db::progress::figures(conn, goal.campaign_id, GroupBy::Campaign, &filter)?;
    let done = figures
        .values()
        .next()
        .map_or(0, |f| match Metric::parse(&goal.metric) {
            Some(Metric::Contacts) => f.contacts,
            _ => f.doors_knocked,
        });
    let pace = pace(goal.target, done, (start, end), now);
    Ok(Standing {
        goal,
        window: (start, end),
        pace,
    })
}

/// A page of the goals the actor may see (their region's, or all) with how each
/// stands.
pub fn list(
    conn: &mut DbConnection,
    actor: Actor,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<Standing>, AppError> {
    let region = own_region(conn, actor)?;
    let now = db::now();
    db::goals::list(conn, actor.campaign_id, region, after, limit)?
        .into_iter()
        .map(|g| standing(conn, g, now))
        .collect()
}

/// Removes a goal (director or above, within their region). Audited.
pub fn delete(conn: &mut DbConnection, actor: Actor, id: i64) -> Result<(), AppError> {
    let goal = db::goals::find(conn, actor.campaign_id, id)?.ok_or(AppError::NotFound("goal"))?;
    if let Some(own) = own_region(conn, actor)?
        && goal.region_id != Some(own)
    {
        return Err(AppError::NotFound("goal"));
    }
    db::goals::delete(conn, actor.campaign_id, id)?;
    actor.audit(
        conn,
        "goal.delete",
        ("goal", Some(id)),
        serde_json::json!({ "region_id": goal.region_id, "metric": goal.metric }),
    )?;
    Ok(())
}
