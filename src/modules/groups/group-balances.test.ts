import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildTestApp,
  createLedgerFixture,
  type LedgerFixture,
  type Tenant,
  type TestApp,
} from '../../../test/harness.js';

let t: TestApp;
let acme: Tenant;
let other: Tenant;

beforeAll(async () => {
  t = await buildTestApp();
  acme = await t.createOrganization();
  other = await t.createOrganization();
});

async function newGroup(tenant: Tenant = acme): Promise<string> {
  const admin = (
    await tenant.request('POST', '/v1/participants', { external_id: `a-${Math.random()}` })
  ).json().id;
  return (
    await tenant.request('POST', '/v1/groups', {
      name: 'Household',
      members: [{ participant_id: admin, role: 'ADMIN' }],
    })
  ).json().id;
}

function groupOperation(groupId: string, f: LedgerFixture, path: string, body: Record<string, unknown>) {
  return acme.request('POST', `/v1/groups/${groupId}/balances/${path}`, {
    program_id: f.programId,
    asset_id: f.assetId,
    description: 'group operation',
    ...body,
  });
}

describe('group balance operations', () => {
  it('credits, holds, releases, forfeits and debits a group with the participant shapes, in the journal under group_id', async () => {
    const f = await createLedgerFixture(acme);
    const id = await newGroup();
    const credited = await groupOperation(id, f, 'adjust', { type: 'CREDIT', amount: '100' });
    expect(credited.statusCode).toBe(200);
    expect(credited.json()).toMatchObject({
      amount: '100.00',
      balance: { available: '100.00', held: '0.00', deferred: '0.00' },
      message: 'Balance adjusted successfully',
      type: 'CREDIT',
    });
    const held = await groupOperation(id, f, 'hold', { amount: '30', reference_id: 'trip' });
    expect(held.json()).toMatchObject({ operation: 'HOLD', balance: { available: '70.00', held: '30.00' } });
    const released = await groupOperation(id, f, 'release', { amount: '10' });
    expect(released.json().balance).toMatchObject({ available: '80.00', held: '20.00' });
    const forfeited = await groupOperation(id, f, 'forfeit', { bucket: 'HELD', amount: '5' });
    expect(forfeited.json().balance).toMatchObject({ available: '80.00', held: '15.00' });
    const debited = await groupOperation(id, f, 'adjust', { type: 'DEBIT', amount: '0.5' });
    expect(debited.json().balance.available).toBe('79.50');
    expect((await acme.request('GET', `/v1/groups/${id}`)).json().balances).toEqual({ [f.assetId]: '94.50' });
    const journal = (await acme.request('GET', `/v1/journal-entries?group_id=${id}`)).json().data;
    expect(journal.map((e: { action_type: string }) => e.action_type)).toEqual([
      'DEBIT',
      'FORFEIT',
      'RELEASE',
      'HOLD',
      'CREDIT',
    ]);
    const posting = journal[4].postings.find((p: { entity_type: string }) => p.entity_type === 'GROUP');
    expect(posting).toMatchObject({ group_id: id, participant_id: null, amount: '100.00' });
    const byParticipant = await acme.request('GET', `/v1/journal-entries?participant_id=${f.participantId}`);
    expect(byParticipant.json().data).toEqual([]);
  });

  it('refuses a debit past the balance (422), an amount past the scale (400) and an unlinked asset (422), changing nothing', async () => {
    const f = await createLedgerFixture(acme);
    const id = await newGroup();
    await groupOperation(id, f, 'adjust', { type: 'CREDIT', amount: '10' });
    const short = await groupOperation(id, f, 'adjust', { type: 'DEBIT', amount: '10.01' });
    expect(short.statusCode).toBe(422);
    expect(short.json().code).toBe('insufficient_balance');
    const scale = await groupOperation(id, f, 'hold', { amount: '1.001' });
    expect(scale.statusCode).toBe(400);
    expect(scale.json().code).toBe('invalid_scale');
    const unlinked = await createLedgerFixture(acme);
    const notLinked = await acme.request('POST', `/v1/groups/${id}/balances/adjust`, {
      program_id: f.programId,
      asset_id: unlinked.assetId,
      type: 'CREDIT',
      amount: '1',
      description: 'x',
    });
    expect(notLinked.statusCode).toBe(422);
    expect(notLinked.json().code).toBe('asset_not_linked');
    expect((await acme.request('GET', `/v1/groups/${id}`)).json().balances).toEqual({ [f.assetId]: '10.00' });
  });

  it('replays the same idempotency key with the same body and answers 409 with another', async () => {
    const f = await createLedgerFixture(acme);
    const id = await newGroup();
    const body = { type: 'CREDIT', amount: '7', idempotency_key: 'pot-1' };
    const first = await groupOperation(id, f, 'adjust', body);
    const again = await groupOperation(id, f, 'adjust', body);
    expect(again.statusCode).toBe(200);
    expect(again.json().journal_entry_id).toBe(first.json().journal_entry_id);
    const changed = await groupOperation(id, f, 'adjust', { ...body, amount: '8' });
    expect(changed.statusCode).toBe(409);
    expect(changed.json().code).toBe('idempotency_conflict');
    expect((await acme.request('GET', `/v1/groups/${id}`)).json().balances).toEqual({ [f.assetId]: '7.00' });
  });

  it('offers no void-hold on groups', async () => {
    const f = await createLedgerFixture(acme);
    const id = await newGroup();
    expect((await groupOperation(id, f, 'void-hold', { reference_id: 'r' })).statusCode).toBe(404);
  });

  it("answers 404 for another organization's program or asset", async () => {
    const mine = await createLedgerFixture(acme);
    const theirs = await createLedgerFixture(other);
    const id = await newGroup();
    for (const body of [
      { program_id: theirs.programId, asset_id: mine.assetId },
      { program_id: mine.programId, asset_id: theirs.assetId },
    ]) {
      const refused = await acme.request('POST', `/v1/groups/${id}/balances/adjust`, {
        type: 'CREDIT',
        amount: '1',
        description: 'x',
        ...body,
      });
      expect(refused.statusCode).toBe(404);
    }
  });
});

