// Crash safety of an automation's fan-out against a real server process: an immediate automation
// fans out to 10,000 participants and the server is killed with SIGKILL while the fan-out runs
// (seen from the database: some participants processed, not all). A new server resumes it, and
// afterwards every participant holds exactly one event of the run, and the automation says so.
import type { ChildProcess } from 'node:child_process';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/modules/organizations/index.js';
import { seedParticipants } from '../automation-fixtures.js';
import { createTestDatabase, type TestDatabase } from '../harness.js';
import { freePort, spawnServer } from '../process/run-process.js';

const participantCount = 10_000;

let database: TestDatabase;
let server: ChildProcess | undefined;
let port: number;
let apiKey: string;
let organizationId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  const created = await createApiKey(database.handle.db, 'automation-crash');
  apiKey = created.secret;
  organizationId = created.organizationId;
  port = await freePort();
});

afterAll(async () => {
  if (server?.exitCode === null && server.signalCode === null && server.pid !== undefined) {
    process.kill(server.pid, 'SIGKILL');
  }
  await database.handle.close();
});

async function startServer(): Promise<ChildProcess> {
  // No event workers: the test is about the fan-out, and the events can wait. The child is kept
  // from its spawn on, so that afterAll ends it even if it never became ready.
  return spawnServer(
    port,
    { DATABASE_URL: database.url, LOG_LEVEL: 'error', ACCRUE_WORKERS: '0' },
    {
      onSpawn: (child) => {
        server = child;
      },
    },
  );
}

function killServer(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  });
}

async function call(method: string, url: string, body?: unknown): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}${url}`, {
    method,
    headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function progress(automationId: string) {
  const result = await sql<{ execution_status: string; participants_processed: number }>`
    select execution_status, participants_processed from automations where id = ${automationId}`.execute(
    database.handle.db,
  );
  return result.rows[0];
}

describe('an automation fan-out across SIGKILL', () => {
  it('resumes where it stopped and sends each of 10,000 participants exactly one event', async () => {
    server = await startServer();
    const program = (await (await call('POST', '/v1/programs', { name: 'Crash fan-out' })).json()) as {
      id: string;
    };
    await seedParticipants(database.handle.db, organizationId, program.id, participantCount);
    const response = await call('POST', `/v1/programs/${program.id}/automations`, {
      name: 'Announcement',
      event_name: 'announcement',
      scope: 'participants',
      trigger: { type: 'immediate' },
    });
    expect(response.status).toBe(201);
    const automation = (await response.json()) as { id: string };

    // Kill as soon as the fan-out has committed something and not everything.
    let seen = await progress(automation.id);
    // Generous: on a loaded machine the first chunk can take a while.
    const deadline = Date.now() + 150_000;
    while ((seen?.participants_processed ?? 0) === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 2));
      seen = await progress(automation.id);
    }
    await killServer(server);
    const atKill = await progress(automation.id);
    expect(atKill?.execution_status).toBe('executing');
    expect(atKill?.participants_processed).toBeGreaterThan(0);
    expect(atKill?.participants_processed).toBeLessThan(participantCount);

    server = await startServer();
    let done = await progress(automation.id);
    while (done?.execution_status !== 'completed' && Date.now() < deadline + 150_000) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      done = await progress(automation.id);
    }
    expect(done).toEqual({ execution_status: 'completed', participants_processed: participantCount });
    const counts = await sql<{ participants: string; events: string; repeated: string }>`
      select count(distinct participant_id) as participants, count(*) as events,
        count(*) - count(distinct participant_id) as repeated
      from events where program_id = ${program.id} and event_type = 'SYSTEM'`.execute(database.handle.db);
    expect(counts.rows[0]).toEqual({
      participants: String(participantCount),
      events: String(participantCount),
      repeated: '0',
    });
    await killServer(server);
  }, 400_000);
});
