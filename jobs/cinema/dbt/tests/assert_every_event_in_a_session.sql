-- Every replicated event is counted in exactly one session of the session mart. Returns a row when not.
select raw.events, sessions.events as session_events
from (select count(*) as events from {{ source('oltp', 'cinema_events') }}) as raw
cross join (select coalesce(sum(event_count), 0) as events from {{ ref('fct_watch_sessions') }}) as sessions
where raw.events <> sessions.events
