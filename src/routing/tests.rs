use proptest::prelude::*;

use super::model::Prepared;
use super::neighbours::Neighbours;
use super::search::Rng;
use super::*;

/// Metres per degree of latitude, near enough for building test layouts.
const M_PER_DEG: f64 = 111_195.0;
const LAT0: f64 = 47.14;

/// A stop `x` metres east and `y` metres north of (47.14, 9.52).
fn at(x: f64, y: f64, side: Option<Side>) -> Stop {
    Stop {
        lat: LAT0 + y / M_PER_DEG,
        lng: 9.52 + x / (M_PER_DEG * LAT0.to_radians().cos()),
        side,
    }
}

/// `n` random stops in a square of `size` metres, a third of them on one of three
/// streets with random sides.
fn random_stops(n: usize, size: f64, seed: u64) -> Vec<Stop> {
    let mut rng = Rng::new(seed);
    let mut coord = || rng.below(1_000_000) as f64 / 1_000_000.0 * size;
    let mut stops: Vec<Stop> = (0..n).map(|_| at(coord(), coord(), None)).collect();
    let mut rng = Rng::new(seed ^ 0xABCD);
    for stop in &mut stops {
        if rng.below(3) == 0 {
            stop.side = Some(Side {
                street: rng.below(3) as u64,
                odd: rng.below(2) == 1,
            });
        }
    }
    stops
}

fn is_permutation(order: &[usize], n: usize) -> bool {
    let mut sorted = order.to_vec();
    sorted.sort_unstable();
    sorted == (0..n).collect::<Vec<_>>()
}

/// The model objective of an order (all stops finite, so model ids are the
/// caller's indices).
fn model_cost(stops: &[Stop], start: Option<(f64, f64)>, order: &[usize]) -> f64 {
    Prepared::new(stops, start, &RouteParams::default())
        .model
        .path_cost(order)
}

fn crossings(stops: &[Stop], order: &[usize]) -> usize {
    order
        .windows(2)
        .filter(|w| crosses(&stops[w[0]], &stops[w[1]]))
        .count()
}

#[test]
fn haversine_distance_is_right() {
    let d = distance_m((47.0, 9.5), (48.0, 9.5));
    assert!((d - 111_195.0).abs() < 1.0, "{d}");
    let d = distance_m((0.0, 0.0), (0.0, 90.0));
    assert!((d - EARTH_RADIUS_M * std::f64::consts::FRAC_PI_2).abs() < 1e-6);
    assert_eq!(distance_m((47.1, 9.5), (47.1, 9.5)), 0.0);
    assert!(distance_m((f64::NAN, 9.5), (47.1, 9.5)).is_nan());
}

#[test]
fn empty_and_single() {
    let params = RouteParams::default();
    let route = order_route(&[], None, &params);
    assert!(route.order.is_empty());
    assert_eq!(route.distance_m, 0.0);
    assert_eq!(route.walking_seconds, 0.0);
    let route = order_route(&[], Some((47.1, 9.5)), &params);
    assert!(route.order.is_empty());
    let one = [at(10.0, 0.0, None)];
    let route = order_route(&one, None, &params);
    assert_eq!(route.order, vec![0]);
    assert_eq!(route.distance_m, 0.0);
    assert_eq!(route.walking_seconds, 60.0);
    let route = order_route(&one, Some((LAT0, 9.52)), &params);
    assert_eq!(route.order, vec![0]);
    assert!(
        (route.distance_m - 10.0).abs() < 0.05,
        "{}",
        route.distance_m
    );
    assert!((route.walking_seconds - (route.distance_m / 1.2 + 60.0)).abs() < 1e-9);
    for n in 2..8 {
        let stops = random_stops(n, 100.0, n as u64);
        assert!(is_permutation(&order_route(&stops, None, &params).order, n));
    }
}

#[test]
fn route_is_a_permutation() {
    let params = RouteParams::default();
    for (n, size) in [(10, 50.0), (57, 300.0), (200, 800.0), (1_500, 3_000.0)] {
        let stops = random_stops(n, size, 7 + n as u64);
        for start in [None, Some((LAT0, 9.52))] {
            let route = order_route(&stops, start, &params);
            assert!(is_permutation(&route.order, n));
            let length = path_length_m(&stops, start, &route.order);
            assert_eq!(route.distance_m, length);
        }
    }
}

