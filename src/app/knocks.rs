//! Knock sync: phones upload what happened at each door, in batches, often late and
//! twice. Every knock gets its own answer, and one bad knock never fails the batch.
//!
//! The path of a batch: parse each knock on its own; read what the batch's checks need
//! in a few queries ([`Known::read`]); check each knock against that, without the store
//! ([`check`], unit-tested below); store the accepted ones with their effects, scores
//! and tallies in one transaction, retried whole when the store was only busy.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::NaiveDateTime;
use serde::Serialize;
use serde_json::{Value, json};

use super::{Actor, AppError};
use crate::db::knocks::{Effects, NewKnock};
use crate::db::{self, DbConnection, DbPool, QueryError, StoreError};
use crate::domain::{DoorId, KnockId, PersonId, Role, ScriptId, TurfId, WalkListId, ids};
use crate::knock::{self, KnockInput, KnockResult, LocationQuality, Question, QuestionKind};
use crate::progress::{CountedKnock, TallyKey};
use crate::routing;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KnockStatus {
    Created,
    Duplicate,
    Conflict,
    Rejected,
}

#[derive(Debug, Serialize)]
pub struct KnockOutcome {
    pub index: usize,
    pub client_id: Option<String>,
    pub status: KnockStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub knock_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The door, for every knock that named one (a knock for several doors answers
    /// once per door).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub door_id: Option<i64>,
}

/// The answer when the database kept aborting the batch (deadlocks) even after retries.
const BUSY: &str =
    "the database was too busy to store this batch; nothing of it was stored; send it again";

/// How often a batch the store aborted as a whole (deadlock, serialisation failure) is
/// run again: nothing of it was stored, so running it again is safe.
const ATTEMPTS: usize = 3;

/// The questions a knock may answer: the built-in support ID and every stored one,
/// retired ones too, so a phone that got its list before a question was retired loses
/// nothing (experiments check their outcome against the same list).
pub(super) fn load_questions(
    conn: &mut DbConnection,
    campaign_id: i64,
) -> Result<Vec<Question>, QueryError> {
    let mut out = vec![knock::support_id_question()];
    for (key, kind, answers) in db::knocks::answerable_questions(conn, campaign_id)? {
        let Some(kind) = QuestionKind::parse(&kind) else {
            continue;
        };
        let values: Vec<Value> = serde_json::from_str::<Vec<Value>>(&answers)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|a| a.get("value").cloned())
            .collect();
        out.push(Question { key, kind, values });
    }
    Ok(out)
}

/// What the store knows that a batch's knocks are checked against, read in a few
/// queries for the whole batch rather than a dozen per knock.
#[derive(Default)]
struct Known {
    /// Knocks stored before: client id → (id, content hash).
    stored: HashMap<String, (KnockId, String)>,
    /// The batch's lists that exist, with whether the caller may sync knocks for them.
    lists: HashMap<WalkListId, (NaiveDateTime, bool)>,
    /// list → its turf.
    turfs: HashMap<WalkListId, TurfId>,
    /// door → (lat, lng, resolution-15 cell).
    doors: HashMap<DoorId, (f64, f64, i64)>,
    /// (list, door) of the stops, with the list the door moved to since.
    stops: HashMap<(WalkListId, DoorId), Option<WalkListId>>,
    /// door → its people.
    residents: HashMap<DoorId, Vec<PersonId>>,
    /// Script ids of the batch that exist.
    scripts: HashSet<ScriptId>,
    /// (list, door) → the people the list names there, for the lists with a `moved` or
    /// `deceased` knock that names nobody.
    listed: HashMap<(WalkListId, DoorId), Vec<PersonId>>,
    /// The campaign's tag keys, read when a knock of the batch changes tags.
    tags: HashSet<String>,
}

