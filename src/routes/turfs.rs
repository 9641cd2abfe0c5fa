//! Turf: drawn from GeoJSON or cut automatically, and the doors and people inside.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use h3o::CellIndex;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::store;
use super::views::{DoorView, PersonView, utc};
use super::{PageQuery, Paged};
use crate::auth::AuthUser;
use crate::db::{self, DbConnection};
use crate::domain::{DisplayName, Role};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::lanes;
use crate::spatial::{autocut, overlap, tiling};
use crate::state::AppState;

#[derive(Debug, Serialize)]
pub struct TurfView {
    pub id: i64,
    pub name: String,
    pub region_id: Option<i64>,
    pub resolution: i64,
    pub cell_count: i64,
    pub door_count: i64,
    pub people_count: i64,
    /// `[min_lng, min_lat, max_lng, max_lat]`.
    pub bbox: [f64; 4],
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cells: Option<Vec<String>>,
    /// What looks wrong with a turf just made (only in the answer that made it).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
}

/// Something the caller probably wants to know about what they just did.
#[derive(Debug, Serialize)]
pub struct Warning {
    pub code: &'static str,
    pub message: &'static str,
}

fn view(
    conn: &mut DbConnection,
    turf: db::turfs::Turf,
    with_cells: bool,
) -> Result<TurfView, ApiError> {
    let (door_count, people_count) = db::turfs::counts(conn, turf.campaign_id, turf.id)?;
    let cells = if with_cells {
        Some(
            db::turfs::cells_of(conn, turf.campaign_id, turf.id)?
                .into_iter()
                .map(|c| c.to_string())
                .collect(),
        )
    } else {
        None
    };
    Ok(TurfView {
        id: turf.id,
        name: turf.name,
        region_id: turf.region_id,
        resolution: turf.resolution,
        cell_count: turf.cell_count,
        door_count,
        people_count,
        bbox: [turf.min_lng, turf.min_lat, turf.max_lng, turf.max_lat],
        created_at: utc(turf.created_at),
        cells,
        warnings: Vec::new(),
    })
}

fn area_error(err: tiling::AreaError, field: &str) -> ApiError {
    match err {
        tiling::AreaError::Invalid(message) => ApiError::validation(field, message),
        tiling::AreaError::TooManyVertices { count, limit } => ApiError::TooLarge {
            message: format!("the geometry has {count} vertices; the limit is {limit}"),
            details: json!({ "field": field, "limit": limit, "count": count }),
        },
        e @ tiling::AreaError::TooManyCells { limit, .. } => ApiError::TooLarge {
            message: e.to_string(),
            details: json!({ "field": field, "limit": limit }),
        },
    }
}

/// The campaign's turf with this id, or 404 (also for another campaign's turf).
fn find_turf(
    conn: &mut DbConnection,
    campaign_id: i64,
    id: i64,
) -> Result<db::turfs::Turf, ApiError> {
    db::turfs::get(conn, campaign_id, id)?.ok_or_else(|| ApiError::not_found("turf"))
}

