// A small HTTP load driver: keep-alive connections, a fixed concurrency, per-request latencies.
import http from 'node:http';

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  latenciesMs: number[];
}

export interface Request {
  method: string;
  path: string;
  body?: string;
  headers?: Record<string, string>;
}

export function createAgent(connections: number): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: connections });
}

export function send(
  agent: http.Agent,
  port: number,
  request: Request,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: '127.0.0.1',
        port,
        method: request.method,
        path: request.path,
        headers: { 'content-type': 'application/json', ...request.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(request.body);
  });
}

/** Sends every request of `next` (until it returns undefined) over `connections` parallel lanes. */
export async function runLoad(
  port: number,
  connections: number,
  next: () => Request | undefined,
  onResponse: (status: number, body: string) => void = () => {},
): Promise<LoadResult> {
  const agent = createAgent(connections);
  const latenciesMs: number[] = [];
  let errors = 0;
  const started = performance.now();
  const lane = async () => {
    for (let request = next(); request !== undefined; request = next()) {
      const sent = performance.now();
      const response = await send(agent, port, request).catch(() => ({ status: 0, body: '' }));
      latenciesMs.push(performance.now() - sent);
      if (response.status >= 400 || response.status === 0) errors += 1;
      onResponse(response.status, response.body);
    }
  };
  await Promise.all(Array.from({ length: connections }, lane));
  agent.destroy();
  return { requests: latenciesMs.length, errors, seconds: (performance.now() - started) / 1000, latenciesMs };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}
