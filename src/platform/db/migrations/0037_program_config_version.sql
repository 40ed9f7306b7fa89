-- A version of each program's rules and tiers, so that event processing can keep them across claims
-- instead of reading rules, tiers and tier levels again in every claim's transaction (three of the
-- about 27 statements of a small claim's transaction). Every insert, update or delete of a rule, a
-- tier or a tier level gives its program a new random version in the same transaction, whatever
-- wrote it; a claim reads the program's row, as it did already, and reads the rules and tiers again
-- only when the version differs from the one it holds them for. Random rather than counted, so that
-- a database restored from a backup and changed again never shows a version it showed before.
-- A rule budget added or removed renews it too, so a claim knows which rules have budgets; what a
-- budget consumed changes with every event, and a claim reads and locks the budgets of those rules
-- in each transaction (a program without budgets reads none).
alter table programs add column config_version uuid not null default gen_random_uuid();

create function renew_program_config_version() returns trigger language plpgsql as $$
declare
  changed record;
begin
  if tg_op = 'DELETE' then changed := old; else changed := new; end if;
  if tg_table_name = 'rule_budgets' then
    update programs p set config_version = gen_random_uuid()
    from rules r
    where r.organization_id = changed.organization_id and r.id = changed.rule_id
      and p.organization_id = r.organization_id and p.id = r.program_id;
  elsif tg_table_name = 'tier_levels' then
    update programs p set config_version = gen_random_uuid()
    from tiers t
    where t.organization_id = changed.organization_id and t.id = changed.tier_id
      and p.organization_id = t.organization_id and p.id = t.program_id;
  else
    update programs set config_version = gen_random_uuid()
    where organization_id = changed.organization_id and id = changed.program_id;
  end if;
  return null;
end
$$;

create trigger rules_renew_program_config_version after insert or update or delete on rules
  for each row execute function renew_program_config_version();
create trigger tiers_renew_program_config_version after insert or update or delete on tiers
  for each row execute function renew_program_config_version();
create trigger tier_levels_renew_program_config_version after insert or update or delete on tier_levels
  for each row execute function renew_program_config_version();
-- Not on update: a kept budget's row changes with every event that consumes it.
create trigger rule_budgets_renew_program_config_version after insert or delete on rule_budgets
  for each row execute function renew_program_config_version();
