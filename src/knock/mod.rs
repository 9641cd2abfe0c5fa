//! Door knocks as plain rules: what a phone may send, what makes two sends the same
//! knock, which answers fit which question, and how far from the door the phone was.
//! No actix, no diesel.

use std::collections::BTreeMap;

use crate::domain::{DoorId, PersonId, ScriptId, WalkListId};
use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

mod result;

pub use result::KnockResult;

/// Most knocks in one batch.
pub const MAX_BATCH: usize = 500;
/// How far in the future (by the server's clock) a phone's time may be.
pub const FUTURE_SKEW_SECS: i64 = 300;
/// Longest note, in characters.
pub const MAX_NOTES_CHARS: usize = 2000;
/// Most people named in one knock.
pub const MAX_PEOPLE: usize = 50;
/// The built-in support ID question.
pub const SUPPORT_ID: &str = "support_id";

/// Most doors one knock may cover (a building's units, a stretch of a street).
pub const MAX_DOORS_PER_KNOCK: usize = 100;
/// The field [`per_door`] sets on a knock for several doors it refuses, with why.
pub const BULK_ERROR: &str = "__refused";

/// A knock for several doors at once (`door_ids` instead of `door_id`: nobody home in
/// a whole building, say) as one knock per door. Each gets its own client id, derived
/// from the phone's and the door (UUID v5), so sending the batch again stores nothing
/// twice. A knock for several doors names nobody and gives no answers; one that breaks
/// that, or names too many doors, comes back as one knock marked with
/// [`BULK_ERROR`]. Any other knock is returned as it came.
pub fn per_door(raw: Value) -> Vec<Value> {
    let Some(doors) = raw.get("door_ids").cloned() else {
        return vec![raw];
    };
    let refuse = |why: &str| {
        let mut k = serde_json::Map::new();
        if let Some(id) = raw.get("client_id") {
            k.insert("client_id".into(), id.clone());
        }
        k.insert(BULK_ERROR.into(), Value::from(why));
        vec![Value::Object(k)]
    };
    let ids: Option<Vec<i64>> = doors
        .as_array()
        .map(|a| a.iter().map(Value::as_i64).collect::<Option<Vec<i64>>>())
        .unwrap_or(None);
    let Some(ids) = ids else {
        return refuse("door_ids must be a list of door ids");
    };
    if raw.get("door_id").is_some() {
        return refuse("send door_id or door_ids, not both");
    }
    if ids.is_empty() || ids.len() > MAX_DOORS_PER_KNOCK {
        return refuse(&format!("door_ids holds 1 to {MAX_DOORS_PER_KNOCK} doors"));
    }
    let named = raw
        .get("people")
        .and_then(Value::as_array)
        .is_some_and(|p| !p.is_empty());
    if named || raw.get("result").and_then(Value::as_str) == Some(KnockResult::Contacted.code()) {
        return refuse(
            "a knock for several doors names nobody: send a conversation as a knock of its own",
        );
    }
    let Some(client) = raw
        .get("client_id")
        .and_then(Value::as_str)
        .and_then(|c| uuid::Uuid::parse_str(c).ok())
    else {
        return refuse("client_id must be a UUID");
    };
    let mut seen = std::collections::BTreeSet::new();
    ids.into_iter()
        .filter(|id| seen.insert(*id))
        .map(|door| {
            let mut k = raw.clone();
            if let Some(o) = k.as_object_mut() {
                o.remove("door_ids");
                o.insert("door_id".into(), Value::from(door));
                let id = uuid::Uuid::new_v5(&client, &door.to_be_bytes());
                o.insert("client_id".into(), Value::from(id.to_string()));
            }
            k
        })
        .collect()
}

/// One knock as the phone sends it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnockInput {
    pub client_id: uuid::Uuid,
    pub walk_list_id: WalkListId,
    pub door_id: DoorId,
    pub result: String,
    #[serde(default, deserialize_with = "crate::domain::json::objects")]
    pub people: Vec<PersonInput>,
    #[serde(default)]
    pub notes: Option<String>,
    pub knocked_at: DateTime<Utc>,
    #[serde(default, deserialize_with = "crate::domain::json::optional_object")]
    pub location: Option<Location>,
    /// The script the canvasser actually used, if any.
    #[serde(default)]
    pub script_id: Option<ScriptId>,
    /// People met at the door who are not in the voter file (only with `contacted`).
    /// Left out of the stored form when empty, so older knocks keep their hash.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub new_people: Vec<NewPersonInput>,
}

