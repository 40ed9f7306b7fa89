// The standard loyalty workload (issue 7): one program, a SIMPLE points asset and a LOT asset with
// 12-month expiry, five rules, a silver/gold tier on ytd_spend, and purchase events spread over
// 10,000 participants. The generator is deterministic and predicts every balance and counter, so the
// run can check the ledger against it.

export const categories = ['grocery', 'fuel', 'dining', 'travel', 'electronics', 'apparel'] as const;
export const signUpBonus = 500;

export interface WorkloadIds {
  programId: string;
  pointsAssetId: string;
  lotAssetId: string;
}

/** The API calls that set the program up, in order; each answers the id of what it created. */
export function programSetup() {
  return { program: { name: 'Bench loyalty', on_unknown_participant: 'CREATE' } };
}

export function assetBodies(programId: string) {
  return {
    points: {
      program_id: programId,
      name: 'Points',
      symbol: 'PTS',
      inventory_mode: 'SIMPLE',
      issuance_policy: 'UNLIMITED',
      scale: 2,
    },
    lots: {
      program_id: programId,
      name: 'Travel miles',
      symbol: 'MILES',
      inventory_mode: 'LOT',
      issuance_policy: 'UNLIMITED',
      scale: 2,
    },
  };
}

export function ruleBodies(ids: WorkloadIds) {
  const { programId, pointsAssetId, lotAssetId } = ids;
  return [
    {
      program_id: programId,
      name: 'Purchase counter',
      order: 10,
      condition: 'event.type == "purchase"',
      actions: [{ type: 'COUNTER', key: 'purchases', value: '1' }],
    },
    {
      program_id: programId,
      name: 'Year-to-date spend',
      order: 20,
      condition: 'event.type == "purchase"',
      actions: [{ type: 'COUNTER', key: 'ytd_spend', value: 'event.amount' }],
    },
    {
      program_id: programId,
      name: 'Sign-up bonus',
      order: 30,
      condition: '!("welcomed" in participant.tags)',
      actions: [
        { type: 'CREDIT', asset_id: pointsAssetId, amount: String(signUpBonus) },
        { type: 'TAG', tag: 'welcomed' },
      ],
    },
    {
      program_id: programId,
      name: 'Travel earns miles twice over',
      order: 500,
      stop_after_match: true,
      condition: 'event.category == "travel"',
      actions: [{ type: 'CREDIT', asset_id: lotAssetId, amount: 'event.amount * 2.0', expires_at: '8760h' }],
    },
    {
      program_id: programId,
      name: 'Base earn',
      order: 1000,
      condition: 'event.type == "purchase"',
      actions: [{ type: 'CREDIT', asset_id: pointsAssetId, amount: 'event.amount' }],
    },
  ];
}

export function tierBody() {
  const level = (key: string, rank: number, threshold: number) => ({
    key,
    rank,
    qualification: { mode: 'ALL', criteria: [{ counter: 'ytd_spend', operator: '>=', threshold }] },
  });
  return {
    key: 'status',
    levels: [{ key: 'member', rank: 0 }, level('silver', 1, 500), level('gold', 2, 2000)],
  };
}

/** A small deterministic PRNG (mulberry32), so a run can be repeated exactly. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface PurchaseEvent {
  program_id: string;
  external_id: string;
  idempotency_key: string;
  event_timestamp: string;
  event_data: Record<string, unknown>;
}

export interface Expected {
  /** Minor units (scale 2) per participant. */
  points: Map<string, bigint>;
  miles: Map<string, bigint>;
  purchases: Map<string, number>;
}

/** Generates `count` purchases over `participants` participants and what they must add up to. */
export function generateEvents(
  programId: string,
  count: number,
  participants: number,
  seed = 42,
  prefix = 'member',
) {
  const next = random(seed);
  const events: PurchaseEvent[] = [];
  const expected: Expected = { points: new Map(), miles: new Map(), purchases: new Map() };
  const start = Date.parse('2026-01-01T00:00:00Z');
  for (let i = 0; i < count; i += 1) {
    const externalId = `${prefix}-${String(Math.floor(next() * participants)).padStart(5, '0')}`;
    const cents = 100 + Math.floor(next() * 19_900);
    const category = categories[Math.floor(next() * categories.length)] ?? 'grocery';
    events.push({
      program_id: programId,
      external_id: externalId,
      idempotency_key: `bench-${seed}-${i}`,
      event_timestamp: new Date(start + i * 1000).toISOString(),
      event_data: {
        type: 'purchase',
        amount: cents / 100,
        currency: 'USD',
        category,
        merchant: { id: `m-${Math.floor(next() * 500)}`, country: 'US' },
        channel: next() < 0.3 ? 'online' : 'store',
        items: 1 + Math.floor(next() * 6),
      },
    });
    const first = !expected.purchases.has(externalId);
    expected.purchases.set(externalId, (expected.purchases.get(externalId) ?? 0) + 1);
    const bonus = first ? BigInt(signUpBonus * 100) : 0n;
    const earned = category === 'travel' ? 0n : BigInt(cents);
    expected.points.set(externalId, (expected.points.get(externalId) ?? 0n) + bonus + earned);
    if (category === 'travel')
      expected.miles.set(externalId, (expected.miles.get(externalId) ?? 0n) + BigInt(cents * 2));
  }
  return { events, expected };
}
