-- Webhook endpoints and their deliveries. A delivery keeps its own copy of the envelope, so it can be
-- retried or resent after its outbox row is pruned.
create table webhook_endpoints (
  organization_id uuid not null,
  id uuid not null,
  url text not null check (length(url) between 1 and 2048),
  description text check (length(description) <= 1000),
  enabled_events text[] not null check (cardinality(enabled_events) between 1 and 14),
  metadata jsonb,
  -- AES-256-GCM under ACCRUE_SECRET_KEY; the plain secret is never stored.
  secret_ciphertext text not null,
  status text not null check (status in ('ACTIVE', 'DISABLED', 'ARCHIVED')),
  consecutive_failures integer not null default 0 check (consecutive_failures >= 0),
  circuit_broken_until timestamptz,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  primary key (organization_id, id)
);
create index webhook_endpoints_listing on webhook_endpoints (organization_id, created_at, id);
create index webhook_endpoints_active on webhook_endpoints (organization_id) where status = 'ACTIVE';

create table webhook_deliveries (
  organization_id uuid not null,
  id uuid not null,
  webhook_endpoint_id uuid not null,
  webhook_event_id uuid not null,
  event_type text not null,
  payload jsonb not null,
  status text not null check (status in ('PENDING', 'SENDING', 'DELIVERED', 'FAILED')),
  attempt_count integer not null check (attempt_count between 0 and max_attempts),
  max_attempts integer not null check (max_attempts between 1 and 100),
  -- PENDING: when the next attempt is due; SENDING: when the claim lapses (a crashed sender's
  -- delivery is claimed again then, with the same webhook-id).
  next_attempt_at timestamptz,
  last_attempt_at timestamptz,
  last_response_status integer,
  last_response_body text check (octet_length(last_response_body) <= 4096),
  last_error text,
  error_code text,
  resend_seq integer not null check (resend_seq >= 0),
  delivered_at timestamptz,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  primary key (organization_id, id),
  unique (organization_id, webhook_endpoint_id, webhook_event_id, resend_seq),
  foreign key (organization_id, webhook_endpoint_id) references webhook_endpoints (organization_id, id),
  check ((status = 'DELIVERED') = (delivered_at is not null)),
  check ((status in ('PENDING', 'SENDING')) = (next_attempt_at is not null))
);
-- The deliverer takes each endpoint's oldest due deliveries.
create index webhook_deliveries_due on webhook_deliveries (organization_id, webhook_endpoint_id, next_attempt_at)
  where next_attempt_at is not null;
create index webhook_deliveries_by_endpoint on webhook_deliveries (organization_id, webhook_endpoint_id, created_at, id);
create index webhook_deliveries_recent on webhook_deliveries (organization_id, webhook_endpoint_id, last_attempt_at);

-- Delivered outbox rows are pruned by age.
create index outbox_delivered on outbox (delivered_at) where delivered_at is not null;
