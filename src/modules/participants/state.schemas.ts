import { type Static, Type } from 'typebox';
import { KeyName, Timestamp, Uuid } from '../../platform/http/schemas.js';
import {
  attributeKeyLengthMax,
  attributeValueLengthMax,
  counterKeyLengthMax,
  stateHistoryPageSizeDefault,
  stateHistoryPageSizeMax,
  tagLengthMax,
} from '../../platform/limits.js';
import { counterValuePattern } from '../../platform/money.js';
import { Attributes, Tags } from './participants.schemas.js';

const noMorePages = Type.Object({ has_more: Type.Boolean(), next_cursor: Type.Null() });

export const TagParams = Type.Object(
  { id: Uuid, tag: Type.String({ minLength: 1, maxLength: tagLengthMax }) },
  { additionalProperties: false },
);
export const CounterParams = Type.Object(
  { id: Uuid, key: KeyName({ maxLength: counterKeyLengthMax }) },
  { additionalProperties: false },
);
export const AttributeParams = Type.Object(
  { id: Uuid, key: KeyName({ maxLength: attributeKeyLengthMax }) },
  { additionalProperties: false },
);

export const TagBody = Type.Object(
  { tag: Type.String() },
  { description: 'The tag', examples: [{ tag: 'vip' }] },
);
export const TagList = Type.Object(
  { data: Type.Array(TagBody), pagination: noMorePages },
  { description: 'Every tag, on one page' },
);
export const ReplaceTagsBody = Type.Object(
  { tags: Tags },
  { additionalProperties: false, examples: [{ tags: ['vip', 'newsletter'] }] },
);
export const TagsBody = Type.Object(
  { tags: Type.Array(Type.String()) },
  { description: 'The tags now', examples: [{ tags: ['newsletter', 'vip'] }] },
);

export const CounterValue = Type.String({
  pattern: counterValuePattern,
  description: 'Exact decimal string, up to 20 integer and 18 fractional digits, e.g. "12" or "-0.5"',
});
export const Counter = Type.Object(
  {
    key: Type.String(),
    value: Type.String({ description: 'Effective value: 0 once reset_after has passed since last_reset_at' }),
    reset_after: Type.Union([Type.String(), Type.Null()], { description: 'Go duration, e.g. "24h"' }),
    last_reset_at: Timestamp,
  },
  {
    description: 'A counter',
    examples: [
      { key: 'purchases', value: '12', reset_after: null, last_reset_at: '2026-01-01T00:00:00.000Z' },
      { key: 'daily_logins', value: '3', reset_after: '24h', last_reset_at: '2026-12-04T00:00:00.000Z' },
    ],
  },
);
export const CounterList = Type.Object(
  { data: Type.Array(Counter), pagination: noMorePages },
  { description: 'Every counter, on one page' },
);
export const SetCounterBody = Type.Object(
  {
    value: CounterValue,
    reset_after: Type.Optional(
      Type.String({
        maxLength: 64,
        description: 'Go duration ("24h", "90m", "1h30m"); "" removes auto-reset; omitted keeps it',
      }),
    ),
  },
  { additionalProperties: false, examples: [{ value: '12' }, { value: '0', reset_after: '24h' }] },
);
export type SetCounterBody = Static<typeof SetCounterBody>;

export const Attribute = Type.Object(
  { key: Type.String(), value: Type.String() },
  { description: 'An attribute', examples: [{ key: 'city', value: 'Lyon' }] },
);
export const AttributeList = Type.Object(
  { data: Type.Array(Attribute), pagination: noMorePages },
  { description: 'Every attribute, on one page' },
);
export const SetAttributeBody = Type.Object(
  { value: Type.String({ minLength: 1, maxLength: attributeValueLengthMax }) },
  { additionalProperties: false, examples: [{ value: 'Lyon' }] },
);
export const MergeAttributesBody = Type.Object(
  { attributes: Attributes },
  { additionalProperties: false, examples: [{ attributes: { city: 'Lyon', preferred_store: 'store-42' } }] },
);
export const AttributesBody = Type.Object(
  { attributes: Type.Record(Type.String(), Type.String()) },
  {
    description: 'The attributes now',
    examples: [{ attributes: { city: 'Lyon', language: 'fr', preferred_store: 'store-42' } }],
  },
);

const StateType = Type.Enum(['tag', 'counter', 'attribute', 'tier']);
const StateOperation = Type.Enum([
  'set',
  'delete',
  'add',
  'remove',
  'auto_reset',
  'upgrade',
  'downgrade',
  'expire',
]);
const NullableUuid = Type.Union([Uuid, Type.Null()]);
const NullableString = Type.Union([Type.String(), Type.Null()]);

export const StateHistoryEntry = Type.Object(
  {
    id: Uuid,
    state_type: StateType,
    key: Type.String(),
    operation: StateOperation,
    old_value: NullableString,
    new_value: NullableString,
    program_id: NullableUuid,
    event_id: Type.Union([Uuid, Type.Null()], { description: 'Set when an event caused the change' }),
    rule_id: Type.Union([Uuid, Type.Null()], { description: 'Set when a rule of that event acted' }),
    changed_by_api_key_id: Type.Union([Uuid, Type.Null()], { description: 'Set for direct API calls' }),
    changed_by_job: Type.Union([Type.String(), Type.Null()], {
      description: 'Set when a background job made the change (e.g. tier_lifecycle)',
    }),
    changed_at: Timestamp,
  },
  {
    examples: [
      {
        id: '01a24348-7a10-7000-9c2e-5b8d1f3a6e47',
        state_type: 'counter',
        key: 'purchases',
        operation: 'set',
        old_value: '11',
        new_value: '12',
        program_id: '01a24330-2cf4-7000-9491-eda95eeea36a',
        event_id: '01a24348-6595-7000-98a8-30a73e0bea18',
        rule_id: '01a24348-6420-7000-a62b-9b58394caeb9',
        changed_by_api_key_id: null,
        changed_by_job: null,
        changed_at: '2026-12-04T22:59:07.847Z',
      },
    ],
  },
);
export type StateHistoryEntry = Static<typeof StateHistoryEntry>;

export const StateHistoryQuery = Type.Object(
  {
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: stateHistoryPageSizeMax,
        default: stateHistoryPageSizeDefault,
        description: `Page size (1-${stateHistoryPageSizeMax})`,
      }),
    ),
    cursor: Type.Optional(Type.String({ maxLength: 1024 })),
    state_type: Type.Optional(StateType),
    key: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    program_id: Type.Optional(Uuid),
    operation: Type.Optional(StateOperation),
    from: Type.Optional(Timestamp),
    to: Type.Optional(Timestamp),
    event_from: Type.Optional(Timestamp),
    event_to: Type.Optional(Timestamp),
  },
  { additionalProperties: false },
);
export type StateHistoryQuery = Static<typeof StateHistoryQuery>;
