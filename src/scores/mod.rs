//! Supporter scores that learn from the doors. Pure: no actix, no diesel.
//!
//! # The model
//!
//! Scores live on the **logit scale**: a person's imported score `s` (0–100; 50 when the
//! voter file gave none, clamped to 1–99) is the prior `l₀ = logit(s/100)`, and every
//! piece of evidence moves that logit. Each door outcome is a [`Kind`] of evidence:
//! support IDs 1 (strong support) … 5 (strong oppose), a refusal or hostility. A kind
//! *means* a support level `y` (a logit, [`Kind::meaning`]) and carries a weight `w`
//! ([`Kind::weight`]: 1 for an answer, less for a refusal or hostility, which say less).
//!
//! A score is the sum of three explainable steps:
//!
//! 1. **Cell shift** (resolution-8 H3 cells, about 0.7 km²). Each piece of evidence in a
//!    cell has a *residual*, `y − l₀`: what the door said minus what the imported score
//!    predicted for that person. The cell's weighted mean residual `r̄_c`, taken relative
//!    to the campaign's mean residual `r̄` (itself shrunk toward 0, as imported scores are
//!    calibrated overall), is shrunk by empirical Bayes:
//!    `shift_c = B_c · (r̄_c − r̄)`, `B_c = τ² / (τ² + s² / n_c)`, where `s²` is the
//!    variance of residuals within cells and `τ²` the variance of true cell effects
//!    between cells, both estimated from the campaign's own cells (method of moments,
//!    with a weak default for campaigns that have knocked only a few cells). With no
//!    neighbourhood effect, `τ²` comes out near 0 and so does every shift. Everyone in
//!    the cell, asked or not, moves by `shift_c`.
//! 2. **Household.** The residuals of housemates' answers (beyond the cell shift) say
//!    something about the household: the person moves by
//!    `v̂ = σ_v² Σ w·r / (σ_v² Σ w + σ_w² − σ_v² + ω²)`, where `σ_w²` is how far a person
//!    strays from their imported score, `σ_v² = ρ σ_w²` the share a household has in
//!    common ([`HOUSEHOLD_SHARE`]) and `ω²` the noise of one answer.
//! 3. **Own answers.** The person's own evidence is a measurement of their logit with
//!    variance `ω² / w`, combined with the prior from steps 1–2 by precision:
//!    `θ̂ = (m/P + Σ w·y/ω²) / (1/P + Σ w/ω²)`.
//!
//! The score is `100 · logistic(θ̂)`, always strictly between 0 and 100.
//!
//! # Exactness
//!
//! What is stored are whole-number sums: per cell and kind the count, `Σ l₀` and `Σ l₀²`
//! in fixed point ([`FIXED`]); per person and kind the count of their own evidence and of
//! housemates' evidence with `Σ l₀` of those housemates. Integer sums do not depend on
//! order, so applying knocks as they sync gives exactly the state a rebuild from every
//! knock gives, bit for bit, on either backend; a re-sent knock adds nothing. Everything
//! learned (`r̄`, `s²`, `τ²`) is a function of those sums, computed when a score is read.
//! The personal part (steps 2–3 without the cell shift) uses fixed defaults only, so the
//! score history can record it exactly as each knock arrives.

pub mod replay;
pub mod simulate;

/// Fixed-point scale of the logits kept in sums.
pub const FIXED: f64 = 65_536.0;
/// The imported score assumed when the voter file gave none.
pub const NEUTRAL: f64 = 50.0;
/// The H3 resolution of pooling cells.
pub const CELL_RESOLUTION: u8 = 8;
/// Variance of a person's logit around their imported score (before any evidence): a
/// vendor score with an AUC of about 0.7.
pub const PERSON_VARIANCE: f64 = 0.4;
/// Share of [`PERSON_VARIANCE`] that housemates have in common.
pub const HOUSEHOLD_SHARE: f64 = 0.2;
/// Variance of one answer around the answering person's logit.
pub const ANSWER_VARIANCE: f64 = 1.6;
/// Variance of prior logits among people who answer, assumed before there are answers.
pub const DEFAULT_PRIOR_SPREAD: f64 = 0.5;
/// Evidence of one kind counts as much as its defaults once there are this many pieces.
pub const KIND_PRIOR_WEIGHT: f64 = 30.0;
/// Between-cell variance assumed before a campaign has cells of its own …
pub const DEFAULT_CELL_VARIANCE: f64 = 0.02;
/// … worth this many cells of evidence.
pub const DEFAULT_CELL_VARIANCE_CELLS: f64 = 4.0;
/// Within-cell residual variance assumed before there is data …
pub const DEFAULT_RESIDUAL_VARIANCE: f64 = PERSON_VARIANCE + ANSWER_VARIANCE;
/// … worth this many pieces of evidence.
pub const DEFAULT_RESIDUAL_WEIGHT: f64 = 50.0;
/// The campaign's mean residual is shrunk toward 0 as if this much evidence said 0.
pub const CENTRE_PRIOR_WEIGHT: f64 = 200.0;

