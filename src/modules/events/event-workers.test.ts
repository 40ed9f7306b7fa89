import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/harness.js';
import { systemClock } from '../../platform/clock.js';
import { createLogger } from '../../platform/logger.js';
import { startEventWorkers } from './event-workers.js';

type Handle = Awaited<ReturnType<typeof createTestDatabase>>['handle'];

/** One worker with no steps on `handle`'s database: it claims and applies nothing of its own. */
function idleWorkers(handle: Handle) {
  return {
    db: handle.db,
    connectionString: handle.connectionString,
    clock: systemClock,
    logger: createLogger('silent'),
    workerCount: 1,
    steps: [],
    leaseMs: 60_000,
  };
}

describe('stopping event workers', () => {
  it('right after they start, while the notification connection is still being made, ends', async () => {
    const database = await createTestDatabase();
    try {
      for (let round = 0; round < 5; round += 1) {
        const workers = startEventWorkers(idleWorkers(database.handle));
        const stopped = await Promise.race([
          workers.stop().then(() => 'stopped'),
          new Promise((resolve) => setTimeout(() => resolve('still running after 5 s'), 5_000)),
        ]);
        expect(stopped).toBe('stopped');
      }
    } finally {
      await database.handle.close();
    }
  });
});

describe('a slow claim', () => {
  const analyzeCount = async (db: Parameters<typeof startEventWorkers>[0]['db']) => {
    await sql`select pg_stat_clear_snapshot()`.execute(db);
    const result = await sql<{ count: string }>`
      select analyze_count as count from pg_stat_user_tables where relname = 'event_queue'`.execute(db);
    return Number(result.rows[0]?.count);
  };

  /** Analyses of the queue while workers ran: until the first or `forMs`, then `thenMs` more. */
  const runWorkers = async (claimSlowMs: number, forMs: number, thenMs: number) => {
    const database = await createTestDatabase();
    try {
      const db = database.handle.db;
      const before = await analyzeCount(db);
      const workers = startEventWorkers({ ...idleWorkers(database.handle), pollIntervalMs: 50, claimSlowMs });
      const deadline = Date.now() + forMs;
      while (Date.now() < deadline && (await analyzeCount(db)) === before) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await new Promise((resolve) => setTimeout(resolve, thenMs));
      await workers.stop();
      return (await analyzeCount(db)) - before;
    } finally {
      await database.handle.close();
    }
  };

  it('refreshes the queue table statistics, once per interval', async () => {
    // Every claim is slow at a threshold of 0 ms; about 20 claims follow the first analysis.
    expect(await runWorkers(0, 5_000, 1_000)).toBe(1);
  });

  it('under the threshold leaves them alone', async () => {
    expect(await runWorkers(60_000, 1_000, 0)).toBe(0);
  });
});
