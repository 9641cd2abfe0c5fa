//! Walking-route ordering: in which order a canvasser should visit a list of doors.
//!
//! # Model
//!
//! The route is an open path: it starts at the given start point (which is not a
//! stop) or, without one, at whichever stop makes the path cheapest, visits every
//! stop once and ends at the last stop, without walking back. The objective is the
//! walking distance plus [`RouteParams::crossing_penalty_m`] for every leg between
//! two stops on opposite sides of the same street (same [`Side::street`], different
//! [`Side::odd`]): crossing costs time and care, so a route walks one side of a
//! street and comes back on the other unless zig-zagging is clearly shorter.
//! Distances are measured on a local equirectangular projection centred on the
//! stops (within 0.1 % of the great-circle distance over a few kilometres); the
//! reported [`Route::distance_m`] is the haversine length without penalties.
//!
//! # Search
//!
//! * Candidates: every stop gets its k cheapest other points (k = 10) from a uniform
//!   grid, O(n·k) time and memory.
//! * Construction: nearest neighbour from the start point (or from the stop farthest
//!   from the centre), guided by the candidate lists.
//! * Local search, until no move improves: 2-opt (reverse a stretch of the path),
//!   Or-opt (move a segment of one to three stops elsewhere, either way round) and
//!   its long form (move the whole stretch between a stop and one of its
//!   candidates, so a block left for the end can move in one step). Moves are
//!   searched only around each node's candidates, driven by a work queue
//!   ("don't-look bits"). Two sentinel nodes frame the path, so reversing its tail
//!   or moving stops to either end are ordinary moves.
//! * Perturbation: an iterated local search then, 2·n times (at least 100), swaps
//!   two random adjacent segments of up to 30 stops (a double bridge), re-optimises
//!   around the change and keeps the result only if it is cheaper. The random
//!   numbers come from a fixed seed, so the same input always gives the same route.
//!
//! Each improvement costs O(k) to find and O(n) at worst to apply (shifting an
//! array slice), and each kick is repaired locally, so the search is about
//! O(n·k) per pass: about 2 ms for 150 stops and 0.2 s for 5,000 in release.
//! Memory is O(n·k), plus an (n + 2)² table of leg costs up to 1,000 stops
//! (8 MB at most). On real lists of 50–150 doors the routes are within about
//! 0.5 % of a long multi-start search ([`reference_route`]); [`exact_route`]
//! (Held–Karp, up to 13 stops) gives true optima for the tests.

mod exact;
mod model;
mod neighbours;
mod search;

use std::ops::Range;

use model::Prepared;
use neighbours::Neighbours;
use search::{Rng, Tour};

/// The mean Earth radius (IUGG), in metres.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Candidates per stop for [`order_route`].
const NEIGHBOURS: usize = 10;
/// Candidates per stop for [`reference_route`].
const REFERENCE_NEIGHBOURS: usize = 16;
/// The longest segments a kick swaps.
const KICK: usize = 30;
/// The most stops [`exact_route`] accepts.
pub const EXACT_MAX_STOPS: usize = 13;

/// One stop to visit.
#[derive(Debug, Clone, PartialEq)]
pub struct Stop {
    /// Latitude in degrees.
    pub lat: f64,
    /// Longitude in degrees.
    pub lng: f64,
    /// Which side of which street, when known: stops with the same `street` but
    /// different `odd` are on opposite sides.
    pub side: Option<Side>,
}

/// A side of a street.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Side {
    /// A hash of the normalised street name (see [`street_key`]).
    pub street: u64,
    /// Whether the house numbers on this side are odd.
    pub odd: bool,
}

/// Tuning of the route model.
#[derive(Debug, Clone, Copy)]
pub struct RouteParams {
    /// Extra cost, in metres, of a leg that crosses a street (default 20). Negative
    /// or non-finite values count as 0.
    pub crossing_penalty_m: f64,
    /// Walking speed in metres per second (default 1.2); a speed that is not
    /// positive makes any walk take forever.
    pub walking_speed_mps: f64,
    /// Time spent at each door, in seconds (default 60).
    pub seconds_per_door: f64,
}

