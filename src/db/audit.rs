//! The audit log: who changed what, when. Written in the same transaction as the change.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::Value;

use super::DbConnection;
use super::schema::audit_log;
use crate::domain::PageRequest;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditEntry {
    pub id: i64,
    pub campaign_id: i64,
    pub actor_id: Option<i64>,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<i64>,
    pub details: String,
    pub created_at: NaiveDateTime,
}

/// One change to record. `actor_id` is `None` for changes made from the CLI; `details`
/// is a JSON object (anything else is kept as `{"value": …}`, so readers always get an
/// object).
#[derive(Debug)]
pub struct Change<'a> {
    pub campaign_id: i64,
    pub actor_id: Option<i64>,
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: Option<i64>,
    pub details: Value,
}

pub fn record(conn: &mut DbConnection, change: Change<'_>) -> QueryResult<usize> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::campaign_id.eq(change.campaign_id),
            audit_log::actor_id.eq(change.actor_id),
            audit_log::action.eq(change.action),
            audit_log::target_type.eq(change.target_type),
            audit_log::target_id.eq(change.target_id),
            audit_log::details.eq(as_object(change.details).to_string()),
            audit_log::created_at.eq(super::now()),
        ))
        .execute(conn)
}

fn as_object(details: Value) -> Value {
    match details {
        Value::Object(_) => details,
        Value::Null => Value::Object(serde_json::Map::new()),
        other => serde_json::json!({ "value": other }),
    }
}

/// The stored details as the object the API promises, whatever an older version wrote
/// (entries written as `null` read as `{}`).
pub fn details_object(stored: &str) -> Value {
    as_object(serde_json::from_str(stored).unwrap_or(Value::Null))
}

/// Newest first: `after` is the last id seen, older entries follow.
pub fn list(
    conn: &mut DbConnection,
    campaign_id: i64,
    page: &PageRequest,
) -> QueryResult<Vec<AuditEntry>> {
    let mut query = audit_log::table
        .filter(audit_log::campaign_id.eq(campaign_id))
        .select(AuditEntry::as_select())
        .order(audit_log::id.desc())
        .limit(page.fetch())
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(audit_log::id.lt(after));
    }
    query.load(conn)
}
