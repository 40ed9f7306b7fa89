// 0035_event_outcomes.sql takes the outcome out of the event row: a database migrated up to 0034 with
// pending, claimed, completed and failed events must keep showing each event with the status, error,
// claim count, processing time and participant it had, and the finished ones get their outcome rows.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useDatabaseMigratedBefore } from '../../../../test/migration-harness.js';

const database = useDatabaseMigratedBefore('0035');

describe('0035_event_outcomes', () => {
  it('moves the finished events to outcome rows and shows every event as before', async () => {
    const { client, run } = database;
    const organization = randomUUID();
    const [program, participant, pending, claimed, completed, failed, token] = [1, 2, 3, 4, 5, 6, 7].map(() =>
      randomUUID(),
    );
    // The rows only: replica mode skips the key to the program this test does not need.
    await client.query('set session_replication_role = replica');
    await client.query(
      `insert into events (organization_id, id, program_id, participant_id, external_id, ordering_key,
         idempotency_key, payload_hash, event_data, event_timestamp, status, error_message, claim_count,
         received_at, created_at, processed_at, updated_at)
       select $1, v.id, $2, v.participant_id, 'who', 'x:who', v.id::text, sha256(v.id::text::bytea), '{}', now(),
         v.status, v.error_message, v.claim_count, now(), '2026-12-01T10:00:00Z', v.processed_at,
         coalesce(v.processed_at, '2026-12-01T10:00:00Z')
       from (values
         ($4::uuid, 'COMPLETED', null, 1, '2026-12-01T10:00:01Z'::timestamptz, $3::uuid),
         ($5::uuid, 'FAILED', 'action CREDIT failed', 3, '2026-12-01T10:00:02Z', null),
         ($6::uuid, 'PENDING', null, 0, null, null),
         ($7::uuid, 'PENDING', null, 0, null, null))
         as v (id, status, error_message, claim_count, processed_at, participant_id)`,
      [organization, program, participant, completed, failed, claimed, pending],
    );
    await client.query(
      `insert into event_queue (organization_id, event_id, ingest_seq, ordering_key, available_at, claim_token,
         lease_expires_at, claim_count)
       select organization_id, id, ingest_seq, ordering_key, now(), case when id = $2 then $3::uuid end,
         case when id = $2 then '2030-01-01T00:00:00Z'::timestamptz end, case when id = $2 then 2 else 0 end
       from events where status = 'PENDING' and organization_id = $1`,
      [organization, claimed, token],
    );
    await client.query('set session_replication_role = origin');
    const shownBefore = await shown(organization);
    await run('0035_event_outcomes.sql');

    expect(await shown(organization)).toEqual(shownBefore);
    expect(shownBefore.map((row) => row.status)).toEqual(['COMPLETED', 'FAILED', 'PROCESSING', 'PENDING']);
    const outcomes = await client.query(
      `select event_id, status, error_message, claim_count, participant_id from event_outcomes
       where organization_id = $1 order by processed_at`,
      [organization],
    );
    expect(outcomes.rows).toEqual([
      { event_id: completed, status: 'COMPLETED', error_message: null, claim_count: 1, participant_id: null },
      {
        event_id: failed,
        status: 'FAILED',
        error_message: 'action CREDIT failed',
        claim_count: 3,
        participant_id: null,
      },
    ]);
  });
});

async function shown(organization: string) {
  const result = await database.client.query(
    `select id, participant_id, status, error_message, claim_count, processed_at, updated_at
     from events_with_status where organization_id = $1 order by ingest_seq`,
    [organization],
  );
  return result.rows;
}
