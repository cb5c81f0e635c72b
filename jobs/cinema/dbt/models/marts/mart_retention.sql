-- Retention by cohort: viewers whose first viewing day is cohort_day, and how many of them watched again on each
-- later day (day_number 0 is the cohort day itself, so its rate is 1).
with days as (
    select distinct viewer_id, (started_at at time zone 'UTC')::date as day from {{ ref('fct_watch_sessions') }}
),
firsts as (
    select viewer_id, min(day) as cohort_day from days group by viewer_id
),
sizes as (
    select cohort_day, count(*) as cohort_size from firsts group by cohort_day
)
select
    f.cohort_day,
    d.day - f.cohort_day as day_number,
    s.cohort_size,
    count(*) as active_viewers,
    round(count(*)::numeric / s.cohort_size, 4) as retention_rate
from days as d
join firsts as f on f.viewer_id = d.viewer_id
join sizes as s on s.cohort_day = f.cohort_day
group by f.cohort_day, d.day - f.cohort_day, s.cohort_size
