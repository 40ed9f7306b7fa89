-- postings -> ledger_accounts: the key check ran once per posting, two or more per event, each a
-- queued trigger and a query. Accounts are never deleted, so the key guarded the insert and a delete
-- that never happens: the insert is checked once per statement for all its postings, in the trigger
-- that checks their entries already, and deleting an account is refused.
-- PG_STAT_STATEMENTS=1 PARTICIPANTS=2000 npx tsx bench/queries-per-event.ts 20000, two runs each: the
-- postings inserts took 942 and 833 ms of the server's time (checks included) for 20,000 events,
-- 586 and 609 ms with this.
alter table postings drop constraint postings_organization_id_account_id_fkey;

drop trigger postings_have_entries on postings;
drop function check_postings_have_entries();

create function check_postings_have_entries_and_accounts() returns trigger language plpgsql as $$
declare
  orphan record;
begin
  -- Two anti-joins, not one with both conditions: an OR of two NOT EXISTS is planned as hashed
  -- subplans that read the whole of each table.
  select p.organization_id, p.journal_entry_id into orphan from inserted p
  where not exists (select 1 from journal_entries j
                    where j.organization_id = p.organization_id and j.id = p.journal_entry_id)
  limit 1;
  if found then
    raise exception 'posting of journal entry % (organization %) without its entry',
      orphan.journal_entry_id, orphan.organization_id using errcode = '23503';
  end if;
  select p.organization_id, p.journal_entry_id, p.account_id into orphan from inserted p
  where not exists (select 1 from ledger_accounts a
                    where a.organization_id = p.organization_id and a.id = p.account_id)
  limit 1;
  if found then
    raise exception 'posting of journal entry % (organization %) on account % that does not exist',
      orphan.journal_entry_id, orphan.organization_id, orphan.account_id using errcode = '23503';
  end if;
  return null;
end $$;

create trigger postings_have_entries_and_accounts after insert on postings
  referencing new table as inserted for each statement execute function check_postings_have_entries_and_accounts();

create trigger ledger_accounts_kept before delete on ledger_accounts
  for each row execute function refuse_ledger_rewrite();
