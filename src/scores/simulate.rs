//! A simulated electorate with known true support, to measure how much the score model
//! learns from a weekend of canvassing. Deterministic per seed.
//!
//! # The world
//!
//! People live at doors (1–4 per door); doors lie in resolution-8 cells. A person's true
//! support is `p = logistic(μ + u_cell + v_household + e_person)` with independent normal
//! effects. The vendor sees `x = v + e + η` (blind to the cell effect `u`) and the
//! imported score is `E[p | x]`: calibrated across the city, but not within a cell.
//!
//! A canvass knocks every door of a share of the cells once. A door is not home, refuses,
//! is hostile or answers, with chances that depend on the household's support; when it
//! answers, one resident gives a support ID 1–5 from an ordinal model of their own `p`
//! (`z = logit p + noise`, cut at fixed points).
//!
//! # What is measured
//!
//! Against the true `p`, the mean squared error of the imported scores, of the model's
//! scores (computed exactly as the server computes them, through [`knock_evidence`],
//! [`Params::learn`] and [`score`]) and of the **oracle**, the Bayes posterior mean under
//! the simulator's true parameters (numerical integration over cell, household and
//! person effects), for: (a) people in knocked cells whose door gave no answer, (b)
//! people who answered, (c) their housemates, (d) people in cells nobody knocked. Plus the
//! calibration slope of group (a) (regressing true `p` on the score) and the AUC of each
//! score for a supporter drawn from `p`, everyone in knocked cells. The **null world** has
//! no cell effect: there, learning must do no harm.

use std::collections::HashMap;

use h3o::{LatLng, Resolution};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

use super::{CellEvidence, Params, PersonEvidence, knock_evidence, logistic, prior_logit};

/// The parameters of a simulated electorate and its canvass.
#[derive(Debug, Clone, Copy)]
pub struct World {
    /// Mean support, as a logit.
    pub mean: f64,
    /// Standard deviations of the cell, household and person effects.
    pub cell_sd: f64,
    pub household_sd: f64,
    pub person_sd: f64,
    /// Standard deviation of the vendor's error.
    pub vendor_sd: f64,
    /// Share of cells knocked.
    pub knocked_cells: f64,
    /// Scale of the logistic noise in an answer, and the cut points between answers
    /// 1|2, 2|3, 3|4, 4|5 (descending).
    pub answer_noise: f64,
    pub cuts: [f64; 4],
}

impl World {
    /// Neighbourhoods differ: the cell effect is as large as the household's.
    pub fn neighbourhoods() -> World {
        World {
            mean: -0.2,
            cell_sd: 0.7,
            household_sd: 0.7,
            person_sd: 0.7,
            vendor_sd: 0.7,
            knocked_cells: 0.4,
            answer_noise: 0.5,
            cuts: [1.5, 0.5, -0.5, -1.5],
        }
    }

    /// The same without any cell effect.
    pub fn null() -> World {
        World {
            cell_sd: 0.0,
            ..World::neighbourhoods()
        }
    }
}

/// What a knocked door gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    NotHome,
    Refused,
    Hostile,
    /// The resident (index into the electorate's people) and their support ID.
    Answered(usize, u8),
}

impl Outcome {
    fn result(self) -> &'static str {
        use crate::knock::KnockResult;
        match self {
            Outcome::NotHome => KnockResult::NotHome,
            Outcome::Refused => KnockResult::Refused,
            Outcome::Hostile => KnockResult::Hostile,
            Outcome::Answered(..) => KnockResult::Contacted,
        }
        .code()
    }
}

#[derive(Debug, Clone)]
pub struct Person {
    pub door: usize,
    /// True support and its logit.
    pub truth: f64,
    pub theta: f64,
    /// What the vendor saw, and the imported score (0–100).
    pub vendor: f64,
    pub imported: f64,
}

#[derive(Debug, Clone)]
pub struct Door {
    pub cell: usize,
    pub residents: Vec<usize>,
    /// The household's share of support, for how the door answers.
    pub household: f64,
}

/// People, doors, cells, and the canvass.
#[derive(Debug, Clone)]
pub struct Electorate {
    pub world: World,
    pub people: Vec<Person>,
    pub doors: Vec<Door>,
    pub cells: usize,
    /// Knocked doors and what each gave.
    pub knocks: Vec<(usize, Outcome)>,
}

