-- Automations: scheduled and state-driven SYSTEM events (API-made, and the rule actions
-- SCHEDULE_EVENT and BROADCAST, source rule_action). One row holds the definition and the state of
-- its current run: the scheduler claims a due row (next_run_at) with SKIP LOCKED and bumps run_seq;
-- a fan-out advances fan_out_after (the last participant id sent) in the same transaction as the
-- events it inserts, so a crash resumes at the next participant and never sends one twice. The
-- events' idempotency keys name the automation, the run and the participant as well.

create table automations (
  organization_id uuid not null references organizations (id),
  id uuid not null,
  program_id uuid not null,
  name text not null check (length(name) between 1 and 255),
  description text check (length(description) <= 1000),
  event_name text not null check (length(event_name) between 1 and 255),
  payload jsonb not null default '{}' check (jsonb_typeof(payload) = 'object'),
  scope text not null check (scope in ('program', 'participants')),
  trigger_type text not null check (trigger_type in ('cron', 'one_time', 'immediate', 'participant_state')),
  cron_expression text,
  timezone text not null default 'UTC',
  trigger_at timestamptz,
  schedule_type text check (schedule_type in ('ATTRIBUTE_DATE', 'INTERVAL', 'CRON', 'THRESHOLD')),
  schedule_config jsonb,
  participant_filter text,
  guard_condition text,
  filter_hints jsonb not null default '[]' check (jsonb_typeof(filter_hints) = 'array'),
  participant_id uuid,
  status text not null default 'active' check (status in ('active', 'paused', 'archived')),
  source text not null default 'api' check (source in ('api', 'rule_action')),
  -- rule_action only: the event, rule and action that made it, so a retried event makes it once.
  source_key text,
  execution_status text not null default 'idle'
    check (execution_status in ('idle', 'pending', 'executing', 'completed', 'failed')),
  execution_started_at timestamptz,
  execution_completed_at timestamptz,
  execution_error text,
  error_message text,
  last_error text,
  last_evaluated_at timestamptz,
  last_run_at timestamptz,
  next_run_at timestamptz,
  processed_at timestamptz,
  run_seq integer not null default 0 check (run_seq >= 0),
  run_fired_at timestamptz,
  fan_out_after uuid,
  participants_total integer check (participants_total >= 0),
  participants_processed integer not null default 0 check (participants_processed >= 0),
  created_at timestamptz not null,
  updated_at timestamptz not null,
  primary key (organization_id, id),
  foreign key (organization_id, program_id) references programs (organization_id, id),
  check ((trigger_type = 'cron') = (cron_expression is not null)),
  check (trigger_type in ('one_time', 'immediate') or trigger_at is null),
  check ((trigger_type = 'participant_state') = (schedule_type is not null)),
  check (scope = 'participants' or trigger_type in ('cron', 'one_time')),
  unique (organization_id, source_key),
  check ((source = 'rule_action') = (source_key is not null))
);

-- Names are unique among a program's automations made through the API (rule actions name theirs
-- after the event that made them, and may repeat a name across events).
create unique index automations_name on automations (organization_id, program_id, name) where source = 'api';
create index automations_by_created on automations (organization_id, program_id, created_at, id);
-- The scheduler's two probes: runs due to start, and runs started but not finished.
create index automations_due on automations (next_run_at) where status = 'active' and next_run_at is not null;
create index automations_running on automations (updated_at)
  where execution_status in ('pending', 'executing');

-- participant_state automations: one subscription per participant the filter matched.
create table automation_subscriptions (
  organization_id uuid not null,
  id uuid not null,
  automation_id uuid not null,
  participant_id uuid not null,
  status text not null default 'active' check (status in ('active', 'completed', 'failed')),
  next_trigger_at timestamptz,
  last_triggered_at timestamptz,
  trigger_count integer not null default 0 check (trigger_count >= 0),
  retry_count integer not null default 0 check (retry_count >= 0),
  last_error text,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  primary key (organization_id, id),
  unique (organization_id, automation_id, participant_id),
  foreign key (organization_id, automation_id) references automations (organization_id, id),
  foreign key (organization_id, participant_id) references participants (organization_id, id)
);
create index automation_subscriptions_due on automation_subscriptions (next_trigger_at)
  where status = 'active' and next_trigger_at is not null;
