//! Editing turfs: split one into pieces (by auto-cut, or along a drawn line), merge
//! neighbours into one, and add or remove cells. A turf's id, walk lists and progress
//! history stay with it: a split keeps them on its first piece, a merge gives the
//! others' to the first turf named. Cells keep the overlap rule of drawing: a cell
//! added must be free. Walk lists are left as they are: a door that leaves a turf stays
//! on its live list until the list is done, closed or recycled.
//!
//! A split by auto-cut takes CPU time, so it comes in steps like drawing: a read
//! ([`split_input`]), a pure step ([`split_cells`]) the caller runs outside any
//! transaction, and a store step ([`store_split`]) that checks nothing changed.

use std::collections::HashMap;
use std::sync::Arc;

use h3o::CellIndex;
use serde_json::json;

use super::turfs::{Summary, find, summary};
use super::{Actor, AppError};
use crate::db::turfs::{NewTurf, Turf};
use crate::db::{self, DbConnection, DbPool};
use crate::domain::DisplayName;
use crate::lanes;
use crate::spatial::autocut::{self as cutter, AutocutParams, CellLoad};
use crate::spatial::edit::{self, MAX_EDIT_CELLS};
use crate::spatial::{overlap, tiling};

/// Most pieces one split may make.
pub const MAX_PIECES: u32 = 50;
/// Most turfs one merge may join.
pub const MAX_MERGE: usize = 50;
/// Most points of a line to split along.
pub const MAX_LINE_POINTS: usize = 1_000;

/// How to split a turf.
pub enum SplitHow {
    /// Into about this many pieces of even door counts, by auto-cut.
    Pieces(u32),
    /// Along a line of (lng, lat) points: the cells left of it and right of it.
    Line(Vec<(f64, f64)>),
}

