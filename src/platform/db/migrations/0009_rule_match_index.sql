-- GET /v1/events?rule_id= lists the events in which a rule matched: look them up by rule.
create index rule_evaluations_matched_by_rule on rule_evaluations (organization_id, rule_id, event_id)
  where status = 'MATCHED';
