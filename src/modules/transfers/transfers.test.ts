import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildTestApp,
  createLedgerFixture,
  type LedgerFixture,
  subscribeToWebhooks,
  type Tenant,
  type TestApp,
  testWebhookSettings,
} from '../../../test/harness.js';
import { buildApp } from '../../app.js';
import { connect } from '../../platform/db/database.js';
import { createLogger } from '../../platform/logger.js';

let t: TestApp;
let acme: Tenant;
let other: Tenant;

beforeAll(async () => {
  t = await buildTestApp();
  acme = await t.createOrganization();
  await subscribeToWebhooks(acme, ['transfer.completed']);
  other = await t.createOrganization();
});

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Deadlocks PostgreSQL has detected in the test database so far. */
async function deadlocks(): Promise<number> {
  const result = await sql<{ deadlocks: string }>`select deadlocks from pg_stat_database
    where datname = current_database()`.execute(t.database.handle.db);
  return Number(result.rows[0]?.deadlocks);
}

async function newParticipant(tenant: Tenant = acme, programId?: string) {
  const external_id = `p-${Math.random().toString(36).slice(2)}`;
  const body = programId === undefined ? { external_id } : { external_id, program_id: programId };
  const id: string = (await tenant.request('POST', '/v1/participants', body)).json().id;
  return { id, external_id };
}

async function newGroup(tenant: Tenant = acme) {
  const admin = await newParticipant(tenant);
  const created = await tenant.request('POST', '/v1/groups', {
    name: 'Household',
    members: [{ participant_id: admin.id, role: 'ADMIN' }],
  });
  return created.json().id as string;
}

function credit(f: LedgerFixture, holder: string, amount: string, extra: object = {}, tenant = acme) {
  return tenant.request('POST', `/v1/${holder}/balances/adjust`, {
    program_id: f.programId,
    asset_id: f.assetId,
    type: 'CREDIT',
    amount,
    description: 'seed',
    ...extra,
  });
}

function send(f: LedgerFixture, body: object, tenant = acme) {
  return tenant.request('POST', '/v1/transfers', {
    program_id: f.programId,
    asset_id: f.assetId,
    description: 'gift',
    ...body,
  });
}

/** The holder's AVAILABLE, or 'none' when it never held the asset. */
async function available(f: LedgerFixture, holder: string): Promise<string> {
  const balances = (await acme.request('GET', `/v1/${holder}/balances?asset_id=${f.assetId}`)).json();
  return balances.data[0]?.available ?? 'none';
}

async function groupTotal(f: LedgerFixture, groupId: string): Promise<string | undefined> {
  return (await acme.request('GET', `/v1/groups/${groupId}`)).json().balances[f.assetId];
}

