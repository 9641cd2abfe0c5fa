//! Goals: so many doors or contacts in a region (or the campaign) over days of
//! campaign time.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::DbConnection;
use super::schema::goals;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = goals)]
pub struct Goal {
    pub id: i64,
    pub campaign_id: i64,
    pub region_id: Option<i64>,
    pub metric: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub target: i64,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
}

/// A goal to store.
pub struct NewGoal<'a> {
    pub region_id: Option<i64>,
    pub metric: &'a str,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub target: i64,
    pub created_by: i64,
}

pub fn insert(conn: &mut DbConnection, campaign_id: i64, g: &NewGoal) -> QueryResult<Goal> {
    let id: i64 = diesel::insert_into(goals::table)
        .values((
            goals::campaign_id.eq(campaign_id),
            goals::region_id.eq(g.region_id),
            goals::metric.eq(g.metric),
            goals::starts_on.eq(g.starts_on),
            goals::ends_on.eq(g.ends_on),
            goals::target.eq(g.target),
            goals::created_by.eq(Some(g.created_by)),
            goals::created_at.eq(super::now()),
        ))
        .returning(goals::id)
        .get_result(conn)?;
    find(conn, campaign_id, id)?.ok_or(diesel::result::Error::NotFound)
}

/// A page of the campaign's goals by id, only one region's when `region_id` is given.
pub fn list(
    conn: &mut DbConnection,
    campaign_id: i64,
    region_id: Option<i64>,
    after: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<Goal>> {
    let mut query = goals::table
        .filter(goals::campaign_id.eq(campaign_id))
        .filter(goals::id.gt(after.unwrap_or(0)))
        .into_boxed();
    if let Some(region) = region_id {
        query = query.filter(goals::region_id.eq(region));
    }
    query
        .order(goals::id)
        .limit(limit)
        .select(Goal::as_select())
        .load(conn)
}

pub fn find(conn: &mut DbConnection, campaign_id: i64, id: i64) -> QueryResult<Option<Goal>> {
    goals::table
        .filter(goals::campaign_id.eq(campaign_id))
        .filter(goals::id.eq(id))
        .select(Goal::as_select())
        .first(conn)
        .optional()
}

pub fn delete(conn: &mut DbConnection, campaign_id: i64, id: i64) -> QueryResult<bool> {
    let n = diesel::delete(
        goals::table
            .filter(goals::campaign_id.eq(campaign_id))
            .filter(goals::id.eq(id)),
    )
    .execute(conn)?;
    Ok(n > 0)
}
