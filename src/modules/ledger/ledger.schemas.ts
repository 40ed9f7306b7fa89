import { type Static, Type } from 'typebox';
import { ExportFormatField } from '../../platform/http/csv.js';
import { ListQueryFields, NullableTimestamp, Timestamp, Uuid } from '../../platform/http/schemas.js';
import {
  externalIdLengthMax,
  idempotencyKeyLengthMax,
  integrityWindowDefault,
  integrityWindowMax,
  ledgerDescriptionLengthMax,
  lotIdsPerRequestMax,
  referenceIdLengthMax,
} from '../../platform/limits.js';

const Amount = Type.String({
  minLength: 1,
  maxLength: 64,
  description: 'Positive decimal string, at most the asset scale in decimals ("100.00")',
});
const Description = Type.String({ minLength: 1, maxLength: ledgerDescriptionLengthMax });
const ReferenceId = Type.String({ minLength: 1, maxLength: referenceIdLengthMax });
const IdempotencyKey = Type.String({ minLength: 1, maxLength: idempotencyKeyLengthMax });
const TimeOrDuration = Type.String({
  minLength: 1,
  maxLength: 64,
  description: 'A Go duration counted from now ("8760h") or an RFC 3339 timestamp',
});
export const BucketSchema = Type.Enum(['AVAILABLE', 'HELD', 'DEFERRED']);

export const BalanceSnapshot = Type.Object({
  available: Type.String(),
  deferred: Type.String(),
  held: Type.String(),
});

export const AssetBalance = Type.Object(
  { asset_id: Uuid, available: Type.String(), held: Type.String(), deferred: Type.String() },
  {
    $id: 'AssetBalance',
    examples: [
      {
        asset_id: '01a24330-2fba-7000-8d19-3cece0eb69ca',
        available: '525.00',
        held: '0.00',
        deferred: '0.00',
      },
    ],
    description: 'Balance of one asset, per bucket',
  },
);

export const AdjustBody = Type.Object(
  {
    program_id: Uuid,
    asset_id: Uuid,
    type: Type.Enum(['CREDIT', 'DEBIT']),
    amount: Amount,
    description: Description,
    bucket: Type.Optional(Type.Enum(['AVAILABLE', 'HELD'], { default: 'AVAILABLE' })),
    allow_negative: Type.Optional(
      Type.Boolean({ description: 'DEBIT from AVAILABLE only: allow an overdraft' }),
    ),
    idempotency_key: Type.Optional(IdempotencyKey),
    reference_id: Type.Optional(ReferenceId),
    expires_at: Type.Optional(TimeOrDuration),
    matures_at: Type.Optional(TimeOrDuration),
  },
  {
    additionalProperties: false,
    examples: [
      {
        program_id: '01a24330-2cf4-7000-9491-eda95eeea36a',
        asset_id: '01a24330-2fba-7000-8d19-3cece0eb69ca',
        type: 'CREDIT',
        amount: '425.00',
        description: 'Order 12345',
        idempotency_key: 'order-12345-points',
      },
    ],
  },
);
export type AdjustBody = Static<typeof AdjustBody>;

export const AdjustResponse = Type.Object(
  {
    amount: Type.String(),
    asset_id: Uuid,
    balance: BalanceSnapshot,
    bucket: Type.String(),
    journal_entry_id: Uuid,
    message: Type.String(),
    program_id: Uuid,
    type: Type.String(),
  },
  {
    $id: 'AdjustResponse',
    examples: [
      {
        amount: '425.00',
        asset_id: '01a24330-2fba-7000-8d19-3cece0eb69ca',
        balance: { available: '950.00', deferred: '0.00', held: '0.00' },
        bucket: 'AVAILABLE',
        journal_entry_id: '01a24330-39c8-7001-a3a8-0f75d5b8ce46',
        message: 'Balance adjusted successfully',
        program_id: '01a24330-2cf4-7000-9491-eda95eeea36a',
        type: 'CREDIT',
      },
    ],
    description: 'The adjustment and the new balance',
  },
);
export type AdjustResponse = Static<typeof AdjustResponse>;

