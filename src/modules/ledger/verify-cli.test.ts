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

async function verify(): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await run('node', ['bin/accrue.mjs', 'ledger', 'verify'], {
      env: { ...process.env, DATABASE_URL: t.database.url, LOG_LEVEL: 'error' },
    });
    return { code: 0, stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string };
    return { code: failed.code, stdout: failed.stdout };
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
