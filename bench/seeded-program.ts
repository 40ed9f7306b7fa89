// The set-up the automation benchmarks share: an API key made with the CLI, a JSON caller on the
// server's port, and a program whose participants are seeded by SQL (then analyzed).
import { sql } from 'kysely';
import type { Database } from '../src/platform/db/database.js';
import { seedParticipants } from '../test/automation-fixtures.js';
import { runCli } from '../test/process/run-process.js';

export type ApiCall = (method: string, path: string, body?: unknown) => Promise<{ id: string }>;

/** A program named `name` with `participantCount` enrolled participants, and the caller that made it. */
export async function seededProgram(
  db: Database,
  server: { port: number },
  env: Record<string, string>,
  name: string,
  participantCount: number,
): Promise<{ call: ApiCall; programId: string }> {
  const key = runCli(['keys', 'create', '--org', 'bench'], env).stdout.trim().split('\n').pop() ?? '';
  const call: ApiCall = async (method, path, body) =>
    (
      await fetch(`http://127.0.0.1:${server.port}${path}`, {
        method,
        headers: { 'x-api-key': key, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
    ).json() as Promise<{ id: string }>;
  const program = await call('POST', '/v1/programs', { name });
  const organization = await sql<{ organization_id: string }>`
    select organization_id from programs where id = ${program.id}`.execute(db);
  await seedParticipants(db, organization.rows[0]?.organization_id ?? '', program.id, participantCount);
  await sql`analyze`.execute(db);
  return { call, programId: program.id };
}
