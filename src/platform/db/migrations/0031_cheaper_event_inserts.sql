-- Two costs of inserting events, the hot path of ingest and of automation fan-outs.
--
-- events -> programs: the key check locked the program row (FOR KEY SHARE) once per inserted event.
-- Every ingest batch and every fan-out chunk of one program locked the same row thousands of times
-- from concurrent transactions (multixacts, a tuple header rewritten per locker): about 60 ms of a
-- 5,000-event fan-out chunk's insert. Programs are never deleted, so the key guarded the insert and
-- a delete that never happens: both are checked here instead, the insert once per statement for all
-- its events, without locks.
alter table events drop constraint events_organization_id_program_id_fkey;

create function check_events_have_programs() returns trigger language plpgsql as $$
declare
  orphan record;
begin
  select e.organization_id, e.program_id into orphan from inserted e
  where not exists (select 1 from programs p where p.organization_id = e.organization_id and p.id = e.program_id)
  limit 1;
  if found then
    raise exception 'event of program % (organization %) without its program', orphan.program_id,
      orphan.organization_id using errcode = '23503';
  end if;
  return null;
end $$;

create trigger events_have_programs after insert on events
  referencing new table as inserted for each statement execute function check_events_have_programs();

create function refuse_deleting_programs_with_events() returns trigger language plpgsql as $$
begin
  if exists (select 1 from events e where e.organization_id = old.organization_id and e.program_id = old.id) then
    raise exception 'program % (organization %) has events', old.id, old.organization_id using errcode = '23503';
  end if;
  return old;
end $$;

create trigger programs_with_events_kept before delete on programs
  for each row execute function refuse_deleting_programs_with_events();

-- An event names its participant by id or by external_id, and SYSTEM events by id only: each listing
-- index keeps only the rows that have its column, so most inserts write one of the two, not both (the
-- filters that use them compare the column to a value, which implies it is not null).
drop index events_by_participant;
create index events_by_participant on events (organization_id, participant_id, created_at, id)
  where participant_id is not null;
drop index events_by_external_id;
create index events_by_external_id on events (organization_id, external_id, created_at, id)
  where external_id is not null;