/// One kind of evidence a door gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A support ID answer, 1 (strong support) … 5 (strong oppose).
    Id(u8),
    Refused,
    Hostile,
}

impl Kind {
    pub const COUNT: usize = 7;
    pub const ALL: [Kind; Kind::COUNT] = [
        Kind::Id(1),
        Kind::Id(2),
        Kind::Id(3),
        Kind::Id(4),
        Kind::Id(5),
        Kind::Refused,
        Kind::Hostile,
    ];

    /// The kind of a support ID answer, if it is one (1–5).
    pub fn of_answer(answer: i64) -> Option<Kind> {
        u8::try_from(answer)
            .ok()
            .filter(|a| (1..=5).contains(a))
            .map(Kind::Id)
    }

    /// The kind a door result gives to everyone at the door, if any.
    pub fn of_result(result: &str) -> Option<Kind> {
        use crate::knock::KnockResult;
        match KnockResult::parse(result)? {
            KnockResult::Refused => Some(Kind::Refused),
            KnockResult::Hostile => Some(Kind::Hostile),
            _ => None,
        }
    }

    /// Position in [`Kind::ALL`], also the stored code minus one.
    pub fn index(self) -> usize {
        match self {
            Kind::Id(a) => usize::from(a.clamp(1, 5)) - 1,
            Kind::Refused => 5,
            Kind::Hostile => 6,
        }
    }

    /// The stored code, 1–7.
    pub fn code(self) -> i64 {
        self.index() as i64 + 1
    }

    pub fn from_code(code: i64) -> Option<Kind> {
        usize::try_from(code - 1)
            .ok()
            .and_then(|i| Kind::ALL.get(i))
            .copied()
    }

    /// How much more supportive than their imported score someone giving this evidence
    /// is assumed to be (a logit) before the campaign has evidence of this kind.
    pub fn default_lift(self) -> f64 {
        match self {
            Kind::Id(1) => 0.6,
            Kind::Id(2) => 0.3,
            Kind::Id(4) => -0.3,
            Kind::Id(5) => -0.6,
            Kind::Id(_) => 0.0,
            Kind::Refused => -0.1,
            Kind::Hostile => -0.3,
        }
    }

    /// How much this evidence counts, relative to one answer.
    pub fn weight(self) -> f64 {
        match self {
            Kind::Id(_) => 1.0,
            Kind::Refused => 0.15,
            Kind::Hostile => 0.3,
        }
    }

    /// The rule named in score history.
    pub fn rule(self, own: bool) -> &'static str {
        match (self, own) {
            (Kind::Id(_), true) => rule::OWN_ID,
            (Kind::Id(_), false) => rule::DOOR_MATE_ID,
            (Kind::Refused, _) => rule::REFUSED,
            (Kind::Hostile, _) => rule::HOSTILE,
        }
    }
}

/// Why a score changed.
pub mod rule {
    pub const OWN_ID: &str = "support_id";
    pub const DOOR_MATE_ID: &str = "door_mate_support_id";
    pub const REFUSED: &str = "refused";
    pub const HOSTILE: &str = "hostile";
    pub const CELL: &str = "cell_pooling";
}

pub fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// The prior logit of an imported score, in fixed point.
pub fn prior_logit(imported: Option<f64>) -> i64 {
    let p = imported.unwrap_or(NEUTRAL).clamp(1.0, 99.0) / 100.0;
    to_fixed((p / (1.0 - p)).ln())
}

pub fn to_fixed(x: f64) -> i64 {
    (x * FIXED).round() as i64
}

pub fn from_fixed(x: i64) -> f64 {
    x as f64 / FIXED
}

/// A fixed-point logit squared, back in fixed point (rounded toward zero, the same on
/// every machine).
fn square(l: i64) -> i64 {
    l * l / FIXED as i64
}

