-- One row per viewing session: how long it lasted, how much of it was watched, its pauses and seeks, how it ended
-- (finish: reached the credits; stop: abandoned; open: no ending event yet) and how far into the film it got.
with events as (
    select * from {{ ref('stg_events') }}
),
sessions as (
    select
        session_id,
        (array_agg(viewer_id order by seq))[1] as viewer_id,
        (array_agg(film_id order by seq))[1] as film_id,
        min(event_time) as started_at,
        max(event_time) as ended_at,
        coalesce(sum(seconds_to_next) filter (where playing_after), 0) as watched_s,
        count(*) as event_count,
        count(*) filter (where event_type = 'pause') as pauses,
        count(*) filter (where event_type = 'seek') as seeks,
        coalesce(
            (array_agg(event_type order by seq desc) filter (where event_type in ('stop', 'finish')))[1], 'open'
        ) as outcome,
        max(position_s) as furthest_position_s
    from events
    group by session_id
)
select
    s.session_id,
    s.viewer_id,
    s.film_id,
    s.started_at,
    s.ended_at,
    extract(epoch from s.ended_at - s.started_at) as duration_s,
    s.watched_s,
    round(s.watched_s / 60.0, 2) as watched_minutes,
    s.event_count,
    s.pauses,
    s.seeks,
    s.outcome,
    s.furthest_position_s,
    round(least(1.0, s.furthest_position_s::numeric / f.duration_s), 4) as completion_ratio
from sessions as s
left join {{ ref('stg_films') }} as f on f.film_id = s.film_id
