//! Walking-route ordering on real doors of Liechtenstein.
//!
//! Lists of 50, 100 and 150 doors are the doors nearest to ten seed doors spread
//! over the country (compact clusters, like real turf), each walked from its seed
//! door. Besides criterion's timing of `order_route`, it prints once, per size: the
//! time per list, the walking distance of the route against the same doors in
//! street-name/house-number order (from the same start), and the gap of the
//! objective (distance plus crossing penalties) to a long multi-start reference
//! search (12 restarts; 40 change its results by 0.0004 % on average, so it is as
//! good as converged).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use groundswell::routing::{
    RouteParams, Stop, distance_m, order_route, path_length_m, reference_route, route_cost, side_of,
};

const DOORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/liechtenstein/doors.csv");
const SEEDS: usize = 10;
const SIZES: [usize; 3] = [50, 100, 150];
/// Restarts of the reference search per list (each a long iterated local search).
const REFERENCE_RESTARTS: usize = 12;

struct Door {
    stop: Stop,
    street: String,
    number: u32,
    suffix: String,
}

/// The doors of the shipped extract (those with a position).
fn load_doors() -> Result<Vec<Door>, csv::Error> {
    let mut reader = csv::Reader::from_path(DOORS)?;
    let headers = reader.headers()?.clone();
    let column = |name: &str| headers.iter().position(|h| h == name);
    let (Some(lat), Some(lng), Some(street), Some(number)) = (
        column("lat"),
        column("lng"),
        column("street"),
        column("housenumber"),
    ) else {
        return Ok(Vec::new());
    };
    let mut doors = Vec::new();
    for record in reader.records() {
        let record = record?;
        let field = |i: usize| record.get(i).unwrap_or("");
        let (Ok(lat), Ok(lng)) = (field(lat).parse::<f64>(), field(lng).parse::<f64>()) else {
            continue;
        };
        let housenumber = field(number).trim();
        let digits = housenumber.len()
            - housenumber
                .trim_start_matches(|c: char| c.is_ascii_digit())
                .len();
        doors.push(Door {
            stop: Stop {
                lat,
                lng,
                side: side_of(field(street), housenumber),
            },
            street: field(street).trim().to_owned(),
            number: housenumber[..digits].parse().unwrap_or(u32::MAX),
            suffix: housenumber[digits..].to_owned(),
        });
    }
    Ok(doors)
}

/// Seed doors spread over the country where the doors are: the doors at the 5th,
/// 15th, …, 95th percentiles of latitude (the country runs north–south).
fn seeds(doors: &[Door]) -> Vec<usize> {
    let mut by_lat: Vec<usize> = (0..doors.len()).collect();
    by_lat.sort_by(|&a, &b| doors[a].stop.lat.total_cmp(&doors[b].stop.lat));
    (0..SEEDS)
        .filter_map(|i| by_lat.get((2 * i + 1) * doors.len() / (2 * SEEDS)).copied())
        .collect()
}

/// One list of doors to walk, as the route API sees it.
struct List {
    stops: Vec<Stop>,
    start: (f64, f64),
    /// Street-name/house-number order.
    street_order: Vec<usize>,
}

fn lists(doors: &[Door], seeds: &[usize], size: usize) -> Vec<List> {
    seeds
        .iter()
        .map(|&seed| {
            let at = (doors[seed].stop.lat, doors[seed].stop.lng);
            let mut nearest: Vec<(f64, usize)> = doors
                .iter()
                .enumerate()
                .map(|(i, d)| (distance_m(at, (d.stop.lat, d.stop.lng)), i))
                .collect();
            nearest.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            nearest.truncate(size);
            let picked: Vec<&Door> = nearest.iter().map(|&(_, i)| &doors[i]).collect();
            let mut street_order: Vec<usize> = (0..picked.len()).collect();
            street_order.sort_by(|&a, &b| {
                let (a, b) = (picked[a], picked[b]);
                a.street
                    .cmp(&b.street)
                    .then(a.number.cmp(&b.number))
                    .then(a.suffix.cmp(&b.suffix))
            });
            List {
                stops: picked.iter().map(|d| d.stop.clone()).collect(),
                start: at,
                street_order,
            }
        })
        .collect()
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

/// Prints the table row for one size.
fn report(size: usize, lists: &[List], params: &RouteParams) {
    let reps = 20;
    let started = Instant::now();
    for _ in 0..reps {
        for list in lists {
            black_box(order_route(&list.stops, Some(list.start), params));
        }
    }
    let per_list = started.elapsed() / (reps * lists.len()) as u32;
    let (mut ours, mut street, mut shorter, mut gaps) = (vec![], vec![], vec![], vec![]);
    let mut reference_time = Duration::ZERO;
    for list in lists {
        let start = Some(list.start);
        let route = order_route(&list.stops, start, params);
        let by_street = path_length_m(&list.stops, start, &list.street_order);
        ours.push(route.distance_m);
        street.push(by_street);
        shorter.push(100.0 * (1.0 - route.distance_m / by_street));
        let began = Instant::now();
        let reference = reference_route(&list.stops, start, params, REFERENCE_RESTARTS);
        reference_time += began.elapsed();
        let cost = route_cost(&list.stops, start, &route.order, params);
        let best = route_cost(&list.stops, start, &reference.order, params);
        gaps.push(100.0 * (cost / best - 1.0));
    }
    let max_gap = gaps.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    eprintln!(
        "{size:>5} {:>9.3} ms {:>9.0} m {:>9.0} m {:>8.1} % {:>7.2} % {:>7.2} % {:>8.1} s",
        per_list.as_secs_f64() * 1e3,
        mean(&ours),
        mean(&street),
        mean(&shorter),
        mean(&gaps),
        max_gap,
        reference_time.as_secs_f64(),
    );
}

fn bench_route(c: &mut Criterion) {
    let doors = match load_doors() {
        Ok(doors) if doors.len() >= 150 => doors,
        Ok(_) => {
            eprintln!("{DOORS}: too few doors");
            return;
        }
        Err(e) => {
            eprintln!("{DOORS}: {e}");
            return;
        }
    };
    let seeds = seeds(&doors);
    let params = RouteParams::default();
    let by_size: Vec<(usize, Vec<List>)> = SIZES
        .iter()
        .map(|&size| (size, lists(&doors, &seeds, size)))
        .collect();
    eprintln!(
        "route ordering on {} real doors, {} lists per size, {REFERENCE_RESTARTS} reference restarts",
        doors.len(),
        seeds.len()
    );
    eprintln!(
        "{:>5} {:>12} {:>11} {:>11} {:>10} {:>9} {:>9} {:>10}",
        "doors", "time/list", "route", "street ord", "shorter", "mean gap", "max gap", "ref time"
    );
    for (size, lists) in &by_size {
        report(*size, lists, &params);
    }
    let mut group = c.benchmark_group("order_route, 10 lists");
    for (size, lists) in &by_size {
        group.throughput(Throughput::Elements(lists.len() as u64));
        group.bench_function(format!("{size} doors"), |b| {
            b.iter(|| {
                for list in lists {
                    black_box(order_route(
                        black_box(&list.stops),
                        Some(list.start),
                        &params,
                    ));
                }
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench_route
}
criterion_main!(benches);