/// Count, `Σ l₀` and `Σ l₀²` (fixed point) of one kind of evidence.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub n: i64,
    pub sum: i64,
    pub sum_sq: i64,
}

impl Tally {
    pub fn one(prior: i64) -> Tally {
        Tally {
            n: 1,
            sum: prior,
            sum_sq: square(prior),
        }
    }
}

impl std::ops::Add for Tally {
    type Output = Tally;

    fn add(self, o: Tally) -> Tally {
        Tally {
            n: self.n + o.n,
            sum: self.sum + o.sum,
            sum_sq: self.sum_sq + o.sum_sq,
        }
    }
}

impl std::ops::Sub for Tally {
    type Output = Tally;

    fn sub(self, o: Tally) -> Tally {
        Tally {
            n: self.n - o.n,
            sum: self.sum - o.sum,
            sum_sq: self.sum_sq - o.sum_sq,
        }
    }
}

/// The evidence gathered in one cell, per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CellEvidence(pub [Tally; Kind::COUNT]);

impl CellEvidence {
    pub fn add(&mut self, kind: Kind, t: Tally) {
        let slot = &mut self.0[kind.index()];
        *slot = *slot + t;
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|t| t.n == 0)
    }

    /// The precision-weighted mean residual of the cell's evidence (a logit), if any.
    pub fn mean_residual(&self, params: &Params) -> Option<f64> {
        let r = self.residuals(params);
        (r.weight > 0.0).then(|| r.sum / r.weight)
    }

    fn residuals(&self, params: &Params) -> Residuals {
        let mut r = Residuals::default();
        for kind in Kind::ALL {
            let t = self.0[kind.index()];
            if t.n == 0 {
                continue;
            }
            let i = kind.index();
            let (n, y) = (t.n as f64, params.measure[i]);
            let (s, q) = (
                from_fixed(t.sum) / params.scale,
                from_fixed(t.sum_sq) / (params.scale * params.scale),
            );
            // Σ (y − λ) and Σ (y − l)² = n y² − 2 y Σl + Σl²
            let sum = n * y - s;
            let sum_sq = (n * y * y - 2.0 * y * s + q).max(0.0);
            let precision = 1.0 / params.noise[i];
            r.weight += precision * n;
            r.sum += precision * sum;
            if matches!(kind, Kind::Id(_)) {
                r.ids += n;
                r.ids_sum += sum;
                r.ids_sum_sq += sum_sq;
            }
        }
        r
    }
}

/// A cell's residuals: precision-weighted count and sum, and over support IDs alone
/// (weight 1 each) count, sum and sum of squares, for the variances.
#[derive(Debug, Clone, Copy, Default)]
struct Residuals {
    weight: f64,
    sum: f64,
    ids: f64,
    ids_sum: f64,
    ids_sum_sq: f64,
}

/// What a campaign's evidence teaches, and what each kind of evidence means.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// Per kind: how much more (or less) supportive than their imported scores people
    /// giving this evidence are, on average (a logit), …
    pub lift: [f64; Kind::COUNT],
    /// … the mean prior logit of those people, …
    pub anchor: [f64; Kind::COUNT],
    /// … the evidence as a measurement of one person's logit, …
    pub measure: [f64; Kind::COUNT],
    /// … and its variance around the true cell effect.
    pub noise: [f64; Kind::COUNT],
    /// Mean residual of the campaign (shrunk toward 0).
    pub centre: f64,
    /// Variance of support-ID residuals within cells, and of true effects between cells.
    pub residual_variance: f64,
    pub cell_variance: f64,
    /// Cells with support IDs, and support IDs, the estimates rest on.
    pub cells: usize,
    pub ids: i64,
    /// How much an imported score's logit is compressed by what it cannot know (the
    /// cell and the person): the latent prior is `λ = l₀ / scale`.
    pub scale: f64,
}

/// Makes `values` non-increasing with the least weighted squared change (pool adjacent
/// violators): each run that rises is replaced by its weighted mean.
fn decreasing(values: &mut [f64], weights: &[f64]) {
    // Blocks of (weighted sum, weight, length), merged while one rises above the last.
    let mut blocks: Vec<(f64, f64, usize)> = Vec::with_capacity(values.len());
    for (&v, &w) in values.iter().zip(weights) {
        blocks.push((v * w, w, 1));
        while blocks.len() > 1 {
            let (s2, w2, n2) = blocks[blocks.len() - 1];
            let (s1, w1, n1) = blocks[blocks.len() - 2];
            if s2 / w2 <= s1 / w1 {
                break;
            }
            blocks.pop();
            blocks.pop();
            blocks.push((s1 + s2, w1 + w2, n1 + n2));
        }
    }
    let mut i = 0;
    for (sum, weight, len) in blocks {
        for v in &mut values[i..i + len] {
            *v = sum / weight;
        }
        i += len;
    }
}

