//! People at the door: looking a person up, reading what is known of them, and
//! correcting it (a phone number, an email, moved, do-not-contact).

use chrono::NaiveDateTime;
use serde_json::json;

use super::{Actor, AppError};
use crate::db::people::{Details, Door, Person, Search};
use crate::db::{self, DbConnection};
use crate::domain::{Email, Role};

/// The shortest and longest text a search takes.
pub const SEARCH_CHARS: (usize, usize) = (2, 100);
/// Longest phone number and language tag kept.
pub const MAX_PHONE_CHARS: usize = 40;
pub const MAX_LANGUAGE_CHARS: usize = 35;

/// The range of lower-cased text starting with `prefix`.
fn prefix(prefix: &str) -> (String, String) {
    (prefix.to_owned(), format!("{prefix}{}", char::MAX))
}

/// What a search text looks for: an external id as typed; last or first names
/// starting with it; "first last" beginnings; a street starting with it, with a house
/// number when the text ends with one ("landstrasse 12").
pub fn search_for(q: &str) -> Result<Search, AppError> {
    let typed = q.trim();
    let n = typed.chars().count();
    if !(SEARCH_CHARS.0..=SEARCH_CHARS.1).contains(&n) || typed.contains('\0') {
        return Err(AppError::invalid(
            "q",
            format!("q is {} to {} characters", SEARCH_CHARS.0, SEARCH_CHARS.1),
        ));
    }
    // ASCII letters only, as the store folds them (see `db::people::search_ids`).
    let lower = typed.to_ascii_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    let first_and_last =
        (words.len() >= 2).then(|| (prefix(words[0]), prefix(&words[1..].join(" "))));
    let (street, housenumber) = match words.split_last() {
        Some((last, rest))
            if !rest.is_empty() && last.starts_with(|c: char| c.is_ascii_digit()) =>
        {
            (rest.join(" "), Some((*last).to_owned()))
        }
        _ => (words.join(" "), None),
    };
    Ok(Search {
        external_id: typed.to_owned(),
        name: prefix(&words.join(" ")),
        first_and_last,
        street: prefix(&street),
        housenumber,
    })
}

/// A person with their door, household, door history and current score.
pub struct Profile {
    pub person: Person,
    pub door: Option<Door>,
    pub household: Vec<Person>,
    /// Knocks at the door, newest first: (knock id, result, when, whether this person
    /// was named).
    pub history: Vec<(i64, String, NaiveDateTime, bool)>,
    pub score: Option<f64>,
    /// The tags the person carries, by key.
    pub tags: Vec<String>,
}

/// Most knocks of a door's history shown with a person.
pub const MAX_HISTORY: usize = 50;

/// Whether the actor may see and change this person: staff always; a volunteer only
/// people named on a live list they hold.
fn reachable(
    conn: &mut DbConnection,
    actor: Actor,
    person_id: i64,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    if actor.role >= Role::Organizer
        || db::people::on_lists_held_by(conn, actor.campaign_id, person_id, actor.user_id, now)?
    {
        Ok(())
    } else {
        Err(AppError::NotFound("person"))
    }
}

pub fn profile(
    conn: &mut DbConnection,
    actor: Actor,
    id: i64,
    now: NaiveDateTime,
) -> Result<Profile, AppError> {
    let person =
        db::people::find(conn, actor.campaign_id, id)?.ok_or(AppError::NotFound("person"))?;
    reachable(conn, actor, id, now)?;
    let door = db::people::door(conn, actor.campaign_id, person.door_id)?;
    let household: Vec<Person> = db::people::at_door(conn, actor.campaign_id, person.door_id)?
        .into_iter()
        .filter(|p| p.id != id)
        .collect();
    let mut history: Vec<(i64, String, NaiveDateTime, bool)> =
        db::knocks::at_door(conn, actor.campaign_id, person.door_id)?
            .into_iter()
            .map(|(knock, result, at, named)| {
                let named: Vec<i64> = serde_json::from_str(&named).unwrap_or_default();
                (knock, result, at, named.contains(&id))
            })
            .collect();
    history.reverse();
    history.truncate(MAX_HISTORY);
    let cell = door.as_ref().map_or(0, |d| d.cell);
    let score =
        db::scores::effective(conn, actor.campaign_id, &[(id, person.support_score, cell)])?
            .get(&id)
            .copied();
    let tags = db::tags::of_people(conn, actor.campaign_id, &[id])?
        .remove(&id)
        .unwrap_or_default();
    Ok(Profile {
        person,
        door,
        household,
        history,
        score,
        tags,
    })
}

