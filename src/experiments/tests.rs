use super::*;
use proptest::prelude::*;

fn close(actual: f64, expected: f64, tolerance: f64) -> bool {
    (actual - expected).abs() <= tolerance
}

fn assert_interval(actual: Option<(f64, f64)>, low: f64, high: f64, tolerance: f64) {
    let Some((l, h)) = actual else {
        panic!("no interval, expected {low} … {high}");
    };
    assert!(
        close(l, low, tolerance) && close(h, high, tolerance),
        "got {l} … {h}, expected {low} … {high} (± {tolerance})"
    );
}

fn assert_difference(actual: Option<Interval>, estimate: f64, low: f64, high: f64, tol: f64) {
    let Some(d) = actual else {
        panic!("no difference, expected {estimate} ({low} … {high})");
    };
    assert!(
        close(d.estimate, estimate, 1e-12) && close(d.low, low, tol) && close(d.high, high, tol),
        "got {d:?}, expected {estimate} ({low} … {high}, ± {tol})"
    );
}

// ---------------------------------------------------------------- Wilson

/// Newcombe (1998), "Two-sided confidence intervals for the single proportion", Table I,
/// method 3 (score interval without continuity correction), to the 4 decimals printed;
/// and to 1e-12 against an independent Python computation of the same closed form
/// (`(p + z²/2n ± z √(p(1−p)/n + z²/4n²)) / (1 + z²/n)`, z = 1.959963984540054).
#[test]
fn wilson_matches_textbook_values() {
    let cases: [(u64, u64, f64, f64, f64, f64); 4] = [
        (
            81,
            263,
            0.2553,
            0.3662,
            0.2552885198782742,
            0.36620957698280004,
        ),
        (
            15,
            148,
            0.0624,
            0.1605,
            0.0623863995307363,
            0.16048724172330803,
        ),
        (0, 20, 0.0, 0.1611, 0.0, 0.16112515805281938),
        (
            1,
            29,
            0.0061,
            0.1718,
            0.006113214292762653,
            0.17175521879320288,
        ),
    ];
    for (s, n, low4, high4, low, high) in cases {
        assert_interval(wilson(s, n, Z95), low4, high4, 5e-5);
        assert_interval(wilson(s, n, Z95), low, high, 1e-12);
    }
}

/// 0/10 and 10/10: the interval touches exactly 0 (or 1) and is not zero-width; the other
/// end is 1.96² / (10 + 1.96²) = 0.27753… (Python: 0.2775327998628892).
#[test]
fn wilson_edge_cases() {
    assert_interval(wilson(0, 10, Z95), 0.0, 0.2775327998628892, 1e-12);
    assert_interval(wilson(10, 10, Z95), 0.7224672001371107, 1.0, 1e-12);
    assert_eq!(wilson(0, 10, Z95).map(|w| w.0), Some(0.0));
    assert_eq!(wilson(10, 10, Z95).map(|w| w.1), Some(1.0));
    // Symmetric around one half.
    assert_interval(
        wilson(5, 10, Z95),
        0.236593090512564,
        0.7634069094874361,
        1e-12,
    );
    assert_eq!(wilson(0, 0, Z95), None);
    assert_eq!(wilson(11, 10, Z95), None);
    assert_eq!(wilson(1, 10, f64::NAN), None);
    assert_eq!(wilson(1, 10, -1.0), None);
    // z = 0 collapses onto the point estimate.
    assert_interval(wilson(3, 10, 0.0), 0.3, 0.3, 1e-15);
}

// ---------------------------------------------------------------- Newcombe

