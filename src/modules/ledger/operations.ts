// The transactional ledger API. Every function runs inside the caller's database transaction, so an
// event processor can apply many actions atomically; the HTTP service wraps one call in its own.
// Each checks what it needs before writing anything, so a refused operation changes nothing.
import { assert } from '../../platform/assert.js';
import type { Database } from '../../platform/db/database.js';
import { DomainError, invalidField } from '../../platform/errors.js';
import { newId } from '../../platform/ids.js';
import { lotsPerOperationMax } from '../../platform/limits.js';
import { formatAmount, fromNumeric } from '../../platform/money.js';
import type { AssetRow } from '../assets/index.js';
import { type Bucket, buckets, hasFloor, type Owner, programWallet, systemOwner } from './accounts.js';
import { type HolderBalance, openHolder, openHolders, readHolderBalance } from './holder.js';
import type { EntryContext, EntryDraft, PostingDraft } from './journal-entry.js';
import { consumeLots, type LotSlice, moveLots, pickLots, repayOverdraft, restoreLots } from './lots.js';
import type { LotRow } from './lots.store.js';
import * as lotStore from './lots.store.js';
import { lockAccountsFor, postJournalEntry } from './post-entry.js';

export interface OperationResult {
  journalEntryId: string;
  /** The amount moved, in minor units. */
  amount: bigint;
  balance: HolderBalance;
  /** LOT assets: the lots used and how much of each. */
  lotsProcessed: { id: string; amount: bigint }[];
}

export interface CreditInput {
  owner: Owner;
  asset: AssetRow;
  amount: bigint;
  bucket?: 'AVAILABLE' | 'HELD';
  referenceId?: string | null;
  expiresAt?: Date | null;
  maturesAt?: Date | null;
}

/** Checks an amount against the asset: positive, active asset, within max_transaction_amount. */
export function checkTransactionAmount(asset: AssetRow, amount: bigint): void {
  assert(amount > 0n, 'amounts are positive; the direction comes from the operation');
  if (asset.status === 'ARCHIVED') throw new DomainError('asset_archived', 'the asset is archived');
  const ceiling =
    asset.max_transaction_amount === null ? undefined : fromNumeric(asset.max_transaction_amount);
  if (ceiling !== undefined && amount > ceiling) {
    throw new DomainError(
      'max_transaction_amount_exceeded',
      `amount exceeds the asset's max_transaction_amount of ${formatAmount(ceiling, asset.scale)}`,
      { field: 'amount', reason: 'max_transaction_amount_exceeded' },
    );
  }
}

/**
 * A lot must be able to hold value: it expires after the credit's time (the event's timestamp for a
 * rule's credit, so a replay decides the same; the request's time otherwise) and matures before it
 * expires.
 */
export function checkLotDates(dates: { expiresAt?: Date | null; maturesAt?: Date | null }, at: Date): void {
  const { expiresAt, maturesAt } = dates;
  if (expiresAt === undefined || expiresAt === null) return;
  if (expiresAt.getTime() <= at.getTime())
    throw invalidField('expires_at', `must be later than ${at.toISOString()}`);
  if (maturesAt !== undefined && maturesAt !== null && maturesAt.getTime() >= expiresAt.getTime())
    throw invalidField('matures_at', 'must be earlier than expires_at');
}

function issuanceSource(context: EntryContext, asset: AssetRow, programId = context.programId): Owner {
  if (asset.issuance_policy === 'UNLIMITED') return systemOwner('SYSTEM_ISSUANCE');
  assert(programId !== null, 'a PREFUNDED credit needs the program whose wallet pays it');
  return programWallet(programId);
}

