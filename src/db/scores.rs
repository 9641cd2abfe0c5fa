//! Stored evidence behind the supporter scores (the model is in `crate::scores`): each
//! person's sums, each cell's support IDs, and the history of every change.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::upsert::excluded;

use super::DbConnection;
use super::people::on_backend;
use super::schema::{
    cell_evidence, doors, knock_answers, knocks, people, person_evidence, score_history,
};
use crate::knock::SUPPORT_ID;
use crate::scores::{self, CellEvidence, Evidence};
use crate::spatial::cells;

/// The resolution-8 cell (as stored) of a door's resolution-15 cell.
pub fn pooling_cell(door_cell: i64) -> Option<i64> {
    let res = h3o::Resolution::try_from(scores::CELL_RESOLUTION).ok()?;
    cells::from_db(door_cell)
        .and_then(|c| c.parent(res))
        .map(cells::to_db)
}

/// What the scores need to know of one stored knock.
#[derive(Debug, Clone, Copy)]
pub struct KnockFacts<'a> {
    pub knock_id: i64,
    /// The door's resolution-15 cell.
    pub door_cell: i64,
    pub result: &'a str,
    /// (person, support ID answer) of the people who gave one.
    pub answered: &'a [(i64, i64)],
    /// Everyone living at the door.
    pub residents: &'a [i64],
}

#[derive(Insertable)]
#[diesel(table_name = score_history)]
struct NewHistoryRow {
    campaign_id: i64,
    person_id: Option<i64>,
    cell: Option<i64>,
    knock_id: Option<i64>,
    rule: &'static str,
    old_score: Option<f64>,
    new_score: f64,
    created_at: NaiveDateTime,
}