/// Newcombe (1998), "Interval estimation for the difference between independent
/// proportions", method 10 (hybrid score, no continuity correction). 56/70 − 48/80 is the
/// paper's worked example, published as 0.2, 0.0524 to 0.3339 (checked to 4 decimals
/// below). The six pairs are from the paper's table of examples; the full-precision values
/// were computed independently in Python from the method-10 formula on Python's own Wilson
/// limits.
#[test]
fn newcombe_matches_published_examples() {
    #[rustfmt::skip]
    let cases: [(u64, u64, u64, u64, f64, f64, f64); 6] = [
        (56, 70, 48, 80, 0.2, 0.052431472402365065, 0.333872654036906),
        (9, 10, 3, 10, 0.6, 0.17052272393450302, 0.8090179735354881),
        (6, 7, 2, 7, 4.0 / 7.0, 0.0582279274823122, 0.8062496375242277),
        (5, 56, 0, 29, 5.0 / 56.0, -0.03813714790353688, 0.19256001385511162),
        (0, 10, 0, 20, 0.0, -0.16112515805281938, 0.2775327998628892),
        (10, 10, 0, 20, 1.0, 0.6790860371419147, 1.0),
    ];
    for (s1, n1, s0, n0, d, low, high) in cases {
        assert_difference(difference(s1, n1, s0, n0, Z95), d, low, high, 1e-12);
    }
    // The published 4-decimal figures of the worked example.
    assert_difference(difference(56, 70, 48, 80, Z95), 0.2, 0.0524, 0.3339, 5e-5);
    assert_eq!(difference(1, 0, 1, 10, Z95), None);
    assert_eq!(difference(1, 10, 0, 0, Z95), None);
    assert_eq!(difference(11, 10, 1, 10, Z95), None);
}

/// Swapping the arms mirrors the interval.
#[test]
fn newcombe_is_antisymmetric() {
    let (Some(a), Some(b)) = (
        difference(56, 70, 48, 80, Z95),
        difference(48, 80, 56, 70, Z95),
    ) else {
        panic!("intervals expected");
    };
    assert!(close(a.estimate, -b.estimate, 1e-15));
    assert!(close(a.low, -b.high, 1e-15));
    assert!(close(a.high, -b.low, 1e-15));
}

// ---------------------------------------------------------------- normal quantile

/// Against Python's `statistics.NormalDist().inv_cdf` (an independent implementation,
/// Wichura's AS 241).
#[test]
fn normal_quantile_matches_reference() {
    let cases = [
        (0.975, 1.9599639845400536),
        (0.9875, 2.2414027276049464),
        (1.0 - 0.05 / 6.0, 2.3939797998185104),
        (0.995, 2.5758293035489),
        (0.5, 0.0),
        (0.3, -0.5244005127080407),
        (0.01, -2.3263478740408408),
        (0.001, -3.090232306167813),
        (1e-10, -6.361340902404056),
    ];
    for (p, z) in cases {
        let Some(q) = normal_quantile(p) else {
            panic!("no quantile for {p}");
        };
        assert!(
            close(q, z, 1e-8 * z.abs().max(1.0)),
            "Φ⁻¹({p}) = {q}, want {z}"
        );
    }
    assert_eq!(normal_quantile(0.0), None);
    assert_eq!(normal_quantile(1.0), None);
    assert_eq!(normal_quantile(f64::NAN), None);
}

#[test]
fn bonferroni_z_values() {
    assert_eq!(bonferroni_z(0), Z95);
    assert_eq!(bonferroni_z(1), Z95);
    assert!(close(bonferroni_z(2), 2.2414027276049464, 1e-8));
    assert!(close(bonferroni_z(3), 2.3939797998185104, 1e-8));
}

// ---------------------------------------------------------------- assignment

/// Pinned against an independent Python computation (hashlib.sha256 over the tag and the
/// ids packed with struct '>q'), so the hash is the documented one and cannot change
/// silently.
#[test]
fn assignment_matches_independent_computation() {
    #[rustfmt::skip]
    let cases: [(i64, i64, &[u32], u64, usize); 9] = [
        (1, 1, &[1, 1], 6620010738290259623, 0),
        (1, 2, &[1, 1], 8569293748410554075, 0),
        (1, 3, &[1, 1], 9466321665716394040, 1),
        (1, 4, &[1, 1], 4521082209049464844, 0),
        (7, 123456, &[1, 3], 8182229703588061658, 1),
        (7, 123457, &[1, 3], 2123893482218097570, 0),
        (-5, -9, &[2, 0, 5], 8073511498181240715, 2),
        (42, i64::MAX, &[1, 1, 1], 3322611476546413096, 0),
        (i64::MIN, 0, &[10, 20, 30, 40], 6027374151817261238, 2),
    ];
    for (experiment, door, weights, hash, arm) in cases {
        assert_eq!(assignment_hash(experiment, door), hash);
        assert_eq!(assign_arm(experiment, door, weights), Some(arm));
    }
}

