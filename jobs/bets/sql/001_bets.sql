-- Bet events as stored by the consumer (DESIGN §2.1/§2.2). bet_id is the idempotency key: the consumer inserts
-- with ON CONFLICT (bet_id) DO NOTHING, so replays change nothing.
CREATE TABLE IF NOT EXISTS bets (
    bet_id       uuid          PRIMARY KEY,
    user_id      text          NOT NULL CHECK (user_id <> ''),
    game         text          NOT NULL CHECK (game <> ''),
    amount       numeric(12,2) NOT NULL CHECK (amount > 0),
    currency     char(3)       NOT NULL,
    odds         numeric(12,4) NOT NULL CHECK (odds >= 1.01),
    status       text          NOT NULL CHECK (status IN ('placed', 'won', 'lost', 'cancelled')),
    event_time   timestamptz   NOT NULL,
    payload      jsonb,
    ingested_at  timestamptz   NOT NULL DEFAULT now(),
    exported     boolean       NOT NULL DEFAULT false,
    exported_at  timestamptz
);

-- The exporter scans only rows still to export; a partial index keeps that scan small as the table grows.
CREATE INDEX IF NOT EXISTS bets_unexported_idx ON bets (event_time) WHERE NOT exported;