impl Known {
    fn read(
        conn: &mut DbConnection,
        actor: &Actor,
        knocks: &[&KnockInput],
    ) -> Result<Known, QueryError> {
        let campaign = actor.campaign_id;
        let tagging = knocks
            .iter()
            .any(|k| k.people.iter().any(|p| !p.tags.is_empty()));
        let distinct = |f: &dyn Fn(&KnockInput) -> Option<i64>| -> Vec<i64> {
            let set: BTreeSet<i64> = knocks.iter().filter_map(|k| f(k)).collect();
            set.into_iter().collect()
        };
        let (list_ids, door_ids) = (
            distinct(&|k| Some(k.walk_list_id.get())),
            distinct(&|k| Some(k.door_id.get())),
        );
        let client_ids: Vec<String> = knocks.iter().map(|k| k.client_id.to_string()).collect();
        let client_refs: Vec<&str> = client_ids.iter().map(String::as_str).collect();
        let mut known = Known::default();
        for (client_id, id, hash) in db::knocks::stored_by_client_ids(conn, campaign, &client_refs)?
        {
            known.stored.insert(client_id, (KnockId(id), hash));
        }
        for list_id in list_ids.iter().copied() {
            let Some(list) = db::walk_lists::get(conn, campaign, list_id)? else {
                continue;
            };
            // A volunteer may sync knocks for any list they ever held: the claim may
            // have lapsed or been released, or the list reassigned, while offline.
            let allowed = actor.role >= Role::Organizer
                || db::walk_lists::has_held(conn, campaign, list_id, actor.user_id)?;
            let list_id = WalkListId(list_id);
            known.lists.insert(list_id, (list.created_at, allowed));
            known.turfs.insert(list_id, TurfId(list.turf_id));
        }
        for (door, lat, lng, cell) in db::knocks::door_locations(conn, campaign, &door_ids)? {
            known.doors.insert(DoorId(door), (lat, lng, cell));
        }
        for (list, door, moved_to) in db::knocks::stops_among(conn, campaign, &list_ids, &door_ids)?
        {
            known
                .stops
                .insert((WalkListId(list), DoorId(door)), moved_to.map(WalkListId));
        }
        for (door, person) in db::knocks::residents_of(conn, campaign, &door_ids)? {
            known
                .residents
                .entry(DoorId(door))
                .or_default()
                .push(PersonId(person));
        }
        for script in distinct(&|k| k.script_id.map(ScriptId::get)) {
            if db::experiments::script(conn, campaign, script)?.is_some() {
                known.scripts.insert(ScriptId(script));
            }
        }
        let unnamed = |k: &KnockInput| {
            (k.result().is_some_and(KnockResult::flags_people) && k.people.is_empty())
                .then_some(k.walk_list_id.get())
        };
        for list_id in distinct(&unnamed) {
            for (door, people) in db::walk_lists::people(conn, campaign, list_id)? {
                let ids = people.into_iter().map(|p| PersonId(p.id)).collect();
                known
                    .listed
                    .insert((WalkListId(list_id), DoorId(door)), ids);
            }
        }
        if tagging {
            known.tags = db::tags::keys(conn, campaign)?;
        }
        Ok(known)
    }
}

/// A knock that passed every check, with what storing it changes.
struct Accepted<'a> {
    index: usize,
    input: &'a KnockInput,
    result: KnockResult,
    client_id: String,
    hash: String,
    /// The list whose stop it counts on (the door's list now).
    counted_list: WalkListId,
    door_cell: i64,
    /// Everyone living at the door.
    residents: Vec<PersonId>,
    /// The people the knock names (spoken to, or moved/deceased).
    named: Vec<PersonId>,
    answers: Vec<(PersonId, String, String)>,
    /// (person, support ID answer) of the people who gave one.
    support_ids: Vec<(PersonId, i64)>,
    distance_m: Option<f64>,
    quality: &'static str,
    flagged: Vec<PersonId>,
}

/// What every knock of a batch is checked against.
struct Checks<'c> {
    questions: &'c [Question],
    known: &'c Known,
    now: NaiveDateTime,
}

