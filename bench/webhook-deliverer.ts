// The webhook deliverer alone, in-process, without event processing: N deliveries are inserted for
// one endpoint with a fast local receiver (and, with `slow`, as many for a second endpoint whose
// receiver takes 2 s), then the deliverer runs until the fast endpoint's are all DELIVERED.
// usage: DATABASE_URL=postgres://.../empty_migrated_db npx tsx bench/webhook-deliverer.ts [deliveries] [slow]
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { createWebhookSettings, startWebhookDeliverer } from '../src/modules/webhooks/index.js';
import { encryptSecret, generateSecret } from '../src/modules/webhooks/webhook-secrets.js';
import { newDelivery } from '../src/modules/webhooks/webhooks.service.js';
import * as store from '../src/modules/webhooks/webhooks.store.js';
import { connect } from '../src/platform/db/database.js';
import { newId } from '../src/platform/ids.js';
import { createLogger } from '../src/platform/logger.js';

const deliveryCount = Number(process.argv[2] ?? 3000);
const withSlow = process.argv[3] === 'slow';
const databaseUrl = process.env.DATABASE_URL ?? '';
if (databaseUrl === '') throw new Error('set DATABASE_URL to a migrated database');
const handle = connect(databaseUrl, { sizeMax: 8, waitMs: 10_000 }, createLogger('silent'), async () => {});
const secretKey = Buffer.alloc(32, 7);
const organizationId = newId();

async function startReceiver(delayMs: number, onRequest: () => void): Promise<string> {
  const server = http.createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      onRequest();
      setTimeout(() => response.end('ok'), delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
}

async function createEndpointWithBacklog(url: string): Promise<string> {
  const id = newId();
  const now = new Date();
  await store.insertEndpoint(handle.db, {
    organization_id: organizationId,
    id,
    url,
    description: null,
    enabled_events: ['*'],
    metadata: null,
    secret_ciphertext: encryptSecret(secretKey, generateSecret(), id),
    status: 'ACTIVE',
    consecutive_failures: 0,
    circuit_broken_until: null,
    rate_limited_until: null,
    created_at: now,
    updated_at: now,
  });
  for (let done = 0; done < deliveryCount; done += 500) {
    const rows = Array.from({ length: Math.min(500, deliveryCount - done) }, () =>
      newDelivery(
        {
          organization_id: organizationId,
          webhook_endpoint_id: id,
          webhook_event_id: newId(),
          event_type: 'event.completed',
          payload: { data: {} },
        },
        now,
      ),
    );
    await store.insertDeliveries(handle.db, rows);
  }
  return id;
}

async function deliveredCount(endpointId: string): Promise<number> {
  const { rows } = await sql<{ count: string }>`select count(*) from webhook_deliveries
    where organization_id = ${organizationId} and webhook_endpoint_id = ${endpointId}
      and status = 'DELIVERED'`.execute(handle.db);
  return Number(rows[0]?.count);
}

let received = 0;
const fastId = await createEndpointWithBacklog(
  await startReceiver(0, () => {
    received += 1;
  }),
);
if (withSlow) await createEndpointWithBacklog(await startReceiver(2000, () => {}));
const start = performance.now();
const deliverer = startWebhookDeliverer({
  db: handle.db,
  clock: () => new Date(),
  logger: createLogger('warn'),
  settings: createWebhookSettings(secretKey, ['127.0.0.1']),
  retryBaseMs: 1000,
  circuitBreakMs: 60_000,
  outboxRetentionMs: 60_000,
});
while (received < deliveryCount) await new Promise((resolve) => setTimeout(resolve, 20));
const receivedSeconds = (performance.now() - start) / 1000;
while ((await deliveredCount(fastId)) < deliveryCount)
  await new Promise((resolve) => setTimeout(resolve, 20));
const recordedSeconds = (performance.now() - start) / 1000;
console.log(
  `${deliveryCount} deliveries to the fast endpoint${withSlow ? ' beside a 2 s receiver' : ''}: ` +
    `received in ${receivedSeconds.toFixed(2)} s (${Math.round(deliveryCount / receivedSeconds)}/s), ` +
    `all recorded in ${recordedSeconds.toFixed(2)} s (${Math.round(deliveryCount / recordedSeconds)}/s)`,
);
// Beside the slow receiver its attempts are still in flight: the process ends without waiting.
if (!withSlow) await deliverer.stop();
await handle.close();
process.exit(0);
