//! Regions of a campaign: creating one with its director and, optionally, its area.

use super::{Actor, AppError};
use crate::db::regions::Region;
use crate::db::{self, DbConnection};
use crate::domain::{DisplayName, Role};
use crate::spatial::tiling::{self, AreaLimits};

/// A region to create; `area` is a GeoJSON Polygon or MultiPolygon.
#[derive(Debug)]
pub struct NewRegion {
    pub name: String,
    pub director_id: Option<i64>,
    pub area: Option<geojson::Geometry>,
}

/// A region whose name and area were checked, ready to store.
#[derive(Debug)]
pub struct CheckedRegion {
    name: DisplayName,
    director_id: Option<i64>,
    /// The area as GeoJSON text.
    area: Option<String>,
}

/// Checks a region's name and area before any transaction (an area is parsed against
/// `limits`, which takes a moment of CPU for a large one).
pub fn check(region: NewRegion, limits: &AreaLimits) -> Result<CheckedRegion, AppError> {
    let name = DisplayName::parse("name", &region.name)?;
    let area = match region.area {
        Some(geometry) => {
            tiling::parse_area(&geometry.value, limits)
                .map_err(|e| AppError::invalid("area", e.to_string()))?;
            Some(serde_json::to_string(&geometry).map_err(anyhow::Error::from)?)
        }
        None => None,
    };
    Ok(CheckedRegion {
        name,
        director_id: region.director_id,
        area,
    })
}

/// Creates a checked region; its name is unique in the campaign and its director, if
/// named, is an active director or admin of the campaign.
pub fn create(
    conn: &mut DbConnection,
    actor: Actor,
    region: CheckedRegion,
) -> Result<Region, AppError> {
    let CheckedRegion {
        name,
        director_id,
        area,
    } = region;
    if let Some(director) = director_id {
        let directs = db::users::find(conn, actor.campaign_id, director)?
            .is_some_and(|u| u.active && u.role.parse::<Role>().is_ok_and(|r| r >= Role::Director));
        if !directs {
            return Err(AppError::invalid(
                "director_id",
                "director_id must be an active director or admin of this campaign",
            ));
        }
    }
    if db::regions::name_taken(conn, actor.campaign_id, name.as_str())? {
        return Err(AppError::conflict(format!(
            "a region named {:?} already exists",
            name.as_str()
        )));
    }
    let region = db::regions::insert(
        conn,
        actor.campaign_id,
        name.as_str(),
        director_id,
        area.as_deref(),
    )?;
    actor.audit(
        conn,
        "region.create",
        ("region", Some(region.id)),
        serde_json::json!({ "name": region.name, "director_id": director_id }),
    )?;
    Ok(region)
}
