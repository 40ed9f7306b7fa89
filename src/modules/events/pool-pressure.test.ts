// An event's transaction holds one pool connection, and everything the event does must go through
// it: a step that asked the pool for a second connection (as creating system accounts on the fly
// did) waits on itself once the pool is exhausted. With a pool of one connection, a rule's first
// credit of a new asset must still complete.
import { afterEach, beforeAll, expect, it } from 'vitest';
import { buildTestApp, startTestWorkers, type Tenant, type TestApp } from '../../../test/harness.js';
import type { EventWorkers } from './index.js';

let t: TestApp;
let acme: Tenant;
let workers: EventWorkers | undefined;

beforeAll(async () => {
  t = await buildTestApp({ pool: { sizeMax: 1, waitMs: 1000 } });
  acme = await t.createOrganization();
});

afterEach(async () => {
  await workers?.stop();
  workers = undefined;
});

async function programCreditingNewAsset(name: string) {
  const programId = (await acme.request('POST', '/v1/programs', { name })).json().id;
  const asset = await acme.request('POST', '/v1/assets', {
    program_id: programId,
    name,
    symbol: name,
    inventory_mode: 'LOT',
    issuance_policy: 'UNLIMITED',
    scale: 0,
  });
  const rule = await acme.request('POST', '/v1/rules', {
    program_id: programId,
    name: 'Earn',
    condition: 'true',
    actions: [{ type: 'CREDIT', asset_id: asset.json().id, amount: '10' }],
  });
  expect(rule.statusCode, rule.body).toBe(201);
  return { programId, assetId: asset.json().id as string };
}

async function processed(programId: string): Promise<{ status: string; participant_id: string }> {
  const accepted = await acme.request('POST', '/v1/events', {
    program_id: programId,
    external_id: `member-${programId}`,
    idempotency_key: `first-${programId}`,
    event_timestamp: '2026-04-01T10:00:00Z',
    event_data: {},
  });
  expect(accepted.statusCode, accepted.body).toBe(202);
  const deadline = Date.now() + 20_000;
  for (;;) {
    const event = await acme.request('GET', `/v1/events/${accepted.json().id}`);
    const body = event.statusCode === 200 ? event.json() : { status: 'WAITING' };
    if (['COMPLETED', 'FAILED'].includes(body.status) || Date.now() > deadline) return body;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

it('credits a new asset with a pool of one connection', async () => {
  const { programId, assetId } = await programCreditingNewAsset('NEW');
  workers = startTestWorkers(t);
  const event = await processed(programId);
  expect(event.status).toBe('COMPLETED');
  const balances = (
    await acme.request('GET', `/v1/participants/${event.participant_id}/balances?asset_id=${assetId}`)
  ).json();
  expect(balances.data).toMatchObject([{ asset_id: assetId, available: '10' }]);
});
