import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type Tenant, type TestApp } from '../../../test/harness.js';
import type { Database } from '../../platform/db/database.js';
import {
  actionsPerRuleMax,
  attributeValueLengthMax,
  budgetsPerRuleMax,
  celExpressionBytesMax,
  countersPerOwnerMax,
  eventDataBytesMax,
  rulesPerProgramMax,
  tagsPerParticipantMax,
} from '../../platform/limits.js';
import { consumeRuleBudgets, evaluateRules, loadActiveRules } from './index.js';

let t: TestApp;
let acme: Tenant;
let other: Tenant;

/** An id no resource of any organization has. */
const unknownId = '0192b000-0000-7000-8000-00000000a001';
/** acme's asset (scale 0, symbol POINTS) that actions name. */
let points: string;
/** Linked to every program createProgram makes for acme, as rules' actions need. */
const linkedAssets: string[] = [];
/** Real assets of acme: scale 2 and scale 0. */
let pts: string;
let usd: string;

beforeAll(async () => {
  t = await buildTestApp();
  acme = await t.createOrganization();
  other = await t.createOrganization();
  const programId = await createProgram();
  pts = await createAsset(programId, 2);
  usd = await createAsset(programId, 0);
  points = await createAsset(programId, 0, acme, 'POINTS');
  linkedAssets.push(pts, usd, points);
});

async function createProgram(tenant: Tenant = acme): Promise<string> {
  const response = await tenant.request('POST', '/v1/programs', { name: 'Cashback' });
  const programId = response.json().id;
  for (const assetId of tenant === acme ? linkedAssets : []) {
    const linked = await acme.request('POST', `/v1/programs/${programId}/assets`, { asset_id: assetId });
    expect(linked.statusCode, linked.body).toBe(200);
  }
  return programId;
}

let assetCount = 0;