/** CREDIT: mints from SYSTEM_ISSUANCE (UNLIMITED) or draws on the program wallet (PREFUNDED). */
export async function credit(
  trx: Database,
  context: EntryContext,
  input: CreditInput,
): Promise<OperationResult> {
  const { owner, asset, amount } = input;
  checkTransactionAmount(asset, amount);
  const deferred = input.maturesAt !== undefined && input.maturesAt !== null && input.maturesAt > context.now;
  if (asset.inventory_mode === 'SIMPLE' && (input.maturesAt || input.expiresAt)) {
    throw invalidField(input.maturesAt ? 'matures_at' : 'expires_at', 'applies to LOT assets only');
  }
  checkLotDates(input, context.eventTimestamp ?? context.now);
  if (deferred && input.bucket === 'HELD')
    throw invalidField('matures_at', 'a HELD credit cannot be deferred');
  const bucket: Bucket = deferred ? 'DEFERRED' : (input.bucket ?? 'AVAILABLE');
  const before = await openHolder(trx, context, owner, asset);
  const settled = bucket === 'AVAILABLE' ? await lockHoldToSettle(trx, context, input) : undefined;
  const entry = creditEntry(context, { ...input, bucket });
  if (settled !== undefined) {
    entry.postings = settlePostings(context, input, settled);
    await consumeLots(trx, settled.slices);
  }
  const posted = await postJournalEntry(trx, context, entry);
  const lots: { id: string; amount: bigint }[] = [];
  if (asset.inventory_mode === 'LOT') {
    const lot = newLot(context, { ...input, bucket }, posted.journalEntryId);
    await lotStore.insertLots(trx, [lot]);
    if (bucket === 'AVAILABLE') await repayOverdraft(trx, [lot], before.available);
    lots.push({ id: lot.id, amount });
  }
  return finish(trx, context, owner, asset, posted.journalEntryId, amount, lots);
}

/**
 * A credit into AVAILABLE with the reference of provisional HELD lots (credited straight into HELD,
 * e.g. cashback pending a card settlement) settles them: those lots, locked here, are replaced by the
 * credited amount. LOT assets only (only their lots carry a reference).
 */
async function lockHoldToSettle(trx: Database, context: EntryContext, input: CreditInput) {
  const { owner, asset, referenceId } = input;
  if (asset.inventory_mode !== 'LOT' || referenceId === undefined || referenceId === null) return undefined;
  const lots = await lotStore.lockLots(trx, context.organizationId, owner, asset.id, {
    status: 'HELD',
    referenceId,
    provisionalOnly: true,
    limit: lotsPerOperationMax,
  });
  const picked = pickLots(lots, undefined);
  return picked.total === 0n ? undefined : picked;
}

/**
 * A settle's postings: HELD loses what was held, AVAILABLE gains the settled amount, and each
 * source gives the difference: every held lot goes back to the source that issued it, the settled
 * amount comes from this credit's source, netted per source account.
 */
function settlePostings(
  context: EntryContext,
  input: CreditInput,
  held: { slices: LotSlice[]; total: bigint },
): PostingDraft[] {
  const { owner, asset, amount } = input;
  const bySource = new Map<string, PostingDraft>();
  const add = (source: Owner, change: bigint) => {
    const key = `${source.type}:${source.id}`;
    const posting = bySource.get(key) ?? { owner: source, bucket: 'AVAILABLE' as const, amount: 0n };
    bySource.set(key, { ...posting, amount: posting.amount + change });
  };
  add(issuanceSource(context, asset), -amount);
  for (const { lot, take } of held.slices) add(issuanceSource(context, asset, lot.program_id), take);
  return [
    { owner, bucket: 'HELD', amount: -held.total },
    { owner, bucket: 'AVAILABLE', amount },
    ...[...bySource.values()].filter((posting) => posting.amount !== 0n),
  ];
}

/**
 * The CREDIT rule's entry, for `credit` and the engine's plain credits alike: the issuance source
 * (SYSTEM_ISSUANCE, or the program wallet of a PREFUNDED asset) gives, the holder's bucket gains.
 */
