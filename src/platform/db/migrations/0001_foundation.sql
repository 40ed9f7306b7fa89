-- Organizations, API keys, programs, participants and enrollments.
-- Every table carries organization_id and every primary and unique key begins with it, so the schema
-- can be distributed by organization (Citus) without change. The one exception is the key-hash
-- lookup on api_keys: a request names no organization until its key is resolved.

create table organizations (
  id uuid primary key,
  name text not null unique check (length(name) between 1 and 100),
  status text not null default 'ACTIVE' check (status in ('ACTIVE', 'SUSPENDED')),
  created_at timestamptz not null default now()
);

create table api_keys (
  organization_id uuid not null references organizations (id),
  id uuid not null,
  key_hash bytea not null unique check (length(key_hash) = 32),
  key_prefix text not null,
  created_at timestamptz not null default now(),
  revoked_at timestamptz,
  primary key (organization_id, id)
);

create table programs (
  organization_id uuid not null references organizations (id),
  id uuid not null,
  name text not null check (length(name) between 1 and 255),
  description text check (length(description) <= 1000),
  status text not null default 'ACTIVE' check (status in ('ACTIVE', 'SUSPENDED', 'ARCHIVED')),
  on_unknown_participant text not null default 'CREATE' check (on_unknown_participant in ('CREATE', 'REJECT')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  primary key (organization_id, id),
  check ((status = 'ARCHIVED') = (deleted_at is not null))
);
create index programs_by_created on programs (organization_id, created_at, id);
create index programs_by_name on programs (organization_id, name, id);

create table participants (
  organization_id uuid not null references organizations (id),
  id uuid not null,
  external_id text not null check (length(external_id) between 1 and 255),
  status text not null default 'ACTIVE' check (status in ('ACTIVE', 'SUSPENDED', 'CLOSED')),
  email text check (length(email) <= 255),
  phone text check (length(phone) <= 50),
  first_name text check (length(first_name) <= 255),
  last_name text check (length(last_name) <= 255),
  display_name text check (length(display_name) <= 255),
  attributes jsonb not null default '{}' check (jsonb_typeof(attributes) = 'object'),
  tags text[] not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (organization_id, id),
  unique (organization_id, external_id)
);
create index participants_by_created on participants (organization_id, created_at, id);
create index participants_by_status on participants (organization_id, status, id);

create table enrollments (
  organization_id uuid not null,
  program_id uuid not null,
  participant_id uuid not null,
  status text not null default 'ACTIVE' check (status in ('ACTIVE', 'FROZEN', 'LOCKED', 'CLOSED')),
  created_at timestamptz not null default now(),
  primary key (organization_id, participant_id, program_id),
  foreign key (organization_id, program_id) references programs (organization_id, id),
  foreign key (organization_id, participant_id) references participants (organization_id, id)
);
create index enrollments_by_program on enrollments (organization_id, program_id, participant_id);
