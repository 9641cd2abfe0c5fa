//! Stages 6 and 7: trimming the empty cells a turf does not need, and the report of
//! the turfs outside the tolerance.

use std::fmt;

use super::contiguity::connect;
use super::graph::NONE;
use super::{AutocutParams, CellLoad, Cut, Cutter, Imbalance, Turf, Unbalanced};

impl Cutter<'_> {
    /// Drops the empty cells the turfs do not need and builds the result.
    pub(super) fn finish(&mut self, sorted: &[CellLoad], params: &AutocutParams) -> Cut {
        let g = self.g;
        let n = g.len();
        let parts = self.part_group.len();
        let keep = self.trim();
        let mut turfs: Vec<Turf> = (0..parts)
            .map(|p| Turf {
                cells: Vec::new(),
                doors: u32::try_from(self.weight[p]).unwrap_or(u32::MAX),
            })
            .collect();
        for c in 0..n {
            let p = self.part[c];
            if p != NONE && keep[c] {
                turfs[p as usize].cells.push(sorted[c].cell);
            }
        }
        // For the report: the heaviest cell of every turf, and the heaviest
        // cell next to it in a neighbouring turf.
        let mut facts: Vec<TurfFacts> = (0..parts)
            .map(|p| TurfFacts {
                group: self.part_group[p],
                heaviest: 0,
                nearby: 0,
            })
            .collect();
        for c in 0..n {
            let p = self.part[c];
            if p == NONE {
                continue;
            }
            let facts = &mut facts[p as usize];
            facts.heaviest = facts.heaviest.max(g.doors[c]);
            for z in g.neighbours(u32::try_from(c).unwrap_or(NONE)) {
                let q = self.part[z as usize];
                if q != NONE && q != p {
                    facts.nearby = facts.nearby.max(g.doors[z as usize]);
                }
            }
        }
        let mut kept_facts = Vec::with_capacity(parts);
        let mut out = Vec::with_capacity(parts);
        for (turf, facts) in turfs.into_iter().zip(facts) {
            if turf.doors > 0 {
                kept_facts.push(facts);
                out.push(turf);
            }
        }
        let unbalanced = self.report(&out, &kept_facts, params);
        Cut {
            turfs: out,
            unbalanced,
        }
    }

    /// For every cell, whether its turf keeps it: all door cells, and the
    /// empty cells on the paths that link a turf's door cells with the
    /// fewest empty cells.
    fn trim(&mut self) -> Vec<bool> {
        let g = self.g;
        let n = g.len();
        let mut keep: Vec<bool> = g.doors.iter().map(|&d| d > 0).collect();
        let mut root = vec![NONE; self.part_group.len()];
        for c in 0..n {
            let p = self.part[c];
            if p != NONE && g.doors[c] > 0 && root[p as usize] == NONE {
                root[p as usize] = u32::try_from(c).unwrap_or(NONE);
            }
        }
        for (p, &r) in (0_u32..).zip(&root) {
            let part = &self.part;
            connect(g, r, |z| part[z as usize] == p, &mut keep, &mut self.paths);
        }
        keep
    }

    /// Lists the turfs outside the tolerance with the reason.
    fn report(
        &self,
        turfs: &[Turf],
        facts: &[TurfFacts],
        params: &AutocutParams,
    ) -> Vec<Unbalanced> {
        let target = f64::from(params.target_doors);
        let tolerance = f64::from(params.tolerance_percent) / 100.0;
        let low = target * (1.0 - tolerance);
        let high = target * (1.0 + tolerance);
        let mut out = Vec::new();
        for (i, (turf, facts)) in turfs.iter().zip(facts).enumerate() {
            let doors = f64::from(turf.doors);
            let kind = if doors < low {
                Imbalance::Undersized
            } else if doors > high {
                Imbalance::Oversized
            } else {
                continue;
            };
            let group = &self.groups[facts.group];
            let average = group.doors as f64 / f64::from(group.turfs.max(1));
            let coarsest = facts.heaviest.max(facts.nearby);
            let reason = if f64::from(facts.heaviest) > high {
                format!(
                    "one cell holds {} doors, above the target of {}",
                    facts.heaviest, params.target_doors
                )
            } else if group.turfs == 1 && kind == Imbalance::Undersized {
                format!(
                    "isolated group of {} cells holds only {} doors",
                    group.cells, group.doors
                )
            } else if group.turfs == 1 {
                format!(
                    "isolated group of {} cells holds {} doors, too few for two turfs of about {}",
                    group.cells, group.doors, params.target_doors
                )
            } else if average < low || average > high {
                format!(
                    "this group of {} connected cells holds {} doors, which does not divide \
                     into turfs of about {}; its {} turfs average {}",
                    group.cells,
                    group.doors,
                    params.target_doors,
                    group.turfs,
                    Rounded(average)
                )
            } else if f64::from(group.heaviest) > high && kind == Imbalance::Undersized {
                format!(
                    "cells of up to {} doors elsewhere in this group of {} connected cells \
                     need turfs of their own and leave fewer doors for the other turfs",
                    group.heaviest, group.cells
                )
            } else if f64::from(coarsest) > target * tolerance {
                format!(
                    "cells here hold up to {coarsest} doors each, too many to bring turfs of \
                     about {} closer to the target; a finer resolution would help",
                    params.target_doors
                )
            } else {
                String::from(
                    "narrow links or pockets in the area kept this turf from being balanced \
                     without breaking a turf into pieces",
                )
            };
            out.push(Unbalanced {
                turf: i,
                doors: turf.doors,
                kind,
                reason,
            });
        }
        out
    }
}

/// What the report needs to know about a turf.
struct TurfFacts {
    /// The group of cells the turf belongs to.
    group: usize,
    /// The doors of the turf's heaviest cell.
    heaviest: u32,
    /// The doors of the heaviest cell of a neighbouring turf that touches it.
    nearby: u32,
}

/// Displays a number rounded to a whole number.
struct Rounded(f64);

impl fmt::Display for Rounded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.0}", self.0)
    }
}
