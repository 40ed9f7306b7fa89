import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, subscribeToWebhooks, type Tenant, type TestApp } from '../../../test/harness.js';
import { withTransaction } from '../../platform/db/transaction.js';
import { newId } from '../../platform/ids.js';
import { loadTiersForRules, qualifyTiers, setTierFromRule } from './index.js';

let t: TestApp;
let acme: Tenant;
let other: Tenant;

beforeAll(async () => {
  t = await buildTestApp();
  acme = await t.createOrganization();
  await subscribeToWebhooks(acme, ['participant.tier_changed']);
  other = await t.createOrganization();
});

// The guide's example: silver, gold and platinum on ytd_spend and ytd_nights, mode ALL.
const hotelTier = {
  key: 'hotel',
  levels: [
    {
      key: 'silver',
      rank: 1,
      benefits: { points_multiplier: 1.5 },
      qualification: { mode: 'ALL', criteria: [{ counter: 'ytd_spend', operator: '>=', threshold: 500 }] },
    },
    {
      key: 'gold',
      rank: 2,
      benefits: { points_multiplier: 2.0, lounge_access: true },
      qualification: {
        mode: 'ALL',
        criteria: [
          { counter: 'ytd_spend', operator: '>=', threshold: 2000 },
          { counter: 'ytd_nights', operator: '>=', threshold: 10 },
        ],
      },
    },
    {
      key: 'platinum',
      rank: 3,
      benefits: { points_multiplier: 3.0, lounge_access: true, suite_upgrade: true },
      qualification: {
        mode: 'ALL',
        criteria: [
          { counter: 'ytd_spend', operator: '>=', threshold: 5000 },
          { counter: 'ytd_nights', operator: '>=', threshold: 25 },
        ],
      },
    },
  ],
};

interface Setup {
  programId: string;
  participantId: string;
  base: string;
  query: string;
}

async function setup(tenant: Tenant = acme, tier: object = hotelTier): Promise<Setup> {
  const programId = (await tenant.request('POST', '/v1/programs', { name: 'Hotel' })).json().id;
  await tenant.request('POST', `/v1/programs/${programId}/tiers`, tier);
  const participantId = (
    await tenant.request('POST', '/v1/participants', { external_id: `p-${newId()}`, program_id: programId })
  ).json().id;
  return {
    programId,
    participantId,
    base: `/v1/participants/${participantId}/state/tiers`,
    query: `?program_id=${programId}`,
  };
}

async function setCounters(tenant: Tenant, participantId: string, counters: Record<string, string>) {
  for (const [key, value] of Object.entries(counters))
    await tenant.request('PUT', `/v1/participants/${participantId}/state/counters/${key}`, { value });
}

function eventSource() {
  return { eventId: newId(), eventTimestamp: new Date('2026-01-01T00:00:00Z') };
}

async function qualify(tenant: Tenant, s: Setup, counters: Record<string, string>, skip: string[] = []) {
  const { upgraded } = await withTransaction(t.database.handle.db, (trx) =>
    qualifyTiers(trx, {
      organizationId: tenant.organizationId,
      programId: s.programId,
      participantId: s.participantId,
      counters,
      skipTierKeys: new Set(skip),
      now: t.testClock.clock(),
      source: eventSource(),
    }),
  );
  return upgraded;
}

async function tierHistory(s: Setup) {
  const response = await acme.request(
    'GET',
    `/v1/participants/${s.participantId}/activity/state-history?state_type=tier`,
  );
  return response.json().data;
}

async function outboxTopics(organizationId: string) {
  const result = await sql<{ topic: string; payload: { level: string | null; change: string } }>`
    select topic, payload from outbox where organization_id = ${organizationId} order by id`.execute(
    t.database.handle.db,
  );
  return result.rows;
}

