// Real resources of one organization, for filling path parameters with ids that exist. Each path
// segment before a parameter names the resource its id belongs to.
import { fanOutOutbox } from '../../src/modules/webhooks/deliverer.js';
import type { Database } from '../../src/platform/db/database.js';
import type { Tenant } from '../harness.js';

export type Fixtures = Record<string, string>;

export async function createFixtures(tenant: Tenant, db: Database): Promise<Fixtures> {
  const endpoint = (
    await tenant.request('POST', '/v1/webhook-endpoints', {
      url: 'https://receiver.example.com/hooks',
      enabled_events: ['*'],
    })
  ).json();
  const program = (await tenant.request('POST', '/v1/programs', { name: 'fixture program' })).json();
  const participant = (
    await tenant.request('POST', '/v1/participants', {
      external_id: 'fixture-participant',
      program_id: program.id,
    })
  ).json();
  const asset = (
    await tenant.request('POST', '/v1/assets', {
      program_id: program.id,
      name: 'Fixture points',
      symbol: `FX${Math.floor(Math.random() * 1e6)}`,
      inventory_mode: 'SIMPLE',
      issuance_policy: 'UNLIMITED',
      scale: 2,
    })
  ).json();
  const credited = await tenant.request('POST', `/v1/participants/${participant.id}/balances/adjust`, {
    program_id: program.id,
    asset_id: asset.id,
    amount: '10.00',
    type: 'CREDIT',
    description: 'fixture credit',
  });
  if (credited.statusCode >= 300) throw new Error(`fixture credit failed: ${credited.body}`);
  const entry = (await tenant.request('GET', '/v1/journal-entries?limit=1')).json().data[0];
  for (const owner of [`/v1/participants/${participant.id}`, `/v1/programs/${program.id}`]) {
    await tenant.request('PUT', `${owner}/state/tags/fixture`);
    await tenant.request('PUT', `${owner}/state/counters/visits`, { value: '3' });
    await tenant.request('PUT', `${owner}/state/attributes/plan`, { value: 'gold' });
  }
  const rule = (
    await tenant.request('POST', '/v1/rules', {
      program_id: program.id,
      name: 'Fixture rule',
      condition: 'event.amount > 10',
      actions: [{ type: 'CREDIT', asset_id: asset.id, amount: 'event.amount' }],
    })
  ).json();
  const event = (
    await tenant.request('POST', '/v1/events', {
      program_id: program.id,
      external_id: 'fixture-participant',
      idempotency_key: `fixture-${program.id}`,
      event_timestamp: '2026-01-15T10:30:00Z',
      event_data: { amount: 12 },
    })
  ).json();
  const tier = await tenant.request('POST', `/v1/programs/${program.id}/tiers`, {
    key: 'status',
    levels: [
      {
        key: 'silver',
        rank: 1,
        qualification: { mode: 'ALL', criteria: [{ counter: 'visits', operator: '>=', threshold: 1 }] },
      },
    ],
  });
  if (tier.statusCode >= 300) throw new Error(`fixture tier failed: ${tier.body}`);
  const reward = (
    await tenant.request('POST', `/v1/programs/${program.id}/rewards`, {
      name: 'Fixture reward',
      redemption_type: 'UNIT_BASED',
      asset_id: asset.id,
      unit_cost: '1.00',
      status: 'ACTIVE',
    })
  ).json();
  const redemption = await tenant.request('POST', `/v1/participants/${participant.id}/redemptions/items`, {
    program_id: program.id,
    reward_id: reward.id,
  });
  if (redemption.statusCode >= 300) throw new Error(`fixture redemption failed: ${redemption.body}`);
  const member = (
    await tenant.request('POST', '/v1/participants', {
      external_id: 'fixture-member',
      program_id: program.id,
    })
  ).json();
  const group = await tenant.request('POST', '/v1/groups', {
    name: 'Fixture household',
    members: [
      { participant_id: participant.id, role: 'ADMIN' },
      { participant_id: member.id, role: 'MEMBER' },
    ],
  });
  if (group.statusCode >= 300) throw new Error(`fixture group failed: ${group.body}`);
  const automation = await tenant.request('POST', `/v1/programs/${program.id}/automations`, {
    name: 'Fixture automation',
    event_name: 'fixture_digest',
    scope: 'participants',
    trigger: { type: 'cron', cron_expression: '0 9 * * 1' },
  });
  if (automation.statusCode >= 300) throw new Error(`fixture automation failed: ${automation.body}`);
  const log = (await tenant.request('GET', '/v1/logs?limit=1')).json().data[0];
  await fanOutOutbox(db, new Date());
  const delivery = (
    await tenant.request('GET', `/v1/webhook-endpoints/${endpoint.id}/deliveries?limit=1`)
  ).json().data[0];
  if (delivery === undefined) throw new Error('fixture webhook delivery missing');
  return {
    programs: program.id,
    participants: participant.id,
    assets: asset.id,
    'journal-entries': entry.id,
    logs: log.id,
    rules: rule.id,
    tiers: 'status',
    events: event.id,
    tags: 'fixture',
    counters: 'visits',
    attributes: 'plan',
    rewards: reward.id,
    redemptions: redemption.json().id,
    groups: group.json().id,
    members: member.id,
    'webhook-endpoints': endpoint.id,
    'webhook-deliveries': delivery.id,
    automations: automation.json().id,
  };
}

/** The id for each path parameter, from the segment before it (…/programs/{id} -> a program id). */
export function pathValues(path: string, fixtures: Fixtures): Record<string, string> {
  const values: Record<string, string> = {};
  const segments = path.split('/');
  segments.forEach((segment, index) => {
    const param = /^\{(\w+)\}$/.exec(segment)?.[1];
    if (param === undefined) return;
    const resource = segments[index - 1] ?? '';
    const id = fixtures[resource];
    if (id === undefined)
      throw new Error(`no fixture for ${resource} (${path}); add one to test/security/fixtures.ts`);
    values[param] = id;
  });
  return values;
}
