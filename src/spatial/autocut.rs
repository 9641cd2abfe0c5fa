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
//! 1. **Graph.** The cells are sorted (so the result does not depend on the
//!    input order) and every cell learns its up to six neighbours that are
//!    part of the input, in the order in which they lie around the cell.
//! 2. **Groups.** The cells are split into connected groups: cells that cannot
//!    reach each other through input cells (an exclave, a village separated
//!    by land that is not part of the area) are cut separately. A group
//!    without doors gets no turf. A group with `D` doors gets
//!    `max(1, round(D / target))` turfs (never more than it has cells with
//!    doors).
//! 3. **Recursive bisection.** A group that needs `k > 1` turfs is split in
//!    two parts that get `floor(k / 2)` and `ceil(k / 2)` turfs, and the
//!    parts are split again until every part is one turf. A split looks at
//!    the door-weighted positions of the cells and finds their longest
//!    direction (principal axis), so that a long area is cut across, which
//!    keeps turfs round rather than stringy. The two parts are then grown at
//!    the same time from the door cells at the two ends of that axis: each part
//!    takes the neighbouring cell that lies furthest towards its own end, and
//!    the part that is behind its share of the doors moves next. Because a part
//!    only ever takes cells next to cells it already has, both parts are
//!    connected by construction. If the growth leaves one side with more doors
//!    than its share, cells along the cut are handed to the other side until
//!    the split is as exact as the door counts allow.
//! 4. **Refinement.** Cells on the border between two turfs of the same group
//!    are moved from the heavier to the lighter turf when that brings both
//!    closer to the ideal size (the group's doors divided by its number of
//!    turfs), and border cells without doors are moved to the turf that
//!    surrounds them more, which smooths the borders.
//! 5. **Trimming.** Cells without doors that a turf does not need to stay
//!    connected are left out, so a turf does not carry big empty areas around
//!    with it. A turf keeps the empty cells on the paths (with the fewest empty
//!    cells) that link its door cells.
//! 6. **Report.** Turfs more than the tolerance (15 % by default) away from
//!    the target are listed with a plain-English reason, for example a group
//!    of cells that is too small for a full turf or one cell that alone holds
//!    more doors than the target.
//!
//! Every move of a cell from one turf to another keeps both turfs connected:
//! the receiving turf is next to the cell, and the turf that gives the cell
//! up must have its remaining neighbours of that cell in one unbroken run
//! around the cell. Neighbouring cells in that run touch each other, so they
//! stay connected without the cell. Cells next to one of the twelve H3
//! pentagons, where this reasoning does not hold, are never moved. A final
//! check walks every turf and, should a turf ever be found in pieces, hands
//! the stray pieces to the turf next to them, so contiguity never rests on
//! luck.
//!
//! # Cost
//!
//! Building the graph is linear in the number of cells, each level of the
//! bisection touches every cell once with a priority queue over the border of
//! the growing parts, and there are about `log2(turfs)` levels, so the whole
//! cut takes `O(n log n)` time and `O(n)` memory for `n` cells. Cutting
//! 100,000 doors (about 60,000 cells at resolution 11) into 1,000 turfs
//! takes well under a second.

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

/// How many rounds of border refinement to run at most.
const REFINE_ROUNDS: usize = 30;

/// The cells as a graph: door counts, neighbours and planar positions.
struct Graph {
    /// The doors of every cell, by index into the sorted input.
    doors: Vec<u32>,
    /// The neighbours of every cell that are part of the input, `NONE` where
    /// the neighbour is not. For cells with `ordered` set, the six entries
    /// follow each other around the cell, so entries next to each other in
    /// the array (and the last and the first) are neighbours of each other.
    nbr: Vec<[u32; 6]>,
    /// Whether the neighbours of the cell are in ring order. Not the case for
    /// pentagons and cells distorted by a nearby pentagon.
    ordered: Vec<bool>,
    /// Cell centres in a local planar frame (degrees of latitude).
    pos: Vec<[f64; 2]>,
}

