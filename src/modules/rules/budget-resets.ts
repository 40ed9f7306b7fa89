// Rule budgets reset on the automation scheduler: a budget whose next_reset_at has passed gets
// consumed 0 and its next reset after now, once, however many periods were missed. Budgets an event
// is consuming are locked by its transaction and skipped (SKIP LOCKED), as are those another
// scheduler is resetting; the event resets them itself (effectiveBudget), which stays the guard
// between passes.
import type { Database } from '../../platform/db/database.js';
import { withTransaction } from '../../platform/db/transaction.js';
import { effectiveBudget } from './rule-budgets.js';
import * as store from './rules.store.js';

/** Resets due budgets, `batchSize` per transaction, until none is left; answers how many. */
export async function resetDueBudgets(db: Database, now: Date, batchSize: number): Promise<number> {
  let reset = 0;
  for (;;) {
    const count = await withTransaction(db, async (trx) => {
      const due = await store.claimDueBudgets(trx, now, batchSize);
      for (const budget of due) await store.updateBudget(trx, effectiveBudget(budget, now));
      return due.length;
    });
    reset += count;
    if (count < batchSize) return reset;
  }
}
