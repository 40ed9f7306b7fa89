// 0040_state_history_sets.sql stores the state history as one row per owner and source and reads it
// through a state_history view: a database migrated up to 0039 with history in it must read the same
// rows, ids included, after 0040.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useDatabaseMigratedBefore } from '../../../../test/migration-harness.js';

const migration = '0040_state_history_sets.sql';
const database = useDatabaseMigratedBefore(migration);

describe('0040_state_history_sets', () => {
  it('keeps every history row under its own id, and refuses a set with no source', async () => {
    const { client, run } = database;
    const [organization, program, event, rule, participant, group, apiKey] = [1, 2, 3, 4, 5, 6, 7].map(() =>
      randomUUID(),
    );
    const [historyA, historyB, historyC, historyD] = [1, 2, 3, 4].map(() => randomUUID());
    await client.query(
      `insert into state_history (organization_id, id, owner_type, owner_id, state_type, key, operation,
         old_value, new_value, program_id, event_id, event_timestamp, rule_id, changed_by_api_key_id,
         changed_by_job, changed_at)
       values ($1, $2, 'PARTICIPANT', $3, 'counter', 'purchases', 'set', '1', '2', $4, $5,
               '2026-03-01T09:00:00Z', $6, null, null, '2026-03-01T10:00:00Z'),
              ($1, $7, 'PARTICIPANT', $3, 'counter', 'ytd_spend', 'set', null, '12.5', $4, $5,
               '2026-03-01T09:00:00Z', $6, null, null, '2026-03-01T10:00:00Z'),
              ($1, $8, 'GROUP', $9, 'tag', 'vip', 'add', null, 'vip', null, null, null, null, $10, null,
               '2026-03-01T11:00:00Z'),
              ($1, $11, 'PROGRAM', $4, 'tier', 'status', 'expire', 'gold', null, $4, null, null, null, null,
               'tier-lifecycle', '2026-03-01T12:00:00Z')`,
      [
        organization,
        historyA,
        participant,
        program,
        event,
        rule,
        historyB,
        historyC,
        group,
        apiKey,
        historyD,
      ],
    );
    const historyBefore = await client.query('select * from state_history order by changed_at, id');
    await run(migration);

    const historyAfter = await client.query('select * from state_history order by changed_at, id');
    expect(historyAfter.rows).toEqual(historyBefore.rows);
    const sets = await client.query(
      'select id, json_array_length(changes) as changes from state_history_sets',
    );
    expect(sets.rows).toHaveLength(4);
    const read = await client.query(
      `select id, rule_id from state_history
       where organization_id = $1 and owner_type = 'PARTICIPANT' and owner_id = $2 and key = 'purchases'`,
      [organization, participant],
    );
    expect(read.rows).toEqual([{ id: historyA, rule_id: rule }]);
    await expect(
      client.query(
        `insert into state_history_sets (organization_id, owner_id, id, changed_at, owner_type, changes)
         values ($1, $2, $3, now(), 'PARTICIPANT', '[["tag", "x", "add", null, "x", null]]')`,
        [organization, participant, randomUUID()],
      ),
    ).rejects.toMatchObject({ code: '23514', constraint: 'state_history_sets_one_source' });
  });
});