#[test]
fn duplicate_points_and_a_line() {
    let params = RouteParams::default();
    // Many doors of one building share a position; a street is a line.
    let mut stops: Vec<Stop> = (0..40).map(|_| at(5.0, 5.0, None)).collect();
    stops.extend((0..60).map(|i| at(f64::from(i) * 7.0, 0.0, None)));
    let route = order_route(&stops, None, &params);
    assert!(is_permutation(&route.order, stops.len()));
    // The optimum walks the line once and visits the building on the way.
    assert!(route.distance_m < 59.0 * 7.0 + 20.0, "{}", route.distance_m);
}

#[test]
fn unusable_coordinates_come_last_without_panicking() {
    let params = RouteParams::default();
    let mut stops = random_stops(30, 200.0, 3);
    stops[4].lat = f64::NAN;
    stops[9].lng = f64::INFINITY;
    stops[17].lat = 1e300;
    let route = order_route(&stops, None, &params);
    assert!(is_permutation(&route.order, 30));
    assert_eq!(route.order[27..], [4, 9, 17]);
    assert!(route.distance_m.is_nan());
    let route = order_route(&stops, Some((f64::NAN, 9.5)), &params);
    assert!(is_permutation(&route.order, 30));
    let exact = exact_route(&stops[..12], None, &params);
    assert!(exact.is_some_and(|r| is_permutation(&r.order, 12) && r.order[10..] == [4, 9]));
    let nan_penalty = RouteParams {
        crossing_penalty_m: f64::NAN,
        ..params
    };
    assert!(is_permutation(
        &order_route(&stops, None, &nan_penalty).order,
        30
    ));
    let reference = reference_route(&stops, None, &params, 2);
    assert!(is_permutation(&reference.order, 30));
}

#[test]
fn deterministic() {
    let params = RouteParams::default();
    let stops = random_stops(250, 800.0, 11);
    let first = order_route(&stops, None, &params);
    let second = order_route(&stops, None, &params);
    assert_eq!(first, second);
    let start = Some((LAT0 + 0.001, 9.521));
    assert_eq!(
        order_route(&stops, start, &params),
        order_route(&stops, start, &params)
    );
    assert_eq!(
        reference_route(&stops[..60], start, &params, 3),
        reference_route(&stops[..60], start, &params, 3)
    );
}

#[test]
fn start_point_is_respected() {
    let params = RouteParams::default();
    // Ten doors on a line 10 m apart, given out of order.
    let xs = [30.0, 90.0, 0.0, 60.0, 10.0, 80.0, 40.0, 20.0, 70.0, 50.0];
    let stops: Vec<Stop> = xs.iter().map(|&x| at(x, 0.0, None)).collect();
    let by_x = |order: &[usize]| order.iter().map(|&i| xs[i]).collect::<Vec<_>>();
    let east: Vec<f64> = (0..10).rev().map(|i| f64::from(i) * 10.0).collect();
    let west: Vec<f64> = (0..10).map(|i| f64::from(i) * 10.0).collect();
    let from_east = at(95.0, 3.0, None);
    let route = order_route(&stops, Some((from_east.lat, from_east.lng)), &params);
    assert_eq!(by_x(&route.order), east);
    let from_west = at(-20.0, -3.0, None);
    let route = order_route(&stops, Some((from_west.lat, from_west.lng)), &params);
    assert_eq!(by_x(&route.order), west);
    // Without a start the route runs from one end to the other.
    let route = order_route(&stops, None, &params);
    let walked = by_x(&route.order);
    assert!(walked == east || walked == west, "{walked:?}");
    // Starting in the middle, the short half comes first (8 + 20 + 30 + 60 m).
    let middle = at(62.0, 0.0, None);
    let route = order_route(&stops, Some((middle.lat, middle.lng)), &params);
    assert_eq!(
        by_x(&route.order),
        [70.0, 80.0, 90.0, 60.0, 50.0, 40.0, 30.0, 20.0, 10.0, 0.0]
    );
}

