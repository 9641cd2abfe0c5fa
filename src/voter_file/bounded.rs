//! A reader that keeps every CSV record short, so that parsing a voter file takes the
//! same memory whatever lines it holds.
//!
//! The `csv` crate grows its record buffer to fit the longest record: one 100 MB line
//! cost the import about 600 MB, and a stray opening quote can make the rest of the file
//! a single record. [`BoundedRecords`] sits between the file and the parser, follows the
//! CSV quoting as the parser does, and cuts any record longer than the limit: it ends
//! the record where the limit falls (closing an open quote) and drops the rest of it.
//! The lines where cut records start are noted, and the import rejects those rows by
//! line number; the newlines dropped with them are counted, so that every line number
//! the parser reports can be told as a line of the file.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::{self, Read};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Where the reader stands in the CSV grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a field (or of a record).
    FieldStart,
    /// In a field that did not start with a quote.
    Unquoted,
    /// Inside a quoted field.
    Quoted,
    /// Just after a quote inside a quoted field: the end of the field or an escaped `""`.
    QuoteInQuoted,
}

/// What the reader cut, as the parser sees it: which records were cut (by their index,
/// counting from 0 as the `csv` crate does, header included), and from which line (as
/// the parser counts them) on how many of the file's newlines had been dropped.
#[derive(Debug, Clone, Default)]
pub struct CutLines(Arc<Mutex<Cuts>>);

#[derive(Debug, Default)]
struct Cuts {
    starts: BTreeSet<u64>,
    /// Parser line → newlines of the file dropped before it (from that line on).
    dropped: BTreeMap<u64, u64>,
}

impl CutLines {
    fn cuts(&self) -> MutexGuard<'_, Cuts> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the record with this index was cut; forgets it.
    pub fn take(&self, record: u64) -> bool {
        self.cuts().starts.remove(&record)
    }

    /// The line of the file that the parser's `line` is.
    pub fn file_line(&self, line: u64) -> u64 {
        let cuts = self.cuts();
        line + cuts
            .dropped
            .range(..=line)
            .next_back()
            .map_or(0, |(_, n)| *n)
    }
}

/// Passes CSV through, cutting records longer than `max_bytes`.
pub struct BoundedRecords<R> {
    inner: R,
    max_bytes: usize,
    state: State,
    /// Bytes of the current record passed on.
    record_bytes: usize,
    /// The index of the current record (empty lines are no records), and the line
    /// being written (as the parser counts them).
    record: u64,
    line: u64,
    /// Dropping the rest of a cut record.
    dropping: bool,
    /// Newlines of the file dropped so far.
    dropped: u64,
    /// The cut record was inside quotes where it was cut: its end closes them.
    close_quote: bool,
    /// Bytes to hand out before the next input byte (the end of a cut record): never
    /// more than two.
    pending: VecDeque<u8>,
    buffer: Box<[u8]>,
    position: usize,
    filled: usize,
    cut: CutLines,
}

impl<R: Read> BoundedRecords<R> {
    pub fn new(inner: R, max_bytes: usize) -> Self {
        BoundedRecords {
            inner,
            max_bytes: max_bytes.max(1),
            state: State::FieldStart,
            record_bytes: 0,
            record: 0,
            line: 1,
            dropping: false,
            dropped: 0,
            close_quote: false,
            pending: VecDeque::with_capacity(4),
            buffer: vec![0; 64 * 1024].into_boxed_slice(),
            position: 0,
            filled: 0,
            cut: CutLines::default(),
        }
    }

    /// The lines where cut records start, to be asked while parsing.
    pub fn cut_lines(&self) -> CutLines {
        self.cut.clone()
    }

    /// Moves the grammar on by one byte; whether it ended a record. A carriage return
    /// outside quotes ends one too, as it does for the parser.
    fn step(&mut self, byte: u8) -> bool {
        let (next, ends) = match (self.state, byte) {
            (State::Quoted, b'"') => (State::QuoteInQuoted, false),
            (State::Quoted, _) => (State::Quoted, false),
            (State::QuoteInQuoted, b'"') => (State::Quoted, false),
            (State::FieldStart, b'"') => (State::Quoted, false),
            (_, b',') => (State::FieldStart, false),
            (_, b'\n' | b'\r') => (State::FieldStart, true),
            _ => (State::Unquoted, false),
        };
        self.state = next;
        ends
    }

    fn record_ended(&mut self) {
        self.record_bytes = 0;
        self.record += 1;
    }
}