impl Default for RouteParams {
    fn default() -> Self {
        Self {
            crossing_penalty_m: 20.0,
            walking_speed_mps: 1.2,
            seconds_per_door: 60.0,
        }
    }
}

/// An ordered route.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// The stops' indices in visiting order: a permutation of `0..stops.len()`.
    pub order: Vec<usize>,
    /// The great-circle walking distance from the start (if any) through all stops
    /// in order, without penalties.
    pub distance_m: f64,
    /// `distance_m / walking_speed_mps + stops * seconds_per_door`.
    pub walking_seconds: f64,
}

impl Route {
    fn new(
        stops: &[Stop],
        start: Option<(f64, f64)>,
        params: &RouteParams,
        order: Vec<usize>,
    ) -> Self {
        let distance_m = path_length_m(stops, start, &order);
        let walking = if params.walking_speed_mps > 0.0 {
            distance_m / params.walking_speed_mps
        } else {
            f64::INFINITY
        };
        Self {
            walking_seconds: walking + stops.len() as f64 * params.seconds_per_door,
            order,
            distance_m,
        }
    }
}

/// The number of kick rounds [`order_route`] spends on `n` stops: two per stop
/// (at least 100, which settles small lists), enough to close most of the gap left
/// by plain local search while keeping 150 stops at a few milliseconds and 5,000
/// well under a second.
fn kick_rounds(n: usize) -> usize {
    (2 * n).max(100)
}

/// Orders the stops as a short open walking path starting at `start` (lat, lng) if
/// given, else at the stop that best starts the route. Deterministic: the same input
/// always gives the same output.
///
/// Stops with unusable coordinates (NaN, infinite or out of range) are not
/// optimised; they come last, in input order. A start with unusable coordinates
/// is ignored by the search (the reported distance, which counts the leg from it,
/// is then NaN).
pub fn order_route(stops: &[Stop], start: Option<(f64, f64)>, params: &RouteParams) -> Route {
    let prepared = Prepared::new(stops, start, params);
    let model = &prepared.model;
    let nb = Neighbours::build(model, NEIGHBOURS);
    let initial = search::nearest_neighbour(model, &nb, None);
    let mut tour = Tour::new(model, &nb, &initial);
    tour.local_search();
    tour.iterate(
        kick_rounds(model.n()),
        KICK,
        &mut Rng::new(0x5EED_F00D_600D_1DEA),
    );
    let order = prepared.to_original(tour.order());
    Route::new(stops, start, params, order)
}

/// Great-circle (haversine) distance in metres between two (lat, lng) points in
/// degrees.
pub fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lat1, lat2) = (a.0.to_radians(), b.0.to_radians());
    let dlat = lat2 - lat1;
    let dlng = (b.1 - a.1).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlng / 2.0).sin().powi(2);
    // Clamp rounding above 1 without turning NaN into a number.
    let h = if h > 1.0 { 1.0 } else { h };
    2.0 * EARTH_RADIUS_M * h.sqrt().asin()
}

/// The great-circle length of a visiting order, from `start` if given, without
/// penalties. Indices outside `stops` are skipped.
pub fn path_length_m(stops: &[Stop], start: Option<(f64, f64)>, order: &[usize]) -> f64 {
    let mut prev = start;
    let mut total = 0.0;
    for stop in order.iter().filter_map(|&i| stops.get(i)) {
        let here = (stop.lat, stop.lng);
        if let Some(p) = prev {
            total += distance_m(p, here);
        }
        prev = Some(here);
    }
    total
}

/// Whether a leg between two stops crosses a street.
fn crosses(a: &Stop, b: &Stop) -> bool {
    matches!((a.side, b.side), (Some(x), Some(y)) if x.street == y.street && x.odd != y.odd)
}

/// The objective of a visiting order: its great-circle length plus the crossing
/// penalty for each leg that crosses a street. Indices outside `stops` are skipped.
pub fn route_cost(
    stops: &[Stop],
    start: Option<(f64, f64)>,
    order: &[usize],
    params: &RouteParams,
) -> f64 {
    let penalty = if params.crossing_penalty_m.is_finite() && params.crossing_penalty_m > 0.0 {
        params.crossing_penalty_m
    } else {
        0.0
    };
    let mut crossings = 0usize;
    let mut prev: Option<&Stop> = None;
    for stop in order.iter().filter_map(|&i| stops.get(i)) {
        if prev.is_some_and(|p| crosses(p, stop)) {
            crossings += 1;
        }
        prev = Some(stop);
    }
    path_length_m(stops, start, order) + crossings as f64 * penalty
}

