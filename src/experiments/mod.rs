//! Script experiments: randomised A/B tests of door scripts. Pure: no actix, no diesel.
//!
//! Everything here is a plain function of its inputs: the same door, experiment and
//! weights always give the same arm, and the same counts (and seed) always give the same
//! analysis.
//!
//! # Assignment: a seeded hash, not a stored draw
//!
//! A door's arm is [`assign_arm`]`(experiment, door, weights)`. It hashes, with SHA-256,
//! the domain tag [`ASSIGNMENT_TAG`] followed by the experiment id and the door id, each as
//! 8 big-endian bytes. The first 8 bytes of the digest, read big-endian, are a uniform
//! 64-bit number `h`. With `total` the sum of the weights, `(h × total) >> 64` (a 128-bit
//! product, so there is no modulo bias) is a uniform slot in `0 .. total`, and the arm is
//! the one whose run of slots contains it: arm `i` owns `weights[i]` consecutive slots.
//! Nothing is stored and nothing drifts: rebuilding a list, restarting the server or
//! moving to another machine gives every door the same arm. An arm with weight 0 is never
//! chosen. Changing the weights moves some doors, so fix the weights when the experiment
//! starts. Different experiments hash differently, so arms of two experiments are
//! independent of each other.
//!
//! # Rates and Wilson intervals
//!
//! Each arm reports three rates, each with a 95 % [Wilson score interval](wilson):
//! contact rate (doors contacted per door attempted), success among contacts (successes
//! per door contacted: what the script itself achieves) and success among assigned doors
//! (successes per door assigned: the "intent to treat" figure, diluted by doors never
//! reached). The Wilson interval is the set of true rates that the observed count would
//! not reject at the 5 % level. Unlike the textbook "p ± 1.96 × standard error" it never
//! leaves 0 … 1, is not zero-width at 0 or 10 out of 10, and keeps close to its promised
//! 95 % coverage even for small counts and rates near 0 or 1.
//!
//! # Differences: Newcombe's hybrid score interval
//!
//! Each arm after the first is compared with the first arm (the control) on success among
//! contacts: the difference `p₁ − p₀` with Newcombe's hybrid score interval (method 10 of
//! Newcombe 1998, *Interval estimation for the difference between independent
//! proportions*). It combines the two Wilson intervals: the lower limit is
//! `d − √((p₁ − l₁)² + (u₀ − p₀)²)`, the upper `d + √((u₁ − p₁)² + (p₀ − l₀)²)`, where
//! `(l, u)` are the Wilson limits. It inherits Wilson's good behaviour for small counts and
//! extreme rates and stays within −1 … 1.
//!
//! # The verdict
//!
//! The verdict only claims that an arm does better (or worse) than the first arm when the
//! interval of the difference lies entirely above (or below) zero. An observed difference
//! whose interval still contains zero is one that chance alone could easily produce, and
//! scripts that truly do the same would "win" half the time if the larger figure were
//! declared the winner.
//!
//! **The verdict asks for 99 %.** The figures shown are 95 % intervals, but organizers
//! look at a running experiment again and again, and every look is another chance for
//! noise to cross the line. So the verdict names a winner only when the difference's
//! *99 %* interval excludes zero ([`VERDICT_ALPHA`]); it never claims a winner whose 95 %
//! interval still contains zero, and when the scripts truly do the same it claims a
//! false winner in about 1 % of experiments at a single look instead of 5 %.
//!
//! **More than two arms.** With `k` arms there are `k − 1` comparisons with the first arm,
//! and each one is another chance of a false winner. The difference intervals (and so the
//! verdict) use a Bonferroni adjustment: each is built at confidence `1 − 0.05 / (k − 1)`
//! (z = 1.96 for two arms, 2.24 for three, 2.39 for four), so that all of them hold
//! together with at least 95 % confidence and the chance of any false winner stays at or
//! below 5 %. [`Analysis::difference_z`] says which z was used. When several arms beat the
//! first, the verdict names the one with the highest estimate and the text lists the
//! others; it does not claim that arm beats the other winners, only the first arm.
//!
//! **The minimum contacts rule.** With a handful of contacts per arm the intervals are
//! honest but very wide, and a lucky streak early on is the classic way to fool oneself.
//! So until every arm has at least `min_contacts_per_arm` contacts the verdict is
//! [`Verdict::NotEnoughData`], saying how far the thinnest arm is; the per-arm figures are
//! still reported.
//!
//! # The Bayesian view (optional)
//!
//! With `bayes_draws > 0`, each arm's success rate among contacts gets a Beta(1 + s,
//! 1 + contacts − s) posterior (a uniform prior updated by the counts), and
//! [`Analysis::probability_best`] is the share of joint posterior draws in which each arm
//! has the highest rate. The draws use a SplitMix64 generator seeded by the caller and a
//! hand-written Marsaglia–Tsang gamma sampler (Beta = X / (X + Y) for gammas X, Y), so the
//! figures are identical for the same seed. They are a reading aid and never drive the
//! verdict.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The two-sided 95 % normal quantile, Φ⁻¹(0.975).
pub const Z95: f64 = 1.959963984540054;

