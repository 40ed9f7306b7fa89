import { type Static, Type } from 'typebox';
import {
  KeyName,
  ListQueryFields,
  NullableTimestamp,
  SortDir,
  Timestamp,
  Uuid,
} from '../../platform/http/schemas.js';
import {
  actionsPerRuleMax,
  attributeKeyLengthMax,
  attributesPerParticipantMax,
  attributeValueLengthMax,
  budgetsPerRuleMax,
  celExpressionBytesMax,
  counterKeyLengthMax,
  countersPerOwnerMax,
  descriptionLengthMax,
  groupsPerParticipantMax,
  levelKeyLengthMax,
  nameLengthMax,
  searchLengthMax,
  tagLengthMax,
  tagsPerParticipantMax,
  tierKeyLengthMax,
  tiersPerProgramMax,
} from '../../platform/limits.js';

export const RuleStatus = Type.Enum(['ACTIVE', 'SUSPENDED', 'ARCHIVED']);
export const ActionType = Type.Enum([
  'CREDIT',
  'DEBIT',
  'HOLD',
  'RELEASE',
  'FORFEIT',
  'VOID_HOLD',
  'TAG',
  'UNTAG',
  'COUNTER',
  'SET_ATTRIBUTE',
  'SET_TIER',
  'SCHEDULE_EVENT',
  'BROADCAST',
]);
export type ActionType = Static<typeof ActionType>;

const Expression = (description: string) =>
  Type.String({ minLength: 1, maxLength: celExpressionBytesMax, description });
const DurationOrTimestamp = Type.String({
  minLength: 1,
  maxLength: 64,
  description: 'A Go-style duration from the event ("8760h") or an RFC 3339 timestamp',
});
const GoDuration = Type.String({
  minLength: 2,
  maxLength: 32,
  description: 'Go-style duration, e.g. "720h"',
});

export const ActionTarget = Type.Object(
  {
    type: Type.Enum(['PARTICIPANT', 'PROGRAM', 'GROUP']),
    id: Type.Optional(
      Expression(
        'PARTICIPANT: a participant id. GROUP (required): a group id, or CEL giving one ("event.group_id", ' +
          '"participant.groups[0]")',
      ),
    ),
    external_id: Type.Optional(Expression('CEL giving the external id, e.g. "event.referrer_id"')),
    participant_id: Type.Optional(Expression('CEL giving the participant id')),
  },
  { additionalProperties: false },
);

/**
 * One action. Every type shares this shape; which fields a type needs or allows is checked when the
 * rule is saved (see rule-actions.ts), so a message can name the exact field.
 */
export const Action = Type.Object(
  {
    type: ActionType,
    asset_id: Type.Optional(Uuid),
    amount: Type.Optional(Expression('A decimal string or CEL giving a number, e.g. "event.amount * 10"')),
    bucket: Type.Optional(Type.Enum(['AVAILABLE', 'HELD'])),
    allow_negative: Type.Optional(Type.Boolean()),
    description: Type.Optional(Type.String({ maxLength: descriptionLengthMax })),
    reference_id: Type.Optional(Expression('CEL giving the reference id, e.g. "event.order_id"')),
    expires_at: Type.Optional(DurationOrTimestamp),
    matures_at: Type.Optional(DurationOrTimestamp),
    delay: Type.Optional(GoDuration),
    event_name: Type.Optional(Type.String({ minLength: 1, maxLength: nameLengthMax })),
    payload: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    key: Type.Optional(KeyName({ maxLength: attributeKeyLengthMax })),
    value: Type.Optional(
      Type.String({ minLength: 1, maxLength: Math.max(attributeValueLengthMax, celExpressionBytesMax) }),
    ),
    reset_after: Type.Optional(GoDuration),
    tag: Type.Optional(Type.String({ minLength: 1, maxLength: tagLengthMax })),
    tier: Type.Optional(KeyName({ maxLength: nameLengthMax })),
    level: Type.Optional(Type.String({ minLength: 1, maxLength: nameLengthMax })),
    target: Type.Optional(ActionTarget),
  },
  { additionalProperties: false },
);
export type Action = Static<typeof Action>;