/// Door locations → their cell numbers (0..cells), by resolution-8 H3 cell.
pub fn cells_of(points: &[(f64, f64)]) -> (Vec<usize>, usize) {
    let raw: Vec<u64> = points
        .iter()
        .map(|&(lat, lng)| {
            LatLng::new(lat, lng)
                .map(|p| u64::from(p.to_cell(Resolution::Eight)))
                .unwrap_or(0)
        })
        .collect();
    let mut order = raw.clone();
    order.sort_unstable();
    order.dedup();
    let numbers = raw
        .iter()
        .map(|c| order.binary_search(c).unwrap_or(0))
        .collect();
    (numbers, order.len())
}

/// A draw from a normal distribution of mean 0.
fn normal(rng: &mut StdRng, sd: f64) -> f64 {
    let z: f64 = StandardNormal.sample(rng);
    z * sd
}

/// A draw from the standard logistic distribution.
fn logistic_noise(rng: &mut StdRng) -> f64 {
    let u: f64 = rng.random_range(1e-12..1.0 - 1e-12);
    (u / (1.0 - u)).ln()
}

/// The chances (not home, refused, hostile, answered) of a door whose household supports
/// with probability `p`.
fn door_chances(p: f64) -> [f64; 4] {
    let not_home = 0.45;
    let hostile = 0.10 * (1.0 - p);
    let refused = 0.10 + 0.20 * (1.0 - p);
    [
        not_home,
        refused,
        hostile,
        1.0 - not_home - refused - hostile,
    ]
}

/// The chance of each support ID 1–5 for a person with logit `theta`.
fn answer_chances(world: &World, theta: f64) -> [f64; 5] {
    let above = |cut: f64| logistic((theta - cut) / world.answer_noise);
    let a = world.cuts.map(above);
    [a[0], a[1] - a[0], a[2] - a[1], a[3] - a[2], 1.0 - a[3]]
}

/// Points and weights of a normal distribution for numerical integration.
fn grid(sd: f64, points: usize) -> Vec<(f64, f64)> {
    if sd <= 0.0 || points < 2 {
        return vec![(0.0, 1.0)];
    }
    let raw: Vec<(f64, f64)> = (0..points)
        .map(|k| {
            let z = -4.0 + 8.0 * k as f64 / (points - 1) as f64;
            (z * sd, (-0.5 * z * z).exp())
        })
        .collect();
    let total: f64 = raw.iter().map(|r| r.1).sum();
    raw.into_iter().map(|(x, w)| (x, w / total)).collect()
}

/// `E[p | x]`: the calibrated score of a vendor signal `x`.
fn imported_score(world: &World, x: f64) -> f64 {
    let w = world.household_sd.powi(2) + world.person_sd.powi(2);
    let reliability = w / (w + world.vendor_sd.powi(2));
    let mean = world.mean + reliability * x;
    let sd = (world.cell_sd.powi(2) + (1.0 - reliability) * w).sqrt();
    grid(sd, 41)
        .iter()
        .map(|&(d, wt)| wt * logistic(mean + d))
        .sum::<f64>()
}

/// Draws the people and their canvass for one seed on the given doors.
pub fn electorate(world: World, seed: u64, points: &[(f64, f64)]) -> Electorate {
    let mut rng = StdRng::seed_from_u64(seed);
    let (door_cells, cells) = cells_of(points);
    let cell_effect: Vec<f64> = (0..cells)
        .map(|_| normal(&mut rng, world.cell_sd))
        .collect();
    let knocked: Vec<bool> = (0..cells)
        .map(|_| rng.random_bool(world.knocked_cells.clamp(0.0, 1.0)))
        .collect();
    let mut people = Vec::new();
    let mut doors = Vec::with_capacity(points.len());
    for (d, &cell) in door_cells.iter().enumerate() {
        let v = normal(&mut rng, world.household_sd);
        let size = match rng.random_range(0..20) {
            0..7 => 1,
            7..14 => 2,
            14..18 => 3,
            _ => 4,
        };
        let mut residents = Vec::with_capacity(size);
        for _ in 0..size {
            let e = normal(&mut rng, world.person_sd);
            let theta = world.mean + cell_effect[cell] + v + e;
            let vendor = v + e + normal(&mut rng, world.vendor_sd);
            residents.push(people.len());
            people.push(Person {
                door: d,
                truth: logistic(theta),
                theta,
                vendor,
                imported: 100.0 * imported_score(&world, vendor),
            });
        }
        doors.push(Door {
            cell,
            residents,
            household: logistic(world.mean + cell_effect[cell] + v),
        });
    }
    let mut knocks = Vec::new();
    for (d, door) in doors.iter().enumerate() {
        if !knocked[door.cell] {
            continue;
        }
        let chances = door_chances(door.household);
        let roll: f64 = rng.random();
        let outcome = if roll < chances[0] {
            Outcome::NotHome
        } else if roll < chances[0] + chances[1] {
            Outcome::Refused
        } else if roll < chances[0] + chances[1] + chances[2] {
            Outcome::Hostile
        } else {
            let who = door.residents[rng.random_range(0..door.residents.len())];
            let z = people[who].theta + world.answer_noise * logistic_noise(&mut rng);
            let answer = world.cuts.iter().take_while(|&&c| z <= c).count() as u8 + 1;
            Outcome::Answered(who, answer)
        };
        knocks.push((d, outcome));
    }
    Electorate {
        world,
        people,
        doors,
        cells,
        knocks,
    }
}

