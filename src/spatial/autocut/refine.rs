//! Stage 5, refinement: moving border cells between neighbouring turfs to balance
//! them and smooth their borders, and the final check that every turf is connected.

use std::collections::VecDeque;

use super::Cutter;
use super::contiguity::POCKET_CELLS;
use super::graph::NONE;

/// Turfs further than this share from their ideal size may pass doors on to
/// neighbours of the right size, to reach a turf short of doors further away.
const BALANCE_BAND: f64 = 0.03;

/// How far, as a share of the ideal size, smoothing may take a turf.
const SMOOTH_BAND: f64 = 0.03;

/// How many rounds of smoothing to run at most.
const SMOOTH_ROUNDS: usize = 4;

/// How many rounds of border refinement to run at most.
const REFINE_ROUNDS: usize = 30;

impl Cutter<'_> {
    /// The ideal number of doors of turf `p`.
    fn ideal(&self, p: u32) -> f64 {
        let group = &self.groups[self.part_group[p as usize]];
        group.doors as f64 / f64::from(group.turfs.max(1))
    }

    /// Moves border cells between neighbouring turfs to improve balance and
    /// smooth borders.
    pub(super) fn refine(&mut self) {
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
    pub(super) fn repair(&mut self) {
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
}

/// Neighbouring turfs of a cell with the number of its neighbours in each.
type PartCounts = [Option<(u32, u32)>; 6];
