//! The background work inside the server: the push worker that drains the outbox, and
//! the sweep that expires walk lists.
//!
//! The push worker leases due messages in batches, sends them concurrently (bounded),
//! and records every outcome: sent; a dead registration token deletes the device;
//! 429/500/503 and network trouble come back later with exponential backoff and
//! jitter (honouring `Retry-After`); anything else fails visibly. Without FCM
//! credentials every message is marked `skipped: push not configured`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream;
use tokio::sync::Notify;

use super::fcm::{self, FcmClient, PushMessage, SendOutcome};
use super::notify::{self, Event};
use crate::config::PushSettings;
use crate::db::outbox::{self, Leased, Outcome};
use crate::db::{self, DbPool, StoreError};

/// How long a leased message belongs to one worker before another may take it over.
const LEASE: Duration = Duration::from_secs(120);

/// Builds the FCM client from the settings; `None` when push is not configured.
pub fn client_from_settings(settings: &PushSettings) -> anyhow::Result<Option<FcmClient>> {
    let Some(path) = &settings.credentials_file else {
        return Ok(None);
    };
    let account = fcm::ServiceAccount::from_file(path)
        .map_err(|e| anyhow::anyhow!("FCM credentials {}: {e}", path.display()))?;
    let client = FcmClient::new(account, &settings.fcm_base_url, settings.request_timeout)
        .map_err(|e| anyhow::anyhow!("FCM client: {e}"))?;
    Ok(Some(client))
}

fn chrono_after(now: chrono::NaiveDateTime, d: Duration) -> chrono::NaiveDateTime {
    now + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::hours(1))
}

/// Sends one leased message and says what to record.
async fn deliver(
    client: Option<&FcmClient>,
    max_attempts: i64,
    msg: &Leased,
) -> (Outcome, Option<i64>) {
    let Some(client) = client else {
        return (
            Outcome::Skipped {
                reason: "push not configured".into(),
            },
            None,
        );
    };
    let Some(token) = msg.token.clone() else {
        return (
            Outcome::Skipped {
                reason: "the device is no longer registered".into(),
            },
            None,
        );
    };
    let data: BTreeMap<String, String> = serde_json::from_str(&msg.data).unwrap_or_default();
    let push = PushMessage {
        token,
        title: msg.title.clone(),
        body: msg.body.clone(),
        data,
    };
    match client.send(&push).await {
        SendOutcome::Sent { name } => (Outcome::Sent { fcm_name: name }, None),
        SendOutcome::DeleteToken { code } => (
            Outcome::Failed {
                error: format!("{code}: the registration token is dead; the device was removed"),
            },
            msg.device_id,
        ),
        SendOutcome::Retry { code, retry_after } => {
            let attempt = u32::try_from(msg.attempts).unwrap_or(u32::MAX);
            if msg.attempts >= max_attempts {
                (
                    Outcome::Failed {
                        error: format!("{code}: gave up after {} attempts", msg.attempts),
                    },
                    None,
                )
            } else {
                let wait = fcm::backoff(attempt, retry_after);
                (
                    Outcome::Retry {
                        at: chrono_after(db::now(), wait),
                        error: format!("{code}: retrying in {} s", wait.as_secs()),
                    },
                    None,
                )
            }
        }
        SendOutcome::Fatal {
            status,
            code,
            message,
        } => (
            Outcome::Failed {
                error: format!("{status} {code}: {message}"),
            },
            None,
        ),
    }
}

/// One round: lease a batch, send it, record it. Returns how many messages it handled.
pub async fn drain_once(
    pool: &DbPool,
    client: Option<&Arc<FcmClient>>,
    settings: &PushSettings,
) -> Result<usize, StoreError> {
    let limit = settings.batch_size;
    let (leased, lease) = db::transaction::<_, _, StoreError>(pool, move |conn| {
        let now = db::now();
        let lease = chrono_after(now, LEASE);
        Ok((outbox::lease_due(conn, now, lease, limit)?, lease))
    })
    .await?;
    if leased.is_empty() {
        return Ok(0);
    }
    // Each send owns what it needs, so the futures are 'static and Send.
    let sends = leased.into_iter().map(|msg| {
        let client = client.cloned();
        let max_attempts = settings.max_attempts;
        async move {
            let (outcome, dead_device) = deliver(client.as_deref(), max_attempts, &msg).await;
            (msg.campaign_id, msg.id, outcome, dead_device)
        }
    });
    let results: Vec<(i64, i64, Outcome, Option<i64>)> = stream::iter(sends)
        .buffer_unordered(settings.concurrency.max(1))
        .collect()
        .await;
    let handled = results.len();
    db::write_run::<_, _, StoreError>(pool, move |conn| {
        let now = db::now();
        let outcomes: Vec<(i64, i64, Outcome)> = results
            .iter()
            .map(|(c, id, o, _)| (*c, *id, o.clone()))
            .collect();
        outbox::record(conn, now, lease, &outcomes)?;
        for (campaign_id, _, _, dead) in &results {
            if let Some(device_id) = dead {
                outbox::delete_device(conn, *campaign_id, *device_id)?;
            }
        }
        Ok(())
    })
    .await?;
    metrics::counter!(crate::telemetry::PUSH_HANDLED).increment(handled as u64);
    Ok(handled)
}

/// Drains the outbox until the server stops: immediately when woken, otherwise every
/// poll interval (retries come due by the clock).
pub async fn run_push_worker(
    pool: DbPool,
    client: Option<Arc<FcmClient>>,
    settings: PushSettings,
    wakeup: Arc<Notify>,
) {
    loop {
        match drain_once(&pool, client.as_ref(), &settings).await {
            Ok(n) if n > 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "push worker round failed; retrying"),
        }
        tokio::select! {
            () = wakeup.notified() => {}
            () = tokio::time::sleep(settings.poll_interval) => {}
        }
    }
}

/// Expires the walk lists whose time has passed and tells their holders. Returns how
/// many lists it expired.
pub async fn expire_due_lists(pool: &DbPool) -> Result<usize, StoreError> {
    db::write_run::<_, _, StoreError>(pool, move |conn| {
        let now = db::now();
        let due = db::walk_lists::due_for_expiry(conn, now, 200)?;
        let mut expired = 0;
        for list in due {
            db::write_transaction(conn, |conn| -> Result<(), StoreError> {
                if !db::walk_lists::expire(conn, list.campaign_id, list.id, now)? {
                    return Ok(());
                }
                let mut told = db::walk_lists::assignees(conn, list.campaign_id, list.id)?;
                if let Some(c) = list
                    .claimed_by
                    .filter(|_| list.list_state().claim_active(now))
                {
                    told.push(c);
                }
                // Read again in the same transaction: it was expired just now.
                let list = db::walk_lists::get(conn, list.campaign_id, list.id)?
                    .ok_or(diesel::result::Error::NotFound)?;
                notify::walk_list_event(conn, &list, Event::Expired, &told)?;
                expired += 1;
                Ok(())
            })?;
        }
        Ok(expired)
    })
    .await
}

/// Runs the expiry sweep every `interval` until the server stops.
pub async fn run_expiry_sweep(pool: DbPool, interval: Duration, wakeup: Arc<Notify>) {
    loop {
        match expire_due_lists(&pool).await {
            Ok(n) if n > 0 => {
                tracing::info!(expired = n, "walk lists expired");
                wakeup.notify_one();
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "expiry sweep failed; retrying"),
        }
        tokio::time::sleep(interval).await;
    }
}
