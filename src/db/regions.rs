//! Regions: named areas of a campaign (a county, a ward), each with a director.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::regions;
use crate::domain::PageRequest;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = regions)]
pub struct Region {
    pub id: i64,
    pub campaign_id: i64,
    pub name: String,
    pub director_id: Option<i64>,
    pub created_at: NaiveDateTime,
    /// GeoJSON Polygon or MultiPolygon, already validated.
    pub area: Option<String>,
}

pub fn insert(
    conn: &mut DbConnection,
    campaign_id: i64,
    name: &str,
    director_id: Option<i64>,
    area: Option<&str>,
) -> QueryResult<Region> {
    diesel::insert_into(regions::table)
        .values((
            regions::campaign_id.eq(campaign_id),
            regions::name.eq(name),
            regions::director_id.eq(director_id),
            regions::area.eq(area),
            regions::created_at.eq(super::now()),
        ))
        .returning(regions::all_columns)
        .get_result(conn)
}

pub fn find(conn: &mut DbConnection, campaign_id: i64, id: i64) -> QueryResult<Option<Region>> {
    regions::table
        .filter(regions::campaign_id.eq(campaign_id))
        .filter(regions::id.eq(id))
        .select(Region::as_select())
        .first(conn)
        .optional()
}

pub fn name_taken(conn: &mut DbConnection, campaign_id: i64, name: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        regions::table
            .filter(regions::campaign_id.eq(campaign_id))
            .filter(regions::name.eq(name)),
    ))
    .get_result(conn)
}

pub fn list(
    conn: &mut DbConnection,
    campaign_id: i64,
    page: &PageRequest,
) -> QueryResult<Vec<Region>> {
    let mut query = regions::table
        .filter(regions::campaign_id.eq(campaign_id))
        .select(Region::as_select())
        .order(regions::id)
        .limit(page.fetch())
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(regions::id.gt(after));
    }
    query.load(conn)
}
