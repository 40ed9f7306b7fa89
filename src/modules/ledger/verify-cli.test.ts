import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { beforeAll, expect, it } from 'vitest';
import { buildTestApp, createLedgerFixture, type TestApp } from '../../../test/harness.js';

const run = promisify(execFile);
let t: TestApp;

beforeAll(async () => {
  t = await buildTestApp();
});

async function verify(): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('node', ['bin/accrue.mjs', 'ledger', 'verify'], {
      env: { ...process.env, DATABASE_URL: t.database.url, LOG_LEVEL: 'error' },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

it('accrue ledger verify passes on a sound ledger and exits 1 when a stored balance is altered', async () => {
  const org = await t.createOrganization();
  const f = await createLedgerFixture(org);
  await org.request('POST', `/v1/participants/${f.participantId}/balances/adjust`, {
    program_id: f.programId,
    asset_id: f.assetId,
    description: 'x',
    type: 'CREDIT',
    amount: '5',
  });
  const sound = await verify();
  expect(sound.code).toBe(0);
  expect(sound.stdout).toMatch(/no difference/);
  // Piped: no progress line, no terminal control characters.
  const output = sound.stdout + sound.stderr;
  expect(output).not.toContain('\r');
  expect(output).not.toContain('\x1b');
  await sql`update ledger_accounts set balance = balance + 1 where owner_type = 'PARTICIPANT'`.execute(
    t.database.handle.db,
  );
  const broken = await verify();
  expect(broken.code).toBe(1);
  expect(broken.stdout).toMatch(/FAILED: stored_balances/);
  await sql`update ledger_accounts set balance = balance - 1 where owner_type = 'PARTICIPANT'`.execute(
    t.database.handle.db,
  );
}, 60_000);

it('accrue ledger verify shows its progress on a terminal, and clears it before the result', async () => {
  // `script` runs the command on a pseudo-terminal, as a person at a shell would.
  const command = 'node bin/accrue.mjs ledger verify';
  const { stdout } = await run('script', ['-qec', command, '/dev/null'], {
    env: { ...process.env, DATABASE_URL: t.database.url, LOG_LEVEL: 'error' },
  });
  expect(stdout).toMatch(/verifying organizations: \d+\/\d+ \(100%\)/);
  expect(stdout).toContain('\r\x1b[2K');
  expect(stdout).toMatch(/no difference/);
}, 60_000);
