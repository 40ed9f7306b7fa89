// Integrity of an organization's ledger: the hash chain over the latest sealed entries, double entry
// per entry, value conservation per asset, stored balances against their postings (and lots against
// balances), and entries left unsealed. The sealer runs first, after any sealer already at work, so
// that only stuck entries count; the chain is checked up to the head read after it, so entries sealed
// meanwhile by another process do not count against it.
import type { Clock } from '../../platform/clock.js';
import { toIso } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import { integrityChainPageSize, integrityWindowDefault } from '../../platform/limits.js';
import { genesisHash, sealHash } from './journal-entry.js';
import type { IntegrityReport } from './ledger.schemas.js';
import { sealLedger } from './sealer.js';
import * as store from './sealer.store.js';

export async function checkIntegrity(
  db: Database,
  clock: Clock,
  organizationId: string,
  window: number = integrityWindowDefault,
  pageSize: number = integrityChainPageSize,
): Promise<IntegrityReport> {
  await sealLedger(db, clock, organizationId, true);
  const head = await store.findChainHead(db, organizationId);
  const chain = await verifyChain(db, organizationId, head, window, pageSize);
  const unbalanced = await store.countUnbalancedEntries(db, organizationId);
  const unconserved = await store.countUnconservedAssets(db, organizationId);
  const balances = await store.countBalanceDifferences(db, organizationId);
  const unsealed = await store.countUnsealedEntries(db, organizationId);
  const check = (violations: number) => ({ pass: violations === 0, violation_count: violations });
  return {
    all_passed: chain.pass && unbalanced + unconserved + balances + unsealed === 0,
    organization_id: organizationId,
    verified_at: toIso(clock()),
    window,
    chain_head:
      head === undefined || head.sequence_number === '0'
        ? null
        : {
            sequence_number: head.sequence_number,
            hash: head.entry_hash,
            created_at: toIso(head.sealed_at ?? clock()),
          },
    hash_chain: chain,
    postings_balanced: check(unbalanced),
    value_conservation: check(unconserved),
    stored_balances: check(balances),
    unsealed_entries: check(unsealed),
  };
}

async function verifyChain(
  db: Database,
  organizationId: string,
  head: store.ChainHead | undefined,
  window: number,
  pageSize: number,
): Promise<IntegrityReport['hash_chain']> {
  const headSequence = BigInt(head?.sequence_number ?? '0');
  const start = headSequence > BigInt(window) ? headSequence - BigInt(window) : 0n;
  let violations = 0;
  let verified = 0;
  let previous = start === 0n ? genesisHash : await store.findSealHash(db, organizationId, start);
  for (let after = start; verified < window; ) {
    const entries = await store.listSealedEntries(
      db,
      organizationId,
      after,
      headSequence,
      Math.min(pageSize, window - verified),
    );
    if (entries.length === 0) break;
    for (const entry of entries) {
      if (sealHash(previous ?? '', entry.sequence_number, entry) !== entry.entry_hash) violations += 1;
      previous = entry.entry_hash;
    }
    verified += entries.length;
    after = BigInt(entries[entries.length - 1]?.sequence_number ?? after.toString());
  }
  if (head !== undefined && verified > 0 && previous !== head.entry_hash) violations += 1;
  return {
    anchored_at_genesis: start === 0n,
    entries_verified: verified,
    pass: violations === 0,
    violation_count: violations,
  };
}

export interface VerifyResult {
  ok: boolean;
  reports: IntegrityReport[];
}

/** Every organization, whole chains: what `accrue ledger verify` runs. */
export async function verifyLedger(
  db: Database,
  clock: Clock,
  onProgress?: (done: number, total: number) => void,
): Promise<VerifyResult> {
  const reports: IntegrityReport[] = [];
  const organizationIds = await store.listOrganizationIds(db);
  for (const organizationId of organizationIds) {
    onProgress?.(reports.length, organizationIds.length);
    const head = await store.findChainHead(db, organizationId);
    const length = Number(head?.sequence_number ?? '0');
    reports.push(
      await checkIntegrity(
        db,
        clock,
        organizationId,
        Math.max(1, length + (await store.countUnsealedEntries(db, organizationId))),
      ),
    );
  }
  onProgress?.(reports.length, organizationIds.length);
  return { ok: reports.every((report) => report.all_passed), reports };
}