/// What a cell does to the people in it: a shift of their latent logit, and the
/// variance of the cell effect that remains unknown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CellPull {
    pub shift: f64,
    pub variance: f64,
}

/// The probit approximation: `E[logistic(θ)]` for `θ ~ N(mean, variance)` is close to
/// `logistic(mean / √(1 + π variance / 8))`; this is that divisor's inverse.
fn compression(variance: f64) -> f64 {
    1.0 / (1.0 + std::f64::consts::PI * variance / 8.0).sqrt()
}

impl Default for Params {
    fn default() -> Self {
        Params::learn(&[])
    }
}

impl Params {
    /// Learns from every cell of a campaign. Give the cells in a fixed order (by cell)
    /// for results identical to the last bit.
    ///
    /// The latent scale depends on the between-cell variance and the estimate of that on
    /// the scale, so the two are settled by a few rounds from the default (they move by
    /// well under 1 % after the second).
    pub fn learn(cells: &[CellEvidence]) -> Params {
        let mut assumed = DEFAULT_CELL_VARIANCE;
        let mut params = Params::learn_at(cells, assumed);
        for _ in 0..3 {
            assumed = params.cell_variance;
            params = Params::learn_at(cells, assumed);
        }
        // The scale and the pulls rest on one and the same variance, so a person in a
        // cell without evidence keeps exactly their imported score.
        params.cell_variance = assumed;
        params
    }

