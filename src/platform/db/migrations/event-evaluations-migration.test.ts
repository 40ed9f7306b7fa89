// 0010_event_evaluations.sql moves stored evaluations from one row per rule to one row per event:
// a database migrated up to 0009 with evaluations in it must read the same after 0010.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useDatabaseMigratedBefore } from '../../../../test/migration-harness.js';

const database = useDatabaseMigratedBefore('0010');

describe('0010_event_evaluations', () => {
  it('keeps every evaluation, in order, with its outcome, actions and matches', async () => {
    const organization = randomUUID();
    const [event, silentEvent, base, travel, history] = [1, 2, 3, 4, 5].map(() => randomUUID());
    const credit = [{ type: 'CREDIT', amount: '60.00' }];
    // The rows only: replica mode skips the foreign keys to rules this test does not need.
    await database.client.query('set session_replication_role = replica');
    await database.client.query(
      `insert into rule_evaluations (organization_id, event_id, position, rule_id, rule_history_id, status, reason,
         message, stopped_by_rule_id, actions, evaluated_at)
       values ($1, $2, 1, $3, $5, 'SKIPPED', 'STOPPED_AFTER_MATCH', null, $4, '[]', '2026-03-01T10:00:00Z'),
              ($1, $2, 0, $4, $5, 'MATCHED', null, null, null, $6, '2026-03-01T10:00:00Z'),
              ($1, $7, 0, $3, $5, 'SKIPPED_ERROR', 'EVALUATION_ERROR', 'no such key: amount', null, '[]',
               '2026-03-02T10:00:00Z')`,
      [organization, event, base, travel, history, JSON.stringify(credit), silentEvent],
    );
    await database.client.query('set session_replication_role = origin');
    await database.run('0010_event_evaluations.sql');

    const { rows } = await database.client.query(
      `select event_id, rule_ids, rule_history_ids, matched_rule_ids, outcomes, evaluated_at
       from event_evaluations order by evaluated_at`,
    );
    expect(rows).toEqual([
      {
        event_id: event,
        rule_ids: [travel, base],
        rule_history_ids: [history, history],
        matched_rule_ids: [travel],
        outcomes: [
          { status: 'MATCHED', actions: credit },
          { status: 'SKIPPED', reason: 'STOPPED_AFTER_MATCH', stopped_by_rule_id: travel },
        ],
        evaluated_at: new Date('2026-03-01T10:00:00Z'),
      },
      {
        event_id: silentEvent,
        rule_ids: [base],
        rule_history_ids: [history],
        matched_rule_ids: [],
        outcomes: [{ status: 'SKIPPED_ERROR', reason: 'EVALUATION_ERROR', message: 'no such key: amount' }],
        evaluated_at: new Date('2026-03-02T10:00:00Z'),
      },
    ]);
    const { rows: tables } = await database.client.query(
      `select to_regclass('rule_evaluations') as old_table`,
    );
    expect(tables).toEqual([{ old_table: null }]);
  });
});
