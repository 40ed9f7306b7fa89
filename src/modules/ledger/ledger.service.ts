// Balance commands of the HTTP API: one database transaction per request, with the checks the API
// adds on top of the transactional ledger API (the holder's status, program and asset link, scale,
// idempotency). A holder is a participant or a group; the group module supplies its own check.
import type { Clock } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import { withTransaction } from '../../platform/db/transaction.js';
import { resolveTimeOrDuration } from '../../platform/duration.js';
import { DomainError, invalidField, notFound } from '../../platform/errors.js';
import type { Caller } from '../../platform/http/auth.js';
import { formatAmount, parseAmount } from '../../platform/money.js';
import { readOptionalTimestamp } from '../../platform/timestamp.js';
import { type AssetRow, requireUsableAsset } from '../assets/index.js';
import { findProgramRow } from '../programs/index.js';
import { type Owner, participantOwner } from './accounts.js';
import type { HolderBalance } from './holder.js';
import { type IdempotencyKey, requestHash, runIdempotent } from './idempotency.js';
import type { EntryContext } from './journal-entry.js';
import type {
  AdjustBody,
  AdjustResponse,
  BalanceOperationBody,
  BalanceOperationResponse,
} from './ledger.schemas.js';
import * as store from './ledger.store.js';
import * as operations from './operations.js';

export type BalanceOperation = 'HOLD' | 'RELEASE' | 'FORFEIT' | 'VOID_HOLD';

/** SUSPENDED and CLOSED participants take no financial action, except forfeit and void-hold when CLOSED. */
export async function requireParticipantAllowedTo(
  trx: Database,
  organizationId: string,
  id: string,
  operation: string,
) {
  const status = await store.findParticipantStatus(trx, organizationId, id);
  if (status === undefined) throw notFound('participant');
  const allowedWhenClosed = operation === 'FORFEIT' || operation === 'VOID_HOLD';
  if (status === 'ACTIVE' || (status === 'CLOSED' && allowedWhenClosed)) return;
  throw new DomainError('participant_inactive', `the participant is ${status}; ${operation} is not allowed`);
}

/** Who a balance command acts on, and the check that runs first inside its transaction. */
export interface BalanceHolder {
  owner: Owner;
  /** Throws not_found, or the refusal of `operation` (an inactive or archived holder); writes nothing. */
  requireAllowedTo(trx: Database, organizationId: string, operation: string): Promise<void>;
}

export function participantHolder(id: string): BalanceHolder {
  return {
    owner: participantOwner(id),
    requireAllowedTo: (trx, organizationId, operation) =>
      requireParticipantAllowedTo(trx, organizationId, id, operation),
  };
}

/** The holder as idempotency hashes name it (participantId keeps the hashes of stored keys). */
function holderOf(owner: Owner) {
  return owner.type === 'GROUP' ? { groupId: owner.id } : { participantId: owner.id };
}

interface Prepared {
  asset: AssetRow;
  context: EntryContext;
}

async function prepare(
  trx: Database,
  clock: Clock,
  caller: Caller,
  holder: BalanceHolder,
  body: { program_id: string; asset_id: string; description: string },
  operation: string,
): Promise<Prepared> {
  const now = clock();
  await holder.requireAllowedTo(trx, caller.organizationId, operation);
  await findProgramRow(trx, caller.organizationId, body.program_id);
  const asset = await requireUsableAsset(trx, caller.organizationId, body.program_id, body.asset_id, now);
  const context: EntryContext = {
    organizationId: caller.organizationId,
    programId: body.program_id,
    description: body.description,
    now,
    createdByApiKeyId: caller.apiKeyId,
  };
  return { asset, context };
}

export function formatBalance(balance: HolderBalance, scale: number) {
  return {
    available: formatAmount(balance.available, scale),
    deferred: formatAmount(balance.deferred, scale),
    held: formatAmount(balance.held, scale),
  };
}