describe('group counters and state history', () => {
  async function seedCounter(groupId: string, key: string, value: string) {
    const now = new Date();
    await sql`insert into counters (organization_id, owner_type, owner_id, key, value, last_reset_at, created_at, updated_at)
      values (${acme.organizationId}, 'GROUP', ${groupId}, ${key}, ${value}, ${now}, ${now}, ${now})`.execute(
      t.database.handle.db,
    );
  }

  it('lists and reads counters, deletes one into the history, and deleting a missing one succeeds', async () => {
    const id = await newGroup();
    await seedCounter(id, 'trips', '3');
    const listed = await acme.request('GET', `/v1/groups/${id}/state/counters`);
    expect(listed.statusCode).toBe(200);
    expect(listed.json().data).toMatchObject([{ key: 'trips', value: '3' }]);
    const one = await acme.request('GET', `/v1/groups/${id}/state/counters/trips`);
    expect(one.json()).toMatchObject({ key: 'trips', value: '3', reset_after: null });
    expect((await acme.request('GET', `/v1/groups/${id}/state/counters/none`)).statusCode).toBe(404);
    expect((await acme.request('DELETE', `/v1/groups/${id}/state/counters/trips`)).statusCode).toBe(204);
    expect((await acme.request('DELETE', `/v1/groups/${id}/state/counters/never`)).statusCode).toBe(204);
    expect((await acme.request('GET', `/v1/groups/${id}/state/counters`)).json().data).toEqual([]);
    const history = await acme.request('GET', `/v1/groups/${id}/activity/state-history`);
    expect(history.statusCode).toBe(200);
    expect(history.json().data).toMatchObject([
      { state_type: 'counter', key: 'trips', operation: 'delete', old_value: '3', new_value: null },
    ]);
    expect(history.json().data[0].changed_by_api_key_id).toEqual(expect.any(String));
  });

  it('exposes no counter writes, tags or attributes for groups through the API', async () => {
    const id = await newGroup();
    expect((await acme.request('PUT', `/v1/groups/${id}/state/counters/x`, { value: '1' })).statusCode).toBe(
      404,
    );
    expect((await acme.request('GET', `/v1/groups/${id}/state/tags`)).statusCode).toBe(404);
    expect((await acme.request('GET', `/v1/groups/${id}/state/attributes`)).statusCode).toBe(404);
  });
});
