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
