// Hostile CEL against a real server process. Each class of hostile expression is either refused when
// the rule is saved (400 bad_request naming the field) or saved and bounded when it runs (the
// rule is skipped with SKIPPED_TIMEOUT or SKIPPED_ERROR and the event completes). While events run
// every bounded hostile rule, the server stays responsive: each concurrent read answers within
// max(10 x the baseline p50, 1000 ms), and /healthz within a fixed bound while functions run on
// 60,000-character strings.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/modules/organizations/index.js';
import { celExpressionBytesMax, celNestingDepthMax } from '../../src/platform/limits.js';
import { createTestDatabase, type TestDatabase } from '../harness.js';
import { type ServerProcess, startServer } from '../process/run-process.js';

let database: TestDatabase;
let server: ServerProcess;
let apiKey: string;
let programId: string;
let assetId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  apiKey = (await createApiKey(database.handle.db, 'hostile-cel')).secret;
  server = await startServer({
    DATABASE_URL: database.url,
    ACCRUE_WORKERS: '2',
    ACCRUE_POOL_SIZE: '10',
    ACCRUE_RATE_LIMIT_PER_SECOND: '0',
  });
  programId = (await call('POST', '/v1/programs', { name: 'Hostile' })).body.id;
  assetId = (
    await call('POST', '/v1/assets', {
      program_id: programId,
      name: 'Points',
      symbol: 'PTS',
      inventory_mode: 'SIMPLE',
      issuance_policy: 'UNLIMITED',
      scale: 2,
    })
  ).body.id;
});

afterAll(async () => {
  const pid = server?.child.pid;
  if (pid !== undefined && server.child.exitCode === null && server.child.signalCode === null)
    process.kill(pid, 'SIGKILL');
  await database?.handle.close();
});

interface Answer {
  status: number;
  body: { id: string; code?: string; message: string; details?: { field: string } };
  ms: number;
}

