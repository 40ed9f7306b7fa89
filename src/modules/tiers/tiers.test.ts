import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type Tenant, type TestApp } from '../../../test/harness.js';
import { criteriaPerLevelMax, levelsPerTierMax, tiersPerProgramMax } from '../../platform/limits.js';

let t: TestApp;
let acme: Tenant;
let other: Tenant;

beforeAll(async () => {
  t = await buildTestApp();
  acme = await t.createOrganization();
  other = await t.createOrganization();
});

async function newProgram(tenant: Tenant = acme): Promise<string> {
  return (await tenant.request('POST', '/v1/programs', { name: 'Tier program' })).json().id;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

const hotelTier = {
  key: 'status',
  display_name: 'Hotel status',
  levels: [
    { key: 'member', rank: 0 },
    {
      key: 'silver',
      rank: 1,
      color: '#C0C0C0',
      benefits: { points_multiplier: 1.5 },
      qualification: { mode: 'ALL', criteria: [{ counter: 'ytd_spend', operator: '>=', threshold: 500 }] },
    },
    {
      key: 'gold',
      rank: 2,
      qualification: {
        mode: 'ALL',
        criteria: [
          { counter: 'ytd_spend', operator: '>=', threshold: 2000 },
          { counter: 'ytd_nights', operator: '>=', threshold: 10 },
        ],
      },
    },
  ],
  lifecycle: {
    retention: { mode: 'PERIOD_BASED' },
    qualification_period: { type: 'CALENDAR_YEAR' },
    downgrade_policy: { mode: 'DROP_ONE', grace_days: 30, min_level: 'silver' },
    counters: { qualifying: ['ytd_spend', 'ytd_nights'], rollover: 'NONE' },
  },
};

describe('tier definitions', () => {
  it('creates a tier (201) with its levels sorted by rank, and gets and lists it', async () => {
    const programId = await newProgram();
    const created = await acme.request('POST', `/v1/programs/${programId}/tiers`, {
      ...hotelTier,
      levels: [...hotelTier.levels].reverse(),
    });
    expect(created.statusCode).toBe(201);
    const tier = created.json();
    expect(tier).toMatchObject({ program_id: programId, key: 'status', status: 'ACTIVE' });
    expect(tier.levels.map((level: { key: string }) => level.key)).toEqual(['member', 'silver', 'gold']);
    expect(tier.levels[1]).toMatchObject({ color: '#C0C0C0', benefits: { points_multiplier: 1.5 } });
    expect(tier.lifecycle).toEqual(hotelTier.lifecycle);
    expect(tier.archived_at).toBeUndefined();
    const fetched = await acme.request('GET', `/v1/programs/${programId}/tiers/status`);
    expect(fetched.json()).toEqual(tier);
    const listed = await acme.request('GET', `/v1/programs/${programId}/tiers`);
    expect(listed.json()).toEqual({ data: [tier], pagination: { has_more: false, next_cursor: null } });
  });

  it('creates a rules-only tier, lifecycle null, without lifecycle or with lifecycle {}', async () => {
    const programId = await newProgram();
    const created = await acme.request('POST', `/v1/programs/${programId}/tiers`, {
      key: 'vip',
      levels: [{ key: 'vip', rank: 1 }],
      lifecycle: {},
    });
    expect(created.statusCode).toBe(201);
    expect(created.json().lifecycle).toBeNull();
    const omitted = await acme.request('POST', `/v1/programs/${programId}/tiers`, {
      key: 'plain',
      levels: [{ key: 'l', rank: 1 }],
    });
    expect(omitted.json()).toMatchObject({ lifecycle: null });
    expect(omitted.json()).not.toHaveProperty('archived_at');
  });

  it('pages tiers by key', async () => {
    const programId = await newProgram();
    for (const key of ['a', 'b', 'c'])
      await acme.request('POST', `/v1/programs/${programId}/tiers`, { key, levels: [{ key: 'l', rank: 1 }] });
    const first = (await acme.request('GET', `/v1/programs/${programId}/tiers?limit=2`)).json();
    expect(first.data.map((tier: { key: string }) => tier.key)).toEqual(['a', 'b']);
    const second = await acme.request(
      'GET',
      `/v1/programs/${programId}/tiers?limit=2&cursor=${first.pagination.next_cursor}`,
    );
    expect(second.json().data.map((tier: { key: string }) => tier.key)).toEqual(['c']);
    expect((await acme.request('GET', `/v1/programs/${programId}/tiers?cursor=bogus`)).json().code).toBe(
      'invalid_cursor',
    );
  });

  it('answers 400 for a bad key, a bad color, a missing duration or an unknown min_level', async () => {
    const programId = await newProgram();
    const url = `/v1/programs/${programId}/tiers`;
    const bodies = [
      { key: 'Bad-Key', levels: [{ key: 'a', rank: 1 }] },
      { key: 'k', levels: [] },
      { key: 'k', levels: [{ key: 'a', rank: 1, color: 'gold' }] },
      { key: 'k', levels: [{ key: 'a', rank: 1 }], lifecycle: { retention: { mode: 'ACTIVITY_REFRESH' } } },
      {
        key: 'k',
        levels: [{ key: 'a', rank: 1 }],
        lifecycle: { retention: { mode: 'ACTIVITY_REFRESH', duration: '90 days' } },
      },
      {
        key: 'k',
        levels: [{ key: 'a', rank: 1 }],
        lifecycle: { retention: { mode: 'PERIOD_BASED' }, downgrade_policy: { min_level: 'nope' } },
      },
      {
        key: 'k',
        levels: [{ key: 'a', rank: 1 }],
        lifecycle: { retention: { mode: 'PERIOD_BASED' }, qualification_period: { type: 'FIXED_YEAR' } },
      },
      {
        key: 'k',
        levels: [{ key: 'a', rank: 1 }],
        lifecycle: {
          retention: { mode: 'PERIOD_BASED' },
          qualification_period: { type: 'FIXED_YEAR', start_month: 2, start_day: 29 },
        },
      },
    ];
    for (const body of bodies) {
      const response = await acme.request('POST', url, body);
      expect(response.statusCode, JSON.stringify(body)).toBe(400);
      expect(response.json().code).toBe('bad_request');
    }
  });

  it('answers 409 for a duplicate tier key, level key or rank', async () => {
    const programId = await newProgram();
    const url = `/v1/programs/${programId}/tiers`;
    expect((await acme.request('POST', url, hotelTier)).statusCode).toBe(201);
    expect((await acme.request('POST', url, hotelTier)).json().code).toBe('conflict');
    const dupKey = {
      key: 'k2',
      levels: [
        { key: 'a', rank: 1 },
        { key: 'a', rank: 2 },
      ],
    };
    expect((await acme.request('POST', url, dupKey)).statusCode).toBe(409);
    const dupRank = {
      key: 'k3',
      levels: [
        { key: 'a', rank: 1 },
        { key: 'b', rank: 1 },
      ],
    };
    expect((await acme.request('POST', url, dupRank)).statusCode).toBe(409);
  });

  it(`holds ${tiersPerProgramMax} tiers per program and refuses one more`, async () => {
    const programId = await newProgram();
    const url = `/v1/programs/${programId}/tiers`;
    for (const i of range(tiersPerProgramMax)) {
      const response = await acme.request('POST', url, { key: `t${i}`, levels: [{ key: 'l', rank: 1 }] });
      expect(response.statusCode).toBe(201);
    }
    const extra = await acme.request('POST', url, { key: 'extra', levels: [{ key: 'l', rank: 1 }] });
    expect(extra.statusCode).toBe(400);
    expect(extra.json().details.reason).toBe('too_many');
  });

  it(`takes ${levelsPerTierMax} levels and ${criteriaPerLevelMax} criteria, and refuses one more of each`, async () => {
    const programId = await newProgram();
    const url = `/v1/programs/${programId}/tiers`;
    const levels = (n: number) => range(n).map((i) => ({ key: `l${i}`, rank: i }));
    const criteria = (n: number) => range(n).map((i) => ({ counter: `c${i}`, operator: '>=', threshold: i }));
    const qualified = (n: number) => [
      { key: 'q', rank: 1, qualification: { mode: 'ANY', criteria: criteria(n) } },
    ];
    expect((await acme.request('POST', url, { key: 'a', levels: levels(levelsPerTierMax) })).statusCode).toBe(
      201,
    );
    expect(
      (await acme.request('POST', url, { key: 'b', levels: levels(levelsPerTierMax + 1) })).statusCode,
    ).toBe(400);
    expect(
      (await acme.request('POST', url, { key: 'c', levels: qualified(criteriaPerLevelMax) })).statusCode,
    ).toBe(201);
    expect(
      (await acme.request('POST', url, { key: 'd', levels: qualified(criteriaPerLevelMax + 1) })).statusCode,
    ).toBe(400);
    const patch = await acme.request('PATCH', `${url}/a`, { levels: [{ key: 'one_more', rank: 99 }] });
    expect(patch.statusCode).toBe(400);
  });

  it('refuses tiers under an archived program (409) and answers 404 for unknown programs', async () => {
    const programId = await newProgram();
    await acme.request('POST', `/v1/programs/${programId}/tiers`, hotelTier);
    await acme.request('PATCH', `/v1/programs/${programId}`, { status: 'ARCHIVED' });
    const created = await acme.request('POST', `/v1/programs/${programId}/tiers`, { ...hotelTier, key: 'x' });
    expect(created.statusCode).toBe(409);
    expect(created.json().code).toBe('conflict');
    const patched = await acme.request('PATCH', `/v1/programs/${programId}/tiers/status`, {
      display_name: 'X',
    });
    expect(patched.statusCode).toBe(409);
    const unknown = '0190d5a0-0000-7000-8000-000000000000';
    expect((await acme.request('POST', `/v1/programs/${unknown}/tiers`, hotelTier)).statusCode).toBe(404);
    expect((await acme.request('GET', `/v1/programs/${unknown}/tiers`)).statusCode).toBe(404);
  });

  it("answers 404 for another organization's program or tier, and 400 for a non-UUID program id", async () => {
    const programId = await newProgram();
    await acme.request('POST', `/v1/programs/${programId}/tiers`, hotelTier);
    const base = `/v1/programs/${programId}/tiers`;
    expect((await other.request('GET', base)).statusCode).toBe(404);
    expect((await other.request('GET', `${base}/status`)).statusCode).toBe(404);
    expect((await other.request('POST', base, { ...hotelTier, key: 'mine' })).statusCode).toBe(404);
    expect((await other.request('PATCH', `${base}/status`, { display_name: 'x' })).statusCode).toBe(404);
    expect((await other.request('POST', `${base}/status/archive`)).statusCode).toBe(404);
    expect((await acme.request('GET', `${base}/nope`)).statusCode).toBe(404);
    const invalid = await acme.request('GET', '/v1/programs/not-a-uuid/tiers');
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json().code).toBe('bad_request');
    expect((await t.app.inject({ method: 'GET', url: base })).statusCode).toBe(401);
  });
});

