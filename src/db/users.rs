//! Users: everyone who signs in, each in exactly one campaign.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::users;
use crate::domain::PageRequest;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub campaign_id: i64,
    pub email: String,
    pub name: String,
    pub role: String,
    pub region_id: Option<i64>,
    pub password_hash: Option<String>,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub campaign_id: i64,
    pub email: &'a str,
    pub name: &'a str,
    pub role: &'a str,
    pub region_id: Option<i64>,
    pub password_hash: Option<&'a str>,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// What a change to a user may touch; `None` leaves a column alone.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub name: Option<String>,
    pub role: Option<String>,
    pub region_id: Option<Option<i64>>,
    pub active: Option<bool>,
    pub password_hash: Option<Option<String>>,
    pub updated_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut DbConnection, new: &NewUser<'_>) -> QueryResult<i64> {
    diesel::insert_into(users::table)
        .values(new)
        .returning(users::id)
        .get_result(conn)
}

/// A user of this campaign; another campaign's user is simply not found.
pub fn find(conn: &mut DbConnection, campaign_id: i64, id: i64) -> QueryResult<Option<User>> {
    users::table
        .filter(users::campaign_id.eq(campaign_id))
        .filter(users::id.eq(id))
        .select(User::as_select())
        .first(conn)
        .optional()
}

/// Active users with this email, in one campaign or (for login without one) in all.
pub fn find_active_by_email(
    conn: &mut DbConnection,
    email: &str,
    campaign_id: Option<i64>,
) -> QueryResult<Vec<User>> {
    let mut query = users::table
        .filter(users::email.eq(email))
        .filter(users::active.eq(true))
        .select(User::as_select())
        .order(users::id)
        .limit(20)
        .into_boxed();
    if let Some(c) = campaign_id {
        query = query.filter(users::campaign_id.eq(c));
    }
    query.load(conn)
}

/// Filters for the user list.
#[derive(Debug, Default, Clone)]
pub struct UserFilter {
    pub role: Option<String>,
    pub region_id: Option<i64>,
}

pub fn list(
    conn: &mut DbConnection,
    campaign_id: i64,
    filter: &UserFilter,
    page: &PageRequest,
) -> QueryResult<Vec<User>> {
    let mut query = users::table
        .filter(users::campaign_id.eq(campaign_id))
        .select(User::as_select())
        .order(users::id)
        .limit(page.fetch())
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(users::id.gt(after));
    }
    if let Some(role) = &filter.role {
        query = query.filter(users::role.eq(role.clone()));
    }
    if let Some(region) = filter.region_id {
        query = query.filter(users::region_id.eq(region));
    }
    query.load(conn)
}

pub fn update(
    conn: &mut DbConnection,
    campaign_id: i64,
    id: i64,
    changes: &UserChanges,
) -> QueryResult<usize> {
    diesel::update(
        users::table
            .filter(users::campaign_id.eq(campaign_id))
            .filter(users::id.eq(id)),
    )
    .set(changes)
    .execute(conn)
}
