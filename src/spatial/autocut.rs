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

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt;

use h3o::{CellIndex, LatLng, Resolution};

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

/// Marks a missing neighbour or an unassigned cell.
const NONE: u32 = u32::MAX;

/// The most cells [`Scratch::detach`] explores in one pocket.
const POCKET_CELLS: usize = 2_048;

/// Turfs further than this share from their ideal size may pass doors on to
/// neighbours of the right size, to reach a turf short of doors further away.
const BALANCE_BAND: f64 = 0.03;

/// How far, as a share of the ideal size, smoothing may take a turf.
const SMOOTH_BAND: f64 = 0.03;

/// How many rounds of smoothing to run at most.
const SMOOTH_ROUNDS: usize = 4;

/// How many rounds of border refinement to run at most.
const REFINE_ROUNDS: usize = 30;

/// The cells as a graph: door counts and neighbours.
struct Graph {
    /// The cells, sorted.
    cells: Vec<CellIndex>,
    /// The doors of every cell, by index into the sorted input.
    doors: Vec<u32>,
    /// The neighbours of every cell that are part of the input, `NONE` where
    /// the neighbour is not. For cells with `ordered` set, the six entries
    /// follow each other around the cell, so entries next to each other in
    /// the array (and the last and the first) are neighbours of each other.
    nbr: Vec<[u32; 6]>,
    /// Whether the neighbours of the cell are in ring order. Not the case for
    /// pentagons and the cells around them.
    ordered: Vec<bool>,
}

impl Graph {
    fn build(sorted: &[CellLoad]) -> Self {
        let n = sorted.len();
        let table = CellTable::new(sorted);
        let mut nbr = vec![[NONE; 6]; n];
        let mut ordered = vec![false; n];
        let fill = |offset: usize, nbr: &mut [[u32; 6]], ordered: &mut [bool]| {
            for (i, (ring, ord)) in nbr.iter_mut().zip(ordered.iter_mut()).enumerate() {
                *ord = neighbour_ring(sorted[offset + i].cell, &table, ring);
            }
        };
        let threads = std::thread::available_parallelism()
            .map_or(1, std::num::NonZeroUsize::get)
            .min(8);
        if threads > 1 && n >= 50_000 {
            let chunk = n.div_ceil(threads);
            std::thread::scope(|scope| {
                for (t, (nb, or)) in nbr
                    .chunks_mut(chunk)
                    .zip(ordered.chunks_mut(chunk))
                    .enumerate()
                {
                    let fill = &fill;
                    scope.spawn(move || fill(t * chunk, nb, or));
                }
            });
        } else {
            fill(0, &mut nbr, &mut ordered);
        }
        Self {
            cells: sorted.iter().map(|c| c.cell).collect(),
            doors: sorted.iter().map(|c| c.doors).collect(),
            nbr,
            ordered,
        }
    }

    fn len(&self) -> usize {
        self.doors.len()
    }

    /// The neighbours of `c` that are part of the input.
    fn neighbours(&self, c: u32) -> impl Iterator<Item = u32> + '_ {
        self.nbr[c as usize].iter().copied().filter(|&x| x != NONE)
    }

    /// Whether taking `c` out of the set described by `inside` (which
    /// contains `c`) keeps the rest of the set connected, judged by the
    /// neighbours of `c` alone. `false` is always safe; `true` is only
    /// returned when it is certain. Never true when `c` is the only cell.
    fn removable(&self, c: u32, inside: impl Fn(u32) -> bool) -> bool {
        if !self.ordered[c as usize] {
            return false;
        }
        let ring = &self.nbr[c as usize];
        let mut member = [false; 6];
        for (m, &x) in member.iter_mut().zip(ring) {
            *m = x != NONE && inside(x);
        }
        let count = member.iter().filter(|&&m| m).count();
        let runs = (0..6)
            .filter(|&i| member[i] && !member[(i + 1) % 6])
            .count();
        count == 6 || (count > 0 && runs == 1)
    }
}

/// Writes the neighbours of `cell` into `ring`, in counter-clockwise order
/// (the order of the cell's edges); returns whether that order can be relied
/// on, which is the case for every hexagon not next to a pentagon.
fn neighbour_ring(cell: CellIndex, table: &CellTable, ring: &mut [u32; 6]) -> bool {
    let mut ordered = !cell.is_pentagon();
    for (slot, edge) in ring.iter_mut().zip(cell.edges()) {
        let next = edge.destination();
        ordered &= !next.is_pentagon();
        *slot = table.get(next);
    }
    ordered
}

/// A small open-addressing hash table from cell to index into the sorted
/// input. Only lookups are used, so iteration order never matters.
struct CellTable {
    keys: Vec<u64>,
    values: Vec<u32>,
    shift: u32,
}

impl CellTable {
    fn new(sorted: &[CellLoad]) -> Self {
        let capacity = (sorted.len() * 2).next_power_of_two().max(16);
        let shift = 64 - capacity.trailing_zeros();
        let mut table = Self {
            keys: vec![0; capacity],
            values: vec![NONE; capacity],
            shift,
        };
        for (i, c) in (0_u32..).zip(sorted) {
            let key = u64::from(c.cell);
            let mut slot = table.slot(key);
            while table.keys[slot] != 0 {
                slot = (slot + 1) & (capacity - 1);
            }
            table.keys[slot] = key;
            table.values[slot] = i;
        }
        table
    }

    fn slot(&self, key: u64) -> usize {
        let hash = (key ^ (key >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        usize::try_from(hash >> self.shift).unwrap_or(0)
    }

    /// The index of `cell`, or `NONE` if it is not in the input.
    fn get(&self, cell: CellIndex) -> u32 {
        let key = u64::from(cell);
        let mask = self.keys.len() - 1;
        let mut slot = self.slot(key);
        loop {
            let k = self.keys[slot];
            if k == key {
                return self.values[slot];
            }
            if k == 0 {
                return NONE;
            }
            slot = (slot + 1) & mask;
        }
    }
}

/// Scratch space for [`connect`]; `cost` and `parent` are reset after use.
struct Paths {
    cost: Vec<u32>,
    parent: Vec<u32>,
    visited: Vec<u32>,
    deque: VecDeque<u32>,
}

impl Paths {
    fn new(n: usize) -> Self {
        Self {
            cost: vec![u32::MAX; n],
            parent: vec![NONE; n],
            visited: Vec::new(),
            deque: VecDeque::new(),
        }
    }
}

/// Adds to `keep` the cells needed to link every kept cell reachable from
/// `root` (through cells for which `allowed` holds) with `root`: a 0-1
/// breadth-first search where entering a cell that is not kept costs 1 finds
/// the paths with the fewest such cells, and the cells on the paths from the
/// kept cells back to `root` are kept. The result is connected.
fn connect(
    g: &Graph,
    root: u32,
    allowed: impl Fn(u32) -> bool,
    keep: &mut [bool],
    paths: &mut Paths,
) {
    if root == NONE {
        return;
    }
    let Paths {
        cost,
        parent,
        visited,
        deque,
    } = paths;
    visited.clear();
    cost[root as usize] = 0;
    visited.push(root);
    deque.push_back(root);
    while let Some(c) = deque.pop_front() {
        let base = cost[c as usize];
        for z in g.neighbours(c) {
            let zi = z as usize;
            if !allowed(z) {
                continue;
            }
            let step = u32::from(!keep[zi]);
            if base + step < cost[zi] {
                if cost[zi] == u32::MAX {
                    visited.push(z);
                }
                cost[zi] = base + step;
                parent[zi] = c;
                if step == 0 {
                    deque.push_front(z);
                } else {
                    deque.push_back(z);
                }
            }
        }
    }
    for &c in visited.iter() {
        let c = c as usize;
        if keep[c] {
            let mut up = parent[c];
            while up != NONE && !keep[up as usize] {
                keep[up as usize] = true;
                up = parent[up as usize];
            }
        }
    }
    for &c in visited.iter() {
        cost[c as usize] = u32::MAX;
        parent[c as usize] = NONE;
    }
}

/// Scratch space for finding the cells that taking one cell out of a set
/// would cut off from the rest.
struct Scratch {
    /// `stamp[c] == now` marks `c` as visited in the current search.
    stamp: Vec<u32>,
    /// The search (one per run of neighbours) that visited a cell.
    search: Vec<u8>,
    now: u32,
    /// Cells visited by each search, in visiting order.
    lists: [Vec<u32>; 6],
}

/// How a search of [`Scratch::detach`] ended.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Search {
    /// Still has cells to visit.
    Active,
    /// Visited everything it can reach: a closed pocket.
    Closed,
    /// Too heavy or too large to be a pocket.
    Big,
}

impl Scratch {
    fn new(n: usize) -> Self {
        Self {
            stamp: vec![0; n],
            search: vec![0; n],
            now: 0,
            lists: Default::default(),
        }
    }