describe('POST /v1/transfers', () => {
  it('moves value to recipients named by id and external id in one TRANSFER entry, enrolling them', async () => {
    const f = await createLedgerFixture(acme);
    await credit(f, `participants/${f.participantId}`, '100');
    const [one, two] = [await newParticipant(), await newParticipant()];
    const moved = await send(f, {
      source_participant_id: f.participantId,
      recipients: [
        { participant_id: one.id, amount: '30' },
        { external_id: two.external_id, amount: '12.5' },
      ],
    });
    expect(moved.statusCode).toBe(200);
    const body = moved.json();
    expect(body).toMatchObject({
      asset_id: f.assetId,
      program_id: f.programId,
      source_participant_id: f.participantId,
      source_group_id: null,
      recipient_count: 2,
      total_amount: '42.50',
      recipients: [
        { participant_id: one.id, group_id: null, amount: '30.00' },
        { participant_id: two.id, group_id: null, amount: '12.50' },
      ],
    });
    expect(body.message).toContain(body.journal_entry_id);
    expect(await available(f, `participants/${f.participantId}`)).toBe('57.50');
    expect(await available(f, `participants/${one.id}`)).toBe('30.00');
    expect(await available(f, `participants/${two.id}`)).toBe('12.50');
    const entry = (await acme.request('GET', `/v1/journal-entries/${body.journal_entry_id}`)).json();
    expect(entry.action_type).toBe('TRANSFER');
    expect(entry.postings.map((p: { amount: string }) => p.amount).sort()).toEqual([
      '-42.50',
      '12.50',
      '30.00',
    ]);
    const db = t.database.handle.db;
    const enrolled = await sql<{ participant_id: string }>`select participant_id from enrollments
      where program_id = ${f.programId}`.execute(db);
    expect(enrolled.rows.map((row) => row.participant_id)).toEqual(expect.arrayContaining([one.id, two.id]));
    const outbox = await sql<{ payload: { journal_entry_id: string } }>`select payload from outbox
      where topic = 'transfer.completed' and organization_id = ${acme.organizationId}`.execute(db);
    expect(outbox.rows.map((row) => row.payload.journal_entry_id)).toContain(body.journal_entry_id);
  });

  it('pools into a household group and gifts from it to a member', async () => {
    const f = await createLedgerFixture(acme);
    const groupId = await newGroup();
    await credit(f, `participants/${f.participantId}`, '50');
    const pooled = await send(f, {
      source_external_id: undefined,
      source_participant_id: f.participantId,
      recipients: [{ group_id: groupId, amount: '40' }],
    });
    expect(pooled.statusCode).toBe(200);
    expect(pooled.json().recipients).toEqual([{ participant_id: null, group_id: groupId, amount: '40.00' }]);
    const kid = await newParticipant();
    const gift = await send(f, {
      source_group_id: groupId,
      recipients: [{ participant_id: kid.id, amount: '15' }],
    });
    expect(gift.statusCode).toBe(200);
    expect(gift.json()).toMatchObject({ source_participant_id: null, source_group_id: groupId });
    expect(await groupTotal(f, groupId)).toBe('25.00');
    expect(await available(f, `participants/${kid.id}`)).toBe('15.00');
    const journal = (
      await acme.request('GET', `/v1/journal-entries?group_id=${groupId}&action_type=TRANSFER`)
    ).json();
    expect(journal.data).toHaveLength(2);
  });

  it('refuses a total above the source AVAILABLE with 422 and moves nothing', async () => {
    const f = await createLedgerFixture(acme);
    await credit(f, `participants/${f.participantId}`, '10');
    await acme.request('POST', `/v1/participants/${f.participantId}/balances/hold`, {
      program_id: f.programId,
      asset_id: f.assetId,
      amount: '2',
      description: 'hold',
    });
    const one = await newParticipant();
    const refused = await send(f, {
      source_participant_id: f.participantId,
      recipients: [
        { participant_id: one.id, amount: '5' },
        { external_id: (await newParticipant()).external_id, amount: '3.01' },
      ],
    });
    expect(refused.statusCode).toBe(422);
    expect(refused.json().code).toBe('insufficient_balance');
    expect(await available(f, `participants/${f.participantId}`)).toBe('8.00');
    expect(await available(f, `participants/${one.id}`)).toBe('none');
  });

  it('answers 400 self_transfer when a recipient is the source, also through its external id', async () => {
    const f = await createLedgerFixture(acme);
    await credit(f, `participants/${f.participantId}`, '10');
    const external = (await acme.request('GET', `/v1/participants/${f.participantId}`)).json().external_id;
    for (const recipient of [{ participant_id: f.participantId }, { external_id: external }]) {
      const refused = await send(f, {
        source_participant_id: f.participantId,
        recipients: [
          { participant_id: (await newParticipant()).id, amount: '1' },
          { ...recipient, amount: '1' },
        ],
      });
      expect(refused.statusCode).toBe(400);
      expect(refused.json()).toMatchObject({
        code: 'self_transfer',
        details: { field: expect.stringMatching(/^recipients\[1\]/) },
      });
    }
    const groupId = await newGroup();
    await credit(f, `groups/${groupId}`, '5');
    const group = await send(f, {
      source_group_id: groupId,
      recipients: [{ group_id: groupId, amount: '1' }],
    });
    expect(group.json().code).toBe('self_transfer');
    expect(await available(f, `participants/${f.participantId}`)).toBe('10.00');
  });

  it('answers 404 naming an unknown recipient and creates no participant', async () => {
    const f = await createLedgerFixture(acme);
    await credit(f, `participants/${f.participantId}`, '10');
    const before = (await acme.request('GET', '/v1/participants?limit=200')).json().data.length;
    const cases = [
      [{ external_id: 'nobody-here' }, 'recipients[0].external_id'],
      [{ participant_id: (await newParticipant(other)).id }, 'recipients[0].participant_id'],
      [{ group_id: await newGroup(other) }, 'recipients[0].group_id'],
    ] as const;
    for (const [recipient, field] of cases) {
      const refused = await send(f, {
        source_participant_id: f.participantId,
        recipients: [{ ...recipient, amount: '1' }],
      });
      expect(refused.statusCode).toBe(404);
      expect(refused.json()).toMatchObject({ code: 'not_found', details: { field } });
    }
    expect((await acme.request('GET', '/v1/participants?limit=200')).json().data.length).toBe(before);
    expect(await available(f, `participants/${f.participantId}`)).toBe('10.00');
  });

  it('refuses no source, two sources, a recipient with two identities or none, and 0 or 101 recipients', async () => {
    const f = await createLedgerFixture(acme);
    const to = await newParticipant();
    const recipients = [{ participant_id: to.id, amount: '1' }];
    const cases: [object, string][] = [
      [{ recipients }, 'source_participant_id'],
      [
        { source_participant_id: f.participantId, source_external_id: 'x', recipients },
        'source_participant_id',
      ],
      [
        {
          source_participant_id: f.participantId,
          recipients: [{ participant_id: to.id, external_id: to.external_id, amount: '1' }],
        },
        'recipients[0]',
      ],
      [{ source_participant_id: f.participantId, recipients: [{ amount: '1' }] }, 'recipients[0]'],
      [{ source_participant_id: f.participantId, recipients: [] }, 'recipients'],
      [
        { source_participant_id: f.participantId, recipients: range(101).map(() => recipients[0]) },
        'recipients',
      ],
    ];
    for (const [body, field] of cases) {
      const refused = await send(f, body);
      expect(refused.statusCode, JSON.stringify(body).slice(0, 200)).toBe(400);
      expect(refused.json()).toMatchObject({ code: 'bad_request', details: { field } });
    }
  });

  it('accepts 100 recipients in one entry', async () => {
    const f = await createLedgerFixture(acme);
    await credit(f, `participants/${f.participantId}`, '100');
    const people = await Promise.all(range(100).map(() => newParticipant()));
    const moved = await send(f, {
      source_participant_id: f.participantId,
      recipients: people.map((p) => ({ external_id: p.external_id, amount: '1' })),
    });
    expect(moved.statusCode).toBe(200);
    expect(moved.json()).toMatchObject({ recipient_count: 100, total_amount: '100.00' });
    expect(await available(f, `participants/${f.participantId}`)).toBe('0.00');
    expect(await available(f, `participants/${people[99]?.id}`)).toBe('1.00');
  });

  it('validates amounts (scale, positive) and description (1-500) naming the field', async () => {
    const f = await createLedgerFixture(acme);
    await credit(f, `participants/${f.participantId}`, '10');
    const to = await newParticipant();
    const base = { source_participant_id: f.participantId };
    const scale = await send(f, { ...base, recipients: [{ participant_id: to.id, amount: '1.001' }] });
    expect(scale.statusCode).toBe(400);
    expect(scale.json()).toMatchObject({ code: 'invalid_scale', details: { field: 'recipients[0].amount' } });
    for (const amount of ['0', '-1', 'abc']) {
      const refused = await send(f, { ...base, recipients: [{ participant_id: to.id, amount }] });
      expect(refused.statusCode).toBe(400);
      expect(refused.json().details.field).toBe('recipients[0].amount');
    }
    for (const description of ['', 'd'.repeat(501)]) {
      const refused = await send(f, {
        ...base,
        description,
        recipients: [{ participant_id: to.id, amount: '1' }],
      });
      expect(refused.statusCode).toBe(400);
      expect(refused.json().details.field).toBe('description');
    }
    const longest = await send(f, {
      ...base,
      description: 'd'.repeat(500),
      recipients: [{ participant_id: to.id, amount: '1' }],
    });
    expect(longest.statusCode).toBe(200);
    expect(await available(f, `participants/${f.participantId}`)).toBe('9.00');
  });

  it('replays the same key and body with the first journal entry, and answers 409 for another body', async () => {
    const f = await createLedgerFixture(acme);
    await credit(f, `participants/${f.participantId}`, '10');
    const to = await newParticipant();
    const body = {
      source_participant_id: f.participantId,
      recipients: [{ participant_id: to.id, amount: '4' }],
      idempotency_key: 'gift-1',
    };
    const first = await send(f, body);
    const again = await send(f, body);
    expect(again.statusCode).toBe(200);
    expect(again.json().journal_entry_id).toBe(first.json().journal_entry_id);
    const changed = await send(f, { ...body, recipients: [{ participant_id: to.id, amount: '5' }] });
    expect(changed.statusCode).toBe(409);
    expect(changed.json().code).toBe('idempotency_conflict');
    expect(await available(f, `participants/${to.id}`)).toBe('4.00');
  });

  it('refuses inactive parties and programs: participant_inactive, group_archived, program_inactive', async () => {
    const f = await createLedgerFixture(acme);
    await credit(f, `participants/${f.participantId}`, '10');
    const suspended = await newParticipant();
    await acme.request('PATCH', `/v1/participants/${suspended.id}/status`, { status: 'SUSPENDED' });
    const archived = await newGroup();
    await acme.request('DELETE', `/v1/groups/${archived}`);
    const source = { source_participant_id: f.participantId };
    const inactive = await send(f, {
      ...source,
      recipients: [{ participant_id: suspended.id, amount: '1' }],
    });
    expect(inactive.statusCode).toBe(409);
    expect(inactive.json()).toMatchObject({
      code: 'participant_inactive',
      details: { field: 'recipients[0].participant_id' },
    });
    const fromSuspended = await send(f, {
      source_participant_id: suspended.id,
      recipients: [{ participant_id: f.participantId, amount: '1' }],
    });
    expect(fromSuspended.json().code).toBe('participant_inactive');
    const toArchived = await send(f, { ...source, recipients: [{ group_id: archived, amount: '1' }] });
    expect(toArchived.statusCode).toBe(409);
    expect(toArchived.json().code).toBe('group_archived');
    const fromArchived = await send(f, {
      source_group_id: archived,
      recipients: [{ participant_id: f.participantId, amount: '1' }],
    });
    expect(fromArchived.json().code).toBe('group_archived');
    await acme.request('PATCH', `/v1/programs/${f.programId}`, { status: 'SUSPENDED' });
    const paused = await send(f, {
      ...source,
      recipients: [{ participant_id: (await newParticipant()).id, amount: '1' }],
    });
    expect(paused.statusCode).toBe(409);
    expect(paused.json().code).toBe('program_inactive');
    expect(await available(f, `participants/${f.participantId}`)).toBe('10.00');
  });

  it("answers 404 for another organization's source, program and asset", async () => {
    const f = await createLedgerFixture(acme);
    const theirs = await createLedgerFixture(other);
    const to = await newParticipant();
    const recipients = [{ participant_id: to.id, amount: '1' }];
    const refusals = [
      await send(f, { source_participant_id: theirs.participantId, recipients }),
      await send(f, { source_group_id: await newGroup(other), recipients }),
      await send(
        { ...f, programId: theirs.programId },
        { source_participant_id: f.participantId, recipients },
      ),
      await send({ ...f, assetId: theirs.assetId }, { source_participant_id: f.participantId, recipients }),
    ];
    for (const refused of refusals) {
      expect(refused.statusCode, refused.body).toBe(404);
      expect(refused.json().code).toBe('not_found');
    }
  });
});

