-- Fewer bytes per event: the state history as one row per owner and source.
--
-- A purchase changed two counters of its participant (sometimes a tag or a tier level too), and each
-- change was a row of its own: a row header, the organization, owner, program and event ids, two
-- timestamps, its own id, and a primary key entry inserted at a random place, repeated for every
-- change the same event made to the same owner. A row of state_history_sets now holds all the
-- changes one source made to one owner at one time (an event's to its participant, one request's,
-- one job run's), each change a json array [state_type, key, operation, old_value, new_value,
-- rule_id]: 167 bytes less per event in the benchmark (622 -> 455, full runs of 2026-12-07).
--
-- state_history stays, as a view with one row per change as before. A change's id is its set's id
-- with the set's last byte plus the change's position (from 0): a set written by the server has
-- a last byte of 0 and at most 256 changes, so its changes keep the order they were made in, and
-- each existing row becomes a set of one change under its own id, which its entry keeps.
create table state_history_sets (
  organization_id uuid not null,
  owner_id uuid not null,
  id uuid not null,
  program_id uuid,
  event_id uuid,
  changed_by_api_key_id uuid,
  changed_at timestamptz not null,
  event_timestamp timestamptz,
  owner_type state_owner_type not null,
  changed_by_job text check (length(changed_by_job) between 1 and 64),
  changes json not null,
  primary key (organization_id, owner_id, changed_at, id),
  constraint state_history_sets_one_source
    check (num_nonnulls(event_id, changed_by_api_key_id, changed_by_job) = 1),
  check ((event_id is null) = (event_timestamp is null)),
  constraint state_history_sets_changes_check check (json_typeof(changes) = 'array'
    and json_array_length(changes) between 1 and 256 - get_byte(uuid_send(id), 15))
);

insert into state_history_sets (organization_id, owner_id, id, program_id, event_id, changed_by_api_key_id,
  changed_at, event_timestamp, owner_type, changed_by_job, changes)
select organization_id, owner_id, id, program_id, event_id, changed_by_api_key_id, changed_at,
  event_timestamp, owner_type, changed_by_job,
  json_build_array(json_build_array(state_type, key, operation, old_value, new_value, rule_id))
from state_history;

drop table state_history;

create view state_history as
select s.organization_id,
  (left(s.id::text, 34) || lpad(to_hex(get_byte(uuid_send(s.id), 15) + c.position::integer - 1), 2, '0'))::uuid
    as id,
  s.owner_type, s.owner_id,
  (c.change->>0)::state_history_type as state_type,
  c.change->>1 as key,
  (c.change->>2)::state_operation as operation,
  c.change->>3 as old_value,
  c.change->>4 as new_value,
  s.program_id, s.event_id, s.event_timestamp,
  (c.change->>5)::uuid as rule_id,
  s.changed_by_api_key_id, s.changed_by_job, s.changed_at
from state_history_sets s
cross join lateral json_array_elements(s.changes) with ordinality as c(change, position);