/// The family-wise error rate the verdict allows: 5 %.
pub const ALPHA: f64 = 0.05;

/// The domain tag hashed before the experiment and door ids in [`assign_arm`]. Changing it
/// would reassign every door of every experiment: never change it.
pub const ASSIGNMENT_TAG: &[u8] = b"groundswell/experiment-arm/v1\0";

/// The arm of a door: stable for the same experiment, door and weights.
///
/// SHA-256 of [`ASSIGNMENT_TAG`] ‖ experiment id (8 bytes, big-endian) ‖ door id (8 bytes,
/// big-endian); the digest's first 8 bytes, big-endian, are a uniform `h: u64`; the slot
/// `(h × total) >> 64` in 128-bit arithmetic is uniform in `0 .. total` (no modulo bias);
/// arm `i` owns the `weights[i]` slots after those of the arms before it.
///
/// `None` when no weight is positive (or, impossibly in practice, the weights sum past
/// `u64::MAX`).
pub fn assign_arm(experiment_id: i64, door_id: i64, weights: &[u32]) -> Option<usize> {
    let total = weights
        .iter()
        .try_fold(0u64, |sum, &w| sum.checked_add(u64::from(w)))?;
    if total == 0 {
        return None;
    }
    let h = assignment_hash(experiment_id, door_id);
    // < total, so it fits in u64.
    let slot = ((u128::from(h) * u128::from(total)) >> 64) as u64;
    let mut cumulative = 0u64;
    for (arm, &w) in weights.iter().enumerate() {
        cumulative += u64::from(w);
        if slot < cumulative {
            return Some(arm);
        }
    }
    None
}

/// The uniform 64-bit number behind a door's arm: the first 8 bytes, big-endian, of
/// SHA-256([`ASSIGNMENT_TAG`] ‖ experiment id ‖ door id), ids as 8 big-endian bytes
/// (two's complement). The same on every platform and in every language.
pub fn assignment_hash(experiment_id: i64, door_id: i64) -> u64 {
    let mut hasher = Sha256::new();
    hasher.update(ASSIGNMENT_TAG);
    hasher.update(experiment_id.to_be_bytes());
    hasher.update(door_id.to_be_bytes());
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// The Wilson score interval for `successes` out of `n` at normal quantile `z` (use
/// [`Z95`] for 95 %), as `(low, high)` within 0 … 1.
///
/// `None` when `n` is 0, `successes > n`, or `z` is not finite and non-negative. At 0 out
/// of `n` the low end is exactly 0, at `n` out of `n` the high end exactly 1.
pub fn wilson(successes: u64, n: u64, z: f64) -> Option<(f64, f64)> {
    if n == 0 || successes > n || !z.is_finite() || z < 0.0 {
        return None;
    }
    let n_f = n as f64;
    let p = successes as f64 / n_f;
    let z2 = z * z;
    let denominator = 1.0 + z2 / n_f;
    let centre = (p + z2 / (2.0 * n_f)) / denominator;
    let half = z / denominator * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt();
    let low = if successes == 0 {
        0.0
    } else {
        (centre - half).clamp(0.0, 1.0)
    };
    let high = if successes == n {
        1.0
    } else {
        (centre + half).clamp(0.0, 1.0)
    };
    Some((low, high))
}

/// A point estimate with its interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
}

impl Interval {
    /// True when the interval lies entirely above zero.
    pub fn above_zero(&self) -> bool {
        self.low > 0.0
    }

    /// True when the interval lies entirely below zero.
    pub fn below_zero(&self) -> bool {
        self.high < 0.0
    }
}

/// A rate `successes / n` with its Wilson interval. `None` as for [`wilson`].
pub fn rate(successes: u64, n: u64, z: f64) -> Option<Interval> {
    let (low, high) = wilson(successes, n, z)?;
    Some(Interval {
        estimate: successes as f64 / n as f64,
        low,
        high,
    })
}

