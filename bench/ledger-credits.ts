import { randomBytes } from 'node:crypto';
// Ledger credit throughput through the HTTP layer (app.inject) on a fresh embedded PostgreSQL:
// credits spread over many participants (the issuance account must not serialize them) versus
// credits to one participant (serialized by its row lock, as they must be), UNLIMITED and PREFUNDED.
// Usage: npx tsx bench/ledger-credits.ts [credits=2000] [concurrency=32]
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildApp } from '../src/app.js';
import { createApiKey } from '../src/modules/organizations/index.js';
import { createWebhookSettings } from '../src/modules/webhooks/index.js';
import { systemClock } from '../src/platform/clock.js';
import { connect } from '../src/platform/db/database.js';
import { openEmbeddedServer } from '../src/platform/db/embedded-server.js';
import { migrate } from '../src/platform/db/migrate.js';
import { createLogger } from '../src/platform/logger.js';

const credits = Number(process.argv[2] ?? 2000);
const concurrency = Number(process.argv[3] ?? 32);
const log = createLogger('warn');
const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'accrue-bench-'));
await fs.chmod(dataDir, 0o755);
const server = await openEmbeddedServer(dataDir, 'cli', log);
await migrate(server.connectionString);
const handle = connect(
  server.connectionString,
  { sizeMax: concurrency + 4, waitMs: 10_000 },
  createLogger('silent'),
  async () => {},
);
const app = await buildApp({
  db: handle.db,
  clock: systemClock,
  logger: createLogger('silent'),
  version: 'bench',
  rateLimit: { ratePerSecond: 0, burst: 1 },
  webhooks: createWebhookSettings(randomBytes(32), []),
});
const key = (await createApiKey(handle.db, 'bench')).secret;
const call = async (method: 'GET' | 'POST', url: string, payload?: object) =>
  (await app.inject({ method, url, headers: { 'x-api-key': key }, ...(payload ? { payload } : {}) })).json();

async function scenario(name: string, policy: string, participants: number) {
  const program = await call('POST', '/v1/programs', { name });
  const asset = await call('POST', '/v1/assets', {
    program_id: program.id,
    name,
    symbol: name.replace(/[^A-Za-z0-9]/g, '').slice(0, 16),
    inventory_mode: 'SIMPLE',
    issuance_policy: policy,
    scale: 2,
  });
  if (policy === 'PREFUNDED')
    await call('POST', `/v1/programs/${program.id}/assets/${asset.id}/fund`, { amount: '100000000' });
  const ids: string[] = [];
  for (let i = 0; i < participants; i += 1)
    ids.push((await call('POST', '/v1/participants', { external_id: `${name}-${i}` })).id);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < credits) {
        const id = ids[next % ids.length];
        next += 1;
        const body = {
          program_id: program.id,
          asset_id: asset.id,
          type: 'CREDIT',
          amount: '1',
          description: 'bench',
        };
        const response = await app.inject({
          method: 'POST',
          url: `/v1/participants/${id}/balances/adjust`,
          headers: { 'x-api-key': key },
          payload: body,
        });
        if (response.statusCode !== 200) throw new Error(response.body);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `${name.padEnd(34)} ${Math.round(credits / seconds)} credits/s (${credits} credits, ${concurrency} concurrent)`,
  );
}

try {
  await scenario('UNLIMITED many participants', 'UNLIMITED', 500);
  await scenario('UNLIMITED one participant', 'UNLIMITED', 1);
  await scenario('PREFUNDED many participants', 'PREFUNDED', 500);
} finally {
  await app.close();
  await handle.close();
  await server.release();
  await fs.rm(dataDir, { recursive: true, force: true });
}
