// Transfers: existing value moves from one holder (participant or group) to 1-100 recipients in one
// balanced TRANSFER journal entry, all or nothing. This module resolves and checks the parties; the
// ledger moves the value (locks, lots, postings). Groups belong to a module on the same layer, so
// their status is read through a function app.ts passes in.
import type { Clock } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import { withTransaction } from '../../platform/db/transaction.js';
import { DomainError, invalidField } from '../../platform/errors.js';
import type { Caller } from '../../platform/http/auth.js';
import { formatAmount, parseAmount } from '../../platform/money.js';
import { enqueueNotification } from '../../platform/outbox.js';
import { type AssetRow, findAssetRow, requireUsableAsset } from '../assets/index.js';
import {
  type EntryContext,
  groupOwner,
  type Owner,
  participantOwner,
  requestHash,
  runIdempotent,
  transfer,
} from '../ledger/index.js';
import {
  enrollParticipant,
  findParticipantByExternalId,
  findParticipantById,
} from '../participants/index.js';
import { findProgramRow } from '../programs/index.js';
import type { TransferBody, TransferResponse } from './transfers.schemas.js';

/** A group's status, share-locked for the transaction, or undefined when the group does not exist. */
export type GroupStatusReader = (
  db: Database,
  organizationId: string,
  groupId: string,
) => Promise<'ACTIVE' | 'ARCHIVED' | undefined>;

interface HolderReference {
  /** Where the request names the holder, e.g. "recipients[2].external_id". */
  field: string;
  kind: 'external_id' | 'participant_id' | 'group_id';
  value: string;
}

interface Identity {
  external_id?: string | undefined;
  participant_id?: string | undefined;
  group_id?: string | undefined;
}

const kinds = ['external_id', 'participant_id', 'group_id'] as const;

/** Exactly one identity per party; `fieldOf` names a kind as the body does ("source_group_id"). */
function referenceOf(identity: Identity, fieldOf: (kind: string) => string, where: string): HolderReference {
  const given = kinds.filter((kind) => identity[kind] !== undefined);
  const [kind] = given;
  if (given.length !== 1 || kind === undefined) {
    throw invalidField(
      where,
      `give exactly one of ${kinds.map(fieldOf).join(', ')}`,
      given.length === 0 ? 'required' : 'exclusive',
    );
  }
  return { field: fieldOf(kind), kind, value: identity[kind] ?? '' };
}

function sourceReference(body: TransferBody): HolderReference {
  const identity = {
    external_id: body.source_external_id,
    participant_id: body.source_participant_id,
    group_id: body.source_group_id,
  };
  return referenceOf(identity, (kind) => `source_${kind}`, 'source_participant_id');
}

function recipientReferences(body: TransferBody): HolderReference[] {
  return body.recipients.map((recipient, index) =>
    referenceOf(recipient, (kind) => `recipients[${index}].${kind}`, `recipients[${index}]`),
  );
}

function missing(reference: HolderReference): DomainError {
  const noun = reference.kind === 'group_id' ? 'group' : 'participant';
  return new DomainError('not_found', `${reference.field}: ${noun} ${reference.value} not found`, {
    field: reference.field,
    reason: 'not_found',
  });
}

/** The holder a reference names; it must exist in the organization and be ACTIVE. */
async function resolveHolder(
  trx: Database,
  organizationId: string,
  reference: HolderReference,
  readGroupStatus: GroupStatusReader,
): Promise<Owner> {
  if (reference.kind === 'group_id') {
    const status = await readGroupStatus(trx, organizationId, reference.value);
    if (status === undefined) throw missing(reference);
    if (status === 'ARCHIVED') {
      throw new DomainError('group_archived', `${reference.field}: group ${reference.value} is archived`, {
        field: reference.field,
      });
    }
    return groupOwner(reference.value);
  }
  const participant =
    reference.kind === 'participant_id'
      ? await findParticipantById(trx, organizationId, reference.value)
      : await findParticipantByExternalId(trx, organizationId, reference.value);
  if (participant === undefined) throw missing(reference);
  if (participant.status !== 'ACTIVE') {
    throw new DomainError(
      'participant_inactive',
      `${reference.field}: the participant is ${participant.status}`,
      {
        field: reference.field,
      },
    );
  }
  return participantOwner(participant.id);
}

const sameHolder = (a: Owner, b: Owner) => a.type === b.type && a.id === b.id;

