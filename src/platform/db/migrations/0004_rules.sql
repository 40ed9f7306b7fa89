-- Rules: a CEL condition and actions per program, their budgets and their change history.
-- Every table carries organization_id and every primary and unique key begins with it.
-- rules.current_history_id names the rule_history row of the version in force: evaluations store it
-- as rule_history_id, so what ran can always be read back. Budgets reference assets by id only: the
-- assets table belongs to another module, and the ledger checks the asset when it applies a credit.

create table rules (
  organization_id uuid not null references organizations (id),
  id uuid not null,
  program_id uuid not null,
  name text not null check (length(name) between 1 and 255),
  description text check (length(description) <= 1000),
  condition text not null check (octet_length(condition) between 1 and 4096),
  actions jsonb not null check (jsonb_typeof(actions) = 'array' and jsonb_array_length(actions) >= 1),
  "order" integer not null check ("order" >= 1),
  status text not null default 'ACTIVE' check (status in ('ACTIVE', 'SUSPENDED', 'ARCHIVED')),
  stop_after_match boolean not null default false,
  active_from timestamptz,
  active_to timestamptz,
  current_history_id uuid not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  primary key (organization_id, id),
  foreign key (organization_id, program_id) references programs (organization_id, id),
  check ((status = 'ARCHIVED') = (deleted_at is not null)),
  check (active_from is null or active_to is null or active_from < active_to)
);
-- Two ACTIVE rules of a program never share an order: evaluation order is total.
create unique index rules_active_order on rules (organization_id, program_id, "order") where status = 'ACTIVE';
create index rules_by_program_order on rules (organization_id, program_id, "order", id);
create index rules_by_order on rules (organization_id, "order", id);
create index rules_by_created on rules (organization_id, created_at, id);
create index rules_by_name on rules (organization_id, name, id);

create table rule_budgets (
  organization_id uuid not null,
  rule_id uuid not null,
  asset_id uuid not null,
  "limit" numeric not null check ("limit" >= 0),
  consumed numeric not null default 0 check (consumed >= 0),
  schedule_type text check (schedule_type in ('CRON', 'INTERVAL')),
  cron_expression text check (length(cron_expression) <= 100),
  interval text check (length(interval) <= 32),
  next_reset_at timestamptz,
  primary key (organization_id, rule_id, asset_id),
  foreign key (organization_id, rule_id) references rules (organization_id, id),
  check ((schedule_type = 'CRON') = (cron_expression is not null)),
  check ((schedule_type = 'INTERVAL') = (interval is not null)),
  check (schedule_type is not null or next_reset_at is null)
);

create table rule_history (
  organization_id uuid not null,
  id uuid not null,
  rule_id uuid not null,
  program_id uuid not null,
  change_type text not null check (change_type in ('created', 'updated', 'archived', 'suspended', 'activated')),
  changed_at timestamptz not null,
  changed_by_api_key_id uuid,
  changes jsonb not null check (jsonb_typeof(changes) = 'object'),
  snapshot jsonb not null check (jsonb_typeof(snapshot) = 'object'),
  primary key (organization_id, id),
  foreign key (organization_id, rule_id) references rules (organization_id, id)
);
create index rule_history_by_rule on rule_history (organization_id, rule_id, changed_at, id);

-- One row per rule per processed event: what ran (the exact version), with what outcome and why.
-- event_id references the events table of the events module; its foreign key is added with it.
create table rule_evaluations (
  organization_id uuid not null,
  event_id uuid not null,
  position integer not null check (position >= 0),
  rule_id uuid not null,
  rule_history_id uuid not null,
  status text not null check (status in ('MATCHED', 'NOT_MATCHED', 'SKIPPED', 'SKIPPED_ERROR', 'SKIPPED_TIMEOUT')),
  reason text check (reason in ('CONDITION_FALSE', 'MISSING_FIELD', 'OUTSIDE_TIME_WINDOW', 'BUDGET_EXCEEDED',
    'STOPPED_AFTER_MATCH', 'EVALUATION_ERROR', 'COST_LIMIT_EXCEEDED')),
  message text check (length(message) <= 1000),
  stopped_by_rule_id uuid,
  actions jsonb not null default '[]' check (jsonb_typeof(actions) = 'array'),
  evaluated_at timestamptz not null,
  primary key (organization_id, event_id, position),
  foreign key (organization_id, rule_id) references rules (organization_id, id),
  check ((status = 'MATCHED') = (reason is null))
);