describe('PATCH a tier', () => {
  it('updates levels by key, creates new ones, leaves null fields and clears {} fields', async () => {
    const programId = await newProgram();
    const url = `/v1/programs/${programId}/tiers/status`;
    await acme.request('POST', `/v1/programs/${programId}/tiers`, hotelTier);
    const patched = await acme.request('PATCH', url, {
      display_name: null,
      levels: [
        { key: 'silver', color: '#AAAAAA', qualification: {}, benefits: null },
        { key: 'platinum', rank: 3, benefits: { suite: true } },
      ],
    });
    expect(patched.statusCode).toBe(200);
    const tier = patched.json();
    expect(tier.display_name).toBe('Hotel status');
    expect(tier.levels.map((level: { key: string }) => level.key)).toEqual([
      'member',
      'silver',
      'gold',
      'platinum',
    ]);
    expect(tier.levels[1]).toMatchObject({
      color: '#AAAAAA',
      qualification: null,
      benefits: { points_multiplier: 1.5 },
    });
    expect(tier.levels[3]).toMatchObject({ rank: 3, benefits: { suite: true } });
    const cleared = await acme.request('PATCH', url, { lifecycle: {} });
    expect(cleared.json().lifecycle).toBeNull();
    expect((await acme.request('GET', url)).json().levels).toHaveLength(4);
  });

  it('swaps two ranks in one PATCH, and answers 409 on a rank conflict and 400 for a new level without rank', async () => {
    const programId = await newProgram();
    const url = `/v1/programs/${programId}/tiers/status`;
    await acme.request('POST', `/v1/programs/${programId}/tiers`, hotelTier);
    const swapped = await acme.request('PATCH', url, {
      levels: [
        { key: 'silver', rank: 2 },
        { key: 'gold', rank: 1 },
      ],
    });
    expect(swapped.statusCode).toBe(200);
    expect(swapped.json().levels.map((level: { key: string }) => level.key)).toEqual([
      'member',
      'gold',
      'silver',
    ]);
    const clash = await acme.request('PATCH', url, { levels: [{ key: 'diamond', rank: 2 }] });
    expect(clash.statusCode).toBe(409);
    expect(clash.json().code).toBe('conflict');
    const sameKeyTwice = await acme.request('PATCH', url, {
      levels: [
        { key: 'gold', rank: 5 },
        { key: 'gold', rank: 6 },
      ],
    });
    expect(sameKeyTwice.statusCode).toBe(409);
    expect((await acme.request('PATCH', url, { levels: [{ key: 'diamond' }] })).statusCode).toBe(400);
  });

  it('archives once (200, archived_at set), then answers 409 tier_archived to archive and PATCH', async () => {
    const programId = await newProgram();
    const url = `/v1/programs/${programId}/tiers/status`;
    await acme.request('POST', `/v1/programs/${programId}/tiers`, hotelTier);
    t.testClock.set('2026-03-01T00:00:00Z');
    const archived = await acme.request('POST', `${url}/archive`);
    expect(archived.statusCode).toBe(200);
    expect(archived.json()).toMatchObject({ status: 'ARCHIVED', archived_at: '2026-03-01T00:00:00.000Z' });
    const again = await acme.request('POST', `${url}/archive`);
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('tier_archived');
    const patched = await acme.request('PATCH', url, { display_name: 'x' });
    expect(patched.json().code).toBe('tier_archived');
    expect((await acme.request('GET', url)).json().status).toBe('ARCHIVED');
    expect((await acme.request('POST', `/v1/programs/${programId}/tiers/nope/archive`)).statusCode).toBe(404);
  });
});
