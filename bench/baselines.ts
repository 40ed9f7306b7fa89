// The machine's own ceilings, measured in the same run on the same database, so that Accrue's
// figures can be read as ratios: durable single-row commits per second, multi-row insert rows per
// second, and a Fastify route that only parses and answers.
import { spawn } from 'node:child_process';
import pg from 'pg';
import { percentile, runLoad } from './http-load.js';

export interface Baselines {
  singleRowCommitsPerSecond: number;
  multiRowInsertRowsPerSecond: number;
  parseOnlyRequestsPerSecond: number;
  parseOnlyP99Ms: number;
}

export async function measureDatabaseBaselines(connectionString: string, poolSize: number, seconds: number) {
  const pool = new pg.Pool({ connectionString, max: poolSize });
  await pool.query(
    'create table if not exists bench_baseline (id bigserial primary key, payload jsonb not null)',
  );
  const payload = JSON.stringify({ order_id: 'o-1', amount: '42.50', category: 'grocery', items: 3 });
  const single = await forSeconds(seconds, poolSize, () =>
    pool.query('insert into bench_baseline (payload) values ($1)', [payload]),
  );
  const rowsPerStatement = 100;
  const values = Array.from({ length: rowsPerStatement }, (_, i) => `($${i + 1})`).join(',');
  const params = Array.from({ length: rowsPerStatement }, () => payload);
  const multi = await forSeconds(seconds, poolSize, () =>
    pool.query(`insert into bench_baseline (payload) values ${values}`, params),
  );
  await pool.query('drop table bench_baseline');
  await pool.end();
  return { singleRowCommitsPerSecond: single, multiRowInsertRowsPerSecond: multi * rowsPerStatement };
}

/** Runs `work` in `lanes` parallel loops for `seconds`; answers completions per second. */
async function forSeconds(seconds: number, lanes: number, work: () => Promise<unknown>): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (performance.now() < deadline) {
        await work();
        done += 1;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

/** A Fastify process with one route that parses a JSON body and answers: the HTTP ceiling. */
export async function measureParseOnlyBaseline(body: string, connections: number, requests: number) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/parse-only-server.ts'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve) => {
    child.stdout?.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
  });
  let sent = 0;
  const result = await runLoad(port, connections, () =>
    sent++ < requests ? { method: 'POST', path: '/parse', body } : undefined,
  );
  child.kill('SIGTERM');
  return {
    parseOnlyRequestsPerSecond: result.requests / result.seconds,
    parseOnlyP99Ms: percentile(result.latenciesMs, 99),
  };
}
