-- A participant's contact columns are null for most participants, and always for those an event
-- creates; a GIN index keeps an entry for every null too, so each new participant wrote five null
-- entries into the search indexes (and each of its row versions not updated heap-only, five more).
-- The indexes now hold only the rows that have the column: a search's contains-match on a column
-- implies it is not null, so the planner still answers it from them.
drop index participants_search_email;
create index participants_search_email on participants using gin (email gin_trgm_ops)
  with (fastupdate = off) where email is not null;
drop index participants_search_phone;
create index participants_search_phone on participants using gin (phone gin_trgm_ops)
  with (fastupdate = off) where phone is not null;
drop index participants_search_first_name;
create index participants_search_first_name on participants using gin (first_name gin_trgm_ops)
  with (fastupdate = off) where first_name is not null;
drop index participants_search_last_name;
create index participants_search_last_name on participants using gin (last_name gin_trgm_ops)
  with (fastupdate = off) where last_name is not null;
drop index participants_search_display_name;
create index participants_search_display_name on participants using gin (display_name gin_trgm_ops)
  with (fastupdate = off) where display_name is not null;
