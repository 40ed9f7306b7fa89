import { type Static, Type } from 'typebox';
import { ListQueryFields, NullableTimestamp, Timestamp, Uuid } from '../../platform/http/schemas.js';
import {
  celExpressionBytesMax,
  cronExpressionLengthMax,
  descriptionLengthMax,
  filterHintsMax,
  nameLengthMax,
  searchLengthMax,
  timezoneLengthMax,
} from '../../platform/limits.js';

export const triggerTypes = ['cron', 'one_time', 'immediate', 'participant_state'] as const;
export type TriggerType = (typeof triggerTypes)[number];
export const scheduleTypes = ['ATTRIBUTE_DATE', 'INTERVAL', 'CRON', 'THRESHOLD'] as const;
export type ScheduleType = (typeof scheduleTypes)[number];

const Scope = Type.Enum(['program', 'participants'], {
  description: 'program: one event; participants: one event per matching ACTIVE enrolled participant',
});
const TriggerTypeSchema = Type.Enum([...triggerTypes]);
const Status = Type.Enum(['active', 'paused', 'archived']);
const Source = Type.Enum(['api', 'rule_action']);
const ExecutionStatus = Type.Enum(['idle', 'pending', 'executing', 'completed', 'failed']);
const Name = Type.String({ minLength: 1, maxLength: nameLengthMax });
const EventName = Type.String({ minLength: 1, maxLength: nameLengthMax, description: 'event_data.type' });
const Description = Type.String({ maxLength: descriptionLengthMax });
const Payload = Type.Record(Type.String(), Type.Unknown(), {
  description: 'Fields merged into the fired events’ event_data',
});
const CronExpression = Type.String({
  minLength: 1,
  maxLength: cronExpressionLengthMax,
  description: 'Five fields: minute hour day-of-month month day-of-week; no CRON_TZ=/TZ= prefix',
});
const Timezone = Type.String({
  minLength: 1,
  maxLength: timezoneLengthMax,
  description: 'IANA time zone of cron_expression and of ATTRIBUTE_DATE dates',
});
const Cel = (description: string) =>
  Type.String({ minLength: 1, maxLength: celExpressionBytesMax, description });
const ParticipantFilter = Cel(
  'CEL over participant and program choosing who is included (participants scope)',
);
const GuardCondition = Cel('CEL checked at fire time for each participant; false skips the participant');
const FilterHints = Type.Array(Type.Record(Type.String(), Type.Unknown()), {
  maxItems: filterHintsMax,
  description: 'Optimisation hints such as {"has_tag": "vip"}; advisory',
});
const ScheduleConfig = Type.Record(Type.String(), Type.Unknown(), {
  description:
    'ATTRIBUTE_DATE {attribute, time: "09:00" (optional)}; INTERVAL {interval: "720h"}; CRON {cron_expression}; THRESHOLD {counter, value}',
});

export const Trigger = Type.Object(
  {
    type: TriggerTypeSchema,
    cron_expression: Type.Optional(CronExpression),
    timezone: Type.Optional(Timezone),
    trigger_at: Type.Optional(Timestamp),
    schedule_type: Type.Optional(Type.Enum([...scheduleTypes])),
    schedule_config: Type.Optional(ScheduleConfig),
  },
  { additionalProperties: false },
);
export type Trigger = Static<typeof Trigger>;

export const CreateAutomationBody = Type.Object(
  {
    name: Name,
    description: Type.Optional(Description),
    event_name: EventName,
    payload: Type.Optional(Payload),
    scope: Scope,
    trigger: Trigger,
    participant_filter: Type.Optional(ParticipantFilter),
    guard_condition: Type.Optional(GuardCondition),
    filter_hints: Type.Optional(FilterHints),
    participant_id: Type.Optional(Uuid),
  },
  {
    additionalProperties: false,
    examples: [
      {
        name: 'Monthly statement',
        event_name: 'monthly_statement',
        scope: 'participants',
        trigger: { type: 'cron', cron_expression: '0 9 1 * *', timezone: 'Europe/Paris' },
        participant_filter: '"statements" in participant.tags',
        payload: { channel: 'email' },
      },
    ],
  },
);
export type CreateAutomationBody = Static<typeof CreateAutomationBody>;

export const UpdateAutomationBody = Type.Object(
  {
    name: Type.Optional(Name),
    description: Type.Optional(Type.Union([Description, Type.Null()])),
    event_name: Type.Optional(EventName),
    payload: Type.Optional(Payload),
    status: Type.Optional(Type.Enum(['active', 'paused'])),
    cron_expression: Type.Optional(CronExpression),
    timezone: Type.Optional(Timezone),
    trigger_at: Type.Optional(Timestamp),
    schedule_config: Type.Optional(ScheduleConfig),
    participant_filter: Type.Optional(Type.Union([ParticipantFilter, Type.Null()])),
    guard_condition: Type.Optional(Type.Union([GuardCondition, Type.Null()])),
    filter_hints: Type.Optional(FilterHints),
  },
  { additionalProperties: false, examples: [{ status: 'paused' }, { cron_expression: '0 8 1 * *' }] },
);
export type UpdateAutomationBody = Static<typeof UpdateAutomationBody>;

const NullableString = Type.Union([Type.String(), Type.Null()]);

