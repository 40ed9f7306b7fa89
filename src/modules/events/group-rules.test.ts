// Rules acting on groups, through real events.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, startTestWorkers, type Tenant, type TestApp } from '../../../test/harness.js';
import type { EventWorkers } from './index.js';

describe('rules on groups, through events', () => {
  let t: TestApp;
  let acme: Tenant;
  let programId: string;
  let assetId: string;
  let workers: EventWorkers;
  let sequence = 0;

  beforeAll(async () => {
    t = await buildTestApp();
    acme = await t.createOrganization();
    programId = (await acme.request('POST', '/v1/programs', { name: 'Household miles' })).json().id;
    assetId = (
      await acme.request('POST', '/v1/assets', {
        program_id: programId,
        name: 'Miles',
        symbol: 'MILES',
        inventory_mode: 'SIMPLE',
        issuance_policy: 'UNLIMITED',
        scale: 0,
      })
    ).json().id;
    const rules = [
      {
        name: 'Pot bonus',
        condition: 'event.type == "pot_bonus"',
        actions: [
          {
            type: 'CREDIT',
            asset_id: assetId,
            amount: 'event.amount',
            target: { type: 'GROUP', id: 'event.group_id' },
          },
          { type: 'COUNTER', key: 'bonuses', value: '1', target: { type: 'GROUP', id: 'event.group_id' } },
          { type: 'TAG', tag: 'Boosted', target: { type: 'GROUP', id: 'event.group_id' } },
          {
            type: 'SET_ATTRIBUTE',
            key: 'last',
            value: 'bonus',
            target: { type: 'GROUP', id: 'event.group_id' },
          },
        ],
      },
      {
        name: 'Household earn',
        condition: 'event.type == "purchase" && size(participant.groups) > 0',
        actions: [
          {
            type: 'CREDIT',
            asset_id: assetId,
            amount: 'event.amount',
            target: { type: 'GROUP', id: 'participant.groups[0]' },
          },
        ],
      },
    ];
    for (const rule of rules) {
      const created = await acme.request('POST', '/v1/rules', { program_id: programId, ...rule });
      expect(created.statusCode, created.body).toBe(201);
    }
    workers = startTestWorkers(t);
  });

  afterAll(async () => {
    await workers.stop();
  });

  async function process(externalId: string, data: Record<string, unknown>) {
    sequence += 1;
    const accepted = await acme.request('POST', '/v1/events', {
      program_id: programId,
      external_id: externalId,
      idempotency_key: `group-rules-${sequence}`,
      event_timestamp: new Date().toISOString(),
      event_data: data,
    });
    expect(accepted.statusCode, accepted.body).toBe(202);
    const id = accepted.json().id;
    for (let attempt = 0; attempt < 400; attempt += 1) {
      const event = (await acme.request('GET', `/v1/events/${id}`)).json();
      if (event.status === 'COMPLETED' || event.status === 'FAILED') return event;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`event ${id} was not processed`);
  }

  async function household(adminExternalId: string) {
    const admin = (await acme.request('POST', '/v1/participants', { external_id: adminExternalId })).json()
      .id;
    const created = await acme.request('POST', '/v1/groups', {
      name: 'Household',
      members: [{ participant_id: admin, role: 'ADMIN' }],
    });
    return created.json().id as string;
  }

  const balanceOf = async (groupId: string) =>
    (await acme.request('GET', `/v1/groups/${groupId}`)).json().balances[assetId];

  it('credits, counts, tags and sets an attribute on the group an event names', async () => {
    const groupId = await household(`admin-1`);
    const event = await process(`someone`, { type: 'pot_bonus', group_id: groupId, amount: 25 });
    expect(event.status, JSON.stringify(event.error ?? event)).toBe('COMPLETED');
    expect(await balanceOf(groupId)).toBe('25');
    const counter = (await acme.request('GET', `/v1/groups/${groupId}/state/counters/bonuses`)).json();
    expect(counter.value).toBe('1');
    const history = (await acme.request('GET', `/v1/groups/${groupId}/activity/state-history`)).json().data;
    expect(history.map((h: { state_type: string }) => h.state_type).sort()).toEqual([
      'attribute',
      'counter',
      'tag',
    ]);
    expect(history[0]).toMatchObject({ event_id: event.id, rule_id: expect.any(String) });
    const row = await sql<{ tags: string[]; attributes: Record<string, string> }>`select tags, attributes
      from groups where id = ${groupId}`.execute(t.database.handle.db);
    expect(row.rows[0]).toEqual({ tags: ['boosted'], attributes: { last: 'bonus' } });
    const journal = (await acme.request('GET', `/v1/journal-entries?group_id=${groupId}`)).json().data;
    expect(journal[0]).toMatchObject({ action_type: 'CREDIT', event_id: event.id });
  });

  it("credits a member's household through participant.groups, and nothing once the member left", async () => {
    const groupId = await household(`admin-2`);
    const member = (await acme.request('POST', '/v1/participants', { external_id: `kid` })).json().id;
    await acme.request('POST', `/v1/groups/${groupId}/members`, { participant_id: member });
    const earned = await process(`kid`, { type: 'purchase', amount: 40 });
    expect(earned.status).toBe('COMPLETED');
    expect(await balanceOf(groupId)).toBe('40');
    await acme.request('DELETE', `/v1/groups/${groupId}/members/${member}`);
    const after = await process(`kid`, { type: 'purchase', amount: 5 });
    expect(after.status).toBe('COMPLETED');
    expect(await balanceOf(groupId)).toBe('40');
  });

  it('fails the event, saying why, for an unknown or an archived group', async () => {
    const unknown = await process(`x`, {
      type: 'pot_bonus',
      group_id: '0192b000-0000-7000-8000-00000000dead',
      amount: 1,
    });
    expect(unknown.status).toBe('FAILED');
    expect(JSON.stringify(unknown)).toContain('target group 0192b000-0000-7000-8000-00000000dead not found');
    const notAnId = await process(`x`, { type: 'pot_bonus', group_id: 'household', amount: 1 });
    expect(notAnId.status).toBe('FAILED');
    const groupId = await household(`admin-3`);
    await acme.request('DELETE', `/v1/groups/${groupId}`);
    const archived = await process(`x`, { type: 'pot_bonus', group_id: groupId, amount: 1 });
    expect(archived.status).toBe('FAILED');
    expect(JSON.stringify(archived)).toContain('is archived');
    expect((await acme.request('GET', `/v1/groups/${groupId}`)).json().balances).toEqual({});
  });
});