describe('auto-qualification (the guide example)', () => {
  it('upgrades to the highest level whose criteria all hold, and never downgrades', async () => {
    const s = await setup();
    t.testClock.set('2026-03-01T00:00:00Z');
    await setCounters(acme, s.participantId, { ytd_spend: '600', ytd_nights: '3' });
    expect(await qualify(acme, s, { ytd_spend: '600', ytd_nights: '3' })).toEqual(['hotel']);
    expect((await acme.request('GET', `${s.base}/hotel${s.query}`)).json()).toEqual({
      key: 'hotel',
      level: 'silver',
      rank: 1,
      benefits: { points_multiplier: 1.5 },
      acquired_at: '2026-03-01T00:00:00.000Z',
      expires_at: null,
    });
    // Spend for gold but too few nights: still silver. Then platinum on both, skipping gold.
    expect(await qualify(acme, s, { ytd_spend: '2500', ytd_nights: '9' })).toEqual([]);
    expect(await qualify(acme, s, { ytd_spend: '5000', ytd_nights: '25' })).toEqual(['hotel']);
    expect(await qualify(acme, s, { ytd_spend: '0', ytd_nights: '0' })).toEqual([]);
    const participant = (await acme.request('GET', `/v1/participants/${s.participantId}`)).json();
    expect(participant.tiers).toEqual({ hotel: { level: 'platinum', rank: 3 } });
    // A PATCH of a level's rank reaches its holders.
    await acme.request('PATCH', `/v1/programs/${s.programId}/tiers/hotel`, {
      levels: [{ key: 'platinum', rank: 30 }],
    });
    const patched = (await acme.request('GET', `/v1/participants/${s.participantId}`)).json();
    expect(patched.tiers).toEqual({ hotel: { level: 'platinum', rank: 30 } });
    expect((await other.request('GET', `/v1/participants/${s.participantId}`)).statusCode).toBe(404);
    const history = await tierHistory(s);
    expect(
      history.map((entry: { operation: string; new_value: string }) => [entry.operation, entry.new_value]),
    ).toEqual(
      expect.arrayContaining([
        ['upgrade', 'silver'],
        ['upgrade', 'platinum'],
      ]),
    );
    expect(history[0].event_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(history[0].program_id).toBe(s.programId);
    const outbox = await outboxTopics(acme.organizationId);
    expect(
      outbox.filter((row) => row.topic === 'participant.tier_changed').map((row) => row.payload.level),
    ).toEqual(expect.arrayContaining(['silver', 'platinum']));
    await withTransaction(t.database.handle.db, async (trx) => {
      expect(await loadTiersForRules(trx, acme.organizationId, s.participantId, s.programId)).toEqual({
        hotel: { level: 'platinum', rank: 30 },
      });
    });
  });

  it('skips a tier that a SET_TIER changed in the same event, and archived tiers', async () => {
    const s = await setup();
    expect(await qualify(acme, s, { ytd_spend: '600' }, ['hotel'])).toEqual([]);
    expect((await acme.request('GET', `${s.base}/hotel${s.query}`)).statusCode).toBe(404);
    await acme.request('POST', `/v1/programs/${s.programId}/tiers/hotel/archive`);
    expect(await qualify(acme, s, { ytd_spend: '600' })).toEqual([]);
  });
});

describe('SET_TIER from a rule', () => {
  it('applies a level (also to an inactive participant) and skips an archived tier', async () => {
    const s = await setup();
    await acme.request('PATCH', `/v1/participants/${s.participantId}/status`, { status: 'SUSPENDED' });
    const input = {
      organizationId: acme.organizationId,
      programId: s.programId,
      participantId: s.participantId,
      tier: 'hotel',
      level: 'gold',
      now: t.testClock.clock(),
      source: eventSource(),
    };
    const db = t.database.handle.db;
    expect(await withTransaction(db, (trx) => setTierFromRule(trx, input))).toBe('applied');
    expect((await acme.request('GET', `${s.base}/hotel${s.query}`)).json().level).toBe('gold');
    await expect(
      withTransaction(db, (trx) => setTierFromRule(trx, { ...input, level: 'bronze' })),
    ).rejects.toThrow(/level bronze/);
    await expect(
      withTransaction(db, (trx) => setTierFromRule(trx, { ...input, tier: 'nope' })),
    ).rejects.toThrow(/tier nope/);
    await acme.request('POST', `/v1/programs/${s.programId}/tiers/hotel/archive`);
    expect(await withTransaction(db, (trx) => setTierFromRule(trx, { ...input, level: 'silver' }))).toBe(
      'skipped_archived',
    );
    // Existing holder state stays readable after archiving.
    expect((await acme.request('GET', `${s.base}/hotel${s.query}`)).json().level).toBe('gold');
  });
});

describe('the base level', () => {
  const withBase = { ...hotelTier, key: 'based', levels: [{ key: 'member', rank: 0 }, ...hotelTier.levels] };

  it('gives a criteria-less rank-0 level to a holder without a level at its first event, then upgrades on', async () => {
    const s = await setup(acme, withBase);
    t.testClock.set('2026-04-01T00:00:00Z');
    expect((await acme.request('GET', `${s.base}/based${s.query}`)).statusCode).toBe(404);
    expect(await qualify(acme, s, {})).toEqual(['based']);
    expect((await acme.request('GET', `${s.base}/based${s.query}`)).json()).toMatchObject({
      level: 'member',
      rank: 0,
      acquired_at: '2026-04-01T00:00:00.000Z',
    });
    expect(await qualify(acme, s, {})).toEqual([]);
    expect(await qualify(acme, s, { ytd_spend: '500' })).toEqual(['based']);
    expect((await acme.request('GET', `/v1/participants/${s.participantId}`)).json().tiers).toEqual({
      based: { level: 'silver', rank: 1 },
    });
    const history = await tierHistory(s);
    expect(history.map((entry: { operation: string }) => entry.operation)).toEqual(['upgrade', 'upgrade']);
  });

  it('gives no level when the rank-0 level has criteria or the tier has no rank 0', async () => {
    const gated = {
      ...hotelTier,
      key: 'gated',
      levels: [
        {
          key: 'starter',
          rank: 0,
          qualification: { mode: 'ALL', criteria: [{ counter: 'ytd_spend', operator: '>=', threshold: 1 }] },
        },
        ...hotelTier.levels,
      ],
    };
    for (const tier of [gated, hotelTier]) {
      const s = await setup(acme, tier);
      expect(await qualify(acme, s, {})).toEqual([]);
      expect((await acme.request('GET', `${s.base}/${tier.key}${s.query}`)).statusCode).toBe(404);
    }
  });
});

describe('participant tier endpoints', () => {
  it('PUTs a level with expires_at, replaces it, lists it, and DELETE falls back to the base level', async () => {
    const withBase = {
      ...hotelTier,
      key: 'based',
      levels: [{ key: 'member', rank: 0 }, ...hotelTier.levels],
    };
    const s = await setup(acme, withBase);
    t.testClock.set('2026-05-01T00:00:00Z');
    const put = await acme.request('PUT', `${s.base}/based${s.query}`, {
      level: 'gold',
      expires_at: '2026-06-01T00:00:00Z',
    });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toMatchObject({ level: 'gold', rank: 2, expires_at: '2026-06-01T00:00:00.000Z' });
    const replaced = await acme.request('PUT', `${s.base}/based${s.query}`, { level: 'gold' });
    expect(replaced.json().expires_at).toBeNull();
    const listed = (await acme.request('GET', `${s.base}${s.query}`)).json();
    expect(listed.data).toEqual([replaced.json()]);
    const deleted = await acme.request('DELETE', `${s.base}/based${s.query}`);
    expect(deleted.statusCode).toBe(204);
    expect((await acme.request('GET', `${s.base}/based${s.query}`)).json()).toMatchObject({
      level: 'member',
      rank: 0,
    });
    const history = await tierHistory(s);
    // Newest first.
    expect(history.map((entry: { operation: string }) => entry.operation)).toEqual(['delete', 'set']);
    expect(history[0].changed_by_api_key_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('DELETE without a base level removes the level: GET answers 404', async () => {
    const s = await setup();
    await acme.request('PUT', `${s.base}/hotel${s.query}`, { level: 'silver' });
    expect((await acme.request('DELETE', `${s.base}/hotel${s.query}`)).statusCode).toBe(204);
    const missing = await acme.request('GET', `${s.base}/hotel${s.query}`);
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('not_found');
    expect((await acme.request('GET', `${s.base}${s.query}`)).json().data).toEqual([]);
  });

  it('answers 400 for an unknown level, a past expires_at, a missing program_id or non-UUID ids', async () => {
    const s = await setup();
    t.testClock.set('2026-05-01T00:00:00Z');
    expect((await acme.request('PUT', `${s.base}/hotel${s.query}`, { level: 'bronze' })).statusCode).toBe(
      400,
    );
    const past = await acme.request('PUT', `${s.base}/hotel${s.query}`, {
      level: 'gold',
      expires_at: '2026-04-01T00:00:00Z',
    });
    expect(past.statusCode).toBe(400);
    expect((await acme.request('GET', `${s.base}/hotel`)).statusCode).toBe(400);
    expect((await acme.request('GET', `/v1/participants/nope/state/tiers${s.query}`)).statusCode).toBe(400);
    expect((await acme.request('GET', `${s.base}?program_id=nope`)).statusCode).toBe(400);
  });

  it('answers 409 participant_inactive, tier_archived and for an inactive program', async () => {
    const s = await setup();
    await acme.request('PATCH', `/v1/participants/${s.participantId}/status`, { status: 'SUSPENDED' });
    const inactive = await acme.request('PUT', `${s.base}/hotel${s.query}`, { level: 'gold' });
    expect(inactive.statusCode).toBe(409);
    expect(inactive.json().code).toBe('participant_inactive');
    expect((await acme.request('DELETE', `${s.base}/hotel${s.query}`)).json().code).toBe(
      'participant_inactive',
    );
    await acme.request('PATCH', `/v1/participants/${s.participantId}/status`, { status: 'ACTIVE' });
    await acme.request('POST', `/v1/programs/${s.programId}/tiers/hotel/archive`);
    const archived = await acme.request('PUT', `${s.base}/hotel${s.query}`, { level: 'gold' });
    expect(archived.statusCode).toBe(409);
    expect(archived.json().code).toBe('tier_archived');
    const s2 = await setup();
    await acme.request('PATCH', `/v1/programs/${s2.programId}`, { status: 'SUSPENDED' });
    const suspended = await acme.request('PUT', `${s2.base}/hotel${s2.query}`, { level: 'gold' });
    expect(suspended.statusCode).toBe(409);
    expect(suspended.json().code).toBe('conflict');
  });

  it("answers 404 for another organization's participant or program, an unknown tier, and no enrollment", async () => {
    const s = await setup();
    await acme.request('PUT', `${s.base}/hotel${s.query}`, { level: 'gold' });
    for (const [method, path] of [
      ['GET', `${s.base}${s.query}`],
      ['GET', `${s.base}/hotel${s.query}`],
      ['PUT', `${s.base}/hotel${s.query}`],
      ['DELETE', `${s.base}/hotel${s.query}`],
    ] as const) {
      const response = await other.request(method, path, method === 'PUT' ? { level: 'gold' } : undefined);
      expect(response.statusCode, `${method} ${path}`).toBe(404);
    }
    const theirs = await setup(other);
    expect((await acme.request('GET', `${s.base}?program_id=${theirs.programId}`)).statusCode).toBe(404);
    expect((await acme.request('GET', `${s.base}/nope${s.query}`)).statusCode).toBe(404);
    const unenrolled = (
      await acme.request('POST', '/v1/participants', { external_id: `u-${newId()}` })
    ).json().id;
    const response = await acme.request('GET', `/v1/participants/${unenrolled}/state/tiers${s.query}`);
    expect(response.statusCode).toBe(404);
  });
});
