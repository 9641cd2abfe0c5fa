//! Voter-file import: a CSV stream read row by row, checked, and stored in batches of
//! one transaction each. Memory holds a few batches, never the file, so a million rows
//! load in the same space as a thousand. A bad row is reported with its line and skipped.
//!
//! Reading and checking run on a thread of their own, one batch ahead of the writes:
//! parsing the next batch (CSV, address keys, H3 cells) overlaps storing this one.

pub mod jobs;

pub use crate::voter_file::{bounded, row};

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};
use std::io::Read;
use std::sync::mpsc;

use chrono::Datelike;
use diesel::Connection;
use serde::Serialize;

use crate::db::{DbConnection, people};
use row::{Header, PersonRecord};

/// Rows per transaction: large enough that commits are not the cost, small enough that
/// a batch holds SQLite's write lock only briefly. Both backends take a batch in a few
/// statements whatever its size, so there is no limit on bound parameters to respect.
pub const BATCH_ROWS: usize = 5000;
/// The longest row read, in bytes: a longer one is rejected by its line number without
/// being held in memory (see [`bounded`]). Voter files with a hundred columns fit ten
/// times over.
pub const MAX_ROW_BYTES: usize = 64 * 1024;
/// The tables an import grows.
const VOTER_TABLES: [&str; 2] = ["doors", "people"];
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

/// Reads the header row from the start of a file (`whole`: the file is no longer) and
/// checks it as the import will, so that a file that cannot be imported at all is
/// refused before it is queued. `Ok` when the header is fine, or when `start` ends
/// before the header row does (the import itself will tell).
pub fn check_header(start: &[u8], whole: bool) -> Result<(), ImportError> {
    let complete = whole || start.contains(&b'\n');
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(bounded::BoundedRecords::new(start, MAX_ROW_BYTES));
    let names = match reader.byte_headers() {
        Ok(row) => row
            .iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect::<Vec<String>>(),
        Err(_) if !complete => return Ok(()),
        Err(e) => return Err(ImportError::Read(e.to_string())),
    };
    if !complete {
        return Ok(());
    }
    header_of(&names).map(|_| ())
}

/// The known columns of a header row, or why it cannot be imported.
fn header_of(names: &[String]) -> Result<Header, ImportError> {
    if names.iter().all(|n| n.trim().is_empty()) {
        return Err(ImportError::Header(
            "the file is empty: expected a header row".into(),
        ));
    }
    Header::parse(names.iter().map(String::as_str)).map_err(ImportError::Header)
}

/// Imports people from a CSV stream into a campaign. `progress` runs after every batch
/// with the connection (outside the batch's transaction) and the running report.
pub fn import_people<R: Read + Send>(
    conn: &mut DbConnection,
    campaign_id: i64,
    input: R,
    progress: &mut dyn FnMut(&mut DbConnection, &Report) -> diesel::QueryResult<()>,
) -> Result<Report, ImportError> {
    let bounded = bounded::BoundedRecords::new(input, MAX_ROW_BYTES);
    let cut = bounded.cut_lines();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(bounded);
    let header_row = reader
        .byte_headers()
        .map_err(|e| ImportError::Read(e.to_string()))?
        .clone();
    let names: Vec<String> = header_row
        .iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    let header = header_of(&names)?;
    let mut report = Report {
        ignored_columns: header.ignored.clone(),
        ..Report::default()
    };
    let this_year = i64::from(chrono::Utc::now().year());

    people::with_import_settings(conn, |conn| {
        std::thread::scope(|scope| {
            // One batch may wait while the next is being read: at most three in memory.
            let (batches, received) = mpsc::sync_channel(1);
            let (stored, reusable) = mpsc::channel();
            let header = &header;
            scope.spawn(move || read_batches(reader, &cut, header, this_year, &batches, &reusable));
            // Returning drops `received`, which stops the reader at its next batch.
            store_batches(conn, campaign_id, &mut report, &received, &stored, progress)
        })
    })?;
    // Statistics that describe the tables as they are now: this load may have doubled
    // them (a second campaign, say), which the planner would not know for a while.
    crate::db::analyze_if_grown(conn, &VOTER_TABLES, report.created)?;
    Ok(report)
}

/// What the reading thread hands over: a batch of good rows, and the rows read and
/// rejected since the previous batch. The last one may hold no rows.
struct Parsed {
    people: Vec<PersonRecord>,
    rows_read: u64,
    rejected: u64,
    errors: Vec<RowError>,
}

