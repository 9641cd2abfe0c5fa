//! Campaigns: the tenants. Everything else belongs to exactly one.

use diesel::prelude::*;

use super::DbConnection;
use super::schema::campaigns;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = campaigns)]
pub struct Campaign {
    pub id: i64,
    pub name: String,
    pub created_at: chrono::NaiveDateTime,
    /// The IANA time zone its days, weeks and hours are counted in.
    pub time_zone: String,
}

/// The campaign's time zone (UTC for an unknown campaign or a name no longer known).
pub fn time_zone(conn: &mut DbConnection, campaign_id: i64) -> QueryResult<chrono_tz::Tz> {
    let zone: Option<String> = campaigns::table
        .find(campaign_id)
        .select(campaigns::time_zone)
        .first(conn)
        .optional()?;
    Ok(zone
        .and_then(|z| z.parse().ok())
        .unwrap_or(chrono_tz::Tz::UTC))
}

/// [`time_zone`] for counting knocks into the tallies: on PostgreSQL the campaign row
/// is share-locked until the transaction ends, so a change of zone (which rebuilds the
/// tallies) waits for batches counted under the old one, and batches after it see the
/// new one. (SQLite runs one write transaction at a time.)
pub fn time_zone_for_counting(
    conn: &mut DbConnection,
    campaign_id: i64,
) -> QueryResult<chrono_tz::Tz> {
    #[derive(QueryableByName)]
    struct Zone {
        #[diesel(sql_type = diesel::sql_types::Text)]
        time_zone: String,
    }
    if let DbConnection::Postgresql(c) = conn {
        let zone: Option<Zone> =
            diesel::sql_query("SELECT time_zone FROM campaigns WHERE id = $1 FOR SHARE")
                .bind::<diesel::sql_types::BigInt, _>(campaign_id)
                .get_result(c)
                .optional()?;
        return Ok(zone
            .and_then(|z| z.time_zone.parse().ok())
            .unwrap_or(chrono_tz::Tz::UTC));
    }
    time_zone(conn, campaign_id)
}

/// Sets the campaign's time zone (the caller rebuilds its tallies in the same
/// transaction).
pub fn set_time_zone(conn: &mut DbConnection, campaign_id: i64, zone: &str) -> QueryResult<usize> {
    diesel::update(campaigns::table.find(campaign_id))
        .set(campaigns::time_zone.eq(zone))
        .execute(conn)
}

/// Creates a campaign and returns its id.
pub fn insert(conn: &mut DbConnection, name: &str) -> QueryResult<i64> {
    diesel::insert_into(campaigns::table)
        .values((
            campaigns::name.eq(name),
            campaigns::created_at.eq(super::now()),
        ))
        .returning(campaigns::id)
        .get_result(conn)
}

pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<Campaign>> {
    campaigns::table
        .find(id)
        .select(Campaign::as_select())
        .first(conn)
        .optional()
}
