//! Getting knocks and people back out, page by page: the rows of `people.csv` (the
//! voter file as the campaign now knows it), of `contacts.csv` (VAN-style contact
//! rows with the campaign's codes) and the OSDI canvass feed. The handlers stream the
//! pages; the shapes are in `crate::export`.

use std::collections::BTreeMap;

use chrono_tz::Tz;
use serde_json::{Value, json};

use super::AppError;
use crate::db::progress::Filter;
use crate::db::{self, DbConnection};
use crate::export::{self, Codes, cell_text, van_result};
use crate::scores::{CellEvidence, Params};

/// Rows read per page while streaming.
pub const PAGE: i64 = 2000;

/// The records of one page and where the next page starts (`None`: done).
pub type Page = (Vec<Vec<String>>, Option<i64>);

/// Where the page after `rows` starts: after its last id, when the page was full.
pub fn next_after<T>(rows: &[T], id: impl Fn(&T) -> i64) -> Option<i64> {
    let full = i64::try_from(rows.len()).is_ok_and(|n| n >= PAGE);
    rows.last().filter(|_| full).map(id)
}

/// The people file's columns: the voter-file columns the import reads (so the file
/// re-imports by `external_id`), then what the campaign learned.
pub const PEOPLE_COLUMNS: [&str; 23] = [
    "external_id",
    "first_name",
    "last_name",
    "street",
    "housenumber",
    "unit",
    "postcode",
    "city",
    "lat",
    "lng",
    "party",
    "birth_year",
    "phone",
    "flags",
    "support_score",
    "turnout_score",
    "current_score",
    "latest_support_id",
    "latest_support_id_at",
    "last_result",
    "van_last_result",
    "last_result_at",
    "tags",
];

/// One page of `contacts.csv` after knock `after` (the header first on the first page),
/// days in campaign time.
pub fn contact_page(
    conn: &mut DbConnection,
    campaign_id: i64,
    (filter, zone): (&Filter, Tz),
    codes: &Codes,
    after: i64,
) -> Result<Page, AppError> {
    let knocks = db::progress::export_page(conn, campaign_id, filter, after, PAGE)?;
    let ids: Vec<i64> = knocks.iter().map(|k| k.id).collect();
    let answers = db::knocks::answers_of(conn, campaign_id, &ids)?;
    let named: Vec<Vec<i64>> = knocks
        .iter()
        .map(|k| serde_json::from_str(&k.people).unwrap_or_default())
        .collect();
    let bare_doors: Vec<i64> = knocks
        .iter()
        .zip(&named)
        .filter(|(_, n)| n.is_empty())
        .map(|(k, _)| k.door_id)
        .collect();
    let residents = db::exports::residents(conn, campaign_id, &bare_doors)?;
    let mut tag_changes: BTreeMap<i64, Vec<(i64, String, bool)>> = BTreeMap::new();
    for (knock, person, key, removed) in db::tags::changes_of_knocks(conn, campaign_id, &ids)? {
        tag_changes
            .entry(knock)
            .or_default()
            .push((person, key, removed));
    }
    let people: Vec<i64> = named.iter().flatten().copied().collect();
    let external = db::exports::external_ids(conn, campaign_id, &people)?;
    let mut answer_texts: BTreeMap<i64, Vec<(i64, &str, String)>> = BTreeMap::new();
    for (knock, person, question, stored) in &answers {
        for a in export::answer_text(stored) {
            answer_texts
                .entry(*knock)
                .or_default()
                .push((*person, question.as_str(), a));
        }
    }
    let mut records: Vec<Vec<String>> = Vec::new();
    if after == 0 {
        records.push(
            export::CONTACT_COLUMNS
                .iter()
                .map(|c| (*c).to_owned())
                .collect(),
        );
    }
    for (k, named) in knocks.iter().zip(&named) {
        let people: Vec<(i64, &str)> = if named.is_empty() {
            residents
                .get(&k.door_id)
                .map(|r| r.iter().map(|(id, e)| (*id, e.as_str())).collect())
                .unwrap_or_default()
        } else {
            named
                .iter()
                .filter_map(|id| external.get(id).map(|e| (*id, e.as_str())))
                .collect()
        };
        // People added at the door have no voter-file id to upload against;
        // they are in people.csv under their `door:` id.
        let people: Vec<(i64, &str)> = people
            .into_iter()
            .filter(|(_, e)| !e.starts_with("door:"))
            .collect();
        let knock = export::ContactKnock {
            date: crate::progress::local(zone, k.knocked_at)
                .date()
                .format("%Y-%m-%d")
                .to_string(),
            result: &k.result,
            people,
            answers: answer_texts
                .get(&k.id)
                .into_iter()
                .flatten()
                .map(|a| (a.0, a.1, a.2.as_str()))
                .collect(),
            tags: tag_changes
                .get(&k.id)
                .into_iter()
                .flatten()
                .map(|t| (t.0, t.1.as_str(), t.2))
                .collect(),
        };
        records.extend(
            export::contact_rows(&knock, codes)
                .into_iter()
                .map(Vec::from),
        );
    }
    let next = next_after(&knocks, |k| k.id);
    Ok((records, next))
}

