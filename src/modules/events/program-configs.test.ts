// Rules and tiers are kept between claims while their program's config_version stays the same: every
// change of a rule, a tier or a tier level, through the API or any other writer, renews it, and the
// next claim reads them again.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildTestApp,
  createLedgerFixture,
  startTestWorkers,
  type Tenant,
  type TestApp,
} from '../../../test/harness.js';
import type { EventWorkers } from './index.js';
import { programConfig } from './program-configs.js';

let t: TestApp;
let acme: Tenant;
let programId: string;
let assetId: string;
let ruleId: string;
let workers: EventWorkers;
let sequence = 0;

beforeAll(async () => {
  t = await buildTestApp();
  acme = await t.createOrganization();
  ({ programId, assetId } = await createLedgerFixture(acme, { scale: 0 }));
  const rule = await acme.request('POST', '/v1/rules', {
    program_id: programId,
    name: 'Earn',
    condition: 'event.type == "purchase"',
    actions: [
      { type: 'CREDIT', asset_id: assetId, amount: 'event.amount' },
      { type: 'COUNTER', key: 'spend', value: 'event.amount' },
    ],
  });
  expect(rule.statusCode, rule.body).toBe(201);
  ruleId = rule.json().id;
  workers = startTestWorkers(t);
});

afterAll(async () => {
  await workers.stop();
});

async function purchase(externalId: string, amount: number) {
  sequence += 1;
  const accepted = await acme.request('POST', '/v1/events', {
    program_id: programId,
    external_id: externalId,
    idempotency_key: `kept-${sequence}`,
    event_timestamp: new Date().toISOString(),
    event_data: { type: 'purchase', amount },
  });
  expect(accepted.statusCode, accepted.body).toBe(202);
  for (let attempt = 0; attempt < 400; attempt += 1) {
    const event = (await acme.request('GET', `/v1/events/${accepted.json().id}`)).json();
    if (event.status === 'COMPLETED') return event;
    expect(event.status).not.toBe('FAILED');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('the event was not processed');
}

async function balanceOf(externalId: string): Promise<string | undefined> {
  const found = (await acme.request('GET', `/v1/participants?external_id=${externalId}`)).json().data[0];
  const participant = (await acme.request('GET', `/v1/participants/${found.id}`)).json();
  return participant.balances.find((balance: { asset_id: string }) => balance.asset_id === assetId)
    ?.available;
}

async function levelOf(externalId: string): Promise<string | null | undefined> {
  const found = (await acme.request('GET', `/v1/participants?external_id=${externalId}`)).json().data[0];
  const tiers = (
    await acme.request('GET', `/v1/participants/${found.id}/state/tiers?program_id=${programId}`)
  ).json().data;
  return tiers.find((tier: { key: string }) => tier.key === 'status')?.level;
}

const configVersion = async () =>
  (
    await sql<{
      config_version: string;
    }>`select config_version from programs where id = ${programId}`.execute(t.database.handle.db)
  ).rows[0]?.config_version;

describe("a program's rules and tiers kept between claims", () => {
  it('apply a rule changed through the API from the next event on', async () => {
    await purchase('ana', 10);
    expect(await balanceOf('ana')).toBe('10');
    const before = await configVersion();
    const patched = await acme.request('PATCH', `/v1/rules/${ruleId}`, {
      actions: [
        { type: 'CREDIT', asset_id: assetId, amount: 'event.amount * 2' },
        { type: 'COUNTER', key: 'spend', value: 'event.amount' },
      ],
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(await configVersion()).not.toBe(before);
    await purchase('ana', 10);
    expect(await balanceOf('ana')).toBe('30');
  });

  it('apply a rule changed by a statement outside the API from the next event on', async () => {
    await purchase('ben', 5);
    expect(await balanceOf('ben')).toBe('10');
    await sql`update rules set status = 'SUSPENDED' where id = ${ruleId}`.execute(t.database.handle.db);
    await purchase('ben', 5);
    expect(await balanceOf('ben')).toBe('10');
    await sql`update rules set status = 'ACTIVE' where id = ${ruleId}`.execute(t.database.handle.db);
    await purchase('ben', 5);
    expect(await balanceOf('ben')).toBe('20');
  });

  it('qualify with a tier created, then with a level added, from the next event on', async () => {
    await purchase('cy', 60);
    expect(await levelOf('cy')).toBeUndefined();
    const created = await acme.request('POST', `/v1/programs/${programId}/tiers`, {
      key: 'status',
      levels: [
        { key: 'member', rank: 0 },
        {
          key: 'silver',
          rank: 1,
          qualification: { mode: 'ALL', criteria: [{ counter: 'spend', operator: '>=', threshold: 50 }] },
        },
      ],
    });
    expect(created.statusCode, created.body).toBe(201);
    await purchase('cy', 1);
    expect(await levelOf('cy')).toBe('silver');
    const before = await configVersion();
    const patched = await acme.request('PATCH', `/v1/programs/${programId}/tiers/status`, {
      levels: [
        {
          key: 'gold',
          rank: 2,
          qualification: { mode: 'ALL', criteria: [{ counter: 'spend', operator: '>=', threshold: 100 }] },
        },
      ],
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(await configVersion()).not.toBe(before);
    await purchase('cy', 40);
    expect(await levelOf('cy')).toBe('gold');
  });

  it('cap with a budget, and not without it, from the next event on, whoever adds or removes it', async () => {
    const db = t.database.handle.db;
    const budgeted = await acme.request('PATCH', `/v1/rules/${ruleId}`, {
      budgets: [{ asset_id: assetId, limit: '25' }],
    });
    expect(budgeted.statusCode, budgeted.body).toBe(200);
    await purchase('dee', 10);
    await purchase('dee', 10);
    // The rule doubles: 20 paid, then a second 20 would pass the budget of 25, so it is not paid.
    expect(await balanceOf('dee')).toBe('20');
    const saved = await sql<{ row: unknown }>`select to_jsonb(b) as row from rule_budgets b
      where rule_id = ${ruleId}`.execute(db);
    await sql`delete from rule_budgets where rule_id = ${ruleId}`.execute(db);
    // Read again whatever renews the version: the rule is now kept as one without budgets.
    await sql`update rules set updated_at = now() where id = ${ruleId}`.execute(db);
    await purchase('dee', 10);
    expect(await balanceOf('dee')).toBe('40');
    await sql`insert into rule_budgets
      select * from jsonb_populate_record(null::rule_budgets, ${JSON.stringify(saved.rows[0]?.row)}::jsonb)`.execute(
      db,
    );
    await purchase('dee', 10);
    expect(await balanceOf('dee')).toBe('40');
  });

  it('are read once for a version and again for another', async () => {
    const db = t.database.handle.db;
    const { organizationId } = acme;
    const version = await configVersion();
    expect(version).toBeDefined();
    const first = await programConfig(db, organizationId, programId, version ?? '');
    expect(await programConfig(db, organizationId, programId, version ?? '')).toBe(first);
    const other = await programConfig(db, organizationId, programId, '0190d5a0-0000-7000-8000-000000000000');
    expect(other).not.toBe(first);
    expect(other.rules.map((rule) => rule.id)).toEqual([ruleId]);
    expect(other.tiers.map(({ tier }) => tier.key)).toEqual(['status']);
  });
});