#[test]
fn assignment_needs_a_positive_weight() {
    assert_eq!(assign_arm(1, 1, &[]), None);
    assert_eq!(assign_arm(1, 1, &[0, 0, 0]), None);
    assert_eq!(assign_arm(1, 1, &[0, 5, 0]), Some(1));
    assert_eq!(assign_arm(1, 1, &[u32::MAX; 3]).map(|a| a < 3), Some(true));
}

/// Share of `doors` consecutive doors landing in each arm.
fn shares(experiment: i64, doors: i64, weights: &[u32]) -> Vec<f64> {
    let mut counts = vec![0u64; weights.len()];
    for door in 0..doors {
        match assign_arm(experiment, door, weights) {
            Some(arm) => counts[arm] += 1,
            None => panic!("no arm for door {door}"),
        }
    }
    counts.iter().map(|&c| c as f64 / doors as f64).collect()
}

/// Over 100,000 doors each arm's share is within 4 standard errors
/// (√(w(1 − w)/100,000): ±0.0063 for a half, ±0.0055 for a quarter) of its weight.
#[test]
fn weights_respected_over_100_000_doors() {
    const DOORS: i64 = 100_000;
    for (experiment, weights) in [(11, [1u32, 1]), (12, [1, 3])] {
        let total: u32 = weights.iter().sum();
        for (arm, share) in shares(experiment, DOORS, &weights).into_iter().enumerate() {
            let expected = f64::from(weights[arm]) / f64::from(total);
            let se = (expected * (1.0 - expected) / DOORS as f64).sqrt();
            assert!(
                (share - expected).abs() <= 4.0 * se,
                "weights {weights:?}: arm {arm} got {share}, expected {expected} ± {}",
                4.0 * se
            );
        }
    }
}

/// Two experiments assign independently: with 1:1 weights a door's arms in experiments
/// 21 and 22 agree for about half the doors (20,000 doors, ±4 standard errors).
#[test]
fn experiments_assign_independently() {
    const DOORS: i64 = 20_000;
    let agree = (0..DOORS)
        .filter(|&door| assign_arm(21, door, &[1, 1]) == assign_arm(22, door, &[1, 1]))
        .count() as f64
        / DOORS as f64;
    let se = (0.25 / DOORS as f64).sqrt();
    assert!((agree - 0.5).abs() <= 4.0 * se, "agreement {agree}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn assignment_is_stable_valid_and_skips_zero_weights(
        experiment in any::<i64>(),
        door in any::<i64>(),
        weights in prop::collection::vec(prop_oneof![Just(0u32), 1u32..10, any::<u32>()], 0..8),
    ) {
        let arm = assign_arm(experiment, door, &weights);
        prop_assert_eq!(arm, assign_arm(experiment, door, &weights));
        prop_assert_eq!(arm, assign_arm(experiment, door, &weights.clone()));
        match arm {
            None => prop_assert!(weights.iter().all(|&w| w == 0)),
            Some(i) => {
                prop_assert!(i < weights.len());
                prop_assert!(weights[i] > 0);
            }
        }
    }

    #[test]
    fn wilson_contains_the_estimate(n in 1u64..100_000, frac in 0.0f64..=1.0, z in 0.0f64..4.0) {
        let s = ((n as f64) * frac).floor() as u64;
        let Some((low, high)) = wilson(s, n, z) else {
            return Err(TestCaseError::fail("no interval"));
        };
        let p = s as f64 / n as f64;
        prop_assert!((0.0..=1.0).contains(&low) && (0.0..=1.0).contains(&high));
        prop_assert!(low <= p + 1e-12 && p <= high + 1e-12, "{} … {} vs {}", low, high, p);
        // Wider for a larger z.
        if let Some((l2, h2)) = wilson(s, n, z + 0.5) {
            prop_assert!(l2 <= low + 1e-12 && h2 >= high - 1e-12);
        }
    }

    #[test]
    fn difference_contains_the_estimate(
        n1 in 1u64..50_000, f1 in 0.0f64..=1.0, n0 in 1u64..50_000, f0 in 0.0f64..=1.0,
    ) {
        let s1 = ((n1 as f64) * f1).floor() as u64;
        let s0 = ((n0 as f64) * f0).floor() as u64;
        let Some(d) = difference(s1, n1, s0, n0, Z95) else {
            return Err(TestCaseError::fail("no interval"));
        };
        prop_assert!(-1.0 <= d.low && d.low <= d.estimate + 1e-12);
        prop_assert!(d.estimate <= d.high + 1e-12 && d.high <= 1.0);
    }
}

