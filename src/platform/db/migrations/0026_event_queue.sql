-- The work queue out of the event row. A narrow event_queue row is inserted with each event (by the
-- one insert function, in the same statement), claimed (a heap-only update: none of the columns a
-- claim changes is in an index), and deleted when the event finishes. The event row is then written
-- once more only, when it finishes: status, error_message, processed_at, claim_count and updated_at
-- are in no index or index predicate, so that update can be heap-only too (unless it fills in a
-- participant_id or external_id resolved while processing, which the listings index). PROCESSING is
-- no longer stored: an event whose queue row holds a claim shows PROCESSING (events_with_status).
-- claim_count survives a crash in the queue row (a claim commits it) and is copied to the event when
-- it finishes, for poison events and the API.

create table event_queue (
  organization_id uuid not null,
  event_id uuid not null,
  ingest_seq bigint not null,
  ordering_key text not null,
  available_at timestamptz not null,
  claim_token uuid,
  lease_expires_at timestamptz,
  claim_count integer not null default 0 check (claim_count >= 0),
  primary key (organization_id, event_id),
  check (claim_token is null or lease_expires_at is not null)
) with (fillfactor = 70);
-- Heads in ingestion order, and "is anything earlier of this participant still unfinished".
create index event_queue_by_seq on event_queue (ingest_seq);
create index event_queue_by_ordering_key on event_queue (organization_id, ordering_key, ingest_seq);

-- Pending and claimed events of the old rows get their queue rows, with their claim as it stands
-- (a live lease stays live; an expired one is released by the workers as before).
insert into event_queue (organization_id, event_id, ingest_seq, ordering_key, available_at, claim_token,
  lease_expires_at, claim_count)
select organization_id, id, ingest_seq, ordering_key, available_at, claim_token, lease_expires_at, claim_count
from events where processed_at is null;

alter table events drop constraint events_check1;
update events set status = 'PENDING' where status = 'PROCESSING';
alter table events drop constraint events_status_check;
alter table events add constraint events_status_check check (status in ('PENDING', 'COMPLETED', 'FAILED'));
alter table events drop column claim_token, drop column lease_expires_at, drop column available_at;

-- The queue's partial indexes on the event row go: the queue table answers those questions.
drop index events_unfinished;
drop index events_unfinished_by_participant;
-- FAILED events of a program: the predicate names error_message (set exactly when FAILED, by the
-- table's check) instead of status, so that completing an event changes no indexed column.
drop index events_failed;
create index events_failed on events (organization_id, program_id, created_at, id)
  where error_message is not null;

-- Events as the API shows them: status PROCESSING while a worker's claim holds the event, and the
-- queue's bookkeeping (null once the event finished).
create view events_with_status as
select e.organization_id, e.id, e.ingest_seq, e.program_id, e.participant_id, e.external_id, e.recipient_id,
  e.recipient_external_id, e.ordering_key, e.idempotency_key, e.payload_hash, e.event_type, e.event_data,
  e.event_timestamp,
  case when q.claim_token is not null then 'PROCESSING' else e.status end as status,
  e.error_message, coalesce(q.claim_count, e.claim_count) as claim_count, q.claim_token,
  q.lease_expires_at, q.available_at, e.received_at, e.created_at, e.processed_at, e.updated_at
from events e
left join event_queue q on q.organization_id = e.organization_id and q.event_id = e.id;