describe('rules naming a GROUP target', () => {
  let acme: Tenant;
  let programId: string;

  beforeAll(async () => {
    const t = await buildTestApp();
    acme = await t.createOrganization();
    programId = (await acme.request('POST', '/v1/programs', { name: 'Validation' })).json().id;
  });

  const save = (action: Record<string, unknown>) =>
    acme.request('POST', '/v1/rules', {
      program_id: programId,
      name: 'r',
      condition: 'true',
      actions: [action],
    });

  it('simulates a household rule from participant_state.groups, naming the group', async () => {
    const group = '0192b000-0000-7000-8000-00000000b002';
    const created = await acme.request('POST', '/v1/rules', {
      program_id: programId,
      name: 'household',
      condition: 'size(participant.groups) > 0',
      actions: [{ type: 'TAG', tag: 'pooled', target: { type: 'GROUP', id: 'participant.groups[0]' } }],
    });
    const simulate = (groups: string[]) =>
      acme.request('POST', `/v1/rules/${created.json().id}/simulate`, {
        event: {},
        participant_state: { groups },
      });
    const matched = (await simulate([group])).json().evaluation;
    expect(matched.matched).toBe(true);
    expect(matched.results[0].result.description).toBe(`Add tag pooled to group ${group}`);
    expect((await simulate([])).json().evaluation.matched).toBe(false);
  });

  it('accepts a literal group id or CEL, and refuses a GROUP target without id, with another selector or on SET_TIER', async () => {
    const tag = { type: 'TAG', tag: 'x' };
    expect(
      (await save({ ...tag, target: { type: 'GROUP', id: '0192b000-0000-7000-8000-00000000b001' } }))
        .statusCode,
    ).toBe(201);
    expect((await save({ ...tag, target: { type: 'GROUP', id: 'participant.groups[0]' } })).statusCode).toBe(
      201,
    );
    const cases: [Record<string, unknown>, string][] = [
      [{ ...tag, target: { type: 'GROUP' } }, 'actions[0].target.id'],
      [{ ...tag, target: { type: 'GROUP', id: 'event.g', external_id: 'event.x' } }, 'actions[0].target'],
      [
        { type: 'SET_TIER', tier: 't', level: 'l', target: { type: 'GROUP', id: 'event.g' } },
        'actions[0].target.type',
      ],
      [{ ...tag, target: { type: 'GROUP', id: 'event.' } }, 'actions[0].target.id'],
      [{ ...tag, target: { type: 'PARTICIPANT', id: 'event.participant' } }, 'actions[0].target.id'],
    ];
    for (const [action, field] of cases) {
      const refused = await save(action);
      expect(refused.statusCode, JSON.stringify(action)).toBe(400);
      expect(refused.json().details.field).toBe(field);
    }
  });
});
