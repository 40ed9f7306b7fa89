-- participant_state automations fire their subscriptions, and rule budgets reset on the scheduler.
--
-- A subscription's schedule counts from started_at (INTERVAL) and was last computed at evaluated_at;
-- a full re-evaluation of an automation's subscriptions (refresh-subscriptions, periodic) walks the
-- enrolled participants by id from refresh_after and ends the subscriptions it did not see.
alter table automation_subscriptions
  add column started_at timestamptz,
  add column evaluated_at timestamptz;
update automation_subscriptions set started_at = created_at;
alter table automation_subscriptions alter column started_at set not null;

alter table automations
  add column refresh_requested_at timestamptz,
  add column refresh_started_at timestamptz,
  add column refresh_after uuid;
create index automations_participant_state on automations (organization_id)
  where trigger_type = 'participant_state' and status = 'active';

-- Participants whose state (tags, attributes, counters, status) changed, queued in the transaction of
-- the change and re-evaluated by the scheduler later, so the event engine does no CEL work for
-- participant_state automations. Rows are only inserted and deleted; duplicates are harmless.
create table participant_state_changes (
  organization_id uuid not null,
  id bigint generated always as identity,
  participant_id uuid not null,
  primary key (organization_id, id)
);

create index rule_budgets_due on rule_budgets (next_reset_at) where next_reset_at is not null;
