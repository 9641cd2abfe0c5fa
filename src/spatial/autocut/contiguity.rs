//! Keeping turfs connected: the paths that link a turf's door cells ([`connect`]) and
//! the pockets a turf would lose with one of its cells ([`Scratch::detach`]).

use std::cmp::Reverse;
use std::collections::VecDeque;

use super::graph::{Graph, NONE};

/// The most cells [`Scratch::detach`] explores in one pocket.
pub(super) const POCKET_CELLS: usize = 2_048;

/// Scratch space for [`connect`]; `cost` and `parent` are reset after use.
pub(super) struct Paths {
    cost: Vec<u32>,
    parent: Vec<u32>,
    visited: Vec<u32>,
    deque: VecDeque<u32>,
}

impl Paths {
    pub(super) fn new(n: usize) -> Self {
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
pub(super) fn connect(
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
pub(super) struct Scratch {
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
    pub(super) fn new(n: usize) -> Self {
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
    pub(super) fn detach(
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