/// Adds the evidence of a batch of stored knocks and writes a history row, in knock
/// order, for every score each knock moves. Called once per batch, in its transaction,
/// after the knocks were stored, so a re-sent knock never counts twice.
///
/// Each person and each cell gets one upsert for the whole batch, adding the batch's
/// sum to the stored one (`weight = weight + added`, so concurrent batches on
/// PostgreSQL both count) and answering the new total. The total before the batch is
/// that minus the batch's sum; replaying the knocks from there gives each one's old and
/// new score, exactly as if they had come one by one. Rows are upserted in key order,
/// so two batches on PostgreSQL lock shared cells in the same order and cannot
/// deadlock on them; cells go last, as many batches share them.
pub fn apply_knocks(
    conn: &mut DbConnection,
    campaign_id: i64,
    now: NaiveDateTime,
    knocks: &[KnockFacts],
) -> QueryResult<()> {
    // The evidence in knock order: (knock, person, added, rule); (knock, cell, target).
    let mut personal = Vec::new();
    let mut pooled = Vec::new();
    for k in knocks {
        let (per_person, targets) = scores::knock_evidence(k.result, k.answered, k.residents);
        personal.extend(
            per_person
                .into_iter()
                .map(|(p, add, rule)| (k.knock_id, p, add, rule)),
        );
        if let Some(cell) = pooling_cell(k.door_cell) {
            pooled.extend(targets.into_iter().map(|t| (k.knock_id, cell, t)));
        }
    }
    let mut history = Vec::with_capacity(personal.len() + pooled.len());
    let row = |person_id, cell, knock_id, rule, old_score, new_score| NewHistoryRow {
        campaign_id,
        person_id,
        cell,
        knock_id: Some(knock_id),
        rule,
        old_score,
        new_score,
        created_at: now,
    };

    let mut added: BTreeMap<i64, (Evidence, bool)> = BTreeMap::new();
    for &(_, person, add, rule) in &personal {
        let (sum, own) = added.entry(person).or_default();
        sum.weight += add.weight;
        sum.weighted += add.weighted;
        *own |= rule == scores::rule::OWN_ID;
    }
    if !added.is_empty() {
        let ids: Vec<i64> = added.keys().copied().collect();
        let mut priors: HashMap<i64, Option<f64>> = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(super::ROWS_PER_STATEMENT) {
            priors.extend(
                people::table
                    .filter(people::campaign_id.eq(campaign_id))
                    .filter(people::id.eq_any(chunk))
                    .select((people::id, people::support_score))
                    .load::<(i64, Option<f64>)>(conn)?,
            );
        }
        let rows: Vec<_> = added
            .iter()
            .map(|(&person, &(sum, own))| {
                (
                    person_evidence::campaign_id.eq(campaign_id),
                    person_evidence::person_id.eq(person),
                    person_evidence::weight.eq(sum.weight),
                    person_evidence::weighted.eq(sum.weighted),
                    person_evidence::has_own_id.eq(own),
                )
            })
            .collect();
        let mut totals: Vec<(i64, i64, i64)> = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(super::ROWS_PER_STATEMENT) {
            totals.extend(on_backend!(conn, |c| diesel::insert_into(
                person_evidence::table
            )
            .values(chunk)
            .on_conflict((person_evidence::campaign_id, person_evidence::person_id))
            .do_update()
            .set((
                person_evidence::weight
                    .eq(person_evidence::weight + excluded(person_evidence::weight)),
                person_evidence::weighted
                    .eq(person_evidence::weighted + excluded(person_evidence::weighted)),
                person_evidence::has_own_id
                    .eq(person_evidence::has_own_id.or(excluded(person_evidence::has_own_id))),
            ))
            .returning((
                person_evidence::person_id,
                person_evidence::weight,
                person_evidence::weighted,
            ))
            .load::<(i64, i64, i64)>(c))?);
        }
        let mut running: HashMap<i64, Evidence> = HashMap::with_capacity(totals.len());
        for (person, weight, weighted) in totals {
            let sum = added.get(&person).map(|a| a.0).unwrap_or_default();
            let before = Evidence {
                weight: weight - sum.weight,
                weighted: weighted - sum.weighted,
            };
            running.insert(person, before);
        }
        for &(knock, person, add, rule) in &personal {
            let (Some(evidence), Some(&prior)) = (running.get_mut(&person), priors.get(&person))
            else {
                return Err(diesel::result::Error::NotFound);
            };
            let old = scores::person_score(prior, *evidence);
            evidence.weight += add.weight;
            evidence.weighted += add.weighted;
            let new = scores::person_score(prior, *evidence);
            history.push(row(Some(person), None, knock, rule, Some(old), new));
        }
    }

    let mut cells: BTreeMap<i64, CellEvidence> = BTreeMap::new();
    for &(_, cell, target) in &pooled {
        let sum = cells.entry(cell).or_default();
        sum.ids += 1;
        sum.target_sum += target;
    }
    if !cells.is_empty() {
        let rows: Vec<_> = cells
            .iter()
            .map(|(&cell, sum)| {
                (
                    cell_evidence::campaign_id.eq(campaign_id),
                    cell_evidence::cell.eq(cell),
                    cell_evidence::ids.eq(sum.ids),
                    cell_evidence::target_sum.eq(sum.target_sum),
                )
            })
            .collect();
        let mut totals: Vec<(i64, i64, i64)> = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(super::ROWS_PER_STATEMENT) {
            totals.extend(on_backend!(conn, |c| diesel::insert_into(
                cell_evidence::table
            )
            .values(chunk)
            .on_conflict((cell_evidence::campaign_id, cell_evidence::cell))
            .do_update()
            .set((
                cell_evidence::ids.eq(cell_evidence::ids + excluded(cell_evidence::ids)),
                cell_evidence::target_sum
                    .eq(cell_evidence::target_sum + excluded(cell_evidence::target_sum)),
            ))
            .returning((
                cell_evidence::cell,
                cell_evidence::ids,
                cell_evidence::target_sum
            ))
            .load::<(i64, i64, i64)>(c))?);
        }
        let mut running: HashMap<i64, CellEvidence> = HashMap::with_capacity(totals.len());
        for (cell, ids, target_sum) in totals {
            let sum = cells.get(&cell).copied().unwrap_or_default();
            running.insert(
                cell,
                CellEvidence {
                    ids: ids - sum.ids,
                    target_sum: target_sum - sum.target_sum,
                },
            );
        }
        for &(knock, cell, target) in &pooled {
            let Some(evidence) = running.get_mut(&cell) else {
                return Err(diesel::result::Error::NotFound);
            };
            let old = evidence.mean();
            evidence.ids += 1;
            evidence.target_sum += target;
            let new = evidence.mean().unwrap_or_default();
            history.push(row(None, Some(cell), knock, scores::rule::CELL, old, new));
        }
    }

    for chunk in history.chunks(super::ROWS_PER_STATEMENT) {
        on_backend!(conn, |c| diesel::insert_into(score_history::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}

/// The support ID answers of a knock: (person, answer).
pub fn support_ids_of(
    conn: &mut DbConnection,
    campaign_id: i64,
    knock_id: i64,
) -> QueryResult<Vec<(i64, i64)>> {
    Ok(knock_answers::table
        .filter(knock_answers::campaign_id.eq(campaign_id))
        .filter(knock_answers::knock_id.eq(knock_id))
        .filter(knock_answers::question_key.eq(SUPPORT_ID))
        .select((knock_answers::person_id, knock_answers::answer))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .filter_map(|(p, a)| a.parse().ok().map(|a| (p, a)))
        .collect())
}

/// Rebuilds every score of the campaign from the imported scores and all its knocks.
/// Returns (people with evidence, cells with IDs). Call inside a transaction.
pub fn recompute(conn: &mut DbConnection, campaign_id: i64) -> QueryResult<(usize, usize)> {
    let all: Vec<(i64, String, i64, i64)> = knocks::table
        .inner_join(
            doors::table.on(doors::campaign_id
                .eq(knocks::campaign_id)
                .and(doors::id.eq(knocks::door_id))),
        )
        .filter(knocks::campaign_id.eq(campaign_id))
        .order(knocks::id)
        .select((knocks::id, knocks::result, knocks::door_id, doors::cell))
        .load(conn)?;
    let mut ids_by_knock: HashMap<i64, Vec<(i64, i64)>> = HashMap::new();
    for (knock, person, answer) in knock_answers::table
        .filter(knock_answers::campaign_id.eq(campaign_id))
        .filter(knock_answers::question_key.eq(SUPPORT_ID))
        .select((
            knock_answers::knock_id,
            knock_answers::person_id,
            knock_answers::answer,
        ))
        .load::<(i64, i64, String)>(conn)?
    {
        if let Ok(a) = answer.parse() {
            ids_by_knock.entry(knock).or_default().push((person, a));
        }
    }
    let mut residents: HashMap<i64, Vec<i64>> = HashMap::new();
    for (person, door) in people::table
        .filter(people::campaign_id.eq(campaign_id))
        .select((people::id, people::door_id))
        .load::<(i64, i64)>(conn)?
    {
        residents.entry(door).or_default().push(person);
    }
    let mut by_person: BTreeMap<i64, (Evidence, bool)> = BTreeMap::new();
    let mut by_cell: BTreeMap<i64, CellEvidence> = BTreeMap::new();
    for (knock, result, door, door_cell) in all {
        let answered = ids_by_knock.remove(&knock).unwrap_or_default();
        let at_door = residents.get(&door).map(Vec::as_slice).unwrap_or(&[]);
        let (per_person, targets) = scores::knock_evidence(&result, &answered, at_door);
        for (person, add, rule) in per_person {
            let entry = by_person.entry(person).or_default();
            entry.0 = entry.0 + add;
            entry.1 |= rule == scores::rule::OWN_ID;
        }
        if let Some(cell) = pooling_cell(door_cell) {
            let entry = by_cell.entry(cell).or_default();
            for t in targets {
                entry.ids += 1;
                entry.target_sum += t;
            }
        }
    }
    by_cell.retain(|_, c| c.ids > 0);
    diesel::delete(person_evidence::table.filter(person_evidence::campaign_id.eq(campaign_id)))
        .execute(conn)?;
    diesel::delete(cell_evidence::table.filter(cell_evidence::campaign_id.eq(campaign_id)))
        .execute(conn)?;
    let person_rows: Vec<_> = by_person
        .iter()
        .map(|(person, (e, own))| {
            (
                person_evidence::campaign_id.eq(campaign_id),
                person_evidence::person_id.eq(*person),
                person_evidence::weight.eq(e.weight),
                person_evidence::weighted.eq(e.weighted),
                person_evidence::has_own_id.eq(*own),
            )
        })
        .collect();
    for chunk in person_rows.chunks(1000) {
        on_backend!(conn, |c| diesel::insert_into(person_evidence::table)
            .values(chunk)
            .execute(c))?;
    }
    let cell_rows: Vec<_> = by_cell
        .iter()
        .map(|(cell, e)| {
            (
                cell_evidence::campaign_id.eq(campaign_id),
                cell_evidence::cell.eq(*cell),
                cell_evidence::ids.eq(e.ids),
                cell_evidence::target_sum.eq(e.target_sum),
            )
        })
        .collect();
    for chunk in cell_rows.chunks(1000) {
        on_backend!(conn, |c| diesel::insert_into(cell_evidence::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok((by_person.len(), by_cell.len()))
}

/// The score each person shows now (imported prior, own evidence, cell pooling).
/// `people` holds (person id, imported score, door cell).
pub fn effective(
    conn: &mut DbConnection,
    campaign_id: i64,
    people: &[(i64, Option<f64>, i64)],
) -> QueryResult<HashMap<i64, f64>> {
    let ids: Vec<i64> = people.iter().map(|p| p.0).collect();
    let mut evidence: HashMap<i64, (Evidence, bool)> = HashMap::new();
    for chunk in ids.chunks(1000) {
        for (person, weight, weighted, own) in person_evidence::table
            .filter(person_evidence::campaign_id.eq(campaign_id))
            .filter(person_evidence::person_id.eq_any(chunk))
            .select((
                person_evidence::person_id,
                person_evidence::weight,
                person_evidence::weighted,
                person_evidence::has_own_id,
            ))
            .load::<(i64, i64, i64, bool)>(conn)?
        {
            evidence.insert(person, (Evidence { weight, weighted }, own));
        }
    }
    let mut cells: Vec<i64> = people.iter().filter_map(|p| pooling_cell(p.2)).collect();
    cells.sort_unstable();
    cells.dedup();
    let mut cell_map: HashMap<i64, CellEvidence> = HashMap::new();
    for chunk in cells.chunks(1000) {
        for (cell, ids, target_sum) in cell_evidence::table
            .filter(cell_evidence::campaign_id.eq(campaign_id))
            .filter(cell_evidence::cell.eq_any(chunk))
            .select((
                cell_evidence::cell,
                cell_evidence::ids,
                cell_evidence::target_sum,
            ))
            .load::<(i64, i64, i64)>(conn)?
        {
            cell_map.insert(cell, CellEvidence { ids, target_sum });
        }
    }
    Ok(people
        .iter()
        .filter_map(|&(id, prior, door_cell)| {
            let (e, own) = evidence.get(&id).copied().unwrap_or_default();
            let cell = pooling_cell(door_cell)
                .and_then(|c| cell_map.get(&c).copied())
                .unwrap_or_default();
            if e.weight == 0 && cell.ids == 0 {
                // No evidence: the imported score as it is (None stays unknown).
                return prior.map(|p| (id, p));
            }
            let person = scores::person_score(prior, e);
            Some((id, scores::effective_score(person, own, cell)))
        })
        .collect())
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = score_history)]
pub struct HistoryRow {
    pub id: i64,
    pub campaign_id: i64,
    pub person_id: Option<i64>,
    pub cell: Option<i64>,
    pub knock_id: Option<i64>,
    pub rule: String,
    pub old_score: Option<f64>,
    pub new_score: f64,
    pub created_at: NaiveDateTime,
}

/// A person's score changes, oldest first.
pub fn history_of(
    conn: &mut DbConnection,
    campaign_id: i64,
    person_id: i64,
) -> QueryResult<Vec<HistoryRow>> {
    score_history::table
        .filter(score_history::campaign_id.eq(campaign_id))
        .filter(score_history::person_id.eq(person_id))
        .order(score_history::id)
        .select(HistoryRow::as_select())
        .load(conn)
}

/// Every person's evidence sums (person, weight, weighted, own ID) and every cell's
/// IDs (cell, ids, target sum): the whole learned state, for comparing two states.
pub type Snapshot = (Vec<(i64, i64, i64, bool)>, Vec<(i64, i64, i64)>);

/// The campaign's learned state, ordered.
pub fn snapshot(conn: &mut DbConnection, campaign_id: i64) -> QueryResult<Snapshot> {
    let people = person_evidence::table
        .filter(person_evidence::campaign_id.eq(campaign_id))
        .order(person_evidence::person_id)
        .select((
            person_evidence::person_id,
            person_evidence::weight,
            person_evidence::weighted,
            person_evidence::has_own_id,
        ))
        .load(conn)?;
    let cells = cell_evidence::table
        .filter(cell_evidence::campaign_id.eq(campaign_id))
        .order(cell_evidence::cell)
        .select((
            cell_evidence::cell,
            cell_evidence::ids,
            cell_evidence::target_sum,
        ))
        .load(conn)?;
    Ok((people, cells))
}

/// A person's imported score and door cell, if the person is in the campaign.
pub fn person_with_cell(
    conn: &mut DbConnection,
    campaign_id: i64,
    person_id: i64,
) -> QueryResult<Option<(Option<f64>, i64)>> {
    people::table
        .inner_join(
            doors::table.on(doors::campaign_id
                .eq(people::campaign_id)
                .and(doors::id.eq(people::door_id))),
        )
        .filter(people::campaign_id.eq(campaign_id))
        .filter(people::id.eq(person_id))
        .select((people::support_score, doors::cell))
        .first(conn)
        .optional()
}
