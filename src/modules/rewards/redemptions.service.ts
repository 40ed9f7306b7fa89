// Redemptions and their reversals: one database transaction each. A redemption debits the
// participant's AVAILABLE (LOT assets: FIFO, recording the lots) into the program's redemption
// target, captured on the redemption; a catalog redemption first locks its reward, so max_total and
// max_per_participant hold under concurrency. A reversal locks the redemption, then the reward, and
// gives back at most what is left unreversed.
import { assert } from '../../platform/assert.js';
import type { Clock } from '../../platform/clock.js';
import { toIso } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import { withTransaction } from '../../platform/db/transaction.js';
import { DomainError, notFound } from '../../platform/errors.js';
import type { Caller } from '../../platform/http/auth.js';
import { decodeKeyset, type PageResult, toPage } from '../../platform/http/pagination.js';
import { newId } from '../../platform/ids.js';
import { pageSizeDefault } from '../../platform/limits.js';
import { formatAmount, parseAmount } from '../../platform/money.js';
import { enqueueNotification } from '../../platform/outbox.js';
import { type AssetRow, findAssetRow, findAssetScales, requireUsableAsset } from '../assets/index.js';
import {
  debit,
  type EntryContext,
  type IdempotencyKey,
  type Owner,
  participantOwner,
  reverseRedemption as postReversal,
  requestHash,
  requireParticipantAllowedTo,
  runIdempotent,
  systemOwner,
} from '../ledger/index.js';
import { findParticipantRow } from '../participants/index.js';
import { findProgramRow, type ProgramRow } from '../programs/index.js';
import type {
  CatalogRedemptionBody,
  ListRedemptionsQuery,
  RawRedemptionBody,
  Redemption,
  RedemptionReversal,
  ReversalsQuery,
  ReverseBody,
} from './redemptions.schemas.js';
import type { RedemptionLotRow, RedemptionRow, ReversalRow } from './redemptions.store.js';
import * as store from './redemptions.store.js';
import { lifoRestores, reversalPart, statusAfter } from './reversal-plan.js';
import { priceOf, requireRedeemable, requireStock, stockStatus } from './reward-rules.js';
import { findRewardRow } from './rewards.service.js';
import type { RewardRow } from './rewards.store.js';
import * as rewardStore from './rewards.store.js';

export interface Written<T> {
  replayed: boolean;
  response: T;
}

type Target = Pick<
  RedemptionRow,
  'redemption_target_type' | 'redemption_target_entity_id' | 'redemption_target_entity_type'
>;

function targetOwner(target: Target): Owner {
  if (target.redemption_target_type !== 'LEDGER_ENTITY') return systemOwner(target.redemption_target_type);
  const id = target.redemption_target_entity_id;
  const type = target.redemption_target_entity_type;
  assert(id !== null && type !== null, 'a LEDGER_ENTITY target names its entity');
  return { type, id };
}

function toRedemption(row: RedemptionRow, lots: RedemptionLotRow[], scale: number): Redemption {
  const money = (value: string | null) => (value === null ? null : formatAmount(BigInt(value), scale));
  return {
    id: row.id,
    participant_id: row.participant_id,
    program_id: row.program_id,
    asset_id: row.asset_id,
    amount: formatAmount(BigInt(row.amount), scale),
    reward_id: row.reward_id,
    quantity: row.quantity,
    unit_cost: money(row.unit_cost),
    reversed_amount: formatAmount(BigInt(row.reversed_amount), scale),
    reversed_quantity: row.reversed_quantity,
    status: row.status,
    description: row.description,
    journal_entry_id: row.journal_entry_id,
    redemption_target_type: row.redemption_target_type,
    redemption_target_entity_id: row.redemption_target_entity_id,
    lots_consumed: lots.map((lot) => ({
      lot_id: lot.lot_id,
      amount: formatAmount(BigInt(lot.amount), scale),
      restored: formatAmount(BigInt(lot.restored), scale),
    })),
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
  };
}

function toReversal(row: ReversalRow, scale: number): RedemptionReversal {
  return {
    id: row.id,
    redemption_id: row.redemption_id,
    amount: formatAmount(BigInt(row.amount), scale),
    quantity: row.quantity,
    reason: row.reason,
    journal_entry_id: row.journal_entry_id,
    created_at: toIso(row.created_at),
  };
}

interface Opened {
  program: ProgramRow;
  now: Date;
}