/// Stores what the reader sends, in order, until it is done or something fails.
fn store_batches(
    conn: &mut DbConnection,
    campaign_id: i64,
    report: &mut Report,
    received: &mpsc::Receiver<Result<Parsed, ImportError>>,
    stored: &mpsc::Sender<Vec<PersonRecord>>,
    progress: &mut dyn FnMut(&mut DbConnection, &Report) -> diesel::QueryResult<()>,
) -> Result<(), ImportError> {
    // The reader ends the stream by hanging up, after its last batch or an error.
    for parsed in received {
        let mut parsed = parsed?;
        report.rows_read += parsed.rows_read;
        report.rejected += parsed.rejected;
        report.errors.append(&mut parsed.errors);
        if parsed.people.is_empty() {
            continue;
        }
        let done = conn.transaction(|c| people::upsert_batch(c, campaign_id, &parsed.people))?;
        if report.created + report.updated == 0 {
            // The next batches are planned with what the first one left.
            crate::db::analyze_if_grown(conn, &VOTER_TABLES, done.created)?;
        }
        report.created += done.created;
        report.updated += done.updated;
        // Back to the reader to parse into again (if it has finished, they are dropped).
        let _ = stored.send(parsed.people);
        progress(conn, report)?;
    }
    Ok(())
}

/// Reads and checks rows, sending them in batches of [`BATCH_ROWS`]. Stops at the end of
/// the input, at an error reading it (sent on), or when the receiver hangs up.
///
/// Rows are parsed into the records of batches already stored, which come back through
/// `reusable`: their strings keep their memory, and no record is allocated on this
/// thread to be freed on the other (which the allocator handles slowly).
fn read_batches<R: Read>(
    mut reader: csv::Reader<R>,
    cut: &bounded::CutLines,
    header: &Header,
    this_year: i64,
    batches: &mpsc::SyncSender<Result<Parsed, ImportError>>,
    reusable: &mpsc::Receiver<Vec<PersonRecord>>,
) {
    let mut pool: Vec<PersonRecord> = Vec::new();
    let next_batch = |pool: &mut Vec<PersonRecord>| {
        let mut people = Vec::new();
        for mut records in reusable.try_iter() {
            pool.append(&mut records);
            if people.capacity() == 0 {
                people = records;
            }
        }
        if people.capacity() == 0 {
            people.reserve(BATCH_ROWS);
        }
        Parsed {
            people,
            rows_read: 0,
            rejected: 0,
            errors: Vec::new(),
        }
    };
    let mut parsed = next_batch(&mut pool);
    // Hashes of the external ids in the batch being read: a person twice in one batch
    // ends it, so the first is stored before the second.
    let ids = RandomState::new();
    let mut in_batch: HashSet<u64> = HashSet::with_capacity(BATCH_ROWS);
    // Row errors sent so far, to keep no more than a report holds.
    let mut errors_kept = 0;
    let mut reject = |parsed: &mut Parsed, line: u64, reason: String| {
        parsed.rejected += 1;
        if errors_kept < MAX_REPORTED_ERRORS {
            errors_kept += 1;
            parsed.errors.push(RowError { line, reason });
        }
    };
    let mut record = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) if e.is_io_error() => {
                let _ = batches.send(Err(ImportError::Read(e.to_string())));
                return;
            }
            Err(e) => {
                // Anything else is about this record; the reader goes on with the next.
                parsed.rows_read += 1;
                let at = e.position().cloned().unwrap_or_else(csv::Position::new);
                cut.take(at.record());
                let line = cut.file_line(at.line());
                reject(&mut parsed, line, format!("unreadable CSV: {e}"));
                continue;
            }
        }
        let at = record
            .position()
            .cloned()
            .unwrap_or_else(csv::Position::new);
        let line = cut.file_line(at.line());
        if cut.take(at.record()) {
            parsed.rows_read += 1;
            reject(
                &mut parsed,
                line,
                format!("the row is longer than {MAX_ROW_BYTES} bytes"),
            );
            continue;
        }
        if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
            continue; // a blank line is not a row
        }
        parsed.rows_read += 1;
        let fields: Result<Vec<&str>, _> = record.iter().map(std::str::from_utf8).collect();
        let Ok(fields) = fields else {
            reject(&mut parsed, line, "the row is not valid UTF-8".into());
            continue;
        };
        let mut person = pool.pop().unwrap_or_default();
        if let Err(reason) = row::parse_row_into(header, &fields, this_year, &mut person) {
            pool.push(person);
            reject(&mut parsed, line, reason);
            continue;
        }
        let id = ids.hash_one(person.external_id.as_str());
        if in_batch.contains(&id)
            && parsed
                .people
                .iter()
                .any(|p| p.external_id == person.external_id)
        {
            let full = std::mem::replace(&mut parsed, next_batch(&mut pool));
            in_batch.clear();
            if batches.send(Ok(full)).is_err() {
                return;
            }
        }
        in_batch.insert(id);
        parsed.people.push(person);
        if parsed.people.len() >= BATCH_ROWS {
            let full = std::mem::replace(&mut parsed, next_batch(&mut pool));
            in_batch.clear();
            if batches.send(Ok(full)).is_err() {
                return;
            }
        }
    }
    let _ = batches.send(Ok(parsed));
}
