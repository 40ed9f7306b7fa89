// 0038_evaluations_in_outcomes.sql moves each event's evaluations into its outcome row, its list of
// rule versions into a rule set the events with the same list share, and its outcomes from jsonb to
// json: a database migrated up to 0037 with evaluations in it must show each event the same versions,
// matches and outcomes after 0038, under the rule set id the event processor gives the same list.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useDatabaseMigratedBefore } from '../../../../test/migration-harness.js';
import { derivedId } from '../../ids.js';

const migration = '0038_evaluations_in_outcomes.sql';
const database = useDatabaseMigratedBefore(migration);

describe('0038_evaluations_in_outcomes', () => {
  it('keeps every evaluation with its outcome, one rule set per list, named as the event processor names it', async () => {
    const { client, run } = database;
    const [organization, other, first, second, broken, elsewhere, failed, rule] = [
      1, 2, 3, 4, 5, 6, 7, 8,
    ].map(() => randomUUID());
    const [v1, v2] = [randomUUID(), randomUUID()];
    await client.query(
      `insert into event_outcomes (organization_id, event_id, status, error_message, claim_count, processed_at)
       values ($1, $3, 'COMPLETED', null, 1, '2026-03-01T10:00:00Z'), ($1, $4, 'COMPLETED', null, 1, '2026-03-01T10:00:01Z'),
              ($1, $5, 'COMPLETED', null, 1, '2026-03-01T10:00:02Z'), ($2, $6, 'COMPLETED', null, 2, '2026-03-01T10:00:03Z'),
              ($1, $7, 'FAILED', 'action CREDIT failed', 3, '2026-03-01T10:00:04Z')`,
      [organization, other, first, second, broken, elsewhere, failed],
    );
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
    const outcomesBefore = await client.query(
      'select event_id, status, error_message, claim_count, processed_at from event_outcomes order by processed_at',
    );
    await run(migration);

    const after = await client.query(
      `select e.event_id, s.rule_history_ids, e.matched_rule_ids, e.outcomes, e.evaluated_at
       from event_evaluations e
       join evaluated_rule_sets s on s.organization_id = e.organization_id and s.id = e.rule_set_id
       order by e.evaluated_at`,
    );
    expect(after.rows).toEqual(before.rows);
    expect(after.rows.map((row) => row.event_id)).toEqual([first, second, broken, elsewhere]);
    const outcomesAfter = await client.query(
      `select event_id, status, error_message, claim_count, processed_at from event_outcomes order by processed_at`,
    );
    expect(outcomesAfter.rows).toEqual(outcomesBefore.rows);
    const unevaluated = await client.query(
      'select event_id from event_outcomes where rule_set_id is null and matched_rule_ids is null and outcomes is null',
    );
    expect(unevaluated.rows).toEqual([{ event_id: failed }]);

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
      `select event_id from event_outcomes
       where outcomes::jsonb @> '[{"status": "SKIPPED_ERROR"}]' or outcomes::jsonb @> '[{"status": "SKIPPED_TIMEOUT"}]'`,
    );
    expect(errored.rows).toEqual([{ event_id: broken }]);
  });
});