// ---------------------------------------------------------------- verdict

fn arm(contacts: u64, successes: u64) -> ArmCounts {
    ArmCounts {
        doors_assigned: 2 * contacts,
        attempts: 2 * contacts,
        contacts,
        successes,
    }
}

#[test]
fn too_few_contacts_gives_no_verdict() {
    let analysis = analyse(&[arm(500, 150), arm(99, 60)], 100, 0, 0);
    assert_eq!(
        analysis.verdict,
        Verdict::NotEnoughData {
            min_contacts: 100,
            fewest: 99
        }
    );
    assert!(
        analysis.verdict_text.contains("100"),
        "{}",
        analysis.verdict_text
    );
    assert!(
        analysis.verdict_text.contains("99"),
        "{}",
        analysis.verdict_text
    );
    // The figures are still there; only the verdict waits.
    assert!(analysis.arms[1].difference_vs_first.is_some());
    // Exactly at the minimum is enough (60/100 vs 150/500 is a clear win).
    let analysis = analyse(&[arm(500, 150), arm(100, 60)], 100, 0, 0);
    assert_eq!(analysis.verdict, Verdict::Better { arm: 1 });
}

#[test]
fn verdict_better_worse_and_unclear() {
    let better = analyse(&[arm(1000, 300), arm(1000, 357)], 100, 0, 0);
    assert_eq!(better.verdict, Verdict::Better { arm: 1 });
    assert!(
        better
            .verdict_text
            .starts_with("Arm 1 does better than arm 0")
    );
    let worse = analyse(&[arm(1000, 357), arm(1000, 300)], 100, 0, 0);
    assert_eq!(worse.verdict, Verdict::Worse { arm: 1 });
    // A 3-point lead on 1,000 contacts each: the interval still contains zero.
    let unclear = analyse(&[arm(1000, 300), arm(1000, 330)], 100, 0, 0);
    let Some(d) = unclear.arms[1].difference_vs_first else {
        panic!("difference expected");
    };
    assert!(d.low < 0.0 && d.high > 0.0 && d.estimate > 0.0);
    assert_eq!(unclear.verdict, Verdict::NoClearDifference);
}

#[test]
fn verdict_figures_are_consistent() {
    let a = analyse(
        &[
            ArmCounts {
                doors_assigned: 400,
                attempts: 300,
                contacts: 150,
                successes: 45,
            },
            ArmCounts {
                doors_assigned: 400,
                attempts: 320,
                contacts: 160,
                successes: 64,
            },
        ],
        0,
        0,
        0,
    );
    let r = &a.arms[1];
    assert_eq!(r.index, 1);
    assert_eq!(a.arms[0].difference_vs_first, None);
    assert_eq!(r.contact_rate.map(|i| i.estimate), Some(0.5));
    assert_eq!(r.success_rate_among_contacts.map(|i| i.estimate), Some(0.4));
    assert_eq!(
        r.success_rate_among_assigned.map(|i| i.estimate),
        Some(0.16)
    );
    assert_eq!(
        r.success_rate_among_contacts.map(|i| (i.low, i.high)),
        wilson(64, 160, Z95)
    );
    assert_eq!(r.difference_vs_first, difference(64, 160, 45, 150, Z95));
    assert_eq!(a.difference_z, Z95);
}

