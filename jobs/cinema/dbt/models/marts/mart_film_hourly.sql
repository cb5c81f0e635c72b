-- Film popularity by hour: sessions started, distinct viewers, watched time and completions per film and hour
-- (the hour the session started in, UTC), plus the hour of day for the evening-peak view.
select
    film_id,
    date_trunc('hour', started_at) as hour,
    extract(hour from started_at at time zone 'UTC')::int as hour_of_day,
    count(*) as sessions,
    count(distinct viewer_id) as viewers,
    sum(watched_s) as watched_s,
    count(*) filter (where outcome = 'finish') as finished,
    count(*) filter (where outcome = 'stop') as abandoned
from {{ ref('fct_watch_sessions') }}
group by film_id, date_trunc('hour', started_at), extract(hour from started_at at time zone 'UTC')
