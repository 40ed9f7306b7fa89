import { type Static, Type } from 'typebox';
import { ListQueryFields, NullableTimestamp, SortDir, Timestamp, Uuid } from '../../platform/http/schemas.js';
import { checkedPerItem } from '../../platform/http/validation.js';
import { eventBatchSizeMax, externalIdLengthMax, idempotencyKeyLengthMax } from '../../platform/limits.js';

export const EventStatus = Type.Enum(['PENDING', 'PROCESSING', 'COMPLETED', 'FAILED']);
/** RECEIVED is accepted as a filter for compatibility; Accrue stores no event in that state. */
const EventStatusFilter = Type.Enum(['RECEIVED', 'PENDING', 'PROCESSING', 'COMPLETED', 'FAILED']);
export const EventType = Type.Enum(['EXTERNAL', 'SYSTEM']);

const ExternalId = Type.String({ minLength: 1, maxLength: externalIdLengthMax });
const NullableUuid = Type.Union([Uuid, Type.Null()]);
const NullableString = Type.Union([Type.String(), Type.Null()]);

export const EventInput = Type.Object(
  {
    program_id: Uuid,
    external_id: Type.Optional(ExternalId),
    participant_id: Type.Optional(Uuid),
    recipient_id: Type.Optional(Uuid),
    recipient_external_id: Type.Optional(ExternalId),
    idempotency_key: Type.String({
      minLength: 1,
      maxLength: idempotencyKeyLengthMax,
      description: 'Unique per program (1-255); a replay with the same payload answers the original event',
    }),
    event_timestamp: Type.String({
      format: 'date-time',
      description: 'When the event happened (RFC 3339); the logical clock of rule evaluation',
    }),
    event_data: Type.Record(Type.String(), Type.Unknown(), {
      description: 'Any JSON object, at most 64 KiB serialized; read in rules as event.*',
    }),
  },
  {
    additionalProperties: false,
    examples: [
      {
        program_id: '01a24330-2cf4-7000-9491-eda95eeea36a',
        external_id: 'user_abc123',
        idempotency_key: 'order-12345-completed',
        event_timestamp: '2026-11-22T10:30:00Z',
        event_data: { type: 'purchase', amount: 42.5 },
      },
    ],
    description:
      'Exactly one of external_id or participant_id; at most one of recipient_id or recipient_external_id',
  },
);
export type EventInput = Static<typeof EventInput>;

/** Items are checked one by one with EventInput, so that one bad item does not reject the batch. */
export const EventBatchBody = Type.Object(
  {
    events: Type.Array(Type.Unknown(), {
      ...checkedPerItem,
      minItems: 1,
      maxItems: eventBatchSizeMax,
      description: '1-100 events, each shaped like the body of POST /v1/events',
    }),
  },
  {
    additionalProperties: false,
    examples: [
      {
        events: [
          {
            event_data: {},
            event_timestamp: '2024-01-15T10:30:00Z',
            idempotency_key: 'order-12345-completed',
            program_id: '550e8400-e29b-41d4-a716-446655440000',
            external_id: 'user_abc123',
            participant_id: '550e8400-e29b-41d4-a716-446655440000',
            recipient_external_id: 'user_xyz789',
            recipient_id: '550e8400-e29b-41d4-a716-446655440001',
          },
          {
            event_data: { type: 'purchase', amount: 42.5 },
            event_timestamp: '2024-01-15T10:31:00Z',
            idempotency_key: 'order-12346-completed',
            program_id: '550e8400-e29b-41d4-a716-446655440000',
            external_id: 'user_abc123',
          },
        ],
      },
    ],
  },
);
export type EventBatchBody = Static<typeof EventBatchBody>;

export const AcceptedEvent = Type.Object(
  {
    id: Uuid,
    program_id: Uuid,
    participant_id: NullableUuid,
    external_id: NullableString,
    idempotency_key: Type.String(),
    event_timestamp: Timestamp,
    status: EventStatus,
  },
  {
    $id: 'AcceptedEvent',
    examples: [
      {
        id: '01a24330-30ab-7000-9b77-fc911bded67e',
        program_id: '01a24330-2cf4-7000-9491-eda95eeea36a',
        participant_id: null,
        external_id: 'user_abc123',
        idempotency_key: 'order-12345-completed',
        event_timestamp: '2026-11-22T10:30:00.000Z',
        status: 'PENDING',
      },
    ],
    description: 'The accepted event, PENDING until a worker processes it',
  },
);
export type AcceptedEvent = Static<typeof AcceptedEvent>;

