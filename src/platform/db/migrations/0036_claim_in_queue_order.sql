-- The claim as a function that forbids sequential scans and sorts where an index gives the order.
-- The planner read the queue whole for every claim whenever its statistics said few rows were
-- pending (after a backlog, with its dead rows not yet vacuumed, or on a queue analyzed while its rows
-- were claimed): a sequential scan, an anti-join for every pending row, a sort, then the first
-- `claim_limit` heads. Read through the ingestion-order index, a claim stops at its last head. Claims
-- of 10 events from a queue of 4,000 (PARTICIPANTS=2000 CLAIM=10 PG_STAT_STATEMENTS=1 npx tsx
-- bench/queries-per-event.ts 4000): 402 claims took 1,323 ms of execution and about 390 ms of
-- planning; as this function, 207 ms in all, of which its query 85 ms. PL/pgSQL keeps the query's
-- plan for the connection's later claims. The settings hold only while the function runs.
--
-- A run starts at a head: a due, unclaimed queue row with no earlier queue row of its participant (a
-- queued event is PENDING or PROCESSING). It continues with that participant's next unclaimed events
-- in ingestion order, so a participant with a long backlog moves many events per claim instead of one.
-- Shorter positions come first, so many participants share a claim before any one of them takes the
-- rest. SKIP LOCKED on the heads lets many workers claim at once; the events after a head are never
-- heads, so no other claim takes them while the head is locked, and they are not locked themselves (a
-- row lock is a heap write); the update still takes only rows that are unclaimed when it writes them.
-- A run is read only as far as a claim could take it: every other head comes first, so with h heads
-- no run gives more than claim_limit - h + 1 events. Positions are numbered within each run as it is
-- read (no sort of the whole read by ordering key), and the update finds its rows through the
-- ingestion-order index from an array of their sequence numbers: a join let the planner scan the
-- whole queue instead.
create function claim_pending_events(claim uuid, claim_limit integer, lease_ms integer)
returns table (
  organization_id uuid, id uuid, program_id uuid, participant_id uuid, external_id text,
  recipient_id uuid, recipient_external_id text, ordering_key text, event_type text, event_data jsonb,
  event_timestamp timestamptz, claim_count integer, received_at timestamptz)
language plpgsql volatile
set enable_seqscan = off
set enable_sort = off
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
          and earlier.ingest_seq < h.ingest_seq)
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
