//! The cost model the optimiser works on: stops projected to metres, plus the two
//! sentinel nodes that turn an open path into a path with fixed ends.

use super::{EARTH_RADIUS_M, RouteParams, Side, Stop};

/// Stops with finite coordinates, projected on a local equirectangular plane, and
/// the cost of every leg between them.
///
/// Node ids: `0..n` are the stops, `n` is the start sentinel and `n + 1` the end
/// sentinel. The start sentinel stands for the start point when there is one
/// (legs to it cost their distance) and is free otherwise; the end sentinel is
/// always free, so the path may end anywhere.
pub(super) struct Model {
    xs: Vec<f64>,
    ys: Vec<f64>,
    sides: Vec<Option<Side>>,
    start: Option<(f64, f64)>,
    penalty: f64,
    /// All leg costs, row by row over the `n + 2` nodes, when n is small enough for
    /// the table to pay off (at most [`MATRIX_MAX_STOPS`]).
    matrix: Vec<f64>,
    /// The row length of `matrix`, or 0 without a table.
    width: usize,
}

/// Up to this many stops, leg costs are tabulated (8 MB at most) rather than
/// computed on every look-up.
const MATRIX_MAX_STOPS: usize = 1_000;

/// A problem ready for the optimiser: the model and the way back to the caller's
/// indices.
pub(super) struct Prepared {
    pub(super) model: Model,
    /// The caller's index of each model stop.
    pub(super) original: Vec<usize>,
    /// The caller's indices of stops whose coordinates are not finite: they are not
    /// optimised, only appended to the end of the route.
    pub(super) unplaceable: Vec<usize>,
}

/// The length of a planar vector (no overflow guard needed at these magnitudes,
/// and much cheaper than `hypot`).
#[inline]
pub(super) fn planar(dx: f64, dy: f64) -> f64 {
    (dx * dx + dy * dy).sqrt()
}

/// Whether a (lat, lng) pair is a usable position (NaN fails both tests).
fn finite(p: (f64, f64)) -> bool {
    (-90.0..=90.0).contains(&p.0) && (-540.0..=540.0).contains(&p.1)
}

impl Prepared {
    pub(super) fn new(stops: &[Stop], start: Option<(f64, f64)>, params: &RouteParams) -> Self {
        let mut original = Vec::with_capacity(stops.len());
        let mut unplaceable = Vec::new();
        for (i, stop) in stops.iter().enumerate() {
            if finite((stop.lat, stop.lng)) {
                original.push(i);
            } else {
                unplaceable.push(i);
            }
        }
        let start = start.filter(|&p| finite(p));
        // The projection is centred on the mean position, which keeps the numbers
        // small and the scale error of the projection below 0.1 % within a few
        // kilometres of the centre.
        let count = original.len() + usize::from(start.is_some());
        let (mut lat0, mut lng0) = (0.0, 0.0);
        for &i in &original {
            lat0 += stops[i].lat;
            lng0 += stops[i].lng;
        }
        if let Some((lat, lng)) = start {
            lat0 += lat;
            lng0 += lng;
        }
        if count > 0 {
            lat0 /= count as f64;
            lng0 /= count as f64;
        }
        let kx = EARTH_RADIUS_M * lat0.to_radians().cos();
        let ky = EARTH_RADIUS_M;
        let project = |lat: f64, lng: f64| {
            (
                (lng - lng0).to_radians() * kx,
                (lat - lat0).to_radians() * ky,
            )
        };
        let mut xs = Vec::with_capacity(original.len());
        let mut ys = Vec::with_capacity(original.len());
        let mut sides = Vec::with_capacity(original.len());
        for &i in &original {
            let (x, y) = project(stops[i].lat, stops[i].lng);
            xs.push(x);
            ys.push(y);
            sides.push(stops[i].side);
        }
        let penalty = if params.crossing_penalty_m.is_finite() && params.crossing_penalty_m > 0.0 {
            params.crossing_penalty_m
        } else {
            0.0
        };
        let mut model = Model {
            xs,
            ys,
            sides,
            start: start.map(|(lat, lng)| project(lat, lng)),
            penalty,
            matrix: Vec::new(),
            width: 0,
        };
        model.tabulate();
        Self {
            model,
            original,
            unplaceable,
        }
    }