export const BudgetInput = Type.Object(
  {
    asset_id: Type.String({ format: 'uuid', description: 'An asset of the organization (404 otherwise)' }),
    limit: Type.String({
      pattern: '^\\d+(\\.\\d+)?$',
      maxLength: 40,
      description: "Decimal string with at most the asset's scale of decimals (invalid_scale otherwise)",
    }),
    schedule_type: Type.Optional(Type.Union([Type.Enum(['CRON', 'INTERVAL']), Type.Null()])),
    cron_expression: Type.Optional(Type.Union([Type.String({ maxLength: 100 }), Type.Null()])),
    interval: Type.Optional(Type.Union([GoDuration, Type.Null()])),
  },
  { additionalProperties: false },
);
export type BudgetInput = Static<typeof BudgetInput>;

export const Budget = Type.Object(
  {
    asset_id: Uuid,
    limit: Type.String({ description: "At the asset's scale, like every amount" }),
    consumed: Type.String({ description: "At the asset's scale; a due reset counts as done" }),
    schedule_type: Type.Union([Type.Enum(['CRON', 'INTERVAL']), Type.Null()]),
    cron_expression: Type.Union([Type.String(), Type.Null()]),
    interval: Type.Union([Type.String(), Type.Null()]),
    next_reset_at: NullableTimestamp,
  },
  {
    description: 'A rule budget',
    examples: [
      {
        asset_id: '01a24330-2fba-7000-8d19-3cece0eb69ca',
        limit: '50000.00',
        consumed: '0.00',
        schedule_type: 'CRON',
        cron_expression: '0 0 1 * *',
        interval: null,
        next_reset_at: '2027-01-01T00:00:00.000Z',
      },
    ],
  },
);
export type Budget = Static<typeof Budget>;

export const Rule = Type.Object(
  {
    id: Uuid,
    program_id: Uuid,
    name: Type.String(),
    description: Type.Union([Type.String(), Type.Null()]),
    condition: Type.String(),
    actions: Type.Array(Action),
    order: Type.Integer(),
    status: RuleStatus,
    stop_after_match: Type.Boolean(),
    active_from: NullableTimestamp,
    active_to: NullableTimestamp,
    budgets: Type.Array(Budget),
    created_at: Timestamp,
    updated_at: Timestamp,
    deleted_at: NullableTimestamp,
  },
  {
    $id: 'Rule',
    examples: [
      {
        id: '01a24330-302f-7000-894f-e0126dc57845',
        program_id: '01a24330-2cf4-7000-9491-eda95eeea36a',
        name: '10 points per dollar',
        description: null,
        condition: 'event.type == "purchase" && event.amount > 0.0',
        actions: [
          {
            type: 'CREDIT',
            asset_id: '01a24330-2fba-7000-8d19-3cece0eb69ca',
            amount: 'round(event.amount * 10.0, 2)',
          },
        ],
        order: 10,
        status: 'ACTIVE',
        stop_after_match: false,
        active_from: null,
        active_to: null,
        budgets: [],
        created_at: '2026-12-01T12:00:00.000Z',
        updated_at: '2026-12-01T12:00:00.000Z',
        deleted_at: null,
      },
    ],
    description: 'A rule',
  },
);
export type Rule = Static<typeof Rule>;

export const RuleErrorStats = Type.Object({
  since: Timestamp,
  recent_count: Type.Integer({
    description:
      'Evaluations since `since` that ended SKIPPED_ERROR or SKIPPED_TIMEOUT (at most 10,000 counted)',
  }),
  last_error: Type.Union([Type.String(), Type.Null()]),
  last_error_at: NullableTimestamp,
});
export type RuleErrorStats = Static<typeof RuleErrorStats>;

