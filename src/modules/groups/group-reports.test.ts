import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, createLedgerFixture, type Tenant, type TestApp } from '../../../test/harness.js';

let t: TestApp;
let acme: Tenant;

beforeAll(async () => {
  t = await buildTestApp();
  acme = await t.createOrganization();
});

describe('journal and reports filtered by group_id', () => {
  it("shows only the group's entries, liability and rollforward, with transfers netting to zero overall", async () => {
    t.testClock.set('2026-03-01T00:00:00.000Z');
    const f = await createLedgerFixture(acme);
    const admin = (await acme.request('POST', '/v1/participants', { external_id: 'report-admin' })).json().id;
    const groupId = (
      await acme.request('POST', '/v1/groups', {
        name: 'Pot',
        members: [{ participant_id: admin, role: 'ADMIN' }],
      })
    ).json().id;
    await acme.request('POST', `/v1/participants/${f.participantId}/balances/adjust`, {
      program_id: f.programId,
      asset_id: f.assetId,
      type: 'CREDIT',
      amount: '50',
      description: 'earned',
    });
    t.testClock.set('2026-03-02T00:00:00.000Z');
    const moved = await acme.request('POST', '/v1/transfers', {
      program_id: f.programId,
      asset_id: f.assetId,
      source_participant_id: f.participantId,
      recipients: [{ group_id: groupId, amount: '20' }],
      description: 'pool',
    });
    expect(moved.statusCode).toBe(200);
    await acme.request('POST', `/v1/groups/${groupId}/balances/adjust`, {
      program_id: f.programId,
      asset_id: f.assetId,
      type: 'DEBIT',
      amount: '5',
      description: 'spent',
    });
    const journal = (await acme.request('GET', `/v1/journal-entries?group_id=${groupId}`)).json().data;
    expect(journal.map((e: { action_type: string }) => e.action_type)).toEqual(['DEBIT', 'TRANSFER']);
    const transferOnly = await acme.request(
      'GET',
      `/v1/journal-entries?group_id=${groupId}&action_type=TRANSFER`,
    );
    expect(transferOnly.json().data.map((e: { id: string }) => e.id)).toEqual([
      moved.json().journal_entry_id,
    ]);

    const liability = (await acme.request('GET', `/v1/reports/liability?group_id=${groupId}`)).json();
    expect(liability.data).toMatchObject([
      { asset_id: f.assetId, program_id: f.programId, balance: '15.00' },
    ]);
    const everyone = (await acme.request('GET', `/v1/reports/liability?asset_id=${f.assetId}`)).json();
    expect(everyone.data[0].balance).toBe('45.00');

    const window = 'from=2026-03-01T12:00:00Z&to=2026-03-03T00:00:00Z';
    const groupRoll = await acme.request(
      'GET',
      `/v1/reports/liability-rollforward?${window}&group_id=${groupId}`,
    );
    expect(groupRoll.statusCode).toBe(200);
    expect(groupRoll.json().data).toMatchObject([
      { opening_balance: '0.00', transfers_net: '20.00', debited: '5.00', closing_balance: '15.00' },
    ]);
    const allRoll = await acme.request(
      'GET',
      `/v1/reports/liability-rollforward?${window}&asset_id=${f.assetId}`,
    );
    expect(allRoll.json().data).toMatchObject([
      { opening_balance: '50.00', transfers_net: '0.00', closing_balance: '45.00' },
    ]);
  });
});
