//! Candidate lists: for every node, the nodes worth joining it to, cheapest first.
//!
//! The k nearest points (by leg cost) are found with a uniform grid over the
//! projected positions, searched ring by ring, so building the lists takes about
//! O(n·k) time and memory whatever the spread of the points.

use std::cmp::Ordering;

use super::model::Model;

/// Neighbour lists of all nodes in one flat array.
pub(super) struct Neighbours {
    offsets: Vec<usize>,
    items: Vec<usize>,
}

impl Neighbours {
    /// The candidates of `node`, cheapest first.
    #[inline]
    pub(super) fn of(&self, node: usize) -> &[usize] {
        match (self.offsets.get(node), self.offsets.get(node + 1)) {
            (Some(&from), Some(&to)) => self.items.get(from..to).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// Builds the lists: each stop gets the end sentinel (and the start sentinel when
    /// there is no start point, as both are free to join), then its `k` cheapest
    /// points among the stops and the start point. The start point, when there is
    /// one, gets its `k` nearest stops; the sentinels that are free get no list, as
    /// every stop already lists them.
    pub(super) fn build(model: &Model, k: usize) -> Self {
        let n = model.n();
        let start = model.start_node();
        let end = model.end_node();
        let mut points: Vec<usize> = (0..n).collect();
        if model.has_start() {
            points.push(start);
        }
        let grid = Grid::new(model, &points);
        let mut offsets = Vec::with_capacity(n + 3);
        let mut items = Vec::with_capacity((n + 1) * (k + 2));
        let mut best = Vec::with_capacity(k + 1);
        for node in 0..n + 2 {
            offsets.push(items.len());
            if node < n {
                items.push(end);
                if !model.has_start() {
                    items.push(start);
                }
            }
            if node < n || (node == start && model.has_start()) {
                grid.nearest(model, node, k, &mut best);
                items.extend(best.iter().map(|&(_, c)| c));
            }
        }
        offsets.push(items.len());
        Self { offsets, items }
    }
}

/// Orders candidates by cost, then by node id, so ties break the same way on every
/// run.
fn by_cost(a: &(f64, usize), b: &(f64, usize)) -> Ordering {
    a.0.total_cmp(&b.0).then(a.1.cmp(&b.1))
}

/// A uniform grid of square cells over the points.
struct Grid {
    x0: f64,
    y0: f64,
    cell: f64,
    nx: usize,
    ny: usize,
    /// `cells[c]..cells[c + 1]` indexes the points of cell `c` in `members`.
    cells: Vec<usize>,
    members: Vec<usize>,
}

impl Grid {
    fn new(model: &Model, points: &[usize]) -> Self {
        let (mut x0, mut y0) = (f64::INFINITY, f64::INFINITY);
        let (mut x1, mut y1) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
        for &p in points {
            let (x, y) = model.xy(p);
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x);
            y1 = y1.max(y);
        }
        if points.is_empty() {
            (x0, y0, x1, y1) = (0.0, 0.0, 0.0, 0.0);
        }
        let (w, h) = (x1 - x0, y1 - y0);
        let count = points.len().max(1) as f64;
        // About two points per cell on an even spread; the second bound keeps the
        // cell count linear when the points lie on a line.
        let cell = (1.5 * (w * h / count).sqrt())
            .max(w.max(h) / count)
            .max(1e-3);
        let nx = (w / cell) as usize + 1;
        let ny = (h / cell) as usize + 1;
        let mut grid = Self {
            x0,
            y0,
            cell,
            nx,
            ny,
            cells: vec![0; nx * ny + 1],
            members: vec![0; points.len()],
        };
        let index: Vec<usize> = points
            .iter()
            .map(|&p| {
                let (x, y) = model.xy(p);
                let (cx, cy) = grid.cell_of(x, y);
                cy * nx + cx
            })
            .collect();
        for &c in &index {
            grid.cells[c + 1] += 1;
        }
        for c in 0..nx * ny {
            grid.cells[c + 1] += grid.cells[c];
        }
        let mut fill = grid.cells.clone();
        for (&p, &c) in points.iter().zip(&index) {
            grid.members[fill[c]] = p;
            fill[c] += 1;
        }
        grid
    }

    fn cell_of(&self, x: f64, y: f64) -> (usize, usize) {
        // `as` saturates (and maps NaN to 0), so this stays inside the grid.
        let cx = ((x - self.x0) / self.cell) as usize;
        let cy = ((y - self.y0) / self.cell) as usize;
        (cx.min(self.nx - 1), cy.min(self.ny - 1))
    }

    fn members(&self, cx: usize, cy: usize) -> &[usize] {
        let c = cy * self.nx + cx;
        &self.members[self.cells[c]..self.cells[c + 1]]
    }

    /// Fills `best` with the `k` cheapest points from `node` (the node itself
    /// excluded), cheapest first. Leg costs are never below the distance, so once the
    /// k-th best cost is within the distance already searched, no farther ring can
    /// improve it.
    fn nearest(&self, model: &Model, node: usize, k: usize, best: &mut Vec<(f64, usize)>) {
        best.clear();
        if k == 0 {
            return;
        }
        let (x, y) = model.xy(node);
        let (cx, cy) = self.cell_of(x, y);
        let (cx, cy) = (cx as isize, cy as isize);
        let (nx, ny) = (self.nx as isize, self.ny as isize);
        let consider = |p: usize, best: &mut Vec<(f64, usize)>| {
            if p == node {
                return;
            }
            let candidate = (model.cost(node, p), p);
            if best.len() == k {
                match best.last() {
                    Some(last) if by_cost(&candidate, last) == Ordering::Less => {
                        best.pop();
                    }
                    _ => return,
                }
            }
            let at = best.partition_point(|b| by_cost(b, &candidate) == Ordering::Less);
            best.insert(at, candidate);
        };
        let rings = nx.max(ny);
        for r in 0..=rings {
            for gy in (cy - r)..=(cy + r) {
                if gy < 0 || gy >= ny {
                    continue;
                }
                let edge_row = gy == cy - r || gy == cy + r;
                let step = if edge_row { 1 } else { (2 * r).max(1) };
                let mut gx = cx - r;
                while gx <= cx + r {
                    if gx >= 0 && gx < nx {
                        for &p in self.members(gx as usize, gy as usize) {
                            consider(p, best);
                        }
                    }
                    gx += step;
                }
            }
            if best.len() == k
                && let Some(&(kth, _)) = best.last()
                && kth < r as f64 * self.cell
            {
                break;
            }
        }
    }
}
