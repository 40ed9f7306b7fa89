-- Request logs (spec 2.13): one row per authenticated API request, bodies redacted of secrets and
-- truncated. Written in batches after the response; kept for a bounded number of days.
create table request_logs (
  organization_id uuid not null,
  id uuid not null,
  request_id text not null,
  method text not null,
  path text not null,
  route_pattern text not null,
  status_code integer not null,
  duration_ms numeric(12, 3) not null,
  auth_type text not null default 'api_key',
  api_key_id uuid,
  error_code text,
  ip_address text,
  user_agent text,
  request_body text,
  response_body text,
  created_at timestamptz not null,
  primary key (organization_id, id)
);
create index request_logs_by_created on request_logs (organization_id, created_at, id);
create index request_logs_by_request on request_logs (organization_id, request_id);