describe('transfers of LOT assets', () => {
  it('consumes the source lots oldest first and gives each recipient a new lot dated now without expiry', async () => {
    const f = await createLedgerFixture(acme, { inventory_mode: 'LOT' });
    t.testClock.set('2026-01-01T00:00:00.000Z');
    await credit(f, `participants/${f.participantId}`, '10', { expires_at: '2026-06-01T00:00:00Z' });
    t.testClock.set('2026-02-01T00:00:00.000Z');
    await credit(f, `participants/${f.participantId}`, '10', { expires_at: '2027-01-01T00:00:00Z' });
    t.testClock.set('2026-03-01T00:00:00.000Z');
    const to = await newParticipant();
    const moved = await send(f, {
      source_participant_id: f.participantId,
      recipients: [{ participant_id: to.id, amount: '15' }],
    });
    expect(moved.statusCode).toBe(200);
    const lots = async (id: string) =>
      (await acme.request('GET', `/v1/participants/${id}/balances/lots?asset_id=${f.assetId}`)).json().data;
    const sourceLots = await lots(f.participantId);
    expect(sourceLots.map((l: { remaining: string; status: string }) => [l.remaining, l.status])).toEqual([
      ['5.00', 'AVAILABLE'],
      ['0.00', 'CONSUMED'],
    ]);
    expect(await lots(to.id)).toMatchObject([
      {
        amount: '15.00',
        remaining: '15.00',
        status: 'AVAILABLE',
        expires_at: null,
        created_at: '2026-03-01T00:00:00.000Z',
      },
    ]);
    t.testClock.set('2026-07-01T00:00:00.000Z');
    expect(await available(f, `participants/${to.id}`)).toBe('15.00');
  });
});