/// Houses `spacing` metres apart on both sides of a street 12 m wide.
fn street(houses: usize, spacing: f64) -> Vec<Stop> {
    let key = street_key("Landstrasse");
    let mut stops = Vec::new();
    for i in 0..houses {
        let x = i as f64 * spacing;
        for odd in [true, false] {
            let y = if odd { 6.0 } else { -6.0 };
            stops.push(at(x, y, Some(Side { street: key, odd })));
        }
    }
    stops
}

#[test]
fn penalty_keeps_to_one_side_of_the_street() {
    // 25 m between houses: zig-zagging (12 m per crossing) is shorter than walking
    // the street twice, but not once each crossing costs 20 m more.
    let stops = street(12, 25.0);
    let with = RouteParams::default();
    let without = RouteParams {
        crossing_penalty_m: 0.0,
        ..with
    };
    for start in [None, Some((LAT0, 9.52))] {
        let route = order_route(&stops, start, &with);
        assert_eq!(crossings(&stops, &route.order), 1, "{:?}", route.order);
        let route = order_route(&stops, start, &without);
        assert!(crossings(&stops, &route.order) >= 10, "{:?}", route.order);
        // And the zig-zag really is shorter on foot.
        assert!(route.distance_m < order_route(&stops, start, &with).distance_m);
    }
}

#[test]
fn matches_the_exact_optimum_on_small_instances() {
    let params = RouteParams::default();
    let (mut equal, mut worst) = (0, 1.0f64);
    let mut naive_within_bound = 0;
    for seed in 0..50u64 {
        let n = 5 + (seed % 8) as usize;
        let stops = random_stops(n, 200.0, 1_000 + seed);
        let start = (seed % 2 == 0).then_some((LAT0 + 0.0005, 9.5205));
        let route = order_route(&stops, start, &params);
        let optimum = exact_route(&stops, start, &params).unwrap();
        assert!(is_permutation(&optimum.order, n));
        let ours = model_cost(&stops, start, &route.order);
        let best = model_cost(&stops, start, &optimum.order);
        assert!(ours >= best - 1e-6, "seed {seed}: {ours} < optimum {best}");
        if ours <= best + 1e-6 {
            equal += 1;
        }
        worst = worst.max(ours / best);
        let identity: Vec<usize> = (0..n).collect();
        if model_cost(&stops, start, &identity) <= best * 1.05 {
            naive_within_bound += 1;
        }
    }
    // Measured: optimal on 599 of 600 such instances, the other 0.7 % above.
    assert!(equal >= 45, "optimal on only {equal} of 50");
    assert!(worst <= 1.05, "worst ratio {worst}");
    // The bound has teeth: visiting in input order is rarely that close.
    assert!(naive_within_bound <= 5, "{naive_within_bound}");
}

#[test]
fn exact_refuses_large_inputs() {
    let stops = random_stops(EXACT_MAX_STOPS + 1, 100.0, 5);
    assert!(exact_route(&stops, None, &RouteParams::default()).is_none());
    assert!(exact_route(&[], None, &RouteParams::default()).is_some_and(|r| r.order.is_empty()));
}

#[test]
fn reference_is_no_worse_than_the_route() {
    let params = RouteParams::default();
    for seed in 0..2 {
        let stops = random_stops(80, 500.0, 77 + seed);
        let route = order_route(&stops, None, &params);
        let reference = reference_route(&stops, None, &params, 2);
        assert!(is_permutation(&reference.order, 80));
        let ours = model_cost(&stops, None, &route.order);
        let theirs = model_cost(&stops, None, &reference.order);
        assert!(theirs <= ours * 1.005, "{theirs} > {ours}");
    }
}

