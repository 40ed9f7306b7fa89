// A holder (participant or group) of one asset: its three bucket accounts, locked for the rest of
// the transaction, and its due lots settled first, so every operation sees only live value: expired
// lots are forfeited to SYSTEM_BREAKAGE (EXPIRATION) and matured ones moved to AVAILABLE (MATURITY).
import { sql } from 'kysely';
import { assert } from '../../platform/assert.js';
import type { Database } from '../../platform/db/database.js';
import { lotsPerOperationMax } from '../../platform/limits.js';
import type { AssetRow } from '../assets/index.js';
import { buckets, type Owner, systemOwner } from './accounts.js';
import type { EntryContext, PostingDraft } from './journal-entry.js';
import { moveLots, pickLots, repayOverdraft } from './lots.js';
import * as lotStore from './lots.store.js';
import { lockAccountsFor, postJournalEntry } from './post-entry.js';

export interface HolderBalance {
  available: bigint;
  held: bigint;
  deferred: bigint;
}

export async function openHolder(
  trx: Database,
  context: EntryContext,
  owner: Owner,
  asset: AssetRow,
): Promise<HolderBalance> {
  const [balance] = await openHolders(trx, context, [owner], asset);
  assert(balance !== undefined, 'one holder opened, one balance');
  return balance;
}

/**
 * Opens several holders at once (a transfer): every account of all of them is locked in one
 * statement in the global order, so two operations on the same holders never deadlock, whatever
 * order each names them in. Balances come back in the order of `owners`.
 */
export async function openHolders(
  trx: Database,
  context: EntryContext,
  owners: Owner[],
  asset: AssetRow,
): Promise<HolderBalance[]> {
  await lockAccountsFor(
    trx,
    context,
    asset.id,
    owners.flatMap((owner) => buckets.map((bucket) => ({ owner, bucket }))),
  );
  const balances: HolderBalance[] = [];
  for (const owner of owners) {
    if (asset.inventory_mode === 'LOT') await settleDueLots(trx, context, owner, asset.id);
    balances.push(await readHolderBalance(trx, context.organizationId, owner, asset.id));
  }
  return balances;
}

export async function readHolderBalance(
  db: Database,
  organizationId: string,
  owner: Owner,
  assetId: string,
): Promise<HolderBalance> {
  const result = await sql<{ bucket: string; balance: string }>`select bucket, balance from ledger_accounts
    where organization_id = ${organizationId} and owner_type = ${owner.type} and owner_id = ${owner.id}
      and asset_id = ${assetId}`.execute(db);
  const of = (bucket: string) => BigInt(result.rows.find((row) => row.bucket === bucket)?.balance ?? '0');
  return { available: of('AVAILABLE'), held: of('HELD'), deferred: of('DEFERRED') };
}

export interface SettledLots {
  expired: number;
  matured: number;
}

/**
 * Expires, then matures, the holder's due lots. The caller holds the holder's account locks, so this
 * is idempotent: a second run finds nothing due.
 */
export async function settleDueLots(
  trx: Database,
  context: EntryContext,
  owner: Owner,
  assetId: string,
): Promise<SettledLots> {
  const expired = await expireDueLots(trx, context, owner, assetId);
  const matured = await matureDueLots(trx, context, owner, assetId);
  return { expired, matured };
}

async function expireDueLots(trx: Database, context: EntryContext, owner: Owner, assetId: string) {
  const due = await lotStore.lockDueLots(
    trx,
    context.organizationId,
    owner,
    assetId,
    'expiry',
    context.now,
    lotsPerOperationMax,
  );
  if (due.length === 0) return 0;
  const postings: PostingDraft[] = [];
  for (const lot of due) {
    const bucket = lot.status === 'DEFERRED' ? 'DEFERRED' : 'AVAILABLE';
    postings.push({ owner, bucket, amount: -BigInt(lot.remaining) });
    postings.push({
      owner: systemOwner('SYSTEM_BREAKAGE'),
      bucket: 'AVAILABLE',
      amount: BigInt(lot.remaining),
    });
    await lotStore.updateLot(trx, lot.organization_id, lot.id, { remaining: '0', status: 'EXPIRED' });
  }
  await postJournalEntry(
    trx,
    { ...context, programId: null, description: `${due.length} lot(s) expired`, eventId: null, ruleId: null },
    { actionType: 'EXPIRATION', assetId, postings },
  );
  return due.length;
}

async function matureDueLots(trx: Database, context: EntryContext, owner: Owner, assetId: string) {
  const due = await lotStore.lockDueLots(
    trx,
    context.organizationId,
    owner,
    assetId,
    'maturity',
    context.now,
    lotsPerOperationMax,
  );
  if (due.length === 0) return 0;
  const { slices, total } = pickLots(due, undefined);
  const before = await readHolderBalance(trx, context.organizationId, owner, assetId);
  const moved = await moveLots(trx, slices, 'AVAILABLE', {});
  await repayOverdraft(trx, moved, before.available);
  await postJournalEntry(
    trx,
    { ...context, programId: null, description: `${due.length} lot(s) matured`, eventId: null, ruleId: null },
    {
      actionType: 'MATURITY',
      assetId,
      postings: [
        { owner, bucket: 'DEFERRED', amount: -total },
        { owner, bucket: 'AVAILABLE', amount: total },
      ],
    },
  );
  return due.length;
}
