// One POST to a receiver, to the address that was checked (the lookup is answered with it, so the
// connection never resolves the host again). Connections are kept alive between attempts, in one
// agent per endpoint and checked address: a socket is reused only for the same endpoint, URL origin
// and address, so a changed DNS answer or URL gets a fresh connection to what was checked.
// Redirects are not followed; the answer is read up to 4 KiB and the rest is dropped (with the
// connection); the whole exchange is bounded by a timeout.
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import {
  webhookAgentsMax,
  webhookIdleSocketMs,
  webhookInFlightPerEndpointMax,
  webhookResponseBodyBytesMax,
} from '../../platform/limits.js';

export interface WebhookRequest {
  endpointId: string;
  url: URL;
  address: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

export interface WebhookResponse {
  status: number | null;
  body: string | null;
  /** The answer's Retry-After header, as sent (a 429 asks the sender to wait this long). */
  retryAfter: string | null;
  error: string | null;
  errorCode: string | null;
}

function pinnedLookup(address: string): LookupFunction {
  const family = isIP(address) === 6 ? 6 : 4;
  return (_hostname, options, callback) => {
    if (options.all === true) callback(null, [{ address, family }]);
    else callback(null, address, family);
  };
}

/**
 * Keep-alive agents by endpoint, URL origin and checked address; the least recently used is closed
 * beyond `webhookAgentsMax`. Each agent opens at most as many sockets as its endpoint may have
 * attempts in flight, and closes idle ones before receivers commonly do (5 s in Node), so a reused
 * socket is rarely one the receiver is closing.
 */
export class ConnectionPool {
  private readonly agents = new Map<string, http.Agent>();

  agentFor(request: Pick<WebhookRequest, 'endpointId' | 'url' | 'address'>): http.Agent {
    const key = `${request.endpointId} ${request.url.origin} ${request.address}`;
    const found = this.agents.get(key);
    if (found !== undefined) {
      this.agents.delete(key);
      this.agents.set(key, found);
      return found;
    }
    const options: http.AgentOptions = {
      keepAlive: true,
      maxSockets: webhookInFlightPerEndpointMax,
      maxFreeSockets: webhookInFlightPerEndpointMax,
      timeout: webhookIdleSocketMs,
      scheduling: 'lifo',
    };
    const agent = request.url.protocol === 'https:' ? new https.Agent(options) : new http.Agent(options);
    this.agents.set(key, agent);
    for (const [oldest, old] of this.agents) {
      if (this.agents.size <= webhookAgentsMax) break;
      this.agents.delete(oldest);
      old.destroy();
    }
    return agent;
  }

  close(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }
}

export function sendWebhook(pool: ConnectionPool, request: WebhookRequest): Promise<WebhookResponse> {
  const client = request.url.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    let timedOut = false;
    const outgoing = client.request(request.url, {
      method: 'POST',
      agent: pool.agentFor(request),
      lookup: pinnedLookup(request.address),
      headers: {
        ...request.headers,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(request.body),
        'user-agent': 'Accrue-Webhooks/1',
      },
    });
    const timer = setTimeout(() => {
      timedOut = true;
      outgoing.destroy(new Error(`no answer within ${request.timeoutMs} ms`));
    }, request.timeoutMs);
    let finished = false;
    const finish = (response: WebhookResponse) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      resolve(response);
    };
    outgoing.on('error', (error) =>
      finish({
        status: null,
        body: null,
        retryAfter: null,
        error: error.message,
        errorCode: timedOut ? 'consumer_response_timeout' : 'connection_failed',
      }),
    );
    outgoing.on('response', (incoming) => readAnswer(incoming, finish));
    outgoing.end(request.body);
  });
}

/** Reads the answer up to the limit; a longer one is cut and its connection closed, not reused. */
function readAnswer(incoming: http.IncomingMessage, finish: (response: WebhookResponse) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  const done = () => {
    const body = Buffer.concat(chunks).subarray(0, webhookResponseBodyBytesMax);
    const retryAfter = incoming.headers['retry-after'];
    finish({
      status: incoming.statusCode ?? null,
      body: toText(body),
      retryAfter: retryAfter ?? null,
      error: null,
      errorCode: null,
    });
  };
  incoming.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= webhookResponseBodyBytesMax) {
      done();
      incoming.destroy();
    }
  });
  incoming.on('end', done);
  incoming.on('error', done);
}

/**
 * At most 4 KiB of UTF-8; a character cut at the limit is dropped rather than stored broken, and so
 * are NUL characters, which PostgreSQL text cannot hold.
 */
function toText(bytes: Buffer): string {
  return bytes
    .toString('utf8')
    .replace(/\uFFFD+$/, '')
    .replaceAll('\u0000', '');
}
