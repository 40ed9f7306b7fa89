-- Spending what was earned: the program's redemption target, the rewards catalog, redemptions with
-- the lots they consumed, and their reversals.
-- Invariants asserted here as well as in code: a LEDGER_ENTITY target names its entity and a SYSTEM_*
-- one names none; a reward's name is unique in its program; AMOUNT_BASED rewards have no inventory
-- limits; a redemption's reversed total never exceeds what it debited, and its status follows it.

alter table programs
  add column redemption_target_type text not null default 'SYSTEM_REDEMPTION'
    check (redemption_target_type in ('SYSTEM_REDEMPTION', 'SYSTEM_BREAKAGE', 'LEDGER_ENTITY')),
  add column redemption_target_entity_id uuid,
  add column redemption_target_entity_type text
    check (redemption_target_entity_type in ('PARTICIPANT', 'GROUP')),
  add constraint programs_redemption_target_check check (
    (redemption_target_type = 'LEDGER_ENTITY')
      = (redemption_target_entity_id is not null and redemption_target_entity_type is not null)
    and (redemption_target_entity_id is null) = (redemption_target_entity_type is null));

create table rewards (
  organization_id uuid not null,
  id uuid not null,
  program_id uuid not null,
  asset_id uuid not null,
  name text not null check (length(name) between 1 and 255),
  description text check (length(description) <= 1000),
  category text check (length(category) <= 100),
  redemption_type text not null check (redemption_type in ('UNIT_BASED', 'AMOUNT_BASED')),
  unit_cost numeric(38, 0) not null check (unit_cost > 0),
  max_total integer check (max_total > 0),
  max_per_participant integer check (max_per_participant > 0),
  redeemed_count integer not null default 0 check (redeemed_count >= 0),
  available_from timestamptz,
  available_until timestamptz,
  status text not null check (status in ('DRAFT', 'ACTIVE', 'OUT_OF_STOCK', 'ARCHIVED')),
  metadata jsonb not null default '{}',
  created_at timestamptz not null,
  updated_at timestamptz not null,
  primary key (organization_id, id),
  unique (organization_id, program_id, name),
  foreign key (organization_id, program_id) references programs (organization_id, id),
  foreign key (organization_id, asset_id) references assets (organization_id, id),
  check (redemption_type = 'UNIT_BASED' or (max_total is null and max_per_participant is null)),
  check (available_until is null or available_from is null or available_until >= available_from)
);
create index rewards_by_created on rewards (organization_id, program_id, created_at, id);
create index rewards_by_name on rewards (organization_id, program_id, name, id);

-- redemption_target_*: where the redemption put the value, captured from the program when it was
-- made; its reversals take the value back from there.
create table redemptions (
  organization_id uuid not null,
  id uuid not null,
  participant_id uuid not null,
  program_id uuid not null,
  asset_id uuid not null,
  amount numeric(38, 0) not null check (amount > 0),
  reward_id uuid,
  quantity integer check (quantity > 0),
  unit_cost numeric(38, 0) check (unit_cost > 0),
  reversed_amount numeric(38, 0) not null default 0,
  reversed_quantity integer check (reversed_quantity >= 0),
  status text not null check (status in ('COMPLETED', 'PARTIALLY_REVERSED', 'FULLY_REVERSED')),
  description text not null check (length(description) between 1 and 500),
  journal_entry_id uuid not null,
  redemption_target_type text not null
    check (redemption_target_type in ('SYSTEM_REDEMPTION', 'SYSTEM_BREAKAGE', 'LEDGER_ENTITY')),
  redemption_target_entity_id uuid,
  redemption_target_entity_type text check (redemption_target_entity_type in ('PARTICIPANT', 'GROUP')),
  created_at timestamptz not null,
  updated_at timestamptz not null,
  primary key (organization_id, id),
  foreign key (organization_id, participant_id) references participants (organization_id, id),
  foreign key (organization_id, program_id) references programs (organization_id, id),
  foreign key (organization_id, reward_id) references rewards (organization_id, id),
  foreign key (organization_id, journal_entry_id) references journal_entries (organization_id, id),
  check (reversed_amount >= 0 and reversed_amount <= amount),
  check (reversed_quantity is null or reversed_quantity <= quantity),
  check ((reward_id is null) = (unit_cost is null)),
  check ((redemption_target_type = 'LEDGER_ENTITY')
    = (redemption_target_entity_id is not null and redemption_target_entity_type is not null)),
  check (status = case when reversed_amount = 0 then 'COMPLETED'
    when reversed_amount = amount then 'FULLY_REVERSED' else 'PARTIALLY_REVERSED' end)
);
create index redemptions_by_participant on redemptions (organization_id, participant_id, created_at, id);
create index redemptions_by_reward on redemptions (organization_id, reward_id, participant_id)
  where reward_id is not null;

-- The lots a LOT redemption consumed, in consumption order (FIFO); reversals restore them from the
-- last one back (LIFO), never more than was taken from each.
create table redemption_lots (
  organization_id uuid not null,
  redemption_id uuid not null,
  position integer not null check (position >= 0),
  lot_id uuid not null,
  amount numeric(38, 0) not null check (amount > 0),
  restored numeric(38, 0) not null default 0 check (restored >= 0 and restored <= amount),
  primary key (organization_id, redemption_id, position),
  foreign key (organization_id, redemption_id) references redemptions (organization_id, id),
  foreign key (organization_id, lot_id) references lots (organization_id, id)
);

create table redemption_reversals (
  organization_id uuid not null,
  id uuid not null,
  redemption_id uuid not null,
  amount numeric(38, 0) not null check (amount > 0),
  quantity integer check (quantity > 0),
  reason text not null check (length(reason) between 1 and 500),
  journal_entry_id uuid not null,
  created_at timestamptz not null,
  primary key (organization_id, id),
  foreign key (organization_id, redemption_id) references redemptions (organization_id, id),
  foreign key (organization_id, journal_entry_id) references journal_entries (organization_id, id)
);
create index redemption_reversals_by_redemption on redemption_reversals
  (organization_id, redemption_id, created_at, id);