export const RuleWithErrorStats = Type.Object(
  { ...Rule.properties, error_stats: RuleErrorStats },
  {
    $id: 'RuleWithErrorStats',
    examples: [
      {
        id: '01a24348-6420-7000-a62b-9b58394caeb9',
        program_id: '01a24348-6354-7000-b5ec-32f4eafe1d0c',
        name: '1 point per unit spent',
        description: null,
        condition: 'event.type == "purchase" && event.amount > 0.0',
        actions: [
          { type: 'CREDIT', asset_id: '01a24348-637b-7000-809c-5ccd921fa143', amount: 'int(event.amount)' },
          { type: 'COUNTER', key: 'ytd_spend', value: 'event.amount' },
        ],
        order: 10,
        status: 'ACTIVE',
        stop_after_match: false,
        active_from: null,
        active_to: null,
        budgets: [],
        created_at: '2026-12-04T22:59:07.378Z',
        updated_at: '2026-12-04T22:59:07.378Z',
        deleted_at: null,
        error_stats: {
          since: '2026-12-03T22:59:11.843Z',
          recent_count: 0,
          last_error: null,
          last_error_at: null,
        },
      },
    ],
    description: 'A rule with its budgets and recent evaluation errors',
  },
);
export type RuleWithErrorStats = Static<typeof RuleWithErrorStats>;

const Name = Type.String({ minLength: 1, maxLength: nameLengthMax, description: 'Rule name (1-255)' });
const Description = Type.String({ maxLength: descriptionLengthMax });
const Condition = Type.String({
  minLength: 1,
  pattern: '\\S',
  description: `CEL that evaluates to bool, not blank; at most ${celExpressionBytesMax} bytes`,
});
const Actions = Type.Array(Action, { minItems: 1, maxItems: actionsPerRuleMax });
const Budgets = Type.Array(BudgetInput, { maxItems: budgetsPerRuleMax });
const Order = Type.Integer({ minimum: 1, maximum: 2_147_483_647, description: 'Lower runs first' });

export const CreateRuleBody = Type.Object(
  {
    program_id: Uuid,
    name: Name,
    condition: Condition,
    actions: Actions,
    description: Type.Optional(Description),
    order: Type.Optional(Order),
    stop_after_match: Type.Optional(Type.Boolean()),
    active_from: Type.Optional(Timestamp),
    active_to: Type.Optional(Timestamp),
    budgets: Type.Optional(Budgets),
    status: Type.Optional(Type.Enum(['ACTIVE', 'SUSPENDED'])),
  },
  {
    additionalProperties: false,
    examples: [
      {
        program_id: '01a24330-2cf4-7000-9491-eda95eeea36a',
        name: '10 points per dollar',
        condition: 'event.type == "purchase" && event.amount > 0.0',
        actions: [
          {
            type: 'CREDIT',
            asset_id: '01a24330-2fba-7000-8d19-3cece0eb69ca',
            amount: 'round(event.amount * 10.0, 2)',
          },
        ],
      },
    ],
  },
);
export type CreateRuleBody = Static<typeof CreateRuleBody>;

export const UpdateRuleBody = Type.Object(
  {
    name: Type.Optional(Name),
    description: Type.Optional(Type.Union([Description, Type.Null()])),
    condition: Type.Optional(Condition),
    actions: Type.Optional(Actions),
    order: Type.Optional(Order),
    stop_after_match: Type.Optional(Type.Boolean()),
    active_from: Type.Optional(NullableTimestamp),
    active_to: Type.Optional(NullableTimestamp),
    budgets: Type.Optional(Budgets),
    status: Type.Optional(RuleStatus),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    examples: [
      {
        condition: 'event.type == "purchase" && event.amount >= 20.0',
        actions: [
          {
            type: 'CREDIT',
            asset_id: '01a24330-2fba-7000-8d19-3cece0eb69ca',
            amount: 'round(event.amount * 10.0, 2)',
          },
        ],
      },
      { status: 'SUSPENDED' },
    ],
  },
);
export type UpdateRuleBody = Static<typeof UpdateRuleBody>;