    /// Finds what taking cell `c` out of the set `{x : labels[x] == label}`
    /// would cut off from the rest of that set.
    ///
    /// Returns `Some(doors)` and appends the cut-off cells (without `c`) to
    /// `out` if the pockets together hold at most `max_doors` doors and each
    /// has at most `max_cells` cells; `Some(0)` with nothing appended means
    /// `c` can go alone. Returns `None` if no such choice exists, or `c` is
    /// the only cell of the set.
    ///
    /// One breadth-first search starts at each run of the set's cells around
    /// `c`; searches that meet are merged. The searches run in turns, so
    /// finding out that all but one of them are closed pockets costs time in
    /// proportion to the size of those pockets, not of the whole set.
    #[expect(clippy::too_many_arguments, reason = "plain inputs of one search")]
    fn detach(
        &mut self,
        g: &Graph,
        labels: &[u32],
        label: u32,
        c: u32,
        max_doors: u64,
        max_cells: usize,
        out: &mut Vec<u32>,
    ) -> Option<u64> {
        let inside = |x: u32| x != NONE && labels[x as usize] == label;
        let ring = &g.nbr[c as usize];
        let mut starts = [NONE; 6];
        let mut m = 0;
        if g.ordered[c as usize] {
            if g.removable(c, inside) {
                return Some(0);
            }
            for i in 0..6 {
                if inside(ring[i]) && !inside(ring[(i + 5) % 6]) {
                    starts[m] = ring[i];
                    m += 1;
                }
            }
        } else {
            for &x in ring {
                if inside(x) {
                    starts[m] = x;
                    m += 1;
                }
            }
        }
        if m == 0 {
            return None;
        }
        if m == 1 {
            return Some(0);
        }

        self.now = self.now.wrapping_add(1);
        if self.now == 0 {
            self.stamp.iter_mut().for_each(|s| *s = 0);
            self.now = 1;
        }
        let now = self.now;
        self.stamp[c as usize] = now;
        self.search[c as usize] = u8::MAX;
        let mut root: [usize; 6] = [0, 1, 2, 3, 4, 5];
        let mut head = [0_usize; 6];
        let mut doors = [0_u64; 6];
        let find = |root: &[usize; 6], mut i: usize| {
            while root[i] != i {
                i = root[i];
            }
            i
        };
        for i in 0..m {
            self.lists[i].clear();
            let s = starts[i];
            if self.stamp[s as usize] == now {
                // Only for unordered rings: two starts in one search.
                let j = usize::from(self.search[s as usize]);
                let (ri, rj) = (find(&root, i), find(&root, j));
                root[ri.max(rj)] = ri.min(rj);
                continue;
            }
            self.stamp[s as usize] = now;
            self.search[s as usize] = u8::try_from(i).unwrap_or(u8::MAX);
            self.lists[i].push(s);
            doors[i] = u64::from(g.doors[s as usize]);
        }

        let status = loop {
            // The state of every merged search, by its root.
            let mut state = [Search::Closed; 6];
            let mut set_doors = [0_u64; 6];
            let mut set_cells = [0_usize; 6];
            for i in 0..m {
                let r = find(&root, i);
                set_doors[r] += doors[i];
                set_cells[r] += self.lists[i].len();
                if head[i] < self.lists[i].len() {
                    state[r] = Search::Active;
                }
            }
            let mut roots = 0;
            let mut active = 0;
            let mut big = 0;
            for r in 0..m {
                if find(&root, r) != r {
                    continue;
                }
                roots += 1;
                if set_doors[r] > max_doors || set_cells[r] > max_cells {
                    state[r] = Search::Big;
                    big += 1;
                } else if state[r] == Search::Active {
                    active += 1;
                }
            }
            if roots == 1 {
                return Some(0);
            }
            if big >= 2 {
                return None;
            }
            if active == 0 || (active == 1 && big == 0) {
                break (state, set_doors, set_cells);
            }
            // One step of every search that is still open and not too big.
            for i in 0..m {
                let r = find(&root, i);
                if state[r] != Search::Active || head[i] >= self.lists[i].len() {
                    continue;
                }
                let x = self.lists[i][head[i]];
                head[i] += 1;
                for z in g.neighbours(x) {
                    if !inside(z) {
                        continue;
                    }
                    let zi = z as usize;
                    if self.stamp[zi] == now {
                        let j = self.search[zi];
                        if j != u8::MAX {
                            let (ri, rj) = (find(&root, i), find(&root, usize::from(j)));
                            root[ri.max(rj)] = ri.min(rj);
                        }
                        continue;
                    }
                    self.stamp[zi] = now;
                    self.search[zi] = u8::try_from(i).unwrap_or(u8::MAX);
                    self.lists[i].push(z);
                    doors[i] += u64::from(g.doors[zi]);
                }
            }
        };

        // The rest of the set is the one open (or big) search, or else the
        // heaviest closed one; every other closed search is a pocket.
        let (state, set_doors, set_cells) = status;
        let roots = (0..m).filter(|&r| find(&root, r) == r);
        let keep = roots
            .clone()
            .find(|&r| state[r] != Search::Closed)
            .or_else(|| roots.max_by_key(|&r| (set_doors[r], set_cells[r], Reverse(r))))
            .unwrap_or(0);
        let mut total = 0;
        for (i, (list, searched)) in self.lists.iter().zip(doors).enumerate().take(m) {
            if find(&root, i) != keep {
                total += searched;
                // A closed search has visited every cell of its pocket.
                out.extend_from_slice(list);
            }
        }
        (total <= max_doors).then_some(total)
    }
}

/// The number of turfs, out of `k`, for a side with `wa` doors when the
/// other side has `wb`: the whole number nearest to the share of the doors
/// that keeps both sides' turfs closest to the average, at least 1 on each
/// side.
fn best_turfs(k: u32, wa: u64, wb: u64) -> u32 {
    let total = (wa + wb).max(1) as f64;
    let exact = f64::from(k) * wa as f64 / total;
    let average = total / f64::from(k);
    let worst = |ka: u32| {
        let a = (wa as f64 / f64::from(ka) - average).abs();
        let b = (wb as f64 / f64::from(k - ka) - average).abs();
        a.max(b)
    };
    let low = (exact.floor() as u32).clamp(1, k - 1);
    let high = (exact.ceil() as u32).clamp(1, k - 1);
    if worst(high) < worst(low) { high } else { low }
}

/// Maps an `f64` to a `u64` with the same order (for finite values).
fn order_key(x: f64) -> u64 {
    let bits = x.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
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

/// The two sides of one split: their set labels and their numbers of turfs.
struct Split {
    label_a: u32,
    label_b: u32,
    k1: u64,
    k2: u64,
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
    /// Scratch space for [`connect`].
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

    fn label(&mut self) -> u32 {
        let l = self.next_label;
        self.next_label += 1;
        l
    }

    /// Finds the connected groups and cuts each of them.
    fn cut_groups(&mut self) {
        let n = self.g.len();
        let mut seen = vec![false; n];
        let mut members = Vec::new();
        for start in 0..n {
            if seen[start] {
                continue;
            }
            members.clear();
            seen[start] = true;
            let mut head = 0;
            members.push(u32::try_from(start).unwrap_or(NONE));
            while head < members.len() {
                let c = members[head];
                head += 1;
                for x in self.g.neighbours(c) {
                    if !seen[x as usize] {
                        seen[x as usize] = true;
                        members.push(x);
                    }
                }
            }
            let doors: u64 = members
                .iter()
                .map(|&c| u64::from(self.g.doors[c as usize]))
                .sum();
            if doors == 0 {
                continue;
            }
            let door_cells = members
                .iter()
                .filter(|&&c| self.g.doors[c as usize] > 0)
                .count();
            let target = u64::from(self.target);
            let wanted = ((doors + target / 2) / target).max(1);
            let turfs = u32::try_from(wanted.min(door_cells as u64)).unwrap_or(u32::MAX);
            let group = self.groups.len();
            let heaviest = members
                .iter()
                .map(|&c| self.g.doors[c as usize])
                .max()
                .unwrap_or(0);
            self.groups.push(Group {
                cells: members.len(),
                doors,
                turfs,
                heaviest,
            });
            let set = self.reduce(&members);
            let label = self.label();
            for &c in &set {
                self.owner[c as usize] = label;
            }
            self.bisect(set, turfs, group);
        }
    }

    /// The cells of a group that take part in its cut, sorted: the cells with
    /// doors, their neighbours, and the empty cells on the paths that link
    /// them with the fewest other cells. Big empty areas drop out here, which
    /// keeps the cut fast and the turfs free of them. Also computes the
    /// positions of these cells.
    fn reduce(&mut self, members: &[u32]) -> Vec<u32> {
        let g = self.g;
        let mut root = NONE;
        for &c in members {
            if g.doors[c as usize] > 0 {
                if root == NONE {
                    root = c;
                }
                self.kept[c as usize] = true;
                for x in g.neighbours(c) {
                    self.kept[x as usize] = true;
                }
            }
        }
        connect(g, root, |_| true, &mut self.kept, &mut self.paths);
        let mut set: Vec<u32> = members
            .iter()
            .copied()
            .filter(|&c| self.kept[c as usize])
            .collect();
        set.sort_unstable();
        let (lat0, lng0) = self.origin;
        let scale = lat0.to_radians().cos().max(1e-6);
        for &c in &set {
            let centre = LatLng::from(g.cells[c as usize]);
            let mut dlng = centre.lng() - lng0;
            if dlng > 180.0 {
                dlng -= 360.0;
            } else if dlng < -180.0 {
                dlng += 360.0;
            }
            self.pos[c as usize] = [dlng * scale, centre.lat() - lat0];
        }
        set
    }

    /// Cuts the connected set `set` (all cells with the same owner label) into
    /// `k` turfs.
    fn bisect(&mut self, set: Vec<u32>, k: u32, group: usize) {
        let g = self.g;
        if k <= 1 {
            let id = u32::try_from(self.part_group.len()).unwrap_or(NONE);
            let mut w = 0;
            for &c in &set {
                self.part[c as usize] = id;
                w += u64::from(g.doors[c as usize]);
            }
            self.part_group.push(group);
            self.weight.push(w);
            return;
        }
        let k1 = k / 2;
        let k2 = k - k1;

        // Door-weighted centre and principal axis.
        let (mut sw, mut sx, mut sy) = (0.0, 0.0, 0.0);
        for &c in &set {
            let d = f64::from(g.doors[c as usize]);
            let [x, y] = self.pos[c as usize];
            sw += d;
            sx += d * x;
            sy += d * y;
        }
        let (cx, cy) = (sx / sw, sy / sw);
        let (mut cxx, mut cxy, mut cyy) = (0.0, 0.0, 0.0);
        for &c in &set {
            let d = f64::from(g.doors[c as usize]);
            let [x, y] = self.pos[c as usize];
            let (dx, dy) = (x - cx, y - cy);
            cxx += d * dx * dx;
            cxy += d * dx * dy;
            cyy += d * dy * dy;
        }
        let angle = 0.5 * (2.0 * cxy).atan2(cxx - cyy);
        let (ax, ay) = (angle.cos(), angle.sin());

        let mut seed_a = NONE;
        let mut seed_b = NONE;
        for &c in &set {
            let [x, y] = self.pos[c as usize];
            let key = order_key((x - cx) * ax + (y - cy) * ay);
            self.key[c as usize] = key;
            if g.doors[c as usize] > 0 {
                if seed_a == NONE || key < self.key[seed_a as usize] {
                    seed_a = c;
                }
                if seed_b == NONE || key > self.key[seed_b as usize] {
                    seed_b = c;
                }
            }
        }
        if seed_a == seed_b {
            // Fewer than two door cells: nothing to split.
            self.bisect(set, 1, group);
            return;
        }

        let split = Split {
            label_a: self.label(),
            label_b: self.label(),
            k1: u64::from(k1),
            k2: u64::from(k2),
        };
        let (wa, wb) = self.grow(&split, seed_a, seed_b);
        // The cut need not fall exactly at the `k1 : k2` share: the number of
        // turfs on each side follows the doors each side got, and only the
        // remainder is fixed by moving cells across the cut.
        let ka = best_turfs(k, wa, wb);
        let (wa, wb) = self.balance_split(&set, &split, wa, wb, u64::from(ka));
        let ka = best_turfs(k, wa, wb);
        let label_a = split.label_a;
        let (set_a, set_b): (Vec<u32>, Vec<u32>) = set
            .into_iter()
            .partition(|&c| self.owner[c as usize] == label_a);
        let cells_a = set_a.iter().filter(|&&c| g.doors[c as usize] > 0).count();
        let cells_b = set_b.iter().filter(|&&c| g.doors[c as usize] > 0).count();
        let cap = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let kb = (k - ka.min(cap(cells_a))).min(cap(cells_b)).max(1);
        let ka = (k - kb).min(cap(cells_a)).max(1);
        self.bisect(set_a, ka, group);
        self.bisect(set_b, kb, group);
    }

    /// Grows two connected parts from `seed_a` (low end of the axis) and
    /// `seed_b` (high end) until they cover the set. Returns their doors.
    fn grow(&mut self, split: &Split, seed_a: u32, seed_b: u32) -> (u64, u64) {
        let set_label = self.owner[seed_a as usize];
        // Both queues pop their smallest key first; side B uses inverted keys
        // so it takes the cells at the high end of the axis first.
        let mut heap_a: BinaryHeap<Reverse<(u64, u32)>> = BinaryHeap::new();
        let mut heap_b: BinaryHeap<Reverse<(u64, u32)>> = BinaryHeap::new();
        let mut weights = [0_u64; 2];
        self.claim(seed_a, set_label, split, 0, &mut heap_a, &mut weights);
        self.claim(seed_b, set_label, split, 1, &mut heap_b, &mut weights);
        loop {
            for heap in [&mut heap_a, &mut heap_b] {
                while let Some(&Reverse((_, c))) = heap.peek()
                    && self.owner[c as usize] != set_label
                {
                    heap.pop();
                }
            }
            let side = match (heap_a.is_empty(), heap_b.is_empty()) {
                (true, true) => break,
                (false, true) => 0,
                (true, false) => 1,
                // The side that is behind its share of the doors moves.
                (false, false) => usize::from(
                    u128::from(weights[0]) * u128::from(split.k2)
                        > u128::from(weights[1]) * u128::from(split.k1),
                ),
            };
            let heap = if side == 0 { &mut heap_a } else { &mut heap_b };
            if let Some(Reverse((_, c))) = heap.pop() {
                self.claim(c, set_label, split, side, heap, &mut weights);
            }
        }
        (weights[0], weights[1])
    }

    /// Gives cell `c` to side `side` (0 for A, 1 for B) of a split and queues
    /// its unclaimed neighbours for that side.
    fn claim(
        &mut self,
        c: u32,
        set_label: u32,
        split: &Split,
        side: usize,
        heap: &mut BinaryHeap<Reverse<(u64, u32)>>,
        weights: &mut [u64; 2],
    ) {
        let g = self.g;
        let ci = c as usize;
        self.owner[ci] = if side == 0 {
            split.label_a
        } else {
            split.label_b
        };
        self.queued[ci] = 0;
        weights[side] += u64::from(g.doors[ci]);
        let bit = 1_u8 << side;
        for x in g.neighbours(c) {
            let xi = x as usize;
            if self.owner[xi] == set_label && self.queued[xi] & bit == 0 {
                self.queued[xi] |= bit;
                let key = if side == 0 {
                    self.key[xi]
                } else {
                    !self.key[xi]
                };
                heap.push(Reverse((key, x)));
            }
        }
    }

    /// Moves cells across the cut between the two parts of a split until
    /// their doors are as close to the `k1 : k2` ratio as single cells allow.
    fn balance_split(
        &mut self,
        set: &[u32],
        split: &Split,
        wa: u64,
        wb: u64,
        ka: u64,
    ) -> (u64, u64) {
        let g = self.g;
        let (label_a, label_b) = (split.label_a, split.label_b);
        let total = wa + wb;
        let share_a = total as f64 * ka as f64 / (split.k1 + split.k2) as f64;
        let excess_a = wa as f64 - share_a;
        if excess_a.abs() < 0.5 {
            return (wa, wb);
        }
        // The donor gives cells to the receiver; A lies at the low end of the
        // axis, so A gives its highest cells first and B its lowest.
        let (donor, receiver, mut excess, mut donor_weight, donor_is_a) = if excess_a > 0.0 {
            (label_a, label_b, excess_a, wa, true)
        } else {
            (label_b, label_a, -excess_a, wb, false)
        };
        let order = |key: u64| if donor_is_a { key } else { !key };
        let mut heap: BinaryHeap<(u64, u32)> = BinaryHeap::new();
        for &c in set {
            if self.owner[c as usize] == donor
                && g.neighbours(c).any(|x| self.owner[x as usize] == receiver)
            {
                heap.push((order(self.key[c as usize]), c));
            }
        }
        let mut pocket = Vec::new();
        while excess >= 0.5 {
            let Some((_, c)) = heap.pop() else {
                break;
            };
            let ci = c as usize;
            if self.owner[ci] != donor {
                continue;
            }
            let d = u64::from(g.doors[ci]);
            if d as f64 >= 2.0 * excess || d >= donor_weight {
                continue;
            }
            if !g.neighbours(c).any(|x| self.owner[x as usize] == receiver) {
                continue;
            }
            // Cells cut off from the donor by taking `c` go along with it, as
            // long as that still improves the balance.
            let room = ((2.0 * excess - d as f64).ceil() as u64)
                .saturating_sub(1)
                .min(donor_weight - d - 1);
            pocket.clear();
            let Some(extra) =
                self.scratch
                    .detach(g, &self.owner, donor, c, room, POCKET_CELLS, &mut pocket)
            else {
                continue;
            };
            self.owner[ci] = receiver;
            for &x in &pocket {
                self.owner[x as usize] = receiver;
            }
            donor_weight -= d + extra;
            excess -= (d + extra) as f64;
            for x in g.neighbours(c) {
                if self.owner[x as usize] == donor {
                    heap.push((order(self.key[x as usize]), x));
                }
            }
        }
        let receiver_weight = total - donor_weight;
        if donor_is_a {
            (donor_weight, receiver_weight)
        } else {
            (receiver_weight, donor_weight)
        }
    }

    /// The ideal number of doors of turf `p`.
    fn ideal(&self, p: u32) -> f64 {
        let group = &self.groups[self.part_group[p as usize]];
        group.doors as f64 / f64::from(group.turfs.max(1))
    }

    /// Moves border cells between neighbouring turfs to improve balance and
    /// smooth borders.
    fn refine(&mut self) {
        self.refine_pass(false, REFINE_ROUNDS);
        self.refine_pass(true, SMOOTH_ROUNDS);
    }

    /// One refinement pass of at most `rounds` rounds: balancing, or, if
    /// `smoothing`, shortening the borders within the smoothing band.
    fn refine_pass(&mut self, smoothing: bool, rounds: usize) {
        let g = self.g;
        let n = g.len();
        let ideal: Vec<f64> = (0..self.part_group.len())
            .map(|p| self.ideal(u32::try_from(p).unwrap_or(NONE)))
            .collect();
        // Whether moving `moved` doors from turf `x` to turf `y` is worth it,
        // where `smooth` tells whether the cell has more neighbours in `y`
        // than in `x`, so that moving it shortens the borders.
        //
        // Balancing moves lower the sum of the squared differences between
        // the turfs' doors and their ideal size, which is the case when `x`
        // has more than `moved` doors more than `y`; moves that keep the sum
        // must shorten the borders. So every move lowers the sum of squares,
        // or keeps it and shortens the borders, and the pass cannot go round
        // in circles. Because the squares favour evening out any difference,
        // a turf far from its ideal size can pass doors on through turfs of
        // the right size to a turf short of doors further away.
        //
        // Smoothing moves shorten the borders and keep both turfs within the
        // smoothing band (or no further out than they were).
        let worth = |weight: &[u64], x: u32, y: u32, moved: u64, smooth: bool| {
            let (wx, wy) = (weight[x as usize], weight[y as usize]);
            if moved >= wx {
                return false;
            }
            if moved == 0 {
                return smooth;
            }
            let ideal = ideal[x as usize];
            let (dx, dy) = (wx as f64 - ideal, wy as f64 - ideal);
            let moved = moved as f64;
            if smoothing {
                let band = ideal * SMOOTH_BAND;
                return smooth
                    && (dx - moved).abs() <= dx.abs().max(band)
                    && (dy + moved).abs() <= dy.abs().max(band);
            }
            if wx == wy + moved as u64 {
                return smooth;
            }
            if wx < wy + moved as u64 {
                return false;
            }
            // Between two turfs close to the ideal, only moves that bring
            // both closer to it.
            dx.abs() + dy.abs() > (dx - moved).abs() + (dy + moved).abs() + 1e-9
                || dx > ideal * BALANCE_BAND
                || dy < -ideal * BALANCE_BAND
        };
        // Whether turf `x` has more doors than `y` and one of them is outside
        // the balancing band.
        let far = |weight: &[u64], x: u32, y: u32| {
            let (wx, wy) = (weight[x as usize], weight[y as usize]);
            let ideal = ideal[x as usize];
            wx > wy + 1
                && (wx as f64 > ideal * (1.0 + BALANCE_BAND)
                    || (wy as f64) < ideal * (1.0 - BALANCE_BAND))
        };
        let mut candidates: Vec<(u64, u32, u32, u32)> = Vec::new();
        let mut pocket = Vec::new();
        for _ in 0..rounds {
            candidates.clear();
            for c in 0..n {
                let x = self.part[c];
                if x == NONE {
                    continue;
                }
                let Some((counts, own)) = self.neighbour_parts(c) else {
                    continue;
                };
                let d = u64::from(g.doors[c]);
                for &(y, ny) in counts.iter().flatten() {
                    let smooth = ny > own;
                    let probe = !smoothing && d == 0 && !smooth;
                    if !(probe && far(&self.weight, x, y) || worth(&self.weight, x, y, d, smooth)) {
                        continue;
                    }
                    // Balancing moves first, the largest gain first; then
                    // smoothing moves, the most surrounded cells first.
                    let (wx, wy) = (self.weight[x as usize], self.weight[y as usize]);
                    // The drop of the sum of squares is 2 d (wx - wy - d).
                    let rank = if d > 0 && wx > wy + d {
                        u64::MAX - d.saturating_mul(wx - wy - d)
                    } else {
                        u64::MAX
                    };
                    candidates.push((rank, 6 + own - ny, c as u32, y));
                }
            }
            if candidates.is_empty() {
                break;
            }
            candidates.sort_unstable();
            let mut moved = 0;
            for &(_, _, c, y) in &candidates {
                let ci = c as usize;
                let x = self.part[ci];
                if x == y {
                    continue;
                }
                let Some((counts, own)) = self.neighbour_parts(ci) else {
                    continue;
                };
                let Some(ny) = counts.iter().flatten().find(|e| e.0 == y).map(|e| e.1) else {
                    continue;
                };
                let d = u64::from(g.doors[ci]);
                let smooth = ny > own;
                // A cell without doors that is not surrounded by `y` is only
                // worth moving if it takes a pocket with doors along, from a
                // turf with too many doors.
                let probe = !smoothing && d == 0 && !smooth;
                let wanted = if probe {
                    far(&self.weight, x, y)
                } else {
                    worth(&self.weight, x, y, d, smooth)
                };
                if !wanted {
                    continue;
                }
                let part = &self.part;
                pocket.clear();
                let mut extra = 0;
                if probe || !g.removable(c, |z| part[z as usize] == x) {
                    // Only balancing moves take cut-off pockets along.
                    let (wx, wy) = (self.weight[x as usize], self.weight[y as usize]);
                    let room = if smoothing {
                        0
                    } else {
                        wx.saturating_sub(wy + d + 1)
                    };
                    let Some(found) =
                        self.scratch
                            .detach(g, &self.part, x, c, room, POCKET_CELLS, &mut pocket)
                    else {
                        continue;
                    };
                    if found == 0 && (probe || !pocket.is_empty())
                        || found > 0 && !worth(&self.weight, x, y, d + found, false)
                    {
                        continue;
                    }
                    extra = found;
                }
                self.part[ci] = y;
                for &z in &pocket {
                    self.part[z as usize] = y;
                }
                self.weight[x as usize] -= d + extra;
                self.weight[y as usize] += d + extra;
                moved += 1;
            }
            if moved == 0 {
                break;
            }
        }
    }

    /// Counts the neighbours of `c` per turf: the other turfs with their
    /// counts, and the count in the turf of `c`. `None` if all neighbours
    /// are in the turf of `c`.
    fn neighbour_parts(&self, c: usize) -> Option<(PartCounts, u32)> {
        let x = self.part[c];
        let mut counts: PartCounts = [None; 6];
        let mut own = 0;
        let mut other = false;
        for z in self.g.neighbours(u32::try_from(c).unwrap_or(NONE)) {
            let p = self.part[z as usize];
            if p == x {
                own += 1;
            } else if p != NONE {
                other = true;
                for slot in &mut counts {
                    match slot {
                        Some((q, count)) if *q == p => {
                            *count += 1;
                            break;
                        }
                        None => {
                            *slot = Some((p, 1));
                            break;
                        }
                        Some(_) => {}
                    }
                }
            }
        }
        other.then_some((counts, own))
    }

    /// Makes sure every turf is connected. Should a turf be in pieces, all
    /// but the piece with its first door cell are handed to neighbouring
    /// turfs. With the moves above this never happens; it is a safety net.
    fn repair(&mut self) {
        let g = self.g;
        let n = g.len();
        let parts = self.part_group.len();
        let mut root = vec![NONE; parts];
        for c in 0..n {
            let p = self.part[c];
            if p != NONE && g.doors[c] > 0 && root[p as usize] == NONE {
                root[p as usize] = u32::try_from(c).unwrap_or(NONE);
            }
        }
        let mut reached = vec![false; n];
        let mut stack = Vec::new();
        for (p, &r) in (0_u32..).zip(&root) {
            if r == NONE {
                continue;
            }
            reached[r as usize] = true;
            stack.push(r);
            while let Some(c) = stack.pop() {
                for z in g.neighbours(c) {
                    if self.part[z as usize] == p && !reached[z as usize] {
                        reached[z as usize] = true;
                        stack.push(z);
                    }
                }
            }
        }
        let mut queue: VecDeque<u32> = VecDeque::new();
        let mut stray = false;
        for (p, &reached) in self.part.iter_mut().zip(&reached) {
            if *p != NONE && !reached {
                stray = true;
                *p = NONE;
            }
        }
        if !stray {
            return;
        }
        // Flood the stray cells from the connected turfs around them.
        for c in 0..n {
            if self.part[c] != NONE {
                queue.push_back(u32::try_from(c).unwrap_or(NONE));
            }
        }
        while let Some(c) = queue.pop_front() {
            let p = self.part[c as usize];
            for z in g.neighbours(c) {
                let zi = z as usize;
                if self.part[zi] == NONE && !reached[zi] && self.owner[zi] != NONE {
                    reached[zi] = true;
                    self.part[zi] = p;
                    queue.push_back(z);
                }
            }
        }
        self.weight.iter_mut().for_each(|w| *w = 0);
        for c in 0..n {
            let p = self.part[c];
            if p != NONE {
                self.weight[p as usize] += u64::from(g.doors[c]);
            }
        }
    }

    /// Drops the empty cells the turfs do not need and builds the result.
    fn finish(&mut self, sorted: &[CellLoad], params: &AutocutParams) -> Cut {
        let g = self.g;
        let n = g.len();
        let parts = self.part_group.len();
        let keep = self.trim();
        let mut turfs: Vec<Turf> = (0..parts)
            .map(|p| Turf {
                cells: Vec::new(),
                doors: u32::try_from(self.weight[p]).unwrap_or(u32::MAX),
            })
            .collect();
        for c in 0..n {
            let p = self.part[c];
            if p != NONE && keep[c] {
                turfs[p as usize].cells.push(sorted[c].cell);
            }
        }
        // For the report: the heaviest cell of every turf, and the heaviest
        // cell next to it in a neighbouring turf.
        let mut facts: Vec<TurfFacts> = (0..parts)
            .map(|p| TurfFacts {
                group: self.part_group[p],
                heaviest: 0,
                nearby: 0,
            })
            .collect();
        for c in 0..n {
            let p = self.part[c];
            if p == NONE {
                continue;
            }
            let facts = &mut facts[p as usize];
            facts.heaviest = facts.heaviest.max(g.doors[c]);
            for z in g.neighbours(u32::try_from(c).unwrap_or(NONE)) {
                let q = self.part[z as usize];
                if q != NONE && q != p {
                    facts.nearby = facts.nearby.max(g.doors[z as usize]);
                }
            }
        }
        let mut kept_facts = Vec::with_capacity(parts);
        let mut out = Vec::with_capacity(parts);
        for (turf, facts) in turfs.into_iter().zip(facts) {
            if turf.doors > 0 {
                kept_facts.push(facts);
                out.push(turf);
            }
        }
        let unbalanced = self.report(&out, &kept_facts, params);
        Cut {
            turfs: out,
            unbalanced,
        }
    }

    /// For every cell, whether its turf keeps it: all door cells, and the
    /// empty cells on the paths that link a turf's door cells with the
    /// fewest empty cells.
    fn trim(&mut self) -> Vec<bool> {
        let g = self.g;
        let n = g.len();
        let mut keep: Vec<bool> = g.doors.iter().map(|&d| d > 0).collect();
        let mut root = vec![NONE; self.part_group.len()];
        for c in 0..n {
            let p = self.part[c];
            if p != NONE && g.doors[c] > 0 && root[p as usize] == NONE {
                root[p as usize] = u32::try_from(c).unwrap_or(NONE);
            }
        }
        for (p, &r) in (0_u32..).zip(&root) {
            let part = &self.part;
            connect(g, r, |z| part[z as usize] == p, &mut keep, &mut self.paths);
        }
        keep
    }

    /// Lists the turfs outside the tolerance with the reason.
    fn report(
        &self,
        turfs: &[Turf],
        facts: &[TurfFacts],
        params: &AutocutParams,
    ) -> Vec<Unbalanced> {
        let target = f64::from(params.target_doors);
        let tolerance = f64::from(params.tolerance_percent) / 100.0;
        let low = target * (1.0 - tolerance);
        let high = target * (1.0 + tolerance);
        let mut out = Vec::new();
        for (i, (turf, facts)) in turfs.iter().zip(facts).enumerate() {
            let doors = f64::from(turf.doors);
            let kind = if doors < low {
                Imbalance::Undersized
            } else if doors > high {
                Imbalance::Oversized
            } else {
                continue;
            };
            let group = &self.groups[facts.group];
            let average = group.doors as f64 / f64::from(group.turfs.max(1));
            let coarsest = facts.heaviest.max(facts.nearby);
            let reason = if f64::from(facts.heaviest) > high {
                format!(
                    "one cell holds {} doors, above the target of {}",
                    facts.heaviest, params.target_doors
                )
            } else if group.turfs == 1 && kind == Imbalance::Undersized {
                format!(
                    "isolated group of {} cells holds only {} doors",
                    group.cells, group.doors
                )
            } else if group.turfs == 1 {
                format!(
                    "isolated group of {} cells holds {} doors, too few for two turfs of about {}",
                    group.cells, group.doors, params.target_doors
                )
            } else if average < low || average > high {
                format!(
                    "this group of {} connected cells holds {} doors, which does not divide \
                     into turfs of about {}; its {} turfs average {}",
                    group.cells,
                    group.doors,
                    params.target_doors,
                    group.turfs,
                    Rounded(average)
                )
            } else if f64::from(group.heaviest) > high && kind == Imbalance::Undersized {
                format!(
                    "cells of up to {} doors elsewhere in this group of {} connected cells \
                     need turfs of their own and leave fewer doors for the other turfs",
                    group.heaviest, group.cells
                )
            } else if f64::from(coarsest) > target * tolerance {
                format!(
                    "cells here hold up to {coarsest} doors each, too many to bring turfs of \
                     about {} closer to the target; a finer resolution would help",
                    params.target_doors
                )
            } else {
                String::from(
                    "narrow links or pockets in the area kept this turf from being balanced \
                     without breaking a turf into pieces",
                )
            };
            out.push(Unbalanced {
                turf: i,
                doors: turf.doors,
                kind,
                reason,
            });
        }
        out
    }
}

/// Neighbouring turfs of a cell with the number of its neighbours in each.
type PartCounts = [Option<(u32, u32)>; 6];

/// What the report needs to know about a turf.
struct TurfFacts {
    /// The group of cells the turf belongs to.
    group: usize,
    /// The doors of the turf's heaviest cell.
    heaviest: u32,
    /// The doors of the heaviest cell of a neighbouring turf that touches it.
    nearby: u32,
}

/// Displays a number rounded to a whole number.
struct Rounded(f64);

impl fmt::Display for Rounded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.0}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spatial::synthetic::{cell_loads, synthetic_doors};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn cell(hex: u64) -> CellIndex {
        CellIndex::try_from(hex).expect("valid cell")
    }

