//! Voter-file import: a CSV stream read row by row, checked, and stored in batches of
//! one transaction each. Memory holds one batch, never the file, so a million rows load
//! in the same space as a thousand. A bad row is reported with its line and skipped.

pub mod row;

use std::collections::HashSet;
use std::io::Read;

use chrono::Datelike;
use diesel::Connection;
use serde::Serialize;

use crate::db::{DbConnection, people};
use row::{Header, PersonRecord};

/// Rows per transaction: large enough that commits are not the cost, small enough that
/// a batch stays well inside both backends' limits on bound parameters.
pub const BATCH_ROWS: usize = 1000;
/// How many row errors a report keeps (the counts are always complete).
pub const MAX_REPORTED_ERRORS: usize = 100;

/// A skipped row: its line in the file (the header is line 1) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RowError {
    pub line: u64,
    pub reason: String,
}

/// What an import has done so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub rows_read: u64,
    pub created: u64,
    pub updated: u64,
    pub rejected: u64,
    pub errors: Vec<RowError>,
    pub ignored_columns: Vec<String>,
}

impl Report {
    fn reject(&mut self, line: u64, reason: String) {
        self.rejected += 1;
        if self.errors.len() < MAX_REPORTED_ERRORS {
            self.errors.push(RowError { line, reason });
        }
    }
}

/// Why a whole import stopped.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    Header(String),
    #[error("reading the file failed: {0}")]
    Read(String),
    #[error("storing rows failed: {0}")]
    Store(#[from] diesel::result::Error),
}

/// Imports people from a CSV stream into a campaign. `progress` runs after every batch
/// with the connection (outside the batch's transaction) and the running report.
pub fn import_people<R: Read>(
    conn: &mut DbConnection,
    campaign_id: i64,
    input: R,
    progress: &mut dyn FnMut(&mut DbConnection, &Report) -> diesel::QueryResult<()>,
) -> Result<Report, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(input);
    let header_row = reader
        .byte_headers()
        .map_err(|e| ImportError::Read(e.to_string()))?
        .clone();
    let names: Vec<String> = header_row
        .iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    if names.iter().all(|n| n.trim().is_empty()) {
        return Err(ImportError::Header(
            "the file is empty: expected a header row".into(),
        ));
    }
    let header = Header::parse(names.iter().map(String::as_str)).map_err(ImportError::Header)?;
    let mut report = Report {
        ignored_columns: header.ignored.clone(),
        ..Report::default()
    };
    let this_year = i64::from(chrono::Utc::now().year());

    let mut batch: Vec<PersonRecord> = Vec::with_capacity(BATCH_ROWS);
    let mut in_batch: HashSet<String> = HashSet::with_capacity(BATCH_ROWS);
    let mut record = csv::ByteRecord::new();
    let mut flush = |conn: &mut DbConnection,
                     batch: &mut Vec<PersonRecord>,
                     in_batch: &mut HashSet<String>,
                     report: &mut Report|
     -> Result<(), ImportError> {
        if batch.is_empty() {
            return Ok(());
        }
        let done = conn.transaction(|c| people::upsert_batch(c, campaign_id, batch))?;
        if report.created + report.updated == 0 {
            people::ensure_planner_statistics(conn)?;
        }
        report.created += done.created;
        report.updated += done.updated;
        batch.clear();
        in_batch.clear();
        progress(conn, report)?;
        Ok(())
    };
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) if e.is_io_error() => return Err(ImportError::Read(e.to_string())),
            Err(e) => {
                // Anything else is about this record; the reader goes on with the next.
                report.rows_read += 1;
                let line = e.position().map_or(0, csv::Position::line);
                report.reject(line, format!("unreadable CSV: {e}"));
                continue;
            }
        }
        report.rows_read += 1;
        let line = record.position().map_or(0, csv::Position::line);
        if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
            report.rows_read -= 1; // a blank line is not a row
            continue;
        }
        let fields: Result<Vec<&str>, _> = record.iter().map(std::str::from_utf8).collect();
        let Ok(fields) = fields else {
            report.reject(line, "the row is not valid UTF-8".into());
            continue;
        };
        match row::parse_row(&header, &fields, this_year) {
            Ok(person) => {
                if in_batch.contains(&person.external_id) {
                    // The same person twice in one batch: store the first before the second.
                    flush(conn, &mut batch, &mut in_batch, &mut report)?;
                }
                in_batch.insert(person.external_id.clone());
                batch.push(person);
                if batch.len() >= BATCH_ROWS {
                    flush(conn, &mut batch, &mut in_batch, &mut report)?;
                }
            }
            Err(reason) => report.reject(line, reason),
        }
    }
    flush(conn, &mut batch, &mut in_batch, &mut report)?;
    Ok(report)
}
