-- One token bucket per organization, shared by all its keys and all server processes.
create table rate_limit_buckets (
  organization_id uuid primary key,
  tokens double precision not null,
  refilled_at timestamptz not null,
  allowed boolean not null
);
