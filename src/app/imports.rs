//! Starting a voter-file import: the upload is stored in the database a piece at a time
//! as it arrives (never held whole in memory), its header checked, and the run queued
//! for whichever server takes it (`crate::import::jobs`). The HTTP handler only moves
//! the body's chunks from the socket into a [`Spool`] and stores what it hands back.

use super::{Actor, AppError};
use crate::db::imports::ImportRun;
use crate::db::{self, DbConnection};
use crate::import;

/// Stored body bytes are written in pieces of this size.
pub const PIECE_BYTES: usize = 1024 * 1024;

/// The answer for a file over the import limit.
pub fn too_large(limit: u64) -> AppError {
    AppError::TooLarge {
        message: format!("the file is larger than the import limit of {limit} bytes"),
        details: serde_json::json!({ "limit_bytes": limit }),
    }
}

/// An upload on its way in: counts its bytes against the limit, keeps the file's
/// first bytes for the header check, and cuts the body into pieces to store.
#[derive(Debug)]
pub struct Spool {
    limit: u64,
    total: u64,
    start: Vec<u8>,
    buffer: Vec<u8>,
    seq: i64,
}

/// One piece of the file to store, numbered from 0.
#[derive(Debug, PartialEq, Eq)]
pub struct Piece {
    pub seq: i64,
    pub data: Vec<u8>,
}

impl Spool {
    pub fn new(limit: u64) -> Self {
        Spool {
            limit,
            total: 0,
            start: Vec::new(),
            buffer: Vec::new(),
            seq: 0,
        }
    }

    /// Takes the next bytes of the body; a full piece comes back to be stored.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Option<Piece>, AppError> {
        self.total += chunk.len() as u64;
        if self.total > self.limit {
            return Err(too_large(self.limit));
        }
        let room = import::MAX_ROW_BYTES.saturating_sub(self.start.len());
        self.start
            .extend_from_slice(&chunk[..room.min(chunk.len())]);
        self.buffer.extend_from_slice(chunk);
        Ok((self.buffer.len() >= PIECE_BYTES).then(|| self.piece()))
    }

    fn piece(&mut self) -> Piece {
        let piece = Piece {
            seq: self.seq,
            data: std::mem::take(&mut self.buffer),
        };
        self.seq += 1;
        piece
    }

    /// The body has ended: checks that it holds a header row the import can read, and
    /// gives the last piece to store (if any) and the file's size.
    pub fn finish(mut self) -> Result<(Option<Piece>, u64), AppError> {
        if self.total == 0 {
            return Err(AppError::invalid(
                "body",
                "the file is empty: expected a header row and people",
            ));
        }
        let whole = self.total == self.start.len() as u64;
        import::check_header(&self.start, whole)
            .map_err(|e| AppError::invalid("body", e.to_string()))?;
        let last = (!self.buffer.is_empty()).then(|| self.piece());
        Ok((last, self.total))
    }
}

/// Opens an import of `kind` for the actor's campaign; its pieces follow.
pub fn open(conn: &mut DbConnection, actor: Actor, kind: &str) -> Result<ImportRun, AppError> {
    Ok(db::imports::create(
        conn,
        actor.campaign_id,
        kind,
        Some(actor.user_id),
    )?)
}

/// Stores one piece of an open import.
pub fn store_piece(
    conn: &mut DbConnection,
    run: &ImportRun,
    piece: &Piece,
) -> Result<(), AppError> {
    Ok(db::imports::add_chunk(
        conn,
        run.campaign_id,
        run.id,
        piece.seq,
        &piece.data,
    )?)
}

/// Queues a whole upload of `bytes` bytes for a server to run, and records who started
/// it.
pub fn queue(
    conn: &mut DbConnection,
    actor: Actor,
    run: &ImportRun,
    bytes: u64,
) -> Result<ImportRun, AppError> {
    let queued = db::imports::queue(
        conn,
        run.campaign_id,
        run.id,
        i64::try_from(bytes).unwrap_or(i64::MAX),
    )?;
    actor.audit(
        conn,
        "import.start",
        ("import", Some(run.id)),
        serde_json::json!({ "kind": run.kind, "bytes": bytes }),
    )?;
    Ok(queued)
}

/// Forgets a refused upload: nothing of it is kept.
pub fn discard(conn: &mut DbConnection, run: &ImportRun) -> Result<(), AppError> {
    Ok(db::imports::discard(conn, run.campaign_id, run.id)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_cut_into_numbered_pieces_and_the_rest_comes_at_the_end() {
        let mut spool = Spool::new(10 * PIECE_BYTES as u64);
        let mut pieces = Vec::new();
        let line = b"external_id,first_name,last_name,street,housenumber,lat,lng\n".to_vec();
        pieces.extend(spool.push(&line).expect("under the limit"));
        let body = vec![b'x'; PIECE_BYTES + 10];
        pieces.extend(spool.push(&body).expect("under the limit"));
        assert_eq!(pieces.len(), 1);
        assert_eq!(pieces[0].seq, 0);
        assert_eq!(pieces[0].data.len(), line.len() + body.len());
        let tail = b"more";
        assert!(spool.push(tail).expect("under the limit").is_none());
        let (last, total) = spool.finish().expect("a readable header");
        let last = last.expect("the tail is a piece");
        assert_eq!((last.seq, last.data.as_slice()), (1, &tail[..]));
        assert_eq!(total, (line.len() + body.len() + tail.len()) as u64);
    }

    #[test]
    fn a_body_over_the_limit_is_refused_with_the_limit() {
        let mut spool = Spool::new(5);
        assert!(spool.push(b"abc").is_ok());
        match spool.push(b"def") {
            Err(AppError::TooLarge { details, .. }) => assert_eq!(details["limit_bytes"], 5),
            other => panic!("expected too large, got {other:?}"),
        }
    }

    #[test]
    fn an_empty_body_or_an_unreadable_header_is_refused_before_it_is_queued() {
        assert!(matches!(
            Spool::new(100).finish(),
            Err(AppError::Invalid { .. })
        ));
        let mut spool = Spool::new(1000);
        spool
            .push(b"colour,size\nred,2\n")
            .expect("under the limit");
        assert!(matches!(spool.finish(), Err(AppError::Invalid { .. })));
    }
}
