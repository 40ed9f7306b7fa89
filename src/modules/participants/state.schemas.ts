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

export const TagBody = Type.Object({ tag: Type.String() }, { description: 'The tag' });
export const TagList = Type.Object(
  { data: Type.Array(TagBody), pagination: noMorePages },
  { description: 'Every tag, on one page' },
);
export const ReplaceTagsBody = Type.Object({ tags: Tags }, { additionalProperties: false });
export const TagsBody = Type.Object({ tags: Type.Array(Type.String()) }, { description: 'The tags now' });

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
  { description: 'A counter' },
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
  { additionalProperties: false },
);
export type SetCounterBody = Static<typeof SetCounterBody>;

export const Attribute = Type.Object(
  { key: Type.String(), value: Type.String() },
  { description: 'An attribute' },
);
export const AttributeList = Type.Object(
  { data: Type.Array(Attribute), pagination: noMorePages },
  { description: 'Every attribute, on one page' },
);
export const SetAttributeBody = Type.Object(
  { value: Type.String({ minLength: 1, maxLength: attributeValueLengthMax }) },
  { additionalProperties: false },
);
export const MergeAttributesBody = Type.Object({ attributes: Attributes }, { additionalProperties: false });
export const AttributesBody = Type.Object(
  { attributes: Type.Record(Type.String(), Type.String()) },
  { description: 'The attributes now' },
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

export const StateHistoryEntry = Type.Object({
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
});
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
