//! Progress for directors: door knocks by region, turf, volunteer, day or H3 cell, a
//! hexagon heatmap, and this week's leaderboard (`app::progress`). Directors and
//! organizers with a region see that region; admins see all; volunteers see only their
//! own figures.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::store;
use crate::app::Actor;
use crate::app::progress::{Window, cell_figures, flags, group_by, leaders, row, rows};
use crate::auth::AuthUser;
use crate::db::progress::{Filter, GroupBy};
use crate::domain::When;
use crate::error::ApiError;
use crate::spatial::tiling;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgressQuery {
    group_by: Option<String>,
    resolution: Option<u8>,
    from: Option<When>,
    to: Option<When>,
    region_id: Option<i64>,
    turf_id: Option<i64>,
}

fn parse_query(q: &ProgressQuery) -> Result<(GroupBy, Filter, Window), ApiError> {
    let resolution = q.resolution.unwrap_or(8);
    // Finer than 11 (about 2,000 m²) would be a row per door, not a picture.
    if resolution > 11 {
        return Err(ApiError::validation("resolution", "resolution is 0 to 11"));
    }
    let group = group_by(q.group_by.as_deref().unwrap_or("turf"), resolution)?;
    Ok((
        group,
        Filter {
            region_id: q.region_id,
            turf_id: q.turf_id,
            ..Filter::default()
        },
        Window {
            from: q.from,
            to: q.to,
        },
    ))
}

pub async fn progress(
    state: web::Data<AppState>,
    auth: AuthUser,
    query: web::Query<ProgressQuery>,
) -> Result<HttpResponse, ApiError> {
    let (group, filter, window) = parse_query(&query)?;
    let (items, zone) = store::run(&state.db, move |conn| {
        Ok(rows(conn, Actor::from(&auth), group, filter, window)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({
        "group_by": query.group_by.as_deref().unwrap_or("turf"),
        "time_zone": zone.name(),
        "items": items,
    })))
}

/// Progress by H3 cell as a GeoJSON FeatureCollection of hexagons.
pub async fn heatmap(
    state: web::Data<AppState>,
    auth: AuthUser,
    query: web::Query<ProgressQuery>,
) -> Result<HttpResponse, ApiError> {
    let resolution = query.resolution.unwrap_or(8);
    if !(5..=11).contains(&resolution) {
        return Err(ApiError::validation("resolution", "resolution is 5 to 11"));
    }
    if query.group_by.is_some() {
        return Err(ApiError::validation(
            "group_by",
            "the heatmap is always by cell",
        ));
    }
    let (_, filter, window) = parse_query(&query)?;
    let features = store::run(&state.db, move |conn| {
        let mut features = Vec::new();
        for (cell, f) in cell_figures(conn, Actor::from(&auth), resolution, filter, window)? {
            // One hexagon is one Polygon (cell_polygon gives a MultiPolygon of one).
            let Some(hexagon) = tiling::cell_polygon(cell).0.into_iter().next() else {
                continue;
            };
            let geometry = geojson::Geometry::new(geojson::GeometryValue::from(&hexagon));
            let props = serde_json::to_value(row(Value::from(cell.to_string()), &f))
                .unwrap_or(Value::Null);
            features.push(json!({ "type": "Feature", "id": cell.to_string(), "geometry": geometry, "properties": props }));
        }
        Ok(features)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/geo+json")
        .json(json!({ "type": "FeatureCollection", "features": features })))
}

/// The leaderboard takes no query parameters; naming one is a mistake worth a 422.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaderboardQuery {}

/// Doors and contacts per volunteer this week (from Monday 00:00 UTC), most doors first.
pub async fn leaderboard(
    state: web::Data<AppState>,
    auth: AuthUser,
    _query: web::Query<LeaderboardQuery>,
) -> Result<HttpResponse, ApiError> {
    let (items, monday, zone) = store::run(&state.db, move |conn| {
        Ok(leaders(conn, Actor::from(&auth))?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({
        "since": monday.and_utc(),
        "time_zone": zone.name(),
        "items": items,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlagsQuery {
    from: Option<When>,
    to: Option<When>,
    region_id: Option<i64>,
    turf_id: Option<i64>,
}

/// Knocks far from their door, volunteers with more than 30 doors in an hour, and
/// contact rates far from the other volunteers' (see
/// [`crate::progress::unusual_contact_rates`]).
pub async fn quality_flags(
    state: web::Data<AppState>,
    auth: AuthUser,
    query: web::Query<FlagsQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = ProgressQuery {
        group_by: None,
        resolution: None,
        from: query.from,
        to: query.to,
        region_id: query.region_id,
        turf_id: query.turf_id,
    };
    let (_, filter, window) = parse_query(&q)?;
    let body = store::run(&state.db, move |conn| {
        Ok(flags(conn, Actor::from(&auth), filter, window)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}