/// Most people one knock may add.
pub const MAX_NEW_PEOPLE: usize = 10;

/// Someone met at the door who is not on the list, as the phone records them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPersonInput {
    pub first_name: String,
    pub last_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

impl NewPersonInput {
    /// Names of 1 to 200 characters, a phone of at most 40, no control characters.
    pub fn check(&self) -> Result<(), String> {
        let ok = |t: &str, max: usize| {
            let n = t.trim().chars().count();
            (1..=max).contains(&n) && !t.chars().any(char::is_control)
        };
        if !ok(&self.first_name, 200) || !ok(&self.last_name, 200) {
            return Err("a new person's first_name and last_name are 1 to 200 characters".into());
        }
        if self.phone.as_deref().is_some_and(|p| !ok(p, 40)) {
            return Err("a new person's phone is 1 to 40 characters".into());
        }
        Ok(())
    }

    /// The external id a person added at the door gets: the knock's client id and
    /// their place in it, so a resent knock never adds them twice.
    pub fn external_id(client_id: &uuid::Uuid, index: usize) -> String {
        format!("door:{client_id}:{index}")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonInput {
    pub person_id: PersonId,
    /// Question key → answer (a value, or a list of values for multiple choice).
    #[serde(default)]
    pub answers: BTreeMap<String, Value>,
    /// Tags (activist codes) applied to or removed from the person at the door. Left
    /// out of the stored form when empty, so knocks sent before tags existed keep
    /// their content hash.
    #[serde(default, skip_serializing_if = "TagChanges::is_empty")]
    pub tags: TagChanges,
}

/// Most tags one person's knock may change.
pub const MAX_TAG_CHANGES: usize = 20;

/// Tags applied and removed, by key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagChanges {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub apply: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<String>,
}

impl TagChanges {
    pub fn is_empty(&self) -> bool {
        self.apply.is_empty() && self.remove.is_empty()
    }

