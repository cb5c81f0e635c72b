-- User-behaviour pipeline (issue 14, seed 003, docs/behaviour.md): the tables the Flink job
-- (jobs/behaviour/flink/sessions.py) upserts through its JDBC sinks. Bounds are UTC instants.

-- One row per event-time session of a user: a session ends when the user's next event is at least
-- BROOK_BEHAVIOUR_SESSION_GAP_SECONDS later (Flink's SESSION window; an event exactly `gap` after the previous one
-- starts a new session). session_end = last event time + gap (Flink's window_end).
-- funnel_stage: the deepest stage reached (1 browse = page_view/search, 2 add_to_cart, 3 checkout, 4 purchase);
-- converted: the session holds a purchase.
CREATE TABLE IF NOT EXISTS behaviour_sessions (
    user_id        text        NOT NULL,
    session_start  timestamptz NOT NULL,
    session_end    timestamptz NOT NULL,
    events         bigint      NOT NULL CHECK (events > 0),
    page_views     bigint      NOT NULL CHECK (page_views >= 0),
    distinct_pages bigint      NOT NULL CHECK (distinct_pages > 0),
    funnel_stage   smallint    NOT NULL CHECK (funnel_stage BETWEEN 1 AND 4),
    converted      boolean     NOT NULL,
    PRIMARY KEY (user_id, session_start),
    CHECK (session_end > session_start),
    CHECK (converted = (funnel_stage = 4))
);

-- Per event-time minute: distinct users and the count of each event type (the gateway's live page reads this).
CREATE TABLE IF NOT EXISTS behaviour_minute (
    window_start timestamptz NOT NULL PRIMARY KEY,
    window_end   timestamptz NOT NULL,
    active_users bigint      NOT NULL CHECK (active_users > 0),
    page_views   bigint      NOT NULL CHECK (page_views >= 0),
    searches     bigint      NOT NULL CHECK (searches >= 0),
    add_to_cart  bigint      NOT NULL CHECK (add_to_cart >= 0),
    checkouts    bigint      NOT NULL CHECK (checkouts >= 0),
    purchases    bigint      NOT NULL CHECK (purchases >= 0)
);