async function createAsset(
  programId: string,
  scale: number,
  tenant: Tenant = acme,
  symbol = `A${assetCount + 1}`,
): Promise<string> {
  assetCount += 1;
  const response = await tenant.request('POST', '/v1/assets', {
    program_id: programId,
    name: `Asset ${assetCount}`,
    symbol,
    inventory_mode: 'SIMPLE',
    issuance_policy: 'UNLIMITED',
    scale,
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json().id;
}

const credit = (amount: string) => ({ type: 'CREDIT', asset_id: points, amount });

function ruleBody(programId: string, overrides: Record<string, unknown> = {}) {
  return {
    program_id: programId,
    name: 'Dining 5%',
    condition: 'event.category == "dining"',
    actions: [credit('round(event.amount * 0.05, 2)')],
    ...overrides,
  };
}

async function createRule(programId: string, overrides: Record<string, unknown> = {}, tenant: Tenant = acme) {
  const response = await tenant.request('POST', '/v1/rules', ruleBody(programId, overrides));
  expect(response.statusCode, response.body).toBe(201);
  return response.json();
}

describe('POST /v1/rules', () => {
  it('creates a rule with defaults and auto-assigned orders of max + 10', async () => {
    const programId = await createProgram();
    const first = await createRule(programId, { description: 'dining' });
    expect(first).toMatchObject({
      program_id: programId,
      name: 'Dining 5%',
      description: 'dining',
      order: 10,
      status: 'ACTIVE',
      stop_after_match: false,
      active_from: null,
      active_to: null,
      budgets: [],
      deleted_at: null,
    });
    const explicit = await createRule(programId, { order: 500 });
    expect(explicit.order).toBe(500);
    expect((await createRule(programId)).order).toBe(510);
    const got = (await acme.request('GET', `/v1/rules/${first.id}`)).json();
    expect(got).toEqual({
      ...first,
      error_stats: { since: expect.any(String), recent_count: 0, last_error: null, last_error_at: null },
    });
  });

  it('answers 409 when two ACTIVE rules of a program would share an order, but not for SUSPENDED ones', async () => {
    const programId = await createProgram();
    await createRule(programId, { order: 100 });
    const clash = await acme.request('POST', '/v1/rules', ruleBody(programId, { order: 100 }));
    expect(clash.statusCode).toBe(409);
    expect(clash.json()).toMatchObject({ code: 'conflict', details: { field: 'order' } });
    await createRule(programId, { order: 100, status: 'SUSPENDED' });
    const otherProgram = await createProgram();
    await createRule(otherProgram, { order: 100 });
  });

  it('gives concurrent creates without an order distinct orders', async () => {
    const programId = await createProgram();
    const responses = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        acme.request('POST', '/v1/rules', ruleBody(programId, { name: `c${i}` })),
      ),
    );
    expect(responses.map((r) => r.statusCode)).toEqual([201, 201, 201, 201]);
    expect(new Set(responses.map((r) => r.json().order)).size).toBe(4);
  });

  it('refuses a condition that does not parse or type as bool, pointing at the position', async () => {
    const programId = await createProgram();
    const cases: [string, RegExp][] = [
      ['event.amount > ', /^condition: line 1, column 14: syntax error/],
      ['event.amount * 2', /must evaluate to bool/],
      ['evnt.amount > 1', /line 1, column 1: unknown variable 'evnt'/],
      ['x'.repeat(4097), /4097 bytes; the limit is 4096/],
    ];
    for (const [condition, message] of cases) {
      const response = await acme.request('POST', '/v1/rules', ruleBody(programId, { condition }));
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ code: 'bad_request', details: { field: 'condition' } });
      expect(response.json().message).toMatch(message);
    }
  });

  it('accepts every action type with its fields and refuses misplaced or missing fields', async () => {
    const programId = await createProgram();
    const actions = [
      { type: 'CREDIT', asset_id: points, amount: '10', bucket: 'HELD', reference_id: 'event.order_id' },
      { type: 'CREDIT', asset_id: points, amount: 'event.amount', matures_at: '720h', expires_at: '8760h' },
      { type: 'DEBIT', asset_id: points, amount: '5', allow_negative: true, description: 'clawback' },
      { type: 'HOLD', asset_id: points, amount: '3', reference_id: 'event.order_id' },
      { type: 'RELEASE', asset_id: points, amount: '3', reference_id: 'event.order_id' },
      { type: 'FORFEIT', asset_id: points, amount: '1', bucket: 'HELD' },
      { type: 'VOID_HOLD', asset_id: points, reference_id: 'event.order_id' },
      { type: 'TAG', tag: 'milestone', target: { type: 'PROGRAM' } },
      { type: 'UNTAG', tag: 'new' },
      { type: 'COUNTER', key: 'streak', value: '1', reset_after: '48h' },
      { type: 'SET_ATTRIBUTE', key: 'tier_hint', value: 'gold' },
      { type: 'SET_TIER', tier: 'loyalty', level: 'gold' },
      { type: 'SCHEDULE_EVENT', event_name: 'check_status', delay: '24h', payload: { step: 2 } },
      { type: 'BROADCAST', event_name: 'flash_sale', payload: { pct: 10 } },
      {
        type: 'CREDIT',
        asset_id: points,
        amount: '500',
        target: { type: 'PARTICIPANT', external_id: 'event.referrer_id' },
      },
    ];
    const rule = await createRule(programId, { actions });
    expect(rule.actions).toEqual(actions);
    const refusals: [Record<string, unknown>, string][] = [
      [{ type: 'CREDIT', asset_id: points }, 'actions[0].amount'],
      [{ type: 'TAG', tag: 'x', asset_id: points }, 'actions[0].asset_id'],
      [{ type: 'COUNTER', key: 'k', value: 'event.' }, 'actions[0].value'],
      [
        {
          type: 'CREDIT',
          asset_id: points,
          amount: '1',
          target: { type: 'PARTICIPANT', external_id: 'referrer(' },
        },
        'actions[0].target.external_id',
      ],
      [{ type: 'SCHEDULE_EVENT', event_name: 'x', delay: 'tomorrow' }, 'actions[0].delay'],
      [{ type: 'SET_TIER', tier: 'loyalty' }, 'actions[0].level'],
      [{ type: 'TELEPORT' }, 'actions[0].type'],
    ];
    for (const [action, field] of refusals) {
      const response = await acme.request('POST', '/v1/rules', ruleBody(programId, { actions: [action] }));
      expect(response.statusCode, JSON.stringify(action)).toBe(400);
      expect(response.json().details.field).toBe(field);
    }
    const none = await acme.request('POST', '/v1/rules', ruleBody(programId, { actions: [] }));
    expect(none.json().details.field).toBe('actions');
  });

  it(`accepts ${actionsPerRuleMax} actions and refuses ${actionsPerRuleMax + 1}`, async () => {
    const programId = await createProgram();
    const actions = (n: number) => Array.from({ length: n }, (_, i) => ({ type: 'TAG', tag: `t${i}` }));
    await createRule(programId, { actions: actions(actionsPerRuleMax) });
    const response = await acme.request(
      'POST',
      '/v1/rules',
      ruleBody(programId, { actions: actions(actionsPerRuleMax + 1) }),
    );
    expect(response.statusCode).toBe(400);
    expect(response.json().details.field).toBe('actions');
  });

  it(`accepts ${rulesPerProgramMax} rules in a program and refuses one more`, async () => {
    const programId = await createProgram();
    for (let i = 0; i < rulesPerProgramMax; i += 1) await createRule(programId, { name: `r${i}` });
    const response = await acme.request('POST', '/v1/rules', ruleBody(programId));
    expect(response.statusCode).toBe(409);
    expect(response.json().message).toContain(`at most ${rulesPerProgramMax}`);
  });

  it('validates the active window and budgets', async () => {
    const programId = await createProgram();
    const backwards = await acme.request(
      'POST',
      '/v1/rules',
      ruleBody(programId, { active_from: '2026-02-01T00:00:00Z', active_to: '2026-01-01T00:00:00Z' }),
    );
    expect(backwards.json()).toMatchObject({ code: 'bad_request', details: { field: 'active_to' } });
    const budgetCases: [unknown, string][] = [
      [[{ asset_id: pts, limit: '10', schedule_type: 'CRON' }], 'budgets[0].cron_expression'],
      [
        [{ asset_id: pts, limit: '10', schedule_type: 'CRON', cron_expression: '61 * * * *' }],
        'budgets[0].cron_expression',
      ],
      [
        [{ asset_id: pts, limit: '10', schedule_type: 'INTERVAL', interval: 'weekly' }],
        'budgets[0].interval',
      ],
      [[{ asset_id: pts, limit: '10', interval: '24h' }], 'budgets[0].interval'],
      [
        [
          { asset_id: pts, limit: '10' },
          { asset_id: pts, limit: '5' },
        ],
        'budgets[1].asset_id',
      ],
      [[{ asset_id: pts, limit: '-1' }], 'budgets[0].limit'],
      [[{ asset_id: pts, limit: '01' }], 'budgets[0].limit'],
    ];
    for (const [budgets, field] of budgetCases) {
      const response = await acme.request('POST', '/v1/rules', ruleBody(programId, { budgets }));
      expect(response.statusCode, JSON.stringify(budgets)).toBe(400);
      expect(response.json().details.field).toBe(field);
    }
    const listed = await acme.request('GET', `/v1/rules?program_id=${programId}`);
    expect(listed.json().data).toEqual([]);
  });

  it('shows limit and consumed at the asset scale, and refuses a limit finer than the scale', async () => {
    const programId = await createProgram();
    const rule = await createRule(programId, {
      budgets: [
        { asset_id: pts, limit: '60' },
        { asset_id: usd, limit: '7.000' },
      ],
    });
    expect(rule.budgets).toMatchObject([
      { asset_id: pts, limit: '60.00', consumed: '0.00' },
      { asset_id: usd, limit: '7', consumed: '0' },
    ]);
    expect((await acme.request('GET', `/v1/rules/${rule.id}`)).json().budgets).toEqual(rule.budgets);
    const listed = (await acme.request('GET', `/v1/rules?program_id=${programId}`)).json();
    expect(listed.data[0].budgets).toEqual(rule.budgets);
    const tooFine = await acme.request(
      'POST',
      '/v1/rules',
      ruleBody(programId, { budgets: [{ asset_id: pts, limit: '0.001' }] }),
    );
    expect(tooFine.statusCode).toBe(400);
    expect(tooFine.json()).toMatchObject({ code: 'invalid_scale', details: { field: 'budgets[0].limit' } });
    const patched = await acme.request('PATCH', `/v1/rules/${rule.id}`, {
      budgets: [{ asset_id: pts, limit: '60.5' }],
    });
    expect(patched.json().budgets).toMatchObject([{ asset_id: pts, limit: '60.50', consumed: '0.00' }]);
    const finer = await acme.request('PATCH', `/v1/rules/${rule.id}`, {
      budgets: [{ asset_id: usd, limit: '0.5' }],
    });
    expect(finer.json()).toMatchObject({ code: 'invalid_scale', details: { field: 'budgets[0].limit' } });
    expect((await acme.request('GET', `/v1/rules/${rule.id}`)).json().budgets).toEqual(
      patched.json().budgets,
    );
  });

  it("answers 404 for a budget of an unknown asset or another organization's asset", async () => {
    const programId = await createProgram();
    const foreignAsset = await createAsset(await createProgram(other), 2, other);
    for (const assetId of [unknownId, foreignAsset]) {
      const budgets = [
        { asset_id: pts, limit: '10' },
        { asset_id: assetId, limit: '10' },
      ];
      const response = await acme.request('POST', '/v1/rules', ruleBody(programId, { budgets }));
      expect(response.statusCode).toBe(404);
      expect(response.json()).toMatchObject({ code: 'not_found', message: 'asset of budgets[1] not found' });
    }
    const rule = await createRule(programId);
    const patched = await acme.request('PATCH', `/v1/rules/${rule.id}`, {
      budgets: [{ asset_id: foreignAsset, limit: '10' }],
    });
    expect(patched.statusCode).toBe(404);
    expect((await acme.request('GET', `/v1/rules?program_id=${programId}`)).json().data).toEqual([rule]);
  });

  it('refuses an action asset that is unknown, not linked to the program or archived, naming actions[i].asset_id', async () => {
    const programId = await createProgram();
    const unlinked = await createAsset(await createProgram(), 0);
    const archived = await createAsset(programId, 0);
    await acme.request('PATCH', `/v1/assets/${archived}`, { status: 'ARCHIVED' });
    const foreignAsset = await createAsset(await createProgram(other), 0, other);
    const rule = await createRule(programId);
    const cases: [string, number, Record<string, unknown>][] = [
      [unknownId, 404, { code: 'not_found', message: 'asset of actions[1] not found' }],
      [foreignAsset, 404, { code: 'not_found', message: 'asset of actions[1] not found' }],
      [
        unlinked,
        422,
        { code: 'asset_not_linked', details: { field: 'actions[1].asset_id', reason: 'not_linked' } },
      ],
      [archived, 409, { code: 'asset_archived' }],
    ];
    for (const [assetId, status, error] of cases) {
      const actions = [credit('1'), { type: 'DEBIT', asset_id: assetId, amount: '1' }];
      const created = await acme.request('POST', '/v1/rules', ruleBody(programId, { actions }));
      expect(created.statusCode, assetId).toBe(status);
      expect(created.json()).toMatchObject(error);
      const patched = await acme.request('PATCH', `/v1/rules/${rule.id}`, { actions });
      expect(patched.statusCode, assetId).toBe(status);
      expect(patched.json()).toMatchObject(error);
    }
    expect((await acme.request('GET', `/v1/rules?program_id=${programId}`)).json().data).toEqual([rule]);
  });

  it("answers 404 for another organization's program and 409 for an archived program", async () => {
    const foreign = await createProgram(other);
    const response = await acme.request('POST', '/v1/rules', ruleBody(foreign));
    expect(response.statusCode).toBe(404);
    const archived = await createProgram();
    await acme.request('PATCH', `/v1/programs/${archived}`, { status: 'ARCHIVED' });
    expect((await acme.request('POST', '/v1/rules', ruleBody(archived))).statusCode).toBe(409);
  });

  it('answers 401 without a key', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/v1/rules', payload: {} });
    expect(response.statusCode).toBe(401);
  });
});