/// The model's score of every person, exactly as the server computes it.
pub fn model_scores(e: &Electorate) -> Vec<f64> {
    let priors: Vec<i64> = e
        .people
        .iter()
        .map(|p| prior_logit(Some(p.imported)))
        .collect();
    let mut people = vec![PersonEvidence::default(); e.people.len()];
    let mut cells = vec![CellEvidence::default(); e.cells];
    for &(d, outcome) in &e.knocks {
        let door = &e.doors[d];
        let residents: Vec<(i64, i64)> = door
            .residents
            .iter()
            .map(|&p| (p as i64, priors[p]))
            .collect();
        let answered: Vec<(i64, i64, i64)> = match outcome {
            Outcome::Answered(p, a) => vec![(p as i64, i64::from(a), priors[p])],
            _ => Vec::new(),
        };
        let (deltas, pooled) = knock_evidence(outcome.result(), &answered, &residents);
        for delta in &deltas {
            if let Some(person) = usize::try_from(delta.person)
                .ok()
                .and_then(|i| people.get_mut(i))
            {
                person.add(delta);
            }
        }
        for (kind, prior) in pooled {
            cells[door.cell].add(kind, super::Tally::one(prior));
        }
    }
    let params = Params::learn(&cells);
    let pulls: Vec<Option<super::CellPull>> = cells
        .iter()
        .map(|c| (!c.is_empty()).then(|| params.pull(c)))
        .collect();
    e.people
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let pull = pulls[e.doors[p.door].cell];
            super::current(&params, Some(p.imported), &people[i], pull).unwrap_or(50.0) / 100.0
        })
        .collect()
}

/// The Bayes posterior mean of every person's support under the true parameters.
pub fn oracle_scores(e: &Electorate) -> Vec<f64> {
    let w = e.world;
    let us = grid(w.cell_sd, 15);
    let vs = grid(w.household_sd, 11);
    let es = grid(w.person_sd, 11);
    let vendor_density = |x: f64| (-0.5 * (x / w.vendor_sd).powi(2)).exp();
    let outcome_of: HashMap<usize, Outcome> = e.knocks.iter().copied().collect();
    let mut doors_of_cell: Vec<Vec<usize>> = vec![Vec::new(); e.cells];
    for (d, door) in e.doors.iter().enumerate() {
        doors_of_cell[door.cell].push(d);
    }
    let mut out = vec![0.0; e.people.len()];
    for doors in &doors_of_cell {
        // Per cell-effect point: log likelihood of the cell, and each person's mean.
        let mut log_lik = vec![0.0; us.len()];
        let mut means: Vec<(usize, Vec<f64>)> = Vec::new();
        for &d in doors {
            let door = &e.doors[d];
            let outcome = outcome_of.get(&d).copied();
            let mut person_means = vec![vec![0.0; us.len()]; door.residents.len()];
            for (g, &(u, _)) in us.iter().enumerate() {
                let mut total = 0.0;
                let mut weighted = vec![0.0; door.residents.len()];
                for &(v, wv) in &vs {
                    let household = logistic(w.mean + u + v);
                    let door_lik = match outcome {
                        Some(Outcome::Refused) => door_chances(household)[1],
                        Some(Outcome::Hostile) => door_chances(household)[2],
                        Some(Outcome::Answered(..)) => door_chances(household)[3],
                        Some(Outcome::NotHome) | None => 1.0,
                    };
                    // Each resident: likelihood of what we know, and of it times p.
                    let mut liks = Vec::with_capacity(door.residents.len());
                    let mut nums = Vec::with_capacity(door.residents.len());
                    for &p in &door.residents {
                        let person = &e.people[p];
                        let answer = match outcome {
                            Some(Outcome::Answered(who, a)) if who == p => Some(a),
                            _ => None,
                        };
                        let (mut lik, mut num) = (0.0, 0.0);
                        for &(ep, we) in &es {
                            let theta = w.mean + u + v + ep;
                            let mut l = we * vendor_density(person.vendor - v - ep);
                            if let Some(a) = answer {
                                l *= answer_chances(&w, theta)[usize::from(a) - 1];
                            }
                            lik += l;
                            num += l * logistic(theta);
                        }
                        liks.push(lik);
                        nums.push(num);
                    }
                    let all: f64 = liks.iter().product::<f64>() * door_lik * wv;
                    total += all;
                    for (i, (&lik, &num)) in liks.iter().zip(&nums).enumerate() {
                        if lik > 0.0 {
                            weighted[i] += all / lik * num;
                        }
                    }
                }
                log_lik[g] += total.max(f64::MIN_POSITIVE).ln();
                for (i, m) in person_means.iter_mut().enumerate() {
                    m[g] = if total > 0.0 {
                        weighted[i] / total
                    } else {
                        0.0
                    };
                }
            }
            for (i, m) in person_means.into_iter().enumerate() {
                means.push((door.residents[i], m));
            }
        }
        let top = log_lik.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let post: Vec<f64> = us
            .iter()
            .zip(&log_lik)
            .map(|(&(_, wu), &l)| wu * (l - top).exp())
            .collect();
        let norm: f64 = post.iter().sum();
        for (p, m) in means {
            out[p] = post.iter().zip(&m).map(|(a, b)| a * b).sum::<f64>() / norm;
        }
    }
    out
}

