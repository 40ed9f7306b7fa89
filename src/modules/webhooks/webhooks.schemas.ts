import { type Static, Type } from 'typebox';
import { NullableTimestamp, Timestamp, Uuid } from '../../platform/http/schemas.js';
import {
  descriptionLengthMax,
  webhookAttemptsMax,
  webhookPageSizeDefault,
  webhookPageSizeMax,
  webhookUrlLengthMax,
} from '../../platform/limits.js';

export const webhookEventTypes = [
  'balance.credited',
  'balance.debited',
  'balance.expired',
  'balance.held',
  'balance.released',
  'redemption.completed',
  'redemption.reversed',
  'transfer.completed',
  'event.completed',
  'event.failed',
  'participant.created',
  'participant.tier_changed',
  'program.funded',
  'program.burned',
] as const;

const EventTypeOrAll = Type.Enum([...webhookEventTypes, '*'], {
  description: 'An event type, or "*" for all',
});
const EnabledEvents = Type.Array(EventTypeOrAll, {
  minItems: 1,
  maxItems: webhookEventTypes.length + 1,
  uniqueItems: true,
});
const EndpointUrl = Type.String({
  minLength: 1,
  maxLength: webhookUrlLengthMax,
  description: 'https URL whose host resolves only to public addresses',
});
const Description = Type.String({ maxLength: descriptionLengthMax });
const Metadata = Type.Record(Type.String(), Type.Unknown(), {
  maxProperties: 50,
  description: 'Free-form JSON object, replaced as a whole on update',
});
const EndpointStatus = Type.Enum(['ACTIVE', 'DISABLED', 'ARCHIVED']);

const endpointFields = {
  id: Uuid,
  url: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  enabled_events: Type.Array(Type.String()),
  metadata: Type.Union([Metadata, Type.Null()]),
  status: EndpointStatus,
  created_at: Timestamp,
  updated_at: Timestamp,
};

export const WebhookEndpoint = Type.Object(endpointFields, {
  $id: 'WebhookEndpoint',
  examples: [
    {
      id: '01a24348-6cf6-7000-85c2-62b93835088e',
      url: 'https://hooks.example.com/accrue',
      description: 'Order service',
      enabled_events: ['balance.credited', 'redemption.completed', 'participant.tier_changed'],
      metadata: null,
      status: 'ACTIVE',
      created_at: '2026-12-04T22:59:09.686Z',
      updated_at: '2026-12-04T22:59:09.734Z',
    },
  ],
  description: 'A webhook endpoint',
});
export type WebhookEndpoint = Static<typeof WebhookEndpoint>;

export const WebhookEndpointWithSecret = Type.Object(
  {
    ...endpointFields,
    secret: Type.String({ description: 'whsec_ + base64 of 32 bytes; shown only in this response' }),
  },
  {
    $id: 'WebhookEndpointWithSecret',
    examples: [
      {
        id: '01a24330-556d-7000-afb8-f79731c02c7f',
        url: 'https://hooks.example.com/accrue',
        description: 'Order service',
        enabled_events: ['balance.credited', 'redemption.completed', 'participant.tier_changed'],
        metadata: null,
        status: 'ACTIVE',
        created_at: '2026-12-01T12:00:00.000Z',
        updated_at: '2026-12-01T12:00:00.000Z',
        secret: 'whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=',
      },
    ],
    description: 'A webhook endpoint with its signing secret, shown only in this response',
  },
);
export type WebhookEndpointWithSecret = Static<typeof WebhookEndpointWithSecret>;

export const CreateEndpointBody = Type.Object(
  {
    url: EndpointUrl,
    enabled_events: EnabledEvents,
    description: Type.Optional(Description),
    metadata: Type.Optional(Metadata),
  },
  {
    additionalProperties: false,
    examples: [
      {
        url: 'https://hooks.example.com/accrue',
        description: 'Order service',
        enabled_events: ['balance.credited', 'redemption.completed', 'participant.tier_changed'],
      },
    ],
  },
);
export type CreateEndpointBody = Static<typeof CreateEndpointBody>;

export const UpdateEndpointBody = Type.Object(
  {
    url: Type.Optional(EndpointUrl),
    enabled_events: Type.Optional(EnabledEvents),
    description: Type.Optional(Type.Union([Description, Type.Null()])),
    status: Type.Optional(Type.Enum(['ACTIVE', 'DISABLED'])),
    metadata: Type.Optional(Metadata),
  },
  {
    additionalProperties: false,
    examples: [
      { enabled_events: ['balance.credited', 'balance.debited'], description: 'Order service' },
      { status: 'DISABLED' },
    ],
  },
);
export type UpdateEndpointBody = Static<typeof UpdateEndpointBody>;

const webhookListFields = {
  limit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: webhookPageSizeMax, default: webhookPageSizeDefault }),
  ),
  cursor: Type.Optional(Type.String({ maxLength: 1024 })),
};

export const ListEndpointsQuery = Type.Object(
  { ...webhookListFields, status: Type.Optional(Type.Enum(['ACTIVE', 'DISABLED'])) },
  { additionalProperties: false },
);
export type ListEndpointsQuery = Static<typeof ListEndpointsQuery>;

const DeliveryStatus = Type.Enum(['PENDING', 'SENDING', 'DELIVERED', 'FAILED']);