    /// A resolution 10 cell in the Rhine valley.
    fn origin() -> CellIndex {
        LatLng::new(47.1, 9.5)
            .expect("valid")
            .to_cell(Resolution::Ten)
    }

    fn disk(centre: CellIndex, k: u32) -> Vec<CellIndex> {
        let mut cells: Vec<CellIndex> = centre.grid_disk(k);
        cells.sort_unstable();
        cells
    }

    fn loads(cells: &[CellIndex], doors: impl Fn(usize, CellIndex) -> u32) -> Vec<CellLoad> {
        cells
            .iter()
            .enumerate()
            .map(|(i, &cell)| CellLoad {
                cell,
                doors: doors(i, cell),
            })
            .collect()
    }

    /// Checks everything a cut promises about its input; returns the turf of
    /// every cell.
    fn check(input: &[CellLoad], cut: &Cut) -> BTreeMap<CellIndex, usize> {
        let doors: BTreeMap<CellIndex, u32> = input.iter().map(|l| (l.cell, l.doors)).collect();
        let mut owner = BTreeMap::new();
        for (i, turf) in cut.turfs.iter().enumerate() {
            assert!(!turf.cells.is_empty(), "turf {i} is empty");
            assert!(
                turf.cells.windows(2).all(|w| w[0] < w[1]),
                "turf {i} is not sorted"
            );
            assert!(is_contiguous(&turf.cells), "turf {i} is not contiguous");
            let mut sum = 0;
            for c in &turf.cells {
                let d = doors.get(c).expect("turf cell is in the input");
                sum += d;
                assert!(owner.insert(*c, i).is_none(), "{c} is in two turfs");
            }
            assert_eq!(sum, turf.doors, "door count of turf {i}");
            assert!(turf.doors > 0, "turf {i} has no doors");
        }
        for l in input {
            if l.doors > 0 {
                assert!(owner.contains_key(&l.cell), "{} is in no turf", l.cell);
            }
        }
        owner
    }

