//! The push outbox: messages written in the same transaction as the change they tell
//! about, and sent afterwards by the push worker.
//!
//! States: `pending` (due at `next_attempt_at`) → `sending` (leased by one worker until
//! `locked_until`) → `sent`, `failed` (final, with the reason) or back to `pending` with
//! a later `next_attempt_at`. `skipped` means the message could not be sent at all (no
//! device, push not configured); it stays visible. A worker that dies mid-send leaves
//! its lease to run out, and the message is sent again by another: at least once, never
//! silently dropped.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use super::DbConnection;
use super::people::on_backend;
use super::schema::{devices, push_messages};
use crate::domain::Delivery;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = push_messages)]
pub struct PushMessage {
    pub id: i64,
    pub campaign_id: i64,
    pub user_id: i64,
    pub device_id: Option<i64>,
    pub walk_list_id: Option<i64>,
    pub event: String,
    pub title: String,
    pub body: String,
    pub data: String,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: NaiveDateTime,
    pub locked_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub fcm_name: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
}

/// A message to one user, fanned out to each of their devices.
pub struct NewPush<'a> {
    pub campaign_id: i64,
    pub user_id: i64,
    pub walk_list_id: Option<i64>,
    pub event: &'a str,
    pub title: &'a str,
    pub body: &'a str,
    /// FCM data: string values only.
    pub data: &'a BTreeMap<String, String>,
}

#[derive(Insertable)]
#[diesel(table_name = push_messages, treat_none_as_default_value = false)]
struct Row<'a> {
    campaign_id: i64,
    user_id: i64,
    device_id: Option<i64>,
    walk_list_id: Option<i64>,
    event: &'a str,
    title: &'a str,
    body: &'a str,
    data: &'a str,
    state: &'a str,
    next_attempt_at: NaiveDateTime,
    last_error: Option<&'a str>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// Writes one row per registered device of the user; a user without a device gets
/// one `skipped` row, so the organizer sees the message could not reach anyone.
/// Returns how many rows are due for sending. Call inside the change's transaction.
pub fn enqueue(conn: &mut DbConnection, msg: &NewPush) -> QueryResult<usize> {
    let now = super::now();
    let device_ids: Vec<i64> = devices::table
        .filter(devices::campaign_id.eq(msg.campaign_id))
        .filter(devices::user_id.eq(msg.user_id))
        .order(devices::id)
        .select(devices::id)
        .load(conn)?;
    let data = serde_json::to_string(msg.data).unwrap_or_else(|_| "{}".into());
    let row = |device_id: Option<i64>, state, last_error| Row {
        campaign_id: msg.campaign_id,
        user_id: msg.user_id,
        device_id,
        walk_list_id: msg.walk_list_id,
        event: msg.event,
        title: msg.title,
        body: msg.body,
        data: &data,
        state,
        next_attempt_at: now,
        last_error,
        created_at: now,
        updated_at: now,
    };
    let rows: Vec<Row> = if device_ids.is_empty() {
        vec![row(
            None,
            Delivery::Skipped.as_str(),
            Some("the user has no registered device"),
        )]
    } else {
        device_ids
            .iter()
            .map(|&d| row(Some(d), Delivery::Pending.as_str(), None))
            .collect()
    };
    // 13 parameters a row: 1,000 rows stay below SQLite's bound-parameter limit.
    for chunk in rows.chunks(1000) {
        on_backend!(conn, |c| diesel::insert_into(push_messages::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(if device_ids.is_empty() {
        0
    } else {
        device_ids.len()
    })
}

/// A leased message with the device's current registration token (`None` when the
/// device was removed after the message was written, or there never was one).
#[derive(Debug, Clone)]
pub struct Leased {
    pub id: i64,
    pub campaign_id: i64,
    pub user_id: i64,
    pub device_id: Option<i64>,
    pub attempts: i64,
    pub title: String,
    pub body: String,
    pub data: String,
    pub token: Option<String>,
}

#[derive(QueryableByName)]
struct LeasedRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    campaign_id: i64,
    #[diesel(sql_type = BigInt)]
    user_id: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    device_id: Option<i64>,
    #[diesel(sql_type = BigInt)]
    attempts: i64,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Text)]
    body: String,
    #[diesel(sql_type = Text)]
    data: String,
}

