-- One row per viewer: activity, watched time, finishing and abandoning, binge days (2+ sessions in a day), and
-- retention flags (came back the day after the first viewing day; came back 7 or more days later).
with sessions as (
    select *, (started_at at time zone 'UTC')::date as day from {{ ref('fct_watch_sessions') }}
),
per_viewer as (
    select
        viewer_id,
        min(day) as first_day,
        max(day) as last_day,
        count(*) as sessions,
        count(distinct film_id) as films,
        sum(watched_s) as watched_s,
        count(*) filter (where outcome = 'finish') as finished,
        count(*) filter (where outcome = 'stop') as abandoned,
        count(distinct day) as active_days
    from sessions
    group by viewer_id
),
days as (
    select viewer_id, day, count(*) as sessions from sessions group by viewer_id, day
)
select
    v.viewer_id,
    v.signed_up_at,
    p.first_day,
    p.last_day,
    coalesce(p.sessions, 0) as sessions,
    coalesce(p.films, 0) as films,
    coalesce(p.watched_s, 0) as watched_s,
    round(coalesce(p.watched_s, 0) / 60.0, 2) as watched_minutes,
    coalesce(p.finished, 0) as finished,
    coalesce(p.abandoned, 0) as abandoned,
    coalesce(p.active_days, 0) as active_days,
    (select count(*) from days as d where d.viewer_id = v.viewer_id and d.sessions >= 2) as binge_days,
    exists (select 1 from days as d where d.viewer_id = v.viewer_id and d.day = p.first_day + 1) as retained_d1,
    exists (select 1 from days as d where d.viewer_id = v.viewer_id and d.day >= p.first_day + 7) as retained_d7
from {{ ref('stg_viewers') }} as v
left join per_viewer as p on p.viewer_id = v.viewer_id
