//! Stages 2 to 4, the search for the turfs: the connected groups, leaving out empty
//! land, and the recursive bisection that grows two sides from seeds at both ends of
//! the principal axis and balances the split.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use h3o::LatLng;

use super::contiguity::{POCKET_CELLS, connect};
use super::graph::NONE;
use super::{Cutter, Group};

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

/// The two sides of one split: their set labels and their numbers of turfs.
struct Split {
    label_a: u32,
    label_b: u32,
    k1: u64,
    k2: u64,
}

impl Cutter<'_> {
    fn label(&mut self) -> u32 {
        let l = self.next_label;
        self.next_label += 1;
        l
    }

    /// Finds the connected groups and cuts each of them.
    pub(super) fn cut_groups(&mut self) {
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
}
