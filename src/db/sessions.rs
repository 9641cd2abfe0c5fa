//! Refresh tokens: one row per issued token, grouped in families (one family per
//! sign-in). Rotation marks the old row used; presenting a used token again means it
//! leaked, and the whole family is revoked.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::refresh_tokens;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshToken {
    pub id: i64,
    pub campaign_id: i64,
    pub user_id: i64,
    pub family_id: String,
    pub token_hash: String,
    pub expires_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub rotated: bool,
    pub created_at: NaiveDateTime,
}

pub fn insert(
    conn: &mut DbConnection,
    campaign_id: i64,
    user_id: i64,
    family_id: &str,
    token_hash: &str,
    expires_at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::campaign_id.eq(campaign_id),
            refresh_tokens::user_id.eq(user_id),
            refresh_tokens::family_id.eq(family_id),
            refresh_tokens::token_hash.eq(token_hash),
            refresh_tokens::expires_at.eq(expires_at),
            refresh_tokens::created_at.eq(super::now()),
        ))
        .execute(conn)
}

pub fn find_by_hash(
    conn: &mut DbConnection,
    campaign_id: i64,
    token_hash: &str,
) -> QueryResult<Option<RefreshToken>> {
    refresh_tokens::table
        .filter(refresh_tokens::campaign_id.eq(campaign_id))
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select(RefreshToken::as_select())
        .first(conn)
        .optional()
}

/// Marks a live token as rotated. Returns false when another request got there first:
/// only one of two concurrent refreshes with the same token may win.
pub fn rotate(conn: &mut DbConnection, campaign_id: i64, id: i64) -> QueryResult<bool> {
    let now = super::now();
    let n = diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::campaign_id.eq(campaign_id))
            .filter(refresh_tokens::id.eq(id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set((
        refresh_tokens::revoked_at.eq(now),
        refresh_tokens::rotated.eq(true),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn revoke_family(
    conn: &mut DbConnection,
    campaign_id: i64,
    family_id: &str,
) -> QueryResult<usize> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::campaign_id.eq(campaign_id))
            .filter(refresh_tokens::family_id.eq(family_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(super::now()))
    .execute(conn)
}

pub fn revoke_user(conn: &mut DbConnection, campaign_id: i64, user_id: i64) -> QueryResult<usize> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::campaign_id.eq(campaign_id))
            .filter(refresh_tokens::user_id.eq(user_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(super::now()))
    .execute(conn)
}
