import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { ruleEvaluation, storeEvaluations } from '../../../test/evaluations.js';
import { buildTestApp, type Tenant, type TestApp } from '../../../test/harness.js';
import type { RuleEvaluation } from './evaluate-rules.js';
import type { ResolvedAction } from './rule-actions.js';
import { listRuleEvaluations } from './rule-evaluations.service.js';
import { compactAction, expandAction } from './stored-action.js';

const assetId = '01a24348-637b-7000-809c-5ccd921fa143';
const self = { kind: 'event_participant' } as const;
const ledger = { asset_id: assetId, description: null, reference_id: null, target: self };
const expiry = new Date('2027-01-01T00:00:00.000Z');

/** Every action type with every field at its default. */
const plainActions: ResolvedAction[] = [
  { ...ledger, type: 'CREDIT', amount: '10', bucket: 'AVAILABLE', expires_at: null, matures_at: null },
  { ...ledger, type: 'DEBIT', amount: '1', allow_negative: false },
  { ...ledger, type: 'HOLD', amount: '2' },
  { ...ledger, type: 'RELEASE', amount: null },
  { ...ledger, type: 'FORFEIT', amount: '3', bucket: 'AVAILABLE' },
  { ...ledger, type: 'VOID_HOLD', reference_id: 'order-1' },
  { type: 'TAG', tag: 'vip', target: self },
  { type: 'UNTAG', tag: 'new', target: self },
  { type: 'COUNTER', key: 'purchases', value: '1', reset_after: null, target: self },
  { type: 'SET_ATTRIBUTE', key: 'city', value: 'Oslo', target: self },
  { type: 'SET_TIER', tier: 'status', level: 'gold', target: self },
  {
    type: 'SCHEDULE_EVENT',
    event_name: 'reminder',
    payload: { b: 1, a: { y: 2, x: 1 } },
    delay: '24h',
    process_at: expiry,
    target: self,
  },
  { type: 'BROADCAST', event_name: 'sale', payload: {} },
];

/** Actions with every field that has a default set to something else. */
const elsewhere = { asset_id: assetId, description: 'why', reference_id: 'ref-1' };
const unusualActions: ResolvedAction[] = [
  {
    ...elsewhere,
    target: { kind: 'participant_id', participant_id: randomUUID() },
    type: 'CREDIT',
    amount: '10.5',
    bucket: 'HELD',
    expires_at: expiry,
    matures_at: new Date('2026-06-01T00:00:00.000Z'),
  },
  { ...elsewhere, type: 'DEBIT', amount: '1', allow_negative: true, target: { kind: 'program' } },
  { ...elsewhere, type: 'RELEASE', amount: '4', target: { kind: 'external_id', external_id: 'ann' } },
  {
    ...elsewhere,
    type: 'FORFEIT',
    amount: '3',
    bucket: 'HELD',
    target: { kind: 'group', group_id: randomUUID() },
  },
  { ...elsewhere, type: 'VOID_HOLD', target: { kind: 'program' } },
  { type: 'COUNTER', key: 'visits', value: '-0.5', reset_after: '24h', target: { kind: 'program' } },
  { type: 'TAG', tag: 'vip', target: { kind: 'external_id', external_id: 'bob' } },
];

/** What an action read back from a row that stored it whole (as rows before 0027 do) looks like. */
function asStoredWhole(action: ResolvedAction): Record<string, unknown> {
  return JSON.parse(JSON.stringify(action));
}

describe('compactAction and expandAction', () => {
  it('store none of the default fields, and only those', () => {
    expect(plainActions.map((action) => compactAction(action))).toEqual([
      { asset_id: assetId, type: 'CREDIT', amount: '10' },
      { asset_id: assetId, type: 'DEBIT', amount: '1' },
      { asset_id: assetId, type: 'HOLD', amount: '2' },
      { asset_id: assetId, type: 'RELEASE' },
      { asset_id: assetId, type: 'FORFEIT', amount: '3' },
      { asset_id: assetId, reference_id: 'order-1', type: 'VOID_HOLD' },
      { type: 'TAG', tag: 'vip' },
      { type: 'UNTAG', tag: 'new' },
      { type: 'COUNTER', key: 'purchases', value: '1' },
      { type: 'SET_ATTRIBUTE', key: 'city', value: 'Oslo' },
      { type: 'SET_TIER', tier: 'status', level: 'gold' },
      {
        type: 'SCHEDULE_EVENT',
        event_name: 'reminder',
        payload: { b: 1, a: { y: 2, x: 1 } },
        delay: '24h',
        process_at: expiry,
      },
      { type: 'BROADCAST', event_name: 'sale', payload: {} },
    ]);
    for (const action of unusualActions) expect(compactAction(action)).toEqual(action);
  });

  it('give back the whole action, keys in the order jsonb stores them', async () => {
    for (const action of [...plainActions, ...unusualActions]) {
      const stored = JSON.parse(JSON.stringify(compactAction(action)));
      const whole = asStoredWhole(action);
      expect(expandAction(stored)).toEqual(whole);
      expect(Object.keys(expandAction(stored))).toEqual(Object.keys(expandAction(whole)));
    }
  });
});

/** The definition a rule would hold for an action: its type and its fields other than the defaults. */
function definitionOf(action: ResolvedAction): Record<string, unknown> {
  return JSON.parse(JSON.stringify(compactAction(action)));
}

