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

/// Creates a region; its name is unique in the campaign and its director, if named, is
/// an active director or admin of the campaign.
pub fn create(
    conn: &mut DbConnection,
    actor: Actor,
    region: NewRegion,
    limits: &AreaLimits,
) -> Result<Region, AppError> {
    let name = DisplayName::parse("name", &region.name)?;
    let director_id = region.director_id;
    let area = match region.area {
        Some(geometry) => {
            tiling::parse_area(&geometry.value, limits)
                .map_err(|e| AppError::invalid("area", e.to_string()))?;
            Some(serde_json::to_string(&geometry).map_err(anyhow::Error::from)?)
        }
        None => None,
    };
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