    #[test]
    fn neighbours_follow_each_other_around_the_cell() {
        // The contiguity check relies on this: the destinations of a cell's
        // edges, in the order h3o lists them, each touch the next.
        let pentagon = CellIndex::base_cells()
            .find(|c| c.is_pentagon())
            .and_then(|c| c.center_child(Resolution::Ten))
            .expect("a pentagon");
        let mut cells = disk(origin(), 3);
        cells.extend(disk(pentagon, 3));
        let table = CellTable::new(&loads(&cells, |_, _| 0));
        for c in cells {
            let ring: Vec<CellIndex> = c.edges().map(|e| e.destination()).collect();
            assert_eq!(ring.len(), if c.is_pentagon() { 5 } else { 6 });
            for i in 0..ring.len() {
                let next = ring[(i + 1) % ring.len()];
                assert!(
                    ring[i].is_neighbor_with(next).expect("same resolution"),
                    "{c}"
                );
            }
            let mut slots = [NONE; 6];
            let ordered = neighbour_ring(c, &table, &mut slots);
            assert_eq!(
                ordered,
                !c.is_pentagon() && ring.iter().all(|x| !x.is_pentagon())
            );
        }
    }

    #[test]
    fn contiguity_check() {
        let cells = disk(origin(), 2);
        assert!(is_contiguous(&cells));
        assert!(is_contiguous(&[]));
        let ring: Vec<CellIndex> = origin()
            .grid_ring_fast(2)
            .map(|c| c.expect("no pentagon"))
            .collect();
        assert!(is_contiguous(&ring));
        assert!(!is_contiguous(&[ring[0], ring[6]]));
        assert!(is_contiguous(&[ring[0], ring[1], ring[0]]));
    }

