import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, createLedgerFixture, type Tenant, type TestApp } from '../../../test/harness.js';
import {
  celExpressionBytesMax,
  cronExpressionLengthMax,
  descriptionLengthMax,
  eventDataBytesMax,
  filterHintsMax,
  nameLengthMax,
} from '../../platform/limits.js';

let t: TestApp;
let acme: Tenant;
let other: Tenant;
let programId: string;
let participantId: string;
let base: string;

const weekly = {
  name: 'Weekly digest',
  event_name: 'weekly_digest',
  scope: 'participants',
  trigger: { type: 'cron', cron_expression: '0 9 * * 1', timezone: 'America/Chicago' },
};

beforeAll(async () => {
  t = await buildTestApp();
  t.testClock.set('2026-03-04T12:00:00.000Z'); // a Wednesday
  acme = await t.createOrganization('acme');
  other = await t.createOrganization('other');
  ({ programId, participantId } = await createLedgerFixture(acme));
  base = `/v1/programs/${programId}/automations`;
});

let counter = 0;
async function create(body: Record<string, unknown>) {
  counter += 1;
  return acme.request('POST', base, { ...weekly, name: `automation ${counter}`, ...body });
}

async function expectRefused(body: Record<string, unknown>, field: string, message?: RegExp) {
  const before = (await acme.request('GET', `${base}?status=active&limit=200`)).json().data.length;
  const response = await create(body);
  expect(response.statusCode, response.body).toBe(400);
  expect(response.json().code).toBe('bad_request');
  expect(response.json().details.field).toBe(field);
  if (message) expect(response.json().message).toMatch(message);
  expect((await acme.request('GET', `${base}?status=active&limit=200`)).json().data.length).toBe(before);
}