/// The exact optimum of the model by Held–Karp dynamic programming (O(2ⁿ·n²)), for
/// tests and benchmarks; `None` above [`EXACT_MAX_STOPS`] stops.
pub fn exact_route(
    stops: &[Stop],
    start: Option<(f64, f64)>,
    params: &RouteParams,
) -> Option<Route> {
    if stops.len() > EXACT_MAX_STOPS {
        return None;
    }
    let prepared = Prepared::new(stops, start, params);
    let path = exact::held_karp(&prepared.model);
    Some(Route::new(
        stops,
        start,
        params,
        prepared.to_original(&path),
    ))
}

/// A long multi-start search, used by the benchmark as a near-optimal reference:
/// `restarts` runs (at least one), each a randomised nearest-neighbour construction
/// (the first one plain) followed by local search and a long iterated local search
/// with its own fixed seed, on larger candidate lists than [`order_route`]; the
/// cheapest result wins. Deterministic.
pub fn reference_route(
    stops: &[Stop],
    start: Option<(f64, f64)>,
    params: &RouteParams,
    restarts: usize,
) -> Route {
    let prepared = Prepared::new(stops, start, params);
    let model = &prepared.model;
    let n = model.n();
    let nb = Neighbours::build(model, REFERENCE_NEIGHBOURS);
    let rounds = 20 * n + 1_000;
    let mut best: Option<(f64, Vec<usize>)> = None;
    for restart in 0..restarts.max(1) {
        let mut rng = Rng::new(0xC0FF_EE00 ^ (restart as u64).wrapping_mul(0x9E37_79B9));
        let initial = search::nearest_neighbour(model, &nb, (restart > 0).then_some(&mut rng));
        let mut tour = Tour::new(model, &nb, &initial);
        tour.local_search();
        tour.iterate(rounds, KICK, &mut rng);
        let cost = model.path_cost(tour.order());
        if best.as_ref().is_none_or(|(b, _)| cost < *b) {
            best = Some((cost, tour.order().to_vec()));
        }
    }
    let path = best.map(|(_, path)| path).unwrap_or_default();
    Route::new(stops, start, params, prepared.to_original(&path))
}

/// Splits a route of `len` stops into consecutive chunks of at most `max` stops
/// (a `max` of 0 counts as 1), returning index ranges into the route's `order`.
/// The chunks are as even as possible: 101 stops at most 50 a chunk give 34, 34
/// and 33, not 50, 50 and 1.
pub fn split_route(len: usize, max: usize) -> Vec<Range<usize>> {
    let max = max.max(1);
    let chunks = len.div_ceil(max);
    let mut ranges = Vec::with_capacity(chunks);
    let mut from = 0;
    for i in 0..chunks {
        let size = len / chunks + usize::from(i < len % chunks);
        ranges.push(from..from + size);
        from += size;
    }
    ranges
}

/// A stable 64-bit key of a street name, insensitive to case, spacing and
/// punctuation, and to the spellings "ß"/"ss" and "str."/"strasse": FNV-1a over the
/// normalised name.
pub fn street_key(name: &str) -> u64 {
    let mut normal = String::with_capacity(name.len());
    for ch in name.chars().flat_map(char::to_lowercase) {
        if ch == 'ß' {
            normal.push_str("ss");
        } else if ch.is_alphanumeric() {
            normal.push(ch);
        }
    }
    if normal.ends_with("str") {
        normal.push_str("asse");
    }
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in normal.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// The side of the street a house number is on: the parity of its leading number
/// ("12a" is even, "71-75" odd). `None` without a street name or a leading number.
pub fn side_of(street: &str, housenumber: &str) -> Option<Side> {
    if street.trim().is_empty() {
        return None;
    }
    let digits: String = housenumber
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let last = digits.bytes().last()?;
    Some(Side {
        street: street_key(street),
        odd: (last - b'0') % 2 == 1,
    })
}

#[cfg(test)]
mod tests;