describe('limits', () => {
  it(`accepts a condition of ${celExpressionBytesMax} bytes and refuses one more`, async () => {
    const programId = await createProgram();
    const padding = 'x'.repeat(celExpressionBytesMax - 'event.a == ""'.length);
    await createRule(programId, { condition: `event.a == "${padding}"` });
    const response = await acme.request(
      'POST',
      '/v1/rules',
      ruleBody(programId, { condition: `event.a == "${padding}x"` }),
    );
    expect(response.statusCode).toBe(400);
    expect(response.json().details.field).toBe('condition');
  });

  it(`accepts ${budgetsPerRuleMax} budgets and refuses ${budgetsPerRuleMax + 1}`, async () => {
    const programId = await createProgram();
    const assets: string[] = [];
    for (let i = 0; i <= budgetsPerRuleMax; i += 1) assets.push(await createAsset(programId, 2));
    const budgets = (n: number) => assets.slice(0, n).map((assetId) => ({ asset_id: assetId, limit: '10' }));
    expect((await createRule(programId, { budgets: budgets(budgetsPerRuleMax) })).budgets).toHaveLength(
      budgetsPerRuleMax,
    );
    const response = await acme.request(
      'POST',
      '/v1/rules',
      ruleBody(programId, { budgets: budgets(budgetsPerRuleMax + 1) }),
    );
    expect(response.json()).toMatchObject({ code: 'bad_request', details: { field: 'budgets' } });
  });

  it('pages rule history up to 100 a page, filtered by time', async () => {
    const rule = await createRule(await createProgram());
    for (let i = 0; i < 3; i += 1) await acme.request('PATCH', `/v1/rules/${rule.id}`, { name: `v${i}` });
    expect((await acme.request('GET', `/v1/rules/${rule.id}/history?limit=100`)).json().data).toHaveLength(4);
    expect((await acme.request('GET', `/v1/rules/${rule.id}/history?limit=101`)).statusCode).toBe(400);
    const page = (await acme.request('GET', `/v1/rules/${rule.id}/history?limit=3`)).json();
    expect(page.data.map((h: { snapshot: { name: string } }) => h.snapshot.name)).toEqual(['v2', 'v1', 'v0']);
    const rest = (
      await acme.request('GET', `/v1/rules/${rule.id}/history?limit=3&cursor=${page.pagination.next_cursor}`)
    ).json();
    expect(rest.data.map((h: { change_type: string }) => h.change_type)).toEqual(['created']);
    const future = (
      await acme.request('GET', `/v1/rules/${rule.id}/history?from=2999-01-01T00:00:00Z`)
    ).json();
    expect(future.data).toEqual([]);
    const past = (await acme.request('GET', `/v1/rules/${rule.id}/history?to=2000-01-01T00:00:00Z`)).json();
    expect(past.data).toEqual([]);
    const ascending = (await acme.request('GET', `/v1/rules/${rule.id}/history?sort_dir=asc&limit=1`)).json();
    expect(ascending.data[0].change_type).toBe('created');
  });
});

