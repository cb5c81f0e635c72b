-- Cinema ELT pipeline (seed 004, docs/cinema.md). The same tables exist in the OLTP database (the publisher) and in
-- the warehouse (the subscriber): logical replication copies rows, not DDL, so one migration serves both databases.
-- The generic runner also creates them in Brook's main database, where they stay empty.

CREATE TABLE IF NOT EXISTS cinema_viewers (
    viewer_id    uuid        PRIMARY KEY,
    name         text        NOT NULL,
    country      text        NOT NULL,
    signed_up_at timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS cinema_films (
    film_id      uuid    PRIMARY KEY,
    title        text    NOT NULL,
    genre        text    NOT NULL,
    duration_s   integer NOT NULL CHECK (duration_s > 0),
    release_year integer NOT NULL
);

-- One row per player event (jobs/cinema/contract.py). The foreign keys hold on the publisher; the subscriber's
-- apply worker does not fire them (it copies what the publisher already checked).
CREATE TABLE IF NOT EXISTS cinema_events (
    event_id    uuid        PRIMARY KEY,
    session_id  uuid        NOT NULL,
    seq         integer     NOT NULL CHECK (seq >= 1),
    viewer_id   uuid        NOT NULL REFERENCES cinema_viewers,
    film_id     uuid        NOT NULL REFERENCES cinema_films,
    event_type  text        NOT NULL CHECK (event_type IN ('start', 'pause', 'resume', 'seek', 'stop', 'finish')),
    position_s  integer     NOT NULL CHECK (position_s >= 0),
    event_time  timestamptz NOT NULL,
    loaded_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (session_id, seq)
);
CREATE INDEX IF NOT EXISTS cinema_events_session ON cinema_events (session_id, seq);

-- Rows the loader refused: the contract's reason code (or the database's, e.g. unknown_viewer), never a stall.
-- Operational only: it is not published to the warehouse.
CREATE TABLE IF NOT EXISTS cinema_dead_letters (
    id          bigserial   PRIMARY KEY,
    reason      text        NOT NULL,
    field       text,
    detail      text        NOT NULL,
    raw         text        NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
