//! Auto-cut: dividing an area into turfs of about N doors each.
//!
//! The input is the area as a set of H3 cells, all at one resolution, each with
//! the number of doors it holds. Many cells hold no doors; they only matter
//! because they can link door cells together. The output is a list of turfs.
//! Every cell with doors is in exactly one turf, no cell is in two turfs, and
//! the cells of every turf are connected to each other through H3 neighbours
//! inside that turf.
//!
//! # Algorithm
//!
//! 1. **Graph.** The cells are sorted, so the result does not depend on the
//!    input order, and every cell learns which of its six neighbours are part
//!    of the input, in the order in which they lie around it.
//! 2. **Groups.** The cells are split into connected groups. Cells that cannot
//!    reach each other through input cells (an exclave, or a village
//!    separated by land that is not part of the area) are cut separately. A
//!    group without doors gets no turf. A group with `D` doors gets
//!    `max(1, round(D / target))` turfs, but never more turfs than it has
//!    cells with doors.
//! 3. **Leaving out empty land.** Only the cells with doors, their direct
//!    neighbours and the empty cells on the paths that link them take part in
//!    the cut. Big empty areas (fields, forest, lakes inside the area) drop
//!    out here. This keeps the cut fast and the turfs free of them.
//! 4. **Recursive bisection.** A group that needs `k > 1` turfs is split in
//!    two, and both parts are split again until every part is one turf. A
//!    split finds the longest direction of the part (the principal axis of
//!    its door-weighted cell centres), so a long area is cut across. This
//!    keeps turfs round rather than stringy. The two sides then grow at the
//!    same time from the door cells at the two ends of that axis. Each side
//!    takes the neighbouring cell that lies furthest towards its own end, and
//!    the side that is behind its share of the doors moves next. A side only
//!    ever takes cells next to cells it already has, so both sides are
//!    connected by construction. Each side then gets the whole number of
//!    turfs that best fits the doors it got. The rest of the difference is
//!    fixed by handing cells along the cut to the other side, until the split
//!    is as exact as the door counts allow.
//! 5. **Refinement.** Cells on the border between two turfs move from the
//!    turf with more doors to the one with fewer when that lowers the sum of
//!    the squared differences from the ideal size (the group's doors divided
//!    by its number of turfs). Between turfs within 3 % of the ideal, a move
//!    must bring both closer to it. A turf that is further out may pass doors
//!    on through turfs of the right size to a turf short of doors further
//!    away. A last pass moves border cells to the turf that surrounds them
//!    more, which smooths the borders, as long as both turfs stay within 3 %
//!    of the ideal size (or get no worse).
//! 6. **Trimming.** Empty cells that a turf does not need to stay connected
//!    are left out. A turf keeps the empty cells on the paths (with the fewest
//!    empty cells) that link its door cells.
//! 7. **Report.** Turfs further from the target than the tolerance (15 % by
//!    default) are listed in [`Cut::unbalanced`] with a plain-English reason.
//!    Examples: a group of cells too small for a full turf, or one cell that
//!    alone holds more doors than the target.
//!
//! # Contiguity
//!
//! Every move of a cell from one turf (or side) to another keeps both
//! connected. The receiving turf is next to the cell. For the turf that gives
//! the cell up, the fast check is that its remaining neighbours of the cell
//! form one unbroken run around the cell. Neighbouring cells in that run
//! touch each other, so they stay connected without the cell. When that check
//! fails, a search finds the pieces the turf would fall into without the
//! cell. The smaller pieces ("pockets") then go along with the cell, if that
//! still improves the balance. Pockets touch the cell, so the receiving turf
//! stays connected too. The search runs one breadth-first search from each
//! run of neighbours in turns and stops when all but one have closed. Its cost
//! therefore follows the size of the pockets, not of the turf. Near the twelve
//! H3 pentagons, where the order of neighbours is not reliable, only that
//! search is used. A final check walks every turf. Should a turf ever be found
//! in pieces, the stray pieces go to the turfs next to them, so contiguity
//! never rests on luck.
//!
//! # Cost
//!
//! Building the graph is linear in the number of cells, on all cores.
//! Each level of the bisection touches every cell once, with a priority queue
//! over the border of the growing sides, and there are about `log2(turfs)`
//! levels. Refinement runs at most a fixed number of rounds over the cells.
//! The whole cut takes `O(n log n)` time and `O(n)` memory for `n` cells.
//! Cutting 100,000 synthetic doors (36,000 cells at resolution 11) into
//! 1,000 turfs takes about 0.1 s. 1,000,000 doors (190,000 cells) into 10,000
//! turfs take about 1 s.
//!
//! # Code
//!
//! `graph` builds the graph (stage 1), `search` finds the turfs (stages 2 to
//! 4), `refine` balances and smooths them (stage 5), and `report` trims them
//! and writes the report (stages 6 and 7). `contiguity` holds the two
//! searches that keep turfs connected: the linking paths and the pockets.

