//! Turf: drawn from GeoJSON or cut automatically, and the doors and people inside.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::store;
use super::views::{DoorView, PersonView, utc};
use super::{PageQuery, Paged};
use crate::app::Actor;
use crate::app::turf_edits as edits;
use crate::app::turfs::{self as use_case, Summary, Warning};
use crate::auth::AuthUser;
use crate::db::turfs::Turf;
use crate::db::{self, DbConnection};
use crate::domain::Role;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::lanes;
use crate::spatial::tiling;
use crate::state::AppState;
use h3o::CellIndex;

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

impl From<Summary> for TurfView {
    fn from(s: Summary) -> Self {
        let turf = s.turf;
        TurfView {
            id: turf.id,
            name: turf.name,
            region_id: turf.region_id,
            resolution: turf.resolution,
            cell_count: turf.cell_count,
            door_count: s.door_count,
            people_count: s.people_count,
            bbox: [turf.min_lng, turf.min_lat, turf.max_lng, turf.max_lat],
            created_at: utc(turf.created_at),
            cells: s
                .cells
                .map(|cells| cells.iter().map(|c| c.to_string()).collect()),
            warnings: s.warnings,
        }
    }
}

fn view(
    conn: &mut DbConnection,
    turf: db::turfs::Turf,
    with_cells: bool,
) -> Result<TurfView, ApiError> {
    Ok(use_case::summary(conn, turf, with_cells)?.into())
}

/// The campaign's turf with this id, or 404 (also for another campaign's turf).
fn find_turf(
    conn: &mut DbConnection,
    campaign_id: i64,
    id: i64,
) -> Result<db::turfs::Turf, ApiError> {
    Ok(use_case::find(conn, campaign_id, id)?)
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
    overlap: Option<use_case::Overlap>,
}

/// Checks the request, tiles the area on a compute lane, then stores the turf in one
/// write transaction.
pub async fn create(
    state: web::Data<AppState>,
    auth: AuthUser,
    query: web::Query<OverlapQuery>,
    ApiJson(body): ApiJson<NewTurfBody>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let actor = Actor::from(&auth);
    let drawn = use_case::check_turf(use_case::TurfRequest {
        name: body.name,
        region_id: body.region_id,
        resolution: body.resolution,
        geometry: body.geometry.value,
        overlap: query.overlap.unwrap_or_default(),
    })?;
    let limits = state.settings.area_limits();
    let tiled = lanes::compute(move || use_case::tile(drawn, &limits))
        .await
        .map_err(ApiError::Internal)??;
    let turf = store::transaction(&state.db, move |conn| {
        Ok(use_case::create(conn, actor, tiled)?)
    })
    .await?;
    db::refresh_statistics_soon(&state.db);
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/turfs/{}", turf.turf.id)))
        .json(TurfView::from(turf)))
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
    let body = lanes::compute(move || turf_feature(&turf, &cells, per_cell))
        .await
        .map_err(ApiError::Internal)?;
    Ok(HttpResponse::Ok()
        .content_type("application/geo+json")
        .json(body))
}

/// A turf's outline as one Feature, or (`per_cell`) its cells as a FeatureCollection.
fn turf_feature(turf: &Turf, cells: &[CellIndex], per_cell: bool) -> serde_json::Value {
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
        let properties = json!({ "id": turf.id, "name": turf.name, "resolution": turf.resolution, "cell_count": turf.cell_count });
        let geometry = geojson::GeometryValue::from(&tiling::outline(cells));
        json!({ "type": "Feature", "geometry": geojson::Geometry::new(geometry), "properties": properties })
    }
}

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
    auth.require(Role::Organizer)?;
    let (actor, region_id) = (Actor::from(&auth), query.region_id);
    let map = store::run(&state.db, move |conn| {
        Ok(use_case::outlines(conn, actor, region_id)?)
    })
    .await?;
    let body = lanes::compute(move || outline_features(&map))
        .await
        .map_err(ApiError::Internal)?;
    Ok(HttpResponse::Ok()
        .content_type("application/geo+json")
        .json(body))
}