export const ListRulesQuery = Type.Object(
  {
    ...ListQueryFields,
    program_id: Type.Optional(Uuid),
    include_archived: Type.Optional(Type.Boolean({ default: false })),
    status: Type.Optional(RuleStatus),
    search: Type.Optional(Type.String({ maxLength: searchLengthMax, description: 'Partial match on name' })),
    sort_by: Type.Optional(Type.Enum(['order', 'created_at', 'name'], { default: 'order' })),
    sort_dir: Type.Optional(Type.Enum(['asc', 'desc'], { default: 'asc' })),
  },
  { additionalProperties: false },
);
export type ListRulesQuery = Static<typeof ListRulesQuery>;

export const ChangeType = Type.Enum(['created', 'updated', 'archived', 'suspended', 'activated']);
export type ChangeType = Static<typeof ChangeType>;

export const RuleHistoryEntry = Type.Object(
  {
    id: Uuid,
    rule_id: Uuid,
    program_id: Uuid,
    change_type: ChangeType,
    changed_at: Timestamp,
    changed_by_api_key_id: Type.Union([Uuid, Type.Null()]),
    changed_by_user_id: Type.Null(),
    changes: Type.Record(Type.String(), Type.Object({ from: Type.Unknown(), to: Type.Unknown() })),
    snapshot: Type.Record(Type.String(), Type.Unknown()),
  },
  {
    $id: 'RuleHistoryEntry',
    examples: [
      {
        id: '01a24348-6429-7000-944d-e100881434c8',
        rule_id: '01a24348-6420-7000-a62b-9b58394caeb9',
        program_id: '01a24348-6354-7000-b5ec-32f4eafe1d0c',
        change_type: 'created',
        changed_at: '2026-12-04T22:59:07.378Z',
        changed_by_api_key_id: '01a24348-4edd-7000-816f-e4a186709086',
        changed_by_user_id: null,
        changes: {
          name: { from: null, to: '1 point per unit spent' },
          order: { from: null, to: 10 },
          status: { from: null, to: 'ACTIVE' },
          actions: {
            from: null,
            to: [
              {
                type: 'CREDIT',
                amount: 'int(event.amount)',
                asset_id: '01a24348-637b-7000-809c-5ccd921fa143',
              },
              { key: 'ytd_spend', type: 'COUNTER', value: 'event.amount' },
            ],
          },
          condition: { from: null, to: 'event.type == "purchase" && event.amount > 0.0' },
          stop_after_match: { from: null, to: false },
        },
        snapshot: {
          id: '01a24348-6420-7000-a62b-9b58394caeb9',
          name: '1 point per unit spent',
          order: 10,
          status: 'ACTIVE',
          actions: [
            { type: 'CREDIT', amount: 'int(event.amount)', asset_id: '01a24348-637b-7000-809c-5ccd921fa143' },
            { key: 'ytd_spend', type: 'COUNTER', value: 'event.amount' },
          ],
          budgets: [],
          active_to: null,
          condition: 'event.type == "purchase" && event.amount > 0.0',
          created_at: '2026-12-04T22:59:07.378Z',
          deleted_at: null,
          program_id: '01a24348-6354-7000-b5ec-32f4eafe1d0c',
          updated_at: '2026-12-04T22:59:07.378Z',
          active_from: null,
          description: null,
          stop_after_match: false,
        },
      },
    ],
    description: 'A change of a rule',
  },
);
export type RuleHistoryEntry = Static<typeof RuleHistoryEntry>;

export const RuleHistoryQuery = Type.Object(
  {
    change_type: Type.Optional(ChangeType),
    from: Type.Optional(Timestamp),
    to: Type.Optional(Timestamp),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: ListQueryFields.cursor,
    sort_dir: Type.Optional(SortDir),
  },
  { additionalProperties: false },
);
export type RuleHistoryQuery = Static<typeof RuleHistoryQuery>;