describe('GET /v1/rules', () => {
  it('lists in evaluation order by default, with every filter and stable pages', async () => {
    const programId = await createProgram();
    await createRule(programId, { name: 'base 1%', order: 1000 });
    const vip = await createRule(programId, { name: 'vip override', order: 100 });
    await createRule(programId, { name: 'groceries 3%', order: 200, status: 'SUSPENDED' });
    const archived = await createRule(programId, { name: 'old promo', order: 300 });
    await acme.request('PATCH', `/v1/rules/${archived.id}`, { status: 'ARCHIVED' });
    const names = async (query: string) =>
      (await acme.request('GET', `/v1/rules?program_id=${programId}&${query}`))
        .json()
        .data.map((r: { name: string }) => r.name);
    expect(await names('')).toEqual(['vip override', 'groceries 3%', 'base 1%']);
    expect(await names('include_archived=true')).toEqual([
      'vip override',
      'groceries 3%',
      'old promo',
      'base 1%',
    ]);
    expect(await names('status=SUSPENDED')).toEqual(['groceries 3%']);
    expect(await names('status=ARCHIVED')).toEqual(['old promo']);
    expect(await names('search=OVERRIDE')).toEqual(['vip override']);
    expect(await names('sort_by=name&sort_dir=desc')).toEqual(['vip override', 'groceries 3%', 'base 1%']);
    expect(await names('sort_by=created_at&sort_dir=asc')).toEqual([
      'base 1%',
      'vip override',
      'groceries 3%',
    ]);
    expect(await names('sort_by=order&sort_dir=desc')).toEqual(['base 1%', 'groceries 3%', 'vip override']);
    const first = (await acme.request('GET', `/v1/rules?program_id=${programId}&limit=2`)).json();
    expect(first.data[0].id).toBe(vip.id);
    const second = (
      await acme.request(
        'GET',
        `/v1/rules?program_id=${programId}&limit=2&cursor=${first.pagination.next_cursor}`,
      )
    ).json();
    expect(second.data.map((r: { name: string }) => r.name)).toEqual(['base 1%']);
    expect(second.pagination).toEqual({ has_more: false, next_cursor: null });
    const bad = await acme.request('GET', `/v1/rules?sort_by=name&cursor=${first.pagination.next_cursor}`);
    expect(bad.json().code).toBe('invalid_cursor');
  });

  it("never shows another organization's rules", async () => {
    const programId = await createProgram(other);
    const foreign = await createRule(programId, { actions: [{ type: 'TAG', tag: 'x' }] }, other);
    const listed = (await acme.request('GET', `/v1/rules?program_id=${programId}`)).json();
    expect(listed.data).toEqual([]);
    for (const [method, url, body] of [
      ['GET', `/v1/rules/${foreign.id}`, undefined],
      ['PATCH', `/v1/rules/${foreign.id}`, { name: 'mine' }],
      ['GET', `/v1/rules/${foreign.id}/history`, undefined],
      ['POST', `/v1/rules/${foreign.id}/simulate`, { event: {} }],
      ['POST', `/v1/rules/${foreign.id}/reset-budget?asset_id=${points}`, undefined],
    ] as const) {
      const response = await acme.request(method, url, body);
      expect(response.statusCode, url).toBe(404);
      expect(response.json().code).toBe('not_found');
    }
  });
});

