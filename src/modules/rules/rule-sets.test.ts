// Stored evaluations name the rule versions they evaluated through a rule set
// (0038_evaluations_in_outcomes.sql): the events that evaluated the same versions in the same order
// share one set, whoever wrote it first, and each event still shows its own versions.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { type EventEvaluations, ruleEvaluation, storeEvaluations } from '../../../test/evaluations.js';
import { buildTestApp, type Tenant, type TestApp } from '../../../test/harness.js';
import { listRuleEvaluations } from './rule-evaluations.service.js';

let t: TestApp;
let acme: Tenant;

beforeAll(async () => {
  t = await buildTestApp();
  acme = await t.createOrganization();
});

const matched = (rule_history_id: string) => ruleEvaluation({ rule_history_id });

const evaluated = (versions: string[]): EventEvaluations => ({
  organizationId: acme.organizationId,
  eventId: randomUUID(),
  evaluations: versions.map(matched),
});

async function ruleSetsOf(organizationId: string): Promise<string[][]> {
  const { rows } = await sql<{ rule_history_ids: string[] }>`select rule_history_ids from evaluated_rule_sets
    where organization_id = ${organizationId} order by rule_history_ids`.execute(t.database.handle.db);
  return rows.map((row) => row.rule_history_ids);
}

async function versionsShown(event: EventEvaluations): Promise<string[]> {
  const shown = await listRuleEvaluations(t.database.handle.db, acme.organizationId, event.eventId, true);
  return shown.map((evaluation) => evaluation.rule_history_id);
}

describe('rule sets', () => {
  it('are shared by the events that evaluated the same versions, and each event shows its own', async () => {
    const db = t.database.handle.db;
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    const at = new Date('2026-05-01T00:00:00.000Z');
    const first = [evaluated([a, b]), evaluated([a, b]), evaluated([b, a])];
    await storeEvaluations(db, first, at);
    const later = evaluated([a, b]);
    await storeEvaluations(db, [later], at);
    // Two transactions writing the same new set at once: one inserts it, the other finds it.
    const concurrent = [evaluated([a, b, c]), evaluated([a, b, c])];
    await Promise.all(
      concurrent.map((event) => db.transaction().execute((trx) => storeEvaluations(trx, [event], at))),
    );

    expect(await ruleSetsOf(acme.organizationId)).toEqual(
      [
        [a, b],
        [a, b, c],
        [b, a],
      ].sort((x, y) => (x.join() < y.join() ? -1 : 1)),
    );
    for (const event of [...first, later, ...concurrent]) {
      expect(await versionsShown(event)).toEqual(event.evaluations.map((e) => e.rule_history_id));
    }
  });

  it('are kept by organization: the same versions in another organization are its own set', async () => {
    const other = await t.createOrganization();
    const versions = [randomUUID()];
    const mine = evaluated(versions);
    await storeEvaluations(
      t.database.handle.db,
      [mine, { ...evaluated(versions), organizationId: other.organizationId }],
      new Date(),
    );
    expect(await ruleSetsOf(acme.organizationId)).toContainEqual(versions);
    expect(await ruleSetsOf(other.organizationId)).toEqual([versions]);
  });
});