    #[test]
    fn huge_door_counts_do_not_overflow() {
        let cells = disk(origin(), 2);
        let input = loads(&cells, |i, _| if i % 2 == 0 { u32::MAX } else { 7 });
        let cut = autocut(&input, &AutocutParams::new(u32::MAX / 2)).expect("valid");
        let mut covered: Vec<CellIndex> = cut.turfs.iter().flat_map(|t| t.cells.clone()).collect();
        covered.sort_unstable();
        let count = covered.len();
        covered.dedup();
        assert_eq!(covered.len(), count, "a cell is in two turfs");
        for l in input.iter().filter(|l| l.doors > 0) {
            assert!(covered.binary_search(&l.cell).is_ok());
        }
        assert!(cut.turfs.iter().all(|t| is_contiguous(&t.cells)));
    }

    #[test]
    fn default_parameters() {
        assert_eq!(AutocutParams::default(), AutocutParams::new(100));
        assert_eq!(AutocutParams::new(80).tolerance_percent, 15);
    }

    #[test]
    fn empty_input_gives_an_empty_cut() {
        let cut = autocut(&[], &AutocutParams::new(100)).expect("valid");
        assert_eq!(cut, Cut::default());
    }

    #[test]
    fn bad_input_is_rejected() {
        let one = [CellLoad {
            cell: origin(),
            doors: 1,
        }];
        assert_eq!(
            autocut(&one, &AutocutParams::new(0)),
            Err(AutocutError::ZeroTarget)
        );
        let twice = [one[0], one[0]];
        assert_eq!(
            autocut(&twice, &AutocutParams::new(10)),
            Err(AutocutError::DuplicateCell(origin()))
        );
        let parent = origin().parent(Resolution::Nine).expect("parent");
        let mixed = [
            one[0],
            CellLoad {
                cell: parent,
                doors: 1,
            },
        ];
        assert!(matches!(
            autocut(&mixed, &AutocutParams::new(10)),
            Err(AutocutError::MixedResolutions { .. })
        ));
        assert!(AutocutError::ZeroTarget.to_string().contains("at least 1"));
    }

