use super::simulate::{self, World};
use super::*;

fn ids(answer: i64, priors: &[i64]) -> CellEvidence {
    let mut cell = CellEvidence::default();
    for &p in priors {
        cell.add(Kind::of_answer(answer).unwrap(), Tally::one(p));
    }
    cell
}

#[test]
fn learned_meanings_keep_the_order_of_the_answers() {
    let mut values = [1.0, 2.0, 0.0, -1.0, -0.5];
    super::decreasing(&mut values, &[1.0, 1.0, 1.0, 1.0, 3.0]);
    assert_eq!(values, [1.5, 1.5, 0.0, -0.625, -0.625]);
    let mut sorted = [2.0, 1.0, 0.0];
    super::decreasing(&mut sorted, &[1.0; 3]);
    assert_eq!(sorted, [2.0, 1.0, 0.0]);
}

#[test]
fn kinds_round_trip_through_their_codes() {
    for kind in Kind::ALL {
        assert_eq!(Kind::from_code(kind.code()), Some(kind));
    }
    assert_eq!(Kind::from_code(0), None);
    assert_eq!(Kind::from_code(8), None);
    assert_eq!(Kind::of_answer(6), None);
    assert_eq!(Kind::of_result("not_home"), None);
}

#[test]
fn an_answer_moves_its_person_and_housemates_toward_what_it_means() {
    let d0 = Params::default();
    let prior = prior_logit(Some(40.0));
    let (deltas, cell) = knock_evidence("contacted", &[(1, 1, prior)], &[(1, prior), (2, prior)]);
    assert_eq!(cell, vec![(Kind::Id(1), prior)]);
    let mut own = PersonEvidence::default();
    let mut mate = PersonEvidence::default();
    for d in &deltas {
        match d.person {
            1 => own.add(d),
            _ => mate.add(d),
        }
    }
    let before = score(&d0, prior, &PersonEvidence::default(), d0.no_pull());
    assert!((before - 40.0).abs() < 1e-3, "{before}");
    let answered = score(&d0, prior, &own, d0.no_pull());
    let housemate = score(&d0, prior, &mate, d0.no_pull());
    assert!(answered > 50.0, "{answered}");
    assert!(housemate > before && housemate < answered, "{housemate}");
    assert_eq!(deltas[0].rule(), rule::OWN_ID);
    assert_eq!(deltas[1].rule(), rule::DOOR_MATE_ID);
}

#[test]
fn a_cell_shifts_by_its_residual_not_by_its_answers() {
    // Ten cells alike: supporters (by their imported scores) answer 1 and 2, opponents
    // 4 and 5. One cell where people the imported scores call supporters say 5.
    let alike = || {
        let mut c = CellEvidence::default();
        for (answer, prior) in [(1, 1.0), (2, 0.5), (3, 0.0), (4, -0.5), (5, -1.0)] {
            for _ in 0..6 {
                c.add(
                    Kind::of_answer(answer).unwrap(),
                    Tally::one(to_fixed(prior)),
                );
            }
        }
        c
    };
    let mut cells: Vec<CellEvidence> = (0..10).map(|_| alike()).collect();
    cells.push(ids(5, &[to_fixed(1.0); 30]));
    let params = Params::learn(&cells);
    let odd = params.cell_shift(&cells[10]);
    for c in &cells[..10] {
        let shift = params.cell_shift(c);
        assert!(shift.abs() < odd.abs() / 4.0, "{shift} {odd} {params:?}");
    }
    assert!(odd < -0.5, "{odd} {params:?}");
    let residual = cells[10].mean_residual(&params).unwrap() - params.centre;
    assert!(odd > residual, "never past the evidence: {odd} {residual}");
}

#[test]
fn with_no_difference_between_cells_nobody_moves_much() {
    // Cells of the same size whose answers scatter around the imported scores alike.
    let cells: Vec<CellEvidence> = (0..40)
        .map(|i| {
            let mut c = CellEvidence::default();
            for j in 0..20 {
                let answer = 1 + ((i * 7 + j * 3) % 5);
                let prior = to_fixed(Kind::Id(answer as u8).default_lift());
                c.add(Kind::of_answer(answer).unwrap(), Tally::one(prior));
            }
            c
        })
        .collect();
    let params = Params::learn(&cells);
    assert!(params.cell_variance < 0.05, "{params:?}");
    for c in &cells {
        assert!(params.cell_shift(c).abs() < 0.05, "{params:?}");
    }
}