function idempotencyOf(
  caller: Caller,
  body: { program_id: string; idempotency_key?: string | undefined },
  semantic: unknown,
): IdempotencyKey | undefined {
  if (body.idempotency_key === undefined) return undefined;
  return {
    organizationId: caller.organizationId,
    scopeId: body.program_id,
    key: body.idempotency_key,
    requestHash: requestHash(semantic),
  };
}

export async function adjustBalance(
  db: Database,
  clock: Clock,
  caller: Caller,
  holder: BalanceHolder,
  body: AdjustBody,
): Promise<AdjustResponse> {
  const result = await withTransaction(db, async (trx) => {
    const { asset, context } = await prepare(trx, clock, caller, holder, body, body.type);
    const amount = parseAmount(body.amount, asset.scale);
    const { idempotency_key: _key, ...rest } = body;
    const key = idempotencyOf(caller, body, {
      operation: 'ADJUST',
      ...holderOf(holder.owner),
      ...rest,
      amount: amount.toString(),
    });
    return runIdempotent(trx, key, context.now, async () => {
      const { owner } = holder;
      const bucket = body.bucket ?? 'AVAILABLE';
      const outcome =
        body.type === 'CREDIT'
          ? await operations.credit(trx, context, {
              owner,
              asset,
              amount,
              bucket,
              referenceId: body.reference_id ?? null,
              expiresAt: timeOrNull(body.expires_at, context.now, 'expires_at'),
              maturesAt: timeOrNull(body.matures_at, context.now, 'matures_at'),
            })
          : await debitOf(trx, context, body, asset, amount, owner);
      return toAdjustResponse(body, asset, outcome, bucket);
    });
  });
  return result.response;
}

async function debitOf(
  trx: Database,
  context: EntryContext,
  body: AdjustBody,
  asset: AssetRow,
  amount: bigint,
  owner: Owner,
) {
  if (body.expires_at !== undefined || body.matures_at !== undefined) {
    throw invalidField(body.expires_at !== undefined ? 'expires_at' : 'matures_at', 'applies to CREDIT only');
  }
  return operations.debit(trx, context, {
    owner,
    asset,
    amount,
    bucket: body.bucket ?? 'AVAILABLE',
    allowNegative: body.allow_negative === true,
    referenceId: body.reference_id ?? null,
  });
}

function timeOrNull(text: string | undefined, now: Date, field: string): Date | null {
  return text === undefined ? null : resolveTimeOrDuration(text, now, field);
}

function toAdjustResponse(
  body: AdjustBody,
  asset: AssetRow,
  outcome: operations.OperationResult,
  bucket: string,
): AdjustResponse {
  return {
    amount: formatAmount(outcome.amount, asset.scale),
    asset_id: asset.id,
    balance: formatBalance(outcome.balance, asset.scale),
    bucket,
    journal_entry_id: outcome.journalEntryId,
    message: 'Balance adjusted successfully',
    program_id: body.program_id,
    type: body.type,
  };
}

export async function operateBalance(
  db: Database,
  clock: Clock,
  caller: Caller,
  holder: BalanceHolder,
  operation: BalanceOperation,
  body: BalanceOperationBody,
): Promise<BalanceOperationResponse> {
  const result = await withTransaction(db, async (trx) => {
    // The holder and asset first: another organization's ids answer 404 whatever the body says.
    const { asset, context } = await prepare(trx, clock, caller, holder, body, operation);
    checkOperationFields(operation, body);
    const amount = body.amount === undefined ? undefined : parseAmount(body.amount, asset.scale);
    const { idempotency_key: _key, ...rest } = body;
    const semantic = { operation, ...holderOf(holder.owner), ...rest, amount: amount?.toString() };
    return runIdempotent(trx, idempotencyOf(caller, body, semantic), context.now, async () => {
      const outcome = await runOperation(trx, context, operation, asset, holder.owner, body, amount);
      return toOperationResponse(operation, body, asset, outcome);
    });
  });
  return result.response;
}

