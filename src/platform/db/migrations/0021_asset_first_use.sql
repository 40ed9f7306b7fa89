-- The first journal entry of an asset in a program makes the link permanent. The first claims of
-- events all found first_entry_at null and queued on the link's row lock to set it, each waiting for
-- the previous claim's whole transaction. Now a writer that finds the row being marked by another
-- transaction does not wait: it keeps the link from being deleted until it commits (a key-share
-- lock) and records its use here, insert-only, so the link stays permanent even if the marking
-- transaction rolls back. A link is permanent when first_entry_at is set or a use is recorded.
create table program_asset_uses (
  organization_id uuid not null,
  -- A key of its own: writers never wait on each other's rows here (no unique link key).
  id uuid not null default gen_random_uuid(),
  program_id uuid not null,
  asset_id uuid not null,
  used_at timestamptz not null,
  primary key (organization_id, id)
);
create index program_asset_uses_by_link on program_asset_uses (organization_id, program_id, asset_id);