/// Most people one search may match: past it the caller is asked to type more.
pub const MAX_MATCHES: usize = 10_000;

/// People matching `q` (organizers and above), by id after `after`, at most `limit`.
/// A search matching more than [`MAX_MATCHES`] people is refused with the limit.
pub fn search(
    conn: &mut DbConnection,
    actor: Actor,
    q: &str,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<Person>, AppError> {
    let s = search_for(q)?;
    let ids = db::people::search_ids(conn, actor.campaign_id, &s, MAX_MATCHES)?;
    if ids.len() > MAX_MATCHES {
        return Err(AppError::TooLarge {
            message: format!(
                "{q:?} matches more than {MAX_MATCHES} people; type more of the name or address"
            ),
            details: json!({ "limit": MAX_MATCHES }),
        });
    }
    let page: Vec<i64> = ids
        .into_iter()
        .filter(|&id| after.is_none_or(|a| id > a))
        .take(usize::try_from(limit).unwrap_or(0))
        .collect();
    Ok(db::people::by_ids(conn, actor.campaign_id, &page)?)
}

/// A correction as asked for; `Some(None)` clears a text.
#[derive(Debug, Clone, Default)]
pub struct Correction {
    pub phone: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub preferred_language: Option<Option<String>>,
    pub do_not_contact: Option<bool>,
    pub moved: Option<bool>,
    pub deceased: Option<bool>,
}

fn text(field: &str, value: Option<String>, max: usize) -> Result<Option<String>, AppError> {
    let Some(v) = value else { return Ok(None) };
    let v = v.trim().to_owned();
    if v.is_empty() {
        return Ok(None);
    }
    if v.chars().count() > max || v.chars().any(char::is_control) {
        return Err(AppError::invalid(
            field,
            format!("{field} is at most {max} characters, no control characters"),
        ));
    }
    Ok(Some(v))
}

/// Corrects a person (audited): staff for anyone, a volunteer for people on a list they
/// hold.
pub fn correct(
    conn: &mut DbConnection,
    actor: Actor,
    id: i64,
    c: Correction,
    now: NaiveDateTime,
) -> Result<Person, AppError> {
    let details = Details {
        phone: c
            .phone
            .map(|v| text("phone", v, MAX_PHONE_CHARS))
            .transpose()?,
        email: c
            .email
            .map(|v| {
                v.filter(|e| !e.trim().is_empty())
                    .map(|e| Email::parse(&e).map(|e| e.as_str().to_owned()))
                    .transpose()
                    .map_err(|e| AppError::invalid("email", e.message))
            })
            .transpose()?,
        preferred_language: c
            .preferred_language
            .map(|v| text("preferred_language", v, MAX_LANGUAGE_CHARS))
            .transpose()?,
        do_not_contact: c.do_not_contact,
        moved: c.moved,
        deceased: c.deceased,
    };
    db::people::find(conn, actor.campaign_id, id)?.ok_or(AppError::NotFound("person"))?;
    reachable(conn, actor, id, now)?;
    db::people::update_details(conn, actor.campaign_id, id, &details)?;
    let changed: Vec<&str> = [
        ("phone", details.phone.is_some()),
        ("email", details.email.is_some()),
        ("preferred_language", details.preferred_language.is_some()),
        ("do_not_contact", details.do_not_contact.is_some()),
        ("moved", details.moved.is_some()),
        ("deceased", details.deceased.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect();
    actor.audit(
        conn,
        "person.update",
        ("person", Some(id)),
        json!({ "fields": changed }),
    )?;
    db::people::find(conn, actor.campaign_id, id)?.ok_or(AppError::NotFound("person"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_reads_names_ids_and_streets_with_numbers() {
        let s = search_for("  Anna Be ").ok().unwrap_or_default();
        assert_eq!(s.external_id, "Anna Be");
        assert_eq!(s.name.0, "anna be");
        assert_eq!(
            s.first_and_last
                .as_ref()
                .map(|f| (f.0.0.as_str(), f.1.0.as_str())),
            Some(("anna", "be"))
        );
        assert!(s.name.1.starts_with("anna be") && s.name.1 > s.name.0);
        let street = search_for("Landstrasse 12a").ok().unwrap_or_default();
        assert_eq!(street.street.0, "landstrasse");
        assert_eq!(street.housenumber.as_deref(), Some("12a"));
        assert!(search_for("V").is_err());
        assert!(search_for(&"x".repeat(101)).is_err());
    }
}
