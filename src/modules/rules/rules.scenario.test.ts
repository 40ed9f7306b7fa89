// The spec's common patterns, created through the API and run against a scripted sequence of
// events with loadActiveRules + evaluateRules. Until the ledger and state modules are merged, a tiny
// applier in this file stands in for them (balances per participant, tags, counters with a lazy
// reset_after), so the test pins down what the evaluations ask the processor to do.

import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { storeEvaluations } from '../../../test/evaluations.js';
import { buildTestApp, type Tenant, type TestApp } from '../../../test/harness.js';
import { addDecimals } from '../../platform/money.js';
import {
  evaluateRules,
  listRuleEvaluations,
  loadActiveRules,
  type ParticipantState,
  type ResolvedAction,
} from './index.js';
import { parseDuration } from './schedules.js';

let t: TestApp;
let acme: Tenant;

beforeAll(async () => {
  t = await buildTestApp();
  acme = await t.createOrganization();
});

interface Counter {
  value: number;
  resetAt: number | null;
}

/** Stands in for the ledger and state modules: what the applied actions would leave behind. */
class ScenarioState {
  balances = new Map<string, string>();
  tags = new Map<string, Set<string>>();
  counters = new Map<string, Map<string, Counter>>();

  view(participant: string, at: Date): ParticipantState {
    const counters: Record<string, number> = {};
    for (const [key, counter] of this.counters.get(participant) ?? []) {
      counters[key] = counter.resetAt !== null && counter.resetAt <= at.getTime() ? 0 : counter.value;
    }
    return {
      tags: [...(this.tags.get(participant) ?? [])],
      counters,
      attributes: {},
      tiers: {},
      status: 'ACTIVE',
    };
  }

  apply(participant: string, action: ResolvedAction, at: Date): void {
    const target =
      'target' in action && action.target.kind === 'external_id' ? action.target.external_id : participant;
    if (action.type === 'CREDIT') {
      this.balances.set(target, addDecimals(this.balances.get(target) ?? '0', action.amount));
    } else if (action.type === 'TAG') {
      this.tags.set(target, new Set([...(this.tags.get(target) ?? []), action.tag]));
    } else if (action.type === 'COUNTER') {
      const counters = this.counters.get(target) ?? new Map<string, Counter>();
      const current = this.view(target, at).counters[action.key] ?? 0;
      const resetMs = action.reset_after === null ? undefined : parseDuration(action.reset_after);
      counters.set(action.key, {
        value: current + Number(action.value),
        resetAt: resetMs === undefined ? null : at.getTime() + resetMs,
      });
      this.counters.set(target, counters);
    }
  }
}

async function createRule(body: Record<string, unknown>) {
  const response = await acme.request('POST', '/v1/rules', body);
  expect(response.statusCode, response.body).toBe(201);
  return response.json();
}

