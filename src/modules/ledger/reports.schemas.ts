import { type Static, Type } from 'typebox';
import { ExportFormatField } from '../../platform/http/csv.js';
import { ListQueryFields, Pagination, Timestamp, Uuid } from '../../platform/http/schemas.js';

const GroupFilter = Type.String({ format: 'uuid', description: "Only this group's balances" });

const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);

export const LedgerSummaryQuery = Type.Object(
  {
    program_id: Type.Optional(Uuid),
    from: Type.Optional(Timestamp),
    to: Type.Optional(Timestamp),
    ...ExportFormatField,
  },
  { additionalProperties: false },
);
export type LedgerSummaryQuery = Static<typeof LedgerSummaryQuery>;

export const LedgerSummaryRow = Type.Object(
  {
    asset_id: Uuid,
    asset_name: Type.String(),
    asset_symbol: Type.String(),
    total_issued: Type.String(),
    total_redeemed: Type.String(),
    total_expired: Type.String(),
    total_forfeited: Type.String(),
    current_balance: Type.String(),
    participant_count: Type.Integer(),
    opening_balance: Type.Optional(Type.String()),
    closing_balance: Type.Optional(Type.String()),
    period_issued: Type.Optional(Type.String()),
    period_redeemed: Type.Optional(Type.String()),
    period_expired: Type.Optional(Type.String()),
    period_forfeited: Type.Optional(Type.String()),
    other_adjustments_net: Type.Optional(Type.String()),
  },
  {
    $id: 'LedgerSummaryRow',
    examples: [
      {
        asset_id: '01a24330-2fba-7000-8d19-3cece0eb69ca',
        asset_name: 'Points',
        asset_symbol: 'PTS',
        total_issued: '950.00',
        total_redeemed: '100.00',
        total_expired: '0.00',
        total_forfeited: '0.00',
        current_balance: '850.00',
        participant_count: 1,
      },
    ],
    description: 'Ledger figures of one asset',
  },
);
export type LedgerSummaryRow = Static<typeof LedgerSummaryRow>;

export const LiabilityQuery = Type.Object(
  {
    as_of: Type.Optional(Timestamp),
    program_id: Type.Optional(Uuid),
    asset_id: Type.Optional(Uuid),
    group_id: Type.Optional(GroupFilter),
    by_bucket: Type.Optional(Type.Boolean({ default: false })),
    ...ListQueryFields,
    ...ExportFormatField,
  },
  { additionalProperties: false },
);
export type LiabilityQuery = Static<typeof LiabilityQuery>;

export const LiabilityReport = Type.Object(
  {
    as_of: Timestamp,
    data: Type.Array(
      Type.Object({
        asset_id: Uuid,
        asset_name: Type.String(),
        asset_symbol: Type.String(),
        scale: Type.Integer(),
        program_id: Nullable(Type.String()),
        program_name: Nullable(Type.String()),
        balance: Type.String(),
        bucket: Type.Optional(Type.String()),
      }),
    ),
    pagination: Pagination,
  },
  {
    $id: 'LiabilityReport',
    examples: [
      {
        as_of: '2026-12-04T22:59:11.646Z',
        data: [
          {
            asset_id: '01a24348-637b-7000-809c-5ccd921fa143',
            asset_name: 'Shop Points',
            asset_symbol: 'SHOP',
            scale: 0,
            program_id: '01a24348-6354-7000-b5ec-32f4eafe1d0c',
            program_name: 'Shop Rewards',
            balance: '1120',
          },
        ],
        pagination: { has_more: false, next_cursor: null },
      },
    ],
    description: 'Outstanding liability as of a time',
  },
);
export type LiabilityReport = Static<typeof LiabilityReport>;

export const RollforwardQuery = Type.Object(
  {
    from: Timestamp,
    to: Timestamp,
    program_id: Type.Optional(Uuid),
    asset_id: Type.Optional(Uuid),
    group_id: Type.Optional(GroupFilter),
    ...ExportFormatField,
  },
  { additionalProperties: false },
);
export type RollforwardQuery = Static<typeof RollforwardQuery>;

export const rollforwardMovements = [
  'issued',
  'redeemed',
  'forfeited',
  'expired',
  'debited',
  'transfers_net',
  'adjustments_net',
  'bucket_movements_net',
  'holds_voided',
  'issuance_returns',
  'redemption_receipts',
  'redemption_reversals',
  'reversal_clawbacks',
] as const;

export const RollforwardRow = Type.Object(
  {
    asset_id: Uuid,
    asset_name: Type.String(),
    asset_symbol: Type.String(),
    scale: Type.Integer(),
    program_id: Nullable(Type.String()),
    program_name: Nullable(Type.String()),
    opening_balance: Type.String(),
    closing_balance: Type.String(),
    ...Object.fromEntries(rollforwardMovements.map((name) => [name, Type.String()])),
  },
  {
    $id: 'RollforwardRow',
    examples: [
      {
        asset_id: '01a24348-637b-7000-809c-5ccd921fa143',
        asset_name: 'Shop Points',
        asset_symbol: 'SHOP',
        scale: 0,
        program_id: '01a24348-6354-7000-b5ec-32f4eafe1d0c',
        program_name: 'Shop Rewards',
        opening_balance: '0',
        closing_balance: '1120',
        issued: '1120',
        redeemed: '0',
        forfeited: '0',
        expired: '0',
        debited: '0',
        transfers_net: '0',
        adjustments_net: '0',
        bucket_movements_net: '0',
        holds_voided: '0',
        issuance_returns: '0',
        redemption_receipts: '0',
        redemption_reversals: '0',
        reversal_clawbacks: '0',
      },
    ],
    description: 'Liability movements of one asset',
  },
);

export const ExpirationScheduleQuery = Type.Object(
  {
    from: Timestamp,
    to: Timestamp,
    granularity: Type.Optional(Type.Enum(['day', 'week', 'month'], { default: 'month' })),
    program_id: Type.Optional(Uuid),
    asset_id: Type.Optional(Uuid),
    ...ExportFormatField,
  },
  { additionalProperties: false },
);
export type ExpirationScheduleQuery = Static<typeof ExpirationScheduleQuery>;

export const ExpirationSchedule = Type.Object(
  {
    asset_id: Uuid,
    asset_name: Type.String(),
    asset_symbol: Type.String(),
    scale: Type.Integer(),
    total_outstanding: Type.String(),
    never_expiring: Type.String(),
    expiring_before_window: Type.String(),
    expiring_after_window: Type.String(),
    buckets: Type.Array(
      Type.Object({
        bucket_start: Timestamp,
        bucket_end: Timestamp,
        amount: Type.String(),
        lot_count: Type.Integer(),
      }),
    ),
  },
  {
    $id: 'ExpirationSchedule',
    examples: [
      {
        asset_id: '01a24330-492b-7000-a990-78acae16b09b',
        asset_name: 'Miles',
        asset_symbol: 'MILES',
        scale: 0,
        total_outstanding: '350',
        never_expiring: '0',
        expiring_before_window: '0',
        expiring_after_window: '0',
        buckets: [
          {
            bucket_start: '2027-02-01T00:00:00.000Z',
            bucket_end: '2027-03-01T00:00:00.000Z',
            amount: '100',
            lot_count: 1,
          },
          {
            bucket_start: '2027-06-01T00:00:00.000Z',
            bucket_end: '2027-07-01T00:00:00.000Z',
            amount: '250',
            lot_count: 1,
          },
        ],
      },
    ],
    description: 'Expiring lot value in calendar buckets',
  },
);
export type ExpirationSchedule = Static<typeof ExpirationSchedule>;
