-- Fewer bytes per event. Every evaluation row held the ids of the rule versions it evaluated, in
-- order: about 100 bytes for five rules, and the same list for every event of a program between two
-- changes of its rules. The list is now a row of its own, evaluated_rule_sets, named by a hash of the
-- list (the same list, the same id, whoever writes it first), and an evaluation row holds its id (16
-- bytes). The outcomes go from jsonb to json, their text as written: about 90 bytes less for five
-- outcomes, and they are only ever read whole or, for a rule's recent errors, one by one.
create table evaluated_rule_sets (
  organization_id uuid not null,
  id uuid not null,
  rule_history_ids uuid[] not null check (cardinality(rule_history_ids) >= 1),
  primary key (organization_id, id)
);

-- The id the event processor gives a list (derivedId('rule-set', ...ids) in platform/ids.ts): the
-- first 16 bytes of the SHA-256 of 'rule-set/' and the ids joined by '/', with the UUID version and
-- variant bits set.
create function pg_temp.rule_set_id(ids uuid[]) returns uuid language sql immutable as $$
  select encode(set_byte(set_byte(substr(h, 1, 16), 6, (get_byte(h, 6) & 15) | 128),
    8, (get_byte(h, 8) & 63) | 128), 'hex')::uuid
  from sha256(convert_to('rule-set/' || array_to_string(ids, '/'), 'UTF8')) as h
$$;

insert into evaluated_rule_sets (organization_id, id, rule_history_ids)
select distinct organization_id, pg_temp.rule_set_id(rule_history_ids), rule_history_ids
from event_evaluations;

-- Fixed-width columns first, so that no row pads between them.
create table event_evaluations_compact (
  organization_id uuid not null,
  event_id uuid not null,
  rule_set_id uuid not null,
  evaluated_at timestamptz not null,
  matched_rule_ids uuid[] not null,
  -- [{status?, reason?, message?, stopped_by_rule_id?, actions?}], in the rule set's order
  outcomes json not null
);
insert into event_evaluations_compact
select organization_id, event_id, pg_temp.rule_set_id(rule_history_ids), evaluated_at, matched_rule_ids,
  outcomes::json
from event_evaluations;
drop table event_evaluations;
alter table event_evaluations_compact rename to event_evaluations;
alter table event_evaluations
  add primary key (organization_id, event_id),
  add constraint event_evaluations_outcomes_check check (json_typeof(outcomes) = 'array');
create index event_evaluations_matched on event_evaluations using gin (matched_rule_ids);
-- A rule's recent errors: the events with an error or a timeout, by rule set and time (healthy rules
-- cost nothing).
create index event_evaluations_errors on event_evaluations (organization_id, rule_set_id, evaluated_at)
  where outcomes::jsonb @> '[{"status": "SKIPPED_ERROR"}]' or outcomes::jsonb @> '[{"status": "SKIPPED_TIMEOUT"}]';

drop function pg_temp.rule_set_id(uuid[]);
