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
    score_rebuilds,
};
use crate::knock::SUPPORT_ID;
use crate::scores::replay::{self, Step, Subject};
use crate::scores::{self, CellEvidence, Delta, Kind, Params, PersonEvidence, Tally};
use crate::spatial::cells;

/// The resolution-8 cell (as stored) of a door's resolution-15 cell.
pub fn pooling_cell(door_cell: i64) -> Option<i64> {
    cells::parent_of(door_cell, scores::CELL_RESOLUTION)
}

/// What the scores need to know of one stored knock.
#[derive(Debug, Clone, Copy)]
pub struct KnockFacts<'a> {
    pub knock_id: i64,
    /// The door's resolution-15 cell.
    pub door_cell: i64,
    pub result: &'a str,
    /// (person, support ID answer) of the people who gave one; each lives at the door.
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

/// The prior logits (fixed point) of the given people of a campaign.
fn priors_of(
    conn: &mut DbConnection,
    campaign_id: i64,
    ids: &[i64],
) -> QueryResult<HashMap<i64, i64>> {
    let mut priors = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(super::ROWS_PER_STATEMENT) {
        for (id, imported) in people::table
            .filter(people::campaign_id.eq(campaign_id))
            .filter(people::id.eq_any(chunk))
            .select((people::id, people::support_score))
            .load::<(i64, Option<f64>)>(conn)?
        {
            priors.insert(id, scores::prior_logit(imported));
        }
    }
    Ok(priors)
}

/// Each person's evidence, for the given people (absent: none yet).
fn evidence_of(
    conn: &mut DbConnection,
    campaign_id: i64,
    ids: &[i64],
) -> QueryResult<HashMap<i64, PersonEvidence>> {
    let mut out: HashMap<i64, PersonEvidence> = HashMap::new();
    for chunk in ids.chunks(super::ROWS_PER_STATEMENT) {
        for (person, kind, own, mates, mates_sum) in person_evidence::table
            .filter(person_evidence::campaign_id.eq(campaign_id))
            .filter(person_evidence::person_id.eq_any(chunk))
            .select((
                person_evidence::person_id,
                person_evidence::kind,
                person_evidence::own,
                person_evidence::mates,
                person_evidence::mates_sum,
            ))
            .load::<(i64, i64, i64, i64, i64)>(conn)?
        {
            if let Some(kind) = Kind::from_code(kind) {
                out.entry(person).or_default().add(&Delta {
                    person,
                    kind,
                    own,
                    mates,
                    mates_sum,
                });
            }
        }
    }
    Ok(out)
}

/// Every cell of the campaign with evidence, by cell.
fn all_cells(
    conn: &mut DbConnection,
    campaign_id: i64,
) -> QueryResult<BTreeMap<i64, CellEvidence>> {
    let mut cells: BTreeMap<i64, CellEvidence> = BTreeMap::new();
    for (cell, kind, n, sum, sum_sq) in cell_evidence::table
        .filter(cell_evidence::campaign_id.eq(campaign_id))
        .select((
            cell_evidence::cell,
            cell_evidence::kind,
            cell_evidence::n,
            cell_evidence::sum,
            cell_evidence::sum_sq,
        ))
        .load::<(i64, i64, i64, i64, i64)>(conn)?
    {
        if let Some(kind) = Kind::from_code(kind) {
            cells
                .entry(cell)
                .or_default()
                .add(kind, Tally { n, sum, sum_sq });
        }
    }
    Ok(cells)
}

/// The evidence of a batch of knocks, in knock order: per person (knock, change) and per
/// cell (knock, cell, kind, tally).
type BatchEvidence = (Vec<(i64, Delta)>, Vec<(i64, i64, Kind, Tally)>);