/// Leases up to `limit` due messages to this worker until `lease_until`, counting the
/// attempt. On PostgreSQL rows another worker has locked are skipped (`FOR UPDATE SKIP
/// LOCKED`), so two servers never take the same message; SQLite has a single writer.
/// Messages whose lease ran out (a worker died mid-send) are due again.
pub fn lease_due(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<Leased>> {
    let lock = match conn {
        DbConnection::Postgresql(_) => "FOR UPDATE SKIP LOCKED",
        DbConnection::Sqlite(_) => "",
    };
    let mut next = super::placeholders(conn);
    let [p1, p2, p3, p4] = std::array::from_fn(|_| next());
    let sql = format!(
        "UPDATE push_messages
            SET state = 'sending', locked_until = {p1}, attempts = attempts + 1,
                updated_at = {p2}
          WHERE (campaign_id, id) IN (
                SELECT campaign_id, id FROM push_messages
                 WHERE (state = 'pending' AND next_attempt_at <= {p3})
                    OR (state = 'sending' AND locked_until <= {p3})
                 ORDER BY next_attempt_at, id
                 LIMIT {p4} {lock})
         RETURNING id, campaign_id, user_id, device_id, attempts, title, body, data"
    );
    let query = diesel::sql_query(sql)
        .bind::<Timestamp, _>(lease_until)
        .bind::<Timestamp, _>(now)
        .bind::<Timestamp, _>(now)
        .bind::<BigInt, _>(limit);
    let rows: Vec<LeasedRow> = on_backend!(conn, |c| query.load::<LeasedRow>(c))?;
    let mut leased: Vec<Leased> = rows
        .into_iter()
        .map(|r| Leased {
            id: r.id,
            campaign_id: r.campaign_id,
            user_id: r.user_id,
            device_id: r.device_id,
            attempts: r.attempts,
            title: r.title,
            body: r.body,
            data: r.data,
            token: None,
        })
        .collect();
    leased.sort_by_key(|m| m.id);
    let mut wanted: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for m in &leased {
        if let Some(d) = m.device_id {
            wanted.entry(m.campaign_id).or_default().push(d);
        }
    }
    let mut tokens: BTreeMap<(i64, i64), String> = BTreeMap::new();
    for (campaign_id, ids) in wanted {
        for chunk in ids.chunks(1000) {
            for (id, token) in devices::table
                .filter(devices::campaign_id.eq(campaign_id))
                .filter(devices::id.eq_any(chunk))
                .select((devices::id, devices::token))
                .load::<(i64, String)>(conn)?
            {
                tokens.insert((campaign_id, id), token);
            }
        }
    }
    for m in &mut leased {
        m.token = m
            .device_id
            .and_then(|d| tokens.get(&(m.campaign_id, d)).cloned());
    }
    Ok(leased)
}

/// What became of one leased message.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Sent { fcm_name: String },
    Retry { at: NaiveDateTime, error: String },
    Failed { error: String },
    Skipped { reason: String },
}