export const BalanceOperationBody = Type.Object(
  {
    program_id: Uuid,
    asset_id: Uuid,
    description: Description,
    amount: Type.Optional(Amount),
    bucket: Type.Optional(Type.Enum(['AVAILABLE', 'HELD'], { description: 'Required for forfeit' })),
    earned_from: Type.Optional(Timestamp),
    earned_to: Type.Optional(Timestamp),
    lot_ids: Type.Optional(Type.Array(Uuid, { minItems: 1, maxItems: lotIdsPerRequestMax })),
    reference_id: Type.Optional(ReferenceId),
    idempotency_key: Type.Optional(IdempotencyKey),
  },
  {
    additionalProperties: false,
    examples: [
      {
        program_id: '01a24330-4db8-7000-a1a8-2248a57d0e2a',
        asset_id: '01a24330-4dd1-7000-9b9a-1cfa6589760b',
        amount: '600',
        reference_id: 'order-7001',
        description: 'Points towards order 7001',
        idempotency_key: 'hold-7001',
      },
    ],
  },
);
export type BalanceOperationBody = Static<typeof BalanceOperationBody>;

export const BalanceOperationResponse = Type.Object(
  {
    amount_processed: Type.String(),
    asset_id: Uuid,
    balance: BalanceSnapshot,
    journal_entry_id: Uuid,
    lots_processed: Type.Optional(Type.Array(Type.Object({ id: Uuid, amount: Type.String() }))),
    message: Type.String(),
    operation: Type.String(),
    program_id: Uuid,
    reference_id: Type.Union([Type.String(), Type.Null()]),
  },
  {
    $id: 'BalanceOperationResponse',
    examples: [
      {
        amount_processed: '600',
        asset_id: '01a24330-4dd1-7000-9b9a-1cfa6589760b',
        balance: { available: '400', deferred: '0', held: '600' },
        journal_entry_id: '01a24330-4f8b-7002-b2aa-04258d4cbcd2',
        message: 'Processed 600',
        operation: 'HOLD',
        program_id: '01a24330-4db8-7000-a1a8-2248a57d0e2a',
        reference_id: 'order-7001',
      },
    ],
    description: 'The operation and the new balance',
  },
);
export type BalanceOperationResponse = Static<typeof BalanceOperationResponse>;

export const BalancesQuery = Type.Object(
  { ...ListQueryFields, ...ExportFormatField, asset_id: Type.Optional(Uuid) },
  { additionalProperties: false },
);

export const Lot = Type.Object(
  {
    id: Uuid,
    asset_id: Uuid,
    program_id: Type.Union([Uuid, Type.Null()]),
    amount: Type.String(),
    remaining: Type.String(),
    status: Type.Enum(['AVAILABLE', 'HELD', 'DEFERRED', 'CONSUMED', 'EXPIRED']),
    reference_id: Type.Union([Type.String(), Type.Null()]),
    expires_at: NullableTimestamp,
    matures_at: NullableTimestamp,
    created_at: Timestamp,
  },
  {
    $id: 'Lot',
    examples: [
      {
        id: '01a24330-4a6b-7007-a86f-807bf45f1c70',
        asset_id: '01a24330-492b-7000-a990-78acae16b09b',
        program_id: '01a24330-4918-7000-a939-0994092c77c2',
        amount: '250',
        remaining: '250',
        status: 'AVAILABLE',
        reference_id: null,
        expires_at: '2027-06-15T19:40:00.000Z',
        matures_at: null,
        created_at: '2026-12-01T12:00:00.000Z',
      },
    ],
    description: 'A lot',
  },
);
export type Lot = Static<typeof Lot>;

export const LotsQuery = Type.Object(
  {
    ...ListQueryFields,
    asset_id: Uuid,
    program_id: Type.Optional(Uuid),
    status: Type.Optional(Type.Enum(['AVAILABLE', 'HELD', 'DEFERRED', 'CONSUMED', 'EXPIRED'])),
    expires_before: Type.Optional(Timestamp),
    expires_after: Type.Optional(Timestamp),
    reference_id: Type.Optional(ReferenceId),
  },
  { additionalProperties: false },
);
export type LotsQuery = Static<typeof LotsQuery>;

