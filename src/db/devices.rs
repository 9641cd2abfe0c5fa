//! Devices: FCM registration tokens of the users' phones and browsers.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::devices;
use crate::domain::PageRequest;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = devices)]
pub struct Device {
    pub id: i64,
    pub campaign_id: i64,
    pub user_id: i64,
    pub token: String,
    pub platform: String,
    pub last_seen_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

/// Whether a registration created a row or refreshed an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registered {
    Created,
    Refreshed,
}

/// Registers `token` for the user. A token identifies one app install, so within a
/// campaign it belongs to the latest user who registers it: another holder in this
/// campaign loses it. Campaigns keep their own rows: a phone used for two campaigns is
/// registered in each, and no registration touches another campaign's devices.
/// Call inside a transaction.
pub fn register(
    conn: &mut DbConnection,
    campaign_id: i64,
    user_id: i64,
    token: &str,
    platform: &str,
) -> QueryResult<(Registered, Device)> {
    let now = super::now();
    diesel::delete(
        devices::table
            .filter(devices::campaign_id.eq(campaign_id))
            .filter(devices::token.eq(token))
            .filter(devices::user_id.ne(user_id)),
    )
    .execute(conn)?;
    let updated = diesel::update(
        devices::table
            .filter(devices::campaign_id.eq(campaign_id))
            .filter(devices::token.eq(token)),
    )
    .set((
        devices::last_seen_at.eq(now),
        devices::platform.eq(platform),
    ))
    .returning(devices::all_columns)
    .get_result::<Device>(conn)
    .optional()?;
    if let Some(device) = updated {
        return Ok((Registered::Refreshed, device));
    }
    let device = diesel::insert_into(devices::table)
        .values((
            devices::campaign_id.eq(campaign_id),
            devices::user_id.eq(user_id),
            devices::token.eq(token),
            devices::platform.eq(platform),
            devices::last_seen_at.eq(now),
            devices::created_at.eq(now),
        ))
        .returning(devices::all_columns)
        .get_result(conn)?;
    Ok((Registered::Created, device))
}

pub fn list_for_user(
    conn: &mut DbConnection,
    campaign_id: i64,
    user_id: i64,
    page: &PageRequest,
) -> QueryResult<Vec<Device>> {
    devices::table
        .filter(devices::campaign_id.eq(campaign_id))
        .filter(devices::user_id.eq(user_id))
        .filter(devices::id.gt(page.after.unwrap_or(0)))
        .order(devices::id)
        .limit(page.fetch())
        .select(Device::as_select())
        .load(conn)
}

/// Removes the caller's own device; returns whether there was one.
pub fn delete_for_user(
    conn: &mut DbConnection,
    campaign_id: i64,
    user_id: i64,
    token: &str,
) -> QueryResult<bool> {
    let n = diesel::delete(
        devices::table
            .filter(devices::campaign_id.eq(campaign_id))
            .filter(devices::user_id.eq(user_id))
            .filter(devices::token.eq(token)),
    )
    .execute(conn)?;
    Ok(n > 0)
}
