-- The exporter's batch ledger (DESIGN §2.3, docs/exporter.md). A batch is claimed once and for all: its rows get
-- bets.export_batch in the same short transaction that creates the batch, so a row belongs to exactly one batch,
-- and the batch's object key is fixed at claim time, so every retry of the batch overwrites the same object.
-- A batch is done (exported_at set) in the same transaction that marks its rows exported = true.
CREATE TABLE IF NOT EXISTS export_batches (
    batch_id     bigserial   PRIMARY KEY,
    event_date   date        NOT NULL,                -- the UTC date of every event_time in the batch
    object_key   text        NOT NULL UNIQUE,         -- raw/YYYY-MM-DD/part-<batch_id>-<fingerprint>.parquet
    row_count    integer     NOT NULL CHECK (row_count > 0),
    claimed_at   timestamptz NOT NULL DEFAULT now(),
    leased_at    timestamptz,                         -- last time a live run took the batch; NULL = free
    attempts     integer     NOT NULL DEFAULT 1,      -- runs that took the batch (1 + recoveries)
    bytes        bigint,                              -- size of the object that was committed
    exported_at  timestamptz                          -- NULL while the batch is pending
);

-- Pending batches are few; recovery scans only them.
CREATE INDEX IF NOT EXISTS export_batches_pending_idx ON export_batches (batch_id) WHERE exported_at IS NULL;

-- The batch a row was claimed into (NULL: not yet claimed). Deliberately not a foreign key: only the exporter
-- writes it, and the per-row check cost ~45% of the claim (measured, docs/exporter.md).
ALTER TABLE bets ADD COLUMN IF NOT EXISTS export_batch bigint;

-- Reading and marking a batch look its rows up by batch id; the index is partial, so it holds only rows on their
-- way out and stays small as the table grows. Claiming walks 001's bets_unexported_idx (event_time WHERE NOT
-- exported), skipping the few rows of pending batches: no extra index for the consumer's inserts to maintain.
CREATE INDEX IF NOT EXISTS bets_export_batch_idx ON bets (export_batch) WHERE NOT exported;
