//! Knocks and their effects: stored once per client id, and applied in the same
//! transaction to the door, the people and the walk list.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::people::on_backend;
use super::schema::{doors, knock_answers, knocks, people, questions, walk_list_stops, walk_lists};
use super::values::{Param, update_from_values};
use crate::domain::{DoorId, PersonId, ScriptId, WalkListId};
use crate::knock::KnockResult;

/// A knock to store, already checked.
pub struct NewKnock<'a> {
    pub campaign_id: i64,
    pub client_id: &'a str,
    pub user_id: i64,
    pub walk_list_id: WalkListId,
    pub door_id: DoorId,
    pub result: &'a str,
    pub notes: &'a str,
    /// The people named in the knock (spoken to, or moved/deceased).
    pub people: &'a [PersonId],
    pub script_id: Option<ScriptId>,
    pub knocked_at: NaiveDateTime,
    pub received_at: NaiveDateTime,
    pub location: Option<(f64, f64, Option<f64>)>,
    pub distance_m: Option<f64>,
    pub location_quality: &'a str,
    pub content_hash: &'a str,
    /// (person, question key, answer as JSON text).
    pub answers: Vec<(PersonId, String, String)>,
}

#[derive(Insertable)]
#[diesel(table_name = knock_answers)]
struct AnswerRow<'a> {
    campaign_id: i64,
    knock_id: i64,
    person_id: i64,
    question_key: &'a str,
    answer: &'a str,
}