/// Checks one new knock against what the store knows; the error is why it is rejected.
fn check<'a>(
    checks: &Checks,
    index: usize,
    k: &'a KnockInput,
    (client_id, hash): (String, String),
) -> Result<Accepted<'a>, String> {
    let Checks {
        questions,
        known,
        now,
    } = *checks;
    k.check(now)?;
    let result = k
        .result()
        .ok_or_else(|| format!("unknown result {:?}", k.result))?;
    let Some(&(list_created_at, allowed)) = known.lists.get(&k.walk_list_id) else {
        return Err(format!("unknown walk list {}", k.walk_list_id));
    };
    if !allowed {
        return Err(format!("walk list {} is not yours", k.walk_list_id));
    }
    // A phone whose clock was reset (to 1970, say) would put knocks on days that never
    // saw them; a day before the list existed is as much slack as any phone needs.
    if k.knocked_at_naive() + chrono::Duration::days(1) < list_created_at {
        return Err(format!(
            "knocked_at is more than a day before walk list {} existed (check the phone's clock)",
            k.walk_list_id
        ));
    }
    let Some(&(door_lat, door_lng, door_cell)) = known.doors.get(&k.door_id) else {
        return Err(format!("unknown door {}", k.door_id));
    };
    let Some(&moved_to) = known.stops.get(&(k.walk_list_id, k.door_id)) else {
        return Err(format!(
            "door {} is not on walk list {}",
            k.door_id, k.walk_list_id
        ));
    };
    if let Some(script) = k.script_id
        && !known.scripts.contains(&script)
    {
        return Err(format!("unknown script {script}"));
    }
    let residents = known
        .residents
        .get(&k.door_id)
        .map_or(&[][..], Vec::as_slice);
    let mut answers = Vec::new();
    for p in &k.people {
        if !residents.contains(&p.person_id) {
            return Err(format!(
                "person {} does not live at door {}",
                p.person_id, k.door_id
            ));
        }
        p.tags.check(&known.tags)?;
        for (key, value) in &p.answers {
            let Some(question) = questions.iter().find(|q| &q.key == key) else {
                return Err(format!("unknown question {key:?}"));
            };
            match knock::check_answer(question, value) {
                Ok(stored) => answers.push((p.person_id, key.clone(), stored)),
                Err(why) => return Err(why),
            }
        }
    }
    let distance_m = k
        .location
        .map(|l| routing::distance_m((l.lat, l.lng), (door_lat, door_lng)).round());
    let quality =
        LocationQuality::grade(distance_m, k.location.and_then(|l| l.accuracy_m)).as_str();
    let named: Vec<PersonId> = k.people.iter().map(|p| p.person_id).collect();
    // Moved or deceased without names concerns the people the list names at the door.
    let flagged: Vec<PersonId> = match result.flags_people() {
        true if named.is_empty() => known
            .listed
            .get(&(k.walk_list_id, k.door_id))
            .cloned()
            .unwrap_or_default(),
        true => named.clone(),
        false => Vec::new(),
    };
    Ok(Accepted {
        index,
        input: k,
        result,
        client_id,
        hash,
        counted_list: moved_to.unwrap_or(k.walk_list_id),
        door_cell,
        residents: residents.to_vec(),
        named,
        answers,
        support_ids: k
            .people
            .iter()
            .filter_map(|p| {
                p.answers
                    .get(knock::SUPPORT_ID)
                    .and_then(Value::as_i64)
                    .map(|answer| (p.person_id, answer))
            })
            .collect(),
        distance_m,
        quality,
        flagged,
    })
}