export const BatchItemResult = Type.Object({
  index: Type.Integer(),
  status: Type.Enum(['accepted', 'error']),
  event: Type.Optional(Type.Ref('AcceptedEvent')),
  error: Type.Optional(Type.String({ description: 'Why the item was rejected' })),
  error_code: Type.Optional(
    Type.String({ description: 'The error code the single-event call would answer' }),
  ),
});
export type BatchItemResult = Static<typeof BatchItemResult>;

export const BatchResult = Type.Object(
  {
    total: Type.Integer(),
    success_count: Type.Integer(),
    error_count: Type.Integer(),
    results: Type.Array(BatchItemResult),
  },
  {
    $id: 'BatchResult',
    description: 'Each event of the batch, accepted or refused',
    examples: [
      {
        total: 2,
        success_count: 1,
        error_count: 1,
        results: [
          {
            index: 0,
            status: 'error',
            error: 'exactly one of external_id or participant_id is required',
            error_code: 'bad_request',
          },
          {
            index: 1,
            status: 'accepted',
            event: {
              id: '0193b3c4-7e8f-7a9b-8c0d-1e2f3a4b5c6d',
              program_id: '550e8400-e29b-41d4-a716-446655440000',
              participant_id: null,
              external_id: 'user_abc123',
              idempotency_key: 'order-12346-completed',
              event_timestamp: '2024-01-15T10:31:00.000Z',
              status: 'PENDING',
            },
          },
        ],
      },
    ],
  },
);
export type BatchResult = Static<typeof BatchResult>;

export const Event = Type.Object(
  {
    id: Uuid,
    program_id: Uuid,
    participant_id: NullableUuid,
    external_id: NullableString,
    recipient_id: NullableUuid,
    idempotency_key: Type.String(),
    event_type: EventType,
    event_data: Type.Record(Type.String(), Type.Unknown()),
    event_timestamp: Timestamp,
    status: EventStatus,
    error_message: NullableString,
    created_at: Timestamp,
    received_at: Timestamp,
    processed_at: NullableTimestamp,
    updated_at: Timestamp,
    skipped_error_count: Type.Integer({
      minimum: 0,
      description:
        'Rules skipped because their evaluation failed or timed out (SKIPPED_ERROR, SKIPPED_TIMEOUT): a ' +
        'COMPLETED event with a count above 0 earned less than its rules meant. ' +
        'GET /v1/events/{id}?include_skipped=true shows which and why.',
    }),
  },
  {
    $id: 'Event',
    description: 'An event',
    examples: [
      {
        id: '550e8400-e29b-41d4-a716-446655440000',
        program_id: '550e8400-e29b-41d4-a716-446655440001',
        participant_id: '550e8400-e29b-41d4-a716-446655440002',
        external_id: 'user_abc123',
        recipient_id: null,
        idempotency_key: 'order-12345-completed',
        event_type: 'EXTERNAL',
        event_data: { type: 'purchase', amount: 42.5 },
        event_timestamp: '2024-01-15T10:30:00.000Z',
        status: 'COMPLETED',
        error_message: null,
        created_at: '2024-01-15T10:30:01.000Z',
        received_at: '2024-01-15T10:30:01.000Z',
        processed_at: '2024-01-15T10:30:02.000Z',
        updated_at: '2024-01-15T10:30:02.000Z',
        skipped_error_count: 0,
      },
    ],
  },
);
export type Event = Static<typeof Event>;

// Rule evaluations are the rules module's schema ($id RuleEvaluation), registered by it.
export type { RuleEvaluationView as RuleEvaluation } from '../rules/index.js';

