//! Tags (activist codes): the campaign's list, and which people carry which.

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{person_tags, tags};
use crate::domain::PersonId;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tags)]
pub struct Tag {
    pub id: i64,
    pub campaign_id: i64,
    pub key: String,
    pub name: String,
    pub created_at: NaiveDateTime,
}

pub fn list(conn: &mut DbConnection, campaign_id: i64) -> QueryResult<Vec<Tag>> {
    tags::table
        .filter(tags::campaign_id.eq(campaign_id))
        .order(tags::id)
        .select(Tag::as_select())
        .load(conn)
}

/// The campaign's tag keys.
pub fn keys(conn: &mut DbConnection, campaign_id: i64) -> QueryResult<HashSet<String>> {
    Ok(tags::table
        .filter(tags::campaign_id.eq(campaign_id))
        .select(tags::key)
        .load::<String>(conn)?
        .into_iter()
        .collect())
}

pub fn key_taken(conn: &mut DbConnection, campaign_id: i64, key: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        tags::table
            .filter(tags::campaign_id.eq(campaign_id))
            .filter(tags::key.eq(key)),
    ))
    .get_result(conn)
}

pub fn create(
    conn: &mut DbConnection,
    campaign_id: i64,
    key: &str,
    name: &str,
) -> QueryResult<Tag> {
    let id: i64 = diesel::insert_into(tags::table)
        .values((
            tags::campaign_id.eq(campaign_id),
            tags::key.eq(key),
            tags::name.eq(name),
            tags::created_at.eq(super::now()),
        ))
        .returning(tags::id)
        .get_result(conn)?;
    tags::table
        .filter(tags::campaign_id.eq(campaign_id))
        .filter(tags::id.eq(id))
        .select(Tag::as_select())
        .first(conn)
}

/// One person's tag change from a stored knock.
pub struct Change<'a> {
    pub person_id: PersonId,
    pub knock_id: i64,
    pub at: NaiveDateTime,
    pub apply: &'a [String],
    pub remove: &'a [String],
}

/// Applies the changes, inside the caller's transaction. A change older than what is
/// stored for that person and tag is skipped, so the later knock wins whatever order
/// phones sync in (a removal is kept as a row for that).
pub fn apply(conn: &mut DbConnection, campaign_id: i64, changes: &[Change]) -> QueryResult<()> {
    if changes
        .iter()
        .all(|c| c.apply.is_empty() && c.remove.is_empty())
    {
        return Ok(());
    }
    let ids: BTreeMap<String, i64> = tags::table
        .filter(tags::campaign_id.eq(campaign_id))
        .select((tags::key, tags::id))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .collect();
    for c in changes {
        let wanted = c
            .apply
            .iter()
            .map(|k| (k, false))
            .chain(c.remove.iter().map(|k| (k, true)));
        for (key, removed) in wanted {
            let Some(&tag) = ids.get(key) else { continue };
            let row = person_tags::table
                .filter(person_tags::campaign_id.eq(campaign_id))
                .filter(person_tags::person_id.eq(c.person_id.get()))
                .filter(person_tags::tag_id.eq(tag));
            let stored: Option<NaiveDateTime> =
                row.select(person_tags::applied_at).first(conn).optional()?;
            if stored.is_some_and(|at| at > c.at) {
                continue;
            }
            diesel::delete(row).execute(conn)?;
            diesel::insert_into(person_tags::table)
                .values((
                    person_tags::campaign_id.eq(campaign_id),
                    person_tags::person_id.eq(c.person_id.get()),
                    person_tags::tag_id.eq(tag),
                    person_tags::applied_at.eq(c.at),
                    person_tags::removed.eq(removed),
                    person_tags::knock_id.eq(Some(c.knock_id)),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// The tag keys each person carries, in tag order.
pub fn of_people(
    conn: &mut DbConnection,
    campaign_id: i64,
    person_ids: &[i64],
) -> QueryResult<BTreeMap<i64, Vec<String>>> {
    let mut out: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for chunk in person_ids.chunks(1000) {
        let rows: Vec<(i64, String)> = person_tags::table
            .inner_join(
                tags::table.on(tags::campaign_id
                    .eq(person_tags::campaign_id)
                    .and(tags::id.eq(person_tags::tag_id))),
            )
            .filter(person_tags::campaign_id.eq(campaign_id))
            .filter(person_tags::person_id.eq_any(chunk))
            .filter(person_tags::removed.eq(false))
            .order((person_tags::person_id, tags::id))
            .select((person_tags::person_id, tags::key))
            .load(conn)?;
        for (person, key) in rows {
            out.entry(person).or_default().push(key);
        }
    }
    Ok(out)
}

/// The tag changes that still stand from these knocks: (knock id, person id, tag key,
/// removed).
pub fn changes_of_knocks(
    conn: &mut DbConnection,
    campaign_id: i64,
    knock_ids: &[i64],
) -> QueryResult<Vec<(i64, i64, String, bool)>> {
    let mut out = Vec::new();
    for chunk in knock_ids.chunks(1000) {
        let rows: Vec<(Option<i64>, i64, String, bool)> = person_tags::table
            .inner_join(
                tags::table.on(tags::campaign_id
                    .eq(person_tags::campaign_id)
                    .and(tags::id.eq(person_tags::tag_id))),
            )
            .filter(person_tags::campaign_id.eq(campaign_id))
            .filter(person_tags::knock_id.eq_any(chunk))
            .order((person_tags::knock_id, person_tags::person_id, tags::id))
            .select((
                person_tags::knock_id,
                person_tags::person_id,
                tags::key,
                person_tags::removed,
            ))
            .load(conn)?;
        out.extend(
            rows.into_iter()
                .filter_map(|(k, p, key, removed)| Some((k?, p, key, removed))),
        );
    }
    Ok(out)
}
