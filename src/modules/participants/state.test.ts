import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type Tenant, type TestApp } from '../../../test/harness.js';

let t: TestApp;
let acme: Tenant;
let other: Tenant;

beforeAll(async () => {
  t = await buildTestApp();
  acme = await t.createOrganization();
  other = await t.createOrganization();
});

async function newParticipant(tenant: Tenant = acme, body: object = {}): Promise<string> {
  const external_id = `p-${Math.random().toString(36).slice(2)}`;
  return (await tenant.request('POST', '/v1/participants', { external_id, ...body })).json().id;
}

async function newProgram(tenant: Tenant = acme): Promise<string> {
  return (await tenant.request('POST', '/v1/programs', { name: 'State program' })).json().id;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

// Both owners answer the same routes; each test runs for a participant and for a program.
const owners = [
  { name: 'participant', create: newParticipant, base: (id: string) => `/v1/participants/${id}` },
  { name: 'program', create: newProgram, base: (id: string) => `/v1/programs/${id}` },
];

describe.each(owners)('$name tags', ({ create, base }) => {
  it('adds a tag lower-cased (201), answers 200 when it existed, lists and removes it (204)', async () => {
    const id = await create();
    const added = await acme.request('PUT', `${base(id)}/state/tags/VIP`);
    expect(added.statusCode).toBe(201);
    expect(added.json()).toEqual({ tag: 'vip' });
    const again = await acme.request('PUT', `${base(id)}/state/tags/vip`);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ tag: 'vip' });
    await acme.request('PUT', `${base(id)}/state/tags/early`);
    expect((await acme.request('GET', `${base(id)}/state/tags`)).json()).toEqual({
      data: [{ tag: 'vip' }, { tag: 'early' }],
      pagination: { has_more: false, next_cursor: null },
    });
    const removed = await acme.request('DELETE', `${base(id)}/state/tags/VIP`);
    expect(removed.statusCode).toBe(204);
    expect(removed.body).toBe('');
    expect((await acme.request('DELETE', `${base(id)}/state/tags/never-there`)).statusCode).toBe(204);
    expect((await acme.request('GET', `${base(id)}/state/tags`)).json().data).toEqual([{ tag: 'early' }]);
  });

  it('replaces all tags, lower-cased and de-duplicated, and refuses a body without tags', async () => {
    const id = await create();
    await acme.request('PUT', `${base(id)}/state/tags/old`);
    const replaced = await acme.request('PUT', `${base(id)}/state/tags`, { tags: ['A', 'a', ' B '] });
    expect(replaced.statusCode).toBe(200);
    expect(replaced.json()).toEqual({ tags: ['a', 'b'] });
    expect((await acme.request('GET', `${base(id)}/state/tags`)).json().data).toEqual([
      { tag: 'a' },
      { tag: 'b' },
    ]);
    const missing = await acme.request('PUT', `${base(id)}/state/tags`, {});
    expect(missing.statusCode).toBe(400);
    expect(missing.json().details.field).toBe('tags');
    const blank = await acme.request('PUT', `${base(id)}/state/tags`, { tags: ['  '] });
    expect(blank.statusCode).toBe(400);
  });

  it('holds 100 tags and refuses the 101st, one at a time or all at once', async () => {
    const id = await create();
    const tags = range(100).map((i) => `t${i}`);
    expect((await acme.request('PUT', `${base(id)}/state/tags`, { tags })).statusCode).toBe(200);
    const oneMore = await acme.request('PUT', `${base(id)}/state/tags/t100`);
    expect(oneMore.statusCode).toBe(400);
    expect(oneMore.json().details).toMatchObject({ field: 'tag', reason: 'too_many' });
    expect((await acme.request('PUT', `${base(id)}/state/tags/t99`)).statusCode).toBe(200);
    const all = await acme.request('PUT', `${base(id)}/state/tags`, { tags: [...tags, 't100'] });
    expect(all.statusCode).toBe(400);
    expect(all.json().details.field).toBe('tags');
  });

  it('trims and lower-cases an encoded tag in the path', async () => {
    const id = await create();
    const added = await acme.request('PUT', `${base(id)}/state/tags/%20Caf%C3%A9%20VIP%20`);
    expect(added.json()).toEqual({ tag: 'café vip' });
    expect((await acme.request('DELETE', `${base(id)}/state/tags/CAF%C3%89%20VIP`)).statusCode).toBe(204);
    expect((await acme.request('GET', `${base(id)}/state/tags`)).json().data).toEqual([]);
    expect((await acme.request('PUT', `${base(id)}/state/tags/%20%20`)).json().details.field).toBe('tag');
  });

  it('accepts a tag of 64 characters and refuses 65', async () => {
    const id = await create();
    expect((await acme.request('PUT', `${base(id)}/state/tags/${'x'.repeat(64)}`)).statusCode).toBe(201);
    const long = await acme.request('PUT', `${base(id)}/state/tags/${'x'.repeat(65)}`);
    expect(long.statusCode).toBe(400);
    expect(long.json().details.field).toBe('tag');
  });
});