    /// Checks the changes against the campaign's tag keys: known, few, none both applied
    /// and removed.
    pub fn check(&self, known: &std::collections::HashSet<String>) -> Result<(), String> {
        if self.apply.len() + self.remove.len() > MAX_TAG_CHANGES {
            return Err(format!("at most {MAX_TAG_CHANGES} tag changes per person"));
        }
        for key in self.apply.iter().chain(&self.remove) {
            if !known.contains(key) {
                return Err(format!("unknown tag {key:?}"));
            }
        }
        if self.apply.iter().any(|k| self.remove.contains(k)) {
            return Err("a tag is both applied and removed".into());
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Location {
    pub lat: f64,
    pub lng: f64,
    #[serde(default)]
    pub accuracy_m: Option<f64>,
}

impl KnockInput {
    /// The knock with every U+0000 in its note and text answers replaced by U+FFFD: the
    /// store cannot keep U+0000 (PostgreSQL refuses it), and a knock is never lost or
    /// refused for a stray control character that a phone's keyboard let through.
    pub fn without_nul(mut self) -> Self {
        const REPLACEMENT: &str = "\u{fffd}";
        fn clean(text: &mut String) {
            if text.contains('\0') {
                *text = text.replace('\0', REPLACEMENT);
            }
        }
        fn clean_value(value: &mut Value) {
            match value {
                Value::String(text) => clean(text),
                Value::Array(items) => items.iter_mut().for_each(clean_value),
                Value::Object(fields) => fields.values_mut().for_each(clean_value),
                _ => {}
            }
        }
        if let Some(notes) = &mut self.notes {
            clean(notes);
        }
        for person in &mut self.people {
            person.answers.values_mut().for_each(clean_value);
        }
        self
    }

    /// The knock's time as stored (UTC, microseconds).
    pub fn knocked_at_naive(&self) -> NaiveDateTime {
        self.knocked_at.naive_utc().trunc_subsecs(6)
    }

    /// The result, if the code is one.
    pub fn result(&self) -> Option<KnockResult> {
        KnockResult::parse(&self.result)
    }

    /// Checks what needs no database: the result, the clock, the note, the location.
    pub fn check(&self, now: NaiveDateTime) -> Result<(), String> {
        let Some(result) = self.result() else {
            return Err(format!("unknown result {:?}", self.result));
        };
        if self.knocked_at_naive() > now + chrono::Duration::seconds(FUTURE_SKEW_SECS) {
            return Err(format!(
                "knocked_at is in the future (more than {FUTURE_SKEW_SECS} s ahead of the server)"
            ));
        }
        if self
            .notes
            .as_ref()
            .is_some_and(|n| n.chars().count() > MAX_NOTES_CHARS)
        {
            return Err(format!(
                "notes are longer than {MAX_NOTES_CHARS} characters"
            ));
        }
        if self.people.len() > MAX_PEOPLE {
            return Err(format!("at most {MAX_PEOPLE} people per knock"));
        }
        let mut ids: Vec<PersonId> = self.people.iter().map(|p| p.person_id).collect();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) {
            return Err("a person is named twice".into());
        }
        if !result.is_contact() && self.people.iter().any(|p| !p.answers.is_empty()) {
            return Err("answers come only with a contacted result".into());
        }
        if !self.new_people.is_empty() && !result.is_contact() {
            return Err("new people come only with a contacted result".into());
        }
        if self.new_people.len() > MAX_NEW_PEOPLE {
            return Err(format!("at most {MAX_NEW_PEOPLE} new people per knock"));
        }
        for p in &self.new_people {
            p.check()?;
        }
        if let Some(loc) = &self.location {
            let valid = (-90.0..=90.0).contains(&loc.lat)
                && (-180.0..=180.0).contains(&loc.lng)
                && loc.accuracy_m.is_none_or(|a| a.is_finite() && a >= 0.0);
            if !valid {
                return Err("location is out of range".into());
            }
        }
        Ok(())
    }

    /// A digest of everything the knock says: the same knock sent again has the same
    /// hash; another knock under the same client id has a different one. People are
    /// sorted first, so their order on the phone does not matter.
    pub fn content_hash(&self) -> String {
        let mut canonical = self.clone();
        canonical.people.sort_by_key(|p| p.person_id);
        canonical.knocked_at = self.knocked_at_naive().and_utc();
        if canonical.notes.as_deref() == Some("") {
            canonical.notes = None;
        }
        let text = serde_json::to_string(&canonical).unwrap_or_default();
        hex::encode(Sha256::digest(text.as_bytes()))
    }
}

/// How much to trust where the phone says it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LocationQuality {
    /// Within 100 m of the door.
    Fine,
    /// 100 to 300 m away.
    Doubtful,
    /// Beyond 300 m, or the phone's accuracy worse than 100 m.
    Unverified,
    /// No location sent.
    None,
}

impl LocationQuality {
    pub fn as_str(self) -> &'static str {
        match self {
            LocationQuality::Fine => "fine",
            LocationQuality::Doubtful => "doubtful",
            LocationQuality::Unverified => "unverified",
            LocationQuality::None => "none",
        }
    }

    pub fn grade(distance_m: Option<f64>, accuracy_m: Option<f64>) -> Self {
        match distance_m {
            None => LocationQuality::None,
            Some(_) if accuracy_m.is_some_and(|a| a > 100.0) => LocationQuality::Unverified,
            Some(d) if d <= 100.0 => LocationQuality::Fine,
            Some(d) if d <= 300.0 => LocationQuality::Doubtful,
            Some(_) => LocationQuality::Unverified,
        }
    }
}

/// A survey question as the rules see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    pub key: String,
    pub kind: QuestionKind,
    /// The allowed answer values (none for free text).
    pub values: Vec<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    SingleChoice,
    MultipleChoice,
    FreeText,
}

impl QuestionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            QuestionKind::SingleChoice => "single_choice",
            QuestionKind::MultipleChoice => "multiple_choice",
            QuestionKind::FreeText => "free_text",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "single_choice" => Some(QuestionKind::SingleChoice),
            "multiple_choice" => Some(QuestionKind::MultipleChoice),
            "free_text" => Some(QuestionKind::FreeText),
            _ => None,
        }
    }
}

