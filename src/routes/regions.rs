//! Regions of the caller's campaign.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::store;
use super::views::RegionView;
use super::{PageQuery, Paged};
use crate::app::{Actor, regions};
use crate::auth::AuthUser;
use crate::db;
use crate::domain::Role;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::AppState;

pub async fn list(
    state: web::Data<AppState>,
    auth: AuthUser,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = query.page()?;
    let rows = store::run(&state.db, move |conn| {
        Ok(db::regions::list(conn, auth.campaign_id, &page)?)
    })
    .await?;
    let (rows, next_after) = page.finish(rows, |r| r.id);
    let items = rows.into_iter().map(RegionView::from).collect();
    Ok(HttpResponse::Ok().json(Paged::<RegionView> { items, next_after }))
}

pub async fn get(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let region = store::run(&state.db, move |conn| {
        Ok(db::regions::find(conn, auth.campaign_id, id)?)
    })
    .await?
    .ok_or_else(|| ApiError::not_found("region"))?;
    Ok(HttpResponse::Ok().json(RegionView::from(region)))
}

/// The region's boundary as a GeoJSON Feature (RFC 7946): its area as stored, or a
/// null geometry for a region drawn without one; name and director as properties.
pub async fn geojson(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let (region, area) = store::run(&state.db, move |conn| {
        let region = db::regions::find(conn, auth.campaign_id, id)?;
        let area = db::regions::area_of(conn, auth.campaign_id, id)?.flatten();
        Ok((region, area))
    })
    .await?;
    let region = region.ok_or_else(|| ApiError::not_found("region"))?;
    let geometry = match area {
        Some(text) => serde_json::from_str::<serde_json::Value>(&text)
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("stored region area: {e}")))?,
        None => serde_json::Value::Null,
    };
    Ok(HttpResponse::Ok()
        .content_type("application/geo+json")
        .json(serde_json::json!({
            "type": "Feature",
            "id": region.id,
            "geometry": geometry,
            "properties": {
                "id": region.id,
                "name": region.name,
                "director_id": region.director_id,
            },
        })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRegionBody {
    name: String,
    director_id: Option<i64>,
    /// Optional GeoJSON Polygon or MultiPolygon: the region's area, for auto-cut.
    area: Option<geojson::Geometry>,
}

pub async fn create(
    state: web::Data<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<NewRegionBody>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Director)?;
    let region = regions::NewRegion {
        name: body.name,
        director_id: body.director_id,
        area: body.area,
    };
    let region = regions::check(region, &state.settings.area_limits())?;
    let actor = Actor::from(&auth);
    let region = store::transaction(&state.db, move |conn| {
        Ok(regions::create(conn, actor, region)?)
    })
    .await?;
    Ok(HttpResponse::Created().json(RegionView::from(region)))
}