describe.each(owners)('$name counters', ({ create, base }) => {
  it('sets an absolute value, reads it back exactly, lists it, and deletes it for good', async () => {
    const id = await create();
    const set = await acme.request('PUT', `${base(id)}/state/counters/spend`, { value: '340.10' });
    expect(set.statusCode).toBe(200);
    expect(set.json()).toMatchObject({ key: 'spend', value: '340.1', reset_after: null });
    expect(typeof set.json().last_reset_at).toBe('string');
    expect((await acme.request('GET', `${base(id)}/state/counters/spend`)).json().value).toBe('340.1');
    await acme.request('PUT', `${base(id)}/state/counters/visits`, { value: '-2' });
    const listed = (await acme.request('GET', `${base(id)}/state/counters`)).json();
    expect(listed.data.map((c: { key: string; value: string }) => [c.key, c.value])).toEqual([
      ['spend', '340.1'],
      ['visits', '-2'],
    ]);
    expect((await acme.request('DELETE', `${base(id)}/state/counters/spend`)).statusCode).toBe(204);
    const gone = await acme.request('GET', `${base(id)}/state/counters/spend`);
    expect(gone.statusCode).toBe(404);
    expect(gone.json().code).toBe('not_found');
    expect((await acme.request('DELETE', `${base(id)}/state/counters/spend`)).statusCode).toBe(204);
  });

  it('reads 0 once reset_after has passed, keeps or removes the setting, and restarts on set', async () => {
    const id = await create();
    t.testClock.set('2025-06-01T00:00:00Z');
    const set = await acme.request('PUT', `${base(id)}/state/counters/daily`, {
      value: '5',
      reset_after: '24h',
    });
    expect(set.json()).toEqual({
      key: 'daily',
      value: '5',
      reset_after: '24h',
      last_reset_at: '2025-06-01T00:00:00.000Z',
    });
    t.testClock.set('2025-06-01T23:59:59.999Z');
    expect((await acme.request('GET', `${base(id)}/state/counters/daily`)).json().value).toBe('5');
    t.testClock.set('2025-06-02T00:00:00Z');
    expect((await acme.request('GET', `${base(id)}/state/counters/daily`)).json()).toMatchObject({
      value: '0',
      last_reset_at: '2025-06-01T00:00:00.000Z',
    });
    expect((await acme.request('GET', `${base(id)}/state/counters`)).json().data[0].value).toBe('0');
    const kept = await acme.request('PUT', `${base(id)}/state/counters/daily`, { value: '3' });
    expect(kept.json()).toEqual({
      key: 'daily',
      value: '3',
      reset_after: '24h',
      last_reset_at: '2025-06-02T00:00:00.000Z',
    });
    const resets = (await acme.request('GET', `${base(id)}/activity/state-history?key=daily`)).json().data;
    expect(resets.map((e: Record<string, unknown>) => [e.operation, e.old_value, e.new_value])).toEqual([
      ['set', '0', '3'],
      ['auto_reset', '5', '0'],
      ['set', null, '5'],
    ]);
    const removed = await acme.request('PUT', `${base(id)}/state/counters/daily`, {
      value: '3',
      reset_after: '',
    });
    expect(removed.json().reset_after).toBeNull();
    t.testClock.set('2030-01-01T00:00:00Z');
    expect((await acme.request('GET', `${base(id)}/state/counters/daily`)).json().value).toBe('3');
    t.testClock.set(new Date());
  });

  it('refuses values that are not plain decimal strings, and bad durations', async () => {
    const id = await create();
    for (const value of ['1e5', 'NaN', ' 1', '1 ', '+1', '', '1.', '0x1', 5, null, '1'.repeat(21)]) {
      const response = await acme.request('PUT', `${base(id)}/state/counters/c`, { value });
      expect(response.statusCode, String(value)).toBe(400);
      expect(response.json().details.field).toBe('value');
    }
    for (const reset_after of ['1d', '24', '-1h', '0s', 'soon']) {
      const response = await acme.request('PUT', `${base(id)}/state/counters/c`, { value: '1', reset_after });
      expect(response.statusCode, reset_after).toBe(400);
      expect(response.json().details.field).toBe('reset_after');
    }
    const missing = await acme.request('PUT', `${base(id)}/state/counters/c`, { reset_after: '24h' });
    expect(missing.json().details.field).toBe('value');
    expect((await acme.request('GET', `${base(id)}/state/counters`)).json().data).toEqual([]);
  });

  it('accepts the widest value and a key of 64 characters; refuses 65', async () => {
    const id = await create();
    const widest = '-99999999999999999999.999999999999999999';
    expect((await acme.request('PUT', `${base(id)}/state/counters/w`, { value: widest })).json().value).toBe(
      widest,
    );
    const key64 = 'k'.repeat(64);
    expect(
      (await acme.request('PUT', `${base(id)}/state/counters/${key64}`, { value: '1' })).statusCode,
    ).toBe(200);
    const long = await acme.request('PUT', `${base(id)}/state/counters/${'k'.repeat(65)}`, { value: '1' });
    expect(long.statusCode).toBe(400);
    expect(long.json().details.field).toBe('key');
  });

  it('holds 100 counters and refuses the 101st', async () => {
    const id = await create();
    for (const i of range(100)) {
      expect((await acme.request('PUT', `${base(id)}/state/counters/c${i}`, { value: '1' })).statusCode).toBe(
        200,
      );
    }
    const oneMore = await acme.request('PUT', `${base(id)}/state/counters/c100`, { value: '1' });
    expect(oneMore.statusCode).toBe(400);
    expect(oneMore.json().details).toMatchObject({ field: 'key', reason: 'too_many' });
    expect((await acme.request('PUT', `${base(id)}/state/counters/c0`, { value: '2' })).statusCode).toBe(200);
  });
});

