-- Sealing without rewriting journal entries, and fewer index entries per posted entry.
-- The sealer used to update every journal entry once to fill in its position and hash: a second,
-- full-width version of the row in four indexes, through a row trigger. The seals now live in a
-- narrow insert-only table read with the entry; the entries waiting for the sealer are listed in a
-- small queue, one row per inserting statement (a whole claim of events), that the sealer deletes.
-- The chain and its hashes are unchanged: entry_hash = SHA-256(previous entry's hash, sequence number,
-- canonical entry), the previous hash being the seal one position earlier (genesis before the first).

create table journal_seals (
  organization_id uuid not null,
  journal_entry_id uuid not null,
  sequence_number bigint not null check (sequence_number > 0),
  entry_hash bytea not null check (length(entry_hash) = 32),
  primary key (organization_id, journal_entry_id),
  unique (organization_id, sequence_number)
);

create table journal_unsealed (
  organization_id uuid not null,
  id bigint generated always as identity,
  journal_entry_ids uuid[] not null check (cardinality(journal_entry_ids) > 0),
  primary key (organization_id, id)
);

insert into journal_seals (organization_id, journal_entry_id, sequence_number, entry_hash)
select organization_id, id, sequence_number, decode(entry_hash, 'hex') from journal_entries
where sequence_number is not null;

insert into journal_unsealed (organization_id, journal_entry_ids)
select organization_id, array_agg(id order by created_at, id) from journal_entries
where sequence_number is null group by organization_id;

-- Every inserted entry is queued for the sealer by the database itself, whatever code inserted it.
create function queue_journal_entries_for_sealing() returns trigger language plpgsql as $$
begin
  insert into journal_unsealed (organization_id, journal_entry_ids)
  select organization_id, array_agg(id order by created_at, id) from inserted group by organization_id;
  return null;
end $$;

create trigger journal_entries_queued after insert on journal_entries
  referencing new table as inserted for each statement execute function queue_journal_entries_for_sealing();

drop trigger journal_entries_append_only on journal_entries;
drop function allow_sealing_only();
create trigger journal_entries_append_only before update or delete on journal_entries
  for each row execute function refuse_ledger_rewrite();
create trigger journal_seals_append_only before update or delete on journal_seals
  for each row execute function refuse_ledger_rewrite();

drop index journal_entries_unsealed;
alter table journal_entries drop column sequence_number, drop column previous_hash, drop column entry_hash,
  drop column sealed_at;

-- postings -> journal_entries: the key check locked the entry row (FOR KEY SHARE: a WAL record and a
-- rewrite of the entry's tuple header) once per posting, through a plan cached per connection that
-- scanned an organization's entries while the table was young. Entries are never deleted (the
-- append-only trigger), so the key guarded only the insert: checked here once per statement instead,
-- for all the postings it inserts, without locks.
alter table postings drop constraint postings_organization_id_journal_entry_id_fkey;

create function check_postings_have_entries() returns trigger language plpgsql as $$
declare
  orphan record;
begin
  select p.organization_id, p.journal_entry_id into orphan from inserted p
  where not exists (select 1 from journal_entries j
                    where j.organization_id = p.organization_id and j.id = p.journal_entry_id)
  limit 1;
  if found then
    raise exception 'posting of journal entry % (organization %) without its entry',
      orphan.journal_entry_id, orphan.organization_id using errcode = '23503';
  end if;
  return null;
end $$;

create trigger postings_have_entries after insert on postings
  referencing new table as inserted for each statement execute function check_postings_have_entries();

-- Postings are read by entry (the entry's lines, the balance check) and by owner (activity, balances
-- at a date): the entry's key leads the primary key, and the index by account goes (the integrity
-- check sums postings per account in one pass instead).
alter table postings drop constraint postings_pkey;
alter table postings add primary key (organization_id, journal_entry_id, id);
drop index postings_by_entry;
drop index postings_by_account;

-- Double entry, one query per entry instead of two.
create or replace function check_journal_entry_balanced() returns trigger language plpgsql as $$
declare
  posting_count integer;
  unbalanced integer;
begin
  select coalesce(sum(n), 0), count(*) filter (where total <> 0) into posting_count, unbalanced
  from (select count(*) as n, sum(amount) as total from postings
        where organization_id = new.organization_id and journal_entry_id = new.id
        group by asset_id) as sums;
  if posting_count < 2 or unbalanced > 0 then
    raise exception 'journal entry % is not balanced (% postings, % unbalanced assets)',
      new.id, posting_count, unbalanced using errcode = '23514';
  end if;
  return null;
end $$;
