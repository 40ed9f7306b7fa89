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

function adjust(tenant: Tenant, f: LedgerFixture, body: Record<string, unknown>) {
  return tenant.request('POST', `/v1/participants/${f.participantId}/balances/adjust`, {
    program_id: f.programId,
    asset_id: f.assetId,
    description: 'test',
    ...body,
  });
}

function operate(tenant: Tenant, f: LedgerFixture, path: string, body: Record<string, unknown> = {}) {
  return tenant.request('POST', `/v1/participants/${f.participantId}/balances/${path}`, {
    program_id: f.programId,
    asset_id: f.assetId,
    description: 'test',
    ...body,
  });
}

async function integrity(tenant: Tenant) {
  const response = await tenant.request('GET', '/v1/reports/integrity');
  if (response.statusCode !== 200 || !response.json().all_passed) console.log(response.body);
  return response.json();
}

describe('POST /v1/participants/{id}/balances/adjust', () => {
  it('credits from issuance and debits to redemption, answering the spec shape', async () => {
    const f = await createLedgerFixture(acme);
    const credited = await adjust(acme, f, { type: 'CREDIT', amount: '100' });
    expect(credited.statusCode).toBe(200);
    expect(credited.json()).toMatchObject({
      amount: '100.00',
      asset_id: f.assetId,
      balance: { available: '100.00', held: '0.00', deferred: '0.00' },
      bucket: 'AVAILABLE',
      message: 'Balance adjusted successfully',
      program_id: f.programId,
      type: 'CREDIT',
    });
    const debited = await adjust(acme, f, { type: 'DEBIT', amount: '30.5' });
    expect(debited.json().balance.available).toBe('69.50');
    const entry = (
      await acme.request('GET', `/v1/journal-entries/${credited.json().journal_entry_id}`)
    ).json();
    expect(entry.action_type).toBe('CREDIT');
    expect(
      entry.postings.map((p: { amount: string; entity_type: string }) => [p.entity_type, p.amount]).sort(),
    ).toEqual([
      ['PARTICIPANT', '100.00'],
      ['SYSTEM', '-100.00'],
    ]);
    const participant = (await acme.request('GET', `/v1/participants/${f.participantId}`)).json();
    expect(participant.balances).toEqual([
      { asset_id: f.assetId, available: '69.50', held: '0.00', deferred: '0.00' },
    ]);
    expect((await integrity(acme)).all_passed).toBe(true);
  });

  it('refuses an overdraft with 422 insufficient_balance and changes nothing, unless allow_negative', async () => {
    const f = await createLedgerFixture(acme);
    await adjust(acme, f, { type: 'CREDIT', amount: '10' });
    const refused = await adjust(acme, f, { type: 'DEBIT', amount: '10.01' });
    expect(refused.statusCode).toBe(422);
    expect(refused.json().code).toBe('insufficient_balance');
    const balances = (await acme.request('GET', `/v1/participants/${f.participantId}/balances`)).json();
    expect(balances.data[0].available).toBe('10.00');
    const overdraft = await adjust(acme, f, { type: 'DEBIT', amount: '15', allow_negative: true });
    expect(overdraft.json().balance.available).toBe('-5.00');
  });

  it('refuses excess decimals, zero, and amounts over max_transaction_amount', async () => {
    const f = await createLedgerFixture(acme, { max_transaction_amount: '50' });
    const excess = await adjust(acme, f, { type: 'CREDIT', amount: '1.001' });
    expect(excess.statusCode).toBe(400);
    expect(excess.json().code).toBe('invalid_scale');
    expect((await adjust(acme, f, { type: 'CREDIT', amount: '0' })).json().code).toBe('validation_error');
    expect((await adjust(acme, f, { type: 'CREDIT', amount: '50' })).statusCode).toBe(200);
    const over = await adjust(acme, f, { type: 'CREDIT', amount: '50.01' });
    expect(over.statusCode).toBe(400);
    expect(over.json().code).toBe('max_transaction_amount_exceeded');
  });

  it('refuses an archived asset, an unlinked asset, an inactive participant and foreign ids', async () => {
    const f = await createLedgerFixture(acme);
    const g = await createLedgerFixture(acme);
    const unlinked = await adjust(acme, { ...f, assetId: g.assetId }, { type: 'CREDIT', amount: '1' });
    expect(unlinked.statusCode).toBe(422);
    expect(unlinked.json().code).toBe('asset_not_linked');
    await acme.request('PATCH', `/v1/participants/${f.participantId}/status`, { status: 'SUSPENDED' });
    expect((await adjust(acme, f, { type: 'CREDIT', amount: '1' })).json().code).toBe('participant_inactive');
    await acme.request('PATCH', `/v1/assets/${g.assetId}`, { status: 'ARCHIVED' });
    expect((await adjust(acme, g, { type: 'CREDIT', amount: '1' })).json().code).toBe('asset_archived');
    const foreign = await adjust(other, f, { type: 'CREDIT', amount: '1' });
    expect(foreign.statusCode).toBe(404);
  });
});