describe('creating automations', () => {
  it('creates the spec’s weekly digest with flat fields and the next Monday 09:00 Chicago as next_run_at', async () => {
    const response = await acme.request('POST', base, weekly);
    expect(response.statusCode, response.body).toBe(201);
    expect(response.json()).toMatchObject({
      program_id: programId,
      name: 'Weekly digest',
      trigger_type: 'cron',
      cron_expression: '0 9 * * 1',
      timezone: 'America/Chicago',
      scope: 'participants',
      status: 'active',
      source: 'api',
      execution_status: 'idle',
      payload: {},
      filter_hints: [],
      participants_processed: 0,
      participants_total: null,
      // Monday 9 March 2026 09:00 CDT (DST began on 8 March) is 14:00 UTC.
      next_run_at: '2026-03-09T14:00:00.000Z',
    });
    const fetched = await acme.request('GET', `${base}/${response.json().id}`);
    expect(fetched.json()).toEqual(response.json());
  });

  it('defaults the timezone to UTC', async () => {
    const response = await create({ trigger: { type: 'cron', cron_expression: '30 6 * * *' } });
    expect(response.json()).toMatchObject({ timezone: 'UTC', next_run_at: '2026-03-05T06:30:00.000Z' });
  });

  it('answers 409 conflict for a name the program already has, and changes nothing', async () => {
    const response = await acme.request('POST', base, weekly);
    expect(response.statusCode).toBe(409);
    expect(response.json()).toMatchObject({ code: 'conflict', details: { field: 'name' } });
  });

  it('refuses invalid cron expressions, CRON_TZ and TZ prefixes, and unknown time zones', async () => {
    await expectRefused(
      { trigger: { type: 'cron', cron_expression: '61 9 * * 1' } },
      'trigger.cron_expression',
    );
    await expectRefused(
      { trigger: { type: 'cron', cron_expression: '0 9 * *' } },
      'trigger.cron_expression',
      /five fields/,
    );
    await expectRefused(
      { trigger: { type: 'cron', cron_expression: '0 0 9 * * 1' } },
      'trigger.cron_expression',
    );
    for (const prefix of ['CRON_TZ=UTC', 'TZ=Europe/Paris']) {
      await expectRefused(
        { trigger: { type: 'cron', cron_expression: `${prefix} 0 9 * * 1` } },
        'trigger.cron_expression',
        /prefixes are not accepted; set timezone/,
      );
    }
    for (const timezone of ['Mars/Olympus', '+02:00', 'EST5EDT ']) {
      await expectRefused(
        { trigger: { type: 'cron', cron_expression: '0 9 * * 1', timezone } },
        'trigger.timezone',
        /not an IANA time zone/,
      );
    }
    await expectRefused({ trigger: { type: 'cron' } }, 'trigger.cron_expression', /required/);
  });

  it('takes a cron expression up to its length limit and refuses one character more', async () => {
    const atLimit = `00${',0'.repeat(45)} 9 * * 1`;
    expect(atLimit.length).toBe(cronExpressionLengthMax);
    const ok = await create({ trigger: { type: 'cron', cron_expression: atLimit } });
    expect(ok.statusCode, ok.body).toBe(201);
    await expectRefused(
      { trigger: { type: 'cron', cron_expression: `0${atLimit}` } },
      'trigger.cron_expression',
    );
  });

  it('accepts only the trigger × scope pairs of the spec', async () => {
    const future = '2026-03-05T00:00:00.000Z';
    const accepted = [
      {
        scope: 'program',
        participant_id: participantId,
        trigger: { type: 'cron', cron_expression: '0 1 * * *' },
      },
      { scope: 'participants', trigger: { type: 'cron', cron_expression: '0 1 * * *' } },
      { scope: 'program', participant_id: participantId, trigger: { type: 'one_time', trigger_at: future } },
      { scope: 'participants', trigger: { type: 'one_time', trigger_at: future } },
      { scope: 'participants', trigger: { type: 'immediate' } },
      {
        scope: 'participants',
        trigger: {
          type: 'participant_state',
          schedule_type: 'ATTRIBUTE_DATE',
          schedule_config: { attribute: 'birthday' },
        },
      },
    ];
    for (const body of accepted) {
      const response = await create(body);
      expect(response.statusCode, response.body).toBe(201);
    }
    await expectRefused(
      { scope: 'program', participant_id: participantId, trigger: { type: 'immediate' } },
      'scope',
    );
    await expectRefused(
      {
        scope: 'program',
        participant_id: participantId,
        trigger: {
          type: 'participant_state',
          schedule_type: 'INTERVAL',
          schedule_config: { interval: '24h' },
        },
      },
      'scope',
    );
  });

  it('refuses a one_time trigger_at in the past or now, and a trigger field of another type', async () => {
    await expectRefused(
      { trigger: { type: 'one_time', trigger_at: '2026-03-04T12:00:00.000Z' } },
      'trigger.trigger_at',
      /must be in the future/,
    );
    await expectRefused({ trigger: { type: 'one_time' } }, 'trigger.trigger_at', /required/);
    await expectRefused(
      { trigger: { type: 'immediate', trigger_at: '2027-01-01T00:00:00Z' } },
      'trigger.trigger_at',
      /only for trigger type one_time/,
    );
    await expectRefused(
      { trigger: { type: 'immediate', cron_expression: '0 9 * * 1' } },
      'trigger.cron_expression',
    );
  });

  it('refuses CEL that does not compile or is not boolean, naming the field', async () => {
    await expectRefused(
      { participant_filter: 'participant.tags.exists(' },
      'participant_filter',
      /syntax error/,
    );
    await expectRefused({ guard_condition: '1 + 2' }, 'guard_condition', /must evaluate to bool/);
    await expectRefused({ participant_filter: 'x'.repeat(celExpressionBytesMax + 1) }, 'participant_filter');
    const atLimit = `"a" == "${'a'.repeat(celExpressionBytesMax - 9)}"`;
    expect(atLimit.length).toBe(celExpressionBytesMax);
    expect((await create({ participant_filter: atLimit })).statusCode).toBe(201);
  });

  it('checks participant_state schedule configs by schedule type', async () => {
    const state = (schedule_type: string, schedule_config: unknown) => ({
      trigger: { type: 'participant_state', schedule_type, schedule_config },
    });
    await expectRefused(state('ATTRIBUTE_DATE', {}), 'schedule_config.attribute');
    await expectRefused(state('INTERVAL', { interval: 24 }), 'schedule_config.interval');
    await expectRefused(state('THRESHOLD', { counter: 'visits' }), 'schedule_config.value');
    await expectRefused(
      state('CRON', { cron_expression: 'TZ=UTC 0 9 * * 1' }),
      'schedule_config.cron_expression',
    );
    await expectRefused({ trigger: { type: 'participant_state' } }, 'trigger.schedule_type');
  });

  it('holds names, descriptions, filter hints and payloads to their limits at n and refuses n + 1', async () => {
    expect((await create({ name: 'n'.repeat(nameLengthMax) })).statusCode).toBe(201);
    await expectRefused({ name: 'n'.repeat(nameLengthMax + 1) }, 'name');
    expect((await create({ event_name: 'e'.repeat(nameLengthMax) })).statusCode).toBe(201);
    await expectRefused({ event_name: 'e'.repeat(nameLengthMax + 1) }, 'event_name');
    await expectRefused({ event_name: '' }, 'event_name');
    expect((await create({ description: 'd'.repeat(descriptionLengthMax) })).statusCode).toBe(201);
    await expectRefused({ description: 'd'.repeat(descriptionLengthMax + 1) }, 'description');
    const hints = (n: number) => Array.from({ length: n }, () => ({ has_tag: 'vip' }));
    expect((await create({ filter_hints: hints(filterHintsMax) })).statusCode).toBe(201);
    await expectRefused({ filter_hints: hints(filterHintsMax + 1) }, 'filter_hints');
    const overhead = Buffer.byteLength(JSON.stringify({ blob: '' }));
    const payload = (bytes: number) => ({ blob: 'p'.repeat(bytes - overhead) });
    expect((await create({ payload: payload(eventDataBytesMax) })).statusCode).toBe(201);
    await expectRefused({ payload: payload(eventDataBytesMax + 1) }, 'payload');
  });

  it('takes participant_id only for scope program and refuses participant_filter there', async () => {
    const cron = { type: 'cron', cron_expression: '0 1 * * *' };
    await expectRefused({ scope: 'participants', participant_id: participantId }, 'participant_id');
    await expectRefused(
      { scope: 'program', participant_id: participantId, trigger: cron, participant_filter: 'true' },
      'participant_filter',
    );
  });

  it('answers 404 for another organization’s program, automation or participant', async () => {
    const mine = (await create({})).json();
    expect((await other.request('POST', base, weekly)).statusCode).toBe(404);
    expect((await other.request('GET', base)).statusCode).toBe(404);
    for (const [method, suffix] of [
      ['GET', ''],
      ['PATCH', ''],
      ['DELETE', ''],
      ['POST', '/trigger'],
      ['POST', '/cancel'],
      ['GET', '/subscriptions'],
    ] as const) {
      const response = await other.request(
        method,
        `${base}/${mine.id}${suffix}`,
        method === 'PATCH' ? { name: 'x' } : undefined,
      );
      expect(response.statusCode, `${method} ${suffix}`).toBe(404);
    }
    const theirs = await createLedgerFixture(other);
    const response = await create({
      scope: 'program',
      participant_id: theirs.participantId,
      trigger: { type: 'cron', cron_expression: '0 1 * * *' },
    });
    expect(response.statusCode).toBe(404);
    expect((await acme.request('GET', `${base}/${mine.id}`)).json()).toEqual(mine);
  });

  it('answers 401 without a key', async () => {
    const response = await t.app.inject({ method: 'GET', url: base });
    expect(response.statusCode).toBe(401);
  });
});

