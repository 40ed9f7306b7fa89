// At-least-once webhook delivery across a SIGKILL: the server is killed while its POSTs are in
// flight (the receiver holds them unanswered). After a restart every delivery ends DELIVERED, every
// notification reached the receiver, and the requests sent twice carry the same webhook-id.
import type { ChildProcess } from 'node:child_process';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/modules/organizations/index.js';
import { createTestDatabase, type TestDatabase } from '../harness.js';
import { freePort, spawnServer } from '../process/run-process.js';
import { type Receiver, startReceiver } from '../webhook-receiver.js';

const participantCount = 20;

let database: TestDatabase;
let receiver: Receiver;
let port: number;
let apiKey: string;
let server: ChildProcess | undefined;

beforeAll(async () => {
  database = await createTestDatabase();
  apiKey = (await createApiKey(database.handle.db, 'webhook-crash')).secret;
  receiver = await startReceiver();
  // Phase one: hold every request, so the kill lands mid-delivery.
  receiver.respond(() => {});
  port = await freePort();
});

afterAll(async () => {
  if (server?.exitCode === null && server.pid !== undefined) process.kill(server.pid, 'SIGKILL');
  await database.handle.close();
});

function start(): Promise<ChildProcess> {
  return spawnServer(port, {
    DATABASE_URL: database.url,
    LOG_LEVEL: 'error',
    ACCRUE_WORKERS: '0',
    ACCRUE_WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
    ACCRUE_WEBHOOK_RETRY_BASE_MS: '100',
  });
}

async function call(method: string, url: string, body?: unknown) {
  const response = await fetch(`http://127.0.0.1:${port}${url}`, {
    method,
    headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: await response.json() };
}

async function waitFor(condition: () => Promise<boolean> | boolean, timeoutMs: number, what: string) {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('webhook delivery across a SIGKILL', () => {
  it('loses no delivery, and what is sent again carries the same webhook-id', async () => {
    server = await start();
    const endpoint = await call('POST', '/v1/webhook-endpoints', {
      url: receiver.url,
      enabled_events: ['participant.created'],
    });
    expect(endpoint.status).toBe(201);
    for (let index = 0; index < participantCount; index += 1) {
      expect((await call('POST', '/v1/participants', { external_id: `crash-${index}` })).status).toBe(201);
    }
    await waitFor(() => receiver.received.length >= 5, 20_000, 'requests in flight');
    const killed = server;
    await new Promise<void>((resolve) => {
      killed.once('exit', () => resolve());
      if (killed.pid !== undefined) process.kill(killed.pid, 'SIGKILL');
    });
    const inFlight = new Set(receiver.received.map((request) => request.headers['webhook-id']));
    receiver.respond((_request, response) => response.end('ok'));
    server = await start();
    const delivered = async () => {
      const rows = await sql<{ count: string }>`
        select count(*) from webhook_deliveries where status = 'DELIVERED'`.execute(database.handle.db);
      return rows.rows[0]?.count === String(participantCount);
    };
    // A killed sender's claims lapse after the attempt timeout (10 s) plus 5 s.
    await waitFor(delivered, 60_000, 'every delivery to be DELIVERED');
    const outbox = await sql<{ id: string }>`select id from webhook_deliveries`.execute(database.handle.db);
    const received = new Set(receiver.received.map((request) => request.headers['webhook-id']));
    expect(outbox.rows).toHaveLength(participantCount);
    const expected = new Set(
      (
        await sql<{ webhook_event_id: string }>`select webhook_event_id from webhook_deliveries`.execute(
          database.handle.db,
        )
      ).rows.map((row) => row.webhook_event_id),
    );
    expect(received).toEqual(expected);
    for (const id of inFlight) {
      const copies = receiver.received.filter((request) => request.headers['webhook-id'] === id);
      expect(copies.length, `webhook-id ${id}`).toBeGreaterThanOrEqual(2);
      expect(new Set(copies.map((copy) => copy.body)).size).toBe(1);
    }
  }, 120_000);
});
