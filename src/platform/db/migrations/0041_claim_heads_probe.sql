-- A claim planned on an empty queue no longer reads the whole queue for every row it looks at.
--
-- Whether a queue row is a head (no earlier queue row of its participant) was a NOT EXISTS, which
-- PostgreSQL turns into an anti-join. Planned while the queue's file was empty (a new database, or a
-- queue that vacuum had truncated after a backlog), the join's two ways of reading the earlier rows
-- cost the same, and the planner could take the one that reads the participant index whole, with the
-- participant as a filter, for every candidate row. Such a claim, started as a burst of events arrived,
-- read every index entry the burst added (visible or not) for every row it looked at: in a benchmark
-- run on 2026-12-07 one claim ran for 14 minutes, holding its heads' row locks, so 16 participants'
-- 348 events waited until it was cancelled, and holding back vacuum for the whole queue. OFFSET 0
-- keeps the NOT EXISTS a subquery run for each candidate row with that row's organization,
-- participant and sequence number as the bounds of its index scan, whatever the statistics say: an
-- index-only scan of event_queue_by_ordering_key that stops at the first earlier row.
create or replace function claim_pending_events(claim uuid, claim_limit integer, lease_ms integer)
returns table (
  organization_id uuid, id uuid, program_id uuid, participant_id uuid, external_id text,
  recipient_id uuid, recipient_external_id text, ordering_key text, event_type text, event_data jsonb,
  event_timestamp timestamptz, claim_count integer, received_at timestamptz)
language plpgsql volatile
set enable_seqscan = off
set enable_sort = off
set jit = off
as $$
#variable_conflict use_column
begin
  return query
  with heads as (
    select h.organization_id, h.ordering_key, h.ingest_seq from event_queue h
    where h.claim_token is null and h.available_at <= now()
      and not exists (
        select 1 from event_queue earlier
        where earlier.organization_id = h.organization_id and earlier.ordering_key = h.ordering_key
          and earlier.ingest_seq < h.ingest_seq
        offset 0)
    order by h.ingest_seq
    limit claim_limit
    for update of h skip locked),
  runs as (
    select r.organization_id, r.event_id, r.ingest_seq, r.position
    from heads h cross join lateral (
      select n.organization_id, n.event_id, n.ingest_seq, row_number() over (order by n.ingest_seq) as position
      from event_queue n
      where n.organization_id = h.organization_id and n.ordering_key = h.ordering_key
        and n.claim_token is null and n.ingest_seq >= h.ingest_seq
      order by n.ingest_seq
      limit (select claim_limit - count(*) + 1 from heads)) r),
  claimed as (
    select c.organization_id, c.event_id, c.ingest_seq from runs c order by c.position, c.ingest_seq
    limit claim_limit),
  q as (
    update event_queue q set claim_token = claim,
      lease_expires_at = now() + lease_ms * interval '1 millisecond', claim_count = q.claim_count + 1
    from claimed
    where q.ingest_seq = any (array(select c.ingest_seq from claimed c)) and q.ingest_seq = claimed.ingest_seq
      and q.organization_id = claimed.organization_id and q.event_id = claimed.event_id
      and q.claim_token is null
    returning q.*)
  select e.organization_id, e.id, e.program_id, e.participant_id, e.external_id, e.recipient_id,
    e.recipient_external_id, e.ordering_key, e.event_type, e.event_data, e.event_timestamp, q.claim_count,
    e.received_at
  from q join events e on e.organization_id = q.organization_id and e.id = q.event_id
  order by q.ingest_seq;
end
$$;
