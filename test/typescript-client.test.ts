// The TypeScript client (clients/typescript): its checked-in types are what the served OpenAPI
// document generates, and the README's walk-through runs through it over real HTTP against a
// listening server with workers.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateClientTypes, schemaFile } from '../clients/typescript/generate.js';
import { type AccrueClient, createAccrueClient } from '../clients/typescript/index.js';
import type { EventWorkers } from '../src/modules/events/index.js';
import { buildTestApp, startTestWorkers, type TestApp } from './harness.js';

let t: TestApp;
let workers: EventWorkers;
let accrue: AccrueClient;

beforeAll(async () => {
  t = await buildTestApp();
  const tenant = await t.createOrganization();
  const address = await t.app.listen({ host: '127.0.0.1', port: 0 });
  accrue = createAccrueClient({ baseUrl: address, apiKey: tenant.key });
  workers = startTestWorkers(t);
});

afterAll(async () => {
  await workers.stop();
});

describe('the TypeScript client', () => {
  it('is generated from the document the server serves (run npm run client:generate when this fails)', async () => {
    const served = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(await generateClientTypes(served)).toBe(await readFile(schemaFile, 'utf8'));
  });

  it('runs the README walk-through against a real server', async () => {
    const program = await accrue.POST('/v1/programs', {
      body: {
        name: 'Q1 Sales Bonus',
        description: 'Quarterly sales incentive program for the sales team',
        on_unknown_participant: 'CREATE',
      },
    });
    expect(program.response.status).toBe(201);
    const programId = required(program.data).id;
    expect(program.data).toMatchObject({ name: 'Q1 Sales Bonus', status: 'ACTIVE', deleted_at: null });

    const created = await accrue.POST('/v1/participants', {
      body: {
        external_id: 'user_abc123',
        attributes: { plan: 'premium', region: 'us-east' },
        program_id: programId,
        status: 'ACTIVE',
        tags: ['vip'],
      },
    });
    expect(created.response.status).toBe(201);
    const participantId = required(created.data).id;
    const upserted = await accrue.POST('/v1/participants', {
      body: { external_id: 'user_abc123', tags: ['VIP', 'early'] },
    });
    expect(upserted.response.status).toBe(200);
    expect(upserted.data).toMatchObject({ id: participantId, tags: ['vip', 'early'] });
    const found = await accrue.GET('/v1/participants', { params: { query: { external_id: 'user_abc123' } } });
    expect(required(found.data).data.map((participant) => participant.id)).toEqual([participantId]);

    const asset = await accrue.POST('/v1/assets', {
      body: {
        program_id: programId,
        name: 'Points',
        symbol: 'PTS',
        inventory_mode: 'SIMPLE',
        issuance_policy: 'UNLIMITED',
        scale: 2,
      },
    });
    expect(asset.response.status).toBe(201);
    const assetId = required(asset.data).id;
    const rule = await accrue.POST('/v1/rules', {
      body: {
        program_id: programId,
        name: '10 points per dollar',
        condition: 'event.type == "purchase" && event.amount > 0.0',
        actions: [{ type: 'CREDIT', asset_id: assetId, amount: 'round(event.amount * 10.0, 2)' }],
      },
    });
    expect(rule.response.status).toBe(201);

    const event = await accrue.POST('/v1/events', {
      body: {
        program_id: programId,
        external_id: 'user_abc123',
        idempotency_key: 'order-12345-completed',
        event_timestamp: '2026-11-22T10:30:00Z',
        event_data: { type: 'purchase', amount: 42.5 },
      },
    });
    expect(event.response.status).toBe(202);
    expect(event.data).toMatchObject({ status: 'PENDING' });
    const batch = await accrue.POST('/v1/events/batch', {
      body: {
        events: [
          {
            event_data: {},
            event_timestamp: '2024-01-15T10:30:00Z',
            idempotency_key: 'order-12345-completed',
            program_id: programId,
            external_id: 'user_abc123',
            participant_id: '550e8400-e29b-41d4-a716-446655440000',
          },
          {
            event_data: { type: 'purchase', amount: 10 },
            event_timestamp: '2026-11-22T10:31:00Z',
            idempotency_key: 'order-12346-completed',
            program_id: programId,
            external_id: 'user_abc123',
          },
        ],
      },
    });
    expect(batch.response.status).toBe(202);
    expect(batch.data).toMatchObject({ total: 2, success_count: 1, error_count: 1 });
    expect(required(batch.data).results[0]).toMatchObject({ status: 'error', error_code: 'bad_request' });

    const eventId = required(event.data).id;
    const processed = await waitFor(async () => {
      const read = await accrue.GET('/v1/events/{id}', { params: { path: { id: eventId } } });
      return read.data?.status === 'COMPLETED' ? read.data : undefined;
    });
    expect(processed.rule_evaluations.map((evaluation) => evaluation.status)).toEqual(['SUCCESS']);
    const balances = await waitFor(async () => {
      const read = await accrue.GET('/v1/participants/{id}/balances', {
        params: { path: { id: participantId } },
      });
      return read.data?.data[0]?.available === '525.00' ? read.data : undefined;
    });
    expect(balances.data).toEqual([
      { asset_id: assetId, available: '525.00', held: '0.00', deferred: '0.00' },
    ]);

    const adjusted = await accrue.POST('/v1/participants/{id}/balances/adjust', {
      params: { path: { id: participantId } },
      body: {
        program_id: programId,
        asset_id: assetId,
        type: 'CREDIT',
        amount: '425.00',
        description: 'Order 12345',
        idempotency_key: 'order-12345-points',
      },
    });
    expect(adjusted.data).toMatchObject({ amount: '425.00', balance: { available: '950.00' } });

    const completed = await accrue.GET('/v1/participants/{id}/activity/events', {
      params: {
        path: { id: participantId },
        query: { program_id: programId, status: 'COMPLETED', limit: 1 },
      },
    });
    expect(completed.data?.pagination.has_more).toBe(true);

    const reward = await accrue.POST('/v1/programs/{programId}/rewards', {
      params: { path: { programId } },
      body: {
        name: '$10 Gift Card',
        redemption_type: 'UNIT_BASED',
        asset_id: assetId,
        unit_cost: '100',
        max_total: 100,
        max_per_participant: 5,
        status: 'ACTIVE',
      },
    });
    expect(reward.response.status).toBe(201);
    const redeem = () =>
      accrue.POST('/v1/participants/{id}/redemptions/items', {
        params: { path: { id: participantId } },
        body: {
          program_id: programId,
          reward_id: required(reward.data).id,
          quantity: 2,
          idempotency_key: 'order-12346-redeem',
        },
      });
    const redemption = await redeem();
    expect(redemption.response.status).toBe(201);
    expect(redemption.data).toMatchObject({ amount: '200.00', status: 'COMPLETED' });
    const replay = await redeem();
    expect(replay.response.status).toBe(200);
    expect(replay.data?.id).toBe(redemption.data?.id);
    const after = await accrue.GET('/v1/participants/{id}/balances', {
      params: { path: { id: participantId } },
    });
    expect(after.data?.data[0]?.available).toBe('750.00');
    const csv = await accrue.GET('/v1/participants/{id}/balances', {
      params: { path: { id: participantId }, query: { format: 'csv' } },
      parseAs: 'text',
    });
    expect(csv.response.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.data).toBe(`asset_id,available,held,deferred\r\n${assetId},750.00,0.00,0.00\r\n`);
  });

  it('answers an error as typed data, with its code', async () => {
    const missing = await accrue.GET('/v1/programs/{id}', {
      params: { path: { id: '0193b3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b' } },
    });
    expect(missing.response.status).toBe(404);
    expect(missing.error).toMatchObject({ code: 'not_found' });
  });
});

function required<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('the call answered no data');
  return value;
}

async function waitFor<T>(read: () => Promise<T | undefined>): Promise<T> {
  for (let waited = 0; waited < 20_000; waited += 50) {
    const value = await read();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('not reached within 20 s');
}