/// 300/1000 vs 344/1000 excludes zero at 95 % but not at 99 %: the verdict waits (it
/// asks for 99 %). 300 vs 357 passes at 99 % on its own, but not at the Bonferroni z for
/// two comparisons: with a third arm the verdict waits again.
#[test]
fn more_arms_widen_the_intervals() {
    let Some(alone) = difference(344, 1000, 300, 1000, Z95) else {
        panic!("difference expected");
    };
    assert!(alone.above_zero());
    assert_eq!(
        analyse(&[arm(1000, 300), arm(1000, 344)], 100, 0, 0).verdict,
        Verdict::NoClearDifference
    );
    assert_eq!(
        analyse(&[arm(1000, 300), arm(1000, 357)], 100, 0, 0).verdict,
        Verdict::Better { arm: 1 }
    );
    let Some(strict) = difference(357, 1000, 300, 1000, verdict_z(2)) else {
        panic!("difference expected");
    };
    assert!(!strict.above_zero(), "{strict:?}");
    let three = analyse(&[arm(1000, 300), arm(1000, 357), arm(1000, 300)], 100, 0, 0);
    assert!(close(three.difference_z, 2.2414027276049464, 1e-8));
    assert_eq!(three.verdict, Verdict::NoClearDifference);
    // A clear winner still wins; the best of several winners is named, others listed.
    let four = analyse(
        &[
            arm(1000, 300),
            arm(1000, 380),
            arm(1000, 420),
            arm(1000, 220),
        ],
        100,
        0,
        0,
    );
    assert_eq!(four.verdict, Verdict::Better { arm: 2 });
    assert!(four.verdict_text.contains("Also better than arm 0: arm 1"));
    let losers = analyse(&[arm(1000, 300), arm(1000, 290), arm(1000, 200)], 100, 0, 0);
    assert_eq!(losers.verdict, Verdict::Worse { arm: 2 });
}

#[test]
fn degenerate_inputs() {
    let none = analyse(&[], 10, 100, 0);
    assert_eq!(
        none.verdict,
        Verdict::NotEnoughData {
            min_contacts: 10,
            fewest: 0
        }
    );
    assert_eq!(none.probability_best, None);
    let one = analyse(&[arm(100, 30)], 10, 100, 0);
    assert_eq!(one.verdict, Verdict::NoClearDifference);
    assert_eq!(one.probability_best, Some(vec![1.0]));
    // Zero contacts everywhere with no minimum: nothing to compare, no panic.
    let empty = analyse(&[ArmCounts::default(); 2], 0, 10, 0);
    assert_eq!(empty.verdict, Verdict::NoClearDifference);
    assert_eq!(empty.arms[1].difference_vs_first, None);
    assert_eq!(empty.arms[1].contact_rate, None);
    // Inconsistent counts give no rate rather than nonsense.
    let odd = ArmCounts {
        doors_assigned: 5,
        attempts: 5,
        contacts: 3,
        successes: 4,
    };
    let a = analyse(&[odd, odd], 0, 10, 0);
    assert_eq!(a.arms[0].success_rate_among_contacts, None);
    assert!(a.arms[0].success_rate_among_assigned.is_some());
}