export function creditEntry(
  context: EntryContext,
  input: Pick<CreditInput, 'owner' | 'asset' | 'amount' | 'referenceId'> & { bucket: Bucket },
): EntryDraft {
  const { owner, asset, amount, bucket } = input;
  return {
    actionType: 'CREDIT',
    assetId: asset.id,
    referenceId: input.referenceId ?? null,
    postings: [
      { owner: issuanceSource(context, asset), bucket: 'AVAILABLE', amount: -amount },
      { owner, bucket, amount },
    ],
  };
}

/**
 * The lot that value arriving at a holder of a LOT asset makes (a CREDIT, the receiving side of a
 * DEBIT or TRANSFER): the amount in its bucket, with its dates.
 */
export function newLot(
  context: EntryContext,
  input: Omit<CreditInput, 'bucket'> & { bucket: Bucket },
  journalEntryId: string,
): LotRow {
  const { owner, asset, amount, bucket } = input;
  assert(owner.type === 'PARTICIPANT' || owner.type === 'GROUP', 'lots belong to participants and groups');
  return {
    organization_id: context.organizationId,
    id: newId(),
    owner_type: owner.type,
    owner_id: owner.id,
    asset_id: asset.id,
    program_id: context.programId,
    journal_entry_id: journalEntryId,
    parent_lot_id: null,
    amount: amount.toString(),
    remaining: amount.toString(),
    status: bucket,
    provisional: bucket === 'HELD',
    reference_id: input.referenceId ?? null,
    expires_at: input.expiresAt ?? null,
    matures_at: input.maturesAt ?? null,
    created_at: context.now,
  };
}

async function finish(
  trx: Database,
  context: EntryContext,
  owner: Owner,
  asset: AssetRow,
  journalEntryId: string,
  amount: bigint,
  lotsProcessed: { id: string; amount: bigint }[],
): Promise<OperationResult> {
  const balance = await readHolderBalance(trx, context.organizationId, owner, asset.id);
  return { journalEntryId, amount, balance, lotsProcessed };
}

function insufficient(bucket: Bucket, wanted: bigint, has: bigint, asset: AssetRow): DomainError {
  return new DomainError(
    'insufficient_balance',
    `insufficient ${bucket} balance: ${formatAmount(has, asset.scale)} available, ${formatAmount(wanted, asset.scale)} needed`,
    { bucket, available: formatAmount(has, asset.scale), requested: formatAmount(wanted, asset.scale) },
  );
}

export interface DebitInput {
  owner: Owner;
  asset: AssetRow;
  amount: bigint;
  bucket?: 'AVAILABLE' | 'HELD';
  /** AVAILABLE only: the shortfall past the lots (or the balance) becomes an overdraft. */
  allowNegative?: boolean;
  referenceId?: string | null;
  /** A redemption debits the same way, into the target captured on it. */
  actionType?: 'DEBIT' | 'REDEMPTION';
  /** Who receives the value: SYSTEM_REDEMPTION unless given; a holder gets a new lot (LOT assets). */
  target?: Owner;
}

/** DEBIT: the value leaves circulation into SYSTEM_REDEMPTION (or the target); LOT lots go FIFO. */
export async function debit(
  trx: Database,
  context: EntryContext,
  input: DebitInput,
): Promise<OperationResult> {
  const { owner, asset, amount } = input;
  checkTransactionAmount(asset, amount);
  const bucket = input.bucket ?? 'AVAILABLE';
  const target = input.target ?? systemOwner('SYSTEM_REDEMPTION');
  const allowNegative = input.allowNegative === true && bucket === 'AVAILABLE';
  await lockHolders(trx, context, asset, [owner, target]);
  const lots = await spendValue(trx, context, { owner, asset, amount, bucket, allowNegative });
  const receiving = hasFloor(target) ? await openHolder(trx, context, target, asset) : undefined;
  const posted = await postJournalEntry(
    trx,
    context,
    {
      actionType: input.actionType ?? 'DEBIT',
      assetId: asset.id,
      referenceId: input.referenceId ?? null,
      postings: [
        { owner, bucket, amount: -amount },
        { owner: target, bucket: 'AVAILABLE', amount },
      ],
    },
    { allowNegative },
  );
  if (receiving !== undefined && asset.inventory_mode === 'LOT') {
    const lot = newLot(context, { owner: target, asset, amount, bucket: 'AVAILABLE' }, posted.journalEntryId);
    await lotStore.insertLots(trx, [lot]);
    await repayOverdraft(trx, [lot], receiving.available);
  }
  return finish(trx, context, owner, asset, posted.journalEntryId, amount, sliceSummary(lots));
}

