//! Turf: drawing one from GeoJSON, cutting an area into turfs automatically, and
//! deleting one.
//!
//! Tiling an area and cutting it take CPU time, so those use cases come in steps: a
//! check of the request, a read, a pure step the caller runs on `crate::lanes` outside
//! any transaction ([`tile`], [`area_cells`], [`cut`]), and a store step inside the
//! caller's write transaction ([`create`], [`store_cut`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use geojson::GeometryValue;
use h3o::{CellIndex, Resolution};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Actor, AppError};
use crate::db::turfs::{NewTurf, Turf};
use crate::db::{self, DbConnection, DbPool};
use crate::domain::DisplayName;
use crate::lanes;
use crate::spatial::autocut::{self as cutter, AutocutParams, CellLoad, Cut};
use crate::spatial::overlap;
use crate::spatial::tiling::{self, AreaError, AreaLimits};

/// The most turfs one auto-cut may create.
pub const MAX_AUTOCUT_TURFS: usize = 5_000;

/// A stored turf with its figures, as the API shows it.
#[derive(Debug)]
pub struct Summary {
    pub turf: Turf,
    pub door_count: i64,
    pub people_count: i64,
    /// Its cells, when asked for.
    pub cells: Option<Vec<CellIndex>>,
    /// What looks wrong with a turf just made (only for the request that made it).
    pub warnings: Vec<Warning>,
}

/// Something the caller probably wants to know about what they just did.
#[derive(Debug, Serialize)]
pub struct Warning {
    pub code: &'static str,
    pub message: &'static str,
}

fn area_error(err: AreaError, field: &str) -> AppError {
    match err {
        AreaError::Invalid(message) => AppError::invalid(field, message),
        AreaError::TooManyVertices { count, limit } => AppError::TooLarge {
            message: format!("the geometry has {count} vertices; the limit is {limit}"),
            details: json!({ "field": field, "limit": limit, "count": count }),
        },
        e @ AreaError::TooManyCells { limit, .. } => AppError::TooLarge {
            message: e.to_string(),
            details: json!({ "field": field, "limit": limit }),
        },
    }
}

fn resolution(value: Option<u8>) -> Result<Resolution, AppError> {
    tiling::resolution_or_default(value).map_err(|e| area_error(e, "resolution"))
}

/// The campaign's turf with this id (not found also for another campaign's turf).
pub fn find(conn: &mut DbConnection, campaign_id: i64, id: i64) -> Result<Turf, AppError> {
    db::turfs::get(conn, campaign_id, id)?.ok_or(AppError::NotFound("turf"))
}

/// The turf with its door and people counts, and its cells if `with_cells`.
pub fn summary(conn: &mut DbConnection, turf: Turf, with_cells: bool) -> Result<Summary, AppError> {
    let (door_count, people_count) = db::turfs::counts(conn, turf.campaign_id, turf.id)?;
    let cells = if with_cells {
        Some(db::turfs::cells_of(conn, turf.campaign_id, turf.id)?)
    } else {
        None
    };
    Ok(Summary {
        turf,
        door_count,
        people_count,
        cells,
        warnings: Vec::new(),
    })
}

/// Checks the region belongs to the campaign.
fn check_region(
    conn: &mut DbConnection,
    campaign_id: i64,
    region_id: Option<i64>,
) -> Result<(), AppError> {
    if let Some(id) = region_id
        && db::regions::find(conn, campaign_id, id)?.is_none()
    {
        return Err(AppError::invalid(
            "region_id",
            "region_id is not a region of this campaign",
        ));
    }
    Ok(())
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

/// What to do when a drawn turf takes cells of other turfs.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Overlap {
    /// Refuse a turf that would take a cell of another turf (the default).
    #[default]
    Refuse,
    /// Take only the free cells.
    Trim,
}

/// A turf to draw, as asked.
pub struct TurfRequest {
    pub name: String,
    pub region_id: Option<i64>,
    pub resolution: Option<u8>,
    pub geometry: GeometryValue,
    pub overlap: Overlap,
}

/// A turf request whose name and resolution are checked, to tile.
pub struct Drawn {
    name: DisplayName,
    region_id: Option<i64>,
    resolution: Resolution,
    geometry: GeometryValue,
    overlap: Overlap,
}

