//! Knock sync: phones upload what happened at each door, in batches, often late and
//! twice. Every knock gets its own answer, and one bad knock never fails the batch.

use actix_web::{HttpResponse, web};
use diesel::Connection;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::auth::AuthUser;
use crate::db::knocks::{Effects, NewKnock};
use crate::db::{self, DbConnection};
use crate::domain::Role;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::knock::{self, KnockInput, LocationQuality, Question, QuestionKind};
use crate::routing;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchBody {
    /// Parsed one by one, so a malformed knock is rejected alone.
    knocks: Vec<Value>,
}

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
}

/// The answer when the database kept aborting the batch (deadlocks) even after retries.
const BUSY: &str =
    "the database was too busy to store this batch; nothing of it was stored; send it again";

/// Why a knock was refused; everything else is a database error for the whole batch.
enum Refusal {
    Rejected(String),
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for Refusal {
    fn from(e: diesel::result::Error) -> Self {
        Refusal::Db(e)
    }
}

/// The campaign's questions: the built-in support ID and the active stored ones.
fn load_questions(conn: &mut DbConnection, campaign_id: i64) -> Result<Vec<Question>, ApiError> {
    let mut out = vec![knock::support_id_question()];
    for (key, kind, answers) in db::knocks::active_questions(conn, campaign_id)? {
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

/// Checks one knock against the store and stores it with its effects.
fn sync_one(
    conn: &mut DbConnection,
    auth: &AuthUser,
    questions: &[Question],
    k: &KnockInput,
    now: chrono::NaiveDateTime,
) -> Result<(KnockStatus, i64), Refusal> {
    let client_id = k.client_id.to_string();
    let hash = k.content_hash();
    if let Some((id, stored)) = db::knocks::find_by_client_id(conn, auth.campaign_id, &client_id)? {
        let status = if stored == hash {
            KnockStatus::Duplicate
        } else {
            KnockStatus::Conflict
        };
        return Ok((status, id));
    }
    k.check(now).map_err(Refusal::Rejected)?;
    let reject = |why: String| Err(Refusal::Rejected(why));
    let Some(list) = db::walk_lists::get(conn, auth.campaign_id, k.walk_list_id)? else {
        return reject(format!("unknown walk list {}", k.walk_list_id));
    };
    // A volunteer may sync knocks for any list they ever held: the claim may have
    // lapsed or been released, or the list reassigned, while the phone was offline.
    let allowed = auth.role >= Role::Organizer
        || db::walk_lists::has_held(conn, auth.campaign_id, list.id, auth.user_id)?;
    if !allowed {
        return reject(format!("walk list {} is not yours", list.id));
    }
    // A phone whose clock was reset (to 1970, say) would put knocks on days that never
    // saw them; a day before the list existed is as much slack as any phone needs.
    if k.knocked_at_naive() + chrono::Duration::days(1) < list.created_at {
        return reject(format!(
            "knocked_at is more than a day before walk list {} existed (check the phone's clock)",
            list.id
        ));
    }
    let Some((door_lat, door_lng, door_cell)) =
        db::knocks::door_location(conn, auth.campaign_id, k.door_id)?
    else {
        return reject(format!("unknown door {}", k.door_id));
    };
    if !db::knocks::is_stop(conn, auth.campaign_id, list.id, k.door_id)? {
        return reject(format!(
            "door {} is not on walk list {}",
            k.door_id, list.id
        ));
    }
    if let Some(script) = k.script_id
        && db::experiments::script(conn, auth.campaign_id, script)?.is_none()
    {
        return reject(format!("unknown script {script}"));
    }
    let residents = db::knocks::people_at(conn, auth.campaign_id, k.door_id)?;
    let mut answers = Vec::new();
    for p in &k.people {
        if !residents.contains(&p.person_id) {
            return reject(format!(
                "person {} does not live at door {}",
                p.person_id, k.door_id
            ));
        }
        for (key, value) in &p.answers {
            let Some(question) = questions.iter().find(|q| &q.key == key) else {
                return reject(format!("unknown question {key:?}"));
            };
            let stored = knock::check_answer(question, value).map_err(Refusal::Rejected)?;
            answers.push((p.person_id, key.clone(), stored));
        }
    }
    let distance_m = k
        .location
        .map(|l| routing::distance_m((l.lat, l.lng), (door_lat, door_lng)).round());
    let quality =
        LocationQuality::grade(distance_m, k.location.and_then(|l| l.accuracy_m)).as_str();
    let finished = knock::is_final(&k.result).unwrap_or(false);
    let named: Vec<i64> = k.people.iter().map(|p| p.person_id).collect();
    let named_ids = named.clone();
    // Moved or deceased without names concerns the people the list names at the door.
    let flagged: Vec<i64> = match k.result.as_str() {
        "moved" | "deceased" if named.is_empty() => {
            db::walk_lists::people(conn, auth.campaign_id, list.id)?
                .remove(&k.door_id)
                .unwrap_or_default()
                .into_iter()
                .map(|p| p.id)
                .collect()
        }
        "moved" | "deceased" => named.clone(),
        _ => Vec::new(),
    };
    let contacted: Vec<i64> = if k.result == "contacted" {
        named
    } else {
        Vec::new()
    };
    let knocked_at = k.knocked_at_naive();
    let id = db::knocks::insert(
        conn,
        &NewKnock {
            campaign_id: auth.campaign_id,
            client_id: &client_id,
            user_id: auth.user_id,
            walk_list_id: list.id,
            door_id: k.door_id,
            result: &k.result,
            notes: k.notes.as_deref().unwrap_or(""),
            people: &named_ids,
            script_id: k.script_id,
            knocked_at,
            received_at: now,
            location: k.location.map(|l| (l.lat, l.lng, l.accuracy_m)),
            distance_m,
            location_quality: quality,
            content_hash: &hash,
            answers,
        },
    )?;
    db::knocks::apply_effects(
        conn,
        &Effects {
            campaign_id: auth.campaign_id,
            walk_list_id: list.id,
            door_id: k.door_id,
            result: &k.result,
            finished,
            knocked_at,
            contacted: &contacted,
            flagged: &flagged,
        },
    )?;
    let support_ids: Vec<(i64, i64)> = k
        .people
        .iter()
        .filter_map(|p| {
            p.answers
                .get(knock::SUPPORT_ID)
                .and_then(Value::as_i64)
                .map(|a| (p.person_id, a))
        })
        .collect();
    db::scores::apply_knock(
        conn,
        &db::scores::KnockFacts {
            campaign_id: auth.campaign_id,
            knock_id: id,
            door_cell,
            result: &k.result,
            answered: &support_ids,
            residents: &residents,
            now,
        },
    )?;
    Ok((KnockStatus::Created, id))
}

/// `POST /api/v1/knocks/batch`: at most [`knock::MAX_BATCH`] knocks; the answer lists
/// each with `created`, `duplicate`, `conflict` or `rejected` (and why).
pub async fn batch(
    state: web::Data<crate::state::AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<BatchBody>,
) -> Result<HttpResponse, ApiError> {
    if body.knocks.len() > knock::MAX_BATCH {
        return Err(ApiError::TooLarge {
            message: format!(
                "a batch holds at most {} knocks; this one has {}",
                knock::MAX_BATCH,
                body.knocks.len()
            ),
            details: json!({ "limit": knock::MAX_BATCH, "count": body.knocks.len() }),
        });
    }
    // Parse first, then work through the knocks in door order: two batches touching
    // the same doors and cells lock them in the same order, which keeps PostgreSQL
    // deadlocks rare; the answer keeps the phone's order.
    let mut parsed: Vec<(usize, Option<String>, Result<KnockInput, String>)> = body
        .knocks
        .into_iter()
        .enumerate()
        .map(|(index, raw)| {
            let client_id = raw
                .get("client_id")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let knock = serde_json::from_value::<KnockInput>(raw)
                .map_err(|e| format!("malformed knock: {e}"));
            (index, client_id, knock)
        })
        .collect();
    parsed.sort_by_key(|(index, _, k)| (k.as_ref().map_or(i64::MIN, |k| k.door_id), *index));
    let parsed = std::sync::Arc::new(parsed);
    let mut attempt = 0;
    let mut outcomes = loop {
        attempt += 1;
        let parsed = parsed.clone();
        let result = db::transaction(&state.db, move |conn| {
            let now = db::now();
            let questions = load_questions(conn, auth.campaign_id)?;
            let mut outcomes = Vec::with_capacity(parsed.len());
            for (index, client_id, knock) in parsed.iter() {
                let (index, client_id) = (*index, client_id.clone());
                let parsed = match knock {
                    Ok(k) => k,
                    Err(reason) => {
                        outcomes.push(KnockOutcome {
                            index,
                            client_id,
                            status: KnockStatus::Rejected,
                            knock_id: None,
                            reason: Some(reason.clone()),
                        });
                        continue;
                    }
                };
                // Each knock in its own savepoint: a refused one leaves nothing behind.
                let mut result =
                    conn.transaction(|conn| sync_one(conn, &auth, &questions, parsed, now));
                // The same client id stored by a concurrent request in the meantime
                // (a phone retrying while its first send is still running): it is
                // there now, so answer as for any re-sent knock.
                if let Err(Refusal::Db(DieselError::DatabaseError(
                    DatabaseErrorKind::UniqueViolation,
                    _,
                ))) = &result
                {
                    result =
                        conn.transaction(|conn| sync_one(conn, &auth, &questions, parsed, now));
                }
                let outcome = match result {
                    Ok((status, id)) => KnockOutcome {
                        index,
                        client_id,
                        status,
                        knock_id: Some(id),
                        reason: (status == KnockStatus::Conflict).then(|| {
                            "another knock with this client_id and different content is stored"
                                .into()
                        }),
                    },
                    Err(Refusal::Rejected(reason)) => KnockOutcome {
                        index,
                        client_id,
                        status: KnockStatus::Rejected,
                        knock_id: None,
                        reason: Some(reason),
                    },
                    Err(Refusal::Db(e)) if db::is_retryable(&e) => {
                        return Err(ApiError::Unavailable(BUSY.into()));
                    }
                    Err(Refusal::Db(e)) => return Err(ApiError::from(e)),
                };
                outcomes.push(outcome);
            }
            Ok(outcomes)
        })
        .await;
        match result {
            // A deadlock or serialisation failure rolled the whole batch back: nothing
            // of it is stored, so running it again is safe.
            Err(ApiError::Unavailable(m)) if m == BUSY && attempt < 3 => continue,
            other => break other?,
        }
    };
    outcomes.sort_by_key(|o| o.index);
    let count = |s: KnockStatus| outcomes.iter().filter(|o| o.status == s).count();
    Ok(HttpResponse::Ok().json(json!({
        "created": count(KnockStatus::Created),
        "duplicate": count(KnockStatus::Duplicate),
        "conflict": count(KnockStatus::Conflict),
        "rejected": count(KnockStatus::Rejected),
        "results": outcomes,
    })))
}
