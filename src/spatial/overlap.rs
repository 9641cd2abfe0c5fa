//! Which cells of a new turf are already taken by live turfs, across resolutions.

use std::collections::{BTreeMap, HashSet};

use h3o::{CellIndex, Resolution};

/// The cells of `candidate` (one resolution) that overlap a cell of another turf, by
/// turf id. Two cells overlap when one is the other or an ancestor of it, so turfs drawn
/// at different resolutions are compared correctly.
pub fn taken_cells(
    candidate: &[CellIndex],
    existing: &[(i64, CellIndex)],
) -> BTreeMap<i64, Vec<CellIndex>> {
    let mut taken: BTreeMap<i64, Vec<CellIndex>> = BTreeMap::new();
    let Some(res) = candidate.first().map(|c| c.resolution()) else {
        return taken;
    };
    // Index the existing cells by resolution: same-or-coarser ones are looked up via the
    // candidate's ancestor, finer ones via their own ancestor at the candidate's level.
    let mut coarser: BTreeMap<Resolution, std::collections::HashMap<CellIndex, i64>> =
        BTreeMap::new();
    let mut finer: std::collections::HashMap<CellIndex, Vec<i64>> =
        std::collections::HashMap::new();
    for &(turf, cell) in existing {
        if cell.resolution() <= res {
            coarser
                .entry(cell.resolution())
                .or_default()
                .insert(cell, turf);
        } else if let Some(parent) = cell.parent(res) {
            finer.entry(parent).or_default().push(turf);
        }
    }
    for &cell in candidate {
        let mut turfs: HashSet<i64> = HashSet::new();
        for (&level, cells) in &coarser {
            if let Some(turf) = cell.parent(level).and_then(|p| cells.get(&p)) {
                turfs.insert(*turf);
            }
        }
        if let Some(list) = finer.get(&cell) {
            turfs.extend(list.iter().copied());
        }
        for turf in turfs {
            taken.entry(turf).or_default().push(cell);
        }
    }
    taken
}

/// The spans of door cells (`[lo, hi]`, as turf cells store them) that `candidate`
/// covers, in order: what a store asks about to find the existing turf cells that may
/// overlap a new turf, instead of reading them all. Spans less than a cell's span apart
/// are merged (siblings' spans have gaps between them, where H3 has no cells), so a
/// compact area asks about few spans, and at most about twice the index it covers.
pub fn covered_ranges(candidate: &[CellIndex]) -> Vec<(i64, i64)> {
    let mut spans: Vec<(i64, i64)> = candidate
        .iter()
        .map(|&c| super::cells::door_range(c))
        .collect();
    spans.sort_unstable();
    let mut merged: Vec<(i64, i64)> = Vec::with_capacity(spans.len());
    for (lo, hi) in spans {
        match merged.last_mut() {
            Some(last) if lo <= last.1.saturating_add(hi - lo + 1) => last.1 = last.1.max(hi),
            _ => merged.push((lo, hi)),
        }
    }
    merged
}

/// The widest span a turf cell can have (a cell of the coarsest turf resolution): an
/// existing cell that overlaps a span `[lo, hi]` starts at or after `lo` minus this.
pub fn widest_turf_span() -> i64 {
    let coarsest =
        Resolution::try_from(*super::cells::TURF_RESOLUTIONS.start()).unwrap_or(Resolution::Nine);
    h3o::LatLng::new(0.0, 0.0)
        .map(|p| {
            let (lo, hi) = super::cells::door_range(p.to_cell(coarsest));
            hi - lo
        })
        .unwrap_or(i64::MAX / 4)
}

#[cfg(test)]
mod range_tests {
    use super::*;
    use h3o::LatLng;

    #[test]
    fn siblings_merge_into_their_parents_span_and_overlaps_are_found_through_spans() {
        let parent = LatLng::new(47.14, 9.52)
            .map(|p| p.to_cell(Resolution::Ten))
            .unwrap_or_else(|e| panic!("{e}"));
        let children: Vec<CellIndex> = parent.children(Resolution::Eleven).collect();
        assert_eq!(
            covered_ranges(&children),
            vec![super::super::cells::door_range(parent)]
        );
        // A coarser existing cell holding the children starts within the widest span.
        let grand = parent.parent(Resolution::Nine).unwrap_or(parent);
        let (lo, _) = super::super::cells::door_range(grand);
        let (child_lo, _) = covered_ranges(&children)[0];
        assert!(child_lo - lo <= widest_turf_span());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use h3o::LatLng;

    fn cell(res: Resolution) -> CellIndex {
        LatLng::new(47.14, 9.52).unwrap().to_cell(res)
    }

    #[test]
    fn same_resolution_overlap_is_counted_per_turf() {
        let c = cell(Resolution::Ten);
        let ring: Vec<CellIndex> = c.grid_disk(1);
        let existing = vec![(7, ring[0]), (7, ring[1]), (9, ring[2])];
        let taken = taken_cells(&ring, &existing);
        assert_eq!(taken.get(&7).map(Vec::len), Some(2));
        assert_eq!(taken.get(&9).map(Vec::len), Some(1));
    }

    #[test]
    fn coarser_and_finer_turfs_overlap_too() {
        let fine = cell(Resolution::Eleven);
        let coarse = cell(Resolution::Nine);
        // A resolution-9 turf holds our resolution-10 cell's parent.
        let mid = cell(Resolution::Ten);
        assert_eq!(
            taken_cells(&[mid], &[(1, coarse)]).get(&1).map(Vec::len),
            Some(1)
        );
        // A resolution-11 turf inside our resolution-10 cell.
        assert_eq!(
            taken_cells(&[mid], &[(2, fine)]).get(&2).map(Vec::len),
            Some(1)
        );
        // A far-away cell is free.
        let far = LatLng::new(47.2, 9.6).unwrap().to_cell(Resolution::Ten);
        assert!(taken_cells(&[far], &[(1, coarse), (2, fine)]).is_empty());
    }
}