/// What the built-in support ID asks at the door.
pub const SUPPORT_ID_TEXT: &str = "How do you feel about our candidate?";

/// The built-in support ID's answers: 1 strong support … 5 strong oppose.
pub const SUPPORT_ID_ANSWERS: [(i64, &str); 5] = [
    (1, "Strong support"),
    (2, "Lean support"),
    (3, "Undecided"),
    (4, "Lean oppose"),
    (5, "Strong oppose"),
];

/// The built-in support ID question, as knocks are checked against it.
pub fn support_id_question() -> Question {
    Question {
        key: SUPPORT_ID.into(),
        kind: QuestionKind::SingleChoice,
        values: SUPPORT_ID_ANSWERS
            .iter()
            .map(|&(v, _)| Value::from(v))
            .collect(),
    }
}

/// Checks an answer against its question and gives the text to store (JSON).
pub fn check_answer(question: &Question, answer: &Value) -> Result<String, String> {
    let fits = |v: &Value| question.values.iter().any(|allowed| allowed == v);
    match question.kind {
        QuestionKind::SingleChoice if fits(answer) => Ok(answer.to_string()),
        QuestionKind::SingleChoice => Err(format!(
            "{answer} is not an answer of question {:?}",
            question.key
        )),
        QuestionKind::MultipleChoice => {
            let Some(items) = answer.as_array() else {
                return Err(format!(
                    "question {:?} takes a list of answers",
                    question.key
                ));
            };
            let mut seen = Vec::new();
            for item in items {
                if !fits(item) {
                    return Err(format!(
                        "{item} is not an answer of question {:?}",
                        question.key
                    ));
                }
                if seen.contains(&item) {
                    return Err(format!("{item} is given twice"));
                }
                seen.push(item);
            }
            if items.is_empty() {
                return Err(format!(
                    "question {:?} needs at least one answer",
                    question.key
                ));
            }
            Ok(answer.to_string())
        }
        QuestionKind::FreeText => match answer.as_str() {
            Some(text) if text.chars().count() <= MAX_NOTES_CHARS => Ok(answer.to_string()),
            Some(_) => Err(format!("answers are at most {MAX_NOTES_CHARS} characters")),
            None => Err(format!("question {:?} takes text", question.key)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn knock() -> KnockInput {
        serde_json::from_value(serde_json::json!({
            "client_id": "6f1c1f5e-3a36-4f44-9d0a-64c0e1b1f9a1",
            "walk_list_id": 1,
            "door_id": 2,
            "result": "contacted",
            "people": [
                { "person_id": 9, "answers": { "support_id": 2 } },
                { "person_id": 4 }
            ],
            "knocked_at": "2026-11-20T10:15:00.123456789Z",
            "location": { "lat": 47.14, "lng": 9.52, "accuracy_m": 8 }
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn now() -> NaiveDateTime {
        chrono::DateTime::parse_from_rfc3339("2026-11-20T12:00:00Z")
            .map(|t| t.naive_utc())
            .unwrap_or_default()
    }

    #[test]
    fn the_same_knock_hashes_the_same_whatever_the_order_of_people() {
        let a = knock();
        let mut b = knock();
        b.people.reverse();
        assert_eq!(a.content_hash(), b.content_hash());
        let mut c = knock();
        c.result = "not_home".into();
        assert_ne!(a.content_hash(), c.content_hash());
        let mut d = knock();
        d.people[0]
            .answers
            .insert(SUPPORT_ID.into(), Value::from(3));
        assert_ne!(a.content_hash(), d.content_hash());
    }

    #[test]
    fn checks_name_what_is_wrong() {
        assert_eq!(knock().check(now()), Ok(()));
        let mut unknown = knock();
        unknown.result = "asleep".into();
        assert!(
            unknown
                .check(now())
                .is_err_and(|e| e.contains("unknown result"))
        );
        let mut future = knock();
        future.knocked_at = now().and_utc() + chrono::Duration::minutes(10);
        assert!(future.check(now()).is_err_and(|e| e.contains("future")));
        let mut skewed = knock();
        skewed.knocked_at = now().and_utc() + chrono::Duration::minutes(4);
        assert_eq!(skewed.check(now()), Ok(()));
        let mut twice = knock();
        twice.people[1].person_id = PersonId(9);
        assert!(twice.check(now()).is_err());
        let mut answers_without_contact = knock();
        answers_without_contact.result = "refused".into();
        assert!(answers_without_contact.check(now()).is_err());
    }

    #[test]
    fn location_grades_follow_distance_and_accuracy() {
        use LocationQuality as Q;
        assert_eq!(Q::grade(None, None), Q::None);
        assert_eq!(Q::grade(Some(40.0), Some(10.0)), Q::Fine);
        assert_eq!(Q::grade(Some(100.0), None), Q::Fine);
        assert_eq!(Q::grade(Some(180.0), Some(10.0)), Q::Doubtful);
        assert_eq!(Q::grade(Some(301.0), Some(10.0)), Q::Unverified);
        assert_eq!(Q::grade(Some(20.0), Some(150.0)), Q::Unverified);
    }

    #[test]
    fn a_knock_for_several_doors_is_one_knock_per_door_with_stable_ids() {
        let raw = serde_json::json!({
            "client_id": "6f1c1f5e-3a36-4f44-9d0a-64c0e1b1f9a1", "walk_list_id": 1,
            "door_ids": [7, 8, 7], "result": "not_home", "knocked_at": "2026-11-01T10:00:00Z",
        });
        let one = per_door(raw.clone());
        assert_eq!(one.len(), 2, "a door named twice is one knock");
        assert_eq!(one[0]["door_id"], 7);
        assert!(one.iter().all(|k| k.get("door_ids").is_none()));
        assert_ne!(one[0]["client_id"], one[1]["client_id"]);
        assert_eq!(per_door(raw.clone()), one, "the same ids every time");
        let mut talk = raw.clone();
        talk["result"] = serde_json::json!("contacted");
        assert!(per_door(talk)[0].get(BULK_ERROR).is_some());
        let mut both = raw.clone();
        both["door_id"] = serde_json::json!(7);
        assert!(per_door(both)[0].get(BULK_ERROR).is_some());
        let mut many = raw;
        many["door_ids"] = serde_json::json!((0..101).collect::<Vec<i64>>());
        assert!(per_door(many)[0].get(BULK_ERROR).is_some());
    }

    #[test]
    fn nul_in_notes_and_answers_is_replaced_not_refused() {
        let raw = serde_json::json!({
            "client_id": "6f1c1b9e-8d4a-4b5e-9c2a-1d3e5f7a9b0c",
            "walk_list_id": 1, "door_id": 2, "result": "contacted",
            "notes": "gate\u{0}code", "knocked_at": "2026-11-01T10:00:00Z",
            "people": [{ "person_id": 3, "answers": { "issue": "rent\u{0}", "topics": ["a\u{0}"] } }],
        });
        let knock: KnockInput = serde_json::from_value(raw).unwrap_or_else(|e| panic!("{e}"));
        let clean = knock.without_nul();
        assert_eq!(clean.notes.as_deref(), Some("gate\u{fffd}code"));
        let answers = &clean.people[0].answers;
        assert_eq!(answers["issue"], "rent\u{fffd}");
        assert_eq!(answers["topics"][0], "a\u{fffd}");
    }

    #[test]
    fn answers_must_fit_their_question() {
        let support = support_id_question();
        assert_eq!(check_answer(&support, &Value::from(1)), Ok("1".into()));
        assert!(check_answer(&support, &Value::from(6)).is_err());
        assert!(check_answer(&support, &Value::from("1")).is_err());
        let issues = Question {
            key: "issues".into(),
            kind: QuestionKind::MultipleChoice,
            values: vec![Value::from("housing"), Value::from("transport")],
        };
        assert!(check_answer(&issues, &serde_json::json!(["housing"])).is_ok());
        assert!(check_answer(&issues, &serde_json::json!(["housing", "housing"])).is_err());
        assert!(check_answer(&issues, &serde_json::json!("housing")).is_err());
        assert!(check_answer(&issues, &serde_json::json!([])).is_err());
        let comment = Question {
            key: "comment".into(),
            kind: QuestionKind::FreeText,
            values: vec![],
        };
        assert!(check_answer(&comment, &Value::from("likes the park")).is_ok());
        assert!(check_answer(&comment, &Value::from(3)).is_err());
    }
}