function checkOperationFields(operation: BalanceOperation, body: BalanceOperationBody): void {
  if (operation === 'FORFEIT' && body.bucket === undefined)
    throw invalidField('bucket', 'is required for forfeit', 'required');
  if (body.earned_from !== undefined && body.earned_to !== undefined && body.earned_to < body.earned_from) {
    throw invalidField('earned_to', 'must not be before earned_from');
  }
  if (operation !== 'VOID_HOLD') return;
  if (body.reference_id === undefined)
    throw invalidField('reference_id', 'is required for void-hold', 'required');
  for (const field of ['amount', 'lot_ids', 'earned_from', 'earned_to'] as const) {
    if (body[field] !== undefined) throw invalidField(field, 'is not supported by void-hold');
  }
}

async function runOperation(
  trx: Database,
  context: EntryContext,
  operation: BalanceOperation,
  asset: AssetRow,
  owner: Owner,
  body: BalanceOperationBody,
  amount: bigint | undefined,
): Promise<operations.OperationResult> {
  if (operation === 'VOID_HOLD') {
    return operations.voidHold(trx, context, { owner, asset, referenceId: body.reference_id ?? '' });
  }
  const selection: operations.LotSelectionInput = {
    owner,
    asset,
    amount,
    referenceId: body.reference_id,
    lotIds: body.lot_ids,
    earnedFrom: readOptionalTimestamp(body.earned_from, 'earned_from'),
    earnedTo: readOptionalTimestamp(body.earned_to, 'earned_to'),
  };
  if (operation === 'HOLD') return operations.hold(trx, context, selection);
  if (operation === 'RELEASE') return operations.release(trx, context, selection);
  return operations.forfeit(trx, context, { ...selection, bucket: body.bucket ?? 'AVAILABLE' });
}

function toOperationResponse(
  operation: BalanceOperation,
  body: BalanceOperationBody,
  asset: AssetRow,
  outcome: operations.OperationResult,
): BalanceOperationResponse {
  const processed = formatAmount(outcome.amount, asset.scale);
  const response: BalanceOperationResponse = {
    amount_processed: processed,
    asset_id: asset.id,
    balance: formatBalance(outcome.balance, asset.scale),
    journal_entry_id: outcome.journalEntryId,
    message: `Processed ${processed}`,
    operation,
    program_id: body.program_id,
    reference_id: body.reference_id ?? null,
  };
  if (asset.inventory_mode === 'LOT') {
    response.lots_processed = outcome.lotsProcessed.map((lot) => ({
      id: lot.id,
      amount: formatAmount(lot.amount, asset.scale),
    }));
  }
  return response;
}

export interface WalletBody {
  amount: string;
  description?: string | undefined;
}

/** FUND or BURN a PREFUNDED program wallet. */
export async function moveWallet(
  db: Database,
  clock: Clock,
  caller: Caller,
  target: { programId: string; assetId: string },
  body: WalletBody,
  actionType: 'FUND' | 'BURN',
) {
  const fund = actionType === 'FUND';
  return withTransaction(db, async (trx) => {
    const now = clock();
    await findProgramRow(trx, caller.organizationId, target.programId);
    const asset = await requireUsableAsset(trx, caller.organizationId, target.programId, target.assetId, now);
    const amount = parseAmount(body.amount, asset.scale);
    const context: EntryContext = {
      organizationId: caller.organizationId,
      programId: target.programId,
      description: body.description ?? (fund ? 'Program funded' : 'Program balance burned'),
      now,
      createdByApiKeyId: caller.apiKeyId,
    };
    const result = await operations.moveWalletValue(trx, context, { asset, amount, actionType });
    return {
      available: formatAmount(result.available, asset.scale),
      journal_entry_id: result.journalEntryId,
      message: fund ? 'Program funded successfully' : 'Program balance burned successfully',
    };
  });
}