describe('PATCH /v1/rules/{id}', () => {
  it('updates partially, replaces budgets, clears the window with null, and records history', async () => {
    const programId = await createProgram();
    const rule = await createRule(programId, {
      active_from: '2026-01-01T00:00:00.000Z',
      active_to: '2026-12-31T00:00:00.000Z',
      budgets: [{ asset_id: pts, limit: '100.00' }],
    });
    const patched = await acme.request('PATCH', `/v1/rules/${rule.id}`, {
      name: 'Dining 6%',
      active_to: null,
      budgets: [{ asset_id: usd, limit: '50', schedule_type: 'INTERVAL', interval: '720h' }],
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({
      name: 'Dining 6%',
      condition: rule.condition,
      active_from: '2026-01-01T00:00:00.000Z',
      active_to: null,
      budgets: [{ asset_id: usd, limit: '50', consumed: '0', schedule_type: 'INTERVAL', interval: '720h' }],
    });
    await acme.request('PATCH', `/v1/rules/${rule.id}`, { status: 'SUSPENDED' });
    await acme.request('PATCH', `/v1/rules/${rule.id}`, { status: 'ACTIVE' });
    const history = (await acme.request('GET', `/v1/rules/${rule.id}/history`)).json();
    expect(history.data.map((h: { change_type: string }) => h.change_type)).toEqual([
      'activated',
      'suspended',
      'updated',
      'created',
    ]);
    const update = history.data[2];
    expect(update.changes).toEqual({
      name: { from: 'Dining 5%', to: 'Dining 6%' },
      active_to: { from: '2026-12-31T00:00:00.000Z', to: null },
      budgets: {
        from: [
          { asset_id: pts, limit: '100.00', schedule_type: null, cron_expression: null, interval: null },
        ],
        to: [
          { asset_id: usd, limit: '50', schedule_type: 'INTERVAL', cron_expression: null, interval: '720h' },
        ],
      },
    });
    expect(update.snapshot).toMatchObject({ id: rule.id, name: 'Dining 6%' });
    expect(update.changed_by_api_key_id).toMatch(/^[0-9a-f-]{36}$/);
    const created = (await acme.request('GET', `/v1/rules/${rule.id}/history?change_type=created`)).json();
    expect(created.data).toHaveLength(1);
    expect(created.data[0].snapshot.name).toBe('Dining 5%');
  });

  it('writes no version for a change that changes nothing, and refuses an empty body', async () => {
    const rule = await createRule(await createProgram());
    await acme.request('PATCH', `/v1/rules/${rule.id}`, { name: rule.name });
    expect((await acme.request('GET', `/v1/rules/${rule.id}/history`)).json().data).toHaveLength(1);
    expect((await acme.request('PATCH', `/v1/rules/${rule.id}`, {})).statusCode).toBe(400);
  });

  it('answers 409 for an order clash, an archived rule and a rule of an archived program', async () => {
    const programId = await createProgram();
    await createRule(programId, { order: 10 });
    const second = await createRule(programId, { order: 20 });
    const clash = await acme.request('PATCH', `/v1/rules/${second.id}`, { order: 10 });
    expect(clash.statusCode).toBe(409);
    await acme.request('PATCH', `/v1/rules/${second.id}`, { status: 'ARCHIVED' });
    const archived = await acme.request('PATCH', `/v1/rules/${second.id}`, { name: 'revived' });
    expect(archived.statusCode).toBe(409);
    const third = await createRule(programId, { order: 30 });
    await acme.request('PATCH', `/v1/programs/${programId}`, { status: 'ARCHIVED' });
    const ofArchivedProgram = await acme.request('PATCH', `/v1/rules/${third.id}`, { name: 'x' });
    expect(ofArchivedProgram.statusCode).toBe(409);
  });

  it('compiles a new condition and refuses a bad one', async () => {
    const rule = await createRule(await createProgram());
    const response = await acme.request('PATCH', `/v1/rules/${rule.id}`, { condition: '"text"' });
    expect(response.json()).toMatchObject({ code: 'bad_request', details: { field: 'condition' } });
    const unknownRule = await acme.request('PATCH', `/v1/rules/${unknownId}`, { name: 'x' });
    expect(unknownRule.statusCode).toBe(404);
  });
});

describe('POST /v1/rules/validate', () => {
  it('answers valid with a note, or invalid with a positioned message', async () => {
    const ok = (
      await acme.request('POST', '/v1/rules/validate', { condition: 'event.amount > 100.0' })
    ).json();
    expect(ok).toMatchObject({ valid: true, message: 'CEL condition is valid' });
    expect(ok.note).toContain('not checked against any event schema');
    const bad = (await acme.request('POST', '/v1/rules/validate', { condition: 'event.amount = 1' })).json();
    expect(bad.valid).toBe(false);
    expect(bad.message).toMatch(/^line 1, column 14: syntax error/);
    expect(bad.note).toBeUndefined();
    const notBool = (
      await acme.request('POST', '/v1/rules/validate', { condition: 'size(event.items)' })
    ).json();
    expect(notBool).toMatchObject({ valid: false, message: expect.stringMatching(/evaluates to an int/) });
  });

  it('checks a whole draft and lists every problem with its field, writing nothing', async () => {
    const programId = await createProgram();
    const unlinked = await createAsset(await createProgram(), 0);
    const draft = {
      program_id: programId,
      name: 'Draft',
      condition: 'event.amount > 1.0',
      actions: [
        credit('1'),
        { type: 'CREDIT', asset_id: points },
        { type: 'DEBIT', asset_id: unlinked, amount: 'event.amount *' },
        { type: 'TAG', tag: 'x', asset_id: points },
        { type: 'DEBIT', asset_id: unknownId, amount: '1' },
      ],
      active_from: '2026-02-01T00:00:00Z',
      active_to: '2026-01-01T00:00:00Z',
      budgets: [{ asset_id: pts, limit: '1.001' }],
    };
    const response = await acme.request('POST', '/v1/rules/validate', draft);
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json();
    expect(body.valid).toBe(false);
    expect(body.note).toBeUndefined();
    expect(body.problems.map((p: { field: string; reason: string }) => [p.field, p.reason])).toEqual([
      ['actions[1].amount', 'required'],
      ['actions[2].amount', 'invalid'],
      ['actions[3].asset_id', 'unknown'],
      ['active_to', 'invalid'],
      ['actions[2].asset_id', 'not_linked'],
      ['actions[4].asset_id', 'not_found'],
      ['budgets[0].limit', expect.any(String)],
    ]);
    expect(body.message).toBe(body.problems[0].message);

    const fixed = {
      ...draft,
      actions: [credit('1'), { type: 'TAG', tag: 'x' }],
      active_to: '2026-03-01T00:00:00Z',
      budgets: [{ asset_id: pts, limit: '1.00' }],
    };
    const valid = (await acme.request('POST', '/v1/rules/validate', fixed)).json();
    expect(valid).toMatchObject({ valid: true, message: 'The draft rule is valid', problems: [] });
    const foreign = await acme.request('POST', '/v1/rules/validate', {
      ...fixed,
      program_id: await createProgram(other),
    });
    expect(foreign.json().problems).toEqual([
      { field: 'program_id', reason: 'not_found', message: 'program not found' },
    ]);
    expect((await acme.request('GET', `/v1/rules?program_id=${programId}`)).json().data).toEqual([]);
  });

  it('answers 400 bad_request naming condition when it is missing, empty, blank or not a string', async () => {
    for (const body of [
      {},
      { condition: '' },
      { condition: ' \n\t' },
      { condition: null },
      { condition: 1 },
    ]) {
      const response = await acme.request('POST', '/v1/rules/validate', body);
      expect({ body, status: response.statusCode }).toEqual({ body, status: 400 });
      expect(response.json()).toMatchObject({ code: 'bad_request', details: { field: 'condition' } });
    }
  });
});

describe('POST /v1/rules/{id}/simulate', () => {
  it('shows each action result of a matched rule and writes nothing', async () => {
    const programId = await createProgram();
    const rule = await createRule(programId, {
      condition: 'event.type == "purchase"',
      actions: [
        credit('event.amount * 10'),
        { type: 'COUNTER', key: 'spend', value: 'event.amount' },
        { type: 'TAG', tag: 'Buyer' },
        { type: 'UNTAG', tag: 'new' },
        { type: 'SET_ATTRIBUTE', key: 'last', value: 'purchase' },
        { type: 'SET_TIER', tier: 'loyalty', level: 'gold' },
        { type: 'VOID_HOLD', asset_id: points, reference_id: '"r1"' },
      ],
    });
    const response = await acme.request('POST', `/v1/rules/${rule.id}/simulate`, {
      event: { type: 'purchase', amount: 75 },
      participant_state: { tags: ['new'], counters: { spend: 340 }, attributes: { last: 'signup' } },
    });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.rule).toEqual({
      id: rule.id,
      name: rule.name,
      condition: rule.condition,
      order: rule.order,
      stop_after_match: false,
    });
    expect(body.evaluation.matched).toBe(true);
    expect(body.evaluation.status).toBe('evaluated');
    expect(body.evaluation.results.map((r: { result: unknown }) => r.result)).toEqual([
      { amount: '750', asset_symbol: 'POINTS', description: 'Credit 750 POINTS to participant' },
      {
        current_value: '340',
        projected_value: '415',
        value: '75',
        description: 'Add 75 to counter spend of participant',
      },
      { current_tags: ['new'], would_add: true, description: 'Add tag buyer to participant' },
      { current_tags: ['new'], would_remove: true, description: 'Remove tag new from participant' },
      {
        current_value: 'signup',
        would_change: true,
        description: 'Set attribute last of participant to "purchase"',
      },
      { description: 'Set tier loyalty of participant to level gold' },
      { description: 'VOID_HOLD cannot be simulated yet' },
    ]);
    expect(body.evaluation.results[0].action).toEqual(credit('event.amount * 10'));
    expect((await acme.request('GET', `/v1/rules/${rule.id}/history`)).json().data).toHaveLength(1);
  });

  it("reads the program's live tags, counters and attributes, as events do", async () => {
    const programId = await createProgram();
    const rule = await createRule(programId, {
      condition:
        '"promo" in program.tags && program.counters.redeemed < 10.0 && program.attributes.season == "summer"',
      actions: [credit('1')],
    });
    const simulate = async () =>
      (await acme.request('POST', `/v1/rules/${rule.id}/simulate`, { event: {} })).json().evaluation;
    expect((await simulate()).matched).toBe(false);
    const state = `/v1/programs/${programId}/state`;
    expect((await acme.request('PUT', `${state}/tags/promo`)).statusCode).toBe(201);
    expect((await acme.request('PUT', `${state}/counters/redeemed`, { value: '3' })).statusCode).toBe(200);
    expect((await acme.request('PUT', `${state}/attributes/season`, { value: 'summer' })).statusCode).toBe(
      200,
    );
    expect(await simulate()).toMatchObject({ matched: true, status: 'evaluated' });
    await acme.request('PUT', `${state}/counters/redeemed`, { value: '10' });
    expect((await simulate()).matched).toBe(false);
  });

  it('answers condition_failed with the reason', async () => {
    const rule = await createRule(await createProgram(), { active_to: '2026-01-01T00:00:00Z' });
    const simulate = (body: unknown) => acme.request('POST', `/v1/rules/${rule.id}/simulate`, body);
    const falseCondition = (
      await simulate({ event: { category: 'travel' }, event_timestamp: '2025-06-01T00:00:00Z' })
    ).json();
    expect(falseCondition.evaluation).toEqual({
      matched: false,
      status: 'condition_failed',
      reason: 'CONDITION_FALSE',
    });
    const missing = (await simulate({ event: {}, event_timestamp: '2025-06-01T00:00:00Z' })).json();
    expect(missing.evaluation).toMatchObject({ matched: false, reason: 'MISSING_FIELD' });
    const late = (
      await simulate({ event: { category: 'dining', amount: 1 }, event_timestamp: '2026-02-01T00:00:00Z' })
    ).json();
    expect(late.evaluation).toMatchObject({ matched: false, reason: 'OUTSIDE_TIME_WINDOW' });
    expect((await simulate({})).statusCode).toBe(400);
  });

  it(`holds the event to ${eventDataBytesMax} bytes of JSON and refuses one more byte naming event`, async () => {
    const rule = await createRule(await createProgram(), {
      condition: 'size(event.text) > 0',
      actions: [credit('1')],
    });
    const simulate = (body: unknown) => acme.request('POST', `/v1/rules/${rule.id}/simulate`, body);
    const eventOfBytes = (bytes: number) => ({ text: 'x'.repeat(bytes - '{"text":""}'.length) });
    const fits = await simulate({ event: eventOfBytes(eventDataBytesMax) });
    expect(fits.statusCode).toBe(200);
    expect(fits.json().evaluation).toMatchObject({ matched: true });
    const over = await simulate({ event: eventOfBytes(eventDataBytesMax + 1) });
    expect(over.statusCode).toBe(400);
    expect(over.json()).toMatchObject({
      code: 'bad_request',
      details: { field: 'event', reason: 'too_large', received: `${eventDataBytesMax + 1} bytes` },
    });
  });

  it(`holds participant_state to a participant's limits: ${countersPerOwnerMax} counters pass, one more does not`, async () => {
    const rule = await createRule(await createProgram());
    const simulate = (body: unknown) => acme.request('POST', `/v1/rules/${rule.id}/simulate`, body);
    const counters = (count: number) =>
      Object.fromEntries(Array.from({ length: count }, (_, n) => [`c${n}`, n]));
    const state = (participant_state: unknown) => simulate({ event: {}, participant_state });
    expect((await state({ counters: counters(countersPerOwnerMax) })).statusCode).toBe(200);
    for (const over of [
      { counters: counters(countersPerOwnerMax + 1) },
      { attributes: { a: 'x'.repeat(attributeValueLengthMax + 1) } },
      { tags: Array.from({ length: tagsPerParticipantMax + 1 }, (_, n) => `t${n}`) },
    ]) {
      const refused = await state(over);
      expect(refused.statusCode, JSON.stringify(Object.keys(over))).toBe(400);
      expect(refused.json()).toMatchObject({ code: 'bad_request' });
    }
  });

  it('answers a hostile condition promptly: size() in a loop over 60,000 characters is cut off by the cost limit', async () => {
    const condition = 'event.list.all(x, size(event.text) > 0)';
    const rule = await createRule(await createProgram(), { condition });
    const started = performance.now();
    const response = await acme.request('POST', `/v1/rules/${rule.id}/simulate`, {
      event: { text: 'a'.repeat(60_000), list: Array.from({ length: 500 }, (_, n) => n) },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json().evaluation).toMatchObject({ matched: false, reason: 'COST_LIMIT_EXCEEDED' });
    // Uncharged, the 500 calls took about 0.5 s; charged, the third one is refused.
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe('POST /v1/rules/simulate (a draft rule)', () => {
  const simulateDraft = (body: unknown, tenant: Tenant = acme) =>
    tenant.request('POST', '/v1/rules/simulate', body);
  const draft = (programId: string, overrides: Record<string, unknown> = {}) => ({
    program_id: programId,
    condition: 'event.type == "purchase"',
    actions: [credit('event.amount * 10'), { type: 'TAG', tag: 'buyer' }],
    event: { type: 'purchase', amount: 7 },
    ...overrides,
  });
  const ruleCount = async (programId: string) =>
    (await acme.request('GET', `/v1/rules?program_id=${programId}`)).json().data.length;

  it('shows what an unsaved rule would do, and saves nothing', async () => {
    const programId = await createProgram();
    const response = await simulateDraft(draft(programId, { participant_state: { tags: ['buyer'] } }));
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toEqual({
      evaluation: {
        matched: true,
        status: 'evaluated',
        results: [
          {
            action: credit('event.amount * 10'),
            result: { amount: '70', asset_symbol: 'POINTS', description: 'Credit 70 POINTS to participant' },
          },
          {
            action: { type: 'TAG', tag: 'buyer' },
            result: {
              current_tags: ['buyer'],
              would_add: false,
              description: 'Add tag buyer to participant',
            },
          },
        ],
      },
    });
    expect(await ruleCount(programId)).toBe(0);
  });

  it('answers condition_failed for an event the condition refuses, and outside the active window', async () => {
    const programId = await createProgram();
    const refused = await simulateDraft(draft(programId, { event: { type: 'refund' } }));
    expect(refused.json().evaluation).toMatchObject({ matched: false, reason: 'CONDITION_FALSE' });
    const ended = await simulateDraft(draft(programId, { active_to: '2026-01-01T00:00:00Z' }));
    expect(ended.json().evaluation).toMatchObject({ matched: false, reason: 'OUTSIDE_TIME_WINDOW' });
  });

  it('refuses a draft a create would refuse, naming the field, and saves nothing', async () => {
    const programId = await createProgram();
    const cases: [Record<string, unknown>, number, string][] = [
      [{ condition: 'event.type == ' }, 400, 'condition'],
      [{ actions: [credit('event.amount *')] }, 400, 'actions[0].amount'],
      [{ actions: [{ ...credit('1'), asset_id: unknownId }] }, 404, 'actions[0].asset_id'],
      [{ active_from: '2027-01-01T00:00:00Z', active_to: '2026-01-01T00:00:00Z' }, 400, 'active_to'],
    ];
    for (const [overrides, status, field] of cases) {
      const response = await simulateDraft(draft(programId, overrides));
      expect(response.statusCode, response.body).toBe(status);
      expect(response.json().details.field).toBe(field);
    }
    const unlinked = await createAsset(await createProgram(), 0);
    const notLinked = await simulateDraft(
      draft(programId, { actions: [{ ...credit('1'), asset_id: unlinked }] }),
    );
    expect(notLinked.statusCode).toBe(422);
    expect(notLinked.json()).toMatchObject({ code: 'asset_not_linked' });
    const noEvent = await simulateDraft({ ...draft(programId), event: undefined });
    expect(noEvent.statusCode).toBe(400);
    expect(await ruleCount(programId)).toBe(0);
  });

  it("does not simulate against another organization's program", async () => {
    const foreign = await createProgram(other);
    const response = await simulateDraft(draft(foreign));
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ code: 'not_found' });
  });

  it(`takes ${actionsPerRuleMax} actions and refuses one more, and holds the event to ${eventDataBytesMax} bytes`, async () => {
    const programId = await createProgram();
    const actions = (count: number) => Array.from({ length: count }, () => credit('1'));
    expect((await simulateDraft(draft(programId, { actions: actions(actionsPerRuleMax) }))).statusCode).toBe(
      200,
    );
    const tooMany = await simulateDraft(draft(programId, { actions: actions(actionsPerRuleMax + 1) }));
    expect(tooMany.statusCode).toBe(400);
    const eventOfBytes = (bytes: number) => ({ text: 'x'.repeat(bytes - '{"text":""}'.length) });
    const sized = (bytes: number) =>
      simulateDraft(
        draft(programId, {
          condition: 'size(event.text) > 0',
          actions: [credit('1')],
          event: eventOfBytes(bytes),
        }),
      );
    expect((await sized(eventDataBytesMax)).json().evaluation).toMatchObject({ matched: true });
    const over = await sized(eventDataBytesMax + 1);
    expect(over.statusCode).toBe(400);
    expect(over.json().details).toMatchObject({ field: 'event', reason: 'too_large' });
  });
});

describe('budgets', () => {
  it('shows live state, is consumed by matched evaluations, skips when exhausted, and resets', async () => {
    t.testClock.set('2026-03-01T12:00:00Z');
    const programId = await createProgram();
    const rule = await createRule(programId, {
      condition: 'true',
      actions: [{ type: 'CREDIT', asset_id: pts, amount: 'event.amount' }],
      budgets: [
        { asset_id: pts, limit: '100.00', schedule_type: 'CRON', cron_expression: '0 0 1 * *' },
        { asset_id: usd, limit: '5' },
      ],
    });
    expect(rule.budgets[0]).toMatchObject({ consumed: '0.00', next_reset_at: '2026-04-01T00:00:00.000Z' });
    expect(rule.budgets[1]).toMatchObject({ consumed: '0', next_reset_at: null });
    const db = t.database.handle.db;
    const at = new Date('2026-03-02T00:00:00Z');
    const input = (amount: number) => ({
      eventData: { amount },
      eventTimestamp: at,
      participant: { tags: [], counters: {}, attributes: {}, tiers: {}, status: 'ACTIVE' as const },
      program: { tags: [], counters: {}, attributes: {} },
    });
    const first = evaluateRules(await loadActiveRules(db, acme.organizationId, programId), input(60));
    expect(first[0]).toMatchObject({ status: 'MATCHED', rule_history_id: expect.any(String) });
    await consumeRuleBudgets(db, acme.organizationId, first, at);
    const live = (await acme.request('GET', `/v1/rules/${rule.id}`)).json();
    expect(live.budgets[0]).toMatchObject({ limit: '100.00', consumed: '60.00' });
    const second = evaluateRules(await loadActiveRules(db, acme.organizationId, programId), input(50));
    expect(second[0]).toMatchObject({ status: 'SKIPPED', reason: 'BUDGET_EXCEEDED' });
    const reset = await acme.request('POST', `/v1/rules/${rule.id}/reset-budget?asset_id=${pts}`);
    expect(reset.json()).toMatchObject({
      asset_id: pts,
      limit: '100.00',
      consumed: '0.00',
      next_reset_at: '2026-04-01T00:00:00.000Z',
    });
    const lifetime = await acme.request('POST', `/v1/rules/${rule.id}/reset-budget?asset_id=${usd}`);
    expect(lifetime.json()).toMatchObject({ consumed: '0', next_reset_at: null });
    const absent = await acme.request('POST', `/v1/rules/${rule.id}/reset-budget?asset_id=${programId}`);
    expect(absent.statusCode).toBe(404);
    expect((await acme.request('POST', `/v1/rules/${rule.id}/reset-budget`)).statusCode).toBe(400);
    t.testClock.set('2026-04-01T00:00:01Z');
    await consumeRuleBudgets(db, acme.organizationId, first, new Date('2026-03-20T00:00:00Z'));
    const afterPeriod = (await acme.request('GET', `/v1/rules/${rule.id}`)).json();
    expect(afterPeriod.budgets[0]).toMatchObject({
      consumed: '0.00',
      next_reset_at: '2026-05-01T00:00:00.000Z',
    });
  });
});

describe('budgets while events hold them', () => {
  const at = new Date('2026-03-02T00:00:00Z');
  const input = {
    eventData: {},
    eventTimestamp: at,
    participant: { tags: [], counters: {}, attributes: {}, tiers: {}, status: 'ACTIVE' as const },
    program: { tags: [], counters: {}, attributes: {} },
  };

  /** Waits until `count` statements of this test database wait for a lock. */
  async function lockWaits(count: number): Promise<void> {
    for (let waited = 0; waited < 10_000; waited += 20) {
      const { rows } = await sql<{ waiting: number }>`
        select count(*)::int as waiting from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock'`.execute(t.database.handle.db);
      if ((rows[0]?.waiting ?? 0) >= count) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`${count} lock waits did not happen`);
  }

  /** A transaction that runs `begin`, then holds its locks until `release` is called. */
  function holding<T>(begin: (trx: Database) => Promise<T>) {
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started = (_value: T) => {};
    const began = new Promise<T>((resolve) => {
      started = resolve;
    });
    const done = t.database.handle.db.transaction().execute(async (trx) => {
      const value = await begin(trx);
      started(value);
      await released;
      return value;
    });
    return { began, release, done };
  }

  async function cappedRule() {
    const programId = await createProgram();
    const rule = await createRule(programId, {
      condition: 'true',
      actions: [{ type: 'CREDIT', asset_id: pts, amount: '10' }],
      budgets: [{ asset_id: pts, limit: '50' }],
    });
    return { programId, rule };
  }

  it('carries over what an event consumed while a PATCH of the budget waited for it', async () => {
    const { programId, rule } = await cappedRule();
    const event = holding(async (trx) => {
      const evaluations = evaluateRules(await loadActiveRules(trx, acme.organizationId, programId), input);
      await consumeRuleBudgets(trx, acme.organizationId, evaluations, at);
    });
    await event.began;
    const patch = acme.request('PATCH', `/v1/rules/${rule.id}`, {
      budgets: [{ asset_id: pts, limit: '60' }],
    });
    await lockWaits(1);
    event.release();
    await event.done;
    expect((await patch).json().budgets).toMatchObject([{ limit: '60.00', consumed: '10.00' }]);
  });

  it('lets an event that waited for a PATCH of the budget evaluate against the new limit', async () => {
    const { programId, rule } = await cappedRule();
    const db = t.database.handle.db;
    const held = holding((trx) =>
      sql`select 1 from rule_budgets where rule_id = ${rule.id} for update`.execute(trx),
    );
    await held.began;
    const patch = acme.request('PATCH', `/v1/rules/${rule.id}`, {
      budgets: [{ asset_id: pts, limit: '20' }],
    });
    await lockWaits(1);
    const event = db.transaction().execute((trx) => loadActiveRules(trx, acme.organizationId, programId));
    await lockWaits(2);
    held.release();
    await held.done;
    expect((await patch).statusCode).toBe(200);
    const [loaded] = await event;
    expect(loaded?.budgets).toMatchObject([{ asset_id: pts, limit: '20.00', consumed: '0' }]);
  });
});

describe('OpenAPI', () => {
  it('documents every rules route', async () => {
    const document = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(
      Object.keys(document.paths)
        .filter((path) => path.startsWith('/v1/rules'))
        .sort(),
    ).toEqual([
      '/v1/rules',
      '/v1/rules/simulate',
      '/v1/rules/validate',
      '/v1/rules/{id}',
      '/v1/rules/{id}/history',
      '/v1/rules/{id}/reset-budget',
      '/v1/rules/{id}/simulate',
    ]);
  });
});