mod contiguity;
mod graph;
mod refine;
mod report;
mod search;
#[cfg(test)]
mod tests;

use h3o::{CellIndex, LatLng, Resolution};

use self::contiguity::{Paths, Scratch};
use self::graph::{Graph, NONE};

/// One cell of the area to cut, with the number of doors in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellLoad {
    /// The H3 cell.
    pub cell: CellIndex,
    /// The number of doors in the cell; 0 for cells that only link others.
    pub doors: u32,
}

/// Settings for [`autocut`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutocutParams {
    /// The number of doors a turf should have.
    pub target_doors: u32,
    /// How far, in percent of the target, a turf may be from the target before
    /// it is listed in [`Cut::unbalanced`]. Defaults to 15.
    pub tolerance_percent: u32,
}

impl Default for AutocutParams {
    /// Turfs of about 100 doors, with a tolerance of 15 %.
    fn default() -> Self {
        Self::new(100)
    }
}

impl AutocutParams {
    /// Settings for turfs of about `target_doors` doors, with the default
    /// tolerance of 15 %.
    #[must_use]
    pub const fn new(target_doors: u32) -> Self {
        Self {
            target_doors,
            tolerance_percent: 15,
        }
    }
}

/// One turf of a cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turf {
    /// The cells of the turf, sorted ascending. This includes the cells
    /// without doors that the turf needs to be connected.
    pub cells: Vec<CellIndex>,
    /// The number of doors in the turf.
    pub doors: u32,
}

/// Whether a turf has too few or too many doors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Imbalance {
    /// Fewer doors than the target allows.
    Undersized,
    /// More doors than the target allows.
    Oversized,
}

/// A turf whose size is outside the tolerance, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unbalanced {
    /// Index of the turf in [`Cut::turfs`].
    pub turf: usize,
    /// The number of doors in the turf.
    pub doors: u32,
    /// Whether the turf is too small or too large.
    pub kind: Imbalance,
    /// Why the turf could not be balanced, in plain English.
    pub reason: String,
}

/// The result of [`autocut`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cut {
    /// The turfs. Turfs of one connected group of cells are listed together,
    /// and turfs next to each other in the list tend to lie next to each other
    /// on the map.
    pub turfs: Vec<Turf>,
    /// The turfs that are more than the tolerance away from the target.
    pub unbalanced: Vec<Unbalanced>,
}

/// Why an auto-cut request was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AutocutError {
    /// The target number of doors per turf was 0.
    #[error("the target number of doors per turf must be at least 1")]
    ZeroTarget,
    /// Not all cells have the same resolution.
    #[error(
        "all cells must have the same resolution, but cell {cell} has resolution {found} \
         and cell {first} has resolution {expected}"
    )]
    MixedResolutions {
        /// The first cell of the input.
        first: CellIndex,
        /// The resolution of the first cell.
        expected: Resolution,
        /// A cell with another resolution.
        cell: CellIndex,
        /// The resolution of that cell.
        found: Resolution,
    },
    /// A cell appears more than once in the input.
    #[error("cell {0} is listed more than once")]
    DuplicateCell(CellIndex),
    /// More cells than the cut can index.
    #[error("{0} cells are more than an auto-cut can handle")]
    TooManyCells(usize),
}

