-- Assets, their links to programs, and the double-entry ledger: accounts, journal entries, postings,
-- lots, the per-organization hash chain and idempotency records.
-- Amounts are stored as whole minor units (the asset's scale applied) in NUMERIC(38, 0): exact, and
-- far above the largest single amount the API accepts (limits.ts: amountDigitsMax = 30 digits).
-- Invariants are asserted here as well as in code: postings of an entry sum to zero per asset (a
-- deferred constraint trigger), floors on balances (CHECK), and journal entries and postings are
-- append-only (only the sealer fills the seal columns, once).

create table assets (
  organization_id uuid not null references organizations (id),
  id uuid not null,
  name text not null check (length(name) between 1 and 255),
  symbol text not null check (symbol ~ '^[A-Za-z0-9]{1,16}$'),
  inventory_mode text not null check (inventory_mode in ('SIMPLE', 'LOT')),
  issuance_policy text not null check (issuance_policy in ('UNLIMITED', 'PREFUNDED')),
  scale smallint not null check (scale between 0 and 18),
  max_transaction_amount numeric(38, 0) check (max_transaction_amount > 0),
  status text not null default 'ACTIVE' check (status in ('ACTIVE', 'ARCHIVED')),
  created_at timestamptz not null,
  updated_at timestamptz not null,
  deleted_at timestamptz,
  primary key (organization_id, id),
  unique (organization_id, symbol),
  check ((status = 'ARCHIVED') = (deleted_at is not null))
);
create index assets_by_created on assets (organization_id, created_at, id);

-- first_entry_at is set by the ledger with the first journal entry of the asset in the program; from
-- then on the link is permanent.
create table program_assets (
  organization_id uuid not null,
  program_id uuid not null,
  asset_id uuid not null,
  created_at timestamptz not null,
  first_entry_at timestamptz,
  primary key (organization_id, program_id, asset_id),
  foreign key (organization_id, program_id) references programs (organization_id, id),
  foreign key (organization_id, asset_id) references assets (organization_id, id)
);
create index program_assets_by_asset on program_assets (organization_id, asset_id, program_id);

-- An account is (owner, asset, bucket). SYSTEM owners use fixed ids (ledger/accounts.ts). Stored
-- balances of PARTICIPANT, GROUP and PROGRAM accounts change with their postings under a row lock.
-- SYSTEM accounts have no floor and are never locked on the hot path: the sealer folds their
-- postings into the stored balance in sequence order, so their balance = sum of sealed postings.
create table ledger_accounts (
  organization_id uuid not null,
  id uuid not null,
  owner_type text not null check (owner_type in ('PARTICIPANT', 'GROUP', 'PROGRAM', 'SYSTEM')),
  owner_id uuid not null,
  asset_id uuid not null,
  bucket text not null check (bucket in ('AVAILABLE', 'HELD', 'DEFERRED')),
  balance numeric(38, 0) not null default 0,
  created_at timestamptz not null,
  primary key (organization_id, id),
  unique (organization_id, owner_type, owner_id, asset_id, bucket),
  foreign key (organization_id, asset_id) references assets (organization_id, id),
  -- Floors: only a participant's or group's AVAILABLE (overdraft) and system accounts go negative.
  check (owner_type = 'SYSTEM' or (owner_type in ('PARTICIPANT', 'GROUP') and bucket = 'AVAILABLE')
         or balance >= 0)
);

create table journal_entries (
  organization_id uuid not null,
  id uuid not null,
  action_type text not null check (action_type in ('CREDIT', 'DEBIT', 'HOLD', 'RELEASE', 'FORFEIT',
    'VOID_HOLD', 'MATURITY', 'EXPIRATION', 'FUND', 'BURN', 'REDEMPTION', 'REVERSAL', 'TRANSFER')),
  description text not null check (length(description) between 1 and 1000),
  program_id uuid,
  event_id uuid,
  rule_id uuid,
  reference_id text check (length(reference_id) between 1 and 255),
  event_timestamp timestamptz,
  created_by_api_key_id uuid,
  created_at timestamptz not null,
  -- Filled once by the sealer: the position in the organization's chain and the SHA-256 seal.
  sequence_number bigint,
  previous_hash text,
  entry_hash text,
  sealed_at timestamptz,
  primary key (organization_id, id),
  unique (organization_id, sequence_number),
  check ((sequence_number is null) = (entry_hash is null)),
  check (entry_hash is null or entry_hash ~ '^[0-9a-f]{64}$')
);
create index journal_entries_by_created on journal_entries (organization_id, created_at, id);
create index journal_entries_unsealed on journal_entries (organization_id, created_at, id)
  where sequence_number is null;
create index journal_entries_by_reference on journal_entries (organization_id, reference_id)
  where reference_id is not null;

create table postings (
  organization_id uuid not null,
  id uuid not null,
  journal_entry_id uuid not null,
  account_id uuid not null,
  asset_id uuid not null,
  owner_type text not null,
  owner_id uuid not null,
  bucket text not null,
  amount numeric(38, 0) not null check (amount <> 0),
  created_at timestamptz not null,
  primary key (organization_id, id),
  foreign key (organization_id, journal_entry_id) references journal_entries (organization_id, id),
  foreign key (organization_id, account_id) references ledger_accounts (organization_id, id)
);
create index postings_by_entry on postings (organization_id, journal_entry_id);
create index postings_by_account on postings (organization_id, account_id, created_at, id);
create index postings_by_owner on postings (organization_id, owner_id, asset_id, created_at, id);

-- The head of each organization's hash chain; the sealer locks it (SKIP LOCKED), never a request.
create table ledger_chain_heads (
  organization_id uuid not null primary key references organizations (id),
  sequence_number bigint not null default 0,
  entry_hash text not null,
  sealed_at timestamptz
);

-- LOT assets: one lot per credit (split when part of it is held). remaining is what is left to
-- spend; a lot's status is the bucket its remaining value sits in, or CONSUMED / EXPIRED.
create table lots (
  organization_id uuid not null,
  id uuid not null,
  owner_type text not null check (owner_type in ('PARTICIPANT', 'GROUP')),
  owner_id uuid not null,
  asset_id uuid not null,
  program_id uuid,
  journal_entry_id uuid not null,
  parent_lot_id uuid,
  amount numeric(38, 0) not null check (amount > 0),
  remaining numeric(38, 0) not null check (remaining >= 0 and remaining <= amount),
  status text not null check (status in ('DEFERRED', 'AVAILABLE', 'HELD', 'CONSUMED', 'EXPIRED')),
  -- provisional: credited straight into HELD; only such lots can be voided back to their source.
  provisional boolean not null default false,
  reference_id text,
  expires_at timestamptz,
  matures_at timestamptz,
  created_at timestamptz not null,
  primary key (organization_id, id),
  foreign key (organization_id, journal_entry_id) references journal_entries (organization_id, id),
  check ((status in ('CONSUMED', 'EXPIRED')) = (remaining = 0))
);
create index lots_fifo on lots (organization_id, owner_id, asset_id, status, expires_at, created_at, id)
  where remaining > 0;
create index lots_maturing on lots (matures_at) where status = 'DEFERRED';
create index lots_expiring on lots (expires_at) where status in ('AVAILABLE', 'DEFERRED') and expires_at is not null;

-- Idempotent operations: the first request's hash and response, replayed for the same key.
create table idempotency_records (
  organization_id uuid not null,
  scope_id uuid not null,
  idempotency_key text not null check (length(idempotency_key) between 1 and 255),
  request_hash text not null,
  response_status integer,
  response_body jsonb,
  created_at timestamptz not null,
  primary key (organization_id, scope_id, idempotency_key)
);

-- Double entry, asserted by the database at commit: two or more postings, zero per asset.
create function check_journal_entry_balanced() returns trigger language plpgsql as $$
declare
  posting_count integer;
  unbalanced integer;
begin
  select count(*) into posting_count from postings
    where organization_id = new.organization_id and journal_entry_id = new.id;
  select count(*) into unbalanced from (
    select asset_id from postings
      where organization_id = new.organization_id and journal_entry_id = new.id
      group by asset_id having sum(amount) <> 0) as sums;
  if posting_count < 2 or unbalanced > 0 then
    raise exception 'journal entry % is not balanced (% postings, % unbalanced assets)',
      new.id, posting_count, unbalanced using errcode = '23514';
  end if;
  return null;
end $$;

create constraint trigger journal_entries_balanced after insert on journal_entries
  deferrable initially deferred for each row execute function check_journal_entry_balanced();

-- Append-only: postings never change; an entry changes only when it is sealed, once.
create function refuse_ledger_rewrite() returns trigger language plpgsql as $$
begin
  raise exception 'the ledger is append-only: % on % refused', tg_op, tg_table_name using errcode = '23514';
end $$;

create function allow_sealing_only() returns trigger language plpgsql as $$
begin
  if tg_op = 'UPDATE' and old.sequence_number is null
     and (new.id, new.action_type, new.description, new.program_id, new.event_id, new.rule_id, new.created_at,
          new.reference_id, new.created_by_api_key_id)
         is not distinct from (old.id, old.action_type, old.description, old.program_id, old.event_id, old.rule_id,
                               old.created_at, old.reference_id, old.created_by_api_key_id) then
    return new;
  end if;
  raise exception 'the ledger is append-only: % on % refused', tg_op, tg_table_name using errcode = '23514';
end $$;

create trigger postings_append_only before update or delete on postings
  for each row execute function refuse_ledger_rewrite();
create trigger journal_entries_append_only before update or delete on journal_entries
  for each row execute function allow_sealing_only();