#[test]
fn serialises_for_handlers() -> Result<(), serde_json::Error> {
    let v = serde_json::to_value(Verdict::Better { arm: 1 })?;
    assert_eq!(v, serde_json::json!({"kind": "better", "arm": 1}));
    let v = serde_json::to_value(Verdict::NotEnoughData {
        min_contacts: 100,
        fewest: 7,
    })?;
    assert_eq!(
        v,
        serde_json::json!({"kind": "not_enough_data", "min_contacts": 100, "fewest": 7})
    );
    let v = serde_json::to_value(Verdict::NoClearDifference)?;
    assert_eq!(v, serde_json::json!({"kind": "no_clear_difference"}));
    let analysis = analyse(&[arm(100, 30), arm(100, 50)], 10, 50, 1);
    let json = serde_json::to_string(&analysis)?;
    let back: Analysis = serde_json::from_str(&json)?;
    assert_eq!(back, analysis);
    Ok(())
}

// ---------------------------------------------------------------- Bayesian view

#[test]
fn probability_best_is_deterministic_sums_to_one_and_favours_the_better_arm() {
    let arms = [arm(1000, 300), arm(1000, 400), arm(1000, 310)];
    let a = analyse(&arms, 100, 20_000, 7).probability_best;
    let b = analyse(&arms, 100, 20_000, 7).probability_best;
    assert_eq!(a, b);
    let Some(p) = a else {
        panic!("probabilities expected");
    };
    assert!(close(p.iter().sum::<f64>(), 1.0, 1e-9), "{p:?}");
    assert!(p[1] > 0.999, "{p:?}");
    // A different seed: different draws, same picture.
    let Some(q) = analyse(&arms, 100, 20_000, 8).probability_best else {
        panic!("probabilities expected");
    };
    assert!(q[1] > 0.999);
    assert_eq!(analyse(&arms, 100, 0, 7).probability_best, None);
    // Identical arms: about even (20,000 draws: ±4 standard errors of 0.0035).
    let Some(even) = analyse(&[arm(500, 150), arm(500, 150)], 100, 20_000, 3).probability_best
    else {
        panic!("probabilities expected");
    };
    assert!(close(even[0], 0.5, 0.015), "{even:?}");
}

/// Mean and variance of the gamma sampler (both equal the shape for Gamma(k, 1)), and the
/// mean of the Beta built from it, within 4 standard errors over 40,000 draws.
#[test]
fn gamma_and_beta_samplers_have_the_right_moments() {
    const N: usize = 40_000;
    let mut rng = SplitMix64::new(99);
    for shape in [0.3, 1.0, 2.5, 31.0] {
        let draws: Vec<f64> = (0..N).map(|_| rng.next_gamma(shape)).collect();
        assert!(draws.iter().all(|&x| x > 0.0 && x.is_finite()));
        let mean = draws.iter().sum::<f64>() / N as f64;
        let var = draws.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (N - 1) as f64;
        assert!(
            close(mean, shape, 4.0 * (shape / N as f64).sqrt()),
            "shape {shape}: mean {mean}"
        );
        // Var(sample variance) ≈ (μ₄ − σ⁴)/N with μ₄ = 3k² + 6k for Gamma(k).
        let var_se = ((3.0 * shape * shape + 6.0 * shape - shape * shape) / N as f64).sqrt();
        assert!(close(var, shape, 4.0 * var_se), "shape {shape}: var {var}");
    }
    let (a, b) = (31.0, 71.0);
    let mean = (0..N).map(|_| rng.next_beta(a, b)).sum::<f64>() / N as f64;
    let sd = (a * b / ((a + b) * (a + b) * (a + b + 1.0))).sqrt();
    assert!(
        close(mean, a / (a + b), 4.0 * sd / (N as f64).sqrt()),
        "{mean}"
    );
}

// ---------------------------------------------------------------- simulation

/// Doors 1 ..= 20,000 assigned 50/50 by [`assign_arm`]. Every door is attempted, half
/// are contacted (a 50 % contact rate, drawn independently of the arm), and a contacted
/// door succeeds with its arm's true rate. Returns the per-arm counts.
fn simulate(assignment: &[usize], true_rates: [f64; 2], seed: u64) -> [ArmCounts; 2] {
    let mut rng = SplitMix64::new(seed);
    let mut counts = [ArmCounts::default(); 2];
    for &a in assignment {
        let c = &mut counts[a];
        c.doors_assigned += 1;
        c.attempts += 1;
        if rng.next_f64() < 0.5 {
            c.contacts += 1;
            if rng.next_f64() < true_rates[a] {
                c.successes += 1;
            }
        }
    }
    counts
}

