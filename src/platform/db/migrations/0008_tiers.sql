-- Tiers: definitions per program, their levels, participant tier state, and a generic outbox.

-- A tier definition. lifecycle is the validated JSON of the API (null = a rules-only tier).
create table tiers (
  organization_id uuid not null,
  id uuid not null,
  program_id uuid not null,
  key text not null check (key ~ '^[a-z][a-z0-9_]*$' and length(key) <= 64),
  display_name text check (length(display_name) <= 255),
  lifecycle jsonb check (lifecycle is null or jsonb_typeof(lifecycle) = 'object'),
  status text not null default 'ACTIVE' check (status in ('ACTIVE', 'ARCHIVED')),
  archived_at timestamptz,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  primary key (organization_id, id),
  unique (organization_id, program_id, key),
  foreign key (organization_id, program_id) references programs (organization_id, id),
  check ((status = 'ARCHIVED') = (archived_at is not null))
);

-- Levels of a tier: key and rank are each unique within the tier (higher rank = better).
create table tier_levels (
  organization_id uuid not null,
  id uuid not null,
  tier_id uuid not null,
  key text not null check (length(key) between 1 and 100),
  rank integer not null check (rank >= 0),
  display_name text check (length(display_name) <= 255),
  color text,
  icon_url text,
  benefits jsonb not null default '{}' check (jsonb_typeof(benefits) = 'object'),
  qualification jsonb check (qualification is null or jsonb_typeof(qualification) = 'object'),
  created_at timestamptz not null,
  updated_at timestamptz not null,
  primary key (organization_id, id),
  unique (organization_id, tier_id, key),
  unique (organization_id, tier_id, rank),
  foreign key (organization_id, tier_id) references tiers (organization_id, id)
);

-- One row per (participant, tier): the level held (null = no level) and the lifecycle's clocks.
-- due_at is the earliest moment the lifecycle job must look at the row again.
create table participant_tiers (
  organization_id uuid not null,
  participant_id uuid not null,
  tier_id uuid not null,
  program_id uuid not null,
  level_key text,
  rank integer,
  acquired_at timestamptz,
  expires_at timestamptz,
  period_end_at timestamptz,
  downgrade_level_key text,
  downgrade_at timestamptz,
  lapses_at timestamptz,
  updated_at timestamptz not null,
  due_at timestamptz generated always as (least(expires_at, period_end_at, downgrade_at, lapses_at)) stored,
  primary key (organization_id, participant_id, tier_id),
  foreign key (organization_id, participant_id) references participants (organization_id, id),
  foreign key (organization_id, tier_id) references tiers (organization_id, id),
  check ((level_key is null) = (rank is null)),
  -- a pending downgrade to no level has a downgrade_at and no downgrade_level_key
  check (downgrade_level_key is null or downgrade_at is not null)
);
create index participant_tiers_due on participant_tiers (due_at) where due_at is not null;
create index participant_tiers_by_tier on participant_tiers (organization_id, tier_id, participant_id);

-- Notifications waiting for delivery after commit (the webhook deliverer reads them).
create table outbox (
  organization_id uuid not null,
  id uuid not null,
  topic text not null check (length(topic) between 1 and 100),
  payload jsonb not null,
  created_at timestamptz not null,
  delivered_at timestamptz,
  primary key (organization_id, id)
);
create index outbox_undelivered on outbox (created_at, id) where delivered_at is null;

-- Tier changes in the state history: their own operations, and a third kind of source, the
-- lifecycle job, which is neither an event nor an API key.
alter table state_history drop constraint state_history_operation_check;
alter table state_history add constraint state_history_operation_check check (
  operation in ('set', 'delete', 'add', 'remove', 'auto_reset', 'upgrade', 'downgrade', 'expire')
);
alter table state_history add column changed_by_job text check (length(changed_by_job) between 1 and 64);
do $$
declare
  name text;
begin
  select conname into name from pg_constraint
  where conrelid = 'state_history'::regclass and pg_get_constraintdef(oid) like '%num_nonnulls%';
  execute format('alter table state_history drop constraint %I', name);
end $$;
alter table state_history add constraint state_history_one_source
  check (num_nonnulls(event_id, changed_by_api_key_id, changed_by_job) = 1);