export const Automation = Type.Object(
  {
    id: Uuid,
    program_id: Uuid,
    name: Type.String(),
    description: NullableString,
    event_name: Type.String(),
    payload: Payload,
    scope: Scope,
    trigger_type: TriggerTypeSchema,
    cron_expression: NullableString,
    timezone: Type.String(),
    trigger_at: NullableTimestamp,
    schedule_type: Type.Union([Type.Enum([...scheduleTypes]), Type.Null()]),
    schedule_config: Type.Union([ScheduleConfig, Type.Null()]),
    participant_filter: NullableString,
    guard_condition: NullableString,
    filter_hints: Type.Array(Type.Record(Type.String(), Type.Unknown())),
    participant_id: Type.Union([Uuid, Type.Null()]),
    status: Status,
    source: Source,
    execution_status: ExecutionStatus,
    execution_started_at: NullableTimestamp,
    execution_completed_at: NullableTimestamp,
    execution_error: NullableString,
    error_message: NullableString,
    last_error: NullableString,
    last_evaluated_at: NullableTimestamp,
    last_run_at: NullableTimestamp,
    next_run_at: NullableTimestamp,
    processed_at: NullableTimestamp,
    participants_total: Type.Union([Type.Integer(), Type.Null()], {
      description: 'ACTIVE enrolled participants when the run started (participants scope)',
    }),
    participants_processed: Type.Integer({
      description: 'Participants the run has gone through so far, sent or skipped',
    }),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  {
    $id: 'Automation',
    description: 'An automation: its trigger, scope, status and the progress of its current run',
    examples: [
      {
        id: '0193b1f0-0000-7000-8000-000000000001',
        program_id: '0193b1f0-0000-7000-8000-000000000002',
        name: 'Monthly statement',
        description: null,
        event_name: 'monthly_statement',
        payload: { channel: 'email' },
        scope: 'participants',
        trigger_type: 'cron',
        cron_expression: '0 9 1 * *',
        timezone: 'Europe/Paris',
        trigger_at: null,
        schedule_type: null,
        schedule_config: null,
        participant_filter: '"statements" in participant.tags',
        guard_condition: null,
        filter_hints: [],
        participant_id: null,
        status: 'active',
        source: 'api',
        execution_status: 'idle',
        execution_started_at: null,
        execution_completed_at: null,
        execution_error: null,
        error_message: null,
        last_error: null,
        last_evaluated_at: null,
        last_run_at: null,
        next_run_at: '2027-01-01T08:00:00.000Z',
        processed_at: null,
        participants_total: null,
        participants_processed: 0,
        created_at: '2026-12-04T10:00:00.000Z',
        updated_at: '2026-12-04T10:00:00.000Z',
      },
    ],
  },
);
export type Automation = Static<typeof Automation>;

const exampleProgramId = '0193b1f0-0000-7000-8000-000000000002';
export const AutomationParams = Type.Object(
  { programId: Uuid, automationId: Uuid },
  {
    additionalProperties: false,
    examples: [{ programId: exampleProgramId, automationId: '0193b1f0-0000-7000-8000-000000000001' }],
  },
);
export const ProgramParams = Type.Object(
  { programId: Uuid },
  { additionalProperties: false, examples: [{ programId: exampleProgramId }] },
);

export const ListAutomationsQuery = Type.Object(
  {
    ...ListQueryFields,
    search: Type.Optional(Type.String({ maxLength: searchLengthMax, description: 'Part of the name' })),
    trigger_type: Type.Optional(TriggerTypeSchema),
    scope: Type.Optional(Scope),
    status: Type.Optional(Status),
    source: Type.Optional(Source),
  },
  { additionalProperties: false, examples: [{ status: 'active', trigger_type: 'cron' }] },
);
export type ListAutomationsQuery = Static<typeof ListAutomationsQuery>;

export const Subscription = Type.Object(
  {
    id: Uuid,
    automation_id: Uuid,
    participant_id: Uuid,
    status: Type.Enum(['active', 'completed', 'failed']),
    next_trigger_at: NullableTimestamp,
    last_triggered_at: NullableTimestamp,
    trigger_count: Type.Integer(),
    retry_count: Type.Integer(),
    last_error: NullableString,
    created_at: Timestamp,
  },
  {
    $id: 'AutomationSubscription',
    examples: [
      {
        id: '0193b1f0-0000-7000-8000-000000000003',
        automation_id: '0193b1f0-0000-7000-8000-000000000001',
        participant_id: '0193b1f0-0000-7000-8000-000000000004',
        status: 'active',
        next_trigger_at: '2027-06-15T07:00:00.000Z',
        last_triggered_at: null,
        trigger_count: 0,
        retry_count: 0,
        last_error: null,
        created_at: '2026-12-04T10:00:00.000Z',
      },
    ],
  },
);
export type Subscription = Static<typeof Subscription>;

export const ListSubscriptionsQuery = Type.Object(
  { ...ListQueryFields, status: Type.Optional(Type.Enum(['active', 'completed', 'failed'])) },
  { additionalProperties: false, examples: [{ status: 'active' }] },
);
export type ListSubscriptionsQuery = Static<typeof ListSubscriptionsQuery>;

export const Accepted = Type.Object(
  {},
  { $id: 'AutomationAccepted', description: 'Accepted: the work starts within 5 seconds', examples: [{}] },
);
