//! Regions: named areas of a campaign (a county, a ward), each with a director.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::regions;
use crate::domain::PageRequest;

/// A region without its area: a boundary may be megabytes of GeoJSON, which lists and
/// lookups must not read ([`area_of`] reads it where it is used).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = regions)]
pub struct Region {
    pub id: i64,
    pub campaign_id: i64,
    pub name: String,
    pub director_id: Option<i64>,
    pub created_at: NaiveDateTime,
    /// Whether the region has an area.
    #[diesel(select_expression = regions::area.is_not_null())]
    #[diesel(select_expression_type = diesel::dsl::IsNotNull<regions::area>)]
    pub has_area: bool,
}

/// A region's area (GeoJSON Polygon or MultiPolygon, validated when stored): `None` for
/// an unknown region, `Some(None)` for one without an area.
pub fn area_of(
    conn: &mut DbConnection,
    campaign_id: i64,
    id: i64,
) -> QueryResult<Option<Option<String>>> {
    regions::table
        .filter(regions::campaign_id.eq(campaign_id))
        .filter(regions::id.eq(id))
        .select(regions::area)
        .first(conn)
        .optional()
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
        .returning(regions::id)
        .get_result::<i64>(conn)
        .and_then(|id| find(conn, campaign_id, id)?.ok_or(diesel::result::Error::NotFound))
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
