//! Replaying a batch of knocks' evidence, knock by knock, so that each knock's history
//! row holds the score before and after it as if the knocks had come one at a time.
//! The store adds a batch's sums in one upsert per row and reads the totals back; these
//! functions take the batch back out of those totals and step through it again.

use std::collections::{BTreeMap, HashMap};

use super::{CellEvidence, Delta, Kind, Params, PersonEvidence, Tally, rule};

/// Whose score a step moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Person(i64),
    /// A pooling cell (its mean residual).
    Cell(i64),
}

/// One knock's move of one score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    pub knock_id: i64,
    pub subject: Subject,
    pub rule: &'static str,
    pub old: Option<f64>,
    pub new: f64,
}

/// A batch's changes summed per (person, kind), in key order: the rows to upsert.
pub fn sum_people(personal: &[(i64, Delta)]) -> BTreeMap<(i64, Kind), Delta> {
    let mut sums = BTreeMap::new();
    add_people(&mut sums, personal);
    sums
}

/// Adds changes to sums per (person, kind).
pub fn add_people(sums: &mut BTreeMap<(i64, Kind), Delta>, personal: &[(i64, Delta)]) {
    for (_, d) in personal {
        let sum = sums.entry((d.person, d.kind)).or_insert(Delta {
            own: 0,
            mates: 0,
            mates_sum: 0,
            ..*d
        });
        sum.own += d.own;
        sum.mates += d.mates;
        sum.mates_sum += d.mates_sum;
    }
}

/// A batch's cell tallies summed per (cell, kind), in key order: the rows to upsert.
pub fn sum_cells(pooled: &[(i64, i64, Kind, Tally)]) -> BTreeMap<(i64, Kind), Tally> {
    let mut sums = BTreeMap::new();
    add_cells(&mut sums, pooled);
    sums
}

/// Adds cell tallies to sums per (cell, kind).
pub fn add_cells(sums: &mut BTreeMap<(i64, Kind), Tally>, pooled: &[(i64, i64, Kind, Tally)]) {
    for &(_, cell, kind, t) in pooled {
        let sum = sums.entry((cell, kind)).or_default();
        *sum = *sum + t;
    }
}

/// The personal scores, knock by knock: `after` is each person's evidence with the
/// batch's sums `added` in, `priors` their prior logits, `personal` the batch's changes
/// in knock order. `None` when a person of the batch is missing from `after` or
/// `priors` (the rows were not read back).
pub fn replay_people(
    mut after: HashMap<i64, PersonEvidence>,
    added: &BTreeMap<(i64, Kind), Delta>,
    priors: &HashMap<i64, i64>,
    personal: &[(i64, Delta)],
    params: &Params,
) -> Option<Vec<Step>> {
    for d in added.values() {
        if let Some(e) = after.get_mut(&d.person) {
            e.add(&Delta {
                own: -d.own,
                mates: -d.mates,
                mates_sum: -d.mates_sum,
                ..*d
            });
        }
    }
    let mut steps = Vec::with_capacity(personal.len());
    for (knock, d) in personal {
        let evidence = after.get_mut(&d.person)?;
        let prior = *priors.get(&d.person)?;
        let old = super::score(params, prior, evidence, params.no_pull());
        evidence.add(d);
        let new = super::score(params, prior, evidence, params.no_pull());
        steps.push(Step {
            knock_id: *knock,
            subject: Subject::Person(d.person),
            rule: d.rule(),
            old: Some(old),
            new,
        });
    }
    Some(steps)
}

/// The cells' mean residuals, knock by knock: `after` holds the totals of the (cell,
/// kind) rows the batch touched with its sums `added` in; `pooled` is the batch's
/// tallies in knock order. `None` when a cell of the batch is missing from `after`.
pub fn replay_cells(
    after: &[(i64, Kind, Tally)],
    added: &BTreeMap<(i64, Kind), Tally>,
    pooled: &[(i64, i64, Kind, Tally)],
    params: &Params,
) -> Option<Vec<Step>> {
    let mut running: HashMap<i64, CellEvidence> = HashMap::new();
    for &(cell, kind, total) in after {
        let batch = added.get(&(cell, kind)).copied().unwrap_or_default();
        running.entry(cell).or_default().add(kind, total - batch);
    }
    let mut steps = Vec::with_capacity(pooled.len());
    for &(knock, cell, kind, t) in pooled {
        let evidence = running.get_mut(&cell)?;
        let old = evidence.mean_residual(params);
        evidence.add(kind, t);
        let new = evidence.mean_residual(params).unwrap_or_default();
        steps.push(Step {
            knock_id: knock,
            subject: Subject::Cell(cell),
            rule: rule::CELL,
            old,
            new,
        });
    }
    Some(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id_change(person: i64, own: i64) -> Delta {
        Delta {
            person,
            kind: Kind::from_code(1).expect("support ID 1 is a kind"),
            own,
            mates: 0,
            mates_sum: 0,
        }
    }

    #[test]
    fn two_knocks_on_one_person_step_from_the_state_before_the_batch() {
        let params = Params::default();
        let (first, second) = (id_change(7, 1), id_change(7, 1));
        let personal = vec![(100, first), (101, second)];
        let added = sum_people(&personal);
        assert_eq!(added.len(), 1, "one row per person and kind");
        // Before the batch the person had one earlier support ID of the same kind.
        let mut before = PersonEvidence::default();
        before.add(&id_change(7, 1));
        let mut after = before;
        for (_, d) in &personal {
            after.add(d);
        }
        let priors = HashMap::from([(7, 0)]);
        let steps = replay_people(
            HashMap::from([(7, after)]),
            &added,
            &priors,
            &personal,
            &params,
        )
        .expect("everyone was read back");
        assert_eq!(steps.len(), 2);
        let score = |e: &PersonEvidence| super::super::score(&params, 0, e, params.no_pull());
        assert_eq!(steps[0].old, Some(score(&before)));
        assert_eq!(
            steps[0].new,
            steps[1].old.expect("a person always has a score")
        );
        assert_eq!(steps[1].new, score(&after));
        assert_eq!(steps[1].knock_id, 101);
        assert_eq!(steps[0].subject, Subject::Person(7));
    }

    #[test]
    fn a_person_not_read_back_stops_the_replay() {
        let personal = vec![(1, id_change(3, 1))];
        let added = sum_people(&personal);
        let replayed = replay_people(
            HashMap::new(),
            &added,
            &HashMap::from([(3, 0)]),
            &personal,
            &Params::default(),
        );
        assert!(replayed.is_none());
    }

    #[test]
    fn a_new_cell_has_no_residual_before_its_first_knock() {
        let kind = Kind::from_code(1).expect("support ID 1 is a kind");
        let pooled = vec![(1, 55, kind, Tally::one(0)), (2, 55, kind, Tally::one(0))];
        let added = sum_cells(&pooled);
        let total = *added.get(&(55, kind)).expect("the cell's sum");
        let steps = replay_cells(&[(55, kind, total)], &added, &pooled, &Params::default())
            .expect("the cell was read back");
        assert_eq!(steps[0].old, None);
        assert_eq!(
            steps[0].new,
            steps[1].old.expect("the cell has a residual now")
        );
        assert!(steps.iter().all(|s| s.rule == rule::CELL));
    }
}