/// Stores checked knocks and their answers, in one statement each. A knock whose client
/// id another request stored in the meantime is left alone (`ON CONFLICT DO NOTHING`);
/// the answer holds (client id, new id) of the knocks stored here, in no set order.
pub fn insert_many(conn: &mut DbConnection, batch: &[NewKnock]) -> QueryResult<Vec<(String, i64)>> {
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<_> = batch
        .iter()
        .map(|k| {
            (
                knocks::campaign_id.eq(k.campaign_id),
                knocks::client_id.eq(k.client_id),
                knocks::user_id.eq(k.user_id),
                knocks::walk_list_id.eq(k.walk_list_id.get()),
                knocks::door_id.eq(k.door_id.get()),
                knocks::result.eq(k.result),
                knocks::notes.eq(k.notes),
                knocks::script_id.eq(k.script_id.map(ScriptId::get)),
                knocks::people.eq(serde_json::to_string(k.people).unwrap_or_else(|_| "[]".into())),
                knocks::knocked_at.eq(k.knocked_at),
                knocks::received_at.eq(k.received_at),
                knocks::lat.eq(k.location.map(|l| l.0)),
                knocks::lng.eq(k.location.map(|l| l.1)),
                knocks::accuracy_m.eq(k.location.and_then(|l| l.2)),
                knocks::distance_m.eq(k.distance_m),
                knocks::location_quality.eq(k.location_quality),
                knocks::content_hash.eq(k.content_hash),
            )
        })
        .collect();
    let stored: Vec<(String, i64)> = on_backend!(conn, |c| diesel::insert_into(knocks::table)
        .values(&rows)
        .on_conflict((knocks::campaign_id, knocks::client_id))
        .do_nothing()
        .returning((knocks::client_id, knocks::id))
        .load(c))?;
    let ids: HashMap<&str, i64> = stored.iter().map(|(c, id)| (c.as_str(), *id)).collect();
    let answers: Vec<AnswerRow> = batch
        .iter()
        .filter_map(|k| ids.get(k.client_id).map(|&id| (k, id)))
        .flat_map(|(k, knock_id)| {
            k.answers
                .iter()
                .map(move |(person, key, answer)| AnswerRow {
                    campaign_id: k.campaign_id,
                    knock_id,
                    person_id: person.get(),
                    question_key: key,
                    answer,
                })
        })
        .collect();
    for chunk in answers.chunks(super::ROWS_PER_STATEMENT) {
        on_backend!(conn, |c| diesel::insert_into(knock_answers::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(stored)
}

/// The knocks already stored under these client ids: (client id, id, content hash).
pub fn stored_by_client_ids(
    conn: &mut DbConnection,
    campaign_id: i64,
    client_ids: &[&str],
) -> QueryResult<Vec<(String, i64, String)>> {
    knocks::table
        .filter(knocks::campaign_id.eq(campaign_id))
        .filter(knocks::client_id.eq_any(client_ids))
        .select((knocks::client_id, knocks::id, knocks::content_hash))
        .load(conn)
}

/// (door, lat, lng, resolution-15 cell) of those of the doors that are in the campaign.
pub fn door_locations(
    conn: &mut DbConnection,
    campaign_id: i64,
    door_ids: &[i64],
) -> QueryResult<Vec<(i64, f64, f64, i64)>> {
    doors::table
        .filter(doors::campaign_id.eq(campaign_id))
        .filter(doors::id.eq_any(door_ids))
        .select((doors::id, doors::lat, doors::lng, doors::cell))
        .load(conn)
}

/// The stops among these lists and doors: (list, door, the list it moved to).
pub fn stops_among(
    conn: &mut DbConnection,
    campaign_id: i64,
    list_ids: &[i64],
    door_ids: &[i64],
) -> QueryResult<Vec<(i64, i64, Option<i64>)>> {
    walk_list_stops::table
        .filter(walk_list_stops::campaign_id.eq(campaign_id))
        .filter(walk_list_stops::walk_list_id.eq_any(list_ids))
        .filter(walk_list_stops::door_id.eq_any(door_ids))
        .select((
            walk_list_stops::walk_list_id,
            walk_list_stops::door_id,
            walk_list_stops::moved_to,
        ))
        .load(conn)
}

/// (door, person) for everyone living at these doors.
pub fn residents_of(
    conn: &mut DbConnection,
    campaign_id: i64,
    door_ids: &[i64],
) -> QueryResult<Vec<(i64, i64)>> {
    people::table
        .filter(people::campaign_id.eq(campaign_id))
        .filter(people::door_id.eq_any(door_ids))
        .order(people::id)
        .select((people::door_id, people::id))
        .load(conn)
}

/// Every question of the campaign, retired ones too (a phone that got a list before a
/// question was retired may still answer it): (key, kind, answers JSON).
pub fn answerable_questions(
    conn: &mut DbConnection,
    campaign_id: i64,
) -> QueryResult<Vec<(String, String, String)>> {
    questions::table
        .filter(questions::campaign_id.eq(campaign_id))
        .order(questions::id)
        .select((questions::key, questions::kind, questions::answers))
        .load(conn)
}

/// What a knock changes besides itself.
pub struct Effects<'a> {
    /// The list whose stop the knock counts on: the door's list now, if it was moved
    /// to another since the phone got it.
    pub walk_list_id: WalkListId,
    pub door_id: DoorId,
    pub result: KnockResult,
    pub finished: bool,
    pub knocked_at: NaiveDateTime,
    /// People spoken to (their last contact moves).
    pub contacted: &'a [PersonId],
    /// People to flag `moved` or `deceased` with this result.
    pub flagged: &'a [PersonId],
}

/// Applies the effects of a batch's stored knocks (in the order given) on their doors,
/// people and stops, a handful of statements for the whole batch. Knocks may arrive
/// late and out of order, so every "last" value only moves forward in knock time, and
/// "finished" never goes back. The lists' counts follow with [`refresh_progress`].
pub fn apply_effects(
    conn: &mut DbConnection,
    campaign_id: i64,
    effects: &[Effects],
) -> QueryResult<()> {
    let now = super::now();
    let mut door_last: BTreeMap<i64, NaiveDateTime> = BTreeMap::new();
    let mut person_last: BTreeMap<i64, NaiveDateTime> = BTreeMap::new();
    let mut hostile: BTreeSet<i64> = BTreeSet::new();
    let (mut moved, mut deceased): (BTreeSet<i64>, BTreeSet<i64>) = Default::default();
    // (list, door) → the stop's last result: the latest knock, the later one on a tie.
    let mut stop_last: BTreeMap<(i64, i64), (KnockResult, NaiveDateTime)> = BTreeMap::new();
    let mut finished: BTreeSet<(i64, i64)> = BTreeSet::new();
    let later = |map: &mut BTreeMap<i64, NaiveDateTime>, key, at| {
        let last = map.entry(key).or_insert(at);
        *last = (*last).max(at);
    };
    for e in effects {
        let door = e.door_id.get();
        later(&mut door_last, door, e.knocked_at);
        for &p in e.contacted {
            later(&mut person_last, p.get(), e.knocked_at);
        }
        match e.result {
            KnockResult::Hostile => {
                hostile.insert(door);
            }
            KnockResult::Moved => moved.extend(e.flagged.iter().map(|p| p.get())),
            KnockResult::Deceased => deceased.extend(e.flagged.iter().map(|p| p.get())),
            _ => {}
        }
        let stop = (e.walk_list_id.get(), door);
        let last = stop_last.entry(stop).or_insert((e.result, e.knocked_at));
        if e.knocked_at >= last.1 {
            *last = (e.result, e.knocked_at);
        }
        if e.finished {
            finished.insert(stop);
        }
    }

    // One statement per table, each row's changes folded into it, so a batch locks
    // every row it touches in one go: a second statement for the flags would lock the
    // rows the first one skipped later, out of order, and two batches could deadlock.
    let moves = |old: &str| format!("({old} IS NULL OR {old} < v.column2)");
    let door_moves = moves("doors.last_contact_at");
    update_from_values(
        conn,
        &format!(
            "UPDATE doors SET
                last_contact_at = CASE WHEN {door_moves} THEN v.column2 ELSE doors.last_contact_at END,
                updated_at = CASE WHEN {door_moves} THEN {{now}} ELSE doors.updated_at END,
                do_not_walk = (doors.do_not_walk OR v.column3)
               FROM (VALUES {{values}}) AS v
              WHERE doors.campaign_id = {{campaign}} AND doors.id = v.column1"
        ),
        (campaign_id, now),
        door_last.iter().map(|(&door, &at)| {
            vec![
                Param::Int(door),
                Param::Time(Some(at)),
                Param::Bool(hostile.contains(&door)),
            ]
        }),
    )?;
    let people: BTreeSet<i64> = person_last
        .keys()
        .chain(&moved)
        .chain(&deceased)
        .copied()
        .collect();
    let person_moves = moves("people.last_contact_at");
    update_from_values(
        conn,
        &format!(
            "UPDATE people SET
                last_contact_at = CASE WHEN v.column2 IS NOT NULL AND {person_moves}
                                       THEN v.column2 ELSE people.last_contact_at END,
                moved = (people.moved OR v.column3),
                deceased = (people.deceased OR v.column4),
                updated_at = CASE WHEN v.column3 OR v.column4 THEN {{now}}
                                  ELSE people.updated_at END
               FROM (VALUES {{values}}) AS v
              WHERE people.campaign_id = {{campaign}} AND people.id = v.column1"
        ),
        (campaign_id, now),
        people.iter().map(|&person| {
            vec![
                Param::Int(person),
                Param::Time(person_last.get(&person).copied()),
                Param::Bool(moved.contains(&person)),
                Param::Bool(deceased.contains(&person)),
            ]
        }),
    )?;
    let stop_moves = "(walk_list_stops.last_knocked_at IS NULL
                       OR walk_list_stops.last_knocked_at <= v.column4)";
    update_from_values(
        conn,
        &format!(
            "UPDATE walk_list_stops SET
                last_result = CASE WHEN {stop_moves} THEN v.column3
                                   ELSE walk_list_stops.last_result END,
                last_knocked_at = CASE WHEN {stop_moves} THEN v.column4
                                       ELSE walk_list_stops.last_knocked_at END,
                finished = (walk_list_stops.finished OR v.column5)
               FROM (VALUES {{values}}) AS v
              WHERE walk_list_stops.campaign_id = {{campaign}}
                AND walk_list_stops.walk_list_id = v.column1
                AND walk_list_stops.door_id = v.column2"
        ),
        (campaign_id, now),
        stop_last.iter().map(|(&(list, door), &(result, at))| {
            vec![
                Param::Int(list),
                Param::Int(door),
                Param::Text(result.code()),
                Param::Time(Some(at)),
                Param::Bool(finished.contains(&(list, door))),
            ]
        }),
    )?;
    Ok(())
}

/// Recounts the list's knocked doors; a list whose every door is finished is done, and
/// its doors go back to the pool. The list row is locked first (by bumping its
/// version), so two knocks finishing its last doors at once on PostgreSQL count one
/// after the other, and the second sees the first's finished stop.
pub fn refresh_progress(
    conn: &mut DbConnection,
    campaign_id: i64,
    list_id: i64,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let list = walk_lists::table
        .filter(walk_lists::campaign_id.eq(campaign_id))
        .filter(walk_lists::id.eq(list_id));
    diesel::update(list)
        .set((
            walk_lists::version.eq(walk_lists::version + 1),
            walk_lists::updated_at.eq(now),
        ))
        .execute(conn)?;
    let stops = walk_list_stops::table
        .filter(walk_list_stops::campaign_id.eq(campaign_id))
        .filter(walk_list_stops::walk_list_id.eq(list_id))
        .filter(walk_list_stops::moved_to.is_null());
    let knocked: i64 = stops
        .filter(walk_list_stops::last_result.is_not_null())
        .count()
        .get_result(conn)?;
    let open: i64 = stops
        .filter(walk_list_stops::finished.eq(false))
        .count()
        .get_result(conn)?;
    let finished: i64 = stops
        .filter(walk_list_stops::finished.eq(true))
        .count()
        .get_result(conn)?;
    let contacts: i64 = knocks::table
        .filter(knocks::campaign_id.eq(campaign_id))
        .filter(knocks::walk_list_id.eq(list_id))
        .filter(knocks::result.eq(KnockResult::Contacted.code()))
        .select(diesel::dsl::count(knocks::door_id).aggregate_distinct())
        .first(conn)?;
    diesel::update(list)
        .set((
            walk_lists::knocked_doors.eq(knocked),
            walk_lists::finished_doors.eq(finished),
            walk_lists::contacts.eq(contacts),
        ))
        .execute(conn)?;
    if open == 0 {
        let n = diesel::update(
            walk_lists::table
                .filter(walk_lists::campaign_id.eq(campaign_id))
                .filter(walk_lists::id.eq(list_id))
                .filter(walk_lists::state.eq(crate::walk::Stored::Active.as_str())),
        )
        .set(walk_lists::state.eq(crate::walk::Stored::Done.as_str()))
        .execute(conn)?;
        if n > 0 {
            diesel::update(stops)
                .set(walk_list_stops::live.eq(false))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Whether any knock was made on the list.
pub fn any_on_list(conn: &mut DbConnection, campaign_id: i64, list_id: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        knocks::table
            .filter(knocks::campaign_id.eq(campaign_id))
            .filter(knocks::walk_list_id.eq(list_id)),
    ))
    .get_result(conn)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = questions)]
pub struct StoredQuestion {
    pub id: i64,
    pub campaign_id: i64,
    pub key: String,
    pub kind: String,
    pub text: String,
    pub answers: String,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub version: i64,
}

pub fn list_questions(
    conn: &mut DbConnection,
    campaign_id: i64,
) -> QueryResult<Vec<StoredQuestion>> {
    questions::table
        .filter(questions::campaign_id.eq(campaign_id))
        .order(questions::id)
        .select(StoredQuestion::as_select())
        .load(conn)
}

pub fn create_question(
    conn: &mut DbConnection,
    campaign_id: i64,
    key: &str,
    kind: &str,
    text: &str,
    answers: &str,
) -> QueryResult<StoredQuestion> {
    diesel::insert_into(questions::table)
        .values((
            questions::campaign_id.eq(campaign_id),
            questions::key.eq(key),
            questions::kind.eq(kind),
            questions::text.eq(text),
            questions::answers.eq(answers),
            questions::active.eq(true),
            questions::created_at.eq(super::now()),
        ))
        .returning(questions::all_columns)
        .get_result(conn)
}

/// The campaign's stored question with this key, if any.
pub fn question(
    conn: &mut DbConnection,
    campaign_id: i64,
    key: &str,
) -> QueryResult<Option<StoredQuestion>> {
    questions::table
        .filter(questions::campaign_id.eq(campaign_id))
        .filter(questions::key.eq(key))
        .select(StoredQuestion::as_select())
        .first(conn)
        .optional()
}

/// Sets a question's text and answers and whether it is asked; the question takes the
/// campaign's next question version (walk-list ETags change with it).
pub fn update_question(
    conn: &mut DbConnection,
    campaign_id: i64,
    id: i64,
    text: &str,
    answers: &str,
    active: bool,
) -> QueryResult<StoredQuestion> {
    let last: Option<i64> = questions::table
        .filter(questions::campaign_id.eq(campaign_id))
        .select(diesel::dsl::max(questions::version))
        .first(conn)?;
    diesel::update(
        questions::table
            .filter(questions::campaign_id.eq(campaign_id))
            .filter(questions::id.eq(id)),
    )
    .set((
        questions::text.eq(text),
        questions::answers.eq(answers),
        questions::active.eq(active),
        questions::version.eq(last.unwrap_or(0) + 1),
    ))
    .returning(questions::all_columns)
    .get_result(conn)
}

/// The answers given in these knocks: (knock, person, question key, answer JSON).
pub fn answers_of(
    conn: &mut DbConnection,
    campaign_id: i64,
    knock_ids: &[i64],
) -> QueryResult<Vec<(i64, i64, String, String)>> {
    let mut out = Vec::new();
    for chunk in knock_ids.chunks(1000) {
        out.extend(
            knock_answers::table
                .filter(knock_answers::campaign_id.eq(campaign_id))
                .filter(knock_answers::knock_id.eq_any(chunk))
                .order((knock_answers::knock_id, knock_answers::person_id))
                .select((
                    knock_answers::knock_id,
                    knock_answers::person_id,
                    knock_answers::question_key,
                    knock_answers::answer,
                ))
                .load::<(i64, i64, String, String)>(conn)?,
        );
    }
    Ok(out)
}

/// The knocks at a door, oldest first: (id, result, knocked_at, people named as JSON).
pub fn at_door(
    conn: &mut DbConnection,
    campaign_id: i64,
    door_id: i64,
) -> QueryResult<Vec<(i64, String, NaiveDateTime, String)>> {
    knocks::table
        .filter(knocks::campaign_id.eq(campaign_id))
        .filter(knocks::door_id.eq(door_id))
        .order((knocks::knocked_at, knocks::id))
        .select((
            knocks::id,
            knocks::result,
            knocks::knocked_at,
            knocks::people,
        ))
        .load(conn)
}