    /// One round of [`Params::learn`], given the between-cell variance of the last.
    fn learn_at(cells: &[CellEvidence], cell_variance: f64) -> Params {
        let scale = compression(cell_variance + PERSON_VARIANCE);
        // What each kind means: the mean prior logit of the people who gave it, against
        // everyone who answered. People answering "1" are more supportive than their
        // imported scores say, by (σ_w² + τ²)/σ_l² times how far their imported scores
        // already are above the mean (what the imported score cannot see, over what it
        // can: a regression on the latent logit scale).
        let mut totals = [Tally::default(); Kind::COUNT];
        for c in cells {
            for (t, add) in totals.iter_mut().zip(c.0) {
                *t = *t + add;
            }
        }
        let answers = totals[..5].iter().fold(Tally::default(), |a, &b| a + b);
        let n = answers.n as f64;
        let (mean, spread) = if n > 0.0 {
            let mean = from_fixed(answers.sum) / scale / n;
            let var = from_fixed(answers.sum_sq) / (scale * scale) / n - mean * mean;
            let var =
                (var * n + DEFAULT_PRIOR_SPREAD * KIND_PRIOR_WEIGHT) / (n + KIND_PRIOR_WEIGHT);
            (mean, var.max(0.05))
        } else {
            (0.0, DEFAULT_PRIOR_SPREAD)
        };
        let stretch = PERSON_VARIANCE / spread;
        let mut params = Params {
            lift: [0.0; Kind::COUNT],
            anchor: [mean; Kind::COUNT],
            measure: [0.0; Kind::COUNT],
            noise: [0.0; Kind::COUNT],
            centre: 0.0,
            residual_variance: DEFAULT_RESIDUAL_VARIANCE,
            cell_variance: DEFAULT_CELL_VARIANCE,
            cells: 0,
            ids: answers.n,
            scale,
        };
        for kind in Kind::ALL {
            let i = kind.index();
            let t = totals[i];
            let k = t.n as f64;
            let (learned_anchor, learned_lift) = if k > 0.0 {
                let anchor = from_fixed(t.sum) / scale / k;
                (anchor, stretch * (anchor - mean))
            } else {
                (mean, 0.0)
            };
            params.anchor[i] =
                (k * learned_anchor + KIND_PRIOR_WEIGHT * mean) / (k + KIND_PRIOR_WEIGHT);
            params.lift[i] = (k * learned_lift + KIND_PRIOR_WEIGHT * kind.default_lift())
                / (k + KIND_PRIOR_WEIGHT);
            // One piece of evidence moves a person with prior m by K (measure − m), where
            // K = σ_w² w / (σ_w² w + ω²); someone with the mean prior of the kind must move
            // by the lift.
            let gain = PERSON_VARIANCE * kind.weight()
                / (PERSON_VARIANCE * kind.weight() + ANSWER_VARIANCE);
            params.measure[i] = params.anchor[i] + params.lift[i] / gain;
            params.noise[i] = PERSON_VARIANCE + ANSWER_VARIANCE / kind.weight();
        }
        // A more supportive answer never means less: where what was learned says so
        // (few or odd answers), neighbouring answers share their mean.
        let weights: Vec<f64> = totals[..5]
            .iter()
            .map(|t| t.n as f64 + KIND_PRIOR_WEIGHT)
            .collect();
        decreasing(&mut params.measure[..5], &weights);

        let all: Vec<Residuals> = cells.iter().map(|c| c.residuals(&params)).collect();
        let weight: f64 = all.iter().map(|r| r.weight).sum();
        let sum: f64 = all.iter().map(|r| r.sum).sum();
        let answer_precision = 1.0 / params.noise[0];
        params.centre = sum / (weight + CENTRE_PRIOR_WEIGHT * answer_precision);

        // One-way analysis of variance over support IDs, cells as groups.
        let with_ids: Vec<&Residuals> = all.iter().filter(|r| r.ids > 0.0).collect();
        let groups = with_ids.len() as f64;
        let n: f64 = with_ids.iter().map(|r| r.ids).sum();
        let within: f64 = with_ids
            .iter()
            .map(|r| (r.ids_sum_sq - r.ids_sum * r.ids_sum / r.ids).max(0.0))
            .sum();
        let within_df = (n - groups).max(0.0);
        params.residual_variance = (within + DEFAULT_RESIDUAL_VARIANCE * DEFAULT_RESIDUAL_WEIGHT)
            / (within_df + DEFAULT_RESIDUAL_WEIGHT);
        let grand = if n > 0.0 {
            with_ids.iter().map(|r| r.ids_sum).sum::<f64>() / n
        } else {
            0.0
        };
        let between: f64 = with_ids
            .iter()
            .map(|r| r.ids * (r.ids_sum / r.ids - grand).powi(2))
            .sum();
        let n_sq: f64 = with_ids.iter().map(|r| r.ids * r.ids).sum();
        let estimated = if groups >= 2.0 && n - n_sq / n > 0.0 {
            ((between - (groups - 1.0) * params.residual_variance) / (n - n_sq / n)).max(0.0)
        } else {
            0.0
        };
        params.cell_variance = (estimated * groups
            + DEFAULT_CELL_VARIANCE * DEFAULT_CELL_VARIANCE_CELLS)
            / (groups + DEFAULT_CELL_VARIANCE_CELLS);
        // The noise of each kind, scaled to the residual variance the answers show.
        let scale = params.residual_variance / params.noise[0];
        for v in &mut params.noise {
            *v *= scale;
        }
        params.cells = with_ids.len();
        params
    }

    /// How far everyone in this cell moves (a latent logit), and what stays unknown.
    pub fn pull(&self, cell: &CellEvidence) -> CellPull {
        let r = cell.residuals(self);
        if r.weight <= 0.0 {
            return self.no_pull();
        }
        let mean = r.sum / r.weight;
        let keep = self.cell_variance / (self.cell_variance + 1.0 / r.weight);
        CellPull {
            shift: keep * (mean - self.centre),
            variance: self.cell_variance * (1.0 - keep),
        }
    }

    /// A cell without evidence: no shift, the whole cell variance unknown.
    pub fn no_pull(&self) -> CellPull {
        CellPull {
            shift: 0.0,
            variance: self.cell_variance,
        }
    }

    /// The shift alone.
    pub fn cell_shift(&self, cell: &CellEvidence) -> f64 {
        self.pull(cell).shift
    }
}

/// A person's own evidence and their housemates', per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PersonEvidence {
    /// Pieces of evidence about the person themself.
    pub own: [i64; Kind::COUNT],
    /// Housemates' answers: how many, and Σ of those housemates' prior logits.
    pub mates: [i64; Kind::COUNT],
    pub mates_sum: [i64; Kind::COUNT],
}

impl PersonEvidence {
    pub fn add(&mut self, d: &Delta) {
        let i = d.kind.index();
        self.own[i] += d.own;
        self.mates[i] += d.mates;
        self.mates_sum[i] += d.mates_sum;
    }

