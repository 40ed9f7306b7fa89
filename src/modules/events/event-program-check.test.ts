// The events → programs guarantee, kept by migration 0031_cheaper_event_inserts as a check per statement (and a refusal
// to delete a program that has events) instead of a foreign key that locked the program row once per
// inserted event.
import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type Tenant, type TestApp } from '../../../test/harness.js';

let t: TestApp;
let acme: Tenant;
let programId: string;
let eventId: string;

beforeAll(async () => {
  t = await buildTestApp();
  acme = await t.createOrganization();
  programId = (await acme.request('POST', '/v1/programs', { name: 'Loyalty' })).json().id;
  const accepted = await acme.request('POST', '/v1/events', {
    program_id: programId,
    external_id: 'user_1',
    idempotency_key: 'order-1',
    event_timestamp: '2024-01-15T10:30:00Z',
    event_data: { amount: 1 },
  });
  eventId = accepted.json().id;
});

/** Copies of the stored event under new ids and keys, one per program id given, in one statement. */
function copiesOfTheEvent(programIds: string[]) {
  return sql`
    insert into events (organization_id, id, program_id, participant_id, external_id, ordering_key,
      idempotency_key, payload_hash, event_type, event_data, event_timestamp, received_at, created_at, updated_at)
    select e.organization_id, gen_random_uuid(), p.program_id, e.participant_id, e.external_id, e.ordering_key,
      e.idempotency_key || '-' || p.n, e.payload_hash, e.event_type, e.event_data, e.event_timestamp,
      e.received_at, e.created_at, e.updated_at
    from events e, unnest(${programIds}::uuid[]) with ordinality as p (program_id, n)
    where e.organization_id = ${acme.organizationId} and e.id = ${eventId}`;
}

async function eventCount(): Promise<number> {
  const result = await sql<{ count: number }>`
    select count(*)::int as count from events where organization_id = ${acme.organizationId}`.execute(
    t.database.handle.db,
  );
  return result.rows[0]?.count ?? -1;
}

describe('an event without its program', () => {
  it('is refused with the whole statement that inserts it', async () => {
    const missing = '01900000-0000-7000-8000-0000000000aa';
    await expect(copiesOfTheEvent([programId, missing]).execute(t.database.handle.db)).rejects.toThrow(
      `event of program ${missing} (organization ${acme.organizationId}) without its program`,
    );
    expect(await eventCount()).toBe(1);
  });

  it('is not made by events of existing programs', async () => {
    await copiesOfTheEvent([programId, programId]).execute(t.database.handle.db);
    expect(await eventCount()).toBe(3);
  });

  it('is not made by deleting the program', async () => {
    await expect(
      sql`delete from programs where organization_id = ${acme.organizationId} and id = ${programId}`.execute(
        t.database.handle.db,
      ),
    ).rejects.toThrow(`program ${programId} (organization ${acme.organizationId}) has events`);
  });
});
