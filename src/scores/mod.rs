//! Supporter scores that learn from the doors. Pure: no actix, no diesel.
//!
//! # The model
//!
//! Every piece of evidence is a **target** on the 0–100 scale with a **weight**, both
//! whole numbers, and a person's evidence is the pair of sums (Σ weight, Σ weight ×
//! target). Sums do not care about order, and whole numbers add exactly, so applying
//! knocks one by one as they sync gives exactly what a rebuild from all knocks gives,
//! in any order, on any backend.
//!
//! | evidence | who | target | weight |
//! |---|---|---|---|
//! | support ID 1 … 5 | the person who answered | 100, 75, 50, 25, 0 | 40 |
//! | support ID 1 … 5 | the others at the same door | 100, 75, 50, 25, 0 | 5 |
//! | `refused` | everyone at the door | 30 | 3 |
//! | `hostile` | everyone at the door | 10 | 10 |
//!
//! The **person score** blends the imported score (50 when there is none), worth
//! [`PRIOR_WEIGHT`], with the evidence: `(10 × prior + Σ w·t) / (10 + Σ w)`. One support
//! ID moves its person 80 % of the way to the answer; a second agreeing one, further.
//!
//! **Partial pooling by cell.** The support IDs given in one H3 cell (resolution 8,
//! about 0.7 km²) say something about the neighbours not yet asked. For a person without
//! a support ID of their own, the score moves toward the cell's mean answer `m` by
//! `0.8 × n / (n + 20)` of the gap, where `n` is the number of IDs in the cell: one ID
//! moves a cell by under 4 % of the gap, fifty IDs by 57 %. The result always lies
//! between the person score and `m`: never beyond what the evidence supports.

/// The prior's weight, in evidence units.
pub const PRIOR_WEIGHT: i64 = 10;
/// The score of a person without an imported score.
pub const NEUTRAL: i64 = 50;
pub const OWN_ID_WEIGHT: i64 = 40;
pub const DOOR_MATE_WEIGHT: i64 = 5;
pub const REFUSED: (i64, i64) = (30, 3);
pub const HOSTILE: (i64, i64) = (10, 10);
/// IDs that give a cell half its pull.
pub const CELL_HALF: i64 = 20;
/// The most a cell can pull a person toward its mean.
pub const CELL_CAP: f64 = 0.8;
/// The H3 resolution of pooling cells.
pub const CELL_RESOLUTION: u8 = 8;

/// A support ID answer (1 strong support … 5 strong oppose) as a 0–100 target.
pub fn id_target(answer: i64) -> Option<i64> {
    match answer {
        1 => Some(100),
        2 => Some(75),
        3 => Some(50),
        4 => Some(25),
        5 => Some(0),
        _ => None,
    }
}

/// Summed evidence: Σ weight and Σ weight × target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Evidence {
    pub weight: i64,
    pub weighted: i64,
}

impl Evidence {
    pub fn one(target: i64, weight: i64) -> Self {
        Evidence {
            weight,
            weighted: target * weight,
        }
    }
}

impl std::ops::Add for Evidence {
    type Output = Evidence;

    fn add(self, other: Evidence) -> Evidence {
        Evidence {
            weight: self.weight + other.weight,
            weighted: self.weighted + other.weighted,
        }
    }
}

/// The person score from the imported prior and the person's evidence.
pub fn person_score(prior: Option<f64>, evidence: Evidence) -> f64 {
    let prior = prior.unwrap_or(NEUTRAL as f64).clamp(0.0, 100.0);
    (PRIOR_WEIGHT as f64 * prior + evidence.weighted as f64)
        / (PRIOR_WEIGHT + evidence.weight) as f64
}

/// The support IDs given in one cell: how many, and the sum of their targets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CellEvidence {
    pub ids: i64,
    pub target_sum: i64,
}

impl CellEvidence {
    pub fn mean(&self) -> Option<f64> {
        (self.ids > 0).then(|| self.target_sum as f64 / self.ids as f64)
    }

    /// How far toward the cell's mean a person without an ID moves.
    pub fn pull(&self) -> f64 {
        if self.ids <= 0 {
            return 0.0;
        }
        CELL_CAP * self.ids as f64 / (self.ids + CELL_HALF) as f64
    }
}