/**
 * Locks the accounts of every holder an operation touches in one global order (by account id), so
 * two operations between the same holders in opposite directions never deadlock.
 */
async function lockHolders(trx: Database, context: EntryContext, asset: AssetRow, owners: Owner[]) {
  const holders = owners.filter(hasFloor);
  if (holders.length < 2) return;
  const specs = holders.flatMap((owner) => buckets.map((bucket) => ({ owner, bucket })));
  await lockAccountsFor(trx, context, asset.id, specs);
}

/**
 * Takes `amount` out of the holder's bucket, refusing more than it holds (unless an overdraft is
 * allowed); LOT assets consume the lots FIFO and the slices taken are returned.
 */
async function spendValue(
  trx: Database,
  context: EntryContext,
  input: {
    owner: Owner;
    asset: AssetRow;
    amount: bigint;
    bucket: 'AVAILABLE' | 'HELD';
    allowNegative: boolean;
  },
): Promise<LotSlice[]> {
  const { owner, asset, amount, bucket } = input;
  const before = await openHolder(trx, context, owner, asset);
  const has = bucket === 'AVAILABLE' ? before.available : before.held;
  if (amount > has && !input.allowNegative) throw insufficient(bucket, amount, has, asset);
  if (asset.inventory_mode !== 'LOT') return [];
  const candidates = await lotStore.lockLots(trx, context.organizationId, owner, asset.id, {
    status: bucket,
    limit: lotsPerOperationMax,
  });
  const lots = pickLots(candidates, amount).slices;
  await consumeLots(trx, lots);
  return lots;
}

export interface ReversalInput {
  /** The holder the redemption debited, credited back. */
  owner: Owner;
  asset: AssetRow;
  amount: bigint;
  /** The redemption's target, debited back (a holder must still have the value). */
  source: Owner;
  /** LOT assets: the consumed lots to restore and how much to each, in LIFO order. */
  lots: { id: string; amount: bigint }[];
  /** Links the entry to the redemption's own (the redemption id). */
  referenceId?: string | null;
}

/**
 * REVERSAL: gives back (part of) a redemption. LOT assets get the consumed lots back with their
 * original expiry; a restored lot already past it is expired again by the expiry job.
 */
export async function reverseRedemption(
  trx: Database,
  context: EntryContext,
  input: ReversalInput,
): Promise<OperationResult> {
  const { owner, asset, amount, source } = input;
  assert(amount > 0n, 'amounts are positive');
  await lockHolders(trx, context, asset, [owner, source]);
  const before = await openHolder(trx, context, owner, asset);
  if (hasFloor(source)) {
    await spendValue(trx, context, {
      owner: source,
      asset,
      amount,
      bucket: 'AVAILABLE',
      allowNegative: false,
    });
  }
  if (asset.inventory_mode === 'LOT') {
    const restored = await restoreLots(trx, context.organizationId, input.lots);
    await repayOverdraft(trx, restored, before.available);
  }
  const posted = await postJournalEntry(trx, context, {
    actionType: 'REVERSAL',
    assetId: asset.id,
    referenceId: input.referenceId ?? null,
    postings: [
      { owner: source, bucket: 'AVAILABLE', amount: -amount },
      { owner, bucket: 'AVAILABLE', amount },
    ],
  });
  return finish(trx, context, owner, asset, posted.journalEntryId, amount, input.lots);
}

