-- Events: what clients send, stored on receipt and processed later by workers.
-- Keys begin with organization_id (see 0001). ingest_seq is the ingestion order: events of one
-- participant (ordering_key) are applied one at a time in that order. A worker holds an event with a
-- lease (claim_token, lease_expires_at); a worker that dies leaves the lease to expire and the event
-- is claimed again, and the token fences off the old holder so an event's effects commit once.

create table events (
  organization_id uuid not null references organizations (id),
  id uuid not null,
  ingest_seq bigint generated always as identity,
  program_id uuid not null,
  participant_id uuid,
  external_id text check (length(external_id) between 1 and 255),
  recipient_id uuid,
  recipient_external_id text check (length(recipient_external_id) between 1 and 255),
  ordering_key text not null,
  idempotency_key text not null check (length(idempotency_key) between 1 and 255),
  payload_hash bytea not null check (length(payload_hash) = 32),
  event_type text not null default 'EXTERNAL' check (event_type in ('EXTERNAL', 'SYSTEM')),
  event_data jsonb not null check (jsonb_typeof(event_data) = 'object'),
  event_timestamp timestamptz not null,
  status text not null default 'PENDING'
    check (status in ('PENDING', 'PROCESSING', 'COMPLETED', 'FAILED')),
  error_message text,
  claim_count integer not null default 0 check (claim_count >= 0),
  claim_token uuid,
  lease_expires_at timestamptz,
  available_at timestamptz not null,
  received_at timestamptz not null,
  created_at timestamptz not null,
  processed_at timestamptz,
  updated_at timestamptz not null,
  primary key (organization_id, id),
  unique (organization_id, program_id, idempotency_key),
  foreign key (organization_id, program_id) references programs (organization_id, id),
  check (participant_id is not null or external_id is not null),
  check ((status = 'PROCESSING') = (claim_token is not null and lease_expires_at is not null)),
  check ((status in ('COMPLETED', 'FAILED')) = (processed_at is not null)),
  check ((status = 'FAILED') = (error_message is not null))
);

-- The work queue: pending events in ingestion order, and the per-participant "is anything earlier
-- still unfinished" probe. Both are partial, so finished events cost the queue nothing.
create index events_pending on events (ingest_seq) where status = 'PENDING';
create index events_unfinished_by_participant on events (organization_id, ordering_key, ingest_seq)
  where status in ('PENDING', 'PROCESSING');
create index events_expired_leases on events (lease_expires_at) where status = 'PROCESSING';

-- Listings.
create index events_by_created on events (organization_id, created_at, id);
create index events_by_event_timestamp on events (organization_id, event_timestamp, id);
create index events_by_participant on events (organization_id, participant_id, created_at, id);
create index events_by_external_id on events (organization_id, external_id, created_at, id);

-- Wake the workers when events arrive; delivered at commit, once per statement.
create function notify_events_inserted() returns trigger language plpgsql as $$
begin
  perform pg_notify('accrue_events', '');
  return null;
end;
$$;
create trigger events_inserted after insert on events
  for each statement execute function notify_events_inserted();
