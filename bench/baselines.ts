// The machine's own ceilings, measured in the same run on the same database, so that Accrue's
// figures can be read as ratios: durable single-row commits per second, multi-row insert rows per
// second, bare double-entry transfers per second (the cheapest ledger write), and a Fastify route
// that only parses and answers.
import { spawn } from 'node:child_process';
import pg from 'pg';
import { percentile, runLoad } from './http-load.js';

export interface Baselines {
  singleRowCommitsPerSecond: number;
  multiRowInsertRowsPerSecond: number;
  bareTransfersPerSecond: number;
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
  const transfers = await measureBareTransfers(pool, poolSize, seconds);
  await pool.end();
  return {
    singleRowCommitsPerSecond: single,
    multiRowInsertRowsPerSecond: multi * rowsPerStatement,
    bareTransfersPerSecond: transfers,
  };
}

const transferAccounts = 10_000;

/**
 * A double-entry transfer in plain SQL, one commit each: the two balance rows locked in id order and
 * updated, one entry and its two postings. What the cheapest ledger write costs on this database.
 */
async function measureBareTransfers(pool: pg.Pool, lanes: number, seconds: number): Promise<number> {
  await pool.query(`
    create table bench_balances (id int primary key, balance bigint not null);
    create table bench_entries (id bigserial primary key, created_at timestamptz not null default now());
    create table bench_postings (entry_id bigint not null references bench_entries, account_id int not null
      references bench_balances, amount bigint not null, primary key (entry_id, account_id));
    insert into bench_balances select id, 0 from generate_series(1, ${transferAccounts}) as id;`);
  const rate = await forSeconds(seconds, lanes, () => pool.query(transferSql()));
  const { rows } = await pool.query(
    `select (select sum(balance) from bench_balances) as balances,
            (select sum(amount) from bench_postings) as postings,
            (select count(*) from bench_postings) - 2 * (select count(*) from bench_entries) as unpaired`,
  );
  await pool.query('drop table bench_postings, bench_entries, bench_balances');
  const check = rows[0];
  if (Number(check.balances) !== 0 || Number(check.postings) !== 0 || Number(check.unpaired) !== 0)
    throw new Error(`bare transfers left the ledger unbalanced: ${JSON.stringify(check)}`);
  return rate;
}

/** One transfer as one round trip of plain statements (ids and amount are integers made here). */
function transferSql(): string {
  const from = 1 + Math.floor(Math.random() * transferAccounts);
  const to = 1 + ((from + Math.floor(Math.random() * (transferAccounts - 1))) % transferAccounts);
  const amount = 1 + Math.floor(Math.random() * 10_000);
  return `begin;
    select id from bench_balances where id in (${from}, ${to}) order by id for update;
    update bench_balances set balance = balance + case id when ${to} then ${amount} else -${amount} end
      where id in (${from}, ${to});
    with entry as (insert into bench_entries default values returning id)
      insert into bench_postings select entry.id, posting.account_id, posting.amount
      from entry, (values (${from}, -${amount}::bigint), (${to}, ${amount}::bigint)) as posting (account_id, amount);
    commit;`;
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
