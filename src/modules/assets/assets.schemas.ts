import { type Static, Type } from 'typebox';
import { ListQueryFields, NullableTimestamp, Timestamp, Uuid } from '../../platform/http/schemas.js';
import { nameLengthMax, scaleMax, searchLengthMax, symbolLengthMax } from '../../platform/limits.js';

export const AssetStatus = Type.Enum(['ACTIVE', 'ARCHIVED']);
export const InventoryMode = Type.Enum(['SIMPLE', 'LOT']);
export const IssuancePolicy = Type.Enum(['UNLIMITED', 'PREFUNDED']);

export const Asset = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    symbol: Type.String(),
    inventory_mode: InventoryMode,
    issuance_policy: IssuancePolicy,
    scale: Type.Integer(),
    max_transaction_amount: Type.Union([Type.String(), Type.Null()]),
    program_ids: Type.Array(Uuid),
    status: AssetStatus,
    created_at: Timestamp,
    updated_at: Timestamp,
    deleted_at: NullableTimestamp,
  },
  {
    $id: 'Asset',
    examples: [
      {
        id: '01a24330-2fba-7000-8d19-3cece0eb69ca',
        name: 'Points',
        symbol: 'PTS',
        inventory_mode: 'SIMPLE',
        issuance_policy: 'UNLIMITED',
        scale: 2,
        max_transaction_amount: null,
        program_ids: ['01a24330-2cf4-7000-9491-eda95eeea36a'],
        status: 'ACTIVE',
        created_at: '2026-12-01T12:00:00.000Z',
        updated_at: '2026-12-01T12:00:00.000Z',
        deleted_at: null,
      },
    ],
    description: 'An asset',
  },
);
export type Asset = Static<typeof Asset>;

const Name = Type.String({ minLength: 1, maxLength: nameLengthMax, description: 'Asset name (1-255)' });
const MaxTransactionAmount = Type.String({
  minLength: 1,
  maxLength: 64,
  description: 'Positive decimal string at the asset scale; any single credit or debit above it is refused',
});

export const CreateAssetBody = Type.Object(
  {
    program_id: Type.String({ format: 'uuid', description: 'The new asset is linked to this program' }),
    name: Name,
    symbol: Type.String({
      minLength: 1,
      maxLength: symbolLengthMax,
      pattern: '^[A-Za-z0-9]+$',
      description: '1-16 letters or digits, unique per organization',
    }),
    inventory_mode: InventoryMode,
    issuance_policy: IssuancePolicy,
    scale: Type.Integer({
      minimum: 0,
      maximum: scaleMax,
      description: `Decimal places (0-${scaleMax}), immutable`,
    }),
    max_transaction_amount: Type.Optional(Type.Union([MaxTransactionAmount, Type.Null()])),
  },
  {
    additionalProperties: false,
    examples: [
      {
        program_id: '01a24330-2cf4-7000-9491-eda95eeea36a',
        name: 'Points',
        symbol: 'PTS',
        inventory_mode: 'SIMPLE',
        issuance_policy: 'UNLIMITED',
        scale: 2,
      },
    ],
  },
);
export type CreateAssetBody = Static<typeof CreateAssetBody>;

export const UpdateAssetBody = Type.Object(
  {
    name: Type.Optional(Name),
    status: Type.Optional(Type.Enum(['ARCHIVED'], { description: 'Only ARCHIVED; archiving is permanent' })),
    max_transaction_amount: Type.Optional(Type.Union([MaxTransactionAmount, Type.Null()])),
  },
  {
    additionalProperties: false,
    examples: [{ name: 'Reward Points', max_transaction_amount: '10000.00' }, { status: 'ARCHIVED' }],
  },
);
export type UpdateAssetBody = Static<typeof UpdateAssetBody>;

export const ListAssetsQuery = Type.Object(
  {
    ...ListQueryFields,
    program_id: Type.Optional(Uuid),
    status: Type.Optional(AssetStatus),
    search: Type.Optional(
      Type.String({ maxLength: searchLengthMax, description: 'Partial match on symbol or name' }),
    ),
  },
  { additionalProperties: false },
);
export type ListAssetsQuery = Static<typeof ListAssetsQuery>;

export const LinkAssetBody = Type.Object(
  { asset_id: Uuid },
  { additionalProperties: false, examples: [{ asset_id: '01a24330-2fba-7000-8d19-3cece0eb69ca' }] },
);

export const ProgramIdParams = Type.Object({ programId: Uuid }, { additionalProperties: false });
export const ProgramAssetParams = Type.Object(
  { programId: Uuid, assetId: Uuid },
  { additionalProperties: false },
);