impl Graph {
    fn build(sorted: &[CellLoad]) -> Self {
        let n = sorted.len();
        let table = CellTable::new(sorted);
        let (lat0, lng0) = sorted.first().map_or((0.0, 0.0), |c| {
            let centre = LatLng::from(c.cell);
            (centre.lat(), centre.lng())
        });
        let scale = lat0.to_radians().cos().max(1e-6);
        let mut nbr = vec![[NONE; 6]; n];
        let mut ordered = vec![false; n];
        let mut pos = vec![[0.0; 2]; n];

        let fill =
            |offset: usize, nbr: &mut [[u32; 6]], ordered: &mut [bool], pos: &mut [[f64; 2]]| {
                for (i, ((ring, ord), p)) in nbr
                    .iter_mut()
                    .zip(ordered.iter_mut())
                    .zip(pos.iter_mut())
                    .enumerate()
                {
                    let cell = sorted[offset + i].cell;
                    *ord = neighbour_ring(cell, &table, ring);
                    let centre = LatLng::from(cell);
                    let mut dlng = centre.lng() - lng0;
                    if dlng > 180.0 {
                        dlng -= 360.0;
                    } else if dlng < -180.0 {
                        dlng += 360.0;
                    }
                    *p = [dlng * scale, centre.lat() - lat0];
                }
            };

        let threads = std::thread::available_parallelism()
            .map_or(1, std::num::NonZeroUsize::get)
            .min(8);
        if threads > 1 && n >= 20_000 {
            let chunk = n.div_ceil(threads);
            std::thread::scope(|scope| {
                for (t, ((nb, or), ps)) in nbr
                    .chunks_mut(chunk)
                    .zip(ordered.chunks_mut(chunk))
                    .zip(pos.chunks_mut(chunk))
                    .enumerate()
                {
                    let fill = &fill;
                    scope.spawn(move || fill(t * chunk, nb, or, ps));
                }
            });
        } else {
            fill(0, &mut nbr, &mut ordered, &mut pos);
        }

        Self {
            doors: sorted.iter().map(|c| c.doors).collect(),
            nbr,
            ordered,
            pos,
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

/// Writes the neighbours of `cell` into `ring`; returns whether they are in
/// ring order.
fn neighbour_ring(cell: CellIndex, table: &CellTable, ring: &mut [u32; 6]) -> bool {
    let mut count = 0;
    let mut ok = true;
    for next in cell.grid_ring_fast(1) {
        match next {
            Some(next) if count < 6 => {
                ring[count] = table.get(next);
                count += 1;
            }
            _ => {
                ok = false;
                break;
            }
        }
    }
    if ok && count == 6 {
        return true;
    }
    *ring = [NONE; 6];
    let mut count = 0;
    for next in cell.grid_disk_safe(1) {
        if next != cell && count < 6 {
            ring[count] = table.get(next);
            count += 1;
        }
    }
    false
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
            self.groups.push(Group {
                cells: members.len(),
                doors,
                turfs,
            });
            let label = self.label();
            let mut set = members.clone();
            set.sort_unstable();
            for &c in &set {
                self.owner[c as usize] = label;
            }
            self.bisect(set, turfs, group);
        }
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
            let [x, y] = g.pos[c as usize];
            sw += d;
            sx += d * x;
            sy += d * y;
        }
        let (cx, cy) = (sx / sw, sy / sw);
        let (mut cxx, mut cxy, mut cyy) = (0.0, 0.0, 0.0);
        for &c in &set {
            let d = f64::from(g.doors[c as usize]);
            let [x, y] = g.pos[c as usize];
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
            let [x, y] = g.pos[c as usize];
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
        self.balance_split(&set, &split, wa, wb);
        let label_a = split.label_a;

        let (set_a, set_b): (Vec<u32>, Vec<u32>) = set
            .into_iter()
            .partition(|&c| self.owner[c as usize] == label_a);
        let cells_a = set_a.iter().filter(|&&c| g.doors[c as usize] > 0).count();
        let cells_b = set_b.iter().filter(|&&c| g.doors[c as usize] > 0).count();
        let cap = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let kb = (k - k1.min(cap(cells_a))).min(cap(cells_b)).max(1);
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
                (false, false) => usize::from(weights[0] * split.k2 > weights[1] * split.k1),
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
    fn balance_split(&mut self, set: &[u32], split: &Split, wa: u64, wb: u64) {
        let g = self.g;
        let Split {
            label_a,
            label_b,
            k1,
            k2,
        } = *split;
        let total = wa + wb;
        let share_a = total as f64 * k1 as f64 / (k1 + k2) as f64;
        let excess_a = wa as f64 - share_a;
        if excess_a.abs() < 0.5 {
            return;
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
            let owner = &self.owner;
            if !g.removable(c, |x| owner[x as usize] == donor) {
                continue;
            }
            self.owner[ci] = receiver;
            donor_weight -= d;
            excess -= d as f64;
            for x in g.neighbours(c) {
                if self.owner[x as usize] == donor {
                    heap.push((order(self.key[x as usize]), x));
                }
            }
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
        let g = self.g;
        let n = g.len();
        let ideal: Vec<f64> = (0..self.part_group.len())
            .map(|p| self.ideal(u32::try_from(p).unwrap_or(NONE)))
            .collect();
        let deviation = |w: u64, p: u32| (w as f64 - ideal[p as usize]).abs();
        let mut candidates: Vec<(u64, u32, u32, u32)> = Vec::new();
        for _ in 0..REFINE_ROUNDS {
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
                let wx = self.weight[x as usize];
                for &(y, ny) in counts.iter().flatten() {
                    let wy = self.weight[y as usize];
                    if d > 0 {
                        if d >= wx {
                            continue;
                        }
                        let gain = deviation(wx, x) + deviation(wy, y)
                            - deviation(wx - d, x)
                            - deviation(wy + d, y);
                        if gain > 1e-9 {
                            // Larger gains first, then cells more surrounded
                            // by the receiving turf.
                            let rank = order_key(gain) ^ u64::MAX;
                            candidates.push((rank, 6 - ny + own, c as u32, y));
                        }
                    } else if ny > own {
                        candidates.push((u64::MAX, 6 - ny + own, c as u32, y));
                    }
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
                let wx = self.weight[x as usize];
                let wy = self.weight[y as usize];
                let useful = if d > 0 {
                    d < wx
                        && deviation(wx, x) + deviation(wy, y)
                            - deviation(wx - d, x)
                            - deviation(wy + d, y)
                            > 1e-9
                } else {
                    ny > own
                };
                let part = &self.part;
                if !useful || !g.removable(c, |z| part[z as usize] == x) {
                    continue;
                }
                self.part[ci] = y;
                self.weight[x as usize] -= d;
                self.weight[y as usize] += d;
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
    fn neighbour_parts(&self, c: usize) -> Option<([Option<(u32, u32)>; 6], u32)> {
        let x = self.part[c];
        let mut counts: [Option<(u32, u32)>; 6] = [None; 6];
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
        for c in 0..n {
            if self.part[c] != NONE && !reached[c] {
                stray = true;
                self.part[c] = NONE;
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
    fn finish(&self, sorted: &[CellLoad], params: &AutocutParams) -> Cut {
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
        // Heaviest cell per turf, for the report.
        let mut heaviest = vec![0_u32; parts];
        for c in 0..n {
            let p = self.part[c];
            if p != NONE {
                heaviest[p as usize] = heaviest[p as usize].max(g.doors[c]);
            }
        }
        let mut kept_group: Vec<usize> = Vec::with_capacity(parts);
        let mut kept_heaviest: Vec<u32> = Vec::with_capacity(parts);
        let mut out = Vec::with_capacity(parts);
        for (p, turf) in turfs.into_iter().enumerate() {
            if turf.doors > 0 {
                kept_group.push(self.part_group[p]);
                kept_heaviest.push(heaviest[p]);
                out.push(turf);
            }
        }
        let unbalanced = self.report(&out, &kept_group, &kept_heaviest, params);
        Cut {
            turfs: out,
            unbalanced,
        }
    }

    /// For every cell, whether its turf keeps it: all door cells, and the
    /// empty cells on the paths that link a turf's door cells with the
    /// fewest empty cells.
    fn trim(&self) -> Vec<bool> {
        let g = self.g;
        let n = g.len();
        let mut keep: Vec<bool> = g.doors.iter().map(|&d| d > 0).collect();
        let mut cost = vec![u32::MAX; n];
        let mut parent = vec![NONE; n];
        let mut root = vec![NONE; self.part_group.len()];
        for c in 0..n {
            let p = self.part[c];
            if p != NONE && g.doors[c] > 0 && root[p as usize] == NONE {
                root[p as usize] = u32::try_from(c).unwrap_or(NONE);
            }
        }
        let mut deque: VecDeque<u32> = VecDeque::new();
        for (p, &r) in (0_u32..).zip(&root) {
            if r == NONE {
                continue;
            }
            // 0-1 breadth-first search: entering an empty cell costs 1.
            cost[r as usize] = 0;
            deque.push_back(r);
            while let Some(c) = deque.pop_front() {
                let base = cost[c as usize];
                for z in g.neighbours(c) {
                    let zi = z as usize;
                    if self.part[zi] != p {
                        continue;
                    }
                    let step = u32::from(g.doors[zi] == 0);
                    if base + step < cost[zi] {
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
        }
        for c in 0..n {
            if g.doors[c] == 0 || self.part[c] == NONE {
                continue;
            }
            let mut up = parent[c];
            while up != NONE && !keep[up as usize] {
                keep[up as usize] = true;
                up = parent[up as usize];
            }
        }
        keep
    }

    /// Lists the turfs outside the tolerance with the reason.
    fn report(
        &self,
        turfs: &[Turf],
        group_of: &[usize],
        heaviest: &[u32],
        params: &AutocutParams,
    ) -> Vec<Unbalanced> {
        let target = f64::from(params.target_doors);
        let tolerance = f64::from(params.tolerance_percent) / 100.0;
        let low = target * (1.0 - tolerance);
        let high = target * (1.0 + tolerance);
        let mut out = Vec::new();
        for (i, turf) in turfs.iter().enumerate() {
            let doors = f64::from(turf.doors);
            let kind = if doors < low {
                Imbalance::Undersized
            } else if doors > high {
                Imbalance::Oversized
            } else {
                continue;
            };
            let group = &self.groups[group_of[i]];
            let average = group.doors as f64 / f64::from(group.turfs.max(1));
            let reason = if f64::from(heaviest[i]) > high {
                format!(
                    "one cell holds {} doors, above the target of {}",
                    heaviest[i], params.target_doors
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
                    "isolated group of {} cells holds {} doors, which does not divide into \
                     turfs of about {}; its {} turfs average {}",
                    group.cells,
                    group.doors,
                    params.target_doors,
                    group.turfs,
                    Rounded(average)
                )
            } else {
                String::from(
                    "the cells with doors around it are too large or too unevenly \
                     spread to balance it further without breaking up a turf",
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
        LatLng::new(47.1, 9.5).expect("valid").to_cell(Resolution::Ten)
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
    fn ring_order_walks_around_the_cell() {
        for c in disk(origin(), 3) {
            let ring: Vec<CellIndex> = c.grid_ring_fast(1).map(|x| x.expect("no pentagon")).collect();
            assert_eq!(ring.len(), 6);
            for i in 0..6 {
                assert!(ring[i].is_neighbor_with(ring[(i + 1) % 6]).expect("same resolution"));
            }
        }
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
        assert_eq!(autocut(&one, &AutocutParams::new(0)), Err(AutocutError::ZeroTarget));
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
        assert!(report.reason.contains("one cell holds 140 doors"), "{}", report.reason);

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
        let far = LatLng::new(47.2, 9.6).expect("valid").to_cell(Resolution::Ten);
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
            report.reason.contains("isolated group of 19 cells holds only 38 doors"),
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
        let far = LatLng::new(47.2, 9.6).expect("valid").to_cell(Resolution::Ten);
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
        let ring: Vec<CellIndex> = origin().grid_ring_fast(6).map(|c| c.expect("no pentagon")).collect();
        let (a, b) = (ring[0], ring[3]);
        let input = loads(&cells, |_, c| if c == a || c == b { 50 } else { 0 });
        let cut = autocut(&input, &AutocutParams::new(100)).expect("valid");
        check(&input, &cut);
        assert_eq!(cut.turfs.len(), 1);
        assert!(cut.turfs[0].cells.len() <= 4, "{:?}", cut.turfs[0].cells.len());
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
        assert_eq!(cut.turfs.len(), usize::try_from((total + 50) / 100).expect("small"));
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
                    1 => cell(0x8a1f_b466_22df_fff),
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
                        let doors = if r < 3 { 0 } else { u32::try_from(next() % 12).expect("small") };
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