/// Errors of one group of people.
#[derive(Debug, Clone, Copy, Default)]
pub struct Group {
    pub people: usize,
    /// Mean squared errors against the true support (0–1 scale).
    pub imported: f64,
    pub model: f64,
    pub oracle: f64,
}

impl Group {
    /// How much lower the model's error is than the imported scores' (0.4 = 40 %).
    pub fn model_gain(&self) -> f64 {
        1.0 - self.model / self.imported
    }

    pub fn oracle_gain(&self) -> f64 {
        1.0 - self.oracle / self.imported
    }
}

/// The figures of one simulated canvass.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// (a) uncontacted in knocked cells, (b) contacted, (c) housemates, (d) unknocked cells.
    pub groups: [Group; 4],
    /// Calibration slope of group (a): imported, model, oracle.
    pub slope: [f64; 3],
    /// AUC over everyone in knocked cells: imported, model, oracle.
    pub auc: [f64; 3],
}

pub const GROUP_NAMES: [&str; 4] = [
    "uncontacted in knocked cells",
    "contacted",
    "housemates of contacted",
    "cells nobody knocked",
];

/// Runs one seed: draws the electorate, scores it three ways and measures.
pub fn run(world: World, seed: u64, points: &[(f64, f64)]) -> Report {
    let e = electorate(world, seed, points);
    let model = model_scores(&e);
    let oracle = oracle_scores(&e);
    measure(&e, &model, &oracle, seed)
}

fn measure(e: &Electorate, model: &[f64], oracle: &[f64], seed: u64) -> Report {
    let mut knocked_cell = vec![false; e.cells];
    let mut answered_at: HashMap<usize, usize> = HashMap::new();
    for &(d, outcome) in &e.knocks {
        knocked_cell[e.doors[d].cell] = true;
        if let Outcome::Answered(p, _) = outcome {
            answered_at.insert(d, p);
        }
    }
    let group_of = |i: usize| -> usize {
        let p = &e.people[i];
        if !knocked_cell[e.doors[p.door].cell] {
            return 3;
        }
        match answered_at.get(&p.door) {
            Some(&who) if who == i => 1,
            Some(_) => 2,
            None => 0,
        }
    };
    let mut sums = [[0.0_f64; 3]; 4];
    let mut counts = [0_usize; 4];
    let mut group_a: Vec<usize> = Vec::new();
    let mut in_knocked: Vec<usize> = Vec::new();
    for (i, p) in e.people.iter().enumerate() {
        let g = group_of(i);
        counts[g] += 1;
        let imported = p.imported / 100.0;
        for (k, s) in [imported, model[i], oracle[i]].into_iter().enumerate() {
            sums[g][k] += (s - p.truth).powi(2);
        }
        if g == 0 {
            group_a.push(i);
        }
        if g != 3 {
            in_knocked.push(i);
        }
    }
    let mut report = Report::default();
    for g in 0..4 {
        let n = counts[g].max(1) as f64;
        report.groups[g] = Group {
            people: counts[g],
            imported: sums[g][0] / n,
            model: sums[g][1] / n,
            oracle: sums[g][2] / n,
        };
    }
    let score = |k: usize, i: usize| match k {
        0 => e.people[i].imported / 100.0,
        1 => model[i],
        _ => oracle[i],
    };
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5EED_AC0C);
    let supports: Vec<bool> = in_knocked
        .iter()
        .map(|&i| rng.random_bool(e.people[i].truth.clamp(0.0, 1.0)))
        .collect();
    for k in 0..3 {
        let xs: Vec<f64> = group_a.iter().map(|&i| score(k, i)).collect();
        let ys: Vec<f64> = group_a.iter().map(|&i| e.people[i].truth).collect();
        report.slope[k] = slope(&xs, &ys);
        let scored: Vec<f64> = in_knocked.iter().map(|&i| score(k, i)).collect();
        report.auc[k] = auc(&scored, &supports);
    }
    report
}