/// Records outcomes of leased messages in one transaction. Only rows still under this
/// worker's lease (`locked_until` as it was handed out) change: a message whose lease
/// ran out and was taken over by another worker is left to that worker.
pub fn record(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    lease: NaiveDateTime,
    outcomes: &[(i64, i64, Outcome)],
) -> QueryResult<()> {
    super::write_transaction(conn, |conn| {
        let sent: Vec<(i64, i64, &str)> = outcomes
            .iter()
            .filter_map(|(campaign_id, id, o)| match o {
                Outcome::Sent { fcm_name } => Some((*campaign_id, *id, fcm_name.as_str())),
                _ => None,
            })
            .collect();
        // 3 parameters a row: 500 rows stay far below every backend's limit.
        for chunk in sent.chunks(500) {
            mark_sent(conn, now, lease, chunk)?;
        }
        for (campaign_id, id, outcome) in outcomes {
            let target = push_messages::table
                .filter(push_messages::campaign_id.eq(campaign_id))
                .filter(push_messages::id.eq(id))
                .filter(push_messages::state.eq(Delivery::Sending.as_str()))
                .filter(push_messages::locked_until.eq(lease));
            match outcome {
                Outcome::Sent { .. } => {}
                Outcome::Retry { at, error } => {
                    diesel::update(target)
                        .set((
                            push_messages::state.eq(Delivery::Pending.as_str()),
                            push_messages::next_attempt_at.eq(at),
                            push_messages::locked_until.eq(None::<NaiveDateTime>),
                            push_messages::last_error.eq(error),
                            push_messages::updated_at.eq(now),
                        ))
                        .execute(conn)?;
                }
                Outcome::Failed { error: reason } | Outcome::Skipped { reason } => {
                    let state = if matches!(outcome, Outcome::Failed { .. }) {
                        Delivery::Failed.as_str()
                    } else {
                        Delivery::Skipped.as_str()
                    };
                    diesel::update(target)
                        .set((
                            push_messages::state.eq(state),
                            push_messages::locked_until.eq(None::<NaiveDateTime>),
                            push_messages::last_error.eq(reason),
                            push_messages::updated_at.eq(now),
                        ))
                        .execute(conn)?;
                }
            }
        }
        Ok(())
    })
}

/// Marks sent messages in one statement: an `UPDATE … FROM (VALUES …)` that both
/// backends understand (their VALUES columns are both named column1, column2, …).
/// One round trip per batch instead of one per message.
fn mark_sent(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    lease: NaiveDateTime,
    rows: &[(i64, i64, &str)],
) -> QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut param = super::placeholders(conn);
    let now_param = param();
    let lease_param = param();
    let values: Vec<String> = rows
        .iter()
        .map(|_| format!("({}, {}, {})", param(), param(), param()))
        .collect();
    let sql = format!(
        "UPDATE push_messages
            SET state = 'sent', fcm_name = v.column3, sent_at = {now_param},
                updated_at = {now_param}, locked_until = NULL, last_error = NULL
           FROM (VALUES {}) AS v
          WHERE push_messages.campaign_id = v.column1 AND push_messages.id = v.column2
            AND push_messages.state = 'sending' AND push_messages.locked_until = {lease_param}",
        values.join(", ")
    );
    on_backend!(conn, |c| {
        let mut query = diesel::sql_query(sql).into_boxed();
        query = query.bind::<Timestamp, _>(now).bind::<Timestamp, _>(lease);
        for (campaign_id, id, name) in rows {
            query = query
                .bind::<BigInt, _>(*campaign_id)
                .bind::<BigInt, _>(*id)
                .bind::<Text, _>(*name);
        }
        query.execute(c)
    })?;
    Ok(())
}

/// Deletes a device whose registration token FCM declared dead.
pub fn delete_device(conn: &mut DbConnection, campaign_id: i64, device_id: i64) -> QueryResult<()> {
    diesel::delete(
        devices::table
            .filter(devices::campaign_id.eq(campaign_id))
            .filter(devices::id.eq(device_id)),
    )
    .execute(conn)
    .map(|_| ())
}

/// A page of the messages about one walk list, by id.
pub fn for_walk_list(
    conn: &mut DbConnection,
    campaign_id: i64,
    walk_list_id: i64,
    after: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<PushMessage>> {
    push_messages::table
        .filter(push_messages::campaign_id.eq(campaign_id))
        .filter(push_messages::walk_list_id.eq(walk_list_id))
        .filter(push_messages::id.gt(after.unwrap_or(0)))
        .order(push_messages::id)
        .limit(limit)
        .select(PushMessage::as_select())
        .load(conn)
}

/// How many messages are in each state (for metrics and the benchmark).
pub fn state_counts(conn: &mut DbConnection) -> QueryResult<Vec<(String, i64)>> {
    push_messages::table
        .group_by(push_messages::state)
        .select((push_messages::state, diesel::dsl::count_star()))
        .load(conn)
}
