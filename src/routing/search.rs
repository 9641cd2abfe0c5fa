//! Construction and local search on the sentinel-framed path.
//!
//! The path is an array `[start, stops…, end]` with the two sentinels fixed at its
//! ends, plus the position of every node in it. A 2-opt move reverses a slice of
//! the stops; an Or-opt move moves a segment of stops (one to three next to the
//! node at hand, or the whole stretch between it and one of its candidates),
//! either way round, between two other neighbouring nodes. As the sentinels join
//! any stop for free (or, for a start point, for its distance), reversing the tail
//! end or moving stops to either end of the path are ordinary moves, with no
//! special cases.

use std::collections::VecDeque;

use super::model::Model;
use super::neighbours::Neighbours;

/// Improvements smaller than this (in metres) are ignored, so rounding can't make
/// the search cycle.
const EPS: f64 = 1e-7;

/// A small deterministic generator (SplitMix64): the searches are reproducible.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (`bound` > 0; the modulo bias is irrelevant here).
    pub(super) fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }
}

/// Builds a path by always walking to the cheapest unvisited stop. It starts from
/// the start point, or without one from the stop farthest from the centre of the
/// stops (an end of the spread is where an open path usually starts best).
///
/// With `rng`, each step takes one of the few cheapest unvisited candidates at
/// random instead (for the multi-start reference search).
pub(super) fn nearest_neighbour(
    model: &Model,
    nb: &Neighbours,
    mut rng: Option<&mut Rng>,
) -> Vec<usize> {
    let n = model.n();
    let mut path = Vec::with_capacity(n);
    if n == 0 {
        return path;
    }
    let mut unvisited: Vec<usize> = (0..n).collect();
    let mut slot: Vec<usize> = (0..n).collect();
    // `slot[node]` is the node's index in `unvisited`, or usize::MAX once visited.
    let visit = |node: usize, unvisited: &mut Vec<usize>, slot: &mut [usize]| {
        let at = slot[node];
        unvisited.swap_remove(at);
        if let Some(&moved) = unvisited.get(at) {
            slot[moved] = at;
        }
        slot[node] = usize::MAX;
    };
    let mut current = if model.has_start() {
        model.start_node()
    } else {
        let (mut cx, mut cy) = (0.0, 0.0);
        for node in 0..n {
            let (x, y) = model.xy(node);
            cx += x;
            cy += y;
        }
        cx /= n as f64;
        cy /= n as f64;
        let mut first = 0;
        let mut far = f64::NEG_INFINITY;
        for node in 0..n {
            let (x, y) = model.xy(node);
            let d = (x - cx).hypot(y - cy);
            if d > far {
                far = d;
                first = node;
            }
        }
        visit(first, &mut unvisited, &mut slot);
        path.push(first);
        first
    };
    let mut choices: Vec<usize> = Vec::with_capacity(3);
    while !unvisited.is_empty() {
        // With randomness, a third of the steps pick among the one to three cheapest.
        let wanted = rng
            .as_deref_mut()
            .map_or(1, |r| if r.below(3) == 0 { 1 + r.below(3) } else { 1 });
        choices.clear();
        choices.extend(
            nb.of(current)
                .iter()
                .copied()
                .filter(|&c| c < n && slot[c] != usize::MAX)
                .take(wanted),
        );
        if choices.is_empty() {
            // Every listed neighbour is visited: scan all that are left.
            let mut best = unvisited[0];
            let mut best_cost = f64::INFINITY;
            for &c in &unvisited {
                let cost = model.cost(current, c);
                if cost < best_cost {
                    best_cost = cost;
                    best = c;
                }
            }
            choices.push(best);
        }
        let pick = match rng.as_deref_mut() {
            Some(r) => r.below(choices.len()),
            None => 0,
        };
        let next = choices[pick];
        visit(next, &mut unvisited, &mut slot);
        path.push(next);
        current = next;
    }
    path
}

/// A path under improvement.
pub(super) struct Tour<'a> {
    model: &'a Model,
    nb: &'a Neighbours,
    /// `[start, stops…, end]`.
    path: Vec<usize>,
    pos: Vec<usize>,
    queue: VecDeque<usize>,
    queued: Vec<bool>,
    /// The cost of `path`, kept up to date move by move.
    cost: f64,
    /// The range of positions changed since the last checkpoint.
    dirty: Option<(usize, usize)>,
}

impl<'a> Tour<'a> {
    /// A tour over the stops in `order`, with every node queued for improvement.
    pub(super) fn new(model: &'a Model, nb: &'a Neighbours, order: &[usize]) -> Self {
        let n = model.n();
        let mut path = Vec::with_capacity(n + 2);
        path.push(model.start_node());
        path.extend_from_slice(order);
        path.push(model.end_node());
        let mut pos = vec![0; n + 2];
        for (i, &node) in path.iter().enumerate() {
            pos[node] = i;
        }
        let cost = model.path_cost(order);
        let mut tour = Self {
            model,
            nb,
            path,
            pos,
            queue: VecDeque::with_capacity(n + 2),
            queued: vec![false; n + 2],
            cost,
            dirty: None,
        };
        for i in 0..tour.path.len() {
            tour.push(tour.path[i]);
        }
        tour
    }

