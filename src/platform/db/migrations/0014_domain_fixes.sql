-- Asset symbols are unique per organization regardless of case ("pts" and "PTS" are one symbol).
-- Symbols that already differ only by case keep the oldest asset's symbol; each later one gets the
-- smallest numeric suffix that makes it unique ("PTS" -> "pts2"), trimmed to the 16-character limit,
-- because the API cannot change a symbol and refusing to start would strand the installation.
do $$
declare
  duplicate record;
  suffix int;
  candidate text;
begin
  for duplicate in
    select a.organization_id, a.id, a.symbol from assets a
    where exists (select 1 from assets b
                  where b.organization_id = a.organization_id and lower(b.symbol) = lower(a.symbol)
                    and (b.created_at, b.id) < (a.created_at, a.id))
    order by a.organization_id, a.created_at, a.id
  loop
    suffix := 2;
    loop
      candidate := left(duplicate.symbol, 16 - length(suffix::text)) || suffix;
      exit when not exists (select 1 from assets
                            where organization_id = duplicate.organization_id
                              and lower(symbol) = lower(candidate));
      suffix := suffix + 1;
    end loop;
    update assets set symbol = candidate
    where organization_id = duplicate.organization_id and id = duplicate.id;
  end loop;
end $$;

alter table assets drop constraint assets_organization_id_symbol_key;
create unique index assets_symbol_unique on assets (organization_id, lower(symbol));

-- Every asset has its three system accounts from the transaction that creates it, so posting never
-- creates one on the fly; these are the ones of assets created before that. The owner ids are the
-- fixed ones of src/modules/ledger/accounts.ts (systemOwnerIds). Ids are UUIDv7 like every other:
-- a random UUID with the asset's creation time in its first 48 bits and version 7.
insert into ledger_accounts (organization_id, id, owner_type, owner_id, asset_id, bucket, created_at)
select a.organization_id,
  encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
    placing substring(int8send((extract(epoch from a.created_at) * 1000)::bigint) from 3) from 1 for 6),
    52, 1), 53, 1), 'hex')::uuid,
  'SYSTEM', s.owner_id, a.id, 'AVAILABLE', a.created_at
from assets a
cross join (values ('00000000-0000-7000-8000-000000000001'::uuid),
                   ('00000000-0000-7000-8000-000000000002'::uuid),
                   ('00000000-0000-7000-8000-000000000003'::uuid)) as s(owner_id)
on conflict (organization_id, owner_type, owner_id, asset_id, bucket) do nothing;

-- A rule's recent errors (GET /v1/rules/{id}): only the events in which a rule ended SKIPPED_ERROR or
-- SKIPPED_TIMEOUT are indexed, by rule id, so a program whose rules evaluate cleanly pays nothing.
create index event_evaluations_errors on event_evaluations using gin (rule_ids)
  where outcomes @> '[{"status": "SKIPPED_ERROR"}]' or outcomes @> '[{"status": "SKIPPED_TIMEOUT"}]';