/// Checks the region belongs to the campaign.
fn check_region(
    conn: &mut DbConnection,
    campaign_id: i64,
    region_id: Option<i64>,
) -> Result<(), ApiError> {
    if let Some(id) = region_id
        && db::regions::find(conn, campaign_id, id)?.is_none()
    {
        return Err(ApiError::validation(
            "region_id",
            "region_id is not a region of this campaign",
        ));
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTurfBody {
    name: String,
    region_id: Option<i64>,
    resolution: Option<u8>,
    geometry: geojson::Geometry,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverlapQuery {
    overlap: Option<OverlapMode>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum OverlapMode {
    /// Refuse a turf that would take a cell of another turf (the default).
    Refuse,
    /// Take only the free cells.
    Trim,
}

pub async fn create(
    state: web::Data<AppState>,
    auth: AuthUser,
    query: web::Query<OverlapQuery>,
    ApiJson(body): ApiJson<NewTurfBody>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let name = DisplayName::parse("name", &body.name)?;
    let resolution =
        tiling::resolution_or_default(body.resolution).map_err(|e| area_error(e, "resolution"))?;
    let limits = state.settings.area_limits();
    let geometry = body.geometry.value;
    let (cells, bbox) = lanes::compute(move || -> Result<_, tiling::AreaError> {
        let area = tiling::parse_area(&geometry, &limits)?;
        let cells = tiling::area_cells(&area, resolution, &limits)?;
        let bbox = tiling::area_bbox(&area).unwrap_or([0.0; 4]);
        Ok((cells, bbox))
    })
    .await
    .map_err(ApiError::Internal)?
    .map_err(|e| area_error(e, "geometry"))?;
    if cells.is_empty() {
        return Err(ApiError::validation(
            "geometry",
            format!(
                "the area holds no cell centre at resolution {}; draw a larger area or use a finer resolution",
                u8::from(resolution)
            ),
        ));
    }
    let mode = query.overlap.unwrap_or(OverlapMode::Refuse);
    let region_id = body.region_id;
    let turf = store::transaction(&state.db, move |conn| {
        check_region(conn, auth.campaign_id, region_id)?;
        db::lock_campaign(conn, db::CampaignLock::Turfs, auth.campaign_id)?;
        let existing = db::turfs::taken_cells(conn, auth.campaign_id, &cells)?;
        let taken = overlap::taken_cells(&cells, &existing);
        let cells = if taken.is_empty() {
            cells
        } else if mode == OverlapMode::Trim {
            let free = free_cells(&cells, &existing);
            if free.is_empty() {
                return Err(ApiError::Conflict("every cell of this area already belongs to another turf".into()));
            }
            free
        } else {
            let mut others = Vec::new();
            for (turf_id, shared) in &taken {
                let name = db::turfs::get(conn, auth.campaign_id, *turf_id)?.map(|t| t.name);
                others.push(json!({ "id": turf_id, "name": name, "shared_cells": shared.len() }));
            }
            let total: usize = taken.values().map(Vec::len).sum();
            return Err(ApiError::ConflictWith {
                message: format!(
                    "{total} cell(s) of this turf already belong to {} other turf(s); use ?overlap=trim to take only the free cells",
                    taken.len()
                ),
                details: json!({ "turfs": others }),
            });
        };
        let bbox = tiling::cells_bbox(&cells).unwrap_or(bbox);
        let turf = db::turfs::create(
            conn,
            auth.campaign_id,
            &db::turfs::NewTurf {
                name: name.as_str(),
                region_id,
                cells: &cells,
                bbox,
                created_by: Some(auth.user_id),
            },
        )?;
        db::audit::record(
            conn,
            db::audit::Change {
                campaign_id: auth.campaign_id,
                actor_id: Some(auth.user_id),
                action: "turf.create",
                target_type: "turf",
                target_id: Some(turf.id),
                details: json!({ "name": turf.name, "cells": turf.cell_count, "resolution": turf.resolution }),
            },
        )?;
        let mut view = view(conn, turf, false)?;
        if view.door_count == 0 {
            let why = tiling::why_no_doors(view.bbox, db::turfs::any_door(conn, auth.campaign_id)?);
            view.warnings.push(Warning { code: "no_doors", message: why.message() });
        }
        Ok(view)
    })
    .await?;
    db::refresh_statistics_soon(&state.db);
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/turfs/{}", turf.id)))
        .json(turf))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TurfListQuery {
    limit: Option<i64>,
    after: Option<i64>,
    region_id: Option<i64>,
}

pub async fn list(
    state: web::Data<AppState>,
    auth: AuthUser,
    query: web::Query<TurfListQuery>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let page = PageQuery {
        limit: query.limit,
        after: query.after,
    }
    .page()?;
    let region_id = query.region_id;
    let (items, next_after) = store::run(&state.db, move |conn| {
        let rows = db::turfs::list(conn, auth.campaign_id, region_id, page.after, page.fetch())?;
        let (rows, next) = page.finish(rows, |t| t.id);
        let items = rows
            .into_iter()
            .map(|t| view(conn, t, false))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((items, next))
    })
    .await?;
    Ok(HttpResponse::Ok().json(Paged { items, next_after }))
}

pub async fn get(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let id = path.into_inner();
    let turf = store::run(&state.db, move |conn| {
        let turf = find_turf(conn, auth.campaign_id, id)?;
        view(conn, turf, true)
    })
    .await?;
    Ok(HttpResponse::Ok().json(turf))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeojsonQuery {
    cells: Option<bool>,
}

pub async fn geojson(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
    query: web::Query<GeojsonQuery>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let id = path.into_inner();
    let (turf, cells) = store::run(&state.db, move |conn| {
        let turf = find_turf(conn, auth.campaign_id, id)?;
        let cells = db::turfs::cells_of(conn, auth.campaign_id, id)?;
        Ok((turf, cells))
    })
    .await?;
    let per_cell = query.cells.unwrap_or(false);
    let body = lanes::compute(move || {
        let properties = json!({ "id": turf.id, "name": turf.name, "resolution": turf.resolution, "cell_count": turf.cell_count });
        if per_cell {
            let features: Vec<serde_json::Value> = cells
                .iter()
                .map(|&cell| {
                    let geometry = geojson::GeometryValue::from(&tiling::cell_polygon(cell));
                    json!({
                        "type": "Feature",
                        "geometry": geojson::Geometry::new(geometry),
                        "properties": { "cell": cell.to_string(), "turf_id": turf.id },
                    })
                })
                .collect();
            json!({ "type": "FeatureCollection", "features": features })
        } else {
            let geometry = geojson::GeometryValue::from(&tiling::outline(&cells));
            json!({ "type": "Feature", "geometry": geojson::Geometry::new(geometry), "properties": properties })
        }
    })
    .await
    .map_err(ApiError::Internal)?;
    Ok(HttpResponse::Ok()
        .content_type("application/geo+json")
        .json(body))
}

/// Most turfs one map of outlines draws; a bigger campaign is drawn a region at a time.
pub const MAX_MAP_TURFS: i64 = 10_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutlinesQuery {
    region_id: Option<i64>,
}

/// Every turf outline of the campaign or one region as one FeatureCollection, each with
/// its progress figures (all time) as properties: a map in one request. Staff with a
/// region see that region's turfs.
pub async fn outlines(
    state: web::Data<AppState>,
    auth: AuthUser,
    query: web::Query<OutlinesQuery>,
) -> Result<HttpResponse, ApiError> {
    use crate::db::progress::{Filter, GroupBy};
    auth.require(Role::Organizer)?;
    let asked = query.region_id;
    let (turfs, cells, figures) = store::run(&state.db, move |conn| {
        let filter = super::progress::scoped_filter(
            conn,
            &auth,
            Filter {
                region_id: asked,
                ..Filter::default()
            },
        )?;
        if let Some(region) = filter.region_id
            && db::regions::find(conn, auth.campaign_id, region)?.is_none()
        {
            return Err(ApiError::not_found("region"));
        }
        let turfs = db::turfs::all(conn, auth.campaign_id, filter.region_id, MAX_MAP_TURFS + 1)?;
        if turfs.len() > MAX_MAP_TURFS as usize {
            return Err(ApiError::TooLarge {
                message: format!(
                    "a map draws at most {MAX_MAP_TURFS} turfs; ask for one region at a time"
                ),
                details: json!({ "limit": MAX_MAP_TURFS }),
            });
        }
        let ids: Vec<i64> = turfs.iter().map(|t| t.id).collect();
        let cells = db::turfs::cells_of_turfs(conn, auth.campaign_id, &ids)?;
        let figures = db::progress::figures(conn, auth.campaign_id, GroupBy::Turf, &filter)?;
        Ok((turfs, cells, figures))
    })
    .await?;
    let body = lanes::compute(move || {
        let features: Vec<serde_json::Value> = turfs
            .iter()
            .map(|turf| {
                let outline = cells
                    .get(&turf.id)
                    .map(|c| tiling::outline(c))
                    .unwrap_or_else(|| geo::MultiPolygon(Vec::new()));
                let f = figures
                    .get(&Some(turf.id.to_string()))
                    .cloned()
                    .unwrap_or_default();
                let mut properties = json!({
                    "id": turf.id,
                    "name": turf.name,
                    "region_id": turf.region_id,
                    "cell_count": turf.cell_count,
                });
                if let (Some(p), Ok(serde_json::Value::Object(figures))) = (
                    properties.as_object_mut(),
                    serde_json::to_value(super::progress::row(json!(turf.id), &f)),
                ) {
                    for (k, v) in figures {
                        if k != "key" {
                            p.insert(k, v);
                        }
                    }
                    p.insert(
                        "doors_remaining".into(),
                        json!(f.doors_remaining.unwrap_or(0)),
                    );
                }
                json!({
                    "type": "Feature",
                    "id": turf.id,
                    "geometry": geojson::Geometry::new(geojson::GeometryValue::from(&outline)),
                    "properties": properties,
                })
            })
            .collect();
        json!({ "type": "FeatureCollection", "features": features })
    })
    .await
    .map_err(ApiError::Internal)?;
    Ok(HttpResponse::Ok()
        .content_type("application/geo+json")
        .json(body))
}

pub async fn delete(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let id = path.into_inner();
    store::transaction(&state.db, move |conn| {
        let turf = find_turf(conn, auth.campaign_id, id)?;
        let lists = db::walk_lists::count_for_turf(conn, auth.campaign_id, id)?;
        if lists > 0 {
            return Err(ApiError::ConflictWith {
                message: format!(
                    "the turf has {lists} walk list(s); a turf with walk lists keeps its history and cannot be deleted"
                ),
                details: json!({ "walk_lists": lists }),
            });
        }
        db::turfs::delete(conn, auth.campaign_id, id)?;
        db::audit::record(
            conn,
            db::audit::Change {
                campaign_id: auth.campaign_id,
                actor_id: Some(auth.user_id),
                action: "turf.delete",
                target_type: "turf",
                target_id: Some(id),
                details: json!({ "name": turf.name }),
            },
        )?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn doors(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let id = path.into_inner();
    let page = query.page()?;
    let rows = store::run(&state.db, move |conn| {
        find_turf(conn, auth.campaign_id, id)?;
        Ok(db::turfs::doors_in(
            conn,
            auth.campaign_id,
            id,
            page.after,
            page.fetch(),
        )?)
    })
    .await?;
    let (rows, next_after) = page.finish(rows, |d| d.id);
    let items = rows.into_iter().map(DoorView::from).collect();
    Ok(HttpResponse::Ok().json(Paged::<DoorView> { items, next_after }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeopleQuery {
    limit: Option<i64>,
    after: Option<i64>,
    turf_id: Option<i64>,
}

pub async fn people(
    state: web::Data<AppState>,
    auth: AuthUser,
    query: web::Query<PeopleQuery>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let page = PageQuery {
        limit: query.limit,
        after: query.after,
    }
    .page()?;
    let turf_id = query.turf_id;
    let (rows, scores) = store::run(&state.db, move |conn| {
        let rows = match turf_id {
            Some(id) => {
                find_turf(conn, auth.campaign_id, id)?;
                db::turfs::people_in(conn, auth.campaign_id, id, page.after, page.fetch())?
            }
            None => db::people::list(conn, auth.campaign_id, page.after, page.fetch())?,
        };
        let who: Vec<(i64, Option<f64>, i64)> = rows
            .iter()
            .map(|p| (p.id, p.support_score, p.door_id))
            .collect();
        let scores = db::scores::effective_at_doors(conn, auth.campaign_id, &who)?;
        Ok::<_, ApiError>((rows, scores))
    })
    .await?;
    let (rows, next_after) = page.finish(rows, |p| p.id);
    let items = rows
        .into_iter()
        .map(|p| {
            let score = scores.get(&p.id).copied();
            PersonView::new(p, score)
        })
        .collect();
    Ok(HttpResponse::Ok().json(Paged::<PersonView> { items, next_after }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutocutBody {
    area: Option<geojson::Geometry>,
    region_id: Option<i64>,
    target_doors: u32,
    resolution: Option<u8>,
    name_prefix: Option<String>,
}

#[derive(Debug, Serialize)]
struct AutocutView {
    target_doors: u32,
    resolution: u8,
    doors: u64,
    turfs: Vec<TurfView>,
    unbalanced: Vec<serde_json::Value>,
}

/// The most turfs one auto-cut may create.
const MAX_AUTOCUT_TURFS: usize = 5_000;

pub async fn autocut_area(
    state: web::Data<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<AutocutBody>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    if !(1..=100_000).contains(&body.target_doors) {
        return Err(ApiError::validation(
            "target_doors",
            "target_doors must be between 1 and 100000",
        ));
    }
    let resolution =
        tiling::resolution_or_default(body.resolution).map_err(|e| area_error(e, "resolution"))?;
    let prefix = match &body.name_prefix {
        Some(p) => DisplayName::parse("name_prefix", p)?.as_str().to_owned(),
        None => "Turf".to_owned(),
    };
    let region_id = body.region_id;
    let geometry = match (body.area, region_id) {
        (Some(area), _) => area.value,
        (None, Some(region)) => {
            let stored = store::run(&state.db, move |conn| {
                db::regions::area_of(conn, auth.campaign_id, region)?.ok_or_else(|| {
                    ApiError::validation("region_id", "region_id is not a region of this campaign")
                })
            })
            .await?;
            let text = stored.ok_or_else(|| {
                ApiError::validation(
                    "region_id",
                    "this region has no area; give `area` as GeoJSON or set the region's area",
                )
            })?;
            serde_json::from_str::<geojson::Geometry>(&text)
                .map_err(|e| {
                    ApiError::Internal(anyhow::anyhow!("stored region area is not GeoJSON: {e}"))
                })?
                .value
        }
        (None, None) => {
            return Err(ApiError::validation(
                "area",
                "give either `area` (GeoJSON) or `region_id`",
            ));
        }
    };
    let limits = state.settings.area_limits();
    let area_cells = lanes::compute(move || {
        let area = tiling::parse_area(&geometry, &limits)?;
        tiling::area_cells(&area, resolution, &limits)
    })
    .await
    .map_err(ApiError::Internal)?
    .map_err(|e| area_error(e, "area"))?;
    let area_cells = std::sync::Arc::new(area_cells);
    let target = body.target_doors;
    // Read and cut outside any transaction (a large cut takes a moment of CPU), then
    // store under the campaign's turf lock after checking that no other turf took a
    // cell meanwhile; if one did, cut again.
    for _attempt in 0..3 {
        let cells = area_cells.clone();
        let (free, counts) = store::run(&state.db, move |conn| {
            let existing = db::turfs::taken_cells(conn, auth.campaign_id, &cells)?;
            let free = free_cells(&cells, &existing);
            let counts = db::turfs::door_counts(conn, auth.campaign_id, &free)?;
            Ok((free, counts))
        })
        .await?;
        let doors: u64 = counts.iter().map(|(_, n)| u64::from(*n)).sum();
        if doors == 0 {
            return Err(ApiError::validation(
                "area",
                "the free part of this area holds no doors",
            ));
        }
        if doors / u64::from(target) > MAX_AUTOCUT_TURFS as u64 {
            return Err(ApiError::TooLarge {
                message: format!(
                    "this cut would make more than {MAX_AUTOCUT_TURFS} turfs; raise target_doors or cut a smaller area"
                ),
                details: json!({ "limit": MAX_AUTOCUT_TURFS }),
            });
        }
        let (free, cut) = lanes::compute(move || {
            let mut loads: Vec<autocut::CellLoad> = free
                .iter()
                .map(|&cell| autocut::CellLoad { cell, doors: 0 })
                .collect();
            for (cell, n) in counts {
                if let Ok(i) = free.binary_search(&cell) {
                    loads[i].doors = n;
                }
            }
            let cut = autocut::autocut(&loads, &autocut::AutocutParams::new(target));
            (free, cut)
        })
        .await
        .map_err(ApiError::Internal)?;
        let cut = cut.map_err(|e| ApiError::validation("area", e.to_string()))?;
        let prefix = prefix.clone();
        let stored = store::transaction(&state.db, move |conn| {
            check_region(conn, auth.campaign_id, region_id)?;
            db::lock_campaign(conn, db::CampaignLock::Turfs, auth.campaign_id)?;
            let existing = db::turfs::taken_cells(conn, auth.campaign_id, &free)?;
            if !overlap::taken_cells(&free, &existing).is_empty() {
                return Ok(None);
            }
            let mut turfs = Vec::with_capacity(cut.turfs.len());
            let width = cut.turfs.len().to_string().len();
            for (i, piece) in cut.turfs.iter().enumerate() {
                let name = format!("{prefix} {:0width$}", i + 1);
                let bbox = tiling::cells_bbox(&piece.cells).unwrap_or([0.0; 4]);
                let turf = db::turfs::create(
                    conn,
                    auth.campaign_id,
                    &db::turfs::NewTurf { name: &name, region_id, cells: &piece.cells, bbox, created_by: Some(auth.user_id) },
                )?;
                turfs.push(view(conn, turf, false)?);
            }
            db::audit::record(
                conn,
                db::audit::Change {
                    campaign_id: auth.campaign_id,
                    actor_id: Some(auth.user_id),
                    action: "turf.autocut",
                    target_type: "turf",
                    target_id: None,
                    details: json!({ "turfs": turfs.len(), "target_doors": target, "doors": doors }),
                },
            )?;
            let unbalanced = cut
                .unbalanced
                .iter()
                .map(|u| json!({ "turf_id": turfs.get(u.turf).map(|t| t.id), "doors": u.doors, "reason": u.reason }))
                .collect();
            Ok(Some(AutocutView { target_doors: target, resolution: u8::from(resolution), doors, turfs, unbalanced }))
        })
        .await?;
        if let Some(result) = stored {
            db::refresh_statistics_soon(&state.db);
            return Ok(HttpResponse::Created().json(result));
        }
    }
    Err(ApiError::Conflict(
        "other turfs kept taking cells of this area; try again".into(),
    ))
}

/// The cells of an area that no existing turf holds (at any resolution), in order.
fn free_cells(cells: &[CellIndex], existing: &[(i64, CellIndex)]) -> Vec<CellIndex> {
    let taken = overlap::taken_cells(cells, existing);
    let mut gone: Vec<CellIndex> = taken.values().flatten().copied().collect();
    gone.sort_unstable();
    cells
        .iter()
        .copied()
        .filter(|c| gone.binary_search(c).is_err())
        .collect()
}