describe('a program with the common patterns', () => {
  it('produces the expected balances, tags, counters and evaluations, and simulate agrees', async () => {
    const programId = (await acme.request('POST', '/v1/programs', { name: 'Everyday rewards' })).json().id;
    const asset = await acme.request('POST', '/v1/assets', {
      program_id: programId,
      name: 'Points',
      symbol: 'PTS',
      inventory_mode: 'SIMPLE',
      issuance_policy: 'UNLIMITED',
      scale: 0,
    });
    const points = asset.json().id;
    const credit = (amount: string, extra: Record<string, unknown> = {}) => ({
      type: 'CREDIT',
      asset_id: points,
      amount,
      ...extra,
    });
    const dining = await createRule({
      program_id: programId,
      name: 'Dining 5x',
      order: 100,
      stop_after_match: true,
      condition: 'event.type == "purchase" && event.category == "dining"',
      actions: [credit('round(event.amount * 5.0, 0)')],
    });
    await createRule({
      program_id: programId,
      name: 'Groceries 3x',
      order: 200,
      stop_after_match: true,
      condition: 'event.type == "purchase" && event.category == "groceries"',
      actions: [credit('round(event.amount * 3.0, 0)')],
    });
    await createRule({
      program_id: programId,
      name: 'Base 1x',
      order: 1000,
      condition: 'event.type == "purchase"',
      actions: [credit('round(event.amount, 0)')],
    });
    await createRule({
      program_id: programId,
      name: 'Welcome bonus',
      condition: 'event.type == "signup" && !("welcome_bonus" in participant.tags)',
      actions: [credit('500'), { type: 'TAG', tag: 'welcome_bonus' }],
    });
    await createRule({
      program_id: programId,
      name: 'Referral',
      condition: 'event.type == "signup" && has(event.referrer_id) && event.referrer_id != ""',
      actions: [credit('1000', { target: { type: 'PARTICIPANT', external_id: 'event.referrer_id' } })],
    });
    await createRule({
      program_id: programId,
      name: 'Login streak',
      condition: 'event.type == "daily_login"',
      actions: [{ type: 'COUNTER', key: 'streak', value: '1', reset_after: '48h' }],
    });
    await createRule({
      program_id: programId,
      name: 'Third day in a row',
      // Every rule sees the state as it was before the event: the streak is 2 on the third login.
      condition: 'event.type == "daily_login" && get(participant.counters, "streak", 0.0) == 2.0',
      actions: [credit('100')],
    });

    const state = new ScenarioState();
    const rules = await loadActiveRules(t.database.handle.db, acme.organizationId, programId);
    expect(rules.map((rule) => rule.order)).toEqual([100, 200, 1000, 1010, 1020, 1030, 1040]);
    const script: [string, Record<string, unknown>][] = [
      ['2026-03-01T09:00:00Z', { type: 'signup', referrer_id: 'bob' }],
      ['2026-03-01T09:05:00Z', { type: 'signup' }],
      ['2026-03-01T12:00:00Z', { type: 'purchase', category: 'dining', amount: 20 }],
      ['2026-03-01T13:00:00Z', { type: 'purchase', category: 'groceries', amount: 10.2 }],
      ['2026-03-01T14:00:00Z', { type: 'purchase', category: 'travel', amount: 7.4 }],
      ['2026-03-02T08:00:00Z', { type: 'daily_login' }],
      ['2026-03-03T08:00:00Z', { type: 'daily_login' }],
      ['2026-03-04T08:00:00Z', { type: 'daily_login' }],
      ['2026-03-08T08:00:00Z', { type: 'daily_login' }],
    ];
    const matchedNames: string[][] = [];
    const eventIds: string[] = [];
    const names = new Map(rules.map((rule, index) => [rule.id, index]));
    for (const [at, eventData] of script) {
      const eventTimestamp = new Date(at);
      const evaluations = evaluateRules(rules, {
        eventData,
        eventTimestamp,
        participant: state.view('ann', eventTimestamp),
        program: { tags: [], counters: {}, attributes: {} },
      });
      expect(evaluations.every((e) => e.rule_history_id !== '')).toBe(true);
      matchedNames.push(
        evaluations.filter((e) => e.status === 'MATCHED').map((e) => String(names.get(e.rule_id))),
      );
      for (const evaluation of evaluations) {
        for (const action of evaluation.actions) state.apply('ann', action, eventTimestamp);
      }
      const eventId = randomUUID();
      eventIds.push(eventId);
      await storeEvaluations(
        t.database.handle.db,
        [{ organizationId: acme.organizationId, eventId, evaluations }],
        eventTimestamp,
      );
    }
    expect(matchedNames).toEqual([['3', '4'], [], ['0'], ['1'], ['2'], ['5'], ['5'], ['5', '6'], ['5']]);
    expect(Object.fromEntries(state.balances)).toEqual({ ann: '738', bob: '1000' });
    expect([...(state.tags.get('ann') ?? [])]).toEqual(['welcome_bonus']);
    expect(state.view('ann', new Date('2026-03-08T08:00:00Z')).counters).toEqual({ streak: 1 });

    // The dining purchase: the dining rule matched and stopped every later rule; stops always show.
    const db = t.database.handle.db;
    const shown = await listRuleEvaluations(db, acme.organizationId, eventIds[2] ?? '', false);
    expect(shown.map((e) => [e.status, e.reason])).toEqual([
      ['SUCCESS', null],
      ...Array.from({ length: 6 }, () => ['SKIPPED', 'STOPPED_AFTER_MATCH']),
    ]);
    expect(shown[0]).toMatchObject({ rule_id: dining.id, actions: [{ type: 'CREDIT', amount: '100' }] });
    const all = await listRuleEvaluations(db, acme.organizationId, eventIds[2] ?? '', true);
    expect(all).toEqual(shown);
    expect(all[1]).toMatchObject({
      status: 'SKIPPED',
      reason: 'STOPPED_AFTER_MATCH',
      stopped_by_rule_id: dining.id,
    });
    expect(await listRuleEvaluations(db, acme.organizationId, randomUUID(), true)).toEqual([]);
    const login = await listRuleEvaluations(db, acme.organizationId, eventIds[5] ?? '', false);
    expect(login.map((e) => e.status)).toEqual([
      'NOT_MATCHED',
      'NOT_MATCHED',
      'NOT_MATCHED',
      'NOT_MATCHED',
      'NOT_MATCHED',
      'SUCCESS',
      'NOT_MATCHED',
    ]);
    expect(login[5]?.actions).toEqual([
      {
        type: 'COUNTER',
        key: 'streak',
        value: '1',
        reset_after: '48h',
        target: { kind: 'event_participant' },
      },
    ]);

    const simulated = await acme.request('POST', `/v1/rules/${dining.id}/simulate`, {
      event: { type: 'purchase', category: 'dining', amount: 20 },
      participant_state: { tags: ['welcome_bonus'] },
    });
    expect(simulated.json().evaluation.results[0].result).toMatchObject({ amount: '100' });
  });
});
