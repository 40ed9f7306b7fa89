// Posting a journal entry inside the caller's transaction: accounts are locked in the fixed order,
// floors are checked, the entry and its postings are inserted and the stored balances updated, all
// or nothing. System accounts are never locked or updated here (see the sealer).

import { assert } from '../../platform/assert.js';
import type { Database } from '../../platform/db/database.js';
import { DomainError } from '../../platform/errors.js';
import { newId } from '../../platform/ids.js';
import { formatAmount } from '../../platform/money.js';
import { findAssetRow } from '../assets/index.js';
import { type Bucket, hasFloor, lockRank, type Owner, systemOwner } from './accounts.js';
import { enqueueBalanceNotifications } from './balance-notifications.js';
import { type EntryContext, type EntryDraft, normalizePostings, type PostingDraft } from './journal-entry.js';
import type { AccountRow } from './ledger.store.js';
import * as store from './ledger.store.js';

export interface PostOptions {
  /** Lets the holder's AVAILABLE go below zero (an overdraft). */
  allowNegative?: boolean;
}

export interface PostedEntry {
  journalEntryId: string;
  /** Balances after the entry of the accounts with a floor, by `owner.type:owner.id:bucket`. */
  balances: Map<string, bigint>;
}

const key = (type: string, id: string, bucket: string) => `${type}:${id}:${bucket}`;

/** Ensures and locks accounts with a floor in the fixed order; system accounts come back unlocked. */
export async function lockAccountsFor(
  trx: Database,
  context: EntryContext,
  assetId: string,
  specs: { owner: Owner; bucket: Bucket }[],
): Promise<Map<string, AccountRow>> {
  const rows = await store.ensureAccounts(
    trx,
    context.organizationId,
    assetId,
    specs,
    () => newId(),
    context.now,
  );
  const lockable = rows
    .filter((row) => hasFloor({ type: row.owner_type, id: row.owner_id }))
    .sort((a, b) => lockRank(a.owner_type) - lockRank(b.owner_type) || (a.id < b.id ? -1 : 1));
  const locked = await store.lockAccounts(
    trx,
    context.organizationId,
    lockable.map((row) => row.id),
  );
  const byKey = new Map<string, AccountRow>();
  for (const row of [...rows, ...locked]) byKey.set(key(row.owner_type, row.owner_id, row.bucket), row);
  return byKey;
}

export async function postJournalEntry(
  trx: Database,
  context: EntryContext,
  draft: EntryDraft,
  options: PostOptions = {},
): Promise<PostedEntry> {
  const postings = normalizePostings(draft.postings);
  const accounts = await lockAccountsFor(trx, context, draft.assetId, postings);
  const breach = findFloorBreach(postings, accounts, options);
  if (breach !== undefined) throw await insufficientBalance(trx, context, draft.assetId, breach);
  const balances = new Map<string, bigint>();
  const deltas: { accountId: string; amount: bigint }[] = [];
  const inserts: store.PostingInsert[] = postings.map((posting) => {
    const account = accounts.get(key(posting.owner.type, posting.owner.id, posting.bucket));
    assert(account !== undefined, `account missing for ${posting.owner.type} ${posting.bucket}`);
    if (hasFloor(posting.owner)) {
      const after = BigInt(account.balance) + posting.amount;
      balances.set(key(posting.owner.type, posting.owner.id, posting.bucket), after);
      deltas.push({ accountId: account.id, amount: posting.amount });
    }
    return {
      id: newId(),
      account_id: account.id,
      owner_type: posting.owner.type,
      owner_id: posting.owner.id,
      bucket: posting.bucket,
      amount: posting.amount,
    };
  });
  const journalEntryId = newId();
  await store.insertJournalEntry(trx, toEntryRow(journalEntryId, context, draft), draft.assetId, inserts);
  await store.addToBalances(trx, context.organizationId, deltas);
  await enqueueBalanceNotifications(trx, context, draft, journalEntryId, postings);
  return { journalEntryId, balances };
}

interface FloorBreach {
  posting: PostingDraft;
  after: bigint;
}

/** The first posting that would take an account with a floor below zero, if any. */
function findFloorBreach(
  postings: PostingDraft[],
  accounts: Map<string, AccountRow>,
  options: PostOptions,
): FloorBreach | undefined {
  for (const posting of postings) {
    if (!hasFloor(posting.owner) || posting.amount > 0n) continue;
    const account = accounts.get(key(posting.owner.type, posting.owner.id, posting.bucket));
    const after = BigInt(account?.balance ?? 0) + posting.amount;
    if (after >= 0n) continue;
    const overdraftable = posting.owner.type !== 'PROGRAM' && posting.bucket === 'AVAILABLE';
    if (!(overdraftable && options.allowNegative === true)) return { posting, after };
  }
  return undefined;
}

/** The shortfall is shown at the asset's scale, read only on this refusal path. */
async function insufficientBalance(
  trx: Database,
  context: EntryContext,
  assetId: string,
  { posting, after }: FloorBreach,
): Promise<DomainError> {
  const { scale } = await findAssetRow(trx, context.organizationId, assetId);
  const who = posting.owner.type === 'PROGRAM' ? 'program wallet' : posting.owner.type.toLowerCase();
  return new DomainError('insufficient_balance', `insufficient ${posting.bucket} balance in the ${who}`, {
    bucket: posting.bucket,
    shortfall: formatAmount(-after, scale),
  });
}

export function toEntryRow(id: string, context: EntryContext, draft: EntryDraft): store.JournalEntryInsert {
  return {
    organization_id: context.organizationId,
    id,
    action_type: draft.actionType,
    description: context.description,
    program_id: draft.actionType === 'EXPIRATION' ? null : context.programId,
    event_id: context.eventId ?? null,
    rule_id: context.ruleId ?? null,
    reference_id: draft.referenceId ?? null,
    event_timestamp: context.eventTimestamp ?? null,
    created_by_api_key_id: context.createdByApiKeyId ?? null,
    created_at: context.now,
  };
}

/**
 * Creates an asset's system accounts, in the transaction that creates the asset or links it to a
 * program; idempotent. Posting never creates one, so an event's transaction never waits on another
 * connection or on a concurrent first credit of the asset.
 */
export async function createSystemAccounts(
  trx: Database,
  organizationId: string,
  assetId: string,
  now: Date,
) {
  const specs = systemAccountNames.map((name) => ({
    owner: systemOwner(name),
    bucket: 'AVAILABLE' as const,
  }));
  await store.ensureAccounts(trx, organizationId, assetId, specs, () => newId(), now);
}

const systemAccountNames = ['SYSTEM_ISSUANCE', 'SYSTEM_BREAKAGE', 'SYSTEM_REDEMPTION'] as const;
