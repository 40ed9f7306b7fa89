// Webhook tests' helpers: a real HTTP receiver on 127.0.0.1 that records every request and answers
// as told, and a test app whose endpoints may point at it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll } from 'vitest';
import type { DelivererDeps } from '../src/modules/webhooks/index.js';
import { createLogger } from '../src/platform/logger.js';
import { buildTestApp, type TestApp, testWebhookSettings } from './harness.js';

export interface ReceivedWebhook {
  headers: http.IncomingHttpHeaders;
  body: string;
  receivedAtMs: number;
  /** The sender's port: requests on one kept-alive connection share it. */
  remotePort: number | undefined;
}

export type Responder = (request: ReceivedWebhook, response: http.ServerResponse) => void;

export interface Receiver {
  url: string;
  received: ReceivedWebhook[];
  /** How the receiver answers from now on (default: 200 "ok"). */
  respond(responder: Responder): void;
}

const servers: http.Server[] = [];
afterAll(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

export async function startReceiver(): Promise<Receiver> {
  const received: ReceivedWebhook[] = [];
  let responder: Responder = (_request, response) => response.end('ok');
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const webhook = {
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        receivedAtMs: Date.now(),
        remotePort: request.socket.remotePort,
      };
      received.push(webhook);
      responder(webhook, response);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    respond: (next) => {
      responder = next;
    },
  };
}

/**
 * A test app whose webhook URLs may point at 127.0.0.1, and the deliverer's settings for it (a tiny
 * retry delay, so backoff runs in milliseconds); tests drive the deliverer with deliverDueWebhooks.
 */
export async function buildWebhookTestApp(): Promise<{ t: TestApp; deps: DelivererDeps }> {
  const settings = testWebhookSettings(['127.0.0.1']);
  const t = await buildTestApp({ webhooks: settings });
  const deps: DelivererDeps = {
    db: t.database.handle.db,
    clock: t.testClock.clock,
    logger: createLogger('silent'),
    settings,
    retryBaseMs: 20,
    circuitBreakMs: 60_000,
    outboxRetentionMs: 1000,
    timeoutMs: 500,
  };
  return { t, deps };
}
