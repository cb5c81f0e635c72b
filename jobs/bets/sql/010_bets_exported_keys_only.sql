-- 007's bets_exported selected b.*, so every column of bets depended on it: any later ALTER COLUMN ... TYPE on bets
-- failed ("cannot alter type of a column used by a view"). The view now yields only the exported rows' keys, which
-- is all the audit counts; it depends on the columns its conditions read (bet_id, ingest_xid, event_time,
-- export_batch) and on no other.
DROP VIEW IF EXISTS bets_exported;
CREATE VIEW bets_exported AS
SELECT b.bet_id FROM export_batches e JOIN bets b
    ON b.export_batch IS NULL
   AND (b.ingest_xid, b.bet_id) > (e.lo_xid, e.lo_bet) AND (b.ingest_xid, b.bet_id) <= (e.hi_xid, e.hi_bet)
   AND b.event_time >= e.event_date::timestamp AT TIME ZONE 'UTC'
   AND b.event_time < (e.event_date + 1)::timestamp AT TIME ZONE 'UTC'
WHERE e.exported_at IS NOT NULL AND e.lo_xid IS NOT NULL
UNION ALL
SELECT b.bet_id FROM export_batches e JOIN bets b ON b.export_batch = e.batch_id
WHERE e.exported_at IS NOT NULL AND e.lo_xid IS NULL
UNION ALL
SELECT b.bet_id FROM bets b WHERE b.export_batch = 0;