async function call(method: string, url: string, body?: unknown): Promise<Answer> {
  const started = performance.now();
  const response = await fetch(`http://127.0.0.1:${server.port}${url}`, {
    method,
    headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text === '' ? null : JSON.parse(text),
    ms: performance.now() - started,
  };
}

function saveRule(name: string, condition: string, amount = '1', program = programId) {
  return call('POST', '/v1/rules', {
    program_id: program,
    name,
    condition,
    actions: [{ type: 'CREDIT', asset_id: assetId, amount }],
  });
}

const ten = (name: string) => `[${Array(10).fill(name).join(', ')}]`;
const digits = '[0,1,2,3,4,5,6,7,8,9]';
/** `[[...[1]...]]`: the innermost element sits `depth` levels below the outermost list. */
const nestedList = (depth: number) => `${'['.repeat(depth)}1${']'.repeat(depth)}`;
/** A condition of exactly `bytes` bytes. */
const conditionOfBytes = (bytes: number) => `event.a == "${'x'.repeat(bytes - 'event.a == ""'.length)}"`;
/** In `L.size() > 0` the list L sits two levels below the root `>`. */
const sizeOfNested = (levels: number) => `${nestedList(levels - 2)}.size() > 0`;
/** The largest list of single digits that fits in a condition of the byte limit. */
const hugeList = (elements: number) => `[${Array(elements).fill('7').join(',')}].size() > 0`;
const hugeListElementsMax = Math.floor((celExpressionBytesMax - '[].size() > 0'.length + 1) / 2);

function chain(levels: string, step: (name: string) => string, start: string): string {
  let expression = start;
  for (const name of levels) expression += `.map(${name}, ${step(name)})`;
  return expression;
}

/** Saved, then bounded when evaluated: the status each evaluation must end with. */
const bounded: [string, string, 'SKIPPED_TIMEOUT' | 'SKIPPED_ERROR'][] = [
  [
    'seven nested all() over ten elements (10^7 iterations)',
    `${digits}.all(a, ${digits}.all(b, ${digits}.all(c, ${digits}.all(d, ${digits}.all(e, ${digits}.all(f, ${digits}.all(g, true)))))))`,
    'SKIPPED_TIMEOUT',
  ],
  [
    'all() of a 600-element literal crossed with itself (360,000 iterations)',
    `${hugeList(600).replace('.size() > 0', '')}.all(x, ${hugeList(600).replace('.size() > 0', '')}.all(y, x != y + 1))`,
    'SKIPPED_TIMEOUT',
  ],
  ['a list doubled 25 times by map()', `[[1]]${'.map(x, x + x)'.repeat(25)}.size() > 0`, 'SKIPPED_TIMEOUT'],
  [
    'a string doubled 25 times by map()',
    `["ab"]${'.map(s, s + s)'.repeat(25)}.size() > 0`,
    'SKIPPED_TIMEOUT',
  ],
  [
    'a string grown 16-fold by 30 chained replace()',
    `"abcdefgh"${'.replace("a", "aaaaaaaaaaaaaaaa")'.repeat(30)} == ""`,
    'SKIPPED_TIMEOUT',
  ],
  [
    'a 1,000-group regex over 30,000 characters',
    `event.text.matches("${'(a|b)'.repeat(200)}")`,
    'SKIPPED_TIMEOUT',
  ],
  [
    'a string grown 1000-fold by join() of a repeated list',
    `${chain('abc', (n) => `${ten(n)}.join()`, '[event.text]')}[0].size() > 0`,
    'SKIPPED_TIMEOUT',
  ],
  [
    'format() of a repeated long string',
    `"${'%s'.repeat(10)}".format(${ten('event.text')}).size() > 0`,
    'SKIPPED_TIMEOUT',
  ],
  [
    'equality of a list sharing one sub-list 10^6 times',
    `${chain('abcdef', ten, '[1]')}.all(z, z == ${chain('abcdef', ten, '[1]')}[0])`,
    'SKIPPED_TIMEOUT',
  ],
  [
    'membership in a list sharing sub-lists',
    `${chain('abcdef', ten, '[1]')}[0] in ${chain('abcdef', ten, '[1]')}`,
    'SKIPPED_TIMEOUT',
  ],
  ['int overflow', '9223372036854775807 + int(event.n) + 1 > 0', 'SKIPPED_ERROR'],
];

describe('hostile CEL refused at save time', () => {
  it(`saves a condition of ${celExpressionBytesMax} bytes and refuses ${celExpressionBytesMax + 1} naming condition`, async () => {
    expect((await saveRule('long', conditionOfBytes(celExpressionBytesMax))).status).toBe(201);
    const refused = await saveRule('too long', conditionOfBytes(celExpressionBytesMax + 1));
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ code: 'bad_request', details: { field: 'condition' } });
    expect(refused.body.message).toMatch(/4097 bytes; the limit is 4096/);
  });

  it('refuses an over-long action expression naming the action field', async () => {
    const amount = `event.n + ${'1 + '.repeat(1100)}1`;
    const refused = await saveRule('long amount', 'true', amount);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ code: 'bad_request', details: { field: 'actions[0].amount' } });
  });

  it(`saves nesting ${celNestingDepthMax} levels deep and refuses ${celNestingDepthMax + 1}`, async () => {
    expect((await saveRule('deep', sizeOfNested(celNestingDepthMax))).status).toBe(201);
    const refused = await saveRule('too deep', sizeOfNested(celNestingDepthMax + 1));
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ code: 'bad_request', details: { field: 'condition' } });
    expect(refused.body.message).toMatch(/nested more than 64 levels/);
  });

  it('refuses nesting that would exhaust the parser (2,000 parentheses, brackets, calls)', async () => {
    for (const condition of [
      `${'('.repeat(2000)}true${')'.repeat(2000)}`,
      `${'['.repeat(4000)}1`,
      `${'size('.repeat(600)}[]${')'.repeat(600)} > 0`,
    ]) {
      const refused = await saveRule('parser', condition);
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({ code: 'bad_request', details: { field: 'condition' } });
    }
  });

  it(`saves a list literal of ${hugeListElementsMax} elements and refuses one more element`, async () => {
    expect(Buffer.byteLength(hugeList(hugeListElementsMax))).toBeLessThanOrEqual(celExpressionBytesMax);
    expect((await saveRule('huge list', hugeList(hugeListElementsMax))).status).toBe(201);
    const refused = await saveRule('huge list + 1', hugeList(hugeListElementsMax + 1));
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ code: 'bad_request', details: { field: 'condition' } });
  });
});