/// The least-squares slope of `ys` on `xs`.
pub fn slope(xs: &[f64], ys: &[f64]) -> f64 {
    let n = xs.len().max(1) as f64;
    let mx = xs.iter().sum::<f64>() / n;
    let my = ys.iter().sum::<f64>() / n;
    let sxy: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    if sxx > 0.0 { sxy / sxx } else { 0.0 }
}

/// The area under the ROC curve of `scores` for `positive` (ties count half).
pub fn auc(scores: &[f64], positive: &[bool]) -> f64 {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let (mut rank_sum, mut positives) = (0.0, 0.0);
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            if positive[k] {
                rank_sum += rank;
                positives += 1.0;
            }
        }
        i = j + 1;
    }
    let negatives = scores.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return 0.5;
    }
    (rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives)
}

/// Mean and standard deviation.
pub fn mean_sd(values: &[f64]) -> (f64, f64) {
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, var.sqrt())
}

/// The doors of the simulator: the real doors of Liechtenstein and `synthetic` more.
pub fn door_points(synthetic: usize, seed: u64) -> Vec<(f64, f64)> {
    let mut points: Vec<(f64, f64)> = crate::demo::doors()
        .map(|d| d.iter().map(|d| (d.lat, d.lng)).collect())
        .unwrap_or_default();
    points.extend(
        crate::spatial::synthetic::synthetic_doors(synthetic, seed)
            .into_iter()
            .map(|p| (p.lat(), p.lng())),
    );
    points
}

/// The table over seeds, as the README shows it.
pub fn table(seeds: std::ops::Range<u64>, points: &[(f64, f64)]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for (name, world) in [
        ("neighbourhood effects", World::neighbourhoods()),
        ("null world (no cell effect)", World::null()),
    ] {
        let reports: Vec<Report> = seeds.clone().map(|s| run(world, s, points)).collect();
        let _ = writeln!(out, "\n{name}, {} seeds\n", reports.len());
        let _ = writeln!(
            out,
            "| group | people | MSE imported ×10⁴ | MSE model ×10⁴ | model gain | oracle gain | model / oracle gain |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|---|");
        for (g, group) in GROUP_NAMES.iter().enumerate() {
            let col = |f: &dyn Fn(&Group) -> f64| {
                mean_sd(&reports.iter().map(|r| f(&r.groups[g])).collect::<Vec<_>>())
            };
            let people = col(&|x| x.people as f64).0;
            let imported = col(&|x| x.imported * 1e4);
            let model = col(&|x| x.model * 1e4);
            let gain = col(&|x| x.model_gain() * 100.0);
            let oracle = col(&|x| x.oracle_gain() * 100.0);
            let share = col(&|x| {
                if x.oracle_gain().abs() > 1e-9 {
                    x.model_gain() / x.oracle_gain() * 100.0
                } else {
                    f64::NAN
                }
            });
            let _ = writeln!(
                out,
                "| {group} | {people:.0} | {:.1} ± {:.1} | {:.1} ± {:.1} | {:+.1} % ± {:.1} | {:+.1} % ± {:.1} | {:.0} % ± {:.0} |",
                imported.0,
                imported.1,
                model.0,
                model.1,
                gain.0,
                gain.1,
                oracle.0,
                oracle.1,
                share.0,
                share.1
            );
        }
        let stat = |f: &dyn Fn(&Report) -> f64| mean_sd(&reports.iter().map(f).collect::<Vec<_>>());
        let names = ["imported", "model", "oracle"];
        let _ = writeln!(out);
        for (k, name) in names.iter().enumerate() {
            let s = stat(&|r| r.slope[k]);
            let a = stat(&|r| r.auc[k]);
            let _ = writeln!(
                out,
                "- {name}: calibration slope (a) {:.2} ± {:.2}, AUC {:.3} ± {:.3}",
                s.0, s.1, a.0, a.1
            );
        }
    }
    out
}