export const ListDeliveriesQuery = Type.Object(
  { ...webhookListFields, status: Type.Optional(DeliveryStatus) },
  { additionalProperties: false },
);
export type ListDeliveriesQuery = Static<typeof ListDeliveriesQuery>;

const deliveryFields = {
  id: Uuid,
  webhook_endpoint_id: Uuid,
  webhook_event_id: Type.String({ description: 'The envelope id: the same for every endpoint' }),
  event_type: Type.String(),
  status: DeliveryStatus,
  attempt_count: Type.Integer(),
  max_attempts: Type.Integer({ description: `${webhookAttemptsMax}` }),
  next_attempt_at: NullableTimestamp,
  last_attempt_at: NullableTimestamp,
  last_response_status: Type.Union([Type.Integer(), Type.Null()]),
  last_error: Type.Union([Type.String(), Type.Null()]),
  error_code: Type.Union([Type.String(), Type.Null()], { description: 'e.g. consumer_response_timeout' }),
  resend_seq: Type.Integer({ description: '0 for the original, +1 per resend' }),
  delivered_at: NullableTimestamp,
  created_at: Timestamp,
  updated_at: Timestamp,
};

/** A delivered balance.credited, as the reference shows it. */
const deliveryExample = {
  id: '01a24348-7f21-7000-8c4d-1e5a9b7c3d20',
  webhook_endpoint_id: '01a24348-6cf6-7000-85c2-62b93835088e',
  webhook_event_id: '01a24348-7f02-7000-a5e8-4b1d6c9f2a83',
  event_type: 'balance.credited',
  status: 'DELIVERED',
  attempt_count: 1,
  max_attempts: 8,
  next_attempt_at: null,
  last_attempt_at: '2026-12-04T22:59:10.120Z',
  last_response_status: 200,
  last_error: null,
  error_code: null,
  resend_seq: 0,
  delivered_at: '2026-12-04T22:59:10.164Z',
  created_at: '2026-12-04T22:59:09.950Z',
  updated_at: '2026-12-04T22:59:10.164Z',
};

export const WebhookDelivery = Type.Object(deliveryFields, {
  $id: 'WebhookDelivery',
  description: 'A webhook delivery',
  examples: [deliveryExample],
});
export type WebhookDelivery = Static<typeof WebhookDelivery>;

export const WebhookDeliveryDetail = Type.Object(
  {
    ...deliveryFields,
    last_response_body: Type.Union([Type.String(), Type.Null()], { description: 'At most 4 KiB' }),
    payload: Type.Unknown({
      description: 'The envelope sent: id, type, api_version, created_at, organization_id, data',
    }),
  },
  {
    $id: 'WebhookDeliveryDetail',
    description: 'A webhook delivery with its payload and last response',
    examples: [
      {
        ...deliveryExample,
        last_response_body: 'ok',
        payload: {
          id: '01a24348-7f02-7000-a5e8-4b1d6c9f2a83',
          type: 'balance.credited',
          api_version: '2026-03-01',
          created_at: '2026-12-04T22:59:09.950Z',
          organization_id: '01a24330-1c5e-7000-9d2b-7a4f0e8c6b11',
          data: {
            participant_id: '01a24330-2d4b-7000-8b43-0fc57f1fc48c',
            journal_entry_id: '01a24348-6bf3-7000-81e8-1aebf8ae24f4',
            action_type: 'CREDIT',
            program_id: '01a24330-2cf4-7000-9491-eda95eeea36a',
            asset_id: '01a24330-2fba-7000-8d19-3cece0eb69ca',
            event_id: '01a24348-6595-7000-98a8-30a73e0bea18',
            rule_id: '01a24348-6420-7000-a62b-9b58394caeb9',
            amount: '500.00',
            postings: [{ bucket: 'AVAILABLE', amount: '500.00' }],
          },
        },
      },
    ],
  },
);
export type WebhookDeliveryDetail = Static<typeof WebhookDeliveryDetail>;

export const EndpointHealth = Type.Object({
  endpoint_id: Uuid,
  url: Type.String(),
  status: EndpointStatus,
  success_24h: Type.Integer(),
  fail_24h: Type.Integer(),
  success_rate: Type.Union([Type.Number(), Type.Null()], { description: 'null without attempts in 24 h' }),
  degraded: Type.Boolean(),
  pending_count: Type.Integer(),
  oldest_pending_at: NullableTimestamp,
  last_attempt_at: NullableTimestamp,
  circuit_broken_until: NullableTimestamp,
  rate_limited_until: NullableTimestamp,
  blocked_reason: Type.Union([Type.String(), Type.Null()]),
  blocked_until: NullableTimestamp,
});

export const DeliveryStats = Type.Object(
  { data: Type.Array(EndpointHealth) },
  {
    $id: 'WebhookDeliveryStats',
    examples: [
      {
        data: [
          {
            endpoint_id: '01a24330-556d-7000-afb8-f79731c02c7f',
            url: 'https://hooks.example.com/accrue',
            status: 'ACTIVE',
            success_24h: 0,
            fail_24h: 0,
            success_rate: null,
            degraded: false,
            pending_count: 0,
            oldest_pending_at: null,
            last_attempt_at: null,
            circuit_broken_until: null,
            rate_limited_until: null,
            blocked_reason: null,
            blocked_until: null,
          },
        ],
      },
    ],
    description: 'Delivery health per endpoint over the last 24 hours',
  },
);
export type DeliveryStats = Static<typeof DeliveryStats>;
