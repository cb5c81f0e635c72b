-- One row per player event, with the state the player is in after it (jobs/cinema/contract.py): start and resume
-- play, pause pauses, seek keeps the state it found, stop and finish end the session. seconds_to_next is the wall
-- time to the session's next event (null for its last).
with ordered as (
    select
        e.*,
        count(*) filter (where e.event_type <> 'seek') over session_so_far as state_group,
        extract(epoch from lead(e.event_time) over session_order - e.event_time) as seconds_to_next
    from {{ source('oltp', 'cinema_events') }} as e
    window
        session_order as (partition by e.session_id order by e.seq),
        session_so_far as (partition by e.session_id order by e.seq rows between unbounded preceding and current row)
)
select
    event_id,
    session_id,
    seq,
    viewer_id,
    film_id,
    event_type,
    position_s,
    event_time,
    seconds_to_next,
    first_value(event_type) over (partition by session_id, state_group order by seq) in ('start', 'resume')
        as playing_after
from ordered
