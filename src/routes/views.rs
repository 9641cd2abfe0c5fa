//! What the API shows of stored rows: the JSON shapes shared by several handlers.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;

use crate::db;
use crate::domain::Role;
use crate::error::ApiError;

/// Stored times are UTC without zone; the API gives them as RFC 3339 with `Z`.
pub fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

#[derive(Debug, Serialize)]
pub struct UserView {
    pub id: i64,
    pub campaign_id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub region_id: Option<i64>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<db::users::User> for UserView {
    type Error = ApiError;

    fn try_from(u: db::users::User) -> Result<Self, ApiError> {
        let role = u.role.parse().map_err(|_| {
            ApiError::Internal(anyhow::anyhow!("user {} has unknown role {}", u.id, u.role))
        })?;
        Ok(UserView {
            id: u.id,
            campaign_id: u.campaign_id,
            email: u.email,
            name: u.name,
            role,
            region_id: u.region_id,
            active: u.active,
            created_at: utc(u.created_at),
            updated_at: utc(u.updated_at),
        })
    }
}

#[derive(Debug, Serialize)]
pub struct RegionView {
    pub id: i64,
    pub campaign_id: i64,
    pub name: String,
    pub director_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

impl From<db::regions::Region> for RegionView {
    fn from(r: db::regions::Region) -> Self {
        RegionView {
            id: r.id,
            campaign_id: r.campaign_id,
            name: r.name,
            director_id: r.director_id,
            created_at: utc(r.created_at),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct DeviceView {
    pub token: String,
    pub platform: String,
    pub last_seen_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl From<db::devices::Device> for DeviceView {
    fn from(d: db::devices::Device) -> Self {
        DeviceView {
            token: d.token,
            platform: d.platform,
            last_seen_at: utc(d.last_seen_at),
            created_at: utc(d.created_at),
        }
    }
}