describe("compactAction and expandAction with the rule's definition", () => {
  it('leave out the fields the definition says, and take them back from it', () => {
    for (const action of [...plainActions, ...unusualActions]) {
      const definition = definitionOf(action);
      const stored = JSON.parse(JSON.stringify(compactAction(action, definition)));
      expect(stored).not.toHaveProperty('type');
      expect(expandAction(stored, definition)).toEqual(asStoredWhole(action));
      expect(Object.keys(expandAction(stored, definition))).toEqual(
        Object.keys(expandAction(asStoredWhole(action))),
      );
    }
    const credit = plainActions[0] as ResolvedAction;
    expect(compactAction(credit, definitionOf(credit))).toEqual({});
  });

  it('keep what the rule computed: an amount from CEL, a literal written otherwise', () => {
    const credit = plainActions[0] as ResolvedAction;
    expect(compactAction(credit, { type: 'CREDIT', asset_id: assetId, amount: 'event.amount' })).toEqual({
      amount: '10',
    });
    expect(compactAction(credit, { type: 'CREDIT', asset_id: assetId, amount: '10.0' })).toEqual({
      amount: '10',
    });
  });

  it('store the action with its type when the definition would not give it back exactly', () => {
    // A RELEASE of everything held: the definition's amount would come back instead of null.
    const release = plainActions[3] as ResolvedAction;
    const definition = { type: 'RELEASE', asset_id: assetId, amount: 'event.amount' };
    expect(compactAction(release, definition)).toEqual(compactAction(release));
    // An action beyond the definitions (none given) is stored as before.
    expect(compactAction(release, undefined)).toEqual({ asset_id: assetId, type: 'RELEASE' });
  });
});

describe('stored evaluations', () => {
  let t: TestApp;
  let acme: Tenant;

  beforeAll(async () => {
    t = await buildTestApp();
    acme = await t.createOrganization();
  });

  const evaluation = ruleEvaluation;

  /** An outcome as rows before 0027 store it: every status, null and empty parts left out. */
  const wholeOutcome = (e: RuleEvaluation) => ({
    status: e.status,
    ...(e.reason === null ? {} : { reason: e.reason }),
    ...(e.message === null ? {} : { message: e.message }),
    ...(e.stopped_by_rule_id === null ? {} : { stopped_by_rule_id: e.stopped_by_rule_id }),
    ...(e.actions.length === 0 ? {} : { actions: e.actions }),
  });

  it('read the same from a compact row and from a row written whole before 0027', async () => {
    const db = t.database.handle.db;
    const eventId = randomUUID();
    const evaluations = [
      evaluation({ actions: plainActions }),
      evaluation({ actions: unusualActions }),
      evaluation({}),
      evaluation({ status: 'NOT_MATCHED', reason: 'CONDITION_FALSE' }),
      evaluation({ status: 'NOT_MATCHED', reason: 'MISSING_FIELD', message: 'no such key: amount' }),
      evaluation({ status: 'SKIPPED', reason: 'STOPPED_AFTER_MATCH', stopped_by_rule_id: randomUUID() }),
      evaluation({ status: 'SKIPPED_ERROR', reason: 'EVALUATION_ERROR', message: 'division by zero' }),
    ];
    const at = new Date('2026-05-01T00:00:00.000Z');
    await storeEvaluations(db, [{ organizationId: acme.organizationId, eventId, evaluations }], at);
    const where = sql`organization_id = ${acme.organizationId} and event_id = ${eventId}`;
    const stored = await sql<{ outcomes: unknown[] }>`select outcomes from event_evaluations
      where ${where}`.execute(db);
    const outcomes = stored.rows[0]?.outcomes ?? [];
    const [first] = outcomes as { actions: unknown[] }[];
    expect(first?.actions[0]).toEqual({ asset_id: assetId, type: 'CREDIT', amount: '10' });
    expect(outcomes.slice(2, 5)).toEqual([
      {},
      { reason: 'CONDITION_FALSE' },
      { reason: 'MISSING_FIELD', message: 'no such key: amount' },
    ]);
    expect(outcomes[6]).toMatchObject({ status: 'SKIPPED_ERROR' });
    const fromCompact = await listRuleEvaluations(db, acme.organizationId, eventId, true);
    expect(fromCompact.map((shown) => [shown.status, shown.reason, shown.error_message])).toEqual([
      ['SUCCESS', null, null],
      ['SUCCESS', null, null],
      ['SUCCESS', null, null],
      ['NOT_MATCHED', 'CONDITION_FALSE', null],
      ['NOT_MATCHED', 'MISSING_FIELD', 'no such key: amount'],
      ['SKIPPED', 'STOPPED_AFTER_MATCH', null],
      ['SKIPPED_ERROR', 'EVALUATION_ERROR', 'division by zero'],
    ]);
    expect(fromCompact.slice(0, 2).map((shown) => shown.actions)).toEqual([
      plainActions.map(asStoredWhole),
      unusualActions.map(asStoredWhole),
    ]);

    const whole = JSON.stringify(evaluations.map(wholeOutcome));
    await sql`update event_evaluations set outcomes = ${whole}::json where ${where}`.execute(db);
    const fromWhole = await listRuleEvaluations(db, acme.organizationId, eventId, true);
    expect(JSON.stringify(fromWhole)).toBe(JSON.stringify(fromCompact));
  });
});