/// A drawn turf tiled into cells, to store.
pub struct Tiled {
    name: DisplayName,
    region_id: Option<i64>,
    overlap: Overlap,
    cells: Vec<CellIndex>,
    bbox: [f64; 4],
}

/// Checks the name and resolution of a turf to draw.
pub fn check_turf(req: TurfRequest) -> Result<Drawn, AppError> {
    let name = DisplayName::parse("name", &req.name).map_err(AppError::from)?;
    let resolution = resolution(req.resolution)?;
    Ok(Drawn {
        name,
        region_id: req.region_id,
        resolution,
        geometry: req.geometry,
        overlap: req.overlap,
    })
}

/// Tiles a drawn area into cells (pure CPU work: run it outside any transaction). An
/// area past the limits is too large; one holding no cell centre is invalid.
pub fn tile(drawn: Drawn, limits: &AreaLimits) -> Result<Tiled, AppError> {
    let resolution = drawn.resolution;
    let tiled = tiling::parse_area(&drawn.geometry, limits).and_then(|area| {
        let cells = tiling::area_cells(&area, resolution, limits)?;
        let bbox = tiling::area_bbox(&area).unwrap_or([0.0; 4]);
        Ok((cells, bbox))
    });
    let (cells, bbox) = tiled.map_err(|e| area_error(e, "geometry"))?;
    if cells.is_empty() {
        return Err(AppError::invalid(
            "geometry",
            format!(
                "the area holds no cell centre at resolution {}; draw a larger area or use a finer resolution",
                u8::from(resolution)
            ),
        ));
    }
    Ok(Tiled {
        name: drawn.name,
        region_id: drawn.region_id,
        overlap: drawn.overlap,
        cells,
        bbox,
    })
}

/// Stores a tiled turf under the campaign's turf lock, inside the caller's write
/// transaction. Cells of other turfs refuse it (409 naming those turfs) or, with
/// [`Overlap::Trim`], are left out. A turf without doors carries a warning of why that
/// may be (swapped coordinates, another place). Audited.
pub fn create(conn: &mut DbConnection, actor: Actor, tiled: Tiled) -> Result<Summary, AppError> {
    let campaign_id = actor.campaign_id;
    check_region(conn, campaign_id, tiled.region_id)?;
    db::lock_campaign(conn, db::CampaignLock::Turfs, campaign_id)?;
    let existing = db::turfs::taken_cells(conn, campaign_id, &tiled.cells)?;
    let taken = overlap::taken_cells(&tiled.cells, &existing);
    let cells = if taken.is_empty() {
        tiled.cells
    } else if tiled.overlap == Overlap::Trim {
        let free = free_cells(&tiled.cells, &existing);
        if free.is_empty() {
            return Err(AppError::Conflict {
                message: "every cell of this area already belongs to another turf".into(),
                details: Value::Null,
            });
        }
        free
    } else {
        let mut others = Vec::new();
        for (turf_id, shared) in &taken {
            let name = db::turfs::get(conn, campaign_id, *turf_id)?.map(|t| t.name);
            others.push(json!({ "id": turf_id, "name": name, "shared_cells": shared.len() }));
        }
        let total: usize = taken.values().map(Vec::len).sum();
        return Err(AppError::Conflict {
            message: format!(
                "{total} cell(s) of this turf already belong to {} other turf(s); use ?overlap=trim to take only the free cells",
                taken.len()
            ),
            details: json!({ "turfs": others }),
        });
    };
    let bbox = tiling::cells_bbox(&cells).unwrap_or(tiled.bbox);
    let turf = db::turfs::create(
        conn,
        campaign_id,
        &NewTurf {
            name: tiled.name.as_str(),
            region_id: tiled.region_id,
            cells: &cells,
            bbox,
            created_by: Some(actor.user_id),
        },
    )?;
    audit(
        conn,
        actor,
        "turf.create",
        Some(turf.id),
        json!({ "name": turf.name, "cells": turf.cell_count, "resolution": turf.resolution }),
    )?;
    let mut made = summary(conn, turf, false)?;
    if made.door_count == 0 {
        let t = &made.turf;
        let bbox = [t.min_lng, t.min_lat, t.max_lng, t.max_lat];
        let why = tiling::why_no_doors(bbox, db::turfs::any_door(conn, campaign_id)?);
        made.warnings.push(Warning {
            code: "no_doors",
            message: why.message(),
        });
    }
    Ok(made)
}

