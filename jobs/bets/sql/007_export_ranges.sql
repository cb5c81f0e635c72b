-- The exporter claims and completes whole ranges of rows instead of updating every row twice (docs/exporter.md,
-- "Ranges"). A row's export position is (ingest_xid, bet_id): ingest_xid is the id of the transaction that
-- inserted it, filled by the column default, so the consumer's INSERT does not change. A range is claimed only
-- below pg_snapshot_xmin(pg_current_snapshot()): every transaction with a smaller id has ended, so no row can ever
-- appear below that horizon again, and a claimed range is final. Completing a batch is one ledger row update.

-- Rows stored before this migration get position xid 1 (below every real transaction id, which start at 3) and
-- are exported in bet_id order by the first ranges. The constant default adds the column without a table rewrite;
-- the volatile default for new rows is set right after.
ALTER TABLE bets ADD COLUMN IF NOT EXISTS ingest_xid xid8 NOT NULL DEFAULT '1';
ALTER TABLE bets ALTER COLUMN ingest_xid SET DEFAULT pg_current_xact_id();
CREATE INDEX IF NOT EXISTS bets_export_position_idx ON bets (ingest_xid, bet_id);

-- Rows exported before migration 003 carry no batch: batch 0 marks them done (no ledger row has id 0).
UPDATE bets SET export_batch = 0 WHERE exported AND export_batch IS NULL;
-- From here on bets.export_batch is set only on these legacy rows (exported, or claimed by a 003 batch that is
-- still pending): ranges skip them, and the pending 003 batches are finished by their batch id, to their key.
-- Dropping the per-row flags also drops 001's and 003's partial indexes on them.
ALTER TABLE bets DROP COLUMN IF EXISTS exported;
ALTER TABLE bets DROP COLUMN IF EXISTS exported_at;
CREATE INDEX IF NOT EXISTS bets_legacy_batch_idx ON bets (export_batch) WHERE export_batch IS NOT NULL;

-- A batch is now the rows of one UTC date (event_date) whose position is in (lo, hi]. A claimed range yields one
-- batch per date present in it, so each object still holds one date. NULL bounds: a batch claimed by 003.
ALTER TABLE export_batches ADD COLUMN IF NOT EXISTS lo_xid xid8;
ALTER TABLE export_batches ADD COLUMN IF NOT EXISTS lo_bet uuid;
ALTER TABLE export_batches ADD COLUMN IF NOT EXISTS hi_xid xid8;
ALTER TABLE export_batches ADD COLUMN IF NOT EXISTS hi_bet uuid;

-- The end of the last claimed range: claims lock this one row, so they are serialised and never overlap.
CREATE TABLE IF NOT EXISTS export_frontier (
    id       boolean PRIMARY KEY DEFAULT true CHECK (id),
    hi_xid   xid8    NOT NULL,
    hi_bet   uuid    NOT NULL
);
INSERT INTO export_frontier (hi_xid, hi_bet) VALUES ('0', '00000000-0000-0000-0000-000000000000')
ON CONFLICT (id) DO NOTHING;

-- Rows whose object is written and completed: what "exported" means now (the audit counts this view).
CREATE OR REPLACE VIEW bets_exported AS
SELECT b.* FROM export_batches e JOIN bets b
    ON b.export_batch IS NULL
   AND (b.ingest_xid, b.bet_id) > (e.lo_xid, e.lo_bet) AND (b.ingest_xid, b.bet_id) <= (e.hi_xid, e.hi_bet)
   AND b.event_time >= e.event_date::timestamp AT TIME ZONE 'UTC'
   AND b.event_time < (e.event_date + 1)::timestamp AT TIME ZONE 'UTC'
WHERE e.exported_at IS NOT NULL AND e.lo_xid IS NOT NULL
UNION ALL
SELECT b.* FROM export_batches e JOIN bets b ON b.export_batch = e.batch_id
WHERE e.exported_at IS NOT NULL AND e.lo_xid IS NULL
UNION ALL
SELECT b.* FROM bets b WHERE b.export_batch = 0;
