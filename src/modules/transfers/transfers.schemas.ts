import { type Static, Type } from 'typebox';
import { Timestamp, Uuid } from '../../platform/http/schemas.js';
import {
  externalIdLengthMax,
  idempotencyKeyLengthMax,
  ledgerDescriptionLengthMax,
  transferRecipientsMax,
} from '../../platform/limits.js';

const ExternalId = Type.String({ minLength: 1, maxLength: externalIdLengthMax });
const Amount = Type.String({
  minLength: 1,
  maxLength: 64,
  description: 'Positive decimal string, at most the asset scale in decimals ("100.00")',
});

const Recipient = Type.Object(
  {
    external_id: Type.Optional(ExternalId),
    participant_id: Type.Optional(Uuid),
    group_id: Type.Optional(Uuid),
    amount: Amount,
  },
  { additionalProperties: false, description: 'Exactly one of external_id, participant_id and group_id' },
);

export const TransferBody = Type.Object(
  {
    program_id: Uuid,
    asset_id: Uuid,
    source_external_id: Type.Optional(ExternalId),
    source_participant_id: Type.Optional(Uuid),
    source_group_id: Type.Optional(Uuid),
    recipients: Type.Array(Recipient, { minItems: 1, maxItems: transferRecipientsMax }),
    description: Type.String({ minLength: 1, maxLength: ledgerDescriptionLengthMax }),
    idempotency_key: Type.Optional(Type.String({ minLength: 1, maxLength: idempotencyKeyLengthMax })),
  },
  {
    additionalProperties: false,
    description: 'Exactly one of source_external_id, source_participant_id and source_group_id',
    examples: [
      {
        program_id: '01a24330-2cf4-7000-9491-eda95eeea36a',
        asset_id: '01a24330-2fba-7000-8d19-3cece0eb69ca',
        source_external_id: 'user_12345',
        recipients: [{ external_id: 'user_67890', amount: '150.00' }],
        description: 'Gift to a friend',
        idempotency_key: 'gift-2026-12-04-001',
      },
    ],
  },
);
export type TransferBody = Static<typeof TransferBody>;

const NullableUuid = Type.Union([Uuid, Type.Null()]);

export const TransferResponse = Type.Object(
  {
    journal_entry_id: Uuid,
    program_id: Uuid,
    asset_id: Uuid,
    source_participant_id: NullableUuid,
    source_group_id: NullableUuid,
    recipient_count: Type.Integer(),
    total_amount: Type.String(),
    recipients: Type.Array(
      Type.Object({ participant_id: NullableUuid, group_id: NullableUuid, amount: Type.String() }),
    ),
    description: Type.String(),
    created_at: Timestamp,
    message: Type.String(),
  },
  {
    $id: 'Transfer',
    description: 'The transfer and its journal entry',
    examples: [
      {
        journal_entry_id: '01a24348-744a-7000-88b4-32245d68a4a7',
        program_id: '01a24330-2cf4-7000-9491-eda95eeea36a',
        asset_id: '01a24330-2fba-7000-8d19-3cece0eb69ca',
        source_participant_id: '01a24330-2d4b-7000-8b43-0fc57f1fc48c',
        source_group_id: null,
        recipient_count: 1,
        total_amount: '150.00',
        recipients: [
          { participant_id: '01a24330-4db8-7000-a1a8-2248a57d0e2a', group_id: null, amount: '150.00' },
        ],
        description: 'Gift to a friend',
        created_at: '2026-12-04T10:15:00.000Z',
        message: 'Transfer completed with journal entry ID 01a24348-744a-7000-88b4-32245d68a4a7',
      },
    ],
  },
);
export type TransferResponse = Static<typeof TransferResponse>;