    /// The caller's order for a path over model stops, with the unplaceable stops at
    /// the end. Stops missing from `path` (which the searches never leave out) are
    /// appended too, so the result is always a permutation.
    pub(super) fn to_original(&self, path: &[usize]) -> Vec<usize> {
        let mut seen = vec![false; self.original.len()];
        let mut order = Vec::with_capacity(self.original.len() + self.unplaceable.len());
        for &node in path {
            if let Some(flag) = seen.get_mut(node).filter(|flag| !**flag) {
                *flag = true;
                order.push(self.original[node]);
            }
        }
        for (node, &flag) in seen.iter().enumerate() {
            if !flag {
                order.push(self.original[node]);
            }
        }
        order.extend_from_slice(&self.unplaceable);
        order
    }
}

impl Model {
    /// The number of stops.
    pub(super) fn n(&self) -> usize {
        self.xs.len()
    }

    pub(super) fn start_node(&self) -> usize {
        self.xs.len()
    }

    pub(super) fn end_node(&self) -> usize {
        self.xs.len() + 1
    }

    pub(super) fn has_start(&self) -> bool {
        self.start.is_some()
    }

    /// The projected position of a stop, or of the start point for the start node.
    pub(super) fn xy(&self, node: usize) -> (f64, f64) {
        match (self.xs.get(node), self.ys.get(node)) {
            (Some(&x), Some(&y)) => (x, y),
            _ => self.start.unwrap_or((0.0, 0.0)),
        }
    }

    /// The cost of the leg between two stops: the distance plus the crossing penalty
    /// when they are on opposite sides of the same street.
    #[inline]
    fn leg(&self, a: usize, b: usize) -> f64 {
        let d = planar(self.xs[a] - self.xs[b], self.ys[a] - self.ys[b]);
        match (self.sides[a], self.sides[b]) {
            (Some(sa), Some(sb)) if sa.street == sb.street && sa.odd != sb.odd => d + self.penalty,
            _ => d,
        }
    }

    /// Fills the cost table, if n is small enough.
    fn tabulate(&mut self) {
        let n = self.xs.len();
        if n > MATRIX_MAX_STOPS {
            return;
        }
        let w = n + 2;
        let mut matrix = vec![0.0; w * w];
        for a in 0..w {
            for b in 0..a {
                let cost = self.compute(a, b);
                matrix[a * w + b] = cost;
                matrix[b * w + a] = cost;
            }
        }
        self.matrix = matrix;
        self.width = w;
    }

    /// The cost of the leg between two nodes, sentinels included.
    #[inline(always)]
    pub(super) fn cost(&self, a: usize, b: usize) -> f64 {
        if self.width > 0 {
            self.matrix[a * self.width + b]
        } else {
            self.compute(a, b)
        }
    }

    /// The cost of the leg between two nodes, computed.
    #[inline(never)]
    fn compute(&self, a: usize, b: usize) -> f64 {
        let n = self.xs.len();
        if a < n && b < n {
            return self.leg(a, b);
        }
        let other = if a < n {
            a
        } else if b < n {
            b
        } else {
            return 0.0;
        };
        if a == n + 1 || b == n + 1 {
            return 0.0;
        }
        match self.start {
            Some((x, y)) => planar(self.xs[other] - x, self.ys[other] - y),
            None => 0.0,
        }
    }

    /// The cost of a path over model stops, from the start point when there is one.
    pub(super) fn path_cost(&self, path: &[usize]) -> f64 {
        let mut total = 0.0;
        let mut prev = self.start_node();
        for &node in path {
            total += self.cost(prev, node);
            prev = node;
        }
        total
    }
}