impl<R: Read> Read for BoundedRecords<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let mut written = 0;
        while written < out.len() {
            if let Some(byte) = self.pending.pop_front() {
                out[written] = byte;
                written += 1;
                continue;
            }
            if self.position == self.filled {
                if written > 0 {
                    break; // hand over what there is before waiting for more
                }
                self.filled = self.inner.read(&mut self.buffer)?;
                self.position = 0;
                if self.filled == 0 {
                    break;
                }
            }
            let byte = self.buffer[self.position];
            self.position += 1;
            let was = self.state;
            let ends = self.step(byte);
            if self.dropping {
                if ends {
                    // The cut record ends with the file's own line end.
                    self.dropping = false;
                    if self.close_quote {
                        self.pending.push_back(b'"');
                    }
                    self.pending.push_back(byte);
                    if byte == b'\n' {
                        self.line += 1;
                    }
                    self.record_ended();
                    let mut cuts = self.cut.cuts();
                    cuts.dropped.insert(self.line, self.dropped);
                } else if byte == b'\n' {
                    self.dropped += 1;
                }
                continue;
            }
            if !ends && self.record_bytes >= self.max_bytes {
                // Too long: the rest of the record is dropped, up to its end.
                self.cut.cuts().starts.insert(self.record);
                self.dropping = true;
                self.close_quote = was == State::Quoted;
                if byte == b'\n' {
                    self.dropped += 1; // a newline inside quotes
                }
                continue;
            }
            out[written] = byte;
            written += 1;
            if byte == b'\n' {
                self.line += 1;
            }
            if !ends {
                self.record_bytes += 1;
            } else if self.record_bytes > 0 {
                // An empty line (such as the \n of a \r\n) is no record to the parser.
                self.record_ended();
            }
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the parser makes of `input` behind the bounded reader: each record's line
    /// and fields, and the lines of cut records.
    fn parse(input: &[u8], max: usize) -> (Vec<(u64, Vec<String>, bool)>, usize) {
        let bounded = BoundedRecords::new(input, max);
        let cut = bounded.cut_lines();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(bounded);
        let mut rows = Vec::new();
        let mut record = csv::ByteRecord::new();
        let mut longest = 0;
        while reader.read_byte_record(&mut record).unwrap_or(false) {
            longest = longest.max(record.as_slice().len());
            let at = record
                .position()
                .cloned()
                .unwrap_or_else(csv::Position::new);
            let (line, was_cut) = (cut.file_line(at.line()), cut.take(at.record()));
            let fields = record
                .iter()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect();
            rows.push((line, fields, was_cut));
        }
        (rows, longest)
    }

    #[test]
    fn short_records_pass_unchanged_with_their_lines() {
        let input = b"a,b\n\"x\ny\",\"q\"\"q\"\n1,2\n";
        let (rows, _) = parse(input, 100);
        let expected = vec![
            (1, vec!["a".to_owned(), "b".to_owned()], false),
            (2, vec!["x\ny".to_owned(), "q\"q".to_owned()], false),
            (4, vec!["1".to_owned(), "2".to_owned()], false),
        ];
        assert_eq!(rows, expected);
    }

    #[test]
    fn a_long_record_is_cut_and_noted_and_its_neighbours_keep_their_lines() {
        let mut input = b"id,name\n1,short\n2,".to_vec();
        input.extend(std::iter::repeat_n(b'x', 1_000_000));
        input.extend(b"\n3,after\n");
        let (rows, longest) = parse(&input, 1000);
        assert!(longest <= 1000, "{longest}");
        let summary: Vec<(u64, String, bool)> = rows
            .iter()
            .map(|(l, f, c)| (*l, f[0].clone(), *c))
            .collect();
        assert_eq!(
            summary,
            [
                (1, "id".to_owned(), false),
                (2, "1".to_owned(), false),
                (3, "2".to_owned(), true),
                (4, "3".to_owned(), false),
            ]
        );
    }

    #[test]
    fn an_open_quote_does_not_swallow_the_file() {
        // A quoted field with many lines inside, longer than the limit, then rows.
        let mut input = b"1,\"".to_vec();
        for _ in 0..500 {
            input.extend(b"a line inside the quotes\n");
        }
        input.extend(b"\",end\n2,next\n3,\"quoted, fine\"\n");
        let (rows, longest) = parse(&input, 200);
        assert!(longest <= 200, "{longest}");
        let summary: Vec<(u64, String, bool)> = rows
            .iter()
            .map(|(l, f, c)| (*l, f[0].clone(), *c))
            .collect();
        assert_eq!(
            summary,
            [
                (1, "1".to_owned(), true),
                (502, "2".to_owned(), false),
                (503, "3".to_owned(), false),
            ]
        );
        assert_eq!(rows[2].1[1], "quoted, fine");
    }

    #[test]
    fn crlf_files_keep_the_line_numbers_the_parser_gives_them() {
        let file = |long: usize| {
            let mut input = b"id,name\r\n1,".to_vec();
            input.extend(std::iter::repeat_n(b'x', long));
            input.extend(b"\r\n2,after\r\n3,\"two\r\nlines\"\r\n4,end\r\n");
            input
        };
        let lines = |rows: &[(u64, Vec<String>, bool)]| -> Vec<(u64, String, bool)> {
            rows.iter()
                .map(|(l, f, c)| (*l, f[0].clone(), *c))
                .collect()
        };
        let (short, _) = parse(&file(5), 100);
        let (long, _) = parse(&file(5000), 100);
        let mut expected = lines(&short);
        expected[1].2 = true;
        assert_eq!(lines(&long), expected);
    }
}
