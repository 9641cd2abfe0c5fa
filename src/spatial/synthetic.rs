//! Deterministic synthetic doors for tests and benchmarks.
//!
//! [`synthetic_doors`] places doors the way settlements look from above: a
//! few towns and more villages inside a square of about 40 km × 40 km around
//! latitude 47.1, longitude 9.5. Each settlement has a dense centre (some of it
//! apartment buildings with several doors at one spot), streets running out
//! of the centre with houses along them, and small hamlets near the ends of
//! those streets. Roads with houses along them link the settlements, so with
//! enough doors (tens of thousands) the whole region is one connected area.
//! At H3 resolution 11 (cells of about 2,150 m²) most occupied cells hold one
//! to eight doors.
//!
//! [`cell_loads`] turns doors into the [`CellLoad`]s that
//! [`autocut`](super::autocut::autocut) takes, adding the empty cells around
//! the doors the way the polygon of a real area would include them.

use std::f64::consts::PI;

use h3o::{CellIndex, LatLng, Resolution};

use super::autocut::CellLoad;

/// The middle of the synthetic region.
const CENTRE: LatLng = match LatLng::new(47.1, 9.5) {
    Ok(centre) => centre,
    Err(_) => panic!("the centre of the synthetic region is a valid coordinate"),
};

/// Half the side of the region in which settlement centres are placed, in km.
const HALF_SIDE_KM: f64 = 17.0;

/// Door density at the centre of a settlement, in doors per km².
const PEAK_DENSITY: f64 = 2_000.0;

/// Kilometres per degree of latitude.
const KM_PER_DEGREE: f64 = 111.32;

/// Generates `n` doors in a synthetic county. The same `n` and `seed` always
/// give the same doors in the same order.
#[must_use]
pub fn synthetic_doors(n: usize, seed: u64) -> Vec<LatLng> {
    let mut rng = SplitMix64(seed ^ 0x6A09_E667_F3BC_C908);
    let mut out = Vec::with_capacity(n);
    if n == 0 {
        return out;
    }
    let count = (6 + n / 4_000).min(40);

    // Settlement shares follow a Zipf law: the largest town is twice the
    // second, three times the third, and so on.
    let weights: Vec<f64> = (1..=count).map(|i| 1.0 / i as f64).collect();
    let weight_sum: f64 = weights.iter().sum();

    // Rough sizes first, to keep settlements apart by their extent.
    let mut centres: Vec<[f64; 2]> = Vec::with_capacity(count);
    for w in &weights {
        let sigma = spread_km(n as f64 * w / weight_sum);
        let mut best = [0.0, 0.0];
        for attempt in 0..200 {
            let candidate = [
                rng.range(-HALF_SIDE_KM, HALF_SIDE_KM),
                rng.range(-HALF_SIDE_KM, HALF_SIDE_KM),
            ];
            best = candidate;
            let clear = centres.iter().zip(&weights).all(|(c, w2)| {
                let other = spread_km(n as f64 * w2 / weight_sum);
                distance(*c, candidate) >= 3.0 * (sigma + other) + 0.5
            });
            if clear || attempt == 199 {
                break;
            }
        }
        centres.push(best);
    }

    // Roads along a minimum spanning tree of the settlement centres.
    let roads = spanning_tree(&centres);
    let road_km: f64 = roads
        .iter()
        .map(|&(a, b)| distance(centres[a], centres[b]))
        .sum();
    // A house about every 45 m, but roads take at most an eighth of the doors.
    let road_doors = ((road_km * 1_000.0 / 45.0) as usize).min(n / 8);

    // Doors per settlement, the remainder going to the largest town.
    let rest = n - road_doors;
    let mut sizes: Vec<usize> = weights
        .iter()
        .map(|w| (rest as f64 * w / weight_sum) as usize)
        .collect();
    let assigned: usize = sizes.iter().sum();
    sizes[0] += rest - assigned;

    for (centre, &size) in centres.iter().zip(&sizes) {
        settlement(&mut rng, *centre, size, &mut out);
    }
    // Houses along each road, in proportion to its length, evenly spaced
    // with some jitter.
    let mut left = road_doors;
    let mut km_left = road_km;
    for &(a, b) in &roads {
        let (from, to) = (centres[a], centres[b]);
        let length = distance(from, to);
        if length < 1e-9 {
            continue;
        }
        let houses = if km_left > 0.0 {
            ((left as f64 * length / km_left).round() as usize).min(left)
        } else {
            0
        };
        left -= houses;
        km_left -= length;
        let dir = [(to[0] - from[0]) / length, (to[1] - from[1]) / length];
        let bend = rng.range(-0.08, 0.08) * length;
        for j in 0..houses {
            let along = length * (j as f64 + rng.range(0.2, 0.8)) / houses as f64;
            let side = bend * (PI * along / length).sin() + rng.normal() * 0.012;
            let point = [
                from[0] + dir[0] * along - dir[1] * side,
                from[1] + dir[1] * along + dir[0] * side,
            ];
            out.push(to_latlng(point));
        }
    }
    // Rounding may leave a few road houses over; they go to the largest town.
    settlement(&mut rng, centres[0], left, &mut out);
    out
}