    #[test]
    fn single_cell() {
        let input = [CellLoad {
            cell: origin(),
            doors: 90,
        }];
        let cut = autocut(&input, &AutocutParams::new(100)).expect("valid");
        assert_eq!(
            cut.turfs,
            vec![Turf {
                cells: vec![origin()],
                doors: 90
            }]
        );
        assert!(cut.unbalanced.is_empty());
    }

    #[test]
    fn one_cell_above_the_target() {
        let cells = disk(origin(), 2);
        let input = loads(&cells, |_, c| if c == origin() { 140 } else { 5 });
        // 140 + 18 * 5 = 230 doors: two turfs of 100.
        let cut = autocut(&input, &AutocutParams::new(100)).expect("valid");
        check(&input, &cut);
        assert_eq!(cut.turfs.len(), 2);
        let heavy = cut
            .turfs
            .iter()
            .position(|t| t.cells.contains(&origin()))
            .expect("covered");
        let report = cut
            .unbalanced
            .iter()
            .find(|u| u.turf == heavy)
            .expect("the heavy turf is reported");
        assert_eq!(report.kind, Imbalance::Oversized);
        assert!(
            report.reason.contains("one cell holds 140 doors"),
            "{}",
            report.reason
        );

        // A single cell far above the target stays one turf.
        let alone = [CellLoad {
            cell: origin(),
            doors: 500,
        }];
        let cut = autocut(&alone, &AutocutParams::new(100)).expect("valid");
        assert_eq!(cut.turfs.len(), 1);
        assert_eq!(cut.unbalanced.len(), 1);
        assert!(cut.unbalanced[0].reason.contains("500 doors"));
    }