/** The participant first (another organization's is not found), then an ACTIVE program. */
async function openRedemption(
  trx: Database,
  now: Date,
  caller: Caller,
  participantId: string,
  programId: string,
) {
  await requireParticipantAllowedTo(trx, caller.organizationId, participantId, 'REDEMPTION');
  const program = await findProgramRow(trx, caller.organizationId, programId);
  if (program.status !== 'ACTIVE') {
    throw new DomainError(
      'program_inactive',
      `the program is ${program.status}; redemptions need it ACTIVE`,
      {
        field: 'program_id',
        reason: 'program_inactive',
      },
    );
  }
  return { program, now };
}

function idempotencyOf(caller: Caller, scopeId: string, key: string | undefined, semantic: unknown) {
  if (key === undefined) return undefined;
  const idempotency: IdempotencyKey = {
    organizationId: caller.organizationId,
    scopeId,
    key,
    requestHash: requestHash(semantic),
  };
  return idempotency;
}

interface Spend {
  participantId: string;
  asset: AssetRow;
  amount: bigint;
  description: string;
  reward?: { row: RewardRow; quantity: number | null };
}

/** Debits the participant into the program's target and records the redemption with its lots. */
async function recordRedemption(
  trx: Database,
  caller: Caller,
  opened: Opened,
  spend: Spend,
): Promise<string> {
  const { program, now } = opened;
  const target = targetOf(program, spend.participantId);
  const context: EntryContext = {
    organizationId: caller.organizationId,
    programId: program.id,
    description: spend.description,
    now,
    createdByApiKeyId: caller.apiKeyId,
  };
  const id = newId();
  const outcome = await debit(trx, context, {
    owner: participantOwner(spend.participantId),
    asset: spend.asset,
    amount: spend.amount,
    actionType: 'REDEMPTION',
    target: targetOwner(target),
    referenceId: id,
  });
  const quantity = spend.reward?.quantity ?? null;
  const row: RedemptionRow = {
    organization_id: caller.organizationId,
    id,
    participant_id: spend.participantId,
    program_id: program.id,
    asset_id: spend.asset.id,
    amount: spend.amount.toString(),
    reward_id: spend.reward?.row.id ?? null,
    quantity,
    unit_cost: spend.reward?.row.unit_cost ?? null,
    reversed_amount: '0',
    reversed_quantity: quantity === null ? null : 0,
    status: 'COMPLETED',
    description: spend.description,
    journal_entry_id: outcome.journalEntryId,
    ...target,
    created_at: now,
    updated_at: now,
  };
  const lots = outcome.lotsProcessed.map((lot, position) => ({
    organization_id: caller.organizationId,
    redemption_id: id,
    position,
    lot_id: lot.id,
    amount: lot.amount.toString(),
    restored: '0',
  }));
  await store.insertRedemption(trx, row, lots);
  const payload = toRedemption(row, lots, spend.asset.scale);
  await enqueueNotification(trx, {
    organizationId: caller.organizationId,
    topic: 'redemption.completed',
    payload,
    now,
  });
  return id;
}

/** The program's target, captured on the redemption; a participant cannot redeem into itself. */
function targetOf(program: ProgramRow, participantId: string): Target {
  if (program.redemption_target_entity_id === participantId) {
    throw new DomainError('conflict', "the participant is its program's redemption target", {
      field: 'participant_id',
      reason: 'redemption_target',
    });
  }
  return {
    redemption_target_type: program.redemption_target_type,
    redemption_target_entity_id: program.redemption_target_entity_id,
    redemption_target_entity_type: program.redemption_target_entity_type,
  };
}

export async function readRedemption(db: Database, organizationId: string, id: string): Promise<Redemption> {
  const row = await store.findRedemption(db, organizationId, id);
  if (row === undefined) throw notFound('redemption');
  const asset = await findAssetRow(db, organizationId, row.asset_id);
  return toRedemption(row, await store.listRedemptionLots(db, organizationId, [id]), asset.scale);
}

