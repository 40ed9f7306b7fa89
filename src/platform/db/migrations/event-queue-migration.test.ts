// 0026_event_queue.sql takes the queue out of the event row: a database migrated up to 0025 with
// pending, claimed, completed and failed events must queue exactly the unfinished ones, keep a live
// claim with its token, lease and claim count, and show every event with the status it had.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useDatabaseMigratedBefore } from '../../../../test/migration-harness.js';

const database = useDatabaseMigratedBefore('0026');

describe('0026_event_queue', () => {
  it('queues the pending and claimed events with their claims, and keeps every status', async () => {
    const { client, run } = database;
    const [organization, program, pending, claimed, completed, failed, token] = [1, 2, 3, 4, 5, 6, 7].map(
      () => randomUUID(),
    );
    // The rows only: replica mode skips the key to the program this test does not need.
    await client.query('set session_replication_role = replica');
    await client.query(
      `insert into events (organization_id, id, program_id, external_id, ordering_key, idempotency_key,
         payload_hash, event_data, event_timestamp, status, error_message, claim_count, claim_token,
         lease_expires_at, available_at, received_at, created_at, processed_at, updated_at)
       select $1, v.id, $2, 'who', 'x:who', v.id::text, sha256(v.id::text::bytea), '{}', now(), v.status,
         v.error_message, v.claim_count, v.claim_token, v.lease, now(), now(), now(), v.processed_at, now()
       from (values
         ($3::uuid, 'COMPLETED', null, 1, null::uuid, null::timestamptz, now()),
         ($4::uuid, 'FAILED', 'action CREDIT failed', 3, null, null, now()),
         ($5::uuid, 'PROCESSING', null, 2, $7::uuid, '2030-01-01T00:00:00Z', null),
         ($6::uuid, 'PENDING', null, 0, null, null, null))
         as v (id, status, error_message, claim_count, claim_token, lease, processed_at)`,
      [organization, program, completed, failed, claimed, pending, token],
    );
    await client.query('set session_replication_role = origin');
    await run('0026_event_queue.sql');

    const queue = await client.query(
      `select event_id, ordering_key, claim_token, lease_expires_at, claim_count from event_queue
       order by ingest_seq`,
    );
    expect(queue.rows).toEqual([
      {
        event_id: claimed,
        ordering_key: 'x:who',
        claim_token: token,
        lease_expires_at: new Date('2030-01-01T00:00:00Z'),
        claim_count: 2,
      },
      { event_id: pending, ordering_key: 'x:who', claim_token: null, lease_expires_at: null, claim_count: 0 },
    ]);
    const shown = await client.query(
      'select id, status, claim_count from events_with_status where organization_id = $1 order by ingest_seq',
      [organization],
    );
    expect(shown.rows).toEqual([
      { id: completed, status: 'COMPLETED', claim_count: 1 },
      { id: failed, status: 'FAILED', claim_count: 3 },
      { id: claimed, status: 'PROCESSING', claim_count: 2 },
      { id: pending, status: 'PENDING', claim_count: 0 },
    ]);
    const stored = await client.query(`select count(*)::int as n from events where status = 'PROCESSING'`);
    expect(stored.rows).toEqual([{ n: 0 }]);
  });
});