/// The difference `s1/n1 − s0/n0` with Newcombe's hybrid score interval (method 10 of
/// Newcombe 1998), built from the two Wilson intervals at the same `z`.
///
/// `None` when either proportion has no Wilson interval (`n` = 0, `s > n`, bad `z`).
pub fn difference(s1: u64, n1: u64, s0: u64, n0: u64, z: f64) -> Option<Interval> {
    let (l1, u1) = wilson(s1, n1, z)?;
    let (l0, u0) = wilson(s0, n0, z)?;
    let p1 = s1 as f64 / n1 as f64;
    let p0 = s0 as f64 / n0 as f64;
    let d = p1 - p0;
    let low = d - ((p1 - l1).powi(2) + (u0 - p0).powi(2)).sqrt();
    let high = d + ((u1 - p1).powi(2) + (p0 - l0).powi(2)).sqrt();
    Some(Interval {
        estimate: d,
        low: low.clamp(-1.0, 1.0),
        high: high.clamp(-1.0, 1.0),
    })
}

/// The standard normal quantile Φ⁻¹(p), for 0 < p < 1 (`None` otherwise).
///
/// Acklam's rational approximation, relative error below 1.2 × 10⁻⁹: ample for choosing
/// interval widths.
pub fn normal_quantile(p: f64) -> Option<f64> {
    if !(p > 0.0 && p < 1.0) {
        return None;
    }
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const P_LOW: f64 = 0.024_25;
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    let x = if p < P_LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p <= 1.0 - P_LOW {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    };
    Some(x)
}

/// The two-sided z for `comparisons` simultaneous comparisons at family-wise 95 %
/// (Bonferroni): Φ⁻¹(1 − 0.05 / (2 × comparisons)). Exactly [`Z95`] for 0 or 1.
pub fn bonferroni_z(comparisons: usize) -> f64 {
    if comparisons <= 1 {
        return Z95;
    }
    normal_quantile(1.0 - ALPHA / (2.0 * comparisons as f64)).unwrap_or(Z95)
}

/// The error rate the verdict allows (before the Bonferroni split across arms).
pub const VERDICT_ALPHA: f64 = 0.01;

/// The z the verdict's difference intervals use: two-sided at [`VERDICT_ALPHA`],
/// Bonferroni-split across the comparisons with the first arm.
pub fn verdict_z(comparisons: usize) -> f64 {
    let split = comparisons.max(1) as f64;
    normal_quantile(1.0 - VERDICT_ALPHA / (2.0 * split)).unwrap_or(2.575_829_303_549)
}

/// What one arm's doors did. All counts are doors, so `successes ≤ contacts ≤ attempts ≤
/// doors_assigned`; a rate whose counts break that is reported as `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArmCounts {
    /// Doors assigned to the arm.
    pub doors_assigned: u64,
    /// Doors attempted (knocked at least once).
    pub attempts: u64,
    /// Doors where someone was contacted.
    pub contacts: u64,
    /// Contacted doors with a success.
    pub successes: u64,
}

/// One arm's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmResult {
    /// The arm's index, 0 for the first arm (the control).
    pub index: usize,
    pub counts: ArmCounts,
    /// Contacts per attempted door, 95 % Wilson interval. `None` without attempts.
    pub contact_rate: Option<Interval>,
    /// Successes per contacted door, 95 % Wilson interval. `None` without contacts.
    pub success_rate_among_contacts: Option<Interval>,
    /// Successes per assigned door, 95 % Wilson interval. `None` without doors.
    pub success_rate_among_assigned: Option<Interval>,
    /// Success among contacts minus the first arm's, Newcombe interval at
    /// [`Analysis::difference_z`] (95 % with two arms, Bonferroni-widened with more).
    /// `None` for the first arm and when either arm has no contacts.
    pub difference_vs_first: Option<Interval>,
}

/// The verdict on success among contacts, always relative to the first arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Verdict {
    /// Some arm has fewer than `min_contacts` contacts; `fewest` is the smallest count.
    NotEnoughData { min_contacts: u64, fewest: u64 },
    /// No difference interval excludes zero (or there is nothing to compare).
    NoClearDifference,
    /// `arm`'s difference interval lies above zero: it does better than the first arm.
    Better { arm: usize },
    /// `arm`'s difference interval lies below zero (and none lies above): the first arm
    /// does better than it.
    Worse { arm: usize },
}

/// The full analysis of an experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    pub arms: Vec<ArmResult>,
    pub verdict: Verdict,
    /// The verdict in plain words, arms named by their index.
    pub verdict_text: String,
    /// The z of the difference intervals: [`Z95`] for two arms, the Bonferroni z for
    /// `arms − 1` comparisons with more.
    pub difference_z: f64,
    /// Posterior probability that each arm has the highest success rate among contacts;
    /// `None` when no draws were asked for or there are no arms.
    pub probability_best: Option<Vec<f64>>,
}