    /// The stops in visiting order.
    pub(super) fn order(&self) -> &[usize] {
        let last = self.path.len().saturating_sub(1);
        self.path.get(1..last).unwrap_or(&[])
    }

    fn push(&mut self, node: usize) {
        if !self.queued[node] {
            self.queued[node] = true;
            self.queue.push_back(node);
        }
    }

    fn touch(&mut self, from: usize, to: usize) {
        self.dirty = Some(match self.dirty {
            Some((lo, hi)) => (lo.min(from), hi.max(to)),
            None => (from, to),
        });
    }

    fn reposition(&mut self, from: usize, to: usize) {
        for i in from..=to {
            self.pos[self.path[i]] = i;
        }
        self.touch(from, to);
    }

    fn reverse(&mut self, from: usize, to: usize) {
        self.path[from..=to].reverse();
        self.reposition(from, to);
    }

    /// Improves the path until no queued node has an improving 2-opt or Or-opt move.
    pub(super) fn local_search(&mut self) {
        while let Some(a) = self.queue.pop_front() {
            self.queued[a] = false;
            if self.two_opt(a) || self.or_opt(a) || self.or_opt_between(a) {
                self.push(a);
            }
        }
    }

    /// Tries 2-opt moves that join `a` to one of its candidates `c`, replacing the
    /// edges (a, b) and (c, d), where b and d follow (or both precede) a and c, by
    /// (a, c) and (b, d). Applies the first improving one.
    fn two_opt(&mut self, a: usize) -> bool {
        let model = self.model;
        let nb = self.nb;
        let last = self.path.len() - 1;
        let x = self.pos[a];
        for forward in [true, false] {
            if (forward && x == last) || (!forward && x == 0) {
                continue;
            }
            let b = if forward {
                self.path[x + 1]
            } else {
                self.path[x - 1]
            };
            let ab = model.cost(a, b);
            for &c in nb.of(a) {
                let ac = model.cost(a, c);
                if ab - ac <= EPS {
                    break;
                }
                let y = self.pos[c];
                if (forward && y == last) || (!forward && y == 0) {
                    continue;
                }
                let d = if forward {
                    self.path[y + 1]
                } else {
                    self.path[y - 1]
                };
                if d == a || c == b {
                    continue;
                }
                let delta = ac + model.cost(b, d) - ab - model.cost(c, d);
                if delta < -EPS {
                    match (forward, x < y) {
                        (true, true) => self.reverse(x + 1, y),
                        (true, false) => self.reverse(y + 1, x),
                        (false, true) => self.reverse(x, y - 1),
                        (false, false) => self.reverse(y, x - 1),
                    }
                    self.cost += delta;
                    for node in [b, c, d] {
                        self.push(node);
                    }
                    return true;
                }
            }
        }
        false
    }

    /// Tries to move a segment of one to three stops that starts or ends at `a`
    /// elsewhere, either way round. Applies the first improving move.
    fn or_opt(&mut self, a: usize) -> bool {
        let last = self.path.len() - 1;
        let x = self.pos[a];
        if x == 0 || x == last {
            return false;
        }
        for len in 1..=3 {
            for forward in [true, false] {
                if len == 1 && !forward {
                    continue;
                }
                let (s, e) = if forward {
                    (x, x + len - 1)
                } else if x >= len {
                    (x + 1 - len, x)
                } else {
                    continue;
                };
                if s >= 1 && e < last && self.move_segment(s, e) {
                    return true;
                }
            }
        }
        false
    }

    /// Tries to move a segment of any length whose removal joins `a` to one of its
    /// candidates (the stops strictly between them), as in `move_segment`. This
    /// lets whole blocks, such as a cluster left for the end, move in one step.
    fn or_opt_between(&mut self, a: usize) -> bool {
        let model = self.model;
        let nb = self.nb;
        let x = self.pos[a];
        let last = self.path.len() - 1;
        // Only joins shorter than the edge they replace at `a` are tried (the
        // usual gain criterion; the move is also found from c's side).
        let after = if x < last {
            model.cost(a, self.path[x + 1])
        } else {
            f64::NEG_INFINITY
        };
        let before = if x > 0 {
            model.cost(a, self.path[x - 1])
        } else {
            f64::NEG_INFINITY
        };
        for &c in nb.of(a) {
            let ac = model.cost(a, c);
            if ac >= after && ac >= before {
                break;
            }
            let y = self.pos[c];
            let (s, e) = if y > x + 1 && ac < after {
                (x + 1, y - 1)
            } else if y + 1 < x && ac < before {
                (y + 1, x - 1)
            } else {
                continue;
            };
            if self.move_segment(s, e) {
                return true;
            }
        }
        false
    }