/// The score a person shows: the person score, pooled toward the cell when the person
/// has no support ID of their own.
pub fn effective_score(person: f64, has_own_id: bool, cell: CellEvidence) -> f64 {
    match cell.mean() {
        Some(m) if !has_own_id => person + cell.pull() * (m - person),
        _ => person,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_moves_its_person_strongly_and_mates_a_little() {
        let prior = Some(40.0);
        let strong = Evidence::one(100, OWN_ID_WEIGHT);
        let own = person_score(prior, strong);
        assert!((own - 88.0).abs() < 1e-9, "{own}");
        let mate = person_score(prior, Evidence::one(100, DOOR_MATE_WEIGHT));
        assert!((mate - 60.0).abs() < 1e-9, "{mate}");
        assert!((person_score(None, Evidence::default()) - 50.0).abs() < 1e-9);
    }

    #[test]
    fn evidence_adds_up_in_any_order() {
        let pieces = [
            Evidence::one(100, OWN_ID_WEIGHT),
            Evidence::one(0, DOOR_MATE_WEIGHT),
            Evidence::one(REFUSED.0, REFUSED.1),
            Evidence::one(HOSTILE.0, HOSTILE.1),
        ];
        let forward = pieces.iter().fold(Evidence::default(), |a, &b| a + b);
        let backward = pieces.iter().rev().fold(Evidence::default(), |a, &b| a + b);
        assert_eq!(forward, backward);
        assert_eq!(
            person_score(Some(33.3), forward).to_bits(),
            person_score(Some(33.3), backward).to_bits()
        );
    }

    #[test]
    fn a_cell_pulls_in_proportion_to_its_evidence_and_never_past_it() {
        let one = CellEvidence {
            ids: 1,
            target_sum: 100,
        };
        let fifty = CellEvidence {
            ids: 50,
            target_sum: 5000,
        };
        let barely = effective_score(50.0, false, one) - 50.0;
        let a_lot = effective_score(50.0, false, fifty) - 50.0;
        assert!(barely > 0.0 && barely < 2.0, "{barely}");
        assert!(a_lot > 25.0 && a_lot < 50.0, "{a_lot}");
        // Between the person and the cell mean, whatever the evidence.
        for ids in [1, 5, 50, 5000] {
            let cell = CellEvidence {
                ids,
                target_sum: ids * 25,
            };
            let s = effective_score(70.0, false, cell);
            assert!((25.0..=70.0).contains(&s), "{ids}: {s}");
        }
        // Someone with their own ID is not pooled.
        assert_eq!(effective_score(80.0, true, fifty), 80.0);
        assert_eq!(effective_score(80.0, false, CellEvidence::default()), 80.0);
    }

    proptest::proptest! {
        /// Bounded: whatever the evidence, scores stay on the 0–100 scale.
        #[test]
        fn scores_stay_on_the_scale(
            prior in proptest::option::of(0.0_f64..=100.0),
            pieces in proptest::collection::vec((0_i64..=100, 1_i64..=40), 0..50),
            ids in 0_i64..500,
            mean in 0_i64..=100,
            own in proptest::bool::ANY,
        ) {
            let e = pieces.iter().fold(Evidence::default(), |a, &(t, w)| a + Evidence::one(t, w));
            let person = person_score(prior, e);
            proptest::prop_assert!((0.0..=100.0).contains(&person));
            let cell = CellEvidence { ids, target_sum: ids * mean };
            let shown = effective_score(person, own, cell);
            proptest::prop_assert!((0.0..=100.0).contains(&shown));
        }

        /// Monotone: evidence above the current score never lowers it, below never
        /// raises it; and more IDs in a cell pull at least as hard.
        #[test]
        fn evidence_moves_scores_toward_it(
            prior in 0.0_f64..=100.0,
            pieces in proptest::collection::vec((0_i64..=100, 1_i64..=40), 0..20),
            target in 0_i64..=100,
            weight in 1_i64..=40,
            ids in 1_i64..500,
        ) {
            let e = pieces.iter().fold(Evidence::default(), |a, &(t, w)| a + Evidence::one(t, w));
            let before = person_score(Some(prior), e);
            let after = person_score(Some(prior), e + Evidence::one(target, weight));
            if target as f64 >= before {
                proptest::prop_assert!(after >= before - 1e-9);
            } else {
                proptest::prop_assert!(after <= before + 1e-9);
            }
            let fewer = CellEvidence { ids, target_sum: 0 };
            let more = CellEvidence { ids: ids + 1, target_sum: 0 };
            proptest::prop_assert!(more.pull() >= fewer.pull());
        }
    }

    #[test]
    fn answers_map_onto_the_scale() {
        assert_eq!(id_target(1), Some(100));
        assert_eq!(id_target(5), Some(0));
        assert_eq!(id_target(6), None);
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

/// The evidence one knock gives: per person (with the rule), and the support-ID targets
/// for the door's cell. `answered` holds (person, support ID answer) of the people who
/// gave one; `residents` everyone living at the door.
pub fn knock_evidence(
    result: &str,
    answered: &[(i64, i64)],
    residents: &[i64],
) -> (Vec<(i64, Evidence, &'static str)>, Vec<i64>) {
    let mut people = Vec::new();
    let mut cell = Vec::new();
    for &(person, answer) in answered {
        let Some(target) = id_target(answer) else {
            continue;
        };
        cell.push(target);
        people.push((person, Evidence::one(target, OWN_ID_WEIGHT), rule::OWN_ID));
        for &mate in residents {
            if mate != person {
                people.push((
                    mate,
                    Evidence::one(target, DOOR_MATE_WEIGHT),
                    rule::DOOR_MATE_ID,
                ));
            }
        }
    }
    let weak = match result {
        "refused" => Some((REFUSED, rule::REFUSED)),
        "hostile" => Some((HOSTILE, rule::HOSTILE)),
        _ => None,
    };
    if let Some(((target, weight), why)) = weak {
        for &p in residents {
            people.push((p, Evidence::one(target, weight), why));
        }
    }
    (people, cell)
}