/// One page of `people.csv` after person `after` (the header first on the first page),
/// scores as the model has them now.
pub fn people_page(
    conn: &mut DbConnection,
    campaign_id: i64,
    model: &(Params, BTreeMap<i64, CellEvidence>),
    after: i64,
) -> Result<Page, AppError> {
    let page = db::exports::people_page(conn, campaign_id, after, PAGE)?;
    let ids: Vec<i64> = page.iter().map(|p| p.person.id).collect();
    let doors: Vec<i64> = page.iter().map(|p| p.person.door_id).collect();
    let who: Vec<(i64, Option<f64>, i64)> = page
        .iter()
        .map(|p| (p.person.id, p.person.support_score, p.cell))
        .collect();
    let scores = db::scores::effective_with(conn, campaign_id, &who, model)?;
    let support = db::exports::latest_support_ids(conn, campaign_id, &ids)?;
    let results = db::exports::last_results(conn, campaign_id, &doors)?;
    let tags = db::tags::of_people(conn, campaign_id, &ids)?;
    let number = |x: Option<f64>| x.map(|v| v.to_string()).unwrap_or_default();
    let time =
        |t: Option<&chrono::NaiveDateTime>| t.map(|t| t.and_utc().to_rfc3339()).unwrap_or_default();
    let mut records: Vec<Vec<String>> = Vec::with_capacity(page.len() + 1);
    if after == 0 {
        records.push(PEOPLE_COLUMNS.iter().map(|c| (*c).to_owned()).collect());
    }
    for p in &page {
        let person = &p.person;
        let flags: Vec<&str> = [
            (person.do_not_walk, "do_not_walk"),
            (person.deceased, "deceased"),
            (person.moved, "moved"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        let support_id = support.get(&person.id);
        let result = results.get(&person.door_id);
        records.push(vec![
            cell_text(&person.external_id),
            cell_text(&person.first_name),
            cell_text(&person.last_name),
            cell_text(&p.street),
            cell_text(&p.housenumber),
            cell_text(&p.unit),
            cell_text(&p.postcode),
            cell_text(&p.city),
            p.lat.to_string(),
            p.lng.to_string(),
            person.party.as_deref().map(cell_text).unwrap_or_default(),
            person.birth_year.map(|y| y.to_string()).unwrap_or_default(),
            person.phone.as_deref().map(cell_text).unwrap_or_default(),
            flags.join(";"),
            number(person.support_score),
            number(person.turnout_score),
            number(scores.get(&person.id).map(|s| (s * 10.0).round() / 10.0)),
            support_id
                .map(|s| export::answer_text(&s.0).join("|"))
                .unwrap_or_default(),
            time(support_id.map(|s| &s.1)),
            result.map(|r| r.0.clone()).unwrap_or_default(),
            result
                .map(|r| van_result(&r.0).to_owned())
                .unwrap_or_default(),
            time(result.map(|r| &r.1)),
            tags.get(&person.id)
                .map(|t| t.join(";"))
                .unwrap_or_default(),
        ]);
    }
    let next = next_after(&page, |p| p.person.id);
    Ok((records, next))
}

/// One page of the OSDI canvass feed: up to `fetch` knocks after knock `after`, each
/// with its id.
pub fn canvass_items(
    conn: &mut DbConnection,
    campaign_id: i64,
    filter: &Filter,
    after: i64,
    fetch: i64,
) -> Result<Vec<(i64, Value)>, AppError> {
    let rows = db::progress::export_page(conn, campaign_id, filter, after, fetch)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let answers = db::knocks::answers_of(conn, campaign_id, &ids)?;
    let named: Vec<i64> = rows
        .iter()
        .flat_map(|r| serde_json::from_str::<Vec<i64>>(&r.people).unwrap_or_default())
        .chain(answers.iter().map(|a| a.1))
        .collect();
    let external = db::exports::external_ids(conn, campaign_id, &named)?;
    let mut by_knock: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
    for (knock, person, question, stored) in &answers {
        by_knock.entry(*knock).or_default().push(json!({
            "person": external.get(person),
            "question": question,
            "responses": export::answer_text(stored),
        }));
    }
    let items: Vec<(i64, Value)> = rows
        .iter()
        .map(|r| {
            let people: Vec<i64> = serde_json::from_str(&r.people).unwrap_or_default();
            let targets: Vec<&String> = people.iter().filter_map(|p| external.get(p)).collect();
            let item = json!({
                "identifiers": [format!("groundswell:knock-{}", r.id)],
                "origin_system": "Groundswell",
                "action_date": r.knocked_at.and_utc(),
                "created_date": r.received_at.and_utc(),
                "contact_type": "in-person",
                "input_type": "mobile",
                "success": crate::knock::KnockResult::parse(&r.result)
                    .is_some_and(crate::knock::KnockResult::is_contact),
                "status_code": r.result,
                "canvasser": r.user_id,
                "door_id": r.door_id,
                "target": targets,
                "answers": by_knock.remove(&r.id).unwrap_or_default(),
            });
            (r.id, item)
        })
        .collect();
    Ok(items)
}

/// One entry of the campaign's export codes, as sent.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeItem {
    pub kind: String,
    pub key: String,
    pub code: String,
}

/// The codes as sent, checked: a known kind, a key and a code of 1 to
/// `MAX_CODE_CHARS` characters, a result code that exists, an answer named
/// `question_key:answer`, nothing mapped twice.
pub fn check_codes(items: Vec<CodeItem>) -> Result<Codes, AppError> {
    if items.len() > export::MAX_CODES {
        return Err(AppError::TooLarge {
            message: format!("at most {} codes", export::MAX_CODES),
            details: json!({ "limit": export::MAX_CODES }),
        });
    }
    let mut codes = Codes::default();
    for (i, item) in items.into_iter().enumerate() {
        let field = format!("items[{i}]");
        let kind = export::CodeKind::parse(&item.kind).ok_or_else(|| {
            AppError::invalid(&field, "kind is one of result, question, answer, tag")
        })?;
        let (key, code) = (item.key.trim().to_owned(), item.code.trim().to_owned());
        for (name, text) in [("key", &key), ("code", &code)] {
            if text.is_empty()
                || text.chars().count() > export::MAX_CODE_CHARS
                || text.contains('\0')
            {
                return Err(AppError::invalid(
                    &field,
                    format!("{name} is 1 to {} characters", export::MAX_CODE_CHARS),
                ));
            }
        }
        if kind == export::CodeKind::Result && crate::knock::KnockResult::parse(&key).is_none() {
            return Err(AppError::invalid(
                &field,
                format!("{key:?} is not a result code"),
            ));
        }
        if kind == export::CodeKind::Answer && !key.contains(':') {
            return Err(AppError::invalid(
                &field,
                "an answer's key is question_key:answer",
            ));
        }
        if codes.0.insert((kind, key.clone()), code).is_some() {
            return Err(AppError::invalid(
                &field,
                format!("{} {key:?} is mapped twice", kind.as_str()),
            ));
        }
    }
    Ok(codes)
}

/// Replaces the campaign's export codes with codes checked by [`check_codes`].
pub fn replace_codes(
    conn: &mut DbConnection,
    actor: super::Actor,
    codes: Codes,
) -> Result<Codes, AppError> {
    db::exports::replace_codes(conn, actor.campaign_id, &codes)?;
    actor.audit(
        conn,
        "export_codes.replace",
        ("campaign", Some(actor.campaign_id)),
        json!({ "count": codes.0.len() }),
    )?;
    Ok(codes)
}

/// Every knock at a person's door as OSDI canvasses (most recent first, as the store
/// gives them), each with the person's answers and whether they were spoken to.
pub fn person_canvasses(
    conn: &mut DbConnection,
    actor: super::Actor,
    person_id: i64,
) -> Result<Vec<Value>, AppError> {
    let campaign_id = actor.campaign_id;
    let door =
        db::people::door_of(conn, campaign_id, person_id)?.ok_or(AppError::NotFound("person"))?;
    let knocks = db::knocks::at_door(conn, campaign_id, door)?;
    let ids: Vec<i64> = knocks.iter().map(|k| k.0).collect();
    let answers = db::knocks::answers_of(conn, campaign_id, &ids)?;
    Ok(knocks
        .into_iter()
        .map(|(knock_id, result, at, people)| {
            let named: Vec<i64> = serde_json::from_str(&people).unwrap_or_default();
            let spoke = crate::knock::KnockResult::parse(&result)
                .is_some_and(crate::knock::KnockResult::is_contact)
                && named.contains(&person_id);
            let given: Vec<Value> = answers
                .iter()
                .filter(|a| a.0 == knock_id && a.1 == person_id)
                .map(|a| {
                    json!({
                        "question": a.2,
                        "answer": serde_json::from_str::<Value>(&a.3).unwrap_or(Value::Null),
                    })
                })
                .collect();
            json!({
                "identifiers": [format!("groundswell:knock-{knock_id}")],
                "action_date": at.and_utc(),
                "contact_type": "in-person",
                "input_type": "mobile",
                "success": spoke,
                "status_code": result,
                "answers": given,
            })
        })
        .collect())
}
