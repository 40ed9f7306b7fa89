-- Fewer bytes per event, and one statement fewer per claim.
--
-- Every evaluation row held the ids of the rule versions it evaluated, in order: about 100 bytes for
-- five rules, and the same list for every event of a program between two changes of its rules. The
-- list is now a row of its own, evaluated_rule_sets, named by a hash of the list (the same list, the
-- same id, whoever writes it first), and an event holds its id (16 bytes).
--
-- The outcomes go from jsonb to json, their text as written: about 90 bytes less for five outcomes,
-- and they are only ever read whole or, for a rule's recent errors, one by one.
--
-- And an event's evaluations go into its outcome row. Both were written once, by the transaction
-- that completed the event, each a row keyed by the event: a second row header, organization and
-- event ids, time and primary key entry, about 130 bytes. The outcome row now carries the event's
-- rule set, the rules that matched and the outcomes (null for an event that evaluated no rule, and
-- for failed events, whose evaluations are not kept). event_evaluations stays, as a view of them,
-- with the outcome's processing time as the evaluation's.
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

alter table event_outcomes
  add column rule_set_id uuid,
  add column matched_rule_ids uuid[],
  add column outcomes json,
  add constraint event_outcomes_evaluated_check
    check ((rule_set_id is null) = (outcomes is null) and (matched_rule_ids is null) = (outcomes is null)),
  add constraint event_outcomes_outcomes_check check (json_typeof(outcomes) = 'array');

-- Evaluations are written only with a COMPLETED outcome, in its transaction: each has its row.
update event_outcomes o
set rule_set_id = pg_temp.rule_set_id(e.rule_history_ids), matched_rule_ids = e.matched_rule_ids,
  outcomes = e.outcomes::json
from event_evaluations e
where e.organization_id = o.organization_id and e.event_id = o.event_id;

drop table event_evaluations;
drop function pg_temp.rule_set_id(uuid[]);

create view event_evaluations as
select organization_id, event_id, rule_set_id, processed_at as evaluated_at, matched_rule_ids, outcomes
from event_outcomes
where outcomes is not null;

-- GET /v1/events?rule_id=: the events a rule matched.
create index event_outcomes_matched on event_outcomes using gin (matched_rule_ids)
  where matched_rule_ids is not null;
-- A rule's recent errors: the events with an error or a timeout, by rule set and time (healthy rules
-- cost nothing).
create index event_outcomes_errors on event_outcomes (organization_id, rule_set_id, processed_at)
  where outcomes::jsonb @> '[{"status": "SKIPPED_ERROR"}]' or outcomes::jsonb @> '[{"status": "SKIPPED_TIMEOUT"}]';