    #[test]
    fn disconnected_groups_are_cut_separately() {
        let far = LatLng::new(47.2, 9.6)
            .expect("valid")
            .to_cell(Resolution::Ten);
        let near_cells = disk(origin(), 4); // 61 cells
        let far_cells = disk(far, 2); // 19 cells
        let mut input = loads(&near_cells, |_, _| 5); // 305 doors: 3 turfs
        input.extend(loads(&far_cells, |_, _| 2)); // 38 doors: 1 small turf
        let cut = autocut(&input, &AutocutParams::new(100)).expect("valid");
        let owner = check(&input, &cut);
        assert_eq!(cut.turfs.len(), 4);
        let far_turfs: Vec<usize> = far_cells.iter().map(|c| owner[c]).collect();
        assert!(far_turfs.iter().all(|&t| t == far_turfs[0]));
        assert!(near_cells.iter().all(|c| owner[c] != far_turfs[0]));
        assert_eq!(cut.turfs[far_turfs[0]].doors, 38);
        assert_eq!(cut.unbalanced.len(), 1);
        let report = &cut.unbalanced[0];
        assert_eq!(report.turf, far_turfs[0]);
        assert_eq!(report.kind, Imbalance::Undersized);
        assert!(
            report
                .reason
                .contains("isolated group of 19 cells holds only 38 doors"),
            "{}",
            report.reason
        );
        for t in &cut.turfs {
            if t.doors != 38 {
                assert!((95..=110).contains(&t.doors), "{}", t.doors);
            }
        }
    }

