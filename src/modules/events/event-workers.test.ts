import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/harness.js';
import { systemClock } from '../../platform/clock.js';
import { createLogger } from '../../platform/logger.js';
import { startEventWorkers } from './event-workers.js';

describe('stopping event workers', () => {
  it('right after they start, while the notification connection is still being made, ends', async () => {
    const database = await createTestDatabase();
    try {
      for (let round = 0; round < 5; round += 1) {
        const workers = startEventWorkers({
          db: database.handle.db,
          connectionString: database.handle.connectionString,
          clock: systemClock,
          logger: createLogger('silent'),
          workerCount: 1,
          steps: [],
          leaseMs: 60_000,
        });
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