describe.each(owners)('$name attributes', ({ create, base }) => {
  it('sets one, merges several, lists them by key and removes one', async () => {
    const id = await create();
    const put = await acme.request('PUT', `${base(id)}/state/attributes/region`, { value: 'us-east' });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toEqual({ key: 'region', value: 'us-east' });
    const merged = await acme.request('PATCH', `${base(id)}/state/attributes`, {
      attributes: { plan: 'premium', birthday: '06-15' },
    });
    expect(merged.json()).toEqual({ attributes: { region: 'us-east', plan: 'premium', birthday: '06-15' } });
    const overwrite = await acme.request('PUT', `${base(id)}/state/attributes/plan`, { value: 'basic' });
    expect(overwrite.json()).toEqual({ key: 'plan', value: 'basic' });
    expect((await acme.request('DELETE', `${base(id)}/state/attributes/region`)).statusCode).toBe(204);
    expect((await acme.request('DELETE', `${base(id)}/state/attributes/region`)).statusCode).toBe(204);
    expect((await acme.request('GET', `${base(id)}/state/attributes`)).json()).toEqual({
      data: [
        { key: 'birthday', value: '06-15' },
        { key: 'plan', value: 'basic' },
      ],
      pagination: { has_more: false, next_cursor: null },
    });
  });

  it('refuses an empty or non-string value, a missing attributes object, and a non-string merge value', async () => {
    const id = await create();
    for (const body of [{ value: '' }, { value: 5 }, {}, { value: 'x', extra: 1 }]) {
      expect((await acme.request('PUT', `${base(id)}/state/attributes/k`, body)).statusCode).toBe(400);
    }
    expect((await acme.request('PATCH', `${base(id)}/state/attributes`, {})).json().details.field).toBe(
      'attributes',
    );
    const numeric = await acme.request('PATCH', `${base(id)}/state/attributes`, { attributes: { n: 1 } });
    expect(numeric.json().details.field).toBe('attributes.n');
  });

  it('accepts key 64 and value 1000 characters, refuses 65 and 1001; holds 100 attributes, not 101', async () => {
    const id = await create();
    const url = (key: string) => `${base(id)}/state/attributes/${key}`;
    expect((await acme.request('PUT', url('k'.repeat(64)), { value: 'v'.repeat(1000) })).statusCode).toBe(
      200,
    );
    expect((await acme.request('PUT', url('k'.repeat(65)), { value: 'v' })).json().details.field).toBe('key');
    expect((await acme.request('PUT', url('k'), { value: 'v'.repeat(1001) })).json().details.field).toBe(
      'value',
    );
    const attributes = Object.fromEntries(range(99).map((i) => [`a${i}`, 'x']));
    expect((await acme.request('PATCH', `${base(id)}/state/attributes`, { attributes })).statusCode).toBe(
      200,
    );
    const oneMore = await acme.request('PUT', url('a99'), { value: 'x' });
    expect(oneMore.statusCode).toBe(400);
    expect(oneMore.json().details.reason).toBe('too_many');
    expect((await acme.request('PUT', url('a0'), { value: 'changed' })).statusCode).toBe(200);
  });
});