/** POST /v1/participants/{id}/redemptions: redeem an amount. */
export async function redeemAmount(
  db: Database,
  clock: Clock,
  caller: Caller,
  participantId: string,
  body: RawRedemptionBody,
): Promise<Written<Redemption>> {
  await findAssetRow(db, caller.organizationId, body.asset_id);
  return withTransaction(db, async (trx) => {
    const opened = await openRedemption(trx, clock(), caller, participantId, body.program_id);
    const asset = await requireUsableAsset(
      trx,
      caller.organizationId,
      body.program_id,
      body.asset_id,
      opened.now,
    );
    const amount = parseAmount(body.amount, asset.scale);
    const { idempotency_key: key, ...request } = body;
    const semantic = { operation: 'REDEMPTION', participantId, ...request, amount: amount.toString() };
    const written = await runIdempotent(
      trx,
      idempotencyOf(caller, body.program_id, key, semantic),
      opened.now,
      async () => ({
        id: await recordRedemption(trx, caller, opened, {
          participantId,
          asset,
          amount,
          description: body.description,
        }),
      }),
    );
    return {
      replayed: written.replayed,
      response: await readRedemption(trx, caller.organizationId, written.response.id),
    };
  });
}

/** POST /v1/participants/{id}/redemptions/items: redeem a catalog reward. */
export async function redeemItem(
  db: Database,
  clock: Clock,
  caller: Caller,
  participantId: string,
  body: CatalogRedemptionBody,
): Promise<Written<Redemption>> {
  const { organizationId } = caller;
  const listed = await findRewardRow(db, organizationId, body.program_id, body.reward_id);
  await findAssetRow(db, organizationId, listed.asset_id);
  return withTransaction(db, async (trx) => {
    const opened = await openRedemption(trx, clock(), caller, participantId, body.program_id);
    const asset = await requireUsableAsset(trx, organizationId, body.program_id, listed.asset_id, opened.now);
    const amount = body.amount === undefined ? undefined : parseAmount(body.amount, asset.scale);
    const quantity = body.quantity ?? (listed.redemption_type === 'UNIT_BASED' ? 1 : undefined);
    const { idempotency_key: key, ...request } = body;
    const semantic = {
      operation: 'REDEMPTION_ITEM',
      participantId,
      ...request,
      quantity,
      amount: amount?.toString(),
    };
    const written = await runIdempotent(
      trx,
      idempotencyOf(caller, body.program_id, key, semantic),
      opened.now,
      async () => {
        const reward = await findRewardRow(trx, organizationId, body.program_id, body.reward_id, true);
        requireRedeemable(reward, opened.now);
        const price = priceOf(reward, { quantity: body.quantity, amount });
        if (price.quantity !== null) {
          const held = await store.sumParticipantUnits(trx, organizationId, reward.id, participantId);
          requireStock(reward, price.quantity, held);
        }
        const description = body.description ?? `Redeemed: ${reward.name}`;
        const spend = {
          participantId,
          asset,
          amount: price.amount,
          description,
          reward: { row: reward, quantity: price.quantity },
        };
        const id = await recordRedemption(trx, caller, opened, spend);
        if (price.quantity !== null) await moveStock(trx, reward, price.quantity, opened.now);
        return { id };
      },
    );
    return {
      replayed: written.replayed,
      response: await readRedemption(trx, organizationId, written.response.id),
    };
  });
}

/** Units leave (positive) or come back (negative); the status follows the stock. */
async function moveStock(trx: Database, reward: RewardRow, units: number, now: Date) {
  const redeemedCount = reward.redeemed_count + units;
  await rewardStore.updateReward(trx, reward.organization_id, reward.id, {
    redeemed_count: redeemedCount,
    status: stockStatus({ ...reward, redeemed_count: redeemedCount }),
    updated_at: now,
  });
}

export async function listRedemptions(
  db: Database,
  organizationId: string,
  participantId: string,
  query: ListRedemptionsQuery,
): Promise<PageResult<Redemption>> {
  await findParticipantRow(db, organizationId, participantId);
  const limit = query.limit ?? pageSizeDefault;
  const scope = `redemptions:${participantId}`;
  const rows = await store.listRedemptions(db, organizationId, participantId, {
    status: query.status,
    rewardId: query.reward_catalog_item_id ?? query.reward_id,
    from: query.from === undefined ? undefined : new Date(query.from),
    to: query.to === undefined ? undefined : new Date(query.to),
    after: decodeKeyset(query.cursor, scope),
    limit,
  });
  const lots = await store.listRedemptionLots(
    db,
    organizationId,
    rows.map((row) => row.id),
  );
  const scales = await findAssetScales(
    db,
    organizationId,
    rows.map((row) => row.asset_id),
  );
  return toPage(
    rows,
    limit,
    scope,
    (row) => [row.created_at, row.id],
    (row) =>
      toRedemption(
        row,
        lots.filter((lot) => lot.redemption_id === row.id),
        scales.get(row.asset_id) ?? 0,
      ),
  );
}