/// Stores a batch's knocks with their effects, in door order, inside the caller's
/// transaction. Reads what the checks need for the whole batch first, stores every new
/// knock in one statement, then applies the effects and scores of each stored knock and
/// recounts each touched list once.
fn store_batch(
    conn: &mut DbConnection,
    actor: &Actor,
    parsed: &[(usize, Option<String>, Result<KnockInput, String>)],
) -> Result<Vec<KnockOutcome>, AppError> {
    let now = db::now();
    let questions = load_questions(conn, actor.campaign_id)?;
    let inputs: Vec<&KnockInput> = parsed
        .iter()
        .filter_map(|(_, _, k)| k.as_ref().ok())
        .collect();
    let known = Known::read(conn, actor, &inputs)?;

    let rejected = |index, client_id: Option<String>, reason: String| KnockOutcome {
        index,
        client_id,
        status: KnockStatus::Rejected,
        knock_id: None,
        reason: Some(reason),
        door_id: None,
    };
    let mut outcomes = Vec::with_capacity(parsed.len());
    let mut accepted: Vec<Accepted> = Vec::new();
    // Knocks answered by what gets stored in this batch or was stored before:
    // (index, client id, content hash).
    let mut resent: Vec<(usize, String, String)> = Vec::new();
    let mut in_batch: HashSet<String> = HashSet::new();
    let checks = Checks {
        questions: &questions,
        known: &known,
        now,
    };
    for (index, raw_client_id, knock) in parsed {
        let k = match knock {
            Ok(k) => k,
            Err(reason) => {
                outcomes.push(rejected(*index, raw_client_id.clone(), reason.clone()));
                continue;
            }
        };
        let client_id = k.client_id.to_string();
        let hash = k.content_hash();
        if known.stored.contains_key(&client_id) || in_batch.contains(&client_id) {
            resent.push((*index, client_id, hash));
            continue;
        }
        match check(&checks, *index, k, (client_id.clone(), hash)) {
            Ok(a) => {
                in_batch.insert(client_id);
                accepted.push(a);
            }
            Err(reason) => outcomes.push(rejected(*index, Some(client_id), reason)),
        }
    }

    let rows: Vec<NewKnock> = accepted
        .iter()
        .map(|a| NewKnock {
            campaign_id: actor.campaign_id,
            client_id: &a.client_id,
            user_id: actor.user_id,
            walk_list_id: a.input.walk_list_id,
            door_id: a.input.door_id,
            result: a.result.code(),
            notes: a.input.notes.as_deref().unwrap_or(""),
            people: &a.named,
            script_id: a.input.script_id,
            knocked_at: a.input.knocked_at_naive(),
            received_at: now,
            location: a.input.location.map(|l| (l.lat, l.lng, l.accuracy_m)),
            distance_m: a.distance_m,
            location_quality: a.quality,
            content_hash: &a.hash,
            answers: a.answers.clone(),
        })
        .collect();
    let created: HashMap<String, i64> = db::knocks::insert_many(conn, &rows)?.into_iter().collect();

    // Every client id of the batch, as stored now: (id, content hash).
    let mut stored = known.stored;
    let mut touched: BTreeSet<i64> = BTreeSet::new();
    // (knock id, the knock) of the knocks stored here.
    let mut scored: Vec<(i64, &Accepted)> = Vec::new();
    for a in &accepted {
        let Some(&id) = created.get(&a.client_id) else {
            // Another request stored this client id in the meantime (a phone retrying
            // while its first send still ran): answer as for any knock sent again.
            resent.push((a.index, a.client_id.clone(), a.hash.clone()));
            continue;
        };
        stored.insert(a.client_id.clone(), (KnockId(id), a.hash.clone()));
        touched.insert(a.counted_list.get());
        scored.push((id, a));
        outcomes.push(KnockOutcome {
            index: a.index,
            client_id: Some(a.client_id.clone()),
            status: KnockStatus::Created,
            knock_id: Some(id),
            reason: None,
            door_id: None,
        });
    }
    let contacted: Vec<&[PersonId]> = scored
        .iter()
        .map(|(_, a)| {
            if a.result.is_contact() {
                a.named.as_slice()
            } else {
                &[]
            }
        })
        .collect();
    let effects: Vec<Effects> = scored
        .iter()
        .zip(&contacted)
        .map(|(&(_, a), contacted)| Effects {
            walk_list_id: a.counted_list,
            door_id: a.input.door_id,
            result: a.result,
            finished: a.result.finishes_door(),
            knocked_at: a.input.knocked_at_naive(),
            contacted,
            flagged: &a.flagged,
        })
        .collect();
    db::knocks::apply_effects(conn, actor.campaign_id, &effects)?;
    for list_id in touched {
        db::knocks::refresh_progress(conn, actor.campaign_id, list_id, now)?;
    }
    // The score model reads bare ids (its rebuild reads them from the store):
    // (person, support ID) and residents, per knock.
    type Bare = (Vec<(i64, i64)>, Vec<i64>);
    let people: Vec<Bare> = scored
        .iter()
        .map(|(_, a)| {
            (
                a.support_ids.iter().map(|&(p, v)| (p.get(), v)).collect(),
                ids::raw(&a.residents),
            )
        })
        .collect();
    let facts: Vec<db::scores::KnockFacts> = scored
        .iter()
        .zip(&people)
        .map(|(&(id, a), (answered, residents))| db::scores::KnockFacts {
            knock_id: id,
            door_cell: a.door_cell,
            result: a.result.code(),
            answered,
            residents,
        })
        .collect();
    db::scores::apply_knocks(conn, actor.campaign_id, now, &facts)?;
    // Tags changed at the door, the later knock's change last.
    let mut tagged: Vec<(NaiveDateTime, i64, &Accepted)> = scored
        .iter()
        .filter(|(_, a)| a.input.people.iter().any(|p| !p.tags.is_empty()))
        .map(|&(id, a)| (a.input.knocked_at_naive(), id, a))
        .collect();
    tagged.sort_by_key(|&(at, id, _)| (at, id));
    let changes: Vec<db::tags::Change> = tagged
        .iter()
        .flat_map(|&(at, id, a)| {
            a.input.people.iter().map(move |p| db::tags::Change {
                person_id: p.person_id,
                knock_id: id,
                at,
                apply: &p.tags.apply,
                remove: &p.tags.remove,
            })
        })
        .collect();
    db::tags::apply(conn, actor.campaign_id, &changes)?;
    // People met at the door who were not in the voter file.
    for &(_, a) in scored
        .iter()
        .filter(|(_, a)| !a.input.new_people.is_empty())
    {
        let met: Vec<db::people::MetAtDoor> = a
            .input
            .new_people
            .iter()
            .enumerate()
            .map(|(i, p)| db::people::MetAtDoor {
                external_id: knock::NewPersonInput::external_id(&a.input.client_id, i),
                first_name: &p.first_name,
                last_name: &p.last_name,
                phone: p.phone.as_deref(),
            })
            .collect();
        db::people::add_at_door(
            conn,
            actor.campaign_id,
            (a.counted_list, a.input.door_id),
            &met,
        )?;
    }
    // Counted in campaign time, from the answers as stored, as a rebuild from the
    // knocks does; free-text answers are not counted.
    let zone = db::campaigns::time_zone_for_counting(conn, actor.campaign_id)?;
    let choice: std::collections::HashSet<&str> = questions
        .iter()
        .filter(|q| q.kind != QuestionKind::FreeText)
        .map(|q| q.key.as_str())
        .collect();
    let counted: Vec<(TallyKey, CountedKnock)> = scored
        .iter()
        .filter_map(|&(_, a)| {
            let knocked_at = crate::progress::local(zone, a.input.knocked_at_naive());
            let key = TallyKey {
                day: knocked_at.date(),
                walk_list_id: a.input.walk_list_id.get(),
                turf_id: known.turfs.get(&a.input.walk_list_id)?.get(),
                user_id: actor.user_id,
                cell: db::tallies::tally_cell(a.door_cell),
            };
            let mut k = CountedKnock {
                door_id: a.input.door_id.get(),
                knocked_at,
                contacted: a.result.is_contact(),
                ..CountedKnock::default()
            };
            for (_, question, answer) in &a.answers {
                if choice.contains(question.as_str()) {
                    crate::progress::count_answer(&mut k, question, answer);
                }
            }
            Some((key, k))
        })
        .collect();
    db::tallies::record(conn, actor.campaign_id, now, &counted)?;
    let missing: Vec<&str> = resent
        .iter()
        .map(|(_, c, _)| c.as_str())
        .filter(|c| !stored.contains_key(*c))
        .collect();
    if !missing.is_empty() {
        for (client_id, id, hash) in
            db::knocks::stored_by_client_ids(conn, actor.campaign_id, &missing)?
        {
            stored.insert(client_id, (KnockId(id), hash));
        }
    }
    for (index, client_id, hash) in resent {
        let Some((id, stored_hash)) = stored.get(&client_id) else {
            return Err(AppError::Internal(anyhow::anyhow!(
                "knock {client_id} is neither new nor stored"
            )));
        };
        let same = *stored_hash == hash;
        outcomes.push(KnockOutcome {
            index,
            client_id: Some(client_id),
            status: if same {
                KnockStatus::Duplicate
            } else {
                KnockStatus::Conflict
            },
            knock_id: Some(id.get()),
            reason: (!same).then(|| {
                "another knock with this client_id and different content is stored".into()
            }),
            door_id: None,
        });
    }
    Ok(outcomes)
}

