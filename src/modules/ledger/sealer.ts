// The sealer chains committed journal entries into each organization's SHA-256 hash chain, in
// sequence, after the fact: requests never wait on it and never lock the chain head. Only one sealer
// works on an organization at a time (the head row is claimed with SKIP LOCKED), so several server
// processes can run it. It also folds system-account postings into their stored balances, which is
// what keeps SYSTEM_ISSUANCE and the other floor-less accounts from being hot rows.
import type { Clock } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import { withTransaction } from '../../platform/db/transaction.js';
import { jobBatchSizeMax } from '../../platform/limits.js';
import { genesisHash, sealHash } from './journal-entry.js';
import * as store from './sealer.store.js';

/**
 * Seals every committed entry of the organization (or of every organization); answers how many. An
 * organization another sealer is working on is skipped, or, with `waitForOtherSealers`, sealed once
 * that sealer has committed: what the integrity check needs to count only entries left behind.
 */
export async function sealLedger(
  db: Database,
  clock: Clock,
  organizationId?: string,
  waitForOtherSealers = false,
): Promise<number> {
  const organizations =
    organizationId === undefined ? await store.organizationsWithUnsealedEntries(db) : [organizationId];
  let sealed = 0;
  for (const id of organizations) {
    for (;;) {
      const count = await sealBatch(db, clock, id, waitForOtherSealers);
      sealed += count;
      if (count < jobBatchSizeMax) break;
    }
  }
  return sealed;
}

async function sealBatch(db: Database, clock: Clock, organizationId: string, wait: boolean): Promise<number> {
  return withTransaction(db, async (trx) => {
    const head = await store.lockChainHead(trx, organizationId, genesisHash, wait);
    if (head === undefined) return 0;
    const { queueIds, entries } = await store.listUnsealedEntries(trx, organizationId, jobBatchSizeMax);
    if (entries.length === 0) return 0;
    let sequence = BigInt(head.sequence_number);
    let previous = head.entry_hash;
    const seals = entries.map((entry) => {
      sequence += 1n;
      previous = sealHash(previous, sequence.toString(), entry);
      return { id: entry.id, sequenceNumber: sequence, entryHash: previous };
    });
    await store.sealEntries(trx, organizationId, seals, queueIds);
    await store.foldSystemPostings(
      trx,
      organizationId,
      entries.map((entry) => entry.id),
    );
    await store.moveChainHead(trx, organizationId, sequence, previous, clock());
    return entries.length;
  });
}