function sliceSummary(slices: LotSlice[]): { id: string; amount: bigint }[] {
  return slices.map(({ lot, take }) => ({ id: lot.id, amount: take }));
}

export interface LotSelectionInput {
  owner: Owner;
  asset: AssetRow;
  /** Omitted: everything that matches (the whole balance for SIMPLE assets). */
  amount?: bigint | undefined;
  referenceId?: string | undefined;
  lotIds?: string[] | undefined;
  earnedFrom?: Date | undefined;
  earnedTo?: Date | undefined;
}

/** HOLD: AVAILABLE to HELD. LOT: the held lots are stamped with reference_id. */
export async function hold(
  trx: Database,
  context: EntryContext,
  input: LotSelectionInput,
): Promise<OperationResult> {
  return moveBetweenBuckets(trx, context, input, 'HOLD', 'AVAILABLE', 'HELD');
}

/** RELEASE: HELD to AVAILABLE; with reference_id only the lots stamped with it (LOT). */
export async function release(
  trx: Database,
  context: EntryContext,
  input: LotSelectionInput,
): Promise<OperationResult> {
  return moveBetweenBuckets(trx, context, input, 'RELEASE', 'HELD', 'AVAILABLE');
}

async function moveBetweenBuckets(
  trx: Database,
  context: EntryContext,
  input: LotSelectionInput,
  actionType: 'HOLD' | 'RELEASE',
  from: 'AVAILABLE' | 'HELD',
  to: 'AVAILABLE' | 'HELD',
): Promise<OperationResult> {
  const { owner, asset } = input;
  const before = await openHolder(trx, context, owner, asset);
  const selected = await selectValue(trx, context, input, from, before, actionType === 'RELEASE');
  let moved: LotRow[] = [];
  if (selected.slices.length > 0) {
    const stamp =
      actionType === 'HOLD' ? { referenceId: input.referenceId } : { referenceId: null, provisional: false };
    moved = await moveLots(trx, selected.slices, to, stamp);
  }
  if (to === 'AVAILABLE') await repayOverdraft(trx, moved, before.available);
  const posted = await postJournalEntry(trx, context, {
    actionType,
    assetId: asset.id,
    referenceId: input.referenceId ?? null,
    postings: [
      { owner, bucket: from, amount: -selected.total },
      { owner, bucket: to, amount: selected.total },
    ],
  });
  return finish(
    trx,
    context,
    owner,
    asset,
    posted.journalEntryId,
    selected.total,
    sliceSummary(selected.slices),
  );
}

/**
 * The value an operation takes from `bucket`: matching lots FIFO (LOT) or the balance (SIMPLE).
 * Refuses before any write when there is not enough, or nothing at all.
 */
async function selectValue(
  trx: Database,
  context: EntryContext,
  input: LotSelectionInput,
  bucket: 'AVAILABLE' | 'HELD',
  before: HolderBalance,
  referenceSelects: boolean,
): Promise<{ slices: LotSlice[]; total: bigint }> {
  const { owner, asset, amount } = input;
  if (amount !== undefined) assert(amount > 0n, 'amounts are positive');
  const has = bucket === 'AVAILABLE' ? before.available : before.held;
  if (asset.inventory_mode === 'SIMPLE') {
    if (input.lotIds !== undefined || input.earnedFrom !== undefined || input.earnedTo !== undefined) {
      throw invalidField(input.lotIds ? 'lot_ids' : 'earned_from', 'applies to LOT assets only');
    }
    const total = amount ?? (has > 0n ? has : 0n);
    if (total > has || total === 0n) throw insufficient(bucket, total === 0n ? 1n : total, has, asset);
    return { slices: [], total };
  }
  const candidates = await lotStore.lockLots(trx, context.organizationId, owner, asset.id, {
    status: bucket,
    referenceId: referenceSelects ? input.referenceId : undefined,
    lotIds: input.lotIds,
    earnedFrom: input.earnedFrom,
    earnedTo: input.earnedTo,
    limit: lotsPerOperationMax,
  });
  const picked = pickLots(candidates, amount);
  if (picked.total === 0n || (amount !== undefined && picked.total < amount)) {
    throw insufficient(bucket, amount ?? 1n, picked.total, asset);
  }
  return picked;
}