/// Deletes a turf, inside the caller's write transaction. A turf with walk lists keeps
/// its history (409). Audited.
pub fn delete(conn: &mut DbConnection, actor: Actor, id: i64) -> Result<(), AppError> {
    let turf = find(conn, actor.campaign_id, id)?;
    let lists = db::walk_lists::count_for_turf(conn, actor.campaign_id, id)?;
    if lists > 0 {
        return Err(AppError::Conflict {
            message: format!(
                "the turf has {lists} walk list(s); a turf with walk lists keeps its history and cannot be deleted"
            ),
            details: json!({ "walk_lists": lists }),
        });
    }
    db::turfs::delete(conn, actor.campaign_id, id)?;
    audit(
        conn,
        actor,
        "turf.delete",
        Some(id),
        json!({ "name": turf.name }),
    )?;
    Ok(())
}

fn audit(
    conn: &mut DbConnection,
    actor: Actor,
    action: &'static str,
    target_id: Option<i64>,
    details: Value,
) -> Result<(), AppError> {
    actor.audit(conn, action, ("turf", target_id), details)
}

/// Most turfs one map of outlines draws; a bigger campaign is drawn a region at a time.
pub const MAX_MAP_TURFS: i64 = 10_000;

/// The turfs of a map with their cells and their progress figures (all time).
pub struct TurfMap {
    pub turfs: Vec<Turf>,
    pub cells: BTreeMap<i64, Vec<CellIndex>>,
    pub figures: BTreeMap<Option<String>, db::progress::Figures>,
}

/// Every turf of the campaign or of one region, for a map; staff with a region see
/// that region's turfs.
pub fn outlines(
    conn: &mut DbConnection,
    actor: Actor,
    region_id: Option<i64>,
) -> Result<TurfMap, AppError> {
    use crate::db::progress::{Filter, GroupBy};
    let asked = Filter {
        region_id,
        ..Filter::default()
    };
    let filter = super::progress::scoped_filter(conn, actor, asked)?;
    if let Some(region) = filter.region_id
        && db::regions::find(conn, actor.campaign_id, region)?.is_none()
    {
        return Err(AppError::NotFound("region"));
    }
    let turfs = db::turfs::all(conn, actor.campaign_id, filter.region_id, MAX_MAP_TURFS + 1)?;
    if turfs.len() > MAX_MAP_TURFS as usize {
        return Err(AppError::TooLarge {
            message: format!(
                "a map draws at most {MAX_MAP_TURFS} turfs; ask for one region at a time"
            ),
            details: json!({ "limit": MAX_MAP_TURFS }),
        });
    }
    let ids: Vec<i64> = turfs.iter().map(|t| t.id).collect();
    let cells = db::turfs::cells_of_turfs(conn, actor.campaign_id, &ids)?;
    let figures = db::progress::figures(conn, actor.campaign_id, GroupBy::Turf, &filter)?;
    Ok(TurfMap {
        turfs,
        cells,
        figures,
    })
}

/// An area to cut into turfs, as asked.
pub struct AutocutRequest {
    pub area: Option<GeometryValue>,
    pub region_id: Option<i64>,
    pub target_doors: u32,
    pub resolution: Option<u8>,
    pub name_prefix: Option<String>,
}

/// Where the area to cut comes from.
pub enum Area {
    /// Drawn in the request.
    Drawn(GeometryValue),
    /// The stored area of this region (read it with [`region_area`]).
    OfRegion(i64),
}

/// A checked auto-cut request: how to cut and how to store the turfs.
#[derive(Debug, Clone)]
pub struct AutocutPlan {
    pub target_doors: u32,
    pub resolution: Resolution,
    prefix: String,
    region_id: Option<i64>,
}