/// Turns doors into cell loads at `resolution`: the cells holding doors with
/// their counts, plus every cell within `pad_rings` rings of an occupied cell
/// with zero doors. The result is sorted by cell.
#[must_use]
pub fn cell_loads(doors: &[LatLng], resolution: Resolution, pad_rings: u32) -> Vec<CellLoad> {
    let mut cells: Vec<CellIndex> = doors.iter().map(|d| d.to_cell(resolution)).collect();
    cells.sort_unstable();
    let mut loads: Vec<CellLoad> = Vec::new();
    for cell in cells {
        match loads.last_mut() {
            Some(last) if last.cell == cell => last.doors += 1,
            _ => loads.push(CellLoad { cell, doors: 1 }),
        }
    }
    if pad_rings > 0 {
        let mut pad: Vec<CellIndex> = Vec::new();
        for load in &loads {
            pad.extend(load.cell.grid_disk::<Vec<_>>(pad_rings));
        }
        pad.sort_unstable();
        pad.dedup();
        let occupied = loads.len();
        for cell in pad {
            if loads[..occupied]
                .binary_search_by_key(&cell, |l| l.cell)
                .is_err()
            {
                loads.push(CellLoad { cell, doors: 0 });
            }
        }
        loads.sort_unstable_by_key(|l| l.cell);
    }
    loads
}

/// The spread (standard deviation, in km) of a settlement centre holding
/// `doors` doors, chosen so that its peak density is [`PEAK_DENSITY`].
fn spread_km(doors: f64) -> f64 {
    (doors.max(1.0) / (2.0 * PI * PEAK_DENSITY))
        .sqrt()
        .max(0.05)
}

/// Places `size` doors of one settlement around `centre` (km).
fn settlement(rng: &mut SplitMix64, centre: [f64; 2], size: usize, out: &mut Vec<LatLng>) {
    if size == 0 {
        return;
    }
    // The centre holds about 60 % of the doors, 25 % line the streets, and the
    // rest live in hamlets near the ends of the streets.
    let core_sigma = spread_km(size as f64 * 0.6);
    let core = size * 6 / 10;
    let on_streets = size / 4;
    let in_hamlets = size - core - on_streets;

    let street_count = (3 + size / 3_000).min(8);
    let turn = rng.range(0.0, 2.0 * PI);
    let streets: Vec<Street> = (0..street_count)
        .map(|i| {
            let angle = turn + 2.0 * PI * i as f64 / street_count as f64 + rng.range(-0.3, 0.3);
            Street {
                dir: [angle.cos(), angle.sin()],
                length: 2.5 * core_sigma + rng.range(0.1, 0.4),
                bend: rng.range(-0.15, 0.15),
            }
        })
        .collect();

    // Centre: one quarter for a village, up to four overlapping quarters for a
    // town, each a truncated normal distribution, partly apartment buildings.
    let quarter_count = 1 + (size / 4_000).min(3);
    let shares: Vec<f64> = (0..quarter_count)
        .map(|q| if q == 0 { 2.0 } else { rng.range(0.5, 1.5) })
        .collect();
    let share_sum: f64 = shares.iter().sum();
    let main_sigma = spread_km(core as f64 * shares[0] / share_sum);
    let mut placed = 0;
    for (q, share) in shares.iter().enumerate() {
        let doors = if q + 1 == quarter_count {
            core - placed
        } else {
            (core as f64 * share / share_sum) as usize
        };
        let sigma = spread_km(doors as f64);
        let middle = if q == 0 {
            centre
        } else {
            // Close enough to the main quarter for the two to overlap.
            let angle = rng.range(0.0, 2.0 * PI);
            let reach = rng.range(0.7, 1.3) * (main_sigma + sigma);
            [
                centre[0] + reach * angle.cos(),
                centre[1] + reach * angle.sin(),
            ]
        };
        let mut here = 0;
        while here < doors {
            let point = loop {
                let (dx, dy) = (rng.normal(), rng.normal());
                if dx * dx + dy * dy <= 1.8 * 1.8 {
                    break [middle[0] + dx * sigma, middle[1] + dy * sigma];
                }
            };
            let building = if rng.unit() < 0.08 {
                2 + rng.below(11)
            } else {
                1
            };
            for _ in 0..building.min(doors - here) {
                out.push(to_latlng(point));
                here += 1;
            }
        }
        placed += doors;
    }

    // Streets: houses along slightly bent lines out of the centre.
    for _ in 0..on_streets {
        let street = &streets[rng.below(streets.len())];
        let along = rng.range(0.0, street.length);
        let point = street.point(centre, along, rng.normal() * 0.012);
        out.push(to_latlng(point));
    }

    // Hamlets: small clusters near the outer ends of the streets.
    let hamlets = (in_hamlets / 25).max(1);
    for h in 0..hamlets {
        let doors = in_hamlets / hamlets + usize::from(h < in_hamlets % hamlets);
        let street = &streets[rng.below(streets.len())];
        let at = street.point(centre, street.length * rng.range(0.6, 1.0), 0.0);
        let sigma = 0.02 + 0.004 * (doors as f64).sqrt();
        for _ in 0..doors {
            let point = loop {
                let (dx, dy) = (rng.normal(), rng.normal());
                if dx * dx + dy * dy <= 4.0 {
                    break [at[0] + dx * sigma, at[1] + dy * sigma];
                }
            };
            out.push(to_latlng(point));
        }
    }
}

