// `npx tsx bench/console-api.ts [--participants N] [--events N] [--samples N]`: every API call the
// console's pages make, timed on a program with 100,000 participants and 1,000,000 events (loaded by
// SQL, with external ids, emails and names varied as real ones are) and a ledger of a few thousand
// entries (posted through the API). Prints p50 and p95 per call.
// Runs Accrue as its own process without workers (so the loaded backlog stays a backlog), on a new
// database of DATABASE_URL's server (required: the load goes to it by SQL). A measurement only.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { runCli, startServer } from '../test/process/run-process.js';
import { createScratchDatabase } from './scratch-database.js';

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : Number(process.argv[index + 1]);
}

const plan = {
  participants: argument('participants', 100_000),
  events: argument('events', 1_000_000),
  samples: argument('samples', 40),
  ledgerEntries: argument('entries', 2_000),
  failedEvery: 1_000,
  backlog: 500,
};

interface Context {
  base: string;
  key: string;
  programId: string;
  assetId: string;
  ruleId: string;
  participantId: string;
  eventId: string;
  failedEventId: string;
  endpointId: string;
}

async function call(c: Pick<Context, 'base' | 'key'>, method: string, url: string, body?: unknown) {
  const response = await fetch(`${c.base}${url}`, {
    method,
    headers: { 'x-api-key': c.key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status >= 300)
    throw new Error(`${method} ${url} answered ${response.status}: ${text.slice(0, 300)}`);
  return response.headers.get('content-type')?.startsWith('text/csv') ? text : JSON.parse(text);
}

/** The generator's text for participant fields (external ids, emails and names are md5 fragments). */
function md5(text: string): string {
  return createHash('md5').update(text).digest('hex');
}

/** Participants, enrollments and events straight into the tables, as a long-running program has them. */
async function loadBySql(connectionString: string, organizationId: string, programId: string) {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    await client.query(
      `insert into participants (organization_id, id, external_id, email, first_name, last_name, created_at, updated_at)
       select $1, gen_random_uuid(), 'cus_' || substr(md5(i::text), 1, 12),
         substr(md5('m' || i), 1, 10) || '@example.com', initcap(substr(md5('f' || i), 1, 6)),
         initcap(substr(md5('l' || (i % 977)), 1, 8)), now() - i * interval '1 minute', now() - i * interval '1 minute'
       from generate_series(1, $2::int) i`,
      [organizationId, plan.participants],
    );
    await client.query(
      `insert into enrollments (organization_id, program_id, participant_id)
       select organization_id, $2, id from participants where organization_id = $1
       on conflict do nothing`,
      [organizationId, programId],
    );
    // Newest last: the last `backlog` events are unprocessed (queued), one in failedEvery failed.
    await client.query(
      `with p as (select id, external_id, row_number() over (order by external_id) as n
                    from participants where organization_id = $1),
       generated as (
         select $1::uuid as organization_id, gen_random_uuid() as id, p.id as participant_id, p.external_id,
           'bench-' || i as idempotency_key, i, t, s.status
         from generate_series(1, $3::int) i
         cross join lateral (select now() - ($3::int - i) * interval '1 second' as t) time
         cross join lateral (select case when i > $3::int - $4::int then 'PENDING'
                                         when i % $5::int = 0 then 'FAILED' else 'COMPLETED' end as status) s
         join p on p.n = 1 + i % $6::int),
       inserted as (
         insert into events (organization_id, id, program_id, participant_id, external_id, ordering_key,
           idempotency_key, payload_hash, event_data, event_timestamp, received_at, created_at, updated_at)
         select organization_id, id, $2, participant_id, external_id, 'x:' || external_id, idempotency_key,
           sha256(i::text::bytea), jsonb_build_object('type', 'purchase', 'amount', i % 200), t, t, t, t
         from generated
         returning organization_id, id, ingest_seq, ordering_key, received_at),
       finished as (
         insert into event_outcomes (organization_id, event_id, status, error_message, claim_count, processed_at)
         select organization_id, id, status, case when status = 'FAILED' then 'action CREDIT failed: bench' end,
           1, t
         from generated where status <> 'PENDING')
       insert into event_queue (organization_id, event_id, ingest_seq, ordering_key, available_at)
       select i.organization_id, i.id, i.ingest_seq, i.ordering_key, i.received_at
       from inserted i join generated g on g.id = i.id where g.status = 'PENDING'`,
      [organizationId, programId, plan.events, plan.backlog, plan.failedEvery, plan.participants],
    );
    await client.query(
      'analyze participants; analyze enrollments; analyze events; analyze event_outcomes; analyze event_queue',
    );
  } finally {
    await client.end();
  }
}

/** A few thousand journal entries through the API, spread over participants, with lots that expire. */
async function postLedger(c: Context) {
  const participants = (await call(c, 'GET', `/v1/participants?program_id=${c.programId}&limit=200`)).data;
  const jobs = Array.from({ length: plan.ledgerEntries }, (_, index) => index);
  const worker = async () => {
    for (let index = jobs.shift(); index !== undefined; index = jobs.shift()) {
      const participant = participants[index % participants.length];
      await call(c, 'POST', `/v1/participants/${participant.id}/balances/adjust`, {
        program_id: c.programId,
        asset_id: c.assetId,
        type: 'CREDIT',
        amount: String(10 + (index % 90)),
        description: 'bench credit',
        expires_at: new Date(Date.now() + (1 + (index % 300)) * 86_400_000).toISOString(),
      });
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

/** The calls each page makes, as the console makes them. */
function pageCalls(c: Context): Array<[string, string, string, unknown?]> {
  const p = c.programId;
  const day = (offset: number) => new Date(Date.now() - offset * 86_400_000).toISOString();
  return [
    ['overview', 'GET', `/v1/reports/program-overview?program_id=${p}`],
    ['overview', 'GET', `/v1/reports/liability?program_id=${p}&limit=50`],
    ['overview', 'GET', `/v1/reports/liability-rollforward?program_id=${p}&from=${day(1)}&to=${day(0)}`],
    ['participants', 'GET', `/v1/participants?program_id=${p}&limit=25`],
    ['participants', 'GET', `/v1/participants?program_id=${p}&search=${md5('4242').slice(2, 9)}&limit=25`],
    [
      'participants',
      'GET',
      `/v1/participants?program_id=${p}&search=${md5('m77').slice(0, 7)}%40exa&limit=25`,
    ],
    ['participants', 'GET', `/v1/participants?program_id=${p}&search=nobody-matches&limit=25`],
    ['participants', 'GET', `/v1/participants?program_id=${p}&search=example.com&limit=25`],
    ['profile', 'GET', `/v1/participants/${c.participantId}`],
    ['profile', 'GET', `/v1/participants/${c.participantId}/balances/lots?asset_id=${c.assetId}&limit=20`],
    ['profile', 'GET', `/v1/participants/${c.participantId}/activity/events?program_id=${p}&limit=20`],
    ['profile', 'GET', `/v1/journal-entries?participant_id=${c.participantId}&limit=20`],
    ['profile', 'GET', `/v1/participants/${c.participantId}/activity/state-history?limit=20`],
    ['profile', 'GET', `/v1/programs/${p}/assets?limit=200`],
    ['profile', 'GET', '/v1/assets?limit=200'],
    ['profile', 'GET', `/v1/participants/${c.participantId}/redemptions?limit=20`],
    ['events', 'GET', `/v1/events?program_id=${p}&limit=25`],
    ['events', 'GET', `/v1/events?program_id=${p}&status=FAILED&limit=25`],
    ['events', 'GET', `/v1/events?program_id=${p}&status=PENDING&limit=25`],
    ['event', 'GET', `/v1/events/${c.eventId}?include_skipped=true`],
    ['event', 'GET', `/v1/journal-entries?event_id=${c.failedEventId}&limit=50`],
    ['rules', 'GET', `/v1/rules?program_id=${p}&sort_by=order&sort_dir=asc&limit=50`],
    ['rule', 'GET', `/v1/rules/${c.ruleId}`],
    ['rule', 'GET', `/v1/rules/${c.ruleId}/history?limit=20`],
    [
      'rule',
      'POST',
      '/v1/rules/validate',
      {
        program_id: p,
        condition: 'event.type == "purchase"',
        actions: [{ type: 'CREDIT', asset_id: c.assetId, amount: '1' }],
      },
    ],
    ['rule', 'GET', `/v1/events?program_id=${p}&limit=1`],
    [
      'rule',
      'POST',
      '/v1/rules/simulate',
      {
        program_id: p,
        condition: 'event.type == "purchase"',
        actions: [{ type: 'CREDIT', asset_id: c.assetId, amount: 'double(event.amount) * 10.0' }],
        event: { type: 'purchase', amount: 12.5 },
      },
    ],
    ['ledger (on demand)', 'GET', '/v1/reports/integrity'],
    ['ledger', 'GET', `/v1/reports/liability?program_id=${p}&limit=200`],
    ['ledger', 'GET', `/v1/reports/liability-rollforward?program_id=${p}&from=${day(30)}&to=${day(-1)}`],
    [
      'ledger',
      'GET',
      `/v1/reports/expiration-schedule?program_id=${p}&from=${day(30)}&to=${day(-366)}&granularity=month`,
    ],
    ['ledger', 'GET', `/v1/journal-entries?program_id=${p}&limit=25`],
    ['ledger (on demand)', 'GET', `/v1/reports/liability?program_id=${p}&limit=200&format=csv`],
    ['ledger (on demand)', 'GET', `/v1/journal-entries?program_id=${p}&limit=25&format=csv`],
    ['tiers', 'GET', `/v1/programs/${p}/tiers?limit=50`],
    ['automations', 'GET', `/v1/programs/${p}/automations?limit=25`],
    ['catalog', 'GET', `/v1/programs/${p}/rewards?limit=50`],
    ['catalog', 'GET', '/v1/groups?limit=50'],
    ['catalog', 'GET', '/v1/webhook-endpoints?limit=50'],
    ['catalog', 'GET', `/v1/webhook-endpoints/${c.endpointId}/deliveries?limit=25`],
  ];
}

function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)] ?? Number.NaN;
}

async function measure(c: Context) {
  const rows = [];
  for (const [page, method, url, body] of pageCalls(c)) {
    await call(c, method, url, body);
    const times: number[] = [];
    for (let sample = 0; sample < plan.samples; sample += 1) {
      const started = performance.now();
      await call(c, method, url, body);
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    const route = url.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '{id}').replace(/&?(from|to)=[^&]*/g, '');
    rows.push({
      page,
      call: `${method} ${route}`,
      p50: percentile(times, 0.5),
      p95: percentile(times, 0.95),
    });
    const last = rows[rows.length - 1];
    process.stdout.write(
      `${page.padEnd(13)} p50 ${last?.p50.toFixed(1).padStart(6)} ms  p95 ${last?.p95.toFixed(1).padStart(6)} ms  ${last?.call}\n`,
    );
  }
  const worst = rows.reduce((max, row) => (row.p95 > max.p95 ? row : max));
  process.stdout.write(
    `slowest p95: ${worst.p95.toFixed(1)} ms (${worst.call}); ${rows.filter((row) => row.p95 > 300).length} of ${rows.length} calls over 300 ms\n`,
  );
}

async function setUp(base: string, key: string, connectionString: string): Promise<Context> {
  const c = { base, key };
  const program = await call(c, 'POST', '/v1/programs', {
    name: 'Console bench',
    on_unknown_participant: 'CREATE',
  });
  const asset = await call(c, 'POST', '/v1/assets', {
    program_id: program.id,
    name: 'Points',
    symbol: 'PTS',
    scale: 2,
    inventory_mode: 'LOT',
    issuance_policy: 'UNLIMITED',
  });
  const rule = await call(c, 'POST', '/v1/rules', {
    program_id: program.id,
    name: 'Ten per unit',
    condition: 'event.type == "purchase"',
    actions: [{ type: 'CREDIT', asset_id: asset.id, amount: 'double(event.amount) * 10.0' }],
  });
  await call(c, 'POST', `/v1/programs/${program.id}/automations`, {
    name: 'Monthly statement',
    event_name: 'monthly_statement',
    scope: 'participants',
    trigger: { type: 'cron', cron_expression: '0 9 1 * *' },
  });
  const endpoint = await call(c, 'POST', '/v1/webhook-endpoints', {
    url: 'http://127.0.0.1:9/hooks',
    enabled_events: ['participant.tier_changed'],
  });
  const organizationId = await organizationOf(connectionString, program.id);
  const started = performance.now();
  await loadBySql(connectionString, organizationId, program.id);
  process.stdout.write(
    `loaded ${plan.participants} participants and ${plan.events} events by SQL in ${((performance.now() - started) / 1000).toFixed(0)} s\n`,
  );
  const partial = { ...c, programId: program.id, assetId: asset.id, ruleId: rule.id };
  const ledgerStarted = performance.now();
  const context = {
    ...partial,
    participantId: '',
    endpointId: endpoint.id,
    eventId: (await call(c, 'GET', `/v1/events?program_id=${program.id}&limit=1`)).data[0].id,
    failedEventId: (await call(c, 'GET', `/v1/events?program_id=${program.id}&status=FAILED&limit=1`)).data[0]
      .id,
  };
  await postLedger(context);
  process.stdout.write(
    `posted ${plan.ledgerEntries} journal entries through the API in ${((performance.now() - ledgerStarted) / 1000).toFixed(0)} s\n`,
  );
  context.participantId = (
    await call(c, 'GET', `/v1/participants?program_id=${program.id}&limit=1`)
  ).data[0].id;
  return context;
}

async function organizationOf(connectionString: string, programId: string): Promise<string> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  const result = await client.query('select organization_id from programs where id = $1', [programId]);
  await client.end();
  return result.rows[0].organization_id;
}

async function main(): Promise<void> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'accrue-console-bench-'));
  await fs.chmod(dataDir, 0o755);
  const admin = process.env.DATABASE_URL;
  if (admin === undefined || admin === '')
    throw new Error('set DATABASE_URL: the bench loads its data by SQL');
  const scratch = await createScratchDatabase(admin, 'accrue_console_bench');
  const databaseUrl = scratch.url;
  const env = {
    ACCRUE_DATA_DIR: dataDir,
    ACCRUE_WORKERS: '0',
    ACCRUE_RATE_LIMIT_PER_SECOND: '0',
    ACCRUE_WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
    LOG_LEVEL: 'warn',
    DATABASE_URL: databaseUrl,
  };
  const server = await startServer({ ...env, LOG_LEVEL: 'info' }, 120_000);
  try {
    const key =
      runCli(['keys', 'create', '--org', 'console-bench'], env).stdout.trim().split('\n').pop() ?? '';
    const context = await setUp(`http://127.0.0.1:${server.port}`, key, databaseUrl);
    process.stdout.write(`${plan.samples} samples per call, one at a time:\n`);
    await measure(context);
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
    await scratch.drop();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}

await main();
