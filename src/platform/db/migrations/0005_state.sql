-- Participant and program state: counters, program tags and attributes, and the state history.
-- Participant tags and attributes stay on the participants row (0001), their source of truth.

-- Tags and attributes of a program, one row per program, created on its first state write.
create table program_states (
  organization_id uuid not null,
  program_id uuid not null,
  tags text[] not null default '{}' check (cardinality(tags) <= 100),
  attributes jsonb not null default '{}' check (jsonb_typeof(attributes) = 'object'),
  updated_at timestamptz not null,
  primary key (organization_id, program_id),
  foreign key (organization_id, program_id) references programs (organization_id, id)
);

-- Counters of participants and programs (and later groups). One table for every owner, so the
-- lazy-reset logic reads one shape; the owner is checked by the service before each write, since a
-- foreign key cannot point at two tables. Values are exact: NUMERIC(38, 18).
-- reset_after keeps the Go duration as written ("24h"); reset_after_ms is what the clock compares.
create table counters (
  organization_id uuid not null,
  owner_type text not null check (owner_type in ('PARTICIPANT', 'PROGRAM')),
  owner_id uuid not null,
  key text not null check (length(key) between 1 and 64),
  value numeric(38, 18) not null,
  reset_after text,
  reset_after_ms bigint check (reset_after_ms > 0),
  last_reset_at timestamptz not null,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  primary key (organization_id, owner_type, owner_id, key),
  check ((reset_after is null) = (reset_after_ms is null))
);

-- Every change of a tag, counter, attribute (or tier) with its source: an event (and the rule that
-- acted) or an API key. Append-only.
create table state_history (
  organization_id uuid not null,
  id uuid not null,
  owner_type text not null check (owner_type in ('PARTICIPANT', 'PROGRAM')),
  owner_id uuid not null,
  state_type text not null check (state_type in ('tag', 'counter', 'attribute', 'tier')),
  key text not null,
  operation text not null check (operation in ('set', 'delete', 'add', 'remove', 'auto_reset')),
  old_value text,
  new_value text,
  program_id uuid,
  event_id uuid,
  event_timestamp timestamptz,
  rule_id uuid,
  changed_by_api_key_id uuid,
  changed_at timestamptz not null,
  primary key (organization_id, id),
  check (num_nonnulls(event_id, changed_by_api_key_id) = 1),
  check ((event_id is null) = (event_timestamp is null)),
  check (rule_id is null or event_id is not null)
);
create index state_history_by_owner on state_history (organization_id, owner_type, owner_id, changed_at, id);

-- The tag bound of platform/limits.ts, held by the database too.
alter table participants add constraint participants_tags_max check (cardinality(tags) <= 100);
