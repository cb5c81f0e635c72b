-- Flink's 1-minute event-time window results (DESIGN §2.2), written by the JDBC sink as upserts on the
-- primary key, so a restarted job rewrites the same rows instead of adding new ones.
CREATE TABLE IF NOT EXISTS top_games (
    window_start  timestamptz NOT NULL,
    window_end    timestamptz NOT NULL,
    game          text        NOT NULL,
    bets          bigint      NOT NULL,
    amount_total  numeric(18,2) NOT NULL,
    PRIMARY KEY (window_start, game)
);

CREATE TABLE IF NOT EXISTS avg_bet (
    window_start  timestamptz NOT NULL,
    window_end    timestamptz NOT NULL,
    game          text        NOT NULL,
    bets          bigint      NOT NULL,
    avg_amount    numeric(14,4) NOT NULL,
    PRIMARY KEY (window_start, game)
);

CREATE TABLE IF NOT EXISTS bet_status (
    window_start  timestamptz NOT NULL,
    window_end    timestamptz NOT NULL,
    status        text        NOT NULL,
    bets          bigint      NOT NULL,
    PRIMARY KEY (window_start, status)
);

CREATE TABLE IF NOT EXISTS active_users (
    window_start  timestamptz NOT NULL,
    window_end    timestamptz NOT NULL,
    users         bigint      NOT NULL,
    PRIMARY KEY (window_start)
);
