-- IoT sensors pipeline (seed 003, docs/iot.md). The operational table the simulator writes and Debezium captures,
-- and the analytics tables the Flink job upserts. Locally both live in the IoT Postgres (wal_level=logical,
-- jobs/local/iot_postgres.py); the generic runner also creates them in Brook's main database, where they stay empty.

-- One row per sensor reading (jobs/iot/contract.py). REPLICA IDENTITY FULL: an update's and a delete's WAL record
-- carry the whole old row, so Debezium's "before" image is complete and Flink can retract exactly what it added.
CREATE TABLE IF NOT EXISTS iot_readings (
    reading_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id   text             NOT NULL CHECK (device_id <> ''),
    device_type text             NOT NULL CHECK (device_type <> ''),
    site        text             NOT NULL CHECK (site <> ''),
    sensor      text             NOT NULL CHECK (sensor <> ''),
    value       double precision NOT NULL CHECK (value = value AND value < 'Infinity' AND value > '-Infinity'),
    unit        text             NOT NULL CHECK (unit <> ''),
    event_time  timestamptz      NOT NULL
);
ALTER TABLE iot_readings REPLICA IDENTITY FULL;

-- 1-minute tumbling windows per device and sensor over the readings that currently exist (UTC wall-clock bounds).
-- last_value: the value of the window's reading with the latest event time (ties: the highest reading_id).
CREATE TABLE IF NOT EXISTS iot_windows (
    window_start  timestamp        NOT NULL,
    window_end    timestamp        NOT NULL,
    device_id     text             NOT NULL,
    sensor        text             NOT NULL,
    reading_count bigint           NOT NULL,
    min_value     double precision NOT NULL,
    max_value     double precision NOT NULL,
    avg_value     double precision NOT NULL,
    last_value    double precision NOT NULL,
    PRIMARY KEY (window_start, device_id, sensor)
);

-- One row per existing reading outside its sensor's alert band (jobs/iot/contract.py SENSORS).
CREATE TABLE IF NOT EXISTS iot_alerts (
    reading_id  bigint           PRIMARY KEY,
    device_id   text             NOT NULL,
    site        text             NOT NULL,
    sensor      text             NOT NULL,
    value       double precision NOT NULL,
    unit        text             NOT NULL,
    event_time  timestamp        NOT NULL,
    direction   text             NOT NULL CHECK (direction IN ('high', 'low')),
    threshold   double precision NOT NULL
);

-- Change events the job could not use (not a Debezium envelope, or a row image that breaks the contract), with the
-- reason; keyed by their place in the topic, so a replay stores nothing twice.
CREATE TABLE IF NOT EXISTS iot_dead_letters (
    topic_partition integer NOT NULL,
    topic_offset    bigint  NOT NULL,
    reason          text    NOT NULL,
    payload         text,
    PRIMARY KEY (topic_partition, topic_offset)
);