    pub fn has_own_id(&self) -> bool {
        self.own[..5].iter().any(|&n| n > 0)
    }

    pub fn is_empty(&self) -> bool {
        *self == PersonEvidence::default()
    }
}

/// One change to one person's evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delta {
    pub person: i64,
    pub kind: Kind,
    pub own: i64,
    pub mates: i64,
    pub mates_sum: i64,
}

impl Delta {
    pub fn rule(&self) -> &'static str {
        self.kind.rule(self.own > 0)
    }
}

/// The score (0–100) of a person with prior logit `prior` (fixed point), their evidence,
/// and their cell's pull ([`Params::no_pull`] for the personal score).
pub fn score(params: &Params, prior: i64, person: &PersonEvidence, cell: CellPull) -> f64 {
    100.0 * logistic(logit(params, prior, person, cell))
}

/// The score a person shows: their imported score as it is (none stays unknown) while
/// neither they nor their cell have evidence, [`score`] otherwise.
pub fn current(
    params: &Params,
    imported: Option<f64>,
    person: &PersonEvidence,
    cell: Option<CellPull>,
) -> Option<f64> {
    match cell {
        None if person.is_empty() => imported,
        _ => Some(score(
            params,
            prior_logit(imported),
            person,
            cell.unwrap_or(params.no_pull()),
        )),
    }
}

/// The logit behind [`score`]: the posterior mean of the latent logit over the
/// compression of what is still unknown.
pub fn logit(params: &Params, prior: i64, person: &PersonEvidence, cell: CellPull) -> f64 {
    let shared = HOUSEHOLD_SHARE * PERSON_VARIANCE;
    // Household: each housemate's evidence, beyond their prior and the cell, measures
    // the household effect plus their own, with the kind's noise.
    let mut precision = 1.0 / shared;
    let mut weighted = 0.0;
    // Own evidence: measurements of the person's logit.
    let mut own_precision = 0.0;
    let mut own_sum = 0.0;
    for kind in Kind::ALL {
        let i = kind.index();
        let apart = (params.noise[i] - shared).max(1e-3);
        if person.mates[i] > 0 {
            let n = person.mates[i] as f64;
            let residual = n * (params.measure[i] - cell.shift)
                - from_fixed(person.mates_sum[i]) / params.scale;
            precision += n / apart;
            weighted += residual / apart;
        }
        if person.own[i] > 0 {
            let n = person.own[i] as f64;
            let answer = ANSWER_VARIANCE / kind.weight();
            own_precision += n / answer;
            own_sum += n * params.measure[i] / answer;
        }
    }
    let household = weighted / precision;
    let mean = from_fixed(prior) / params.scale + cell.shift + household;
    // What is left of the person's variance once the household is known this well.
    let variance = PERSON_VARIANCE - shared + 1.0 / precision;
    let (mean, variance) = if own_precision == 0.0 {
        (mean, variance)
    } else {
        let posterior = 1.0 / (1.0 / variance + own_precision);
        (posterior * (mean / variance + own_sum), posterior)
    };
    mean * compression(variance + cell.variance)
}

/// The evidence one knock gives: a change per person, and per piece of cell evidence its
/// kind and the prior logit of the person it is about. `answered` holds (person, support
/// ID answer, prior logit) of the people who gave one; `residents` everyone living at the
/// door with their prior logit.
pub fn knock_evidence(
    result: &str,
    answered: &[(i64, i64, i64)],
    residents: &[(i64, i64)],
) -> (Vec<Delta>, Vec<(Kind, i64)>) {
    let mut people = Vec::new();
    let mut cell = Vec::new();
    for &(person, answer, prior) in answered {
        let Some(kind) = Kind::of_answer(answer) else {
            continue;
        };
        cell.push((kind, prior));
        people.push(Delta {
            person,
            kind,
            own: 1,
            mates: 0,
            mates_sum: 0,
        });
        for &(mate, _) in residents {
            if mate != person {
                people.push(Delta {
                    person: mate,
                    kind,
                    own: 0,
                    mates: 1,
                    mates_sum: prior,
                });
            }
        }
    }
    if let Some(kind) = Kind::of_result(result) {
        for &(person, prior) in residents {
            cell.push((kind, prior));
            people.push(Delta {
                person,
                kind,
                own: 1,
                mates: 0,
                mates_sum: 0,
            });
        }
    }
    (people, cell)
}

#[cfg(test)]
mod tests;