    #[test]
    fn target_larger_than_all_doors() {
        let cells = disk(origin(), 3);
        let input = loads(&cells, |i, _| u32::from(i % 3 == 0));
        let cut = autocut(&input, &AutocutParams::new(1_000)).expect("valid");
        check(&input, &cut);
        assert_eq!(cut.turfs.len(), 1);
        assert_eq!(cut.unbalanced.len(), 1);
        assert_eq!(cut.unbalanced[0].kind, Imbalance::Undersized);
    }

    #[test]
    fn groups_without_doors_get_no_turf() {
        let far = LatLng::new(47.2, 9.6)
            .expect("valid")
            .to_cell(Resolution::Ten);
        let mut input = loads(&disk(origin(), 1), |_, _| 10);
        input.extend(loads(&disk(far, 1), |_, _| 0));
        let cut = autocut(&input, &AutocutParams::new(70)).expect("valid");
        check(&input, &cut);
        assert_eq!(cut.turfs.len(), 1);
        assert_eq!(cut.turfs[0].cells, disk(origin(), 1));
    }

    #[test]
    fn useless_empty_cells_are_left_out() {
        // Doors on two cells at the edge of a big empty disk: the turf keeps
        // the two door cells and the short empty path between them only.
        let cells = disk(origin(), 6);
        let ring: Vec<CellIndex> = origin()
            .grid_ring_fast(6)
            .map(|c| c.expect("no pentagon"))
            .collect();
        let (a, b) = (ring[0], ring[3]);
        let input = loads(&cells, |_, c| if c == a || c == b { 50 } else { 0 });
        let cut = autocut(&input, &AutocutParams::new(100)).expect("valid");
        check(&input, &cut);
        assert_eq!(cut.turfs.len(), 1);
        assert!(
            cut.turfs[0].cells.len() <= 4,
            "{:?}",
            cut.turfs[0].cells.len()
        );
    }

    #[test]
    fn cells_around_a_pentagon() {
        let pentagon = CellIndex::base_cells()
            .find(|c| c.is_pentagon())
            .and_then(|c| c.center_child(Resolution::Nine))
            .expect("a pentagon");
        assert!(pentagon.is_pentagon());
        let cells = disk(pentagon, 6);
        let input = loads(&cells, |i, _| u32::try_from(i % 7).expect("small"));
        let cut = autocut(&input, &AutocutParams::new(20)).expect("valid");
        check(&input, &cut);
        assert!(cut.turfs.len() > 5);
    }

    #[test]
    fn balanced_on_a_uniform_disk() {
        let cells = disk(origin(), 20); // 1261 cells
        let input = loads(&cells, |i, _| 1 + u32::try_from(i % 5).expect("small"));
        let total: u32 = input.iter().map(|l| l.doors).sum();
        let cut = autocut(&input, &AutocutParams::new(100)).expect("valid");
        check(&input, &cut);
        assert_eq!(
            cut.turfs.len(),
            usize::try_from((total + 50) / 100).expect("small")
        );
        for t in &cut.turfs {
            assert!((95..=105).contains(&t.doors), "{}", t.doors);
        }
        assert!(cut.unbalanced.is_empty());
    }

    #[test]
    fn hundred_thousand_synthetic_doors() {
        let doors = synthetic_doors(100_000, 1);
        let input = cell_loads(&doors, Resolution::Eleven, 1);
        let cut = autocut(&input, &AutocutParams::new(100)).expect("valid");
        check(&input, &cut);
        assert_eq!(cut.turfs.len(), 1_000);
        let sizes: Vec<u32> = cut.turfs.iter().map(|t| t.doors).collect();
        let outside: Vec<u32> = sizes
            .iter()
            .copied()
            .filter(|d| !(90..=110).contains(d))
            .collect();
        assert!(outside.is_empty(), "turfs outside ±10 %: {outside:?}");
        assert!(cut.unbalanced.is_empty());
    }

    /// Small random areas: a random subset of a disk around one of a few
    /// places (one next to a pentagon), with random door counts.
    fn small_area() -> impl Strategy<Value = (Vec<CellLoad>, u32, u64)> {
        (0_usize..3, 1_u32..6, any::<u64>(), 1_u32..40, any::<u64>()).prop_map(
            |(place, k, seed, target, shuffle)| {
                let centre = match place {
                    0 => origin(),
                    1 => cell(0x08a1_fb46_622d_ffff),
                    _ => CellIndex::base_cells()
                        .find(|c| c.is_pentagon())
                        .and_then(|c| c.center_child(Resolution::Ten))
                        .expect("a pentagon"),
                };
                let mut state = seed;
                let mut next = move || {
                    state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                    let mut z = state;
                    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                    z ^ (z >> 31)
                };
                let mut input = Vec::new();
                for c in disk(centre, k) {
                    let r = next() % 10;
                    if r < 8 {
                        let doors = if r < 3 {
                            0
                        } else {
                            u32::try_from(next() % 12).expect("small")
                        };
                        input.push(CellLoad { cell: c, doors });
                    }
                }
                (input, target, shuffle)
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn cuts_cover_doors_once_with_connected_turfs((input, target, shuffle) in small_area()) {
            let params = AutocutParams::new(target);
            let cut = autocut(&input, &params).expect("valid input");
            check(&input, &cut);

            // The same cells in another order give the same cut.
            let mut shuffled = input.clone();
            let mut state = shuffle;
            for i in (1..shuffled.len()).rev() {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                let j = usize::try_from((state >> 33) % (i as u64 + 1)).expect("small");
                shuffled.swap(i, j);
            }
            prop_assert_eq!(autocut(&shuffled, &params).expect("valid input"), cut);
        }
    }
}
