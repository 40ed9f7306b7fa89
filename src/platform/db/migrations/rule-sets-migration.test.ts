// 0038_evaluated_rule_sets.sql moves each evaluation row's list of rule versions into a rule set the
// events with the same list share, and its outcomes from jsonb to json: a database migrated up to 0037
// with evaluations in it must show each event the same versions, matches and outcomes after 0038, under
// the rule set id the event processor gives the same list.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useDatabaseMigratedBefore } from '../../../../test/migration-harness.js';
import { derivedId } from '../../ids.js';

const migration = '0038_evaluated_rule_sets.sql';
const database = useDatabaseMigratedBefore(migration);

const readEvaluations = `select e.event_id, s.rule_history_ids, e.matched_rule_ids, e.outcomes, e.evaluated_at
  from event_evaluations e
  join evaluated_rule_sets s on s.organization_id = e.organization_id and s.id = e.rule_set_id
  order by e.evaluated_at`;

describe('0038_evaluated_rule_sets', () => {
  it('keeps every evaluation, one rule set per list, named as the event processor names it', async () => {
    const { client, run } = database;
    const [organization, other, first, second, broken, elsewhere, rule] = [1, 2, 3, 4, 5, 6, 7].map(() =>
      randomUUID(),
    );
    const [v1, v2] = [randomUUID(), randomUUID()];
    await client.query(
      `insert into event_evaluations (organization_id, event_id, rule_history_ids, matched_rule_ids, outcomes,
         evaluated_at)
       values ($1, $3, array[$7, $8]::uuid[], array[$9]::uuid[],
               '[{"reason": "CONDITION_FALSE"}, {"actions": [{"amount": "2.00"}]}]', '2026-03-01T10:00:00Z'),
              ($1, $4, array[$7, $8]::uuid[], '{}',
               '[{"reason": "CONDITION_FALSE"}, {"reason": "CONDITION_FALSE"}]', '2026-03-01T10:00:01Z'),
              ($1, $5, array[$8]::uuid[], '{}',
               '[{"status": "SKIPPED_ERROR", "reason": "EVALUATION_ERROR", "message": "no such key"}]',
               '2026-03-01T10:00:02Z'),
              ($2, $6, array[$7, $8]::uuid[], array[$9]::uuid[], '[{}, {}]', '2026-03-01T10:00:03Z')`,
      [organization, other, first, second, broken, elsewhere, v1, v2, rule],
    );
    const before = await client.query(
      'select event_id, rule_history_ids, matched_rule_ids, outcomes, evaluated_at from event_evaluations order by evaluated_at',
    );
    await run(migration);

    const after = await client.query(readEvaluations);
    expect(after.rows).toEqual(before.rows);
    expect(after.rows.map((row) => row.event_id)).toEqual([first, second, broken, elsewhere]);
    const sets = await client.query(
      'select organization_id, id, rule_history_ids from evaluated_rule_sets order by organization_id = $1 desc, id',
      [organization],
    );
    const named = (versions: string[]) => derivedId('rule-set', versions.join('/'));
    expect(sets.rows).toEqual(
      [
        { organization_id: organization, id: named([v1, v2]), rule_history_ids: [v1, v2] },
        { organization_id: organization, id: named([v2]), rule_history_ids: [v2] },
      ]
        .sort((a, b) => (a.id < b.id ? -1 : 1))
        .concat([{ organization_id: other, id: named([v1, v2]), rule_history_ids: [v1, v2] }]),
    );
    const errored = await client.query(
      `select e.event_id from event_evaluations e
       where e.outcomes::jsonb @> '[{"status": "SKIPPED_ERROR"}]' or e.outcomes::jsonb @> '[{"status": "SKIPPED_TIMEOUT"}]'`,
    );
    expect(errored.rows).toEqual([{ event_id: broken }]);
    const indexes = await client.query(
      `select indexname from pg_indexes where tablename = 'event_evaluations' order by indexname`,
    );
    expect(indexes.rows.map((row) => row.indexname)).toEqual([
      'event_evaluations_errors',
      'event_evaluations_matched',
      'event_evaluations_pkey',
    ]);
  });
});