    /// Tries to move the segment at positions `s..=e` between a candidate of one of
    /// its end stops and that candidate's neighbour on the path.
    fn move_segment(&mut self, s: usize, e: usize) -> bool {
        let model = self.model;
        let nb = self.nb;
        let last = self.path.len() - 1;
        let (f, l) = (self.path[s], self.path[e]);
        let (p, q) = (self.path[s - 1], self.path[e + 1]);
        let gain = model.cost(p, f) + model.cost(l, q) - model.cost(p, q);
        if gain <= EPS {
            return false;
        }
        let ends: &[usize] = if f == l { &[f] } else { &[f, l] };
        let inside = |i: usize| i >= s && i <= e;
        for &z in ends {
            for &c in nb.of(z) {
                let zc = model.cost(z, c);
                if zc >= gain {
                    break;
                }
                let y = self.pos[c];
                if inside(y) {
                    continue;
                }
                // Between c and the node after it, z next to c.
                if y < last && !inside(y + 1) {
                    let v = self.path[y + 1];
                    let (added, reversed) = if z == f {
                        (zc + model.cost(l, v), false)
                    } else {
                        (zc + model.cost(f, v), true)
                    };
                    let delta = added - model.cost(c, v) - gain;
                    if delta < -EPS {
                        self.relocate(s, e, y, reversed);
                        self.cost += delta;
                        for node in [p, q, f, l, c, v] {
                            self.push(node);
                        }
                        return true;
                    }
                }
                // Between the node before c and c, z next to c.
                if y > 0 && !inside(y - 1) {
                    let u = self.path[y - 1];
                    let (added, reversed) = if z == l {
                        (model.cost(u, f) + zc, false)
                    } else {
                        (model.cost(u, l) + zc, true)
                    };
                    let delta = added - model.cost(u, c) - gain;
                    if delta < -EPS {
                        self.relocate(s, e, y - 1, reversed);
                        self.cost += delta;
                        for node in [p, q, f, l, u, c] {
                            self.push(node);
                        }
                        return true;
                    }
                }
            }
        }
        false
    }

    /// Moves the segment at `s..=e` into the gap after position `gap` (outside the
    /// segment and not next to it), reversing it if asked.
    fn relocate(&mut self, s: usize, e: usize, gap: usize, reversed: bool) {
        let len = e - s + 1;
        if gap > e {
            self.path[s..=gap].rotate_left(len);
            if reversed {
                self.path[gap + 1 - len..=gap].reverse();
            }
            self.reposition(s, gap);
        } else {
            self.path[gap + 1..=e].rotate_right(len);
            if reversed {
                self.path[gap + 1..=gap + len].reverse();
            }
            self.reposition(gap + 1, e);
        }
    }

    /// Swaps two random adjacent segments of the path (a "double bridge" kick, which
    /// 2-opt and Or-opt can't undo in one move) and queues the nodes around the three
    /// changed joins.
    fn kick(&mut self, rng: &mut Rng, max_len: usize) {
        let n = self.path.len() - 2;
        let l1 = 1 + rng.below(max_len);
        let l2 = 1 + rng.below(max_len);
        if l1 + l2 > n {
            return;
        }
        let i = 1 + rng.below(n - l1 - l2 + 1);
        let j = i + l1 + l2;
        let model = self.model;
        let [a, b, c, d, e, f] = [i - 1, i, i + l1 - 1, i + l1, j - 1, j].map(|k| self.path[k]);
        // a b…c d…e f  becomes  a d…e b…c f
        let delta = model.cost(a, d) + model.cost(e, b) + model.cost(c, f)
            - model.cost(a, b)
            - model.cost(c, d)
            - model.cost(e, f);
        self.path[i..j].rotate_left(l1);
        self.reposition(i, j - 1);
        self.cost += delta;
        for node in [a, b, c, d, e, f] {
            self.push(node);
        }
    }

    /// Iterated local search: `rounds` times, kick the path (segments of up to
    /// `max_len` stops, and at most half the stops) and improve it again, keeping
    /// the result only if it is shorter. Call after `local_search`.
    pub(super) fn iterate(&mut self, rounds: usize, max_len: usize, rng: &mut Rng) {
        let n = self.path.len() - 2;
        if n < 3 {
            return;
        }
        let max_len = (n / 2).clamp(1, max_len.max(1));
        let mut best = self.path.clone();
        let mut best_cost = self.cost;
        self.dirty = None;
        for _ in 0..rounds {
            self.kick(rng, max_len);
            self.local_search();
            let Some((lo, hi)) = self.dirty.take() else {
                continue;
            };
            if self.cost < best_cost - EPS {
                best_cost = self.cost;
                best[lo..=hi].copy_from_slice(&self.path[lo..=hi]);
            } else {
                self.path[lo..=hi].copy_from_slice(&best[lo..=hi]);
                for i in lo..=hi {
                    self.pos[self.path[i]] = i;
                }
                self.cost = best_cost;
            }
        }
    }
}
