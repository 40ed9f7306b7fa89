// Many participants enrolled in one program, written in bulk (the API would take minutes for the
// fan-out tests' tens of thousands). Participant n (from 0) has the tag "vip" when n is even and a
// counter "visits" equal to n % 3.
import { sql } from 'kysely';
import type { Database } from '../src/platform/db/database.js';

export async function seedParticipants(
  db: Database,
  organizationId: string,
  programId: string,
  count: number,
): Promise<void> {
  await sql`
    with made as (
      insert into participants (organization_id, id, external_id, tags, attributes)
      select ${organizationId}::uuid, gen_random_uuid(), ${`seed-${programId}-`} || n,
        case when n % 2 = 0 then array['vip'] else '{}'::text[] end, jsonb_build_object('n', n::text)
      from generate_series(0, ${count - 1}::int) as n
      returning id, (attributes ->> 'n')::int as n
    ), enrolled as (
      insert into enrollments (organization_id, program_id, participant_id)
      select ${organizationId}::uuid, ${programId}::uuid, id from made
    )
    insert into counters (organization_id, owner_type, owner_id, key, value, last_reset_at, created_at, updated_at)
    select ${organizationId}::uuid, 'PARTICIPANT', id, 'visits', n % 3, now(), now(), now() from made`.execute(
    db,
  );
}