export interface ForfeitInput extends LotSelectionInput {
  bucket: 'AVAILABLE' | 'HELD';
}

/** FORFEIT: AVAILABLE or HELD value to SYSTEM_BREAKAGE, irreversibly. */
export async function forfeit(
  trx: Database,
  context: EntryContext,
  input: ForfeitInput,
): Promise<OperationResult> {
  const { owner, asset } = input;
  const before = await openHolder(trx, context, owner, asset);
  const selected = await selectValue(trx, context, input, input.bucket, before, true);
  await consumeLots(trx, selected.slices);
  const posted = await postJournalEntry(trx, context, {
    actionType: 'FORFEIT',
    assetId: asset.id,
    referenceId: input.referenceId ?? null,
    postings: [
      { owner, bucket: input.bucket, amount: -selected.total },
      { owner: systemOwner('SYSTEM_BREAKAGE'), bucket: 'AVAILABLE', amount: selected.total },
    ],
  });
  return finish(
    trx,
    context,
    owner,
    asset,
    posted.journalEntryId,
    selected.total,
    sliceSummary(selected.slices),
  );
}

/**
 * VOID_HOLD: cancels provisional HELD lots (credited straight into HELD) with the reference and
 * returns them to their source: SYSTEM_ISSUANCE, or the wallet of the program that issued each lot.
 */
export async function voidHold(
  trx: Database,
  context: EntryContext,
  input: { owner: Owner; asset: AssetRow; referenceId: string },
): Promise<OperationResult> {
  const { owner, asset } = input;
  if (asset.inventory_mode !== 'LOT') {
    throw new DomainError('unsupported_inventory_mode', 'void-hold applies to LOT assets only');
  }
  await openHolder(trx, context, owner, asset);
  const lots = await lotStore.lockLots(trx, context.organizationId, owner, asset.id, {
    status: 'HELD',
    referenceId: input.referenceId,
    provisionalOnly: true,
    limit: lotsPerOperationMax,
  });
  const picked = pickLots(lots, undefined);
  if (picked.total === 0n) {
    throw new DomainError('not_found', `no provisional HELD lots with reference_id ${input.referenceId}`);
  }
  const postings: PostingDraft[] = [{ owner, bucket: 'HELD', amount: -picked.total }];
  for (const { lot, take } of picked.slices) {
    postings.push({
      owner: issuanceSource(context, asset, lot.program_id),
      bucket: 'AVAILABLE',
      amount: take,
    });
  }
  await consumeLots(trx, picked.slices);
  const posted = await postJournalEntry(trx, context, {
    actionType: 'VOID_HOLD',
    assetId: asset.id,
    referenceId: input.referenceId,
    postings,
  });
  return finish(trx, context, owner, asset, posted.journalEntryId, picked.total, sliceSummary(picked.slices));
}

export interface WalletResult {
  journalEntryId: string;
  available: bigint;
}