/// Cuts an area into connected turfs of about `params.target_doors` doors.
///
/// The result depends only on the set of cells, not on their order in
/// `cells`. See the [module documentation](self) for how the cut is made.
///
/// # Errors
///
/// [`AutocutError::ZeroTarget`] if the target is 0,
/// [`AutocutError::MixedResolutions`] if the cells are not all at the same
/// resolution, [`AutocutError::DuplicateCell`] if a cell is listed twice and
/// [`AutocutError::TooManyCells`] for more than about four billion cells. An
/// empty input is not an error; it gives an empty cut.
pub fn autocut(cells: &[CellLoad], params: &AutocutParams) -> Result<Cut, AutocutError> {
    if params.target_doors == 0 {
        return Err(AutocutError::ZeroTarget);
    }
    let Some(first) = cells.first() else {
        return Ok(Cut::default());
    };
    if cells.len() >= NONE as usize {
        return Err(AutocutError::TooManyCells(cells.len()));
    }
    let expected = first.cell.resolution();
    if let Some(other) = cells.iter().find(|c| c.cell.resolution() != expected) {
        return Err(AutocutError::MixedResolutions {
            first: first.cell,
            expected,
            cell: other.cell,
            found: other.cell.resolution(),
        });
    }
    let mut sorted = cells.to_vec();
    sorted.sort_unstable_by_key(|c| c.cell);
    if let Some(pair) = sorted.windows(2).find(|w| w[0].cell == w[1].cell) {
        return Err(AutocutError::DuplicateCell(pair[0].cell));
    }

    let graph = Graph::build(&sorted);
    let mut cutter = Cutter::new(&graph, params.target_doors);
    cutter.cut_groups();
    cutter.refine();
    cutter.repair();
    Ok(cutter.finish(&sorted, params))
}

/// Whether `cells` form one connected piece through H3 neighbours.
///
/// An empty list counts as connected. Cells of mixed resolutions are never
/// neighbours of each other.
#[must_use]
pub fn is_contiguous(cells: &[CellIndex]) -> bool {
    let Some(&start) = cells.first() else {
        return true;
    };
    let mut sorted = cells.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut seen = vec![false; sorted.len()];
    let mut stack = vec![start];
    let mut reached = 0_usize;
    if let Ok(i) = sorted.binary_search(&start) {
        seen[i] = true;
        reached = 1;
    }
    while let Some(cell) = stack.pop() {
        for next in cell.grid_disk_safe(1) {
            if let Ok(i) = sorted.binary_search(&next)
                && !seen[i]
            {
                seen[i] = true;
                reached += 1;
                stack.push(next);
            }
        }
    }
    reached == sorted.len()
}

/// What is known about one connected group of cells.
struct Group {
    /// Cells in the group.
    cells: usize,
    /// Doors in the group.
    doors: u64,
    /// The number of turfs the group is cut into.
    turfs: u32,
    /// The doors of the group's heaviest cell.
    heaviest: u32,
}

/// The working state of one cut.
struct Cutter<'g> {
    g: &'g Graph,
    target: u32,
    /// The set a cell currently belongs to during bisection.
    owner: Vec<u32>,
    next_label: u32,
    /// Projection of each cell on the axis of the current split.
    key: Vec<u64>,
    /// Bit 1: queued for side A, bit 2: queued for side B.
    queued: Vec<u8>,
    /// The turf of each cell, `NONE` for cells in groups without doors.
    part: Vec<u32>,
    /// The group of each turf.
    part_group: Vec<usize>,
    /// Doors in each turf.
    weight: Vec<u64>,
    groups: Vec<Group>,
    scratch: Scratch,
    /// Cell centres in a local planar frame (degrees of latitude), filled in
    /// for the cells that take part in a cut.
    pos: Vec<[f64; 2]>,
    /// The cells that take part in the cut of their group.
    kept: Vec<bool>,
    /// Scratch space for [`connect`](contiguity::connect).
    paths: Paths,
    /// Latitude and longitude of the origin of the planar frame.
    origin: (f64, f64),
}

impl<'g> Cutter<'g> {
    fn new(g: &'g Graph, target: u32) -> Self {
        let n = g.len();
        Self {
            g,
            target,
            owner: vec![NONE; n],
            next_label: 0,
            key: vec![0; n],
            queued: vec![0; n],
            part: vec![NONE; n],
            part_group: Vec::new(),
            weight: Vec::new(),
            groups: Vec::new(),
            scratch: Scratch::new(n),
            pos: vec![[0.0; 2]; n],
            kept: vec![false; n],
            paths: Paths::new(n),
            origin: g.cells.first().map_or((0.0, 0.0), |&c| {
                let centre = LatLng::from(c);
                (centre.lat(), centre.lng())
            }),
        }
    }
}