/// Analyse an experiment's per-arm counts (first arm = control).
///
/// Rates use 95 % Wilson intervals; differences vs the first arm use Newcombe's interval
/// at the Bonferroni z for `arms − 1` comparisons. Until every arm has at least
/// `min_contacts_per_arm` contacts the verdict is [`Verdict::NotEnoughData`] (with no arms
/// at all, too). `bayes_draws` posterior draws (0 for none) seeded by `seed` give
/// [`Analysis::probability_best`].
pub fn analyse(
    arms: &[ArmCounts],
    min_contacts_per_arm: u64,
    bayes_draws: usize,
    seed: u64,
) -> Analysis {
    let difference_z = bonferroni_z(arms.len().saturating_sub(1));
    let first = arms.first().copied().unwrap_or_default();
    let results: Vec<ArmResult> = arms
        .iter()
        .enumerate()
        .map(|(index, c)| ArmResult {
            index,
            counts: *c,
            contact_rate: rate(c.contacts, c.attempts, Z95),
            success_rate_among_contacts: rate(c.successes, c.contacts, Z95),
            success_rate_among_assigned: rate(c.successes, c.doors_assigned, Z95),
            difference_vs_first: if index == 0 {
                None
            } else {
                difference(
                    c.successes,
                    c.contacts,
                    first.successes,
                    first.contacts,
                    difference_z,
                )
            },
        })
        .collect();
    // The verdict looks at the stricter intervals (see "The verdict asks for 99 %").
    let strict_z = verdict_z(arms.len().saturating_sub(1));
    let strict: Vec<ArmResult> = results
        .iter()
        .map(|r| ArmResult {
            difference_vs_first: if r.index == 0 {
                None
            } else {
                difference(
                    r.counts.successes,
                    r.counts.contacts,
                    first.successes,
                    first.contacts,
                    strict_z,
                )
            },
            ..r.clone()
        })
        .collect();
    let verdict = decide(arms, &strict, min_contacts_per_arm);
    let verdict_text = describe(&verdict, &results, difference_z);
    let probability_best = if bayes_draws == 0 || arms.is_empty() {
        None
    } else {
        Some(probability_best(arms, bayes_draws, seed))
    };
    Analysis {
        arms: results,
        verdict,
        verdict_text,
        difference_z,
        probability_best,
    }
}

fn decide(arms: &[ArmCounts], results: &[ArmResult], min_contacts: u64) -> Verdict {
    let fewest = arms.iter().map(|c| c.contacts).min().unwrap_or(0);
    if arms.is_empty() || fewest < min_contacts {
        return Verdict::NotEnoughData {
            min_contacts,
            fewest,
        };
    }
    let with_difference = || {
        results
            .iter()
            .filter_map(|r| r.difference_vs_first.map(|d| (r.index, d)))
    };
    let best = with_difference()
        .filter(|(_, d)| d.above_zero())
        .max_by(|a, b| a.1.estimate.total_cmp(&b.1.estimate));
    if let Some((arm, _)) = best {
        return Verdict::Better { arm };
    }
    let worst = with_difference()
        .filter(|(_, d)| d.below_zero())
        .min_by(|a, b| a.1.estimate.total_cmp(&b.1.estimate));
    match worst {
        Some((arm, _)) => Verdict::Worse { arm },
        None => Verdict::NoClearDifference,
    }
}

fn percent(x: f64) -> String {
    format!("{:.1} %", 100.0 * x)
}

fn points(x: f64) -> String {
    format!("{:+.1}", 100.0 * x)
}

fn confidence_label(z: f64) -> String {
    if z == Z95 {
        "95 % interval".to_string()
    } else {
        format!("95 % interval, adjusted for several arms: z = {z:.2}")
    }
}

