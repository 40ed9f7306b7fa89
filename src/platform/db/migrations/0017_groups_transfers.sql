-- Groups (shared wallets) and their members. A group is an organization-level holder: its balances
-- are ledger accounts of owner type GROUP (0002), its counters and state history share the tables of
-- participants and programs, and its tags and attributes live on its row, as a participant's do.
-- Transfers need no table of their own: each is one TRANSFER journal entry.

create table groups (
  organization_id uuid not null references organizations (id),
  id uuid not null,
  name text not null check (length(name) between 1 and 255),
  status text not null default 'ACTIVE' check (status in ('ACTIVE', 'ARCHIVED')),
  tags text[] not null default '{}' check (cardinality(tags) <= 100),
  attributes jsonb not null default '{}' check (jsonb_typeof(attributes) = 'object'),
  -- Audit: the participant the caller acted for when creating the group.
  created_on_behalf_of_participant_id uuid,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  -- Archiving is permanent: an ARCHIVED group never changes again.
  deleted_at timestamptz,
  primary key (organization_id, id),
  check ((status = 'ARCHIVED') = (deleted_at is not null))
);
create index groups_by_created on groups (organization_id, created_at, id);

-- One row per participant and group; leaving keeps the row (status LEFT), re-adding reuses it.
create table group_members (
  organization_id uuid not null,
  group_id uuid not null,
  participant_id uuid not null,
  role text not null check (role in ('ADMIN', 'MEMBER')),
  status text not null check (status in ('ACTIVE', 'LEFT')),
  added_on_behalf_of_participant_id uuid,
  joined_at timestamptz not null,
  left_at timestamptz,
  primary key (organization_id, group_id, participant_id),
  foreign key (organization_id, group_id) references groups (organization_id, id),
  foreign key (organization_id, participant_id) references participants (organization_id, id),
  check ((status = 'LEFT') = (left_at is not null))
);
create index group_members_by_joined on group_members (organization_id, group_id, joined_at, participant_id);
create index group_members_active_by_participant on group_members (organization_id, participant_id, group_id)
  where status = 'ACTIVE';

-- Groups hold counters and state history like participants and programs.
alter table counters drop constraint counters_owner_type_check;
alter table counters add constraint counters_owner_type_check
  check (owner_type in ('PARTICIPANT', 'PROGRAM', 'GROUP'));
alter table state_history drop constraint state_history_owner_type_check;
alter table state_history add constraint state_history_owner_type_check
  check (owner_type in ('PARTICIPANT', 'PROGRAM', 'GROUP'));
