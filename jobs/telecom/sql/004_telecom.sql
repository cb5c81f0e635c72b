-- Telecom pipeline (seed 002, docs/telecom.md). Exact numeric types so that the daily batch and its validation
-- can compare totals for equality instead of within a float tolerance.

-- Flink's 1-minute event-time windows per (event_type, region), JDBC upserts on the primary key.
-- Units: total_duration in seconds, total_data_mb in megabytes, total_amount in tenge (KZT).
CREATE TABLE IF NOT EXISTS real_time_metrics (
    window_start   timestamptz   NOT NULL,
    window_end     timestamptz   NOT NULL,
    event_type     text          NOT NULL,
    region         text          NOT NULL,
    event_count    bigint        NOT NULL,
    total_duration bigint        NOT NULL,
    total_data_mb  numeric(18,3) NOT NULL,
    total_amount   numeric(18,2) NOT NULL,
    processed_at   timestamptz   NOT NULL DEFAULT now(),  -- first write of the row (an upsert keeps it)
    PRIMARY KEY (window_start, event_type, region)
);

-- Events that arrived after the watermark had closed their window: one row per event (upsert on event_id), so
-- they are counted instead of silently dropped; window_* name the window they missed.
CREATE TABLE IF NOT EXISTS telecom_late_events (
    event_id      text          PRIMARY KEY,  -- a UUID (contract); text because Flink writes strings
    event_time    timestamptz   NOT NULL,
    window_start  timestamptz   NOT NULL,
    window_end    timestamptz   NOT NULL,
    event_type    text          NOT NULL,
    region        text          NOT NULL,
    duration      bigint        NOT NULL,
    data_mb       numeric(18,3) NOT NULL,
    amount        numeric(18,2) NOT NULL,
    watermark     timestamptz   NOT NULL,  -- the watermark the event was behind
    detected_at   timestamptz   NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS telecom_late_events_window ON telecom_late_events (window_start);

-- Daily statistics recomputed from real_time_metrics for one UTC date in one transaction (jobs/telecom/daily_batch):
-- one row per (event_type, region), one per event_type with region 'ALL', and one row with
-- event_type 'most_active' naming the region with the most events that day (its totals over every type).
-- Units: hours = seconds / 3600; TB = MB / 1024 / 1024 (binary, as the seed); amount in tenge.
CREATE TABLE IF NOT EXISTS daily_stats (
    date                   date          NOT NULL,
    event_type             text          NOT NULL,
    region                 text          NOT NULL,
    total_events           bigint        NOT NULL,
    total_duration_hours   numeric(20,6) NOT NULL,
    total_data_tb          numeric(20,9) NOT NULL,
    total_amount           numeric(20,2) NOT NULL,
    avg_duration_seconds   numeric(14,3) NOT NULL,
    avg_data_per_event_mb  numeric(14,3) NOT NULL,
    windows                integer       NOT NULL,  -- real_time_metrics rows summed into this one
    computed_at            timestamptz   NOT NULL DEFAULT now(),
    PRIMARY KEY (date, event_type, region)
);
