// Background jobs for LOT assets: maturity (DEFERRED to AVAILABLE, MATURITY entries) and expiry
// (expired lots to SYSTEM_BREAKAGE, EXPIRATION entries). Idempotent: a lot is settled once, under
// its holder's account locks. Safe with several processes: a holder whose accounts another
// transaction holds is skipped (SKIP LOCKED) and settled by that transaction or the next run. Catches
// up after downtime: everything due at `now` is settled, however old, batch after batch.
import type { Clock } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import { withTransaction } from '../../platform/db/transaction.js';
import { newId } from '../../platform/ids.js';
import { jobBatchSizeMax } from '../../platform/limits.js';
import { timeJobRun } from '../../platform/metrics.js';
import { buckets, type Owner } from './accounts.js';
import { settleDueLots } from './holder.js';
import type { EntryContext } from './journal-entry.js';
import * as store from './ledger.store.js';
import * as lotStore from './lots.store.js';
import { lockAccountsFor } from './post-entry.js';
import { sealLedger } from './sealer.js';

/** Settles due maturities (and any expiry due on the same holders); answers the lots settled. */
export async function runMaturity(db: Database, clock: Clock): Promise<number> {
  return runLotJob(db, clock, 'maturity');
}

/** Settles due expiries (and any maturity due on the same holders); answers the lots settled. */
export async function runExpiry(db: Database, clock: Clock): Promise<number> {
  return runLotJob(db, clock, 'expiry');
}

async function runLotJob(db: Database, clock: Clock, kind: 'expiry' | 'maturity'): Promise<number> {
  let total = 0;
  for (;;) {
    const now = clock();
    const holders = await lotStore.findDueHolders(db, kind, now, jobBatchSizeMax);
    let settled = 0;
    for (const holder of holders) settled += await settleHolder(db, holder, now);
    total += settled;
    if (settled === 0) return total;
  }
}

async function settleHolder(db: Database, holder: lotStore.DueHolder, now: Date): Promise<number> {
  return withTransaction(db, async (trx) => {
    const owner: Owner = { type: holder.owner_type, id: holder.owner_id };
    const context: EntryContext = {
      organizationId: holder.organization_id,
      programId: null,
      description: '',
      now,
    };
    const specs = buckets.map((bucket) => ({ owner, bucket }));
    const accounts = await store.ensureAccounts(
      trx,
      holder.organization_id,
      holder.asset_id,
      specs,
      newId,
      now,
    );
    // The first account in lock order, claimed without waiting: a busy holder is left for later.
    const first = [...accounts].sort((a, b) => (a.id < b.id ? -1 : 1))[0];
    if (first === undefined || !(await store.tryLockAccount(trx, holder.organization_id, first.id))) return 0;
    await lockAccountsFor(trx, context, holder.asset_id, specs);
    const settled = await settleDueLots(trx, context, owner, holder.asset_id);
    return settled.expired + settled.matured;
  });
}

export interface JobLogger {
  error(object: object, message: string): void;
}

/**
 * Runs the sealer, maturity and expiry every `intervalMs` until stopped. A run never overlaps the
 * previous one; a failed run is logged and retried on the next tick. Several processes may run it.
 */
export function startLedgerJobs(
  db: Database,
  clock: Clock,
  log: JobLogger,
  intervalMs: number,
): () => Promise<void> {
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = running.then(async () => {
      try {
        await timeJobRun('ledger_maturity', () => runMaturity(db, clock));
        await timeJobRun('ledger_expiry', () => runExpiry(db, clock));
        await timeJobRun('ledger_sealer', () => sealLedger(db, clock));
      } catch (error) {
        log.error({ err: error }, 'ledger jobs failed; retrying on the next tick');
      }
    });
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