const activityFields = {
  action_type: Type.String(),
  amount: Type.String({ description: 'Signed: + into the account, - out of it' }),
  bucket: BucketSchema,
  created_at: Timestamp,
  created_by_api_key_id: Type.Union([Uuid, Type.Null()]),
  description: Type.String(),
  event_id: Type.Union([Uuid, Type.Null()]),
  event_timestamp: NullableTimestamp,
  journal_entry_id: Uuid,
};

export const ActivityItem = Type.Object(
  { ...activityFields, asset_id: Uuid },
  {
    $id: 'ActivityItem',
    examples: [
      {
        action_type: 'CREDIT',
        amount: '500',
        bucket: 'AVAILABLE',
        created_at: '2026-12-04T22:59:07.847Z',
        created_by_api_key_id: null,
        description: 'CREDIT by rule',
        event_id: '01a24348-6595-7000-98a8-30a73e0bea18',
        event_timestamp: '2026-03-01T10:00:00.000Z',
        journal_entry_id: '01a24348-6bf3-7000-81e8-1aebf8ae24f4',
        asset_id: '01a24348-637b-7000-809c-5ccd921fa143',
      },
    ],
    description: 'A ledger movement',
  },
);
export type ActivityItem = Static<typeof ActivityItem>;

const statementLineExample = {
  action_type: 'CREDIT',
  amount: '500.00',
  bucket: 'AVAILABLE',
  created_at: '2026-12-04T22:59:07.847Z',
  created_by_api_key_id: null,
  description: 'CREDIT by rule',
  event_id: '01a24348-6595-7000-98a8-30a73e0bea18',
  event_timestamp: '2026-12-04T22:59:05.000Z',
  journal_entry_id: '01a24348-6bf3-7000-81e8-1aebf8ae24f4',
  posting_id: '01a24348-6bf3-7001-9a4c-2d7e8f1b3c5a',
  running_balance: '525.00',
};

export const StatementLine = Type.Object(
  { ...activityFields, posting_id: Uuid, running_balance: Type.String() },
  {
    $id: 'StatementLine',
    description: 'A statement line',
    examples: [statementLineExample],
  },
);
export type StatementLine = Static<typeof StatementLine>;

export const StatementQuery = Type.Object(
  {
    ...ListQueryFields,
    asset_id: Uuid,
    bucket: Type.Optional(BucketSchema),
    from: Type.Optional(Timestamp),
    to: Type.Optional(Timestamp),
  },
  { additionalProperties: false },
);
export type StatementQuery = Static<typeof StatementQuery>;

export const Statement = Type.Object(
  {
    asset_id: Uuid,
    bucket: Type.Optional(BucketSchema),
    opening_balance: Type.String(),
    closing_balance: Type.String(),
    from: NullableTimestamp,
    to: NullableTimestamp,
    data: Type.Array(Type.Ref('StatementLine')),
    pagination: Type.Object({
      has_more: Type.Boolean(),
      next_cursor: Type.Union([Type.String(), Type.Null()]),
    }),
  },
  {
    $id: 'Statement',
    description: 'A running-balance statement',
    examples: [
      {
        asset_id: '01a24330-2fba-7000-8d19-3cece0eb69ca',
        bucket: 'AVAILABLE',
        opening_balance: '25.00',
        closing_balance: '525.00',
        from: '2026-12-01T00:00:00.000Z',
        to: '2026-12-31T23:59:59.999Z',
        data: [statementLineExample],
        pagination: { has_more: false, next_cursor: null },
      },
    ],
  },
);
export type Statement = Static<typeof Statement>;

export const HistoryQuery = Type.Object(
  {
    ...ListQueryFields,
    asset_id: Type.Optional(Uuid),
    bucket: Type.Optional(BucketSchema),
    from: Type.Optional(Timestamp),
    to: Type.Optional(Timestamp),
    event_from: Type.Optional(Timestamp),
    event_to: Type.Optional(Timestamp),
  },
  { additionalProperties: false },
);
export type HistoryQuery = Static<typeof HistoryQuery>;