fn batch_evidence(knocks: &[KnockFacts], priors: &HashMap<i64, i64>) -> BatchEvidence {
    let mut personal = Vec::new();
    let mut pooled = Vec::new();
    for k in knocks {
        let residents: Vec<(i64, i64)> = k
            .residents
            .iter()
            .filter_map(|p| priors.get(p).map(|&l| (*p, l)))
            .collect();
        let answered: Vec<(i64, i64, i64)> = k
            .answered
            .iter()
            .filter_map(|&(p, a)| priors.get(&p).map(|&l| (p, a, l)))
            .collect();
        let (deltas, cell) = scores::knock_evidence(k.result, &answered, &residents);
        personal.extend(deltas.into_iter().map(|d| (k.knock_id, d)));
        if let Some(c) = pooling_cell(k.door_cell) {
            pooled.extend(
                cell.into_iter()
                    .map(|(kind, prior)| (k.knock_id, c, kind, Tally::one(prior))),
            );
        }
    }
    (personal, pooled)
}

/// Adds the evidence of a batch of stored knocks and writes a history row, in knock
/// order, for every score each knock moves. Called once per batch, in its transaction,
/// after the knocks were stored, so a re-sent knock never counts twice.
///
/// Each (person, kind) and (cell, kind) gets one upsert for the whole batch, adding the
/// batch's sums to the stored ones (`n = n + added`, so concurrent batches on
/// PostgreSQL both count). The history replays the batch from the state before it (read
/// back after the upserts, minus the batch), so each knock gets its old and new score as
/// if the knocks had come one by one. Rows are upserted in key order, so two batches on
/// PostgreSQL lock shared rows in the same order and cannot deadlock on them; cells go
/// last, as many batches share them.
///
/// A person's history records the *personal* score (imported score, own and housemates'
/// evidence, without the cell shift) under the model's defaults; a cell's records its
/// mean residual.
pub fn apply_knocks(
    conn: &mut DbConnection,
    campaign_id: i64,
    now: NaiveDateTime,
    knocks: &[KnockFacts],
) -> QueryResult<()> {
    let mut everyone: Vec<i64> = knocks
        .iter()
        .flat_map(|k| k.residents.iter().copied())
        .collect();
    everyone.sort_unstable();
    everyone.dedup();
    let priors = priors_of(conn, campaign_id, &everyone)?;
    let (personal, pooled) = batch_evidence(knocks, &priors);
    // The history is kept with the model's defaults: what the campaign has learned moves
    // every score later, and `explain` shows by how much.
    let defaults = Params::default();
    let mut history = Vec::with_capacity(personal.len() + pooled.len());
    let row = |step: &Step| {
        let (person_id, cell) = match step.subject {
            Subject::Person(p) => (Some(p), None),
            Subject::Cell(c) => (None, Some(c)),
        };
        NewHistoryRow {
            campaign_id,
            person_id,
            cell,
            knock_id: Some(step.knock_id),
            rule: step.rule,
            old_score: step.old,
            new_score: step.new,
            created_at: now,
        }
    };

    let added = replay::sum_people(&personal);
    if !added.is_empty() {
        let rows: Vec<_> = added
            .values()
            .map(|d| {
                (
                    person_evidence::campaign_id.eq(campaign_id),
                    person_evidence::person_id.eq(d.person),
                    person_evidence::kind.eq(d.kind.code()),
                    person_evidence::own.eq(d.own),
                    person_evidence::mates.eq(d.mates),
                    person_evidence::mates_sum.eq(d.mates_sum),
                )
            })
            .collect();
        for chunk in rows.chunks(super::ROWS_PER_STATEMENT) {
            on_backend!(conn, |c| diesel::insert_into(person_evidence::table)
                .values(chunk)
                .on_conflict((
                    person_evidence::campaign_id,
                    person_evidence::person_id,
                    person_evidence::kind,
                ))
                .do_update()
                .set((
                    person_evidence::own.eq(person_evidence::own + excluded(person_evidence::own)),
                    person_evidence::mates
                        .eq(person_evidence::mates + excluded(person_evidence::mates)),
                    person_evidence::mates_sum
                        .eq(person_evidence::mates_sum + excluded(person_evidence::mates_sum)),
                ))
                .execute(c))?;
        }
        let mut touched: Vec<i64> = added.keys().map(|k| k.0).collect();
        touched.dedup();
        let after = evidence_of(conn, campaign_id, &touched)?;
        let steps = replay::replay_people(after, &added, &priors, &personal, &defaults)
            .ok_or(diesel::result::Error::NotFound)?;
        history.extend(steps.iter().map(row));
    }

    let cells = replay::sum_cells(&pooled);
    if !cells.is_empty() {
        let rows: Vec<_> = cells
            .iter()
            .map(|(&(cell, kind), t)| {
                (
                    cell_evidence::campaign_id.eq(campaign_id),
                    cell_evidence::cell.eq(cell),
                    cell_evidence::kind.eq(kind.code()),
                    cell_evidence::n.eq(t.n),
                    cell_evidence::sum.eq(t.sum),
                    cell_evidence::sum_sq.eq(t.sum_sq),
                )
            })
            .collect();
        let mut totals: Vec<(i64, i64, i64, i64, i64)> = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(super::ROWS_PER_STATEMENT) {
            totals.extend(on_backend!(conn, |c| diesel::insert_into(
                cell_evidence::table
            )
            .values(chunk)
            .on_conflict((
                cell_evidence::campaign_id,
                cell_evidence::cell,
                cell_evidence::kind
            ))
            .do_update()
            .set((
                cell_evidence::n.eq(cell_evidence::n + excluded(cell_evidence::n)),
                cell_evidence::sum.eq(cell_evidence::sum + excluded(cell_evidence::sum)),
                cell_evidence::sum_sq.eq(cell_evidence::sum_sq + excluded(cell_evidence::sum_sq)),
            ))
            .returning((
                cell_evidence::cell,
                cell_evidence::kind,
                cell_evidence::n,
                cell_evidence::sum,
                cell_evidence::sum_sq,
            ))
            .load::<(i64, i64, i64, i64, i64)>(c))?);
        }
        // Only the kinds this batch touched come back: the residual mean in the history
        // is over those kinds' totals before and after, which is what the knock moved.
        let after: Vec<(i64, Kind, Tally)> = totals
            .into_iter()
            .filter_map(|(cell, kind, n, sum, sum_sq)| {
                Kind::from_code(kind).map(|kind| (cell, kind, Tally { n, sum, sum_sq }))
            })
            .collect();
        let steps = replay::replay_cells(&after, &cells, &pooled, &defaults)
            .ok_or(diesel::result::Error::NotFound)?;
        history.extend(steps.iter().map(row));
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
/// Returns (people with evidence, cells with evidence). Call inside a transaction.
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
    let mut priors: HashMap<i64, i64> = HashMap::new();
    for (person, door, imported) in people::table
        .filter(people::campaign_id.eq(campaign_id))
        .select((people::id, people::door_id, people::support_score))
        .load::<(i64, i64, Option<f64>)>(conn)?
    {
        residents.entry(door).or_default().push(person);
        priors.insert(person, scores::prior_logit(imported));
    }
    let mut by_person: BTreeMap<(i64, Kind), Delta> = BTreeMap::new();
    let mut by_cell: BTreeMap<(i64, Kind), Tally> = BTreeMap::new();
    for (knock, result, door, door_cell) in all {
        let answered = ids_by_knock.remove(&knock).unwrap_or_default();
        let at_door = residents.get(&door).map(Vec::as_slice).unwrap_or(&[]);
        let facts = KnockFacts {
            knock_id: knock,
            door_cell,
            result: &result,
            answered: &answered,
            residents: at_door,
        };
        let (personal, pooled) = batch_evidence(&[facts], &priors);
        replay::add_people(&mut by_person, &personal);
        replay::add_cells(&mut by_cell, &pooled);
    }
    diesel::delete(person_evidence::table.filter(person_evidence::campaign_id.eq(campaign_id)))
        .execute(conn)?;
    diesel::delete(cell_evidence::table.filter(cell_evidence::campaign_id.eq(campaign_id)))
        .execute(conn)?;
    let person_rows: Vec<_> = by_person
        .values()
        .map(|d| {
            (
                person_evidence::campaign_id.eq(campaign_id),
                person_evidence::person_id.eq(d.person),
                person_evidence::kind.eq(d.kind.code()),
                person_evidence::own.eq(d.own),
                person_evidence::mates.eq(d.mates),
                person_evidence::mates_sum.eq(d.mates_sum),
            )
        })
        .collect();
    for chunk in person_rows.chunks(super::ROWS_PER_STATEMENT) {
        on_backend!(conn, |c| diesel::insert_into(person_evidence::table)
            .values(chunk)
            .execute(c))?;
    }
    let cell_rows: Vec<_> = by_cell
        .iter()
        .map(|(&(cell, kind), t)| {
            (
                cell_evidence::campaign_id.eq(campaign_id),
                cell_evidence::cell.eq(cell),
                cell_evidence::kind.eq(kind.code()),
                cell_evidence::n.eq(t.n),
                cell_evidence::sum.eq(t.sum),
                cell_evidence::sum_sq.eq(t.sum_sq),
            )
        })
        .collect();
    for chunk in cell_rows.chunks(super::ROWS_PER_STATEMENT) {
        on_backend!(conn, |c| diesel::insert_into(cell_evidence::table)
            .values(chunk)
            .execute(c))?;
    }
    let people_with_evidence = by_person
        .keys()
        .map(|k| k.0)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let cells_with_evidence = by_cell
        .keys()
        .map(|k| k.0)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    Ok((people_with_evidence, cells_with_evidence))
}

/// Rebuilds the scores of every campaign queued for it (by a migration that changed the
/// model), once: the server that removes a campaign's queue row rebuilds it, in the same
/// transaction, so servers starting together never rebuild twice.
pub fn run_queued_rebuilds(conn: &mut DbConnection) -> QueryResult<Vec<i64>> {
    let queued: Vec<i64> = score_rebuilds::table
        .select(score_rebuilds::campaign_id)
        .order(score_rebuilds::campaign_id)
        .load(conn)?;
    let mut done = Vec::new();
    for campaign_id in queued {
        let rebuilt = super::write_transaction(conn, |conn| {
            let claimed = diesel::delete(
                score_rebuilds::table.filter(score_rebuilds::campaign_id.eq(campaign_id)),
            )
            .execute(conn)?;
            if claimed == 1 {
                recompute(conn, campaign_id)?;
            }
            Ok::<_, diesel::result::Error>(claimed == 1)
        })?;
        if rebuilt {
            done.push(campaign_id);
        }
    }
    Ok(done)
}

/// What the campaign's cells teach now (see [`scores::Params`]), with every cell's
/// evidence. Reads every cell of the campaign that has evidence.
pub fn model(
    conn: &mut DbConnection,
    campaign_id: i64,
) -> QueryResult<(Params, BTreeMap<i64, CellEvidence>)> {
    let cells = all_cells(conn, campaign_id)?;
    let list: Vec<CellEvidence> = cells.values().copied().collect();
    Ok((Params::learn(&list), cells))
}

/// How one person's score is made.
#[derive(Debug, Clone, Copy)]
pub struct Explained {
    /// Imported score, own and housemates' evidence, without the cell (as in the history).
    pub personal: f64,
    /// The cell's shift (a logit).
    pub cell_shift: f64,
    /// The score shown.
    pub score: f64,
    pub params: Params,
}

/// The score each person shows now (imported prior, cell shift, household and own
/// evidence; see [`scores::current`]). `people` holds (person id, imported score, door
/// cell).
pub fn effective(
    conn: &mut DbConnection,
    campaign_id: i64,
    people: &[(i64, Option<f64>, i64)],
) -> QueryResult<HashMap<i64, f64>> {
    Ok(explain(conn, campaign_id, people)?
        .into_iter()
        .filter_map(|(id, e)| e.map(|e| (id, e.score)))
        .collect())
}

/// [`effective`] for people given with their door (person id, imported score, door id).
pub fn effective_at_doors(
    conn: &mut DbConnection,
    campaign_id: i64,
    people: &[(i64, Option<f64>, i64)],
) -> QueryResult<HashMap<i64, f64>> {
    let mut door_ids: Vec<i64> = people.iter().map(|p| p.2).collect();
    door_ids.sort_unstable();
    door_ids.dedup();
    let mut cells: HashMap<i64, i64> = HashMap::with_capacity(door_ids.len());
    for chunk in door_ids.chunks(super::ROWS_PER_STATEMENT) {
        cells.extend(
            doors::table
                .filter(doors::campaign_id.eq(campaign_id))
                .filter(doors::id.eq_any(chunk))
                .select((doors::id, doors::cell))
                .load::<(i64, i64)>(conn)?,
        );
    }
    let located: Vec<(i64, Option<f64>, i64)> = people
        .iter()
        .filter_map(|&(id, imported, door)| cells.get(&door).map(|&c| (id, imported, c)))
        .collect();
    effective(conn, campaign_id, &located)
}

/// [`effective`], with how each score is made (`None`: no score at all).
pub fn explain(
    conn: &mut DbConnection,
    campaign_id: i64,
    people: &[(i64, Option<f64>, i64)],
) -> QueryResult<HashMap<i64, Option<Explained>>> {
    let model = model(conn, campaign_id)?;
    explain_with(conn, campaign_id, people, &model)
}

/// [`effective`] under a model read once (see [`model`]): for reading many pages of
/// people, as an export does.
pub fn effective_with(
    conn: &mut DbConnection,
    campaign_id: i64,
    people: &[(i64, Option<f64>, i64)],
    model: &(Params, BTreeMap<i64, CellEvidence>),
) -> QueryResult<HashMap<i64, f64>> {
    Ok(explain_with(conn, campaign_id, people, model)?
        .into_iter()
        .filter_map(|(id, e)| e.map(|e| (id, e.score)))
        .collect())
}

fn explain_with(
    conn: &mut DbConnection,
    campaign_id: i64,
    people: &[(i64, Option<f64>, i64)],
    (params, cells): &(Params, BTreeMap<i64, CellEvidence>),
) -> QueryResult<HashMap<i64, Option<Explained>>> {
    let params = *params;
    let ids: Vec<i64> = people.iter().map(|p| p.0).collect();
    let evidence = evidence_of(conn, campaign_id, &ids)?;
    Ok(people
        .iter()
        .map(|&(id, imported, door_cell)| {
            let e = evidence.get(&id).copied().unwrap_or_default();
            let pull = pooling_cell(door_cell)
                .and_then(|c| cells.get(&c))
                .map(|c| params.pull(c));
            let explained = scores::current(&params, imported, &e, pull).map(|score| Explained {
                personal: scores::current(&params, imported, &e, None).unwrap_or(score),
                cell_shift: pull.map_or(0.0, |p| p.shift),
                score,
                params,
            });
            (id, explained)
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

/// Every person's evidence (person, kind, own, mates, Σ mates' logits) and every cell's
/// (cell, kind, n, Σ logits, Σ squares): the whole learned state, for comparing two states.
pub type Snapshot = (
    Vec<(i64, i64, i64, i64, i64)>,
    Vec<(i64, i64, i64, i64, i64)>,
);

/// The campaign's learned state, ordered.
pub fn snapshot(conn: &mut DbConnection, campaign_id: i64) -> QueryResult<Snapshot> {
    let people = person_evidence::table
        .filter(person_evidence::campaign_id.eq(campaign_id))
        .order((person_evidence::person_id, person_evidence::kind))
        .select((
            person_evidence::person_id,
            person_evidence::kind,
            person_evidence::own,
            person_evidence::mates,
            person_evidence::mates_sum,
        ))
        .load(conn)?;
    let cells = cell_evidence::table
        .filter(cell_evidence::campaign_id.eq(campaign_id))
        .order((cell_evidence::cell, cell_evidence::kind))
        .select((
            cell_evidence::cell,
            cell_evidence::kind,
            cell_evidence::n,
            cell_evidence::sum,
            cell_evidence::sum_sq,
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
