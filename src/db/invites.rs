//! Invites: one-time codes with which a newly created user sets their password.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::invites;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = invites)]
pub struct Invite {
    pub id: i64,
    pub campaign_id: i64,
    pub user_id: i64,
    pub code_hash: String,
    pub created_by: Option<i64>,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

pub fn insert(
    conn: &mut DbConnection,
    campaign_id: i64,
    user_id: i64,
    code_hash: &str,
    created_by: Option<i64>,
    expires_at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::insert_into(invites::table)
        .values((
            invites::campaign_id.eq(campaign_id),
            invites::user_id.eq(user_id),
            invites::code_hash.eq(code_hash),
            invites::created_by.eq(created_by),
            invites::expires_at.eq(expires_at),
            invites::created_at.eq(super::now()),
        ))
        .execute(conn)
}

/// An invite that can still be used: not used, not expired.
pub fn find_usable(
    conn: &mut DbConnection,
    campaign_id: i64,
    code_hash: &str,
) -> QueryResult<Option<Invite>> {
    invites::table
        .filter(invites::campaign_id.eq(campaign_id))
        .filter(invites::code_hash.eq(code_hash))
        .filter(invites::used_at.is_null())
        .filter(invites::expires_at.gt(super::now()))
        .select(Invite::as_select())
        .first(conn)
        .optional()
}

/// Uses the invite up; false when a concurrent request already did.
pub fn mark_used(conn: &mut DbConnection, campaign_id: i64, id: i64) -> QueryResult<bool> {
    let n = diesel::update(
        invites::table
            .filter(invites::campaign_id.eq(campaign_id))
            .filter(invites::id.eq(id))
            .filter(invites::used_at.is_null()),
    )
    .set(invites::used_at.eq(super::now()))
    .execute(conn)?;
    Ok(n == 1)
}