/** FUND (SYSTEM_ISSUANCE to the wallet) or BURN (the wallet to SYSTEM_BREAKAGE, not below zero). */
export async function moveWalletValue(
  trx: Database,
  context: EntryContext,
  input: { asset: AssetRow; amount: bigint; actionType: 'FUND' | 'BURN' },
): Promise<WalletResult> {
  const { asset, amount } = input;
  assert(context.programId !== null, 'a wallet belongs to a program');
  assert(amount > 0n, 'amounts are positive');
  if (asset.status === 'ARCHIVED') throw new DomainError('asset_archived', 'the asset is archived');
  if (asset.issuance_policy !== 'PREFUNDED') {
    throw new DomainError(
      'asset_not_prefunded',
      'fund and burn apply to PREFUNDED assets only; UNLIMITED assets mint on credit',
    );
  }
  const wallet = programWallet(context.programId);
  const fund = input.actionType === 'FUND';
  const posted = await postJournalEntry(trx, context, {
    actionType: input.actionType,
    assetId: asset.id,
    postings: [
      { owner: fund ? systemOwner('SYSTEM_ISSUANCE') : wallet, bucket: 'AVAILABLE', amount: -amount },
      { owner: fund ? wallet : systemOwner('SYSTEM_BREAKAGE'), bucket: 'AVAILABLE', amount },
    ],
  });
  const available = posted.balances.get(`PROGRAM:${context.programId}:AVAILABLE`);
  assert(available !== undefined, 'the wallet balance is known after the entry');
  return { journalEntryId: posted.journalEntryId, available };
}

export interface TransferInput {
  source: Owner;
  asset: AssetRow;
  /** Distinct holders, none of them the source, each with a positive amount. */
  recipients: { owner: Owner; amount: bigint }[];
  referenceId?: string | null;
}

export interface TransferResult {
  journalEntryId: string;
  total: bigint;
  /** The source's balance after the transfer. */
  balance: HolderBalance;
}

/**
 * TRANSFER: the source's AVAILABLE pays every recipient's AVAILABLE in one balanced entry. Every
 * holder's accounts are locked together in the global order first, so transfers in opposite
 * directions never deadlock. LOT assets: the source's lots are consumed FIFO and each recipient gets
 * a new lot, created now and without the source lots' expiry (the vintage resets).
 */
export async function transfer(
  trx: Database,
  context: EntryContext,
  input: TransferInput,
): Promise<TransferResult> {
  const { source, asset, recipients } = input;
  const total = recipients.reduce((sum, recipient) => sum + recipient.amount, 0n);
  assert(
    recipients.every((recipient) => recipient.amount > 0n),
    'transfer amounts are positive',
  );
  checkTransactionAmount(asset, total);
  const [before, ...recipientsBefore] = await openHolders(
    trx,
    context,
    [source, ...recipients.map((recipient) => recipient.owner)],
    asset,
  );
  assert(before !== undefined, 'the source was opened');
  if (total > before.available) throw insufficient('AVAILABLE', total, before.available, asset);
  if (asset.inventory_mode === 'LOT') {
    const candidates = await lotStore.lockLots(trx, context.organizationId, source, asset.id, {
      status: 'AVAILABLE',
      limit: lotsPerOperationMax,
    });
    await consumeLots(trx, pickLots(candidates, total).slices);
  }
  const posted = await postJournalEntry(trx, context, {
    actionType: 'TRANSFER',
    assetId: asset.id,
    referenceId: input.referenceId ?? null,
    postings: [
      { owner: source, bucket: 'AVAILABLE', amount: -total },
      ...recipients.map(({ owner, amount }) => ({ owner, bucket: 'AVAILABLE' as const, amount })),
    ],
  });
  if (asset.inventory_mode === 'LOT') {
    for (const [index, { owner, amount }] of recipients.entries()) {
      const lot = newLot(context, { owner, asset, amount, bucket: 'AVAILABLE' }, posted.journalEntryId);
      await lotStore.insertLots(trx, [lot]);
      await repayOverdraft(trx, [lot], recipientsBefore[index]?.available ?? 0n);
    }
  }
  const balance = await readHolderBalance(trx, context.organizationId, source, asset.id);
  return { journalEntryId: posted.journalEntryId, total, balance };
}