export const WalletBody = Type.Object(
  { amount: Amount, description: Type.Optional(Description) },
  { additionalProperties: false, examples: [{ amount: '100000.00', description: 'Q1 points budget' }] },
);
export const WalletResponse = Type.Object(
  { available: Type.String(), journal_entry_id: Uuid, message: Type.String() },
  {
    $id: 'WalletResponse',
    description: 'The wallet operation and the new wallet balance',
    examples: [
      {
        available: '100000.00',
        journal_entry_id: '01a24330-3b70-7000-b56a-51f6e7c68ed2',
        message: 'Program funded successfully',
      },
    ],
  },
);
export const WalletBalance = Type.Object(
  {
    asset_id: Uuid,
    available: Type.String(),
    held: Type.String(),
    deferred: Type.String(),
    issuance_policy: Type.String(),
  },
  {
    $id: 'WalletBalance',
    description: 'A program wallet balance',
    examples: [
      {
        asset_id: '01a24330-2fba-7000-8d19-3cece0eb69ca',
        available: '99475.00',
        held: '0.00',
        deferred: '0.00',
        issuance_policy: 'PREFUNDED',
      },
    ],
  },
);

export const Posting = Type.Object({
  id: Uuid,
  amount: Type.String(),
  asset_id: Uuid,
  asset_symbol: Type.String(),
  bucket: BucketSchema,
  entity_type: Type.Enum(['PARTICIPANT', 'GROUP', 'PROGRAM', 'SYSTEM']),
  system_account: Type.Union([Type.String(), Type.Null()]),
  participant_id: Type.Union([Uuid, Type.Null()]),
  group_id: Type.Union([Uuid, Type.Null()]),
  program_id: Type.Union([Uuid, Type.Null()]),
  created_at: Timestamp,
});

export const JournalEntry = Type.Object(
  {
    id: Uuid,
    action_type: Type.String(),
    description: Type.String(),
    program_id: Type.Union([Uuid, Type.Null()]),
    program_name: Type.Union([Type.String(), Type.Null()]),
    event_id: Type.Union([Uuid, Type.Null()]),
    rule_id: Type.Union([Uuid, Type.Null()]),
    reference_id: Type.Union([Type.String(), Type.Null()]),
    created_by_api_key_id: Type.Union([Uuid, Type.Null()]),
    sequence_number: Type.Union([Type.String(), Type.Null()]),
    entry_hash: Type.Union([Type.String(), Type.Null()]),
    created_at: Timestamp,
    postings: Type.Array(Posting),
  },
  {
    $id: 'JournalEntry',
    examples: [
      {
        id: '01a24330-3ca0-7002-8c45-73faeab1c00b',
        action_type: 'REVERSAL',
        description: 'One card returned',
        program_id: '01a24330-2cf4-7000-9491-eda95eeea36a',
        program_name: 'Q1 Sales Bonus',
        event_id: null,
        rule_id: null,
        reference_id: '01a24330-3b70-7000-b56a-51f6e7c68ed2',
        created_by_api_key_id: '01a24330-2ca2-7000-bc7d-bc4a43b2b21e',
        sequence_number: null,
        entry_hash: null,
        created_at: '2026-12-01T12:00:00.000Z',
        postings: [
          {
            id: '01a24330-3ca0-7000-9589-c89411ec6a2c',
            amount: '-100.00',
            asset_id: '01a24330-2fba-7000-8d19-3cece0eb69ca',
            asset_symbol: 'PTS',
            bucket: 'AVAILABLE',
            entity_type: 'SYSTEM',
            system_account: 'SYSTEM_REDEMPTION',
            participant_id: null,
            group_id: null,
            program_id: null,
            created_at: '2026-12-01T12:00:00.000Z',
          },
          {
            id: '01a24330-3ca0-7001-a201-6c2479779d07',
            amount: '100.00',
            asset_id: '01a24330-2fba-7000-8d19-3cece0eb69ca',
            asset_symbol: 'PTS',
            bucket: 'AVAILABLE',
            entity_type: 'PARTICIPANT',
            system_account: null,
            participant_id: '01a24330-2d4b-7000-8b43-0fc57f1fc48c',
            group_id: null,
            program_id: null,
            created_at: '2026-12-01T12:00:00.000Z',
          },
        ],
      },
    ],
    description: 'A journal entry with its postings',
  },
);
export type JournalEntry = Static<typeof JournalEntry>;

