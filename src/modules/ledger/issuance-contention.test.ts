// Credits to different participants must not wait on one another through SYSTEM_ISSUANCE: while
// one transaction holds a credit uncommitted, a credit to another participant completes.
import { beforeAll, expect, it } from 'vitest';
import { buildTestApp, createLedgerFixture, type Tenant, type TestApp } from '../../../test/harness.js';
import { findAssetRow } from '../assets/index.js';
import { participantOwner } from './accounts.js';
import { credit } from './operations.js';

let t: TestApp;
let acme: Tenant;

beforeAll(async () => {
  t = await buildTestApp();
  acme = await t.createOrganization();
});

async function within<T>(ms: number, work: Promise<T>): Promise<T | 'timed out'> {
  return Promise.race([
    work,
    new Promise<'timed out'>((resolve) => setTimeout(() => resolve('timed out'), ms)),
  ]);
}

it('a credit to another participant completes while an UNLIMITED credit is still uncommitted', async () => {
  const f = await createLedgerFixture(acme);
  const second = (
    await acme.request('POST', '/v1/participants', { external_id: 'second', program_id: f.programId })
  ).json();
  const db = t.database.handle.db;
  const asset = await findAssetRow(db, acme.organizationId, f.assetId);
  let release = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const open = db.transaction().execute(async (trx) => {
    const context = {
      organizationId: acme.organizationId,
      programId: f.programId,
      description: 'open',
      now: new Date(),
    };
    await credit(trx, context, { owner: participantOwner(f.participantId), asset, amount: 100n });
    await held;
  });
  await new Promise((resolve) => setTimeout(resolve, 100));
  const other = acme.request('POST', `/v1/participants/${second.id}/balances/adjust`, {
    program_id: f.programId,
    asset_id: f.assetId,
    description: 'concurrent',
    type: 'CREDIT',
    amount: '1',
  });
  const result = await within(5000, other);
  release();
  await open;
  expect(result).not.toBe('timed out');
  expect(result === 'timed out' ? 0 : result.statusCode).toBe(200);
  const report = (await acme.request('GET', '/v1/reports/integrity')).json();
  expect(report.all_passed).toBe(true);
});
