// One POST to a receiver, to the address that was checked (the lookup is answered with it, so the
// connection never resolves the host again). Redirects are not followed; the answer is read up to
// 4 KiB and the rest is dropped; the whole exchange is bounded by a timeout.
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { webhookResponseBodyBytesMax } from '../../platform/limits.js';

export interface WebhookRequest {
  url: URL;
  address: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

export interface WebhookResponse {
  status: number | null;
  body: string | null;
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

export function sendWebhook(request: WebhookRequest): Promise<WebhookResponse> {
  const client = request.url.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    let timedOut = false;
    const outgoing = client.request(request.url, {
      method: 'POST',
      agent: false,
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
    const finish = (response: WebhookResponse) => {
      clearTimeout(timer);
      resolve(response);
    };
    outgoing.on('error', (error) =>
      finish({
        status: null,
        body: null,
        error: error.message,
        errorCode: timedOut ? 'consumer_response_timeout' : 'connection_failed',
      }),
    );
    outgoing.on('response', (incoming) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () => {
        const body = Buffer.concat(chunks).subarray(0, webhookResponseBodyBytesMax);
        finish({ status: incoming.statusCode ?? null, body: toText(body), error: null, errorCode: null });
        incoming.destroy();
      };
      incoming.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= webhookResponseBodyBytesMax) done();
      });
      incoming.on('end', done);
      incoming.on('error', done);
    });
    outgoing.end(request.body);
  });
}

/** At most 4 KiB of UTF-8; a character cut at the limit is dropped rather than stored broken. */
function toText(bytes: Buffer): string {
  return bytes.toString('utf8').replace(/\uFFFD+$/, '');
}
