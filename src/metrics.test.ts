import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildTestApp,
  createLedgerFixture,
  type LedgerFixture,
  startTestWorkers,
  type Tenant,
  type TestApp,
  testWebhookSettings,
} from '../test/harness.js';
import { buildApp } from './app.js';
import type { EventWorkers } from './modules/events/index.js';
import { createLogger } from './platform/logger.js';

let t: TestApp;
let acme: Tenant;
let fixture: LedgerFixture;
let workers: EventWorkers;

beforeAll(async () => {
  t = await buildTestApp();
  acme = await t.createOrganization();
  fixture = await createLedgerFixture(acme);
  for (const [name, condition] of [
    ['Earn', 'true'],
    ['Broken', '1 / (int(event.n) - 2) > 0'],
  ]) {
    const rule = await acme.request('POST', '/v1/rules', {
      program_id: fixture.programId,
      name,
      condition,
      actions: [{ type: 'CREDIT', asset_id: fixture.assetId, amount: '10' }],
    });
    expect(rule.statusCode, rule.body).toBe(201);
  }
  workers = startTestWorkers(t);
});

afterAll(async () => {
  await workers.stop();
});

async function scrape(app = t.app): Promise<string> {
  const response = await app.inject({ method: 'GET', url: '/metrics' });
  expect(response.statusCode).toBe(200);
  expect(response.headers['content-type']).toContain('text/plain');
  return response.body;
}

/** The value of one series, e.g. `accrue_events_finished_total{outcome="completed"}`; 0 when absent. */
function seriesValue(text: string, series: string): number {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

async function sendEvents(count: number, prefix: string): Promise<void> {
  for (let index = 0; index < count; index += 1) {
    const response = await acme.request('POST', '/v1/events', {
      program_id: fixture.programId,
      external_id: `metrics-${prefix}-${index}`,
      idempotency_key: `metrics-${prefix}-${index}`,
      event_timestamp: '2026-01-15T10:30:00Z',
      event_data: { n: 2 },
    });
    expect(response.statusCode, response.body).toBe(202);
  }
}

async function waitForFinished(before: number, count: number): Promise<string> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const text = await scrape();
    if (seriesValue(text, 'accrue_events_finished_total{outcome="completed"}') >= before + count) return text;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the events were not applied');
}

describe('GET /metrics', () => {
  it('counts ingested and applied events, rule errors and ledger entries as they happen', async () => {
    const before = await scrape();
    const completedBefore = seriesValue(before, 'accrue_events_finished_total{outcome="completed"}');
    await sendEvents(5, 'a');
    // A replay of a stored key is not a new event.
    await sendEvents(1, 'a');
    const after = await waitForFinished(completedBefore, 5);

    expect(
      seriesValue(after, 'accrue_events_ingested_total') -
        seriesValue(before, 'accrue_events_ingested_total'),
    ).toBe(5);
    expect(
      seriesValue(after, 'accrue_rule_evaluation_problems_total{kind="error"}') -
        seriesValue(before, 'accrue_rule_evaluation_problems_total{kind="error"}'),
    ).toBe(5);
    expect(seriesValue(after, 'accrue_event_processing_lag_seconds_count')).toBeGreaterThanOrEqual(5);
    // One credit per event, from the rule that matched.
    expect(seriesValue(after, 'accrue_ledger_entries') - seriesValue(before, 'accrue_ledger_entries')).toBe(
      5,
    );
    expect(seriesValue(after, 'accrue_event_queue_depth')).toBe(0);
    expect(seriesValue(after, 'accrue_event_queue_oldest_age_seconds')).toBe(0);
  });

  it('reads the queue depth and the oldest pending age when scraped', async () => {
    await workers.stop();
    try {
      await sendEvents(3, 'queued');
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const text = await scrape();
      expect(seriesValue(text, 'accrue_event_queue_depth')).toBe(3);
      expect(seriesValue(text, 'accrue_event_queue_oldest_age_seconds')).toBeGreaterThanOrEqual(1);
    } finally {
      workers = startTestWorkers(t);
    }
    const before = await scrape();
    await waitForFinished(seriesValue(before, 'accrue_events_finished_total{outcome="completed"}'), 3);
  });

  it('times requests by route template and status, with no organization id or key in any label', async () => {
    await acme.request('GET', `/v1/participants/${fixture.participantId}`);
    await acme.request('GET', '/v1/participants/00000000-0000-7000-8000-000000000000');
    const text = await scrape();
    expect(
      seriesValue(
        text,
        'accrue_http_request_duration_seconds_count{method="GET",route="/v1/participants/:id",status_code="200"}',
      ),
    ).toBeGreaterThanOrEqual(1);
    expect(
      seriesValue(
        text,
        'accrue_http_request_duration_seconds_count{method="GET",route="/v1/participants/:id",status_code="404"}',
      ),
    ).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain(acme.organizationId);
    expect(text).not.toContain(fixture.participantId);
    expect(text).not.toContain(acme.key);
  });

  it('shows the pool, the jobs and the process', async () => {
    const text = await scrape();
    expect(text).toContain('accrue_db_pool_connections{state="total"}');
    expect(text).toContain('accrue_db_pool_connections{state="waiting"}');
    expect(text).toContain('# TYPE accrue_job_run_duration_seconds histogram');
    expect(text).toContain('# TYPE accrue_webhook_delivery_attempts_total counter');
    expect(seriesValue(text, 'accrue_process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('needs no key, and is not served when turned off', async () => {
    const off = await buildApp({
      db: t.database.handle.db,
      clock: t.testClock.clock,
      logger: createLogger('silent'),
      version: 'test',
      rateLimit: { ratePerSecond: 0, burst: 1 },
      webhooks: testWebhookSettings(),
      metrics: false,
    });
    try {
      expect((await off.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(404);
    } finally {
      await off.close();
    }
  });
});