async function findRedemptionRow(db: Database, organizationId: string, id: string, forUpdate = false) {
  const row = await store.findRedemption(db, organizationId, id, forUpdate);
  if (row === undefined) throw notFound('redemption');
  return row;
}

/** POST /v1/redemptions/{id}/reverse. Idempotency keys are scoped to the redemption. */
export async function reverseRedemption(
  db: Database,
  clock: Clock,
  caller: Caller,
  redemptionId: string,
  body: ReverseBody,
): Promise<Written<RedemptionReversal>> {
  const { organizationId } = caller;
  const found = await findRedemptionRow(db, organizationId, redemptionId);
  await findAssetRow(db, organizationId, found.asset_id);
  return withTransaction(db, async (trx) => {
    const now = clock();
    const redemption = await findRedemptionRow(trx, organizationId, redemptionId, true);
    const asset = await findAssetRow(trx, organizationId, redemption.asset_id);
    const amount = body.amount === undefined ? undefined : parseAmount(body.amount, asset.scale);
    const { idempotency_key: key, ...request } = body;
    const semantic = { operation: 'REVERSAL', redemptionId, ...request, amount: amount?.toString() };
    const written = await runIdempotent(
      trx,
      idempotencyOf(caller, redemptionId, key, semantic),
      now,
      async () => ({
        id: await applyReversal(trx, caller, now, redemption, asset, { ...body, amount }),
      }),
    );
    const row = await store.findReversal(trx, organizationId, written.response.id);
    return { replayed: written.replayed, response: toReversal(row, asset.scale) };
  });
}

async function applyReversal(
  trx: Database,
  caller: Caller,
  now: Date,
  redemption: RedemptionRow,
  asset: AssetRow,
  request: { reason: string; amount: bigint | undefined; quantity?: number | undefined },
): Promise<string> {
  const { organizationId } = caller;
  const reward =
    redemption.reward_id === null
      ? undefined
      : await findRewardRow(trx, organizationId, undefined, redemption.reward_id, true);
  const part = reversalPart(redemption, request, asset.scale);
  const lots = await store.listRedemptionLots(trx, organizationId, [redemption.id]);
  const restores = lifoRestores(lots, part.amount);
  const context: EntryContext = {
    organizationId,
    programId: redemption.program_id,
    description: request.reason,
    now,
    createdByApiKeyId: caller.apiKeyId,
  };
  const outcome = await postReversal(trx, context, {
    owner: participantOwner(redemption.participant_id),
    asset,
    amount: part.amount,
    source: targetOwner(redemption),
    lots: restores.map((restore) => ({ id: restore.lotId, amount: restore.take })),
    referenceId: redemption.id,
  });
  const reversed = BigInt(redemption.reversed_amount) + part.amount;
  await store.updateRedemption(trx, organizationId, redemption.id, {
    reversed_amount: reversed.toString(),
    reversed_quantity: part.quantity === null ? null : (redemption.reversed_quantity ?? 0) + part.quantity,
    status: statusAfter(BigInt(redemption.amount), reversed),
    updated_at: now,
  });
  await store.setRestored(trx, organizationId, redemption.id, restores);
  if (reward !== undefined && part.quantity !== null) await moveStock(trx, reward, -part.quantity, now);
  const row: ReversalRow = {
    organization_id: organizationId,
    id: newId(),
    redemption_id: redemption.id,
    amount: part.amount.toString(),
    quantity: part.quantity,
    reason: request.reason,
    journal_entry_id: outcome.journalEntryId,
    created_at: now,
  };
  await store.insertReversal(trx, row);
  await enqueueNotification(trx, {
    organizationId,
    topic: 'redemption.reversed',
    payload: {
      ...toReversal(row, asset.scale),
      redemption: await readRedemption(trx, organizationId, redemption.id),
    },
    now,
  });
  return row.id;
}

export async function listReversals(
  db: Database,
  organizationId: string,
  redemptionId: string,
  query: ReversalsQuery,
): Promise<PageResult<RedemptionReversal>> {
  const redemption = await findRedemptionRow(db, organizationId, redemptionId);
  const asset = await findAssetRow(db, organizationId, redemption.asset_id);
  const limit = query.limit ?? pageSizeDefault;
  const scope = `reversals:${redemptionId}`;
  const rows = await store.listReversals(db, organizationId, redemptionId, {
    after: decodeKeyset(query.cursor, scope),
    limit,
  });
  return toPage(
    rows,
    limit,
    scope,
    (row) => [row.created_at, row.id],
    (row) => toReversal(row, asset.scale),
  );
}