/** A draft rule: the condition, and any other field of a rule to check with it. */
export const ValidateBody = Type.Object(
  { ...Type.Partial(CreateRuleBody).properties, condition: Condition },
  {
    additionalProperties: false,
    examples: [
      { condition: 'event.type == "purchase" && event.amount > 0.0' },
      {
        program_id: '01a24330-2cf4-7000-9491-eda95eeea36a',
        name: '10 points per dollar',
        condition: 'event.type == "purchase"',
        actions: [
          {
            type: 'CREDIT',
            asset_id: '01a24330-2fba-7000-8d19-3cece0eb69ca',
            amount: 'round(event.amount * 10.0, 2)',
          },
        ],
      },
    ],
  },
);
export type ValidateBody = Static<typeof ValidateBody>;
export const ValidateResult = Type.Object(
  {
    valid: Type.Boolean(),
    message: Type.String(),
    note: Type.Optional(Type.String()),
    problems: Type.Array(
      Type.Object({ field: Type.String(), reason: Type.String(), message: Type.String() }),
      {
        description: 'Every problem found, each naming its field (e.g. actions[1].amount); empty when valid',
      },
    ),
  },
  {
    description: 'Whether the condition or rule is valid, and every problem',
    examples: [
      {
        valid: true,
        message: 'CEL condition is valid',
        note:
          'The check covers syntax, the functions and variables of the rule environment and the result type; ' +
          'field references are not checked against any event schema.',
        problems: [],
      },
      {
        valid: false,
        message: "found no matching overload for '_>_' applied to '(string, double)'",
        problems: [
          {
            field: 'condition',
            reason: 'invalid',
            message: "condition: found no matching overload for '_>_' applied to '(string, double)'",
          },
        ],
      },
    ],
  },
);
export type ValidateResult = Static<typeof ValidateResult>;

/** Bounded as a participant's own state is, so that rules read no more in simulate than on an event. */
export const ParticipantStateInput = Type.Object(
  {
    tags: Type.Optional(
      Type.Array(Type.String({ maxLength: tagLengthMax }), { maxItems: tagsPerParticipantMax }),
    ),
    counters: Type.Optional(
      Type.Record(Type.String(), Type.Number(), {
        maxProperties: countersPerOwnerMax,
        propertyNames: { maxLength: counterKeyLengthMax },
      }),
    ),
    attributes: Type.Optional(
      Type.Record(Type.String(), Type.String({ maxLength: attributeValueLengthMax }), {
        maxProperties: attributesPerParticipantMax,
        propertyNames: { maxLength: attributeKeyLengthMax },
      }),
    ),
    tiers: Type.Optional(
      Type.Record(
        Type.String(),
        Type.Object({ level: Type.String({ maxLength: levelKeyLengthMax }), rank: Type.Integer() }),
        { maxProperties: tiersPerProgramMax, propertyNames: { maxLength: tierKeyLengthMax } },
      ),
    ),
    status: Type.Optional(Type.Enum(['ACTIVE', 'SUSPENDED', 'CLOSED'])),
    groups: Type.Optional(Type.Array(Uuid, { maxItems: groupsPerParticipantMax })),
  },
  { additionalProperties: false },
);

const simulateFields = {
  event: Type.Record(Type.String(), Type.Unknown(), { description: 'The event data, as event_data' }),
  event_timestamp: Type.Optional(Timestamp),
  participant_state: Type.Optional(ParticipantStateInput),
};
const exampleEvent = { type: 'purchase', amount: 12.5 };
const exampleParticipantState = { tags: ['vip'], counters: { visits: 3 } };

export const SimulateBody = Type.Object(simulateFields, {
  additionalProperties: false,
  examples: [{ event: exampleEvent, participant_state: exampleParticipantState }],
});
export type SimulateBody = Static<typeof SimulateBody>;

