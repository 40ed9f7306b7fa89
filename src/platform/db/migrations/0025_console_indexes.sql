-- Indexes for the console's reads, each measured necessary by bench/console-api.ts on a program
-- with 100,000 participants and 1,000,000 events (docs/console.md has the figures before and after).

-- Participant search (GET /v1/participants?search=) is a contains-match (ILIKE '%text%') on six
-- columns; without these it reads every participant of the organization. Trigram indexes answer a
-- search of 3 characters or more; shorter ones still read the table. pg_trgm is a trusted
-- extension: the database owner may create it. fastupdate off: a new participant goes straight into
-- the indexes instead of a pending list that every search reads until (auto)vacuum merges it; after
-- a bulk load of 100,000 participants that list made a search take 300 ms instead of 1 ms.
create extension if not exists pg_trgm;
create index participants_search_external_id on participants using gin (external_id gin_trgm_ops)
  with (fastupdate = off);
create index participants_search_email on participants using gin (email gin_trgm_ops)
  with (fastupdate = off);
create index participants_search_phone on participants using gin (phone gin_trgm_ops)
  with (fastupdate = off);
create index participants_search_first_name on participants using gin (first_name gin_trgm_ops)
  with (fastupdate = off);
create index participants_search_last_name on participants using gin (last_name gin_trgm_ops)
  with (fastupdate = off);
create index participants_search_display_name on participants using gin (display_name gin_trgm_ops)
  with (fastupdate = off);

-- FAILED events of a program, newest first: the overview's count and the events list's status
-- filter. Failures are rare, so the partial index stays small; without it both read every event of
-- the organization.
create index events_failed on events (organization_id, program_id, created_at, id) where status = 'FAILED';
