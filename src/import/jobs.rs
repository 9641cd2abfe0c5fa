//! Imports as jobs in the database: any server runs a queued import, reading the file
//! from the database a piece at a time, under a lease it renews as it records
//! progress. If the server stops, the lease runs out and another server (or this one,
//! restarted) runs the import again from the start; the import updates rows by
//! `external_id`, so running it twice stores nothing twice.

use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::db::{self, DbPool, StoreError, imports::Claimed};

/// Reads an import's file from its pieces in the database, one piece in memory. A
/// file that ends before its recorded size (its pieces were dropped by a server that
/// took the run over and finished it) is an error, never a shorter file.
struct ChunkReader {
    pool: DbPool,
    campaign_id: i64,
    import_id: i64,
    next_seq: i64,
    piece: Vec<u8>,
    at: usize,
    done: bool,
    expected: u64,
    read: u64,
}

impl Read for ChunkReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.at >= self.piece.len() {
            if self.done {
                if self.read != self.expected {
                    return Err(std::io::Error::other(format!(
                        "the uploaded file ended after {} of its {} bytes",
                        self.read, self.expected
                    )));
                }
                return Ok(0);
            }
            let mut conn = self.pool.get().map_err(std::io::Error::other)?;
            match db::imports::chunk(&mut conn, self.campaign_id, self.import_id, self.next_seq)
                .map_err(std::io::Error::other)?
            {
                Some(piece) => {
                    self.piece = piece;
                    self.at = 0;
                    self.next_seq += 1;
                }
                None => self.done = true,
            }
        }
        let n = out.len().min(self.piece.len() - self.at);
        out[..n].copy_from_slice(&self.piece[self.at..self.at + n]);
        self.at += n;
        self.read += n as u64;
        Ok(n)
    }
}

fn progress_of(report: &super::Report) -> db::imports::Progress {
    db::imports::Progress {
        rows_read: i64::try_from(report.rows_read).unwrap_or(i64::MAX),
        created: i64::try_from(report.created).unwrap_or(i64::MAX),
        updated: i64::try_from(report.updated).unwrap_or(i64::MAX),
        rejected: i64::try_from(report.rejected).unwrap_or(i64::MAX),
        errors_json: serde_json::to_string(&report.errors).unwrap_or_else(|_| "[]".into()),
    }
}

/// Runs one claimed import to its end (blocking), recording progress at most twice a
/// second. Every write of the run is fenced by the attempt that claimed it: if the
/// lease ran out and another server took the run over, this one stops at its next
/// record and leaves the run and its file to the other. The file is dropped once the
/// run is done or failed by the server that holds it.
pub fn run_claimed(pool: &DbPool, job: Claimed) -> Result<(), StoreError> {
    let Claimed {
        campaign_id,
        id,
        attempts,
    } = job;
    let run = (id, attempts);
    let mut conn = pool.get()?;
    let Some(stored) = db::imports::get(&mut conn, campaign_id, id)? else {
        return Ok(());
    };
    if attempts > db::imports::MAX_ATTEMPTS {
        let message = format!(
            "the import was started {} times and its server stopped each time; import the file again: rows already loaded are updated, not duplicated",
            attempts - 1
        );
        let progress = db::imports::Progress {
            rows_read: stored.rows_read,
            created: stored.created,
            updated: stored.updated,
            rejected: stored.rejected,
            errors_json: stored.errors,
        };
        if db::imports::record_held(
            &mut conn,
            campaign_id,
            run,
            &progress,
            Some(("failed", Some(&message))),
        )? {
            db::imports::delete_chunks(&mut conn, campaign_id, id)?;
        }
        return Ok(());
    }
    let fresh = db::imports::Progress {
        errors_json: "[]".into(),
        ..Default::default()
    };
    if !db::imports::record_held(&mut conn, campaign_id, run, &fresh, None)? {
        return Ok(());
    }
    let reader = ChunkReader {
        pool: pool.clone(),
        campaign_id,
        import_id: id,
        next_seq: 0,
        piece: Vec::new(),
        at: 0,
        done: false,
        expected: u64::try_from(stored.bytes).unwrap_or(0),
        read: 0,
    };
    let mut last = Instant::now();
    let mut latest = super::Report::default();
    let mut lost = false;
    let result = super::import_people(
        &mut conn,
        campaign_id,
        std::io::BufReader::new(reader),
        &mut |c, report| {
            latest = report.clone();
            if last.elapsed() >= Duration::from_millis(500) {
                last = Instant::now();
                if !db::imports::record_held(c, campaign_id, run, &progress_of(report), None)? {
                    // Another server runs it now: stop here.
                    lost = true;
                    return Err(diesel::result::Error::RollbackTransaction);
                }
            }
            Ok(())
        },
    );
    if lost {
        tracing::warn!(
            import = id,
            attempt = attempts,
            "another server took the import over; stopped"
        );
        return Ok(());
    }
    let held = match &result {
        Ok(report) => {
            let message = (!report.ignored_columns.is_empty())
                .then(|| format!("ignored columns: {}", report.ignored_columns.join(", ")));
            let held = db::imports::record_held(
                &mut conn,
                campaign_id,
                run,
                &progress_of(report),
                Some(("done", message.as_deref())),
            )?;
            if held {
                tracing::info!(
                    import = id,
                    rows = report.rows_read,
                    created = report.created,
                    updated = report.updated,
                    rejected = report.rejected,
                    attempt = attempts,
                    "import done"
                );
            }
            held
        }
        Err(e) => {
            let message = e.to_string();
            let held = db::imports::record_held(
                &mut conn,
                campaign_id,
                run,
                &progress_of(&latest),
                Some(("failed", Some(&message))),
            )?;
            if held {
                tracing::warn!(import = id, error = %e, "import failed");
            }
            held
        }
    };
    if held {
        db::imports::delete_chunks(&mut conn, campaign_id, id)?;
    }
    Ok(())
}

/// Runs queued imports until the server stops: at once when woken (an upload on this
/// server), otherwise every `interval` (uploads on other servers, runs whose server
/// stopped). One import at a time per server.
pub async fn run_import_jobs(pool: DbPool, interval: Duration, wakeup: Arc<Notify>) {
    loop {
        let claimed = db::write_run(&pool, |conn| {
            db::imports::fail_abandoned_uploads(conn)?;
            Ok::<_, StoreError>(db::imports::claim(conn)?)
        })
        .await;
        match claimed {
            Ok(Some(job)) => {
                let pool = pool.clone();
                match tokio::task::spawn_blocking(move || run_claimed(&pool, job)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        tracing::warn!(import = job.id, error = %e, "import stopped; it runs again when its lease runs out")
                    }
                    Err(e) => tracing::error!(import = job.id, error = %e, "import task failed"),
                }
                continue;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "looking for queued imports failed; retrying"),
        }
        tokio::select! {
            () = wakeup.notified() => {}
            () = tokio::time::sleep(interval) => {}
        }
    }
}
