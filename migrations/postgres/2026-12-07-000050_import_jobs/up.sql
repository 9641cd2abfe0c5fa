-- Imports as jobs any server can run: the uploaded file is kept in the database in
-- pieces (import_chunks) instead of a temporary file of the server that received it,
-- and a server runs a queued import under a lease it renews while it makes progress.
-- When a server stops mid-import its lease runs out and another server (or the same
-- one restarted) runs the import again from the start: rows already stored are updated,
-- not duplicated. Imports left unfinished before this migration had their file on a
-- server's disk; they are failed here, visibly.
ALTER TABLE imports ADD COLUMN lease_until TIMESTAMP;
ALTER TABLE imports ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE imports ADD COLUMN bytes BIGINT NOT NULL DEFAULT 0;

CREATE TABLE import_chunks (
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    import_id BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (campaign_id, import_id, seq)
);

UPDATE imports
   SET status = 'failed',
       message = 'the server was upgraded while this import waited or ran; import the file again: rows already loaded are updated, not duplicated',
       finished_at = (now() AT TIME ZONE 'UTC')
 WHERE finished_at IS NULL;
