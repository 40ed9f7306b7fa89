-- An event's outcome out of its row. Finishing an event rewrote the whole row (its event_data
-- included) with an entry in each of its six indexes: the participant it resolved changes an indexed
-- column, and full pages leave no room for a heap-only version. In a finish of 256 events that was
-- 14.1 of 14.4 ms (PARTICIPANTS=2000 AUTO_EXPLAIN=10 npx tsx bench/queries-per-event.ts 20000). The
-- finish now inserts a narrow row keyed by the event, and event rows are written once, by their
-- ingest (a retry of a FAILED event still touches its row, to note the time).
--
-- participant_id, external_id and recipient_id hold only what processing resolved that the event did
-- not name: an event naming its participant by external_id gets participant_id here, one naming it by
-- id gets external_id. The listings by participant and by external id read the event's index and
-- the outcome's. Events finished before this migration keep what their finish wrote into their row.
create table event_outcomes (
  organization_id uuid not null,
  event_id uuid not null,
  status text not null check (status in ('COMPLETED', 'FAILED')),
  error_message text,
  participant_id uuid,
  external_id text,
  recipient_id uuid,
  claim_count integer not null check (claim_count >= 0),
  processed_at timestamptz not null,
  primary key (organization_id, event_id),
  check ((status = 'FAILED') = (error_message is not null))
);
create index event_outcomes_by_participant on event_outcomes (organization_id, participant_id)
  where participant_id is not null;
create index event_outcomes_by_external_id on event_outcomes (organization_id, external_id)
  where external_id is not null;
-- FAILED events are few: the console's list and count of them read this.
create index event_outcomes_failed on event_outcomes (organization_id, event_id) where status = 'FAILED';

insert into event_outcomes (organization_id, event_id, status, error_message, claim_count, processed_at)
select organization_id, id, status, error_message, claim_count, processed_at
from events where processed_at is not null;

drop view events_with_status;
drop index events_failed;
alter table events drop column status, drop column error_message, drop column claim_count,
  drop column processed_at;

-- An event as the API shows it: PENDING while queued and unclaimed, PROCESSING while a claim holds
-- it, then its outcome's status; updated_at is the later of its row's and its outcome's times.
create view events_with_status as
select e.organization_id, e.id, e.ingest_seq, e.program_id,
  coalesce(e.participant_id, o.participant_id) as participant_id,
  coalesce(e.external_id, o.external_id) as external_id,
  coalesce(e.recipient_id, o.recipient_id) as recipient_id,
  e.recipient_external_id, e.ordering_key, e.idempotency_key, e.payload_hash, e.event_type, e.event_data,
  e.event_timestamp,
  case when q.claim_token is not null then 'PROCESSING' else coalesce(o.status, 'PENDING') end as status,
  o.error_message, coalesce(q.claim_count, o.claim_count, 0) as claim_count, q.claim_token,
  q.lease_expires_at, q.available_at, e.received_at, e.created_at, o.processed_at,
  greatest(e.updated_at, o.processed_at) as updated_at
from events e
left join event_queue q on q.organization_id = e.organization_id and q.event_id = e.id
left join event_outcomes o on o.organization_id = e.organization_id and o.event_id = e.id;