/// The answer to a batch: how many knocks of each status, and each knock's own answer
/// in the phone's order.
#[derive(Debug, Serialize)]
pub struct SyncAnswer {
    pub created: usize,
    pub duplicate: usize,
    pub conflict: usize,
    pub rejected: usize,
    pub results: Vec<KnockOutcome>,
}

/// Syncs one batch of raw knocks (at most [`knock::MAX_BATCH`]) for `actor`.
pub async fn sync(pool: &DbPool, actor: Actor, raw: Vec<Value>) -> Result<SyncAnswer, AppError> {
    if raw.len() > knock::MAX_BATCH {
        return Err(AppError::TooLarge {
            message: format!(
                "a batch holds at most {} knocks; this one has {}",
                knock::MAX_BATCH,
                raw.len()
            ),
            details: json!({ "limit": knock::MAX_BATCH, "count": raw.len() }),
        });
    }
    // A knock for several doors is one knock per door from here on.
    let expanded: Vec<(usize, Value)> = raw
        .into_iter()
        .enumerate()
        .flat_map(|(index, raw)| knock::per_door(raw).into_iter().map(move |k| (index, k)))
        .collect();
    if expanded.len() > knock::MAX_BATCH {
        return Err(AppError::TooLarge {
            message: format!(
                "a batch holds at most {} knocks, counting each door of a knock for several doors; this one has {}",
                knock::MAX_BATCH,
                expanded.len()
            ),
            details: json!({ "limit": knock::MAX_BATCH, "count": expanded.len() }),
        });
    }
    // Parse first, then work through the knocks in door order: two batches touching
    // the same doors and cells lock them in the same order, which keeps PostgreSQL
    // deadlocks rare; the answer keeps the phone's order.
    let mut parsed: Vec<(usize, Option<String>, Result<KnockInput, String>)> = expanded
        .into_iter()
        .map(|(index, raw)| {
            let client_id = raw
                .get("client_id")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let knock = match raw.get(knock::BULK_ERROR).and_then(Value::as_str) {
                Some(why) => Err(why.to_owned()),
                None => serde_json::from_value::<KnockInput>(raw)
                    .map(KnockInput::without_nul)
                    .map_err(|e| format!("malformed knock: {e}")),
            };
            (index, client_id, knock)
        })
        .collect();
    let doors: HashMap<uuid::Uuid, i64> = parsed
        .iter()
        .filter_map(|(_, _, k)| k.as_ref().ok())
        .map(|k| (k.client_id, k.door_id.get()))
        .collect();
    parsed.sort_by_key(|(index, _, k)| (k.as_ref().map_or(i64::MIN, |k| k.door_id.get()), *index));
    let parsed = std::sync::Arc::new(parsed);
    let mut attempt = 0;
    let mut outcomes = loop {
        attempt += 1;
        let parsed = parsed.clone();
        let result = db::transaction(pool, move |conn| store_batch(conn, &actor, &parsed)).await;
        match result {
            Err(AppError::Store(StoreError::Query(e))) if db::is_retryable(&e) => {
                if attempt < ATTEMPTS {
                    continue;
                }
                return Err(AppError::Busy(BUSY.into()));
            }
            other => break other?,
        }
    };
    db::refresh_statistics_soon(pool);
    for o in &mut outcomes {
        o.door_id = o
            .client_id
            .as_deref()
            .and_then(|c| uuid::Uuid::parse_str(c).ok())
            .and_then(|c| doors.get(&c))
            .copied();
    }
    outcomes.sort_by_key(|o| o.index);
    let count = |s: KnockStatus| outcomes.iter().filter(|o| o.status == s).count();
    Ok(SyncAnswer {
        created: count(KnockStatus::Created),
        duplicate: count(KnockStatus::Duplicate),
        conflict: count(KnockStatus::Conflict),
        rejected: count(KnockStatus::Rejected),
        results: outcomes,
    })
}

#[cfg(test)]
mod tests;
