// Memory of a large CSV export: journal entries are copied in SQL until the ledger holds `entries`
// of them (two postings each), then GET /v1/journal-entries?format=csv is read over real HTTP and
// discarded as it arrives, while the process's heap and resident memory are sampled. The figure
// that matters is the peak against the size of the export: a streamed export stays flat.
// Usage: DATABASE_URL=postgres://… npx tsx bench/csv-export.ts [entries=1000000]
// (a database of its own is created on that server and dropped at the end).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { buildApp } from '../src/app.js';
import { createApiKey } from '../src/modules/organizations/index.js';
import { createWebhookSettings } from '../src/modules/webhooks/index.js';
import { systemClock } from '../src/platform/clock.js';
import { connect } from '../src/platform/db/database.js';
import { migrate } from '../src/platform/db/migrate.js';
import { createLogger } from '../src/platform/logger.js';

const entries = Number(process.argv[2] ?? 1_000_000);
const adminUrl = process.env.DATABASE_URL;
if (adminUrl === undefined)
  throw new Error('set DATABASE_URL to a PostgreSQL server this script may create a database on');
const name = `accrue_bench_csv_${randomBytes(4).toString('hex')}`;
await admin(`create database ${name}`);
const url = new URL(adminUrl);
url.pathname = `/${name}`;

async function admin(statement: string) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  await client.query(statement);
  await client.end();
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

try {
  await migrate(url.href);
  const handle = connect(url.href, { sizeMax: 4, waitMs: 10_000 }, createLogger('silent'), async () => {});
  const app = await buildApp({
    db: handle.db,
    clock: systemClock,
    logger: createLogger('silent'),
    version: 'bench',
    rateLimit: { ratePerSecond: 0, burst: 1 },
    webhooks: createWebhookSettings(randomBytes(32), []),
  });
  const created = await createApiKey(handle.db, 'bench');
  const headers = { 'x-api-key': created.secret, 'content-type': 'application/json' };
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const post = async (path: string, body: object) =>
    (await (
      await fetch(`${address}${path}`, { method: 'POST', headers, body: JSON.stringify(body) })
    ).json()) as { id: string };
  const program = await post('/v1/programs', { name: 'Export' });
  const asset = await post('/v1/assets', {
    program_id: program.id,
    name: 'Points',
    symbol: 'PTS',
    inventory_mode: 'SIMPLE',
    issuance_policy: 'UNLIMITED',
    scale: 2,
  });
  const participant = await post('/v1/participants', { external_id: 'export-1', program_id: program.id });
  await post(`/v1/participants/${participant.id}/balances/adjust`, {
    program_id: program.id,
    asset_id: asset.id,
    type: 'CREDIT',
    amount: '1.25',
    description: 'seed, copied below',
  });
  process.stdout.write(`copying the seed entry to ${entries.toLocaleString('en')} journal entries...\n`);
  const client = new pg.Client({ connectionString: url.href });
  await client.connect();
  // Copies of the one entry and its postings (balanced, like the seed); stored balances are not
  // updated, so this database is for reading only, and is dropped at the end.
  await client.query(`
    create temporary table copies as select gen_random_uuid() as id, n,
      timestamptz '2026-01-01' + n * interval '1 second' as created_at
    from generate_series(2, ${entries}) n;
    insert into journal_entries (organization_id, id, action_type, description, program_id, created_at)
    select e.organization_id, c.id, e.action_type, e.description || ' #' || c.n, e.program_id, c.created_at
    from journal_entries e cross join copies c;
    insert into postings (organization_id, id, journal_entry_id, account_id, asset_id, owner_type, owner_id,
      bucket, amount, created_at)
    select p.organization_id, gen_random_uuid(), c.id, p.account_id, p.asset_id, p.owner_type, p.owner_id,
      p.bucket, p.amount, c.created_at
    from postings p cross join copies c;
    analyze journal_entries; analyze postings;`);
  await client.end();

  global.gc?.();
  const baseline = process.memoryUsage();
  let peakHeap = baseline.heapUsed;
  let peakRss = baseline.rss;
  const sampler = setInterval(() => {
    const now = process.memoryUsage();
    peakHeap = Math.max(peakHeap, now.heapUsed);
    peakRss = Math.max(peakRss, now.rss);
  }, 20);
  const response = await fetch(`${address}/v1/journal-entries?format=csv`, { headers });
  let bytes = 0;
  let lines = 0;
  for await (const chunk of response.body ?? []) {
    bytes += chunk.byteLength;
    for (const byte of chunk) if (byte === 10) lines += 1;
  }
  clearInterval(sampler);
  process.stdout.write(
    [
      `status ${response.status}, ${(lines - 1).toLocaleString('en')} posting rows of ${entries.toLocaleString('en')} entries, ${mb(bytes)} of CSV`,
      `heap: ${mb(baseline.heapUsed)} before, ${mb(peakHeap)} at the peak (+${mb(peakHeap - baseline.heapUsed)})`,
      `rss:  ${mb(baseline.rss)} before, ${mb(peakRss)} at the peak (+${mb(peakRss - baseline.rss)})`,
      '',
    ].join('\n'),
  );
  await app.close();
  await handle.close();
} finally {
  await admin(`drop database if exists ${name} with (force)`);
}