/// A street running out of a settlement centre.
struct Street {
    dir: [f64; 2],
    length: f64,
    /// How far the street bends sideways, as a share of its length.
    bend: f64,
}

impl Street {
    /// The point `along` km out of `centre`, `side` km to the side.
    fn point(&self, centre: [f64; 2], along: f64, side: f64) -> [f64; 2] {
        let t = along / self.length;
        let side = side + self.bend * self.length * (PI * t).sin();
        [
            centre[0] + self.dir[0] * along - self.dir[1] * side,
            centre[1] + self.dir[1] * along + self.dir[0] * side,
        ]
    }
}

/// The edges of a minimum spanning tree over `points` (Prim's algorithm).
fn spanning_tree(points: &[[f64; 2]]) -> Vec<(usize, usize)> {
    let n = points.len();
    let mut edges = Vec::with_capacity(n.saturating_sub(1));
    if n < 2 {
        return edges;
    }
    let mut in_tree = vec![false; n];
    let mut best = vec![(f64::INFINITY, 0_usize); n];
    in_tree[0] = true;
    for j in 1..n {
        best[j] = (distance(points[0], points[j]), 0);
    }
    for _ in 1..n {
        let mut next = None;
        for j in 0..n {
            if !in_tree[j] && next.is_none_or(|k: usize| best[j].0 < best[k].0) {
                next = Some(j);
            }
        }
        let Some(j) = next else {
            break;
        };
        in_tree[j] = true;
        edges.push((best[j].1, j));
        for k in 0..n {
            let d = distance(points[j], points[k]);
            if !in_tree[k] && d < best[k].0 {
                best[k] = (d, j);
            }
        }
    }
    edges
}

fn distance(a: [f64; 2], b: [f64; 2]) -> f64 {
    (a[0] - b[0]).hypot(a[1] - b[1])
}

/// Converts a point in km east and north of [`CENTRE`] to a coordinate.
fn to_latlng(point: [f64; 2]) -> LatLng {
    let lat = CENTRE.lat() + point[1] / KM_PER_DEGREE;
    let lng = CENTRE.lng() + point[0] / (KM_PER_DEGREE * CENTRE.lat_radians().cos());
    LatLng::new(lat, lng).unwrap_or(CENTRE)
}

/// The splitmix64 generator: tiny, fast and good enough for test data.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1_u64 << 53) as f64
    }

    /// Uniform in `[low, high)`.
    fn range(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }

    /// Uniform in `0..n` (for `n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f64 {
        let u = 1.0 - self.unit();
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (2.0 * PI * v).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_doors() {
        let a = synthetic_doors(5_000, 7);
        let b = synthetic_doors(5_000, 7);
        let c = synthetic_doors(5_000, 8);
        assert_eq!(a.len(), 5_000);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(synthetic_doors(0, 1).is_empty());
        assert_eq!(synthetic_doors(1, 1).len(), 1);
        assert_eq!(synthetic_doors(37, 1).len(), 37);
    }

    #[test]
    fn doors_stay_in_the_county() {
        for door in synthetic_doors(20_000, 3) {
            assert!((door.lat() - 47.1).abs() < 0.25, "{door}");
            assert!((door.lng() - 9.5).abs() < 0.35, "{door}");
        }
    }

    #[test]
    fn most_occupied_cells_hold_one_to_eight_doors() {
        let doors = synthetic_doors(100_000, 1);
        let loads = cell_loads(&doors, Resolution::Eleven, 0);
        let total: u32 = loads.iter().map(|l| l.doors).sum();
        assert_eq!(total, 100_000);
        let small = loads.iter().filter(|l| (1..=8).contains(&l.doors)).count();
        assert!(small * 10 >= loads.len() * 8, "{small} of {}", loads.len());
    }

    #[test]
    fn cell_loads_pads_with_empty_cells() {
        let doors = synthetic_doors(2_000, 5);
        let bare = cell_loads(&doors, Resolution::Ten, 0);
        let padded = cell_loads(&doors, Resolution::Ten, 1);
        assert!(padded.len() > bare.len());
        assert!(padded.windows(2).all(|w| w[0].cell < w[1].cell));
        let total: u32 = padded.iter().map(|l| l.doors).sum();
        assert_eq!(total, 2_000);
        assert_eq!(padded.iter().filter(|l| l.doors > 0).count(), bare.len());
    }
}