describe('hostile CEL bounded at evaluation, the server responsive meanwhile', () => {
  it('skips every hostile rule quickly, completes every event, and answers reads in their usual time', async () => {
    const ruleIds = new Map<string, string>();
    for (const [name, condition] of bounded) {
      const saved = await saveRule(name, condition);
      expect(saved.status, `${name}: ${JSON.stringify(saved.body)}`).toBe(201);
      ruleIds.set(saved.body.id, name);
    }
    // The rules saved by the limit tests above run too: at the limits, they are ordinary rules.
    const participantsUrl = '/v1/participants?limit=20';
    const baseline: number[] = [];
    for (let i = 0; i < 20; i += 1) {
      const answer = await call('GET', participantsUrl);
      expect(answer.status).toBe(200);
      baseline.push(answer.ms);
    }
    const baselineP50 = percentile(baseline, 0.5);
    const boundMs = Math.max(10 * baselineP50, 1000);

    const eventCount = 200;
    const batchSize = 40;
    const events = Array.from({ length: eventCount }, (_, n) => ({
      program_id: programId,
      external_id: `hostile-${n % 4}`,
      idempotency_key: `hostile-${n}`,
      event_timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
      event_data: { n, text: 'a'.repeat(20_000) },
    }));
    // Reads go on, one every 50 ms, from the first batch until the last event completed.
    const concurrent: number[] = [];
    let sending = true;
    let unfinished = eventCount;
    const started = performance.now();
    const probe = (async () => {
      while ((sending || unfinished > 0) && performance.now() - started < 180_000) {
        const answer = await call('GET', participantsUrl);
        expect(answer.status).toBe(200);
        concurrent.push(answer.ms);
        if (!sending) unfinished = await unfinishedEvents();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    for (let from = 0; from < eventCount; from += batchSize) {
      const accepted = await call('POST', '/v1/events/batch', {
        events: events.slice(from, from + batchSize),
      });
      expect(accepted.status).toBe(202);
      expect((accepted.body as unknown as { error_count: number }).error_count).toBe(0);
    }
    sending = false;
    await probe;
    const processingMs = performance.now() - started;
    process.stdout.write(
      `hostile CEL: ${bounded.length} bounded rules over ${eventCount} events in ${(processingMs / 1000).toFixed(1)} s; ` +
        `GET latency baseline p50 ${baselineP50.toFixed(1)} ms, during hostile evaluation ` +
        `p50 ${percentile(concurrent, 0.5).toFixed(1)} ms, max ${Math.max(...concurrent).toFixed(1)} ms ` +
        `over ${concurrent.length} requests (bound ${boundMs.toFixed(0)} ms)\n`,
    );
    expect(unfinished).toBe(0);
    expect(concurrent.length).toBeGreaterThanOrEqual(5);
    expect(Math.max(...concurrent)).toBeLessThanOrEqual(boundMs);

    const rows = await outcomesByRule(programId);
    for (const [name, , status] of bounded) {
      const id = [...ruleIds].find(([, ruleName]) => ruleName === name)?.[0];
      const outcomes = rows.filter((row) => row.rule_id === id);
      expect(outcomes, name).toEqual([{ rule_id: id, status, evaluations: String(eventCount) }]);
    }
  }, 240_000);
});

/** Functions over a 60,000-character string, 500 times each: uncharged, size() alone held the loop 0.5 s. */
const bigInputs = [
  'event.list.all(x, size(event.text) > 0)',
  'event.list.all(x, event.text.size() > 0)',
  'event.list.all(x, event.text.contains("b") == false)',
  'event.list.all(x, event.text.startsWith("b") == false)',
  'event.list.all(x, event.text.endsWith("b") == false)',
  'event.list.all(x, event.text.matches("b") == false)',
  'event.list.all(x, event.text.lowerAscii() != "")',
  'event.list.all(x, event.text.split("a").size() > 0)',
  'event.list.all(x, string(event.text) != "")',
  'event.list.all(x, size(bytes(event.text)) > 0)',
  'event.list.all(x, event.text < event.text + "b")',
];
const healthBoundMs = 500;

describe('hostile CEL on big inputs, /healthz answering meanwhile', () => {
  it(`skips every rule that calls functions on 60,000 characters in a loop; /healthz answers within ${healthBoundMs} ms`, async () => {
    const program = (await call('POST', '/v1/programs', { name: 'Big inputs' })).body.id;
    const link = await call('POST', `/v1/programs/${program}/assets`, { asset_id: assetId });
    expect(link.status, JSON.stringify(link.body)).toBeLessThan(300);
    const hostileIds: string[] = [];
    for (const condition of bigInputs) {
      const saved = await saveRule(condition, condition, '1', program);
      expect(saved.status, `${condition}: ${JSON.stringify(saved.body)}`).toBe(201);
      hostileIds.push(saved.body.id);
    }
    const cheap = await saveRule('cheap', 'event.n >= 0', '1', program);
    expect(cheap.status).toBe(201);

    const eventCount = 60;
    const events = Array.from({ length: eventCount }, (_, n) => ({
      program_id: program,
      external_id: `big-${n % 4}`,
      idempotency_key: `big-${n}`,
      event_timestamp: new Date(Date.UTC(2026, 0, 2, 0, 0, n)).toISOString(),
      event_data: { n, text: 'a'.repeat(60_000), list: Array.from({ length: 500 }, (_, i) => i) },
    }));
    const health: number[] = [];
    let done = false;
    const started = performance.now();
    const probe = (async () => {
      while (!done && performance.now() - started < 180_000) {
        const answer = await call('GET', '/healthz');
        expect(answer.status).toBe(200);
        health.push(answer.ms);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    // 62 KB an event: ten fit in a request body.
    for (let from = 0; from < eventCount; from += 10) {
      const accepted = await call('POST', '/v1/events/batch', { events: events.slice(from, from + 10) });
      expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
    }
    while ((await unfinishedEvents()) > 0 && performance.now() - started < 180_000)
      await new Promise((resolve) => setTimeout(resolve, 100));
    done = true;
    await probe;
    process.stdout.write(
      `big inputs: ${bigInputs.length} hostile rules over ${eventCount} events in ` +
        `${((performance.now() - started) / 1000).toFixed(1)} s; /healthz p50 ${percentile(health, 0.5).toFixed(1)} ms, ` +
        `max ${Math.max(...health).toFixed(1)} ms over ${health.length} requests\n`,
    );
    expect(await unfinishedEvents()).toBe(0);
    expect(health.length).toBeGreaterThanOrEqual(5);
    expect(Math.max(...health)).toBeLessThan(healthBoundMs);

    const rows = await outcomesByRule(program);
    for (const [index, id] of hostileIds.entries())
      expect(
        rows.filter((row) => row.rule_id === id),
        bigInputs[index],
      ).toEqual([{ rule_id: id, status: 'SKIPPED_TIMEOUT', evaluations: String(eventCount) }]);
    expect(rows.filter((row) => row.rule_id === cheap.body.id)).toEqual([
      { rule_id: cheap.body.id, status: 'MATCHED', evaluations: String(eventCount) },
    ]);
    // Only the cheap rule paid: one point (100 minor units) an event, nothing from the skipped rules.
    const credited = await sql<{ total: string }>`
      select coalesce(sum(p.amount), 0)::text as total from postings p
      join journal_entries j on j.organization_id = p.organization_id and j.id = p.journal_entry_id
      join events v on v.organization_id = j.organization_id and v.id = j.event_id
      where v.program_id = ${program} and p.amount > 0`.execute(database.handle.db);
    expect(credited.rows[0]?.total).toBe(String(eventCount * 100));
  }, 240_000);
});

function percentile(values: number[], share: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * share))] ?? 0;
}

/** How many of the program's completed events ended with each status, by rule. */
async function outcomesByRule(program: string) {
  const { rows } = await sql<{ rule_id: string; status: string; evaluations: string }>`
    select o.rule_id, o.status, count(*)::text as evaluations
    from event_evaluations e join events_with_status v on v.organization_id = e.organization_id and v.id = e.event_id
    -- The versions evaluated are the event's rule set's (0038).
    join evaluated_rule_sets s on s.organization_id = e.organization_id and s.id = e.rule_set_id
    cross join lateral unnest(s.rule_history_ids, array(select jsonb_array_elements(e.outcomes::jsonb)))
      as o0 (rule_history_id, outcome)
    -- An outcome's rule is its rule version's (0030 stores the versions only).
    join rule_history h on h.organization_id = e.organization_id and h.id = o0.rule_history_id
    -- A stored outcome leaves out the status its reason implies: MATCHED has no reason, NOT_MATCHED has one.
    cross join lateral (select h.rule_id, coalesce(o0.outcome->>'status',
      case when o0.outcome ? 'reason' then 'NOT_MATCHED' else 'MATCHED' end) as status) as o
    where v.status = 'COMPLETED' and v.program_id = ${program}
    group by o.rule_id, o.status`.execute(database.handle.db);
  return rows;
}

async function unfinishedEvents(): Promise<number> {
  const { rows } = await sql<{ unfinished: string }>`
    select count(*)::text as unfinished from events_with_status where status <> 'COMPLETED'`.execute(
    database.handle.db,
  );
  return Number(rows[0]?.unfinished);
}