describe('listing, updating and archiving', () => {
  let listProgram: string;
  let listBase: string;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    listProgram = (await createLedgerFixture(acme)).programId;
    listBase = `/v1/programs/${listProgram}/automations`;
    const bodies = {
      alpha: { ...weekly, name: 'Alpha cron' },
      beta: { ...weekly, name: 'Beta immediate', trigger: { type: 'immediate' } },
      gamma: { ...weekly, name: 'Gamma cron' },
    };
    for (const [key, body] of Object.entries(bodies)) {
      const response = await acme.request('POST', listBase, body);
      expect(response.statusCode, response.body).toBe(201);
      ids[key] = response.json().id;
    }
  });

  const names = async (query: string) =>
    (await acme.request('GET', `${listBase}${query}`)).json().data.map((a: { name: string }) => a.name);

  it('lists newest first with filters combined by AND', async () => {
    expect(await names('')).toEqual(['Gamma cron', 'Beta immediate', 'Alpha cron']);
    expect(await names('?trigger_type=cron')).toEqual(['Gamma cron', 'Alpha cron']);
    expect(await names('?trigger_type=cron&search=alp')).toEqual(['Alpha cron']);
    expect(await names('?source=rule_action')).toEqual([]);
    expect(await names('?scope=program')).toEqual([]);
    const page = (await acme.request('GET', `${listBase}?limit=2`)).json();
    expect(page.data).toHaveLength(2);
    const next = await acme.request('GET', `${listBase}?limit=2&cursor=${page.pagination.next_cursor}`);
    expect(next.json().data.map((a: { name: string }) => a.name)).toEqual(['Alpha cron']);
    expect((await acme.request('GET', `${listBase}?cursor=nonsense`)).statusCode).toBe(400);
  });

  it('pauses and resumes; a resumed cron counts from now', async () => {
    const url = `${listBase}/${ids.alpha}`;
    const paused = await acme.request('PATCH', url, { status: 'paused' });
    expect(paused.json()).toMatchObject({ status: 'paused' });
    t.testClock.set('2026-03-10T12:00:00.000Z');
    const resumed = await acme.request('PATCH', url, { status: 'active' });
    expect(resumed.json()).toMatchObject({ status: 'active', next_run_at: '2026-03-16T14:00:00.000Z' });
    t.testClock.set('2026-03-04T12:00:00.000Z');
  });

  it('takes flat trigger fields on PATCH, checked as on create', async () => {
    const url = `${listBase}/${ids.gamma}`;
    const changed = await acme.request('PATCH', url, {
      cron_expression: '0 7 * * *',
      timezone: 'Europe/Paris',
    });
    expect(changed.json()).toMatchObject({
      cron_expression: '0 7 * * *',
      timezone: 'Europe/Paris',
      next_run_at: '2026-03-05T06:00:00.000Z',
    });
    for (const [body, field] of [
      [{ cron_expression: 'CRON_TZ=UTC 0 7 * * *' }, 'cron_expression'],
      [{ timezone: 'Nowhere/Land' }, 'timezone'],
      [{ guard_condition: '"x"' }, 'guard_condition'],
      [{ trigger_at: '2027-01-01T00:00:00Z' }, 'trigger_at'],
      [{ status: 'archived' }, 'status'],
      [{ name: 'Alpha cron' }, 'name'],
    ] as const) {
      const response = await acme.request('PATCH', url, body);
      expect(response.statusCode, JSON.stringify(body)).toBe(field === 'name' ? 409 : 400);
      expect(response.json().details.field).toBe(field);
    }
    expect((await acme.request('GET', url)).json()).toEqual(changed.json());
  });

  it('archives on DELETE: terminal, hidden from default lists, still fetched by id', async () => {
    const url = `${listBase}/${ids.beta}`;
    const archived = await acme.request('DELETE', url);
    expect(archived.json()).toMatchObject({ status: 'archived', next_run_at: null });
    expect(await names('')).toEqual(['Gamma cron', 'Alpha cron']);
    expect(await names('?status=archived')).toEqual(['Beta immediate']);
    expect((await acme.request('GET', url)).json().status).toBe('archived');
    const reactivate = await acme.request('PATCH', url, { status: 'active' });
    expect(reactivate.statusCode).toBe(400);
    const trigger = await acme.request('POST', `${url}/trigger`);
    expect(trigger.statusCode).toBe(400);
    expect(trigger.json().message).toMatch(
      /^Automation cannot be triggered \(must be active and idle or cron\+program\)/,
    );
  });

  it('refuses to trigger a paused automation and to cancel an automation with no run', async () => {
    const url = `${listBase}/${ids.alpha}`;
    await acme.request('PATCH', url, { status: 'paused' });
    const trigger = await acme.request('POST', `${url}/trigger`);
    expect(trigger.statusCode).toBe(400);
    expect(trigger.json().message).toMatch(/^Automation cannot be triggered/);
    const cancel = await acme.request('POST', `${url}/cancel`);
    expect(cancel.statusCode).toBe(400);
    await acme.request('PATCH', url, { status: 'active' });
  });

  it('answers refresh-subscriptions with 202 {} only for active participant_state automations', async () => {
    const state = await acme.request('POST', listBase, {
      ...weekly,
      name: 'Birthday',
      trigger: {
        type: 'participant_state',
        schedule_type: 'ATTRIBUTE_DATE',
        schedule_config: { attribute: 'birthday' },
      },
    });
    const url = `${listBase}/${state.json().id}`;
    const refreshed = await acme.request('POST', `${url}/refresh-subscriptions`);
    expect(refreshed.statusCode).toBe(202);
    expect(refreshed.json()).toEqual({});
    expect((await acme.request('POST', `${listBase}/${ids.gamma}/refresh-subscriptions`)).statusCode).toBe(
      400,
    );
    await acme.request('PATCH', url, { status: 'paused' });
    expect((await acme.request('POST', `${url}/refresh-subscriptions`)).statusCode).toBe(400);
    const trigger = await acme.request('POST', `${url}/trigger`);
    expect(trigger.statusCode).toBe(400);
    const subscriptions = await acme.request('GET', `${listBase}/${ids.gamma}/subscriptions`);
    expect(subscriptions.json()).toEqual({ data: [], pagination: { has_more: false, next_cursor: null } });
  });
});
