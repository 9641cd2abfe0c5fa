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
    /// Whether the region has an area (for auto-cut by region).
    pub has_area: bool,
}

impl From<db::regions::Region> for RegionView {
    fn from(r: db::regions::Region) -> Self {
        RegionView {
            id: r.id,
            campaign_id: r.campaign_id,
            name: r.name,
            director_id: r.director_id,
            created_at: utc(r.created_at),
            has_area: r.has_area,
        }
    }
}

/// A door as organizers see it; `cell` is the resolution-15 H3 index in hex.
#[derive(Debug, Serialize)]
pub struct DoorView {
    pub id: i64,
    pub street: String,
    pub housenumber: String,
    pub unit: String,
    pub postcode: String,
    pub city: String,
    pub lat: f64,
    pub lng: f64,
    pub cell: String,
    pub do_not_walk: bool,
    pub last_contact_at: Option<DateTime<Utc>>,
}

impl From<db::people::Door> for DoorView {
    fn from(d: db::people::Door) -> Self {
        DoorView {
            id: d.id,
            cell: crate::spatial::cells::from_db(d.cell)
                .map_or_else(String::new, |c| c.to_string()),
            street: d.street,
            housenumber: d.housenumber,
            unit: d.unit,
            postcode: d.postcode,
            city: d.city,
            lat: d.lat,
            lng: d.lng,
            do_not_walk: d.do_not_walk,
            last_contact_at: d.last_contact_at.map(utc),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct PersonView {
    pub id: i64,
    pub external_id: String,
    pub door_id: i64,
    pub first_name: String,
    pub last_name: String,
    pub party: Option<String>,
    pub birth_year: Option<i64>,
    pub phone: Option<String>,
    pub do_not_walk: bool,
    pub deceased: bool,
    pub moved: bool,
    /// The imported score, from the voter file.
    pub support_score: Option<f64>,
    /// The supporter score in use now (see `GET /people/{id}/score`).
    pub score: Option<f64>,
    pub turnout_score: Option<f64>,
    pub last_contact_at: Option<DateTime<Utc>>,
}

impl PersonView {
    /// The person as stored, with their current score.
    pub fn new(p: db::people::Person, score: Option<f64>) -> Self {
        PersonView {
            id: p.id,
            external_id: p.external_id,
            door_id: p.door_id,
            first_name: p.first_name,
            last_name: p.last_name,
            party: p.party,
            birth_year: p.birth_year,
            phone: p.phone,
            do_not_walk: p.do_not_walk,
            deceased: p.deceased,
            moved: p.moved,
            support_score: p.support_score,
            score,
            turnout_score: p.turnout_score,
            last_contact_at: p.last_contact_at.map(utc),
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
