//! What a phone is told when its walk lists change, written to the outbox in the
//! transaction that made the change.

use std::collections::BTreeMap;

use crate::db::DbConnection;
use crate::db::outbox::{self, NewPush};
use crate::db::walk_lists::WalkList;

/// The walk-list events a phone hears about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The list was assigned to this user.
    Assigned,
    /// The list was taken from this user and given to someone else.
    Reassigned,
    /// The list is no longer assigned to this user.
    Unassigned,
    /// The list expired; its doors went back to the pool.
    Expired,
    /// Doors were moved onto or off the list.
    Updated,
    /// An organizer closed the list; its doors went back to the pool.
    Closed,
    /// An organizer deleted the list (nobody had knocked on it).
    Deleted,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Assigned => "assigned",
            Event::Reassigned => "reassigned",
            Event::Unassigned => "unassigned",
            Event::Expired => "expired",
            Event::Updated => "updated",
            Event::Closed => "closed",
            Event::Deleted => "deleted",
        }
    }

    fn text(self, list: &WalkList) -> (&'static str, String) {
        let minutes = (list.walking_seconds / 60.0).round();
        match self {
            Event::Assigned => (
                "New walk list",
                format!(
                    "{}: {} doors, about {minutes} min",
                    list.name, list.door_count
                ),
            ),
            Event::Reassigned => (
                "Walk list reassigned",
                format!("{} was given to another canvasser", list.name),
            ),
            Event::Unassigned => (
                "Walk list removed",
                format!("{} is no longer assigned to you", list.name),
            ),
            Event::Expired => (
                "Walk list expired",
                format!("{} has expired; its doors are back in the pool", list.name),
            ),
            Event::Updated => (
                "Walk list changed",
                format!("{} now has {} doors", list.name, list.door_count),
            ),
            Event::Closed => (
                "Walk list closed",
                format!("{} was closed; its doors are back in the pool", list.name),
            ),
            Event::Deleted => (
                "Walk list deleted",
                format!("{} was deleted; nothing on it was knocked", list.name),
            ),
        }
    }
}

/// Writes the event for each user to the outbox; returns how many messages are due.
pub fn walk_list_event(
    conn: &mut DbConnection,
    list: &WalkList,
    event: Event,
    users: &[i64],
) -> diesel::QueryResult<usize> {
    let (title, body) = event.text(list);
    let data: BTreeMap<String, String> = [
        ("event", event.as_str().to_owned()),
        ("walk_list_id", list.id.to_string()),
        ("version", list.version.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let mut due = 0;
    for &user_id in users {
        due += outbox::enqueue(
            conn,
            &NewPush {
                campaign_id: list.campaign_id,
                user_id,
                walk_list_id: Some(list.id),
                event: event.as_str(),
                title,
                body: &body,
                data: &data,
            },
        )?;
    }
    Ok(due)
}
