// 0041_claim_heads_probe.sql: a claim whose plan was made while the queue was empty must not read the
// whole queue for every row it looks at once the queue has filled. The claim's plan is kept for the
// connection, as PL/pgSQL keeps it; the work is counted in index entries read, before and after.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useDatabaseMigratedBefore } from '../../../../test/migration-harness.js';

const migration = '0041_claim_heads_probe.sql';
const database = useDatabaseMigratedBefore(migration);

// One participant's backlog of 1,000 events first, then 200 participants with one event each.
const backlog = 1000;
const others = 200;

/** Index entries read from the queue's participant index so far (statistics flushed first). */
async function participantIndexReads(): Promise<number> {
  const { client } = database;
  await client.query('select pg_stat_force_next_flush()');
  await client.query('select pg_stat_clear_snapshot()');
  const result = await client.query(
    `select idx_tup_read::int as reads from pg_stat_user_indexes where indexrelname = 'event_queue_by_ordering_key'`,
  );
  return result.rows[0].reads;
}

/**
 * Plans the claim on the empty queue, fills the queue, then claims once more with the plan made on the
 * empty queue: the index entries read. The claim reads past the backlog's 999 rows that are not
 * heads to find its 64 heads.
 */
async function readsOfAClaimPlannedEmpty(): Promise<number> {
  const { client } = database;
  const organization = randomUUID();
  await client.query('delete from event_queue');
  await client.query('vacuum event_queue');
  await client.query('analyze event_queue');
  await client.query('select * from claim_pending_events($1, 64, 60000)', [randomUUID()]);
  await client.query(
    `insert into event_queue (organization_id, event_id, ingest_seq, ordering_key, available_at)
     select $1::uuid, gen_random_uuid(), g, case when g <= $2 then 'x:busy' else 'x:p' || g end,
       now() - interval '1 second'
     from generate_series(1, $2::integer + $3::integer) g`,
    [organization, backlog, others],
  );
  const before = await participantIndexReads();
  await client.query('select * from claim_pending_events($1, 64, 60000)', [randomUUID()]);
  return (await participantIndexReads()) - before;
}

describe('0041_claim_heads_probe', () => {
  it('keeps a claim planned on an empty queue to one look-up per row it reads', async () => {
    const { client, run } = database;
    // The plan made first is the one kept, and no autovacuum analyzes the queue meanwhile.
    await client.query('set plan_cache_mode = force_generic_plan');
    await client.query('alter table event_queue set (autovacuum_enabled = false)');

    const readsBefore = await readsOfAClaimPlannedEmpty();
    await run(migration);
    await client.query('discard plans');
    const readsAfter = await readsOfAClaimPlannedEmpty();
    console.log(
      `claim planned on an empty queue: ${readsBefore} index entries read before, ${readsAfter} after`,
    );

    const queued = backlog + others;
    // Before: the participant index read to its end for each of the 64 heads (its backlog sorts first).
    expect(readsBefore).toBeGreaterThan(queued * 50);
    // After: a look-up that stops at the first earlier row for each, then the claim's runs.
    expect(readsAfter).toBeLessThan(queued * 3);
  });
});