/// Checks an auto-cut request: the target, the resolution, the name prefix, and that
/// an area or a region is given (a drawn area wins over the region's).
pub fn check_autocut(req: AutocutRequest) -> Result<(AutocutPlan, Area), AppError> {
    if !(1..=100_000).contains(&req.target_doors) {
        return Err(AppError::invalid(
            "target_doors",
            "target_doors must be between 1 and 100000",
        ));
    }
    let resolution = resolution(req.resolution)?;
    let prefix = match &req.name_prefix {
        Some(p) => DisplayName::parse("name_prefix", p)
            .map_err(AppError::from)?
            .as_str()
            .to_owned(),
        None => "Turf".to_owned(),
    };
    let area = match (req.area, req.region_id) {
        (Some(area), _) => Area::Drawn(area),
        (None, Some(region)) => Area::OfRegion(region),
        (None, None) => {
            return Err(AppError::invalid(
                "area",
                "give either `area` (GeoJSON) or `region_id`",
            ));
        }
    };
    let plan = AutocutPlan {
        target_doors: req.target_doors,
        resolution,
        prefix,
        region_id: req.region_id,
    };
    Ok((plan, area))
}

/// The stored area of the campaign's region, to cut.
pub fn region_area(
    conn: &mut DbConnection,
    actor: Actor,
    region: i64,
) -> Result<GeometryValue, AppError> {
    let stored = db::regions::area_of(conn, actor.campaign_id, region)?.ok_or_else(|| {
        AppError::invalid("region_id", "region_id is not a region of this campaign")
    })?;
    let text = stored.ok_or_else(|| {
        AppError::invalid(
            "region_id",
            "this region has no area; give `area` as GeoJSON or set the region's area",
        )
    })?;
    let geometry = serde_json::from_str::<geojson::Geometry>(&text).map_err(|e| {
        AppError::Internal(anyhow::anyhow!("stored region area is not GeoJSON: {e}"))
    })?;
    Ok(geometry.value)
}

/// The cells of an area to cut (pure CPU work: run it outside any transaction).
pub fn area_cells(
    geometry: &GeometryValue,
    resolution: Resolution,
    limits: &AreaLimits,
) -> Result<Vec<CellIndex>, AppError> {
    tiling::parse_area(geometry, limits)
        .and_then(|area| tiling::area_cells(&area, resolution, limits))
        .map_err(|e| area_error(e, "area"))
}

/// The free part of an area and the doors in each of its cells: what a cut starts from.
pub struct Free {
    cells: Vec<CellIndex>,
    counts: Vec<(CellIndex, u32)>,
    doors: u64,
}

/// Reads the cells of the area no turf holds and their doors, outside any transaction.
/// A free part without doors is invalid; one that would make more than
/// [`MAX_AUTOCUT_TURFS`] turfs is too large.
pub fn autocut_input(
    conn: &mut DbConnection,
    actor: Actor,
    cells: &[CellIndex],
    target_doors: u32,
) -> Result<Free, AppError> {
    let existing = db::turfs::taken_cells(conn, actor.campaign_id, cells)?;
    let free = free_cells(cells, &existing);
    let counts = db::turfs::door_counts(conn, actor.campaign_id, &free)?;
    let doors: u64 = counts.iter().map(|(_, n)| u64::from(*n)).sum();
    if doors == 0 {
        return Err(AppError::invalid(
            "area",
            "the free part of this area holds no doors",
        ));
    }
    if doors / u64::from(target_doors) > MAX_AUTOCUT_TURFS as u64 {
        return Err(AppError::TooLarge {
            message: format!(
                "this cut would make more than {MAX_AUTOCUT_TURFS} turfs; raise target_doors or cut a smaller area"
            ),
            details: json!({ "limit": MAX_AUTOCUT_TURFS }),
        });
    }
    Ok(Free {
        cells: free,
        counts,
        doors,
    })
}

/// A cut of the free part of an area, to store.
pub struct Cutting {
    free: Vec<CellIndex>,
    doors: u64,
    cut: Cut,
}

/// Cuts the free part of an area into turfs of about `target_doors` doors (pure CPU
/// work: run it outside any transaction).
pub fn cut(free: Free, target_doors: u32) -> Result<Cutting, AppError> {
    let Free {
        cells,
        counts,
        doors,
    } = free;
    let mut loads: Vec<CellLoad> = cells
        .iter()
        .map(|&cell| CellLoad { cell, doors: 0 })
        .collect();
    for (cell, n) in counts {
        if let Ok(i) = cells.binary_search(&cell) {
            loads[i].doors = n;
        }
    }
    let cut = cutter::autocut(&loads, &AutocutParams::new(target_doors))
        .map_err(|e| AppError::invalid("area", e.to_string()))?;
    Ok(Cutting {
        free: cells,
        doors,
        cut,
    })
}