export const JournalEntriesQuery = Type.Object(
  {
    ...ListQueryFields,
    ...ExportFormatField,
    program_id: Type.Optional(Uuid),
    event_id: Type.Optional(Uuid),
    rule_id: Type.Optional(Uuid),
    participant_id: Type.Optional(Uuid),
    group_id: Type.Optional(Uuid),
    external_id: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: externalIdLengthMax,
        description: "A participant's external_id",
      }),
    ),
    asset_id: Type.Optional(Uuid),
    bucket: Type.Optional(BucketSchema),
    from: Type.Optional(Timestamp),
    to: Type.Optional(Timestamp),
    min_amount: Type.Optional(
      Type.String({ maxLength: 64, description: 'Signed posting value at least this (+ credit, - debit)' }),
    ),
    max_amount: Type.Optional(
      Type.String({ maxLength: 64, description: 'Signed posting value at most this' }),
    ),
    action_type: Type.Optional(
      Type.Enum([
        'CREDIT',
        'DEBIT',
        'HOLD',
        'RELEASE',
        'FORFEIT',
        'VOID_HOLD',
        'MATURITY',
        'EXPIRATION',
        'FUND',
        'BURN',
        'TRANSFER',
        'REDEMPTION',
        'REVERSAL',
      ]),
    ),
    reference_id: Type.Optional(ReferenceId),
  },
  { additionalProperties: false },
);
export type JournalEntriesQuery = Static<typeof JournalEntriesQuery>;

const Check = Type.Object({ pass: Type.Boolean(), violation_count: Type.Integer() });
export const IntegrityReport = Type.Object(
  {
    all_passed: Type.Boolean(),
    organization_id: Uuid,
    verified_at: Timestamp,
    window: Type.Integer(),
    chain_head: Type.Union([
      Type.Object({ sequence_number: Type.String(), hash: Type.String(), created_at: Timestamp }),
      Type.Null(),
    ]),
    hash_chain: Type.Object({
      anchored_at_genesis: Type.Boolean(),
      entries_verified: Type.Integer(),
      pass: Type.Boolean(),
      violation_count: Type.Integer(),
    }),
    postings_balanced: Check,
    value_conservation: Check,
    stored_balances: Check,
    unsealed_entries: Check,
  },
  {
    $id: 'IntegrityReport',
    examples: [
      {
        all_passed: true,
        organization_id: '01a24348-4ed1-7000-98ca-b467d8da265f',
        verified_at: '2026-12-04T22:59:11.617Z',
        window: 1000,
        chain_head: {
          sequence_number: '2',
          hash: 'b414e7581222926de86ce3837f75f978f2d1226c2fecded5c26a38d208176ee1',
          created_at: '2026-12-04T22:59:11.601Z',
        },
        hash_chain: { anchored_at_genesis: true, entries_verified: 2, pass: true, violation_count: 0 },
        postings_balanced: { pass: true, violation_count: 0 },
        value_conservation: { pass: true, violation_count: 0 },
        stored_balances: { pass: true, violation_count: 0 },
        unsealed_entries: { pass: true, violation_count: 0 },
      },
    ],
    description: 'The result of every ledger integrity check',
  },
);
export type IntegrityReport = Static<typeof IntegrityReport>;

export const IntegrityQuery = Type.Object(
  {
    window: Type.Optional(
      Type.Integer({ minimum: 1, maximum: integrityWindowMax, default: integrityWindowDefault }),
    ),
  },
  { additionalProperties: false },
);

export const ProgramAssetParams = Type.Object({ id: Uuid, assetId: Uuid }, { additionalProperties: false });
