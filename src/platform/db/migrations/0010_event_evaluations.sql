-- Rule evaluations: one row per event instead of one per rule. An event of a five-rule program wrote
-- five rows and seven index entries, about 2 KB, the largest share of the database per event after
-- the event itself (bench/README.md). Positions are the array indexes; rule ids are uuid arrays and
-- the rest of each outcome is a small JSON object without its null and empty parts. matched_rule_ids
-- (GIN) answers GET /v1/events?rule_id=. An event that evaluated no rule has no row.
create table event_evaluations (
  organization_id uuid not null,
  event_id uuid not null,
  rule_ids uuid[] not null,
  rule_history_ids uuid[] not null,
  matched_rule_ids uuid[] not null,
  -- [{status, reason?, message?, stopped_by_rule_id?, actions?}], in rule_ids order
  outcomes jsonb not null,
  evaluated_at timestamptz not null,
  primary key (organization_id, event_id),
  check (jsonb_typeof(outcomes) = 'array'),
  check (cardinality(rule_ids) = jsonb_array_length(outcomes)
         and cardinality(rule_history_ids) = cardinality(rule_ids))
);
create index event_evaluations_matched on event_evaluations using gin (matched_rule_ids);

insert into event_evaluations (organization_id, event_id, rule_ids, rule_history_ids, matched_rule_ids,
                               outcomes, evaluated_at)
select organization_id, event_id, array_agg(rule_id order by position),
  array_agg(rule_history_id order by position),
  coalesce(array_agg(rule_id order by position) filter (where status = 'MATCHED'), '{}'),
  jsonb_agg(jsonb_strip_nulls(jsonb_build_object('status', status, 'reason', reason, 'message', message,
    'stopped_by_rule_id', stopped_by_rule_id, 'actions', case when actions = '[]' then null else actions end))
    order by position),
  max(evaluated_at)
from rule_evaluations
group by organization_id, event_id;

drop table rule_evaluations;
