// 0030_narrow_history_and_evaluations.sql drops event_evaluations.rule_ids (read from the rule
// versions) and stores the state history's kinds as enums under a key without owner_type: a database
// migrated up to 0029 with evaluations and history in it must read the same after 0030.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useDatabaseMigratedBefore } from '../../../../test/migration-harness.js';

const migration = '0030_narrow_history_and_evaluations.sql';
const database = useDatabaseMigratedBefore(migration);

describe('0030_narrow_history_and_evaluations', () => {
  it('keeps every evaluation and history row, and reads each rule id from its version', async () => {
    const { client, run } = database;
    const [organization, program, event, broken, base, travel, baseV1, travelV1, participant, group] = [
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
    ].map(() => randomUUID());
    const [historyA, historyB, historyC] = [1, 2, 3].map(() => randomUUID());
    // The rows only: replica mode skips the foreign keys this test does not need.
    await client.query('set session_replication_role = replica');
    await client.query(
      `insert into rule_history (organization_id, id, rule_id, program_id, change_type, changed_at, changes, snapshot)
       values ($1, $2, $3, $4, 'created', now(), '{}', '{"name": "base"}'),
              ($1, $5, $6, $4, 'created', now(), '{}', '{"name": "travel"}')`,
      [organization, baseV1, base, program, travelV1, travel],
    );
    await client.query(
      `insert into event_evaluations (organization_id, event_id, rule_ids, rule_history_ids, matched_rule_ids,
         outcomes, evaluated_at)
       values ($1, $2, array[$3, $4]::uuid[], array[$5, $6]::uuid[], array[$4]::uuid[],
               '[{"reason": "CONDITION_FALSE"}, {"actions": [{"type": "CREDIT", "amount": "2.00"}]}]',
               '2026-03-01T10:00:00Z'),
              ($1, $7, array[$4]::uuid[], array[$6]::uuid[], '{}',
               '[{"status": "SKIPPED_ERROR", "reason": "EVALUATION_ERROR", "message": "no such key"}]',
               '2026-03-02T10:00:00Z')`,
      [organization, event, base, travel, baseV1, travelV1, broken],
    );
    await client.query(
      `insert into state_history (organization_id, id, owner_type, owner_id, state_type, key, operation,
         old_value, new_value, program_id, event_id, event_timestamp, rule_id, changed_by_api_key_id,
         changed_by_job, changed_at)
       values ($1, $2, 'PARTICIPANT', $3, 'counter', 'purchases', 'set', '1', '2', $4, $5,
               '2026-03-01T09:00:00Z', $6, null, null, '2026-03-01T10:00:00Z'),
              ($1, $7, 'GROUP', $8, 'tag', 'vip', 'add', null, 'vip', null, null, null, null, $9, null,
               '2026-03-01T11:00:00Z'),
              ($1, $10, 'PROGRAM', $4, 'tier', 'status', 'expire', 'gold', null, $4, null, null, null, null,
               'tier-lifecycle', '2026-03-01T12:00:00Z')`,
      [organization, historyA, participant, program, event, base, historyB, group, randomUUID(), historyC],
    );
    await client.query('set session_replication_role = origin');
    const historyBefore = await client.query('select * from state_history order by changed_at');
    await run(migration);

    const evaluations = await client.query(
      'select event_id, rule_history_ids, matched_rule_ids, outcomes from event_evaluations order by evaluated_at',
    );
    expect(evaluations.rows).toEqual([
      {
        event_id: event,
        rule_history_ids: [baseV1, travelV1],
        matched_rule_ids: [travel],
        outcomes: [{ reason: 'CONDITION_FALSE' }, { actions: [{ type: 'CREDIT', amount: '2.00' }] }],
      },
      {
        event_id: broken,
        rule_history_ids: [travelV1],
        matched_rule_ids: [],
        outcomes: [{ status: 'SKIPPED_ERROR', reason: 'EVALUATION_ERROR', message: 'no such key' }],
      },
    ]);
    const ruleIds = await client.query(
      `select e.event_id, array_agg(h.rule_id order by p.position) as rule_ids
       from event_evaluations e, unnest(e.rule_history_ids) with ordinality as p(history_id, position)
       join rule_history h on h.organization_id = $1 and h.id = p.history_id
       group by e.event_id, e.evaluated_at order by e.evaluated_at`,
      [organization],
    );
    expect(ruleIds.rows).toEqual([
      { event_id: event, rule_ids: [base, travel] },
      { event_id: broken, rule_ids: [travel] },
    ]);

    const historyAfter = await client.query('select * from state_history order by changed_at');
    expect(historyAfter.rows).toEqual(historyBefore.rows);
    const read = await client.query(
      `select id from state_history
       where organization_id = $1 and owner_type = $2 and owner_id = $3 and state_type = 'counter'`,
      [organization, 'PARTICIPANT', participant],
    );
    expect(read.rows).toEqual([{ id: historyA }]);
    await expect(
      client.query(
        `insert into state_history (organization_id, id, owner_type, owner_id, state_type, key, operation,
           changed_by_job, changed_at)
         values ($1, $2, 'PARTICIPANT', $3, 'badge', 'x', 'add', 'job', now())`,
        [organization, randomUUID(), participant],
      ),
    ).rejects.toMatchObject({ code: '22P02' });
  });
});