/// The turfs an auto-cut stored.
pub struct CutTurfs {
    pub target_doors: u32,
    pub resolution: u8,
    pub doors: u64,
    pub turfs: Vec<Summary>,
    /// The turfs off the target, with why.
    pub unbalanced: Vec<Value>,
}

/// Cuts an area (drawn, or a region's) into turfs of about `target_doors` doors. The
/// area's cells and the cut are computed outside any transaction (a large cut takes a
/// moment of CPU); the turfs are stored under the campaign's turf lock after checking
/// that no other turf took a cell meanwhile, and if one did, the free cells are read and
/// cut again (three times at most).
pub async fn autocut(
    pool: &DbPool,
    actor: Actor,
    req: AutocutRequest,
    limits: AreaLimits,
) -> Result<CutTurfs, AppError> {
    let (plan, area) = check_autocut(req)?;
    let geometry = match area {
        Area::Drawn(geometry) => geometry,
        Area::OfRegion(region) => {
            db::run(pool, move |conn| region_area(conn, actor, region)).await?
        }
    };
    let resolution = plan.resolution;
    let area = lanes::compute(move || area_cells(&geometry, resolution, &limits)).await??;
    let (area, plan) = (Arc::new(area), Arc::new(plan));
    let target = plan.target_doors;
    for _attempt in 0..3 {
        let cells = area.clone();
        let free = db::run(pool, move |conn| autocut_input(conn, actor, &cells, target)).await?;
        let cutting = lanes::compute(move || cut(free, target)).await??;
        let plan = plan.clone();
        let stored =
            db::transaction(pool, move |conn| store_cut(conn, actor, &plan, &cutting)).await?;
        if let Some(turfs) = stored {
            db::refresh_statistics_soon(pool);
            return Ok(turfs);
        }
    }
    Err(AppError::conflict(
        "other turfs kept taking cells of this area; try again",
    ))
}

/// Stores the turfs of a cut under the campaign's turf lock, inside the caller's write
/// transaction; `None` when another turf took one of the cells meanwhile (cut again).
/// Audited.
pub fn store_cut(
    conn: &mut DbConnection,
    actor: Actor,
    plan: &AutocutPlan,
    cutting: &Cutting,
) -> Result<Option<CutTurfs>, AppError> {
    let campaign_id = actor.campaign_id;
    check_region(conn, campaign_id, plan.region_id)?;
    db::lock_campaign(conn, db::CampaignLock::Turfs, campaign_id)?;
    let existing = db::turfs::taken_cells(conn, campaign_id, &cutting.free)?;
    if !overlap::taken_cells(&cutting.free, &existing).is_empty() {
        return Ok(None);
    }
    let cut = &cutting.cut;
    let mut turfs = Vec::with_capacity(cut.turfs.len());
    let width = cut.turfs.len().to_string().len();
    for (i, piece) in cut.turfs.iter().enumerate() {
        let name = format!("{} {:0width$}", plan.prefix, i + 1);
        let bbox = tiling::cells_bbox(&piece.cells).unwrap_or([0.0; 4]);
        let turf = db::turfs::create(
            conn,
            campaign_id,
            &NewTurf {
                name: &name,
                region_id: plan.region_id,
                cells: &piece.cells,
                bbox,
                created_by: Some(actor.user_id),
            },
        )?;
        turfs.push(summary(conn, turf, false)?);
    }
    audit(
        conn,
        actor,
        "turf.autocut",
        None,
        json!({ "turfs": turfs.len(), "target_doors": plan.target_doors, "doors": cutting.doors }),
    )?;
    let unbalanced = cut
        .unbalanced
        .iter()
        .map(|u| {
            json!({ "turf_id": turfs.get(u.turf).map(|t| t.turf.id), "doors": u.doors, "reason": u.reason })
        })
        .collect();
    Ok(Some(CutTurfs {
        target_doors: plan.target_doors,
        resolution: u8::from(plan.resolution),
        doors: cutting.doors,
        turfs,
        unbalanced,
    }))
}