export const SimulateDraftBody = Type.Object(
  {
    program_id: Uuid,
    condition: Condition,
    actions: Actions,
    stop_after_match: Type.Optional(Type.Boolean()),
    active_from: Type.Optional(Timestamp),
    active_to: Type.Optional(Timestamp),
    ...simulateFields,
  },
  {
    additionalProperties: false,
    examples: [
      {
        program_id: '01a24330-2cf4-7000-9491-eda95eeea36a',
        condition: 'event.type == "purchase"',
        actions: [
          {
            type: 'CREDIT',
            asset_id: '01a24330-2fba-7000-8d19-3cece0eb69ca',
            amount: 'round(event.amount * 10.0, 2)',
          },
        ],
        event: exampleEvent,
        participant_state: exampleParticipantState,
      },
    ],
  },
);
export type SimulateDraftBody = Static<typeof SimulateDraftBody>;

const SimulatedEvaluation = Type.Object({
  matched: Type.Boolean(),
  status: Type.Enum(['evaluated', 'condition_failed']),
  reason: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
  results: Type.Optional(
    Type.Array(
      Type.Object({
        action: Type.Record(Type.String(), Type.Unknown()),
        result: Type.Record(Type.String(), Type.Unknown()),
      }),
    ),
  ),
});
const exampleEvaluation = {
  matched: true,
  status: 'evaluated',
  results: [
    {
      action: {
        type: 'CREDIT',
        asset_id: '01a24330-2fba-7000-8d19-3cece0eb69ca',
        amount: 'round(event.amount * 10.0, 2)',
      },
      result: { amount: '125', asset_symbol: 'PTS', description: 'Credit 125 PTS to participant' },
    },
  ],
};

export const SimulateResult = Type.Object(
  {
    rule: Type.Object({
      id: Uuid,
      name: Type.String(),
      condition: Type.String(),
      order: Type.Integer(),
      stop_after_match: Type.Boolean(),
    }),
    evaluation: SimulatedEvaluation,
  },
  {
    description: 'The rule and what it would have done',
    examples: [
      {
        rule: {
          id: '01a24330-3f92-7000-97f8-d3b909015081',
          name: '10 points per dollar',
          condition: 'event.type == "purchase"',
          order: 10,
          stop_after_match: false,
        },
        evaluation: exampleEvaluation,
      },
    ],
  },
);
export type SimulateResult = Static<typeof SimulateResult>;

export const SimulateDraftResult = Type.Object(
  { evaluation: SimulatedEvaluation },
  { description: 'What the draft rule would have done', examples: [{ evaluation: exampleEvaluation }] },
);
export type SimulateDraftResult = Static<typeof SimulateDraftResult>;

export const ResetBudgetQuery = Type.Object({ asset_id: Uuid }, { additionalProperties: false });

/**
 * A stored evaluation as GET /v1/events/{id} shows it (statuses and reasons: evaluate-rules.ts; a
 * matched rule shows SUCCESS). `id`, `rule_name` and `created_at` are derived when read.
 */
export const RuleEvaluationView = Type.Object(
  {
    id: Type.String({ format: 'uuid', description: 'Stable: derived from the event and the position' }),
    rule_id: Uuid,
    rule_name: Type.String({ description: 'The name of the rule version that ran' }),
    rule_history_id: Uuid,
    status: Type.Enum(['SUCCESS', 'NOT_MATCHED', 'SKIPPED', 'SKIPPED_ERROR', 'SKIPPED_TIMEOUT']),
    reason: Type.Union([
      Type.Enum([
        'CONDITION_FALSE',
        'MISSING_FIELD',
        'OUTSIDE_TIME_WINDOW',
        'BUDGET_EXCEEDED',
        'STOPPED_AFTER_MATCH',
        'EVALUATION_ERROR',
        'COST_LIMIT_EXCEEDED',
      ]),
      Type.Null(),
    ]),
    stopped_by_rule_id: Type.Union([Uuid, Type.Null()]),
    error_message: Type.Union([Type.String(), Type.Null()], {
      description: 'Why the rule was skipped or failed to evaluate',
    }),
    actions: Type.Array(Type.Record(Type.String(), Type.Unknown()), {
      description: 'The resolved actions applied',
    }),
    created_at: Timestamp,
  },
  { $id: 'RuleEvaluation', description: 'An evaluation of a rule against an event' },
);
export type RuleEvaluationView = Static<typeof RuleEvaluationView>;