describe('transfers of LOT assets at the edges', () => {
  it("repays a recipient group's overdraft first, and counts none of the source's expired lots", async () => {
    const f = await createLedgerFixture(acme, { inventory_mode: 'LOT' });
    const groupId = await newGroup();
    t.testClock.set('2026-01-01T00:00:00.000Z');
    await credit(f, `participants/${f.participantId}`, '10', { expires_at: '2026-02-01T00:00:00Z' });
    await credit(f, `participants/${f.participantId}`, '20');
    const overdraft = await acme.request('POST', `/v1/groups/${groupId}/balances/adjust`, {
      program_id: f.programId,
      asset_id: f.assetId,
      type: 'DEBIT',
      amount: '5',
      allow_negative: true,
      description: 'advance',
    });
    expect(overdraft.json().balance.available).toBe('-5.00');
    t.testClock.set('2026-03-01T00:00:00.000Z');
    const body = {
      source_participant_id: f.participantId,
      recipients: [{ group_id: groupId, amount: '25' }],
    };
    const tooMuch = await send(f, body);
    expect(tooMuch.statusCode).toBe(422);
    const moved = await send(f, { ...body, recipients: [{ group_id: groupId, amount: '15' }] });
    expect(moved.statusCode).toBe(200);
    expect(await groupTotal(f, groupId)).toBe('10.00');
    const lots = await sql<{
      remaining: string;
      expires_at: Date | null;
    }>`select remaining, expires_at from lots
      where owner_id = ${groupId} and status = 'AVAILABLE'`.execute(t.database.handle.db);
    expect(lots.rows).toEqual([{ remaining: '1000', expires_at: null }]);
    expect(await available(f, `participants/${f.participantId}`)).toBe('5.00');
  });

  it("holds the total to the asset's max_transaction_amount", async () => {
    const f = await createLedgerFixture(acme, { max_transaction_amount: '10' });
    await credit(f, `participants/${f.participantId}`, '10');
    await credit(f, `participants/${f.participantId}`, '10');
    const [one, two] = [await newParticipant(), await newParticipant()];
    const refused = await send(f, {
      source_participant_id: f.participantId,
      recipients: [
        { participant_id: one.id, amount: '6' },
        { participant_id: two.id, amount: '5' },
      ],
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().code).toBe('max_transaction_amount_exceeded');
    const allowed = await send(f, {
      source_participant_id: f.participantId,
      recipients: [
        { participant_id: one.id, amount: '5' },
        { participant_id: two.id, amount: '5' },
      ],
    });
    expect(allowed.statusCode).toBe(200);
    expect(await available(f, `participants/${f.participantId}`)).toBe('10.00');
  });
});

describe('concurrent transfers', () => {
  it('opposite transfers between two holders at the same time never deadlock and lose nothing', async () => {
    const f = await createLedgerFixture(acme);
    const groupId = await newGroup();
    await credit(f, `participants/${f.participantId}`, '100');
    await credit(f, `groups/${groupId}`, '100');
    // A retried deadlock would still end in 200s, so the transfers run on a pool of their own whose
    // server processes report their deadlocks to pg_stat_database as they exit.
    const deadlocksBefore = await deadlocks();
    const pool = connect(
      t.database.url,
      { sizeMax: 10, waitMs: 10_000 },
      createLogger('silent'),
      async () => {},
    );
    const app = await buildApp({
      db: pool.db,
      clock: t.testClock.clock,
      logger: createLogger('silent'),
      version: 'test',
      rateLimit: { ratePerSecond: 0, burst: 1 },
      webhooks: testWebhookSettings(),
    });
    const transferOn = (body: object) =>
      app.inject({
        method: 'POST',
        url: '/v1/transfers',
        headers: { 'x-api-key': acme.key },
        payload: { program_id: f.programId, asset_id: f.assetId, description: 'back and forth', ...body },
      });
    const results = await Promise.all(
      range(40).map((i) =>
        i % 2 === 0
          ? transferOn({
              source_participant_id: f.participantId,
              recipients: [{ group_id: groupId, amount: '1' }],
            })
          : transferOn({
              source_group_id: groupId,
              recipients: [{ participant_id: f.participantId, amount: '2' }],
            }),
      ),
    );
    await app.close();
    await pool.close();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await deadlocks()).toBe(deadlocksBefore);
    expect(results.map((r) => r.statusCode)).toEqual(range(40).map(() => 200));
    expect(await available(f, `participants/${f.participantId}`)).toBe('120.00');
    expect(await groupTotal(f, groupId)).toBe('80.00');
  });

  it('100 concurrent transfers out of a source that can afford 40 give exactly 40', async () => {
    const f = await createLedgerFixture(acme);
    await credit(f, `participants/${f.participantId}`, '40');
    const to = await newParticipant();
    const results = await Promise.all(
      range(100).map(() =>
        send(f, {
          source_participant_id: f.participantId,
          recipients: [{ participant_id: to.id, amount: '1' }],
        }),
      ),
    );
    const codes = results.map((r) => r.statusCode);
    expect(codes.filter((c) => c === 200)).toHaveLength(40);
    expect(codes.filter((c) => c === 422)).toHaveLength(60);
    expect(await available(f, `participants/${f.participantId}`)).toBe('0.00');
    expect(await available(f, `participants/${to.id}`)).toBe('40.00');
    const integrity = (await acme.request('GET', '/v1/reports/integrity')).json();
    expect(integrity.all_passed).toBe(true);
  });
});

describe('the OpenAPI document', () => {
  it('describes the group, member, group balance, group state and transfer routes with their errors', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    for (const path of [
      '/v1/groups',
      '/v1/groups/{id}',
      '/v1/groups/{id}/members',
      '/v1/groups/{id}/members/{participant_id}',
      '/v1/groups/{id}/balances/adjust',
      '/v1/groups/{id}/balances/forfeit',
      '/v1/groups/{id}/state/counters/{key}',
      '/v1/groups/{id}/activity/state-history',
      '/v1/transfers',
    ]) {
      expect(doc.paths[path], path).toBeDefined();
    }
    const transfer = doc.paths['/v1/transfers'].post;
    expect(transfer.responses['400'].description).toMatch(/self_transfer/);
    expect(transfer.responses['422'].description).toMatch(/insufficient_balance/);
    expect(transfer.responses['409'].description).toMatch(/group_archived/);
    expect(doc.paths['/v1/groups/{id}/balances/adjust'].post.responses['409'].description).toMatch(
      /group_archived/,
    );
    expect(doc.components.schemas.Transfer.properties.recipient_count).toBeDefined();
  });
});