/** Resolves every recipient: none the source (self_transfer), none twice. */
async function resolveRecipients(
  trx: Database,
  organizationId: string,
  references: HolderReference[],
  source: Owner,
  readGroupStatus: GroupStatusReader,
): Promise<Owner[]> {
  const owners: Owner[] = [];
  for (const reference of references) {
    const owner = await resolveHolder(trx, organizationId, reference, readGroupStatus);
    if (sameHolder(owner, source)) {
      throw new DomainError('self_transfer', `${reference.field}: a recipient cannot be the source`, {
        field: reference.field,
        reason: 'self_transfer',
      });
    }
    if (owners.some((other) => sameHolder(other, owner))) {
      throw invalidField(reference.field, 'names a recipient already listed', 'duplicate');
    }
    owners.push(owner);
  }
  return owners;
}

async function prepareProgram(trx: Database, organizationId: string, body: TransferBody, now: Date) {
  const program = await findProgramRow(trx, organizationId, body.program_id);
  if (program.status !== 'ACTIVE') {
    throw new DomainError('program_inactive', `the program is ${program.status}; transfers need it ACTIVE`);
  }
  return requireUsableAsset(trx, organizationId, body.program_id, body.asset_id, now);
}

export async function createTransfer(
  db: Database,
  clock: Clock,
  caller: Caller,
  body: TransferBody,
  readGroupStatus: GroupStatusReader,
): Promise<TransferResponse> {
  const { organizationId } = caller;
  const parties = { source: sourceReference(body), recipients: recipientReferences(body) };
  await findAssetRow(db, organizationId, body.asset_id);
  const result = await withTransaction(db, async (trx) => {
    const now = clock();
    const asset = await prepareProgram(trx, organizationId, body, now);
    const amounts = body.recipients.map((recipient, index) =>
      parseAmount(recipient.amount, asset.scale, `recipients[${index}].amount`),
    );
    const context: EntryContext = {
      organizationId,
      programId: body.program_id,
      description: body.description,
      now,
      createdByApiKeyId: caller.apiKeyId,
    };
    return runIdempotent(trx, idempotencyOf(organizationId, body, amounts), now, async () => {
      const source = await resolveHolder(trx, organizationId, parties.source, readGroupStatus);
      const owners = await resolveRecipients(
        trx,
        organizationId,
        parties.recipients,
        source,
        readGroupStatus,
      );
      await enrollRecipients(trx, { organizationId, programId: body.program_id, now }, owners);
      const recipients = owners.map((owner, index) => ({ owner, amount: amounts[index] ?? 0n }));
      const moved = await transfer(trx, context, { source, asset, recipients });
      const response = toResponse(body, asset, source, recipients, moved.journalEntryId, moved.total, now);
      await enqueueNotification(trx, { organizationId, topic: 'transfer.completed', payload: response, now });
      return response;
    });
  });
  return result.response;
}

/** Keys are per program, as for the balance commands; amounts are hashed in minor units. */
function idempotencyOf(organizationId: string, body: TransferBody, amounts: bigint[]) {
  const { idempotency_key: key, ...rest } = body;
  if (key === undefined) return undefined;
  const recipients = rest.recipients.map((recipient, index) => ({
    ...recipient,
    amount: amounts[index]?.toString(),
  }));
  const hash = requestHash({ operation: 'TRANSFER', ...rest, recipients });
  return { organizationId, scopeId: body.program_id, key, requestHash: hash };
}

/** Recipients not yet enrolled in the program are enrolled, in id order like every other lock. */
async function enrollRecipients(
  trx: Database,
  where: { organizationId: string; programId: string; now: Date },
  owners: Owner[],
): Promise<void> {
  const participantIds = owners.filter((owner) => owner.type === 'PARTICIPANT').map((owner) => owner.id);
  for (const id of participantIds.sort()) {
    await enrollParticipant(trx, { organization_id: where.organizationId, id }, where.programId, where.now);
  }
}

const idsOf = (owner: Owner) => ({
  participant_id: owner.type === 'PARTICIPANT' ? owner.id : null,
  group_id: owner.type === 'GROUP' ? owner.id : null,
});

function toResponse(
  body: TransferBody,
  asset: AssetRow,
  source: Owner,
  recipients: { owner: Owner; amount: bigint }[],
  journalEntryId: string,
  total: bigint,
  now: Date,
): TransferResponse {
  const sourceIds = idsOf(source);
  return {
    journal_entry_id: journalEntryId,
    program_id: body.program_id,
    asset_id: asset.id,
    source_participant_id: sourceIds.participant_id,
    source_group_id: sourceIds.group_id,
    recipient_count: recipients.length,
    total_amount: formatAmount(total, asset.scale),
    recipients: recipients.map(({ owner, amount }) => ({
      ...idsOf(owner),
      amount: formatAmount(amount, asset.scale),
    })),
    description: body.description,
    created_at: now.toISOString(),
    message: `Transfer completed with journal entry ID ${journalEntryId}`,
  };
}