/// The turfs of a map as a FeatureCollection: each outline with the turf's figures.
fn outline_features(map: &use_case::TurfMap) -> serde_json::Value {
    let features: Vec<serde_json::Value> = map
        .turfs
        .iter()
        .map(|turf| {
            let outline = map
                .cells
                .get(&turf.id)
                .map(|c| tiling::outline(c))
                .unwrap_or_else(|| geo::MultiPolygon(Vec::new()));
            let f = map
                .figures
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
                serde_json::to_value(crate::app::progress::row(json!(turf.id), &f)),
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
}

pub async fn delete(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let actor = Actor::from(&auth);
    let id = path.into_inner();
    store::transaction(&state.db, move |conn| {
        Ok(use_case::delete(conn, actor, id)?)
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

impl From<use_case::CutTurfs> for AutocutView {
    fn from(c: use_case::CutTurfs) -> Self {
        AutocutView {
            target_doors: c.target_doors,
            resolution: c.resolution,
            doors: c.doors,
            turfs: c.turfs.into_iter().map(TurfView::from).collect(),
            unbalanced: c.unbalanced,
        }
    }
}

pub async fn autocut_area(
    state: web::Data<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<AutocutBody>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let req = use_case::AutocutRequest {
        area: body.area.map(|a| a.value),
        region_id: body.region_id,
        target_doors: body.target_doors,
        resolution: body.resolution,
        name_prefix: body.name_prefix,
    };
    let limits = state.settings.area_limits();
    let cut = use_case::autocut(&state.db, Actor::from(&auth), req, limits).await?;
    Ok(HttpResponse::Created().json(AutocutView::from(cut)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitBody {
    pieces: Option<u32>,
    line: Option<geojson::Geometry>,
}

/// `POST /api/v1/turfs/{id}/split`: into about `pieces` pieces of even door counts,
/// or along a drawn `line`. The first piece keeps the turf's id and lists.
pub async fn split(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
    ApiJson(body): ApiJson<SplitBody>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let (actor, id) = (Actor::from(&auth), path.into_inner());
    let line = match body.line.map(|g| g.value) {
        None => None,
        Some(geojson::GeometryValue::LineString { coordinates }) => {
            Some(coordinates.iter().map(|p| p.as_slice().to_vec()).collect())
        }
        Some(_) => return Err(ApiError::validation("line", "line is a GeoJSON LineString")),
    };
    let how = edits::check_split(body.pieces, line)?;
    let made = edits::split(&state.db, actor, id, how).await?;
    let items: Vec<TurfView> = made.into_iter().map(TurfView::from).collect();
    Ok(HttpResponse::Created().json(json!({ "items": items })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    turf_ids: Vec<i64>,
    name: Option<String>,
}

/// `POST /api/v1/turfs/merge`: touching turfs become the first named.
pub async fn merge(
    state: web::Data<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<MergeBody>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let actor = Actor::from(&auth);
    let merged = store::transaction(&state.db, move |conn| {
        Ok(edits::merge(
            conn,
            actor,
            &body.turf_ids,
            body.name.as_deref(),
        )?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(TurfView::from(merged)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditBody {
    name: Option<String>,
    #[serde(default)]
    add_cells: Vec<String>,
    #[serde(default)]
    remove_cells: Vec<String>,
}

/// `PATCH /api/v1/turfs/{id}`: rename, add free cells, remove cells.
pub async fn edit(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<i64>,
    ApiJson(body): ApiJson<EditBody>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Organizer)?;
    let (actor, id) = (Actor::from(&auth), path.into_inner());
    let change = edits::CellEdit {
        name: body.name,
        add_cells: body.add_cells,
        remove_cells: body.remove_cells,
    };
    let edited = store::transaction(&state.db, move |conn| {
        Ok(edits::edit_cells(conn, actor, id, change)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(TurfView::from(edited)))
}