export const EventWithEvaluations = Type.Object(
  { ...Event.properties, rule_evaluations: Type.Array(Type.Ref('RuleEvaluation')) },
  {
    $id: 'EventWithEvaluations',
    examples: [
      {
        id: '01a24330-30ab-7000-9b77-fc911bded67e',
        program_id: '01a24330-2cf4-7000-9491-eda95eeea36a',
        participant_id: '01a24330-2d4b-7000-8b43-0fc57f1fc48c',
        external_id: 'user_abc123',
        recipient_id: null,
        idempotency_key: 'order-12345-completed',
        event_type: 'EXTERNAL',
        event_data: { type: 'purchase', amount: 42.5 },
        event_timestamp: '2026-11-22T10:30:00.000Z',
        status: 'COMPLETED',
        error_message: null,
        created_at: '2026-12-01T12:00:00.000Z',
        received_at: '2026-12-01T12:00:00.000Z',
        processed_at: '2026-12-01T12:00:00.000Z',
        updated_at: '2026-12-01T12:00:00.000Z',
        skipped_error_count: 0,
        rule_evaluations: [
          {
            id: '2bdf0b8c-494d-89b5-8f8a-4808cbef11d0',
            rule_id: '01a24330-302f-7000-894f-e0126dc57845',
            rule_name: '10 points per dollar',
            rule_history_id: '01a24330-303d-7000-8528-4cd506b0ca9c',
            status: 'SUCCESS',
            reason: null,
            stopped_by_rule_id: null,
            error_message: null,
            actions: [
              {
                type: 'CREDIT',
                amount: '425',
                bucket: 'AVAILABLE',
                target: { kind: 'event_participant' },
                asset_id: '01a24330-2fba-7000-8d19-3cece0eb69ca',
                expires_at: null,
                matures_at: null,
                description: null,
                reference_id: null,
              },
            ],
            created_at: '2026-12-01T12:00:00.000Z',
          },
        ],
      },
    ],
    description: 'An event with its rule evaluations',
  },
);
export type EventWithEvaluations = Static<typeof EventWithEvaluations>;

export const GetEventQuery = Type.Object(
  {
    include_skipped: Type.Optional(
      Type.Boolean({
        default: false,
        description: 'Also show SKIPPED_ERROR and SKIPPED_TIMEOUT evaluations',
      }),
    ),
  },
  { additionalProperties: false },
);

export const RetryResult = Type.Object(
  {
    event_id: Uuid,
    message: Type.String(),
    previous_error: NullableString,
    previous_status: EventStatus,
    status: EventStatus,
  },
  {
    $id: 'RetryResult',
    description: 'The requeued event',
    examples: [
      {
        event_id: '01a24348-6595-7000-98a8-30a73e0bea18',
        message: 'Event queued for retry',
        previous_error: 'asset 01a24330-2fba-7000-8d19-3cece0eb69ca is not linked to the program',
        previous_status: 'FAILED',
        status: 'PENDING',
      },
    ],
  },
);
export type RetryResult = Static<typeof RetryResult>;

const windowFields = {
  from: Type.Optional(
    Type.String({ format: 'date-time', description: 'created_at at or after (ingestion)' }),
  ),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'created_at at or before (ingestion)' })),
  event_from: Type.Optional(
    Type.String({ format: 'date-time', description: 'event_timestamp at or after (occurrence)' }),
  ),
  event_to: Type.Optional(
    Type.String({ format: 'date-time', description: 'event_timestamp at or before (occurrence)' }),
  ),
};

export const ListEventsQuery = Type.Object(
  {
    ...ListQueryFields,
    program_id: Type.Optional(Uuid),
    status: Type.Optional(EventStatusFilter),
    event_type: Type.Optional(EventType),
    participant_id: Type.Optional(Uuid),
    external_id: Type.Optional(ExternalId),
    rule_id: Type.Optional(Uuid),
    ...windowFields,
    sort_by: Type.Optional(Type.Enum(['created_at', 'event_timestamp', 'status'], { default: 'created_at' })),
    sort_dir: Type.Optional(SortDir),
  },
  { additionalProperties: false },
);
export type ListEventsQuery = Static<typeof ListEventsQuery>;

export const ListParticipantEventsQuery = Type.Object(
  {
    ...ListQueryFields,
    program_id: Type.Optional(Uuid),
    status: Type.Optional(EventStatus),
    ...windowFields,
  },
  { additionalProperties: false },
);
export type ListParticipantEventsQuery = Static<typeof ListParticipantEventsQuery>;
