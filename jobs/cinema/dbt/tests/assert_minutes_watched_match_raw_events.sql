-- The minutes watched in every mart equal those computed straight from the replicated raw events, by a second
-- method (for each event, the latest non-seek event at or before it decides whether the player was playing until
-- the next event). Returns one row per mart that disagrees; none when they all agree.
with raw as not materialized (  -- inlined: the lookups below use the (session_id, seq) key
    select * from {{ source('oltp', 'cinema_events') }}
),
intervals as (
    select
        extract(epoch from nxt.event_time - a.event_time) as seconds,
        (
            select s.event_type from raw as s
            where s.session_id = a.session_id and s.seq <= a.seq and s.event_type <> 'seek'
            order by s.seq desc limit 1
        ) as state_event
    from raw as a
    join lateral (
        select b.event_time from raw as b where b.session_id = a.session_id and b.seq > a.seq order by b.seq limit 1
    ) as nxt on true
),
raw_total as (
    select coalesce(sum(seconds) filter (where state_event in ('start', 'resume')), 0) as watched_s from intervals
),
marts as (
    select 'fct_watch_sessions' as model, coalesce(sum(watched_s), 0) as watched_s from {{ ref('fct_watch_sessions') }}
    union all
    select 'mart_film_hourly', coalesce(sum(watched_s), 0) from {{ ref('mart_film_hourly') }}
    union all
    select 'mart_viewer_engagement', coalesce(sum(watched_s), 0) from {{ ref('mart_viewer_engagement') }}
)
select m.model, m.watched_s / 60.0 as mart_minutes, r.watched_s / 60.0 as raw_minutes
from marts as m cross join raw_total as r
where m.watched_s <> r.watched_s