describe('the participant detail', () => {
  it('shows counters as exact decimal strings with their effective values', async () => {
    const id = await newParticipant();
    t.testClock.set('2025-03-01T00:00:00Z');
    await acme.request('PUT', `/v1/participants/${id}/state/counters/spend`, { value: '389.99' });
    await acme.request('PUT', `/v1/participants/${id}/state/counters/daily`, {
      value: '4',
      reset_after: '1h',
    });
    expect((await acme.request('GET', `/v1/participants/${id}`)).json().counters).toEqual({
      daily: '4',
      spend: '389.99',
    });
    t.testClock.advance(3_600_000);
    expect((await acme.request('GET', `/v1/participants/${id}`)).json().counters).toEqual({
      daily: '0',
      spend: '389.99',
    });
    t.testClock.set(new Date());
  });
});

describe.each(owners)('$name state history', ({ create, base }) => {
  it('records every change with its operation, values and the calling API key, newest first', async () => {
    const id = await create();
    await acme.request('PUT', `${base(id)}/state/tags/vip`);
    await acme.request('PUT', `${base(id)}/state/tags/vip`);
    await acme.request('PUT', `${base(id)}/state/tags`, { tags: ['gold'] });
    await acme.request('PUT', `${base(id)}/state/counters/n`, { value: '2' });
    await acme.request('DELETE', `${base(id)}/state/counters/n`);
    await acme.request('PUT', `${base(id)}/state/attributes/plan`, { value: 'a' });
    await acme.request('PUT', `${base(id)}/state/attributes/plan`, { value: 'a' });
    await acme.request('PATCH', `${base(id)}/state/attributes`, { attributes: { plan: 'b', x: '1' } });
    await acme.request('DELETE', `${base(id)}/state/attributes/x`);
    await acme.request('DELETE', `${base(id)}/state/attributes/x`);
    const history = (await acme.request('GET', `${base(id)}/activity/state-history`)).json();
    const summary = history.data.map((e: Record<string, unknown>) => [
      e.state_type,
      e.key,
      e.operation,
      e.old_value,
      e.new_value,
    ]);
    expect(summary).toEqual([
      ['attribute', 'x', 'delete', '1', null],
      ['attribute', 'x', 'set', null, '1'],
      ['attribute', 'plan', 'set', 'a', 'b'],
      ['attribute', 'plan', 'set', null, 'a'],
      ['counter', 'n', 'delete', '2', null],
      ['counter', 'n', 'set', null, '2'],
      ['tag', 'gold', 'add', null, 'gold'],
      ['tag', 'vip', 'remove', 'vip', null],
      ['tag', 'vip', 'add', null, 'vip'],
    ]);
    const first = history.data[0];
    expect(first.changed_by_api_key_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(first).toMatchObject({ event_id: null, rule_id: null });
    expect(first.program_id).toBe(base(id).startsWith('/v1/programs') ? id : null);
  });

  it('filters by state_type, key, operation and time, and pages with a cursor', async () => {
    const id = await create();
    t.testClock.set('2025-01-01T00:00:00Z');
    for (const i of range(5)) {
      t.testClock.advance(60_000);
      await acme.request('PUT', `${base(id)}/state/counters/c`, { value: String(i) });
      await acme.request('PUT', `${base(id)}/state/tags/t${i}`);
    }
    const list = async (query: string) =>
      (await acme.request('GET', `${base(id)}/activity/state-history?${query}`)).json();
    expect((await list('state_type=tag')).data).toHaveLength(5);
    expect((await list('state_type=counter&operation=set')).data).toHaveLength(5);
    expect((await list('key=t3')).data.map((e: { operation: string }) => e.operation)).toEqual(['add']);
    expect((await list('operation=remove')).data).toEqual([]);
    const window = await list('from=2025-01-01T00:02:00Z&to=2025-01-01T00:03:00Z&state_type=tag');
    expect(window.data.map((e: { key: string }) => e.key)).toEqual(['t2', 't1']);
    const events = await list('event_from=2025-01-01T00:05:00Z&event_to=2025-01-01T00:09:00Z');
    expect(events.data.map((e: { key: string }) => e.key)).toEqual(['t4', 'c']);
    const seen: string[] = [];
    let cursor = '';
    for (;;) {
      const page = await list(`limit=3${cursor}`);
      seen.push(...page.data.map((e: { id: string }) => e.id));
      if (!page.pagination.has_more) break;
      cursor = `&cursor=${page.pagination.next_cursor}`;
    }
    expect(seen).toHaveLength(10);
    expect(new Set(seen).size).toBe(10);
    expect(seen).toEqual((await list('limit=100')).data.map((e: { id: string }) => e.id));
    t.testClock.set(new Date());
  });

  it('answers 50 by default, accepts limit 100 and refuses 101, 0 and a foreign cursor', async () => {
    const id = await create();
    await acme.request('PUT', `${base(id)}/state/tags`, { tags: range(60).map((i) => `t${i}`) });
    await acme.request('PUT', `${base(id)}/state/tags`, { tags: range(60).map((i) => `u${i}`) });
    const url = `${base(id)}/activity/state-history`;
    const defaultPage = (await acme.request('GET', url)).json();
    expect(defaultPage.data).toHaveLength(50);
    expect(defaultPage.pagination.has_more).toBe(true);
    expect((await acme.request('GET', `${url}?limit=100`)).json().data).toHaveLength(100);
    for (const query of [
      'limit=101',
      'limit=0',
      'operation=increment',
      'state_type=color',
      'from=yesterday',
    ]) {
      expect((await acme.request('GET', `${url}?${query}`)).statusCode, query).toBe(400);
    }
    const otherId = await create();
    const foreign = await acme.request(
      'GET',
      `${base(otherId)}/activity/state-history?cursor=${defaultPage.pagination.next_cursor}`,
    );
    expect(foreign.statusCode).toBe(400);
    expect(foreign.json().code).toBe('invalid_cursor');
  });
});

describe.each(owners)("another organization's $name and malformed ids", ({ create, base }) => {
  const routes = (id: string): [string, string, unknown][] => [
    ['GET', `${base(id)}/state/tags`, undefined],
    ['PUT', `${base(id)}/state/tags/x`, undefined],
    ['PUT', `${base(id)}/state/tags`, { tags: ['x'] }],
    ['DELETE', `${base(id)}/state/tags/keep`, undefined],
    ['GET', `${base(id)}/state/counters`, undefined],
    ['GET', `${base(id)}/state/counters/keep`, undefined],
    ['PUT', `${base(id)}/state/counters/keep`, { value: '99' }],
    ['DELETE', `${base(id)}/state/counters/keep`, undefined],
    ['GET', `${base(id)}/state/attributes`, undefined],
    ['PUT', `${base(id)}/state/attributes/keep`, { value: 'stolen' }],
    ['PATCH', `${base(id)}/state/attributes`, { attributes: { keep: 'stolen' } }],
    ['DELETE', `${base(id)}/state/attributes/keep`, undefined],
    ['GET', `${base(id)}/activity/state-history`, undefined],
  ];

  it('answers 404 on every state route, changing nothing', async () => {
    const id = await create();
    await acme.request('PUT', `${base(id)}/state/tags/keep`);
    await acme.request('PUT', `${base(id)}/state/counters/keep`, { value: '1' });
    await acme.request('PUT', `${base(id)}/state/attributes/keep`, { value: 'mine' });
    for (const [method, url, body] of routes(id)) {
      const response = await other.request(method, url, body);
      expect(response.statusCode, `${method} ${url}`).toBe(404);
      expect(response.json().code).toBe('not_found');
    }
    expect((await acme.request('GET', `${base(id)}/state/tags`)).json().data).toEqual([{ tag: 'keep' }]);
    expect((await acme.request('GET', `${base(id)}/state/counters/keep`)).json().value).toBe('1');
    expect((await acme.request('GET', `${base(id)}/state/attributes`)).json().data).toEqual([
      { key: 'keep', value: 'mine' },
    ]);
    expect((await acme.request('GET', `${base(id)}/activity/state-history`)).json().data).toHaveLength(3);
  });

  it('answers 400 for an id that is not a UUID, and 401 without a key', async () => {
    for (const [method, url, body] of routes('not-a-uuid')) {
      const response = await acme.request(method, url, body);
      expect(response.statusCode, `${method} ${url}`).toBe(400);
      expect(response.json().details.field).toBe('id');
    }
    const id = await create();
    for (const [method, url] of routes(id)) {
      const response = await t.app.inject({ method: method as 'GET', url });
      expect(response.statusCode, `${method} ${url}`).toBe(401);
    }
  });
});

describe('profile writes that carry tags and attributes', () => {
  it('record their changes in the state history, like the state endpoints', async () => {
    const created = await acme.request('POST', '/v1/participants', {
      external_id: 'profile-history',
      tags: ['VIP'],
      attributes: { plan: 'a' },
    });
    const id = created.json().id;
    await acme.request('POST', '/v1/participants', {
      external_id: 'profile-history',
      attributes: { plan: 'b' },
    });
    await acme.request('PATCH', `/v1/participants/${id}`, { tags: ['gold'], first_name: 'Ann' });
    const history = (await acme.request('GET', `/v1/participants/${id}/activity/state-history`)).json().data;
    expect(
      history.map((e: Record<string, unknown>) => [e.key, e.operation, e.old_value, e.new_value]),
    ).toEqual([
      ['gold', 'add', null, 'gold'],
      ['vip', 'remove', 'vip', null],
      ['plan', 'set', 'a', 'b'],
      ['plan', 'set', null, 'a'],
      ['vip', 'add', null, 'vip'],
    ]);
    expect(
      history.every((e: { changed_by_api_key_id: unknown }) => typeof e.changed_by_api_key_id === 'string'),
    ).toBe(true);
  });

  it('cannot merge a participant past 100 attributes through PATCH /v1/participants/{id}', async () => {
    const id = await newParticipant(acme, {
      attributes: Object.fromEntries(range(100).map((i) => [`a${i}`, 'x'])),
    });
    const oneMore = await acme.request('PATCH', `/v1/participants/${id}`, { attributes: { extra: 'x' } });
    expect(oneMore.statusCode).toBe(400);
    expect(oneMore.json().details).toMatchObject({ field: 'attributes', reason: 'too_many' });
    const overwrite = await acme.request('PATCH', `/v1/participants/${id}`, { attributes: { a0: 'y' } });
    expect(overwrite.json().attributes.a0).toBe('y');
  });
});

describe('the OpenAPI document', () => {
  it('lists every state route of both owners with its error responses', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    for (const owner of ['participants', 'programs']) {
      const paths: [string, string[]][] = [
        ['state/tags', ['get', 'put']],
        ['state/tags/{tag}', ['put', 'delete']],
        ['state/counters', ['get']],
        ['state/counters/{key}', ['get', 'put', 'delete']],
        ['state/attributes', ['get', 'patch']],
        ['state/attributes/{key}', ['put', 'delete']],
        ['activity/state-history', ['get']],
      ];
      for (const [suffix, methods] of paths) {
        const operations = doc.paths[`/v1/${owner}/{id}/${suffix}`];
        expect(Object.keys(operations ?? {}).sort(), suffix).toEqual([...methods].sort());
        for (const method of methods)
          expect(Object.keys(operations[method].responses)).toEqual(
            expect.arrayContaining(['400', '401', '404']),
          );
      }
    }
  });
});
