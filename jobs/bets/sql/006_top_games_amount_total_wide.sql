-- top_games.amount_total holds SUM(amount) of one game in one window. numeric(18,2) overflows past ~10^6 bets of the
-- largest allowed amount; Flink 2.0 turns an overflowing CAST into NULL, which this NOT NULL column refuses, and the
-- JDBC sink then stops the whole job (docs/design.md §5). numeric(38,2) is what Flink's SUM of a DECIMAL(12,2) yields.
ALTER TABLE top_games ALTER COLUMN amount_total TYPE numeric(38,2);
