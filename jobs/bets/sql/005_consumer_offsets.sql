-- The consumer's position, committed in the same transaction as the rows it stored (docs/design.md §5).
-- Kafka's committed offsets stay (lag monitoring, tools), but this table is the truth on restart: after a database
-- restored to an earlier point in time, Kafka's offsets are ahead of the restored rows, and only a position that
-- was restored with them re-ingests exactly what the database lost. Delete a group's rows to replay by Kafka alone.
CREATE TABLE IF NOT EXISTS consumer_offsets (
    consumer_group  text        NOT NULL,
    topic           text        NOT NULL,
    partition       integer     NOT NULL,
    next_offset     bigint      NOT NULL CHECK (next_offset >= 0),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, topic, partition)
);