#[test]
fn neighbour_lists_match_brute_force() {
    let params = RouteParams::default();
    let mut layouts = vec![random_stops(300, 500.0, 1), random_stops(50, 20.0, 2)];
    layouts.push((0..80).map(|i| at(f64::from(i) * 3.0, 0.0, None)).collect());
    let mut clustered = random_stops(100, 30.0, 4);
    clustered.extend(random_stops(100, 30.0, 5).into_iter().map(|mut s| {
        s.lat += 0.02;
        s
    }));
    layouts.push(clustered);
    for stops in layouts {
        for start in [None, Some((LAT0 + 0.0001, 9.5201))] {
            let model = Prepared::new(&stops, start, &params).model;
            let k = 8;
            let nb = Neighbours::build(&model, k);
            let n = model.n();
            for node in 0..n {
                let list = nb.of(node);
                let fixed = if start.is_some() { 1 } else { 2 };
                assert_eq!(list[0], model.end_node());
                let mut others: Vec<usize> = (0..n).filter(|&c| c != node).collect();
                if start.is_some() {
                    others.push(model.start_node());
                }
                let mut costs: Vec<f64> = others.iter().map(|&c| model.cost(node, c)).collect();
                costs.sort_by(f64::total_cmp);
                let got: Vec<f64> = list[fixed..].iter().map(|&c| model.cost(node, c)).collect();
                assert_eq!(got, costs[..k.min(costs.len())]);
            }
        }
    }
}

#[test]
fn split_route_ranges() {
    assert!(split_route(0, 10).is_empty());
    assert_eq!(split_route(5, 10), vec![0..5]);
    assert_eq!(split_route(10, 5), vec![0..5, 5..10]);
    assert_eq!(split_route(10, 3), vec![0..3, 3..6, 6..8, 8..10]);
    assert_eq!(split_route(101, 50), vec![0..34, 34..68, 68..101]);
    assert_eq!(split_route(3, 0), vec![0..1, 1..2, 2..3]);
}

#[test]
fn sides_from_addresses() {
    assert_eq!(street_key("Landstrasse"), street_key("  land-STRASSE "));
    assert_eq!(street_key("Landstraße"), street_key("Landstr."));
    assert_ne!(street_key("Landstrasse"), street_key("Städtle"));
    let side = |n| side_of("Städtle", n).map(|s| s.odd);
    assert_eq!(side("23"), Some(true));
    assert_eq!(side("44"), Some(false));
    assert_eq!(side("12a"), Some(false));
    assert_eq!(side("71-75"), Some(true));
    assert_eq!(side("a"), None);
    assert_eq!(side(""), None);
    assert_eq!(side_of(" ", "3"), None);
}

proptest! {
    #[test]
    fn split_route_covers_evenly(len in 0usize..2_000, max in 0usize..200) {
        let ranges = split_route(len, max);
        let max = max.max(1);
        prop_assert_eq!(ranges.len(), len.div_ceil(max));
        let mut next = 0;
        for r in &ranges {
            prop_assert_eq!(r.start, next);
            prop_assert!(!r.is_empty() && r.len() <= max);
            next = r.end;
        }
        prop_assert_eq!(next, len);
        let sizes = ranges.iter().map(Range::len);
        if let (Some(lo), Some(hi)) = (sizes.clone().min(), sizes.max()) {
            prop_assert!(hi - lo <= 1);
        }
    }

    #[test]
    fn any_input_gives_a_permutation(
        points in prop::collection::vec((-0.01f64..0.01, -0.01f64..0.01, 0u64..3, any::<bool>()), 0..60),
        start in prop::option::of((-0.01f64..0.01, -0.01f64..0.01)),
    ) {
        let stops: Vec<Stop> = points
            .iter()
            .map(|&(dlat, dlng, street, odd)| Stop {
                lat: LAT0 + dlat,
                lng: 9.52 + dlng,
                side: (street > 0).then_some(Side { street, odd }),
            })
            .collect();
        let start = start.map(|(dlat, dlng)| (LAT0 + dlat, 9.52 + dlng));
        let route = order_route(&stops, start, &RouteParams::default());
        prop_assert!(is_permutation(&route.order, stops.len()));
        prop_assert_eq!(route.distance_m, path_length_m(&stops, start, &route.order));
        if stops.len() <= 8 {
            let exact = exact_route(&stops, start, &RouteParams::default());
            let best = exact.map(|e| model_cost(&stops, start, &e.order));
            let ours = model_cost(&stops, start, &route.order);
            prop_assert!(best.is_some_and(|best| ours <= best * 1.05 + 1e-6), "{ours} vs {best:?}");
        }
    }
}