fn assignment(experiment: i64) -> Vec<usize> {
    (1..=20_000)
        .map(|door| assign_arm(experiment, door, &[1, 1]).unwrap_or(0))
        .collect()
}

fn describe_counts(counts: &[ArmCounts; 2]) -> String {
    counts
        .iter()
        .map(|c| {
            format!(
                "{} doors, {} contacts, {} successes ({:.2} %)",
                c.doors_assigned,
                c.contacts,
                c.successes,
                100.0 * c.successes as f64 / c.contacts as f64
            )
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

/// True rates 30 % and 36 % among contacts: the 95 % interval of the difference covers
/// the true 6 points, and excludes zero, so the verdict names arm 1.
#[test]
fn simulation_finds_the_six_point_difference() {
    let counts = simulate(&assignment(1), [0.30, 0.36], 1);
    let analysis = analyse(&counts, 100, 10_000, 1);
    let Some(d) = analysis.arms[1].difference_vs_first else {
        panic!("difference expected");
    };
    println!("{}", describe_counts(&counts));
    println!(
        "difference {:.4} (95 % {:.4} … {:.4}); {}; P(best) {:?}",
        d.estimate, d.low, d.high, analysis.verdict_text, analysis.probability_best
    );
    assert!(d.low <= 0.06 && 0.06 <= d.high, "{d:?}");
    assert_eq!(analysis.verdict, Verdict::Better { arm: 1 });
    assert!(analysis.probability_best.is_some_and(|p| p[1] > 0.99));
}

/// The same design repeated with 200 outcome seeds (assignment fixed, experiment 1): the
/// interval covers the true 6 points in at least 180 (nominal 95 % → 190 expected, sd 3.1)
/// and the verdict names arm 1 every time.
#[test]
fn simulation_intervals_cover_six_points_across_repetitions() {
    let assignment = assignment(1);
    let (mut covered, mut better) = (0, 0);
    for rep in 0..200 {
        let counts = simulate(&assignment, [0.30, 0.36], 10_000 + rep);
        let analysis = analyse(&counts, 100, 0, 0);
        if analysis.arms[1]
            .difference_vs_first
            .is_some_and(|d| d.low <= 0.06 && 0.06 <= d.high)
        {
            covered += 1;
        }
        if analysis.verdict == (Verdict::Better { arm: 1 }) {
            better += 1;
        }
    }
    println!("30 % vs 36 %: covered {covered}/200, arm 1 named {better}/200");
    assert!(covered >= 180, "covered {covered}/200");
    assert_eq!(better, 200);
}

/// Equal true rates (30 % and 30 %), 200 seeded repetitions: how often does the verdict
/// claim a winner (either way) that is not there?
///
/// The verdict waits for the difference's 99 % interval to exclude zero (organizers look
/// many times), so with equal rates a false winner is expected in about 1 % of
/// experiments: 2 of 200. The issue asks for no winner in at least 95 % (190 of 200).
/// The seeds (1,000 + repetition) were fixed before the first run.
///
/// The assignment (experiment 2) is computed once: with equal rates which door is in
/// which arm does not change the outcome distribution, and hashing 4 million doors would
/// take half a minute in a debug build. Each repetition draws fresh contacts and
/// successes.
#[test]
fn simulation_with_equal_rates_claims_no_winner() {
    let assignment = assignment(2);
    let mut no_winner = 0;
    for rep in 0..200 {
        let counts = simulate(&assignment, [0.30, 0.30], 1_000 + rep);
        if analyse(&counts, 100, 0, 0).verdict == Verdict::NoClearDifference {
            no_winner += 1;
        }
    }
    println!("30 % vs 30 %: no winner claimed in {no_winner}/200");
    assert!(no_winner >= 190, "no winner in only {no_winner}/200");
}
