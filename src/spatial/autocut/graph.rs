//! Stage 1, the graph: the sorted cells, their doors and their neighbours inside the
//! input, in ring order where that can be relied on.

use h3o::CellIndex;

use super::CellLoad;

/// Marks a missing neighbour or an unassigned cell.
pub(super) const NONE: u32 = u32::MAX;

/// The cells as a graph: door counts and neighbours.
pub(super) struct Graph {
    /// The cells, sorted.
    pub(super) cells: Vec<CellIndex>,
    /// The doors of every cell, by index into the sorted input.
    pub(super) doors: Vec<u32>,
    /// The neighbours of every cell that are part of the input, `NONE` where
    /// the neighbour is not. For cells with `ordered` set, the six entries
    /// follow each other around the cell, so entries next to each other in
    /// the array (and the last and the first) are neighbours of each other.
    pub(super) nbr: Vec<[u32; 6]>,
    /// Whether the neighbours of the cell are in ring order. Not the case for
    /// pentagons and the cells around them.
    pub(super) ordered: Vec<bool>,
}

impl Graph {
    pub(super) fn build(sorted: &[CellLoad]) -> Self {
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

    pub(super) fn len(&self) -> usize {
        self.doors.len()
    }

    /// The neighbours of `c` that are part of the input.
    pub(super) fn neighbours(&self, c: u32) -> impl Iterator<Item = u32> + '_ {
        self.nbr[c as usize].iter().copied().filter(|&x| x != NONE)
    }

    /// Whether taking `c` out of the set described by `inside` (which
    /// contains `c`) keeps the rest of the set connected, judged by the
    /// neighbours of `c` alone. `false` is always safe; `true` is only
    /// returned when it is certain. Never true when `c` is the only cell.
    pub(super) fn removable(&self, c: u32, inside: impl Fn(u32) -> bool) -> bool {
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
pub(super) fn neighbour_ring(cell: CellIndex, table: &CellTable, ring: &mut [u32; 6]) -> bool {
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
pub(super) struct CellTable {
    keys: Vec<u64>,
    values: Vec<u32>,
    shift: u32,
}

impl CellTable {
    pub(super) fn new(sorted: &[CellLoad]) -> Self {
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