/// Checks a split request.
pub fn check_split(pieces: Option<u32>, line: Option<Vec<Vec<f64>>>) -> Result<SplitHow, AppError> {
    match (pieces, line) {
        (Some(n), None) => {
            if (2..=MAX_PIECES).contains(&n) {
                Ok(SplitHow::Pieces(n))
            } else {
                Err(AppError::invalid(
                    "pieces",
                    format!("pieces is between 2 and {MAX_PIECES}"),
                ))
            }
        }
        (None, Some(points)) => {
            if !(2..=MAX_LINE_POINTS).contains(&points.len()) {
                return Err(AppError::invalid(
                    "line",
                    format!("a line has 2 to {MAX_LINE_POINTS} points"),
                ));
            }
            points
                .iter()
                .map(|p| match p.as_slice() {
                    [lng, lat, ..]
                        if (-180.0..=180.0).contains(lng) && (-90.0..=90.0).contains(lat) =>
                    {
                        Ok((*lng, *lat))
                    }
                    _ => Err(AppError::invalid(
                        "line",
                        "each point of the line is [longitude, latitude]",
                    )),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(SplitHow::Line)
        }
        _ => Err(AppError::invalid(
            "pieces",
            "give either `pieces` (a number) or `line` (a GeoJSON LineString)",
        )),
    }
}

/// A turf to split, with its cells and their doors.
pub struct Splitting {
    turf: Turf,
    cells: Vec<CellIndex>,
    counts: Vec<(CellIndex, u32)>,
}

/// Reads the turf to split, outside any transaction.
pub fn split_input(conn: &mut DbConnection, actor: Actor, id: i64) -> Result<Splitting, AppError> {
    let turf = find(conn, actor.campaign_id, id)?;
    let cells = db::turfs::cells_of(conn, actor.campaign_id, id)?;
    let counts = db::turfs::door_counts(conn, actor.campaign_id, &cells)?;
    Ok(Splitting {
        turf,
        cells,
        counts,
    })
}

/// Every cell in one of `pieces`: cells a cut left out (empty, not needed to connect
/// its turfs) join the piece of a neighbour, else the first.
fn place_every_cell(cells: &[CellIndex], mut pieces: Vec<Vec<CellIndex>>) -> Vec<Vec<CellIndex>> {
    let mut piece_of: HashMap<CellIndex, usize> = HashMap::new();
    for (i, p) in pieces.iter().enumerate() {
        for &c in p {
            piece_of.insert(c, i);
        }
    }
    let mut left: Vec<CellIndex> = cells
        .iter()
        .copied()
        .filter(|c| !piece_of.contains_key(c))
        .collect();
    while !left.is_empty() {
        let before = left.len();
        left.retain(|&c| {
            let near = c
                .grid_disk::<Vec<_>>(1)
                .into_iter()
                .find_map(|n| piece_of.get(&n).copied());
            match near {
                Some(i) => {
                    piece_of.insert(c, i);
                    pieces[i].push(c);
                    false
                }
                None => true,
            }
        });
        if left.len() == before {
            if let Some(first) = pieces.first_mut() {
                first.append(&mut left);
            }
            break;
        }
    }
    for p in &mut pieces {
        p.sort_unstable();
    }
    pieces
}

/// The pieces of a split (pure CPU work: run it outside any transaction). Invalid when
/// the turf does not split that way (one piece only).
pub fn split_cells(s: &Splitting, how: &SplitHow) -> Result<Vec<Vec<CellIndex>>, AppError> {
    let pieces = match how {
        SplitHow::Line(line) => {
            let (left, right) = edit::split_by_line(&s.cells, line);
            vec![left, right]
        }
        SplitHow::Pieces(n) => {
            let doors: u32 = s.counts.iter().map(|(_, d)| *d).sum();
            if doors < *n {
                return Err(AppError::invalid(
                    "pieces",
                    format!("the turf has {doors} door(s); it cannot make {n} pieces with doors"),
                ));
            }
            let by_cell: HashMap<CellIndex, u32> = s.counts.iter().copied().collect();
            let loads: Vec<CellLoad> = s
                .cells
                .iter()
                .map(|&cell| CellLoad {
                    cell,
                    doors: by_cell.get(&cell).copied().unwrap_or(0),
                })
                .collect();
            let cut = cutter::autocut(&loads, &AutocutParams::new(doors.div_ceil(*n)))
                .map_err(|e| AppError::invalid("pieces", e.to_string()))?;
            place_every_cell(&s.cells, cut.turfs.into_iter().map(|t| t.cells).collect())
        }
    };
    let pieces: Vec<Vec<CellIndex>> = pieces.into_iter().filter(|p| !p.is_empty()).collect();
    if pieces.len() < 2 {
        let field = match how {
            SplitHow::Line(_) => "line",
            SplitHow::Pieces(_) => "pieces",
        };
        return Err(AppError::invalid(
            field,
            "this split leaves the turf whole: draw the line across it, or ask for pieces of a turf whose doors lie in more than one cell",
        ));
    }
    Ok(pieces)
}

fn audit(
    conn: &mut DbConnection,
    actor: Actor,
    action: &'static str,
    target_id: i64,
    details: serde_json::Value,
) -> Result<(), AppError> {
    actor.audit(conn, action, ("turf", Some(target_id)), details)
}

/// Splits a turf (into pieces by auto-cut, or along a line): read, split on the compute
/// lane outside any transaction, store if the turf did not change meanwhile (three
/// tries).
pub async fn split(
    pool: &DbPool,
    actor: Actor,
    id: i64,
    how: SplitHow,
) -> Result<Vec<Summary>, AppError> {
    let how = Arc::new(how);
    for _attempt in 0..3 {
        let input = db::run(pool, move |conn| split_input(conn, actor, id)).await?;
        let h = how.clone();
        let (input, pieces) =
            lanes::compute(move || split_cells(&input, &h).map(|pieces| (input, pieces))).await??;
        let stored =
            db::transaction(pool, move |conn| store_split(conn, actor, &input, &pieces)).await?;
        if let Some(made) = stored {
            return Ok(made);
        }
    }
    Err(AppError::conflict("the turf kept changing; try again"))
}

/// Stores a split under the campaign's turf lock, inside the caller's write
/// transaction: the first piece stays the turf (its id, lists and history), named
/// `{name} 1`; the others are new turfs `{name} 2`, … of the same region. `None` when
/// the turf changed since it was read (read and split again). Audited.
pub fn store_split(
    conn: &mut DbConnection,
    actor: Actor,
    s: &Splitting,
    pieces: &[Vec<CellIndex>],
) -> Result<Option<Vec<Summary>>, AppError> {
    let campaign_id = actor.campaign_id;
    db::lock_campaign(conn, db::CampaignLock::Turfs, campaign_id)?;
    if db::turfs::cells_of(conn, campaign_id, s.turf.id)? != s.cells {
        return Ok(None);
    }
    let base = DisplayName::parse("name", &s.turf.name)
        .map(|n| n.as_str().to_owned())
        .unwrap_or_else(|_| s.turf.name.clone());
    let mut made = Vec::with_capacity(pieces.len());
    for (i, cells) in pieces.iter().enumerate() {
        let name = format!("{base} {}", i + 1);
        let bbox = tiling::cells_bbox(cells).unwrap_or([0.0; 4]);
        let turf = if i == 0 {
            db::turfs::set_cells(conn, campaign_id, s.turf.id, &name, cells, bbox)?
        } else {
            db::turfs::create(
                conn,
                campaign_id,
                &NewTurf {
                    name: &name,
                    region_id: s.turf.region_id,
                    cells,
                    bbox,
                    created_by: Some(actor.user_id),
                },
            )?
        };
        made.push(summary(conn, turf, false)?);
    }
    let ids: Vec<i64> = made.iter().map(|m| m.turf.id).collect();
    audit(conn, actor, "turf.split", s.turf.id, json!({ "into": ids }))?;
    Ok(Some(made))
}

/// Merges turfs into the first named, inside the caller's write transaction: they must
/// share a resolution and a region and together form one piece. The others' walk lists
/// and progress go to the first, and they are deleted. Audited.
pub fn merge(
    conn: &mut DbConnection,
    actor: Actor,
    ids: &[i64],
    name: Option<&str>,
) -> Result<Summary, AppError> {
    let campaign_id = actor.campaign_id;
    let mut distinct = ids.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() != ids.len() || !(2..=MAX_MERGE).contains(&ids.len()) {
        return Err(AppError::invalid(
            "turf_ids",
            format!("turf_ids names 2 to {MAX_MERGE} different turfs"),
        ));
    }
    let name = name
        .map(|n| DisplayName::parse("name", n).map(|n| n.as_str().to_owned()))
        .transpose()?;
    db::lock_campaign(conn, db::CampaignLock::Turfs, campaign_id)?;
    let turfs = ids
        .iter()
        .map(|&id| find(conn, campaign_id, id))
        .collect::<Result<Vec<Turf>, AppError>>()?;
    let first = &turfs[0];
    if turfs.iter().any(|t| t.resolution != first.resolution) {
        return Err(AppError::invalid(
            "turf_ids",
            "the turfs have cells of different resolutions; only turfs of one resolution merge",
        ));
    }
    if turfs.iter().any(|t| t.region_id != first.region_id) {
        return Err(AppError::invalid(
            "turf_ids",
            "the turfs belong to different regions",
        ));
    }
    let mut cells: Vec<CellIndex> = db::turfs::cells_of_turfs(conn, campaign_id, ids)?
        .into_values()
        .flatten()
        .collect();
    cells.sort_unstable();
    cells.dedup();
    if !cutter::is_contiguous(&cells) {
        return Err(AppError::invalid(
            "turf_ids",
            "the turfs do not touch: merged, they would not be one piece",
        ));
    }
    for t in &turfs[1..] {
        db::turfs::move_history(conn, campaign_id, t.id, first.id)?;
        db::turfs::delete(conn, campaign_id, t.id)?;
    }
    let bbox = tiling::cells_bbox(&cells).unwrap_or([0.0; 4]);
    let name = name.unwrap_or_else(|| first.name.clone());
    let merged = db::turfs::set_cells(conn, campaign_id, first.id, &name, &cells, bbox)?;
    audit(conn, actor, "turf.merge", first.id, json!({ "turfs": ids }))?;
    summary(conn, merged, false)
}

/// A change to a turf's name and cells, as asked.
#[derive(Debug, Default)]
pub struct CellEdit {
    pub name: Option<String>,
    pub add_cells: Vec<String>,
    pub remove_cells: Vec<String>,
}

/// Renames a turf and adds or removes cells, inside the caller's write transaction.
/// Added cells are of the turf's resolution and free (409 naming the turfs holding
/// them); removed cells are the turf's; at least one cell stays. Audited.
pub fn edit_cells(
    conn: &mut DbConnection,
    actor: Actor,
    id: i64,
    change: CellEdit,
) -> Result<Summary, AppError> {
    let campaign_id = actor.campaign_id;
    if change.add_cells.len() + change.remove_cells.len() > MAX_EDIT_CELLS {
        return Err(AppError::TooLarge {
            message: format!("one edit adds or removes at most {MAX_EDIT_CELLS} cells"),
            details: json!({ "limit": MAX_EDIT_CELLS }),
        });
    }
    let name = change
        .name
        .as_deref()
        .map(|n| DisplayName::parse("name", n).map(|n| n.as_str().to_owned()))
        .transpose()?;
    let add =
        edit::parse_cells(&change.add_cells).map_err(|m| AppError::invalid("add_cells", m))?;
    let remove = edit::parse_cells(&change.remove_cells)
        .map_err(|m| AppError::invalid("remove_cells", m))?;
    db::lock_campaign(conn, db::CampaignLock::Turfs, campaign_id)?;
    let turf = find(conn, campaign_id, id)?;
    let mut cells = db::turfs::cells_of(conn, campaign_id, id)?;
    if let Some(c) = add
        .iter()
        .find(|c| i64::from(u8::from(c.resolution())) != turf.resolution)
    {
        return Err(AppError::invalid(
            "add_cells",
            format!(
                "cell {c} has resolution {}; this turf's cells have resolution {}",
                u8::from(c.resolution()),
                turf.resolution
            ),
        ));
    }
    if let Some(c) = remove.iter().find(|c| cells.binary_search(c).is_err()) {
        return Err(AppError::invalid(
            "remove_cells",
            format!("cell {c} is not a cell of this turf"),
        ));
    }
    let new: Vec<CellIndex> = add
        .iter()
        .copied()
        .filter(|c| cells.binary_search(c).is_err())
        .collect();
    let existing = db::turfs::taken_cells(conn, campaign_id, &new)?;
    let mut taken = overlap::taken_cells(&new, &existing);
    taken.remove(&id);
    if !taken.is_empty() {
        let mut others = Vec::new();
        for (turf_id, shared) in &taken {
            let name = db::turfs::get(conn, campaign_id, *turf_id)?.map(|t| t.name);
            others.push(json!({ "id": turf_id, "name": name, "shared_cells": shared.len() }));
        }
        return Err(AppError::Conflict {
            message: format!(
                "{} of the added cells belong to other turfs",
                taken.values().map(Vec::len).sum::<usize>()
            ),
            details: json!({ "turfs": others }),
        });
    }
    cells.retain(|c| remove.binary_search(c).is_err());
    cells.extend(new);
    cells.sort_unstable();
    if cells.is_empty() {
        return Err(AppError::invalid(
            "remove_cells",
            "a turf keeps at least one cell; delete the turf instead",
        ));
    }
    let bbox = tiling::cells_bbox(&cells).unwrap_or([0.0; 4]);
    let name = name.unwrap_or_else(|| turf.name.clone());
    let edited = db::turfs::set_cells(conn, campaign_id, id, &name, &cells, bbox)?;
    audit(
        conn,
        actor,
        "turf.edit",
        id,
        json!({ "added": add.len(), "removed": remove.len(), "name": edited.name }),
    )?;
    summary(conn, edited, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use h3o::{LatLng, Resolution};

    #[test]
    fn every_cell_lands_in_a_piece_next_to_it() {
        let Ok(centre) = LatLng::new(47.14, 9.52).map(|p| p.to_cell(Resolution::Ten)) else {
            return;
        };
        let mut cells: Vec<CellIndex> = centre.grid_disk::<Vec<_>>(3);
        cells.sort_unstable();
        // Two pieces that left out a ring of empty cells in between.
        let west: Vec<CellIndex> = cells
            .iter()
            .copied()
            .filter(|&c| LatLng::from(c).lng() < 9.515)
            .collect();
        let east: Vec<CellIndex> = cells
            .iter()
            .copied()
            .filter(|&c| LatLng::from(c).lng() > 9.525)
            .collect();
        let pieces = place_every_cell(&cells, vec![west, east]);
        let mut all: Vec<CellIndex> = pieces.concat();
        all.sort_unstable();
        assert_eq!(all, cells, "every cell once");
        assert!(pieces.iter().all(|p| cutter::is_contiguous(p)));
    }
}
