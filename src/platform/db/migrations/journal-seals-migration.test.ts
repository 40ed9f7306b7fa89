// 0018_journal_seals.sql moves the seals out of the journal entries: a database migrated up to 0017
// with sealed and unsealed entries must show the same positions and hashes after 0018, and queue the
// unsealed entries for the sealer.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useDatabaseMigratedBefore } from '../../../../test/migration-harness.js';

const database = useDatabaseMigratedBefore('0018');

describe('0018_journal_seals', () => {
  it('keeps every seal, queues the unsealed entries in creation order, and keeps the postings', async () => {
    const { client, run } = database;
    const organization = randomUUID();
    const [first, second, later, earlier, account] = [1, 2, 3, 4, 5].map(() => randomUUID());
    const hashes = ['a'.repeat(64), 'b'.repeat(64)];
    // The rows only: replica mode skips the keys and the balance check this test does not need.
    await client.query('set session_replication_role = replica');
    await client.query(
      `insert into journal_entries (organization_id, id, action_type, description, created_at, sequence_number,
         previous_hash, entry_hash, sealed_at)
       values ($1, $2, 'CREDIT', 'first', '2026-03-01T10:00:00Z', 1, $6, $7, '2026-03-01T10:00:05Z'),
              ($1, $3, 'CREDIT', 'second', '2026-03-01T10:00:01Z', 2, $7, $8, '2026-03-01T10:00:05Z'),
              ($1, $4, 'CREDIT', 'later', '2026-03-01T10:00:03Z', null, null, null, null),
              ($1, $5, 'CREDIT', 'earlier', '2026-03-01T10:00:02Z', null, null, null, null)`,
      [organization, first, second, later, earlier, '0'.repeat(64), hashes[0], hashes[1]],
    );
    await client.query(
      `insert into postings (organization_id, id, journal_entry_id, account_id, asset_id, owner_type, owner_id,
         bucket, amount, created_at)
       select $1, gen_random_uuid(), id, $2, $2, 'PARTICIPANT', $2, 'AVAILABLE', 1, created_at
       from journal_entries where organization_id = $1`,
      [organization, account],
    );
    await client.query('set session_replication_role = origin');
    await run('0018_journal_seals.sql');

    const seals = await client.query(
      `select journal_entry_id, sequence_number::text as sequence_number, encode(entry_hash, 'hex') as entry_hash
       from journal_seals order by sequence_number`,
    );
    expect(seals.rows).toEqual([
      { journal_entry_id: first, sequence_number: '1', entry_hash: hashes[0] },
      { journal_entry_id: second, sequence_number: '2', entry_hash: hashes[1] },
    ]);
    const queue = await client.query('select organization_id, journal_entry_ids from journal_unsealed');
    expect(queue.rows).toEqual([{ organization_id: organization, journal_entry_ids: [earlier, later] }]);
    const postings = await client.query(
      'select count(*)::int as n from postings where organization_id = $1',
      [organization],
    );
    expect(postings.rows).toEqual([{ n: 4 }]);
    const columns = await client.query(
      `select column_name from information_schema.columns
       where table_name = 'journal_entries' and column_name in ('sequence_number', 'entry_hash')`,
    );
    expect(columns.rows).toEqual([]);
  });
});