fn describe(verdict: &Verdict, results: &[ArmResult], z: f64) -> String {
    let comparison = |arm: usize| -> String {
        let Some(r) = results.get(arm) else {
            return String::new();
        };
        let first = results.first().and_then(|r| r.success_rate_among_contacts);
        match (r.success_rate_among_contacts, first, r.difference_vs_first) {
            (Some(a), Some(f), Some(d)) => format!(
                ": success among contacts {} vs {}, a difference of {} points ({} {} to {})",
                percent(a.estimate),
                percent(f.estimate),
                points(d.estimate),
                confidence_label(z),
                points(d.low),
                points(d.high),
            ),
            _ => String::new(),
        }
    };
    let others = |arm: usize, keep: fn(&Interval) -> bool| -> Vec<String> {
        results
            .iter()
            .filter(|r| r.index != arm && r.difference_vs_first.is_some_and(|d| keep(&d)))
            .map(|r| format!("arm {}", r.index))
            .collect()
    };
    match *verdict {
        Verdict::NotEnoughData {
            min_contacts,
            fewest,
        } => {
            if results.is_empty() {
                "No arms to compare.".to_string()
            } else {
                format!(
                    "Not enough data for a verdict yet: every arm needs at least \
                     {min_contacts} contacts, and the thinnest arm has {fewest}."
                )
            }
        }
        Verdict::NoClearDifference => {
            if results.len() < 2 {
                "Only one arm: nothing to compare.".to_string()
            } else {
                "No clear difference yet: every arm's difference from arm 0 could still be \
                 zero, so no script can be called better or worse."
                    .to_string()
            }
        }
        Verdict::Better { arm } => {
            let mut text = format!("Arm {arm} does better than arm 0{}.", comparison(arm));
            let also = others(arm, Interval::above_zero);
            if !also.is_empty() {
                text.push_str(&format!(
                    " Also better than arm 0: {}; this does not say which of these is best.",
                    also.join(", ")
                ));
            }
            text
        }
        Verdict::Worse { arm } => {
            let mut text = format!("Arm {arm} does worse than arm 0{}.", comparison(arm));
            let also = others(arm, Interval::below_zero);
            if !also.is_empty() {
                text.push_str(&format!(" Also worse than arm 0: {}.", also.join(", ")));
            }
            text
        }
    }
}

/// SplitMix64 (Steele, Lea & Flood 2014): a tiny, fast, well-mixed deterministic
/// generator; plenty for Monte Carlo draws.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in the open interval (0, 1): 53 random bits, centred in their cell.
    pub fn next_f64(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal (Marsaglia's polar method).
    pub fn next_normal(&mut self) -> f64 {
        loop {
            let u = 2.0 * self.next_f64() - 1.0;
            let v = 2.0 * self.next_f64() - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                return u * (-2.0 * s.ln() / s).sqrt();
            }
        }
    }

    /// Gamma(shape, 1) by Marsaglia & Tsang (2000); shapes below 1 via
    /// Gamma(shape + 1) × U^(1/shape). `shape` must be positive and finite.
    pub fn next_gamma(&mut self, shape: f64) -> f64 {
        if shape < 1.0 {
            let boost = self.next_f64().powf(1.0 / shape);
            return self.next_gamma(shape + 1.0) * boost;
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = self.next_normal();
            let t = 1.0 + c * x;
            if t <= 0.0 {
                continue;
            }
            let v = t * t * t;
            let u = self.next_f64();
            let x2 = x * x;
            if u < 1.0 - 0.0331 * x2 * x2 || u.ln() < 0.5 * x2 + d * (1.0 - v + v.ln()) {
                return d * v;
            }
        }
    }

    /// Beta(a, b) as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b).
    pub fn next_beta(&mut self, a: f64, b: f64) -> f64 {
        let x = self.next_gamma(a);
        let y = self.next_gamma(b);
        x / (x + y)
    }
}

/// Share of `draws` joint draws from the Beta(1 + s, 1 + contacts − s) posteriors in which
/// each arm has the highest rate (ties, which are practically impossible, are shared).
/// Counts with more successes than contacts are read as all contacts succeeding.
fn probability_best(arms: &[ArmCounts], draws: usize, seed: u64) -> Vec<f64> {
    let shapes: Vec<(f64, f64)> = arms
        .iter()
        .map(|c| {
            let s = c.successes.min(c.contacts);
            (1.0 + s as f64, 1.0 + (c.contacts - s) as f64)
        })
        .collect();
    let mut rng = SplitMix64::new(seed);
    let mut wins = vec![0.0; arms.len()];
    let mut sample = vec![0.0; arms.len()];
    let mut leaders = Vec::with_capacity(arms.len());
    for _ in 0..draws {
        for (x, &(a, b)) in sample.iter_mut().zip(&shapes) {
            *x = rng.next_beta(a, b);
        }
        let top = sample.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        leaders.clear();
        leaders.extend((0..sample.len()).filter(|&i| sample[i] == top));
        let share = 1.0 / leaders.len() as f64;
        for &i in &leaders {
            wins[i] += share;
        }
    }
    wins.iter().map(|w| w / draws as f64).collect()
}

#[cfg(test)]
mod tests;