proptest::proptest! {
    /// Bounded: whatever the evidence, scores stay strictly inside 0–100.
    #[test]
    fn scores_stay_on_the_scale(
        imported in proptest::option::of(0.0_f64..=100.0),
        own in proptest::collection::vec(0_i64..50, Kind::COUNT),
        mates in proptest::collection::vec(0_i64..50, Kind::COUNT),
        mate_prior in -300_000_i64..300_000,
        shift in -5.0_f64..5.0,
    ) {
        let mut e = PersonEvidence::default();
        for i in 0..Kind::COUNT {
            e.own[i] = own[i];
            e.mates[i] = mates[i];
            e.mates_sum[i] = mates[i] * mate_prior;
        }
        let s = score(&Params::default(), prior_logit(imported), &e, CellPull { shift, variance: 0.1 });
        proptest::prop_assert!(s > 0.0 && s < 100.0, "{}", s);
    }

    /// Monotone: a more supportive answer never gives a lower score, for the person or a
    /// housemate, nor, under what a campaign has learned, a smaller cell shift.
    #[test]
    fn better_answers_never_lower_a_score(
        imported in 1.0_f64..99.0,
        answer in 2_i64..=5,
        others in proptest::collection::vec((1_i64..=5, -200_000_i64..200_000), 0..30),
    ) {
        let prior = prior_logit(Some(imported));
        let d0 = Params::default();
        let at = |a: i64| {
            let (deltas, _) = knock_evidence("contacted", &[(1, a, prior)], &[(1, prior), (2, prior)]);
            let mut own = PersonEvidence::default();
            let mut mate = PersonEvidence::default();
            for d in &deltas {
                if d.person == 1 { own.add(d) } else { mate.add(d) }
            }
            (score(&d0, prior, &own, d0.no_pull()), score(&d0, prior, &mate, d0.no_pull()))
        };
        let (worse, better) = (at(answer), at(answer - 1));
        proptest::prop_assert!(better.0 >= worse.0 && better.1 >= worse.1);

        let cells: Vec<CellEvidence> = others
            .iter()
            .map(|&(a, p)| ids(a, &[p, p / 2]))
            .collect();
        let params = Params::learn(&cells);
        let low_shift = params.cell_shift(&ids(answer, &[0; 5]));
        let high_shift = params.cell_shift(&ids(answer - 1, &[0; 5]));
        proptest::prop_assert!(high_shift >= low_shift - 1e-12, "{} {}", low_shift, high_shift);
    }

    /// Order-independent: the same knocks in any order give the same state, bit for bit.
    #[test]
    fn knocks_add_up_in_any_order(
        knocks in proptest::collection::vec((0_i64..4, 0_i64..8, -300_000_i64..300_000), 1..40),
        rotate in 0_usize..40,
    ) {
        let state = |order: &[(i64, i64, i64)]| {
            let mut people: std::collections::BTreeMap<i64, PersonEvidence> = Default::default();
            let mut cell = CellEvidence::default();
            for &(door, what, prior) in order {
                let residents = [(door * 2, prior), (door * 2 + 1, prior / 3)];
                let (result, answered) = match what {
                    0 => ("refused", vec![]),
                    1 => ("hostile", vec![]),
                    2 => ("not_home", vec![]),
                    a => ("contacted", vec![(door * 2, a - 2, prior)]),
                };
                let (deltas, pooled) = knock_evidence(result, &answered, &residents);
                for d in &deltas {
                    people.entry(d.person).or_default().add(d);
                }
                for (kind, p) in pooled {
                    cell.add(kind, Tally::one(p));
                }
            }
            let params = Params::learn(&[cell]);
            let pull = params.pull(&cell);
            people
                .iter()
                .map(|(&id, e)| (id, score(&params, to_fixed(0.3), e, pull).to_bits()))
                .collect::<Vec<_>>()
        };
        let mut other = knocks.clone();
        other.rotate_left(rotate % knocks.len());
        other.reverse();
        proptest::prop_assert_eq!(state(&knocks), state(&other));
    }
}

/// On the real doors of Liechtenstein, with neighbourhood effects the model learns most of
/// what can be learned; without them, it does no harm.
#[test]
fn the_simulated_canvass_learns_and_does_no_harm() {
    let points = simulate::door_points(0, 1);
    for seed in 0..2 {
        let real = simulate::run(World::neighbourhoods(), seed, &points);
        let [a, b, c, d] = real.groups;
        assert!(
            a.model_gain() > 0.2,
            "uncontacted in knocked cells: {real:#?}"
        );
        assert!(b.model_gain() > 0.3, "contacted: {real:#?}");
        assert!(c.model_gain() > 0.1, "housemates: {real:#?}");
        assert!(
            d.model_gain().abs() < 1e-9,
            "cells nobody knocked: {real:#?}"
        );
        assert!(a.oracle_gain() >= a.model_gain() - 0.02, "{real:#?}");
        let null = simulate::run(World::null(), seed, &points);
        for g in null.groups {
            assert!(g.model_gain() > -0.02, "null world: {null:#?}");
        }
    }
}

/// Prints the table the README shows (`cargo test --release scores::tests::table --
/// --ignored --nocapture`; the bench `cargo bench --bench scores` prints the full one).
#[test]
#[ignore]
fn table() {
    let points = simulate::door_points(
        std::env::var("SIM_SYNTHETIC_DOORS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        1,
    );
    let seeds = std::env::var("SIM_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    println!("{}", simulate::table(0..seeds, &points));
}
